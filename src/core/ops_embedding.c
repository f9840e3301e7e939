/* ops_embedding.c - checked entry points for the embedding lookup (core/ops.h): validates the
 * tensors, range-checks every id on the host, then dispatches to the backend.
 * Computes nothing itself besides the id scan. */
#include <inttypes.h>

#include "core/ops.h"
#include "core/ops_check.h"

/* Name the first id outside [0, V). */
static pf_status check_ids(const char *op, struct backend *be, const struct tensor *ids,
                           const struct tensor *table, int64_t V, struct pf_err *err) {
    int64_t at;
    int32_t val;
    char d[96];
    OPS_TRY(ops_find_out_of_range(op, be, ids, V, 0, 0, &at, &val, err));
    if (at >= 0)
        return pf_err_set(err, PF_ERR_ARG, "%s: ids[%" PRId64 "] = %" PRId32 " is out of range"
                          " for table %s (vocab %" PRId64 ")", op, at, val,
                          tensor_describe(table, d, sizeof d), V);
    return PF_OK;
}

/* table is (V, C) and the activation `act` (out or dout) has C columns and one row per id. */
static pf_status check_shapes(const char *op, const char *act_role, const struct tensor *act,
                              const struct tensor *ids, const char *table_role,
                              const struct tensor *table, struct pf_err *err) {
    char dt[96], da[96], di[96], pt[48], pa[48], pi[48];
    const char *rt = ops_role_prefix(table_role, table, pt, sizeof pt);
    const char *ra = ops_role_prefix(act_role, act, pa, sizeof pa);
    if (table->ndim != 2)
        return pf_err_set(err, PF_ERR_SHAPE, "%s: %s%s must be 2-D (vocab, C)", op, rt,
                          tensor_describe(table, dt, sizeof dt));
    if (tensor_cols(act) != table->shape[1])
        return pf_err_set(err, PF_ERR_SHAPE, "%s: %s%s has %" PRId64 " cols, %s%s has C=%"
                          PRId64, op, ra, tensor_describe(act, da, sizeof da), tensor_cols(act),
                          rt, tensor_describe(table, dt, sizeof dt), table->shape[1]);
    if (ids->numel != tensor_rows(act))
        return pf_err_set(err, PF_ERR_SHAPE, "%s: %s%s has %" PRId64 " elements, %s%s has %"
                          PRId64 " rows", op, ops_role_prefix("ids", ids, pi, sizeof pi),
                          tensor_describe(ids, di, sizeof di), ids->numel, ra,
                          tensor_describe(act, da, sizeof da), tensor_rows(act));
    OPS_TRY(ops_check_int_dim(op, "rows N", tensor_rows(act), err));
    OPS_TRY(ops_check_int_dim(op, "channels C", table->shape[1], err));
    OPS_TRY(ops_check_int_dim(op, "vocab V", table->shape[0], err));
    return PF_OK;
}

pf_status op_embedding_forward(struct backend *be, struct tensor *out, const struct tensor *ids,
                               const struct tensor *table, int accumulate, struct pf_err *err) {
    const char *op = "embedding_forward";
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "out", out, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "ids", ids, be, TENSOR_I32, err));
    OPS_TRY(ops_check_tensor(op, "table", table, be, TENSOR_F32, err));
    OPS_TRY(check_shapes(op, "out", out, ids, "table", table, err));
    OPS_TRY(check_ids(op, be, ids, table, table->shape[0], err));
    be->ops->embedding_forward(be, tensor_f32(out), tensor_i32(ids), tensor_f32(table),
                               (int)tensor_rows(out), (int)table->shape[1], accumulate);
    return PF_OK;
}

pf_status op_embedding_backward(struct backend *be, struct tensor *dtable,
                                const struct tensor *dout, const struct tensor *ids,
                                struct pf_err *err) {
    const char *op = "embedding_backward";
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "dout", dout, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "ids", ids, be, TENSOR_I32, err));
    if (!dtable) /* frozen table: nothing wanted */
        return PF_OK;
    OPS_TRY(ops_check_tensor(op, "dtable", dtable, be, TENSOR_F32, err));
    OPS_TRY(check_shapes(op, "dout", dout, ids, "dtable", dtable, err));
    OPS_TRY(check_ids(op, be, ids, dtable, dtable->shape[0], err));
    be->ops->embedding_backward(be, tensor_f32(dtable), tensor_f32(dout), tensor_i32(ids),
                                (int)tensor_rows(dout), (int)dtable->shape[1]);
    return PF_OK;
}
