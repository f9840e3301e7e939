/* peft_vector.c - the vector modules (peft.h):
 *   bitfit  y += g b                      (a linear's output or a norm's output)
 *   ln      y += g w . xhat               (a norm's output; xhat = its input normalised)
 *   ia3     y  = y . (1 + g l)            (a projection's output or the FFN activation)
 * Host loops: one pass over the rows, reductions in double. */
#include <math.h>

#include "core/ops.h"
#include "peft/peft_internal.h"

#include "model/model.h"

/* The norm a module sits on: a layer's (blk), or the model's final norm (blk NULL). */
static int is_rms(const struct peft *p, const struct block *blk) {
    return blk ? blk->d.style == BLOCK_PRE_RMS : p->model->cfg.family == FAM_LLAMA;
}

static double norm_eps(const struct peft *p, const struct block *blk) {
    return blk ? blk->d.ln_eps : p->model->cfg.norm_eps;
}

static pf_status ln_forward(struct peft *p, struct peft_module *md, const struct block *blk,
                            const struct tensor *x, struct tensor *y) {
    int64_t N = tensor_rows(x);
    int C = (int)tensor_cols(x), rms = is_rms(p, blk);
    double eps = norm_eps(p, blk);
    const float *xs = tensor_f32(x), *w = tensor_f32(&md->t[VT_W]);
    float *xh = tensor_f32(&md->a[NA_XHAT]), *rs = tensor_f32(&md->a[NA_RSTD]),
          *ys = tensor_f32(y), g = md->gate;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < N; i++) {
        const float *xi = xs + i * C;
        double mean = 0.0, var = 0.0;
        if (!rms) {
            for (int c = 0; c < C; c++)
                mean += xi[c];
            mean /= C;
        }
        for (int c = 0; c < C; c++)
            var += (xi[c] - mean) * (xi[c] - mean);
        double rstd = 1.0 / sqrt(var / C + eps);
        rs[i] = (float)rstd;
        for (int c = 0; c < C; c++) {
            float v = (float)((xi[c] - mean) * rstd);
            xh[i * C + c] = v;
            ys[i * C + c] += g * w[c] * v;
        }
    }
    return PF_OK;
}

static pf_status ln_backward(struct peft *p, struct peft_module *md, const struct block *blk,
                             const struct tensor *dy, struct tensor *dx, struct pf_err *err) {
    int64_t N = tensor_rows(dy);
    int C = (int)tensor_cols(dy), rms = is_rms(p, blk);
    const float *d = tensor_f32(dy), *xh = tensor_f32(&md->a[NA_XHAT]),
                *rs = tensor_f32(&md->a[NA_RSTD]), *w = tensor_f32(&md->t[VT_W]);
    float *dw = tensor_f32(&md->g[VT_W]), g = md->gate;
    double *c = pu_scratch(p, (size_t)C * sizeof *c, err);
    if (!c)
        return PF_ERR_NOMEM;
    for (int k = 0; k < C; k++)
        c[k] = 0.0;
    pu_coldot(d, xh, N, C, c);
    for (int k = 0; k < C; k++) {
        dw[k] += (float)(g * c[k]);
        md->dgate += w[k] * c[k];
    }
    if (!dx)
        return PF_OK;
    float *dxs = tensor_f32(dx);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < N; i++) {
        const float *di = d + i * C, *hi = xh + i * C;
        double m1 = 0.0, m2 = 0.0;
        for (int k = 0; k < C; k++) {
            double dh = (double)g * w[k] * di[k];
            m1 += dh;
            m2 += dh * hi[k];
        }
        m1 = rms ? 0.0 : m1 / C;
        m2 /= C;
        for (int k = 0; k < C; k++) {
            double dh = (double)g * w[k] * di[k];
            dxs[i * C + k] += (float)(rs[i] * (dh - m1 - hi[k] * m2));
        }
    }
    return PF_OK;
}

pf_status peft_vector_forward(struct peft *p, struct peft_module *md, struct block *blk,
                              const struct tensor *x, struct tensor *y, struct pf_err *err) {
    int64_t N = tensor_rows(y);
    int n = (int)tensor_cols(y);
    const float *v = tensor_f32(&md->t[VT_W]);
    switch (md->s.kind) {
    case CFG_KIND_BITFIT:
        pu_add_rows(tensor_f32(y), N, n, v, md->gate);
        return PF_OK;
    case CFG_KIND_LN:
        return ln_forward(p, md, blk, x, y);
    case CFG_KIND_IA3: {
        float *ys = tensor_f32(y), g = md->gate;
        pu_copy(tensor_f32(&md->a[IA_YPRE]), ys, y->numel);
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < N; i++)
            for (int j = 0; j < n; j++)
                ys[i * n + j] *= 1.0f + g * v[j];
        return PF_OK;
    }
    default:
        return pf_err_set(err, PF_ERR_ARG, "peft: kind %d is not a vector module",
                          (int)md->s.kind);
    }
}

pf_status peft_vector_backward(struct peft *p, struct peft_module *md, struct block *blk,
                               const struct tensor *x, struct tensor *dy, struct tensor *dx,
                               struct pf_err *err) {
    (void)x;
    int64_t N = tensor_rows(dy);
    int n = (int)tensor_cols(dy);
    const float *v = tensor_f32(&md->t[VT_W]);
    float *gv = tensor_f32(&md->g[VT_W]), g = md->gate;
    if (md->s.kind == CFG_KIND_LN)
        return ln_backward(p, md, blk, dy, dx, err);
    double *c = pu_scratch(p, (size_t)n * sizeof *c, err);
    if (!c)
        return PF_ERR_NOMEM;
    if (md->s.kind == CFG_KIND_BITFIT) {
        pu_colsum(tensor_f32(dy), N, n, c);
    } else if (md->s.kind == CFG_KIND_IA3) {
        for (int j = 0; j < n; j++)
            c[j] = 0.0;
        pu_coldot(tensor_f32(dy), tensor_f32(&md->a[IA_YPRE]), N, n, c);
    } else {
        return pf_err_set(err, PF_ERR_ARG, "peft: kind %d is not a vector module",
                          (int)md->s.kind);
    }
    for (int j = 0; j < n; j++) {
        gv[j] += (float)(g * c[j]);
        md->dgate += v[j] * c[j];
    }
    if (md->s.kind == CFG_KIND_IA3) {
        float *d = tensor_f32(dy);
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < N; i++)
            for (int j = 0; j < n; j++)
                d[i * n + j] *= 1.0f + g * v[j];
    }
    return PF_OK;
}
