/* tok_json.c - build a tokenizer from tokenizer.json (HF `tokenizers` layout) and validate it
 * (reliability case 8). Every error is one line that starts with the file path:
 * PF_ERR_FORMAT for malformed files, PF_ERR_UNSUPPORTED for valid HF features we do not
 * implement. Rules beyond HF's own parser:
 *   - model vocab ids are exactly 0..N-1 (no holes, no duplicates, no duplicate strings);
 *   - an added token either repeats a vocab entry (same string, same id) or takes one of the
 *     ids N..N+k-1 right after the vocab (k = number of new added tokens);
 *   - post-processor and padding ids lie below the vocab size;
 *   - token strings are valid UTF-8, non-empty, at most TOK_MAX_TOKEN_BYTES bytes;
 *   - with byte_fallback on, every vocab token that looks like "<0x...>" is exactly "<0xHH>"
 *     (two upper-case hex digits, as HF looks them up) and all 256 of them are present;
 *   - BPE merges name known tokens and their concatenation is in the vocab;
 *   - Sequence components nest at most 16 deep (cJSON's own limit bounds the document). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/tok_internal.h"
#include "util/xalloc.h"
#include "util/file.h"

#define MAX_DEPTH 16

struct ld {
    const char *path;
    struct pf_err *err;
    struct tokenizer *t;
    int32_t n_model; /* model vocab entries */
};

__attribute__((format(printf, 3, 4))) static pf_status fail(struct ld *L, pf_status code,
                                                            const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    pf_err_vat(L->err, code, L->path, fmt, ap);
    va_end(ap);
    return code;
}

/* A token for messages: at most 40 bytes, cut on a character boundary. */
static const char *show(const char *s, char *buf, size_t cap) {
    size_t n = strlen(s);
    if (n < cap && n <= 40)
        return s;
    size_t k = 40 < cap - 4 ? 40 : cap - 4;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    memcpy(buf, s, k);
    memcpy(buf + k, "...", 4);
    return buf;
}

static pf_status check_token(struct ld *L, const char *s, const char *where) {
    char b[64];
    size_t n = strlen(s);
    if (n == 0)
        return fail(L, PF_ERR_FORMAT, "%s: empty token string", where);
    if (n > TOK_MAX_TOKEN_BYTES)
        return fail(L, PF_ERR_FORMAT, "%s: token of %zu bytes exceeds the %d-byte limit", where,
                    n, TOK_MAX_TOKEN_BYTES);
    long bad = tok_utf8_invalid_at(s, n);
    if (bad >= 0)
        return fail(L, PF_ERR_FORMAT, "%s: token '%s' is not valid UTF-8 (byte %ld)", where,
                    show(s, b, sizeof b), bad);
    return PF_OK;
}

/* key absent or null -> *out = def. */
static pf_status get_bool(struct ld *L, const cJSON *o, const char *key, int def, int *out,
                          const char *where) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return PF_OK;
    }
    if (!cJSON_IsBool(v))
        return fail(L, PF_ERR_FORMAT, "%s.%s must be true or false", where, key);
    *out = cJSON_IsTrue(v);
    return PF_OK;
}

/* key absent or null -> *out = NULL. */
static pf_status get_str(struct ld *L, const cJSON *o, const char *key, const char **out,
                         const char *where) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return PF_OK;
    if (!cJSON_IsString(v))
        return fail(L, PF_ERR_FORMAT, "%s.%s must be a string", where, key);
    *out = v->valuestring;
    return PF_OK;
}

static int as_int(const cJSON *v, long long *out) {
    if (!cJSON_IsNumber(v))
        return 0;
    double d = v->valuedouble;
    if (!(d >= -2147483648.0 && d <= 2147483647.0) || d != (double)(long long)d)
        return 0;
    *out = (long long)d;
    return 1;
}

static pf_status get_int(struct ld *L, const cJSON *o, const char *key, long long def,
                         long long *out, const char *where) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return PF_OK;
    }
    if (!as_int(v, out))
        return fail(L, PF_ERR_FORMAT, "%s.%s must be an integer", where, key);
    return PF_OK;
}

static const char *type_of(struct ld *L, const cJSON *o, const char *where, pf_status *st) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "type");
    if (!cJSON_IsString(v)) {
        *st = fail(L, PF_ERR_FORMAT, "%s.type must be a string", where);
        return NULL;
    }
    return v->valuestring;
}

static pf_status check_id(struct ld *L, long long id, const char *name, const char *where) {
    char b[64];
    if (id < 0)
        return fail(L, PF_ERR_FORMAT, "%s: token '%s' has negative id %lld", where,
                    show(name, b, sizeof b), id);
    if (id >= L->t->vocab.size)
        return fail(L, PF_ERR_FORMAT, "%s: token '%s' id %lld >= vocab size %d", where,
                    show(name, b, sizeof b), id, (int)L->t->vocab.size);
    return PF_OK;
}

/* ---------------------------------------------------------------- model vocab */

