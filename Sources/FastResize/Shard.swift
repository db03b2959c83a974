// Shard: one of N static parts of a batch (--shard K/N), chosen by a stable hash of each input's path below its input folder, so N runs on N machines cover every input exactly once.

/// Shard `index` of `count`: the inputs whose path below their input folder hashes to `index`.
/// The hash (64-bit FNV-1a of the path's bytes) depends on nothing but the path: not on the order
/// of a walk, the machine, the process or the Swift version, so the N shards of one tree never
/// overlap and never leave a file out.
public struct Shard: Sendable, Equatable, Codable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) {
        precondition(count >= 1 && (0..<count).contains(index), "a shard is K/N with 0 <= K < N")
        self.index = index
        self.count = count
    }

    /// Whether the input at `relativePath` (below its input folder) is this shard's.
    public func takes(_ relativePath: String) -> Bool {
        Int(Self.hash(relativePath) % UInt64(count)) == index
    }

    /// FNV-1a over the path's bytes as the file system gave them.
    static func hash(_ path: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in FileSystemPath.bytes(path) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    public var description: String { "\(index)/\(count)" }
}
