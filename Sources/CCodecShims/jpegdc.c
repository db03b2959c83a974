// jpegdc.c: a JPEG at 1/8 scale from each block's DC term alone — pixel for pixel what libjpeg
// gives there, whose 1x1 inverse DCT reads nothing else — with the AC terms skipped a run at a time.
//
// At 1/8 scale libjpeg still decodes every AC symbol to find the next block, one Huffman look-up
// and one extra-bits read each. Here a run and its extra bits are skipped with a single look-up in
// a table of 10-bit prefixes: on workload 5's 16000x13064 JPEG, 192 ms against libjpeg's 246 to
// 268 ms, the same 9.8 million samples. Anything a clean file does not hold (a bad code, a marker
// or the end of the data too soon, bytes before a restart marker) stops it, and libjpeg takes
// over (jpeg.c), so corrupt files decode, warn and fail exactly as they did.
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "jpegdc.h"

#define FR_LOOKAHEAD 10     // prefix bits: 2 KiB a table, in L1 beside the row being made
#define FR_MAX_BLOCKS 10    // blocks in an MCU (JPEG's limit)

typedef struct {
    uint16_t fast[1 << FR_LOOKAHEAD];  // a code of up to FR_LOOKAHEAD bits: length << 8 | symbol; 0 when longer
    // AC: a code and its extra bits within FR_LOOKAHEAD: their length | coefficients passed << 8
    // (64 ends the block); 0 when they do not fit.
    uint16_t skip[1 << FR_LOOKAHEAD];
    int32_t maxcode[18];                // the largest code of each length (-1: none); [17] ends the search
    int32_t offset[17];                 // a code of length l is values[code + offset[l]]
    int32_t count;                      // symbols
    uint8_t values[256];
} fr_huff;

struct fr_dc_decoder {
    // The bit reader: `acc` holds `bits` bits, the next first. Past a marker it is fed zero bytes,
    // counted in `fill` (a clean file never reads them).
    const uint8_t *p, *end;
    uint64_t acc;
    int bits, fill, marker;

    int blocks;                         // blocks in an MCU
    int member[FR_MAX_BLOCKS];          // each block's component (index in the scan)
    int offset[FR_MAX_BLOCKS];          // where each block's sample goes in its component's MCU row
    int components, block_width[3], block_height[3], ratio_x[3], ratio_y[3];
    int16_t quant[3];
    int pred[3];
    fr_huff *dc[3], *ac[3];
    fr_huff tables[6];

    unsigned mcus_across, mcu_rows, mcu_row;
    unsigned restart_interval, restarts_to_go, restart_number;
    int width, rows_per_mcu_row, row_in_mcu_row;
    uint8_t *samples[3];                // this MCU row's samples of each component
    int stride[3];
    uint8_t *wide[3];                   // a subsampled component's row, repeated to the output's width

    uint8_t range[1024];                // libjpeg's post-IDCT range limit, by the low 10 bits
    int cr_r[256], cb_b[256], cr_g[256], cb_g[256];
};

/// The tables of one libjpeg Huffman table, as libjpeg's own derivation reads it (it has checked
/// the table when decompression started).
static int fr_huff_build(fr_huff *table, const JHUFF_TBL *source, int ac) {
    memset(table, 0, sizeof *table);
    int code = 0, count = 0;
    int codes[256], lengths[256];
    for (int length = 1; length <= 16; length++) {
        table->offset[length] = count - code;
        for (int i = 0; i < source->bits[length]; i++) {
            if (count >= 256) return -1;
            codes[count] = code++;
            lengths[count] = length;
            table->values[count] = source->huffval[count];
            count++;
        }
        if (code > (1 << length)) return -1;
        table->maxcode[length] = source->bits[length] ? code - 1 : -1;
        code <<= 1;
    }
    table->maxcode[17] = INT32_MAX;
    table->count = count;
    for (int i = 0; i < count; i++) {
        int length = lengths[i];
        if (length > FR_LOOKAHEAD) continue;
        int symbol = table->values[i], run = symbol >> 4, extra = symbol & 15;
        int total = length + extra;
        // libjpeg: extra bits advance by run + 1; none: 15 zeros and one more (ZRL), else the end.
        int passed = extra ? run + 1 : (run == 15 ? 16 : 64);
        int first = codes[i] << (FR_LOOKAHEAD - length);
        for (int j = 0; j < (1 << (FR_LOOKAHEAD - length)); j++) {
            table->fast[first + j] = (uint16_t)(length << 8 | symbol);
            if (ac && total <= FR_LOOKAHEAD) table->skip[first + j] = (uint16_t)(total | passed << 8);
        }
    }
    return 0;
}

