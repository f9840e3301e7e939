/* search_arch.c - the architecture side of the supernet (spec sections 2.1-2.6): the logits,
 * straight-through hard Gumbel-softmax samples, how a sample drives the modules' gates and
 * nested rank masks, the logits' gradients from dLoss/dgate and dLoss/dmask, the L1
 * regulariser, Adam on the logits, and S3Delta's shifted global sigmoid.
 *
 * A sample is a pure function of (seed, iteration, step kind, candidate), so a resumed run
 * draws the same numbers as an uninterrupted one. */
#include <math.h>
#include <string.h>

#include "search/search_internal.h"
#include "train/schedule.h"
#include "util/rng.h"

#define GUMBEL_KEY 0x6A09E667F3BCC909ULL
#define INIT_KEY 0xBB67AE8584CAA73BULL

/* step kinds, for the random streams */
enum { DRAW_ARCH = 0, DRAW_WEIGHT = 1 };

static double draw_u(const struct search *s, int kind, int ci, int k) {
    uint64_t i = (((uint64_t)s->it * 2 + (uint64_t)kind) * (uint64_t)s->nc + (uint64_t)ci) *
                     (uint64_t)(SRANK_MAX + 2) + (uint64_t)k;
    double u = rng_uniform_at(s->cfg.seed ^ GUMBEL_KEY, i);
    if (u < 1.0 / (1 << 25))
        u = 1.0 / (1 << 25);
    return u;
}

/* soft = softmax((l + G) / tau) (plain softmax(l) without Gumbel), hard = its argmax. */
static void sample(const struct search *s, const double *l, int n, int kind, int ci, int k0,
                   double *soft, int *hard) {
    double z[SRANK_MAX], mx = -INFINITY;
    int gum = s->cfg.search.gumbel;
    for (int k = 0; k < n; k++) {
        if (gum) {
            double u = draw_u(s, kind, ci, k0 + k);
            z[k] = (l[k] - log(-log(u))) / s->tau;
        } else {
            z[k] = l[k];
        }
        if (z[k] > mx)
            mx = z[k];
    }
    double sum = 0;
    for (int k = 0; k < n; k++)
        sum += soft[k] = exp(z[k] - mx);
    int h = 0;
    for (int k = 0; k < n; k++) {
        soft[k] /= sum;
        if (soft[k] > soft[h])
            h = k;
    }
    *hard = h;
}

/* The forward value of choice k: one-hot (straight-through) or the soft weight (no Gumbel). */
static double value_of(const struct search *s, const double *soft, int hard, int k) {
    return s->cfg.search.gumbel ? (k == hard ? 1.0 : 0.0) : soft[k];
}

int search_argmax(const double *l, int n) {
    int h = 0;
    for (int k = 1; k < n; k++)
        if (l[k] > l[h])
            h = k;
    return h;
}

int search_cur_rank_idx(const struct search_cand *c) {
    if (c->n_ranks == 0)
        return 0;
    return c->fixed ? c->fixed_idx : search_argmax(c->rl, c->n_ranks);
}

void search_init_logits(struct search *s) {
    for (int i = 0; i < s->nc; i++) {
        struct search_cand *c = &s->c[i];
        uint64_t base = (uint64_t)i * (SRANK_MAX + 2);
        for (int k = 0; k < 2; k++)
            c->bl[k] = 1e-3 * rng_normal_at(s->cfg.seed ^ INIT_KEY, base + (uint64_t)k);
        for (int k = 0; k < c->n_ranks; k++)
            c->rl[k] = 1e-3 * rng_normal_at(s->cfg.seed ^ INIT_KEY, base + 2 + (uint64_t)k);
        if (s->cfg.search.method == CFG_METHOD_S3DELTA)
            c->bl[0] = c->bl[1] = 0.0; /* one scalar alpha (bl[1]) per module, from 0 */
    }
}

/* ---- S3Delta: p = sigmoid((alpha - b) / beta), b such that sum p n = budget ---- */

