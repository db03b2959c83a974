// libtiff glue: reading from memory and turning libtiff's printf-style errors into one message.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <tiffio.h>
#include "CCodecShims.h"

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t position;
    char *message;
} fr_tiff_source;

static tmsize_t fr_tiff_read(thandle_t handle, void *buffer, tmsize_t count) {
    fr_tiff_source *source = (fr_tiff_source *)handle;
    if (count < 0 || source->position >= source->size) return 0;
    size_t available = source->size - source->position;
    size_t n = (size_t)count < available ? (size_t)count : available;
    memcpy(buffer, source->data + source->position, n);
    source->position += n;
    return (tmsize_t)n;
}

static tmsize_t fr_tiff_write(thandle_t handle, void *buffer, tmsize_t count) {
    (void)handle; (void)buffer; (void)count;
    return -1;  // inputs are read-only
}

static toff_t fr_tiff_seek(thandle_t handle, toff_t offset, int whence) {
    fr_tiff_source *source = (fr_tiff_source *)handle;
    uint64_t base = whence == SEEK_CUR ? source->position : whence == SEEK_END ? source->size : 0;
    uint64_t target = base + offset;
    if (target > source->size) target = source->size;
    source->position = (size_t)target;
    return (toff_t)source->position;
}

static int fr_tiff_close(thandle_t handle) { (void)handle; return 0; }
static toff_t fr_tiff_size(thandle_t handle) { return (toff_t)((fr_tiff_source *)handle)->size; }
static int fr_tiff_map(thandle_t handle, void **base, toff_t *size) {
    fr_tiff_source *source = (fr_tiff_source *)handle;
    *base = (void *)source->data;
    *size = (toff_t)source->size;
    return 1;
}
static void fr_tiff_unmap(thandle_t handle, void *base, toff_t size) { (void)handle; (void)base; (void)size; }

// Keeps the first error's text; returning 1 stops libtiff from also calling its global handler.
static int fr_tiff_error(TIFF *tiff, void *user_data, const char *module, const char *format, va_list args) {
    (void)tiff;
    fr_tiff_source *source = (fr_tiff_source *)user_data;
    if (source && source->message && !source->message[0]) {
        char text[FR_MESSAGE_SIZE];
        vsnprintf(text, sizeof text, format, args);
        if (module && module[0]) snprintf(source->message, FR_MESSAGE_SIZE, "%s: %s", module, text);
        else snprintf(source->message, FR_MESSAGE_SIZE, "%s", text);
    }
    return 1;
}

static int fr_tiff_warning(TIFF *tiff, void *user_data, const char *module, const char *format, va_list args) {
    (void)tiff; (void)user_data; (void)module; (void)format; (void)args;
    return 1;
}

static pthread_once_t fr_tiff_once = PTHREAD_ONCE_INIT;
static void fr_tiff_silence_globals(void) {
    TIFFSetErrorHandler(NULL);
    TIFFSetWarningHandler(NULL);
}

// Sets the message unless libtiff already explained the failure.
static void fr_tiff_fail(fr_tiff_source *source, const char *fallback) {
    if (!source->message[0]) snprintf(source->message, FR_MESSAGE_SIZE, "%s", fallback);
}

// Opens the buffer with our handlers; on failure the source's message says why.
static TIFF *fr_tiff_open(fr_tiff_source *source) {
    pthread_once(&fr_tiff_once, fr_tiff_silence_globals);
    TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
    if (!options) return NULL;
    TIFFOpenOptionsSetErrorHandlerExtR(options, fr_tiff_error, source);
    TIFFOpenOptionsSetWarningHandlerExtR(options, fr_tiff_warning, source);
    // Refuse single allocations a hostile header could ask for (strip/tile buffers, tables).
    TIFFOpenOptionsSetMaxSingleMemAlloc(options, (tmsize_t)1 << 30);
    TIFF *tiff = TIFFClientOpenExt("input", "rm", (thandle_t)source, fr_tiff_read, fr_tiff_write,
                                   fr_tiff_seek, fr_tiff_close, fr_tiff_size, fr_tiff_map, fr_tiff_unmap,
                                   options);
    TIFFOpenOptionsFree(options);
    if (!tiff) fr_tiff_fail(source, "not a readable TIFF");
    return tiff;
}

