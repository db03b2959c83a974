// avx2.c: the AVX2 row kernels, compiled for AVX2 one function at a time (target attributes), so the
// package needs no build flags, its users none either, and every other processor runs the portable path.
#include "CResizeKernels.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

int fr_cpu_has_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    // AVX needs the operating system to save the YMM registers: OSXSAVE set, XCR0 bits 1 and 2.
    if (!(c & bit_OSXSAVE) || !(c & bit_AVX)) return 0;
    unsigned low, high;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    if ((low & 6) != 6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & bit_AVX2) != 0;
}

#define AVX2 __attribute__((target("avx2")))

// Taps are taken two at a time: vpmaddwd multiplies interleaved samples of rows k and k+1 by the
// pair (w[k], w[k+1]) and adds the two products, which is exact for these inputs and wraps like the
// reference otherwise. An odd last tap goes alone, with a zero weight beside it.
static inline AVX2 __m256i weight_pair(int16_t first, int16_t second) {
    return _mm256_set1_epi32((int)((uint32_t)(uint16_t)first | (uint32_t)(uint16_t)second << 16));
}

// The rounding bias as the reference computes it (Swift's 1 << (shift - 1): zero for no shift).
static inline AVX2 __m256i bias_for(int shift) {
    return _mm256_set1_epi32(shift > 0 ? 1 << (shift - 1) : 0);
}

// The low 16 bits of each int32 lane of `first` (lanes 0-3 and 8-11 of the 16 results) and
// `second` (4-7 and 12-15), as 16 int16 in order: masked, so the unsigned pack cannot saturate.
static inline AVX2 __m256i low_halves(__m256i first, __m256i second) {
    const __m256i mask = _mm256_set1_epi32(0xFFFF);
    return _mm256_packus_epi32(_mm256_and_si256(first, mask), _mm256_and_si256(second, mask));
}

// The widened samples of rows k and k+1 (or row k and nothing, for an odd last tap), interleaved
// in pairs, times the weight pair, added to the four sums of 32 results: `sums[0]` gets results 0-3
// and 16-19, `sums[1]` 4-7 and 20-23, `sums[2]` 8-11 and 24-27, `sums[3]` 12-15 and 28-31. Only
// in-lane shuffles: a lane-crossing widen (vpmovzxbw) in this loop halved its speed on Zen 2.
static inline AVX2 void add_u8_pairs(__m256i a, __m256i b, __m256i w, __m256i sums[4]) {
    const __m256i zero = _mm256_setzero_si256();
    const __m256i low = _mm256_unpacklo_epi8(a, b), high = _mm256_unpackhi_epi8(a, b);
    sums[0] = _mm256_add_epi32(sums[0], _mm256_madd_epi16(_mm256_unpacklo_epi8(low, zero), w));
    sums[1] = _mm256_add_epi32(sums[1], _mm256_madd_epi16(_mm256_unpackhi_epi8(low, zero), w));
    sums[2] = _mm256_add_epi32(sums[2], _mm256_madd_epi16(_mm256_unpacklo_epi8(high, zero), w));
    sums[3] = _mm256_add_epi32(sums[3], _mm256_madd_epi16(_mm256_unpackhi_epi8(high, zero), w));
}

