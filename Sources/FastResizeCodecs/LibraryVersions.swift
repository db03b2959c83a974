// LibraryVersions: the codec libraries this process runs with, as each reports itself (for --version).

internal import CAVIF
internal import CCodecShims
internal import CGIF
internal import CHeif
internal import CJXL
internal import CLCMS2
internal import CSPNG
internal import CWebP
import Foundation

public enum LibraryVersions {
    /// Each codec library and its version: asked at run time where the library can say
    /// (libjpeg-turbo and giflib cannot: the version built against), and for those opened on
    /// first use (libheif, libavif, libjxl) opened now, or "not installed".
    public static func codecs() -> [(library: String, version: String)] {
        func dotted(_ number: Int, _ base: Int) -> String {
            "\(number / (base * base)).\(number / base % base).\(number % base)"
        }
        func loaded(_ load: (UnsafeMutablePointer<CChar>) -> Int32, _ version: () -> String) -> String {
            var message = ShimMessage()
            return message.withBuffer(load) == 0 ? version() : "not installed"
        }
        let tiff = String(cString: fr_tiff_version()).split(separator: "\n").first.map(String.init) ?? ""
        return [
            ("libjpeg-turbo", dotted(Int(fr_jpeg_turbo_version()), 1000)),
            ("libspng", String(cString: spng_version_string())),
            ("libwebp", dotted(Int(WebPGetDecoderVersion()), 256)),
            ("libtiff", tiff.replacingOccurrences(of: "LIBTIFF, Version ", with: "")),
            ("giflib", "\(GIFLIB_MAJOR).\(GIFLIB_MINOR).\(GIFLIB_RELEASE)"),
            // 2140 for 2.14.
            ("lcms2", "\(cmsGetEncodedCMMversion() / 1000).\(cmsGetEncodedCMMversion() % 1000 / 10)"),
            ("libheif", loaded(fr_heif_load) { String(cString: heif_get_version()) }),
            ("libavif", loaded(fr_avif_load) { String(cString: avifVersion()) }),
            ("libjxl", loaded(fr_jxl_load) { dotted(Int(JxlDecoderVersion()), 1000) }),
        ]
    }
}
