// CCodecShims: the C glue Swift cannot express — libjpeg's setjmp error recovery, libtiff's
// printf-style error messages and the lazy loading of libheif and libavif. Every function returns
// 0 on success, or -1 with a message.
#ifndef CCODECSHIMS_H
#define CCODECSHIMS_H

#include <stddef.h>
#include <stdint.h>

/// Size of the message buffers the shims fill on failure.
#define FR_MESSAGE_SIZE 256

typedef struct {
    int width;              // output size after DCT scaling
    int height;
    int components;         // 1 (gray), 3 (RGB; CMYK/YCCK converted), or 4 from a raw-CMYK stream
    int source_width;       // size stored in the file
    int source_height;
    int jpeg_color_space;   // libjpeg's J_COLOR_SPACE of the file
    int cmyk;               // the file holds CMYK or YCCK
    int adobe_inverted;     // CMYK/YCCK written by Adobe software: 0 means full ink
} fr_jpeg_info;

/// Metadata blocks to embed in an encoded file (each may be NULL).
typedef struct {
    const uint8_t *exif;    // TIFF structure, without "Exif\0\0"
    size_t exif_size;
    const uint8_t *xmp;
    size_t xmp_size;
    const uint8_t *icc;
    size_t icc_size;
} fr_metadata;

/// Reads the JPEG header and the output size for a 1/scale_denom DCT-scaled decode (1, 2, 4 or 8).
int fr_jpeg_probe(const uint8_t *data, size_t size, int scale_denom, fr_jpeg_info *info, char *message);

/// Where an encoder's bytes go: returns 0 when `count` bytes were taken, non-zero on failure.
typedef int (*fr_write_fn)(void *context, const uint8_t *bytes, size_t count);

/// A JPEG being encoded a few rows at a time from 1- or 3-component pixels, with the given
/// metadata; its bytes go to `write` 64 KiB at a time. Without optimize_coding and progressive,
/// libjpeg holds only a few rows (both need the whole picture's coefficients for a second pass).
typedef struct fr_jpeg_writer fr_jpeg_writer;

/// NULL on failure.
fr_jpeg_writer *fr_jpeg_writer_open(int width, int height, int components, int quality, int progressive,
                                    int optimize_coding, const fr_metadata *metadata, fr_write_fn write,
                                    void *context, char *message);

/// The next `count` rows (width × components bytes each). After a failure the writer can only be closed.
int fr_jpeg_writer_write(fr_jpeg_writer *writer, const uint8_t *rows, int count, char *message);

/// Ends the file once every row is written (its last bytes go to `write`).
int fr_jpeg_writer_finish(fr_jpeg_writer *writer, char *message);

void fr_jpeg_writer_close(fr_jpeg_writer *writer);

/// A JPEG decoded a few rows at a time: gray or RGB; CMYK/YCCK by the plain formula, or with
/// `raw_cmyk` as their 4 CMYK components as stored. A truncated file fails the read that reaches
/// the missing data (libjpeg would pad it with grey).
typedef struct fr_jpeg_stream fr_jpeg_stream;

/// Starts decoding at 1/scale_denom; fills `info` as fr_jpeg_probe does (components as delivered).
/// With `tolerate_truncation`, data that ends early is drawn past (libjpeg pads with grey) and
/// only remembered as a warning. With `dc_terms`, a file whose every component libjpeg would make
/// from DC terms alone (1/8 scale; YCbCr without 4:2:0 chroma, or grey) is decoded by the shims'
/// own DC decoder, the same pixels faster, libjpeg taking over at anything unclean. NULL on failure.
fr_jpeg_stream *fr_jpeg_stream_open(const uint8_t *data, size_t size, int scale_denom, int raw_cmyk,
                                    int tolerate_truncation, int dc_terms, fr_jpeg_info *info, char *message);

/// The next `count` rows into `rows` (width × components bytes each). After a failure the stream
/// can only be closed. With `release_input`, the input pages already consumed are given back to
/// the kernel (they stay readable: the mapping is file-backed), so a huge file does not stay resident.
int fr_jpeg_stream_read(fr_jpeg_stream *stream, uint8_t *rows, int count, int release_input, char *message);

/// 1 and the first warning's text (a corrupt-data warning libjpeg recovered from, or truncation
/// drawn past) when the stream has met any, else 0.
int fr_jpeg_stream_warning(const fr_jpeg_stream *stream, char *message);

/// 1 when the shims' DC decoder made every row read so far (libjpeg did not take over).
int fr_jpeg_stream_decoded_dc_terms(const fr_jpeg_stream *stream);