AVX2 long fr_avx2_sum_u8_i16(const uint8_t *base, long stride, const int16_t *weights, long taps, long count,
                             int shift, int16_t *out) {
    const __m256i bias = bias_for(shift);
    const __m128i by = _mm_cvtsi32_si128(shift);
    long i = 0;
    for (; i + 32 <= count; i += 32) {
        __m256i sums[4] = {bias, bias, bias, bias};
        long k = 0;
        for (; k + 1 < taps; k += 2) {
            const uint8_t *a = base + k * stride + i;
            add_u8_pairs(_mm256_loadu_si256((const __m256i *)a), _mm256_loadu_si256((const __m256i *)(a + stride)),
                         weight_pair(weights[k], weights[k + 1]), sums);
        }
        if (k < taps) {
            add_u8_pairs(_mm256_loadu_si256((const __m256i *)(base + k * stride + i)), _mm256_setzero_si256(),
                         weight_pair(weights[k], 0), sums);
        }
        for (int j = 0; j < 4; j++) sums[j] = _mm256_sra_epi32(sums[j], by);
        // Packed per 128-bit half: 0-7 | 16-23 and 8-15 | 24-31; the half swaps put them in order.
        const __m256i first = low_halves(sums[0], sums[1]), second = low_halves(sums[2], sums[3]);
        _mm256_storeu_si256((__m256i *)(out + i), _mm256_permute2x128_si256(first, second, 0x20));
        _mm256_storeu_si256((__m256i *)(out + i + 16), _mm256_permute2x128_si256(first, second, 0x31));
    }
    for (; i + 16 <= count; i += 16) {
        // Sixteen left: results 0-7 and 8-15, in order, the bytes interleaved and then widened.
        __m256i first = bias, second = bias;
        for (long k = 0; k < taps; k += 2) {
            const uint8_t *a = base + k * stride + i;
            const uint8_t *b = k + 1 < taps ? a + stride : a;
            const __m256i w = weight_pair(weights[k], k + 1 < taps ? weights[k + 1] : 0);
            const __m128i va = _mm_loadu_si128((const __m128i *)a), vb = _mm_loadu_si128((const __m128i *)b);
            first = _mm256_add_epi32(first, _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_unpacklo_epi8(va, vb)), w));
            second = _mm256_add_epi32(second, _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_unpackhi_epi8(va, vb)), w));
        }
        // The pack interleaves the two 128-bit halves (0-3, 8-11, 4-7, 12-15); the permute undoes it.
        __m256i packed = low_halves(_mm256_sra_epi32(first, by), _mm256_sra_epi32(second, by));
        _mm256_storeu_si256((__m256i *)(out + i), _mm256_permute4x64_epi64(packed, 0xD8));
    }
    return i;
}

// Adds rows a and b, times the weight pair, to the sums of `vectors` (1 or 2) runs of 16 results,
// in the order vpunpck{l,h}wd leave them: per run r, `sums[2r]` holds its results 0-3 and 8-11,
// `sums[2r+1]` 4-7 and 12-15.
static inline AVX2 void add_i16_pairs(const int16_t *a, const int16_t *b, __m256i w, int vectors, __m256i sums[4]) {
    for (int r = 0; r < vectors; r++) {
        const __m256i va = _mm256_loadu_si256((const __m256i *)(a + 16 * r));
        const __m256i vb = _mm256_loadu_si256((const __m256i *)(b + 16 * r));
        sums[2 * r] = _mm256_add_epi32(sums[2 * r], _mm256_madd_epi16(_mm256_unpacklo_epi16(va, vb), w));
        sums[2 * r + 1] = _mm256_add_epi32(sums[2 * r + 1], _mm256_madd_epi16(_mm256_unpackhi_epi16(va, vb), w));
    }
}

// Σ over the taps for the runs from i. Called with a constant `vectors`, so each count gets its
// own loop: two runs share each weight broadcast and keep four independent sums in flight.
static inline AVX2 void dot_i16(const int16_t *base, long stride, const int16_t *weights, long taps, long i,
                                int vectors, __m256i sums[4]) {
    long k = 0;
    for (; k + 1 < taps; k += 2) {
        const int16_t *a = base + k * stride + i;
        add_i16_pairs(a, a + stride, weight_pair(weights[k], weights[k + 1]), vectors, sums);
    }
    if (k < taps) {
        const int16_t *a = base + k * stride + i;
        add_i16_pairs(a, a, weight_pair(weights[k], 0), vectors, sums);
    }
}

// The runs from i: two where 32 results are left, else one.
static inline AVX2 int dot_runs(const int16_t *base, long stride, const int16_t *weights, long taps, long i,
                                long count, __m256i sums[4]) {
    if (i + 32 <= count) {
        dot_i16(base, stride, weights, taps, i, 2, sums);
        return 2;
    }
    dot_i16(base, stride, weights, taps, i, 1, sums);
    return 1;
}

// The runs from i with the rounding bias added and shifted right; returns how many (1 or 2).
static inline AVX2 int rounded_runs(const int16_t *base, long stride, const int16_t *weights, long taps, long i,
                                    long count, int shift, __m256i sums[4]) {
    const __m256i bias = bias_for(shift);
    for (int j = 0; j < 4; j++) sums[j] = bias;
    const int vectors = dot_runs(base, stride, weights, taps, i, count, sums);
    const __m128i by = _mm_cvtsi32_si128(shift);
    for (int j = 0; j < 2 * vectors; j++) sums[j] = _mm256_sra_epi32(sums[j], by);
    return vectors;
}

