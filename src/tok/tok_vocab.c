/* tok_vocab.c - the token string <-> id table (open addressing on FNV-1a) and the BPE merge
 * table (pair of ids -> rank and merged id). */
#include <string.h>

#include "tok/tok_internal.h"
#include "util/xalloc.h"

static uint64_t hash_str(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void rehash(struct tok_vocab *v, size_t cap) {
    xfree(v->slots);
    v->cap = cap;
    v->slots = xmalloc(cap * sizeof *v->slots);
    for (size_t i = 0; i < cap; i++)
        v->slots[i] = -1;
    for (int32_t id = 0; id < v->size; id++) {
        if (!v->str[id])
            continue;
        size_t h = (size_t)hash_str(v->str[id], v->len[id]) & (cap - 1);
        while (v->slots[h] >= 0)
            h = (h + 1) & (cap - 1);
        v->slots[h] = id;
    }
}

void tok_vocab_init(struct tok_vocab *v, int32_t size) {
    memset(v, 0, sizeof *v);
    tok_vocab_grow(v, size);
    rehash(v, 64);
}

void tok_vocab_grow(struct tok_vocab *v, int32_t size) {
    if (size <= v->size)
        return;
    v->str = xrealloc(v->str, (size_t)size * sizeof *v->str);
    v->len = xrealloc(v->len, (size_t)size * sizeof *v->len);
    for (int32_t i = v->size; i < size; i++) {
        v->str[i] = NULL;
        v->len[i] = 0;
    }
    v->size = size;
}

int32_t tok_vocab_get(const struct tok_vocab *v, const char *s, size_t n) {
    size_t h = (size_t)hash_str(s, n) & (v->cap - 1);
    while (v->slots[h] >= 0) {
        int32_t id = v->slots[h];
        if (v->len[id] == n && memcmp(v->str[id], s, n) == 0)
            return id;
        h = (h + 1) & (v->cap - 1);
    }
    return -1;
}

int tok_vocab_add(struct tok_vocab *v, const char *s, size_t n, int32_t id, int32_t *old) {
    int32_t have = tok_vocab_get(v, s, n);
    if (have >= 0) {
        *old = have;
        return 1;
    }
    PF_ASSERT(id >= 0 && id < v->size);
    if (v->str[id]) {
        *old = id;
        return 2;
    }
    if ((size_t)(v->count + 1) * 2 > v->cap)
        rehash(v, v->cap * 2);
    char *c = xmalloc(n + 1);
    memcpy(c, s, n);
    c[n] = '\0';
    v->str[id] = c;
    v->len[id] = (uint32_t)n;
    size_t h = (size_t)hash_str(s, n) & (v->cap - 1);
    while (v->slots[h] >= 0)
        h = (h + 1) & (v->cap - 1);
    v->slots[h] = id;
    v->count++;
    return 0;
}

void tok_vocab_free(struct tok_vocab *v) {
    for (int32_t i = 0; i < v->size; i++)
        xfree(v->str[i]);
    xfree(v->str);
    xfree(v->len);
    xfree(v->slots);
    memset(v, 0, sizeof *v);
}

#define MERGE_EMPTY UINT64_MAX

void tok_merges_init(struct tok_merges *m, size_t n) {
    memset(m, 0, sizeof *m);
    size_t cap = 16;
    while (cap < 2 * n + 2)
        cap *= 2;
    m->cap = cap;
    m->keys = xmalloc(cap * sizeof *m->keys);
    m->rank = xmalloc(cap * sizeof *m->rank);
    m->id = xmalloc(cap * sizeof *m->id);
    for (size_t i = 0; i < cap; i++)
        m->keys[i] = MERGE_EMPTY;
}

void tok_merges_add(struct tok_merges *m, int32_t a, int32_t b, int32_t rank, int32_t id) {
    PF_ASSERT(m->count * 2 + 2 <= m->cap);
    uint64_t k = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    size_t h = (size_t)tok_mix64(k) & (m->cap - 1);
    while (m->keys[h] != MERGE_EMPTY) {
        if (m->keys[h] == k) { /* a repeated merge takes its last rank, as HF's HashMap does */
            m->rank[h] = rank;
            m->id[h] = id;
            return;
        }
        h = (h + 1) & (m->cap - 1);
    }
    m->keys[h] = k;
    m->rank[h] = rank;
    m->id[h] = id;
    m->count++;
}

int tok_merges_get(const struct tok_merges *m, int32_t a, int32_t b, int32_t *rank, int32_t *id) {
    if (!m->cap)
        return 0;
    uint64_t k = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    size_t h = (size_t)tok_mix64(k) & (m->cap - 1);
    while (m->keys[h] != MERGE_EMPTY) {
        if (m->keys[h] == k) {
            *rank = m->rank[h];
            *id = m->id[h];
            return 1;
        }
        h = (h + 1) & (m->cap - 1);
    }
    return 0;
}

void tok_merges_free(struct tok_merges *m) {
    xfree(m->keys);
    xfree(m->rank);
    xfree(m->id);
    memset(m, 0, sizeof *m);
}
