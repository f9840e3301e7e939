/* ops_check.c - the argument checks behind every op_* wrapper. Computes nothing. */
#include "core/ops_check.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dtype_name(enum tensor_dtype d) {
    return d == TENSOR_I32 ? "i32" : "f32";
}

const char *ops_role_prefix(const char *role, const struct tensor *t, char *buf, size_t bufsz) {
    if (strcmp(role, t->name) == 0)
        return "";
    snprintf(buf, bufsz, "%s ", role);
    return buf;
}

pf_status ops_check_backend(const char *op, struct backend *be, struct pf_err *err) {
    if (!be)
        return pf_err_set(err, PF_ERR_ARG, "%s: backend is NULL", op);
    return PF_OK;
}

pf_status ops_check_tensor(const char *op, const char *role, const struct tensor *t,
                           struct backend *be, enum tensor_dtype dtype, struct pf_err *err) {
    char d[96], p[48];
    if (!t)
        return pf_err_set(err, PF_ERR_ARG, "%s: %s is NULL", op, role);
    const char *rp = ops_role_prefix(role, t, p, sizeof p);
    if (t->dtype != dtype)
        return pf_err_set(err, PF_ERR_ARG, "%s: %s%s has dtype %s, expected %s", op, rp,
                          tensor_describe(t, d, sizeof d), dtype_name(t->dtype),
                          dtype_name(dtype));
    if (t->ndim < 1 || t->ndim > TENSOR_MAX_DIMS)
        return pf_err_set(err, PF_ERR_ARG, "%s: %s '%s' is not initialised (ndim %d)", op, role,
                          t->name, t->ndim);
    if (t->be != be)
        return pf_err_set(err, PF_ERR_ARG, "%s: %s%s lives on device '%s', the op runs on '%s'",
                          op, rp, tensor_describe(t, d, sizeof d),
                          t->be ? t->be->name : "none", be->name);
    if (!t->data && t->numel > 0)
        return pf_err_set(err, PF_ERR_ARG, "%s: %s%s has no data", op, rp,
                          tensor_describe(t, d, sizeof d));
    return PF_OK;
}

pf_status ops_check_optional(const char *op, const char *role, const struct tensor *t,
                             struct backend *be, enum tensor_dtype dtype, struct pf_err *err) {
    return t ? ops_check_tensor(op, role, t, be, dtype, err) : PF_OK;
}

pf_status ops_check_numel(const char *op, const char *role, const struct tensor *t,
                          int64_t numel, const struct tensor *ref, struct pf_err *err) {
    char d[96], r[96], p[48];
    if (t->numel != numel)
        return pf_err_set(err, PF_ERR_SHAPE, "%s: %s%s has %" PRId64 " elements, expected %"
                          PRId64 " to match %s", op, ops_role_prefix(role, t, p, sizeof p),
                          tensor_describe(t, d, sizeof d),
                          t->numel, numel, tensor_describe(ref, r, sizeof r));
    return PF_OK;
}

pf_status ops_check_like(const char *op, const char *role, const struct tensor *t,
                         const struct tensor *ref, struct pf_err *err) {
    return ops_check_numel(op, role, t, ref->numel, ref, err);
}

pf_status ops_check_same_shape(const char *op, const char *role, const struct tensor *t,
                               const struct tensor *ref, struct pf_err *err) {
    char d[96], r[96], p[48];
    int same = t->ndim == ref->ndim;
    for (int i = 0; same && i < t->ndim; i++)
        same = t->shape[i] == ref->shape[i];
    if (!same)
        return pf_err_set(err, PF_ERR_SHAPE, "%s: %s%s does not match %s", op,
                          ops_role_prefix(role, t, p, sizeof p), tensor_describe(t, d, sizeof d),
                          tensor_describe(ref, r, sizeof r));
    return PF_OK;
}

pf_status ops_check_int_dim(const char *op, const char *what, int64_t v, struct pf_err *err) {
    if (v < 0 || v > INT32_MAX)
        return pf_err_set(err, PF_ERR_ARG, "%s: %s = %" PRId64 " exceeds the kernel limit %d",
                          op, what, v, INT32_MAX);
    return PF_OK;
}

pf_status ops_find_out_of_range(const char *op, struct backend *be, const struct tensor *t,
                                int64_t limit, int use_skip, int32_t skip, int64_t *at,
                                int32_t *val, struct pf_err *err) {
    *at = -1;
    *val = 0;
    size_t n = (size_t)t->numel, bytes = n * sizeof(int32_t);
    if (n == 0)
        return PF_OK;
    const int32_t *v = t->data;
    int32_t *copy = NULL;
    if (!be->host_visible) {
        char d[96];
        copy = malloc(bytes);
        if (!copy)
            return pf_err_set(err, PF_ERR_NOMEM, "%s: cannot allocate %zu bytes to check %s",
                              op, bytes, tensor_describe(t, d, sizeof d));
        be->download(be, copy, t->data, bytes);
        v = copy;
    }
    for (size_t i = 0; i < n; i++)
        if ((v[i] < 0 || v[i] >= limit) && !(use_skip && v[i] == skip)) {
            *at = (int64_t)i;
            *val = v[i];
            break;
        }
    free(copy);
    return PF_OK;
}
