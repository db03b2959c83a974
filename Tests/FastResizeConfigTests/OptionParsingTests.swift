// OptionParsingTests: option values parsed, and mistakes worded as "expected …, got …".

import FastResize
import FastResizeConfig
import Testing

@Suite struct OptionParsingTests {
    @Test func messagesSayWhatWasExpectedAndWhatCame() {
        #expect(throws: UsageError("expected a positive integer for --width but got \"abc\"")) {
            try OptionParsing.positiveInteger("abc", for: "--width")
        }
        #expect(throws: UsageError("expected a positive integer for --width but got \"-3\"")) {
            try OptionParsing.positiveInteger("-3", for: "--width")
        }
        #expect(throws: UsageError("expected an integer from 1 to 100 for --quality but got \"101\"")) {
            try OptionParsing.integer("101", in: 1...100, for: "--quality")
        }
        #expect(throws: UsageError("expected WIDTHxHEIGHT with positive integers (e.g. 800x600) for --fit but got \"800\"")) {
            try OptionParsing.size("800", for: "--fit")
        }
        #expect(throws: UsageError("expected a positive number for --scale but got \"0\"")) {
            try OptionParsing.positiveNumber("0", for: "--scale")
        }
        #expect(throws: UsageError.self) { try OptionParsing.positiveNumber("nan", for: "--scale") }
    }

    @Test func parsesGoodValues() throws {
        #expect(try OptionParsing.size("800x600", for: "--fit") == (800, 600))
        #expect(try OptionParsing.size("10X20", for: "--fit") == (10, 20))
        #expect(try OptionParsing.positiveNumber("0.25", for: "--scale") == 0.25)
        let filter: ResampleFilter = try OptionParsing.choice("Lanczos2", for: "--filter")
        #expect(filter == .lanczos2)
        #expect(throws: UsageError("expected one of nearest, bilinear, bicubic, mitchell, lanczos2, lanczos3 for --filter but got \"box\"")) {
            let _: ResampleFilter = try OptionParsing.choice("box", for: "--filter")
        }
    }

    @Test func sizesParse() throws {
        #expect(try OptionParsing.byteSize("512M", for: "--memory-limit") == 512 << 20)
        #expect(try OptionParsing.byteSize("2g", for: "--memory-limit") == 2 << 30)
        #expect(try OptionParsing.byteSize("1.5 GiB", for: "--memory-limit") == 3 << 29)
        #expect(try OptionParsing.byteSize("4096", for: "--memory-limit") == 4096)
        for bad in ["", "-1M", "0", "lots", "12Q"] {
            #expect(throws: UsageError.expected("a size such as 512M or 2G", for: "--memory-limit", got: bad)) {
                try OptionParsing.byteSize(bad, for: "--memory-limit")
            }
        }
    }
}
