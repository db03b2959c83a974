// lcms2's pixel-format macros do not import into Swift; these constants carry their values.
#include <lcms2.h>

static const cmsUInt32Number FR_TYPE_GRAY_8 = TYPE_GRAY_8;
static const cmsUInt32Number FR_TYPE_GRAYA_8 = TYPE_GRAYA_8;
static const cmsUInt32Number FR_TYPE_RGB_8 = TYPE_RGB_8;
static const cmsUInt32Number FR_TYPE_RGBA_8 = TYPE_RGBA_8;
static const cmsUInt32Number FR_TYPE_GRAY_16 = TYPE_GRAY_16;
static const cmsUInt32Number FR_TYPE_GRAYA_16 = TYPE_GRAYA_16;
static const cmsUInt32Number FR_TYPE_RGB_16 = TYPE_RGB_16;
static const cmsUInt32Number FR_TYPE_RGBA_16 = TYPE_RGBA_16;
static const cmsUInt32Number FR_TYPE_CMYK_8 = TYPE_CMYK_8;
static const cmsUInt32Number FR_TYPE_Lab_DBL = TYPE_Lab_DBL;
static const cmsUInt32Number FR_TYPE_CMYK_8_REV = TYPE_CMYK_8_REV;
static const cmsUInt32Number FR_FLAGS_COPY_ALPHA = cmsFLAGS_COPY_ALPHA;
static const cmsUInt32Number FR_FLAGS_NOCACHE = cmsFLAGS_NOCACHE;
