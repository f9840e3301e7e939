/* test_arena.c - arena alignment, growth, limits, and allocation failure reported as a status. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "util/arena.h"

Test(arena, aligned_and_disjoint) {
    struct arena ar;
    struct pf_err err = {0};
    arena_init(&ar, "t", NULL, 0);
    char *p[100];
    for (int i = 0; i < 100; i++) {
        p[i] = arena_alloc(&ar, (size_t)(i * 37 + 1), "x", &err);
        cr_assert_not_null(p[i], "%s", err.msg);
        cr_assert_eq((uintptr_t)p[i] % 64, 0, "allocation %d not 64-byte aligned", i);
        memset(p[i], i, (size_t)(i * 37 + 1));
    }
    for (int i = 0; i < 100; i++)
        cr_assert_eq((unsigned char)p[i][i * 37], (unsigned char)i, "allocation %d overwritten", i);
    arena_free(&ar);
    cr_assert_eq(ar.reserved, 0);
    arena_free(&ar); /* twice is harmless */
}

Test(arena, large_request_gets_own_block) {
    struct arena ar;
    struct pf_err err = {0};
    arena_init(&ar, "t", NULL, 0);
    void *big = arena_alloc(&ar, (size_t)100 << 20, "big", &err);
    cr_assert_not_null(big, "%s", err.msg);
    cr_assert_geq(ar.reserved, (size_t)100 << 20);
    arena_free(&ar);
}

Test(arena, limit_is_a_clear_error) {
    struct arena ar;
    struct pf_err err = {0};
    arena_init(&ar, "run", NULL, 1 << 20);
    cr_assert_not_null(arena_alloc(&ar, 1000, "small", &err));
    void *p = arena_alloc(&ar, 2 << 20, "activations", &err);
    cr_assert_null(p);
    cr_assert_eq(err.code, PF_ERR_NOMEM);
    cr_assert(strstr(err.msg, "arena 'run'") && strstr(err.msg, "'activations'") &&
              strstr(err.msg, "limit"), "message: %s", err.msg);
    arena_free(&ar);
}

/* A request the machine cannot satisfy fails with a status, never a crash (ASan runs with
 * allocator_may_return_null=1, as a production build behaves). */
Test(arena, impossible_allocation_returns_error) {
    struct arena ar;
    struct pf_err err = {0};
    arena_init(&ar, "run", NULL, 0);
    void *p = arena_alloc(&ar, (size_t)1 << 60, "huge", &err);
    cr_assert_null(p);
    cr_assert_eq(err.code, PF_ERR_NOMEM);
    cr_assert(strstr(err.msg, "'huge'") && strstr(err.msg, "1.0 EiB"), "message: %s", err.msg);
    p = arena_alloc(&ar, SIZE_MAX - 8, "wrap", &err);
    cr_assert_null(p);
    cr_assert(strstr(err.msg, "overflows"), "message: %s", err.msg);
    /* the arena still works afterwards */
    cr_assert_not_null(arena_alloc(&ar, 64, "after", &err));
    arena_free(&ar);
}

static int fail_calls;
static void *failing_alloc(void *ctx, size_t n) {
    (void)ctx;
    (void)n;
    fail_calls++;
    return NULL;
}
static void never_release(void *ctx, void *p) {
    (void)ctx;
    (void)p;
    cr_assert_fail("release called for memory never handed out");
}

Test(arena, device_allocator_failure) {
    struct arena ar;
    struct pf_err err = {0};
    struct arena_allocator a = {failing_alloc, never_release, NULL};
    arena_init(&ar, "cuda:0", &a, 0);
    cr_assert_null(arena_alloc(&ar, 4096, "w", &err));
    cr_assert_eq(fail_calls, 1);
    cr_assert(strstr(err.msg, "allocator refused"), "message: %s", err.msg);
    arena_free(&ar);
}
