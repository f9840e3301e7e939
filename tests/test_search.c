/* test_search.c - the BIPEFT engine (src/search/): the straight-through gradients of the
 * architecture logits (against finite differences), the expected-parameter formula, one
 * pruning stage and its delta, the dimension-stability indicator, the termination guard,
 * interventions and their refusals, an end-to-end search on the tiny LLaMA fixture, and an
 * interrupted-then-resumed session matching an uninterrupted one bitwise. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "search_fixture.h"
#include "core/backend.h"
#include "model/model_load.h"
#include "peft/peft_io.h"
#include "script/script_config.h"
#include "search/search.h"
#include "search/search_internal.h"
#include "train/metrics.h"
#include "train/train.h"
#include "util/rng.h"

/* ---- fixtures ---- */

/* The words task and a search config over the tiny LLaMA fixture (tests/search_fixture.c). */
static const char *search_config(const char *file, const char *search, const char *extra) {
    return search_fixture_config(file, search, extra);
}

static void load_config(const char *path, struct run_config *cfg) {
    struct pf_err err = {0};
    CHECK_OK(script_config_load(path, NULL, cfg, &err), &err);
}

/* Collects events. */
struct collect {
    int n;
    struct search_event ev[8192];
};

static void collect_emit(void *ctx, const struct search_event *ev) {
    struct collect *c = ctx;
    if (c->n < 8192)
        c->ev[c->n++] = *ev;
}

static struct collect *collector(struct search *s) {
    struct collect *c = check_alloc(sizeof *c);
    c->n = 0;
    struct search_sink sk = {.emit = collect_emit, .ctx = c};
    struct pf_err err = {0};
    CHECK_OK(search_add_sink(s, &sk, &err), &err);
    return c;
}

static int count(const struct collect *c, enum search_event_type t, const char *source) {
    int n = 0;
    for (int i = 0; i < c->n; i++)
        if (c->ev[i].type == t && (!source || !strcmp(c->ev[i].source, source)))
            n++;
    return n;
}

static struct search *open_session(const char *cfgfile, const char *search, const char *extra,
                                   const char *dir, struct backend **be, int no_retrain) {
    return search_fixture_open(search_config(cfgfile, search, extra), dir, be, no_retrain);
}

/* Random module weights (the zero-initialised factors would hide the gates' gradients), and a
 * head scaled up so that the loss reacts visibly to the modules. */
static void randomise_modules(struct search *s) {
    struct model_param *hp = model_find_param(&s->t.m, "score.weight");
    cr_assert_not_null(hp);
    int64_t hn = model_param_numel(hp);
    float *hw = check_alloc((size_t)hn * sizeof *hw);
    check_fill(hw, (size_t)hn, 4243, -3.0f, 3.0f);
    model_param_set(&s->t.m, hp, hw);
    free(hw);
    for (int i = 0; i < s->t.p.n; i++) {
        struct peft_module *md = &s->t.p.mod[i];
        for (int j = 0; j < md->n_t; j++)
            check_fill(md->t[j].data, (size_t)md->t[j].numel, 900 + (uint64_t)(i * 8 + j), -1.0f,
                       1.0f);
    }
}

/* ---- straight-through gradients ---- */

Test(search, softmax_back_matches_finite_differences) {
    /* d/dl sum_k dy_k softmax(scale (l + G))_k in double precision */
    double l[3] = {0.3, -0.2, 0.05}, G[3] = {0.4, -1.1, 0.7}, dy[3] = {0.9, -0.4, 1.3};
    double scale = 1.0 / 2.5, soft[3], dl[3] = {0};
    for (int trial = 0; trial < 2; trial++) {
        double f[3], h = 1e-6;
        /* soft at l */
        double z[3], mx = -1e9, sum = 0;
        for (int k = 0; k < 3; k++) {
            z[k] = scale * (l[k] + G[k]);
            mx = z[k] > mx ? z[k] : mx;
        }
        for (int k = 0; k < 3; k++)
            sum += soft[k] = exp(z[k] - mx);
        for (int k = 0; k < 3; k++)
            soft[k] /= sum;
        memset(dl, 0, sizeof dl);
        search_softmax_back(soft, dy, 3, scale, dl);
        for (int i = 0; i < 3; i++) {
            double v[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                double lp[3] = {l[0], l[1], l[2]}, zz[3], m2 = -1e9, s2 = 0, out = 0;
                lp[i] += sgn ? -h : h;
                for (int k = 0; k < 3; k++) {
                    zz[k] = scale * (lp[k] + G[k]);
                    m2 = zz[k] > m2 ? zz[k] : m2;
                }
                double e[3];
                for (int k = 0; k < 3; k++)
                    s2 += e[k] = exp(zz[k] - m2);
                for (int k = 0; k < 3; k++)
                    out += dy[k] * e[k] / s2;
                v[sgn] = out;
            }
            f[i] = (v[0] - v[1]) / (2 * h);
            cr_assert(fabs(f[i] - dl[i]) < 1e-8, "logit %d: analytic %.10g, numeric %.10g", i,
                      dl[i], f[i]);
        }
        scale = 1.0; /* the plain softmax (no Gumbel) */
        G[0] = G[1] = G[2] = 0;
    }
    /* a hand-computed case: two choices, tau 1, no noise, l = (0, 0): soft = (1/2, 1/2);
     * dy = (0, 1) -> dl = soft . (dy - soft.dy) = (-1/4, 1/4) */
    double s2[2] = {0.5, 0.5}, d2[2] = {0, 1}, g2[2] = {0, 0};
    search_softmax_back(s2, d2, 2, 1.0, g2);
    cr_assert_float_eq(g2[0], -0.25, 1e-15);
    cr_assert_float_eq(g2[1], 0.25, 1e-15);
}

/* The loss of the current (soft) sample on batch b. */
static double sample_loss(struct search *s, const struct data_batch *b, int stage) {
    struct pf_err err = {0};
    search_sample(s, 1, stage);
    CHECK_OK(search_apply_sample(s, &err), &err);
    CHECK_OK(trainer_zero_grads(&s->t, &err), &err);
    float loss = 0;
    CHECK_OK(trainer_micro_step(&s->t, b, 1.0f, 1, &loss, &err), &err);
    return loss;
}

/* Without Gumbel noise the sample is softmax(logits) and the loss is a smooth function of the
 * logits: the engine's gradient (dLoss/dgate and dLoss/dmask through the softmax) must match
 * central differences, in the binary space and in the rank space. */
