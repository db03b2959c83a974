// GIFCodec: GIF decoding through giflib: the first frame, or every frame composited onto the logical screen.

internal import CGIF
import FastResizePipeline
import FastResizePixels

/// Decodes GIF: the first frame (RGB, or RGBA when it has transparency or leaves the screen
/// uncovered), or every frame composited onto the logical screen as an animation.
///
/// Frames are read line by line rather than with DGifSlurp, which would allocate whatever size a
/// hostile frame header claims.
public struct GIFDecoder: AnimationDecoding, LoggingDecoding {
    /// Given, a frame whose data ends early is drawn as far as it goes (the rest of it left as
    /// the canvas was) and the animation ends there, told to this log, rather than failing.
    private var tolerantLog: DecodeLog?

    public init() {}

    public func logging(to log: DecodeLog, toleratingTruncation: Bool) -> any ImageDecoding {
        var decoder = self
        decoder.tolerantLog = toleratingTruncation ? log : nil
        return decoder
    }

    public func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo {
        let file = try GIFFile(data)
        guard let first = try file.nextFrame() else { throw .decodeFailed(.gif, "file has no image frames") }
        // Count the frames, skipping their compressed data unread; a damaged tail still leaves the first.
        var frameCount = 1
        do {
            try file.skipImageData()
            while try file.nextFrame() != nil {
                try file.skipImageData()
                frameCount += 1
            }
        } catch {}
        var info = ImageInfo(format: .gif, width: file.width, height: file.height,
                             hasAlpha: first.transparentIndex != nil || !file.covers(first),
                             frameCount: frameCount)
        // Frame by frame: the RGBA canvas drawn on, and the copy kept to restore it (disposal 3).
        info.framesScratchPerPixel = 8
        return info
    }

    public func decode(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer {
        let file = try GIFFile(data)
        guard let frame = try file.nextFrame() else { throw .decodeFailed(.gif, "file has no image frames") }
        let hasAlpha = frame.transparentIndex != nil || !file.covers(frame)
        var image = PixelBuffer(width: file.width, height: file.height, format: hasAlpha ? .rgba : .rgb)
        try file.draw(frame, onto: &image, tolerantLog: tolerantLog)
        return image
    }

    public func decodeFrames(_ data: UnsafeRawBufferPointer, _ body: (PixelBuffer, Int) -> Void) throws(CodecError) -> Int {
        let file = try GIFFile(data)
        var canvas = PixelBuffer(width: file.width, height: file.height, format: .rgba)
        var count = 0
        while true {
            let next: GIFFrame?
            do throws(CodecError) {
                next = try file.nextFrame()
            } catch {
                // Tolerated: the frames drawn so far are the animation.
                guard let tolerantLog, count > 0 else { throw error }
                tolerantLog.warn("the file ends after frame \(count) (\(error)); the frames before are kept")
                break
            }
            guard let frame = next else { break }
            let before = frame.disposal == 3 ? canvas.countedApart() : nil
            let whole = try file.draw(frame, onto: &canvas, tolerantLog: tolerantLog)
            // Browsers show delays under 20 ms as 100 ms; so do we, so the output plays as the input did.
            body(canvas.countedApart(), frame.delay < 2 ? 100 : frame.delay * 10)
            count += 1
            if !whole { break }
            if frame.disposal == 2 {
                canvas.clear(PixelRect(x: frame.left, y: frame.top, width: frame.width, height: frame.height))
            } else if let before {
                canvas = before
            }
        }
        guard count > 0 else { throw .decodeFailed(.gif, "file has no image frames") }
        return file.loopCount
    }

    /// Interlaced GIFs store rows in four passes.
    static func rowOrder(height: Int, interlaced: Bool) -> [Int] {
        guard interlaced else { return Array(0..<height) }
        return Array(stride(from: 0, to: height, by: 8)) + Array(stride(from: 4, to: height, by: 8))
            + Array(stride(from: 2, to: height, by: 4)) + Array(stride(from: 1, to: height, by: 2))
    }
}

extension PixelBuffer {
    /// Makes the part of `rect` inside the image transparent black (GIF's "restore to background").
    fileprivate mutating func clear(_ rect: PixelRect) {
        let channels = format.channelCount
        let x0 = max(0, rect.x), x1 = min(width, rect.x + rect.width)
        let y0 = max(0, rect.y), y1 = min(height, rect.y + rect.height)
        guard x0 < x1 && y0 < y1 else { return }
        let imageWidth = width
        pixels.withUnsafeMutableBufferPointer { p in
            for y in y0..<y1 {
                for i in ((y * imageWidth + x0) * channels)..<((y * imageWidth + x1) * channels) { p[i] = 0 }
            }
        }
    }
}

/// Position and colour table of a frame, as its image descriptor states them.
private struct GIFFrame {
    var left, top, width, height: Int
    var interlaced: Bool
    var colors: [(UInt8, UInt8, UInt8)]?
    /// From the graphics control extension before the frame.
    var transparentIndex: Int?
    var delay: Int
    var disposal: Int
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

