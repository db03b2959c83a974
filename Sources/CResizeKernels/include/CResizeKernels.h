// CResizeKernels: AVX2 twins of the resampler's row kernels (FastResizePixels' RowKernels), picked at run time.
#ifndef FASTRESIZE_CRESIZEKERNELS_H
#define FASTRESIZE_CRESIZEKERNELS_H

#include <stdint.h>

/// 1 when this processor and its operating system run AVX2 code (CPUID and XGETBV), else 0;
/// always 0 on other architectures, where the kernels below do nothing.
int fr_cpu_has_avx2(void);

// Each kernel computes, for i in [0, done), out[i] = Σ_k weights[k] × rows[k][i] (rows[k] at
// base + k × stride elements) in wrapping int32 arithmetic, as RowKernels' scalar reference does,
// plus 2^(shift-1) and shifted right by `shift` where a shift is given, then narrowed as the name
// says (i16: the low 16 bits; u8: clamped to 0…255). They return `done`, a multiple of 16 no
// greater than `count`: the caller finishes the rest. Call them only when fr_cpu_has_avx2().
long fr_avx2_sum_u8_i16(const uint8_t *base, long stride, const int16_t *weights, long taps, long count,
                        int shift, int16_t *out);
long fr_avx2_sum_i16_i16(const int16_t *base, long stride, const int16_t *weights, long taps, long count,
                         int shift, int16_t *out);
long fr_avx2_sum_i16_u8(const int16_t *base, long stride, const int16_t *weights, long taps, long count,
                        int shift, uint8_t *out);
long fr_avx2_sum_i16_i32(const int16_t *base, long stride, const int16_t *weights, long taps, long count,
                         int32_t *out);

/// RGBA to premultiplied int16 as RowKernels.premultiplyRGBA gives it (colour × α × 128 / 255,
/// rounded as its table does; α × 128), eight pixels at a time; returns how many pixels it did.
long fr_avx2_premultiply_rgba(const uint8_t *row, int16_t *out, long pixels);

/// Premultiplied RGBA sums (4 int32 a pixel, scaled by 2^shift) of `pixels` pixels to straight
/// 8-bit RGBA as RowKernels.unpremultiply gives it, pixel j written at out + j × stride; returns
/// how many pixels it did (all of them, or none elsewhere than x86-64).
long fr_avx2_unpremultiply_rgba(const int32_t *sums, long pixels, int shift, uint8_t *out, long stride);

/// Box averaging's column sums: sums[i] += row[i] (sums[i] = row[i] when `first`) for i in
/// [0, done); returns `done`, a multiple of 8 no greater than `count` (0 elsewhere than x86-64).
long fr_avx2_add_columns(const uint8_t *row, uint32_t *sums, long count, int first);

#endif
