/* tok_bpe.c - the BPE model (HF semantics, dropout off).
 *
 * A pre-token is first looked up whole when ignore_merges is set (LLaMA-3). Otherwise each
 * character becomes its vocabulary id; an unknown character becomes its <0xNN> byte tokens when
 * byte_fallback is on, else the unk token (consecutive unks fused into one when fuse_unk), or
 * is dropped when the model has no unk token. Then the adjacent pair with the lowest merge rank
 * (leftmost among equals) is merged until none is left - the order HF's priority queue gives.
 * Pair ranks are cached per position, so a merge step costs one scan without hash lookups. */
#include <limits.h>
#include <string.h>

#include "tok/tok_internal.h"
#include "util/xalloc.h"

void tok_bpe(const struct tok_model *m, const struct tok_vocab *v, const char *s, size_t n,
             struct tok_ivec *out) {
    if (m->ignore_merges) {
        int32_t id = tok_vocab_get(v, s, n);
        if (id >= 0) {
            tok_ivec_push(out, id);
            return;
        }
    }
    struct tok_ivec sym = {0};
    int pending_unk = 0;
    for (size_t i = 0; i < n;) {
        int32_t c;
        size_t k = (size_t)tok_utf8_next(s, n, i, &c);
        int32_t id = tok_vocab_get(v, s + i, k);
        if (id >= 0) {
            if (pending_unk)
                tok_ivec_push(&sym, m->unk_id);
            pending_unk = 0;
            tok_ivec_push(&sym, id);
        } else if (m->byte_fallback) {
            for (size_t q = 0; q < k; q++)
                tok_ivec_push(&sym, m->byte_ids[(unsigned char)s[i + q]]);
        } else if (m->unk_id >= 0) {
            if (pending_unk && !m->fuse_unk)
                tok_ivec_push(&sym, m->unk_id);
            pending_unk = 1;
        }
        i += k;
    }
    if (pending_unk)
        tok_ivec_push(&sym, m->unk_id);

    int len = sym.n;
    if (len > 1) {
        int32_t *rank = xmalloc((size_t)len * sizeof *rank), *nid = xmalloc((size_t)len * sizeof *nid);
        for (int i = 0; i + 1 < len; i++)
            if (!tok_merges_get(&m->merges, sym.v[i], sym.v[i + 1], &rank[i], &nid[i]))
                rank[i] = INT_MAX;
        for (;;) {
            int best = -1;
            for (int i = 0; i + 1 < len; i++)
                if (rank[i] != INT_MAX && (best < 0 || rank[i] < rank[best]))
                    best = i;
            if (best < 0)
                break;
            sym.v[best] = nid[best];
            int tail = len - best - 2; /* entries after best+1 */
            memmove(sym.v + best + 1, sym.v + best + 2, (size_t)tail * sizeof *sym.v);
            if (tail > 0) {
                memmove(rank + best + 1, rank + best + 2, (size_t)(tail - 1) * sizeof *rank);
                memmove(nid + best + 1, nid + best + 2, (size_t)(tail - 1) * sizeof *nid);
            }
            len--;
            for (int i = best - 1; i <= best; i++) {
                if (i < 0 || i + 1 >= len)
                    continue;
                if (!tok_merges_get(&m->merges, sym.v[i], sym.v[i + 1], &rank[i], &nid[i]))
                    rank[i] = INT_MAX;
            }
        }
        xfree(rank);
        xfree(nid);
    }
    for (int i = 0; i < len; i++)
        tok_ivec_push(out, sym.v[i]);
    tok_ivec_free(&sym);
}
