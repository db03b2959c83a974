// ReleasedPagesTests: decoders give back input pages of the file mapping only, never memory beyond it.

import CCodecShims
import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

@Suite struct ReleasedPagesTests {
    static let page = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// `bytes` written to a file and mapped read-only, private, directly followed by one page of
    /// ordinary memory filled with 0xA5 (what a release running past the mapping would zero).
    final class MappedWithNeighbour {
        let base: UnsafeMutableRawPointer
        let size: Int
        let mappedBytes: Int
        let folder: ScratchFolder

        init(_ bytes: [UInt8]) throws {
            folder = try ScratchFolder()
            try folder.write(bytes, to: "input")
            size = bytes.count
            mappedBytes = (bytes.count + page - 1) / page * page
            // Reserve the mapping and its neighbour together, then put the file over the front.
            let region = try #require(mmap(nil, mappedBytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
            #expect(region != MAP_FAILED)
            base = region
            (base + mappedBytes).initializeMemory(as: UInt8.self, repeating: 0xA5, count: page)
            let descriptor = open(folder.path("input"), O_RDONLY)
            defer { close(descriptor) }
            let file = mmap(base, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, descriptor, 0)
            #expect(file == base)
        }

        deinit { munmap(base, mappedBytes + page) }

        var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }
        var neighbourIntact: Bool {
            UnsafeRawBufferPointer(start: base + mappedBytes, count: page).allSatisfy { $0 == 0xA5 }
        }
    }

    /// A small input is read into memory, a large one mapped (pages to give back); either way the
    /// bytes are the file's, the last one included.
    @Test func smallInputsAreReadAndLargeOnesMapped() throws {
        let folder = try ScratchFolder()
        for (name, count, mapped) in [("small", 5_000, false), ("large", 300_000, true)] {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
            try folder.write(bytes, to: name)
            let file = try FilePipeline.mapFile(folder.path(name))
            #expect(file.mapped == mapped, "\(name)")
            #expect(Array(file.data) == bytes, "\(name)")
        }
    }

    /// A range running past the end of the mapping releases the mapping's pages only.
    @Test func releasesStopAtTheMapping() throws {
        let mapped = try MappedWithNeighbour([UInt8](repeating: 7, count: 4 * Self.page))
        let start = mapped.base.assumingMemoryBound(to: UInt8.self)
        fr_release_pages(start, mapped.size, start, start + mapped.size + Self.page)
        #expect(mapped.neighbourIntact)
        // The released pages read back from the file.
        #expect(mapped.bytes.allSatisfy { $0 == 7 })
    }

    /// A JPEG cut short, read tolerating truncation: past the data libjpeg reads its own fake
    /// end-of-image marker, which lies outside the input; no page outside the input is given back
    /// (they were, zeroing memory of the process up to libjpeg's: a crash or a corrupt heap).
    @Test func cutShortJPEGReleasesNothingBeyondItsInput() throws {
        let whole = try JPEGEncoder().encode(TestImages.pattern(width: 1600, height: 1200, format: .rgb, seed: 3),
                                             options: EncodeOptions(quality: 95))
        let cut = Array(whole.prefix(whole.count * 6 / 10))
        #expect(cut.count > 1 << 19, "the input must be long enough for pages to be released")
        let mapped = try MappedWithNeighbour(cut)
        let log = DecodeLog()
        let decoder = try #require(JPEGDecoder().logging(to: log, toleratingTruncation: true) as? any RowStreaming)
        let reader = try #require(try decoder.rowReader(mapped.bytes, shrinkingBy: 1, releasingInput: true))
        var rows = [UInt8](repeating: 0, count: reader.width * reader.format.channelCount * 16)
        try rows.withUnsafeMutableBufferPointer { buffer in
            var read = 0
            while read < reader.height {
                let count = min(16, reader.height - read)
                try reader.read(into: buffer.baseAddress!, rows: count)
                read += count
            }
        }
        #expect(mapped.neighbourIntact)
        #expect(!log.warnings.isEmpty, "the cut is reported")
    }
}