/// Fills the reader to more than 56 bits: eight bytes at once when none is 0xFF, else byte by
/// byte, taking 0xFF 0x00 for 0xFF and stopping at a marker (zeros after it).
static inline void fr_refill(fr_dc_decoder *d) {
    if (d->end - d->p >= 8) {
        uint64_t word;
        memcpy(&word, d->p, 8);
        word = __builtin_bswap64(word);
        uint64_t inverse = ~word;
        if (!((inverse - 0x0101010101010101ULL) & ~inverse & 0x8080808080808080ULL)) {
            // Bytes past the ones counted are loaded too, each where it belongs: the next fill
            // writes the same bits over them.
            d->acc |= word >> d->bits;
            int count = (63 - d->bits) >> 3;
            d->p += count;
            d->bits += count * 8;
            return;
        }
    }
    while (d->bits <= 56) {
        uint64_t byte = 0;
        if (d->marker || d->p >= d->end) {
            d->marker = 1;
            d->fill++;
        } else if (*d->p != 0xFF) {
            byte = *d->p++;
        } else if (d->end - d->p >= 2 && d->p[1] == 0) {
            byte = 0xFF;
            d->p += 2;
        } else {
            d->marker = 1;
            d->fill++;
        }
        d->acc |= byte << (56 - d->bits);
        d->bits += 8;
    }
}

/// The next symbol of `table`, -1 for a code no table has (at least 32 bits in the reader).
static inline int fr_symbol(fr_dc_decoder *d, const fr_huff *table) {
    uint32_t entry = table->fast[d->acc >> (64 - FR_LOOKAHEAD)];
    if (entry) {
        int length = (int)(entry >> 8);
        d->acc <<= length;
        d->bits -= length;
        return (int)(entry & 0xFF);
    }
    int length = FR_LOOKAHEAD + 1;
    int32_t code = (int32_t)(d->acc >> (64 - length));
    while (code > table->maxcode[length]) {
        length++;
        code = (int32_t)(d->acc >> (64 - length));
    }
    int32_t index = length > 16 ? -1 : code + table->offset[length];
    if (index < 0 || index >= table->count) return -1;
    d->acc <<= length;
    d->bits -= length;
    return table->values[index];
}

/// One block: its DC difference into `difference`, its AC terms skipped. -1 for a bad code.
static inline int fr_block(fr_dc_decoder *d, const fr_huff *dc, const fr_huff *ac, int *difference) {
    if (d->bits < 32) fr_refill(d);
    int size = fr_symbol(d, dc);
    if (size < 0 || size > 15) return -1;
    *difference = 0;
    if (size) {
        int value = (int)(d->acc >> (64 - size));
        d->acc <<= size;
        d->bits -= size;
        *difference = value < (1 << (size - 1)) ? value - (1 << size) + 1 : value;
    }
    for (int k = 1; k < 64;) {
        if (d->bits < 32) fr_refill(d);
        uint32_t entry = ac->skip[d->acc >> (64 - FR_LOOKAHEAD)];
        if (entry) {
            int length = (int)(entry & 0xFF);
            d->acc <<= length;
            d->bits -= length;
            k += (int)(entry >> 8);
            continue;
        }
        int symbol = fr_symbol(d, ac);
        if (symbol < 0) return -1;
        int run = symbol >> 4, extra = symbol & 15;
        if (extra) {
            d->acc <<= extra;
            d->bits -= extra;
            k += run + 1;
        } else if (run == 15) {
            k += 16;
        } else {
            break;
        }
    }
    return 0;
}

/// Whether the reader stands at the end of its segment: the current byte's padding dropped, no
/// whole byte left before the marker, and nothing past it read (zeros fed instead are not data).
static int fr_at_marker(fr_dc_decoder *d) {
    int padding = d->bits & 7;
    d->acc <<= padding;
    d->bits -= padding;
    fr_refill(d);
    return d->marker && d->bits == 8 * d->fill && d->p < d->end && *d->p == 0xFF;
}

/// The marker the reader stands at (0xFF fill bytes before it skipped), and the reader past it.
static int fr_take_marker(fr_dc_decoder *d) {
    const uint8_t *p = d->p;
    while (p < d->end && *p == 0xFF) p++;
    if (p >= d->end) return -1;
    d->p = p + 1;
    d->acc = 0;
    d->bits = d->fill = d->marker = 0;
    return *p;
}

