/* search_select.c - budget-guided early selection (spec sections 4-5): per-module
 * sensitivity from w.grad on both halves, the expected parameter count, the rank-history
 * window and its dimension-stability indicator, the view a policy sees, the verbs it (or a
 * person) uses, and one pruning stage. The decisions themselves are the policy's (Lua). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/backend.h"
#include "search/search_internal.h"
#include "util/xalloc.h"

/* ---- sensitivity (5.1) ---- */

/* w and grad of tensor j of module md on the host (the CPU backend's memory is the host's;
 * other backends copy into the scratch buffers). */
static void host_pair(struct search *s, const struct peft_module *md, int j, const float **w,
                      const float **g, float *sw, float *sg) {
    size_t b = tensor_nbytes(&md->t[j]);
    if (s->be->host_visible) {
        *w = md->t[j].data;
        *g = md->g[j].data;
        return;
    }
    s->be->download(s->be, sw, md->t[j].data, b);
    s->be->download(s->be, sg, md->g[j].data, b);
    *w = sw;
    *g = sg;
}

static size_t max_tensor(const struct search *s) {
    size_t mx = 1;
    for (int i = 0; i < s->nc; i++) {
        const struct peft_module *md = &s->t.p.mod[s->c[i].pi];
        for (int j = 0; j < md->n_t; j++)
            if ((size_t)md->t[j].numel > mx)
                mx = (size_t)md->t[j].numel;
    }
    return mx;
}

/* What a module's score is divided by (search.sens_norm): its parameters in the supernet
 * (the paper: all of them at the largest rank, biases included), its exact cost at the
 * current rank (so the score is per parameter it would cost now), or nothing. */
double search_score_norm(enum cfg_sens_norm norm, const struct search_cand *c) {
    switch (norm) {
    case CFG_NORM_RANK: return (double)c->cost[search_cur_rank_idx(c)];
    case CFG_NORM_NONE: return 1.0;
    default: return (double)c->n_params;
    }
}

/* search.criterion = "gate": |dL/dgate| of each half, the first-order change of the loss if
 * the module's whole output were switched off, whatever its parametrisation. */
static int gate_criterion(const struct search *s) {
    return !strcmp(s->cfg.search.criterion, "gate");
}

/* V = w . grad of the architecture half's loss (spec: the "val" statistics). */
void search_stats_val(struct search *s) {
    size_t mx = s->be->host_visible ? 1 : max_tensor(s);
    float *sw = xmalloc(mx * sizeof *sw), *sg = xmalloc(mx * sizeof *sg);
    int gate = gate_criterion(s);
    for (int i = 0; i < s->nc; i++) {
        struct search_cand *c = &s->c[i];
        if (c->pruned)
            continue;
        const struct peft_module *md = &s->t.p.mod[c->pi];
        double sum = 0;
        int64_t off = 0;
        for (int j = 0; j < md->n_t; j++) {
            const float *w, *g;
            host_pair(s, md, j, &w, &g, sw, sg);
            for (int64_t e = 0; e < md->t[j].numel; e++) {
                float v = w[e] * g[e];
                c->vbuf[off + e] = v;
                sum += fabs((double)v);
            }
            off += md->t[j].numel;
        }
        if (gate)
            sum = fabs(md->dgate);
        double n = search_score_norm(s->cfg.search.sens_norm, c);
        c->s_val = n > 0 ? sum / n : 0;
    }
    xfree(sw);
    xfree(sg);
}

