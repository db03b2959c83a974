// ColorDifference: CIEDE2000 between two sRGB pictures, and PSNR on premultiplied samples, for oracle comparisons.

import FastResize
import Foundation

public enum ColorDifference {
    /// sRGB (0…255) to CIELAB under D65.
    static func lab(_ r: Double, _ g: Double, _ b: Double) -> (Double, Double, Double) {
        func linear(_ v: Double) -> Double {
            let c = v / 255
            return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4)
        }
        let (lr, lg, lb) = (linear(r), linear(g), linear(b))
        let x = (0.4124564 * lr + 0.3575761 * lg + 0.1804375 * lb) / 0.95047
        let y = 0.2126729 * lr + 0.7151522 * lg + 0.0721750 * lb
        let z = (0.0193339 * lr + 0.1191920 * lg + 0.9503041 * lb) / 1.08883
        func f(_ t: Double) -> Double { t > 216.0 / 24389 ? cbrt(t) : (24389.0 / 27 * t + 16) / 116 }
        return (116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z)))
    }

    /// CIEDE2000 (Sharma, Wu and Dalal's formulation) between two Lab colours.
    public static func deltaE2000(_ c1: (Double, Double, Double), _ c2: (Double, Double, Double)) -> Double {
        let (l1, a1, b1) = c1, (l2, a2, b2) = c2
        let cBar = (hypot(a1, b1) + hypot(a2, b2)) / 2
        let g = 0.5 * (1 - sqrt(pow(cBar, 7) / (pow(cBar, 7) + pow(25, 7))))
        let a1p = (1 + g) * a1, a2p = (1 + g) * a2
        let c1p = hypot(a1p, b1), c2p = hypot(a2p, b2)
        func hue(_ b: Double, _ a: Double) -> Double {
            if a == 0 && b == 0 { return 0 }
            let h = atan2(b, a) * 180 / .pi
            return h < 0 ? h + 360 : h
        }
        let h1p = hue(b1, a1p), h2p = hue(b2, a2p)
        let dLp = l2 - l1, dCp = c2p - c1p
        var dhp = 0.0
        if c1p * c2p != 0 {
            dhp = h2p - h1p
            if dhp > 180 { dhp -= 360 } else if dhp < -180 { dhp += 360 }
        }
        let dHp = 2 * sqrt(c1p * c2p) * sin(dhp / 2 * .pi / 180)
        let lBarP = (l1 + l2) / 2, cBarP = (c1p + c2p) / 2
        var hBarP = h1p + h2p
        if c1p * c2p != 0 {
            if abs(h1p - h2p) <= 180 { hBarP /= 2 } else { hBarP = h1p + h2p < 360 ? (hBarP + 360) / 2 : (hBarP - 360) / 2 }
        }
        let t = 1 - 0.17 * cos((hBarP - 30) * .pi / 180) + 0.24 * cos(2 * hBarP * .pi / 180)
            + 0.32 * cos((3 * hBarP + 6) * .pi / 180) - 0.20 * cos((4 * hBarP - 63) * .pi / 180)
        let dTheta = 30 * exp(-pow((hBarP - 275) / 25, 2))
        let rc = 2 * sqrt(pow(cBarP, 7) / (pow(cBarP, 7) + pow(25, 7)))
        let sl = 1 + 0.015 * pow(lBarP - 50, 2) / sqrt(20 + pow(lBarP - 50, 2))
        let sc = 1 + 0.045 * cBarP, sh = 1 + 0.015 * cBarP * t
        let rt = -sin(2 * dTheta * .pi / 180) * rc
        return sqrt(pow(dLp / sl, 2) + pow(dCp / sc, 2) + pow(dHp / sh, 2) + rt * (dCp / sc) * (dHp / sh))
    }

    /// Mean CIEDE2000 over the pixels both pictures show (alpha ≥ 128 in both, or all when opaque).
    public static func meanDeltaE2000(_ a: PixelBuffer, _ b: PixelBuffer) -> Double {
        let x = a.narrowed().converted(to: a.format.hasAlpha ? .rgba : .rgb)
        let y = b.narrowed().converted(to: x.format)
        precondition(x.width == y.width && x.height == y.height, "pictures differ in size")
        let c = x.format.channelCount
        var total = 0.0
        var count = 0
        for i in 0..<(x.width * x.height) {
            let p = i * c
            if c == 4 && (x.pixels[p + 3] < 128 || y.pixels[p + 3] < 128) { continue }
            let l1 = lab(Double(x.pixels[p]), Double(x.pixels[p + 1]), Double(x.pixels[p + 2]))
            let l2 = lab(Double(y.pixels[p]), Double(y.pixels[p + 1]), Double(y.pixels[p + 2]))
            total += deltaE2000(l1, l2)
            count += 1
        }
        return count == 0 ? 0 : total / Double(count)
    }

    /// PSNR in dB over colour premultiplied by alpha (so colour under transparent pixels, which
    /// no viewer shows, does not count), with gray expanded to RGB; 99 when identical.
    public static func premultipliedPSNR(_ a: PixelBuffer, _ b: PixelBuffer) -> Double {
        let x = a.narrowed().converted(to: .rgba), y = b.narrowed().converted(to: .rgba)
        precondition(x.width == y.width && x.height == y.height, "pictures differ in size")
        var squares = 0.0
        for i in 0..<(x.width * x.height) {
            let p = i * 4
            let ax = Double(x.pixels[p + 3]) / 255, ay = Double(y.pixels[p + 3]) / 255
            for k in 0..<3 {
                let d = Double(x.pixels[p + k]) * ax - Double(y.pixels[p + k]) * ay
                squares += d * d
            }
            let d = Double(x.pixels[p + 3]) - Double(y.pixels[p + 3])
            squares += d * d
        }
        let mse = squares / Double(x.width * x.height * 4)
        return mse == 0 ? 99 : 10 * log10(255 * 255 / mse)
    }
}
