// ConfigTests: where settings come from (flags > environment > config > defaults), profiles, and every kind of config mistake.

import FastResize
@testable import FastResizeConfig
import Foundation
import Testing
import TestSupport

/// A scratch working folder holding one config file, resolved as a run there would resolve it.
private struct Setup {
    let scratch: ScratchFolder

    init(_ text: String, named name: String = "fastresize.toml") throws {
        scratch = try ScratchFolder()
        try scratch.write(Array(text.utf8), to: name)
    }

    func resolve(_ commandLine: [String: SettingValue] = [:], environment: [String: String] = [:],
                 requireSize: Bool = true) throws(UsageError) -> ResolvedSettings {
        try SettingsResolver.resolve(SettingsResolver.Sources(commandLine: commandLine, environment: environment,
                                                              workingDirectory: scratch.path("")),
                                     requireSize: requireSize)
    }

    /// The message of the usage error resolving throws.
    func message(_ commandLine: [String: SettingValue] = [:], environment: [String: String] = [:]) -> String {
        do {
            _ = try resolve(commandLine, environment: environment)
            return "(no error)"
        } catch {
            return error.message.replacingOccurrences(of: scratch.path(""), with: "")
        }
    }
}

@Suite struct PrecedenceTests {
    /// Command line over environment over config file over the built-in default, for a value,
    /// a flag and a run setting, and each winner's origin is the one reported.
    @Test func flagsBeatEnvironmentBeatConfigBeatDefaults() throws {
        let setup = try Setup("""
            width = 640
            quality = 50
            keep-metadata = true
            jobs = 3
            """)
        let fromConfig = try setup.resolve()
        #expect(fromConfig.options.outputs[0].encoding.quality == 50)
        #expect(fromConfig.options.outputs[0].keepMetadata)
        #expect(fromConfig.options.jobs == 3)
        #expect(fromConfig.outputs[0]["quality"]?.origin == .config(file: setup.scratch.path("fastresize.toml"), key: "quality"))

        let environment = ["FASTRESIZE_QUALITY": "60", "FASTRESIZE_KEEP_METADATA": "no", "FASTRESIZE_JOBS": "5"]
        let fromEnvironment = try setup.resolve(environment: environment)
        #expect(fromEnvironment.options.outputs[0].encoding.quality == 60)
        #expect(!fromEnvironment.options.outputs[0].keepMetadata)
        #expect(fromEnvironment.options.jobs == 5)
        #expect(fromEnvironment.outputs[0]["quality"]?.origin == .environment("FASTRESIZE_QUALITY"))

        let fromFlags = try setup.resolve(["quality": .text("70"), "keep-metadata": .flag(true), "jobs": .text("7")],
                                          environment: environment)
        #expect(fromFlags.options.outputs[0].encoding.quality == 70)
        #expect(fromFlags.options.outputs[0].keepMetadata)
        #expect(fromFlags.options.jobs == 7)
        #expect(fromFlags.run["jobs"]?.origin == .commandLine("--jobs"))
        // The size is taken whole from where it is given: --fit on the command line replaces the
        // file's width rather than clashing with it.
        #expect(fromFlags.options.outputs[0].mode == .width(640))
        #expect(try setup.resolve(["fit": .text("10x20")]).options.outputs[0].mode == .fit(width: 10, height: 20))

        let defaults = try Setup("", named: "fastresize.toml").resolve(["width": .text("10")])
        #expect(defaults.options.outputs[0].encoding.quality == nil)
        #expect(defaults.options.jobs == ProcessInfo.processInfo.activeProcessorCount)
        #expect(defaults.options.timeout == BatchOptions.defaultTimeout)
    }

