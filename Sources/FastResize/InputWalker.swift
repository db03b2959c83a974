// InputWalker: turns the command line's files and folders into the list of candidate input files, and counts what it passed over.

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
    /// Where its bytes are read from when that is not `path`: the copy of a stream (standard
    /// input, a FIFO) taken when it was found.
    public var contentPath: String?
    /// What the file system said of it when it was found (nil for a stream's copy): an incremental
    /// run compares it with what the job store recorded.
    public var stamp: FileStamp?

    public init(path: String, relativePath: String, isExplicit: Bool, size: Int = 0, contentPath: String? = nil) {
        self.path = path
        self.relativePath = relativePath
        self.isExplicit = isExplicit
        self.size = size
        self.contentPath = contentPath
    }

    /// The path its bytes are read from.
    public var readPath: String { contentPath ?? path }
}

/// Files a walk left out on purpose, told in the summary so an empty or short run says why.
public struct PassedOver: Sendable, Codable, Equatable {
    /// Files --include or --exclude left out.
    public var excluded = 0
    /// Folders --exclude left out whole.
    public var excludedFolders = 0
    /// Symbolic links not followed (without --follow-symlinks).
    public var symbolicLinks = 0
    /// Outputs of earlier runs found beside their inputs (the output folder is the input folder),
    /// recognised by the name they were given: never taken as inputs.
    public var earlierOutputs = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case excluded, excludedFolders = "excluded_folders", symbolicLinks = "symbolic_links", earlierOutputs = "earlier_outputs"
    }
}

/// What a walk found: the files, the inputs that could not be read, and what it passed over on
/// purpose, so an empty result can say why.
public struct InputWalk: Sendable {
    public var files: [InputFile] = []
    public var failures: [(path: String, error: FileError)] = []
    /// Excluded files and folders, symbolic links not followed (earlier outputs are the planner's).
    public var passedOver = PassedOver()
    /// Every folder walked, by its path below the folder walked ("" for that folder itself), when
    /// the walker records them (`recordsFolders`; a watch, walking one folder, watches each).
    public var folders: [String] = []
}

/// Walks input folders: recursive, hidden files skipped, symbolic links followed only on request,
/// include/exclude patterns applied to paths relative to each input folder. Only regular files
/// are taken from a walk; a stream (standard input as `-`, a FIFO or a character device) named on
/// the command line is read whole, within `streamLimit` bytes and `streamSeconds`, and taken
/// from its copy.
public struct InputWalker: Sendable {
    public var include: [GlobPattern] = []
    public var exclude: [GlobPattern] = []
    public var followSymlinks = false
    /// Folders never walked into (the output folder, when it lies inside an input folder).
    public var skipFolders: [String] = []
    /// The most a stream input may hold, and how long it may take to arrive (nil: no limit).
    public var streamLimit = Int.max
    public var streamSeconds: Double?
    /// Lists every folder walked in `InputWalk.folders` (a watch watches each).
    public var recordsFolders = false

    public init(include: [GlobPattern] = [], exclude: [GlobPattern] = [], followSymlinks: Bool = false,
                skipFolders: [String] = []) {
        self.include = include
        self.exclude = exclude
        self.followSymlinks = followSymlinks
        self.skipFolders = skipFolders.map(Self.resolved)
    }

    /// The name standard input goes by among the inputs.
    public static let standardInput = "-"

    /// Whether `collect` reads `input` as a stream: standard input, a FIFO or a character device.
    public static func isStream(_ input: String) -> Bool {
        guard input != standardInput else { return true }
        let type = FileSystem.status(input).map { $0.st_mode & S_IFMT }
        return type == S_IFIFO || type == S_IFCHR
    }