static pf_status load_vocab(struct ld *L, const cJSON *vocab) {
    char b1[64], b2[64];
    if (!cJSON_IsObject(vocab))
        return fail(L, PF_ERR_FORMAT, "model.vocab must be an object of token: id");
    int n = cJSON_GetArraySize(vocab);
    if (n == 0)
        return fail(L, PF_ERR_FORMAT, "model.vocab is empty");
    L->n_model = n;
    tok_vocab_init(&L->t->vocab, n);
    const cJSON *it;
    cJSON_ArrayForEach(it, vocab) {
        pf_status st = check_token(L, it->string, "model.vocab");
        if (st != PF_OK)
            return st;
        long long id = -1;
        if (!as_int(it, &id))
            return fail(L, PF_ERR_FORMAT, "model.vocab: id of '%s' must be an integer",
                        show(it->string, b1, sizeof b1));
        if (id < 0)
            return fail(L, PF_ERR_FORMAT, "model.vocab: token '%s' has negative id %lld",
                        show(it->string, b1, sizeof b1), id);
        if (id >= n)
            return fail(L, PF_ERR_FORMAT,
                        "model.vocab: token '%s' id %lld >= vocab size %d (ids must be 0..%d)",
                        show(it->string, b1, sizeof b1), id, n, n - 1);
        int32_t old;
        int r = tok_vocab_add(&L->t->vocab, it->string, strlen(it->string), (int32_t)id, &old);
        if (r == 1)
            return fail(L, PF_ERR_FORMAT, "model.vocab: duplicate token '%s' (ids %d and %lld)",
                        show(it->string, b1, sizeof b1), (int)old, id);
        if (r == 2)
            return fail(L, PF_ERR_FORMAT, "model.vocab: duplicate id %lld ('%s' and '%s')", id,
                        show(L->t->vocab.str[old], b1, sizeof b1),
                        show(it->string, b2, sizeof b2));
    }
    return PF_OK;
}

/* ---------------------------------------------------------------- added tokens */

static pf_status load_added(struct ld *L, const cJSON *arr) {
    char b1[64], b2[64];
    if (!arr || cJSON_IsNull(arr))
        return PF_OK;
    if (!cJSON_IsArray(arr))
        return fail(L, PF_ERR_FORMAT, "added_tokens must be an array");
    int n = cJSON_GetArraySize(arr), n_new = 0;
    struct tokenizer *t = L->t;
    t->added = xcalloc((size_t)(n > 0 ? n : 1), sizeof *t->added);
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) { /* validate, count the tokens the vocab lacks */
        if (!cJSON_IsObject(it))
            return fail(L, PF_ERR_FORMAT, "added_tokens: each entry must be an object");
        const char *content = NULL;
        long long id = -1;
        pf_status st = get_str(L, it, "content", &content, "added_tokens[]");
        if (st == PF_OK && !content)
            st = fail(L, PF_ERR_FORMAT, "added_tokens[]: missing content");
        if (st == PF_OK)
            st = check_token(L, content, "added_tokens");
        if (st == PF_OK)
            st = get_int(L, it, "id", -1, &id, "added_tokens[]");
        if (st != PF_OK)
            return st;
        if (id < 0)
            return fail(L, PF_ERR_FORMAT, "added_tokens: token '%s' has a missing or negative id",
                        show(content, b1, sizeof b1));
        if (tok_vocab_get(&t->vocab, content, strlen(content)) < 0)
            n_new++;
    }
    tok_vocab_grow(&t->vocab, L->n_model + n_new);
    cJSON_ArrayForEach(it, arr) {
        struct tok_added *a = &t->added[t->n_added];
        const char *content = NULL;
        long long id = -1;
        pf_status st = get_str(L, it, "content", &content, "added_tokens[]");
        PF_STEP(st, get_int(L, it, "id", -1, &id, "added_tokens[]"));
        PF_STEP(st, get_bool(L, it, "special", 0, &a->special, "added_tokens[]"));
        PF_STEP(st, get_bool(L, it, "lstrip", 0, &a->lstrip, "added_tokens[]"));
        PF_STEP(st, get_bool(L, it, "rstrip", 0, &a->rstrip, "added_tokens[]"));
        PF_STEP(st, get_bool(L, it, "single_word", 0, &a->single_word, "added_tokens[]"));
        PF_STEP(st, get_bool(L, it, "normalized", !a->special, &a->normalized,
                             "added_tokens[]"));
        if (st != PF_OK)
            return st;
        size_t len = strlen(content);
        int32_t have = tok_vocab_get(&t->vocab, content, len);
        if (id >= t->vocab.size)
            return fail(L, PF_ERR_FORMAT, "added_tokens: token '%s' id %lld >= vocab size %d",
                        show(content, b1, sizeof b1), id, (int)t->vocab.size);
        if (have >= 0 && have != id)
            return fail(L, PF_ERR_FORMAT,
                        "added_tokens: token '%s' has id %lld but the vocab gives it id %d",
                        show(content, b1, sizeof b1), id, (int)have);
        if (have < 0) {
            int32_t old;
            if (tok_vocab_add(&t->vocab, content, len, (int32_t)id, &old) == 2)
                return fail(L, PF_ERR_FORMAT, "added_tokens: token '%s' reuses id %lld of '%s'",
                            show(content, b1, sizeof b1), id,
                            show(t->vocab.str[old], b2, sizeof b2));
        }
        a->content = xstrdup(content);
        a->len = len;
        a->id = (int32_t)id;
        t->n_added++;
    }
    /* the same new token listed twice counted twice above: vocab size is max id + 1 */
    int32_t size = L->n_model;
    for (int i = 0; i < t->n_added; i++)
        size = t->added[i].id + 1 > size ? t->added[i].id + 1 : size;
    t->vocab.size = size;
    return PF_OK;
}

/* ---------------------------------------------------------------- normalizers */

static struct tok_norm *new_norm(struct tokenizer *t, enum tok_norm_kind k) {
    t->norms = xrealloc(t->norms, (size_t)(t->n_norms + 1) * sizeof *t->norms);
    struct tok_norm *nm = &t->norms[t->n_norms++];
    memset(nm, 0, sizeof *nm);
    nm->kind = k;
    return nm;
}

