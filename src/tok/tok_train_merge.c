/* tok_train_merge.c - the WordPiece learner: alphabet, then merges by the likelihood score
 * score(a, b) = count(ab) / (count(a) * count(b)) over the counted words (or count(ab) alone
 * with by_frequency: BPE's rule, which HF's WordPieceTrainer uses).
 *
 * Words are kept as arrays of symbol ids (symbol id = final vocab id). Pair counts are kept
 * incrementally: each pair knows the words it occurs in (an append-only list, pruned lazily),
 * so a merge only rewrites the words that hold it (their pairs are subtracted, the word is
 * merged left to right, its pairs are added back). A merge changes count(a), count(b) and
 * count(ab), hence the score of every pair that involves a, b or ab, and of no other pair:
 * those pairs are pushed again into a max-heap of (score, pair). A heap entry is used only
 * when its score equals the pair's current score (stale entries are skipped), and the heap is
 * rebuilt from the live pairs when stale entries outnumber them. Ties go to the pair whose
 * (a, b) token strings are lexicographically smallest, so the result never depends on the
 * hash order of the words. */
#include <stdlib.h>
#include <string.h>

#include "tok/tok_train_internal.h"
#include "util/xalloc.h"

const char *const tok_train_specials[TOK_TRAIN_N_SPECIAL] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                                             "[MASK]"};

struct hent {
    double score;
    int32_t pair;
};

struct lrn {
    int64_t minf;
    int by_frequency;
    struct tok_vocab *v;
    int n_vocab, max_vocab;
    int64_t *scount;          /* symbol id -> occurrences (weighted by word counts) */
    struct tok_ivec *spairs;  /* symbol id -> pairs it is part of (may hold dead pairs) */
    /* words */
    int32_t *seq;
    size_t *woff;
    int32_t *wlen;
    int64_t *wcnt;
    int nw;
    /* pairs: (a, b) -> id by open addressing on keys */
    uint64_t *keys;
    int32_t *kid;
    size_t kcap;
    int32_t *pa, *pb;
    int64_t *pc;
    unsigned char *listed; /* bit 1: in spairs[pa]; bit 2: in spairs[pb] */
    struct tok_ivec *pw;   /* words holding the pair (append-only, may repeat or be stale) */
    int np, pcap;
    /* heap */
    struct hent *heap;
    size_t hn, hcap;
};

static uint64_t pkey(int32_t a, int32_t b) {
    return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
}

static void keys_rehash(struct lrn *L, size_t cap) {
    xfree(L->keys);
    xfree(L->kid);
    L->kcap = cap;
    L->keys = xmalloc(cap * sizeof *L->keys);
    L->kid = xmalloc(cap * sizeof *L->kid);
    for (size_t i = 0; i < cap; i++)
        L->kid[i] = -1;
    for (int32_t p = 0; p < L->np; p++) {
        uint64_t k = pkey(L->pa[p], L->pb[p]);
        size_t h = (size_t)tok_mix64(k) & (cap - 1);
        while (L->kid[h] >= 0)
            h = (h + 1) & (cap - 1);
        L->keys[h] = k;
        L->kid[h] = p;
    }
}

static int32_t pair_find(struct lrn *L, int32_t a, int32_t b) {
    uint64_t k = pkey(a, b);
    size_t h = (size_t)tok_mix64(k) & (L->kcap - 1);
    while (L->kid[h] >= 0) {
        if (L->keys[h] == k)
            return L->kid[h];
        h = (h + 1) & (L->kcap - 1);
    }
    if ((size_t)(L->np + 1) * 2 > L->kcap) {
        keys_rehash(L, L->kcap * 2);
        h = (size_t)tok_mix64(k) & (L->kcap - 1);
        while (L->kid[h] >= 0)
            h = (h + 1) & (L->kcap - 1);
    }
    if (L->np == L->pcap) {
        L->pcap = L->pcap ? 2 * L->pcap : 1024;
        L->pa = xrealloc(L->pa, (size_t)L->pcap * sizeof *L->pa);
        L->pb = xrealloc(L->pb, (size_t)L->pcap * sizeof *L->pb);
        L->pc = xrealloc(L->pc, (size_t)L->pcap * sizeof *L->pc);
        L->listed = xrealloc(L->listed, (size_t)L->pcap);
        L->pw = xrealloc(L->pw, (size_t)L->pcap * sizeof *L->pw);
    }
    int32_t p = L->np++;
    L->pa[p] = a;
    L->pb[p] = b;
    L->pc[p] = 0;
    L->listed[p] = 0;
    L->pw[p] = (struct tok_ivec){0};
    L->keys[h] = k;
    L->kid[h] = p;
    return p;
}

