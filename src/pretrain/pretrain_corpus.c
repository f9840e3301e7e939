/* pretrain_corpus.c - corpus files into packed train / held-out sequences (pretrain.h):
 * every non-empty line is tokenised without special tokens, sent to the held-out split when
 * a Philox draw for its index (the seed) falls under eval_fraction, and each split is packed
 * into max_len sequences in file order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "pretrain/pretrain.h"
#include "tok/tok.h"
#include "util/rng.h"
#include "util/xalloc.h"
#include "util/file.h"

pf_status pretrain_special_ids(const struct tokenizer *tok, struct pretrain_special *sp,
                               struct pf_err *err) {
    sp->vocab = tok_vocab_size(tok);
    sp->pad = tok_pad_id(tok);
    sp->cls = tok_token_to_id(tok, "[CLS]");
    sp->sep = tok_token_to_id(tok, "[SEP]");
    sp->mask = tok_token_to_id(tok, "[MASK]");
    sp->unk = tok_token_to_id(tok, "[UNK]");
    const char *missing = sp->pad < 0 ? "[PAD]" : sp->cls < 0 ? "[CLS]" : sp->sep < 0 ? "[SEP]"
                          : sp->mask < 0 ? "[MASK]" : NULL;
    if (missing)
        return pf_err_set(err, PF_ERR_FORMAT, "the tokenizer has no %s token (a BERT WordPiece "
                          "tokenizer is needed: bipeft tokenizer-train writes one)", missing);
    return PF_OK;
}

/* Growing token and line-offset arrays. */
struct lines {
    int32_t *toks;
    int64_t n_toks, cap_toks;
    int64_t *off;          /* n + 1 offsets */
    int64_t n, cap;
};

static void add_line(struct lines *l, const int32_t *ids, int n) {
    if (l->n_toks + n > l->cap_toks) {
        while (l->n_toks + n > l->cap_toks)
            l->cap_toks = l->cap_toks ? l->cap_toks * 2 : 4096;
        l->toks = xrealloc(l->toks, (size_t)l->cap_toks * sizeof *l->toks);
    }
    if (l->n + 2 > l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->off = xrealloc(l->off, (size_t)l->cap * sizeof *l->off);
    }
    if (!l->n)
        l->off[0] = 0;
    memcpy(l->toks + l->n_toks, ids, (size_t)n * sizeof *ids);
    l->n_toks += n;
    l->off[++l->n] = l->n_toks;
}

static pf_status read_file(struct pretrain_corpus *pc, struct lines *l, const char *path,
                           const struct tokenizer *tok, struct pf_err *err) {
    const char *why = NULL;
    FILE *f = file_fopen_regular(path, &why);
    if (!f)
        return pf_err_set(err, PF_ERR_IO, "corpus %s: cannot open: %s", path, why);
    char *buf = NULL;
    size_t cap = 0;
    ssize_t got;
    int64_t lineno = 0;
    pf_status st = PF_OK;
    struct tok_options o = {.add_special_tokens = 0, .max_length = 0};
    while (st == PF_OK && (got = getline(&buf, &cap, f)) >= 0) {
        lineno++;
        pc->bytes += got;
        size_t n = (size_t)got;
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            n--;
        struct tok_encoding e;
        st = tok_encode(tok, buf, n, NULL, 0, &o, &e, err);
        if (st != PF_OK) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            st = pf_err_set(err, PF_ERR_FORMAT, "corpus %s:%lld: %s", path, (long long)lineno,
                            msg);
            break;
        }
        pc->lines++;
        if (e.n == 0)
            pc->empty_lines++;
        else
            add_line(l, e.ids, e.n);
        tok_encoding_free(&e);
    }
    if (st == PF_OK && ferror(f))
        st = pf_err_set(err, PF_ERR_IO, "corpus %s: read failed", path);
    free(buf);
    fclose(f);
    return st;
}

pf_status pretrain_corpus_load(struct pretrain_corpus *pc, const struct pretrain_config *c,
                               const struct tokenizer *tok, struct pf_err *err) {
    memset(pc, 0, sizeof *pc);
    pf_status st = pretrain_special_ids(tok, &pc->sp, err);
    struct lines l = {0};
    for (int i = 0; i < c->n_corpus && st == PF_OK; i++)
        st = read_file(pc, &l, c->corpus[i], tok, err);
    if (st == PF_OK && l.n == 0)
        st = pf_err_set(err, PF_ERR_FORMAT, "corpus: no tokens in %d file(s) (%lld lines)",
                        c->n_corpus, (long long)pc->lines);
    if (st != PF_OK) {
        xfree(l.toks);
        xfree(l.off);
        return st;
    }
    int64_t *tr = xmalloc((size_t)l.n * sizeof *tr), *ev = xmalloc((size_t)l.n * sizeof *ev);
    uint64_t split_seed = c->seed ^ 0x73706C6974ULL; /* "split" */
    for (int64_t i = 0; i < l.n; i++) {
        if ((double)rng_uniform_at(split_seed, (uint64_t)i) < c->eval_fraction)
            ev[pc->eval_lines++] = i;
        else
            tr[pc->train_lines++] = i;
    }
    if (pc->train_lines == 0) {
        st = pf_err_set(err, PF_ERR_FORMAT, "corpus: every line went to the held-out split "
                        "(%lld lines; lower eval_fraction)", (long long)l.n);
    } else {
        pretrain_pack(&pc->train, c->max_len, &pc->sp, l.toks, l.off, tr, pc->train_lines,
                      &pc->truncated_lines);
        pretrain_pack(&pc->eval, c->max_len, &pc->sp, l.toks, l.off, ev, pc->eval_lines,
                      &pc->truncated_lines);
        /* the unigram baseline: the most frequent maskable train token */
        int64_t *count = xcalloc((size_t)pc->sp.vocab, sizeof *count);
        for (int64_t k = 0; k < pc->train_lines; k++)
            for (int64_t j = l.off[tr[k]]; j < l.off[tr[k] + 1]; j++) {
                int32_t id = l.toks[j];
                if (id >= 0 && id < pc->sp.vocab && id != pc->sp.unk)
                    count[id]++;
            }
        pc->top_token = 0;
        for (int32_t v = 1; v < pc->sp.vocab; v++)
            if (count[v] > count[pc->top_token])
                pc->top_token = v;
        xfree(count);
    }
    xfree(tr);
    xfree(ev);
    xfree(l.toks);
    xfree(l.off);
    if (st != PF_OK)
        pretrain_corpus_free(pc);
    return st;
}

void pretrain_corpus_free(struct pretrain_corpus *pc) {
    if (!pc)
        return;
    xfree(pc->train.ids);
    xfree(pc->eval.ids);
    pc->train.ids = pc->eval.ids = NULL;
    pc->train.n = pc->eval.n = 0;
}
