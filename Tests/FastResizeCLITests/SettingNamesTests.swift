// SettingNamesTests: the command line's options and the settings table (SettingKey.all, which config files and FASTRESIZE_* variables go by) name the same settings.

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
        // Every setting can be given on the command line, a flag in both its forms.
        for key in SettingKey.all {
            #expect(options.contains(key.name), "--\(key.name) is in SettingKey.all but not on the command line")
            if key.kind == .flag { #expect(options.contains("no-" + key.name), "--no-\(key.name) is missing") }
        }
        // And every option of the command line is a setting (or about the command itself).
        let negations = Set(SettingKey.all.filter { $0.kind == .flag }.map { "no-" + $0.name })
        let own: Set = ["help", "version", "no-config"]
        for option in options where !settings.contains(option) && !negations.contains(option) && !own.contains(option) {
            Issue.record("--\(option) is on the command line but not in SettingKey.all (config files and FASTRESIZE_* cannot set it)")
        }
    }
}