    /// A profile's outputs take the file's top settings, then the profile's shared ones, then
    /// their own; the command line and environment still win over all of them.
    @Test func profileLayers() throws {
        let setup = try Setup("""
            quality = 50
            filter = "bicubic"

            [profiles.web]
            quality = 60
            outputs = [
              { width = 320, format = "webp", quality = 70, name = "{stem}-320.{ext}" },
              { fit = "100x100", format = "png", name = "{stem}-thumb.{ext}" },
              { fill = "64x64", gravity = "north", format = "jpeg", name = "{stem}-square.{ext}" },
            ]
            """)
        let resolved = try setup.resolve(["profile": .text("web")])
        let outputs = resolved.options.outputs
        #expect(resolved.profile == "web")
        #expect(outputs.count == 3)
        #expect(outputs.map(\.mode) == [.width(320), .fit(width: 100, height: 100), .fill(width: 64, height: 64, gravity: .north)])
        #expect(outputs.map(\.encoding.quality) == [70, 60, 60])
        #expect(outputs.allSatisfy { $0.filter == .bicubic })
        #expect(outputs.map(\.format) == [.fixed(ImageFormat(rawValue: "webp")), .fixed(ImageFormat(rawValue: "png")), .fixed(ImageFormat(rawValue: "jpeg"))])
        #expect(outputs.map(\.nameTemplate.text) == ["{stem}-320.{ext}", "{stem}-thumb.{ext}", "{stem}-square.{ext}"])

        let overridden = try setup.resolve(["profile": .text("web"), "quality": .text("90")],
                                           environment: ["FASTRESIZE_FILTER": "mitchell"])
        #expect(overridden.options.outputs.map(\.encoding.quality) == [90, 90, 90])
        #expect(overridden.options.outputs.allSatisfy { $0.filter == .mitchell })
        // The profile can come from the environment or the file itself.
        #expect(try setup.resolve(environment: ["FASTRESIZE_PROFILE": "web"]).options.outputs.count == 3)
    }

