/* data_batch.c - tokenised examples and the epoch loader.
 *
 * An epoch's plan (shuffle=1): the examples are shuffled with Philox (seed, epoch); with
 * drop_last the last n % B of that order are left out; the order is cut into buckets of
 * bucket_batches * B examples, each bucket is sorted by length (ties keep the shuffled order),
 * cut into batches of B, and the order of all batches is shuffled again (seed, epoch), so
 * lengths are similar within a batch but not monotonic over the epoch. shuffle=0 keeps file
 * order. A plan is a pure function of (seed, epoch), which is what makes a cursor enough to
 * resume: data_loader_seek recomputes the plan and continues at the batch. Each batch is padded
 * to its own longest example. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "tok/tok.h"

#define STREAM_EPOCH ((uint64_t)0xE0 << 56)
#define STREAM_BATCHES ((uint64_t)0xB0 << 56)

void data_encoded_free(struct data_encoded *e) {
    if (!e)
        return;
    for (int64_t i = 0; i < e->n; i++) {
        if (e->ids)
            free(e->ids[i]);
        if (e->types)
            free(e->types[i]);
    }
    free(e->ids);
    free(e->types);
    free(e->len);
    free(e->label);
    free(e->target);
    memset(e, 0, sizeof *e);
}

pf_status data_encode(const struct data_set *s, const struct tokenizer *tok, int max_len,
                      struct data_encoded *out, struct pf_err *err) {
    if (!s || !tok || !out || max_len < 2)
        return pf_err_set(err, PF_ERR_ARG, "data_encode: set, tokenizer, out and max_len >= 2 "
                                           "are required (max_len %d)",
                          max_len);
    memset(out, 0, sizeof *out);
    size_t n = (size_t)(s->n ? s->n : 1);
    out->ids = calloc(n, sizeof *out->ids);
    out->types = calloc(n, sizeof *out->types);
    out->len = calloc(n, sizeof *out->len);
    out->label = calloc(n, sizeof *out->label);
    out->target = calloc(n, sizeof *out->target);
    out->n = s->n;
    out->pad_id = tok_pad_id(tok);
    if (!out->ids || !out->types || !out->len || !out->label || !out->target) {
        data_encoded_free(out);
        return pf_err_set(err, PF_ERR_NOMEM, "data_encode: %lld examples", (long long)s->n);
    }
    struct tok_options o = {1, max_len};
    for (int64_t i = 0; i < s->n; i++) {
        const struct data_example *x = &s->ex[i];
        struct tok_encoding enc;
        pf_status st = tok_encode(tok, x->text, strlen(x->text), x->pair,
                                  x->pair ? strlen(x->pair) : 0, &o, &enc, err);
        if (st != PF_OK) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
            data_encoded_free(out);
            return pf_err_set(err, st, "example %lld (line %lld): %s", (long long)i,
                              (long long)x->line, msg);
        }
        size_t bytes = (size_t)(enc.n ? enc.n : 1) * sizeof(int32_t);
        out->ids[i] = malloc(bytes);
        out->types[i] = malloc(bytes);
        if (!out->ids[i] || !out->types[i]) {
            tok_encoding_free(&enc);
            data_encoded_free(out);
            return pf_err_set(err, PF_ERR_NOMEM, "data_encode: example %lld", (long long)i);
        }
        memcpy(out->ids[i], enc.ids, (size_t)enc.n * sizeof(int32_t));
        memcpy(out->types[i], enc.type_ids, (size_t)enc.n * sizeof(int32_t));
        out->len[i] = enc.n;
        if (enc.n > out->max_len)
            out->max_len = enc.n;
        out->label[i] = x->label;
        out->target[i] = x->target;
        tok_encoding_free(&enc);
    }
    return PF_OK;
}

/* ---- the loader ---- */

struct data_loader {
    const struct data_encoded *e;
    struct data_loader_opts o;
    int64_t *items, n; /* example indices the loader draws from */
    int64_t *order;    /* the planned epoch: batches one after another */
    int64_t *bstart;   /* nb + 1 offsets into order */
    int64_t nb;
    int64_t planned; /* epoch the plan is for; -1: none */
    struct data_cursor cur;
    int32_t pad;
    int32_t *ids, *mask, *types;
    int *label;
    float *target;
    int64_t *index;
};

