// xxHash (BSD-2-Clause, Debian's libxxhash-dev): the content hash of inputs and outputs in the job store.
#include <xxhash.h>

// On x86-64 the library's own dispatcher picks its widest kernel for this processor (AVX2 or
// AVX-512) instead of the SSE2 one the library is built for: the same hash, half the
// instructions per byte. Elsewhere the library's one kernel.
#if defined(__x86_64__)
#define XXH_DISPATCH_DISABLE_REPLACE
#include <xxh_x86dispatch.h>
static inline XXH_errorcode fr_xxh3_128bits_update(XXH3_state_t *state, const void *input, size_t length) {
    return XXH3_128bits_update_dispatch(state, input, length);
}
static inline XXH128_hash_t fr_xxh3_128bits(const void *input, size_t length) {
    return XXH3_128bits_dispatch(input, length);
}
#else
static inline XXH_errorcode fr_xxh3_128bits_update(XXH3_state_t *state, const void *input, size_t length) {
    return XXH3_128bits_update(state, input, length);
}
static inline XXH128_hash_t fr_xxh3_128bits(const void *input, size_t length) {
    return XXH3_128bits(input, length);
}
#endif
