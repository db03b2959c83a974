// libjpeg glue: the only place setjmp/longjmp live, so no longjmp ever crosses a Swift frame.
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <unistd.h>
#include <sys/mman.h>
#include <jpeglib.h>
#include <jerror.h>
#include "CCodecShims.h"
#include "jpegdc.h"

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char *message;
    int damaged;            // a warning that means the data ended before the picture did
    char warning[FR_MESSAGE_SIZE];  // the first warning of any kind, for --fail-on
} fr_error_manager;

static void fr_error_exit(j_common_ptr cinfo) {
    fr_error_manager *manager = (fr_error_manager *)cinfo->err;
    if (manager->message) {
        char text[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, text);
        snprintf(manager->message, FR_MESSAGE_SIZE, "%s", text);
    }
    longjmp(manager->jump, 1);
}

// Never print. Truncation warnings are remembered (the first one's text becomes the error): the
// decoder would otherwise pad the missing rows with grey and call the result an image (which a
// stream opened tolerating truncation does). Other corrupt-data warnings (a bad Huffman code,
// extraneous bytes, a segment cut short by a marker) are recovered from by libjpeg with the rest
// of the picture intact, as libvips and ImageMagick accept them. The first warning of any kind
// is kept for the caller to judge (--fail-on).
static void fr_emit_message(j_common_ptr cinfo, int level) {
    fr_error_manager *manager = (fr_error_manager *)cinfo->err;
    if (level >= 0) return;
    if (!manager->warning[0]) (*cinfo->err->format_message)(cinfo, manager->warning);
    switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
        if (!manager->damaged && manager->message) {
            char text[JMSG_LENGTH_MAX];
            (*cinfo->err->format_message)(cinfo, text);
            snprintf(manager->message, FR_MESSAGE_SIZE, "%s", text);
        }
        manager->damaged = 1;
        break;
    default:
        break;
    }
}

static void fr_install_errors(j_common_ptr cinfo, fr_error_manager *manager, char *message) {
    cinfo->err = jpeg_std_error(&manager->base);
    manager->base.error_exit = fr_error_exit;
    manager->base.emit_message = fr_emit_message;
    manager->message = message;
    manager->damaged = 0;
    manager->warning[0] = 0;
}

// Reads the header and fixes the output colour space and scale. Caller holds the jump point.
static void fr_read_header(struct jpeg_decompress_struct *cinfo, const uint8_t *data, size_t size,
                           int scale_denom) {
    jpeg_mem_src(cinfo, data, (unsigned long)size);
    jpeg_read_header(cinfo, TRUE);
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE: cinfo->out_color_space = JCS_GRAYSCALE; break;
    case JCS_CMYK:
    case JCS_YCCK: cinfo->out_color_space = JCS_CMYK; break;
    default: cinfo->out_color_space = JCS_RGB; break;
    }
    cinfo->scale_num = 1;
    cinfo->scale_denom = (scale_denom == 2 || scale_denom == 4 || scale_denom == 8) ? scale_denom : 1;
    cinfo->dct_method = JDCT_ISLOW;
    jpeg_calc_output_dimensions(cinfo);
}

