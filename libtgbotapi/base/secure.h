/* Handling secrets: wiping them, and comparing them without leaking where they differ. */
#ifndef TGB_BASE_SECURE_H
#define TGB_BASE_SECURE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Zeroes `n` bytes. The empty asm that "reads" the memory keeps the compiler from
 * dropping the stores as dead (a plain memset of memory about to die is elided).
 */
static inline void tgb_wipe(void *p, size_t n)
{
    memset(p, 0, n);
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

/* 1 if the two ranges are equal; the time taken does not depend on where they differ. */
static inline int tgb_ct_equal(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= x[i] ^ y[i];
    return d == 0;
}

#endif
