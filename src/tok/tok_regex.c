/* tok_regex.c - hand-written scanners for the two split regexes HF tokenizers use. No regex
 * engine: each scanner tries the alternatives in order at position i, with the greedy and
 * backtracking behaviour of the regex, and returns the match length. Every character belongs to
 * some alternative, so matches tile the text (Isolated behaviour keeps them all).
 * \s is Unicode White_Space, \p{L} letters (Lu Ll Lt Lm Lo), \p{N} numbers (Nd Nl No). */
#include <string.h>

#include "tok/tok_internal.h"

/* GPT-2 (ByteLevel use_regex):
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
const char tok_gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* LLaMA-3 (Split, behavior Isolated):
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
 *   \s*[\r\n]+|\s+(?!\S)|\s+ */
const char tok_llama3_pattern[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
    " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

struct scan {
    const char *s;
    size_t n;
};

/* Code point at i (or -1 at the end) and its length in *k. */
static int32_t at(const struct scan *x, size_t i, int *k) {
    if (i >= x->n) {
        *k = 0;
        return -1;
    }
    int32_t c;
    *k = tok_utf8_next(x->s, x->n, i, &c);
    return c;
}

static int is_other_class(int32_t c) { /* [^\s\p{L}\p{N}] */
    return c >= 0 && !tok_is_ws(c) && !tok_is_letter(c) && !tok_is_number(c);
}

/* End of the run of chars satisfying f starting at i. */
static size_t run(const struct scan *x, size_t i, int (*f)(int32_t)) {
    int k;
    int32_t c;
    while ((c = at(x, i, &k)) >= 0 && f(c))
        i += (size_t)k;
    return i;
}

/* \s+(?!\S)|\s+ at i, where the char at i is whitespace: the whitespace run, less its last
 * char when a non-space follows and the run has two or more chars. */
static size_t ws_tail(const struct scan *x, size_t i) {
    size_t j = run(x, i, tok_is_ws);
    if (j >= x->n)
        return j - i;
    size_t last = j - 1;
    while (last > i && ((unsigned char)x->s[last] & 0xC0) == 0x80)
        last--;
    return last > i ? last - i : j - i;
}

/* Contractions 's 't 're 've 'm 'll 'd at i; case-insensitive when ci (Unicode simple case
 * folding: also U+017F long s for s, U+212A Kelvin sign for k does not occur here). */
static size_t contraction(const struct scan *x, size_t i, int ci) {
    if (x->s[i] != '\'')
        return 0;
    static const char *suf[] = {"s", "t", "re", "ve", "m", "ll", "d"};
    for (int w = 0; w < 7; w++) {
        size_t p = i + 1, q = 0;
        const char *t = suf[w];
        while (t[q]) {
            int k;
            int32_t c = at(x, p, &k);
            if (c < 0)
                break;
            int32_t want = t[q];
            int ok = c == want;
            if (ci && !ok)
                ok = (c == want - 32) || (want == 's' && c == 0x17F);
            if (!ok)
                break;
            p += (size_t)k;
            q++;
        }
        if (!t[q])
            return p - i;
    }
    return 0;
}

static size_t gpt2(const struct scan *x, size_t i) {
    size_t m = contraction(x, i, 0);
    if (m)
        return m;
    int k, k2;
    int32_t c = at(x, i, &k);
    size_t j = i;
    int32_t d = c;
    if (c == ' ') { /* ' ?' : take the space when the class run follows */
        d = at(x, i + (size_t)k, &k2);
        if (d >= 0 && (tok_is_letter(d) || tok_is_number(d) || is_other_class(d)))
            j = i + (size_t)k;
        else
            d = c;
    }
    if (d >= 0 && tok_is_letter(d))
        return run(x, j, tok_is_letter) - i;
    if (d >= 0 && tok_is_number(d))
        return run(x, j, tok_is_number) - i;
    if (is_other_class(d))
        return run(x, j, is_other_class) - i;
    return ws_tail(x, i); /* c is whitespace */
}

static int is_crlf(int32_t c) { return c == '\r' || c == '\n'; }

static size_t llama3(const struct scan *x, size_t i) {
    size_t m = contraction(x, i, 1);
    if (m)
        return m;
    int k, k2;
    int32_t c = at(x, i, &k);
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (tok_is_letter(c))
        return run(x, i, tok_is_letter) - i;
    if (!is_crlf(c) && !tok_is_number(c)) {
        int32_t d = at(x, i + (size_t)k, &k2);
        if (d >= 0 && tok_is_letter(d))
            return run(x, i + (size_t)k, tok_is_letter) - i;
    }
    /* \p{N}{1,3} */
    if (tok_is_number(c)) {
        size_t j = i;
        for (int r = 0; r < 3; r++) {
            int32_t d = at(x, j, &k2);
            if (d < 0 || !tok_is_number(d))
                break;
            j += (size_t)k2;
        }
        return j - i;
    }
    /* ' ?[^\s\p{L}\p{N}]+[\r\n]*' */
    {
        size_t j = i;
        int32_t d = c;
        if (c == ' ') {
            d = at(x, i + (size_t)k, &k2);
            if (is_other_class(d))
                j = i + (size_t)k;
            else
                d = c;
        }
        if (is_other_class(d)) {
            j = run(x, j, is_other_class);
            j = run(x, j, is_crlf);
            return j - i;
        }
    }
    /* \s*[\r\n]+ : up to and including the last \r or \n of the whitespace run */
    size_t j = run(x, i, tok_is_ws), last_nl = 0;
    int found = 0;
    for (size_t p = i; p < j; p++) {
        if (x->s[p] == '\r' || x->s[p] == '\n') {
            last_nl = p;
            found = 1;
        }
    }
    if (found)
        return last_nl + 1 - i;
    return ws_tail(x, i); /* \s+(?!\S)|\s+ */
}

size_t tok_regex_match(enum tok_regex re, const char *s, size_t n, size_t i) {
    struct scan x = {s, n};
    size_t m = re == TOK_RE_LLAMA3 ? llama3(&x, i) : gpt2(&x, i);
    if (m == 0) { /* cannot happen for these patterns; never loop forever */
        int32_t c;
        m = (size_t)tok_utf8_next(s, n, i, &c);
    }
    return m;
}