int fr_jpeg_probe(const uint8_t *data, size_t size, int scale_denom, fr_jpeg_info *info, char *message) {
    struct jpeg_decompress_struct cinfo;
    fr_error_manager manager;
    message[0] = 0;
    if (size < 4) {
        snprintf(message, FR_MESSAGE_SIZE, "file too short");
        return -1;
    }
    fr_install_errors((j_common_ptr)&cinfo, &manager, message);
    jpeg_create_decompress(&cinfo);
    if (setjmp(manager.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    fr_read_header(&cinfo, data, size, scale_denom);
    info->width = (int)cinfo.output_width;
    info->height = (int)cinfo.output_height;
    info->components = cinfo.out_color_space == JCS_GRAYSCALE ? 1 : 3;
    info->source_width = (int)cinfo.image_width;
    info->source_height = (int)cinfo.image_height;
    info->jpeg_color_space = (int)cinfo.jpeg_color_space;
    info->cmyk = cinfo.out_color_space == JCS_CMYK;
    info->adobe_inverted = cinfo.saw_Adobe_marker ? 1 : 0;
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

// CMYK rows to RGB. Adobe applications write inverted CMYK (0 = full ink), which is what libjpeg
// hands back when an Adobe marker is present; proper colour management comes with a profile.
static void fr_cmyk_to_rgb(const uint8_t *cmyk, uint8_t *rgb, int width, int inverted) {
    for (int x = 0; x < width; x++) {
        int c = cmyk[4 * x], m = cmyk[4 * x + 1], y = cmyk[4 * x + 2], k = cmyk[4 * x + 3];
        if (!inverted) { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k; }
        rgb[3 * x] = (uint8_t)((c * k + 127) / 255);
        rgb[3 * x + 1] = (uint8_t)((m * k + 127) / 255);
        rgb[3 * x + 2] = (uint8_t)((y * k + 127) / 255);
    }
}

// APP1 holds at most 65533 bytes; larger EXIF/XMP blocks are left out rather than split.
static void fr_write_app1(j_compress_ptr cinfo, const char *signature, size_t signature_size,
                          const uint8_t *bytes, size_t size) {
    if (!bytes || size == 0 || size + signature_size > 65533) return;
    jpeg_write_m_header(cinfo, JPEG_APP0 + 1, (unsigned int)(size + signature_size));
    for (size_t i = 0; i < signature_size; i++) jpeg_write_m_byte(cinfo, signature[i]);
    for (size_t i = 0; i < size; i++) jpeg_write_m_byte(cinfo, bytes[i]);
}

// The compressed bytes go out through the caller's function a buffer at a time, so a large
// file is never held whole.
enum { FR_DESTINATION_SIZE = 1 << 16 };

typedef struct {
    struct jpeg_destination_mgr base;
    fr_write_fn write;
    void *context;
    uint8_t buffer[FR_DESTINATION_SIZE];
} fr_destination;

static void fr_destination_init(j_compress_ptr cinfo) {
    fr_destination *destination = (fr_destination *)cinfo->dest;
    destination->base.next_output_byte = destination->buffer;
    destination->base.free_in_buffer = FR_DESTINATION_SIZE;
}

// Called when the buffer is full (whatever free_in_buffer says).
static boolean fr_destination_flush(j_compress_ptr cinfo) {
    fr_destination *destination = (fr_destination *)cinfo->dest;
    if (destination->write(destination->context, destination->buffer, FR_DESTINATION_SIZE) != 0) {
        ERREXIT(cinfo, JERR_FILE_WRITE);
    }
    destination->base.next_output_byte = destination->buffer;
    destination->base.free_in_buffer = FR_DESTINATION_SIZE;
    return TRUE;
}

static void fr_destination_term(j_compress_ptr cinfo) {
    fr_destination *destination = (fr_destination *)cinfo->dest;
    size_t count = FR_DESTINATION_SIZE - destination->base.free_in_buffer;
    if (count > 0 && destination->write(destination->context, destination->buffer, count) != 0) {
        ERREXIT(cinfo, JERR_FILE_WRITE);
    }
}

struct fr_jpeg_writer {
    struct jpeg_compress_struct cinfo;
    fr_error_manager manager;
    fr_destination destination;
    size_t row_bytes;
};

void fr_jpeg_writer_close(fr_jpeg_writer *writer) {
    if (!writer) return;
    jpeg_destroy_compress(&writer->cinfo);
    free(writer);
}

fr_jpeg_writer *fr_jpeg_writer_open(int width, int height, int components, int quality, int progressive,
                                    int optimize_coding, const fr_metadata *metadata, fr_write_fn write,
                                    void *context, char *message) {
    message[0] = 0;
    fr_jpeg_writer *writer = calloc(1, sizeof *writer);
    if (!writer) {
        snprintf(message, FR_MESSAGE_SIZE, "out of memory");
        return NULL;
    }
    fr_install_errors((j_common_ptr)&writer->cinfo, &writer->manager, message);
    jpeg_create_compress(&writer->cinfo);
    if (setjmp(writer->manager.jump)) {
        fr_jpeg_writer_close(writer);
        return NULL;
    }
    writer->destination.base.init_destination = fr_destination_init;
    writer->destination.base.empty_output_buffer = fr_destination_flush;
    writer->destination.base.term_destination = fr_destination_term;
    writer->destination.write = write;
    writer->destination.context = context;
    writer->cinfo.dest = &writer->destination.base;
    writer->cinfo.image_width = (JDIMENSION)width;
    writer->cinfo.image_height = (JDIMENSION)height;
    writer->cinfo.input_components = components;
    writer->cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&writer->cinfo);
    jpeg_set_quality(&writer->cinfo, quality, TRUE);
    writer->cinfo.optimize_coding = optimize_coding ? TRUE : FALSE;
    if (progressive) jpeg_simple_progression(&writer->cinfo);
    jpeg_start_compress(&writer->cinfo, TRUE);
    if (metadata) {
        fr_write_app1(&writer->cinfo, "Exif\0", 6, metadata->exif, metadata->exif_size);
        fr_write_app1(&writer->cinfo, "http://ns.adobe.com/xap/1.0/", 29, metadata->xmp, metadata->xmp_size);
        if (metadata->icc && metadata->icc_size > 0) {
            jpeg_write_icc_profile(&writer->cinfo, metadata->icc, (unsigned int)metadata->icc_size);
        }
    }
    writer->row_bytes = (size_t)width * (size_t)components;
    return writer;
}

int fr_jpeg_writer_write(fr_jpeg_writer *writer, const uint8_t *rows, int count, char *message) {
    message[0] = 0;
    writer->manager.message = message;
    if (setjmp(writer->manager.jump)) return -1;
    for (int i = 0; i < count; i++) {
        if (writer->cinfo.next_scanline >= writer->cinfo.image_height) {
            snprintf(message, FR_MESSAGE_SIZE, "written past the last row");
            return -1;
        }
        JSAMPROW row[1] = { (JSAMPROW)(rows + writer->row_bytes * (size_t)i) };
        jpeg_write_scanlines(&writer->cinfo, row, 1);
    }
    return 0;
}

int fr_jpeg_writer_finish(fr_jpeg_writer *writer, char *message) {
    message[0] = 0;
    writer->manager.message = message;
    if (setjmp(writer->manager.jump)) return -1;
    if (writer->cinfo.next_scanline < writer->cinfo.image_height) {
        snprintf(message, FR_MESSAGE_SIZE, "finished after %u of %u rows", writer->cinfo.next_scanline,
                 writer->cinfo.image_height);
        return -1;
    }
    jpeg_finish_compress(&writer->cinfo);
    return 0;
}

void fr_free(void *pointer) {
    free(pointer);
}

void fr_release_pages(const uint8_t *mapping, size_t size, const uint8_t *start, const uint8_t *end) {
    // Only ever pages of the mapping: DONTNEED elsewhere would zero whatever memory is there.
    if (start < mapping) start = mapping;
    if (end > mapping + size) end = mapping + size;
    if (end <= start) return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t from = ((uintptr_t)start + page - 1) & ~(page - 1);
    uintptr_t to = (uintptr_t)end & ~(page - 1);
    if (to > from) madvise((void *)from, to - from, MADV_DONTNEED);
}

struct fr_jpeg_stream {
    struct jpeg_decompress_struct cinfo;
    fr_error_manager manager;
    const uint8_t *data;
    const uint8_t *end;         // one past the input's last byte
    const uint8_t *released;    // input before this has been given back
    uint8_t *cmyk_row;
    size_t components;
    int tolerate_truncation;    // draw past the end of the data (libjpeg pads with grey)
    fr_dc_decoder *dc;          // the DC decoder making the rows, while it does (jpegdc.c)
    int dc_rows;                // rows it made
};

// The DC decoder stops at anything a clean file does not hold: libjpeg takes over, reading again
// the rows already made (its own, the same) so that it stands where the DC decoder stopped.
static void fr_jpeg_take_over(fr_jpeg_stream *stream, uint8_t *scratch) {
    fr_dc_close(stream->dc);
    stream->dc = NULL;
    for (int i = 0; i < stream->dc_rows; i++) {
        JSAMPROW target[1] = { scratch };
        jpeg_read_scanlines(&stream->cinfo, target, 1);
    }
}

fr_jpeg_stream *fr_jpeg_stream_open(const uint8_t *data, size_t size, int scale_denom, int raw_cmyk,
                                    int tolerate_truncation, int dc_terms, fr_jpeg_info *info, char *message) {
    message[0] = 0;
    if (size < 4) {
        snprintf(message, FR_MESSAGE_SIZE, "file too short");
        return NULL;
    }
    fr_jpeg_stream *stream = calloc(1, sizeof *stream);
    if (!stream) {
        snprintf(message, FR_MESSAGE_SIZE, "out of memory");
        return NULL;
    }
    fr_install_errors((j_common_ptr)&stream->cinfo, &stream->manager, message);
    jpeg_create_decompress(&stream->cinfo);
    if (setjmp(stream->manager.jump)) {
        jpeg_destroy_decompress(&stream->cinfo);
        free(stream->cmyk_row);
        free(stream);
        return NULL;
    }
    fr_read_header(&stream->cinfo, data, size, scale_denom);
    stream->tolerate_truncation = tolerate_truncation;
    stream->data = data;
    stream->end = data + size;
    stream->released = data;
    int cmyk = stream->cinfo.out_color_space == JCS_CMYK;
    stream->components = stream->cinfo.out_color_space == JCS_GRAYSCALE ? 1 : (cmyk && raw_cmyk ? 4 : 3);
    if (cmyk && !raw_cmyk) {
        stream->cmyk_row = malloc((size_t)stream->cinfo.output_width * 4);
        if (!stream->cmyk_row) {
            snprintf(message, FR_MESSAGE_SIZE, "out of memory");
            jpeg_destroy_decompress(&stream->cinfo);
            free(stream);
            return NULL;
        }
    }
    jpeg_start_decompress(&stream->cinfo);
    if (dc_terms) stream->dc = fr_dc_open(&stream->cinfo, data, size);
    info->width = (int)stream->cinfo.output_width;
    info->height = (int)stream->cinfo.output_height;
    info->components = (int)stream->components;
    info->source_width = (int)stream->cinfo.image_width;
    info->source_height = (int)stream->cinfo.image_height;
    info->jpeg_color_space = (int)stream->cinfo.jpeg_color_space;
    info->cmyk = cmyk;
    info->adobe_inverted = stream->cinfo.saw_Adobe_marker ? 1 : 0;
    return stream;
}

int fr_jpeg_stream_read(fr_jpeg_stream *stream, uint8_t *rows, int count, int release_input, char *message) {
    message[0] = 0;
    stream->manager.message = message;
    if (setjmp(stream->manager.jump)) return -1;
    size_t row_bytes = (size_t)stream->cinfo.output_width * stream->components;
    for (int i = 0; i < count; i++) {
        uint8_t *row = rows + row_bytes * (size_t)i;
        if (stream->dc && fr_dc_read_row(stream->dc, row) == 0) {
            // The last row: unless the data ended cleanly, libjpeg reads the file again (the same
            // rows, into this one) and on to its end, so that what it warns about is as ever.
            if (++stream->dc_rows == (int)stream->cinfo.output_height && !fr_dc_ended_cleanly(stream->dc)) {
                fr_jpeg_take_over(stream, row);
                if (stream->manager.damaged && !stream->tolerate_truncation) {
                    if (!message[0]) snprintf(message, FR_MESSAGE_SIZE, "cannot read image data");
                    return -1;
                }
            }
            continue;
        }
        if (stream->dc) fr_jpeg_take_over(stream, row);
        if (stream->cinfo.output_scanline >= stream->cinfo.output_height) {
            snprintf(message, FR_MESSAGE_SIZE, "read past the last row");
            return -1;
        }
        JSAMPROW target[1] = { stream->cmyk_row ? stream->cmyk_row : row };
        if (jpeg_read_scanlines(&stream->cinfo, target, 1) != 1
            || (stream->manager.damaged && !stream->tolerate_truncation)) {
            if (!message[0]) snprintf(message, FR_MESSAGE_SIZE, "cannot read image data");
            return -1;
        }
        if (stream->cmyk_row) fr_cmyk_to_rgb(stream->cmyk_row, row, (int)stream->cinfo.output_width,
                                             stream->cinfo.saw_Adobe_marker);
    }
    if (release_input) {
        // Keep a margin behind libjpeg's read position: it may still look back within its buffer.
        // Past the end of a cut-short file the position is libjpeg's own fake end-of-image marker,
        // not in the input at all: pages are only ever given back from inside the input.
        const uint8_t *position = stream->dc ? fr_dc_position(stream->dc) : stream->cinfo.src->next_input_byte;
        if (position && position >= stream->data && position <= stream->end
            && position - stream->released > (1 << 18)) {
            fr_release_pages(stream->data, (size_t)(stream->end - stream->data), stream->released, position - (1 << 16));
            stream->released = position - (1 << 16);
        }
    }
    if (stream->cinfo.output_scanline == stream->cinfo.output_height) jpeg_finish_decompress(&stream->cinfo);
    return 0;
}

int fr_jpeg_stream_warning(const fr_jpeg_stream *stream, char *message) {
    snprintf(message, FR_MESSAGE_SIZE, "%s", stream->manager.warning);
    return stream->manager.warning[0] != 0;
}

int fr_jpeg_stream_decoded_dc_terms(const fr_jpeg_stream *stream) {
    return stream->dc != NULL;
}

void fr_jpeg_stream_close(fr_jpeg_stream *stream) {
    if (!stream) return;
    fr_dc_close(stream->dc);
    jpeg_destroy_decompress(&stream->cinfo);
    free(stream->cmyk_row);
    free(stream);
}

int fr_jpeg_turbo_version(void) {
    return LIBJPEG_TURBO_VERSION_NUMBER;
}
