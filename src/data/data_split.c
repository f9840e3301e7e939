/* data_split.c - train/dev/test from a task's files, per its split policy, and seeded index
 * splits. Every shuffle is a Fisher-Yates driven by Philox keyed by the seed, with the
 * counter holding (purpose stream, position): the same seed gives the same split on any
 * machine, and the purposes never share random numbers. Subsets share the string pool of the
 * set they were cut from (data_set_subset); each set is freed on its own. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/data.h"
#include "util/rng.h"

enum { STREAM_CARVE_DEV = 1, STREAM_HALVE_VALID = 2, STREAM_SEARCH_HALF = 3 };

#define LARGE_DEV 2000

void data_shuffle(int64_t *v, int64_t n, uint64_t seed, uint64_t stream) {
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    for (int64_t i = n - 1; i > 0; i--) {
        const uint32_t ctr[4] = {(uint32_t)i, (uint32_t)((uint64_t)i >> 32), (uint32_t)stream,
                                 (uint32_t)(stream >> 32)};
        uint32_t w[4];
        rng_philox4x32_block(ctr, key, w);
        uint64_t x = ((uint64_t)w[0] << 32) | w[1];
        int64_t j = (int64_t)(x % (uint64_t)(i + 1));
        int64_t t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* A seeded choice of na of 0..n-1 into *a, the rest into *b, both sorted. */
static pf_status split_idx(int64_t n, int64_t na, uint64_t seed, uint64_t stream, int64_t **a,
                           int64_t **b, struct pf_err *err) {
    int64_t *p = malloc((size_t)(n ? n : 1) * sizeof *p);
    int64_t *q = malloc((size_t)(n - na ? n - na : 1) * sizeof *q);
    if (!p || !q) {
        free(p);
        free(q);
        return pf_err_set(err, PF_ERR_NOMEM, "split of %lld indices", (long long)n);
    }
    for (int64_t i = 0; i < n; i++)
        p[i] = i;
    data_shuffle(p, n, seed, stream);
    memcpy(q, p + na, (size_t)(n - na) * sizeof *q);
    qsort(p, (size_t)na, sizeof *p, cmp_i64);
    qsort(q, (size_t)(n - na), sizeof *q, cmp_i64);
    *a = p;
    *b = q;
    return PF_OK;
}

pf_status data_split_half(int64_t n, double share, uint64_t seed, int64_t **a, int64_t *na,
                          int64_t **b, int64_t *nb, struct pf_err *err) {
    if (n < 0 || !(share >= 0.0 && share <= 1.0) || !a || !na || !b || !nb)
        return pf_err_set(err, PF_ERR_ARG, "data_split_half: n %lld, share %g", (long long)n,
                          share);
    int64_t k = (int64_t)llround((double)n * share);
    if (k > n)
        k = n;
    pf_status st = split_idx(n, k, seed, STREAM_SEARCH_HALF, a, b, err);
    if (st == PF_OK) {
        *na = k;
        *nb = n - k;
    }
    return st;
}

/* Cut k seeded examples of *from into *cut; *from keeps the rest (file order kept). */
static pf_status carve(struct data_set *from, int64_t k, uint64_t seed, uint64_t stream,
                       struct data_set *cut, struct pf_err *err) {
    int64_t *a = NULL, *b = NULL;
    pf_status st = split_idx(from->n, k, seed, stream, &a, &b, err);
    struct data_set rest = {0};
    PF_STEP(st, data_set_subset(from, a, k, cut, err));
    PF_STEP(st, data_set_subset(from, b, from->n - k, &rest, err));
    free(a);
    free(b);
    if (st != PF_OK) {
        data_set_free(cut);
        return st;
    }
    data_set_free(from);
    *from = rest;
    return PF_OK;
}

void data_splits_free(struct data_splits *s) {
    if (!s)
        return;
    data_set_free(&s->train);
    data_set_free(&s->dev);
    data_set_free(&s->test);
    data_set_free(&s->test2);
}

static int given(const char *p) {
    return p && p[0];
}

static void join(char *dst, size_t n, const char *dir, const char *file) {
    if (file[0])
        snprintf(dst, n, "%s/%s", dir, file);
    else
        dst[0] = '\0';
}

pf_status data_load_splits(const struct data_task *task, const char *train_path,
                           const char *dev_path, const char *test_path, uint64_t seed,
                           const struct data_read_opts *o, struct data_splits *out,
                           struct pf_err *err) {
    if (!task || !given(train_path) || !out)
        return pf_err_set(err, PF_ERR_ARG, "data_load_splits: task, train path and out required");
    memset(out, 0, sizeof *out);
    char tr[1024], dv[1024], te[1024], te2[1024] = "";
    struct stat sb;
    if (stat(train_path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        if (given(dev_path) || given(test_path))
            return pf_err_set(err, PF_ERR_ARG,
                              "%s is a task folder: dev and test files come from the task",
                              train_path);
        join(tr, sizeof tr, train_path, task->train_file);
        join(dv, sizeof dv, train_path, task->dev_file);
        join(te, sizeof te, train_path, task->test_file);
        join(te2, sizeof te2, train_path, task->test2_file);
        if (!tr[0])
            return pf_err_set(err, PF_ERR_ARG, "task %s names no train file", task->name);
    } else {
        snprintf(tr, sizeof tr, "%s", train_path);
        snprintf(dv, sizeof dv, "%s", given(dev_path) ? dev_path : "");
        snprintf(te, sizeof te, "%s", given(test_path) ? test_path : "");
    }

    pf_status st = data_read(tr, task, o, &out->train, NULL, err);
    if (st != PF_OK)
        return st;
    /* The original validation file of SMALL/LARGE policies. */
    const char *valid = task->split == SPLIT_SMALL ? (dv[0] ? dv : te) : (te[0] ? te : dv);
    struct data_set v = {0};
    switch (task->split) {
    case SPLIT_FILES:
        if (dv[0])
            st = data_read(dv, task, o, &out->dev, NULL, err);
        else
            st = carve(&out->train, out->train.n / 10 < LARGE_DEV ? out->train.n / 10 : LARGE_DEV,
                       seed, STREAM_CARVE_DEV, &out->dev, err);
        if (st == PF_OK && te[0])
            st = data_read(te, task, o, &out->test, NULL, err);
        break;
    case SPLIT_SMALL:
    case SPLIT_LARGE:
        if (!valid[0]) {
            st = pf_err_set(err, PF_ERR_ARG, "task %s: no validation file to split", task->name);
            break;
        }
        st = data_read(valid, task, o, &v, NULL, err);
        if (st != PF_OK)
            break;
        if (task->split == SPLIT_SMALL) {
            int64_t k = (v.n + 1) / 2;
            st = carve(&v, k, seed, STREAM_HALVE_VALID, &out->dev, err);
            if (st == PF_OK) {
                out->test = v;
                v = (struct data_set){0};
            }
        } else {
            int64_t k = out->train.n / 2 < LARGE_DEV ? out->train.n / 2 : LARGE_DEV;
            st = carve(&out->train, k, seed, STREAM_CARVE_DEV, &out->dev, err);
            if (st == PF_OK) {
                out->test = v;
                v = (struct data_set){0};
            }
        }
        break;
    default:
        st = pf_err_set(err, PF_ERR_ARG, "task %s: unknown split policy %d", task->name,
                        (int)task->split);
    }
    data_set_free(&v);
    if (st == PF_OK && te2[0])
        st = data_read(te2, task, o, &out->test2, NULL, err);
    if (st != PF_OK)
        data_splits_free(out);
    return st;
}
