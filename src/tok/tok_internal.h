/* tok_internal.h - structures shared by the src/tok/ files (not part of the public API). */
#ifndef PF_TOK_INTERNAL_H
#define PF_TOK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tok/tok.h"

struct cJSON;

/* ---- growable byte buffer (tok_buf.c) ---- */
struct tok_buf {
    char *p;
    size_t n, cap;
};
void tok_buf_put(struct tok_buf *b, const void *s, size_t n);
void tok_buf_putc(struct tok_buf *b, char c);
void tok_buf_put_cp(struct tok_buf *b, int32_t cp); /* UTF-8 encode one code point */
void tok_buf_free(struct tok_buf *b);

/* growable int32 vector */
struct tok_ivec {
    int32_t *v;
    int n, cap;
};
void tok_ivec_push(struct tok_ivec *v, int32_t x);
void tok_ivec_free(struct tok_ivec *v);

/* A list of pieces (byte ranges of one buffer), each flagged when it starts the input
 * segment (HF's "offset 0" test used by Metaspace's prepend_scheme "first"). */
struct tok_pieces {
    struct tok_buf text;
    size_t *off, *len;
    unsigned char *first;
    int n, cap;
};
void tok_pieces_add(struct tok_pieces *p, const char *s, size_t n, int first);
void tok_pieces_clear(struct tok_pieces *p);
void tok_pieces_free(struct tok_pieces *p);

/* ---- Unicode helpers (tok_unicode.c); text is valid UTF-8 ---- */
/* Decode the code point at s[i] (i < n) and return its byte length (1 for invalid bytes). */
int tok_utf8_next(const char *s, size_t n, size_t i, int32_t *cp);
/* Offset of the first invalid UTF-8 byte, or -1 when s is valid. */
long tok_utf8_invalid_at(const char *s, size_t n);
int tok_is_ws(int32_t cp);      /* Unicode White_Space (regex \s) */
int tok_is_letter(int32_t cp);  /* \p{L} */
int tok_is_number(int32_t cp);  /* \p{N} */
int tok_is_punct(int32_t cp);   /* HF BERT punctuation: ASCII punctuation or \p{P} */
int tok_is_other(int32_t cp);   /* \p{C} */
int tok_is_mark_nonspacing(int32_t cp); /* Mn */
int tok_is_word(int32_t cp);    /* regex \w: L, M, Nd, Nl, Pc */
int tok_is_cjk(int32_t cp);     /* BERT's CJK ranges */

/* ---- vocabulary: string <-> id (tok_vocab.c) ---- */
struct tok_vocab {
    int32_t size;    /* id table length (max id + 1) */
    char **str;      /* id -> NUL-terminated token, NULL for holes */
    uint32_t *len;   /* id -> byte length */
    int32_t *slots;  /* open addressing table of ids, -1 empty */
    size_t cap;      /* power of two */
    int32_t count;
};
void tok_vocab_init(struct tok_vocab *v, int32_t size);
/* 0 on success; 1 when the string is present (its id in *old), 2 when the id is taken. */
int tok_vocab_add(struct tok_vocab *v, const char *s, size_t n, int32_t id, int32_t *old);
int32_t tok_vocab_get(const struct tok_vocab *v, const char *s, size_t n);
void tok_vocab_grow(struct tok_vocab *v, int32_t size);
void tok_vocab_free(struct tok_vocab *v);

/* pair (a, b) -> (rank, merged id) */
struct tok_merges {
    uint64_t *keys;
    int32_t *rank, *id;
    size_t cap, count;
};
void tok_merges_init(struct tok_merges *m, size_t n);
void tok_merges_add(struct tok_merges *m, int32_t a, int32_t b, int32_t rank, int32_t id);
int tok_merges_get(const struct tok_merges *m, int32_t a, int32_t b, int32_t *rank, int32_t *id);
void tok_merges_free(struct tok_merges *m);

/* ---- normalizers (tok_normalize.c) ---- */
enum tok_norm_kind {
    TN_BERT, TN_LOWERCASE, TN_NFD, TN_NFC, TN_NFKC, TN_NFKD, TN_STRIP_ACCENTS, TN_STRIP,
    TN_PREPEND, TN_REPLACE
};
struct tok_norm {
    enum tok_norm_kind kind;
    int clean_text, chinese, strip_accents, lowercase; /* BertNormalizer */
    int left, right;                                   /* Strip */
    char *a, *b;                                       /* Prepend: a; Replace: a -> b */
};
/* Apply the chain to s[0..n) and write the result to out (cleared first). */
pf_status tok_normalize(const struct tok_norm *norms, int n_norms, const char *s, size_t n,
                        struct tok_buf *out, struct pf_err *err);

