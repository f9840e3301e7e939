/* tok_train_count.c - the trainer's word-count table: open addressing on FNV-1a, strings in
 * one arena. Bounded: when it holds `max` distinct words it is pruned (lossy counting): entries
 * with count <= k are dropped, k = 1, 2, ... until at most max / 2 remain, and the arena is
 * rebuilt with the survivors. Pruning only depends on the input order, so it is deterministic. */
#include <string.h>

#include "tok/tok_train_internal.h"
#include "util/xalloc.h"

static uint64_t wc_hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ? h : 1; /* 0 marks an empty slot */
}

static void wc_alloc(struct tok_wc *w, size_t cap) {
    w->cap = cap;
    w->slots = xcalloc(cap, sizeof *w->slots);
    w->n = 0;
}

static void wc_insert(struct tok_wc *w, uint64_t h, size_t off, uint32_t len, uint64_t count) {
    size_t i = (size_t)h & (w->cap - 1);
    while (w->slots[i].hash)
        i = (i + 1) & (w->cap - 1);
    w->slots[i] = (struct tok_wc_slot){h, off, len, count};
    w->n++;
}

void tok_wc_init(struct tok_wc *w, size_t max, struct tok_train_stats *st) {
    memset(w, 0, sizeof *w);
    w->max = max < 16 ? 16 : max;
    w->st = st;
    wc_alloc(w, 1024);
}

/* Move the entries with count > keep_above into a fresh table of capacity cap. */
static void wc_rebuild(struct tok_wc *w, size_t cap, uint64_t keep_above) {
    struct tok_wc_slot *old = w->slots;
    size_t old_cap = w->cap;
    struct tok_buf arena = {0};
    wc_alloc(w, cap);
    for (size_t i = 0; i < old_cap; i++) {
        const struct tok_wc_slot *s = &old[i];
        if (!s->hash)
            continue;
        if (s->count <= keep_above) {
            w->st->pruned_distinct++;
            w->st->pruned_words += s->count;
            continue;
        }
        size_t off = arena.n;
        tok_buf_put(&arena, w->arena.p + s->off, s->len);
        wc_insert(w, s->hash, off, s->len, s->count);
    }
    tok_buf_free(&w->arena);
    w->arena = arena;
    xfree(old);
}

static void wc_prune(struct tok_wc *w) {
    uint64_t k = 1;
    for (;; k++) {
        size_t left = 0;
        for (size_t i = 0; i < w->cap; i++)
            left += w->slots[i].hash && w->slots[i].count > k;
        if (left <= w->max / 2)
            break;
    }
    w->st->prunes++;
    wc_rebuild(w, w->cap, k);
}

void tok_wc_add(struct tok_wc *w, const char *s, size_t n) {
    uint64_t h = wc_hash(s, n);
    size_t i = (size_t)h & (w->cap - 1);
    while (w->slots[i].hash) {
        struct tok_wc_slot *e = &w->slots[i];
        if (e->hash == h && e->len == n && memcmp(w->arena.p + e->off, s, n) == 0) {
            e->count++;
            return;
        }
        i = (i + 1) & (w->cap - 1);
    }
    if (w->n >= w->max) {
        wc_prune(w);
        tok_wc_add(w, s, n); /* the table changed: insert afresh (it has room now) */
        return;
    }
    if ((w->n + 1) * 2 > w->cap) {
        wc_rebuild(w, w->cap * 2, 0);
        i = (size_t)h & (w->cap - 1);
        while (w->slots[i].hash)
            i = (i + 1) & (w->cap - 1);
    }
    size_t off = w->arena.n;
    tok_buf_put(&w->arena, s, n);
    w->slots[i] = (struct tok_wc_slot){h, off, (uint32_t)n, 1};
    w->n++;
}

void tok_wc_free(struct tok_wc *w) {
    xfree(w->slots);
    tok_buf_free(&w->arena);
    memset(w, 0, sizeof *w);
}
