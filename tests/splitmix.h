/*
 * splitmix64: the deterministic random source of the tests and fuzz targets, which
 * replays the same bytes from the same seed. Kept apart from check.h so that fuzz
 * targets can use it without the test runner.
 */
#ifndef TGB_TESTS_SPLITMIX_H
#define TGB_TESTS_SPLITMIX_H

#include <stdint.h>

/* Advances *state and returns the next 64 random bits. */
static inline uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#endif
