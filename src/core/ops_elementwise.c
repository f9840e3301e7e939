/* ops_elementwise.c - checked entry points for the elementwise ops of core/ops.h: GELU,
 * ReLU, SiLU, SwiGLU, the residual add and dropout. Validates the arguments once (tensors,
 * equal element counts, the GELU kind, the dropout rate), then dispatches to the backend
 * kernel. Shapes may differ as long as the element counts agree. A NULL gradient output is
 * allowed (nothing to compute for it). Computes nothing itself. */

#include "core/ops.h"
#include "core/ops_check.h"

/* A required f32 tensor on be with the same element count as ref. */
static pf_status check_like(const char *op, const char *role, const struct tensor *t,
                            const struct tensor *ref, struct backend *be, struct pf_err *err) {
    OPS_TRY(ops_check_tensor(op, role, t, be, TENSOR_F32, err));
    return ops_check_like(op, role, t, ref, err);
}

/* Same, but NULL is allowed (a gradient nobody wants). */
static pf_status check_like_optional(const char *op, const char *role, const struct tensor *t,
                                     const struct tensor *ref, struct backend *be,
                                     struct pf_err *err) {
    return t ? check_like(op, role, t, ref, be, err) : PF_OK;
}

/* Common checks of a unary forward (out, inp) or backward (dinp optional, dout, inp). */
static pf_status check_unary_fwd(const char *op, struct backend *be, const struct tensor *out,
                                 const struct tensor *inp, struct pf_err *err) {
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "inp", inp, be, TENSOR_F32, err));
    return check_like(op, "out", out, inp, be, err);
}

static pf_status check_unary_bwd(const char *op, struct backend *be, const struct tensor *dinp,
                                 const struct tensor *dout, const struct tensor *inp,
                                 struct pf_err *err) {
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "inp", inp, be, TENSOR_F32, err));
    OPS_TRY(check_like(op, "dout", dout, inp, be, err));
    return check_like_optional(op, "dinp", dinp, inp, be, err);
}

static pf_status check_gelu_kind(const char *op, enum gelu_kind kind, struct pf_err *err) {
    if (kind != GELU_ERF && kind != GELU_TANH)
        return pf_err_set(err, PF_ERR_ARG, "%s: unknown gelu kind %d (GELU_ERF = %d, "
                          "GELU_TANH = %d)", op, (int)kind, (int)GELU_ERF, (int)GELU_TANH);
    return PF_OK;
}

static float *f32_or_null(const struct tensor *t) {
    return t ? tensor_f32(t) : NULL;
}

/* ---- GELU ---- */

pf_status op_gelu_forward(struct backend *be, struct tensor *out, const struct tensor *inp,
                          enum gelu_kind kind, struct pf_err *err) {
    const char *op = "gelu_forward";
    OPS_TRY(check_unary_fwd(op, be, out, inp, err));
    OPS_TRY(check_gelu_kind(op, kind, err));
    be->ops->gelu_forward(be, tensor_f32(out), tensor_f32(inp), (size_t)inp->numel, kind);
    return PF_OK;
}

pf_status op_gelu_backward(struct backend *be, struct tensor *dinp, const struct tensor *dout,
                           const struct tensor *inp, enum gelu_kind kind, struct pf_err *err) {
    const char *op = "gelu_backward";
    OPS_TRY(check_unary_bwd(op, be, dinp, dout, inp, err));
    OPS_TRY(check_gelu_kind(op, kind, err));
    if (dinp)
        be->ops->gelu_backward(be, tensor_f32(dinp), tensor_f32(dout), tensor_f32(inp),
                               (size_t)inp->numel, kind);
    return PF_OK;
}

/* ---- ReLU ---- */

pf_status op_relu_forward(struct backend *be, struct tensor *out, const struct tensor *inp,
                          struct pf_err *err) {
    OPS_TRY(check_unary_fwd("relu_forward", be, out, inp, err));
    be->ops->relu_forward(be, tensor_f32(out), tensor_f32(inp), (size_t)inp->numel);
    return PF_OK;
}

pf_status op_relu_backward(struct backend *be, struct tensor *dinp, const struct tensor *dout,
                           const struct tensor *inp, struct pf_err *err) {
    OPS_TRY(check_unary_bwd("relu_backward", be, dinp, dout, inp, err));
    if (dinp)
        be->ops->relu_backward(be, tensor_f32(dinp), tensor_f32(dout), tensor_f32(inp),
                               (size_t)inp->numel);
    return PF_OK;
}

/* ---- SiLU ---- */

pf_status op_tanh_forward(struct backend *be, struct tensor *out, const struct tensor *inp,
                          struct pf_err *err) {
    OPS_TRY(check_unary_fwd("tanh_forward", be, out, inp, err));
    be->ops->tanh_forward(be, tensor_f32(out), tensor_f32(inp), (size_t)inp->numel);
    return PF_OK;
}

pf_status op_tanh_backward(struct backend *be, struct tensor *dinp, const struct tensor *dout,
                           const struct tensor *out, struct pf_err *err) {
    OPS_TRY(check_unary_bwd("tanh_backward", be, dinp, dout, out, err));
    if (dinp)
        be->ops->tanh_backward(be, tensor_f32(dinp), tensor_f32(dout), tensor_f32(out),
                               (size_t)out->numel);
    return PF_OK;
}