Test(search, arch_gradients_match_finite_differences) {
    struct backend *be;
    struct search *s = open_session("fd.lua", ", gumbel = false, arch_reg = 0", "", "fd", &be, 1);
    randomise_modules(s);
    for (int i = 0; i < s->nc; i++)
        for (int k = 0; k < 2; k++) {
            s->c[i].bl[k] = 0.6 * rng_normal_at(77, (uint64_t)(i * 16 + k));
            for (int r = 0; r < s->c[i].n_ranks; r++)
                s->c[i].rl[r] = 0.6 * rng_normal_at(78, (uint64_t)(i * 16 + r));
        }
    s->tau = 1;
    struct data_loader *ld = NULL;
    struct data_loader_opts lo = {.batch_size = 8, .seed = 1, .pad_id = s->t.pad_id};
    struct pf_err err = {0};
    CHECK_OK(data_loader_create(&ld, &s->t.enc[TE_TRAIN], &lo, &err), &err);
    struct data_batch b;
    int done = 0;
    CHECK_OK(data_loader_next(ld, &b, &done, &err), &err);
    int checked = 0;
    for (int stage = 0; stage < 2; stage++) {
        sample_loss(s, &b, stage);
        search_arch_grads(s);
        double g[64][SRANK_MAX];
        for (int i = 0; i < s->nc && i < 64; i++)
            for (int k = 0; k < SRANK_MAX; k++)
                g[i][k] = stage == SSTAGE_BINARY ? (k < 2 ? s->c[i].bg[k] : 0) : s->c[i].rg[k];
        for (int i = 0; i < s->nc && i < 64; i++) {
            struct search_cand *c = &s->c[i];
            int nk = stage == SSTAGE_BINARY ? (c->n_ranks ? 2 : 2) : c->n_ranks;
            if (stage == SSTAGE_RANK && c->n_ranks == 0)
                nk = 2; /* vector modules are sampled in the binary space in both stages */
            for (int k = 0; k < nk; k++) {
                double *lp = (stage == SSTAGE_RANK && c->n_ranks) ? &c->rl[k] : &c->bl[k];
                double h = 5e-2, keep = *lp;
                *lp = keep + h;
                double up = sample_loss(s, &b, stage);
                *lp = keep - h;
                double dn = sample_loss(s, &b, stage);
                *lp = keep;
                double num = (up - dn) / (2 * h), ana = g[i][k];
                if (stage == SSTAGE_RANK && c->n_ranks == 0)
                    ana = c->bg[k];
                if (getenv("FD_DEBUG")) fprintf(stderr, "%s st %d k %d ana %.6g num %.6g\n", c->name, stage, k, ana, num);
                cr_assert(fabs(num - ana) <= 1e-4 + 0.03 * fabs(num),
                          "%s stage %d logit %d: analytic %.6g, numeric %.6g", c->name, stage, k,
                          ana, num);
                checked += fabs(num) > 1e-3;
            }
        }
    }
    cr_assert_gt(checked, 10, "too few non-zero gradients were compared (%d)", checked);
    data_loader_free(ld);
    search_close(s);
    backend_close(be);
}

/* ---- selection maths ---- */

static double softmax_k(const double *l, int n, int k) {
    double mx = l[0], z = 0;
    for (int i = 1; i < n; i++)
        mx = l[i] > mx ? l[i] : mx;
    for (int i = 0; i < n; i++)
        z += exp(l[i] - mx);
    return exp(l[k] - mx) / z;
}

Test(search, expected_params_formula) {
    struct backend *be;
    struct search *s = open_session("ep.lua", "", "", "ep", &be, 1);
    for (int i = 0; i < s->nc; i++) {
        s->c[i].bl[1] = rng_normal_at(5, (uint64_t)i);
        for (int k = 0; k < s->c[i].n_ranks; k++)
            s->c[i].rl[k] = rng_normal_at(6, (uint64_t)(i * 8 + k));
    }
    s->c[0].pruned = 1;
    s->c[1].fixed = 1;
    s->c[1].fixed_idx = 1;
    for (int pass = 0; pass < 2; pass++) {
        s->stages_left = pass ? s->cfg.search.hard_stages : s->cfg.search.hard_stages + 1;
        double want = 0;
        for (int i = 0; i < s->nc; i++) {
            const struct search_cand *c = &s->c[i];
            int64_t full = peft_param_count(&s->t.m, &s->t.p.mod[c->pi].s,
                                            c->n_ranks ? c->ranks[c->n_ranks - 1] : 0);
            cr_assert_eq(c->full_cost, full, "%s: full cost", c->name);
            if (c->pruned)
                continue;
            double q = pass ? 1.0 : softmax_k(c->bl, 2, 1), e = 0;
            if (c->n_ranks == 0)
                e = (double)full;
            for (int k = 0; k < c->n_ranks; k++) {
                double p = c->fixed ? (k == c->fixed_idx) : softmax_k(c->rl, c->n_ranks, k);
                e += p * (double)peft_param_count(&s->t.m, &s->t.p.mod[c->pi].s, c->ranks[k]);
            }
            want += q * e;
        }
        double got = search_expected_params(s, 1);
        cr_assert(fabs(got - want) < 1e-9 * want, "pass %d: E = %.9g, want %.9g", pass, got,
                  want);
    }
    search_close(s);
    backend_close(be);
}

/* One stage with the default policy: delta = (E - B) / K; the least sensitive modules go
 * first while the pruned total stays within delta (the first always). */
Test(search, stage_prunes_least_sensitive_within_delta) {
    struct backend *be;
    struct search *s = open_session("st.lua", "", "", "st", &be, 1);
    struct collect *col = collector(s);
    for (int i = 0; i < s->nc; i++)
        s->c[i].sens_i = 1.0 + (double)((i * 7) % s->nc); /* a permutation: no ties */
    s->stages_left = 3;
    s->budget = 300;
    double E = search_expected_params(s, 1);
    double delta = (E - 300.0) / 3.0;
    /* the expected choice */
    int order[64], n = s->nc;
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int a = 0; a < n; a++)
        for (int b2 = a + 1; b2 < n; b2++)
            if (s->c[order[b2]].sens_i < s->c[order[a]].sens_i) {
                int t = order[a];
                order[a] = order[b2];
                order[b2] = t;
            }
    int want[64] = {0};
    double total = 0;
    int taken = 0;
    for (int j = 0; j < n; j++) {
        if (total > delta)
            break;
        double cst = s->c[order[j]].e_cost;
        if (total + cst <= delta || taken == 0) {
            want[order[j]] = 1;
            total += cst;
            taken++;
        }
    }
    struct pf_err err = {0};
    CHECK_OK(search_do_stage(s, 0, &err), &err);
    cr_assert_eq(s->stages_left, 2);
    int trig = -1;
    for (int i = 0; i < col->n; i++)
        if (col->ev[i].type == SEV_TRIGGER)
            trig = i;
    cr_assert_geq(trig, 0, "no trigger event");
    cr_assert(fabs(col->ev[trig].value - delta) < 1e-9 * fabs(delta), "delta %.9g, want %.9g",
              col->ev[trig].value, delta);
    for (int i = 0; i < n; i++)
        cr_assert_eq(s->c[i].pruned, want[i], "%s: pruned %d, want %d (delta %.1f)",
                     s->c[i].name, s->c[i].pruned, want[i], delta);
    cr_assert_eq(count(col, SEV_PRUNE, "policy"), taken);
    free(col);
    search_close(s);
    backend_close(be);
}

/* DSI = mean over candidates of the sample std over the window x KL(p_last || p_first); G is
 * the cosine of the argmax-index vectors of the first and last snapshot. */
