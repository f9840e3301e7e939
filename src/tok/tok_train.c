/* tok_train.c - the trainer object: options, streaming the input through the loader's
 * BertNormalizer and BertPreTokenizer into the word-count table, learning, accessors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/tok_train_internal.h"
#include "util/xalloc.h"
#include "util/file.h"

#define DEFAULT_MAX_WORDS 4000000

pf_status tok_trainer_new(struct tok_trainer **out, const struct tok_train_opts *o,
                          struct pf_err *err) {
    if (!out || !o)
        return pf_err_set(err, PF_ERR_ARG, "tok_trainer_new: NULL argument");
    *out = NULL;
    if (o->vocab_size < TOK_TRAIN_N_SPECIAL + 1)
        return pf_err_set(err, PF_ERR_ARG, "vocab size %d is below the minimum %d (the %d "
                          "special tokens and one character)", o->vocab_size,
                          TOK_TRAIN_N_SPECIAL + 1, TOK_TRAIN_N_SPECIAL);
    if (o->min_frequency < 1)
        return pf_err_set(err, PF_ERR_ARG, "min frequency %d must be at least 1",
                          o->min_frequency);
    struct tok_trainer *tr = xcalloc(1, sizeof *tr);
    tr->o = *o;
    if (!tr->o.max_words)
        tr->o.max_words = DEFAULT_MAX_WORDS;
    tok_wc_init(&tr->wc, tr->o.max_words, &tr->st);
    tr->norm.kind = TN_BERT;
    tr->norm.clean_text = 1;
    tr->norm.chinese = 1;
    tr->norm.lowercase = o->lowercase != 0;
    tr->norm.strip_accents = o->lowercase != 0;
    tr->pre.kind = TP_BERT;
    *out = tr;
    return PF_OK;
}

/* One line (no '\n'): normalize, pre-tokenize, count the words. */
static pf_status add_line(struct tok_trainer *tr, const char *s, size_t n, const char *where,
                          uint64_t line_no, struct pf_err *err) {
    tr->st.lines++;
    long bad = tok_utf8_invalid_at(s, n);
    if (bad >= 0)
        return pf_err_set(err, PF_ERR_FORMAT, "%s:%llu: invalid UTF-8 at byte %ld of the line",
                          where, (unsigned long long)line_no, bad + 1);
    pf_status st = tok_normalize(&tr->norm, 1, s, n, &tr->normed, err);
    if (st != PF_OK)
        return st;
    tok_pretokenize(&tr->pre, 1, tr->normed.p ? tr->normed.p : "", tr->normed.n, 1, &tr->pieces);
    for (int i = 0; i < tr->pieces.n; i++) {
        const char *w = tr->pieces.text.p + tr->pieces.off[i];
        size_t len = tr->pieces.len[i], chars = 0;
        for (size_t k = 0; k < len; k++)
            chars += ((unsigned char)w[k] & 0xC0) != 0x80;
        tr->st.words++;
        if (chars > TOK_TRAIN_MAX_WORD_CHARS)
            tr->st.long_words++;
        else if (len > 0)
            tok_wc_add(&tr->wc, w, len);
    }
    return PF_OK;
}

static pf_status check_open(const struct tok_trainer *tr, struct pf_err *err) {
    if (!tr)
        return pf_err_set(err, PF_ERR_ARG, "tokenizer trainer: NULL argument");
    if (tr->learned)
        return pf_err_set(err, PF_ERR_ARG, "tokenizer trainer: input added after learning");
    return PF_OK;
}

pf_status tok_trainer_add_text(struct tok_trainer *tr, const char *text, size_t n,
                               const char *where, struct pf_err *err) {
    pf_status st = check_open(tr, err);
    uint64_t line_no = 0;
    size_t i = 0;
    while (st == PF_OK && i < n) {
        const char *nl = memchr(text + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - text) : n;
        st = add_line(tr, text + i, end - i, where ? where : "text", ++line_no, err);
        i = end + 1;
    }
    return st;
}

pf_status tok_trainer_add_file(struct tok_trainer *tr, const char *path, struct pf_err *err) {
    pf_status st = check_open(tr, err);
    if (st != PF_OK)
        return st;
    const char *why = NULL;
    FILE *f = file_fopen_regular(path, &why);
    if (!f)
        return pf_err_set(err, PF_ERR_IO, "%s: %s", path, why);
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    uint64_t line_no = 0;
    errno = 0;
    while (st == PF_OK && (got = getline(&line, &cap, f)) >= 0) {
        size_t n = (size_t)got;
        if (n > 0 && line[n - 1] == '\n')
            n--;
        st = add_line(tr, line, n, path, ++line_no, err);
    }
    if (st == PF_OK && ferror(f))
        st = pf_err_set(err, PF_ERR_IO, "%s: read failed: %s", path, strerror(errno));
    free(line);
    fclose(f);
    return st;
}

pf_status tok_trainer_learn(struct tok_trainer *tr, struct pf_err *err) {
    pf_status st = check_open(tr, err);
    if (st != PF_OK)
        return st;
    tr->st.distinct = tr->wc.n;
    st = tok_train_learn_vocab(&tr->wc, &tr->o, &tr->vocab, &tr->st, err);
    if (st != PF_OK) {
        tok_vocab_free(&tr->vocab);
        return st;
    }
    tr->learned = 1;
    return PF_OK;
}

void tok_trainer_stats(const struct tok_trainer *tr, struct tok_train_stats *out) {
    *out = tr->st;
}

int tok_trainer_vocab_size(const struct tok_trainer *tr) {
    return tr && tr->learned ? tr->vocab.size : 0;
}

const char *tok_trainer_token(const struct tok_trainer *tr, int id) {
    if (!tr || !tr->learned || id < 0 || id >= tr->vocab.size)
        return NULL;
    return tr->vocab.str[id];
}

void tok_trainer_free(struct tok_trainer *tr) {
    if (!tr)
        return;
    tok_wc_free(&tr->wc);
    tok_buf_free(&tr->line);
    tok_buf_free(&tr->normed);
    tok_pieces_free(&tr->pieces);
    tok_vocab_free(&tr->vocab);
    xfree(tr);
}
