// RenderPlanMemoryTests: over every file of ../shared/corpus and every output format, a plan's memory need for pictures covers what the render really holds at its peak, and not more than twice over.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

@Suite(.enabled(if: Corpus.folder != nil, Comment(rawValue: Corpus.missingReason)))
struct RenderPlanMemoryTests {
    static let shards = 4

    /// The render of each output format is measured by a `PictureMeter` (every picture, strip and
    /// work buffer the pipeline allocates, counted off when freed). Formats whose plans take the
    /// same steps with the same pictures (the same decode and encode modes, the same layout handed
    /// to the encoder, narrowed to 8 bits or not) allocate the same pictures: one render is
    /// measured for all of them. The files are split in shards that run side by side.
    @Test(arguments: 0..<shards) func thePlansNeedCoversThePeakAndNoMoreThanTwiceIt(shard: Int) throws {
        let formats = Codecs.all.encoders.keys.sorted { $0.rawValue < $1.rawValue }
        var checked = 0
        for (index, entry) in try Corpus.entries().filter({ $0.expected == "ok" }).enumerated() where index % Self.shards == shard {
            let data = try Data(contentsOf: Corpus.url(entry))
            var peaks: [String: Int] = [:]
            for format in formats {
                let pipeline = FilePipeline(codecs: Codecs.all,
                                            settings: ResizeSettings(mode: .fit(width: 96, height: 96), format: .fixed(format)))
                let info = try pipeline.inspect(data)
                let plan = pipeline.renderPlan(for: info)
                let encoder = Codecs.all.encoders[format]!
                let narrowed = info.bitDepth == 16 && !encoder.writesSixteenBits
                let steps = "\(plan.decode) \(plan.encode) \(FilePipeline.layout(of: info.layout, for: encoder)) \(narrowed)"
                let peak: Int
                if let measured = peaks[steps] {
                    peak = measured
                } else {
                    let meter = PictureMeter()
                    do {
                        _ = try meter.measure { () throws(FileError) in try FilePipeline.render(data, plan: plan) }
                    } catch {
                        Issue.record("\(entry.path) → \(format): \(error)"); continue
                    }
                    peak = meter.peak
                    peaks[steps] = peak
                }
                #expect(peak > 0 && peak <= plan.pictureNeed && plan.pictureNeed <= 2 * peak,
                        "\(entry.path) → \(format) (\(plan.decode), \(plan.encode)): plan \(plan.pictureNeed) bytes, peak \(peak)")
                checked += 1
            }
        }
        #expect(checked > 250)
    }

    /// A profile of three still outputs (a file decoded once for all of them, by rows where the
    /// decoder streams): the file plan's need covers the peak, and not more than twice over.
    @Test(arguments: 0..<2) func aProfilesPlanCoversItsPeak(shard: Int) throws {
        var webp = ResizeSettings(mode: .width(96), format: .fixed(.webp))
        webp.quality = 70
        let pipelines = [ResizeSettings(mode: .fit(width: 256, height: 256), format: .fixed(.jpeg)), webp,
                         ResizeSettings(mode: .fit(width: 48, height: 48), format: .fixed(.png))]
            .map { FilePipeline(codecs: Codecs.all, settings: $0) }
        var modes: Set<DecodeMode> = []
        for (index, entry) in try Corpus.entries().filter({ $0.expected == "ok" }).enumerated() where index % 2 == shard {
            let data = try Data(contentsOf: Corpus.url(entry))
            let plan = FilePipeline.plan(for: try pipelines[0].inspect(data), outputs: pipelines)
            guard plan.outputs.allSatisfy({ $0.decode != .frames }) else { continue }
            let meter = PictureMeter()
            let results = meter.measure { FilePipeline.render(data, plan: plan) }
            for result in results where (try? result.get()) == nil { Issue.record("\(entry.path): \(result)") }
            modes.insert(plan.outputs[0].decode)
            #expect(meter.peak > 0 && meter.peak <= plan.pictureNeed && plan.pictureNeed <= 2 * meter.peak,
                    "\(entry.path) (\(plan.outputs[0].decode)): plan \(plan.pictureNeed) bytes, peak \(meter.peak)")
        }
        #expect(modes == [.rows, .whole])
    }
}