/* T = w . grad of the weight half's loss; then the score and its EMAs. */
void search_stats_tra(struct search *s) {
    size_t mx = s->be->host_visible ? 1 : max_tensor(s);
    float *sw = xmalloc(mx * sizeof *sw), *sg = xmalloc(mx * sizeof *sg);
    const char *crit = s->cfg.search.criterion;
    double beta = s->cfg.search.ema;
    int gate = gate_criterion(s);
    for (int i = 0; i < s->nc; i++) {
        struct search_cand *c = &s->c[i];
        if (c->pruned)
            continue;
        const struct peft_module *md = &s->t.p.mod[c->pi];
        double sum = 0, rho = 0;
        int64_t off = 0;
        for (int j = 0; j < md->n_t; j++) {
            const float *w, *g;
            host_pair(s, md, j, &w, &g, sw, sg);
            double dot = 0, nt = 0, nv = 0;
            for (int64_t e = 0; e < md->t[j].numel; e++) {
                double t = (double)(w[e] * g[e]), v = c->vbuf[off + e];
                sum += fabs(t);
                dot += t * v;
                nt += t * t;
                nv += v * v;
            }
            double den = sqrt(nt) * sqrt(nv);
            rho += dot / (den > 1e-8 ? den : 1e-8); /* torch.cosine_similarity's eps */
            off += md->t[j].numel;
        }
        rho /= md->n_t > 0 ? md->n_t : 1;
        if (gate)
            sum = fabs(md->dgate);
        double n = search_score_norm(s->cfg.search.sens_norm, c);
        double tra = n > 0 ? sum / n : 0, val = c->s_val, score;
        c->s_tra = tra;
        if (gate)
            score = tra + val;
        else if (!strcmp(crit, "tra"))
            score = tra;
        else if (!strcmp(crit, "val"))
            score = val;
        else if (!strcmp(crit, "tra_val"))
            score = tra + val;
        else if (!strcmp(crit, "tra_val_cos2"))
            score = rho * (tra + val);
        else
            score = tra + rho * val; /* tra_val_cos1 */
        c->sens_i = beta * c->sens_i + (1 - beta) * score;
        c->sens_u = beta * c->sens_u + (1 - beta) * fabs(score - c->sens_i);
    }
    xfree(sw);
    xfree(sg);
}

/* ---- parameter counts (4.4) ---- */

static double softmax_at(const double *l, int n, int k) {
    double mx = l[0], sum = 0;
    for (int i = 1; i < n; i++)
        if (l[i] > mx)
            mx = l[i];
    for (int i = 0; i < n; i++)
        sum += exp(l[i] - mx);
    return exp(l[k] - mx) / sum;
}

void search_rank_probs(const struct search_cand *c, double *p) {
    for (int k = 0; k < c->n_ranks; k++)
        p[k] = c->fixed ? (k == c->fixed_idx) : softmax_at(c->rl, c->n_ranks, k);
}

double search_expected_params(struct search *s, int update_costs) {
    double E = 0;
    int hard = s->stages_left <= s->cfg.search.hard_stages;
    for (int i = 0; i < s->nc; i++) {
        struct search_cand *c = &s->c[i];
        double q = hard || s->joint ? 1.0 : softmax_at(c->bl, 2, 1), e;
        if (c->n_ranks == 0) {
            e = q * (double)c->cost[0];
        } else {
            e = 0;
            for (int k = 0; k < c->n_ranks; k++) {
                double pk = c->fixed ? (k == c->fixed_idx) : softmax_at(c->rl, c->n_ranks, k);
                e += pk * (double)c->cost[k];
            }
            e *= q;
        }
        if (c->pruned)
            e = 0;
        if (update_costs)
            c->e_cost = e;
        E += e;
    }
    return E;
}

/* The exact parameters of the modules kept now, each at its current rank. */
int64_t search_hard_params(const struct search *s) {
    int64_t n = 0;
    for (int i = 0; i < s->nc; i++) {
        const struct search_cand *c = &s->c[i];
        if (!c->pruned)
            n += c->cost[search_cur_rank_idx(c)];
    }
    return n;
}

/* ---- dimension stability (5.3) ---- */

void search_window_push(struct search *s) {
    for (int i = 0; i < s->nc; i++) {
        struct search_cand *c = &s->c[i];
        if (c->n_ranks == 0)
            continue;
        c->win_n++;
        for (int k = 0; k < c->n_ranks; k++) {
            double x = c->rl[k], d = x - c->win_mean[k];
            c->win_mean[k] += d / (double)c->win_n;
            c->win_m2[k] += d * (x - c->win_mean[k]);
            if (c->win_n == 1)
                c->win_first[k] = x;
            c->win_last[k] = x;
        }
    }
    s->win_count++;
}

void search_window_clear(struct search *s) {
    for (int i = 0; i < s->nc; i++) {
        struct search_cand *c = &s->c[i];
        c->win_n = 0;
        memset(c->win_mean, 0, sizeof c->win_mean);
        memset(c->win_m2, 0, sizeof c->win_m2);
    }
    s->win_count = 0;
}

