/* peft_prefix.c - prefix tuning with a gated softmax of its own (peft.h, the BIPEFT spec's S2
 * prefix): per layer, L prefix positions whose keys and values come from a reparameterisation
 * MLP, [Pk Pv] = tanh(E We^T + be) Wp^T + bp; every query attends over them in a separate
 * softmax (position j weighted by the rank mask m_j), and the result, scaled by a learned
 * lambda (starting at 0, so the module starts as the identity) and the gate, is added to the
 * attention context before the output projection. Prefix keys are not rotated (RoPE).
 * The per-query loops run on the host. */
#include <math.h>
#include <string.h>

#include "core/ops.h"
#include "peft/peft_internal.h"

struct pdims {
    int64_t N; /* rows B*T */
    int H, KVH, D, L, HD, KV;
};

static struct pdims pdims(const struct peft_module *md, const struct block *blk,
                          const struct tensor *q) {
    struct pdims d;
    d.N = tensor_rows(q);
    d.H = blk->d.H;
    d.KVH = blk->d.KVH;
    d.D = blk->d.D > 0 ? blk->d.D : blk->d.C / blk->d.H;
    d.L = md->s.r_max;
    d.HD = d.H * d.D;
    d.KV = d.KVH * d.D;
    return d;
}

/* Scores of one (row, head) against the prefix into e[L] as exp(s - max) (all positions, so
 * that the mask gradient exists at m_l = 0 too); returns Z = sum m_l e_l (0: nothing to
 * attend to). */
static double scores(const struct pdims *d, const float *q, const float *kv, int kh,
                     const float *m, double *e) {
    double mx = -INFINITY, scale = 1.0 / sqrt((double)d->D);
    for (int l = 0; l < d->L; l++) {
        const float *k = kv + (int64_t)l * 2 * d->KV + kh * d->D;
        double s = 0.0;
        for (int c = 0; c < d->D; c++)
            s += (double)q[c] * k[c];
        e[l] = s * scale;
        if (e[l] > mx)
            mx = e[l];
    }
    double Z = 0.0;
    for (int l = 0; l < d->L; l++) {
        e[l] = exp(e[l] - mx);
        Z += m[l] * e[l];
    }
    return Z;
}

pf_status peft_prefix_forward(struct peft *p, struct peft_module *md, struct block *blk,
                              const struct tensor *q, struct tensor *ctx, struct pf_err *err) {
    struct tensor *a = md->a, *t = md->t;
    pf_status st = PF_OK;
    PF_STEP(st, op_matmul_forward(p->be, &a[PA_HPRE], &t[PT_E], &t[PT_WE], &t[PT_BE], 0, 1,
                                  err));
    PF_STEP(st, op_tanh_forward(p->be, &a[PA_TH], &a[PA_HPRE], err));
    PF_STEP(st, op_matmul_forward(p->be, &a[PA_KV], &a[PA_TH], &t[PT_WP], &t[PT_BP], 0, 1,
                                  err));
    if (st != PF_OK)
        return st;
    struct pdims d = pdims(md, blk, q);
    const float *qs = tensor_f32(q), *kv = tensor_f32(&a[PA_KV]), *m = md->mask;
    float *prob = tensor_f32(&a[PA_PROB]), *po = tensor_f32(&a[PA_POUT]), *cs = tensor_f32(ctx);
    float gl = md->gate * tensor_f32(&t[PT_LAMBDA])[0];
    int group = d.H / d.KVH;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < d.N; i++) {
        double e[PEFT_MAX_RANK];
        for (int h = 0; h < d.H; h++) {
            int kh = h / group;
            const float *qi = qs + i * d.HD + h * d.D;
            double Z = scores(&d, qi, kv, kh, m, e);
            float *pr = prob + (i * d.H + h) * d.L, *o = po + i * d.HD + h * d.D;
            for (int c = 0; c < d.D; c++)
                o[c] = 0.0f;
            for (int l = 0; l < d.L; l++) {
                pr[l] = Z > 0.0 ? (float)(m[l] * e[l] / Z) : 0.0f;
                const float *v = kv + (int64_t)l * 2 * d.KV + d.KV + kh * d.D;
                for (int c = 0; c < d.D; c++)
                    o[c] += pr[l] * v[c];
            }
            for (int c = 0; c < d.D; c++)
                cs[i * d.HD + h * d.D + c] += gl * o[c];
        }
    }
    return PF_OK;
}

