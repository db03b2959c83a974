// Exports: `import FastResize` brings the layers below the engine too (pixels, the per-file pipeline), as one library to its users.

@_exported import FastResizePipeline
@_exported import FastResizePixels
