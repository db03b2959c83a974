// malloc tuning for the executable: glibc's mallopt is declared in <malloc.h>, which Swift's Glibc module leaves out.
#include <malloc.h>
#include "CCodecShims.h"

void fr_tune_malloc(void) {
    // Blocks of 1 MiB and more always mapped (and unmapped when freed), instead of glibc raising
    // the threshold after each big free and serving the next pictures from a fragmented heap;
    // two arenas instead of eight per core. See Sources/fastresize/Main.swift for the measurements.
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    mallopt(M_ARENA_MAX, 2);
}
