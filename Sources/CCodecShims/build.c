// build.c: what a build was made from, as scripts/release.sh tells the compiler (FR_COMMIT), for `fastresize --version`.
#include <stddef.h>
#include "CCodecShims.h"

const char *fr_build_commit(void) {
#ifdef FR_COMMIT
    return FR_COMMIT;
#else
    return NULL;
#endif
}
