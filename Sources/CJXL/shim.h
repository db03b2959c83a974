// libjxl's types and declarations; the library is opened on first use (Sources/CCodecShims/lazy.c).
#include <jxl/decode.h>
#include <jxl/encode.h>
