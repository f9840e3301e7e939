/* tensor.c - shape bookkeeping and allocation from an arena. Computes nothing. */
#include "core/tensor.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/backend.h"

size_t tensor_dtype_size(enum tensor_dtype dtype) {
    return dtype == TENSOR_I32 ? sizeof(int32_t) : sizeof(float);
}

static pf_status tensor_set_shape(struct tensor *t, enum tensor_dtype dtype, const char *name,
                                  int ndim, const int64_t *shape, struct pf_err *err) {
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name ? name : "tensor");
    if (dtype != TENSOR_F32 && dtype != TENSOR_I32)
        return pf_err_set(err, PF_ERR_ARG, "tensor '%s': unknown dtype %d", t->name, (int)dtype);
    if (ndim < 1 || ndim > TENSOR_MAX_DIMS)
        return pf_err_set(err, PF_ERR_ARG, "tensor '%s': %d dimensions, expected 1 to %d",
                          t->name, ndim, TENSOR_MAX_DIMS);
    int64_t numel = 1;
    const int64_t max_elems = (int64_t)(SIZE_MAX / 2 / tensor_dtype_size(dtype)) < INT64_MAX
                                  ? (int64_t)(SIZE_MAX / 2 / tensor_dtype_size(dtype))
                                  : INT64_MAX;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return pf_err_set(err, PF_ERR_ARG, "tensor '%s': dimension %d is %" PRId64
                              ", expected >= 0", t->name, i, shape[i]);
        if (shape[i] > 0 && numel > max_elems / shape[i])
            return pf_err_set(err, PF_ERR_ARG, "tensor '%s': element count overflows at "
                              "dimension %d (%" PRId64 ")", t->name, i, shape[i]);
        numel *= shape[i];
        t->shape[i] = shape[i];
    }
    t->ndim = ndim;
    t->numel = numel;
    t->dtype = dtype;
    return PF_OK;
}

pf_status tensor_alloc(struct tensor *t, struct arena *ar, struct backend *be,
                       enum tensor_dtype dtype, const char *name, int ndim,
                       const int64_t *shape, struct pf_err *err) {
    pf_status st = tensor_set_shape(t, dtype, name, ndim, shape, err);
    if (st != PF_OK)
        return st;
    void *p = arena_alloc(ar, tensor_nbytes(t), t->name, err);
    if (!p) {
        memset(t, 0, sizeof *t);
        return PF_ERR_NOMEM;
    }
    t->data = p;
    t->be = be;
    return PF_OK;
}

pf_status tensor_wrap(struct tensor *t, struct backend *be, void *data, enum tensor_dtype dtype,
                      const char *name, int ndim, const int64_t *shape, struct pf_err *err) {
    pf_status st = tensor_set_shape(t, dtype, name, ndim, shape, err);
    if (st != PF_OK)
        return st;
    if (!data && t->numel > 0) {
        memset(t, 0, sizeof *t);
        return pf_err_set(err, PF_ERR_ARG, "tensor '%s': NULL data for %" PRId64 " elements",
                          name ? name : "tensor", t->numel);
    }
    t->data = data;
    t->be = be;
    return PF_OK;
}

size_t tensor_nbytes(const struct tensor *t) {
    return (size_t)t->numel * tensor_dtype_size(t->dtype);
}

float *tensor_f32(const struct tensor *t) {
    PF_ASSERT(t && t->dtype == TENSOR_F32);
    return t->data;
}

int32_t *tensor_i32(const struct tensor *t) {
    PF_ASSERT(t && t->dtype == TENSOR_I32);
    return t->data;
}

int64_t tensor_cols(const struct tensor *t) {
    return t->ndim > 0 ? t->shape[t->ndim - 1] : 1;
}

int64_t tensor_rows(const struct tensor *t) {
    int64_t r = 1;
    for (int i = 0; i + 1 < t->ndim; i++)
        r *= t->shape[i];
    return r;
}

const char *tensor_describe(const struct tensor *t, char *buf, size_t bufsz) {
    if (!t) {
        snprintf(buf, bufsz, "(null)");
        return buf;
    }
    size_t n = (size_t)snprintf(buf, bufsz, "%s[", t->name);
    for (int i = 0; i < t->ndim && n < bufsz; i++)
        n += (size_t)snprintf(buf + n, bufsz - n, i ? ",%" PRId64 : "%" PRId64, t->shape[i]);
    if (n < bufsz)
        snprintf(buf + n, bufsz - n, "]");
    return buf;
}