/* A BertNormalizer (strip_accents null follows lowercase). */
static pf_status norm_bert(struct ld *L, const cJSON *o, const char *w) {
    pf_status st = PF_OK;
    int clean = 1, chinese = 1, lower = 1, strip = -1;
    PF_STEP(st, get_bool(L, o, "clean_text", 1, &clean, w));
    PF_STEP(st, get_bool(L, o, "handle_chinese_chars", 1, &chinese, w));
    PF_STEP(st, get_bool(L, o, "lowercase", 1, &lower, w));
    PF_STEP(st, get_bool(L, o, "strip_accents", -1, &strip, w));
    if (st != PF_OK)
        return st;
    struct tok_norm *nm = new_norm(L->t, TN_BERT);
    nm->clean_text = clean;
    nm->chinese = chinese;
    nm->lowercase = lower;
    nm->strip_accents = strip < 0 ? lower : strip; /* null follows lowercase */
    return PF_OK;
}

/* A Strip normalizer (left and right flags). */
static pf_status norm_strip(struct ld *L, const cJSON *o, const char *w) {
    pf_status st = PF_OK;
    int left = 1, right = 1;
    PF_STEP(st, get_bool(L, o, "strip_left", 1, &left, w));
    PF_STEP(st, get_bool(L, o, "strip_right", 1, &right, w));
    if (st == PF_OK) {
        struct tok_norm *nm = new_norm(L->t, TN_STRIP);
        nm->left = left;
        nm->right = right;
    }
    return st;
}

/* A Prepend normalizer (its prepend string). */
static pf_status norm_prepend(struct ld *L, const cJSON *o, const char *w) {
    pf_status st = PF_OK;
    const char *p;
    PF_STEP(st, get_str(L, o, "prepend", &p, w));
    if (st == PF_OK && !p)
        st = fail(L, PF_ERR_FORMAT, "normalizer Prepend needs a prepend string");
    if (st == PF_OK)
        new_norm(L->t, TN_PREPEND)->a = xstrdup(p);
    return st;
}

/* A Replace normalizer with a String pattern (Regex patterns are unsupported). */
static pf_status norm_replace(struct ld *L, const cJSON *o, const char *w) {
    pf_status st = PF_OK;
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(o, "pattern");
    const char *content, *s = NULL;
    PF_STEP(st, get_str(L, o, "content", &content, w));
    if (st != PF_OK)
        return st;
    if (!cJSON_IsObject(pat) || !content)
        return fail(L, PF_ERR_FORMAT, "normalizer Replace needs a pattern object and content");
    if (cJSON_GetObjectItemCaseSensitive(pat, "Regex"))
        return fail(L, PF_ERR_UNSUPPORTED, "normalizer Replace with a Regex pattern is not "
                                           "supported (only String patterns)");
    PF_STEP(st, get_str(L, pat, "String", &s, "normalizer.pattern"));
    if (st == PF_OK && (!s || !*s))
        st = fail(L, PF_ERR_FORMAT, "normalizer Replace: pattern.String must be non-empty");
    if (st == PF_OK) {
        struct tok_norm *nm = new_norm(L->t, TN_REPLACE);
        nm->a = xstrdup(s);
        nm->b = xstrdup(content);
    }
    return st;
}

static pf_status load_normalizer(struct ld *L, const cJSON *o, int depth) {
    const char *w = "normalizer";
    if (!o || cJSON_IsNull(o))
        return PF_OK;
    if (!cJSON_IsObject(o))
        return fail(L, PF_ERR_FORMAT, "normalizer must be an object or null");
    if (depth > MAX_DEPTH)
        return fail(L, PF_ERR_FORMAT, "normalizer: Sequence nested deeper than %d", MAX_DEPTH);
    pf_status st = PF_OK;
    const char *type = type_of(L, o, w, &st);
    if (!type)
        return st;
    struct tokenizer *t = L->t;
    static const struct { const char *name; enum tok_norm_kind k; } plain[] = {
        {"Lowercase", TN_LOWERCASE}, {"NFD", TN_NFD}, {"NFC", TN_NFC}, {"NFKC", TN_NFKC},
        {"NFKD", TN_NFKD}, {"StripAccents", TN_STRIP_ACCENTS}};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (!strcmp(type, plain[i].name)) {
            new_norm(t, plain[i].k);
            return PF_OK;
        }
    if (!strcmp(type, "BertNormalizer"))
        return norm_bert(L, o, w);
    if (!strcmp(type, "Strip"))
        return norm_strip(L, o, w);
    if (!strcmp(type, "Prepend"))
        return norm_prepend(L, o, w);
    if (!strcmp(type, "Replace"))
        return norm_replace(L, o, w);
    if (!strcmp(type, "Sequence")) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "normalizers");
        if (!cJSON_IsArray(arr))
            return fail(L, PF_ERR_FORMAT, "normalizer Sequence needs a normalizers array");
        const cJSON *it;
        cJSON_ArrayForEach(it, arr) {
            st = load_normalizer(L, it, depth + 1);
            if (st != PF_OK)
                return st;
        }
        return PF_OK;
    }
    if (!strcmp(type, "Precompiled") || !strcmp(type, "NMT") || !strcmp(type, "ByteLevel"))
        return fail(L, PF_ERR_UNSUPPORTED, "normalizer type '%s' is not supported", type);
    return fail(L, PF_ERR_FORMAT, "unknown normalizer type '%s'", type);
}

/* ---------------------------------------------------------------- pre-tokenizers */

static struct tok_pre *new_pre(struct tokenizer *t, enum tok_pre_kind k) {
    t->pres = xrealloc(t->pres, (size_t)(t->n_pres + 1) * sizeof *t->pres);
    struct tok_pre *p = &t->pres[t->n_pres++];
    memset(p, 0, sizeof *p);
    p->kind = k;
    return p;
}

