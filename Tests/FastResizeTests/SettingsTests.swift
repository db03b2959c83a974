// SettingsTests: output settings are values — coded, compared and fingerprinted the same in every run and build.

@testable import FastResize
@testable import FastResizePipeline
@testable import FastResizePixels
import Foundation
import Testing

@Suite struct SettingsTests {
    static var everything: ResizeSettings {
        var settings = ResizeSettings(mode: .fill(width: 320, height: 200, gravity: .northeast), enlarge: true,
                                      filter: .mitchell, format: .fixed(ImageFormat(rawValue: "webp")), quality: 72,
                                      nameTemplate: try! NameTemplate("{stem}-{width}.{ext}"),
                                      background: RGBColor(red: 1, green: 2, blue: 3))
        settings.progressive = true
        settings.compressionLevel = 9
        settings.lossless = false
        settings.autoOrient = false
        settings.keepProfile = true
        settings.keepMetadata = true
        settings.linear = true
        settings.firstFrameOnly = true
        return settings
    }

    @Test(arguments: [ResizeMode.scale(0.5), .width(640), .height(480), .fit(width: 800, height: 600),
                      .fill(width: 100, height: 100, gravity: .south)])
    func settingsSurviveJSON(_ mode: ResizeMode) throws {
        var settings = Self.everything
        settings.mode = mode
        let decoded = try JSONDecoder().decode(ResizeSettings.self, from: JSONEncoder().encode(settings))
        #expect(decoded == settings)
        #expect(decoded.hashValue == settings.hashValue)
        #expect(decoded.fingerprint == settings.fingerprint)
        let plain = ResizeSettings(mode: mode)
        #expect(try JSONDecoder().decode(ResizeSettings.self, from: JSONEncoder().encode(plain)) == plain)
    }

    /// Every setting takes part: changing any one changes the fingerprint.
    @Test func everySettingChangesTheFingerprint() {
        let base = Self.everything
        let changes: [(String, (inout ResizeSettings) -> Void)] = [
            ("mode", { $0.mode = .fill(width: 320, height: 201, gravity: .northeast) }),
            ("gravity", { $0.mode = .fill(width: 320, height: 200, gravity: .north) }),
            ("enlarge", { $0.enlarge = false }), ("filter", { $0.filter = .lanczos3 }),
            ("format", { $0.format = .same }), ("quality", { $0.quality = nil }),
            ("progressive", { $0.progressive = false }), ("compression", { $0.compressionLevel = 8 }),
            ("lossless", { $0.lossless = nil }), ("name", { $0.nameTemplate = .default }),
            ("background", { $0.background = .white }), ("auto-orient", { $0.autoOrient = true }),
            ("keep-profile", { $0.keepProfile = false }), ("keep-metadata", { $0.keepMetadata = false }),
            ("linear", { $0.linear = false }), ("first-frame", { $0.firstFrameOnly = false }),
        ]
        var seen = [base.fingerprint: "base"]
        for (name, change) in changes {
            var changed = base
            change(&changed)
            #expect(changed != base, "\(name)")
            #expect(seen[changed.fingerprint] == nil, "\(name) gives the fingerprint of \(seen[changed.fingerprint] ?? "")")
            seen[changed.fingerprint] = name
        }
        // A profile's outputs: order counts.
        let plain = ResizeSettings(mode: .width(100))
        #expect(ResizeSettings.fingerprint(of: [base, plain]) != ResizeSettings.fingerprint(of: [plain, base]))
    }

    /// The same settings give the same fingerprint in every build: these values are pinned, so a
    /// change to how settings are coded shows here (and must bump `Fingerprint.version`).
    @Test func fingerprintsArePinned() {
        #expect(ResizeSettings(mode: .fit(width: 800, height: 600)).fingerprint == "v1-3c6c77caaec300fc")
        #expect(Self.everything.fingerprint == "v1-d7aa12441f6a6850")
    }

    @Test func decodingChecksTheNameTemplate() {
        var json = String(decoding: try! JSONEncoder().encode(ResizeSettings(mode: .width(10))), as: UTF8.self)
        json = json.replacingOccurrences(of: "{stem}.{ext}", with: "/abs/{stem}")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ResizeSettings.self, from: Data(json.utf8)) }
    }
}
