/* ops_check.h - argument checks shared by the op_* wrappers (internal to src/core).
 *
 * Each check returns PF_OK or fills err with "<op>: <what>" naming the tensor and its shape.
 * `role` is the argument's name in the op's signature (e.g. "weight"), used in messages. */
#ifndef PF_OPS_CHECK_H
#define PF_OPS_CHECK_H

#include <stdint.h>

#include "core/backend.h"
#include "core/tensor.h"

/* t is non-NULL, of dtype, on backend be, with data (unless empty). */
pf_status ops_check_tensor(const char *op, const char *role, const struct tensor *t,
                           struct backend *be, enum tensor_dtype dtype, struct pf_err *err);
/* Same as ops_check_tensor but NULL is allowed (optional argument). */
pf_status ops_check_optional(const char *op, const char *role, const struct tensor *t,
                             struct backend *be, enum tensor_dtype dtype, struct pf_err *err);
/* t->numel == numel. */
pf_status ops_check_numel(const char *op, const char *role, const struct tensor *t,
                          int64_t numel, const struct tensor *ref, struct pf_err *err);
/* Same numel as ref (elementwise ops), naming both. */
pf_status ops_check_like(const char *op, const char *role, const struct tensor *t,
                         const struct tensor *ref, struct pf_err *err);
/* Same ndim and every dimension as ref. */
pf_status ops_check_same_shape(const char *op, const char *role, const struct tensor *t,
                               const struct tensor *ref, struct pf_err *err);
/* v fits the kernels' int dimensions (<= INT32_MAX). */
pf_status ops_check_int_dim(const char *op, const char *what, int64_t v, struct pf_err *err);
/* be is non-NULL. */
pf_status ops_check_backend(const char *op, struct backend *be, struct pf_err *err);

/* Find the first entry of the i32 tensor t outside [0, limit), skipping entries equal to
 * `skip` when use_skip is set. *at is its index (-1 if none) and *val its value. Host-visible
 * memory is read in place; device memory is downloaded first (PF_ERR_NOMEM if the host copy
 * cannot be allocated). Used to range-check token ids, targets and positions on the host. */
pf_status ops_find_out_of_range(const char *op, struct backend *be, const struct tensor *t,
                                int64_t limit, int use_skip, int32_t skip, int64_t *at,
                                int32_t *val, struct pf_err *err);

/* "role " for messages, or "" when the tensor is already named after its role, so that a
 * message reads "k[3,7,8] does not match", not "k k[3,7,8] does not match". buf holds the
 * result (at least 32 bytes). */
const char *ops_role_prefix(const char *role, const struct tensor *t, char *buf, size_t bufsz);

/* Propagate a failed check: `OPS_TRY(ops_check_...(...));` */
#define OPS_TRY(expr)                                                                       \
    do {                                                                                    \
        pf_status ops_try_st_ = (expr);                                                     \
        if (ops_try_st_ != PF_OK)                                                           \
            return ops_try_st_;                                                             \
    } while (0)

#endif
