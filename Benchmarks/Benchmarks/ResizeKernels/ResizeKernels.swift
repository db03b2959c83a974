// ResizeKernels: resized images per second for each filter and each kernel path, and allocations per resized image.

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
        // Each path this processor runs (the scalar reference, the portable SIMD one, AVX2 where
        // CPUID has it) on the default filter: what the run-time pick buys. Throughput × 6.06 is
        // megapixels of source a second.
        for backend in ResizeBackend.available {
            Benchmark("lanczos3 \(format.rawValue) \(backend.rawValue) path 2725x2225→720x588",
                      configuration: .init(metrics: [.throughput, .wallClock, .instructions], scalingFactor: .one,
                                           maxDuration: .seconds(3))) { benchmark in
                let workspace = ResizeWorkspace()
                let resizer = Resizer(filter: .lanczos3, backend: backend)
                for _ in benchmark.scaledIterations {
                    blackHole(resizer.resize(image, region: SourceRegion(image), width: target.width,
                                             height: target.height, workspace: workspace))
                }
            }
        }
    }
}
