// StreamingDecodeTests: JPEG, PNG and TIFF decoded row by row through the pipeline give the bytes whole decoding gives.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

/// The same decoder without its row interface, so the pipeline decodes the whole picture.
private struct WholeDecoder: ImageDecoding {
    let base: any ImageDecoding
    func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo { try base.probe(data) }
    func decode(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer { try base.decode(data) }
    func decode(_ data: UnsafeRawBufferPointer, shrinkingBy factor: Int) throws(CodecError) -> DecodedImage {
        try base.decode(data, shrinkingBy: factor)
    }
}

@Suite struct StreamingDecodeTests {
    static func both(_ data: Data, _ mode: ResizeMode) throws -> (streamed: PixelBuffer, whole: PixelBuffer) {
        var whole = Codecs.all
        whole.decoders = whole.decoders.mapValues { WholeDecoder(base: $0) }
        let settings = ResizeSettings(mode: mode)
        return (try FilePipeline(codecs: Codecs.all, settings: settings).resized(data),
                try FilePipeline(codecs: whole, settings: settings).resized(data))
    }

    /// DCT scaling, the row-wise box pre-shrink and crops: the same bytes either way.
    @Test(arguments: [ResizeMode.fit(width: 100, height: 100), .fit(width: 37, height: 37), .scale(0.7),
                      .fill(width: 50, height: 20, gravity: .southeast), .scale(1)])
    func jpegAndPNGStreamTheSame(_ mode: ResizeMode) throws {
        let image = TestImages.pattern(width: 613, height: 411, format: .rgb, seed: 8)
        let jpeg = Data(try JPEGEncoder().encode(image, options: EncodeOptions(quality: 92)))
        let png = Data(try PNGEncoder().encode(image, options: EncodeOptions()))
        let alpha = Data(try PNGEncoder().encode(TestImages.pattern(width: 300, height: 200, format: .rgba), options: EncodeOptions()))
        let gray = Data(try PNGEncoder().encode(TestImages.pattern(width: 300, height: 200, format: .gray), options: EncodeOptions()))
        for (name, data) in [("jpeg", jpeg), ("png", png), ("rgba png", alpha), ("gray png", gray)] {
            let (streamed, whole) = try Self.both(data, mode)
            #expect(streamed == whole, "\(name) \(mode)")
            // With two threads the decoder runs ahead on its own (RowPrefetcher): the same bytes.
            let ahead = try FilePipeline(codecs: Codecs.all, settings: ResizeSettings(mode: mode)).resized(data, threads: 2)
            #expect(ahead == whole, "\(name) \(mode) prefetched")
        }
    }

    /// A truncated file still fails, with the decoder's reason, when read row by row.
    @Test func truncationFailsWhileStreaming() throws {
        let image = TestImages.pattern(width: 400, height: 300, format: .rgb)
        for bytes in [try JPEGEncoder().encode(image, options: EncodeOptions()), try PNGEncoder().encode(image, options: EncodeOptions())] {
            let cut = Data(bytes.prefix(bytes.count * 2 / 3))
            let pipeline = FilePipeline(codecs: Codecs.all, settings: ResizeSettings(mode: .fit(width: 50, height: 50)))
            #expect(throws: FileError.self) { try pipeline.resized(cut) }
        }
    }