Test(search, dimension_stability_indicator) {
    struct backend *be;
    struct search *s = open_session("dsi.lua", "", "", "dsi", &be, 1);
    int m = -1;
    for (int i = 0; i < s->nc; i++)
        if (s->c[i].n_ranks == 3 && m < 0)
            m = i;
    cr_assert_geq(m, 0);
    const double snaps[3][3] = {{0.1, 0.2, 0.3}, {0.0, 0.5, 0.1}, {0.4, 0.1, 0.2}};
    for (int t = 0; t < 3; t++) {
        for (int i = 0; i < s->nc; i++)
            for (int k = 0; k < s->c[i].n_ranks; k++)
                s->c[i].rl[k] = i == m ? snaps[t][k] : 0.01 * k; /* the others never move */
        search_window_push(s);
    }
    search_compute_dsi(s);
    double sd = 0;
    for (int k = 0; k < 3; k++) {
        double mean = (snaps[0][k] + snaps[1][k] + snaps[2][k]) / 3, v = 0;
        for (int t = 0; t < 3; t++)
            v += (snaps[t][k] - mean) * (snaps[t][k] - mean);
        sd += sqrt(v / 2);
    }
    sd /= 3;
    double kl = 0;
    for (int k = 0; k < 3; k++) {
        double pf = softmax_k(snaps[0], 3, k), pl = softmax_k(snaps[2], 3, k);
        kl += pl * log(pl / pf);
    }
    cr_assert(fabs(s->c[m].dsi - sd * kl) < 1e-12, "DSI %.12g, want %.12g", s->c[m].dsi,
              sd * kl);
    /* the unmoved modules: KL 0 -> DSI 0; the argmax of m went from 2 to 0 */
    double dot = 0, na = 0, nb = 0;
    for (int i = 0; i < s->nc; i++) {
        if (!s->c[i].n_ranks)
            continue;
        double a = i == m ? 2 : s->c[i].n_ranks - 1, b2 = i == m ? 0 : s->c[i].n_ranks - 1;
        dot += a * b2;
        na += a * a;
        nb += b2 * b2;
        if (i != m)
            cr_assert_float_eq(s->c[i].dsi, 0.0, 1e-15);
    }
    cr_assert(fabs(s->global_stab - dot / sqrt(na * nb)) < 1e-12);
    search_window_clear(s);
    cr_assert_eq(s->win_count, 0);
    search_close(s);
    backend_close(be);
}

/* ---- interventions ---- */

Test(search, interventions_and_refusals) {
    struct backend *be;
    struct search *s = open_session("iv.lua", "", "", "iv", &be, 1);
    struct collect *col = collector(s);
    struct pf_err err = {0};
    struct search_request rq = {.type = SREQ_PIN};
    snprintf(rq.module, sizeof rq.module, "L1.lora.q");
    CHECK_OK(search_apply(s, &rq, "user", &err), &err);
    int q1 = search_find(s, "L1.lora.q");
    cr_assert(s->c[q1].pinned);
    /* prune a pinned module */
    rq.type = SREQ_PRUNE;
    cr_assert_neq(search_apply(s, &rq, "user", &err), PF_OK);
    cr_assert(strstr(err.msg, "pinned"), "%s", err.msg);
    /* a rank that is not a candidate */
    rq.type = SREQ_FIX_RANK;
    rq.value = 3;
    cr_assert_neq(search_apply(s, &rq, "user", &err), PF_OK);
    cr_assert(strstr(err.msg, "not a candidate"), "%s", err.msg);
    rq.value = 2;
    CHECK_OK(search_apply(s, &rq, "user", &err), &err);
    cr_assert(s->c[q1].fixed && s->c[q1].ranks[s->c[q1].fixed_idx] == 2);
    /* an unknown name */
    snprintf(rq.module, sizeof rq.module, "L9.lora.q");
    rq.type = SREQ_PIN;
    cr_assert_neq(search_apply(s, &rq, "user", &err), PF_OK);
    cr_assert(strstr(err.msg, "no candidate module named"), "%s", err.msg);
    /* pins beyond the budget: L1.lora.q reserves 256 of 400; another LoRA would need 512 */
    snprintf(rq.module, sizeof rq.module, "L0.lora.v");
    cr_assert_neq(search_apply(s, &rq, "user", &err), PF_OK);
    cr_assert(strstr(err.msg, "over the budget"), "%s", err.msg);
    /* a budget below what the pins reserve */
    rq.type = SREQ_BUDGET;
    rq.value = 100;
    cr_assert_neq(search_apply(s, &rq, "user", &err), PF_OK);
    cr_assert(strstr(err.msg, "pinned"), "%s", err.msg);
    rq.value = 350;
    CHECK_OK(search_apply(s, &rq, "user", &err), &err);
    cr_assert_eq(search_budget(s), 350);
    /* prune, then pin the pruned module */
    rq.type = SREQ_PRUNE;
    snprintf(rq.module, sizeof rq.module, "L0.bitfit.q");
    CHECK_OK(search_apply(s, &rq, "user", &err), &err);
    rq.type = SREQ_PIN;
    cr_assert_neq(search_apply(s, &rq, "user", &err), PF_OK);
    cr_assert(strstr(err.msg, "pruned"), "%s", err.msg);
    cr_assert_eq(count(col, SEV_REFUSED, "user"), 6);
    cr_assert_eq(count(col, SEV_PIN, "user"), 1);
    cr_assert_eq(count(col, SEV_PRUNE, "user"), 1);
    cr_assert_eq(count(col, SEV_FIX, "user"), 1);
    cr_assert_eq(count(col, SEV_BUDGET, "user"), 1);
    free(col);
    search_close(s);
    backend_close(be);
}

/* ---- end to end ---- */

/* Accuracy of the untrained model (the fixture's head, no module) on the test split. */
static double untrained_accuracy(const char *cfgpath, struct backend *be) {
    struct run_config cfg;
    load_config(cfgpath, &cfg);
    cfg.mode = CFG_MODE_TRAIN;
    struct trainer t;
    struct pf_err err = {0};
    CHECK_OK(trainer_open(&t, &cfg, be, &err), &err);
    double v[METRIC_COUNT];
    CHECK_OK(trainer_eval(&t, TE_TEST, v, NULL, &err), &err);
    trainer_close(&t);
    return v[METRIC_ACC];
}

static int64_t structure_params(const char *dir, struct backend *be, int *has_q1,
                                int *has_b0) {
    char p[800];
    snprintf(p, sizeof p, "%s/structure.json", dir);
    struct peft_spec *sp = NULL;
    int n = 0;
    struct pf_err err = {0};
    CHECK_OK(peft_structure_read(p, &sp, &n, &err), &err);
    struct model m;
    struct model_load_opts o = {.head = HEAD_SEQ_CLS, .n_labels = 2};
    char mp[600];
    snprintf(mp, sizeof mp, "%s/tests/data/hf/llama-cls", getenv("PWD") ? getenv("PWD") : ".");
    CHECK_OK(model_load(&m, mp, be, &o, NULL, &err), &err);
    int64_t total = 0;
    *has_q1 = *has_b0 = 0;
    for (int i = 0; i < n; i++) {
        total += peft_param_count(&m, &sp[i], sp[i].rank);
        if (sp[i].kind == CFG_KIND_LORA && sp[i].layer == 1 && sp[i].target == CFG_T_Q)
            *has_q1 = 1;
        if (sp[i].kind == CFG_KIND_BITFIT && sp[i].layer == 0 && sp[i].target == CFG_T_Q)
            *has_b0 = 1;
    }
    model_free(&m);
    free(sp);
    return total;
}

