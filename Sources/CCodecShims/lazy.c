// Lazy loading of libheif, libavif and libjxl: they are opened on first use instead of at start-up.
//
// Linked normally, the two libraries and the AV1/HEVC codecs they pull in (x265, rav1e, SVT-AV1,
// aom, libde265, dav1d, libyuv, libgav1) are loaded and relocated by every run, HEIF or not:
// about 2.8 MiB of resident memory and some 30 million instructions of start-up. Here each
// function the Swift code calls is defined with the library's own name and signature (so the
// Swift side is written against the headers as usual) and forwards to the real function, found
// with dlsym in the library opened by fr_heif_load / fr_avif_load. Those must have succeeded
// before any other function of that library is called; the Swift codecs make sure of it.
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <libheif/heif.h>
#include <avif/avif.h>
#include <jxl/decode.h>
#include <jxl/encode.h>
#include "CCodecShims.h"

// One entry per function: return type, name, parameter list, argument list.
#define FR_HEIF_FUNCTIONS(X) \
    X(const char *, heif_get_version, (void), ()) \
    X(struct heif_error, heif_init, (struct heif_init_params *p), (p)) \
    X(struct heif_context *, heif_context_alloc, (void), ()) \
    X(void, heif_context_free, (struct heif_context *c), (c)) \
    X(struct heif_error, heif_context_read_from_memory_without_copy, \
      (struct heif_context *c, const void *mem, size_t size, const struct heif_reading_options *o), (c, mem, size, o)) \
    X(struct heif_error, heif_context_get_primary_image_handle, \
      (struct heif_context *c, struct heif_image_handle **h), (c, h)) \
    X(void, heif_image_handle_release, (const struct heif_image_handle *h), (h)) \
    X(int, heif_image_handle_get_width, (const struct heif_image_handle *h), (h)) \
    X(int, heif_image_handle_get_height, (const struct heif_image_handle *h), (h)) \
    X(int, heif_image_handle_has_alpha_channel, (const struct heif_image_handle *h), (h)) \
    X(size_t, heif_image_handle_get_raw_color_profile_size, (const struct heif_image_handle *h), (h)) \
    X(struct heif_error, heif_image_handle_get_raw_color_profile, \
      (const struct heif_image_handle *h, void *out), (h, out)) \
    X(int, heif_image_handle_get_number_of_metadata_blocks, \
      (const struct heif_image_handle *h, const char *filter), (h, filter)) \
    X(int, heif_image_handle_get_list_of_metadata_block_IDs, \
      (const struct heif_image_handle *h, const char *filter, heif_item_id *ids, int count), (h, filter, ids, count)) \
    X(size_t, heif_image_handle_get_metadata_size, (const struct heif_image_handle *h, heif_item_id id), (h, id)) \
    X(struct heif_error, heif_image_handle_get_metadata, \
      (const struct heif_image_handle *h, heif_item_id id, void *out), (h, id, out)) \
    X(const char *, heif_image_handle_get_metadata_type, (const struct heif_image_handle *h, heif_item_id id), (h, id)) \
    X(const char *, heif_image_handle_get_metadata_content_type, \
      (const struct heif_image_handle *h, heif_item_id id), (h, id)) \
    X(struct heif_error, heif_decode_image, \
      (const struct heif_image_handle *h, struct heif_image **out, enum heif_colorspace cs, enum heif_chroma ch, \
       const struct heif_decoding_options *o), (h, out, cs, ch, o)) \
    X(void, heif_image_release, (const struct heif_image *i), (i)) \
    X(int, heif_image_get_width, (const struct heif_image *i, enum heif_channel c), (i, c)) \
    X(int, heif_image_get_height, (const struct heif_image *i, enum heif_channel c), (i, c)) \
    X(const uint8_t *, heif_image_get_plane_readonly, \
      (const struct heif_image *i, enum heif_channel c, int *stride), (i, c, stride))

