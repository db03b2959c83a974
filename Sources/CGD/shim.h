// libgd's types only: the library itself is opened on first use (dlopen), because linking it would
// load some fifty libraries (X11, fontconfig, ...) into every run, about 15 ms, for GIF output alone.
#include <gd.h>
