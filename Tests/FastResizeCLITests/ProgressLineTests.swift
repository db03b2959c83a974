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

    /// At most ten redraws a second, and the last file always drawn.
    @Test func theLineIsDrawnAtMostTenTimesASecond() {
        var lastDrawn = 0.0, draws = 0
        for file in 1...1000 {
            let elapsed = Double(file) * 0.001       // a thousand files in a second
            if Console.redraws(at: elapsed, lastDrawn: lastDrawn, done: file, total: 1000) { draws += 1; lastDrawn = elapsed }
        }
        #expect(draws <= 11 && draws >= 9)
        #expect(Console.redraws(at: 0.01, lastDrawn: 0, done: 5, total: 5))
    }

    @Test func filesStillArrivingShowACountAndARate() {
        #expect(Console.progressLine(done: 7, total: nil, elapsed: 2) == "7  3.5 images/s")
    }
}
