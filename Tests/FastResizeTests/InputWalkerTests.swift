// InputWalkerTests: what a walk of the command line's inputs finds — each file once, whatever way it was named.

@testable import FastResize
import Foundation
import Testing
import TestSupport

@Suite struct InputWalkerTests {
    static func tree() throws -> ScratchFolder {
        let folder = try ScratchFolder()
        try folder.write(Array("a".utf8), to: "in/a.jpg")
        try folder.write(Array("b".utf8), to: "in/sub/b.png")
        return folder
    }

    /// `in in`, `in in/a.jpg` and `./in in/` made files fail as colliding with themselves.
    @Test func aFileNamedTwiceIsTakenOnce() throws {
        let folder = try Self.tree()
        let (root, inside) = (folder.path(""), folder.path("in"))
        let cases: [([String], Set<String>)] = [
            ([inside, inside], ["a.jpg", "sub/b.png"]),
            ([inside, inside + "/a.jpg"], ["a.jpg", "sub/b.png"]),
            ([root + "/./in", inside + "/"], ["a.jpg", "sub/b.png"]),
            ([inside + "/a.jpg", root + "/./in/a.jpg"], ["a.jpg"]),
        ]
        for (inputs, expected) in cases {
            let found = InputWalker().collect(inputs).files.map(\.relativePath)
            #expect(found.count == expected.count && Set(found) == expected, "\(inputs): \(found)")
        }
    }

    /// Two names of one file (a hard link) are two inputs with outputs of their own; a folder and
    /// one below it give the files below their places in both trees.
    @Test func differentPlacesStayApart() throws {
        let folder = try Self.tree()
        #expect(link(folder.path("in/a.jpg"), folder.path("in/c.jpg")) == 0)
        let found = InputWalker().collect([folder.path("in"), folder.path("in/sub")]).files.map(\.relativePath)
        #expect(found == ["in/a.jpg", "in/c.jpg", "in/sub/b.png", "sub/b.png"])
    }

    /// The size the walk saw rides with the file (the run takes the largest first without a stat of its own).
    @Test func theSizeComesWithTheFile() throws {
        let folder = try Self.tree()
        let found = InputWalker().collect([folder.path("in")]).files
        #expect(found.map(\.size) == [1, 1])
    }
}

@Suite struct PathNamesTests {
    /// Foundation's NSString.deletingLastPathComponent traps on "b" and "x/" here; a file or a
    /// report named with one letter crashed a run.
    @Test func theFolderOfAPath() {
        let cases = ["b": "", "x/": "", "ab": "", "a/b": "a", "a//b": "a", "/x": "/", "/": "/", "": "",
                     "./b": ".", "in/sub/": "in", "/tmp/out/a.jpg": "/tmp/out"]
        for (path, folder) in cases { #expect(PathNames.folder(of: path) == folder, "\(path)") }
    }
}

@Suite struct FileSystemPathTests {
    /// Any byte string is a String and back, exactly; valid UTF-8 is its own String.
    @Test func namesRoundTripAsBytes() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 1...12, using: &generator)).map { _ in UInt8.random(in: 1...255, using: &generator) }
            let text = FileSystemPath.string(bytes)
            #expect(FileSystemPath.bytes(text) == bytes, "\(bytes)")
        }
        #expect(FileSystemPath.string(Array("café/日本.jpg".utf8)) == "café/日本.jpg")
        #expect(!FileSystemPath.hasRawBytes("café.jpg"))
        // A real scalar of the escape range is itself escaped, so it cannot be taken for a byte.
        let escapeLike = Array("\u{10FCE9}".utf8)
        #expect(FileSystemPath.bytes(FileSystemPath.string(escapeLike)) == escapeLike)
        #expect(FileSystemPath.shown(FileSystemPath.string([0x63, 0x61, 0x66, 0xE9])) == "caf\\xe9")
        #expect(FileSystemPath.shown("a\u{1B}[31m\nb", controls: true) == "a\\x1b[31m\\x0ab")
        #expect(FileSystemPath.shown("a\u{1B}b") == "a\u{1B}b")
    }
}

@Suite struct WalkTests {
    /// Names that are not UTF-8 are found, opened and told apart (they were skipped silently).
    @Test func namesThatAreNotUTF8AreFound() throws {
        let folder = try ScratchFolder()
        let cafe = FileSystemPath.string(Array("in/caf".utf8) + [0xE9] + Array(".jpg".utf8))
        let odd = FileSystemPath.string(Array("in/d".utf8) + [0xFF])
        try FileSystem.makeFolders(folder.path(odd))
        for path in [cafe, odd + "/x.png", "in/ok.jpg"] {
            let descriptor = FileSystem.open(folder.path("") + "/" + path, O_WRONLY | O_CREAT, 0o644)
            #expect(descriptor >= 0)
            close(descriptor)
        }
        let walk = InputWalker().collect([folder.path("in")])
        #expect(Set(walk.files.map(\.relativePath)) == [PathNames.lastComponent(of: cafe), PathNames.lastComponent(of: odd) + "/x.png", "ok.jpg"])
        #expect(walk.failures.isEmpty)
        #expect(InputWalker().collect([folder.path("") + "/" + cafe]).files.count == 1)
    }

