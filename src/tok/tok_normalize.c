/* tok_normalize.c - HF normalizers: BertNormalizer, Lowercase, NFD/NFC/NFKC/NFKD, StripAccents,
 * Strip, Prepend, Replace (string pattern). Sequence is flattened at load time. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tok/tok_internal.h"

/* Unicode normal forms through utf8proc; the input is valid UTF-8. */
static pf_status unicode_map(struct tok_buf *b, utf8proc_option_t opt, struct pf_err *err) {
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)(b->p ? b->p : ""),
                                      (utf8proc_ssize_t)b->n, &dst, opt | UTF8PROC_STABLE);
    if (n < 0)
        return pf_err_set(err, PF_ERR_ARG, "text: normalization failed: %s",
                          utf8proc_errmsg(n));
    b->n = 0;
    tok_buf_put(b, dst, (size_t)n);
    free(dst);
    return PF_OK;
}

/* Full lowercase mapping as Rust's str::to_lowercase gives it for the cases utf8proc's simple
 * mapping misses (U+0130 -> "i\u0307"); final-sigma context is not handled. */
static void put_lower(struct tok_buf *o, int32_t c) {
    if (c == 0x130) {
        tok_buf_put_cp(o, 'i');
        tok_buf_put_cp(o, 0x307);
        return;
    }
    tok_buf_put_cp(o, utf8proc_tolower(c));
}

/* Rewrite b code point by code point; f appends the replacement of c to o. */
typedef void (*cp_fn)(struct tok_buf *o, int32_t c, const struct tok_norm *nm);

static void map_cps(struct tok_buf *b, struct tok_buf *tmp, cp_fn f, const struct tok_norm *nm) {
    tmp->n = 0;
    tok_buf_put(tmp, "", 0);
    for (size_t i = 0; i < b->n;) {
        int32_t c;
        i += (size_t)tok_utf8_next(b->p, b->n, i, &c);
        f(tmp, c, nm);
    }
    struct tok_buf t = *b;
    *b = *tmp;
    *tmp = t;
}

static void f_clean(struct tok_buf *o, int32_t c, const struct tok_norm *nm) {
    (void)nm;
    /* HF: drop NUL, U+FFFD and \p{C} except \t \n \r (so VT, FF, U+0085 go), then map
     * whitespace to ' ' */
    if (c == 0 || c == 0xFFFD)
        return;
    if (c != '\t' && c != '\n' && c != '\r' && tok_is_other(c))
        return;
    tok_buf_put_cp(o, tok_is_ws(c) ? ' ' : c);
}

static void f_chinese(struct tok_buf *o, int32_t c, const struct tok_norm *nm) {
    (void)nm;
    if (tok_is_cjk(c)) {
        tok_buf_putc(o, ' ');
        tok_buf_put_cp(o, c);
        tok_buf_putc(o, ' ');
    } else {
        tok_buf_put_cp(o, c);
    }
}

static void f_drop_mn(struct tok_buf *o, int32_t c, const struct tok_norm *nm) {
    (void)nm;
    if (!tok_is_mark_nonspacing(c))
        tok_buf_put_cp(o, c);
}

static void f_lower(struct tok_buf *o, int32_t c, const struct tok_norm *nm) {
    (void)nm;
    put_lower(o, c);
}

static void strip(struct tok_buf *b, int left, int right) {
    size_t s = 0, e = b->n;
    if (left) {
        while (s < e) {
            int32_t c;
            int k = tok_utf8_next(b->p, e, s, &c);
            if (!tok_is_ws(c))
                break;
            s += (size_t)k;
        }
    }
    if (right) {
        while (e > s) {
            size_t p = e - 1;
            while (p > s && ((unsigned char)b->p[p] & 0xC0) == 0x80)
                p--;
            int32_t c;
            tok_utf8_next(b->p, e, p, &c);
            if (!tok_is_ws(c))
                break;
            e = p;
        }
    }
    memmove(b->p, b->p + s, e - s);
    b->n = e - s;
    b->p[b->n] = '\0';
}

static void replace_all(struct tok_buf *b, struct tok_buf *tmp, const char *pat, const char *with) {
    size_t pn = strlen(pat), wn = strlen(with);
    if (pn == 0)
        return;
    tmp->n = 0;
    tok_buf_put(tmp, "", 0);
    for (size_t i = 0; i < b->n;) {
        if (i + pn <= b->n && memcmp(b->p + i, pat, pn) == 0) {
            tok_buf_put(tmp, with, wn);
            i += pn;
        } else {
            tok_buf_putc(tmp, b->p[i++]);
        }
    }
    struct tok_buf t = *b;
    *b = *tmp;
    *tmp = t;
}

pf_status tok_normalize(const struct tok_norm *norms, int n_norms, const char *s, size_t n,
                        struct tok_buf *out, struct pf_err *err) {
    out->n = 0;
    tok_buf_put(out, s, n);
    struct tok_buf tmp = {0};
    pf_status st = PF_OK;
    for (int k = 0; k < n_norms && st == PF_OK; k++) {
        const struct tok_norm *nm = &norms[k];
        switch (nm->kind) {
        case TN_BERT:
            if (nm->clean_text)
                map_cps(out, &tmp, f_clean, nm);
            if (nm->chinese)
                map_cps(out, &tmp, f_chinese, nm);
            if (nm->strip_accents) {
                st = unicode_map(out, UTF8PROC_DECOMPOSE, err);
                if (st == PF_OK)
                    map_cps(out, &tmp, f_drop_mn, nm);
            }
            if (nm->lowercase && st == PF_OK)
                map_cps(out, &tmp, f_lower, nm);
            break;
        case TN_LOWERCASE: map_cps(out, &tmp, f_lower, nm); break;
        case TN_NFD: st = unicode_map(out, UTF8PROC_DECOMPOSE, err); break;
        case TN_NFC: st = unicode_map(out, UTF8PROC_COMPOSE, err); break;
        case TN_NFKD: st = unicode_map(out, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, err); break;
        case TN_NFKC: st = unicode_map(out, UTF8PROC_COMPOSE | UTF8PROC_COMPAT, err); break;
        case TN_STRIP_ACCENTS: map_cps(out, &tmp, f_drop_mn, nm); break;
        case TN_STRIP: strip(out, nm->left, nm->right); break;
        case TN_PREPEND:
            if (out->n > 0) {
                tmp.n = 0;
                tok_buf_put(&tmp, nm->a, strlen(nm->a));
                tok_buf_put(&tmp, out->p, out->n);
                struct tok_buf t = *out;
                *out = tmp;
                tmp = t;
            }
            break;
        case TN_REPLACE: replace_all(out, &tmp, nm->a, nm->b); break;
        }
    }
    tok_buf_free(&tmp);
    return st;
}
