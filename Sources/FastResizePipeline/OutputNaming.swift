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
    public func expand(inputName: String, format: ImageFormat, width: Int, height: Int) -> String {
        let (stem, sourceExtension) = Self.split(inputName)
        return text
            .replacingAll("{stem}", with: stem)
            .replacingAll("{srcext}", with: sourceExtension)
            .replacingAll("{ext}", with: format.fileExtension)
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

    /// "photo.final.JPG" → ("photo.final", "JPG"); a name without a dot has an empty extension.
    static func split(_ name: String) -> (stem: String, extension: String) {
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
