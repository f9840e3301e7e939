/* search_structure.c - the discrete structure a search ends with (spec 6.1), and the
 * baselines' structures that need no search: manual (one group at the largest rank that fits)
 * and random (a seeded random subset at random ranks). Every structure fits the budget, as
 * counted by the modules' own parameter functions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "search/search_internal.h"
#include "util/rng.h"
#include "util/xalloc.h"

static struct peft_spec spec_at(const struct search *s, int i, int rank) {
    struct peft_spec sp = s->t.p.mod[s->c[i].pi].s;
    if (sp.r_max > 0)
        sp.r_max = sp.rank = rank;
    return sp;
}

int64_t search_structure_params(const struct search *s, const struct peft_spec *sp, int n) {
    int64_t t = 0;
    for (int i = 0; i < n; i++)
        t += peft_param_count(&s->t.m, &sp[i], sp[i].rank);
    return t;
}

static double softmax_on(const double *l) {
    return 1.0 / (1.0 + exp(l[0] - l[1]));
}

struct pick {
    int i, k;
    double key;
};

static int by_key_desc(const void *a, const void *b) {
    const struct pick *x = a, *y = b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return x->i - y->i;
}

/* Keep probability of a candidate for the greedy fill (modes without budget-guided pruning). */
static double keep_key(const struct search *s, const struct search_cand *c, int k) {
    if (s->cfg.search.method == CFG_METHOD_S3DELTA)
        return c->keep_p;
    if (s->joint && c->n_ranks > 0) { /* 1 - P(rank 0), and only when the argmax is not 0 */
        double mx = c->rl[0], z = 0;
        for (int j = 1; j < c->n_ranks; j++)
            if (c->rl[j] > mx)
                mx = c->rl[j];
        for (int j = 0; j < c->n_ranks; j++)
            z += exp(c->rl[j] - mx);
        return c->ranks[k] > 0 ? 1.0 - exp(c->rl[0] - mx) / z : -1.0;
    }
    return softmax_on(c->bl);
}

pf_status search_derive(struct search *s, struct peft_spec **out, int *n, struct pf_err *err) {
    (void)err;
    int s3 = s->cfg.search.method == CFG_METHOD_S3DELTA;
    /* BIPEFT with early selection: what survived the stages (already within the budget) */
    int budgeted = s->cfg.search.early_stop && !s->joint && !s3;
    struct pick *pk = xcalloc((size_t)s->nc + 1, sizeof *pk);
    int np = 0;
    for (int i = 0; i < s->nc; i++) {
        const struct search_cand *c = &s->c[i];
        if (c->pruned)
            continue;
        int k = search_cur_rank_idx(c);
        double key = keep_key(s, c, k);
        if (!budgeted && !s3 && !c->pinned) {
            /* argmax of the binary logits (joint: a rank other than 0) */
            int on = s->joint && c->n_ranks > 0 ? c->ranks[k] > 0 : c->bl[1] > c->bl[0];
            if (!on)
                continue;
        }
        pk[np].i = i;
        pk[np].k = k;
        pk[np].key = c->pinned ? INFINITY : key;
        np++;
    }
    qsort(pk, (size_t)np, sizeof *pk, by_key_desc);
    struct peft_spec *sp = xcalloc((size_t)np + 1, sizeof *sp);
    int m = 0;
    int64_t used = 0;
    for (int j = 0; j < np; j++) {
        const struct search_cand *c = &s->c[pk[j].i];
        int64_t cost = c->cost[pk[j].k];
        if (!budgeted && used + cost > s->budget && !c->pinned)
            continue; /* greedy fill in descending keep probability */
        sp[m++] = spec_at(s, pk[j].i, c->n_ranks ? c->ranks[pk[j].k] : 0);
        used += cost;
    }
    xfree(pk);
    *out = sp;
    *n = m;
    return PF_OK;
}

