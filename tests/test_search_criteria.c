/* test_search_criteria.c - the search-quality criteria of docs/SEARCH.md ("Selection
 * criteria"), each pinned on the fixture's small modules with numbers worked out by hand:
 * the score's divisor (search.sens_norm), the gate criterion, tra_val_cos1 under the rank
 * divisor, the budget fill (search.fill), rank sampling in weight steps (search.weight_rank)
 * and the official code's gate gradient (search.gate_grad = "sampled").
 *
 * The fixture (tests/search_fixture.c) is the tiny LLaMA (hidden 32, 4 heads of 8, 2 KV
 * heads, so q is 32 -> 32 and v is 32 -> 16), with LoRA on q and v at ranks {1, 2, 4}, BitFit
 * on q and o, LN-tuning on the attention norm and the final norm, in 2 layers. So:
 *   LoRA q at rank r: r (32 + 32) = 64 r     (256 stored at rank 4)
 *   LoRA v at rank r: r (32 + 16) = 48 r     (192 stored at rank 4)
 *   BitFit q, BitFit o, LN: 32 each. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "search_fixture.h"
#include "core/backend.h"
#include "search/search.h"
#include "search/search_internal.h"

/* A session (no retraining) of the fixture config with `search` spliced in, in <temp>/<name>,
 * its config in <temp>/<name>.lua. */
static struct search *open_crit(const char *name, const char *search, struct backend **be) {
    char file[64];
    snprintf(file, sizeof file, "%s.lua", name);
    return search_fixture_open(search_fixture_config(file, search, ""), name, be, 1);
}

static int find(const struct search *s, const char *name) {
    for (int i = 0; i < s->nc; i++)
        if (!strcmp(s->c[i].name, name))
            return i;
    cr_assert_fail("no candidate %s", name);
    return -1;
}

static void fix_at(struct search *s, int i, int k) {
    s->c[i].fixed = 1;
    s->c[i].fixed_idx = k;
}

static void close_crit(struct search *s, struct backend *be) {
    search_close(s);
    backend_close(be);
}

/* rmax: every parameter stored (rank 4); rank: the exact cost at the current rank; none: 1. */
Test(search_criteria, score_divisor_by_hand) {
    static const char *const norms[] = {"rmax", "rank", "none"};
    /* L0.lora.q fixed at rank 2, L1.lora.v fixed at rank 1, L0.bitfit.q */
    static const double want[3][3] = {{256, 192, 32}, {128, 48, 32}, {1, 1, 1}};
    for (int n = 0; n < 3; n++) {
        char opt[64], file[32];
        snprintf(opt, sizeof opt, ", sens_norm = '%s'", norms[n]);
        snprintf(file, sizeof file, "norm%d", n);
        struct backend *be;
        struct search *s = open_crit(file, opt, &be);
        int q = find(s, "L0.lora.q"), v = find(s, "L1.lora.v"), b = find(s, "L0.bitfit.q");
        fix_at(s, q, 1);
        fix_at(s, v, 0);
        enum cfg_sens_norm nm = s->cfg.search.sens_norm;
        cr_assert_eq(search_score_norm(nm, &s->c[q]), want[n][0], "%s: lora.q", norms[n]);
        cr_assert_eq(search_score_norm(nm, &s->c[v]), want[n][1], "%s: lora.v", norms[n]);
        cr_assert_eq(search_score_norm(nm, &s->c[b]), want[n][2], "%s: bitfit.q", norms[n]);
        close_crit(s, be);
    }
}

static void set_all(struct peft_module *md, float w, float g) {
    for (int j = 0; j < md->n_t; j++)
        for (int64_t e = 0; e < md->t[j].numel; e++) {
            ((float *)md->t[j].data)[e] = w;
            ((float *)md->g[j].data)[e] = g;
        }
}

