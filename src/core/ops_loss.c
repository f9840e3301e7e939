/* ops_loss.c - checked entry points for the losses (core/ops.h): cross-entropy and MSE.
 * Validates the tensors, range-checks cross-entropy targets on the host, then dispatches.
 * Computes nothing itself besides the target scan. The scalar `loss` is host memory. */
#include <inttypes.h>
#include <math.h>

#include "core/ops.h"
#include "core/ops_check.h"

/* Name the first target that is neither ignore_index nor in [0, V). */
static pf_status check_targets(const char *op, struct backend *be, const struct tensor *targets,
                               const struct tensor *logits, int64_t V, int ignore_index,
                               struct pf_err *err) {
    int64_t at;
    int32_t val;
    char d[96];
    OPS_TRY(ops_find_out_of_range(op, be, targets, V, 1, ignore_index, &at, &val, err));
    if (at >= 0)
        return pf_err_set(err, PF_ERR_ARG, "%s: targets[%" PRId64 "] = %" PRId32 " is out of"
                          " range for %s (V=%" PRId64 ", ignore_index=%d)", op, at, val,
                          tensor_describe(logits, d, sizeof d), V, ignore_index);
    return PF_OK;
}

/* targets (N) and lse (N) for logits with N rows, and the kernel's int dimensions. */
static pf_status check_ce_shapes(const char *op, const struct tensor *lse,
                                 const struct tensor *logits, const struct tensor *targets,
                                 struct pf_err *err) {
    int64_t N = tensor_rows(logits);
    OPS_TRY(ops_check_numel(op, "targets", targets, N, logits, err));
    OPS_TRY(ops_check_numel(op, "lse", lse, N, logits, err));
    OPS_TRY(ops_check_int_dim(op, "rows N", N, err));
    OPS_TRY(ops_check_int_dim(op, "vocab V", tensor_cols(logits), err));
    return PF_OK;
}

static pf_status check_dloss(const char *op, float dloss, struct pf_err *err) {
    if (!isfinite(dloss))
        return pf_err_set(err, PF_ERR_ARG, "%s: dloss = %g is not finite", op, (double)dloss);
    return PF_OK;
}

pf_status op_crossentropy_forward(struct backend *be, float *loss, struct tensor *lse,
                                  const struct tensor *logits, const struct tensor *targets,
                                  int ignore_index, struct pf_err *err) {
    const char *op = "crossentropy_forward";
    OPS_TRY(ops_check_backend(op, be, err));
    if (!loss)
        return pf_err_set(err, PF_ERR_ARG, "%s: loss is NULL", op);
    OPS_TRY(ops_check_tensor(op, "lse", lse, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "logits", logits, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "targets", targets, be, TENSOR_I32, err));
    OPS_TRY(check_ce_shapes(op, lse, logits, targets, err));
    OPS_TRY(check_targets(op, be, targets, logits, tensor_cols(logits), ignore_index, err));
    be->ops->crossentropy_forward(be, loss, tensor_f32(lse), tensor_f32(logits),
                                  tensor_i32(targets), (int)tensor_rows(logits),
                                  (int)tensor_cols(logits), ignore_index);
    return PF_OK;
}

pf_status op_crossentropy_backward(struct backend *be, struct tensor *dlogits,
                                   const struct tensor *logits, const struct tensor *lse,
                                   const struct tensor *targets, int ignore_index, float dloss,
                                   struct pf_err *err) {
    const char *op = "crossentropy_backward";
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "logits", logits, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "lse", lse, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "targets", targets, be, TENSOR_I32, err));
    if (!dlogits) /* nothing wanted */
        return PF_OK;
    OPS_TRY(ops_check_tensor(op, "dlogits", dlogits, be, TENSOR_F32, err));
    OPS_TRY(check_ce_shapes(op, lse, logits, targets, err));
    OPS_TRY(ops_check_like(op, "dlogits", dlogits, logits, err));
    OPS_TRY(check_dloss(op, dloss, err));
    OPS_TRY(check_targets(op, be, targets, logits, tensor_cols(logits), ignore_index, err));
    be->ops->crossentropy_backward(be, tensor_f32(dlogits), tensor_f32(logits), tensor_f32(lse),
                                   tensor_i32(targets), (int)tensor_rows(logits),
                                   (int)tensor_cols(logits), ignore_index, dloss);
    return PF_OK;
}

pf_status op_mse_forward(struct backend *be, float *loss, const struct tensor *pred,
                         const struct tensor *target, struct pf_err *err) {
    const char *op = "mse_forward";
    OPS_TRY(ops_check_backend(op, be, err));
    if (!loss)
        return pf_err_set(err, PF_ERR_ARG, "%s: loss is NULL", op);
    OPS_TRY(ops_check_tensor(op, "pred", pred, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "target", target, be, TENSOR_F32, err));
    OPS_TRY(ops_check_like(op, "target", target, pred, err));
    be->ops->mse_forward(be, loss, tensor_f32(pred), tensor_f32(target), (size_t)pred->numel);
    return PF_OK;
}

pf_status op_mse_backward(struct backend *be, struct tensor *dpred, const struct tensor *pred,
                          const struct tensor *target, float dloss, struct pf_err *err) {
    const char *op = "mse_backward";
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "pred", pred, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "target", target, be, TENSOR_F32, err));
    if (!dpred) /* nothing wanted */
        return PF_OK;
    OPS_TRY(ops_check_tensor(op, "dpred", dpred, be, TENSOR_F32, err));
    OPS_TRY(ops_check_like(op, "target", target, pred, err));
    OPS_TRY(ops_check_like(op, "dpred", dpred, pred, err));
    OPS_TRY(check_dloss(op, dloss, err));
    be->ops->mse_backward(be, tensor_f32(dpred), tensor_f32(pred), tensor_f32(target),
                          (size_t)pred->numel, dloss);
    return PF_OK;
}
