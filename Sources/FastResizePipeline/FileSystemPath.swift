// FileSystemPath: file names are bytes on Linux — a name that is not UTF-8 (an old camera's, a zip's, a Samba share's) rides in a String losslessly, and every call that touches the file system goes through here to get its bytes back.

import Foundation

/// Paths as Strings that keep every byte. A byte that is not part of valid UTF-8 becomes one
/// private-use scalar (U+10FC80 … U+10FCFF, after the byte), and a real scalar of that range is
/// itself written as the escapes of its four bytes, so any byte string maps to a String and back
/// exactly. A valid UTF-8 name is its own String, untouched.
///
/// Swift hands a String to C as its UTF-8, which would turn an escape into four other bytes:
/// calls that take a path therefore use these wrappers, never the String directly.
public enum FileSystemPath {
    private static let escapeBase: UInt32 = 0x10FC00

    private static func isEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value >= escapeBase + 0x80 && scalar.value <= escapeBase + 0xFF
    }

    /// The String for a name's bytes.
    public static func string<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        // The common case: valid UTF-8 with no scalar of the escape range.
        if let text = String(validating: bytes, as: UTF8.self), !text.unicodeScalars.contains(where: isEscape) { return text }
        var scalars = String.UnicodeScalarView()
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var rest = bytes[...]
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                // An escape scalar in the name itself is escaped byte by byte, so it cannot be
                // taken for a raw byte on the way back.
                if isEscape(scalar) { scalars.append(contentsOf: rest.prefix(encoded.count).map(escape)) } else { scalars.append(scalar) }
                rest = rest.dropFirst(encoded.count)
            case .error(let length):
                scalars.append(contentsOf: rest.prefix(length).map(escape))
                rest = rest.dropFirst(length)
            case .emptyInput:
                return String(scalars)
            }
        }
    }

    /// A C string's bytes as a String (argv, readdir, realpath).
    public static func string(cString: UnsafePointer<CChar>) -> String {
        string(UnsafeBufferPointer(start: UnsafeRawPointer(cString).assumingMemoryBound(to: UInt8.self), count: strlen(cString)))
    }

    /// The bytes `path` stands for.
    public static func bytes(_ path: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(path.utf8.count)
        for scalar in path.unicodeScalars {
            if isEscape(scalar) {
                bytes.append(UInt8(scalar.value - escapeBase))
            } else {
                bytes.append(contentsOf: String(scalar).utf8)
            }
        }
        return bytes
    }

    /// Whether `path` holds bytes that are not UTF-8 (and so must be escaped to be shown).
    public static func hasRawBytes(_ path: String) -> Bool {
        path.unicodeScalars.contains(where: isEscape)
    }

    /// Calls `body` with the path's bytes as a C string.
    public static func withCString<R>(_ path: String, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        guard hasRawBytes(path) else { return try path.withCString(body) }
        return try (bytes(path) + [0]).withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    /// The path as text to show: each byte that is not UTF-8 as `\xNN`. With `controls`, control
    /// characters too (ESC, newline, carriage return, DEL, C1), so a file name printed to a
    /// terminal or a log cannot move the cursor, colour the screen or forge a line.
    public static func shown(_ path: String, controls: Bool = false) -> String {
        guard hasRawBytes(path) || (controls && path.unicodeScalars.contains(where: isControl)) else { return path }
        var text = ""
        for scalar in path.unicodeScalars {
            if isEscape(scalar) {
                text += hex(UInt8(scalar.value - escapeBase))
            } else if controls && isControl(scalar) {
                text += scalar.value <= 0xFF ? hex(UInt8(scalar.value)) : "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                text.unicodeScalars.append(scalar)
            }
        }
        return text
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    private static func hex(_ byte: UInt8) -> String {
        "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
    }

    private static func escape(_ byte: UInt8) -> Unicode.Scalar {
        Unicode.Scalar(escapeBase + UInt32(byte))!
    }
}

/// The system calls the batch makes on paths, each through `FileSystemPath` so names that are not
/// UTF-8 reach the file system as the bytes they are.
public enum FileSystem {
    public static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
        FileSystemPath.withCString(path) { Foundation.open($0, flags, mode) }
    }

    /// What `stat(2)` says of the file at `path` (symbolic links followed unless `followLinks` is
    /// false), or nil with errno set.
    public static func status(_ path: String, followLinks: Bool = true) -> stat? {
        var status = stat()
        let result = FileSystemPath.withCString(path) { followLinks ? stat($0, &status) : lstat($0, &status) }
        return result == 0 ? status : nil
    }

    public static func exists(_ path: String) -> Bool {
        status(path) != nil
    }

    /// `path` itself or its nearest folder that exists, and what stat says of it ("." stands for a
    /// relative path none of whose folders exists); nil when not even the root or "." can be read.
    public static func nearestExisting(_ path: String) -> (path: String, status: stat)? {
        var candidate = path.isEmpty ? "." : path
        while true {
            if let found = status(candidate) { return (candidate, found) }
            guard candidate != ".", candidate != "/" else { return nil }
            let parent = PathNames.folder(of: candidate)
            candidate = parent.isEmpty ? "." : parent
        }
    }

    public static func isFolder(_ path: String) -> Bool {
        status(path).map { $0.st_mode & S_IFMT == S_IFDIR } ?? false
    }

    public static func access(_ path: String, _ mode: Int32) -> Bool {
        FileSystemPath.withCString(path) { Foundation.access($0, mode) } == 0
    }

    @discardableResult
    public static func unlink(_ path: String) -> Bool {
        FileSystemPath.withCString(path) { Foundation.unlink($0) } == 0
    }

    /// A second name for a file (fails with EEXIST when the name is taken).
    public static func link(_ from: String, _ to: String) -> Bool {
        FileSystemPath.withCString(from) { source in FileSystemPath.withCString(to) { Foundation.link(source, $0) } } == 0
    }

    public static func rename(_ from: String, _ to: String) -> Bool {
        FileSystemPath.withCString(from) { source in FileSystemPath.withCString(to) { Foundation.rename(source, $0) } } == 0
    }

    /// Makes `path` and every folder above it that is missing, one at a time; on failure, the
    /// folder that could not be made and the system's reason.
    public static func makeFolders(_ path: String) throws(FolderError) {
        // Usually every folder is there already: a look takes no lock, while mkdir takes each
        // parent's exclusively even to say EEXIST, and every output of a batch asks.
        if isFolder(path) { return }
        var made = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            made += (made.isEmpty || made.hasSuffix("/") ? "" : "/") + component
            if FileSystemPath.withCString(made, { mkdir($0, 0o777) }) != 0 && errno != EEXIST {
                throw FolderError(folder: made, reason: String(cString: strerror(errno)))
            }
        }
    }

    public struct FolderError: Error, Sendable {
        public let folder: String
        public let reason: String
    }

    /// The names in a folder (without "." and ".."), unsorted, as their bytes are.
    public static func names(in folder: String) throws(FolderError) -> [String] {
        guard let stream = FileSystemPath.withCString(folder, { opendir($0) }) else {
            throw FolderError(folder: folder, reason: String(cString: strerror(errno)))
        }
        defer { closedir(stream) }
        var names: [String] = []
        // The name is read where it lies: an entry is only as long as its name (d_reclen), so
        // copying the whole d_name array would read past the end of readdir's buffer.
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        while let entry = readdir(stream) {
            let name = FileSystemPath.string(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Writes all of `bytes` to `descriptor`, again where a signal interrupted the write or a
    /// pipe took part of it. False with errno set when the descriptor refuses more.
    public static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else {
                if written == 0 { errno = EIO }
                return false
            }
            offset += written
        }
        return true
    }

    /// Writes all of `text` to `descriptor`, as far as it takes it (the console's lines, a log's records).
    public static func writeAll(_ text: String, to descriptor: Int32) {
        var text = text     // its own UTF-8, not a copy into an array, for every line
        _ = text.withUTF8 { writeAll(UnsafeRawBufferPointer($0), to: descriptor) }
    }

    /// Everything left to read from `descriptor` (a pipe, say), or nil with errno set. A read a
    /// signal interrupts is made again: Foundation's FileHandle reports EINTR as a failure (and its
    /// readDataToEndOfFile traps on it), and a process with child processes gets SIGCHLD.
    /// `size`, when known (a regular file's), is read straight into one block, and no more (as a
    /// mapping of it would hold): no growing, no copy, no zeroing — 5 to 7% of a run of 2,000
    /// small photos.
    public static func readAll(_ descriptor: Int32, size: Int? = nil) -> Data? {
        if let size, size > 0 {
            guard let block = malloc(size) else {
                errno = ENOMEM
                return nil
            }
            var filled = 0
            while filled < size {
                let count = Foundation.read(descriptor, block + filled, size - filled)
                if count > 0 {
                    filled += count
                } else if count == 0 {
                    break
                } else if errno != EINTR {
                    free(block)
                    return nil
                }
            }
            return Data(bytesNoCopy: block, count: filled, deallocator: .free)
        }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                data.append(contentsOf: buffer[..<count])
            } else if count == 0 {
                return data
            } else if errno != EINTR {
                return nil
            }
        }
    }

    /// The absolute path with every symbolic link resolved, or nil when some part does not exist.
    public static func realPath(_ path: String) -> String? {
        guard let resolved = FileSystemPath.withCString(path, { realpath($0, nil) }) else { return nil }
        defer { free(resolved) }
        return FileSystemPath.string(cString: resolved)
    }
}