// A malloc'd copy of a tag's bytes, so they outlive the TIFF handle.
static uint8_t *fr_copy(const void *bytes, uint32_t count) {
    if (!bytes || count == 0) return NULL;
    uint8_t *copy = malloc(count);
    if (copy) memcpy(copy, bytes, count);
    return copy;
}

// The layouts fr_tiff_stream reads: 8-bit unsigned contiguous gray or RGB with at most one extra
// (alpha) sample, and JPEG-compressed YCbCr, which libtiff's JPEG codec hands over as RGB.
static int fr_tiff_streamable(uint16_t photometric, uint16_t compression, uint16_t bits, uint16_t samples,
                              uint16_t extra, uint16_t planar, uint16_t format) {
    if (bits != 8 || planar != PLANARCONFIG_CONTIG || format != SAMPLEFORMAT_UINT || extra > 1) return 0;
    int color = 0;
    if (photometric == PHOTOMETRIC_MINISBLACK) color = 1;
    else if (photometric == PHOTOMETRIC_RGB) color = 3;
    else if (photometric == PHOTOMETRIC_YCBCR && compression == COMPRESSION_JPEG && extra == 0) color = 3;
    return color > 0 && samples == color + extra;
}

int fr_tiff_probe(const uint8_t *data, size_t size, fr_tiff_info *info, char *message) {
    fr_tiff_source source = { data, size, 0, message };
    message[0] = 0;
    memset(info, 0, sizeof *info);
    TIFF *tiff = fr_tiff_open(&source);
    if (!tiff) return -1;
    uint32_t w = 0, h = 0;
    uint16_t extra = 0, orientation = 1, bits = 1, samples = 1, photometric = 0, planar = 1, format = 1;
    uint16_t *extra_types = NULL;
    TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_EXTRASAMPLES, &extra, &extra_types);
    // Read now: extra_types points into the directory TIFFClose frees.
    int associated_alpha = extra > 0 && extra_types && extra_types[0] == EXTRASAMPLE_ASSOCALPHA;
    TIFFGetFieldDefaulted(tiff, TIFFTAG_ORIENTATION, &orientation);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLESPERPIXEL, &samples);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_PLANARCONFIG, &planar);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLEFORMAT, &format);
    TIFFGetField(tiff, TIFFTAG_PHOTOMETRIC, &photometric);
    uint16_t compression = COMPRESSION_NONE;
    TIFFGetFieldDefaulted(tiff, TIFFTAG_COMPRESSION, &compression);
    uint16_t inkset = INKSET_CMYK;
    TIFFGetFieldDefaulted(tiff, TIFFTAG_INKSET, &inkset);
    uint32_t icc_size = 0, xmp_size = 0;
    void *icc = NULL, *xmp = NULL;
    if (TIFFGetField(tiff, TIFFTAG_ICCPROFILE, &icc_size, &icc)) {
        info->icc = fr_copy(icc, icc_size);
        info->icc_size = info->icc ? icc_size : 0;
    }
    if (TIFFGetField(tiff, TIFFTAG_XMLPACKET, &xmp_size, &xmp)) {
        info->xmp = fr_copy(xmp, xmp_size);
        info->xmp_size = info->xmp ? xmp_size : 0;
    }
    TIFFClose(tiff);
    if (w == 0 || h == 0) {
        fr_tiff_fail(&source, "missing or zero image size");
        fr_free(info->icc);
        fr_free(info->xmp);
        info->icc = info->xmp = NULL;
        return -1;
    }
    info->width = w;
    info->height = h;
    info->has_alpha = extra > 0;
    info->orientation = (orientation >= 1 && orientation <= 8) ? orientation : 1;
    info->bits_per_sample = bits;
    info->samples_per_pixel = samples;
    info->alpha_premultiplied = associated_alpha;
    int color_samples = photometric == PHOTOMETRIC_RGB ? 3 : 1;
    info->sixteen_bit_direct = bits == 16 && format == SAMPLEFORMAT_UINT && planar == PLANARCONFIG_CONTIG
        && (photometric == PHOTOMETRIC_RGB || photometric == PHOTOMETRIC_MINISBLACK)
        && (samples == color_samples || samples == color_samples + 1);
    // CMYK with an alpha channel too (ExtraSamples): libtiff's RGBA reader would drop the alpha.
    info->cmyk_direct = bits == 8 && planar == PLANARCONFIG_CONTIG && photometric == PHOTOMETRIC_SEPARATED
        && samples == 4 + extra && extra <= 1 && inkset == INKSET_CMYK;
    info->lab_direct = (bits == 8 || bits == 16) && planar == PLANARCONFIG_CONTIG && photometric == PHOTOMETRIC_CIELAB
        && samples == 3;
    info->streamable = fr_tiff_streamable(photometric, compression, bits, samples, extra, planar, format);
    return 0;
}