static double sigm(double x) {
    return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

static int64_t s3_cost(const struct search_cand *c) {
    return c->cost[c->n_ranks > 0 ? c->fixed_idx : 0];
}

void search_s3delta_probs(struct search *s) {
    double beta = s->cfg.search.s3delta_beta, total = 0;
    for (int i = 0; i < s->nc; i++)
        total += (double)s3_cost(&s->c[i]);
    double B = (double)s->budget;
    double b = 0;
    if (B < total) { /* bisection on b: sum p(b) n is decreasing in b */
        double lo = -1e4, hi = 1e4;
        for (int it = 0; it < 200; it++) {
            double mid = 0.5 * (lo + hi), e = 0;
            for (int i = 0; i < s->nc; i++)
                e += sigm((s->c[i].bl[1] - mid) / beta) * (double)s3_cost(&s->c[i]);
            if (e > B)
                lo = mid;
            else
                hi = mid;
        }
        b = 0.5 * (lo + hi);
    } else {
        b = -1e4; /* everything fits */
    }
    for (int i = 0; i < s->nc; i++)
        s->c[i].keep_p = sigm((s->c[i].bl[1] - b) / beta);
}

/* ---- sampling ---- */

void search_sample(struct search *s, int arch_step, int stage) {
    int kind = arch_step ? DRAW_ARCH : DRAW_WEIGHT;
    int s3 = s->cfg.search.method == CFG_METHOD_S3DELTA;
    if (s3)
        search_s3delta_probs(s);
    for (int i = 0; i < s->nc; i++) {
        struct search_cand *c = &s->c[i];
        c->in_graph_b = c->in_graph_r = 0;
        c->gate = 1;
        c->rhard = search_cur_rank_idx(c);
        for (int k = 0; k < c->n_ranks; k++)
            c->rval[k] = k == c->rhard;
        if (c->pruned) {
            c->gate = 0;
            continue;
        }
        if (s3) { /* relaxed Bernoulli with logistic noise: gate = sigmoid((logit p + L)/tau) */
            double u = draw_u(s, kind, i, 0), p = c->keep_p;
            p = p < 1e-12 ? 1e-12 : p > 1 - 1e-12 ? 1 - 1e-12 : p;
            double z = (log(p) - log1p(-p) + log(u) - log1p(-u)) / s->tau;
            c->gate = c->bsoft[1] = sigm(z);
            c->bsoft[0] = 1 - c->bsoft[1];
            c->in_graph_b = arch_step;
            continue;
        }
        int rank_space = c->n_ranks > 0 && (s->joint || (arch_step && stage == SSTAGE_RANK));
        if (rank_space) {
            /* the binary choice is "on" for every module not pruned (spec 2.4, 8.5) */
            if (!c->fixed) {
                sample(s, c->rl, c->n_ranks, kind, i, 2, c->rsoft, &c->rhard);
                for (int k = 0; k < c->n_ranks; k++)
                    c->rval[k] = value_of(s, c->rsoft, c->rhard, k);
                c->in_graph_r = arch_step;
            }
        } else { /* binary space (vector modules: always), the rank held at its argmax */
            sample(s, c->bl, 2, kind, i, 0, c->bsoft, &c->bhard);
            c->gate = value_of(s, c->bsoft, c->bhard, 1);
            c->in_graph_b = arch_step;
            /* search.weight_rank = "sample": a weight step trains a rank drawn from the rank
             * distribution, so every rank's components train, not only the argmax's */
            if (!arch_step && c->n_ranks > 1 && !c->fixed &&
                s->cfg.search.weight_rank == CFG_WRANK_SAMPLE) {
                double soft[SRANK_MAX];
                int h = 0;
                sample(s, c->rl, c->n_ranks, kind, i, 2, soft, &h);
                c->rhard = h;
                for (int k = 0; k < c->n_ranks; k++)
                    c->rval[k] = k == h;
            }
        }
    }
}

/* Gate and mask of every module from the current sample. */
pf_status search_apply_sample(struct search *s, struct pf_err *err) {
    float mask[PEFT_MAX_RANK];
    for (int i = 0; i < s->nc; i++) {
        struct search_cand *c = &s->c[i];
        struct peft_module *md = &s->t.p.mod[c->pi];
        md->gate = (float)c->gate;
        md->off = c->pruned;
        if (c->n_ranks == 0 || c->pruned)
            continue;
        for (int j = 0; j < md->s.r_max; j++) {
            double v = 0;
            for (int k = 0; k < c->n_ranks; k++)
                if (j < c->ranks[k])
                    v += c->rval[k];
            mask[j] = (float)v;
        }
        pf_status st = peft_set_mask(&s->t.p, c->pi, mask, err);
        if (st != PF_OK)
            return st;
    }
    return PF_OK;
}

/* The discrete structure in the modules (evaluation): kept modules on, at their argmax rank. */
void search_set_discrete(struct search *s) {
    float mask[PEFT_MAX_RANK];
    for (int i = 0; i < s->nc; i++) {
        struct search_cand *c = &s->c[i];
        struct peft_module *md = &s->t.p.mod[c->pi];
        int on;
        if (c->pruned)
            on = 0;
        else if (s->cfg.search.method == CFG_METHOD_S3DELTA)
            on = c->keep_p >= 0.5;
        else if (s->cfg.search.early_stop && !s->joint)
            on = 1;
        else if (c->n_ranks > 0 && s->joint)
            on = c->ranks[search_cur_rank_idx(c)] > 0;
        else
            on = c->bl[1] > c->bl[0];
        md->gate = on ? 1.0f : 0.0f;
        md->off = !on;
        if (c->n_ranks == 0)
            continue;
        int r = c->ranks[s->cfg.search.method == CFG_METHOD_S3DELTA ? c->fixed_idx
                                                                    : search_cur_rank_idx(c)];
        for (int j = 0; j < md->s.r_max; j++)
            mask[j] = j < r ? 1.0f : 0.0f;
        (void)peft_set_mask(&s->t.p, c->pi, mask, NULL);
    }
}

/* ---- gradients ---- */

/* dl += J^T dy for the sample's softmax (straight-through: the soft sample's Jacobian). */
void search_softmax_back(const double *soft, const double *dy, int n, double scale,
                         double *dl) {
    double dot = 0;
    for (int k = 0; k < n; k++)
        dot += dy[k] * soft[k];
    double sc = scale;
    for (int k = 0; k < n; k++)
        dl[k] += soft[k] * (dy[k] - dot) * sc;
}

/* 1/tau for Gumbel samples (z = (l + G) / tau), 1 for the plain softmax. */
static double st_scale(const struct search *s) {
    return s->cfg.search.gumbel ? 1.0 / s->tau : 1.0;
}

/* d/dl of mean over N elements of |softmax(l) - l| for one module's vector l. */
static void reg_back(const double *l, int n, double w, double *dl) {
    double mx = l[0], sm[SRANK_MAX], sum = 0, sg[SRANK_MAX];
    for (int k = 1; k < n; k++)
        if (l[k] > mx)
            mx = l[k];
    for (int k = 0; k < n; k++)
        sum += sm[k] = exp(l[k] - mx);
    for (int k = 0; k < n; k++) {
        sm[k] /= sum;
        double d = sm[k] - l[k];
        sg[k] = w * (d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0);
    }
    double dot = 0;
    for (int k = 0; k < n; k++)
        dot += sg[k] * sm[k];
    for (int k = 0; k < n; k++)
        dl[k] += sm[k] * (sg[k] - dot) - sg[k];
}

void search_arch_grads(struct search *s) {
    int s3 = s->cfg.search.method == CFG_METHOD_S3DELTA;
    double nb_mat = 0, nb_vec = 0, nr = 0; /* elements per regulariser group */
    for (int i = 0; i < s->nc; i++) {
        struct search_cand *c = &s->c[i];
        memset(c->bg, 0, sizeof c->bg);
        memset(c->rg, 0, sizeof c->rg);
        if (c->n_ranks > 0) {
            nr += c->n_ranks;
            if (!s->joint)
                nb_mat += 2;
        } else {
            nb_vec += 2;
        }
    }
    for (int i = 0; i < s->nc; i++) {
        struct search_cand *c = &s->c[i];
        const struct peft_module *md = &s->t.p.mod[c->pi];
        if (c->in_graph_b) {
            if (s3) {
                double g = c->bsoft[1];
                c->bg[1] += md->dgate * g * (1 - g) / (s->tau * s->cfg.search.s3delta_beta);
            } else if (!(s->cfg.search.gate_grad_sampled && c->n_ranks > 0 && c->gate == 0)) {
                /* gate_grad = "sampled": a matrix module sampled off gets no gradient, as in
                 * the official code (its B side is detached, and zero when off) */
                double dy[2] = {0, md->dgate};
                search_softmax_back(c->bsoft, dy, 2, st_scale(s), c->bg);
            }
        }
        if (c->in_graph_r) {
            double dy[SRANK_MAX] = {0};
            for (int k = 0; k < c->n_ranks; k++)
                for (int j = 0; j < c->ranks[k]; j++)
                    dy[k] += md->dmask[j];
            search_softmax_back(c->rsoft, dy, c->n_ranks, st_scale(s), c->rg);
        }
        double w = s->cfg.search.arch_reg;
        if (w > 0 && !s3) {
            if (c->n_ranks == 0 || !s->joint)
                reg_back(c->bl, 2, w / (c->n_ranks ? nb_mat : nb_vec), c->bg);
            if (c->n_ranks > 0)
                reg_back(c->rl, c->n_ranks, w / nr, c->rg);
        }
    }
}

/* Adam (PyTorch's: L2 weight decay added to the gradient) on every logit. */
static void adam(double *p, double *g, double *m, double *v, int n, double lr, double b1,
                 double b2, double eps, double wd, int64_t t) {
    double bc1 = 1 - pow(b1, (double)t), bc2 = 1 - pow(b2, (double)t);
    for (int k = 0; k < n; k++) {
        double gk = g[k] + wd * p[k];
        m[k] = b1 * m[k] + (1 - b1) * gk;
        v[k] = b2 * v[k] + (1 - b2) * gk * gk;
        p[k] -= lr * (m[k] / bc1) / (sqrt(v[k] / bc2) + eps);
    }
}

void search_arch_update(struct search *s) {
    const struct run_config *c = &s->cfg;
    s->arch_updates++;
    double lr = c->optim.arch_lr *
                sched_eval(&c->schedule.arch_lr, (double)s->it, (double)s->planned);
    int s3 = c->search.method == CFG_METHOD_S3DELTA;
    for (int i = 0; i < s->nc; i++) {
        struct search_cand *cd = &s->c[i];
        if (s3) {
            adam(&cd->bl[1], &cd->bg[1], &cd->bm[1], &cd->bv[1], 1, lr, c->optim.arch_betas[0],
                 c->optim.arch_betas[1], c->optim.eps, c->optim.arch_weight_decay,
                 s->arch_updates);
            continue;
        }
        if (cd->n_ranks == 0 || !s->joint)
            adam(cd->bl, cd->bg, cd->bm, cd->bv, 2, lr, c->optim.arch_betas[0],
                 c->optim.arch_betas[1], c->optim.eps, c->optim.arch_weight_decay,
                 s->arch_updates);
        if (cd->n_ranks > 0)
            adam(cd->rl, cd->rg, cd->rm, cd->rv, cd->n_ranks, lr, c->optim.arch_betas[0],
                 c->optim.arch_betas[1], c->optim.eps, c->optim.arch_weight_decay,
                 s->arch_updates);
    }
}
