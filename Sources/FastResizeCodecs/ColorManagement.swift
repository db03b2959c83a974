// ColorManagement: ICC profile conversion to sRGB through lcms2, with transforms cached per profile.

internal import CLCMS2
import FastResizePipeline
import FastResizePixels
import Foundation
import Synchronization

/// Converts embedded-profile pixels to sRGB with lcms2 (relative colorimetric intent, as libvips'
/// thumbnail does). Transforms are built once per profile and pixel layout and shared by all
/// threads (they are made without lcms2's one-pixel cache, which is what makes sharing safe).
public final class LittleCMS: ColorManaging, @unchecked Sendable {
    public static let shared = LittleCMS()

    private struct Key: Hashable {
        let profile: [UInt8]
        let format: PixelFormat
        let bitDepth: Int
        let source: Source
    }

    /// What the transform reads: pixels the profile describes, CMYK samples, or CIELAB samples.
    private enum Source: Hashable { case pixels, cmyk(CMYKKind), lab }

    /// A transform, or nil when the profile could not be used for that layout.
    private final class Transform: @unchecked Sendable {
        let handle: cmsHTRANSFORM?
        init(_ handle: cmsHTRANSFORM?) { self.handle = handle }
        deinit { if let handle { cmsDeleteTransform(handle) } }
    }

    /// Few distinct profiles occur in one batch (a camera's, Adobe RGB, Display P3): keep a handful.
    private static let cacheSize = 16
    private let cache = Mutex<[(Key, Transform)]>([])

    /// Made on first use: most runs never embed a profile.
    public var sRGBProfile: [UInt8] { Self.sRGBBytes }

    private static let sRGBBytes: [UInt8] = {
        let profile = cmsCreate_sRGBProfile()
        var length: cmsUInt32Number = 0
        cmsSaveProfileToMem(profile, nil, &length)
        var bytes = [UInt8](repeating: 0, count: Int(length))
        cmsSaveProfileToMem(profile, &bytes, &length)
        cmsCloseProfile(profile)
        return bytes
    }()

    private init() {}

    /// The CMYK profile for CMYK files that carry none: $FASTRESIZE_CMYK_PROFILE, else Ghostscript's
    /// default CMYK profile where installed (Debian's libgs-common); without one, CMYK is converted
    /// by the plain formula. Read from the system at run time, never shipped with FastResize.
    public var fallbackCMYKProfile: [UInt8]? { Self.fallbackCMYK?.bytes }

    /// Where the fallback CMYK profile was read from, if one was found.
    public var fallbackCMYKProfilePath: String? { Self.fallbackCMYK?.path }

    /// Read on first use (a CMYK file without a profile).
    private static let fallbackCMYK: (path: String, bytes: [UInt8])? = {
        let candidates = [ProcessInfo.processInfo.environment["FASTRESIZE_CMYK_PROFILE"],
                          "/usr/share/color/icc/ghostscript/default_cmyk.icc"].compactMap { $0 }
        for path in candidates {
            if let bytes = FileManager.default.contents(atPath: path), let handle = LittleCMS.open(Array(bytes)) {
                defer { cmsCloseProfile(handle) }
                if cmsGetColorSpace(handle) == cmsSigCmykData { return (path, Array(bytes)) }
            }
        }
        return nil
    }()

    public func fits(_ profile: [UInt8], _ format: PixelFormat) -> Bool {
        guard let handle = Self.open(profile) else { return false }
        defer { cmsCloseProfile(handle) }
        return cmsGetColorSpace(handle) == (format.isGray ? cmsSigGrayData : cmsSigRgbData)
    }

