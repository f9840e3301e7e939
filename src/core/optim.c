/* optim.c - checked optimiser entry points (core/ops.h): the AdamW step, global-norm gradient
 * clipping, the linear warm-up/decay learning-rate schedule and op_zero.
 * Validates tensors and hyper-parameters, then dispatches to the backend; keeps no optimiser
 * state (moments are tensors the caller owns; the step count is in adamw_params). */
#include <math.h>
#include <stdio.h>

#include "core/ops.h"
#include "core/ops_check.h"

/* x must be finite and between lo and hi; each end is excluded when its *_open flag is set. */
static pf_status check_hparam(const char *op, const char *name, float x, double lo, double hi,
                              int lo_open, int hi_open, struct pf_err *err) {
    double d = (double)x;
    int ok = isfinite(d) && (lo_open ? d > lo : d >= lo) && (hi_open ? d < hi : d <= hi);
    if (!ok)
        return pf_err_set(err, PF_ERR_ARG, "%s: %s = %g must be finite and in %s%g, %g%s", op,
                          name, d, lo_open ? "(" : "[", lo, hi, hi_open ? ")" : "]");
    return PF_OK;
}

pf_status op_adamw_update(struct backend *be, struct tensor *param, const struct tensor *grad,
                          struct tensor *m, struct tensor *v, const struct adamw_params *hp,
                          struct pf_err *err) {
    const char *op = "adamw_update";
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "param", param, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "grad", grad, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "m", m, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "v", v, be, TENSOR_F32, err));
    OPS_TRY(ops_check_like(op, "grad", grad, param, err));
    OPS_TRY(ops_check_like(op, "m", m, param, err));
    OPS_TRY(ops_check_like(op, "v", v, param, err));
    /* the kernel updates param, m and v in one pass: they must be separate buffers */
    const struct tensor *bufs[4] = {param, grad, m, v};
    static const char *const names[4] = {"param", "grad", "m", "v"};
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            if (bufs[i]->numel > 0 && bufs[i]->data == bufs[j]->data)
                return pf_err_set(err, PF_ERR_ARG, "%s: %s and %s share the same memory", op,
                                  names[i], names[j]);
    if (!hp)
        return pf_err_set(err, PF_ERR_ARG, "%s: hyper-parameters are NULL", op);
    OPS_TRY(check_hparam(op, "lr", hp->lr, 0.0, HUGE_VAL, 0, 1, err));
    OPS_TRY(check_hparam(op, "beta1", hp->beta1, 0.0, 1.0, 0, 1, err));
    OPS_TRY(check_hparam(op, "beta2", hp->beta2, 0.0, 1.0, 0, 1, err));
    OPS_TRY(check_hparam(op, "eps", hp->eps, 0.0, HUGE_VAL, 1, 1, err));
    OPS_TRY(check_hparam(op, "weight_decay", hp->weight_decay, 0.0, HUGE_VAL, 0, 1, err));
    if (hp->step < 1)
        return pf_err_set(err, PF_ERR_ARG, "%s: step = %d must be >= 1 (1-based, for bias"
                          " correction)", op, hp->step);
    be->ops->adamw_update(be, tensor_f32(param), tensor_f32(grad), tensor_f32(m), tensor_f32(v),
                          (size_t)param->numel, hp);
    return PF_OK;
}

pf_status op_clip_grad_norm(struct backend *be, struct tensor *const *grads, int n,
                            float max_norm, double *norm, struct pf_err *err) {
    const char *op = "clip_grad_norm";
    OPS_TRY(ops_check_backend(op, be, err));
    if (n < 0)
        return pf_err_set(err, PF_ERR_ARG, "%s: n = %d tensors is negative", op, n);
    if (n > 0 && !grads)
        return pf_err_set(err, PF_ERR_ARG, "%s: grads is NULL with n = %d", op, n);
    if (!isfinite(max_norm))
        return pf_err_set(err, PF_ERR_ARG, "%s: max_norm = %g is not finite", op,
                          (double)max_norm);
    for (int i = 0; i < n; i++) {
        char role[32];
        snprintf(role, sizeof role, "grads[%d]", i);
        OPS_TRY(ops_check_tensor(op, role, grads[i], be, TENSOR_F32, err));
    }
    /* Per-tensor sums of squares (each deterministic) added in the order given. */
    double total = 0.0;
    int first_bad = -1;
    for (int i = 0; i < n; i++) {
        double s = be->ops->sumsq(be, tensor_f32(grads[i]), (size_t)grads[i]->numel);
        if (first_bad < 0 && !isfinite(s))
            first_bad = i;
        total += s;
    }
    double nrm = sqrt(total);
    if (norm)
        *norm = nrm;
    if (!isfinite(nrm)) {
        char d[96];
        return pf_err_set(err, PF_ERR_NUMERIC, "%s: gradient norm is %g (first non-finite:"
                          " grads[%d] %s); nothing scaled", op, nrm, first_bad,
                          first_bad >= 0 ? tensor_describe(grads[first_bad], d, sizeof d) : "?");
    }
    if (max_norm > 0.0f && nrm > (double)max_norm) {
        float coef = (float)((double)max_norm / (nrm + 1e-6));
        for (int i = 0; i < n; i++)
            be->ops->scale(be, tensor_f32(grads[i]), (size_t)grads[i]->numel, coef);
    }
    return PF_OK;
}

float sched_linear_warmup(int step, int warmup, int total, float base) {
    /* transformers' get_linear_schedule_with_warmup lr_lambda, including its max(1, .);
     * 64-bit differences so that extreme arguments cannot overflow. */
    int64_t s = step > 0 ? step : 0, w = warmup > 0 ? warmup : 0, tot = total;
    double f;
    if (s < w) {
        f = (double)s / (double)w;
    } else {
        int64_t span = tot - w > 1 ? tot - w : 1;
        f = (double)(tot - s) / (double)span;
        if (f < 0.0)
            f = 0.0;
    }
    return (float)((double)base * f);
}

pf_status op_zero(struct backend *be, struct tensor *t, struct pf_err *err) {
    const char *op = "zero";
    OPS_TRY(ops_check_backend(op, be, err));
    if (!t)
        return pf_err_set(err, PF_ERR_ARG, "%s: tensor is NULL", op);
    OPS_TRY(ops_check_tensor(op, "tensor", t, be, t->dtype, err));
    size_t bytes = tensor_nbytes(t);
    if (bytes)
        be->ops->zero(be, t->data, bytes);
    return PF_OK;
}
