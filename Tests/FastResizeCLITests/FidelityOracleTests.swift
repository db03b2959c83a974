// FidelityOracleTests: orientation, colour and alpha outputs checked against libvips' vipsthumbnail and other independent answers.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

/// vipsthumbnail from Debian's libvips-tools, which the set-up script installs.
enum Oracle {
    static let vipsthumbnail: String? = ["/usr/bin/vipsthumbnail", "/usr/local/bin/vipsthumbnail"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    static let available = vipsthumbnail != nil && Corpus.folder != nil
    static let missingReason = "needs vipsthumbnail (scripts/install-deps.sh installs libvips-tools) and ../shared/corpus"

    /// vipsthumbnail's PNG of `input`, shrunk (never enlarged) to fit `size` × `size`.
    static func vips(_ input: String, size: Int, extra: [String] = [], in scratch: ScratchFolder) throws -> PixelBuffer {
        let output = scratch.path("vips-\(UUID().uuidString).png")
        #expect(try runTool(vipsthumbnail!, [input, "--size", "\(size)x\(size)>", "-o", output] + extra) == 0,
                "vipsthumbnail failed on \(input)")
        return try decodeFile(output)
    }

    /// fastresize's PNG of `input`, fitted into `size` × `size`.
    static func ours(_ input: String, size: Int, extra: [String] = [], in scratch: ScratchFolder) throws -> PixelBuffer {
        try decodeFile(oursFile(input, size: size, extra: extra, in: scratch))
    }

    /// The path of fastresize's output (PNG unless `extra` says otherwise).
    static func oursFile(_ input: String, size: Int, format: String = "png", extra: [String] = [],
                         in scratch: ScratchFolder) throws -> String {
        let folder = scratch.path("ours-\(UUID().uuidString)")
        let result = try CommandRunner.run([input, "-o", folder, "--fit", "\(size)x\(size)", "--format", format, "-q"] + extra)
        #expect(result.status == 0, "\(input): \(result.stderr)")
        let extensions = ["jpeg": "jpg"]
        let name = ((input as NSString).lastPathComponent as NSString).deletingPathExtension + "." + (extensions[format] ?? format)
        return folder + "/" + name
    }

    /// Our output and vipsthumbnail's for a corpus file (fit 200×200, PNG), checked to be the same size.
    static func bothOutputs(_ file: String, vipsExtra: [String] = []) throws -> (ours: PixelBuffer, vips: PixelBuffer) {
        let scratch = try ScratchFolder()
        let ours = try Oracle.ours(Oracle.corpus(file), size: 200, in: scratch)
        let vips = try Oracle.vips(Oracle.corpus(file), size: 200, extra: vipsExtra, in: scratch)
        try #require((ours.width, ours.height) == (vips.width, vips.height), "\(file): sizes differ")
        return (ours, vips)
    }

    static func corpus(_ relative: String) -> String {
        Corpus.folder!.appendingPathComponent(relative).path
    }
}

@Suite(.enabled(if: Oracle.available, Comment(rawValue: Oracle.missingReason)))
struct OrientationOracleTests {
    static let exifFiles = (0...8).flatMap { ["orientation/Landscape_\($0).jpg", "orientation/Portrait_\($0).jpg"] }
        + ["orientation/hopper_orientation_3.webp", "orientation/hopper_orientation_5.webp",
           "orientation/hopper_orientation_6.webp", "orientation/hopper_orientation_8.webp",
           "orientation/g4_orientation_1.tif", "orientation/g4_orientation_3.tif",
           "orientation/g4_orientation_6.tif", "orientation/g4_orientation_8.tif",
           "orientation/rot0mir1.avif", "orientation/rot1mir0.avif", "orientation/rot2mir1.avif",
           "orientation/rot3mir0.avif", "orientation/Ronda_rotate90.avif"]

    /// Every EXIF/TIFF/HEIF-oriented file comes out upright, as libvips turns it.
    @Test(arguments: exifFiles)
    func uprightLikeLibvips(_ file: String) throws {
        let (ours, vips) = try Oracle.bothOutputs(file)
        let psnr = ColorDifference.premultipliedPSNR(ours, vips)
        #expect(psnr >= 35, "\(file): \(psnr) dB")
    }