    /// A size and a profile answer the same question: the one set higher up wins. With a profile
    /// in the config file, a size on the command line is a one-off run (issue 14, defect 10).
    @Test func aSizeAboveAProfileWins() throws {
        let setup = try Setup("""
            profile = "web"
            quality = 55
            report = "r.json"
            output = "site"
            [profiles.web]
            outputs = [ { width = 320, name = "{stem}-320.{ext}" }, { width = 64, name = "{stem}-64.{ext}" } ]
            """)
        #expect(try setup.resolve().options.outputs.count == 2)
        let oneOff = try setup.resolve(["fit": .text("100x100")])
        #expect(oneOff.profile == nil)
        #expect(oneOff.options.outputs.map(\.mode) == [.fit(width: 100, height: 100)])
        #expect(oneOff.options.outputs[0].encoding.quality == 55)
        // The environment's size is above the file's profile too.
        #expect(try setup.resolve(environment: ["FASTRESIZE_WIDTH": "10"]).options.outputs.map(\.mode) == [.width(10)])
        // A profile on the command line is above the environment's size.
        let profiled = try setup.resolve(["profile": .text("web")], environment: ["FASTRESIZE_WIDTH": "10"])
        #expect(profiled.options.outputs.map(\.mode) == [.width(320), .width(64)])
        // The same level giving both is a mistake.
        #expect(setup.message(["profile": .text("web"), "width": .text("5")]).hasPrefix("--width: not with --profile"))
        #expect(setup.message(environment: ["FASTRESIZE_PROFILE": "web", "FASTRESIZE_WIDTH": "5"])
                .hasPrefix("FASTRESIZE_WIDTH: not with FASTRESIZE_PROFILE"))
    }

    /// `--no-x` drops what the environment or the config file gives x: back to the default.
    @Test func theCommandLineClearsSettings() throws {
        let setup = try Setup("""
            profile = "web"
            report = "r.json"
            output = "site"
            quality = 55
            include = ["*.png"]
            [profiles.web]
            outputs = [ { width = 320 } ]
            """)
        func resolve(_ cleared: Set<String>, _ commandLine: [String: SettingValue] = [:]) throws -> ResolvedSettings {
            try SettingsResolver.resolve(SettingsResolver.Sources(commandLine: commandLine, cleared: cleared,
                                                                  environment: ["FASTRESIZE_JOBS": "3"],
                                                                  workingDirectory: setup.scratch.path("")))
        }
        let plain = try resolve([])
        #expect(plain.report == "r.json" && plain.outputFolder == "site" && plain.profile == "web" && plain.options.jobs == 3)
        let cleared = try resolve(["report", "output", "profile", "quality", "include", "jobs"], ["width": .text("9")])
        #expect(cleared.report == nil)
        #expect(cleared.outputFolder == nil)
        #expect(cleared.profile == nil)
        #expect(cleared.options.outputs[0].encoding.quality == nil)
        #expect(cleared.options.include.isEmpty)
        #expect(cleared.options.jobs == ProcessInfo.processInfo.activeProcessorCount)
        // Without a profile and without a size there is nothing to make.
        #expect(throws: UsageError.self) { try resolve(["profile"]) }
        #expect(throws: UsageError("expected at most one of --quality and --no-quality")) {
            try resolve(["quality"], ["quality": .text("3"), "width": .text("9")])
        }
    }

    /// TOML and YAML say the same thing the same way.
    @Test func yamlReadsLikeTOML() throws {
        let toml = try Setup("""
            jobs = 2
            include = ["*.jpg", "*.png"]
            [profiles.web]
            outputs = [ { width = 320, format = "webp", quality = 70 }, { fit = "100x100", keep-metadata = true, name = "{stem}-t.{ext}" } ]
            """, named: "a.toml")
        let yaml = try Setup("""
            jobs: 2
            include: ["*.jpg", "*.png"]
            profiles:
              web:
                outputs:
                  - {width: 320, format: webp, quality: 70}
                  - fit: 100x100
                    keep-metadata: true
                    name: "{stem}-t.{ext}"
            """, named: "a.yaml")
        let fromTOML = try toml.resolve(["config": .text(toml.scratch.path("a.toml")), "profile": .text("web")])
        let fromYAML = try yaml.resolve(["config": .text(yaml.scratch.path("a.yaml")), "profile": .text("web")])
        for resolved in [fromTOML, fromYAML] {
            #expect(resolved.options.jobs == 2)
            #expect(resolved.options.include.map(\.pattern) == ["*.jpg", "*.png"])
            #expect(resolved.options.outputs.map(\.mode) == [.width(320), .fit(width: 100, height: 100)])
            #expect(resolved.options.outputs.map(\.keepMetadata) == [false, true])
            #expect(resolved.options.outputs[0].encoding.quality == 70)
        }
    }

    /// --config, else FASTRESIZE_CONFIG, else ./fastresize.toml, else $XDG_CONFIG_HOME; --no-config skips looking.
    @Test func configIsFoundInOrder() throws {
        let setup = try Setup("quality = 1\nwidth = 5", named: "fastresize.toml")
        try setup.scratch.write(Array("quality = 2\nwidth = 5".utf8), to: "named.toml")
        try setup.scratch.write(Array("quality = 3\nwidth = 5".utf8), to: "xdg/fastresize/config.toml")
        try setup.scratch.write(Array("quality: 4\nwidth: 5".utf8), to: "other/env.yaml")
        let xdg = ["XDG_CONFIG_HOME": setup.scratch.path("xdg")]
        func quality(_ commandLine: [String: SettingValue], _ environment: [String: String], directory: String = "",
                     noConfig: Bool = false) throws -> Int? {
            try SettingsResolver.resolve(SettingsResolver.Sources(commandLine: commandLine, environment: environment,
                                                                  noConfig: noConfig,
                                                                  workingDirectory: setup.scratch.path(directory)),
                                         requireSize: false).options.outputs[0].encoding.quality
        }
        let named: [String: SettingValue] = ["config": .text(setup.scratch.path("named.toml"))]
        let variable = xdg.merging(["FASTRESIZE_CONFIG": setup.scratch.path("other/env.yaml")]) { a, _ in a }
        #expect(try quality(named, variable) == 2)
        #expect(try quality([:], variable) == 4)
        #expect(try quality([:], xdg) == 1)
        #expect(try quality([:], xdg, directory: "other") == 3)
        #expect(try quality([:], xdg, noConfig: true) == nil)
        #expect(try quality([:], ["XDG_CONFIG_HOME": setup.scratch.path("nowhere")], directory: "other") == nil)
    }
}

