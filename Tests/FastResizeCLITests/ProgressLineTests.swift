// ProgressLineTests: the console's progress line, with a known total and without one.

@testable import fastresize
import Testing

@Suite struct ProgressLineTests {
    @Test func aKnownTotalShowsPercentAndTimeLeft() {
        #expect(Console.progressLine(done: 12, total: 40, elapsed: 2) == "12/40  30%  6.0 images/s  ETA 5s")
        #expect(Console.progressLine(done: 40, total: 40, elapsed: 80) == "40/40  100%  0.5 images/s  ETA 0s")
    }

    /// The line never reaches the terminal's last column (a wrapped line cannot be cleared).
    @Test func theLineFitsTheTerminal() {
        let line = Console.progressLine(done: 12, total: 40, elapsed: 2)
        #expect(Console.fitted(line, width: 20) == "12/40  30%  6.0 ima")
        #expect(Console.fitted(line, width: 80) == line)
        #expect(Console.fitted(line, width: nil) == line)
    }

    @Test func filesStillArrivingShowACountAndARate() {
        #expect(Console.progressLine(done: 7, total: nil, elapsed: 2) == "7  3.5 images/s")
    }
}
