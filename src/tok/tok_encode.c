/* tok_encode.c - the encode pipeline and the accessors.
 *
 * Added tokens are matched as HF does: first the tokens with normalized=false on the raw text,
 * leftmost-longest; every other segment is normalized, then the normalized=true tokens are
 * matched on the normalized text (their content normalized the same way); what is left is
 * pre-tokenized and run through the model. Honoured flags: lstrip / rstrip (whitespace next to
 * the token is dropped), single_word (the match must not touch a word character), normalized.
 * Special or not makes no difference to matching (it only matters to decoding). */
#include <string.h>

#include "tok/tok_internal.h"
#include "util/xalloc.h"

const char *tok_kind(const struct tokenizer *t) { return t->kind; }
int32_t tok_vocab_size(const struct tokenizer *t) { return t->vocab.size; }
int32_t tok_pad_id(const struct tokenizer *t) { return t->pad_id; }

int32_t tok_token_to_id(const struct tokenizer *t, const char *token) {
    return token ? tok_vocab_get(&t->vocab, token, strlen(token)) : -1;
}

const char *tok_id_to_token(const struct tokenizer *t, int32_t id) {
    return id >= 0 && id < t->vocab.size ? t->vocab.str[id] : NULL;
}

static int word_before(const char *s, size_t i) {
    if (i == 0)
        return 0;
    size_t p = i - 1;
    while (p > 0 && ((unsigned char)s[p] & 0xC0) == 0x80)
        p--;
    int32_t c;
    tok_utf8_next(s, i, p, &c);
    return tok_is_word(c);
}

static int word_at(const char *s, size_t n, size_t i) {
    if (i >= n)
        return 0;
    int32_t c;
    tok_utf8_next(s, n, i, &c);
    return tok_is_word(c);
}

/* Longest added token of the pass matching at s[i], or -1. */
static int match_added(const struct tokenizer *t, const char *s, size_t n, size_t i, int pass) {
    int best = -1;
    size_t best_len = 0;
    for (int k = 0; k < t->n_added; k++) {
        const struct tok_added *a = &t->added[k];
        int norm_pass = a->normalized && t->n_norms > 0;
        if (norm_pass != pass)
            continue;
        const char *c = pass ? a->norm_content : a->content;
        size_t cl = pass ? a->norm_len : a->len;
        if (cl == 0 || cl <= best_len || i + cl > n || memcmp(s + i, c, cl) != 0)
            continue;
        if (a->single_word && (word_before(s, i) || word_at(s, n, i + cl)))
            continue;
        best = k;
        best_len = cl;
    }
    return best;
}

static size_t skip_ws(const char *s, size_t n, size_t i) {
    while (i < n) {
        int32_t c;
        int k = tok_utf8_next(s, n, i, &c);
        if (!tok_is_ws(c))
            break;
        i += (size_t)k;
    }
    return i;
}

static size_t trim_ws_end(const char *s, size_t start, size_t end) {
    while (end > start) {
        size_t p = end - 1;
        while (p > start && ((unsigned char)s[p] & 0xC0) == 0x80)
            p--;
        int32_t c;
        tok_utf8_next(s, end, p, &c);
        if (!tok_is_ws(c))
            break;
        end = p;
    }
    return end;
}

struct enc_ctx {
    const struct tokenizer *t;
    struct tok_buf norm;
    struct tok_pieces pieces;
    struct tok_ivec *ids;
    struct pf_err *err;
};

static void run_model(struct enc_ctx *x, const char *s, size_t n, int first) {
    const struct tokenizer *t = x->t;
    tok_pretokenize(t->pres, t->n_pres, s, n, first, &x->pieces);
    for (int q = 0; q < x->pieces.n; q++) {
        const char *ps = x->pieces.text.p + x->pieces.off[q];
        size_t pn = x->pieces.len[q];
        if (pn == 0)
            continue;
        if (t->model.kind == TM_WORDPIECE)
            tok_wordpiece(&t->model, &t->vocab, ps, pn, x->ids);
        else
            tok_bpe(&t->model, &t->vocab, ps, pn, x->ids);
    }
}

