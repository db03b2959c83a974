// Corpus: finds ../shared/corpus (the real-world images beside the project) and reads its MANIFEST.

import Foundation

public struct CorpusEntry: Sendable {
    public var path: String
    public var width: Int?
    public var height: Int?
    /// "ok", "error" or "ok-or-error".
    public var expected: String
    public var notes: String
}

public enum Corpus {
    /// The package root, found from this source file's location.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The corpus folder, or nil when it is not beside the project (tests then skip, saying why).
    public static var folder: URL? {
        let candidates = [ProcessInfo.processInfo.environment["FASTRESIZE_CORPUS"].map(URL.init(fileURLWithPath:)),
                          packageRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus")]
        return candidates.compactMap { $0 }.first {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("MANIFEST.tsv").path)
        }
    }

    public static let missingReason = "../shared/corpus is not beside the project (set FASTRESIZE_CORPUS to its path)"

    public static func entries() throws -> [CorpusEntry] {
        guard let folder else { return [] }
        let text = try String(contentsOf: folder.appendingPathComponent("MANIFEST.tsv"), encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        let header = lines.removeFirst().split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        func column(_ name: String) -> Int { header.firstIndex(of: name)! }
        return lines.map { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return CorpusEntry(path: fields[column("path")], width: Int(fields[column("width")]),
                               height: Int(fields[column("height")]), expected: fields[column("expected")],
                               notes: fields[column("what_it_exercises")])
        }
    }

    public static func url(_ entry: CorpusEntry) -> URL {
        folder!.appendingPathComponent(entry.path)
    }
}