static int fr_decode_mcu_row(fr_dc_decoder *d) {
    for (unsigned mx = 0; mx < d->mcus_across; mx++) {
        if (d->restart_interval) {
            if (d->restarts_to_go == 0) {
                if (!fr_at_marker(d) || fr_take_marker(d) != (int)(0xD0 + d->restart_number)) return -1;
                d->restart_number = (d->restart_number + 1) & 7;
                d->restarts_to_go = d->restart_interval;
                for (int c = 0; c < d->components; c++) d->pred[c] = 0;
            }
            d->restarts_to_go--;
        }
        for (int b = 0; b < d->blocks; b++) {
            int c = d->member[b], difference;
            if (fr_block(d, d->dc[c], d->ac[c], &difference)) return -1;
            // libjpeg refuses a predictor that would overflow: it decides such a file.
            if ((d->pred[c] >= 0 && difference > INT_MAX - d->pred[c])
                || (d->pred[c] < 0 && difference < INT_MIN - d->pred[c])) return -1;
            d->pred[c] += difference;
            // As libjpeg: the coefficient kept in 16 bits, dequantised by a 16-bit factor, / 8.
            int value = ((int)(int16_t)d->pred[c] * d->quant[c] + 4) >> 3;
            d->samples[c][(int)mx * d->block_width[c] + d->offset[b]] = d->range[value & 1023];
        }
        // Zeros fed past a marker were read: the data ends too soon.
        if (d->bits < 8 * d->fill) return -1;
    }
    d->mcu_row++;
    return 0;
}

fr_dc_decoder *fr_dc_open(const struct jpeg_decompress_struct *cinfo, const uint8_t *data, size_t size) {
    int components = cinfo->num_components;
    int gray = components == 1 && cinfo->jpeg_color_space == JCS_GRAYSCALE && cinfo->out_color_space == JCS_GRAYSCALE;
    int ycc = components == 3 && cinfo->jpeg_color_space == JCS_YCbCr && cinfo->out_color_space == JCS_RGB;
    if (!(gray || ycc) || cinfo->progressive_mode || cinfo->arith_code || cinfo->data_precision != 8
        || cinfo->comps_in_scan != components || cinfo->CCIR601_sampling || !cinfo->do_fancy_upsampling
        || cinfo->blocks_in_MCU > FR_MAX_BLOCKS || cinfo->output_scanline != 0 || !cinfo->src
        || cinfo->src->next_input_byte < data || cinfo->src->next_input_byte > data + size) return NULL;
    for (int c = 0; c < components; c++) {
        const jpeg_component_info *component = cinfo->cur_comp_info[c];
        // Only where every component's inverse DCT is 1x1 (4:2:0 chroma takes libjpeg's 2x2), and
        // the scan lists them in the frame's order (Y, Cb, Cr, as the colour conversion takes them).
        if (component->DCT_scaled_size != 1 || component->component_index != c || component->quant_tbl_no < 0 || component->quant_tbl_no >= NUM_QUANT_TBLS
            || !cinfo->quant_tbl_ptrs[component->quant_tbl_no] || component->dc_tbl_no < 0 || component->dc_tbl_no >= NUM_HUFF_TBLS
            || component->ac_tbl_no < 0 || component->ac_tbl_no >= NUM_HUFF_TBLS || !cinfo->dc_huff_tbl_ptrs[component->dc_tbl_no]
            || !cinfo->ac_huff_tbl_ptrs[component->ac_tbl_no]
            || cinfo->max_h_samp_factor % component->h_samp_factor || cinfo->max_v_samp_factor % component->v_samp_factor)
            return NULL;
    }
    fr_dc_decoder *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->p = cinfo->src->next_input_byte;
    d->end = data + size;
    d->components = components;
    d->blocks = cinfo->blocks_in_MCU;
    d->mcus_across = cinfo->MCUs_per_row;
    d->mcu_rows = cinfo->MCU_rows_in_scan;
    d->restart_interval = d->restarts_to_go = cinfo->restart_interval;
    d->width = (int)cinfo->output_width;
    // One scan of all components: an MCU row is max_v block rows; of grey alone, one.
    d->rows_per_mcu_row = components == 1 ? 1 : cinfo->max_v_samp_factor;
    d->row_in_mcu_row = d->rows_per_mcu_row;
    for (int c = 0; c < components; c++) {
        const jpeg_component_info *component = cinfo->cur_comp_info[c];
        d->block_width[c] = components == 1 ? 1 : component->MCU_width;
        d->block_height[c] = components == 1 ? 1 : component->MCU_height;
        d->ratio_x[c] = components == 1 ? 1 : cinfo->max_h_samp_factor / component->h_samp_factor;
        d->ratio_y[c] = components == 1 ? 1 : cinfo->max_v_samp_factor / component->v_samp_factor;
        d->quant[c] = (int16_t)cinfo->quant_tbl_ptrs[component->quant_tbl_no]->quantval[0];
        d->stride[c] = (int)d->mcus_across * d->block_width[c];
        d->samples[c] = malloc((size_t)d->stride[c] * (size_t)d->block_height[c]);
        if (d->ratio_x[c] > 1) d->wide[c] = malloc((size_t)d->width);
        d->dc[c] = &d->tables[c];
        d->ac[c] = &d->tables[3 + c];
        if (!d->samples[c] || (d->ratio_x[c] > 1 && !d->wide[c]) || fr_huff_build(d->dc[c], cinfo->dc_huff_tbl_ptrs[component->dc_tbl_no], 0)
            || fr_huff_build(d->ac[c], cinfo->ac_huff_tbl_ptrs[component->ac_tbl_no], 1)) {
            fr_dc_close(d);
            return NULL;
        }
    }
    // Each block's place in its component's MCU row of samples: blocks in scan order, row by row.
    for (int b = 0, first = 0; b < d->blocks; b++) {
        int c = cinfo->MCU_membership[b];
        if (b > 0 && c != d->member[b - 1]) first = b;
        d->member[b] = c;
        int index = b - first;
        d->offset[b] = (index / d->block_width[c]) * d->stride[c] + index % d->block_width[c];
    }
    // libjpeg's tables: the post-IDCT range limit read by the low 10 bits, and YCbCr to RGB in
    // 16-bit fixed point (jdcolor.c's, which its SIMD conversion matches).
    for (int i = 0; i < 1024; i++) {
        int x = (i < 512 ? i : i - 1024) + 128;
        d->range[i] = (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : x);
    }
    for (int i = 0; i < 256; i++) {
        long x = i - 128;
        d->cr_r[i] = (int)((91881 * x + 32768) >> 16);
        d->cb_b[i] = (int)((116130 * x + 32768) >> 16);
        d->cr_g[i] = (int)(-46802 * x);
        d->cb_g[i] = (int)(-22554 * x + 32768);
    }
    return d;
}