static pf_status behavior(struct ld *L, const cJSON *o, const char *where, enum tok_behavior *b,
                          int allow_removed) {
    const char *s;
    pf_status st = get_str(L, o, "behavior", &s, where);
    if (st != PF_OK)
        return st;
    if (!s || !strcmp(s, "Isolated")) {
        *b = TB_ISOLATED;
        return PF_OK;
    }
    if (allow_removed && !strcmp(s, "Removed")) {
        *b = TB_REMOVED;
        return PF_OK;
    }
    if (!strcmp(s, "Removed") || !strcmp(s, "MergedWithPrevious") ||
        !strcmp(s, "MergedWithNext") || !strcmp(s, "Contiguous"))
        return fail(L, PF_ERR_UNSUPPORTED, "%s: behavior '%s' is not supported", where, s);
    return fail(L, PF_ERR_FORMAT, "%s: unknown behavior '%s'", where, s);
}

/* A ByteLevel pre-tokenizer (add_prefix_space, use_regex). */
static pf_status pre_bytelevel(struct ld *L, const cJSON *o, const char *w) {
    pf_status st = PF_OK;
    int aps = 1, re = 1;
    PF_STEP(st, get_bool(L, o, "add_prefix_space", 1, &aps, w));
    PF_STEP(st, get_bool(L, o, "use_regex", 1, &re, w));
    if (st == PF_OK) {
        struct tok_pre *p = new_pre(L->t, TP_BYTELEVEL);
        p->add_prefix_space = aps;
        p->use_regex = re;
    }
    return st;
}

/* A Split pre-tokenizer: the GPT-2 or LLaMA-3 regex, or a String pattern with a behavior. */
static pf_status pre_split(struct ld *L, const cJSON *o, const char *w) {
    pf_status st = PF_OK;
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(o, "pattern");
    const char *re = NULL, *str = NULL;
    int invert = 0;
    enum tok_behavior b = TB_ISOLATED;
    if (!cJSON_IsObject(pat))
        return fail(L, PF_ERR_FORMAT, "pre_tokenizer Split needs a pattern object");
    PF_STEP(st, get_str(L, pat, "Regex", &re, "pre_tokenizer.pattern"));
    PF_STEP(st, get_str(L, pat, "String", &str, "pre_tokenizer.pattern"));
    PF_STEP(st, get_bool(L, o, "invert", 0, &invert, w));
    PF_STEP(st, behavior(L, o, "pre_tokenizer Split", &b, !re));
    if (st != PF_OK)
        return st;
    if (invert)
        return fail(L, PF_ERR_UNSUPPORTED, "pre_tokenizer Split with invert is not supported");
    if (re) {
        enum tok_regex which = !strcmp(re, tok_llama3_pattern) ? TOK_RE_LLAMA3
                               : !strcmp(re, tok_gpt2_pattern) ? TOK_RE_GPT2
                                                               : TOK_RE_NONE;
        if (which == TOK_RE_NONE)
            return fail(L, PF_ERR_UNSUPPORTED,
                        "unsupported Split pattern (only the GPT-2 and LLaMA-3 regexes are "
                        "implemented)");
        new_pre(L->t, TP_SPLIT)->regex = which;
    } else {
        if (!str || !*str)
            return fail(L, PF_ERR_FORMAT, "pre_tokenizer Split needs a Regex or String pattern");
        struct tok_pre *p = new_pre(L->t, TP_SPLIT);
        p->regex = TOK_RE_NONE;
        p->pattern = xstrdup(str);
        p->behavior = b;
    }
    return PF_OK;
}

/* A Metaspace pre-tokenizer: a one-character replacement, the prepend scheme, split. */
static pf_status pre_metaspace(struct ld *L, const cJSON *o, const char *w) {
    pf_status st = PF_OK;
    const char *rep, *scheme;
    int split = 1, aps = 1;
    PF_STEP(st, get_str(L, o, "replacement", &rep, w));
    PF_STEP(st, get_str(L, o, "prepend_scheme", &scheme, w));
    PF_STEP(st, get_bool(L, o, "split", 1, &split, w));
    PF_STEP(st, get_bool(L, o, "add_prefix_space", 1, &aps, w));
    if (st != PF_OK)
        return st;
    enum tok_prepend ps = aps ? TPS_ALWAYS : TPS_NEVER;
    if (scheme) {
        if (!strcmp(scheme, "always"))
            ps = TPS_ALWAYS;
        else if (!strcmp(scheme, "first"))
            ps = TPS_FIRST;
        else if (!strcmp(scheme, "never"))
            ps = TPS_NEVER;
        else
            return fail(L, PF_ERR_FORMAT, "pre_tokenizer Metaspace: unknown prepend_scheme '%s'",
                        scheme);
    }
    int32_t c;
    if (!rep || !*rep || (size_t)tok_utf8_next(rep, strlen(rep), 0, &c) != strlen(rep))
        return fail(L, PF_ERR_FORMAT, "pre_tokenizer Metaspace: replacement must be one character");
    struct tok_pre *p = new_pre(L->t, TP_METASPACE);
    p->replacement = xstrdup(rep);
    p->prepend_scheme = ps;
    p->split = split;
    return PF_OK;
}