#define FR_AVIF_FUNCTIONS(X) \
    X(const char *, avifVersion, (void), ()) \
    X(avifImage *, avifImageCreate, (uint32_t w, uint32_t h, uint32_t d, avifPixelFormat f), (w, h, d, f)) \
    X(void, avifImageDestroy, (avifImage *i), (i)) \
    X(void, avifImageSetProfileICC, (avifImage *i, const uint8_t *b, size_t n), (i, b, n)) \
    X(void, avifImageSetMetadataExif, (avifImage *i, const uint8_t *b, size_t n), (i, b, n)) \
    X(void, avifImageSetMetadataXMP, (avifImage *i, const uint8_t *b, size_t n), (i, b, n)) \
    X(void, avifRGBImageSetDefaults, (avifRGBImage *rgb, const avifImage *i), (rgb, i)) \
    X(avifResult, avifImageRGBToYUV, (avifImage *i, const avifRGBImage *rgb), (i, rgb)) \
    X(avifEncoder *, avifEncoderCreate, (void), ()) \
    X(void, avifEncoderDestroy, (avifEncoder *e), (e)) \
    X(avifResult, avifEncoderWrite, (avifEncoder *e, const avifImage *i, avifRWData *out), (e, i, out)) \
    X(void, avifRWDataFree, (avifRWData *d), (d)) \
    X(const char *, avifResultToString, (avifResult r), (r))

// libjxl (and the brotli and highway it pulls in: about 1 MiB resident in every run otherwise).
#define FR_JXL_FUNCTIONS(X) \
    X(uint32_t, JxlDecoderVersion, (void), ()) \
    X(JxlDecoder *, JxlDecoderCreate, (const JxlMemoryManager *m), (m)) \
    X(void, JxlDecoderDestroy, (JxlDecoder *d), (d)) \
    X(JxlDecoderStatus, JxlDecoderSubscribeEvents, (JxlDecoder *d, int e), (d, e)) \
    X(JxlDecoderStatus, JxlDecoderSetKeepOrientation, (JxlDecoder *d, JXL_BOOL k), (d, k)) \
    X(JxlDecoderStatus, JxlDecoderSetDecompressBoxes, (JxlDecoder *d, JXL_BOOL b), (d, b)) \
    X(JxlDecoderStatus, JxlDecoderSetInput, (JxlDecoder *d, const uint8_t *data, size_t size), (d, data, size)) \
    X(void, JxlDecoderCloseInput, (JxlDecoder *d), (d)) \
    X(JxlDecoderStatus, JxlDecoderProcessInput, (JxlDecoder *d), (d)) \
    X(JxlDecoderStatus, JxlDecoderGetBasicInfo, (const JxlDecoder *d, JxlBasicInfo *i), (d, i)) \
    X(JxlDecoderStatus, JxlDecoderGetICCProfileSize, \
      (const JxlDecoder *d, const JxlPixelFormat *f, JxlColorProfileTarget t, size_t *s), (d, f, t, s)) \
    X(JxlDecoderStatus, JxlDecoderGetColorAsICCProfile, \
      (const JxlDecoder *d, const JxlPixelFormat *f, JxlColorProfileTarget t, uint8_t *p, size_t s), (d, f, t, p, s)) \
    X(JxlDecoderStatus, JxlDecoderGetBoxType, (JxlDecoder *d, JxlBoxType t, JXL_BOOL c), (d, t, c)) \
    X(JxlDecoderStatus, JxlDecoderSetBoxBuffer, (JxlDecoder *d, uint8_t *b, size_t s), (d, b, s)) \
    X(size_t, JxlDecoderReleaseBoxBuffer, (JxlDecoder *d), (d)) \
    X(JxlDecoderStatus, JxlDecoderImageOutBufferSize, (const JxlDecoder *d, const JxlPixelFormat *f, size_t *s), (d, f, s)) \
    X(JxlDecoderStatus, JxlDecoderSetImageOutBuffer, \
      (JxlDecoder *d, const JxlPixelFormat *f, void *b, size_t s), (d, f, b, s)) \
    X(JxlEncoder *, JxlEncoderCreate, (const JxlMemoryManager *m), (m)) \
    X(void, JxlEncoderDestroy, (JxlEncoder *e), (e)) \
    X(void, JxlEncoderInitBasicInfo, (JxlBasicInfo *i), (i)) \
    X(JxlEncoderStatus, JxlEncoderUseBoxes, (JxlEncoder *e), (e)) \
    X(JxlEncoderStatus, JxlEncoderSetBasicInfo, (JxlEncoder *e, const JxlBasicInfo *i), (e, i)) \
    X(JxlEncoderStatus, JxlEncoderSetICCProfile, (JxlEncoder *e, const uint8_t *p, size_t s), (e, p, s)) \
    X(void, JxlColorEncodingSetToSRGB, (JxlColorEncoding *c, JXL_BOOL g), (c, g)) \
    X(JxlEncoderStatus, JxlEncoderSetColorEncoding, (JxlEncoder *e, const JxlColorEncoding *c), (e, c)) \
    X(JxlEncoderStatus, JxlEncoderAddBox, \
      (JxlEncoder *e, const JxlBoxType t, const uint8_t *c, size_t s, JXL_BOOL z), (e, t, c, s, z)) \
    X(void, JxlEncoderCloseBoxes, (JxlEncoder *e), (e)) \
    X(JxlEncoderFrameSettings *, JxlEncoderFrameSettingsCreate, \
      (JxlEncoder *e, const JxlEncoderFrameSettings *s), (e, s)) \
    X(JxlEncoderStatus, JxlEncoderFrameSettingsSetOption, \
      (JxlEncoderFrameSettings *s, JxlEncoderFrameSettingId o, int64_t v), (s, o, v)) \
    X(JxlEncoderStatus, JxlEncoderSetFrameLossless, (JxlEncoderFrameSettings *s, JXL_BOOL l), (s, l)) \
    X(JxlEncoderStatus, JxlEncoderSetFrameDistance, (JxlEncoderFrameSettings *s, float d), (s, d)) \
    X(JxlEncoderStatus, JxlEncoderAddImageFrame, \
      (const JxlEncoderFrameSettings *s, const JxlPixelFormat *f, const void *b, size_t n), (s, f, b, n)) \
    X(void, JxlEncoderCloseInput, (JxlEncoder *e), (e)) \
    X(JxlEncoderStatus, JxlEncoderProcessOutput, (JxlEncoder *e, uint8_t **o, size_t *a), (e, o, a))

