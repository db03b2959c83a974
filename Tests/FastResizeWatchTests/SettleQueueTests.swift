// SettleQueueTests: when a watched name is looked at — after the settle time, never while open for writing, never twice at once.

@testable import FastResizeWatch
import Testing

@Suite struct SettleQueueTests {
    @Test func aClosedFileIsDueOnceQuietForTheSettleTime() {
        var queue = SettleQueue<String>(settle: 0.3)
        queue.saw("a.jpg", .settled, at: 10)
        #expect(queue.due(at: 10.29).isEmpty)
        #expect(queue.nextDue == 10.3)
        #expect(queue.due(at: 10.3) == ["a.jpg"])
        #expect(queue.due(at: 11).isEmpty, "taken out once due")
        #expect(queue.pendingCount == 0)
    }

    /// A file written in chunks: every write pushes it back, and while open it is never due.
    @Test func aFileBeingWrittenWaitsForItsCloseAndItsLastChange() {
        var queue = SettleQueue<String>(settle: 0.3)
        queue.saw("slow.jpg", .writing, at: 0)
        for second in 1...5 { queue.saw("slow.jpg", .writing, at: Double(second)) }
        #expect(queue.due(at: 100).isEmpty, "open for writing: not due however long it is quiet")
        #expect(queue.isWriting("slow.jpg"))
        #expect(queue.nextDue == nil)
        queue.saw("slow.jpg", .settled, at: 100)
        #expect(!queue.isWriting("slow.jpg"))
        #expect(queue.due(at: 100.2).isEmpty)
        #expect(queue.due(at: 100.3) == ["slow.jpg"])
    }

    @Test func repeatedChangesMakeOneDueName() {
        var queue = SettleQueue<String>(settle: 0.3)
        for step in 0..<10 { queue.saw("a.jpg", .settled, at: Double(step) * 0.1) }
        queue.saw("b.jpg", .settled, at: 0.8)
        #expect(queue.due(at: 1.0).isEmpty, "a changed last at 0.9: due at 1.2; b at 1.1")
        #expect(Set(queue.due(at: 1.2)) == ["a.jpg", "b.jpg"])
    }

    /// A name that changes while being made is looked at again once done, and not before.
    @Test func aNameInHandIsDueAgainOnlyWhenDone() {
        var queue = SettleQueue<String>(settle: 0.3)
        queue.saw("a.jpg", .settled, at: 0)
        #expect(queue.due(at: 0.3) == ["a.jpg"])
        queue.handOut("a.jpg")
        #expect(queue.isInHand("a.jpg"))
        queue.saw("a.jpg", .writing, at: 0.4)
        queue.saw("a.jpg", .settled, at: 0.5)
        #expect(queue.due(at: 5).isEmpty, "in hand: not due twice at once")
        #expect(queue.pendingCount == 0 && queue.inHandCount == 1)
        queue.done("a.jpg", at: 6)
        #expect(!queue.isInHand("a.jpg"))
        #expect(queue.due(at: 6.2).isEmpty)
        #expect(queue.due(at: 6.3) == ["a.jpg"])
    }

    @Test func aNameDoneWithoutChangesIsNotDueAgain() {
        var queue = SettleQueue<String>(settle: 0.3)
        queue.handOut("a.jpg")
        queue.done("a.jpg", at: 1)
        #expect(queue.due(at: 10).isEmpty)
        #expect(queue.nextDue == nil)
    }

    @Test func laterPutsANameBackAndClearingKeepsThoseInHand() {
        var queue = SettleQueue<String>(settle: 0.3)
        queue.later("young.jpg", after: 0.1, at: 0)
        #expect(queue.due(at: 0.05).isEmpty)
        #expect(queue.due(at: 0.1) == ["young.jpg"])
        queue.saw("x.jpg", .settled, at: 0)
        queue.handOut("y.jpg")
        queue.clearPending()
        #expect(queue.pendingCount == 0)
        #expect(queue.isInHand("y.jpg"))
    }
}