pf_status peft_prefix_backward(struct peft *p, struct peft_module *md, struct block *blk,
                               const struct tensor *q, const struct tensor *dctx,
                               struct tensor *dq, struct pf_err *err) {
    struct tensor *a = md->a, *t = md->t, *g = md->g;
    struct pdims d = pdims(md, blk, q);
    const float *qs = tensor_f32(q), *kv = tensor_f32(&a[PA_KV]), *m = md->mask,
                *prob = tensor_f32(&a[PA_PROB]), *po = tensor_f32(&a[PA_POUT]),
                *dc = tensor_f32(dctx);
    float *dkv = tensor_f32(&a[PA_DKV]), *dqs = dq ? tensor_f32(dq) : NULL;
    float lambda = tensor_f32(&t[PT_LAMBDA])[0], gt = md->gate, gl = gt * lambda;
    double scale = 1.0 / sqrt((double)d.D);
    int group = d.H / d.KVH;
    memset(dkv, 0, (size_t)a[PA_DKV].numel * sizeof *dkv);
    double dot = pu_dot(dc, po, d.N * d.HD); /* sum dctx . pout */
    tensor_f32(&g[PT_LAMBDA])[0] += (float)(gt * dot);
    md->dgate += lambda * dot;
    if (gl != 0.0f) {
        for (int64_t i = 0; i < d.N; i++) {
            double e[PEFT_MAX_RANK], dp[PEFT_MAX_RANK];
            for (int h = 0; h < d.H; h++) {
                int kh = h / group;
                const float *qi = qs + i * d.HD + h * d.D, *dci = dc + i * d.HD + h * d.D;
                const float *pr = prob + (i * d.H + h) * d.L;
                double Z = scores(&d, qi, kv, kh, m, e), pdp = 0.0;
                if (Z <= 0.0)
                    continue;
                for (int l = 0; l < d.L; l++) {
                    const float *v = kv + (int64_t)l * 2 * d.KV + d.KV + kh * d.D;
                    float *dv = dkv + (int64_t)l * 2 * d.KV + d.KV + kh * d.D;
                    double s = 0.0;
                    for (int c = 0; c < d.D; c++) {
                        s += (double)dci[c] * v[c];
                        dv[c] += gl * pr[l] * dci[c];
                    }
                    dp[l] = gl * s;
                    pdp += pr[l] * dp[l];
                }
                for (int l = 0; l < d.L; l++) {
                    md->dmask[l] += e[l] / Z * (dp[l] - pdp);
                    double ds = pr[l] * (dp[l] - pdp) * scale;
                    const float *k = kv + (int64_t)l * 2 * d.KV + kh * d.D;
                    float *dk = dkv + (int64_t)l * 2 * d.KV + kh * d.D;
                    for (int c = 0; c < d.D; c++) {
                        if (dqs)
                            dqs[i * d.HD + h * d.D + c] += (float)(ds * k[c]);
                        dk[c] += (float)(ds * qi[c]);
                    }
                }
            }
        }
    }
    pf_status st = PF_OK;
    PF_STEP(st, op_matmul_backward(p->be, &a[PA_DTH], &g[PT_WP], &g[PT_BP], &a[PA_DKV],
                                   &a[PA_TH], &t[PT_WP], 0, 1, 0, err));
    PF_STEP(st, op_tanh_backward(p->be, &a[PA_DTH], &a[PA_DTH], &a[PA_TH], err));
    PF_STEP(st, op_matmul_backward(p->be, &g[PT_E], &g[PT_WE], &g[PT_BE], &a[PA_DTH], &t[PT_E],
                                   &t[PT_WE], 0, 1, 1, err));
    return st;
}