Test(search, end_to_end_stops_early_fits_budget_and_learns) {
    struct backend *be;
    struct search *s = open_session("e2e.lua", "", "", "e2e", &be, 0);
    struct collect *col = collector(s);
    struct pf_err err = {0};
    struct search_request rq = {.type = SREQ_PIN};
    snprintf(rq.module, sizeof rq.module, "L1.lora.q");
    search_request(s, &rq); /* queued: applied at the first step boundary */
    rq.type = SREQ_PRUNE;
    snprintf(rq.module, sizeof rq.module, "L0.bitfit.q");
    search_request(s, &rq);
    struct search_result r;
    CHECK_OK(search_run(s, &r, &err), &err);
    cr_assert_eq(search_phase_of(s), SPH_DONE);
    cr_assert(r.early_stopped, "the search ran all %lld iterations", (long long)r.planned);
    cr_assert_lt(r.iterations, r.planned);
    cr_assert_eq(r.stages_done, r.stages_total);
    cr_assert_eq(r.guard_stages, 0);
    cr_assert_leq(r.params, 400);
    int q1, b0;
    int64_t counted = structure_params(search_dir(s), be, &q1, &b0);
    cr_assert_eq(counted, r.params, "structure.json holds %lld parameters, the engine says %lld",
                 (long long)counted, (long long)r.params);
    cr_assert(q1, "the pinned module L1.lora.q is not in the structure");
    cr_assert(!b0, "the pruned module L0.bitfit.q is in the structure");
    cr_assert(count(col, SEV_TRIGGER, "policy") == r.stages_total);
    for (int i = 0; i < col->n; i++)
        if (col->ev[i].type == SEV_TRIGGER)
            cr_assert_geq(col->ev[i].epoch, 1, "a stage fired before prune_begin_epoch");
    double base = untrained_accuracy(search_config("e2e.lua", "", ""), be);
    cr_assert(r.has_test && r.test > base + 0.1, "retrained test accuracy %.3f, untrained %.3f",
              r.test, base);
    free(col);
    search_close(s);
    backend_close(be);
}

/* search.baseline = "lora": after the retraining, LoRA on every linear at one rank within the
 * same budget, trained alike into DIR/baseline-lora/run; summary.json and the printed summary
 * hold both, the structure shown layer by layer. */
Test(search, cli_summary_with_lora_baseline) {
    char dir[700], cmd[800], out[16384], errb[8192];
    snprintf(dir, sizeof dir, "%s/baseline", check_temp_dir());
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    char cfgp[600];
    snprintf(cfgp, sizeof cfgp, "%s", search_config("bl.lua", ", baseline = 'lora'", ""));
    const char *a[] = {"search", cfgp, "--session", dir, "--quiet", NULL};
    int rc = check_run_argv(a, out, sizeof out, errb, sizeof errb);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, errb);
    /* the baseline's structure: LoRA only, one rank, within the budget, counted exactly */
    char bdir[800];
    snprintf(bdir, sizeof bdir, "%s/baseline-lora", dir);
    char p[900];
    snprintf(p, sizeof p, "%s/structure.json", bdir);
    struct peft_spec *sp = NULL;
    int n = 0;
    struct pf_err err = {0};
    CHECK_OK(peft_structure_read(p, &sp, &n, &err), &err);
    cr_assert_gt(n, 0);
    for (int i = 0; i < n; i++) {
        cr_expect_eq(sp[i].kind, CFG_KIND_LORA, "module %d is not LoRA", i);
        cr_expect_eq(sp[i].rank, sp[0].rank, "module %d has rank %d, module 0 %d", i,
                     sp[i].rank, sp[0].rank);
    }
    free(sp);
    struct backend *be = check_cpu(1);
    int q1, b0;
    int64_t bl = structure_params(bdir, be, &q1, &b0);
    cr_assert_leq(bl, 400, "the baseline needs %lld parameters, over the budget",
                  (long long)bl);
    snprintf(p, sizeof p, "%s/run/summary.json", bdir);
    char *rs = check_read_file(p, NULL);
    cr_assert(rs, "no %s", p);
    free(rs);
    snprintf(p, sizeof p, "%s/summary.json", dir);
    char *sm = check_read_file(p, NULL);
    cr_assert(sm, "no %s", p);
    cJSON *sj = cJSON_Parse(sm);
    const cJSON *b = cJSON_GetObjectItem(sj, "baseline");
    cr_assert(cJSON_IsObject(b), "%s", sm);
    cr_assert_str_eq(cJSON_GetObjectItem(b, "name")->valuestring, "lora");
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(b, "rank")), "%s", sm);
    cr_expect_eq((long long)cJSON_GetObjectItem(b, "params")->valuedouble, (long long)bl,
                 "summary.json: %s (want params %lld)", sm, (long long)bl);
    cJSON_Delete(sj);
    free(sm);
    /* the printed summary: the structure by layer, both results, where it was saved */
    const char *lines[] = {"structure: ", "layer 0", "by kind", "found structure",
                           "lora baseline (r", "test accuracy", "saved in ",
                           "export: bipeft export "};
    for (int i = 0; i < 8; i++)
        cr_expect(strstr(out, lines[i]), "no '%s' in:\n%s", lines[i], out);
    cr_expect(strstr(out, dir), "the session folder is not named:\n%s", out);
    backend_close(be);
}

/* The export line of the summary names a format the structure really takes: a LoRA-only
 * space gives "peft", LoRA + LN-tuning "merged", the fixture's mix with BitFit on LLaMA's
 * bias-free linears and adapters "native"; each named export is then run and must succeed. */
