// SettleQueue: names a watch saw change, each looked at once it has been quiet for the settle time, and never handed out twice at once.

/// The watch's bookkeeping of names, on its own clock (seconds), with no file system in it: a
/// name seen changing is due `settle` seconds after the last change; one still open for
/// writing (created or modified, not yet closed) is not due until it is closed; one handed out
/// (being made) that changes again is looked at again once it is done.
struct SettleQueue<Name: Hashable> {
    /// What the watch saw happen to a name.
    enum Change {
        /// Created, or written to: a writer has it open, so it is not complete.
        case writing
        /// Closed after writing, moved in, deleted or moved away: look once it is quiet.
        case settled
    }

    private struct Entry {
        var due: Double
        var writing: Bool
    }

    let settle: Double
    private var pending: [Name: Entry] = [:]
    private var inHand: Set<Name> = []
    /// Changed while in hand: due again when done.
    private var again: Set<Name> = []

    init(settle: Double) {
        self.settle = settle
    }

    /// Names waiting to settle.
    var pendingCount: Int { pending.count }
    /// Names handed out and not yet done.
    var inHandCount: Int { inHand.count }

    /// `name` changed at `now`.
    mutating func saw(_ name: Name, _ change: Change, at now: Double) {
        if inHand.contains(name) {
            again.insert(name)
            return
        }
        var entry = pending[name] ?? Entry(due: now + settle, writing: false)
        entry.due = now + settle
        entry.writing = change == .writing
        pending[name] = entry
    }

    /// The names due at `now` (quiet for the settle time, not open for writing), taken out of
    /// the queue: the caller looks at each, then hands it out, puts it back, or drops it.
    mutating func due(at now: Double) -> [Name] {
        let names = pending.filter { !$0.value.writing && $0.value.due <= now }.map(\.key)
        for name in names { pending[name] = nil }
        return names
    }

    /// Puts a name back to be looked at again after `delay` (a file still being written).
    mutating func later(_ name: Name, after delay: Double, at now: Double) {
        pending[name] = Entry(due: now + delay, writing: false)
    }

    /// When the next name is due, if any can be (those open for writing wait for their close).
    var nextDue: Double? {
        pending.values.filter { !$0.writing }.map(\.due).min()
    }

    /// `name` is being made: changes now wait for it to be done.
    mutating func handOut(_ name: Name) {
        inHand.insert(name)
        pending[name] = nil
    }

    func isInHand(_ name: Name) -> Bool { inHand.contains(name) }

    /// Whether `name` was seen open for writing and not yet closed.
    func isWriting(_ name: Name) -> Bool { pending[name]?.writing ?? false }

    /// `name` is done; if it changed meanwhile it is due again after the settle time.
    mutating func done(_ name: Name, at now: Double) {
        inHand.remove(name)
        if again.remove(name) != nil { pending[name] = Entry(due: now + settle, writing: false) }
    }

    /// Forgets every pending name (a rescan looks at the whole tree instead); those in hand stay.
    mutating func clearPending() {
        pending.removeAll()
    }
}
