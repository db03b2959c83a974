// OwnOptions: the options of a command that wraps a run (`submit`, `watch`), taken out of its words; the rest are the run's.

import FastResizeConfig

/// A wrapping command's own options (`--name value`, `--name=value`, or a flag `--name`), found
/// anywhere before `--`; every other word is left, in order, for the run's parser.
struct OwnOptions {
    var values: [String: String] = [:]
    var flags: Set<String> = []
    var rest: [String] = []

    init(_ arguments: [String], values names: Set<String>, flags flagNames: Set<String> = []) throws(UsageError) {
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            if word == "--" {
                rest += arguments[(index - 1)...]
                break
            }
            let name = String(word.dropFirst(2).prefix { $0 != "=" })
            guard word.hasPrefix("--"), names.contains(name) || flagNames.contains(name) else {
                rest.append(word)
                continue
            }
            if flagNames.contains(name) {
                guard !word.contains("=") else { throw UsageError("--\(name) takes no value") }
                flags.insert(name)
            } else if word.contains("=") {
                values[name] = String(word.drop { $0 != "=" }.dropFirst())
            } else {
                guard index < arguments.count else { throw UsageError("--\(name) needs a value") }
                values[name] = arguments[index]
                index += 1
            }
        }
    }
}
