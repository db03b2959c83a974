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

    /// The files under `inputs`, in a stable order, and the inputs that could not be read.
    public func collect(_ inputs: [String]) -> (files: [InputFile], failures: [(path: String, error: FileError)]) {
        var files: [InputFile] = []
        var failures: [(String, FileError)] = []
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
                failures.append((input, .unreadable("no such file or folder")))
                continue
            }
            if isDirectory.boolValue {
                var visited = Set<String>()
                walk(folder: input, relative: "", into: &files, failures: &failures, visited: &visited)
            } else {
                files.append(InputFile(path: input, relativePath: (input as NSString).lastPathComponent, isExplicit: true))
            }
        }
        return (files, failures)
    }

    private func walk(folder: String, relative: String, into files: inout [InputFile],
                      failures: inout [(String, FileError)], visited: inout Set<String>) {
        let here = relative.isEmpty ? folder : folder + "/" + relative
        let resolvedHere = Self.resolved(here)
        // An output folder below the input is never read as input (but an output folder that is the
        // input folder itself still is: there, outputs that would replace inputs are refused).
        if (!relative.isEmpty && skipFolders.contains(resolvedHere)) || !visited.insert(resolvedHere).inserted { return }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: here).sorted()
        } catch {
            failures.append((here, .unreadable(FilePipeline.describe(error))))
            return
        }
        for name in names where !name.hasPrefix(".") {
            let childRelative = relative.isEmpty ? name : relative + "/" + name
            let childPath = here + "/" + name
            guard let kind = Self.kind(of: childPath, followSymlinks: followSymlinks) else { continue }
            if kind == .folder {
                walk(folder: folder, relative: childRelative, into: &files, failures: &failures, visited: &visited)
            } else if isSelected(childRelative) {
                files.append(InputFile(path: Self.display(folder, childRelative), relativePath: childRelative,
                                       isExplicit: false))
            }
        }
    }

    private func isSelected(_ relativePath: String) -> Bool {
        if !include.isEmpty && !include.contains(where: { $0.matches(relativePath: relativePath) }) { return false }
        return !exclude.contains { $0.matches(relativePath: relativePath) }
    }

    private enum Kind { case file, folder }

    /// File or folder; nil for symbolic links (unless followed), sockets, devices and the like.
    private static func kind(of path: String, followSymlinks: Bool) -> Kind? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        if (status.st_mode & S_IFMT) == S_IFLNK {
            guard followSymlinks, stat(path, &status) == 0 else { return nil }
        }
        switch status.st_mode & S_IFMT {
        case S_IFDIR: return .folder
        case S_IFREG: return .file
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