AVX2 long fr_avx2_sum_i16_i16(const int16_t *base, long stride, const int16_t *weights, long taps, long count,
                              int shift, int16_t *out) {
    long i = 0;
    while (i + 16 <= count) {
        __m256i sums[4];
        const int vectors = rounded_runs(base, stride, weights, taps, i, count, shift, sums);
        // Packing per 128-bit half puts 0-3 beside 4-7 and 8-11 beside 12-15: in order.
        for (int r = 0; r < vectors; r++) {
            _mm256_storeu_si256((__m256i *)(out + i + 16 * r), low_halves(sums[2 * r], sums[2 * r + 1]));
        }
        i += 16 * vectors;
    }
    return i;
}

AVX2 long fr_avx2_sum_i16_u8(const int16_t *base, long stride, const int16_t *weights, long taps, long count,
                             int shift, uint8_t *out) {
    long i = 0;
    while (i + 16 <= count) {
        __m256i sums[4];
        const int vectors = rounded_runs(base, stride, weights, taps, i, count, shift, sums);
        // Two saturating packs clamp to 0…255 as the reference does: the words are 0-7 | 8-15 of
        // each run, the bytes (run 0's, run 1's per half) gathered in order by the permute.
        const __m256i first = _mm256_packs_epi32(sums[0], sums[1]);
        const __m256i second = vectors == 2 ? _mm256_packs_epi32(sums[2], sums[3]) : first;
        const __m256i bytes = _mm256_permute4x64_epi64(_mm256_packus_epi16(first, second), 0xD8);
        if (vectors == 2) {
            _mm256_storeu_si256((__m256i *)(out + i), bytes);
        } else {
            _mm_storeu_si128((__m128i *)(out + i), _mm256_castsi256_si128(bytes));
        }
        i += 16 * vectors;
    }
    return i;
}

