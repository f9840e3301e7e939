/* ops_linear.c - checked entry points for matmul (core/ops.h). Validates, then dispatches. */
#include <inttypes.h>

#include "core/ops.h"
#include "core/ops_check.h"

/* Resolve op(a) = (M,K) and op(b) = (K,N) from the operands; fill err on disagreement. */
static pf_status matmul_dims(const char *op, const struct tensor *a, const struct tensor *b,
                             int trans_a, int trans_b, int64_t *M, int64_t *N, int64_t *K,
                             struct pf_err *err) {
    char da[96], db[96];
    if (trans_a && a->ndim != 2)
        return pf_err_set(err, PF_ERR_SHAPE, "%s: transposed a %s must be 2-D", op,
                          tensor_describe(a, da, sizeof da));
    if (b->ndim != 2)
        return pf_err_set(err, PF_ERR_SHAPE, "%s: b %s must be 2-D", op,
                          tensor_describe(b, db, sizeof db));
    *M = trans_a ? a->shape[1] : tensor_rows(a);
    *K = trans_a ? a->shape[0] : tensor_cols(a);
    int64_t bk = trans_b ? b->shape[1] : b->shape[0];
    *N = trans_b ? b->shape[0] : b->shape[1];
    if (bk != *K)
        return pf_err_set(err, PF_ERR_SHAPE, "%s: inner dimensions differ: a%s %s gives K=%"
                          PRId64 ", b%s %s gives K=%" PRId64, op, trans_a ? "^T" : "",
                          tensor_describe(a, da, sizeof da), *K, trans_b ? "^T" : "",
                          tensor_describe(b, db, sizeof db), bk);
    OPS_TRY(ops_check_int_dim(op, "M", *M, err));
    OPS_TRY(ops_check_int_dim(op, "N", *N, err));
    OPS_TRY(ops_check_int_dim(op, "K", *K, err));
    return PF_OK;
}

/* out (or dout) must be M x N with last dimension N. */
static pf_status check_out(const char *op, const char *role, const struct tensor *t, int64_t M,
                           int64_t N, struct pf_err *err) {
    char d[96], p[48];
    if (tensor_cols(t) != N || tensor_rows(t) != M)
        return pf_err_set(err, PF_ERR_SHAPE, "%s: %s%s must be %" PRId64 " rows x %" PRId64
                          " cols", op, ops_role_prefix(role, t, p, sizeof p),
                          tensor_describe(t, d, sizeof d), M, N);
    return PF_OK;
}

pf_status op_matmul_forward(struct backend *be, struct tensor *out, const struct tensor *a,
                            const struct tensor *b, const struct tensor *bias, int trans_a,
                            int trans_b, struct pf_err *err) {
    const char *op = "matmul_forward";
    int64_t M, N, K;
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "out", out, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "a", a, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "b", b, be, TENSOR_F32, err));
    OPS_TRY(ops_check_optional(op, "bias", bias, be, TENSOR_F32, err));
    OPS_TRY(matmul_dims(op, a, b, trans_a, trans_b, &M, &N, &K, err));
    OPS_TRY(check_out(op, "out", out, M, N, err));
    if (bias)
        OPS_TRY(ops_check_numel(op, "bias", bias, N, out, err));
    be->ops->matmul_forward(be, tensor_f32(out), tensor_f32(a), tensor_f32(b),
                            bias ? tensor_f32(bias) : NULL, (int)M, (int)N, (int)K, trans_a,
                            trans_b);
    return PF_OK;
}

pf_status op_matmul_backward(struct backend *be, struct tensor *da, struct tensor *db,
                             struct tensor *dbias, const struct tensor *dout,
                             const struct tensor *a, const struct tensor *b, int trans_a,
                             int trans_b, int accumulate, struct pf_err *err) {
    const char *op = "matmul_backward";
    int64_t M, N, K;
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "dout", dout, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "a", a, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "b", b, be, TENSOR_F32, err));
    OPS_TRY(ops_check_optional(op, "da", da, be, TENSOR_F32, err));
    OPS_TRY(ops_check_optional(op, "db", db, be, TENSOR_F32, err));
    OPS_TRY(ops_check_optional(op, "dbias", dbias, be, TENSOR_F32, err));
    OPS_TRY(matmul_dims(op, a, b, trans_a, trans_b, &M, &N, &K, err));
    OPS_TRY(check_out(op, "dout", dout, M, N, err));
    if (da)
        OPS_TRY(ops_check_like(op, "da", da, a, err));
    if (db)
        OPS_TRY(ops_check_like(op, "db", db, b, err));
    if (dbias)
        OPS_TRY(ops_check_numel(op, "dbias", dbias, N, dout, err));
    be->ops->matmul_backward(be, da ? tensor_f32(da) : NULL, db ? tensor_f32(db) : NULL,
                             dbias ? tensor_f32(dbias) : NULL, tensor_f32(dout), tensor_f32(a),
                             tensor_f32(b), (int)M, (int)N, (int)K, trans_a, trans_b,
                             accumulate);
    return PF_OK;
}

pf_status op_matmul_acc(struct backend *be, struct tensor *out, const struct tensor *a,
                        const struct tensor *b, int trans_b, struct pf_err *err) {
    const char *op = "matmul_acc";
    int64_t M, N, K;
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "out", out, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "a", a, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "b", b, be, TENSOR_F32, err));
    OPS_TRY(matmul_dims(op, a, b, 0, trans_b, &M, &N, &K, err));
    OPS_TRY(check_out(op, "out", out, M, N, err));
    if (out->data == a->data || out->data == b->data)
        return pf_err_set(err, PF_ERR_ARG, "%s: out shares memory with an input", op);
    /* the kernel's input-gradient form: da (M, N) += dout (M, K) op'(b)^T with op' = the
     * other transpose of b; `a` of the kernel is only read for db, which is NULL here */
    be->ops->matmul_backward(be, tensor_f32(out), NULL, NULL, tensor_f32(a), tensor_f32(out),
                             tensor_f32(b), (int)M, (int)K, (int)N, 0, !trans_b, 1);
    return PF_OK;
}