int fr_tiff_decode_direct(const uint8_t *data, size_t size, uint8_t *pixels, size_t pixels_size, char *message) {
    fr_tiff_source source = { data, size, 0, message };
    message[0] = 0;
    TIFF *tiff = fr_tiff_open(&source);
    if (!tiff) return -1;
    uint32_t w = 0, h = 0;
    uint16_t samples = 1, bits = 8;
    TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLESPERPIXEL, &samples);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_BITSPERSAMPLE, &bits);
    size_t pixel_bytes = (size_t)samples * (bits / 8);
    size_t row_bytes = (size_t)w * pixel_bytes;
    if ((bits != 8 && bits != 16) || row_bytes * h != pixels_size || (size_t)TIFFScanlineSize(tiff) != row_bytes) {
        fr_tiff_fail(&source, "unexpected sample layout");
        TIFFClose(tiff);
        return -1;
    }
    // Tiled files have no scanline interface; read them through whole tiles.
    int ok = 1;
    if (TIFFIsTiled(tiff)) {
        uint32_t tw = 0, th = 0;
        TIFFGetField(tiff, TIFFTAG_TILEWIDTH, &tw);
        TIFFGetField(tiff, TIFFTAG_TILELENGTH, &th);
        tmsize_t tile_size = TIFFTileSize(tiff);
        uint8_t *tile = tw && th && tile_size > 0 ? malloc((size_t)tile_size) : NULL;
        if (!tile) ok = 0;
        for (uint32_t y = 0; ok && y < h; y += th) {
            for (uint32_t x = 0; ok && x < w; x += tw) {
                if (TIFFReadTile(tiff, tile, x, y, 0, 0) < 0) { ok = 0; break; }
                uint32_t rows = y + th > h ? h - y : th, cols = x + tw > w ? w - x : tw;
                for (uint32_t r = 0; r < rows; r++) {
                    memcpy(pixels + (size_t)(y + r) * row_bytes + (size_t)x * pixel_bytes,
                           tile + (size_t)r * tw * pixel_bytes, (size_t)cols * pixel_bytes);
                }
            }
        }
        free(tile);
    } else {
        for (uint32_t y = 0; y < h; y++) {
            if (TIFFReadScanline(tiff, pixels + (size_t)y * row_bytes, y, 0) < 0) { ok = 0; break; }
        }
    }
    TIFFClose(tiff);
    if (!ok) {
        fr_tiff_fail(&source, "cannot read image data");
        return -1;
    }
    return 0;
}