AVX2 long fr_avx2_sum_i16_i32(const int16_t *base, long stride, const int16_t *weights, long taps, long count,
                              int32_t *out) {
    long i = 0;
    while (i + 16 <= count) {
        __m256i sums[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
        const int vectors = dot_runs(base, stride, weights, taps, i, count, sums);
        for (int r = 0; r < vectors; r++) {
            _mm256_storeu_si256((__m256i *)(out + i + 16 * r), _mm256_permute2x128_si256(sums[2 * r], sums[2 * r + 1], 0x20));
            _mm256_storeu_si256((__m256i *)(out + i + 16 * r + 8), _mm256_permute2x128_si256(sums[2 * r], sums[2 * r + 1], 0x31));
        }
        i += 16 * vectors;
    }
    return i;
}

// round(colour × alpha × 128 / 255) with p = colour × alpha, exactly as the reference's table has
// it, in 16-bit lanes: (128p + 127) / 255 = p/2 + (p + 254 + 255 × (p odd)) / 510, whose numerator
// stays under 2^16, and y / 255 = (y + 1 + y/256) / 256 for y < 2^15 (checked for every pair).
static inline AVX2 __m256i premultiplied(__m256i colours, __m256i alphas) {
    const __m256i products = _mm256_mullo_epi16(colours, alphas);
    const __m256i odd = _mm256_and_si256(products, _mm256_set1_epi16(1));
    const __m256i numerator = _mm256_add_epi16(_mm256_add_epi16(products, _mm256_set1_epi16(254)),
                                               _mm256_sub_epi16(_mm256_slli_epi16(odd, 8), odd));
    const __m256i half = _mm256_srli_epi16(numerator, 1);
    const __m256i quotient = _mm256_srli_epi16(_mm256_add_epi16(_mm256_add_epi16(half, _mm256_set1_epi16(1)),
                                                                _mm256_srli_epi16(half, 8)), 8);
    return _mm256_add_epi16(_mm256_srli_epi16(products, 1), quotient);
}

AVX2 long fr_avx2_premultiply_rgba(const uint8_t *row, int16_t *out, long pixels) {
    // Each pixel's alpha copied into its four bytes; its own alpha byte made 255, so the one
    // formula gives alpha × 128 there.
    const __m256i spread = _mm256_setr_epi8(3, 3, 3, 3, 7, 7, 7, 7, 11, 11, 11, 11, 15, 15, 15, 15,
                                            3, 3, 3, 3, 7, 7, 7, 7, 11, 11, 11, 11, 15, 15, 15, 15);
    const __m256i opaque = _mm256_set1_epi32((int)0xFF000000);
    const __m256i zero = _mm256_setzero_si256();
    long x = 0;
    for (; x + 8 <= pixels; x += 8) {
        const __m256i pixels8 = _mm256_loadu_si256((const __m256i *)(row + 4 * x));
        const __m256i alphas = _mm256_shuffle_epi8(pixels8, spread), colours = _mm256_or_si256(pixels8, opaque);
        // Widened in-lane: `first` holds pixels 0-1 and 4-5, `second` 2-3 and 6-7.
        const __m256i first = premultiplied(_mm256_unpacklo_epi8(colours, zero), _mm256_unpacklo_epi8(alphas, zero));
        const __m256i second = premultiplied(_mm256_unpackhi_epi8(colours, zero), _mm256_unpackhi_epi8(alphas, zero));
        _mm256_storeu_si256((__m256i *)(out + 4 * x), _mm256_permute2x128_si256(first, second, 0x20));
        _mm256_storeu_si256((__m256i *)(out + 4 * x + 16), _mm256_permute2x128_si256(first, second, 0x31));
    }
    return x;
}

// One premultiplied RGBA pixel's sums (scaled by 2^shift) to straight 8-bit colour, as
// RowKernels.unpremultiply does it, operation for operation: alpha clamped and rounded in integers,
// then colour × (255 / alpha) + 0.5 in doubles, capped at 255 and truncated (no fused multiply-add:
// the reference rounds the product first).
static inline AVX2 uint32_t unpremultiplied(const int32_t *sums, int shift) {
    const int64_t scale = (int64_t)1 << shift;
    int64_t alpha = sums[3] < 0 ? 0 : sums[3];
    if (alpha > 255 * scale) alpha = 255 * scale;
    const uint32_t alphaByte = (uint32_t)((alpha + scale / 2) >> shift);
    if (alphaByte == 0) return 0;
    const __m128i clamped = _mm_max_epi32(_mm_loadu_si128((const __m128i *)sums), _mm_setzero_si128());
    const __m256d scaled = _mm256_add_pd(_mm256_mul_pd(_mm256_cvtepi32_pd(clamped), _mm256_set1_pd(255.0 / (double)alpha)),
                                         _mm256_set1_pd(0.5));
    const __m128i words = _mm256_cvttpd_epi32(_mm256_min_pd(scaled, _mm256_set1_pd(255.0)));
    const uint32_t colour = (uint32_t)_mm_cvtsi128_si32(_mm_packus_epi16(_mm_packs_epi32(words, words), words));
    return (colour & 0x00FFFFFF) | alphaByte << 24;
}

AVX2 long fr_avx2_unpremultiply_rgba(const int32_t *sums, long pixels, int shift, uint8_t *out, long stride) {
    for (long j = 0; j < pixels; j++) {
        const uint32_t pixel = unpremultiplied(sums + 4 * j, shift);
        __builtin_memcpy(out + j * stride, &pixel, 4);
    }
    return pixels;
}

AVX2 long fr_avx2_add_columns(const uint8_t *row, uint32_t *sums, long count, int first) {
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256i wide = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(row + i)));
        if (!first) wide = _mm256_add_epi32(wide, _mm256_loadu_si256((const __m256i *)(sums + i)));
        _mm256_storeu_si256((__m256i *)(sums + i), wide);
    }
    return i;
}

#else

// Elsewhere (arm64: NEON through Swift's SIMD types) the portable kernels do all the work.
int fr_cpu_has_avx2(void) { return 0; }
long fr_avx2_sum_u8_i16(const uint8_t *base, long stride, const int16_t *weights, long taps, long count,
                        int shift, int16_t *out) { return 0; }
long fr_avx2_sum_i16_i16(const int16_t *base, long stride, const int16_t *weights, long taps, long count,
                         int shift, int16_t *out) { return 0; }
long fr_avx2_sum_i16_u8(const int16_t *base, long stride, const int16_t *weights, long taps, long count,
                        int shift, uint8_t *out) { return 0; }
long fr_avx2_sum_i16_i32(const int16_t *base, long stride, const int16_t *weights, long taps, long count,
                         int32_t *out) { return 0; }

long fr_avx2_premultiply_rgba(const uint8_t *row, int16_t *out, long pixels) { return 0; }
long fr_avx2_unpremultiply_rgba(const int32_t *sums, long pixels, int shift, uint8_t *out, long stride) { return 0; }
long fr_avx2_add_columns(const uint8_t *row, uint32_t *sums, long count, int first) { return 0; }

#endif