/* G: cosine of the argmax-index vectors of the first and last snapshot (NaN -> 1); per
 * module DSI = mean over candidates of the std over time x KL(p_last || p_first). */
void search_compute_dsi(struct search *s) {
    double dot = 0, na = 0, nb = 0;
    for (int i = 0; i < s->nc; i++) {
        struct search_cand *c = &s->c[i];
        if (c->n_ranks == 0) {
            c->dsi = 999;
            continue;
        }
        int a = search_argmax(c->win_first, c->n_ranks), b = search_argmax(c->win_last, c->n_ranks);
        dot += (double)a * b;
        na += (double)a * a;
        nb += (double)b * b;
        if (c->fixed || c->pruned || c->win_n < 2) {
            c->dsi = 999;
            continue;
        }
        double sd = 0, kl = 0;
        for (int k = 0; k < c->n_ranks; k++)
            sd += sqrt(c->win_m2[k] / (double)(c->win_n - 1));
        sd /= c->n_ranks;
        for (int k = 0; k < c->n_ranks; k++) {
            double pf = softmax_at(c->win_first, c->n_ranks, k);
            double pl = softmax_at(c->win_last, c->n_ranks, k);
            kl += pl * (log(pl) - log(pf));
        }
        c->dsi = sd * kl;
    }
    double g = dot / (sqrt(na) * sqrt(nb));
    s->global_stab = isnan(g) ? 1.0 : g;
}

/* ---- the view and the verbs ---- */

void search_build_view(struct search *s, struct script_search_view *v) {
    double E = search_expected_params(s, 1);
    int off = 0;
    for (int i = 0; i < s->nc; i++) {
        struct search_cand *c = &s->c[i];
        struct script_module_view *m = &s->mv[i];
        m->name = c->name;
        m->kind = c->kind;
        m->layer = c->layer;
        m->state = c->pruned ? SCRIPT_MOD_PRUNED
                   : (c->fixed && c->n_ranks > 0) ? SCRIPT_MOD_FIXED : SCRIPT_MOD_ACTIVE;
        m->pinned = c->pinned;
        m->sensitivity = c->sens_i;
        m->stability = c->dsi;
        m->cost = c->e_cost;
        m->full_cost = c->full_cost;
        m->rank = c->n_ranks ? c->ranks[search_cur_rank_idx(c)] : 0;
        m->n_ranks = c->n_ranks;
        m->ranks = c->ranks;
        search_rank_probs(c, s->mv_probs + off);
        m->rank_probs = s->mv_probs + off;
        off += c->n_ranks;
    }
    memset(v, 0, sizeof *v);
    v->n_modules = s->nc;
    v->modules = s->mv;
    v->expected_params = E;
    v->current_params = search_hard_params(s);
    v->budget = s->budget;
    v->stages_total = s->stages_total;
    v->stages_left = s->stages_left;
    v->stage = s->stages_total - s->stages_left;
    v->step = s->it;
    v->epoch = s->epoch;
    v->steps_per_epoch = s->per_epoch;
    v->global_stability = s->global_stab;
    v->stability_window = (int)s->win_count;
    v->state = s->phase == SPH_GUARD ? "guard"
               : s->epoch < s->cfg.search.prune_begin_epoch ? "warmup" : "searching";
    v->loss = s->loss_hist;
    v->n_loss = s->n_loss;
    v->metric = s->metric_hist;
    v->n_metric = s->n_metric;
    v->act = search_view_act;
    v->ctx = s;
}

/* Parameters the pinned modules may need (each at its largest candidate rank, so that a
 * later rank change can never push them over the budget). */
static int64_t pinned_cost(const struct search *s, int extra) {
    int64_t n = 0;
    for (int i = 0; i < s->nc; i++)
        if ((s->c[i].pinned || i == extra) && !s->c[i].pruned)
            n += s->c[i].full_cost;
    return n;
}

static void emit_mod(struct search *s, enum search_event_type t, int i, int rank, double value,
                     const char *source, const char *text) {
    struct search_event ev;
    search_event_init(s, &ev, t, source);
    ev.module = i;
    ev.rank = rank;
    ev.value = value;
    snprintf(ev.text, sizeof ev.text, "%s", text ? text : (i >= 0 ? s->c[i].name : ""));
    search_emit(s, &ev);
}