    /// The files under `inputs`, in a stable order, and the inputs that could not be read. A file
    /// reached twice at the same place of the mirrored tree (an input given twice, a folder and
    /// a file in it, `./in` and `in/`) is taken once: the same device and inode under the same
    /// relative path. Hard links under different names stay separate files. `stopped` is asked
    /// while a stream is awaited, so a signal ends the wait.
    ///
    /// With one folder, the mirrored tree is what is below it; with several different folders,
    /// each keeps its own name as the first level (`shoot/day1 shoot/day2` → `day1/…`, `day2/…`,
    /// as rsync copies a folder named without a trailing slash), so their files cannot collide.
    public func collect(_ inputs: [String], stopped: @Sendable () -> Bool = { false }) -> InputWalk {
        var found = Found()
        let folders = Set(inputs.compactMap { input -> [UInt64]? in
            guard input != Self.standardInput, let status = FileSystem.status(input), status.st_mode & S_IFMT == S_IFDIR else { return nil }
            return [UInt64(status.st_dev), UInt64(status.st_ino)]
        })
        let severalFolders = folders.count > 1
        for input in inputs {
            if input == Self.standardInput {
                found.takeStream(input, named: "stdin", from: STDIN_FILENO, limit: streamLimit, seconds: streamSeconds, stopped: stopped)
                continue
            }
            guard let status = FileSystem.status(input) else {
                found.walk.failures.append((input, .unreadable(errno == ENOENT ? "no such file or folder" : String(cString: strerror(errno)))))
                continue
            }
            let name = PathNames.lastComponent(of: input)
            switch status.st_mode & S_IFMT {
            case S_IFDIR:
                var visited = Set<String>()
                walk(folder: input, relative: "", level: Self.level(of: input, severalFolders: severalFolders), into: &found,
                     visited: &visited)
            case S_IFREG:
                found.add(InputFile(path: input, relativePath: name, isExplicit: true, size: Int(status.st_size)), status)
            case S_IFIFO, S_IFCHR:
                let descriptor = FileSystem.open(input, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
                guard descriptor >= 0 else {
                    found.walk.failures.append((input, .unreadable(String(cString: strerror(errno)))))
                    continue
                }
                defer { close(descriptor) }
                found.takeStream(input, named: name, from: descriptor, limit: streamLimit, seconds: streamSeconds, stopped: stopped)
            default:
                found.walk.failures.append((input, .unreadable("not a file, a folder or a stream (a socket or a block device)")))
            }
        }
        return found.walk
    }

    /// What the relative paths of the files below input folder `input` start with: nothing, or
    /// (with several folders) the folder's own name.
    public static func level(of input: String, severalFolders: Bool) -> String {
        let name = PathNames.lastComponent(of: input)
        return severalFolders && !input.hasSuffix("/") && ![".", "..", "/"].contains(name) ? name + "/" : ""
    }

    /// The files below `relative`, a folder inside input folder `root` whose files' relative paths
    /// start with `level`, found as a walk of the whole of `root` would find them (a watch walks
    /// a folder that was moved in).
    public func collect(below relative: String, of root: String, level: String) -> InputWalk {
        var found = Found()
        var visited = Set<String>()
        walk(folder: root, relative: relative, level: level, into: &found, visited: &visited)
        return found.walk
    }

    /// Whether a walk goes into the folder at `relativePath` below its input folder (each name
    /// on the way visible, the folder not excluded).
    public func enters(folder relativePath: String) -> Bool {
        !relativePath.split(separator: "/").contains { $0.hasPrefix(".") }
            && !exclude.contains { $0.matches(relativePath: relativePath) }
    }

    /// Whether a walk takes a file found at `relativePath` below its input folder (its name
    /// visible and selected by --include and --exclude).
    public func takes(file relativePath: String) -> Bool {
        !PathNames.lastComponent(of: relativePath).hasPrefix(".") && isSelected(relativePath)
    }

    /// What a walk has found so far.
    private struct Found {
        var walk = InputWalk()
        /// Each file taken, as the file system knows it, at its place in the mirrored tree.
        private var taken = Set<Identity>()

        private struct Identity: Hashable {
            let device: UInt64
            let inode: UInt64
            let relativePath: String
        }

        mutating func add(_ file: InputFile, _ status: stat) {
            let identity = Identity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino), relativePath: file.relativePath)
            guard taken.insert(identity).inserted else { return }
            var file = file
            file.stamp = FileStamp(status)
            walk.files.append(file)
        }