    /// libvips reads neither ImageMagick's hex EXIF text nor XMP's tiff:Orientation in PNG (Pillow
    /// does both); both files say 3, so the answer is the stored picture turned half round.
    @Test(arguments: ["orientation/exif_imagemagick_orientation.png", "orientation/xmp_tags_orientation.png"])
    func orientationOnlyInTextChunks(_ file: String) throws {
        let scratch = try ScratchFolder()
        let upright = try Oracle.ours(Oracle.corpus(file), size: 4000, in: scratch)
        let stored = try Oracle.ours(Oracle.corpus(file), size: 4000, extra: ["--no-auto-orient"], in: scratch)
        #expect(upright == stored.oriented(.rotated180))
        #expect(upright != stored)
    }

    /// A marked picture in every orientation: the output is the picture, pixel for pixel, and
    /// carries orientation 1 when EXIF is kept.
    @Test(arguments: Orientation.allCases)
    func markedPictureComesOutExact(_ orientation: Orientation) throws {
        let scratch = try ScratchFolder()
        let upright = TestImages.pattern(width: 30, height: 20, format: .rgb, seed: 21)
        // Store the picture as a camera would: turned so that the tag's turn makes it upright again.
        let stored = try #require(Orientation.allCases.lazy.map { upright.oriented($0) }.first { $0.oriented(orientation) == upright })
        let exif = TestImages.exifBlock(orientation: UInt16(orientation.rawValue), bigEndian: false)
        let file = try PNGEncoder().encode(stored, options: EncodeOptions(), metadata: ImageMetadata(exif: exif))
        try scratch.write(file, to: "marked.png")
        let output = try Oracle.oursFile(scratch.path("marked.png"), size: 100, extra: ["--keep-metadata"], in: scratch)
        #expect(try decodeFile(output) == upright)
        let written = try Data(contentsOf: URL(fileURLWithPath: output))
        let info = try written.withUnsafeBytes { try PNGDecoder().probe($0) }
        #expect(info.metadata.exif.flatMap { EXIF.orientation(in: $0) } == 1)
        #expect(info.metadata.orientation == .up)
    }
}

@Suite(.enabled(if: Oracle.available, Comment(rawValue: Oracle.missingReason)))
struct ColorOracleTests {
    /// Embedded profiles (Display P3, ProPhoto, DCI-P3, Adobe RGB, gray gamma 2.2, CMYK FOGRA39)
    /// converted to sRGB, against vipsthumbnail told to export sRGB.
    static let profiled = ["color/p3.png", "color/prophoto.png", "color/red-blue-gradient.dcip3d65-no-chrm-no-gama.png",
                           "color/xmp_test.jpg", "color/concert.jpg", "color/fogra-0-100-100-0.tif",
                           "color/16-bit-grey-alpha.png", "color/flower2.webp"]

    @Test(arguments: profiled)
    func convertedToSRGBLikeLibvips(_ file: String) throws {
        let (ours, vips) = try Oracle.bothOutputs(file, vipsExtra: ["-e", "srgb"])
        let difference = ColorDifference.meanDeltaE2000(ours, vips)
        #expect(difference <= 2, "\(file): mean ΔE2000 \(difference)")
    }

