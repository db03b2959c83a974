#!/usr/bin/env python3
"""make-samples.py: draws the bundled sample images (the project's own work, Apache-2.0 like the code).

Writes PNG and BMP directly, then lets fastresize itself re-encode some as JPEG and WebP, so the
samples cover several input formats. Needs numpy and a built fastresize (.build/debug or release).
Run from the repository root:  python3 scripts/make-samples.py
"""
import os, struct, subprocess, sys, tempfile, zlib
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "samples")


def write_png(path, pixels):
    height, width, channels = pixels.shape
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def write_bmp(path, rgb):
    height, width, _ = rgb.shape
    stride = (width * 3 + 3) & ~3
    rows = b"".join(rgb[y, :, ::-1].tobytes() + b"\x00" * (stride - width * 3) for y in range(height - 1, -1, -1))
    header = b"BM" + struct.pack("<IHHI", 54 + len(rows), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(rows), 2835, 2835, 0, 0)
    with open(path, "wb") as f:
        f.write(header + info + rows)


def mandelbrot(width, height):
    x = np.linspace(-2.2, 0.8, width)
    y = np.linspace(-1.0, 1.0, height)
    c = x[None, :] + 1j * y[:, None]
    z = np.zeros_like(c)
    escape = np.full(c.shape, 64.0)
    for i in range(64):
        z = z * z + c
        done = (np.abs(z) > 4) & (escape == 64)
        escape[done] = i + 1 - np.log2(np.log2(np.abs(z[done])))
        z[np.abs(z) > 4] = 4
    t = np.clip(escape / 64, 0, 1)
    rgb = np.stack([9 * (1 - t) * t ** 3, 15 * (1 - t) ** 2 * t ** 2, 8.5 * (1 - t) ** 3 * t], axis=-1)
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def rings(size):
    # A zone plate: fine concentric rings that alias badly under a poor filter.
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) - size / 2
    value = 0.5 + 0.5 * np.cos(np.pi * (x * x + y * y) / (size * 1.2))
    rgb = np.stack([value, value * 0.8 + 0.2 * (x / size + 0.5), 1 - value * 0.7], axis=-1)
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def bubbles(width, height):
    rng = np.random.default_rng(2026)
    canvas = np.zeros((height, width, 4))
    y, x = np.mgrid[0:height, 0:width]
    for _ in range(24):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(40, 160)
        color = rng.uniform(0.2, 1, 3)
        d = np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
        alpha = np.clip((r - d) / 12, 0, 1) * rng.uniform(0.5, 0.95)
        canvas[..., :3] = canvas[..., :3] * (1 - alpha[..., None]) + color * alpha[..., None]
        canvas[..., 3] = canvas[..., 3] * (1 - alpha) + alpha
    # Straight (unpremultiplied) colour where anything is visible.
    visible = canvas[..., 3] > 0
    canvas[visible, :3] /= canvas[visible, 3:4]
    return (np.clip(canvas, 0, 1) * 255).astype(np.uint8)


def main():
    binary = next((p for p in (os.path.join(ROOT, ".build/release/fastresize"), os.path.join(ROOT, ".build/debug/fastresize"))
                   if os.path.exists(p)), None)
    if binary is None:
        sys.exit("build fastresize first (swift build)")
    os.makedirs(os.path.join(OUT, "more"), exist_ok=True)
    write_png(os.path.join(OUT, "bubbles.png"), bubbles(1600, 1200))
    write_bmp(os.path.join(OUT, "more", "mandelbrot-small.bmp"), mandelbrot(480, 320))
    with tempfile.TemporaryDirectory() as scratch:
        write_png(os.path.join(scratch, "mandelbrot.png"), mandelbrot(2400, 1600))
        write_png(os.path.join(scratch, "rings.png"), rings(1024))
        subprocess.run([binary, os.path.join(scratch, "mandelbrot.png"), "-o", OUT, "--scale", "1",
                        "--format", "jpeg", "--quality", "90", "--overwrite", "-q"], check=True)
        subprocess.run([binary, os.path.join(scratch, "rings.png"), "-o", os.path.join(OUT, "more"), "--scale", "1",
                        "--format", "webp", "--quality", "75", "--overwrite", "-q"], check=True)


if __name__ == "__main__":
    main()
