// ResizeKernels: megapixels of source per second for each filter, and allocations per resized image.

import Benchmark
import FastResize

/// sharp's benchmark photo size (2725x2225) down to its published thumbnail size (720x588).
let source = (width: 2725, height: 2225)
let target = (width: 720, height: 588)

func photo(_ format: PixelFormat) -> PixelBuffer {
    var image = PixelBuffer(width: source.width, height: source.height, format: format)
    var state: UInt32 = 12345
    image.pixels.withUnsafeMutableBufferPointer { pixels in
        for i in 0..<pixels.count {
            state = state &* 1_664_525 &+ 1_013_904_223
            // Smooth structure plus a little noise, like a photograph.
            let x = (i / format.channelCount) % source.width
            pixels[i] = UInt8(truncatingIfNeeded: (x / 11) &+ Int(state >> 29))
        }
    }
    return image
}

let benchmarks: @Sendable () -> Void = {
    let megapixels = source.width * source.height / 1_000_000
    for format in [PixelFormat.rgb, .rgba, .gray] {
        let image = photo(format)
        for filter in ResampleFilter.allCases {
            Benchmark("\(filter.rawValue) \(format.rawValue) 2725x2225→720x588",
                      configuration: .init(metrics: [.throughput, .wallClock, .mallocCountTotal, .instructions],
                                           scalingFactor: .one, maxDuration: .seconds(3))) { benchmark in
                let workspace = ResizeWorkspace()
                let resizer = Resizer(filter: filter)
                for _ in benchmark.scaledIterations {
                    blackHole(resizer.resize(image, region: SourceRegion(image), width: target.width,
                                             height: target.height, workspace: workspace))
                }
            }
        }
        _ = megapixels
    }
    Benchmark("lanczos3 rgb scalar reference 2725x2225→720x588",
              configuration: .init(metrics: [.wallClock, .instructions], maxDuration: .seconds(3))) { benchmark in
        let image = photo(.rgb)
        let resizer = Resizer(filter: .lanczos3, backend: .scalar)
        for _ in benchmark.scaledIterations {
            blackHole(resizer.resize(image, width: target.width, height: target.height))
        }
    }
}
