// OutputRecognizer: where outputs are written beside their inputs (-o the input folder), tells the outputs of earlier runs from inputs by the names this run's templates give.

import Foundation

/// Thumbnails beside originals, re-run from cron, must not make thumbnails of thumbnails
/// (`a-small-small.jpg`) nor fail on outputs that are their own output. Without a job store to
/// remember what was written, a file is an earlier output when one of this run's name templates,
/// applied to another input in the same folder, gives its name: `a-small.jpg` beside `a.jpg` for
/// `{stem}-small.{ext}`; `a.webp` beside `a.jpg` for `{stem}.{ext}` with `--format webp`.
struct OutputRecognizer {
    let options: BatchOptions
    let codecs: CodecRegistry

    /// The indices of `files` that are earlier outputs. Only files whose output folder is their own
    /// folder are looked at: elsewhere, outputs and inputs cannot meet.
    func earlierOutputs(among files: [InputFile]) -> Set<Int> {
        let root = InputWalker.resolved(options.outputDirectory)
        // Files beside where their outputs go, grouped by folder, each folder's files by stem.
        var beside: [String: [String: [Int]]] = [:]
        for (index, file) in files.enumerated() where file.contentPath == nil {
            let folder = PathNames.folder(of: file.path)
            let relativeFolder = PathNames.folder(of: file.relativePath)
            let outputFolder = relativeFolder.isEmpty ? root : root + "/" + relativeFolder
            guard InputWalker.resolved(folder.isEmpty ? "." : folder) == outputFolder else { continue }
            let stem = NameTemplate.split(PathNames.lastComponent(of: file.path)).stem
            beside[outputFolder, default: [:]][stem, default: []].append(index)
        }
        var earlier = Set<Int>()
        for stems in beside.values {
            for indices in stems.values {
                for index in indices {
                    let name = PathNames.lastComponent(of: files[index].path)
                    if isOutput(name, besides: stems, files: files, self: index) { earlier.insert(index) }
                }
            }
        }
        return earlier
    }

    /// Whether some template gives `name` to another file of the folder.
    private func isOutput(_ name: String, besides stems: [String: [Int]], files: [InputFile], self index: Int) -> Bool {
        for settings in options.outputs {
            for capture in settings.nameTemplate.captures(in: name) {
                for other in stems[capture.stem] ?? [] where other != index {
                    let (_, sourceExtension) = NameTemplate.split(PathNames.lastComponent(of: files[other].path))
                    if let srcext = capture.sourceExtension, srcext != sourceExtension { continue }
                    if let ext = capture.fileExtension, !extensions(settings.format, for: sourceExtension).contains(ext.lowercased()) {
                        continue
                    }
                    return true
                }
            }
        }
        return false
    }

    /// The extensions (lowercased) an input with this extension may get its output written under.
    private func extensions(_ choice: OutputFormatChoice, for sourceExtension: String) -> Set<String> {
        let own = codecs.formats.first { $0.extensions.contains(sourceExtension.lowercased()) }?.format
        let format: [ImageFormat]
        switch choice {
        case .fixed(let fixed): format = [fixed]
        case .same:
            if let own, codecs.encoders[own] != nil {
                format = [own]
            } else {
                format = codecs.fallbackOutputs.map { [$0.alpha, $0.opaque] } ?? []
            }
        }
        var names = Set(format.map { $0.fileExtension.lowercased() })
        // The input's own spelling is kept when the format is its own.
        if let own, format.contains(own) { names.insert(sourceExtension.lowercased()) }
        return names
    }
}