/* count(a, b) += delta; a positive delta with w >= 0 records that word w holds the pair. */
static void pair_add(struct lrn *L, int32_t a, int32_t b, int64_t delta, int32_t w) {
    int32_t p = pair_find(L, a, b);
    L->pc[p] += delta;
    if (L->pc[p] <= 0)
        return;
    if (!(L->listed[p] & 1)) {
        tok_ivec_push(&L->spairs[a], p);
        L->listed[p] |= 1;
    }
    if (a != b && !(L->listed[p] & 2)) {
        tok_ivec_push(&L->spairs[b], p);
        L->listed[p] |= 2;
    }
    struct tok_ivec *v = &L->pw[p];
    if (w >= 0 && (v->n == 0 || v->v[v->n - 1] != w))
        tok_ivec_push(v, w);
}

static double score(const struct lrn *L, int32_t p) {
    if (L->by_frequency)
        return (double)L->pc[p];
    return (double)L->pc[p] / ((double)L->scount[L->pa[p]] * (double)L->scount[L->pb[p]]);
}

/* e before f in the heap: higher score, then smaller (a, b) strings. */
static int before(const struct lrn *L, const struct hent *e, const struct hent *f) {
    if (e->score != f->score)
        return e->score > f->score;
    if (e->pair == f->pair)
        return 0;
    int c = strcmp(L->v->str[L->pa[e->pair]], L->v->str[L->pa[f->pair]]);
    if (c == 0)
        c = strcmp(L->v->str[L->pb[e->pair]], L->v->str[L->pb[f->pair]]);
    return c < 0;
}

static void heap_push(struct lrn *L, int32_t p) {
    if (L->hn == L->hcap) {
        L->hcap = L->hcap ? 2 * L->hcap : 4096;
        L->heap = xrealloc(L->heap, L->hcap * sizeof *L->heap);
    }
    struct hent e = {score(L, p), p};
    size_t i = L->hn++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!before(L, &e, &L->heap[up]))
            break;
        L->heap[i] = L->heap[up];
        i = up;
    }
    L->heap[i] = e;
}

static struct hent heap_pop(struct lrn *L) {
    struct hent top = L->heap[0], e = L->heap[--L->hn];
    size_t i = 0, n = L->hn;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(L, &L->heap[c + 1], &L->heap[c]))
            c++;
        if (!before(L, &L->heap[c], &e))
            break;
        L->heap[i] = L->heap[c];
        i = c;
    }
    if (n > 0)
        L->heap[i] = e;
    return top;
}

static void heap_rebuild(struct lrn *L) {
    L->hn = 0;
    for (int32_t p = 0; p < L->np; p++)
        if (L->pc[p] >= L->minf)
            heap_push(L, p);
}

/* Push every live pair of symbol s again (its score changed); drop dead pairs from the list. */
static void repush(struct lrn *L, int32_t s) {
    struct tok_ivec *v = &L->spairs[s];
    int k = 0;
    for (int i = 0; i < v->n; i++) {
        int32_t p = v->v[i];
        if (L->pc[p] <= 0) {
            L->listed[p] &= (unsigned char)~(L->pa[p] == s ? 1 : 2);
            if (L->pa[p] == s && L->pb[p] == s)
                L->listed[p] = 0;
            continue;
        }
        v->v[k++] = p;
        if (L->pc[p] >= L->minf)
            heap_push(L, p);
    }
    v->n = k;
}

/* Merge (a, b) -> c in word w; returns the number of merges made there. */
static int64_t merge_word(struct lrn *L, int32_t w, int32_t a, int32_t b, int32_t c) {
    int32_t *s = L->seq + L->woff[w];
    int n = L->wlen[w], found = 0;
    for (int i = 0; i + 1 < n && !found; i++)
        found = s[i] == a && s[i + 1] == b;
    if (!found)
        return 0;
    int64_t cnt = L->wcnt[w], m = 0;
    for (int i = 0; i + 1 < n; i++)
        pair_add(L, s[i], s[i + 1], -cnt, -1);
    int j = 0;
    for (int i = 0; i < n;) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
            s[j++] = c;
            i += 2;
            m++;
        } else {
            s[j++] = s[i++];
        }
    }
    L->wlen[w] = j;
    for (int i = 0; i + 1 < j; i++)
        pair_add(L, s[i], s[i + 1], cnt, s[i] == c || s[i + 1] == c ? w : -1);
    return m * cnt;
}

