/* The 64-bit finaliser (splitmix64) both compiled modules hash with. The dedup sketches store
 * its output, so pipeline/dedup/sketch.py's mix64 must stay equal to it (a test checks). */
#ifndef PIPELINE_MIX64_H
#define PIPELINE_MIX64_H

#include <stdint.h>

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    x ^= x >> 31;
    return x;
}

#endif
