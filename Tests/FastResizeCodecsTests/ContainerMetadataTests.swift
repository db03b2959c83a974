// ContainerMetadataTests: the codecs' readers of container metadata blocks.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

@Suite struct ContainerMetadataTests {
    @Test func imageMagickRawProfileIsHexDecoded() {
        let block = Array("Exif\0\0".utf8) + TestImages.exifBlock(orientation: 3, bigEndian: false)
        let hex = block.map { String(format: "%02x", $0) }.joined()
        let text = Array("\nexif\n      \(block.count)\n\(hex)\n".utf8)
        let decoded = ContainerMetadata.imageMagickRawProfile(text)
        #expect(decoded.flatMap { EXIF.orientation(in: $0) } == 3)
    }
}
