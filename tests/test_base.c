/* Tests for base/: error table, arena limits, buffer limits, little-endian helpers. */
#include "base/arena.h"
#include "base/buf.h"
#include "check.h"

static void test_errors(void)
{
    CHECK_STR(tgb_strerror(TGB_OK), "success");
    CHECK_STR(tgb_strerror(TGB_ERR_NOMEM), "out of memory");
    CHECK_STR(tgb_error_name(TGB_ERR_TL_TRUNCATED), "TGB_ERR_TL_TRUNCATED");
    CHECK_STR(tgb_strerror(-12345), "unknown error");
    CHECK_STR(tgb_error_name(-12345), "TGB_ERR_UNKNOWN");
    CHECK_EQ(tgb_error_is_fatal(TGB_ERR_NOMEM), 1);
    CHECK_EQ(tgb_error_is_fatal(TGB_ERR_TL_TRUNCATED), 0);
    CHECK_STR(tgb_version(), TGB_VERSION_STRING);
    CHECK_EQ(tgb_tl_layer(), 228);
}

static void test_arena(void)
{
    char stack[64];
    tgb_arena a;
    tgb_arena_init(&a, stack, sizeof(stack), 10000);
    char *p = tgb_arena_alloc(&a, 10);
    CHECK(p >= stack && p < stack + sizeof(stack));
    CHECK_EQ((uintptr_t)p % 8, 0);
    char *q = tgb_arena_alloc(&a, 100); /* does not fit in `stack`: heap block */
    CHECK(q != NULL && (q < stack || q >= stack + sizeof(stack)));
    memset(q, 1, 100);
    CHECK(tgb_arena_alloc(&a, 20000) == NULL); /* over the limit */
    CHECK_EQ(a.err, TGB_ERR_LIMIT);
    CHECK(tgb_arena_alloc(&a, 9000) != NULL); /* what the limit still allows */
    CHECK(tgb_arena_alloc(&a, 1000) == NULL);
    int *z = tgb_arena_zalloc(&a, 64);
    CHECK(z != NULL && z[0] == 0 && z[15] == 0);
    tgb_arena_free(&a);
    CHECK_EQ(a.allocated, 0);
    CHECK(tgb_arena_alloc(&a, 5000) != NULL); /* usable again */
    tgb_arena_free(&a);
    tgb_arena_free(NULL);
}

static void test_buf(void)
{
    tgb_buf b;
    tgb_buf_init(&b, 1000);
    CHECK_OK(tgb_buf_append(&b, "abc", 3));
    CHECK_OK(tgb_buf_append(&b, NULL, 0));
    CHECK_EQ(b.len, 3);
    uint8_t *p = tgb_buf_extend(&b, 997);
    CHECK(p != NULL);
    CHECK_EQ(b.len, 1000);
    CHECK_EQ(tgb_buf_append(&b, "x", 1), TGB_ERR_LIMIT);
    CHECK(tgb_buf_extend(&b, 1) == NULL);
    CHECK_EQ(b.len, 1000);
    CHECK_MEM(b.data, "abc", 3);
    tgb_buf_free(&b);
    tgb_buf_free(NULL);
}

static void test_le(void)
{
    uint8_t x[8];
    tgb_put_le32(x, 0x1cb5c415u);
    CHECK_MEM(x, "\x15\xc4\xb5\x1c", 4);
    CHECK_EQ(tgb_le32(x), 0x1cb5c415u);
    tgb_put_le64(x, 0xd09d1d85de64fd85ull);
    CHECK_MEM(x, "\x85\xfd\x64\xde\x85\x1d\x9d\xd0", 8);
    CHECK(tgb_le64(x) == 0xd09d1d85de64fd85ull);
}

int main(void)
{
    RUN(test_errors);
    RUN(test_arena);
    RUN(test_buf);
    RUN(test_le);
    return check_report();
}