void data_loader_free(struct data_loader *l) {
    if (!l)
        return;
    free(l->items);
    free(l->order);
    free(l->bstart);
    free(l->ids);
    free(l->mask);
    free(l->types);
    free(l->label);
    free(l->target);
    free(l->index);
    free(l);
}

static int64_t used_examples(const struct data_loader *l) {
    int64_t B = l->o.batch_size;
    return l->o.drop_last ? l->n - l->n % B : l->n;
}

pf_status data_loader_create(struct data_loader **out, const struct data_encoded *e,
                             const struct data_loader_opts *o, struct pf_err *err) {
    if (!out || !e || !o || o->batch_size <= 0 || o->bucket_batches < 0 || o->n_idx < 0)
        return pf_err_set(err, PF_ERR_ARG, "data_loader_create: bad arguments (batch_size %d)",
                          o ? o->batch_size : 0);
    *out = NULL;
    int32_t pad = o->pad_id >= 0 ? o->pad_id : e->pad_id;
    if (pad < 0)
        return pf_err_set(err, PF_ERR_ARG,
                          "data_loader_create: the tokenizer has no pad token; set pad_id");
    int64_t n = o->idx ? o->n_idx : e->n;
    for (int64_t i = 0; o->idx && i < n; i++)
        if (o->idx[i] < 0 || o->idx[i] >= e->n)
            return pf_err_set(err, PF_ERR_ARG, "data_loader_create: idx[%lld] = %lld outside [0, %lld)",
                              (long long)i, (long long)o->idx[i], (long long)e->n);
    struct data_loader *l = calloc(1, sizeof *l);
    if (!l)
        return pf_err_set(err, PF_ERR_NOMEM, "data_loader_create");
    l->e = e;
    l->o = *o;
    l->o.idx = NULL;
    if (!l->o.bucket_batches)
        l->o.bucket_batches = 50;
    l->n = n;
    l->pad = pad;
    l->planned = -1;
    size_t nn = (size_t)(n ? n : 1), B = (size_t)o->batch_size;
    size_t T = (size_t)(e->max_len ? e->max_len : 1);
    l->items = malloc(nn * sizeof *l->items);
    l->order = malloc(nn * sizeof *l->order);
    l->bstart = malloc((nn / B + 2) * sizeof *l->bstart);
    l->ids = malloc(B * T * sizeof *l->ids);
    l->mask = malloc(B * T * sizeof *l->mask);
    l->types = malloc(B * T * sizeof *l->types);
    l->label = malloc(B * sizeof *l->label);
    l->target = malloc(B * sizeof *l->target);
    l->index = malloc(B * sizeof *l->index);
    if (!l->items || !l->order || !l->bstart || !l->ids || !l->mask || !l->types || !l->label ||
        !l->target || !l->index) {
        data_loader_free(l);
        return pf_err_set(err, PF_ERR_NOMEM, "data_loader_create: %lld examples, batch %d",
                          (long long)n, o->batch_size);
    }
    for (int64_t i = 0; i < n; i++)
        l->items[i] = o->idx ? o->idx[i] : i;
    *out = l;
    return PF_OK;
}

struct keyed {
    int len;
    int64_t pos, ex;
};

