/* tok_train_internal.h - what the tok_train*.c files share (not part of the public API). */
#ifndef PF_TOK_TRAIN_INTERNAL_H
#define PF_TOK_TRAIN_INTERNAL_H

#include "tok/tok_internal.h"
#include "tok/tok_train.h"

/* ---- word counts (tok_train_count.c): string -> count, at most max distinct entries ---- */
struct tok_wc_slot {
    uint64_t hash;  /* 0: empty */
    size_t off;     /* in the arena */
    uint32_t len;
    uint64_t count;
};
struct tok_wc {
    struct tok_wc_slot *slots;
    size_t cap, n, max;
    struct tok_buf arena;
    struct tok_train_stats *st; /* pruning counters go here */
};
void tok_wc_init(struct tok_wc *w, size_t max, struct tok_train_stats *st);
/* Count one occurrence of s[0..n); prunes rare entries when the table is full. */
void tok_wc_add(struct tok_wc *w, const char *s, size_t n);
void tok_wc_free(struct tok_wc *w);

/* ---- the learner (tok_train_merge.c): fills vocab (ids 0..size-1, specials first) ---- */
pf_status tok_train_learn_vocab(const struct tok_wc *w, const struct tok_train_opts *o,
                                struct tok_vocab *vocab, struct tok_train_stats *st,
                                struct pf_err *err);

struct tok_trainer {
    struct tok_train_opts o;
    struct tok_wc wc;
    struct tok_norm norm;
    struct tok_pre pre;
    struct tok_buf line, normed;
    struct tok_pieces pieces;
    struct tok_vocab vocab; /* after learn */
    int learned;
    struct tok_train_stats st;
};

extern const char *const tok_train_specials[TOK_TRAIN_N_SPECIAL];

#endif
