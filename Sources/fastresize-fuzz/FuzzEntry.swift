// FuzzEntry: libFuzzer's entry point — one input through one format's decoder, or through the whole decode→resize→encode path.
//
// Built only by scripts/fuzz.sh (Package.swift adds this target when FASTRESIZE_FUZZ is set, and
// libFuzzer supplies main). FASTRESIZE_FUZZ_TARGET picks what an input goes through: a format's
// name (jpeg, png, webp, gif, tiff, bmp, avif, heic, jxl) for its probe and decode, or "pipeline".

import FastResize
import FastResizeCodecs
import Foundation

private let target = ProcessInfo.processInfo.environment["FASTRESIZE_FUZZ_TARGET"] ?? "pipeline"

/// What a fuzzed picture may hold: large enough for real layouts, small enough that libFuzzer's
/// memory limit reports real leaks and bombs rather than honest big pictures.
private let pixelLimit = 4096 * 4096

private let pipeline: FilePipeline = {
    FilePipeline(codecs: Codecs.all, settings: ResizeSettings(mode: .fit(width: 48, height: 48), format: .fixed(.png)),
                 maxPixels: pixelLimit)
}()

private let decoder: (any ImageDecoding)? = {
    guard target != "pipeline" else { return nil }
    guard let decoder = Codecs.all.decoders[ImageFormat(rawValue: target)] else {
        fatalError("FASTRESIZE_FUZZ_TARGET must be pipeline or one of \(Codecs.all.formats.map(\.format.rawValue))")
    }
    return decoder
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Data(bytes: $0, count: count) } ?? Data()
    guard let decoder else {
        _ = try? pipeline.render(data)
        return 0
    }
    data.withUnsafeBytes { bytes in
        // As the pipeline does: the header first, the pixels only within the limit.
        guard let info = try? decoder.probe(bytes), info.width > 0, info.height > 0,
              info.height <= pixelLimit / info.width else { return }
        _ = try? decoder.decode(bytes)
        // Shrunk on load too, where a decoder does it itself (JPEG's 1/8 scale from DC terms alone).
        _ = try? decoder.decode(bytes, shrinkingBy: 8)
    }
    return 0
}
