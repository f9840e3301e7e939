/* tensor.h - a shaped view of device memory. No autograd, no refcount, no strides.
 *
 * A tensor is a small value: dtype, up to four dimensions (row-major, contiguous), a data
 * pointer and the backend that owns the memory. Memory comes from an arena (one per run and
 * device, util/arena.h) and lives until that arena is freed; tensors never free anything.
 * tensor_wrap() describes memory the caller owns. */
#ifndef PF_TENSOR_H
#define PF_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/err.h"

#define TENSOR_MAX_DIMS 4

enum tensor_dtype {
    TENSOR_F32 = 0, /* activations, weights, gradients */
    TENSOR_I32 = 1  /* token ids, targets, positions, attention masks */
};

struct backend;

struct tensor {
    void *data;
    struct backend *be; /* device the data lives on; never NULL for allocated tensors */
    enum tensor_dtype dtype;
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    int64_t numel;
    char name[32];
};

/* Allocate a contiguous tensor of the given shape from `ar` on backend `be`. Dimensions must
 * be >= 0 and 1 <= ndim <= 4; the byte size must not overflow. On failure nothing is
 * allocated, *t is zeroed and err names the tensor, its shape and the rule broken.
 * The contents are not initialised. */
pf_status tensor_alloc(struct tensor *t, struct arena *ar, struct backend *be,
                       enum tensor_dtype dtype, const char *name, int ndim,
                       const int64_t *shape, struct pf_err *err);

/* Describe caller-owned memory (host or device of `be`) as a tensor. Does not take ownership.
 * Same shape rules as tensor_alloc. */
pf_status tensor_wrap(struct tensor *t, struct backend *be, void *data, enum tensor_dtype dtype,
                      const char *name, int ndim, const int64_t *shape, struct pf_err *err);

/* Byte size of one element of dtype. */
size_t tensor_dtype_size(enum tensor_dtype dtype);

/* Bytes of data (numel * element size). */
size_t tensor_nbytes(const struct tensor *t);

/* Typed access to the data pointer; assert the dtype. */
float *tensor_f32(const struct tensor *t);
int32_t *tensor_i32(const struct tensor *t);

/* Product of all dimensions but the last ("rows") and the last dimension ("cols").
 * A 1-D tensor has 1 row. */
int64_t tensor_rows(const struct tensor *t);
int64_t tensor_cols(const struct tensor *t);

/* "name[3,7,12]" into buf (the dtype is not shown: dtype errors name it); returns buf.
 * Used in error messages. */
const char *tensor_describe(const struct tensor *t, char *buf, size_t bufsz);

#endif