int fr_tiff_decode_rgba(const uint8_t *data, size_t size, uint32_t *pixels, uint32_t width, uint32_t height,
                        char *message) {
    fr_tiff_source source = { data, size, 0, message };
    message[0] = 0;
    TIFF *tiff = fr_tiff_open(&source);
    if (!tiff) return -1;
    char reason[1024] = { 0 };
    if (!TIFFRGBAImageOK(tiff, reason)) {
        fr_tiff_fail(&source, reason[0] ? reason : "unsupported TIFF layout");
        TIFFClose(tiff);
        return -1;
    }
    uint32_t w = 0, h = 0;
    TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, &h);
    if (w != width || h != height) {
        fr_tiff_fail(&source, "image size changed between probe and decode");
        TIFFClose(tiff);
        return -1;
    }
    // Asking for the file's own orientation makes libtiff keep the stored row order: the
    // pipeline applies every orientation (libtiff alone cannot do the transposing ones).
    uint16_t orientation = ORIENTATION_TOPLEFT;
    TIFFGetFieldDefaulted(tiff, TIFFTAG_ORIENTATION, &orientation);
    // stop_on_error = 1: a damaged strip fails the file instead of leaving a silent hole.
    int ok = TIFFReadRGBAImageOriented(tiff, width, height, pixels, orientation, 1);
    TIFFClose(tiff);
    if (!ok) {
        fr_tiff_fail(&source, "cannot read image data");
        return -1;
    }
    return 0;
}

struct fr_tiff_stream {
    fr_tiff_source source;
    char message[FR_MESSAGE_SIZE];
    TIFF *tiff;
    uint32_t width, height;
    size_t pixel_bytes, row_bytes;
    uint32_t next_row;          // the next row the caller gets
    // Tiled pages: one row of tiles decoded into `band`, rows band_top ..< band_top + band_rows.
    uint32_t tile_width, tile_height;
    uint8_t *tile, *band;
    uint32_t band_top, band_rows;
    uint32_t released_striles; // strips or tiles whose input bytes were given back
};

fr_tiff_stream *fr_tiff_stream_open(const uint8_t *data, size_t size, int *samples_out, char *message) {
    message[0] = 0;
    fr_tiff_stream *stream = calloc(1, sizeof *stream);
    if (!stream) {
        snprintf(message, FR_MESSAGE_SIZE, "out of memory");
        return NULL;
    }
    stream->source = (fr_tiff_source){ data, size, 0, stream->message };
    TIFF *tiff = fr_tiff_open(&stream->source);
    if (!tiff) {
        snprintf(message, FR_MESSAGE_SIZE, "%s", stream->message);
        free(stream);
        return NULL;
    }
    stream->tiff = tiff;
    uint16_t photometric = 0, compression = COMPRESSION_NONE, samples = 1;
    TIFFGetField(tiff, TIFFTAG_PHOTOMETRIC, &photometric);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_COMPRESSION, &compression);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLESPERPIXEL, &samples);
    TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, &stream->width);
    TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, &stream->height);
    if (photometric == PHOTOMETRIC_YCBCR && compression == COMPRESSION_JPEG) {
        TIFFSetField(tiff, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    }
    stream->pixel_bytes = samples;
    stream->row_bytes = (size_t)stream->width * samples;
    int ok = stream->width > 0 && stream->height > 0 && samples >= 1 && samples <= 4;
    if (ok && TIFFIsTiled(tiff)) {
        TIFFGetField(tiff, TIFFTAG_TILEWIDTH, &stream->tile_width);
        TIFFGetField(tiff, TIFFTAG_TILELENGTH, &stream->tile_height);
        ok = stream->tile_width > 0 && stream->tile_height > 0
            && (size_t)TIFFTileRowSize(tiff) == (size_t)stream->tile_width * samples
            && (size_t)TIFFTileSize(tiff) == (size_t)stream->tile_width * stream->tile_height * samples;
        if (ok) {
            stream->tile = malloc((size_t)TIFFTileSize(tiff));
            stream->band = malloc(stream->row_bytes * stream->tile_height);
            ok = stream->tile && stream->band;
        }
    } else if (ok) {
        ok = (size_t)TIFFScanlineSize(tiff) == stream->row_bytes;
    }
    if (!ok) {
        fr_tiff_fail(&stream->source, "unexpected sample layout");
        snprintf(message, FR_MESSAGE_SIZE, "%s", stream->message);
        fr_tiff_stream_close(stream);
        return NULL;
    }
    *samples_out = samples;
    return stream;
}

