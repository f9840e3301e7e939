/* ops_norm.c - checked entry points for LayerNorm and RMSNorm (core/ops.h). Validates the
 * arguments once (tensors, shapes against inp's rows N and columns C, eps, int limits), then
 * dispatches to the backend kernel. Computes nothing itself. */
#include <inttypes.h>
#include <math.h>

#include "core/ops.h"
#include "core/ops_check.h"

/* N = rows(inp), C = cols(inp); C >= 1 and both fit the kernels' int dimensions. */
static pf_status norm_dims(const char *op, const struct tensor *inp, int64_t *N, int64_t *C,
                           struct pf_err *err) {
    char d[96];
    *N = tensor_rows(inp);
    *C = tensor_cols(inp);
    if (*C < 1)
        return pf_err_set(err, PF_ERR_SHAPE, "%s: inp %s has no columns to normalise", op,
                          tensor_describe(inp, d, sizeof d));
    OPS_TRY(ops_check_int_dim(op, "N (rows of inp)", *N, err));
    OPS_TRY(ops_check_int_dim(op, "C (cols of inp)", *C, err));
    return PF_OK;
}

/* t is N rows x C cols like inp (its ndim may differ, e.g. (B*T, C) for (B, T, C)). */
static pf_status check_rows_cols(const char *op, const char *role, const struct tensor *t,
                                 int64_t N, int64_t C, const struct tensor *inp,
                                 struct pf_err *err) {
    char d[96], r[96], p[48];
    if (tensor_rows(t) != N || tensor_cols(t) != C)
        return pf_err_set(err, PF_ERR_SHAPE, "%s: %s%s must be %" PRId64 " rows x %" PRId64
                          " cols to match %s", op, ops_role_prefix(role, t, p, sizeof p),
                          tensor_describe(t, d, sizeof d), N, C,
                          tensor_describe(inp, r, sizeof r));
    return PF_OK;
}

static pf_status check_eps(const char *op, float eps, struct pf_err *err) {
    if (!(eps > 0.0f) || !isfinite(eps))
        return pf_err_set(err, PF_ERR_ARG, "%s: eps = %g must be finite and > 0", op,
                          (double)eps);
    return PF_OK;
}

/* ---- LayerNorm ---- */

pf_status op_layernorm_forward(struct backend *be, struct tensor *out, struct tensor *mean,
                               struct tensor *rstd, const struct tensor *inp,
                               const struct tensor *w, const struct tensor *b, float eps,
                               struct pf_err *err) {
    const char *op = "layernorm_forward";
    int64_t N, C;
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "out", out, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "mean", mean, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "rstd", rstd, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "inp", inp, be, TENSOR_F32, err));
    OPS_TRY(ops_check_optional(op, "w", w, be, TENSOR_F32, err));
    OPS_TRY(ops_check_optional(op, "b", b, be, TENSOR_F32, err));
    OPS_TRY(norm_dims(op, inp, &N, &C, err));
    OPS_TRY(check_rows_cols(op, "out", out, N, C, inp, err));
    OPS_TRY(ops_check_numel(op, "mean", mean, N, inp, err));
    OPS_TRY(ops_check_numel(op, "rstd", rstd, N, inp, err));
    if (w)
        OPS_TRY(ops_check_numel(op, "w", w, C, inp, err));
    if (b)
        OPS_TRY(ops_check_numel(op, "b", b, C, inp, err));
    OPS_TRY(check_eps(op, eps, err));
    be->ops->layernorm_forward(be, tensor_f32(out), tensor_f32(mean), tensor_f32(rstd),
                               tensor_f32(inp), w ? tensor_f32(w) : NULL,
                               b ? tensor_f32(b) : NULL, (int)N, (int)C, eps);
    return PF_OK;
}

