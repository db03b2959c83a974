// FileError: why one file or output failed, and the closed set of failure kinds that reports, summaries and retries go by.

import FastResizePixels

/// What kind of failure a file met: a closed set, so scripts, summaries and (later) retries can
/// act on it without parsing messages. The raw values are what reports print.
public enum FailureKind: String, Sendable, Codable, CaseIterable, Comparable {
    /// The file's bytes are damaged or not what their format says (never worth retrying).
    case corrupt
    /// Not an image FastResize reads, or a feature of its format (or of the output's) it lacks.
    case unsupported
    /// More pixels than --max-pixels allows, or no pixels at all.
    case tooLarge = "too-large"
    /// Needs more memory than --memory-limit allows.
    case memory
    /// Given up after --timeout.
    case timeout
    /// The worker process reading it crashed, was killed or could not be started.
    case crashed
    /// Reading the input or writing the output failed (permissions, a full disk, a vanished file).
    case io
    /// Its output path is claimed by another input, or is the input itself.
    case collision
    /// Its output would land outside the output folder.
    case outsideOutput = "outside-output"
    /// The run was stopped before the file started.
    case cancelled

    /// Whether running the same file again can succeed without changing it or the settings: a
    /// full disk, a timeout on a busy machine or a crash may not recur; a corrupt file always does.
    public var retryable: Bool {
        switch self {
        case .timeout, .crashed, .io, .cancelled: true
        case .corrupt, .unsupported, .tooLarge, .memory, .collision, .outsideOutput: false
        }
    }

    public static func < (left: FailureKind, right: FailureKind) -> Bool {
        allCases.firstIndex(of: left)! < allCases.firstIndex(of: right)!
    }
}

/// Why one file could not be processed; `description` is the text after "path: ". Codable, so a
/// worker process hands its failure back with its kind.
public indirect enum FileError: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    case unreadable(String)
    case notAnImage
    /// The file holds no bytes at all.
    case empty
    case unsupportedFormat(String)
    case pixelLimit(width: Int, height: Int)
    /// The planned output is larger than --max-pixels or than its format can hold (`reason` says which).
    case outputTooLarge(width: Int, height: Int, reason: String)
    case memoryLimit(need: Int, limit: Int)
    case codec(CodecError)
    case noEncoder(ImageFormat)
    case outputIsInput
    case outsideOutputFolder(String)
    case collision(otherInput: String)
    case writeFailed(String)
    /// Writing met a full disk or quota (ENOSPC, EDQUOT): the system's words.
    case diskFull(String)
    /// Not attempted: an earlier output to the same disk found it full.
    case outputDiskFull(folder: String)
    /// Given up after --timeout seconds.
    case timedOut(seconds: Double)
    /// An isolated worker process that crashed, was killed or could not be started: how it ended.
    case isolation(String)
    /// One output of several failed (its file name, the reason); the others may be written.
    case output(String, FileError)

    /// Whether the disk written to was full (this error or, of one output of several, its own).
    public var isDiskFull: Bool {
        switch self {
        case .diskFull: true
        case .output(_, let error): error.isDiskFull
        default: false
        }
    }

    public var kind: FailureKind {
        switch self {
        case .unreadable, .writeFailed, .diskFull, .outputDiskFull: .io
        case .notAnImage, .unsupportedFormat, .noEncoder: .unsupported
        case .empty: .corrupt
        case .pixelLimit(let width, let height) where width <= 0 || height <= 0: .corrupt
        case .pixelLimit, .outputTooLarge: .tooLarge
        case .memoryLimit: .memory
        case .codec(let error): error.kind
        case .outputIsInput, .collision: .collision
        case .outsideOutputFolder: .outsideOutput
        case .timedOut: .timeout
        case .isolation: .crashed
        case .output(_, let error): error.kind
        }
    }

    /// Bytes for people: whole MiB, or KiB under one (a need of 300 KiB is not "0 MiB").
    public static func amount(_ bytes: Int) -> String {
        bytes < 1 << 20 ? "\((bytes + 1023) >> 10) KiB" : "\(bytes >> 20) MiB"
    }

    public var description: String {
        switch self {
        case .unreadable(let reason): "cannot read: \(reason)"
        case .notAnImage: "not a supported image (its content is no format FastResize reads)"
        case .empty: "empty file (0 bytes)"
        case .unsupportedFormat(let name): "unsupported image format: \(name)"
        case .pixelLimit(let width, let height) where width <= 0 || height <= 0:
            "input image declares no pixels (\(width) x \(height))"
        case .pixelLimit(let width, let height): "input image exceeds pixel limit (\(width) x \(height))"
        case .outputTooLarge(let width, let height, let reason): "output would be \(width) x \(height) pixels, \(reason)"
        case .memoryLimit(let need, let limit):
            "needs about \(Self.amount(need)) to decode, more than --memory-limit allows (\(Self.amount(limit)))"
        case .codec(let error): error.description
        case .noEncoder(let format): "no encoder for \(format.displayName)"
        case .outputIsInput: "output path is the input itself; refusing to replace an input"
        case .outsideOutputFolder(let path): "output path \(path) is outside the output folder"
        case .collision(let other): "output collides with \(other)"
        case .writeFailed(let reason), .diskFull(let reason): "cannot write output: \(reason)"
        case .outputDiskFull(let folder): "not attempted: the disk holding \(folder) is full (an earlier output found no space)"
        case .timedOut(let seconds):
            "gave up after \(seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)) s (--timeout); no output written"
        case .isolation(let message): message
        case .output(let name, let error): "\(name): \(error)"
        }
    }
}