/* ---- pre-tokenizers (tok_pretok.c, scanners in tok_regex.c) ---- */
enum tok_pre_kind {
    TP_BERT, TP_WHITESPACE, TP_WSSPLIT, TP_BYTELEVEL, TP_SPLIT, TP_METASPACE, TP_DIGITS,
    TP_PUNCT
};
enum tok_regex { TOK_RE_NONE, TOK_RE_GPT2, TOK_RE_LLAMA3 };
enum tok_behavior { TB_ISOLATED, TB_REMOVED };
enum tok_prepend { TPS_ALWAYS, TPS_FIRST, TPS_NEVER };
struct tok_pre {
    enum tok_pre_kind kind;
    int add_prefix_space, use_regex; /* ByteLevel */
    enum tok_regex regex;            /* Split (regex) */
    char *pattern;                   /* Split (string) */
    enum tok_behavior behavior;      /* Split */
    char *replacement;               /* Metaspace */
    enum tok_prepend prepend_scheme; /* Metaspace */
    int split;                       /* Metaspace */
    int individual_digits;           /* Digits */
};
/* Run the chain over one normalized segment; pieces are cleared first. */
void tok_pretokenize(const struct tok_pre *pres, int n_pres, const char *s, size_t n, int first,
                     struct tok_pieces *out);

/* The exact regexes the scanners implement. */
extern const char tok_gpt2_pattern[];
extern const char tok_llama3_pattern[];
/* Length of the match of the regex at s[i] (i < n); always >= 1 for these patterns. */
size_t tok_regex_match(enum tok_regex re, const char *s, size_t n, size_t i);

/* ---- models (tok_wordpiece.c, tok_bpe.c) ---- */
enum tok_model_kind { TM_WORDPIECE, TM_BPE };
struct tok_model {
    enum tok_model_kind kind;
    int32_t unk_id;   /* -1: none */
    char *prefix;     /* WordPiece continuing_subword_prefix */
    int max_chars;    /* WordPiece max_input_chars_per_word */
    struct tok_merges merges;
    int fuse_unk, byte_fallback, ignore_merges;
    int32_t byte_ids[256]; /* <0xNN> ids when byte_fallback */
};
void tok_wordpiece(const struct tok_model *m, const struct tok_vocab *v, const char *s, size_t n,
                   struct tok_ivec *out);
void tok_bpe(const struct tok_model *m, const struct tok_vocab *v, const char *s, size_t n,
             struct tok_ivec *out);

/* ---- post-processor as a template (tok_post.c) ---- */
struct tok_tpl_item {
    int seq;      /* -1: special tokens; 0: sequence A; 1: sequence B */
    int type_id;
    int32_t *ids; /* special token ids */
    int n_ids;
};
struct tok_template {
    struct tok_tpl_item *items;
    int n;
};
struct tok_post {
    int present;        /* 0: no post-processor that adds tokens */
    int default_plain;  /* Bert/Roberta: without special tokens, HF's default type ids */
    struct tok_template single, pair;
};

struct tok_added {
    char *content;
    size_t len;
    int32_t id;
    int special, lstrip, rstrip, single_word, normalized;
    char *norm_content; /* content run through the normalizer (normalized tokens) */
    size_t norm_len;
};

struct tokenizer {
    const char *kind;
    struct tok_vocab vocab; /* model vocabulary and added tokens */
    struct tok_model model;
    struct tok_norm *norms;
    int n_norms;
    struct tok_pre *pres;
    int n_pres;
    struct tok_post post;
    struct tok_added *added;
    int n_added;
    int32_t pad_id;
};

/* Build a tokenizer from a parsed tokenizer.json document (tok_json.c); path names errors. */
pf_status tok_from_json(struct tokenizer **out, const struct cJSON *root, const char *path,
                        struct pf_err *err);
/* Read a whole file (NUL-terminated) up to max bytes (tok_json.c). */
pf_status tok_read_file(const char *path, size_t max, char **data, size_t *len, int *missing,
                        struct pf_err *err);

/* Apply longest_first truncation and the template (tok_post.c). */
pf_status tok_post_process(const struct tokenizer *t, const struct tok_ivec *a,
                           const struct tok_ivec *b, const struct tok_options *o,
                           struct tok_encoding *out, struct pf_err *err);

/* A 64-bit finaliser (murmur3's fmix64) for the tokenizer's hash tables. */
static inline uint64_t tok_mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

#endif
