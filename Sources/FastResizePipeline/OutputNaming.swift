// OutputNaming: expands the --name template ({stem}.{ext} and friends) into an output file name.

import FastResizePixels

/// A validated output-name template (coded as its text, checked again when decoded).
public struct NameTemplate: Sendable, Hashable, Codable {
    public static let placeholders = ["stem", "ext", "srcext", "width", "height", "format"]
    public static let `default` = NameTemplate(unchecked: "{stem}.{ext}")

    public let text: String

    /// Why a text is no template: what was expected of it ("a relative file name").
    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public let expected: String
        public let text: String
        public var description: String { "expected \(expected), got \"\(text)\"" }
    }

    /// Checks that every `{…}` names a known placeholder and that the result is a relative path.
    public init(_ text: String) throws(Invalid) {
        var index = text.startIndex
        while let open = text[index...].firstIndex(of: "{") {
            guard let close = text[open...].firstIndex(of: "}") else {
                throw Invalid(expected: "a template whose { is closed by }", text: text)
            }
            let name = String(text[text.index(after: open)..<close])
            guard Self.placeholders.contains(name) else {
                let known = Self.placeholders.map { "{\($0)}" }.joined(separator: " ")
                throw Invalid(expected: "placeholders among \(known) (unknown placeholder {\(name)})", text: text)
            }
            index = text.index(after: close)
        }
        // Outputs stay below the output folder: a name that climbs out of it (../) is refused here,
        // before any file, as an absolute one is.
        guard !text.isEmpty, !text.hasPrefix("/"), !text.split(separator: "/").contains("..") else {
            throw Invalid(expected: "a relative file name that stays in the output folder", text: text)
        }
        self.text = text
    }

    private init(unchecked text: String) {
        self.text = text
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    /// The extension the template writes literally (`{stem}.png` → "png"), if its last part has
    /// no placeholder: the format its outputs must be in.
    public var literalExtension: String? {
        let last = text.split(separator: "/").last ?? ""
        guard let dot = last.lastIndex(of: "."), dot != last.startIndex else { return nil }
        let ext = last[last.index(after: dot)...]
        return ext.isEmpty || ext.contains("{") || ext.contains("}") ? nil : String(ext)
    }

    /// Whether the name has the input's stem in it: without it every input of a folder gets one name.
    public var usesStem: Bool { text.contains("{stem}") }

    /// Whether the name depends on the output size.
    public var usesSize: Bool { text.contains("{width}") || text.contains("{height}") }

    /// The file name for an input called `inputName` written as `format` at `width` × `height`.
    /// `{ext}` is `fileExtension` when given (the input's own spelling, `JPG` or `jpeg`, when the
    /// output keeps its format), else the format's own.
    public func expand(inputName: String, format: ImageFormat, width: Int, height: Int, fileExtension: String? = nil) -> String {
        let (stem, sourceExtension) = Self.split(inputName)
        return text
            .replacingAll("{stem}", with: stem)
            .replacingAll("{srcext}", with: sourceExtension)
            .replacingAll("{ext}", with: fileExtension ?? format.fileExtension)
            .replacingAll("{format}", with: format.rawValue)
            .replacingAll("{width}", with: String(width))
            .replacingAll("{height}", with: String(height))
    }

    /// The name with only what is known before any input is seen filled in (`{stem}` and
    /// `{srcext}` stay as they are): two outputs whose patterns are equal get the same name for
    /// every input.
    public func pattern(fileExtension: String, format: String, width: String, height: String) -> String {
        text.replacingAll("{ext}", with: fileExtension).replacingAll("{format}", with: format)
            .replacingAll("{width}", with: width).replacingAll("{height}", with: height)
    }

    /// What a name made by this template could have been made from: the stem (and, when the
    /// template has them, the source extension and the output's extension) for each way the name
    /// fits it. Sizes fit any digits and a format name any word; the caller checks the rest.
    public func captures(in name: String) -> [Capture] {
        var results: [Capture] = []
        var seen = Set<Capture>()
        Self.match(tokens[...], Array(name)[...], Capture(stem: ""), stemSet: false, into: &results, seen: &seen)
        return results
    }

    public struct Capture: Sendable, Hashable {
        public var stem: String
        public var sourceExtension: String?
        public var fileExtension: String?
    }

    private enum Token: Equatable {
        case literal(Character)
        case placeholder(String)
    }

    private var tokens: [Token] {
        var tokens: [Token] = []
        var index = text.startIndex
        while index < text.endIndex {
            if text[index] == "{", let close = text[index...].firstIndex(of: "}") {
                tokens.append(.placeholder(String(text[text.index(after: index)..<close])))
                index = text.index(after: close)
            } else {
                tokens.append(.literal(text[index]))
                index = text.index(after: index)
            }
        }
        return tokens
    }

    private static func match(_ tokens: ArraySlice<Token>, _ name: ArraySlice<Character>, _ capture: Capture, stemSet: Bool,
                              into results: inout [Capture], seen: inout Set<Capture>) {
        guard let token = tokens.first else {
            if name.isEmpty && stemSet && seen.insert(capture).inserted { results.append(capture) }
            return
        }
        let rest = tokens.dropFirst()
        switch token {
        case .literal(let character):
            if name.first == character {
                match(rest, name.dropFirst(), capture, stemSet: stemSet, into: &results, seen: &seen)
            }
        case .placeholder(let placeholder):
            // Every length this placeholder could have taken, within one path component.
            let limit = name.firstIndex(of: "/") ?? name.endIndex
            let shortest = placeholder == "srcext" ? 0 : 1
            guard name.startIndex + shortest <= limit else { return }
            for end in (name.startIndex + shortest)...limit {
                let value = String(name[name.startIndex..<end])
                var next = capture
                var nextStemSet = stemSet
                switch placeholder {
                case "stem":
                    if stemSet && capture.stem != value { continue }
                    next.stem = value
                    nextStemSet = true
                case "srcext":
                    if let known = capture.sourceExtension, known != value { continue }
                    next.sourceExtension = value
                case "ext":
                    if let known = capture.fileExtension, known != value { continue }
                    next.fileExtension = value
                case "width", "height":
                    if !value.allSatisfy(\.isASCII) || !value.allSatisfy(\.isNumber) { continue }
                default:
                    break
                }
                match(rest, name[end...], next, stemSet: nextStemSet, into: &results, seen: &seen)
            }
        }
    }

    /// "photo.final.JPG" → ("photo.final", "JPG"); a name without a dot has an empty extension.
    public static func split(_ name: String) -> (stem: String, extension: String) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return (name, "") }
        return (String(name[..<dot]), String(name[name.index(after: dot)...]))
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.range(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }
}