pf_status op_silu_forward(struct backend *be, struct tensor *out, const struct tensor *inp,
                          struct pf_err *err) {
    OPS_TRY(check_unary_fwd("silu_forward", be, out, inp, err));
    be->ops->silu_forward(be, tensor_f32(out), tensor_f32(inp), (size_t)inp->numel);
    return PF_OK;
}

pf_status op_silu_backward(struct backend *be, struct tensor *dinp, const struct tensor *dout,
                           const struct tensor *inp, struct pf_err *err) {
    OPS_TRY(check_unary_bwd("silu_backward", be, dinp, dout, inp, err));
    if (dinp)
        be->ops->silu_backward(be, tensor_f32(dinp), tensor_f32(dout), tensor_f32(inp),
                               (size_t)inp->numel);
    return PF_OK;
}

/* ---- SwiGLU ---- */

pf_status op_swiglu_forward(struct backend *be, struct tensor *out, const struct tensor *gate,
                            const struct tensor *up, struct pf_err *err) {
    const char *op = "swiglu_forward";
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "gate", gate, be, TENSOR_F32, err));
    OPS_TRY(check_like(op, "up", up, gate, be, err));
    OPS_TRY(check_like(op, "out", out, gate, be, err));
    be->ops->swiglu_forward(be, tensor_f32(out), tensor_f32(gate), tensor_f32(up),
                            (size_t)gate->numel);
    return PF_OK;
}

pf_status op_swiglu_backward(struct backend *be, struct tensor *dgate, struct tensor *dup,
                             const struct tensor *dout, const struct tensor *gate,
                             const struct tensor *up, struct pf_err *err) {
    const char *op = "swiglu_backward";
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "gate", gate, be, TENSOR_F32, err));
    OPS_TRY(check_like(op, "up", up, gate, be, err));
    OPS_TRY(check_like(op, "dout", dout, gate, be, err));
    OPS_TRY(check_like_optional(op, "dgate", dgate, gate, be, err));
    OPS_TRY(check_like_optional(op, "dup", dup, gate, be, err));
    if (dgate || dup)
        be->ops->swiglu_backward(be, f32_or_null(dgate), f32_or_null(dup), tensor_f32(dout),
                                 tensor_f32(gate), tensor_f32(up), (size_t)gate->numel);
    return PF_OK;
}

/* ---- residual ---- */

pf_status op_residual_forward(struct backend *be, struct tensor *out, const struct tensor *a,
                              const struct tensor *b, struct pf_err *err) {
    const char *op = "residual_forward";
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "a", a, be, TENSOR_F32, err));
    OPS_TRY(check_like(op, "b", b, a, be, err));
    OPS_TRY(check_like(op, "out", out, a, be, err));
    be->ops->residual_forward(be, tensor_f32(out), tensor_f32(a), tensor_f32(b),
                              (size_t)a->numel);
    return PF_OK;
}

pf_status op_residual_backward(struct backend *be, struct tensor *da, struct tensor *db,
                               const struct tensor *dout, struct pf_err *err) {
    const char *op = "residual_backward";
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "dout", dout, be, TENSOR_F32, err));
    OPS_TRY(check_like_optional(op, "da", da, dout, be, err));
    OPS_TRY(check_like_optional(op, "db", db, dout, be, err));
    if (da || db)
        be->ops->residual_backward(be, f32_or_null(da), f32_or_null(db), tensor_f32(dout),
                                   (size_t)dout->numel);
    return PF_OK;
}

/* ---- dropout ---- */

static pf_status check_p(const char *op, float p, struct pf_err *err) {
    if (!(p >= 0.0f && p < 1.0f)) /* also rejects NaN */
        return pf_err_set(err, PF_ERR_ARG, "%s: dropout probability p = %g must be in [0, 1)",
                          op, (double)p);
    return PF_OK;
}

pf_status op_dropout_forward(struct backend *be, struct tensor *out, const struct tensor *inp,
                             float p, uint64_t seed, uint64_t offset, struct pf_err *err) {
    const char *op = "dropout_forward";
    OPS_TRY(check_unary_fwd(op, be, out, inp, err));
    OPS_TRY(check_p(op, p, err));
    be->ops->dropout_forward(be, tensor_f32(out), tensor_f32(inp), (size_t)inp->numel, p, seed,
                             offset);
    return PF_OK;
}

pf_status op_dropout_backward(struct backend *be, struct tensor *dinp, const struct tensor *dout,
                              float p, uint64_t seed, uint64_t offset, struct pf_err *err) {
    const char *op = "dropout_backward";
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "dout", dout, be, TENSOR_F32, err));
    OPS_TRY(check_like_optional(op, "dinp", dinp, dout, be, err));
    OPS_TRY(check_p(op, p, err));
    if (dinp)
        be->ops->dropout_backward(be, tensor_f32(dinp), tensor_f32(dout), (size_t)dout->numel,
                                  p, seed, offset);
    return PF_OK;
}
