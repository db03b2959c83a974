// CCodecShims: the C glue Swift cannot express — libjpeg's setjmp error recovery and libtiff's
// printf-style error messages. Every function returns 0 on success, or -1 with a message.
#ifndef CCODECSHIMS_H
#define CCODECSHIMS_H

#include <stddef.h>
#include <stdint.h>

/// Size of the message buffers the shims fill on failure.
#define FR_MESSAGE_SIZE 256

typedef struct {
    int width;              // output size after DCT scaling
    int height;
    int components;         // 1 (gray) or 3 (RGB): CMYK/YCCK are converted to RGB
    int source_width;       // size stored in the file
    int source_height;
    int jpeg_color_space;   // libjpeg's J_COLOR_SPACE of the file
} fr_jpeg_info;

/// Reads the JPEG header and the output size for a 1/scale_denom DCT-scaled decode (1, 2, 4 or 8).
int fr_jpeg_probe(const uint8_t *data, size_t size, int scale_denom, fr_jpeg_info *info, char *message);

/// Decodes into `pixels` (width × height × components bytes, as fr_jpeg_probe reported).
/// A truncated file (data ending before the last row) fails the decode.
int fr_jpeg_decode(const uint8_t *data, size_t size, int scale_denom, uint8_t *pixels, size_t pixels_size,
                   char *message);

/// Encodes 1- or 3-component pixels; *output is malloc'd and must be released with fr_free.
int fr_jpeg_encode(const uint8_t *pixels, int width, int height, int components, int quality,
                   int progressive, int optimize_coding, uint8_t **output, size_t *output_size, char *message);

void fr_free(void *pointer);

/// Reads the first page's size and whether it carries an alpha channel.
int fr_tiff_probe(const uint8_t *data, size_t size, uint32_t *width, uint32_t *height, int *has_alpha,
                  char *message);

/// Decodes the first page as 8-bit RGBA (alpha premultiplied, as libtiff delivers it), top row first.
int fr_tiff_decode_rgba(const uint8_t *data, size_t size, uint32_t *pixels, uint32_t width, uint32_t height,
                        char *message);

#endif
