// ConfigCommands: `fastresize config check [FILE]` and `fastresize profiles`, which read settings and run nothing.

import ArgumentParser
import FastResize
import FastResizeCodecs
import FastResizeConfig
import Foundation

/// `fastresize config check [FILE]`: validates the config (and the environment's settings) and
/// prints every effective setting with where it came from.
struct ConfigCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fastresize config check",
        abstract: "Check a config file and show every effective setting with where it comes from.",
        discussion: "Without FILE, the config a run would read: FASTRESIZE_CONFIG, else ./fastresize.toml or "
            + "./fastresize.yaml, else $XDG_CONFIG_HOME/fastresize/config.toml. A run's options given here show "
            + "where the command line wins (fastresize config check --quality 90). Exit code 2 for an invalid config."
    )

    @Argument(help: ArgumentHelp("The config file to check.", valueName: "file"))
    var file: String?

    /// A run's options, to see where they would win.
    @OptionGroup(title: "Settings (as a run takes them, to show where they win)") var settings: SettingOptions

    func report() throws(UsageError) -> String {
        let environment = ProcessInfo.processInfo.environment
        let sources = SettingsResolver.Sources(commandLine: settings.givenOptions, cleared: settings.cleared.names,
                                               environment: environment, noConfig: settings.noConfig,
                                               outputFormats: Codecs.all.outputFormats)
        let resolved = try SettingsResolver.resolve(sources, configFile: file, requireSize: false, applyingProfile: false)
        let profiles = try ProfilesCommand.resolveProfiles(resolved.config, configFile: file ?? resolved.config?.file.path)
        return ConfigReport.check(resolved, profiles: profiles)
    }
}

/// `fastresize profiles`: the config's profiles and their outputs.
struct ProfilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fastresize profiles",
        abstract: "List the profiles of the config file a run would read, with their outputs."
    )

    @Option(help: ArgumentHelp("Read this TOML or YAML file.", valueName: "file"))
    var config: String?

    func report() throws(UsageError) -> String {
        let commandLine: [String: SettingValue] = config.map { [SettingKey.config.name: .text($0)] } ?? [:]
        let resolved = try SettingsResolver.resolve(SettingsResolver.Sources(commandLine: commandLine, outputFormats: Codecs.all.outputFormats), requireSize: false,
                                                    applyingProfile: false)
        guard let found = resolved.config else {
            throw UsageError("no config file found (looked for \(SettingsResolver.searchedPlaces))")
        }
        return ConfigReport.profiles(found, resolved: try Self.resolveProfiles(found, configFile: found.file.path))
    }

    /// Every profile of `config` resolved as a run with `--profile NAME` would resolve it (so each
    /// is checked whole: sizes, values, names that would collide).
    static func resolveProfiles(_ config: ConfigSettings?, configFile: String?) throws(UsageError) -> [ResolvedSettings] {
        guard let config, let configFile else { return [] }
        var resolved: [ResolvedSettings] = []
        for name in config.profiles.keys.sorted() {
            let sources = SettingsResolver.Sources(commandLine: [SettingKey.profile.name: .text(name)], outputFormats: Codecs.all.outputFormats)
            resolved.append(try SettingsResolver.resolve(sources, configFile: configFile))
        }
        return resolved
    }
}