Test(search, summary_names_an_export_format_that_works) {
    struct {
        char tag[16], extra[200], want[16];
    } cases[] = {
        {"peft", "space = peft.space{ peft.lora{ targets = { 'q', 'v' }, ranks = { 1, 2, 4 } } },",
         "peft"},
        {"merged", "space = peft.space{ peft.lora{ targets = { 'q', 'v' }, ranks = { 1, 2 } }, "
                   "peft.ln{ targets = { 'attn_ln', 'final_ln' } } },", "merged"},
        {"bitfit", "", "native"}, /* the fixture's mix: BitFit on bias-free LLaMA linears */
        {"native", "space = peft.space{ peft.lra{ targets = { 'attn', 'ffn' }, ranks = { 1, 2 } } },",
         "native"},
    };
    for (int i = 0; i < 4; i++) {
        char dir[640], out[16384], errb[8192], cmd[1600], cfgp[600], name[64], ex[800];
        snprintf(dir, sizeof dir, "%.500s/fmt-%.15s", check_temp_dir(), cases[i].tag);
        snprintf(ex, sizeof ex, "%.500s/fmt-%.15s-export", check_temp_dir(), cases[i].tag);
        snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, ex);
        cr_assert_eq(system(cmd), 0);
        snprintf(name, sizeof name, "fmt_%.15s.lua", cases[i].tag);
        snprintf(cfgp, sizeof cfgp, "%s", search_config(name, "", cases[i].extra));
        const char *a[] = {"search", cfgp, "--session", dir, "--quiet", NULL};
        int rc = check_run_argv(a, out, sizeof out, errb, sizeof errb);
        cr_assert_eq(rc, 0, "%s: exit %d: %s", cases[i].tag, rc, errb);
        char want[80];
        snprintf(want, sizeof want, "--format %.16s --out DIR", cases[i].want);
        cr_expect(strstr(out, want), "%s: no '%s' in:\n%s", cases[i].tag, want, out);
        char run[800];
        snprintf(run, sizeof run, "%s/retrain", dir);
        const char *e[] = {"export", run, "--format", cases[i].want, "--out", ex, NULL};
        rc = check_run_argv(e, out, sizeof out, errb, sizeof errb);
        cr_expect_eq(rc, 0, "%s: the export the summary names fails: %s", cases[i].tag, errb);
    }
}

Test(search, guard_runs_the_stages_the_epoch_cap_cut_off) {
    struct backend *be;
    /* 40 stages cannot fit in 6 iterations: the guard runs the rest at the end */
    struct search *s = open_session("g.lua", ", stages = 40, prune_begin_epoch = 0",
                                    "", "guard", &be, 1);
    s->cfg.optim.epochs = 1;
    s->planned = s->per_epoch;
    struct search_result r;
    struct pf_err err = {0};
    CHECK_OK(search_run(s, &r, &err), &err);
    cr_assert_eq(r.iterations, r.planned);
    cr_assert(!r.early_stopped);
    cr_assert_gt(r.guard_stages, 0);
    cr_assert_eq(r.stages_done, r.stages_total);
    cr_assert_leq(r.params, 400);
    search_close(s);
    backend_close(be);
}

/* ---- exact resume ---- */


static void same_file(const char *a, const char *b, const char *name) {
    char pa[800], pb[800];
    snprintf(pa, sizeof pa, "%s/%s", a, name);
    snprintf(pb, sizeof pb, "%s/%s", b, name);
    size_t na, nb;
    char *x = check_read_file(pa, &na), *y = check_read_file(pb, &nb);
    cr_assert(na == nb && memcmp(x, y, na) == 0, "%s differs between %s and %s", name, a, b);
    free(x);
    free(y);
}

/* Decisions (type, step, module, rank, value) of a collector, in order. */
static int same_decisions(const struct collect *a, const struct collect *b, int from) {
    int ia = 0, ib = 0;
    for (;;) {
        while (ia < a->n && (a->ev[ia].seq <= from || a->ev[ia].type == SEV_STEP ||
                             a->ev[ia].type == SEV_SENSITIVITY || a->ev[ia].type == SEV_EVAL))
            ia++;
        while (ib < b->n && (b->ev[ib].seq <= from || b->ev[ib].type == SEV_STEP ||
                             b->ev[ib].type == SEV_SENSITIVITY || b->ev[ib].type == SEV_EVAL))
            ib++;
        if (ia >= a->n || ib >= b->n)
            return ia >= a->n && ib >= b->n;
        const struct search_event *x = &a->ev[ia++], *y = &b->ev[ib++];
        if (x->type != y->type || x->seq != y->seq || x->step != y->step ||
            x->module != y->module || x->rank != y->rank ||
            memcmp(&x->value, &y->value, sizeof x->value) != 0)
            return 0;
    }
}

Test(search, stopped_and_resumed_matches_uninterrupted) {
    struct backend *be;
    struct pf_err err = {0};
    struct search_result ra, rb;
    /* A: uninterrupted */
    struct search *a = open_session("ra.lua", "", "", "resume_a", &be, 0);
    struct collect *ca = collector(a);
    CHECK_OK(search_run(a, &ra, &err), &err);
    char da[700];
    snprintf(da, sizeof da, "%s", search_dir(a));
    search_close(a);
    backend_close(be);
    /* B: stopped after 8 iterations (the last checkpoint is at 6), then resumed twice */
    struct search *b = open_session("rb.lua", "", "", "resume_b", &be, 0);
    b->opts.stop_after = 8;
    CHECK_OK(search_run(b, &rb, &err), &err);
    cr_assert_eq(search_iteration(b), 8);
    char db[700];
    snprintf(db, sizeof db, "%s", search_dir(b));
    search_close(b);
    struct search_opts o = {.quiet = 1, .stop_after = 14};
    CHECK_OK(search_resume(&b, db, be, &o, &err), &err);
    cr_assert_eq(search_iteration(b), 6);
    CHECK_OK(search_run(b, &rb, &err), &err);
    search_close(b);
    o.stop_after = 0;
    CHECK_OK(search_resume(&b, db, be, &o, &err), &err);
    struct collect *cb = collector(b);
    int64_t from = b->seq;
    CHECK_OK(search_run(b, &rb, &err), &err);
    search_close(b);
    cr_assert(same_decisions(ca, cb, (int)from), "the decisions after the resume differ");
    cr_assert_eq(ra.params, rb.params);
    cr_assert_eq(ra.iterations, rb.iterations);
    same_file(da, db, "structure.json");
    same_file(da, db, "retrain/adapter.safetensors");
    free(ca);
    free(cb);
    backend_close(be);
}

/* ---- SIGKILL at random moments (reliability cases 19-23) ---- */

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "search/search_log.h"


static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}


/* Everything but the wall clock, bitwise. */
static void same_events(const struct evlist *a, const struct evlist *b) {
    cr_assert_eq(a->n, b->n, "the logs hold %d and %d events", a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        struct search_event x = a->ev[i], y = b->ev[i];
        x.seconds = y.seconds = 0;
        cr_assert(x.type == y.type && x.seq == y.seq && x.step == y.step &&
                      x.module == y.module && x.rank == y.rank &&
                      !memcmp(&x.value, &y.value, sizeof x.value) &&
                      (isnan(x.value2) ? isnan(y.value2)
                                       : !memcmp(&x.value2, &y.value2, sizeof x.value2)) &&
                      !memcmp(&x.loss_w, &y.loss_w, sizeof x.loss_w) &&
                      !memcmp(&x.loss_a, &y.loss_a, sizeof x.loss_a) &&
                      x.current == y.current && !strcmp(x.text, y.text) &&
                      !strcmp(x.source, y.source),
                  "event %d (seq %lld, %s) differs after the kills: step %lld/%lld, value "
                  "%.17g/%.17g, loss %.17g/%.17g", i, (long long)x.seq,
                  search_event_name(x.type), (long long)x.step, (long long)y.step, x.value,
                  y.value, x.loss_w, y.loss_w);
    }
}