    /// Patterns ignore case unless asked, take {a,b}, and an excluded folder is left out whole;
    /// what was left out is counted.
    @Test func patternsAndWhatTheyLeaveOut() throws {
        let folder = try ScratchFolder()
        for name in ["in/IMG_0001.JPG", "in/x.jpeg", "in/y.png", "in/raw/r.jpg", "in/raw/deep/s.jpg", "in/keep/raw.jpg"] {
            try folder.write([1], to: name)
        }
        var walker = InputWalker(include: [GlobPattern("*.{jpg,jpeg}")], exclude: [GlobPattern("raw")])
        var walk = walker.collect([folder.path("in")])
        #expect(Set(walk.files.map(\.relativePath)) == ["IMG_0001.JPG", "x.jpeg", "keep/raw.jpg"])
        // keep/raw.jpg is no file named raw: the exclude leaves it, and *.jpg takes it.
        #expect(walk.passedOver.excluded == 1 && walk.passedOver.excludedFolders == 1, "\(walk.passedOver)")
        walker = InputWalker(include: [GlobPattern("*.jpg", caseSensitive: true)])
        walk = walker.collect([folder.path("in")])
        #expect(Set(walk.files.map(\.relativePath)) == ["raw/r.jpg", "raw/deep/s.jpg", "keep/raw.jpg"])
        #expect(walk.passedOver.excluded == 3)
    }

    /// Links not followed are counted; one followed to nothing is a failure naming it.
    @Test func symbolicLinks() throws {
        let folder = try ScratchFolder()
        try folder.write([1], to: "target.jpg")
        try FileManager.default.createDirectory(atPath: folder.path("in"), withIntermediateDirectories: true)
        #expect(symlink(folder.path("target.jpg"), folder.path("in/a.jpg")) == 0)
        #expect(symlink(folder.path("missing.jpg"), folder.path("in/b.jpg")) == 0)
        let plain = InputWalker().collect([folder.path("in")])
        #expect(plain.files.isEmpty && plain.passedOver.symbolicLinks == 2 && plain.failures.isEmpty)
        let followed = InputWalker(followSymlinks: true).collect([folder.path("in")])
        #expect(followed.files.map(\.relativePath) == ["a.jpg"])
        #expect(followed.failures.map(\.path) == [folder.path("in") + "/b.jpg"])
        #expect(followed.failures.first?.error.description.contains("symbolic link to nothing") == true)
    }

    /// Several folders keep their own names as the first level; one folder (or the same one
    /// twice, or a trailing slash) does not.
    @Test func severalFoldersKeepTheirNames() throws {
        let folder = try ScratchFolder()
        try folder.write([1], to: "shoot/day1/IMG_1.jpg")
        try folder.write([1], to: "shoot/day2/IMG_1.jpg")
        let two = InputWalker().collect([folder.path("shoot/day1"), folder.path("shoot/day2")])
        #expect(two.files.map(\.relativePath) == ["day1/IMG_1.jpg", "day2/IMG_1.jpg"])
        let one = InputWalker().collect([folder.path("shoot/day1"), folder.path("shoot/day1/")])
        #expect(one.files.map(\.relativePath) == ["IMG_1.jpg"])
        let merged = InputWalker().collect([folder.path("shoot/day1") + "/", folder.path("shoot/day2") + "/"])
        #expect(merged.files.map(\.relativePath) == ["IMG_1.jpg", "IMG_1.jpg"])
    }

    /// A FIFO named as an input is read whole and taken from its copy; one nobody writes to is
    /// given up at the time limit, not waited on forever.
    @Test func aFIFOIsReadAsAStream() throws {
        signal(SIGPIPE, SIG_IGN)     // the writer of the stream over the limit meets a closed reader
        let folder = try ScratchFolder()
        #expect(mkfifo(folder.path("pipe"), 0o644) == 0)
        let bytes = [UInt8](repeating: 7, count: 200_000)
        let path = folder.path("pipe")
        DetachedThread.start(name: "test") {
            usleep(200_000)
            let descriptor = open(path, O_WRONLY)
            _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            close(descriptor)
        }
        var walker = InputWalker()
        walker.streamSeconds = 10
        let walk = walker.collect([path])
        let file = try #require(walk.files.first)
        #expect(file.relativePath == "pipe" && file.size == bytes.count)
        #expect(try Array(FilePipeline.readFile(file.readPath)) == bytes)

        walker.streamSeconds = 0.3
        let start = Date()
        let silent = walker.collect([path])
        #expect(silent.files.isEmpty)
        #expect(silent.failures.first?.error == .timedOut(seconds: 0.3))
        #expect(Date().timeIntervalSince(start) < 5)
        walker.streamSeconds = 10
        walker.streamLimit = 1000
        DetachedThread.start(name: "test") {
            let descriptor = open(path, O_WRONLY)
            _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            close(descriptor)
        }
        let large = walker.collect([path])
        #expect(large.failures.first?.error.description.contains("more than") == true)
    }
}

@Suite struct GlobBraceTests {
    @Test func bracesAndCase() {
        #expect(GlobPattern.expandBraces("*.{jpg,jpeg}") == ["*.jpg", "*.jpeg"])
        #expect(GlobPattern.expandBraces("a{b,c{d,e}}f") == ["abf", "acdf", "acef"])
        #expect(GlobPattern.expandBraces("{x}") == ["{x}"])
        #expect(GlobPattern.expandBraces("a{b") == ["a{b"])
        #expect(GlobPattern("*.jpg").matches(relativePath: "d/IMG_1.JPG"))
        #expect(!GlobPattern("*.jpg", caseSensitive: true).matches(relativePath: "IMG_1.JPG"))
        #expect(GlobPattern("raw/").matches(relativePath: "a/raw"))
    }
}
