// GIFCodec: the first frame of a GIF through giflib, composited onto the logical screen.

internal import CGIF
import FastResize

/// Decodes a GIF's first frame to RGB, or RGBA when it has transparency or leaves the screen uncovered.
///
/// Frames are read line by line rather than with DGifSlurp, which would allocate whatever size a
/// hostile frame header claims.
public struct GIFDecoder: ImageDecoding {
    public init() {}

    public func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo {
        let file = try GIFFile(data)
        let (frame, transparentIndex) = try file.firstFrame()
        return ImageInfo(format: .gif, width: file.width, height: file.height,
                         hasAlpha: transparentIndex != nil || !file.covers(frame))
    }

    public func decode(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer {
        let file = try GIFFile(data)
        let (frame, transparentIndex) = try file.firstFrame()
        let hasAlpha = transparentIndex != nil || !file.covers(frame)
        guard let colors = file.colorMap(for: frame) else { throw .decodeFailed(.gif, "no colour table") }

        var image = PixelBuffer(width: file.width, height: file.height, format: hasAlpha ? .rgba : .rgb)
        let channels = image.format.channelCount
        var line = [UInt8](repeating: 0, count: frame.width)
        for y in Self.rowOrder(height: frame.height, interlaced: frame.interlaced) {
            let status = line.withUnsafeMutableBufferPointer { DGifGetLine(file.pointer, $0.baseAddress, Int32(frame.width)) }
            guard status == GIF_OK else { throw .decodeFailed(.gif, file.lastError(or: "cannot read image data")) }
            let canvasY = frame.top + y
            guard canvasY >= 0 && canvasY < file.height else { continue }
            image.pixels.withUnsafeMutableBufferPointer { pixels in
                for x in 0..<frame.width {
                    let canvasX = frame.left + x
                    guard canvasX >= 0 && canvasX < file.width else { continue }
                    let index = Int(line[x])
                    if index == transparentIndex { continue }      // stays transparent (all zero)
                    let color = index < colors.count ? colors[index] : (0, 0, 0)
                    let out = (canvasY * file.width + canvasX) * channels
                    pixels[out] = color.0
                    pixels[out + 1] = color.1
                    pixels[out + 2] = color.2
                    if hasAlpha { pixels[out + 3] = 255 }
                }
            }
        }
        return image
    }

    /// Interlaced GIFs store rows in four passes.
    static func rowOrder(height: Int, interlaced: Bool) -> [Int] {
        guard interlaced else { return Array(0..<height) }
        return Array(stride(from: 0, to: height, by: 8)) + Array(stride(from: 4, to: height, by: 8))
            + Array(stride(from: 2, to: height, by: 4)) + Array(stride(from: 1, to: height, by: 2))
    }
}

/// Position and colour table of a frame, as its image descriptor states them.
private struct GIFFrame {
    var left, top, width, height: Int
    var interlaced: Bool
    var colors: [(UInt8, UInt8, UInt8)]?
}

/// A giflib reader over a caller-owned buffer.
private final class GIFFile {
    let pointer: UnsafeMutablePointer<GifFileType>
    private let source: UnsafeMutablePointer<MemorySource>
    var width: Int { Int(pointer.pointee.SWidth) }
    var height: Int { Int(pointer.pointee.SHeight) }

    struct MemorySource {
        var base: UnsafePointer<UInt8>?
        var count: Int
        var position: Int
    }

    init(_ data: UnsafeRawBufferPointer) throws(CodecError) {
        source = .allocate(capacity: 1)
        source.initialize(to: MemorySource(base: data.bindMemory(to: UInt8.self).baseAddress, count: data.count, position: 0))
        var error: Int32 = 0
        guard let pointer = DGifOpen(source, { file, buffer, length in
            guard let file, let buffer, length > 0 else { return 0 }
            let source = file.pointee.UserData.assumingMemoryBound(to: MemorySource.self)
            let n = min(Int(length), source.pointee.count - source.pointee.position)
            guard n > 0, let base = source.pointee.base else { return 0 }
            buffer.update(from: base + source.pointee.position, count: n)
            source.pointee.position += n
            return Int32(n)
        }, &error) else {
            source.deallocate()
            throw .decodeFailed(.gif, String(cString: GifErrorString(error)))
        }
        self.pointer = pointer
        guard pointer.pointee.SWidth > 0 && pointer.pointee.SHeight > 0 else {
            throw .decodeFailed(.gif, "logical screen has no pixels")
        }
    }

    deinit {
        var error: Int32 = 0
        DGifCloseFile(pointer, &error)
        source.deallocate()
    }

    /// Reads records up to the first image descriptor; returns it and the transparent colour index.
    func firstFrame() throws(CodecError) -> (GIFFrame, Int?) {
        var transparentIndex: Int?
        while true {
            var type = UNDEFINED_RECORD_TYPE
            guard DGifGetRecordType(pointer, &type) == GIF_OK else { throw .decodeFailed(.gif, lastError(or: "corrupt file")) }
            switch type {
            case IMAGE_DESC_RECORD_TYPE:
                guard DGifGetImageDesc(pointer) == GIF_OK else { throw .decodeFailed(.gif, lastError(or: "corrupt frame header")) }
                let description = pointer.pointee.Image
                guard description.Width > 0 && description.Height > 0 else {
                    throw .decodeFailed(.gif, "frame has no pixels")
                }
                let frame = GIFFrame(left: Int(description.Left), top: Int(description.Top),
                                     width: Int(description.Width), height: Int(description.Height),
                                     interlaced: description.Interlace, colors: Self.colors(description.ColorMap))
                return (frame, transparentIndex)
            case EXTENSION_RECORD_TYPE:
                var code: Int32 = 0
                var block: UnsafeMutablePointer<GifByteType>?
                guard DGifGetExtension(pointer, &code, &block) == GIF_OK else { throw .decodeFailed(.gif, lastError(or: "corrupt extension")) }
                if code == GRAPHICS_EXT_FUNC_CODE, let block, block[0] >= 4 {
                    var control = GraphicsControlBlock()
                    if DGifExtensionToGCB(Int(block[0]), block + 1, &control) == GIF_OK,
                       control.TransparentColor != NO_TRANSPARENT_COLOR {
                        transparentIndex = Int(control.TransparentColor)
                    }
                }
                while block != nil {
                    guard DGifGetExtensionNext(pointer, &block) == GIF_OK else { throw .decodeFailed(.gif, lastError(or: "corrupt extension")) }
                }
            case TERMINATE_RECORD_TYPE:
                throw .decodeFailed(.gif, "file has no image frames")
            default:
                throw .decodeFailed(.gif, "unknown record type")
            }
        }
    }

    func covers(_ frame: GIFFrame) -> Bool {
        frame.left <= 0 && frame.top <= 0 && frame.left + frame.width >= width && frame.top + frame.height >= height
    }

    func colorMap(for frame: GIFFrame) -> [(UInt8, UInt8, UInt8)]? {
        frame.colors ?? Self.colors(pointer.pointee.SColorMap)
    }

    private static func colors(_ map: UnsafeMutablePointer<ColorMapObject>?) -> [(UInt8, UInt8, UInt8)]? {
        guard let map, let entries = map.pointee.Colors, map.pointee.ColorCount > 0 else { return nil }
        return (0..<Int(map.pointee.ColorCount)).map { (entries[$0].Red, entries[$0].Green, entries[$0].Blue) }
    }

    func lastError(or fallback: String) -> String {
        let code = pointer.pointee.Error
        guard code != 0, let text = GifErrorString(code) else { return fallback }
        return String(cString: text)
    }
}