// Gives back the input bytes of strips/tiles [stream->released_striles, up_to). Strips are often
// smaller than a page, so the range is widened to whole pages: a page shared with a strip still
// to come is simply read from the file again (the mapping is file-backed and private).
static void fr_tiff_release(fr_tiff_stream *stream, uint32_t up_to) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    for (; stream->released_striles < up_to; stream->released_striles++) {
        uint64_t offset = TIFFGetStrileOffset(stream->tiff, stream->released_striles);
        uint64_t count = TIFFGetStrileByteCount(stream->tiff, stream->released_striles);
        if (offset >= stream->source.size || count > stream->source.size - offset) continue;
        const uint8_t *start = stream->source.data + offset, *end = start + count;
        start = (const uint8_t *)((uintptr_t)start & ~(page - 1));
        if (start < stream->source.data) start = stream->source.data;
        uintptr_t rounded_end = ((uintptr_t)end + page - 1) & ~(page - 1);
        end = rounded_end - (uintptr_t)stream->source.data > stream->source.size
            ? stream->source.data + stream->source.size : (const uint8_t *)rounded_end;
        fr_release_pages(stream->source.data, stream->source.size, start, end);
    }
}

// Decodes the row of tiles starting at row `top` into the band.
static int fr_tiff_read_band(fr_tiff_stream *stream, uint32_t top, int release_input) {
    uint32_t rows = top + stream->tile_height > stream->height ? stream->height - top : stream->tile_height;
    size_t tile_row_bytes = (size_t)stream->tile_width * stream->pixel_bytes;
    for (uint32_t x = 0; x < stream->width; x += stream->tile_width) {
        if (TIFFReadTile(stream->tiff, stream->tile, x, top, 0, 0) < 0) return -1;
        size_t columns = x + stream->tile_width > stream->width ? stream->width - x : stream->tile_width;
        for (uint32_t r = 0; r < rows; r++) {
            memcpy(stream->band + r * stream->row_bytes + x * stream->pixel_bytes,
                   stream->tile + r * tile_row_bytes, columns * stream->pixel_bytes);
        }
    }
    stream->band_top = top;
    stream->band_rows = rows;
    if (release_input) fr_tiff_release(stream, TIFFComputeTile(stream->tiff, stream->width - 1, top, 0, 0) + 1);
    return 0;
}

int fr_tiff_stream_read(fr_tiff_stream *stream, uint8_t *rows, int count, int release_input, char *message) {
    message[0] = 0;
    stream->message[0] = 0;
    if (count < 0 || (uint64_t)stream->next_row + (uint64_t)count > stream->height) {
        snprintf(message, FR_MESSAGE_SIZE, "read past the last row");
        return -1;
    }
    for (int i = 0; i < count; i++, stream->next_row++) {
        uint32_t y = stream->next_row;
        uint8_t *target = rows + (size_t)i * stream->row_bytes;
        if (stream->tile) {
            if (!stream->band_rows || y >= stream->band_top + stream->band_rows) {
                if (fr_tiff_read_band(stream, y, release_input) != 0) goto failed;
            }
            memcpy(target, stream->band + (size_t)(y - stream->band_top) * stream->row_bytes, stream->row_bytes);
        } else {
            if (TIFFReadScanline(stream->tiff, target, y, 0) < 0) goto failed;
            // Strips before the current one are done with.
            if (release_input) fr_tiff_release(stream, TIFFComputeStrip(stream->tiff, y, 0));
        }
    }
    return 0;
failed:
    fr_tiff_fail(&stream->source, "cannot read image data");
    snprintf(message, FR_MESSAGE_SIZE, "%s", stream->message);
    return -1;
}

void fr_tiff_stream_close(fr_tiff_stream *stream) {
    if (!stream) return;
    if (stream->tiff) TIFFClose(stream->tiff);
    free(stream->tile);
    free(stream->band);
    free(stream);
}

const char *fr_tiff_version(void) {
    return TIFFGetVersion();
}
