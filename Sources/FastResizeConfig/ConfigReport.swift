// ConfigReport: the text of `fastresize config check` (effective settings and where each came from) and `fastresize profiles`.

import FastResize
import Foundation

public enum ConfigReport {
    /// `fastresize config check`: the config file, then every setting of the run and of the
    /// outputs with its value and where it came from, then each profile's outputs.
    public static func check(_ resolved: ResolvedSettings, profiles: [ResolvedSettings]) -> String {
        var lines: [String] = []
        if let config = resolved.config {
            lines.append("config file: \(config.file.path) (\(foundText(resolved.configFoundBy)))")
        } else {
            lines.append("config file: none found (looked for \(SettingsResolver.searchedPlaces))")
        }
        lines.append("")
        lines.append("run:")
        lines += table(SettingKey.all.filter { $0.scope == .run }, resolved.run, showDefaults: true)
        lines.append("")
        lines.append("every output, unless a profile's output says otherwise:")
        let own = resolved.outputs.first?.filter { $0.value.origin != .builtIn } ?? [:]
        if !own.keys.contains(where: SettingKey.modeNames.contains) {
            lines.append("  (no size: give one on the command line, in the environment, or use a profile)")
        }
        lines += table(SettingKey.all.filter { $0.scope == .output }, own, showDefaults: true)
        for profile in profiles {
            guard let name = profile.profile else { continue }
            lines.append("")
            lines.append("profile \(name): \(profile.outputs.count) output\(profile.outputs.count == 1 ? "" : "s")")
            for (index, output) in profile.outputs.enumerated() {
                lines.append("  outputs[\(index)]:")
                lines += table(SettingKey.all.filter { $0.scope == .output }, output, showDefaults: false).map { "  " + $0 }
            }
        }
        lines.append("")
        lines.append("valid")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `fastresize profiles`: each profile and a line per output.
    public static func profiles(_ config: ConfigSettings, resolved: [ResolvedSettings]) -> String {
        guard !resolved.isEmpty else { return "no profiles in \(config.file.path)\n" }
        var lines: [String] = []
        for profile in resolved {
            guard let name = profile.profile else { continue }
            lines.append("\(name) (\(config.file.path)): \(profile.outputs.count) output\(profile.outputs.count == 1 ? "" : "s")")
            for (index, output) in profile.outputs.enumerated() {
                let given = SettingKey.all.filter { $0.scope == .output }.compactMap { key in
                    output[key.name].map { "\(key.name)=\($0.value.display)" }
                }
                lines.append("  \(index + 1). " + given.joined(separator: " "))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func foundText(_ foundBy: String?) -> String {
        switch foundBy {
        case "named": "named on the command line"
        case "the working folder": "found in the working folder"
        case "$XDG_CONFIG_HOME": "found in $XDG_CONFIG_HOME/fastresize"
        case let how?: "from \(how)"
        case nil: "found"
        }
    }

    /// `name = value   origin` lines, aligned; keys nobody set show their default when asked.
    private static func table(_ keys: [SettingKey], _ values: [String: Setting], showDefaults: Bool) -> [String] {
        let rows: [(String, String)] = keys.compactMap { key in
            if let setting = values[key.name], setting.origin != .builtIn {
                return ("\(key.name) = \(setting.value.display)", setting.origin.description)
            }
            guard showDefaults, let text = key.defaultText else { return nil }
            return ("\(key.name) = \(text)", "default")
        }
        let width = (rows.map(\.0.count).max() ?? 0) + 2
        return rows.map { "  " + $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + $0.1 }
    }
}