        /// A stream read whole into a copy the batch reads as a file.
        mutating func takeStream(_ input: String, named name: String, from descriptor: Int32, limit: Int, seconds: Double?,
                                 stopped: () -> Bool) {
            do throws(FileError) {
                let copy = try StreamCopy.take(from: descriptor, limit: limit, seconds: seconds, stopped: stopped)
                walk.files.append(InputFile(path: input, relativePath: name, isExplicit: true, size: copy.size, contentPath: copy.path))
            } catch {
                walk.failures.append((input, error))
            }
        }
    }

    /// Walks `folder`/`relative`; `level` is put before the relative paths of what is found (the
    /// folder's own name, when several are given), not before those the patterns see.
    private func walk(folder: String, relative: String, level: String, into found: inout Found, visited: inout Set<String>) {
        let here = relative.isEmpty ? folder : folder + "/" + relative
        let resolvedHere = Self.resolved(here)
        // An output folder below the input is never read as input (but an output folder that is the
        // input folder itself still is: there, outputs that would replace inputs are refused).
        if (!relative.isEmpty && skipFolders.contains(resolvedHere)) || !visited.insert(resolvedHere).inserted { return }
        if recordsFolders { found.walk.folders.append(relative) }
        let names: [String]
        do throws(FileSystem.FolderError) {
            names = try FileSystem.names(in: here).sorted()
        } catch {
            found.walk.failures.append((here, .unreadable(error.reason)))
            return
        }
        for name in names where !name.hasPrefix(".") {
            let childRelative = relative.isEmpty ? name : relative + "/" + name
            let childPath = here + "/" + name
            switch Self.kind(of: childPath, followSymlinks: followSymlinks) {
            case .folder:
                if exclude.contains(where: { $0.matches(relativePath: childRelative) }) {
                    found.walk.passedOver.excludedFolders += 1
                } else {
                    walk(folder: folder, relative: childRelative, level: level, into: &found, visited: &visited)
                }
            case .file(let status):
                if isSelected(childRelative) {
                    found.add(InputFile(path: Self.display(folder, childRelative), relativePath: level + childRelative,
                                        isExplicit: false, size: Int(status.st_size)), status)
                } else {
                    found.walk.passedOver.excluded += 1
                }
            case .symbolicLink:
                found.walk.passedOver.symbolicLinks += 1
            case .brokenLink(let reason):
                found.walk.failures.append((Self.display(folder, childRelative), .unreadable("symbolic link to nothing: \(reason)")))
            case .other:
                continue
            }
        }
    }

    private func isSelected(_ relativePath: String) -> Bool {
        if !include.isEmpty && !include.contains(where: { $0.matches(relativePath: relativePath) }) { return false }
        return !exclude.contains { $0.matches(relativePath: relativePath) }
    }

    private enum Kind {
        case file(stat)
        case folder
        /// A link not followed.
        case symbolicLink
        /// A link followed to nothing.
        case brokenLink(String)
        /// Sockets, devices, FIFOs found in a folder: never read by a walk.
        case other
    }

    private static func kind(of path: String, followSymlinks: Bool) -> Kind {
        guard var status = FileSystem.status(path, followLinks: false) else { return .other }
        if (status.st_mode & S_IFMT) == S_IFLNK {
            guard followSymlinks else { return .symbolicLink }
            guard let target = FileSystem.status(path) else { return .brokenLink(String(cString: strerror(errno))) }
            status = target
        }
        switch status.st_mode & S_IFMT {
        case S_IFDIR: return .folder
        case S_IFREG: return .file(status)
        default: return .other
        }
    }

    /// Whether an input a walk of `roots` would name `relative` may be there now: false only when
    /// every root is a folder or file that exists and none holds it (a root that is a pattern or
    /// is gone cannot say, so the answer is yes).
    public static func mayExist(_ relative: String, under roots: [String]) -> Bool {
        roots.contains { root in
            guard let status = FileSystem.status(root) else { return true }
            if (status.st_mode & S_IFMT) == S_IFDIR {
                // Below it as named, or (one of several folders walked) after the folder's own name.
                let level = Self.level(of: root, severalFolders: true)
                return FileSystem.exists(display(root, relative))
                    || (!level.isEmpty && relative.hasPrefix(level) && FileSystem.exists(display(root, String(relative.dropFirst(level.count)))))
            }
            return PathNames.lastComponent(of: root) == relative
        }
    }

    private static func display(_ folder: String, _ relative: String) -> String {
        folder.hasSuffix("/") ? folder + relative : folder + "/" + relative
    }

    /// Absolute path with symbolic links resolved, for comparing folders (as given, made absolute,
    /// when it does not exist).
    static func resolved(_ path: String) -> String {
        FileSystem.realPath(path) ?? URL(fileURLWithPath: path).standardizedFileURL.path
    }
}

/// A stream's bytes kept in an unlinked temporary file: readable as `/proc/<pid>/fd/<n>` by this
/// process and its workers for as long as the process lives, gone without a trace when it ends.
enum StreamCopy {
    static func take(from source: Int32, limit: Int, seconds: Double?,
                     stopped: () -> Bool) throws(FileError) -> (path: String, size: Int) {
        if isatty(source) != 0 { throw .unreadable("a terminal, not an image: pipe or redirect a file into it") }
        var status = stat()
        let isFIFO = fstat(source, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO
        var template = Array((NSTemporaryDirectory() + "/fastresize-stream-XXXXXX").utf8CString)
        let copy = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard copy >= 0 else { throw .unreadable("cannot keep a copy of the stream: \(String(cString: strerror(errno)))") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        var keep = false
        defer { if !keep { close(copy) } }
        let deadline = seconds.map { Date().addingTimeInterval($0) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var size = 0
        while true {
            if stopped() { throw .unreadable("stopped before the stream ended") }
            if let deadline, Date() > deadline { throw .timedOut(seconds: seconds ?? 0) }
            // A FIFO with no writer yet is not readable: wait for one in short slices, so the limit
            // and a signal are heard.
            var poller = pollfd(fd: source, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) >= 0 || errno == EINTR else { throw .unreadable(String(cString: strerror(errno))) }
            guard poller.revents != 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw .unreadable(String(cString: strerror(errno)))
            }
            // The end: a FIFO's last writer gone (POLLHUP), any other stream's read of nothing.
            if count == 0 {
                if !isFIFO || poller.revents & Int16(POLLHUP) != 0 { break }
                continue
            }
            size += count
            guard size <= limit else {
                throw .unreadable("the stream holds more than \(FileError.amount(limit)) (--memory-limit)")
            }
            let written = buffer.withUnsafeBytes { write(copy, $0.baseAddress, count) }
            guard written == count else { throw .unreadable("cannot keep a copy of the stream: \(String(cString: strerror(errno)))") }
        }
        keep = true
        return ("/proc/\(getpid())/fd/\(copy)", size)
    }
}