static pf_status load_pre(struct ld *L, const cJSON *o, int depth) {
    const char *w = "pre_tokenizer";
    if (!o || cJSON_IsNull(o))
        return PF_OK;
    if (!cJSON_IsObject(o))
        return fail(L, PF_ERR_FORMAT, "pre_tokenizer must be an object or null");
    if (depth > MAX_DEPTH)
        return fail(L, PF_ERR_FORMAT, "pre_tokenizer: Sequence nested deeper than %d", MAX_DEPTH);
    pf_status st = PF_OK;
    const char *type = type_of(L, o, w, &st);
    if (!type)
        return st;
    struct tokenizer *t = L->t;
    if (!strcmp(type, "BertPreTokenizer")) {
        new_pre(t, TP_BERT);
    } else if (!strcmp(type, "Whitespace")) {
        new_pre(t, TP_WHITESPACE);
    } else if (!strcmp(type, "WhitespaceSplit")) {
        new_pre(t, TP_WSSPLIT);
    } else if (!strcmp(type, "ByteLevel")) {
        st = pre_bytelevel(L, o, w);
    } else if (!strcmp(type, "Split")) {
        st = pre_split(L, o, w);
    } else if (!strcmp(type, "Metaspace")) {
        st = pre_metaspace(L, o, w);
    } else if (!strcmp(type, "Digits")) {
        int ind = 0;
        PF_STEP(st, get_bool(L, o, "individual_digits", 0, &ind, w));
        if (st == PF_OK)
            new_pre(t, TP_DIGITS)->individual_digits = ind;
    } else if (!strcmp(type, "Punctuation")) {
        enum tok_behavior b;
        PF_STEP(st, behavior(L, o, "pre_tokenizer Punctuation", &b, 0));
        if (st == PF_OK)
            new_pre(t, TP_PUNCT);
    } else if (!strcmp(type, "Sequence")) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "pretokenizers");
        if (!cJSON_IsArray(arr))
            return fail(L, PF_ERR_FORMAT, "pre_tokenizer Sequence needs a pretokenizers array");
        const cJSON *it;
        cJSON_ArrayForEach(it, arr) {
            st = load_pre(L, it, depth + 1);
            if (st != PF_OK)
                return st;
        }
    } else if (!strcmp(type, "CharDelimiterSplit") || !strcmp(type, "UnicodeScripts")) {
        return fail(L, PF_ERR_UNSUPPORTED, "pre_tokenizer type '%s' is not supported", type);
    } else {
        return fail(L, PF_ERR_FORMAT, "unknown pre_tokenizer type '%s'", type);
    }
    return st;
}

/* ---------------------------------------------------------------- model */

static pf_status lookup(struct ld *L, const char *s, const char *where, int32_t *id) {
    char b[64];
    *id = tok_vocab_get(&L->t->vocab, s, strlen(s));
    if (*id < 0)
        return fail(L, PF_ERR_FORMAT, "%s '%s' is not in the vocab", where, show(s, b, sizeof b));
    return PF_OK;
}

static int is_hex_upper(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }

static pf_status check_byte_tokens(struct ld *L) {
    char b[64];
    struct tok_vocab *v = &L->t->vocab;
    for (int32_t id = 0; id < L->n_model; id++) {
        const char *s = v->str[id];
        size_t n = v->len[id];
        if (n < 4 || strncmp(s, "<0x", 3) != 0 || s[n - 1] != '>')
            continue;
        if (n != 6 || !is_hex_upper(s[3]) || !is_hex_upper(s[4]))
            return fail(L, PF_ERR_FORMAT,
                        "model.vocab: malformed byte-fallback token '%s' (id %d; expected "
                        "<0x00>..<0xFF>)",
                        show(s, b, sizeof b), (int)id);
    }
    for (int x = 0; x < 256; x++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", x);
        int32_t id = tok_vocab_get(v, name, 6);
        if (id < 0)
            return fail(L, PF_ERR_FORMAT, "model: byte_fallback is on but '%s' is not in the vocab",
                        name);
        L->t->model.byte_ids[x] = id;
    }
    return PF_OK;
}

static pf_status load_merges(struct ld *L, const cJSON *arr) {
    char b1[64], b2[64];
    struct tok_vocab *v = &L->t->vocab;
    if (!arr || cJSON_IsNull(arr)) {
        tok_merges_init(&L->t->model.merges, 0);
        return PF_OK;
    }
    if (!cJSON_IsArray(arr))
        return fail(L, PF_ERR_FORMAT, "model.merges must be an array");
    int n = cJSON_GetArraySize(arr), rank = 0;
    tok_merges_init(&L->t->model.merges, (size_t)n);
    struct tok_buf cat = {0};
    pf_status st = PF_OK;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        const char *a = NULL, *bb = NULL;
        size_t an = 0, bn = 0;
        if (cJSON_IsString(it)) {
            const char *s = it->valuestring, *sp = strchr(s, ' ');
            if (sp && !strchr(sp + 1, ' ')) {
                a = s;
                an = (size_t)(sp - s);
                bb = sp + 1;
                bn = strlen(bb);
            }
        } else if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 2 &&
                   cJSON_IsString(it->child) && cJSON_IsString(it->child->next)) {
            a = it->child->valuestring;
            an = strlen(a);
            bb = it->child->next->valuestring;
            bn = strlen(bb);
        }
        if (!a || !an || !bn) {
            st = fail(L, PF_ERR_FORMAT, "model.merges[%d] must be \"a b\" or [\"a\", \"b\"]", rank);
            break;
        }
        int32_t ia = tok_vocab_get(v, a, an), ib = tok_vocab_get(v, bb, bn);
        if (ia < 0 || ib < 0) {
            cat.n = 0;
            tok_buf_put(&cat, ia < 0 ? a : bb, ia < 0 ? an : bn);
            st = fail(L, PF_ERR_FORMAT, "model.merges[%d] references unknown token '%s'", rank,
                      show(cat.p, b1, sizeof b1));
            break;
        }
        cat.n = 0;
        tok_buf_put(&cat, a, an);
        tok_buf_put(&cat, bb, bn);
        int32_t im = tok_vocab_get(v, cat.p, cat.n);
        if (im < 0) {
            st = fail(L, PF_ERR_FORMAT, "model.merges[%d]: merged token '%s' is not in the vocab",
                      rank, show(cat.p, b2, sizeof b2));
            break;
        }
        tok_merges_add(&L->t->model.merges, ia, ib, rank, im);
        rank++;
    }
    tok_buf_free(&cat);
    return st;
}