    public func isSRGB(_ profile: [UInt8]) -> Bool {
        guard let handle = Self.open(profile) else { return false }
        defer { cmsCloseProfile(handle) }
        // The profile's description names it ("sRGB IEC61966-2.1", "sRGB built-in", ...).
        var text = [CChar](repeating: 0, count: 256)
        let count = cmsGetProfileInfoASCII(handle, cmsInfoDescription, "en", "US", &text, 256)
        guard count > 0 else { return false }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).lowercased().hasPrefix("srgb")
    }

    public func convertToSRGB(_ image: PixelBuffer, profile: [UInt8]) -> PixelBuffer? {
        guard let transform = transform(Key(profile: profile, format: image.format, bitDepth: image.bitDepth, source: .pixels)) else {
            return nil
        }
        var output = PixelBuffer(uninitializedWidth: image.width, height: image.height, format: image.format,
                                 bitDepth: image.bitDepth)
        run(transform, from: image.pixels, into: &output.pixels, pixelCount: image.width * image.height)
        return output
    }

    /// How CMYK samples are stored: Adobe applications write them inverted (0 = full ink).
    enum CMYKKind: Hashable { case normal, inverted }

    /// CMYK pixels (4 bytes each) converted to sRGB through `profile`; nil if the profile is unusable.
    func convertCMYK(_ cmyk: [UInt8], width: Int, height: Int, kind: CMYKKind, profile: [UInt8]) -> PixelBuffer? {
        guard let transform = transform(Key(profile: profile, format: .rgb, bitDepth: 8, source: .cmyk(kind))) else { return nil }
        var output = PixelBuffer(uninitializedWidth: width, height: height, format: .rgb)
        run(transform, from: cmyk, into: &output.pixels, pixelCount: width * height)
        return output
    }

    /// CIELAB as TIFF stores it (L from 0 to the sample maximum for 0…100, a and b signed,
    /// 8-bit units or 16-bit 1/256 units) to 8-bit sRGB.
    func convertLab(_ samples: [UInt8], bitDepth: Int, width: Int, height: Int) -> PixelBuffer? {
        guard let transform = transform(Key(profile: [], format: .rgb, bitDepth: 8, source: .lab)) else { return nil }
        let count = width * height
        var lab = [Double](repeating: 0, count: count * 3)
        samples.withUnsafeBytes { raw in
            for i in 0..<count {
                if bitDepth == 16 {
                    let p = raw.bindMemory(to: UInt16.self)
                    lab[i * 3] = Double(p[i * 3]) / 65535 * 100
                    lab[i * 3 + 1] = Double(Int16(bitPattern: p[i * 3 + 1])) / 256
                    lab[i * 3 + 2] = Double(Int16(bitPattern: p[i * 3 + 2])) / 256
                } else {
                    lab[i * 3] = Double(raw[i * 3]) / 255 * 100
                    lab[i * 3 + 1] = Double(Int8(bitPattern: raw[i * 3 + 1]))
                    lab[i * 3 + 2] = Double(Int8(bitPattern: raw[i * 3 + 2]))
                }
            }
        }
        var output = PixelBuffer(uninitializedWidth: width, height: height, format: .rgb)
        lab.withUnsafeBytes { source in
            output.pixels.withUnsafeMutableBytes { target in
                cmsDoTransform(transform, source.baseAddress, target.baseAddress, cmsUInt32Number(count))
            }
        }
        return output
    }

    private func run(_ transform: cmsHTRANSFORM, from input: [UInt8], into output: inout [UInt8], pixelCount: Int) {
        input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { target in
                cmsDoTransform(transform, source.baseAddress, target.baseAddress, cmsUInt32Number(pixelCount))
            }
        }
    }

    private func transform(_ key: Key) -> cmsHTRANSFORM? {
        if let found = cache.withLock({ entries in entries.first(where: { $0.0 == key })?.1 }) { return found.handle }
        let made = Transform(Self.makeTransform(key))
        cache.withLock { entries in
            entries.append((key, made))
            if entries.count > Self.cacheSize { entries.removeFirst() }
        }
        return made.handle
    }

    private static func open(_ profile: [UInt8]) -> cmsHPROFILE? {
        profile.withUnsafeBytes { cmsOpenProfileFromMem($0.baseAddress, cmsUInt32Number($0.count)) }
    }

    private static func makeTransform(_ key: Key) -> cmsHTRANSFORM? {
        guard let source = key.source == .lab ? cmsCreateLab4Profile(nil) : open(key.profile) else { return nil }
        defer { cmsCloseProfile(source) }
        let space = cmsGetColorSpace(source)
        let target: cmsHPROFILE?
        let inputType: cmsUInt32Number
        let outputType: cmsUInt32Number
        let sixteen = key.bitDepth == 16
        let alpha = key.format.hasAlpha
        switch key.source {
        case .lab:
            inputType = FR_TYPE_Lab_DBL
            outputType = FR_TYPE_RGB_8
            target = cmsCreate_sRGBProfile()
        case .cmyk(let kind):
            guard space == cmsSigCmykData else { return nil }
            inputType = kind == .inverted ? FR_TYPE_CMYK_8_REV : FR_TYPE_CMYK_8
            outputType = FR_TYPE_RGB_8
            target = cmsCreate_sRGBProfile()
        case .pixels where key.format.isGray:
            // Gray stays gray: the target is a gray profile with sRGB's white point and curve.
            guard space == cmsSigGrayData else { return nil }
            inputType = sixteen ? (alpha ? FR_TYPE_GRAYA_16 : FR_TYPE_GRAY_16) : (alpha ? FR_TYPE_GRAYA_8 : FR_TYPE_GRAY_8)
            outputType = inputType
            target = sRGBGrayProfile()
        case .pixels:
            guard space == cmsSigRgbData else { return nil }
            inputType = sixteen ? (alpha ? FR_TYPE_RGBA_16 : FR_TYPE_RGB_16) : (alpha ? FR_TYPE_RGBA_8 : FR_TYPE_RGB_8)
            outputType = inputType
            target = cmsCreate_sRGBProfile()
        }
        guard let target else { return nil }
        defer { cmsCloseProfile(target) }
        return cmsCreateTransform(source, inputType, target, outputType, cmsUInt32Number(INTENT_RELATIVE_COLORIMETRIC),
                                  FR_FLAGS_NOCACHE | FR_FLAGS_COPY_ALPHA)
    }

    /// A gray profile with D65 white and the sRGB tone curve: what sRGB is for one channel.
    private static func sRGBGrayProfile() -> cmsHPROFILE? {
        var parameters: [cmsFloat64Number] = [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045]
        guard let curve = cmsBuildParametricToneCurve(nil, 4, &parameters) else { return nil }
        defer { cmsFreeToneCurve(curve) }
        return withUnsafePointer(to: cmsD50_xyY().pointee) { cmsCreateGrayProfile($0, curve) }
    }
}
