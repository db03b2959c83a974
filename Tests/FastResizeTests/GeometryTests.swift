// GeometryTests: how each resize mode turns into an output size and a source region.

import FastResize
import Testing

@Suite struct GeometryTests {
    @Test func widthKeepsAspectRatio() {
        let plan = ResizeMode.width(800).plan(sourceWidth: 4000, sourceHeight: 3000, enlarge: false)
        #expect(plan.width == 800 && plan.height == 600)
    }

    @Test func heightKeepsAspectRatio() {
        let plan = ResizeMode.height(100).plan(sourceWidth: 333, sourceHeight: 200, enlarge: false)
        #expect(plan.width == 167 && plan.height == 100)
    }

    @Test func scaleRoundsAndNeverReachesZero() {
        let plan = ResizeMode.scale(0.001).plan(sourceWidth: 300, sourceHeight: 20, enlarge: false)
        #expect(plan.width == 1 && plan.height == 1)
        let half = ResizeMode.scale(0.5).plan(sourceWidth: 101, sourceHeight: 51, enlarge: false)
        #expect(half.width == 51 && half.height == 26)
    }

    @Test func fitStaysInsideTheBox() {
        let wide = ResizeMode.fit(width: 720, height: 588).plan(sourceWidth: 2725, sourceHeight: 2225, enlarge: false)
        #expect(wide.width == 720 && wide.height == 588)
        let tall = ResizeMode.fit(width: 100, height: 100).plan(sourceWidth: 300, sourceHeight: 1000, enlarge: false)
        #expect(tall.width == 30 && tall.height == 100)
        for (w, h) in [(1, 1000), (1000, 1), (997, 13), (640, 480)] {
            let plan = ResizeMode.fit(width: 64, height: 48).plan(sourceWidth: w, sourceHeight: h, enlarge: true)
            #expect(plan.width <= 64 && plan.height <= 48 && (plan.width == 64 || plan.height == 48))
        }
    }

    @Test func smallImagesKeepTheirSizeWithoutEnlarge() {
        let modes: [ResizeMode] = [.scale(2), .width(500), .height(500), .fit(width: 500, height: 500)]
        for mode in modes {
            let plan = mode.plan(sourceWidth: 200, sourceHeight: 100, enlarge: false)
            #expect(plan.width == 200 && plan.height == 100, "\(mode)")
        }
        let enlarged = ResizeMode.fit(width: 500, height: 500).plan(sourceWidth: 200, sourceHeight: 100, enlarge: true)
        #expect(enlarged.width == 500 && enlarged.height == 250)
    }

    @Test func fillCoversAndCropsToExactSize() {
        let plan = ResizeMode.fill(width: 100, height: 100, gravity: .center)
            .plan(sourceWidth: 400, sourceHeight: 200, enlarge: false)
        #expect(plan.width == 100 && plan.height == 100)
        #expect(plan.region == SourceRegion(x: 100, y: 0, width: 200, height: 200))
    }

    @Test(arguments: [(Gravity.west, 0.0), (.east, 200.0), (.northwest, 0.0), (.southeast, 200.0), (.north, 100.0)])
    func fillGravityChoosesTheKeptPart(gravity: Gravity, x: Double) {
        let plan = ResizeMode.fill(width: 50, height: 50, gravity: gravity).plan(sourceWidth: 400, sourceHeight: 200, enlarge: false)
        #expect(plan.region.x == x)
        #expect(plan.region.width == 200)
    }

    @Test func fillVerticalGravity() {
        let south = ResizeMode.fill(width: 100, height: 50, gravity: .south).plan(sourceWidth: 100, sourceHeight: 300, enlarge: false)
        #expect(south.region == SourceRegion(x: 0, y: 250, width: 100, height: 50))
        let north = ResizeMode.fill(width: 100, height: 50, gravity: .north).plan(sourceWidth: 100, sourceHeight: 300, enlarge: false)
        #expect(north.region.y == 0)
    }

    /// Without --enlarge a small picture is cropped to the box's shape, not to the box's size
    /// clipped to the picture (a 300x300 box on 200x400 gave 200x300; a 1200x630 card 640x480).
    @Test func fillWithoutEnlargeKeepsTheBoxShape() {
        let plan = ResizeMode.fill(width: 300, height: 300, gravity: .center).plan(sourceWidth: 200, sourceHeight: 400, enlarge: false)
        #expect(plan.width == 200 && plan.height == 200)
        #expect(plan.region == SourceRegion(x: 0, y: 100, width: 200, height: 200))
        let card = ResizeMode.fill(width: 1200, height: 630, gravity: .north).plan(sourceWidth: 640, sourceHeight: 480, enlarge: false)
        #expect(card.width == 640 && card.height == 336)
        #expect(card.region == SourceRegion(x: 0, y: 0, width: 640, height: 336))
        let wide = ResizeMode.fill(width: 1200, height: 630, gravity: .center).plan(sourceWidth: 1000, sourceHeight: 300, enlarge: false)
        #expect(wide.width == 571 && wide.height == 300)
        // A picture larger than the box both ways is scaled down to the box, as before.
        let large = ResizeMode.fill(width: 1200, height: 630, gravity: .center).plan(sourceWidth: 4000, sourceHeight: 3000, enlarge: false)
        #expect(large.width == 1200 && large.height == 630)
    }

    /// Sizes past the largest side (a library caller's, which no option parser checked) end at it
    /// instead of trapping on the conversion to integers; the pixel limit then refuses them.
    @Test func hugeSizesStopAtTheLargestSide() {
        let largest = ResizeMode.largestSide
        for mode in [ResizeMode.scale(1e300), .scale(.greatestFiniteMagnitude), .width(Int.max), .height(Int.max),
                     .fit(width: Int.max, height: Int.max), .fill(width: Int.max, height: 3, gravity: .center)] {
            let plan = mode.plan(sourceWidth: 640, sourceHeight: 480, enlarge: true)
            #expect(plan.width >= 1 && plan.width <= largest && plan.height >= 1 && plan.height <= largest, "\(mode)")
        }
        #expect(ResizeMode.scale(1e300).plan(sourceWidth: 640, sourceHeight: 480, enlarge: true).width == largest)
    }
}