/* Split s by the added tokens of one pass; pass 0 segments are normalized and split again by
 * pass 1; pass 1 segments go to the model. */
static pf_status split_added(struct enc_ctx *x, const char *s, size_t n, int pass, int first) {
    const struct tokenizer *t = x->t;
    size_t seg = 0, i = 0;
    pf_status st = PF_OK;
    while (st == PF_OK) {
        int k = i < n ? match_added(t, s, n, i, pass) : -1;
        if (i < n && k < 0) {
            i++;
            continue;
        }
        size_t end = i;
        if (k >= 0 && t->added[k].lstrip)
            end = trim_ws_end(s, seg, end);
        if (end > seg) {
            if (pass == 0) {
                st = tok_normalize(t->norms, t->n_norms, s + seg, end - seg, &x->norm, x->err);
                if (st == PF_OK && x->norm.n > 0) {
                    /* the normalized text moves to its own buffer: the recursion reuses norm */
                    char *copy = xmalloc(x->norm.n + 1);
                    size_t cn = x->norm.n;
                    memcpy(copy, x->norm.p, cn);
                    st = split_added(x, copy, cn, 1, first && seg == 0);
                    xfree(copy);
                }
            } else {
                run_model(x, s + seg, end - seg, first && seg == 0);
            }
        }
        if (k < 0)
            break;
        const struct tok_added *a = &t->added[k];
        tok_ivec_push(x->ids, a->id);
        i += pass ? a->norm_len : a->len;
        if (a->rstrip)
            i = skip_ws(s, n, i);
        seg = i;
    }
    return st;
}

static pf_status encode_seq(const struct tokenizer *t, const char *s, size_t n,
                            struct tok_ivec *ids, struct pf_err *err) {
    struct enc_ctx x = {.t = t, .ids = ids, .err = err};
    pf_status st = split_added(&x, s, n, 0, 1);
    tok_buf_free(&x.norm);
    tok_pieces_free(&x.pieces);
    return st;
}

pf_status tok_encode(const struct tokenizer *t, const char *text, size_t len, const char *pair,
                     size_t pair_len, const struct tok_options *o, struct tok_encoding *out,
                     struct pf_err *err) {
    if (!out)
        return pf_err_set(err, PF_ERR_ARG, "tok_encode: no output encoding");
    memset(out, 0, sizeof *out);
    if (!t || (!text && len) || (!pair && pair_len))
        return pf_err_set(err, PF_ERR_ARG, "tok_encode: NULL tokenizer or text");
    static const struct tok_options defaults = {1, 0};
    if (!o)
        o = &defaults;
    if (!text)
        text = "";
    long bad = tok_utf8_invalid_at(text, len);
    if (bad >= 0)
        return pf_err_set(err, PF_ERR_ARG, "text: invalid UTF-8 at byte offset %ld (0x%02x)",
                          bad, (unsigned char)text[bad]);
    if (pair) {
        bad = tok_utf8_invalid_at(pair, pair_len);
        if (bad >= 0)
            return pf_err_set(err, PF_ERR_ARG,
                              "pair text: invalid UTF-8 at byte offset %ld (0x%02x)", bad,
                              (unsigned char)pair[bad]);
    }
    struct tok_ivec a = {0}, b = {0};
    pf_status st = encode_seq(t, text, len, &a, err);
    if (st == PF_OK && pair)
        st = encode_seq(t, pair, pair_len, &b, err);
    if (st == PF_OK)
        st = tok_post_process(t, &a, pair ? &b : NULL, o, out, err);
    if (st != PF_OK)
        tok_encoding_free(out);
    tok_ivec_free(&a);
    tok_ivec_free(&b);
    return st;
}
