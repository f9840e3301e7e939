/* pretrain_pack.c - token lines into fixed-length sequences, and the epoch order of the
 * sequences (pretrain.h). Pure functions of their inputs. */
#include <string.h>

#include "pretrain/pretrain.h"
#include "util/rng.h"
#include "util/xalloc.h"

struct packer {
    struct pretrain_seqs *s;
    int64_t cap;
    int pos; /* tokens in the open row; 0: no open row */
    const struct pretrain_special *sp;
};

static int32_t *open_row(struct packer *p) {
    struct pretrain_seqs *s = p->s;
    if (s->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        s->ids = xrealloc(s->ids, (size_t)p->cap * (size_t)s->T * sizeof *s->ids);
    }
    int32_t *row = s->ids + s->n * s->T;
    row[0] = p->sp->cls;
    p->pos = 1;
    return row;
}

static void close_row(struct packer *p) {
    struct pretrain_seqs *s = p->s;
    int32_t *row = s->ids + s->n * s->T;
    for (int t = p->pos; t < s->T; t++)
        row[t] = p->sp->pad;
    s->tokens += p->pos;
    s->n++;
    p->pos = 0;
}

static void append(struct packer *p, const int32_t *toks, int64_t n) {
    int32_t *row = p->s->ids + p->s->n * p->s->T;
    memcpy(row + p->pos, toks, (size_t)n * sizeof *toks);
    p->pos += (int)n;
    row[p->pos++] = p->sp->sep;
}

void pretrain_pack(struct pretrain_seqs *out, int T, const struct pretrain_special *sp,
                   const int32_t *toks, const int64_t *off, const int64_t *idx, int64_t n_idx,
                   int64_t *truncated) {
    memset(out, 0, sizeof *out);
    out->T = T;
    struct packer p = {.s = out, .sp = sp};
    int64_t room = T - 2;
    for (int64_t k = 0; k < n_idx; k++) {
        int64_t i = idx[k], len = off[i + 1] - off[i];
        const int32_t *line = toks + off[i];
        if (len <= 0)
            continue;
        if (len > room) { /* a long line: whole sequences of its own */
            if (p.pos)
                close_row(&p);
            for (int64_t at = 0; at < len; at += room) {
                open_row(&p);
                append(&p, line + at, len - at < room ? len - at : room);
                close_row(&p);
            }
            if (truncated)
                (*truncated)++;
            continue;
        }
        if (p.pos && p.pos + len + 1 > T)
            close_row(&p);
        if (!p.pos)
            open_row(&p);
        append(&p, line, len);
    }
    if (p.pos)
        close_row(&p);
}

void pretrain_permutation(int64_t *perm, int64_t n, uint64_t seed, int64_t epoch) {
    for (int64_t i = 0; i < n; i++)
        perm[i] = i;
    uint64_t key = seed ^ (0xD1B54A32D192ED03ULL * (uint64_t)(epoch + 1));
    for (int64_t i = n - 1; i > 0; i--) {
        uint32_t w[4];
        rng_philox4x32(key, (uint64_t)i, w);
        uint64_t u = ((uint64_t)w[0] << 32) | w[1];
        int64_t j = (int64_t)(u % (uint64_t)(i + 1));
        int64_t tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
}