    /// Plays this many times (0 = for ever), from the NETSCAPE2.0 extension; 1 without it.
    private(set) var loopCount = 1

    /// Reads records up to the next image descriptor, or nil at the end of the file.
    func nextFrame() throws(CodecError) -> GIFFrame? {
        var transparentIndex: Int?
        var delay = 0, disposal = 0
        var applicationBlock = false
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
                return GIFFrame(left: Int(description.Left), top: Int(description.Top),
                                width: Int(description.Width), height: Int(description.Height),
                                interlaced: description.Interlace, colors: Self.colors(description.ColorMap),
                                transparentIndex: transparentIndex, delay: delay, disposal: disposal)
            case EXTENSION_RECORD_TYPE:
                var code: Int32 = 0
                var block: UnsafeMutablePointer<GifByteType>?
                guard DGifGetExtension(pointer, &code, &block) == GIF_OK else { throw .decodeFailed(.gif, lastError(or: "corrupt extension")) }
                if code == GRAPHICS_EXT_FUNC_CODE, let block, block[0] >= 4 {
                    var control = GraphicsControlBlock()
                    if DGifExtensionToGCB(Int(block[0]), block + 1, &control) == GIF_OK {
                        if control.TransparentColor != NO_TRANSPARENT_COLOR { transparentIndex = Int(control.TransparentColor) }
                        delay = Int(control.DelayTime)
                        disposal = Int(control.DisposalMode)
                    }
                }
                applicationBlock = code == APPLICATION_EXT_FUNC_CODE && block.map { $0[0] == 11
                    && String(decoding: UnsafeBufferPointer(start: $0 + 1, count: 11), as: UTF8.self) == "NETSCAPE2.0" } == true
                while block != nil {
                    guard DGifGetExtensionNext(pointer, &block) == GIF_OK else { throw .decodeFailed(.gif, lastError(or: "corrupt extension")) }
                    // The sub-block after NETSCAPE2.0: 1, then the repetitions after the first showing.
                    if applicationBlock, let sub = block, sub[0] >= 3, sub[1] == 1 {
                        let repeats = Int(sub[2]) | Int(sub[3]) << 8
                        loopCount = repeats == 0 ? 0 : repeats + 1
                        applicationBlock = false
                    }
                }
            case TERMINATE_RECORD_TYPE:
                return nil
            default:
                throw .decodeFailed(.gif, "unknown record type")
            }
        }
    }

    /// Passes over the compressed data of the frame just read.
    func skipImageData() throws(CodecError) {
        var codeSize: Int32 = 0
        var block: UnsafeMutablePointer<GifByteType>?
        guard DGifGetCode(pointer, &codeSize, &block) == GIF_OK else { throw .decodeFailed(.gif, lastError(or: "corrupt frame")) }
        while block != nil {
            guard DGifGetCodeNext(pointer, &block) == GIF_OK else { throw .decodeFailed(.gif, lastError(or: "corrupt frame")) }
        }
    }

    /// Decodes the frame just read onto `image` (RGB or RGBA of the screen's size); transparent
    /// pixels leave what is under them. With a `tolerantLog`, data that ends early stops the
    /// drawing there (told to the log; false is returned) instead of failing.
    @discardableResult
    func draw(_ frame: GIFFrame, onto image: inout PixelBuffer, tolerantLog: DecodeLog?) throws(CodecError) -> Bool {
        guard let colors = colorMap(for: frame) else { throw .decodeFailed(.gif, "no colour table") }
        let channels = image.format.channelCount
        let hasAlpha = image.format.hasAlpha
        var line = [UInt8](repeating: 0, count: frame.width)
        for (drawn, y) in GIFDecoder.rowOrder(height: frame.height, interlaced: frame.interlaced).enumerated() {
            let status = line.withUnsafeMutableBufferPointer { DGifGetLine(pointer, $0.baseAddress, Int32(frame.width)) }
            guard status == GIF_OK else {
                let reason = lastError(or: "cannot read image data")
                guard let tolerantLog else { throw .decodeFailed(.gif, reason) }
                tolerantLog.warn("image data ends after \(drawn) of \(frame.height) rows (\(reason)); the rest is left as it was")
                return false
            }
            let canvasY = frame.top + y
            guard canvasY >= 0 && canvasY < height else { continue }
            let screenWidth = width
            image.pixels.withUnsafeMutableBufferPointer { pixels in
                for x in 0..<frame.width {
                    let canvasX = frame.left + x
                    guard canvasX >= 0 && canvasX < screenWidth else { continue }
                    let index = Int(line[x])
                    if index == frame.transparentIndex { continue }
                    let color = index < colors.count ? colors[index] : (0, 0, 0)
                    let out = (canvasY * screenWidth + canvasX) * channels
                    pixels[out] = color.0
                    pixels[out + 1] = color.1
                    pixels[out + 2] = color.2
                    if hasAlpha { pixels[out + 3] = 255 }
                }
            }
        }
        return true
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