static pf_status load_model(struct ld *L, const cJSON *o) {
    const char *w = "model";
    if (!cJSON_IsObject(o))
        return fail(L, PF_ERR_FORMAT, "model must be an object");
    pf_status st = PF_OK;
    const char *type = type_of(L, o, w, &st);
    if (!type)
        return st;
    struct tok_model *m = &L->t->model;
    m->unk_id = -1;
    if (!strcmp(type, "WordPiece")) {
        m->kind = TM_WORDPIECE;
    } else if (!strcmp(type, "BPE")) {
        m->kind = TM_BPE;
    } else if (!strcmp(type, "Unigram") || !strcmp(type, "WordLevel")) {
        return fail(L, PF_ERR_UNSUPPORTED, "model type '%s' is not supported", type);
    } else {
        return fail(L, PF_ERR_FORMAT, "unknown model type '%s'", type);
    }
    st = load_vocab(L, cJSON_GetObjectItemCaseSensitive(o, "vocab"));
    if (st != PF_OK)
        return st;
    const char *unk;
    PF_STEP(st, get_str(L, o, "unk_token", &unk, w));
    if (st != PF_OK)
        return st;
    if (m->kind == TM_WORDPIECE) {
        const char *prefix;
        long long maxc = 100;
        PF_STEP(st, get_str(L, o, "continuing_subword_prefix", &prefix, w));
        PF_STEP(st, get_int(L, o, "max_input_chars_per_word", 100, &maxc, w));
        PF_STEP(st, lookup(L, unk ? unk : "[UNK]", "model.unk_token", &m->unk_id));
        if (st == PF_OK && maxc < 1)
            st = fail(L, PF_ERR_FORMAT, "model.max_input_chars_per_word must be positive");
        if (st != PF_OK)
            return st;
        m->prefix = xstrdup(prefix ? prefix : "##");
        m->max_chars = (int)maxc;
        return PF_OK;
    }
    const cJSON *drop = cJSON_GetObjectItemCaseSensitive(o, "dropout");
    if (drop && !cJSON_IsNull(drop))
        return fail(L, PF_ERR_UNSUPPORTED, "model.dropout must be null (BPE dropout is not supported)");
    const char *csp, *eow;
    PF_STEP(st, get_str(L, o, "continuing_subword_prefix", &csp, w));
    PF_STEP(st, get_str(L, o, "end_of_word_suffix", &eow, w));
    PF_STEP(st, get_bool(L, o, "fuse_unk", 0, &m->fuse_unk, w));
    PF_STEP(st, get_bool(L, o, "byte_fallback", 0, &m->byte_fallback, w));
    PF_STEP(st, get_bool(L, o, "ignore_merges", 0, &m->ignore_merges, w));
    if (st == PF_OK && ((csp && *csp) || (eow && *eow)))
        st = fail(L, PF_ERR_UNSUPPORTED,
                  "model: BPE continuing_subword_prefix / end_of_word_suffix are not supported");
    if (st == PF_OK && unk)
        st = lookup(L, unk, "model.unk_token", &m->unk_id);
    if (st == PF_OK && m->byte_fallback)
        st = check_byte_tokens(L);
    PF_STEP(st, load_merges(L, cJSON_GetObjectItemCaseSensitive(o, "merges")));
    return st;
}

/* ---------------------------------------------------------------- post-processor */

static void tpl_add(struct tok_template *tp, int seq, int type_id, const int32_t *ids, int n) {
    tp->items = xrealloc(tp->items, (size_t)(tp->n + 1) * sizeof *tp->items);
    struct tok_tpl_item *it = &tp->items[tp->n++];
    it->seq = seq;
    it->type_id = type_id;
    it->n_ids = n;
    it->ids = NULL;
    if (n > 0) {
        it->ids = xmalloc((size_t)n * sizeof *ids);
        memcpy(it->ids, ids, (size_t)n * sizeof *ids);
    }
}

/* ["[CLS]", 101] */
static pf_status special_pair(struct ld *L, const cJSON *o, const char *key, int32_t *id,
                              const char *where) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    long long x;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 || !cJSON_IsString(v->child) ||
        !as_int(v->child->next, &x))
        return fail(L, PF_ERR_FORMAT, "%s.%s must be [token, id]", where, key);
    pf_status st = check_id(L, x, v->child->valuestring, where);
    *id = (int32_t)x;
    return st;
}