/* The token of merging a and b ("ab" or "##ab"); *id gets its id, new or existing. */
static int new_symbol(struct lrn *L, int32_t a, int32_t b, int32_t *id) {
    const char *sa = L->v->str[a], *sb = L->v->str[b];
    size_t na = L->v->len[a], nb = L->v->len[b];
    PF_ASSERT(nb > 2 && sb[0] == '#' && sb[1] == '#');
    char buf[2 * (TOK_TRAIN_MAX_WORD_CHARS * 4 + 2) + 1];
    PF_ASSERT(na + nb - 2 < sizeof buf);
    memcpy(buf, sa, na);
    memcpy(buf + na, sb + 2, nb - 2);
    size_t n = na + nb - 2;
    *id = tok_vocab_get(L->v, buf, n);
    if (*id >= 0)
        return 0;
    int32_t old;
    *id = L->n_vocab++;
    PF_ASSERT(tok_vocab_add(L->v, buf, n, *id, &old) == 0);
    return 1;
}

static int cmp_str(const void *x, const void *y) {
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Alphabet: every initial character "c" and continuation "##c" with count >= minf, sorted
 * by bytes, ids after the specials. Fills the word arrays with the words all of whose
 * characters made it (the others would encode as [UNK] anyway). */
/* Every character of the counted words into chars (continuations as "##c"), with its
 * occurrences weighted by word count in *ccp (grown with chars); returns the characters in
 * all, *ncp the distinct ones. */
static size_t count_chars(const struct tok_wc *wc, struct tok_vocab *chars, int64_t **ccp,
                          int *ncp) {
    int64_t *cc = *ccp;
    int nc = 0;
    char key[8] = "##";
    size_t total = 0;
    for (size_t i = 0; i < wc->cap; i++) {
        const struct tok_wc_slot *e = &wc->slots[i];
        if (!e->hash)
            continue;
        const char *s = wc->arena.p + e->off;
        for (size_t k = 0; k < e->len;) {
            int32_t cp;
            size_t len = (size_t)tok_utf8_next(s, e->len, k, &cp);
            memcpy(key + 2, s + k, len);
            const char *kp = k ? key : key + 2;
            size_t kn = k ? len + 2 : len;
            int32_t id = tok_vocab_get(chars, kp, kn);
            if (id < 0) {
                if (nc == chars->size) {
                    tok_vocab_grow(chars, 2 * nc);
                    cc = xrealloc(cc, (size_t)(2 * nc) * sizeof *cc);
                }
                int32_t old;
                id = nc++;
                cc[id] = 0;
                tok_vocab_add(chars, kp, kn, id, &old);
            }
            cc[id] += (int64_t)e->count;
            k += len;
            total++;
        }
    }
    *ccp = cc;
    *ncp = nc;
    return total;
}

/* The counted words as symbol ids of L->v (L->seq, woff, wlen, wcnt, nw; total characters
 * in all); a word with a character outside the alphabet is left out. */
static void words_as_ids(struct lrn *L, const struct tok_wc *wc, size_t total) {
    char key[8] = "##";
    L->seq = xmalloc((total > 0 ? total : 1) * sizeof *L->seq);
    L->woff = xmalloc((wc->n + 1) * sizeof *L->woff);
    L->wlen = xmalloc((wc->n + 1) * sizeof *L->wlen);
    L->wcnt = xmalloc((wc->n + 1) * sizeof *L->wcnt);
    size_t at = 0;
    for (size_t i = 0; i < wc->cap; i++) {
        const struct tok_wc_slot *e = &wc->slots[i];
        if (!e->hash)
            continue;
        const char *s = wc->arena.p + e->off;
        int n = 0, ok = 1;
        for (size_t k = 0; k < e->len && ok;) {
            int32_t cp;
            size_t len = (size_t)tok_utf8_next(s, e->len, k, &cp);
            memcpy(key + 2, s + k, len);
            int32_t id = k ? tok_vocab_get(L->v, key, len + 2) : tok_vocab_get(L->v, s, len);
            ok = id >= TOK_TRAIN_N_SPECIAL;
            L->seq[at + (size_t)n++] = id;
            k += len;
        }
        if (!ok)
            continue;
        L->woff[L->nw] = at;
        L->wlen[L->nw] = n;
        L->wcnt[L->nw] = (int64_t)e->count;
        L->nw++;
        at += (size_t)n;
    }
}

static pf_status build_alphabet(struct lrn *L, const struct tok_wc *wc,
                                struct tok_train_stats *st, struct pf_err *err) {
    struct tok_vocab chars;
    tok_vocab_init(&chars, 256);
    int64_t *cc = xcalloc(256, sizeof *cc);
    int nc = 0;
    size_t total = count_chars(wc, &chars, &cc, &nc);
    const char **kept = xmalloc((size_t)(nc + 1) * sizeof *kept);
    int nk = 0;
    for (int i = 0; i < nc; i++) {
        if (cc[i] >= L->minf)
            kept[nk++] = chars.str[i];
    }
    st->alphabet = nk;
    st->dropped_chars = nc - nk;
    pf_status rc = PF_OK;
    if (nk == 0) {
        rc = pf_err_set(err, PF_ERR_ARG, "no characters occur at least %lld times in the input",
                        (long long)L->minf);
    } else if (TOK_TRAIN_N_SPECIAL + nk > L->max_vocab) {
        rc = pf_err_set(err, PF_ERR_ARG,
                        "vocab size %d is too small: the %d special tokens and the alphabet of "
                        "%d characters need at least %d",
                        L->max_vocab, TOK_TRAIN_N_SPECIAL, nk, TOK_TRAIN_N_SPECIAL + nk);
    }
    if (rc == PF_OK) {
        qsort(kept, (size_t)nk, sizeof *kept, cmp_str);
        int32_t old;
        for (int i = 0; i < TOK_TRAIN_N_SPECIAL; i++)
            PF_ASSERT(tok_vocab_add(L->v, tok_train_specials[i], strlen(tok_train_specials[i]),
                                    i, &old) == 0);
        L->n_vocab = TOK_TRAIN_N_SPECIAL;
        for (int i = 0; i < nk; i++)
            PF_ASSERT(tok_vocab_add(L->v, kept[i], strlen(kept[i]), L->n_vocab++, &old) == 0);
        words_as_ids(L, wc, total);
    }
    xfree(kept);
    xfree(cc);
    tok_vocab_free(&chars);
    return rc;
}

static void lrn_free(struct lrn *L) {
    for (int i = 0; i < L->max_vocab; i++)
        tok_ivec_free(&L->spairs[i]);
    for (int p = 0; p < L->np; p++)
        tok_ivec_free(&L->pw[p]);
    xfree(L->spairs);
    xfree(L->scount);
    xfree(L->seq);
    xfree(L->woff);
    xfree(L->wlen);
    xfree(L->wcnt);
    xfree(L->keys);
    xfree(L->kid);
    xfree(L->pa);
    xfree(L->pb);
    xfree(L->pc);
    xfree(L->listed);
    xfree(L->pw);
    xfree(L->heap);
}

pf_status tok_train_learn_vocab(const struct tok_wc *wc, const struct tok_train_opts *o,
                                struct tok_vocab *vocab, struct tok_train_stats *st,
                                struct pf_err *err) {
    if (wc->n == 0)
        return pf_err_set(err, PF_ERR_ARG, "the input holds no words to learn from");
    struct lrn L = {0};
    L.minf = o->min_frequency;
    L.by_frequency = o->by_frequency != 0;
    L.v = vocab;
    L.max_vocab = o->vocab_size;
    tok_vocab_init(vocab, o->vocab_size);
    L.scount = xcalloc((size_t)L.max_vocab, sizeof *L.scount);
    L.spairs = xcalloc((size_t)L.max_vocab, sizeof *L.spairs);
    keys_rehash(&L, 1024);
    pf_status rc = build_alphabet(&L, wc, st, err);
    if (rc != PF_OK) {
        lrn_free(&L);
        return rc;
    }
    for (int32_t w = 0; w < L.nw; w++) {
        const int32_t *s = L.seq + L.woff[w];
        for (int i = 0; i < L.wlen[w]; i++)
            L.scount[s[i]] += L.wcnt[w];
        for (int i = 0; i + 1 < L.wlen[w]; i++)
            pair_add(&L, s[i], s[i + 1], L.wcnt[w], w);
    }
    heap_rebuild(&L);
    while (L.n_vocab < L.max_vocab && L.hn > 0) {
        struct hent e = heap_pop(&L);
        int32_t p = e.pair;
        if (L.pc[p] < L.minf || e.score != score(&L, p))
            continue; /* stale */
        int32_t a = L.pa[p], b = L.pb[p], c;
        st->merges += new_symbol(&L, a, b, &c);
        /* the word list may grow while we walk it (c == a or b is impossible: c is longer) */
        for (int i = 0; i < L.pw[p].n; i++) {
            int64_t m = merge_word(&L, L.pw[p].v[i], a, b, c);
            L.scount[a] -= m;
            L.scount[b] -= m;
            L.scount[c] += m;
        }
        L.pw[p].n = 0; /* every occurrence is merged: the pair is dead */
        repush(&L, a);
        if (b != a)
            repush(&L, b);
        repush(&L, c);
        if (L.hn > 4 * (size_t)L.np + 65536)
            heap_rebuild(&L);
    }
    vocab->size = L.n_vocab;
    st->vocab_size = L.n_vocab;
    lrn_free(&L);
    return PF_OK;
}
