// jpegdc.h: the shims' own JPEG decoder at 1/8 scale from DC terms alone (jpegdc.c), for jpeg.c.
#ifndef FR_JPEGDC_H
#define FR_JPEGDC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jpeglib.h>

typedef struct fr_dc_decoder fr_dc_decoder;

/// A decoder for the file `cinfo` has started decompressing (header read, output set up, no row
/// read yet), or NULL when libjpeg itself must decode it: not every component scaled to 1/8, not
/// baseline or extended Huffman coding in one interleaved scan, not YCbCr or grey, or out of memory.
fr_dc_decoder *fr_dc_open(const struct jpeg_decompress_struct *cinfo, const uint8_t *data, size_t size);

/// The next output row (output_width × components bytes). -1 when the data is not as a clean
/// file has it (a bad code, a marker or the end too soon, a restart out of place): the rows given
/// so far are libjpeg's, and libjpeg must take over from there to decode, warn and fail as it does.
int fr_dc_read_row(fr_dc_decoder *decoder, uint8_t *row);

/// After the last row: whether the data ended cleanly, the end-of-image marker right after the
/// last MCU's bits (else libjpeg reads the file again to say what it makes of the rest).
int fr_dc_ended_cleanly(fr_dc_decoder *decoder);

/// The input not yet read: what lies before it may be given back.
const uint8_t *fr_dc_position(const fr_dc_decoder *decoder);

void fr_dc_close(fr_dc_decoder *decoder);

#endif
