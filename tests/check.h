/*
 * A tiny test harness: CHECK macros that report file:line and keep going, RUN() to
 * call a test function by name, and hex helpers for known-answer vectors.
 * A test program's main() ends with `return check_report();`.
 */
#ifndef TGB_TESTS_CHECK_H
#define TGB_TESTS_CHECK_H

#include <tgbotapi/tgbotapi.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failed_count;
static int check_passed_count;
static const char *check_current_test = "?";

static inline void check_fail_at(const char *file, int line, const char *what)
{
    check_failed_count++;
    fprintf(stderr, "%s:%d: [%s] FAILED: %s\n", file, line, check_current_test, what);
}

#define CHECK(cond)                                   \
    do {                                              \
        if (cond)                                     \
            check_passed_count++;                     \
        else                                          \
            check_fail_at(__FILE__, __LINE__, #cond); \
    } while (0)

#define CHECK_EQ(a, b)                                                                            \
    do {                                                                                          \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                           \
        if (check_a_ == check_b_) {                                                               \
            check_passed_count++;                                                                 \
        } else {                                                                                  \
            char check_msg_[256];                                                                 \
            snprintf(check_msg_, sizeof(check_msg_), "%s == %s (%lld != %lld)", #a, #b, check_a_, \
                     check_b_);                                                                   \
            check_fail_at(__FILE__, __LINE__, check_msg_);                                        \
        }                                                                                         \
    } while (0)

/* An expression returning a tgb_error must return TGB_OK. */
#define CHECK_OK(expr)                                                        \
    do {                                                                      \
        int check_rc_ = (expr);                                               \
        if (check_rc_ == 0) {                                                 \
            check_passed_count++;                                             \
        } else {                                                              \
            char check_msg_[256];                                             \
            snprintf(check_msg_, sizeof(check_msg_), "%s returned %s", #expr, \
                     tgb_error_name(check_rc_));                              \
            check_fail_at(__FILE__, __LINE__, check_msg_);                    \
        }                                                                     \
    } while (0)

#define CHECK_STR(a, b)                                                                         \
    do {                                                                                        \
        const char *check_a_ = (a), *check_b_ = (b);                                            \
        if (check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0) {                          \
            check_passed_count++;                                                               \
        } else {                                                                                \
            check_fail_at(__FILE__, __LINE__, #a " == " #b);                                    \
            fprintf(stderr, "  got:      %s\n  expected: %s\n", check_a_ ? check_a_ : "(null)", \
                    check_b_ ? check_b_ : "(null)");                                            \
        }                                                                                       \
    } while (0)

static inline void check_hexdump(const char *label, const uint8_t *p, size_t n)
{
    fprintf(stderr, "  %s (%zu bytes): ", label, n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%02X", p[i]);
    fprintf(stderr, "\n");
}

#define CHECK_MEM(a, b, n)                                                                \
    do {                                                                                  \
        const uint8_t *check_a_ = (const uint8_t *)(a), *check_b_ = (const uint8_t *)(b); \
        size_t check_n_ = (n);                                                            \
        if (memcmp(check_a_, check_b_, check_n_) == 0) {                                  \
            check_passed_count++;                                                         \
        } else {                                                                          \
            check_fail_at(__FILE__, __LINE__, "memcmp(" #a ", " #b ", " #n ") == 0");     \
            check_hexdump("got", check_a_, check_n_);                                     \
            check_hexdump("expected", check_b_, check_n_);                                \
        }                                                                                 \
    } while (0)

#define RUN(test_fn)                                                                      \
    do {                                                                                  \
        check_current_test = #test_fn;                                                    \
        int check_before_ = check_failed_count;                                           \
        test_fn();                                                                        \
        fprintf(stderr, "%s %s\n", check_failed_count == check_before_ ? "ok  " : "FAIL", \
                #test_fn);                                                                \
    } while (0)

static inline int check_report(void)
{
    fprintf(stderr, "%d checks passed, %d failed\n", check_passed_count, check_failed_count);
    return check_failed_count ? 1 : 0;
}

/*
 * Decodes hex (upper or lower case; spaces and newlines ignored) into a malloc'd buffer.
 * *len receives the byte count. Aborts on malformed input: vectors are ours.
 */
static inline uint8_t *check_unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    uint8_t *out = malloc(n / 2 + 1);
    size_t k = 0;
    int half = -1;
    for (size_t i = 0; i < n; i++) {
        char c = hex[i];
        int v;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        else if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
            continue;
        else
            abort();
        if (half < 0) {
            half = v;
        } else {
            out[k++] = (uint8_t)(half << 4 | v);
            half = -1;
        }
    }
    if (half >= 0 || !out)
        abort();
    *len = k;
    return out;
}

/* Decodes a hex vector into `out`, which must hold exactly `want` bytes. */
static inline void check_unhex_into(uint8_t *out, size_t want, const char *hex)
{
    size_t n;
    uint8_t *p = check_unhex(hex, &n);
    if (n != want) {
        fprintf(stderr, "vector has %zu bytes, expected %zu\n", n, want);
        abort();
    }
    memcpy(out, p, n);
    free(p);
}

#endif
