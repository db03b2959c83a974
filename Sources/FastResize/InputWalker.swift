// InputWalker: turns the command line's files and folders into the list of candidate input files.

import Foundation

/// One file to consider, with the path its output mirrors.
public struct InputFile: Sendable, Equatable {
    /// The path as the user would recognise it (the input as given, joined with the relative part).
    public var path: String
    /// Path relative to the input folder it was found in (just the name for a file given directly).
    public var relativePath: String
    /// Named on the command line rather than found by walking a folder.
    public var isExplicit: Bool
    /// Its size in bytes when it was found (0 when not known), so a run can take the largest first
    /// without asking the file system again.
    public var size = 0
}

/// Walks input folders: recursive, hidden files skipped, symbolic links followed only on request,
/// include/exclude patterns applied to paths relative to each input folder.
public struct InputWalker: Sendable {
    public var include: [GlobPattern] = []
    public var exclude: [GlobPattern] = []
    public var followSymlinks = false
    /// Folders never walked into (the output folder, when it lies inside an input folder).
    public var skipFolders: [String] = []

    public init(include: [GlobPattern] = [], exclude: [GlobPattern] = [], followSymlinks: Bool = false,
                skipFolders: [String] = []) {
        self.include = include
        self.exclude = exclude
        self.followSymlinks = followSymlinks
        self.skipFolders = skipFolders.map(Self.resolved)
    }

    /// The files under `inputs`, in a stable order, and the inputs that could not be read. A file
    /// reached twice at the same place of the mirrored tree (an input given twice, a folder and
    /// a file in it, `./in` and `in/`) is taken once: the same device and inode under the same
    /// relative path. Hard links under different names stay separate files.
    public func collect(_ inputs: [String]) -> (files: [InputFile], failures: [(path: String, error: FileError)]) {
        var found = Found()
        for input in inputs {
            var status = stat()
            guard stat(input, &status) == 0 else {
                found.failures.append((input, .unreadable("no such file or folder")))
                continue
            }
            if (status.st_mode & S_IFMT) == S_IFDIR {
                var visited = Set<String>()
                walk(folder: input, relative: "", into: &found, visited: &visited)
            } else {
                found.add(InputFile(path: input, relativePath: (input as NSString).lastPathComponent, isExplicit: true,
                                    size: Int(status.st_size)), status)
            }
        }
        return (found.files, found.failures)
    }

    /// What a walk has found so far.
    private struct Found {
        var files: [InputFile] = []
        var failures: [(path: String, error: FileError)] = []
        /// Each file taken, as the file system knows it, at its place in the mirrored tree.
        private var taken = Set<Identity>()

        private struct Identity: Hashable {
            let device: UInt64
            let inode: UInt64
            let relativePath: String
        }

        mutating func add(_ file: InputFile, _ status: stat) {
            let identity = Identity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino), relativePath: file.relativePath)
            if taken.insert(identity).inserted { files.append(file) }
        }
    }

    private func walk(folder: String, relative: String, into found: inout Found, visited: inout Set<String>) {
        let here = relative.isEmpty ? folder : folder + "/" + relative
        let resolvedHere = Self.resolved(here)
        // An output folder below the input is never read as input (but an output folder that is the
        // input folder itself still is: there, outputs that would replace inputs are refused).
        if (!relative.isEmpty && skipFolders.contains(resolvedHere)) || !visited.insert(resolvedHere).inserted { return }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: here).sorted()
        } catch {
            found.failures.append((here, .unreadable(FilePipeline.describe(error))))
            return
        }
        for name in names where !name.hasPrefix(".") {
            let childRelative = relative.isEmpty ? name : relative + "/" + name
            let childPath = here + "/" + name
            guard let (kind, status) = Self.kind(of: childPath, followSymlinks: followSymlinks) else { continue }
            if kind == .folder {
                walk(folder: folder, relative: childRelative, into: &found, visited: &visited)
            } else if isSelected(childRelative) {
                found.add(InputFile(path: Self.display(folder, childRelative), relativePath: childRelative,
                                    isExplicit: false, size: Int(status.st_size)), status)
            }
        }
    }

    private func isSelected(_ relativePath: String) -> Bool {
        if !include.isEmpty && !include.contains(where: { $0.matches(relativePath: relativePath) }) { return false }
        return !exclude.contains { $0.matches(relativePath: relativePath) }
    }

    private enum Kind { case file, folder }

    /// File or folder, and what the file system says of it; nil for symbolic links (unless
    /// followed), sockets, devices and the like.
    private static func kind(of path: String, followSymlinks: Bool) -> (Kind, stat)? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        if (status.st_mode & S_IFMT) == S_IFLNK {
            guard followSymlinks, stat(path, &status) == 0 else { return nil }
        }
        switch status.st_mode & S_IFMT {
        case S_IFDIR: return (.folder, status)
        case S_IFREG: return (.file, status)
        default: return nil
        }
    }

    private static func display(_ folder: String, _ relative: String) -> String {
        folder.hasSuffix("/") ? folder + relative : folder + "/" + relative
    }

    /// Absolute path with symbolic links resolved, for comparing folders.
    static func resolved(_ path: String) -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
    }
}
