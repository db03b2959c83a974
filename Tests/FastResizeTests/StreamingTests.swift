// StreamingTests: resizing rows as they arrive gives exactly what resizing the whole picture gives.

import FastResize
import Testing
import TestSupport

@Suite struct StreamingTests {
    /// Feeds `image` to the streaming resizer in chunks of `chunk` rows, counting what it asked for.
    static func streamed(_ image: PixelBuffer, region: SourceRegion, width: Int, height: Int, threads: Int,
                         filter: ResampleFilter = .lanczos3) -> (PixelBuffer, Int) {
        var next = 0
        let output = Resizer(filter: filter).resizeStreaming(
            sourceWidth: image.width, sourceHeight: image.height, format: image.format, region: region,
            width: width, height: height, threads: threads) { (target: UnsafeMutablePointer<UInt8>, count: Int) in
            image.pixels.withUnsafeBufferPointer { source in
                target.update(from: source.baseAddress! + next * image.bytesPerRow, count: count * image.bytesPerRow)
            }
            next += count
        }
        return (output, next)
    }

    @Test(arguments: PixelFormat.allCases, [1, 2, 3])
    func sameBytesAsTheWholePicture(_ format: PixelFormat, threads: Int) {
        let image = TestImages.pattern(width: 173, height: 391, format: format, seed: 17)
        for (width, height) in [(40, 90), (173, 100), (60, 391), (300, 500)] {
            let region = SourceRegion(image)
            let whole = Resizer().resize(image, region: region, width: width, height: height, threads: threads)
            let (streamed, rowsRead) = Self.streamed(image, region: region, width: width, height: height, threads: threads)
            #expect(streamed == whole, "\(format) \(width)x\(height) threads \(threads)")
            #expect(rowsRead == image.height)
        }
    }

    /// A crop (fill) reads only part of the picture: rows above are skipped, rows below still read.
    @Test func cropsAndIdentity() {
        let image = TestImages.pattern(width: 120, height: 200, format: .rgb, seed: 5)
        let region = SourceRegion(x: 10.5, y: 60.25, width: 90, height: 70.5)
        let whole = Resizer().resize(image, region: region, width: 30, height: 23)
        #expect(Self.streamed(image, region: region, width: 30, height: 23, threads: 2).0 == whole)
        #expect(Self.streamed(image, region: SourceRegion(image), width: 120, height: 200, threads: 1).0 == image)
        let nearest = Resizer(filter: .nearest).resize(image, region: region, width: 30, height: 23)
        #expect(Self.streamed(image, region: region, width: 30, height: 23, threads: 1, filter: .nearest).0 == nearest)
    }
}
