// Glob: shell-style patterns for --include and --exclude, matched against paths relative to an input folder.

/// A path pattern. `*` and `?` stay within one path component, `**` spans components, `[abc]` and
/// `[a-z]` match one character of a set. A pattern without `/` is matched against the file name
/// alone, so `*.jpg` selects JPEGs at any depth (as in .gitignore).
public struct GlobPattern: Sendable, Equatable {
    public let pattern: String
    private let characters: [Character]
    private let matchesNameOnly: Bool

    public init(_ pattern: String) {
        self.pattern = pattern
        self.characters = Array(pattern)
        self.matchesNameOnly = !pattern.contains("/")
    }

    public func matches(relativePath path: String) -> Bool {
        let subject = matchesNameOnly ? String(path.split(separator: "/").last ?? "") : path
        return Self.match(characters[...], Array(subject)[...])
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