    /// 16-bit CIELAB TIFF. libvips reads TIFF Lab as its own D65 Lab and lands about 4 levels
    /// redder than lcms2's tificc, which reads the TIFF's Lab itself (relative colorimetric, to
    /// sRGB): tificc is the oracle, then vipsthumbnail resizes its sRGB result.
    @Test func cielabTIFF() throws {
        let scratch = try ScratchFolder()
        let converted = scratch.path("converted.tif")
        try #require(try runTool("/usr/bin/tificc", ["-t1", "-i*Lab", Oracle.corpus("color/cielab-dagams.tiff"), converted],
                                 errors: .inherit) == 0, "tificc failed (liblcms2-utils)")
        let ours = try Oracle.ours(Oracle.corpus("color/cielab-dagams.tiff"), size: 200, in: scratch)
        let oracle = try Oracle.vips(converted, size: 200, in: scratch)
        let difference = ColorDifference.meanDeltaE2000(ours, oracle)
        #expect(difference <= 2, "mean ΔE2000 \(difference)")
    }

    /// A 400 KB profile without relative-colorimetric tables: lcms2 falls back to its perceptual
    /// tables; libvips warns and does something else unless asked for perceptual, so ask it.
    @Test func profileWithoutRelativeIntent() throws {
        let (ours, vips) = try Oracle.bothOutputs("color/icc_profile_big.jpg", vipsExtra: ["-e", "srgb", "-n", "perceptual"])
        #expect(ColorDifference.meanDeltaE2000(ours, vips) <= 2)
    }

    /// Untagged files (8- and 16-bit, palette, gray) are taken as sRGB and left as they are.
    @Test(arguments: ["color/Flag_of_the_Netherlands-16bit.png", "color/basn0g16.png", "color/basn2c16.png",
                      "color/cs3n2c16.png", "color/tiff_16bit_RGB.tiff", "color/gradients-rgb8.png",
                      "color/gamma_dalai_lama_gray.jpg", "color/fox.profile2.12bpc.yuv444.avif", "color/gain-map.jpg",
                      "color/hdr_cosmos12920_cicp9-16-9_yuv444_full_qp20.avif", "color/g03n2c08.png", "color/g25n3p04.png",
                      "color/red-blue-gradient.gamma1dot0.png"])
    func untaggedStayAsTheyAre(_ file: String) throws {
        let (ours, vips) = try Oracle.bothOutputs(file)
        let psnr = ColorDifference.premultipliedPSNR(ours, vips)
        #expect(psnr >= 35, "\(file): \(psnr) dB")
    }

    /// 16-bit inputs stay 16-bit in PNG and are rounded to 8 bits elsewhere.
    @Test func sixteenBitDepthFollowsTheOutput() throws {
        let scratch = try ScratchFolder()
        let file = Oracle.corpus("color/tiff_16bit_RGB.tiff")
        let png = try Oracle.ours(file, size: 200, in: scratch)
        let jpeg = try decodeFile(Oracle.oursFile(file, size: 200, format: "jpeg", in: scratch))
        #expect(png.bitDepth == 16)
        #expect(jpeg.bitDepth == 8)
        #expect(ColorDifference.premultipliedPSNR(png, jpeg) >= 35)
    }

    /// Brasseur's gamma test picture: shrunk in gamma space it turns flat grey; in linear light
    /// (--linear, as vipsthumbnail --linear) the picture stays.
    @Test(arguments: ["color/gamma_dalai_lama_gray.jpg", "color/gradients-rgb8.png", "photos/2569067123_aca715a2ee_o.jpg"])
    func linearLightLikeLibvips(_ file: String) throws {
        let scratch = try ScratchFolder()
        let ours = try Oracle.ours(Oracle.corpus(file), size: 200, extra: ["--linear"], in: scratch)
        let vips = try Oracle.vips(Oracle.corpus(file), size: 200, extra: ["--linear"], in: scratch)
        let psnr = ColorDifference.premultipliedPSNR(ours, vips)
        #expect(psnr >= 35, "\(file): \(psnr) dB")
        if file.contains("gamma") {
            let gamma = try Oracle.ours(Oracle.corpus(file), size: 200, in: scratch)
            #expect(ColorDifference.premultipliedPSNR(gamma, ours) < 25)
        }
    }

    /// JPEGs whose colours libvips 8.14 gets wrong: an XYB JPEG (it skips the profile), and a CMYK
    /// JPEG whose SWOP profile it rejects (then it uses a CMYK profile of its own). The oracle is
    /// lcms2's own jpgicc (relative colorimetric, to sRGB, through the embedded profile or, for the
    /// CMYK file without one, the fallback profile FastResize uses), then vipsthumbnail to resize.
    @Test(arguments: ["color/sample-xyb.jpg", "color/Channel_digital_image_CMYK_color.jpg",
                      "color/Channel_digital_image_CMYK_color_no_profile.jpg"])
    func profilesLibvipsMisreadsAgainstJpgicc(_ file: String) throws {
        let scratch = try ScratchFolder()
        let converted = scratch.path("converted.jpg")
        var arguments = ["-t", "1", "-q", "100"]
        if file.contains("no_profile") {
            arguments += ["-i", try #require(LittleCMS.shared.fallbackCMYKProfilePath, "no CMYK profile installed (libgs-common)")]
        }
        try #require(try runTool("/usr/bin/jpgicc", arguments + [Oracle.corpus(file), converted], errors: .inherit) == 0,
                     "jpgicc failed (liblcms2-utils)")
        let ours = try Oracle.ours(Oracle.corpus(file), size: 200, in: scratch)
        let oracle = try Oracle.vips(converted, size: 200, in: scratch)
        let difference = ColorDifference.meanDeltaE2000(ours, oracle)
        #expect(difference <= 2, "\(file): mean ΔE2000 \(difference)")
        // And not what ignoring the profile gives.
        let ignored = try Oracle.ours(Oracle.corpus(file), size: 200, extra: ["--keep-profile"], in: scratch)
        if !file.contains("CMYK") { #expect(ColorDifference.meanDeltaE2000(ignored, oracle) > 5) }
    }

    /// --keep-profile keeps pixel values and the profile; the default converts and writes no profile.
    @Test func keepProfileKeepsValuesAndTag() throws {
        let scratch = try ScratchFolder()
        let file = Oracle.corpus("color/xmp_test.jpg")
        let kept = try Oracle.oursFile(file, size: 200, extra: ["--keep-profile"], in: scratch)
        let converted = try Oracle.oursFile(file, size: 200, in: scratch)
        let keptInfo = try Data(contentsOf: URL(fileURLWithPath: kept)).withUnsafeBytes { try PNGDecoder().probe($0) }
        let convertedInfo = try Data(contentsOf: URL(fileURLWithPath: converted)).withUnsafeBytes { try PNGDecoder().probe($0) }
        let input = try Data(contentsOf: URL(fileURLWithPath: file)).withUnsafeBytes { try JPEGDecoder().probe($0) }
        #expect(keptInfo.metadata.iccProfile == input.metadata.iccProfile)
        #expect(convertedInfo.metadata.iccProfile == nil)
        let vipsKept = try Oracle.vips(file, size: 200, in: scratch)      // vipsthumbnail keeps by default
        #expect(ColorDifference.premultipliedPSNR(try decodeFile(kept), vipsKept) >= 35)
    }
}