/* gate: s = |dL/dgate| of the architecture half + that of the weight half, over the divisor;
 * from Ī = 0 one EMA step (0.85) gives 0.15 s. dgate -3 then +2: s = 5 / norm. */
Test(search_criteria, gate_criterion_by_hand) {
    struct backend *be;
    struct search *s = open_crit("gate", ", criterion = 'gate', sens_norm = 'rank'", &be);
    int q = find(s, "L0.lora.q"), b = find(s, "L1.bitfit.o");
    fix_at(s, q, 0); /* rank 1: 64 parameters */
    for (int i = 0; i < s->nc; i++)
        s->t.p.mod[s->c[i].pi].dgate = -3.0;
    search_stats_val(s);
    for (int i = 0; i < s->nc; i++)
        s->t.p.mod[s->c[i].pi].dgate = 2.0;
    search_stats_tra(s);
    cr_assert_float_eq(s->c[q].sens_i, 0.15 * 5.0 / 64.0, 1e-12, "lora.q: %.12g",
                       s->c[q].sens_i);
    cr_assert_float_eq(s->c[b].sens_i, 0.15 * 5.0 / 32.0, 1e-12, "bitfit.o: %.12g",
                       s->c[b].sens_i);
    close_crit(s, be);
}

/* tra_val_cos1 = S_tra + rho S_val with the rank divisor. Every weight 0.5; gradient 2 on the
 * architecture half, -1 on the weight half: V = 1 and T = -0.5 per element, rho = -1.
 * LoRA q holds 256 numbers (rank 4 stored); at rank 1 the divisor is 64:
 * S_val = 256 / 64 = 4, S_tra = 128 / 64 = 2, s = 2 - 4 = -2, Ī = 0.15 s = -0.3. */
Test(search_criteria, tra_val_cos1_with_rank_divisor_by_hand) {
    struct backend *be;
    struct search *s = open_crit("tvc", ", sens_norm = 'rank'", &be);
    int q = find(s, "L0.lora.q");
    fix_at(s, q, 0);
    struct peft_module *md = &s->t.p.mod[s->c[q].pi];
    set_all(md, 0.5f, 2.0f);
    search_stats_val(s);
    set_all(md, 0.5f, -1.0f);
    search_stats_tra(s);
    cr_assert_float_eq(s->c[q].s_val, 4.0, 1e-9);
    cr_assert_float_eq(s->c[q].s_tra, 2.0, 1e-9);
    cr_assert_float_eq(s->c[q].sens_i, -0.3, 1e-9, "%.12g", s->c[q].sens_i);
    close_crit(s, be);
}

/* The fill: every module pruned, LoRA at rank 1. Budget 100, scores: L1.lora.q 9 (64),
 * L0.lora.v 8 (48), L0.bitfit.q 7 (32), final.ln 6 (32), the rest lower. Highest first while
 * it fits: lora.q (36 left), lora.v no, bitfit.q (4 left), nothing else fits: 96 of 100. */
Test(search_criteria, fill_restores_the_best_that_fit) {
    for (int on = 0; on < 2; on++) {
        struct backend *be;
        struct search *s = open_crit(on ? "fill1" : "fill0",
                                     on ? ", fill = true" : "", &be);
        for (int i = 0; i < s->nc; i++) {
            s->c[i].pruned = 1;
            s->c[i].sens_i = 0.01 * i;
            fix_at(s, i, 0);
        }
        s->budget = 100;
        s->c[find(s, "L1.lora.q")].sens_i = 9;
        s->c[find(s, "L0.lora.v")].sens_i = 8;
        s->c[find(s, "L0.bitfit.q")].sens_i = 7;
        s->c[find(s, "final.ln")].sens_i = 6;
        search_fill(s);
        int back = 0;
        for (int i = 0; i < s->nc; i++)
            back += !s->c[i].pruned;
        if (!on) {
            cr_assert_eq(back, 0, "fill = false restored %d", back);
        } else {
            cr_assert_eq(back, 2);
            cr_assert(!s->c[find(s, "L1.lora.q")].pruned);
            cr_assert(!s->c[find(s, "L0.bitfit.q")].pruned);
            cr_assert_eq(search_hard_params(s), 96);
        }
        close_crit(s, be);
    }
}