/* Manual baseline: every candidate of the space at one rank, the largest that fits; when even
 * rank 1 (or the vector modules) does not fit, the top layers first until it does. */
pf_status search_manual_structure(struct search *s, struct peft_spec **out, int *n,
                                  struct pf_err *err) {
    int rmax = 0;
    for (int i = 0; i < s->nc; i++)
        if (s->c[i].n_ranks > 0 && s->t.p.mod[s->c[i].pi].s.r_max > rmax)
            rmax = s->t.p.mod[s->c[i].pi].s.r_max;
    struct peft_spec *sp = xcalloc((size_t)s->nc + 1, sizeof *sp);
    int r = rmax > 0 ? rmax : 0;
    for (;; r--) {
        int64_t tot = 0;
        for (int i = 0; i < s->nc; i++) {
            struct peft_spec x = spec_at(s, i, r > 0 ? r : 1);
            tot += peft_param_count(&s->t.m, &x, x.rank);
        }
        if (tot <= s->budget || r <= 1)
            break;
    }
    /* top layers first (final norm modules count as the top) */
    int *order = xmalloc((size_t)s->nc * sizeof *order);
    for (int i = 0; i < s->nc; i++)
        order[i] = i;
    for (int a = 1; a < s->nc; a++) { /* insertion sort: layer descending, stable */
        int x = order[a], b = a;
        int lx = s->c[x].layer < 0 ? 1 << 20 : s->c[x].layer;
        while (b > 0) {
            int y = order[b - 1], ly = s->c[y].layer < 0 ? 1 << 20 : s->c[y].layer;
            if (ly >= lx)
                break;
            order[b] = y;
            b--;
        }
        order[b] = x;
    }
    int m = 0;
    int64_t used = 0;
    for (int j = 0; j < s->nc; j++) {
        int i = order[j];
        struct peft_spec x = spec_at(s, i, r > 0 ? r : 1);
        int64_t cost = peft_param_count(&s->t.m, &x, x.rank);
        if (used + cost > s->budget)
            continue;
        sp[m++] = x;
        used += cost;
    }
    xfree(order);
    if (m == 0) {
        xfree(sp);
        return pf_err_set(err, PF_ERR_ARG, "%s: no module of the space fits the budget of %lld "
                          "parameters", s->cfg.file, (long long)s->budget);
    }
    *out = sp;
    *n = m;
    return PF_OK;
}

/* Random baseline: candidates in a seeded random order, each at a random candidate rank,
 * taken while they fit. */
pf_status search_random_structure(struct search *s, struct peft_spec **out, int *n,
                                  struct pf_err *err) {
    int64_t *perm = xmalloc((size_t)s->nc * sizeof *perm);
    for (int i = 0; i < s->nc; i++)
        perm[i] = i;
    data_shuffle(perm, s->nc, s->cfg.seed, 0x52414E44ULL);
    struct peft_spec *sp = xcalloc((size_t)s->nc + 1, sizeof *sp);
    int m = 0;
    int64_t used = 0;
    for (int j = 0; j < s->nc; j++) {
        int i = (int)perm[j];
        const struct search_cand *c = &s->c[i];
        int k = 0;
        if (c->n_ranks > 1) {
            uint32_t w[4];
            rng_philox4x32(s->cfg.seed ^ 0x52414E44ULL, (uint64_t)i, w);
            k = (int)(w[0] % (uint32_t)c->n_ranks);
        }
        if (used + c->cost[k] > s->budget)
            continue;
        sp[m++] = spec_at(s, i, c->n_ranks ? c->ranks[k] : 0);
        used += c->cost[k];
    }
    xfree(perm);
    if (m == 0) {
        xfree(sp);
        return pf_err_set(err, PF_ERR_ARG, "%s: no module of the space fits the budget of %lld "
                          "parameters", s->cfg.file, (long long)s->budget);
    }
    *out = sp;
    *n = m;
    return PF_OK;
}