static pf_status load_template(struct ld *L, const cJSON *o, const char *key,
                               const cJSON *specials, struct tok_template *tp) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsArray(arr))
        return fail(L, PF_ERR_FORMAT, "post_processor TemplateProcessing.%s must be an array", key);
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(it, "SpecialToken");
        const cJSON *sq = cJSON_GetObjectItemCaseSensitive(it, "Sequence");
        const cJSON *body = sp ? sp : sq;
        const char *id;
        long long type_id = 0;
        pf_status st = PF_OK;
        if (!cJSON_IsObject(body))
            return fail(L, PF_ERR_FORMAT, "post_processor %s: items must be SpecialToken or Sequence", key);
        PF_STEP(st, get_str(L, body, "id", &id, "post_processor template"));
        PF_STEP(st, get_int(L, body, "type_id", 0, &type_id, "post_processor template"));
        if (st != PF_OK)
            return st;
        if (!id)
            return fail(L, PF_ERR_FORMAT, "post_processor %s: item without id", key);
        if (type_id < 0)
            return fail(L, PF_ERR_FORMAT, "post_processor %s: negative type_id", key);
        if (sq) {
            if (strcmp(id, "A") && strcmp(id, "B"))
                return fail(L, PF_ERR_FORMAT, "post_processor %s: sequence id must be A or B", key);
            tpl_add(tp, id[0] == 'A' ? 0 : 1, (int)type_id, NULL, 0);
            continue;
        }
        const cJSON *def = cJSON_GetObjectItemCaseSensitive(specials, id);
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(def, "ids");
        if (!cJSON_IsArray(ids))
            return fail(L, PF_ERR_FORMAT,
                        "post_processor: template uses special token '%s' missing from "
                        "special_tokens",
                        id);
        int n = cJSON_GetArraySize(ids), k = 0;
        int32_t *v = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *v);
        const cJSON *x;
        cJSON_ArrayForEach(x, ids) {
            long long val;
            if (!as_int(x, &val)) {
                xfree(v);
                return fail(L, PF_ERR_FORMAT, "post_processor special_tokens '%s': ids must be integers", id);
            }
            st = check_id(L, val, id, "post_processor special_tokens");
            if (st != PF_OK) {
                xfree(v);
                return st;
            }
            v[k++] = (int32_t)val;
        }
        tpl_add(tp, -1, (int)type_id, v, n);
        xfree(v);
    }
    return PF_OK;
}

static pf_status load_post(struct ld *L, const cJSON *o, int depth) {
    const char *w = "post_processor";
    if (!o || cJSON_IsNull(o))
        return PF_OK;
    if (!cJSON_IsObject(o))
        return fail(L, PF_ERR_FORMAT, "post_processor must be an object or null");
    if (depth > MAX_DEPTH)
        return fail(L, PF_ERR_FORMAT, "post_processor: Sequence nested deeper than %d", MAX_DEPTH);
    pf_status st = PF_OK;
    const char *type = type_of(L, o, w, &st);
    if (!type)
        return st;
    struct tok_post *p = &L->t->post;
    if (!strcmp(type, "ByteLevel"))
        return PF_OK; /* offsets only */
    if (!strcmp(type, "Sequence")) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "processors");
        if (!cJSON_IsArray(arr))
            return fail(L, PF_ERR_FORMAT, "post_processor Sequence needs a processors array");
        const cJSON *it;
        cJSON_ArrayForEach(it, arr) {
            st = load_post(L, it, depth + 1);
            if (st != PF_OK)
                return st;
        }
        return PF_OK;
    }
    int known = !strcmp(type, "BertProcessing") || !strcmp(type, "RobertaProcessing") ||
                !strcmp(type, "TemplateProcessing");
    if (!known)
        return fail(L, PF_ERR_FORMAT, "unknown post_processor type '%s'", type);
    if (p->present)
        return fail(L, PF_ERR_UNSUPPORTED,
                    "post_processor: more than one processor that adds special tokens");
    p->present = 1;
    if (!strcmp(type, "TemplateProcessing")) {
        const cJSON *specials = cJSON_GetObjectItemCaseSensitive(o, "special_tokens");
        if (specials && !cJSON_IsObject(specials))
            return fail(L, PF_ERR_FORMAT, "post_processor special_tokens must be an object");
        PF_STEP(st, load_template(L, o, "single", specials, &p->single));
        PF_STEP(st, load_template(L, o, "pair", specials, &p->pair));
        return st;
    }
    int32_t cls, sep;
    PF_STEP(st, special_pair(L, o, "cls", &cls, type));
    PF_STEP(st, special_pair(L, o, "sep", &sep, type));
    if (st != PF_OK)
        return st;
    p->default_plain = 1;
    int roberta = !strcmp(type, "RobertaProcessing");
    tpl_add(&p->single, -1, 0, &cls, 1);
    tpl_add(&p->single, 0, 0, NULL, 0);
    tpl_add(&p->single, -1, 0, &sep, 1);
    tpl_add(&p->pair, -1, 0, &cls, 1);
    tpl_add(&p->pair, 0, 0, NULL, 0);
    tpl_add(&p->pair, -1, 0, &sep, 1);
    if (roberta)
        tpl_add(&p->pair, -1, 0, &sep, 1);
    tpl_add(&p->pair, 1, !roberta, NULL, 0);
    tpl_add(&p->pair, -1, !roberta, &sep, 1);
    return PF_OK;
}

/* ---------------------------------------------------------------- the whole file */

static void find_kind(struct tokenizer *t) {
    if (t->model.kind == TM_WORDPIECE) {
        t->kind = "wordpiece";
        return;
    }
    int bytelevel = 0, llama3 = 0, meta = 0;
    for (int i = 0; i < t->n_pres; i++) {
        bytelevel |= t->pres[i].kind == TP_BYTELEVEL;
        meta |= t->pres[i].kind == TP_METASPACE;
        llama3 |= t->pres[i].kind == TP_SPLIT && t->pres[i].regex == TOK_RE_LLAMA3;
    }
    if (bytelevel && llama3)
        t->kind = "bpe-llama3";
    else if (bytelevel)
        t->kind = "bpe-bytelevel";
    else if (t->model.byte_fallback || meta)
        t->kind = "bpe-sentencepiece";
    else
        t->kind = "bpe";
}

