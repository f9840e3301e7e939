/* ops_attention.c - checked entry points for softmax, multi-head attention and rotary
 * position embeddings (core/ops.h), plus the host-side computation of the RoPE tables.
 * Validates every argument (NULLs, dtypes, backend, shapes, head counts, int ranges, RoPE
 * positions), then dispatches to the backend. Apart from op_rope_tables it computes nothing;
 * it does not check attention mask values (any nonzero entry means "attend"). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "core/ops_check.h"

/* "[3,7,12]" for a shape of n dims. */
static const char *shape_str(const int64_t *dims, int n, char *buf, size_t bufsz) {
    size_t len = 0;
    len += (size_t)snprintf(buf, bufsz, "[");
    for (int i = 0; i < n && len < bufsz; i++)
        len += (size_t)snprintf(buf + len, bufsz - len, "%s%" PRId64, i ? "," : "", dims[i]);
    if (len < bufsz)
        snprintf(buf + len, bufsz - len, "]");
    return buf;
}

/* t has exactly the shape dims[0..n); otherwise "op: role t[..] does not match ref[..]
 * (expected [..] <why>)". */
static pf_status check_dims(const char *op, const char *role, const struct tensor *t,
                            const int64_t *dims, int n, const struct tensor *ref, const char *why,
                            struct pf_err *err) {
    int same = t->ndim == n;
    for (int i = 0; same && i < n; i++)
        same = t->shape[i] == dims[i];
    if (!same) {
        char d[96], r[96], e[96], p[48];
        return pf_err_set(err, PF_ERR_SHAPE, "%s: %s%s does not match %s (expected %s%s%s)", op,
                          ops_role_prefix(role, t, p, sizeof p), tensor_describe(t, d, sizeof d),
                          tensor_describe(ref, r, sizeof r), shape_str(dims, n, e, sizeof e),
                          why[0] ? " " : "", why);
    }
    return PF_OK;
}

/* t has the rows and cols of ref (any split of the leading dimensions). */
static pf_status check_rows_cols(const char *op, const char *role, const struct tensor *t,
                                 const struct tensor *ref, struct pf_err *err) {
    if (tensor_rows(t) != tensor_rows(ref) || tensor_cols(t) != tensor_cols(ref)) {
        char d[96], r[96], p[48];
        return pf_err_set(err, PF_ERR_SHAPE, "%s: %s%s does not match %s (%" PRId64 " rows x %"
                          PRId64 " cols)", op, ops_role_prefix(role, t, p, sizeof p),
                          tensor_describe(t, d, sizeof d),
                          tensor_describe(ref, r, sizeof r), tensor_rows(ref),
                          tensor_cols(ref));
    }
    return PF_OK;
}

/* ---- softmax ---- */

pf_status op_softmax_forward(struct backend *be, struct tensor *out, const struct tensor *inp,
                             struct pf_err *err) {
    const char *op = "softmax_forward";
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "out", out, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "inp", inp, be, TENSOR_F32, err));
    OPS_TRY(check_rows_cols(op, "out", out, inp, err));
    OPS_TRY(ops_check_int_dim(op, "rows N", tensor_rows(inp), err));
    OPS_TRY(ops_check_int_dim(op, "cols C", tensor_cols(inp), err));
    be->ops->softmax_forward(be, tensor_f32(out), tensor_f32(inp), (int)tensor_rows(inp),
                             (int)tensor_cols(inp));
    return PF_OK;
}

pf_status op_softmax_backward(struct backend *be, struct tensor *dinp, const struct tensor *dout,
                              const struct tensor *out, struct pf_err *err) {
    const char *op = "softmax_backward";
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_optional(op, "dinp", dinp, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "dout", dout, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "out", out, be, TENSOR_F32, err));
    OPS_TRY(check_rows_cols(op, "dout", dout, out, err));
    if (dinp)
        OPS_TRY(check_rows_cols(op, "dinp", dinp, out, err));
    OPS_TRY(ops_check_int_dim(op, "rows N", tensor_rows(out), err));
    OPS_TRY(ops_check_int_dim(op, "cols C", tensor_cols(out), err));
    if (!dinp)
        return PF_OK; /* nothing wanted */
    be->ops->softmax_backward(be, tensor_f32(dinp), tensor_f32(dout), tensor_f32(out),
                              (int)tensor_rows(out), (int)tensor_cols(out));
    return PF_OK;
}

/* ---- attention ---- */

struct attn_dims {
    int64_t B, T, C, H, KVH, D;
};

/* Dimensions from q (B,T,H*D) and the head counts; checks the head arithmetic and int
 * ranges. `tail` receives " for n_head=3, n_kv_head=1" for later messages. */
