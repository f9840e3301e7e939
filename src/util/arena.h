/* arena.h - a run's memory: one arena per device, carved into tensors, released at once.
 *
 * An arena owns a list of blocks obtained from an allocator (the backend's alloc/release,
 * so the same code serves host and device memory). Allocations are 64-byte aligned and
 * never freed individually; arena_free() releases everything. A byte limit (0 = none)
 * makes "this configuration does not fit" a reported outcome, not a crash.
 *
 * Errors: arena_alloc returns NULL and fills err (PF_ERR_NOMEM) naming the arena, the
 * request and the bytes in use. It never aborts for a large or failed request. */
#ifndef PF_ARENA_H
#define PF_ARENA_H

#include <stddef.h>

#include "util/err.h"

struct arena_allocator {
    void *(*alloc)(void *ctx, size_t bytes); /* NULL on failure */
    void (*release)(void *ctx, void *p);
    void *ctx;
};

struct arena_block;

struct arena {
    char name[32];
    struct arena_allocator a;
    struct arena_block *head;  /* newest block first */
    size_t used;               /* bytes handed out, including alignment padding */
    size_t reserved;           /* bytes obtained from the allocator */
    size_t limit;              /* 0: no limit */
    size_t block_size;         /* default size of a fresh block */
};

/* Initialise an empty arena. alloc may be NULL for the host heap (64-byte aligned).
 * limit is the most bytes the arena may reserve (0 = unlimited). */
void arena_init(struct arena *ar, const char *name, const struct arena_allocator *alloc,
                size_t limit);

/* Return 64-byte aligned memory of `bytes` bytes, or NULL with err set. `what` names the
 * request in the message (e.g. a tensor name). Zero-byte requests return a valid pointer. */
void *arena_alloc(struct arena *ar, size_t bytes, const char *what, struct pf_err *err);

/* Release every block. The arena is empty and reusable afterwards. arena_free(NULL) is a no-op. */
void arena_free(struct arena *ar);

/* Format a byte count as "12.0 MiB" into buf (at least 16 bytes). Returns buf. */
const char *arena_fmt_bytes(size_t bytes, char *buf, size_t bufsz);

#endif
