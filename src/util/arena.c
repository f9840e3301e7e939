/* arena.c - block-list arena with 64-byte alignment and a byte limit.
 * Does not zero memory (callers that need zeros say so) and is not thread-safe: an arena
 * belongs to the thread that runs the engine. */
#include "util/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 64
#define ARENA_DEFAULT_BLOCK ((size_t)64 << 20)

struct arena_block {
    struct arena_block *next;
    char *base;  /* aligned start of usable memory */
    size_t size; /* usable bytes */
    size_t off;  /* bytes used in this block */
    void *raw;   /* what the allocator returned */
};

static void *host_alloc(void *ctx, size_t bytes) {
    (void)ctx;
    void *p = NULL;
    if (posix_memalign(&p, ARENA_ALIGN, bytes ? bytes : ARENA_ALIGN) != 0)
        return NULL;
    return p;
}

static void host_release(void *ctx, void *p) {
    (void)ctx;
    free(p);
}

void arena_init(struct arena *ar, const char *name, const struct arena_allocator *alloc,
                size_t limit) {
    memset(ar, 0, sizeof *ar);
    snprintf(ar->name, sizeof ar->name, "%s", name ? name : "arena");
    if (alloc) {
        ar->a = *alloc;
    } else {
        ar->a.alloc = host_alloc;
        ar->a.release = host_release;
    }
    ar->limit = limit;
    ar->block_size = ARENA_DEFAULT_BLOCK;
}

const char *arena_fmt_bytes(size_t bytes, char *buf, size_t bufsz) {
    static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024.0 && u < 6) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, bufsz, "%zu B", bytes);
    else
        snprintf(buf, bufsz, "%.1f %s", v, unit[u]);
    return buf;
}

static pf_status arena_fail(struct arena *ar, size_t bytes, const char *what, const char *why,
                            struct pf_err *err) {
    char want[32], used[32];
    arena_fmt_bytes(bytes, want, sizeof want);
    arena_fmt_bytes(ar->reserved, used, sizeof used);
    return pf_err_set(err, PF_ERR_NOMEM, "arena '%s': cannot allocate %s (%zu bytes) for '%s': %s "
                      "(%s reserved)", ar->name, want, bytes, what ? what : "?", why, used);
}

static struct arena_block *arena_grow(struct arena *ar, size_t bytes, const char *what,
                                      struct pf_err *err) {
    size_t size = bytes > ar->block_size ? bytes : ar->block_size;
    if (size > SIZE_MAX - 2 * ARENA_ALIGN) {
        arena_fail(ar, bytes, what, "size overflows", err);
        return NULL;
    }
    size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (ar->limit && (size > ar->limit || ar->reserved > ar->limit - size)) {
        /* A smaller block may still fit under the limit when the default is too large. */
        if (bytes <= ar->limit && ar->reserved <= ar->limit - bytes)
            size = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
        else {
            arena_fail(ar, bytes, what, "over the arena limit", err);
            return NULL;
        }
    }
    void *raw = ar->a.alloc(ar->a.ctx, size);
    if (!raw) {
        arena_fail(ar, bytes, what, "the allocator refused", err);
        return NULL;
    }
    struct arena_block *b = malloc(sizeof *b);
    if (!b) {
        ar->a.release(ar->a.ctx, raw);
        arena_fail(ar, bytes, what, "no memory for the block record", err);
        return NULL;
    }
    b->raw = raw;
    b->base = raw; /* both allocators return ARENA_ALIGN-aligned memory */
    b->size = size;
    b->off = 0;
    b->next = ar->head;
    ar->head = b;
    ar->reserved += size;
    return b;
}

void *arena_alloc(struct arena *ar, size_t bytes, const char *what, struct pf_err *err) {
    if (bytes > SIZE_MAX - ARENA_ALIGN) {
        arena_fail(ar, bytes, what, "size overflows", err);
        return NULL;
    }
    size_t need = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0)
        need = ARENA_ALIGN;
    struct arena_block *b = ar->head;
    if (!b || b->size - b->off < need) {
        b = arena_grow(ar, need, what, err);
        if (!b)
            return NULL;
    }
    void *p = b->base + b->off;
    b->off += need;
    ar->used += need;
    return p;
}

void arena_free(struct arena *ar) {
    if (!ar)
        return;
    struct arena_block *b = ar->head;
    while (b) {
        struct arena_block *next = b->next;
        ar->a.release(ar->a.ctx, b->raw);
        free(b);
        b = next;
    }
    ar->head = NULL;
    ar->used = 0;
    ar->reserved = 0;
}