static pf_status attn_dims(const char *op, const struct tensor *q, int n_head, int n_kv_head,
                           struct attn_dims *a, char *tail, size_t tailsz, struct pf_err *err) {
    char d[96];
    if (q->ndim != 3)
        return pf_err_set(err, PF_ERR_SHAPE, "%s: q %s must be 3-D (B,T,n_head*D)", op,
                          tensor_describe(q, d, sizeof d));
    if (n_head < 1 || n_kv_head < 1)
        return pf_err_set(err, PF_ERR_ARG, "%s: n_head=%d and n_kv_head=%d must be >= 1", op,
                          n_head, n_kv_head);
    if (n_head % n_kv_head != 0)
        return pf_err_set(err, PF_ERR_ARG, "%s: n_head=%d is not a multiple of n_kv_head=%d",
                          op, n_head, n_kv_head);
    a->B = q->shape[0];
    a->T = q->shape[1];
    a->C = q->shape[2];
    a->H = n_head;
    a->KVH = n_kv_head;
    if (a->C % n_head != 0 || a->C == 0)
        return pf_err_set(err, PF_ERR_SHAPE, "%s: q %s: channels C=%" PRId64 " are not a "
                          "positive multiple of n_head=%d", op, tensor_describe(q, d, sizeof d),
                          a->C, n_head);
    a->D = a->C / n_head;
    OPS_TRY(ops_check_int_dim(op, "B", a->B, err));
    OPS_TRY(ops_check_int_dim(op, "T", a->T, err));
    OPS_TRY(ops_check_int_dim(op, "C", a->C, err));
    OPS_TRY(ops_check_int_dim(op, "B*n_head", a->B * a->H, err));
    snprintf(tail, tailsz, "for n_head=%d, n_kv_head=%d", n_head, n_kv_head);
    return PF_OK;
}

pf_status op_attention_forward(struct backend *be, struct tensor *out, struct tensor *att,
                               const struct tensor *q, const struct tensor *k,
                               const struct tensor *v, const struct tensor *key_mask,
                               int n_head, int n_kv_head, int causal, struct pf_err *err) {
    const char *op = "attention_forward";
    struct attn_dims a;
    char tail[64];
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, "out", out, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "att", att, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "q", q, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "k", k, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "v", v, be, TENSOR_F32, err));
    OPS_TRY(ops_check_optional(op, "key_mask", key_mask, be, TENSOR_I32, err));
    OPS_TRY(attn_dims(op, q, n_head, n_kv_head, &a, tail, sizeof tail, err));
    const int64_t skv[3] = {a.B, a.T, a.KVH * a.D}, satt[4] = {a.B, a.H, a.T, a.T};
    const int64_t smask[2] = {a.B, a.T};
    OPS_TRY(check_dims(op, "k", k, skv, 3, q, tail, err));
    OPS_TRY(check_dims(op, "v", v, skv, 3, q, tail, err));
    OPS_TRY(check_dims(op, "out", out, q->shape, 3, q, "", err));
    OPS_TRY(check_dims(op, "att", att, satt, 4, q, tail, err));
    if (key_mask)
        OPS_TRY(check_dims(op, "key_mask", key_mask, smask, 2, q, "= (B,T)", err));
    be->ops->attention_forward(be, tensor_f32(out), tensor_f32(att), tensor_f32(q),
                               tensor_f32(k), tensor_f32(v),
                               key_mask ? tensor_i32(key_mask) : NULL, (int)a.B, (int)a.T,
                               (int)a.H, (int)a.KVH, (int)a.D, causal != 0,
                               (float)(1.0 / sqrt((double)a.D)));
    return PF_OK;
}