/* A fresh session in `dir`, killed with SIGKILL up to `kills` times at random moments (each
 * later attempt resumes), then resumed to the end; everything must equal the reference. */
static int kill_trial(const char *cfgp, const char *ref, const char *dir, double T, int kills,
                      uint64_t seed) {
    char out[4096], errb[4096];
    int started = 0, done = 0, killed = 0;
    for (int k = 0; killed < kills && !done && k < 4 * kills + 4; k++) {
        const char *a_s[] = {"search", cfgp, "--session", dir, "--quiet", NULL};
        const char *a_r[] = {"resume", dir, "--quiet", NULL};
        pid_t pid = check_spawn_argv(started ? a_r : a_s, -1, -1);
        started = 1;
        double delay = (kills > 1 ? 0.6 : 1.0) * T * rng_uniform_at(seed, (uint64_t)k);
        struct timespec ts = {.tv_sec = (time_t)delay,
                              .tv_nsec = (long)((delay - (double)(time_t)delay) * 1e9)};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        char p[800];
        snprintf(p, sizeof p, "%s/config.lua", dir);
        struct stat sb;
        int have_config = stat(p, &sb) == 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            done = 1;
        else if (WIFSIGNALED(status))
            killed++;
        else if (WIFEXITED(status) && WEXITSTATUS(status) == 2 && have_config)
            done = 1; /* "already done" */
        /* killed before config.lua existed: nothing to resume, start the search again */
        started = have_config;
    }
    for (int tries = 0; !done && tries < 3; tries++) {
        const char *a_r[] = {"resume", dir, "--quiet", NULL};
        const char *a_s[] = {"search", cfgp, "--session", dir, "--quiet", NULL};
        int rc = check_run_argv(started ? a_r : a_s, out, sizeof out, errb, sizeof errb);
        started = 1;
        done = rc == 0 || (rc == 2 && strstr(errb, "already done"));
        cr_assert(done || rc == 2, "resume failed (%d): %s", rc, errb);
        if (!done)
            fprintf(stderr, "%s: attempt %d: %s\n", dir, tries, errb);
    }
    cr_assert(done, "%s: the session did not finish: %s", dir, errb);
    same_file(ref, dir, "structure.json");
    same_file(ref, dir, "retrain/adapter.safetensors");
    same_file(ref, dir, "retrain/structure.json");
    struct evlist *ea = search_fixture_events(ref), *eb = search_fixture_events(dir);
    same_events(ea, eb);
    free(ea);
    free(eb);
    return killed;
}

/* CI: one session killed up to 6 times in a row, and 3 sessions killed once each.
 * RESUME_KILLS=N (make test-resume: 200): N single-kill sessions and one killed 20 times. */
Test(search, sigkill_at_random_moments_then_resume_is_bitwise) {
    int trials = getenv("RESUME_KILLS") ? atoi(getenv("RESUME_KILLS")) : 3;
    int chain = getenv("RESUME_KILLS") ? 20 : 6;
    const char *cfg = search_config("kill.lua", "", "");
    char cfgp[700], ref[700], dir[700];
    snprintf(cfgp, sizeof cfgp, "%s", cfg);
    snprintf(ref, sizeof ref, "%s/kill_ref", check_temp_dir());
    char out[4096], errb[4096];
    double t0 = now_s();
    const char *a_ref[] = {"search", cfgp, "--session", ref, "--quiet", NULL};
    cr_assert_eq(check_run_argv(a_ref, out, sizeof out, errb, sizeof errb), 0, "%s", errb);
    double T = now_s() - t0;
    snprintf(dir, sizeof dir, "%s/kill_chain", check_temp_dir());
    int killed = kill_trial(cfgp, ref, dir, T, chain, 2024);
    int single = 0;
    for (int i = 0; i < trials; i++) {
        snprintf(dir, sizeof dir, "%s/kill_%d", check_temp_dir(), i);
        single += kill_trial(cfgp, ref, dir, T, 1, 3000 + (uint64_t)i);
    }
    fprintf(stderr, "chained session: killed %d times; %d of %d single-kill sessions were killed "
                "before they ended (uninterrupted run %.2f s); all match bitwise\n", killed,
                single, trials, T);
}

/* ---- damaged and mismatched checkpoints (reliability case 21) ---- */

static void write_bytes(const char *path, const char *b, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

Test(search, damaged_checkpoints_are_refused_and_previous_resumes) {
    struct backend *be;
    struct pf_err err = {0};
    struct search_result r;
    struct search *s = open_session("dmg.lua", "", "", "damaged", &be, 1);
    s->opts.stop_after = 7; /* checkpoints at 3 and 6: checkpoint.bin at 6, prev at 3 */
    CHECK_OK(search_run(s, &r, &err), &err);
    char dir[700], p[800], q[800];
    snprintf(dir, sizeof dir, "%s", search_dir(s));
    search_close(s);
    snprintf(p, sizeof p, "%s/checkpoint.bin", dir);
    snprintf(q, sizeof q, "%s/checkpoint.prev.bin", dir);
    size_t n;
    char *good = check_read_file(p, &n);
    struct search_opts o = {.quiet = 1, .stop_after = 1};
    /* one flipped byte anywhere: the checksum (or the magic) catches it */
    const size_t where[] = {0, 7, 9, 100, n / 2, n - 9, n - 1};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        char *bad = check_alloc(n);
        memcpy(bad, good, n);
        bad[where[i]] ^= 0x20;
        write_bytes(p, bad, n);
        free(bad);
        struct search *t = NULL;
        pf_status st = search_resume(&t, dir, be, &o, &err);
        cr_assert_neq(st, PF_OK, "a byte flipped at %zu was not detected", where[i]);
        cr_assert(strstr(err.msg, "checkpoint.bin") && strstr(err.msg, "--previous"), "%s",
                  err.msg);
    }
    /* truncated */
    write_bytes(p, good, n / 3);
    struct search *t = NULL;
    cr_assert_neq(search_resume(&t, dir, be, &o, &err), PF_OK);
    cr_assert(strstr(err.msg, "checkpoint"), "%s", err.msg);
    /* another version */
    char *v2 = check_alloc(n);
    memcpy(v2, good, n);
    v2[7] = '9';
    write_bytes(p, v2, n);
    free(v2);
    cr_assert_neq(search_resume(&t, dir, be, &o, &err), PF_OK);
    cr_assert(strstr(err.msg, "version"), "%s", err.msg);
    /* the previous checkpoint resumes (at iteration 3) */
    o.previous = 1;
    CHECK_OK(search_resume(&t, dir, be, &o, &err), &err);
    cr_assert_eq(search_iteration(t), 3);
    search_close(t);
    /* the intact one resumes at 6; an edited config.lua is refused */
    write_bytes(p, good, n);
    o.previous = 0;
    CHECK_OK(search_resume(&t, dir, be, &o, &err), &err);
    cr_assert_eq(search_iteration(t), 6);
    search_close(t);
    char cp[800];
    snprintf(cp, sizeof cp, "%s/config.lua", dir);
    size_t cn;
    char *ctext = check_read_file(cp, &cn);
    char *edited = check_alloc(cn + 32);
    memcpy(edited, ctext, cn);
    memcpy(edited + cn, "\n-- edited\n", 11);
    write_bytes(cp, edited, cn + 11);
    cr_assert_neq(search_resume(&t, dir, be, &o, &err), PF_OK);
    cr_assert(strstr(err.msg, "another config.lua"), "%s", err.msg);
    write_bytes(cp, ctext, cn);
    /* a leftover temporary file of a killed write is removed by the resume */
    char tmp[820];
    snprintf(tmp, sizeof tmp, "%s/checkpoint.bin.tmp.abcdef", dir);
    write_bytes(tmp, "partial", 7);
    CHECK_OK(search_resume(&t, dir, be, &o, &err), &err);
    cr_assert_neq(access(tmp, F_OK), 0, "%s was not cleaned up", tmp);
    search_close(t);
    /* killed between keeping the previous checkpoint and writing the next: the previous one */
    unlink(p);
    CHECK_OK(search_resume(&t, dir, be, &o, &err), &err);
    cr_assert_eq(search_iteration(t), 3);
    search_close(t);
    free(good);
    free(ctext);
    free(edited);
    backend_close(be);
}