void tok_free(struct tokenizer *t) {
    if (!t)
        return;
    tok_vocab_free(&t->vocab);
    tok_merges_free(&t->model.merges);
    xfree(t->model.prefix);
    for (int i = 0; i < t->n_norms; i++) {
        xfree(t->norms[i].a);
        xfree(t->norms[i].b);
    }
    xfree(t->norms);
    for (int i = 0; i < t->n_pres; i++) {
        xfree(t->pres[i].pattern);
        xfree(t->pres[i].replacement);
    }
    xfree(t->pres);
    struct tok_template *tps[2] = {&t->post.single, &t->post.pair};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < tps[k]->n; i++)
            xfree(tps[k]->items[i].ids);
        xfree(tps[k]->items);
    }
    for (int i = 0; i < t->n_added; i++) {
        xfree(t->added[i].content);
        xfree(t->added[i].norm_content);
    }
    xfree(t->added);
    xfree(t);
}

pf_status tok_from_json(struct tokenizer **out, const cJSON *root, const char *path,
                        struct pf_err *err) {
    *out = NULL;
    struct tokenizer *t = xcalloc(1, sizeof *t);
    struct ld L = {path, err, t, 0};
    pf_status st = PF_OK;
    if (!cJSON_IsObject(root)) {
        st = fail(&L, PF_ERR_FORMAT, "top level must be a JSON object");
        goto done;
    }
    PF_STEP(st, load_model(&L, cJSON_GetObjectItemCaseSensitive(root, "model")));
    PF_STEP(st, load_added(&L, cJSON_GetObjectItemCaseSensitive(root, "added_tokens")));
    PF_STEP(st, load_normalizer(&L, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), 0));
    PF_STEP(st, load_pre(&L, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), 0));
    PF_STEP(st, load_post(&L, cJSON_GetObjectItemCaseSensitive(root, "post_processor"), 0));
    if (st != PF_OK)
        goto done;
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(root, "decoder");
    if (dec && !cJSON_IsNull(dec) && !cJSON_IsObject(dec)) {
        st = fail(&L, PF_ERR_FORMAT, "decoder must be an object or null");
        goto done;
    }
    t->pad_id = -1;
    const cJSON *pad = cJSON_GetObjectItemCaseSensitive(root, "padding");
    if (pad && !cJSON_IsNull(pad)) {
        long long id = -1;
        if (!cJSON_IsObject(pad)) {
            st = fail(&L, PF_ERR_FORMAT, "padding must be an object or null");
            goto done;
        }
        PF_STEP(st, get_int(&L, pad, "pad_id", 0, &id, "padding"));
        PF_STEP(st, check_id(&L, id, "pad_id", "padding"));
        if (st != PF_OK)
            goto done;
        t->pad_id = (int32_t)id;
    } else {
        static const char *names[] = {"[PAD]", "<pad>", "<|pad|>"};
        for (int i = 0; i < 3 && t->pad_id < 0; i++)
            t->pad_id = tok_vocab_get(&t->vocab, names[i], strlen(names[i]));
    }
    /* normalized added tokens are matched on normalized text */
    struct tok_buf nb = {0};
    for (int i = 0; i < t->n_added && st == PF_OK; i++) {
        struct tok_added *a = &t->added[i];
        if (!a->normalized || t->n_norms == 0)
            continue;
        st = tok_normalize(t->norms, t->n_norms, a->content, a->len, &nb, err);
        if (st == PF_OK) {
            a->norm_content = xmalloc(nb.n + 1);
            memcpy(a->norm_content, nb.p ? nb.p : "", nb.n);
            a->norm_content[nb.n] = '\0';
            a->norm_len = nb.n;
        }
    }
    tok_buf_free(&nb);
    find_kind(t);
done:
    if (st != PF_OK) {
        tok_free(t);
        return st;
    }
    *out = t;
    return PF_OK;
}

pf_status tok_read_file(const char *path, size_t max, char **data, size_t *len, int *missing,
                        struct pf_err *err) {
    *data = NULL;
    *len = 0;
    if (missing)
        *missing = 0;
    const char *why = NULL;
    FILE *f = file_fopen_regular(path, &why);
    if (!f) {
        if (missing)
            *missing = errno == ENOENT;
        return pf_err_set(err, PF_ERR_IO, "%s: %s", path, why);
    }
    pf_status st = PF_OK;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        st = pf_err_set(err, PF_ERR_IO, "%s: cannot determine the file size", path);
    } else if ((unsigned long)size > max) {
        st = pf_err_set(err, PF_ERR_FORMAT, "%s: file of %ld bytes exceeds the %zu-byte limit",
                        path, size, max);
    } else {
        char *buf = malloc((size_t)size + 1);
        if (!buf) {
            st = pf_err_set(err, PF_ERR_NOMEM, "%s: cannot allocate %ld bytes", path, size);
        } else if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
            free(buf);
            st = pf_err_set(err, PF_ERR_IO, "%s: read failed", path);
        } else {
            buf[size] = '\0';
            *data = buf;
            *len = (size_t)size;
        }
    }
    fclose(f);
    return st;
}

#define TOK_MAX_FILE ((size_t)1 << 30)

pf_status tok_load_json(struct tokenizer **out, const char *path, struct pf_err *err) {
    if (!out || !path)
        return pf_err_set(err, PF_ERR_ARG, "tok_load_json: NULL argument");
    *out = NULL;
    char *data;
    size_t len;
    pf_status st = tok_read_file(path, TOK_MAX_FILE, &data, &len, NULL, err);
    if (st != PF_OK)
        return st;
    cJSON *root = cJSON_ParseWithLength(data, len);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= data && at <= data + len ? (long)(at - data) : -1;
        free(data);
        return pf_err_set(err, PF_ERR_FORMAT, "%s: invalid JSON (near byte %ld)", path, off);
    }
    free(data);
    st = tok_from_json(out, root, path, err);
    cJSON_Delete(root);
    return st;
}