pf_status op_layernorm_backward(struct backend *be, struct tensor *dinp, struct tensor *dw,
                                struct tensor *db, const struct tensor *dout,
                                const struct tensor *inp, const struct tensor *w,
                                const struct tensor *mean, const struct tensor *rstd,
                                struct pf_err *err) {
    const char *op = "layernorm_backward";
    int64_t N, C;
    char d[96];
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_optional(op, "dinp", dinp, be, TENSOR_F32, err));
    OPS_TRY(ops_check_optional(op, "dw", dw, be, TENSOR_F32, err));
    OPS_TRY(ops_check_optional(op, "db", db, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "dout", dout, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "inp", inp, be, TENSOR_F32, err));
    OPS_TRY(ops_check_optional(op, "w", w, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "mean", mean, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "rstd", rstd, be, TENSOR_F32, err));
    OPS_TRY(norm_dims(op, inp, &N, &C, err));
    OPS_TRY(check_rows_cols(op, "dout", dout, N, C, inp, err));
    if (dinp)
        OPS_TRY(check_rows_cols(op, "dinp", dinp, N, C, inp, err));
    OPS_TRY(ops_check_numel(op, "mean", mean, N, inp, err));
    OPS_TRY(ops_check_numel(op, "rstd", rstd, N, inp, err));
    if (w)
        OPS_TRY(ops_check_numel(op, "w", w, C, inp, err));
    if (dw && !w)
        return pf_err_set(err, PF_ERR_ARG, "%s: dw %s given but w is NULL (no affine weight)",
                          op, tensor_describe(dw, d, sizeof d));
    if (dw)
        OPS_TRY(ops_check_numel(op, "dw", dw, C, inp, err));
    if (db)
        OPS_TRY(ops_check_numel(op, "db", db, C, inp, err));
    be->ops->layernorm_backward(be, dinp ? tensor_f32(dinp) : NULL, dw ? tensor_f32(dw) : NULL,
                                db ? tensor_f32(db) : NULL, tensor_f32(dout), tensor_f32(inp),
                                w ? tensor_f32(w) : NULL, tensor_f32(mean), tensor_f32(rstd),
                                (int)N, (int)C);
    return PF_OK;
}

/* ---- RMSNorm ---- */

pf_status op_rmsnorm_forward(struct backend *be, struct tensor *out, struct tensor *rstd,
                             const struct tensor *inp, const struct tensor *w, float eps,
                             struct pf_err *err) {
    const char *op = "rmsnorm_forward";
    int64_t N, C;
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "out", out, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "rstd", rstd, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "inp", inp, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "w", w, be, TENSOR_F32, err));
    OPS_TRY(norm_dims(op, inp, &N, &C, err));
    OPS_TRY(check_rows_cols(op, "out", out, N, C, inp, err));
    OPS_TRY(ops_check_numel(op, "rstd", rstd, N, inp, err));
    OPS_TRY(ops_check_numel(op, "w", w, C, inp, err));
    OPS_TRY(check_eps(op, eps, err));
    be->ops->rmsnorm_forward(be, tensor_f32(out), tensor_f32(rstd), tensor_f32(inp),
                             tensor_f32(w), (int)N, (int)C, eps);
    return PF_OK;
}

pf_status op_rmsnorm_backward(struct backend *be, struct tensor *dinp, struct tensor *dw,
                              const struct tensor *dout, const struct tensor *inp,
                              const struct tensor *w, const struct tensor *rstd,
                              struct pf_err *err) {
    const char *op = "rmsnorm_backward";
    int64_t N, C;
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_optional(op, "dinp", dinp, be, TENSOR_F32, err));
    OPS_TRY(ops_check_optional(op, "dw", dw, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "dout", dout, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "inp", inp, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "w", w, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "rstd", rstd, be, TENSOR_F32, err));
    OPS_TRY(norm_dims(op, inp, &N, &C, err));
    OPS_TRY(check_rows_cols(op, "dout", dout, N, C, inp, err));
    if (dinp)
        OPS_TRY(check_rows_cols(op, "dinp", dinp, N, C, inp, err));
    OPS_TRY(ops_check_numel(op, "w", w, C, inp, err));
    OPS_TRY(ops_check_numel(op, "rstd", rstd, N, inp, err));
    if (dw)
        OPS_TRY(ops_check_numel(op, "dw", dw, C, inp, err));
    be->ops->rmsnorm_backward(be, dinp ? tensor_f32(dinp) : NULL, dw ? tensor_f32(dw) : NULL,
                              tensor_f32(dout), tensor_f32(inp), tensor_f32(w), tensor_f32(rstd),
                              (int)N, (int)C);
    return PF_OK;
}
