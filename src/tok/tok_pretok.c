/* tok_pretok.c - HF pre-tokenizers: BertPreTokenizer, Whitespace, WhitespaceSplit, ByteLevel,
 * Split, Metaspace, Digits, Punctuation (Sequence is flattened at load time). Each one maps a
 * list of pieces to a new list. */
#include <string.h>

#include "tok/tok_internal.h"

typedef int (*cp_pred)(int32_t c);

/* Cut [s, s+n) into pieces by character class: chars where drop() holds are removed, chars
 * where iso() holds are pieces of their own (or runs of their own when iso_runs), the other
 * chars join into runs (BertPreTokenizer, WhitespaceSplit, Punctuation, Digits). */
static void split_chars(const char *s, size_t n, int first, cp_pred drop, cp_pred iso,
                        int iso_runs, struct tok_pieces *out) {
    enum { DROP, SINGLE, RUN, OTHER };
    size_t start = 0, i = 0;
    int cur = OTHER;
    while (i < n) {
        int32_t c;
        size_t k = (size_t)tok_utf8_next(s, n, i, &c);
        int cls = drop && drop(c) ? DROP : iso && iso(c) ? (iso_runs ? RUN : SINGLE) : OTHER;
        if (i > start && (cls != cur || cls == SINGLE)) {
            if (cur != DROP)
                tok_pieces_add(out, s + start, i - start, first && start == 0);
            start = i;
        }
        cur = cls;
        i += k;
    }
    if (n > start && cur != DROP)
        tok_pieces_add(out, s + start, n - start, first && start == 0);
}

/* Whitespace: \w+|[^\w\s]+ (everything else removed). */
static void whitespace(const char *s, size_t n, int first, struct tok_pieces *out) {
    size_t i = 0;
    while (i < n) {
        int32_t c;
        size_t k = (size_t)tok_utf8_next(s, n, i, &c);
        if (tok_is_ws(c)) {
            i += k;
            continue;
        }
        int word = tok_is_word(c);
        size_t j = i + k;
        while (j < n) {
            int32_t d;
            size_t k2 = (size_t)tok_utf8_next(s, n, j, &d);
            if (tok_is_ws(d) || tok_is_word(d) != word)
                break;
            j += k2;
        }
        tok_pieces_add(out, s + i, j - i, first && i == 0);
        i = j;
    }
}

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the others to 256+k. */
static int32_t byte_cp(unsigned char b) {
    static int32_t table[256];
    static int ready;
    if (!ready) {
        int k = 0;
        for (int x = 0; x < 256; x++) {
            int keep = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
            table[x] = keep ? x : 256 + k++;
        }
        ready = 1;
    }
    return table[b];
}

static void bytelevel(const struct tok_pre *p, const char *s, size_t n, int first,
                      struct tok_pieces *out, struct tok_buf *tmp) {
    tmp->n = 0;
    if (p->add_prefix_space && (n == 0 || s[0] != ' '))
        tok_buf_putc(tmp, ' ');
    tok_buf_put(tmp, s, n);
    const char *t = tmp->p;
    size_t tn = tmp->n;
    struct tok_buf mapped = {0};
    size_t i = 0;
    while (i < tn) {
        size_t m = p->use_regex ? tok_regex_match(TOK_RE_GPT2, t, tn, i) : tn - i;
        mapped.n = 0;
        for (size_t q = i; q < i + m; q++)
            tok_buf_put_cp(&mapped, byte_cp((unsigned char)t[q]));
        tok_pieces_add(out, mapped.p, mapped.n, first && i == 0);
        i += m;
    }
    tok_buf_free(&mapped);
}

static void split_regex(const struct tok_pre *p, const char *s, size_t n, int first,
                        struct tok_pieces *out) {
    for (size_t i = 0; i < n;) {
        size_t m = tok_regex_match(p->regex, s, n, i);
        tok_pieces_add(out, s + i, m, first && i == 0);
        i += m;
    }
}

static void split_string(const struct tok_pre *p, const char *s, size_t n, int first,
                         struct tok_pieces *out) {
    size_t pn = strlen(p->pattern), start = 0;
    for (size_t i = 0; pn && i + pn <= n;) {
        if (memcmp(s + i, p->pattern, pn) != 0) {
            i++;
            continue;
        }
        if (i > start)
            tok_pieces_add(out, s + start, i - start, first && start == 0);
        if (p->behavior == TB_ISOLATED)
            tok_pieces_add(out, s + i, pn, first && i == 0);
        i += pn;
        start = i;
    }
    if (n > start)
        tok_pieces_add(out, s + start, n - start, first && start == 0);
}

static void metaspace(const struct tok_pre *p, const char *s, size_t n, int first,
                      struct tok_pieces *out, struct tok_buf *tmp) {
    size_t rn = strlen(p->replacement);
    tmp->n = 0;
    tok_buf_put(tmp, "", 0);
    int starts = n >= rn && memcmp(s, p->replacement, rn) == 0;
    if (!starts && (p->prepend_scheme == TPS_ALWAYS || (p->prepend_scheme == TPS_FIRST && first)))
        tok_buf_put(tmp, p->replacement, rn);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ')
            tok_buf_put(tmp, p->replacement, rn);
        else
            tok_buf_putc(tmp, s[i]);
    }
    if (!p->split) {
        tok_pieces_add(out, tmp->p, tmp->n, first);
        return;
    }
    /* MergedWithNext: every replacement char starts a new piece */
    size_t start = 0;
    for (size_t i = 0; i + rn <= tmp->n; i++) {
        if (i > start && memcmp(tmp->p + i, p->replacement, rn) == 0) {
            tok_pieces_add(out, tmp->p + start, i - start, first && start == 0);
            start = i;
        }
    }
    if (tmp->n > start)
        tok_pieces_add(out, tmp->p + start, tmp->n - start, first && start == 0);
}

void tok_pretokenize(const struct tok_pre *pres, int n_pres, const char *s, size_t n, int first,
                     struct tok_pieces *out) {
    tok_pieces_clear(out);
    tok_pieces_add(out, s, n, first);
    struct tok_pieces in = {0};
    struct tok_buf tmp = {0};
    for (int k = 0; k < n_pres; k++) {
        const struct tok_pre *p = &pres[k];
        struct tok_pieces t = in;
        in = *out;
        *out = t;
        tok_pieces_clear(out);
        for (int q = 0; q < in.n; q++) {
            const char *ps = in.text.p + in.off[q];
            size_t pn = in.len[q];
            int pf = in.first[q];
            switch (p->kind) {
            case TP_BERT: split_chars(ps, pn, pf, tok_is_ws, tok_is_punct, 0, out); break;
            case TP_WHITESPACE: whitespace(ps, pn, pf, out); break;
            case TP_WSSPLIT: split_chars(ps, pn, pf, tok_is_ws, NULL, 0, out); break;
            case TP_PUNCT: split_chars(ps, pn, pf, NULL, tok_is_punct, 0, out); break;
            case TP_DIGITS:
                split_chars(ps, pn, pf, NULL, tok_is_number, !p->individual_digits, out);
                break;
            case TP_BYTELEVEL: bytelevel(p, ps, pn, pf, out, &tmp); break;
            case TP_SPLIT:
                if (p->regex != TOK_RE_NONE)
                    split_regex(p, ps, pn, pf, out);
                else
                    split_string(p, ps, pn, pf, out);
                break;
            case TP_METASPACE: metaspace(p, ps, pn, pf, out, &tmp); break;
            }
        }
    }
    tok_pieces_free(&in);
    tok_buf_free(&tmp);
}