Test(search, config_pins_apply_at_start_or_refuse_clearly) {
    struct backend *be;
    struct search *s = open_session("pin.lua", ", pin = { 'L0.lora.v', 'final.ln' }", "", "pin",
                                    &be, 1);
    cr_assert(s->c[search_find(s, "L0.lora.v")].pinned);
    cr_assert(s->c[search_find(s, "final.ln")].pinned);
    struct evlist *ev = search_fixture_events(search_dir(s));
    int pins = 0;
    for (int i = 0; i < ev->n; i++)
        pins += ev->ev[i].type == SEV_PIN && !strcmp(ev->ev[i].source, "config");
    cr_assert_eq(pins, 2);
    free(ev);
    search_close(s);
    /* two rank-4 LoRAs on q reserve 512 > 400 */
    struct run_config cfg;
    load_config(search_config("pin2.lua", ", pin = { 'L0.lora.q', 'L1.lora.q' }", ""), &cfg);
    char sd[700];
    snprintf(sd, sizeof sd, "%s/pin_refused", check_temp_dir());
    struct search_opts o = {.session_dir = sd, .quiet = 1};
    struct pf_err err = {0};
    cr_assert_neq(search_open(&s, &cfg, be, &o, &err), PF_OK);
    cr_assert(strstr(err.msg, "search.pin[2]") && strstr(err.msg, "over the budget"), "%s",
              err.msg);
    backend_close(be);
}

/* Ctrl-C: the command's handler sets opts.interrupt; the engine checkpoints at the next step
 * boundary and returns, and a resume continues from exactly there. */
static volatile sig_atomic_t test_interrupt;

static void interrupt_at_5(void *ctx, const struct search_event *ev) {
    (void)ctx;
    if (ev->type == SEV_STEP && ev->step == 5)
        test_interrupt = 1;
}

Test(search, interrupt_checkpoints_at_the_step_boundary) {
    struct backend *be;
    struct pf_err err = {0};
    struct search *s = open_session("int.lua", "", "", "interrupt", &be, 1);
    s->opts.interrupt = &test_interrupt;
    struct search_sink sk = {.emit = interrupt_at_5};
    CHECK_OK(search_add_sink(s, &sk, &err), &err);
    struct search_result r;
    CHECK_OK(search_run(s, &r, &err), &err);
    cr_assert(r.interrupted);
    cr_assert_eq(r.iterations, 5);
    char dir[700];
    snprintf(dir, sizeof dir, "%s", search_dir(s));
    search_close(s);
    struct search_opts o = {.quiet = 1};
    CHECK_OK(search_resume(&s, dir, be, &o, &err), &err);
    cr_assert_eq(search_iteration(s), 5);
    search_close(s);
    backend_close(be);
}

/* ---- the commands' errors ---- */

static void interrupt_at_retrain(void *ctx, const struct search_event *ev) {
    (void)ctx;
    if (ev->type == SEV_PHASE && !strcmp(ev->text, "retrain"))
        test_interrupt = 1;
}

/* Ctrl-C during the retraining stops it at the next step (not after minutes of training):
 * the session stays in its retraining phase with no summary, and a resume retrains and ends
 * with the same result as a run that was never interrupted. */
Test(search, interrupt_during_retraining_stops_and_resumes) {
    struct backend *be;
    struct pf_err err = {0};
    test_interrupt = 0;
    struct search *ref = open_session("intr_ref.lua", "", "", "interrupt-ref", &be, 0);
    struct search_result rr;
    CHECK_OK(search_run(ref, &rr, &err), &err);
    search_close(ref);
    backend_close(be);
    struct search *s = open_session("intr.lua", "", "", "interrupt-retrain", &be, 0);
    s->opts.interrupt = &test_interrupt;
    struct search_sink sk = {.emit = interrupt_at_retrain};
    CHECK_OK(search_add_sink(s, &sk, &err), &err);
    struct search_result r;
    CHECK_OK(search_run(s, &r, &err), &err);
    cr_assert(r.interrupted, "the retraining ran to its end");
    cr_assert_eq(search_phase_of(s), SPH_RETRAIN);
    char dir[700], p[800];
    snprintf(dir, sizeof dir, "%s", search_dir(s));
    search_close(s);
    snprintf(p, sizeof p, "%s/summary.json", dir);
    cr_assert(access(p, F_OK) != 0, "an interrupted session wrote %s", p);
    snprintf(p, sizeof p, "%s/retrain/metrics.jsonl", dir);
    char *log = check_read_file(p, NULL);
    cr_assert(log && strstr(log, "\"event\":\"interrupted\""), "%s", log ? log : "(none)");
    cr_assert(!strstr(log, "\"event\":\"done\""), "%s", log);
    free(log);
    test_interrupt = 0;
    struct search_opts o = {.quiet = 1};
    CHECK_OK(search_resume(&s, dir, be, &o, &err), &err);
    CHECK_OK(search_run(s, &r, &err), &err);
    cr_assert(!r.interrupted);
    cr_assert_eq(search_phase_of(s), SPH_DONE);
    cr_assert_eq(r.test, rr.test, "resumed %f, uninterrupted %f", r.test, rr.test);
    cr_assert_eq(r.params, rr.params);
    search_close(s);
    backend_close(be);
}