    /// libvips' command-line tool, which writes the TIFF layouts below (scripts/install-deps.sh installs it).
    static let vips = ["/usr/bin/vips", "/usr/local/bin/vips"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// TIFF in the layouts libtiff hands over strip by strip or one row of tiles at a time: every
    /// pixel as written, and resized streamed exactly as resized whole.
    @Test(.enabled(if: vips != nil, "needs libvips' vips tool (scripts/install-deps.sh installs libvips-tools)"))
    func tiffLayoutsStream() throws {
        let scratch = try ScratchFolder()
        let pictures: [String: PixelBuffer] = [
            "rgb": TestImages.pattern(width: 613, height: 411, format: .rgb, seed: 8),
            "rgba": TestImages.pattern(width: 300, height: 200, format: .rgba, seed: 3),
            "gray": TestImages.pattern(width: 300, height: 201, format: .gray, seed: 4),
            "grayalpha": TestImages.pattern(width: 157, height: 99, format: .grayAlpha, seed: 5),
        ]
        for (name, picture) in pictures {
            try scratch.write(try PNGEncoder().encode(picture, options: EncodeOptions()), to: name + ".png")
        }
        // What a file with associated alpha stores (libvips' --premultiply writes this from "rgba").
        var premultiplied = pictures["rgba"]!
        for i in stride(from: 0, to: premultiplied.pixels.count, by: 4) {
            let alpha = Int(premultiplied.pixels[i + 3])
            for c in 0..<3 { premultiplied.pixels[i + c] = UInt8((Int(premultiplied.pixels[i + c]) * alpha + 127) / 255) }
        }
        let tiles = ["--tile", "--tile-width", "64", "--tile-height", "48"]   // edge tiles on both sides
        let layouts: [(source: String, options: [String])] = [
            ("rgb", ["--compression", "none"]), ("rgb", ["--compression", "lzw", "--predictor", "horizontal"]),
            ("rgb", tiles), ("rgb", tiles + ["--compression", "deflate"]), ("rgba", ["--compression", "deflate"]),
            ("rgba", tiles), ("gray", []), ("gray", tiles), ("grayalpha", ["--compression", "lzw"]),
            ("rgb", ["--compression", "jpeg", "--Q", "95"]), ("rgb", tiles + ["--compression", "jpeg", "--Q", "95"]),
            ("rgba", ["--premultiply"]),
        ]
        for (index, layout) in layouts.enumerated() {
            let label = "\(layout.source) \(layout.options.joined(separator: " "))"
            let tiff = scratch.path("\(index).tif")
            try #require(try runTool(Self.vips!, ["tiffsave", scratch.path(layout.source + ".png"), tiff] + layout.options) == 0, "\(label)")
            let data = try Data(contentsOf: URL(fileURLWithPath: tiff))
            let decoder = TIFFDecoder()
            let info = try data.withUnsafeBytes { try decoder.probe($0) }
            #expect(info.streamsRows, "\(label)")
            let decoded = try data.withUnsafeBytes { try decoder.decode($0) }
            let original = pictures[layout.source]!
            #expect(decoded.format == original.format, "\(label)")
            if layout.options.contains("jpeg") {
                // Lossy: against libvips' reading of the same file.
                let reference = scratch.path("\(index)-vips.png")
                try #require(try runTool(Self.vips!, ["copy", tiff, reference]) == 0)
                let theirs = try Data(contentsOf: URL(fileURLWithPath: reference)).withUnsafeBytes { try PNGDecoder().decode($0) }
                #expect(TestImages.psnr(decoded, theirs) >= 45, "\(label)")
            } else if layout.options.contains("--premultiply") {
                // Stored premultiplied, handed over straight: equal up to the stored values' rounding,
                // magnified by at most 255 / 32 where α ≥ 32.
                #expect(TestImages.maxVisibleDifference(decoded, original) <= 8, "\(label)")
                #expect(TestImages.maxVisibleDifference(decoded, premultiplied) > 20, "the samples are unpremultiplied")
            } else {
                #expect(decoded == original, "\(label)")
            }
            for mode in [ResizeMode.fit(width: 100, height: 100), .fill(width: 50, height: 20, gravity: .southeast)] {
                let (streamed, whole) = try Self.both(data, mode)
                #expect(streamed == whole, "\(label) \(mode)")
            }
        }
    }

    /// Layouts read whole say so to the memory budget, and a truncated tiled file fails while streaming.
    @Test(.enabled(if: vips != nil, "needs libvips' vips tool (scripts/install-deps.sh installs libvips-tools)"))
    func tiffWholeLayoutsAndTruncation() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try PNGEncoder().encode(TestImages.pattern(width: 400, height: 300, format: .rgb), options: EncodeOptions()),
                          to: "rgb.png")
        try #require(try runTool(Self.vips!, ["colourspace", scratch.path("rgb.png"), scratch.path("16.tif"), "rgb16"]) == 0)
        try #require(try runTool(Self.vips!, ["tiffsave", scratch.path("rgb.png"), scratch.path("tiled.tif"), "--tile",
                                              "--tile-width", "64", "--tile-height", "64", "--compression", "deflate"]) == 0)
        let sixteen = try Data(contentsOf: URL(fileURLWithPath: scratch.path("16.tif")))
        #expect(try !sixteen.withUnsafeBytes { try TIFFDecoder().probe($0) }.streamsRows)
        let tiled = try Data(contentsOf: URL(fileURLWithPath: scratch.path("tiled.tif")))
        // Zero the middle of the tile data (libtiff writes the directory after it; the header says where).
        try #require(tiled.prefix(2) == Data("II".utf8))
        let directory = tiled[4..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        try #require(directory > tiled.count / 2)
        var damaged = tiled
        damaged.replaceSubrange(directory / 3..<directory * 2 / 3, with: Data(count: directory * 2 / 3 - directory / 3))
        let pipeline = FilePipeline(codecs: Codecs.all, settings: ResizeSettings(mode: .fit(width: 50, height: 50)))
        #expect(try pipeline.inspect(damaged).streamsRows)
        #expect(throws: FileError.self) { try pipeline.resized(damaged) }
    }
}