@Suite(.enabled(if: Oracle.available, Comment(rawValue: Oracle.missingReason)))
struct AlphaOracleTests {
    static let files = ["alpha/5_webp_a.webp", "alpha/alpha-layer-1-fill.png", "alpha/alpha-premultiply-1024x768-paper.png",
                        "alpha/alpha-premultiply-2048x1536-paper.png", "alpha/basn6a16.png", "alpha/bbb_alpha_inverted.avif",
                        "alpha/blackbug.png", "alpha/embedgravitybird.png", "alpha/full-transparent.png",
                        "alpha/grey-8bit-alpha.png", "alpha/image-in-alpha.png", "alpha/rgba32.bmp",
                        "alpha/resize-with-alpha-original.png", "alpha/tbbn3p08.png", "alpha/tm3n3p02.png",
                        "alpha/transparency.avif", "alpha/with-alpha-512x512.heic", "alpha/with-alpha.png"]

    @Test(arguments: files)
    func resizedLikeLibvips(_ file: String) throws {
        let (ours, vips) = try Oracle.bothOutputs(file)
        let psnr = ColorDifference.premultipliedPSNR(ours, vips)
        #expect(psnr >= 35, "\(file): \(psnr) dB")
    }

    /// libvips 8.14 resizes these lossy-alpha WebPs without premultiplying (dark colour bleeds into
    /// half-transparent edges), so the independent float64 reference on the full decode is the oracle.
    @Test(arguments: ["alpha/lossy_alpha1.webp", "alpha/lossy_alpha2.webp"])
    func lossyAlphaWebPAgainstTheReference(_ file: String) throws {
        let scratch = try ScratchFolder()
        let ours = try Oracle.ours(Oracle.corpus(file), size: 200, in: scratch)
        let source = try decodeFile(Oracle.corpus(file))
        let reference = ReferenceResizer.resize(source, width: ours.width, height: ours.height, filter: .lanczos3)
        let psnr = ColorDifference.premultipliedPSNR(ours, reference)
        #expect(psnr >= 35, "\(file): \(psnr) dB")
    }