// The real functions, filled in once by the loader.
#define FR_POINTER(type, name, params, args) static type (*real_##name) params;
FR_HEIF_FUNCTIONS(FR_POINTER)
FR_AVIF_FUNCTIONS(FR_POINTER)
FR_JXL_FUNCTIONS(FR_POINTER)

// The forwarders. `return` of a void call is valid C for void functions.
#define FR_FORWARD(type, name, params, args) type name params { return real_##name args; }
FR_HEIF_FUNCTIONS(FR_FORWARD)
FR_AVIF_FUNCTIONS(FR_FORWARD)
FR_JXL_FUNCTIONS(FR_FORWARD)

/// What loading a library came to: 0 loaded, -1 failed with `message`.
typedef struct {
    pthread_once_t once;
    int status;
    char message[FR_MESSAGE_SIZE];
} fr_lazy_library;

/// Opens `soname` (never closed: the process keeps it until exit, as if it had been linked).
static void *fr_lazy_open(fr_lazy_library *library, const char *soname) {
    void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        snprintf(library->message, sizeof library->message, "cannot load %s: %s", soname, why ? why : "unknown error");
    }
    return handle;
}

#define FR_RESOLVE(type, name, params, args) \
    if (!(real_##name = (type (*) params)dlsym(handle, #name))) { \
        snprintf(library->message, sizeof library->message, "%s lacks %s", soname, #name); \
        return; \
    }

static int fr_lazy_result(fr_lazy_library *library, char *message) {
    if (library->status != 0 && message) snprintf(message, FR_MESSAGE_SIZE, "%s", library->message);
    return library->status;
}

// One library: its state, its loader (every function of FUNCTIONS resolved, or the first missing
// one named) and fr_<lib>_load, which loads it once whichever thread asks first.
#define FR_LAZY_LIBRARY(lib, library_soname, FUNCTIONS) \
    static fr_lazy_library lib##_library = { PTHREAD_ONCE_INIT, -1, "" }; \
    static void fr_load_##lib(void) { \
        fr_lazy_library *library = &lib##_library; \
        const char *soname = library_soname; \
        void *handle = fr_lazy_open(library, soname); \
        if (!handle) return; \
        FUNCTIONS(FR_RESOLVE) \
        library->status = 0; \
    } \
    int fr_##lib##_load(char *message) { \
        pthread_once(&lib##_library.once, fr_load_##lib); \
        return fr_lazy_result(&lib##_library, message); \
    }

FR_LAZY_LIBRARY(heif, "libheif.so.1", FR_HEIF_FUNCTIONS)
FR_LAZY_LIBRARY(avif, "libavif.so.15", FR_AVIF_FUNCTIONS)
FR_LAZY_LIBRARY(jxl, "libjxl.so.0.7", FR_JXL_FUNCTIONS)
