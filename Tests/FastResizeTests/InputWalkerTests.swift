// InputWalkerTests: what a walk of the command line's inputs finds — each file once, whatever way it was named.

import FastResize
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
        #expect(found == ["a.jpg", "c.jpg", "sub/b.png", "b.png"])
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