@Suite struct ConfigMistakeTests {
    /// Every class of mistake names the file, the key and what was expected, before any work.
    @Test(arguments: [
        ("[profiles.web]\noutputs = [ { width = 320 }, { width = -3 } ]", ["profile": "web"],
         "fastresize.toml: profiles.web.outputs[1].width: expected a positive integer, got -3"),
        ("widht = 3", [:], "fastresize.toml: widht: unknown setting (did you mean width?)"),
        ("[profiles.web]\noutputs = [ { width = 3, jobs = 2 } ]", [:],
         "fastresize.toml: profiles.web.outputs[0].jobs: applies to the whole run, so it belongs at the top of the file"),
        ("config = \"other.toml\"", [:], "fastresize.toml: config: a config file cannot name another"),
        ("enlarge = 3", [:], "fastresize.toml: enlarge: expected true or false, got 3"),
        ("quality = [1, 2]", [:], "fastresize.toml: quality: expected a single value, got a list"),
        ("exclude = [1]", [:], "fastresize.toml: exclude: expected a list of patterns, got 1 in it"),
        ("quality = \"best\"\nwidth = 5", [:], "fastresize.toml: quality: expected an integer from 1 to 100, got \"best\""),
        ("profiles = 3", [:], "fastresize.toml: profiles: expected a table of named profiles, got 3"),
        ("[profiles.web]\nquality = 5", [:], "fastresize.toml: profiles.web: expected outputs = [ … ]"),
        ("[profiles.web]\noutputs = []", [:], "fastresize.toml: profiles.web.outputs: expected a list of one or more outputs"),
        ("[profiles.web]\noutputs = [ 3 ]", [:], "fastresize.toml: profiles.web.outputs[0]: expected a table of settings"),
        ("[profiles.web]\noutputs = [ { format = \"png\" } ]", ["profile": "web"],
         "fastresize.toml: profiles.web.outputs[0]: expected one of scale, width, height, fit or fill"),
        ("[profiles.web]\noutputs = [ { width = 3, fit = \"3x3\" } ]", ["profile": "web"],
         "fastresize.toml: profiles.web.outputs[0]: expected exactly one of scale, width, height, fit or fill"),
        ("[profiles.web]\noutputs = [ { width = 3, gravity = \"north\" } ]", ["profile": "web"],
         "fastresize.toml: profiles.web.outputs[0].gravity: expected only together with fill"),
        ("[profiles.web]\noutputs = [ { width = 320, format = \"webp\" }, { width = 320, format = \"webp\", quality = 50 } ]",
         ["profile": "web"],
         "fastresize.toml: profiles.web.outputs[1] would be written to the same file as /fastresize.toml: profiles.web.outputs[0]"),
        ("[profiles.web]\noutputs = [ { width = 320 } ]", ["profile": "print"],
         "--profile: no profile \"print\" in /fastresize.toml (it has web)"),
        ("[profiles.web]\noutputs = [ { width = 320 } ]", ["profile": "web", "fit": "3x3"],
         "--fit: not with --profile: each output of a profile sets its own size"),
        ("quality = \n", [:], "fastresize.toml: line 1, column 11:"),
        ("jobs = 2\njobs = 3", [:], "fastresize.toml: line 2"),
        ("width = 5\nisolate = \"sometimes\"", [:], "fastresize.toml: isolate: expected one of auto, all, none, got \"sometimes\""),
    ] as [(String, [String: String], String)])
    func mistakesAreNamed(config: String, commandLine: [String: String], expected: String) throws {
        let setup = try Setup(config)
        let message = setup.message(commandLine.mapValues { .text($0) })
        #expect(message.hasPrefix(expected.hasPrefix("--") ? expected : "/" + expected), "got: \(message)")
    }

