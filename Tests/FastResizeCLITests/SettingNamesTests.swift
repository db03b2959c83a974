// SettingNamesTests: the command line's options and the settings table (SettingKey.all, which config files and FASTRESIZE_* variables go by) name the same settings.

@testable import fastresize
import FastResizeConfig
import Foundation
import Testing
import TestSupport

@Suite struct SettingNamesTests {
    /// Every long option the command line takes, from ArgumentParser's own description of it.
    static func commandLineOptions() throws -> Set<String> {
        let result = try CommandRunner.run(["--experimental-dump-help"])
        let dump = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let command = try #require(dump?["command"] as? [String: Any])
        let arguments = try #require(command["arguments"] as? [[String: Any]])
        var names: Set<String> = []
        for argument in arguments {
            for name in argument["names"] as? [[String: Any]] ?? [] where name["kind"] as? String == "long" {
                names.insert(name["name"] as! String)
            }
        }
        return names
    }

    @Test func theCommandLineAndTheTableAgree() throws {
        let options = try Self.commandLineOptions()
        let settings = Set(SettingKey.all.map(\.name))
        // Every setting can be given on the command line, and every one has its --no- form (a
        // flag's turns it off; a value's drops what the environment or a config file gave it), as
        // the README promises.
        for key in SettingKey.all {
            #expect(options.contains(key.name), "--\(key.name) is in SettingKey.all but not on the command line")
            #expect(options.contains("no-" + key.name), "--no-\(key.name) is missing")
        }
        // And every option of the command line is a setting (or about the command itself).
        let negations = Set(SettingKey.all.map { "no-" + $0.name })
        // (--job-id and --retry-of are set by `fastresize worker` and `jobs retry`, hidden from users.)
        let own: Set = ["help", "version", "no-config", "job-id", "retry-of"]
        for option in options where !settings.contains(option) && !negations.contains(option) && !own.contains(option) {
            Issue.record("--\(option) is on the command line but not in SettingKey.all (config files and FASTRESIZE_* cannot set it)")
        }
    }

    /// Every setting given on the command line reaches the resolver by its name (the command's
    /// properties are read generically, so none is left out when one is added).
    @Test func everySettingGivenOnTheCommandLineIsPassedOn() throws {
        var arguments = ["in"]
        for key in SettingKey.all {
            switch key.kind {
            case .value: arguments += [key.option, "v-\(key.name)"]
            case .flag: arguments += [key.option]
            case .list: arguments += [key.option, "a-\(key.name)", key.option, "b-\(key.name)"]
            }
        }
        let given = try FastResizeCommand.parse(arguments).settings.givenOptions
        #expect(Set(given.keys) == Set(SettingKey.all.map(\.name)))
        for key in SettingKey.all {
            switch key.kind {
            case .value: #expect(given[key.name] == .text("v-\(key.name)"))
            case .flag: #expect(given[key.name] == .flag(true))
            case .list: #expect(given[key.name] == .list(["a-\(key.name)", "b-\(key.name)"]))
            }
        }
        // --no-x passes x off; options not given pass nothing.
        let negated = try FastResizeCommand.parse(["in", "--no-fsync", "--no-auto-orient"]).settings.givenOptions
        #expect(negated == ["fsync": .flag(false), "auto-orient": .flag(false)])
        // A value's --no- form clears it.
        let valueNames = SettingKey.all.filter { $0.kind != .flag && $0 != .config }.map(\.name)
        let clearing = try FastResizeCommand.parse(["in"] + valueNames.map { "--no-" + $0 })
        #expect(clearing.settings.cleared.names == Set(valueNames))
        #expect(clearing.settings.givenOptions.isEmpty)
    }

    /// With `profile = "web"` in the config, a one-off run with its own size makes just that size,
    /// and --no-report and --no-output drop the file's report and folder (issue 14, defect 10).
    @Test func aOneOffRunBesideAConfigProfile() throws {
        let scratch = try ScratchFolder()
        try scratch.write(Inputs.jpeg(40, 30), to: "in/a.jpg")
        try scratch.write(Array("""
            profile = "web"
            output = "site"
            report = "site.json"
            [profiles.web]
            outputs = [ { width = 20, name = "{stem}-20.{ext}" }, { width = 10, name = "{stem}-10.{ext}" } ]
            """.utf8), to: "fastresize.toml")
        let oneOff = try CommandRunner.run(["in/a.jpg", "-o", "adhoc", "--fit", "8x8", "--no-report"], in: scratch.url)
        #expect(oneOff.status == 0, "\(oneOff.stderr)")
        #expect(scratch.files(under: "adhoc") == ["a.jpg"])
        #expect(!FileManager.default.fileExists(atPath: scratch.path("site.json")))
        #expect(!FileManager.default.fileExists(atPath: scratch.path("site")))
        let profiled = try CommandRunner.run(["in/a.jpg"], in: scratch.url)
        #expect(profiled.status == 0, "\(profiled.stderr)")
        #expect(Set(scratch.files(under: "site")) == ["a-20.jpg", "a-10.jpg"])
        #expect(FileManager.default.fileExists(atPath: scratch.path("site.json")))
        let noFolder = try CommandRunner.run(["in/a.jpg", "--no-output"], in: scratch.url)
        #expect(noFolder.status == 2)
        #expect(noFolder.stderr.contains("expected an output folder"))
    }
}
