// Glob: shell-style patterns for --include and --exclude, matched against paths relative to an input folder.

/// A path pattern. `*` and `?` stay within one path component, `**` spans components, `[abc]` and
/// `[a-z]` match one character of a set, `{jpg,jpeg}` any of its comma-separated parts. A pattern
/// without `/` (other than a trailing one) is matched against the last name alone, so `*.jpg`
/// selects JPEGs at any depth, as in .gitignore. Case is ignored unless asked for: cameras write
/// `IMG_0001.JPG`, and `*.jpg` is meant to find it.
public struct GlobPattern: Sendable, Equatable {
    public let pattern: String
    public let caseSensitive: Bool
    /// The pattern with its braces expanded: it matches when any of these does.
    private let alternatives: [[Character]]
    private let matchesNameOnly: Bool

    public init(_ pattern: String, caseSensitive: Bool = false) {
        self.pattern = pattern
        self.caseSensitive = caseSensitive
        var body = pattern
        while body.count > 1 && body.hasSuffix("/") { body.removeLast() }
        let folded = caseSensitive ? body : body.lowercased()
        alternatives = Self.expandBraces(folded).map(Array.init)
        matchesNameOnly = !body.contains("/")
    }

    public func matches(relativePath path: String) -> Bool {
        var subject = matchesNameOnly ? String(path.split(separator: "/").last ?? "") : path
        if !caseSensitive { subject = subject.lowercased() }
        let characters = Array(subject)
        return alternatives.contains { Self.match($0[...], characters[...]) }
    }

    /// `a{b,c{d,e}}f` → `abf`, `acdf`, `acef`; a brace without its close, or with no comma, stays as written.
    static func expandBraces(_ text: String) -> [String] {
        let characters = Array(text)
        guard let open = characters.firstIndex(of: "{") else { return [text] }
        var depth = 0
        var parts: [String] = []
        var start = open + 1
        for index in open..<characters.count {
            switch characters[index] {
            case "{": depth += 1
            case "}":
                depth -= 1
                if depth == 0 {
                    parts.append(String(characters[start..<index]))
                    guard parts.count > 1 else {
                        // "{x}" is no choice: kept literally, the rest expanded.
                        return expandBraces(String(characters[(index + 1)...])).map { String(characters[...index]) + $0 }
                    }
                    let head = String(characters[..<open])
                    let tails = expandBraces(String(characters[(index + 1)...]))
                    return parts.flatMap(expandBraces).flatMap { part in tails.map { head + part + $0 } }
                }
            case "," where depth == 1:
                parts.append(String(characters[start..<index]))
                start = index + 1
            default: break
            }
        }
        return [text]
    }

    private static func match(_ pattern: ArraySlice<Character>, _ text: ArraySlice<Character>) -> Bool {
        guard let first = pattern.first else { return text.isEmpty }
        switch first {
        case "*":
            let rest = pattern.dropFirst()
            if rest.first == "*" {
                // "**" (and "**/") matches any run of characters, separators included.
                var after = rest.dropFirst()
                if after.first == "/" {
                    if match(after.dropFirst(), text) { return true }
                    after = rest.dropFirst()
                }
                var remaining = text
                while true {
                    if match(after, remaining) { return true }
                    guard !remaining.isEmpty else { return false }
                    remaining = remaining.dropFirst()
                }
            }
            var remaining = text
            while true {
                if match(rest, remaining) { return true }
                guard let next = remaining.first, next != "/" else { return false }
                remaining = remaining.dropFirst()
            }
        case "?":
            guard let next = text.first, next != "/" else { return false }
            return match(pattern.dropFirst(), text.dropFirst())
        case "[":
            guard let next = text.first, next != "/",
                  let close = pattern.dropFirst(2).firstIndex(of: "]") else {
                return text.first == "[" && match(pattern.dropFirst(), text.dropFirst())
            }
            var set = pattern[pattern.index(after: pattern.startIndex)..<close]
            let negated = set.first == "!" || set.first == "^"
            if negated { set = set.dropFirst() }
            var found = false
            var index = set.startIndex
            while index < set.endIndex {
                let low = set[index]
                if index + 2 < set.endIndex, set[index + 1] == "-" {
                    if low <= next && next <= set[index + 2] { found = true }
                    index += 3
                } else {
                    if low == next { found = true }
                    index += 1
                }
            }
            return found != negated && match(pattern[(close + 1)...], text.dropFirst())
        default:
            guard text.first == first else { return false }
            return match(pattern.dropFirst(), text.dropFirst())
        }
    }
}