/* weight_rank = "sample": weight steps draw the rank, so over many steps every candidate rank
 * trains; "argmax" (the paper) always trains the argmax. */
Test(search_criteria, weight_steps_sample_every_rank) {
    for (int smp = 0; smp < 2; smp++) {
        struct backend *be;
        struct search *s = open_crit(smp ? "ws1" : "ws0",
                                     smp ? ", weight_rank = 'sample'" : "", &be);
        int q = find(s, "L0.lora.q");
        s->tau = 1;
        s->c[q].rl[0] = 0.3; /* argmax: rank 1 */
        s->c[q].rl[1] = 0.1;
        s->c[q].rl[2] = 0.0;
        int seen[3] = {0};
        for (int t = 0; t < 300; t++) {
            s->it = t;
            search_sample(s, 0, SSTAGE_BINARY);
            int h = -1;
            for (int k = 0; k < 3; k++)
                if (s->c[q].rval[k] == 1.0)
                    h = k;
            cr_assert_geq(h, 0, "not one-hot at step %d", t);
            seen[h]++;
        }
        if (smp)
            cr_assert(seen[0] > 0 && seen[1] > 0 && seen[2] > 0, "ranks drawn %d/%d/%d",
                      seen[0], seen[1], seen[2]);
        else
            cr_assert_eq(seen[0], 300, "argmax: ranks %d/%d/%d", seen[0], seen[1], seen[2]);
        /* a fixed rank is never sampled */
        fix_at(s, q, 2);
        search_sample(s, 0, SSTAGE_BINARY);
        cr_assert_eq(s->c[q].rval[2], 1.0);
        close_crit(s, be);
    }
}

/* gate_grad = "sampled": a matrix module sampled off gets no gradient on its on/off logits;
 * vector modules keep theirs. With "always" both get J^T [0, dgate] / tau:
 * soft (0.6, 0.4), dgate 1.5, tau 2: dl_on = 0.4 (1.5 - 0.4 * 1.5) / 2 = 0.18, dl_off = -0.18. */
Test(search_criteria, gate_gradient_only_from_on_samples) {
    for (int smp = 0; smp < 2; smp++) {
        struct backend *be;
        struct search *s = open_crit(smp ? "gg1" : "gg0",
                                     smp ? ", gate_grad = 'sampled', arch_reg = 0"
                                         : ", arch_reg = 0", &be);
        s->tau = 2;
        int q = find(s, "L0.lora.q"), b = find(s, "L0.bitfit.q");
        for (int i = 0; i < s->nc; i++) {
            s->c[i].in_graph_b = s->c[i].in_graph_r = 0;
            s->t.p.mod[s->c[i].pi].dgate = 0;
        }
        int ids[2] = {q, b};
        for (int j = 0; j < 2; j++) {
            struct search_cand *c = &s->c[ids[j]];
            c->in_graph_b = 1;
            c->gate = 0;
            c->bhard = 0;
            c->bsoft[0] = 0.6;
            c->bsoft[1] = 0.4;
            s->t.p.mod[c->pi].dgate = 1.5;
        }
        search_arch_grads(s);
        double want_q = smp ? 0.0 : 0.18;
        cr_assert_float_eq(s->c[q].bg[1], want_q, 1e-12, "lora on: %.12g", s->c[q].bg[1]);
        cr_assert_float_eq(s->c[q].bg[0], -want_q, 1e-12, "lora off: %.12g", s->c[q].bg[0]);
        cr_assert_float_eq(s->c[b].bg[1], 0.18, 1e-12, "bitfit on: %.12g", s->c[b].bg[1]);
        close_crit(s, be);
    }
}
