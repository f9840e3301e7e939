/* tok_post.c - truncation (longest_first), the post-processor template, encodings and padding.
 *
 * BertProcessing and RobertaProcessing are turned into templates at load time:
 *   Bert:    [CLS] A [SEP]            / [CLS] A [SEP] B:1 [SEP]:1
 *   Roberta: <s> A </s>               / <s> A </s> </s> B </s>      (all type ids 0, as HF)
 * Without special tokens (or without a post-processor) A gets type id 0 and B type id 1, except
 * that TemplateProcessing keeps its template's type ids for the sequences, as HF does. */
#include <string.h>

#include "tok/tok_internal.h"
#include "util/xalloc.h"

static int count_special(const struct tok_template *tp) {
    int k = 0;
    for (int i = 0; i < tp->n; i++)
        if (tp->items[i].seq < 0)
            k += tp->items[i].n_ids;
    return k;
}

/* HF tokenizers/src/utils/truncation.rs, LongestFirst, stride 0, direction right. */
static void longest_first(int *n1p, int *n2p, int max) {
    int n1 = *n1p, n2 = *n2p;
    if (n1 + n2 <= max)
        return;
    int swap = n1 > n2;
    if (swap) {
        int t = n1;
        n1 = n2;
        n2 = t;
    }
    if (n1 > max)
        n2 = n1;
    else
        n2 = n1 > max - n1 ? n1 : max - n1;
    if (n1 + n2 > max) {
        n1 = max / 2;
        n2 = n1 + max % 2;
    }
    if (swap) {
        int t = n1;
        n1 = n2;
        n2 = t;
    }
    *n1p = n1 < *n1p ? n1 : *n1p;
    *n2p = n2 < *n2p ? n2 : *n2p;
}

static void enc_alloc(struct tok_encoding *e, int n) {
    size_t b = (size_t)(n > 0 ? n : 1) * sizeof(int32_t);
    e->n = 0;
    e->ids = xmalloc(b);
    e->type_ids = xmalloc(b);
    e->attention_mask = xmalloc(b);
    e->special_mask = xmalloc(b);
}

static void enc_push(struct tok_encoding *e, int32_t id, int32_t type, int special) {
    e->ids[e->n] = id;
    e->type_ids[e->n] = type;
    e->attention_mask[e->n] = 1;
    e->special_mask[e->n] = special;
    e->n++;
}

pf_status tok_post_process(const struct tokenizer *t, const struct tok_ivec *a,
                           const struct tok_ivec *b, const struct tok_options *o,
                           struct tok_encoding *out, struct pf_err *err) {
    const struct tok_template *tp = b ? &t->post.pair : &t->post.single;
    int specials = o->add_special_tokens && t->post.present;
    int n_special = specials ? count_special(tp) : 0;
    int na = a->n, nb = b ? b->n : 0;
    if (o->max_length < 0)
        return pf_err_set(err, PF_ERR_ARG, "max_length %d is negative", o->max_length);
    if (o->max_length > 0) {
        if (o->max_length < n_special)
            return pf_err_set(err, PF_ERR_ARG,
                              "max_length %d is smaller than the %d special tokens it must hold",
                              o->max_length, n_special);
        int room = o->max_length - n_special;
        if (b)
            longest_first(&na, &nb, room);
        else if (na > room)
            na = room;
    }
    enc_alloc(out, na + nb + n_special);
    if (!specials && !(t->post.present && !t->post.default_plain)) {
        for (int i = 0; i < na; i++)
            enc_push(out, a->v[i], 0, 0);
        for (int i = 0; i < nb; i++)
            enc_push(out, b->v[i], 1, 0);
        return PF_OK;
    }
    for (int i = 0; i < tp->n; i++) {
        const struct tok_tpl_item *it = &tp->items[i];
        if (it->seq < 0) {
            if (specials)
                for (int q = 0; q < it->n_ids; q++)
                    enc_push(out, it->ids[q], it->type_id, 1);
        } else if (it->seq == 0) {
            for (int q = 0; q < na; q++)
                enc_push(out, a->v[q], it->type_id, 0);
        } else if (b) {
            for (int q = 0; q < nb; q++)
                enc_push(out, b->v[q], it->type_id, 0);
        }
    }
    return PF_OK;
}

void tok_encoding_free(struct tok_encoding *e) {
    if (!e)
        return;
    xfree(e->ids);
    xfree(e->type_ids);
    xfree(e->attention_mask);
    xfree(e->special_mask);
    memset(e, 0, sizeof *e);
}

pf_status tok_pad_batch(struct tok_encoding *encs, int n, int32_t pad_id, struct pf_err *err) {
    if (n < 0 || (n > 0 && !encs))
        return pf_err_set(err, PF_ERR_ARG, "tok_pad_batch: bad batch (%d encodings)", n);
    if (pad_id < 0)
        return pf_err_set(err, PF_ERR_ARG, "tok_pad_batch: the tokenizer has no pad token");
    int longest = 0;
    for (int i = 0; i < n; i++)
        longest = encs[i].n > longest ? encs[i].n : longest;
    for (int i = 0; i < n; i++) {
        struct tok_encoding *e = &encs[i];
        if (e->n == longest)
            continue;
        size_t bytes = (size_t)longest * sizeof(int32_t);
        e->ids = xrealloc(e->ids, bytes);
        e->type_ids = xrealloc(e->type_ids, bytes);
        e->attention_mask = xrealloc(e->attention_mask, bytes);
        e->special_mask = xrealloc(e->special_mask, bytes);
        for (int q = e->n; q < longest; q++) {
            e->ids[q] = pad_id;
            e->type_ids[q] = 0;
            e->attention_mask[q] = 0;
            e->special_mask[q] = 1;
        }
        e->n = longest;
    }
    return PF_OK;
}
