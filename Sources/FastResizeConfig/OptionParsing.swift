// OptionParsing: turns option text into values, with messages that say what was expected and what came.

import FastResize

/// A usage or configuration mistake, found before any work starts (exit code 2).
public struct UsageError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// For a bad value, what was expected: lets the message be reworded for where the value came
    /// from (an environment variable, a key in a config file).
    public var expectation: String?

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }

    /// Two errors are the same when they say the same.
    public static func == (a: UsageError, b: UsageError) -> Bool { a.message == b.message }

    /// "expected a positive integer for --width but got "abc"".
    public static func expected(_ what: String, for option: String, got value: String) -> UsageError {
        var error = UsageError("expected \(what) for \(option) but got \"\(value)\"")
        error.expectation = what
        return error
    }
}

/// Parsers shared by the command line and configuration files.
public enum OptionParsing {
    public static func positiveInteger(_ text: String, for option: String) throws(UsageError) -> Int {
        guard let value = Int(text.trimmingWhitespace), value > 0 else {
            throw .expected("a positive integer", for: option, got: text)
        }
        return value
    }

    public static func integer(_ text: String, in range: ClosedRange<Int>, for option: String) throws(UsageError) -> Int {
        guard let value = Int(text.trimmingWhitespace), range.contains(value) else {
            throw .expected("an integer from \(range.lowerBound) to \(range.upperBound)", for: option, got: text)
        }
        return value
    }

    /// An output side (--width, --height): a positive integer up to `ResizeMode.largestSide`.
    public static func side(_ text: String, for option: String) throws(UsageError) -> Int {
        let value = try positiveInteger(text, for: option)
        try atMost(Double(value), Double(ResizeMode.largestSide), text, for: option)
        return value
    }

    /// A --scale factor: a positive number up to `ResizeMode.largestSide` (a one-pixel picture
    /// scaled so is as large as an output may be).
    public static func scale(_ text: String, for option: String) throws(UsageError) -> Double {
        let value = try positiveNumber(text, for: option)
        try atMost(value, Double(ResizeMode.largestSide), text, for: option)
        return value
    }

    /// Values past a bound (sizes past the largest side an output may have, say) are refused
    /// before any arithmetic on them.
    public static func atMost(_ value: Double, _ bound: Double, _ text: String, for option: String) throws(UsageError) {
        guard value <= bound else {
            throw .expected("at most \(bound == bound.rounded() ? String(Int(bound)) : String(bound))", for: option, got: text)
        }
    }

    public static func positiveNumber(_ text: String, for option: String) throws(UsageError) -> Double {
        guard let value = Double(text.trimmingWhitespace), value.isFinite, value > 0 else {
            throw .expected("a positive number", for: option, got: text)
        }
        return value
    }

    /// "WxH" with two positive integers.
    public static func size(_ text: String, for option: String) throws(UsageError) -> (width: Int, height: Int) {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let width = Int(parts[0]), let height = Int(parts[1]), width > 0, height > 0 else {
            throw .expected("WIDTHxHEIGHT with positive integers (e.g. 800x600)", for: option, got: text)
        }
        try atMost(Double(max(width, height)), Double(ResizeMode.largestSide), text, for: option)
        return (width, height)
    }

    /// A size in bytes: a number with an optional unit K, M, G (powers of 1024; "KiB", "MB" and
    /// the like are read the same way).
    public static func byteSize(_ text: String, for option: String) throws(UsageError) -> Int {
        let trimmed = String(text.trimmingWhitespace).uppercased()
        let (kibi, mebi, gibi) = (1024.0, 1_048_576.0, 1_073_741_824.0)
        let units: [(String, Double)] = [("GIB", gibi), ("GB", gibi), ("G", gibi), ("MIB", mebi), ("MB", mebi),
                                         ("M", mebi), ("KIB", kibi), ("KB", kibi), ("K", kibi), ("B", 1)]
        var number = trimmed
        var multiplier = 1.0
        if let (suffix, factor) = units.first(where: { trimmed.hasSuffix($0.0) }) {
            number = String(String(trimmed.dropLast(suffix.count)).trimmingWhitespace)
            multiplier = factor
        }
        guard let value = Double(number), value.isFinite, value > 0, value * multiplier >= 1,
              value * multiplier < Double(Int.max) else {
            throw .expected("a size such as 512M or 2G", for: option, got: text)
        }
        return Int(value * multiplier)
    }

    /// A colour: "#RRGGBB", "RRGGBB", "#RGB", "R,G,B" (0-255 each), or white, black, gray.
    public static func color(_ text: String, for option: String) throws(UsageError) -> RGBColor {
        let named: [String: RGBColor] = ["white": .white, "black": RGBColor(red: 0, green: 0, blue: 0),
                                         "gray": RGBColor(red: 128, green: 128, blue: 128),
                                         "grey": RGBColor(red: 128, green: 128, blue: 128)]
        let trimmed = String(text.trimmingWhitespace).lowercased()
        if let colour = named[trimmed] { return colour }
        let parts = trimmed.split(separator: ",", omittingEmptySubsequences: false)
        if parts.count == 3 {
            let values = parts.compactMap { UInt8(String($0).trimmingWhitespace) }
            if values.count == 3 { return RGBColor(red: values[0], green: values[1], blue: values[2]) }
        } else {
            var hex = trimmed.hasPrefix("#") ? String(trimmed.dropFirst()) : trimmed
            if hex.count == 3 { hex = hex.map { "\($0)\($0)" }.joined() }
            if hex.count == 6, let value = UInt32(hex, radix: 16) {
                return RGBColor(red: UInt8(value >> 16), green: UInt8(value >> 8 & 0xFF), blue: UInt8(value & 0xFF))
            }
        }
        throw .expected("a colour as #RRGGBB, R,G,B or a name (white, black, gray)", for: option, got: text)
    }

    public static func choice<T: RawRepresentable & CaseIterable>(_ text: String, for option: String) throws(UsageError) -> T
    where T.RawValue == String {
        guard let value = T(rawValue: text.lowercased()) else {
            let names = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw .expected("one of \(names)", for: option, got: text)
        }
        return value
    }
}

extension String {
    var trimmingWhitespace: Substring {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? start
        return self[start..<end]
    }
}