pf_status op_attention_backward(struct backend *be, struct tensor *dq, struct tensor *dk,
                                struct tensor *dv, struct tensor *datt,
                                const struct tensor *dout, const struct tensor *q,
                                const struct tensor *k, const struct tensor *v,
                                const struct tensor *att, int n_head, int n_kv_head, int causal,
                                struct pf_err *err) {
    const char *op = "attention_backward";
    struct attn_dims a;
    char tail[64];
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_optional(op, "dq", dq, be, TENSOR_F32, err));
    OPS_TRY(ops_check_optional(op, "dk", dk, be, TENSOR_F32, err));
    OPS_TRY(ops_check_optional(op, "dv", dv, be, TENSOR_F32, err));
    if (dq || dk) /* the scratch is only used for dq and dk */
        OPS_TRY(ops_check_tensor(op, "datt", datt, be, TENSOR_F32, err));
    else
        OPS_TRY(ops_check_optional(op, "datt", datt, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "dout", dout, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "q", q, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "k", k, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "v", v, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "att", att, be, TENSOR_F32, err));
    OPS_TRY(attn_dims(op, q, n_head, n_kv_head, &a, tail, sizeof tail, err));
    const int64_t skv[3] = {a.B, a.T, a.KVH * a.D}, satt[4] = {a.B, a.H, a.T, a.T};
    OPS_TRY(check_dims(op, "k", k, skv, 3, q, tail, err));
    OPS_TRY(check_dims(op, "v", v, skv, 3, q, tail, err));
    OPS_TRY(check_dims(op, "att", att, satt, 4, q, tail, err));
    OPS_TRY(check_dims(op, "dout", dout, q->shape, 3, q, "", err));
    if (dq)
        OPS_TRY(check_dims(op, "dq", dq, q->shape, 3, q, "", err));
    if (dk)
        OPS_TRY(check_dims(op, "dk", dk, skv, 3, q, tail, err));
    if (dv)
        OPS_TRY(check_dims(op, "dv", dv, skv, 3, q, tail, err));
    if (datt)
        OPS_TRY(check_dims(op, "datt", datt, satt, 4, q, tail, err));
    if (!dq && !dk && !dv)
        return PF_OK; /* nothing wanted */
    be->ops->attention_backward(be, dq ? tensor_f32(dq) : NULL, dk ? tensor_f32(dk) : NULL,
                                dv ? tensor_f32(dv) : NULL, datt ? tensor_f32(datt) : NULL,
                                tensor_f32(dout), tensor_f32(q), tensor_f32(k), tensor_f32(v),
                                tensor_f32(att), (int)a.B, (int)a.T, (int)a.H, (int)a.KVH,
                                (int)a.D, causal != 0, (float)(1.0 / sqrt((double)a.D)));
    return PF_OK;
}

/* ---- rotary position embedding ---- */

/* cos and sin are 2-D f32 tables of one shape (P, D/2). */
static pf_status rope_check_tables(const char *op, struct backend *be, const struct tensor *cos,
                                   const struct tensor *sin, struct pf_err *err) {
    char d[96], p[48];
    OPS_TRY(ops_check_tensor(op, "cos", cos, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, "sin", sin, be, TENSOR_F32, err));
    if (cos->ndim != 2)
        return pf_err_set(err, PF_ERR_SHAPE, "%s: %s%s must be 2-D (P, D/2)", op,
                          ops_role_prefix("cos", cos, p, sizeof p),
                          tensor_describe(cos, d, sizeof d));
    OPS_TRY(ops_check_same_shape(op, "sin", sin, cos, err));
    OPS_TRY(ops_check_int_dim(op, "P", cos->shape[0], err));
    OPS_TRY(ops_check_int_dim(op, "D/2", cos->shape[1], err));
    return PF_OK;
}

pf_status op_rope_tables(struct backend *be, struct tensor *tcos, struct tensor *tsin, float theta,
                         struct pf_err *err) {
    const char *op = "rope_tables";
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(rope_check_tables(op, be, tcos, tsin, err));
    if (!(theta > 0.0f) || isinf(theta))
        return pf_err_set(err, PF_ERR_ARG, "%s: theta = %g must be positive and finite", op,
                          (double)theta);
    const int64_t P = tcos->shape[0], half = tcos->shape[1], D = 2 * half;
    if (P == 0 || half == 0)
        return PF_OK;
    size_t n = (size_t)P * (size_t)half;
    float *hc = malloc(n * sizeof(float)), *hs = malloc(n * sizeof(float));
    float *inv = malloc((size_t)half * sizeof(float));
    if (!hc || !hs || !inv) {
        free(hc);
        free(hs);
        free(inv);
        char d[96];
        return pf_err_set(err, PF_ERR_NOMEM, "%s: cannot allocate %zu bytes of host scratch for "
                          "%s", op, 2 * n * sizeof(float), tensor_describe(tcos, d, sizeof d));
    }
    /* inv_freq[i] = 1 / theta^(2i/D), rounded to fp32 as HF stores it */
    for (int64_t i = 0; i < half; i++)
        inv[i] = (float)(1.0 / pow((double)theta, (double)(2 * i) / (double)D));
    for (int64_t p = 0; p < P; p++) {
        float *cr = hc + (size_t)p * half, *sr = hs + (size_t)p * half;
        for (int64_t i = 0; i < half; i++) {
            float ang = (float)p * inv[i]; /* fp32 product, as HF's fp32 matmul */
            cr[i] = (float)cos((double)ang);
            sr[i] = (float)sin((double)ang);
        }
    }
    be->upload(be, tcos->data, hc, n * sizeof(float));
    be->upload(be, tsin->data, hs, n * sizeof(float));
    free(hc);
    free(hs);
    free(inv);
    return PF_OK;
}

/* Checks shared by rope forward and backward: x/y (rows N, cols H*D) of one shape, D even and
 * equal to 2 * cols(cos), pos i32 with N entries each in [0, P) (read on the host). */