Test(search, cli_errors_name_the_problem) {
    char out[4096], errb[4096];
    const char *a1[] = {"search", NULL};
    cr_assert_eq(check_run_argv(a1, out, sizeof out, errb, sizeof errb), 2);
    cr_assert(strstr(errb, "usage: bipeft search"), "%s", errb);
    const char *a2[] = {"search", "/nonexistent/x.lua", NULL};
    cr_assert_eq(check_run_argv(a2, out, sizeof out, errb, sizeof errb), 2);
    cr_assert(strstr(errb, "/nonexistent/x.lua"), "%s", errb);
    const char *tcfg = check_write_temp("train_mode.lua", "return { mode = 'train', model = { "
                                        "path = 'm' }, task = { name = 't', train = 'x.tsv' }, "
                                        "space = peft.space{ peft.bitfit{} } }");
    char tp[600];
    snprintf(tp, sizeof tp, "%s", tcfg);
    const char *a3[] = {"search", tp, NULL};
    cr_assert_eq(check_run_argv(a3, out, sizeof out, errb, sizeof errb), 2);
    cr_assert(strstr(errb, "mode is \"train\""), "%s", errb);
    /* a model folder that does not exist: exit 2 naming it, and the session says failed */
    char bad[700];
    snprintf(bad, sizeof bad, "%s/bad_session", check_temp_dir());
    const char *mcfg = search_config("badmodel.lua", "", "model = { path = '/nonexistent/m' },");
    char mp[600];
    snprintf(mp, sizeof mp, "%s", mcfg);
    const char *a4[] = {"search", mp, "--session", bad, "--quiet", NULL};
    cr_assert_eq(check_run_argv(a4, out, sizeof out, errb, sizeof errb), 2, "%s", errb);
    cr_assert(strstr(errb, "/nonexistent/m"), "%s", errb);
    const char *a5[] = {"resume", "/nonexistent/session", NULL};
    cr_assert_eq(check_run_argv(a5, out, sizeof out, errb, sizeof errb), 2);
    cr_assert(strstr(errb, "not a session folder"), "%s", errb);
    const char *a6[] = {"resume", "/tmp", "--bogus", NULL};
    cr_assert_eq(check_run_argv(a6, out, sizeof out, errb, sizeof errb), 2);
    cr_assert(strstr(errb, "unexpected argument '--bogus'"), "%s", errb);
}

/* ---- disk faults during writes (reliability case 22) ---- */

/* Run `bipeft ARGS` with the fault shim failing the n-th call of func. */
static int run_with_fault(const char *const *args, const char *func, long n, const char *eno,
                          char *errb, size_t errsz) {
    const char *so = getenv("BIPEFT_FAULT_SO");
    cr_assert_not_null(so, "BIPEFT_FAULT_SO is not set (run through make test)");
    char spec[64], asan[600];
    snprintf(spec, sizeof spec, "%s:%ld:%s", func, n, eno);
    const char *old = getenv("ASAN_OPTIONS");
    /* the shim comes before the ASan runtime in the sanitizer build */
    snprintf(asan, sizeof asan, "%s%sverify_asan_link_order=0", old ? old : "", old ? ":" : "");
    setenv("BIPEFT_FAULT", spec, 1);
    setenv("LD_PRELOAD", so, 1);
    setenv("ASAN_OPTIONS", asan, 1);
    char out[4096];
    int rc = check_run_argv(args, out, sizeof out, errb, errsz);
    unsetenv("BIPEFT_FAULT");
    unsetenv("LD_PRELOAD");
    if (old)
        setenv("ASAN_OPTIONS", old, 1);
    else
        unsetenv("ASAN_OPTIONS");
    return rc;
}

/* After a failed run in `dir`: finish it without faults (resume, or search again when it
 * failed before its config was written) and compare with the reference. */
static void recover_and_compare(const char *cfgp, const char *ref, const char *dir) {
    char out[4096], errb[4096], p[800];
    snprintf(p, sizeof p, "%s/config.lua", dir);
    const char *a_r[] = {"resume", dir, "--quiet", NULL};
    const char *a_s[] = {"search", cfgp, "--session", dir, "--quiet", NULL};
    int rc = check_run_argv(access(p, F_OK) == 0 ? a_r : a_s, out, sizeof out, errb,
                            sizeof errb);
    cr_assert(rc == 0 || (rc == 2 && strstr(errb, "already done")), "%s: recovery failed "
              "(%d): %s", dir, rc, errb);
    same_file(ref, dir, "structure.json");
    same_file(ref, dir, "retrain/adapter.safetensors");
    struct evlist *ea = search_fixture_events(ref), *eb = search_fixture_events(dir);
    same_events(ea, eb);
    free(ea);
    free(eb);
}

/* Every write, pwrite, fsync, fdatasync, rename and mkdir of a session (its set-up, the
 * SQLite log, the checkpoints, the structure, the retrained adapter) failing in turn with
 * ENOSPC or EIO: a clear message naming a path, exit 1 or 2, nothing torn; a resume without
 * the fault then ends bitwise like a run that never failed. FAULT_RUNS=all (make
 * test-resume) tries every call up to the last; by default calls 1, 4 and 11 of each. */
Test(search_faults, every_write_fault_is_clear_and_recoverable) {
    int all = getenv("FAULT_RUNS") && !strcmp(getenv("FAULT_RUNS"), "all");
    const char *cfg = search_config("fault.lua", ", checkpoint_every = 6", "");
    char cfgp[700], ref[700], dir[700], out[4096], errb[4096];
    snprintf(cfgp, sizeof cfgp, "%s", cfg);
    snprintf(ref, sizeof ref, "%s/fault_ref", check_temp_dir());
    const char *a_ref[] = {"search", cfgp, "--session", ref, "--quiet", NULL};
    cr_assert_eq(check_run_argv(a_ref, out, sizeof out, errb, sizeof errb), 0, "%s", errb);
    static const char *const funcs[] = {"write", "pwrite", "fsync", "fdatasync", "rename",
                                        "mkdir"};
    static const long spread[] = {1, 4, 11};
    int runs = 0, failed = 0;
    for (size_t f = 0; f < sizeof funcs / sizeof funcs[0]; f++) {
        for (long k = 0; all ? k < 100000 : k < 3; k++) {
            long n = all ? k + 1 : spread[k];
            snprintf(dir, sizeof dir, "%s/fault_%s_%ld", check_temp_dir(), funcs[f], n);
            const char *args[] = {"search", cfgp, "--session", dir, "--quiet", NULL};
            int rc = run_with_fault(args, funcs[f], n, n % 2 ? "ENOSPC" : "EIO", errb,
                                    sizeof errb);
            runs++;
            if (rc == 0) { /* the n-th call never came: this function is done */
                same_file(ref, dir, "structure.json");
                break;
            }
            failed++;
            cr_assert(rc == 1 || rc == 2, "%s #%ld: exit %d: %s", funcs[f], n, rc, errb);
            cr_assert(strstr(errb, "bipeft: search: ") && strchr(errb, '/'),
                      "%s #%ld: the message names no file: %s", funcs[f], n, errb);
            cr_assert(strstr(errb, "No space left") || strstr(errb, "I/O error") ||
                          strstr(errb, "disk") || strstr(errb, "full") ||
                          strstr(errb, "cannot") || strstr(errb, "failed"),
                      "%s #%ld: the message does not say what failed: %s", funcs[f], n, errb);
            recover_and_compare(cfgp, ref, dir);
        }
    }
    fprintf(stderr, "disk faults: %d runs, %d failed cleanly and recovered bitwise\n", runs,
            failed);
    cr_assert_gt(failed, 10);
}
