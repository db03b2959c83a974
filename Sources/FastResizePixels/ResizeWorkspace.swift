// ResizeWorkspace: scratch memory and weight tables kept between images, so a batch allocates once.

/// Buffers one thread needs to resize a band of rows. Grown on demand, never shrunk; only ever
/// used by one thread at a time (the workspace hands each worker its own).
final class BandScratch: @unchecked Sendable {
    /// Vertical-pass output: up to `Resizer.bandRows` rows of int16 samples.
    var vertical = ScratchBuffer<Int16>()
    /// The same band transposed: one row per input column, `bandRows` pixels long.
    var transposed = ScratchBuffer<Int16>()
    /// Premultiplied rows of an image with alpha.
    var premultiplied = ScratchBuffer<Int16>()
    /// Final-pass sums (with alpha) or bytes (without) of one output column.
    var sums = ScratchBuffer<Int32>()
    var bytes = ScratchBuffer<UInt8>()

    deinit {
        vertical.release(); transposed.release(); premultiplied.release(); sums.release(); bytes.release()
    }
}

/// A growable, uninitialised-free array of trivial values.
struct ScratchBuffer<Element> {
    private(set) var pointer: UnsafeMutablePointer<Element>?
    private(set) var capacity = 0

    mutating func reserve(_ count: Int) -> UnsafeMutablePointer<Element> {
        if count > capacity || pointer == nil {
            pointer?.deallocate()
            capacity = max(count, capacity * 3 / 2, 16)
            pointer = .allocate(capacity: capacity)
        }
        return pointer!
    }

    func release() {
        pointer?.deallocate()
    }
}

/// What a resize keeps between images: per-thread scratch and recently used weight tables.
///
/// A workspace is used by one caller at a time (a batch gives each worker its own); the threads a
/// single resize fans out to each take one of its scratch sets.
public final class ResizeWorkspace: @unchecked Sendable {
    private var scratch: [BandScratch] = []
    private var weights: [(key: WeightKey, value: FixedPointWeights)] = []
    private static let cachedWeightTables = 8

    public init() {}


    func scratchSets(_ count: Int) -> [BandScratch] {
        while scratch.count < count { scratch.append(BandScratch()) }
        return Array(scratch.prefix(count))
    }

    struct WeightKey: Equatable {
        var inputCount: Int
        var outputCount: Int
        var filter: ResampleFilter
        var offset: Double
        var span: Double
    }

    /// The fixed-point weights for this axis, computed once and reused while they stay in use.
    func weights(inputCount: Int, outputCount: Int, filter: ResampleFilter, offset: Double, span: Double) -> FixedPointWeights {
        let key = WeightKey(inputCount: inputCount, outputCount: outputCount, filter: filter, offset: offset, span: span)
        if let index = weights.firstIndex(where: { $0.key == key }) {
            let entry = weights.remove(at: index)
            weights.append(entry)
            return entry.value
        }
        let value = FixedPointWeights(ResampleWeights(inputCount: inputCount, outputCount: outputCount, filter: filter,
                                                      offset: offset, span: span))
        weights.append((key, value))
        if weights.count > Self.cachedWeightTables { weights.removeFirst() }
        return value
    }
}
