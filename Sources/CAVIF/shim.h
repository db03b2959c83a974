// libavif's types and declarations; the library is opened on first use (Sources/CCodecShims/lazy.c).
#include <avif/avif.h>