static int cmp_keyed(const void *a, const void *b) {
    const struct keyed *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* The plan of epoch ep into l->order / l->bstart / l->nb. */
static pf_status plan(struct data_loader *l, int64_t ep, struct pf_err *err) {
    int64_t B = l->o.batch_size, m = used_examples(l);
    memcpy(l->order, l->items, (size_t)l->n * sizeof *l->order);
    l->nb = (m + B - 1) / B;
    for (int64_t b = 0; b <= l->nb; b++)
        l->bstart[b] = b * B < m ? b * B : m;
    if (l->o.shuffle && m > 0) {
        data_shuffle(l->order, l->n, l->o.seed, STREAM_EPOCH | (uint64_t)ep);
        int64_t C = B * l->o.bucket_batches;
        struct keyed *k = malloc((size_t)(C < m ? C : m) * sizeof *k);
        int64_t *bperm = malloc((size_t)l->nb * sizeof *bperm);
        int64_t *tmp = malloc((size_t)m * sizeof *tmp);
        if (!k || !bperm || !tmp) {
            free(k);
            free(bperm);
            free(tmp);
            return pf_err_set(err, PF_ERR_NOMEM, "data_loader: epoch plan of %lld examples",
                              (long long)m);
        }
        for (int64_t s = 0; s < m; s += C) {
            int64_t c = m - s < C ? m - s : C;
            for (int64_t i = 0; i < c; i++)
                k[i] = (struct keyed){l->e->len[l->order[s + i]], i, l->order[s + i]};
            qsort(k, (size_t)c, sizeof *k, cmp_keyed);
            for (int64_t i = 0; i < c; i++)
                l->order[s + i] = k[i].ex;
        }
        for (int64_t b = 0; b < l->nb; b++)
            bperm[b] = b;
        data_shuffle(bperm, l->nb, l->o.seed, STREAM_BATCHES | (uint64_t)ep);
        int64_t at = 0;
        for (int64_t b = 0; b < l->nb; b++) {
            int64_t s = bperm[b] * B, c = m - s < B ? m - s : B;
            memcpy(tmp + at, l->order + s, (size_t)c * sizeof *tmp);
            l->bstart[b] = at;
            at += c;
        }
        l->bstart[l->nb] = at;
        memcpy(l->order, tmp, (size_t)m * sizeof *tmp);
        free(k);
        free(bperm);
        free(tmp);
    }
    l->planned = ep;
    return PF_OK;
}

int64_t data_loader_batches(const struct data_loader *l) {
    int64_t B = l->o.batch_size, m = used_examples(l);
    return (m + B - 1) / B;
}

void data_loader_cursor(const struct data_loader *l, struct data_cursor *c) {
    *c = l->cur;
}

pf_status data_loader_seek(struct data_loader *l, const struct data_cursor *c,
                           struct pf_err *err) {
    if (!l || !c || c->epoch < 0 || c->batch < 0 || c->batch > data_loader_batches(l))
        return pf_err_set(err, PF_ERR_ARG, "data_loader_seek: cursor (%lld, %lld) outside the "
                                           "%lld batches of an epoch",
                          c ? (long long)c->epoch : -1LL, c ? (long long)c->batch : -1LL,
                          l ? (long long)data_loader_batches(l) : 0LL);
    l->cur = *c;
    return PF_OK;
}

pf_status data_loader_next(struct data_loader *l, struct data_batch *out, int *done,
                           struct pf_err *err) {
    if (!l || !out || !done)
        return pf_err_set(err, PF_ERR_ARG, "data_loader_next: NULL argument");
    memset(out, 0, sizeof *out);
    *done = 0;
    if (l->planned != l->cur.epoch) {
        pf_status st = plan(l, l->cur.epoch, err);
        if (st != PF_OK)
            return st;
    }
    if (l->cur.batch >= l->nb) {
        *done = 1;
        l->cur.epoch++;
        l->cur.batch = 0;
        return PF_OK;
    }
    int64_t s = l->bstart[l->cur.batch], B = l->bstart[l->cur.batch + 1] - s;
    int T = 1;
    for (int64_t i = 0; i < B; i++)
        if (l->e->len[l->order[s + i]] > T)
            T = l->e->len[l->order[s + i]];
    for (int64_t i = 0; i < B; i++) {
        int64_t x = l->order[s + i];
        int n = l->e->len[x];
        int32_t *ids = l->ids + i * T, *mask = l->mask + i * T, *types = l->types + i * T;
        memcpy(ids, l->e->ids[x], (size_t)n * sizeof *ids);
        memcpy(types, l->e->types[x], (size_t)n * sizeof *types);
        for (int t = 0; t < n; t++)
            mask[t] = 1;
        for (int t = n; t < T; t++) {
            ids[t] = l->pad;
            types[t] = 0;
            mask[t] = 0;
        }
        l->label[i] = l->e->label[x];
        l->target[i] = l->e->target[x];
        l->index[i] = x;
    }
    *out = (struct data_batch){(int)B, T, l->ids, l->mask, l->types, l->label, l->target, l->index};
    l->cur.batch++;
    return PF_OK;
}