/* Validate and apply one verb; the event says who did it. */
static pf_status act(struct search *s, enum script_verb verb, int i, double value,
                     const char *source, struct pf_err *err) {
    struct search_cand *c = i >= 0 && i < s->nc ? &s->c[i] : NULL;
    if (verb != SCRIPT_VERB_SET_BUDGET && verb != SCRIPT_VERB_LOG && !c)
        return pf_err_set(err, PF_ERR_ARG, "no module %d", i);
    switch (verb) {
    case SCRIPT_VERB_PRUNE:
        if (c->pruned)
            return pf_err_set(err, PF_ERR_ARG, "%s is already pruned", c->name);
        if (c->pinned)
            return pf_err_set(err, PF_ERR_ARG, "%s is pinned (unpin it first)", c->name);
        c->fixed_idx = search_cur_rank_idx(c);
        c->pruned = c->fixed = 1;
        emit_mod(s, SEV_PRUNE, i, 0, c->e_cost, source, NULL);
        return PF_OK;
    case SCRIPT_VERB_FIX_RANK: {
        if (c->n_ranks == 0)
            return pf_err_set(err, PF_ERR_ARG, "%s has no rank choice", c->name);
        if (c->pruned)
            return pf_err_set(err, PF_ERR_ARG, "%s is pruned", c->name);
        int k = -1;
        for (int j = 0; j < c->n_ranks; j++)
            if (c->ranks[j] == (int)value && value == (double)(int)value)
                k = j;
        if (k < 0)
            return pf_err_set(err, PF_ERR_ARG, "rank %g is not a candidate of %s", value,
                              c->name);
        c->fixed = 1;
        c->fixed_idx = k;
        emit_mod(s, SEV_FIX, i, c->ranks[k], value, source, NULL);
        return PF_OK;
    }
    case SCRIPT_VERB_PIN:
        if (c->pruned)
            return pf_err_set(err, PF_ERR_ARG, "%s is pruned; a pruned module cannot be pinned",
                              c->name);
        if (c->pinned)
            return pf_err_set(err, PF_ERR_ARG, "%s is already pinned", c->name);
        if (pinned_cost(s, i) > s->budget)
            return pf_err_set(err, PF_ERR_ARG, "pinning %s would reserve %lld parameters for "
                              "pinned modules (each at its largest rank), over the budget of "
                              "%lld", c->name, (long long)pinned_cost(s, i),
                              (long long)s->budget);
        c->pinned = 1;
        emit_mod(s, SEV_PIN, i, 0, (double)c->full_cost, source, NULL);
        return PF_OK;
    case SCRIPT_VERB_UNPIN:
        if (!c->pinned)
            return pf_err_set(err, PF_ERR_ARG, "%s is not pinned", c->name);
        c->pinned = 0;
        emit_mod(s, SEV_UNPIN, i, 0, 0, source, NULL);
        return PF_OK;
    case SCRIPT_VERB_SET_BUDGET: {
        if (!(value >= 1) || value > 9e15 || value != floor(value))
            return pf_err_set(err, PF_ERR_ARG, "budget %g: expected a positive whole number of "
                              "parameters", value);
        int64_t b = (int64_t)value, pc = pinned_cost(s, -1);
        if (b < pc)
            return pf_err_set(err, PF_ERR_ARG, "budget %lld is below the %lld parameters the "
                              "pinned modules reserve; unpin some first", (long long)b,
                              (long long)pc);
        if (s->phase != SPH_SEARCH)
            return pf_err_set(err, PF_ERR_ARG, "the search is over; the budget can no longer "
                              "change");
        s->budget = b;
        emit_mod(s, SEV_BUDGET, -1, 0, (double)b, source, "budget");
        return PF_OK;
    }
    case SCRIPT_VERB_LOG:
        return PF_OK;
    }
    return pf_err_set(err, PF_ERR_ARG, "unknown verb");
}

pf_status search_view_act(void *ctx, enum script_verb verb, int module, double value,
                          struct pf_err *err) {
    struct search *s = ctx;
    pf_status st = act(s, verb, module, value, s->hook_source, err);
    search_expected_params(s, 1); /* later reads in the same hook see the change */
    return st;
}

pf_status search_act(struct search *s, enum script_verb verb, int module, double value,
                     const char *source, struct pf_err *err) {
    pf_status st = act(s, verb, module, value, source, err);
    search_expected_params(s, 1);
    return st;
}
