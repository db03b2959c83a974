// PathNames: the folder part of a path as text — Foundation's NSString.deletingLastPathComponent traps on one-letter names ("b", "x/") on Linux, which users' files have.

/// Path text helpers for what Foundation gets wrong here.
public enum PathNames {
    /// The folder `path` names its last component in: "" for a bare name (as NSString says),
    /// "/" for a component of the root; trailing slashes ignored.
    public static func folder(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        if slash == trimmed.startIndex { return "/" }
        var folder = trimmed[..<slash]
        while folder.count > 1 && folder.hasSuffix("/") { folder = folder.dropLast() }
        return String(folder)
    }
}

extension PathNames {
    /// The last name of `path` ("a.jpg" of "in/a.jpg", "in" of "in/"), as NSString's
    /// lastPathComponent says it, without Foundation's path code.
    public static func lastComponent(of path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? (path.hasPrefix("/") ? "/" : path)
    }
}