void fr_jpeg_stream_close(fr_jpeg_stream *stream);

void fr_free(void *pointer);

/// Gives back the whole pages of [start, end) that lie inside `mapping`, a read-only file mapping
/// of `size` bytes (madvise DONTNEED: read from the file again if touched). Nothing outside it.
void fr_release_pages(const uint8_t *mapping, size_t size, const uint8_t *start, const uint8_t *end);

/// What the first page of a TIFF is.
typedef struct {
    uint32_t width;
    uint32_t height;
    int has_alpha;
    int orientation;        // the Orientation tag, 1 when absent
    int bits_per_sample;
    int samples_per_pixel;
    int sixteen_bit_direct; // 16-bit contiguous gray/RGB(A) unsigned samples: readable at 16 bits
    int cmyk_direct;        // 8-bit contiguous CMYK, with at most one extra sample (alpha): readable as stored
    int lab_direct;         // 8- or 16-bit contiguous CIELAB, 3 samples: readable as stored
    int alpha_premultiplied;// the extra sample is associated alpha
    int streamable;         // 8-bit contiguous gray/RGB (with or without alpha) or JPEG-compressed YCbCr:
                            // readable row by row through fr_tiff_stream
    uint8_t *icc;           // malloc'd copies (release with fr_free), or NULL
    uint32_t icc_size;
    uint8_t *xmp;
    uint32_t xmp_size;
} fr_tiff_info;

/// Reads the first page's header and metadata.
int fr_tiff_probe(const uint8_t *data, size_t size, fr_tiff_info *info, char *message);

/// Decodes a page flagged sixteen_bit_direct, cmyk_direct or lab_direct as stored: samples_per_pixel samples
/// per pixel (16-bit ones in the machine's byte order), rows in the stored order.
int fr_tiff_decode_direct(const uint8_t *data, size_t size, uint8_t *pixels, size_t pixels_size, char *message);

/// A page flagged `streamable`, read a few rows at a time in the stored order: `samples` 8-bit
/// samples a pixel (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA; alpha as the file stores it), strip by
/// strip or one row of tiles at a time, so memory holds a strip or a band of tiles, not the page.
typedef struct fr_tiff_stream fr_tiff_stream;

/// NULL on failure (the message says why).
fr_tiff_stream *fr_tiff_stream_open(const uint8_t *data, size_t size, int *samples, char *message);

/// The next `count` rows into `rows`. With `release_input`, the input bytes of strips or tiles
/// already decoded are given back to the kernel (see fr_release_pages).
int fr_tiff_stream_read(fr_tiff_stream *stream, uint8_t *rows, int count, int release_input, char *message);

void fr_tiff_stream_close(fr_tiff_stream *stream);

/// Decodes the first page as 8-bit RGBA (alpha premultiplied, as libtiff delivers it), rows in the
/// stored order (the Orientation tag is left to the caller).
int fr_tiff_decode_rgba(const uint8_t *data, size_t size, uint32_t *pixels, uint32_t width, uint32_t height,
                        char *message);

/// libjpeg-turbo's version as it was built against (MMMmmmppp; it has no run-time query).
int fr_jpeg_turbo_version(void);

/// libtiff's own words for its version ("LIBTIFF, Version 4.5.0\nCopyright …").
const char *fr_tiff_version(void);

/// The commit a release was built from (scripts/release.sh defines FR_COMMIT), else NULL.
const char *fr_build_commit(void);

/// Opens libheif / libavif / libjxl on first use (see lazy.c). 0 when loaded, else -1 with a message
/// saying which library or function is missing. Every other call into that library must come after a 0.
int fr_heif_load(char *message);
int fr_avif_load(char *message);
int fr_jxl_load(char *message);

/// Sets glibc malloc's policy for a long batch of big pictures (see malloc.c).
void fr_tune_malloc(void);

/// Signals for the executable's dispatch sources (Sources/fastresize/SignalWatch.swift): until
/// libdispatch's manager thread registers a source, and puts its own handler in place, a signal
/// would meet whatever was there before. `fr_keep_signal` installs a handler that only notes it
/// (over the default action or SIG_IGN, never over another handler);
/// `fr_signal_kept_by_us` says whether that handler is still the one in place; `fr_take_kept_signal`
/// returns 1 (and forgets it) when a signal was noted.
int fr_keep_signal(int number);
int fr_signal_kept_by_us(int number);
int fr_take_kept_signal(int number);

#endif