static pf_status rope_check(const char *op, struct backend *be, const char *yrole,
                            const struct tensor *y, const char *xrole, const struct tensor *x,
                            const struct tensor *cos, const struct tensor *sin,
                            const struct tensor *pos, int n_head, int *N, int *D,
                            struct pf_err *err) {
    char d[96], r[96], px[48], pc[48], pp[48];
    OPS_TRY(ops_check_backend(op, be, err));
    OPS_TRY(ops_check_tensor(op, yrole, y, be, TENSOR_F32, err));
    OPS_TRY(ops_check_tensor(op, xrole, x, be, TENSOR_F32, err));
    OPS_TRY(rope_check_tables(op, be, cos, sin, err));
    OPS_TRY(ops_check_tensor(op, "pos", pos, be, TENSOR_I32, err));
    OPS_TRY(ops_check_same_shape(op, yrole, y, x, err));
    if (n_head < 1)
        return pf_err_set(err, PF_ERR_ARG, "%s: n_head=%d must be >= 1", op, n_head);
    const int64_t rows = tensor_rows(x), cols = tensor_cols(x);
    if (cols % n_head != 0)
        return pf_err_set(err, PF_ERR_SHAPE, "%s: %s%s: channels %" PRId64 " are not a "
                          "multiple of n_head=%d", op, ops_role_prefix(xrole, x, px, sizeof px),
                          tensor_describe(x, d, sizeof d), cols, n_head);
    const int64_t hd = cols / n_head;
    if (hd % 2 != 0)
        return pf_err_set(err, PF_ERR_SHAPE, "%s: %s%s with n_head=%d has odd head size D=%"
                          PRId64, op, ops_role_prefix(xrole, x, px, sizeof px),
                          tensor_describe(x, d, sizeof d), n_head, hd);
    if (hd != 2 * cos->shape[1])
        return pf_err_set(err, PF_ERR_SHAPE, "%s: %s%s has D/2=%" PRId64 " columns, but %s%s "
                          "with n_head=%d has head size D=%" PRId64, op,
                          ops_role_prefix("cos", cos, pc, sizeof pc),
                          tensor_describe(cos, r, sizeof r), cos->shape[1],
                          ops_role_prefix(xrole, x, px, sizeof px), tensor_describe(x, d, sizeof d),
                          n_head, hd);
    OPS_TRY(ops_check_numel(op, "pos", pos, rows, x, err));
    OPS_TRY(ops_check_int_dim(op, "rows N", rows, err));
    OPS_TRY(ops_check_int_dim(op, "cols", cols, err));
    /* positions must index the tables: read them on the host */
    const int64_t P = cos->shape[0];
    int64_t bad;
    int32_t val;
    OPS_TRY(ops_find_out_of_range(op, be, pos, P, 0, 0, &bad, &val, err));
    if (bad >= 0)
        return pf_err_set(err, PF_ERR_ARG, "%s: %s%s has value %" PRId32 " at index %" PRId64
                          ", outside [0, %" PRId64 ") of %s%s", op,
                          ops_role_prefix("pos", pos, pp, sizeof pp),
                          tensor_describe(pos, d, sizeof d), val, bad, P,
                          ops_role_prefix("cos", cos, pc, sizeof pc),
                          tensor_describe(cos, r, sizeof r));
    *N = (int)rows;
    *D = (int)hd;
    return PF_OK;
}

pf_status op_rope_forward(struct backend *be, struct tensor *out, const struct tensor *inp,
                          const struct tensor *cos, const struct tensor *sin,
                          const struct tensor *pos, int n_head, struct pf_err *err) {
    int N, D;
    OPS_TRY(rope_check("rope_forward", be, "out", out, "inp", inp, cos, sin, pos, n_head, &N,
                       &D, err));
    be->ops->rope_forward(be, tensor_f32(out), tensor_f32(inp), tensor_f32(cos),
                          tensor_f32(sin), tensor_i32(pos), N, n_head, D);
    return PF_OK;
}

pf_status op_rope_backward(struct backend *be, struct tensor *dinp, const struct tensor *dout,
                           const struct tensor *cos, const struct tensor *sin,
                           const struct tensor *pos, int n_head, struct pf_err *err) {
    int N, D;
    if (!dinp) { /* nothing wanted, but still check the rest */
        OPS_TRY(rope_check("rope_backward", be, "dout", dout, "dout", dout, cos, sin, pos,
                           n_head, &N, &D, err));
        return PF_OK;
    }
    OPS_TRY(rope_check("rope_backward", be, "dinp", dinp, "dout", dout, cos, sin, pos, n_head,
                       &N, &D, err));
    be->ops->rope_backward(be, tensor_f32(dinp), tensor_f32(dout), tensor_f32(cos),
                           tensor_f32(sin), tensor_i32(pos), N, n_head, D);
    return PF_OK;
}
