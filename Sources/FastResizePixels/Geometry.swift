// Geometry: how a resize request (scale, width, height, fit, fill) becomes an output size and source region.

/// Where the kept part of the image sits when `fill` crops it.
public enum Gravity: String, Sendable, CaseIterable, Codable {
    case center, north, south, east, west, northeast, northwest, southeast, southwest

    /// Fraction of the spare width (0 = left) and height (0 = top) left before the kept part.
    var anchor: (x: Double, y: Double) {
        switch self {
        case .center: (0.5, 0.5)
        case .north: (0.5, 0)
        case .south: (0.5, 1)
        case .east: (1, 0.5)
        case .west: (0, 0.5)
        case .northeast: (1, 0)
        case .northwest: (0, 0)
        case .southeast: (1, 1)
        case .southwest: (0, 1)
        }
    }
}

/// What size the user asked for.
public enum ResizeMode: Sendable, Hashable, Codable {
    /// Multiply both sides by a factor.
    case scale(Double)
    /// This width; height follows the aspect ratio.
    case width(Int)
    /// This height; width follows the aspect ratio.
    case height(Int)
    /// As large as fits inside the box, aspect ratio kept.
    case fit(width: Int, height: Int)
    /// Covers the box, then the overflow is cropped away so the result is exactly the box.
    case fill(width: Int, height: Int, gravity: Gravity)
}

/// The outcome of planning: which part of the source becomes an output of which size.
public struct ResizePlan: Sendable, Equatable {
    public var region: SourceRegion
    public var width: Int
    public var height: Int

    public init(region: SourceRegion, width: Int, height: Int) {
        self.region = region
        self.width = width
        self.height = height
    }
}

extension ResizeMode {
    /// Plans the resize of a `sourceWidth` × `sourceHeight` image. Without `enlarge`, an image that
    /// is already small enough keeps its size (and `fill` crops without enlarging).
    public func plan(sourceWidth: Int, sourceHeight: Int, enlarge: Bool) -> ResizePlan {
        let w = Double(sourceWidth), h = Double(sourceHeight)
        let whole = SourceRegion(x: 0, y: 0, width: w, height: h)
        func scaled(_ factor: Double) -> ResizePlan {
            let factor = enlarge ? factor : min(factor, 1)
            return ResizePlan(region: whole, width: Self.side(w * factor), height: Self.side(h * factor))
        }
        switch self {
        case .scale(let factor):
            return scaled(factor)
        case .width(let target):
            if !enlarge && target >= sourceWidth { return scaled(1) }
            let target = min(target, Self.largestSide)
            return ResizePlan(region: whole, width: target, height: Self.side(h * Double(target) / w))
        case .height(let target):
            if !enlarge && target >= sourceHeight { return scaled(1) }
            let target = min(target, Self.largestSide)
            return ResizePlan(region: whole, width: Self.side(w * Double(target) / h), height: target)
        case .fit(var boxWidth, var boxHeight):
            (boxWidth, boxHeight) = (min(boxWidth, Self.largestSide), min(boxHeight, Self.largestSide))
            let factorW = Double(boxWidth) / w, factorH = Double(boxHeight) / h
            if !enlarge && factorW >= 1 && factorH >= 1 { return scaled(1) }
            // The constraining side gets the box's size exactly; the other is rounded.
            if factorW <= factorH {
                return ResizePlan(region: whole, width: boxWidth, height: min(Self.side(h * factorW), boxHeight))
            }
            return ResizePlan(region: whole, width: min(Self.side(w * factorH), boxWidth), height: boxHeight)
        case .fill(var boxWidth, var boxHeight, let gravity):
            (boxWidth, boxHeight) = (min(boxWidth, Self.largestSide), min(boxHeight, Self.largestSide))
            var factor = max(Double(boxWidth) / w, Double(boxHeight) / h)
            var outWidth = boxWidth, outHeight = boxHeight
            if !enlarge && factor > 1 {
                // Not enlarged: the largest crop of the box's shape the picture holds, at its own
                // scale (a 640x480 photo for a 1200x630 card is 640x336, still the card's shape).
                factor = 1
                let shape = Double(boxWidth) / Double(boxHeight)
                if w / h > shape {
                    (outWidth, outHeight) = (min(sourceWidth, Self.side(h * shape)), sourceHeight)
                } else {
                    (outWidth, outHeight) = (sourceWidth, min(sourceHeight, Self.side(w / shape)))
                }
            }
            let regionWidth = min(Double(outWidth) / factor, w)
            let regionHeight = min(Double(outHeight) / factor, h)
            let anchor = gravity.anchor
            let region = SourceRegion(x: (w - regionWidth) * anchor.x, y: (h - regionHeight) * anchor.y,
                                      width: regionWidth, height: regionHeight)
            return ResizePlan(region: region, width: outWidth, height: outHeight)
        }
    }

    /// The longest side an output or a box may have (2^20 pixels): far past what any encoder
    /// writes, and small enough that no arithmetic on sizes (pixels × bytes × frames) can overflow.
    public static let largestSide = 1 << 20

    /// A side length rounded to the nearest pixel, never below one nor past `largestSide` (sizes
    /// beyond it are refused, by the pixel limit, before anything is made).
    static func side(_ length: Double) -> Int {
        guard length < Double(largestSide) else { return largestSide }
        return max(1, Int(length.rounded()))
    }
}