    /// A red square on a transparent field whose hidden colour is green: no green may show at the
    /// edge, and the transparent border stays exactly transparent.
    @Test func noFringeAndTransparentBorder() throws {
        let scratch = try ScratchFolder()
        var image = PixelBuffer(width: 64, height: 64, format: .rgba)
        for y in 0..<64 {
            for x in 0..<64 {
                let inside = (16..<48).contains(x) && (16..<48).contains(y)
                let p = (y * 64 + x) * 4
                image.pixels[p] = inside ? 255 : 0
                image.pixels[p + 1] = inside ? 0 : 255
                image.pixels[p + 2] = 0
                image.pixels[p + 3] = inside ? 255 : 0
            }
        }
        try scratch.write(try PNGEncoder().encode(image, options: EncodeOptions()), to: "square.png")
        let output = try Oracle.ours(scratch.path("square.png"), size: 24, in: scratch)
        #expect(output.width == 24 && output.format == .rgba)
        var greenest = 0
        for y in 0..<24 {
            for x in 0..<24 {
                let p = (y * 24 + x) * 4
                let alpha = Int(output.pixels[p + 3])
                // Every visible pixel is red: green would be the hidden colour bleeding in.
                if alpha > 0 { greenest = max(greenest, Int(output.pixels[p + 1])) }
                // Lanczos3 at 64 → 24 reaches 8 source pixels (3 output pixels) from each centre: the
                // outer three rings only see the transparent field and must stay exactly transparent.
                if x < 3 || y < 3 || x >= 21 || y >= 21 { #expect(alpha == 0, "(\(x), \(y)) alpha \(alpha)") }
            }
        }
        #expect(greenest <= 1)
        // Flattened onto the background colour for JPEG: the border is that colour exactly.
        let jpeg = try decodeFile(Oracle.oursFile(scratch.path("square.png"), size: 24, format: "jpeg",
                                                  extra: ["--background", "#0000ff", "--quality", "100"], in: scratch))
        #expect(abs(Int(jpeg.pixels[0]) - 0) <= 2 && abs(Int(jpeg.pixels[2]) - 255) <= 2)
    }
}

@Suite(.enabled(if: Oracle.available, Comment(rawValue: Oracle.missingReason)))
struct BenchmarkQualityTests {
    /// Workload 1's output (sharp's photo, fit 720x588, JPEG q80), as the benchmark makes it, is at
    /// least as close to a float64 Lanczos3 resize of the fully decoded photo as vipsthumbnail's:
    /// shrinking on load and the fixed-point kernels cost nothing a reader of the speed figures
    /// would see.
    @Test func workloadOneIsAsCloseToTheReferenceAsVipsthumbnail() throws {
        let scratch = try ScratchFolder()
        let input = Oracle.corpus("photos/2569067123_aca715a2ee_o.jpg")
        let result = try CommandRunner.run([input, "-o", scratch.path("ours"), "--fit", "720x588", "--format", "jpeg",
                                            "--quality", "80", "-q", "--no-state"])
        #expect(result.status == 0, "\(result.stderr)")
        let ours = try decodeFile(scratch.path("ours/2569067123_aca715a2ee_o.jpg"))
        #expect(try runTool(Oracle.vipsthumbnail!, [input, "--size", "720x588", "-o", scratch.path("vips.jpg") + "[Q=80]"]) == 0)
        let vips = try decodeFile(scratch.path("vips.jpg"))
        try #require((ours.width, ours.height) == (vips.width, vips.height), "sizes differ")
        let full = try decodeFile(input)
        let reference = ReferenceResizer.resize(full, width: ours.width, height: ours.height, filter: .lanczos3)
        let oursPSNR = TestImages.psnr(ours, reference), vipsPSNR = TestImages.psnr(vips, reference)
        print("workload 1 against float64 Lanczos3: fastresize \(String(format: "%.2f", oursPSNR)) dB, "
              + "vipsthumbnail \(String(format: "%.2f", vipsPSNR)) dB")
        #expect(oursPSNR >= vipsPSNR, "\(oursPSNR) dB against vipsthumbnail's \(vipsPSNR) dB")
    }
}