static inline uint8_t fr_clamp(int value) {
    return (uint8_t)(value < 0 ? 0 : value > 255 ? 255 : value);
}

/// Component `c`'s samples for output row `y` of this MCU row, one a pixel: a subsampled
/// component's repeated, as libjpeg's plain upsampling at this scale does (into `wide`, so that
/// the pixel loop divides nothing).
static const uint8_t *fr_component_row(fr_dc_decoder *d, int c, int y) {
    const uint8_t *samples = d->samples[c] + (y / d->ratio_y[c]) * d->stride[c];
    int ratio = d->ratio_x[c];
    if (ratio == 1) return samples;
    uint8_t *wide = d->wide[c];
    for (int x = 0, s = 0; x < d->width; s++) {
        for (int k = 0; k < ratio && x < d->width; k++) wide[x++] = samples[s];
    }
    return wide;
}

int fr_dc_read_row(fr_dc_decoder *d, uint8_t *row) {
    if (d->row_in_mcu_row >= d->rows_per_mcu_row) {
        if (d->mcu_row >= d->mcu_rows || fr_decode_mcu_row(d)) return -1;
        d->row_in_mcu_row = 0;
    }
    int y = d->row_in_mcu_row++;
    if (d->components == 1) {
        memcpy(row, d->samples[0], (size_t)d->width);
        return 0;
    }
    const uint8_t *luma = fr_component_row(d, 0, y), *cb = fr_component_row(d, 1, y), *cr = fr_component_row(d, 2, y);
    for (int x = 0; x < d->width; x++) {
        int l = luma[x], u = cb[x], v = cr[x];
        row[3 * x] = fr_clamp(l + d->cr_r[v]);
        row[3 * x + 1] = fr_clamp(l + ((d->cb_g[u] + d->cr_g[v]) >> 16));
        row[3 * x + 2] = fr_clamp(l + d->cb_b[u]);
    }
    return 0;
}

int fr_dc_ended_cleanly(fr_dc_decoder *d) {
    return d->mcu_row == d->mcu_rows && fr_at_marker(d) && fr_take_marker(d) == 0xD9;
}

const uint8_t *fr_dc_position(const fr_dc_decoder *d) {
    return d->p;
}

void fr_dc_close(fr_dc_decoder *d) {
    if (!d) return;
    for (int c = 0; c < 3; c++) {
        free(d->samples[c]);
        free(d->wide[c]);
    }
    free(d);
}
