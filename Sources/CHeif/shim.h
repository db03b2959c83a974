// libheif's types and declarations; the library is opened on first use (Sources/CCodecShims/lazy.c).
#include <libheif/heif.h>