    @Test func yamlAndEnvironmentMistakes() throws {
        let yaml = try Setup("profiles:\n  web:\n    outputs:\n      - width: 320\n   - bad\n", named: "fastresize.yaml")
        #expect(yaml.message().hasPrefix("/fastresize.yaml: "), "\(yaml.message())")
        #expect(yaml.message().contains("did not find expected key"))
        let nulls = try Setup("quality:\n", named: "fastresize.yaml")
        #expect(nulls.message() == "/fastresize.yaml: quality: expected a value, got nothing")

        let empty = try Setup("", named: "fastresize.toml")
        #expect(empty.message(["width": .text("5")], environment: ["FASTRESIZE_JOBS": "many"])
                == "FASTRESIZE_JOBS: expected a positive integer, got \"many\"")
        #expect(empty.message(["width": .text("5")], environment: ["FASTRESIZE_OVERWRITE": "maybe"])
                == "FASTRESIZE_OVERWRITE: expected 1, true, yes or on (or 0, false, no, off), got \"maybe\"")
        // The command line keeps its own wording.
        #expect(empty.message(["width": .text("-1")]) == "expected a positive integer for --width but got \"-1\"")
        #expect(empty.message([:]) == "expected one of --scale, --width, --height, --fit or --fill (or --profile)")
        let noFile = try SettingsResolver.Sources(commandLine: ["profile": .text("web")], environment: [:],
                                                  workingDirectory: ScratchFolder().path(""))
        #expect(throws: UsageError.self) { try SettingsResolver.resolve(noFile) }

        let both = try Setup("", named: "fastresize.toml")
        try both.scratch.write(Array("".utf8), to: "fastresize.yaml")
        #expect(both.message().hasPrefix("both ./fastresize.toml and ./fastresize.yaml are here"))
    }

    /// Names known before any input is seen are compared; outputs that differ by size or format
    /// may share a template.
    @Test func namesThatCannotCollideAreAllowed() throws {
        let setup = try Setup("""
            [profiles.ok]
            outputs = [ { width = 320, name = "{stem}-{width}.{ext}" }, { width = 640, name = "{stem}-{width}.{ext}" },
                        { width = 320, format = "webp", name = "{stem}-{width}.{ext}" } ]
            """)
        #expect(try setup.resolve(["profile": .text("ok")]).options.outputs.count == 3)
    }
}

@Suite struct FirstUserPapercutTests {
    /// FASTRESIZE_QUALTY=80 was ignored: an unknown FASTRESIZE_ variable is a mistake, named with
    /// the closest setting's variable.
    @Test func anUnknownVariableIsAnError() throws {
        let setup = try Setup("width = 100\n")
        #expect(setup.message(environment: ["FASTRESIZE_QUALTY": "80"])
                == "FASTRESIZE_QUALTY: no such setting (did you mean FASTRESIZE_QUALITY?)")
        #expect(setup.message(environment: ["FASTRESIZE_NOTHING_LIKE_IT": "1"]) == "FASTRESIZE_NOTHING_LIKE_IT: no such setting")
        // The test suite's and the benchmarks' own variables are not settings and not mistakes
        // (bench/ab.py with FASTRESIZE_BENCH_DIR set measured every fastresize run as failed).
        #expect(setup.message(environment: ["FASTRESIZE_CORPUS": "/x"]) == "(no error)")
        #expect(setup.message(environment: ["FASTRESIZE_BENCH_DIR": "/tmp"]) == "(no error)")
    }

    /// `--memory-limit 1` said "needs about 0 MiB … allows (0 MiB)": under 1M is refused up front,
    /// and small amounts are told in KiB.
    @Test func aTinyMemoryLimitIsRefusedAndSmallNeedsAreTold() throws {
        let setup = try Setup("width = 100\n")
        #expect(setup.message(["memory-limit": .text("1")]) == "expected a size of at least 1M for --memory-limit but got \"1\"")
        #expect(setup.message(["memory-limit": .text("1M")]) == "(no error)")
        #expect(FileError.memoryLimit(need: 300_000, limit: 1 << 20).description
                == "needs about 293 KiB to decode, more than --memory-limit allows (1 MiB)")
    }
}
