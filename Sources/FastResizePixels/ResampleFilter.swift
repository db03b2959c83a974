// ResampleFilter: the reconstruction kernels FastResize resamples with, as pure functions.

import Foundation

/// A resampling kernel. `weight(at:)` is the kernel's value at a distance measured in input
/// pixels (at unit scale); `support` is the radius beyond which it is zero.
public enum ResampleFilter: String, Sendable, CaseIterable, Codable {
    /// Point sampling: each output pixel copies the input pixel nearest its centre.
    case nearest
    /// Triangle (tent) filter.
    case bilinear
    /// Catmull–Rom cubic (Keys' cubic with a = −0.5; Mitchell–Netravali B = 0, C = 0.5).
    case bicubic
    /// Mitchell–Netravali cubic with B = C = 1/3.
    case mitchell
    /// Lanczos windowed sinc with 2 lobes.
    case lanczos2
    /// Lanczos windowed sinc with 3 lobes: sharp with little ringing, the usual default.
    case lanczos3

    public static let `default` = ResampleFilter.lanczos3

    /// Radius of the kernel, in input pixels at unit scale.
    public var support: Double {
        switch self {
        case .nearest: 0.5
        case .bilinear: 1
        case .bicubic, .mitchell, .lanczos2: 2
        case .lanczos3: 3
        }
    }

    /// The kernel's value at distance `x`.
    public func weight(at x: Double) -> Double {
        let x = abs(x)
        switch self {
        case .nearest:
            return x < 0.5 ? 1 : 0
        case .bilinear:
            return x < 1 ? 1 - x : 0
        case .bicubic:
            return Self.cubic(x, b: 0, c: 0.5)
        case .mitchell:
            return Self.cubic(x, b: 1.0 / 3.0, c: 1.0 / 3.0)
        case .lanczos2:
            return Self.lanczos(x, lobes: 2)
        case .lanczos3:
            return Self.lanczos(x, lobes: 3)
        }
    }

    /// Mitchell & Netravali, "Reconstruction Filters in Computer Graphics" (SIGGRAPH 1988), eq. 8.
    static func cubic(_ x: Double, b: Double, c: Double) -> Double {
        if x < 1 {
            return ((12 - 9 * b - 6 * c) * x * x * x + (-18 + 12 * b + 6 * c) * x * x + (6 - 2 * b)) / 6
        }
        if x < 2 {
            return ((-b - 6 * c) * x * x * x + (6 * b + 30 * c) * x * x + (-12 * b - 48 * c) * x + (8 * b + 24 * c)) / 6
        }
        return 0
    }

    /// sinc(x) · sinc(x / lobes) for |x| < lobes.
    static func lanczos(_ x: Double, lobes: Double) -> Double {
        if x >= lobes { return 0 }
        return sinc(x) * sinc(x / lobes)
    }

    static func sinc(_ x: Double) -> Double {
        if x == 0 { return 1 }
        let px = Double.pi * x
        return sin(px) / px
    }
}
