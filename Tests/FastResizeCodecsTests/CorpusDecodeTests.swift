// CorpusDecodeTests: every decoder on the real files of ../shared/corpus (skipped, saying why, without it).

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

@Suite(.enabled(if: Corpus.folder != nil, Comment(rawValue: Corpus.missingReason)))
struct CorpusDecodeTests {
    @Test func okFilesDecodeAndMatchTheirProbe() throws {
        var checked = 0
        for entry in try Corpus.entries() where entry.expected == "ok" {
            let data = try Data(contentsOf: Corpus.url(entry))
            guard let format = Codecs.all.detect(data.prefix(64)) else {
                Issue.record("\(entry.path): format not detected"); continue
            }
            let decoder = Codecs.all.decoders[format]!
            let result = data.withUnsafeBytes { bytes in
                Result { () throws(CodecError) in (try decoder.probe(bytes), try decoder.decode(bytes)) }
            }
            switch result {
            case .failure(let error):
                Issue.record("\(entry.path): \(error)")
            case .success(let (info, image)):
                #expect((info.width, info.height) == (image.width, image.height), "\(entry.path)")
                #expect(info.hasAlpha == image.format.hasAlpha, "\(entry.path)")
                // The manifest gives stored sizes; HEIF containers may rotate or crop on decode.
                if format != .heic && format != .avif, let width = entry.width, let height = entry.height {
                    #expect((image.width, image.height) == (width, height), "\(entry.path)")
                }
                checked += 1
            }
        }
        #expect(checked > 150)
    }

    @Test func errorFilesFailWithAReason() throws {
        for entry in try Corpus.entries() where entry.expected == "error" {
            let data = try Data(contentsOf: Corpus.url(entry))
            guard let format = Codecs.all.detect(data.prefix(64)) else { continue }   // refused by detection
            let decoder = Codecs.all.decoders[format]!
            let result = data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
                Result { () throws(CodecError) -> Bool in
                    let info = try decoder.probe(bytes)
                    // Bombs are refused by the pipeline's pixel limit before decoding.
                    if info.width * info.height > FilePipeline.defaultMaxPixels { return true }
                    _ = try decoder.decode(bytes)
                    return false
                }
            }
            let failed: Bool
            switch result {
            case .success(let refused): failed = refused
            case .failure(let error): failed = !error.description.isEmpty
            }
            #expect(failed, "\(entry.path) decoded although the manifest expects an error")
        }
    }
}
