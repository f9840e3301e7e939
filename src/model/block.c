/* block.c - forward and backward of one post-LN encoder layer through core/ops.h.
 * Does not load checkpoints, apply dropout or know about heads; see block.h. */
#include "model/block.h"

#include <stdio.h>
#include <string.h>

#include "core/ops.h"
#include "util/rng.h"

static const char *param_names[BP_COUNT] = {
    [BP_WQ] = "attention.self.query.weight",     [BP_BQ] = "attention.self.query.bias",
    [BP_WK] = "attention.self.key.weight",       [BP_BK] = "attention.self.key.bias",
    [BP_WV] = "attention.self.value.weight",     [BP_BV] = "attention.self.value.bias",
    [BP_WO] = "attention.output.dense.weight",   [BP_BO] = "attention.output.dense.bias",
    [BP_LN1_W] = "attention.output.LayerNorm.weight",
    [BP_LN1_B] = "attention.output.LayerNorm.bias",
    [BP_W1] = "intermediate.dense.weight",       [BP_B1] = "intermediate.dense.bias",
    [BP_W2] = "output.dense.weight",             [BP_B2] = "output.dense.bias",
    [BP_LN2_W] = "output.LayerNorm.weight",      [BP_LN2_B] = "output.LayerNorm.bias",
};

const char *block_param_name(enum block_param i) {
    return (unsigned)i < BP_COUNT ? param_names[i] : "?";
}

/* ---- size tables ---- */

static void param_shape(const struct block_dims *d, int i, int *ndim, int64_t s[2]) {
    int64_t C = d->C, F = d->F, KV = (int64_t)d->C / d->H * d->KVH;
    static const int is_matrix[BP_COUNT] = {[BP_WQ] = 1, [BP_WK] = 1, [BP_WV] = 1, [BP_WO] = 1,
                                            [BP_W1] = 1, [BP_W2] = 1};
    int64_t rows, cols = C;
    switch (i) {
    case BP_WK: case BP_WV: case BP_BK: case BP_BV: rows = KV; break;
    case BP_W1: case BP_B1: rows = F; break;
    case BP_W2: rows = C; cols = F; break;
    default: rows = C; break;
    }
    *ndim = is_matrix[i] ? 2 : 1;
    s[0] = rows;
    s[1] = cols;
}

static void act_shape(const struct block_dims *d, int i, int *ndim, int64_t s[4]) {
    int64_t B = d->B, T = d->T, C = d->C, KV = (int64_t)d->C / d->H * d->KVH;
    *ndim = 3;
    s[0] = B;
    s[1] = T;
    switch (i) {
    case BA_K: case BA_V: s[2] = KV; break;
    case BA_F1: case BA_G: s[2] = d->F; break;
    case BA_ATT: *ndim = 4; s[1] = d->H; s[2] = T; s[3] = T; break;
    case BA_LN1_MEAN: case BA_LN1_RSTD: case BA_LN2_MEAN: case BA_LN2_RSTD: *ndim = 2; break;
    default: s[2] = C; break;
    }
}

static void scratch_shape(const struct block_dims *d, int i, int *ndim, int64_t s[4]) {
    static const int like[BS_COUNT] = {
        [BS_DRES2] = BA_RES2, [BS_DG] = BA_G, [BS_DF1] = BA_F1, [BS_DH1] = BA_H1,
        [BS_DRES1] = BA_RES1, [BS_DATTN] = BA_ATTN, [BS_DQ] = BA_Q, [BS_DK] = BA_K,
        [BS_DV] = BA_V, [BS_DATT] = BA_ATT};
    act_shape(d, like[i], ndim, s);
}

static pf_status check_dims(const struct block_dims *d, struct pf_err *err) {
    if (d->B < 1 || d->T < 1 || d->C < 1 || d->H < 1 || d->KVH < 1 || d->F < 1)
        return pf_err_set(err, PF_ERR_ARG, "block: dimensions must be positive (B=%d T=%d C=%d "
                          "H=%d KVH=%d F=%d)", d->B, d->T, d->C, d->H, d->KVH, d->F);
    if (d->C % d->H != 0)
        return pf_err_set(err, PF_ERR_ARG, "block: hidden size %d is not a multiple of %d heads",
                          d->C, d->H);
    if (d->H % d->KVH != 0)
        return pf_err_set(err, PF_ERR_ARG, "block: %d heads is not a multiple of %d kv heads",
                          d->H, d->KVH);
    if (!(d->ln_eps > 0.0f))
        return pf_err_set(err, PF_ERR_ARG, "block: ln_eps must be > 0");
    return PF_OK;
}

pf_status block_init(struct block *blk, struct arena *ar, struct backend *be,
                     const struct block_dims *d, struct pf_err *err) {
    memset(blk, 0, sizeof *blk);
    pf_status st = check_dims(d, err);
    if (st != PF_OK)
        return st;
    blk->d = *d;
    blk->be = be;
    int nd;
    int64_t s[4];
    char name[32];
    for (int i = 0; i < BP_COUNT; i++) {
        param_shape(d, i, &nd, s);
        st = tensor_alloc(&blk->p[i], ar, be, TENSOR_F32, param_names[i], nd, s, err);
        if (st == PF_OK) {
            snprintf(name, sizeof name, "d%d", i);
            st = tensor_alloc(&blk->g[i], ar, be, TENSOR_F32, name, nd, s, err);
        }
        if (st != PF_OK)
            return st;
        blk->trainable[i] = 1;
    }
    for (int i = 0; i < BA_COUNT && st == PF_OK; i++) {
        act_shape(d, i, &nd, s);
        snprintf(name, sizeof name, "act%d", i);
        st = tensor_alloc(&blk->a[i], ar, be, TENSOR_F32, name, nd, s, err);
    }
    for (int i = 0; i < BS_COUNT && st == PF_OK; i++) {
        scratch_shape(d, i, &nd, s);
        snprintf(name, sizeof name, "grad%d", i);
        st = tensor_alloc(&blk->s[i], ar, be, TENSOR_F32, name, nd, s, err);
    }
    return st == PF_OK ? block_zero_grad(blk, err) : st;
}

void block_init_params(struct block *blk, uint64_t seed) {
    for (int i = 0; i < BP_COUNT; i++) {
        struct tensor *t = &blk->p[i];
        float *host = tensor_f32(t); /* CPU memory today; a device backend uploads instead */
        int is_gain = i == BP_LN1_W || i == BP_LN2_W;
        for (int64_t j = 0; j < t->numel; j++) {
            if (t->ndim == 2)
                host[j] = 0.02f * rng_normal_at(seed + (uint64_t)i * 0x9E3779B97F4A7C15ULL,
                                                (uint64_t)j);
            else
                host[j] = is_gain ? 1.0f : 0.0f;
        }
    }
}

pf_status block_zero_grad(struct block *blk, struct pf_err *err) {
    for (int i = 0; i < BP_COUNT; i++) {
        pf_status st = op_zero(blk->be, &blk->g[i], err);
        if (st != PF_OK)
            return st;
    }
    return PF_OK;
}

/* ---- forward ---- */

pf_status block_forward(struct block *blk, const struct tensor *x, const struct tensor *mask,
                        struct pf_err *err) {
    struct backend *be = blk->be;
    struct tensor *p = blk->p, *a = blk->a;
    const struct block_dims *d = &blk->d;
    pf_status st = PF_OK;
    blk->x = x;
    blk->mask = mask;
    PF_STEP(st, op_matmul_forward(be, &a[BA_Q], x, &p[BP_WQ], &p[BP_BQ], 0, 1, err));
    PF_STEP(st, op_matmul_forward(be, &a[BA_K], x, &p[BP_WK], &p[BP_BK], 0, 1, err));
    PF_STEP(st, op_matmul_forward(be, &a[BA_V], x, &p[BP_WV], &p[BP_BV], 0, 1, err));
    PF_STEP(st, op_attention_forward(be, &a[BA_ATTN], &a[BA_ATT], &a[BA_Q], &a[BA_K],
                                     &a[BA_V], mask, d->H, d->KVH, 0, err));
    PF_STEP(st, op_matmul_forward(be, &a[BA_O], &a[BA_ATTN], &p[BP_WO], &p[BP_BO], 0, 1, err));
    PF_STEP(st, op_residual_forward(be, &a[BA_RES1], x, &a[BA_O], err));
    PF_STEP(st, op_layernorm_forward(be, &a[BA_H1], &a[BA_LN1_MEAN], &a[BA_LN1_RSTD], &a[BA_RES1],
                                      &p[BP_LN1_W], &p[BP_LN1_B], d->ln_eps, err));
    PF_STEP(st, op_matmul_forward(be, &a[BA_F1], &a[BA_H1], &p[BP_W1], &p[BP_B1], 0, 1, err));
    PF_STEP(st, op_gelu_forward(be, &a[BA_G], &a[BA_F1], d->act, err));
    PF_STEP(st, op_matmul_forward(be, &a[BA_F2], &a[BA_G], &p[BP_W2], &p[BP_B2], 0, 1, err));
    PF_STEP(st, op_residual_forward(be, &a[BA_RES2], &a[BA_H1], &a[BA_F2], err));
    PF_STEP(st, op_layernorm_forward(be, &a[BA_Y], &a[BA_LN2_MEAN], &a[BA_LN2_RSTD], &a[BA_RES2],
                                      &p[BP_LN2_W], &p[BP_LN2_B], d->ln_eps, err));
    return st;
}

/* ---- backward ---- */

/* Gradient tensor of parameter i, or NULL when frozen (no weight-gradient work). */
static struct tensor *grad_of(struct block *blk, int i) {
    return blk->trainable[i] ? &blk->g[i] : NULL;
}

pf_status block_backward(struct block *blk, const struct tensor *dy, struct tensor *dx,
                         struct pf_err *err) {
    struct backend *be = blk->be;
    struct tensor *p = blk->p, *a = blk->a, *s = blk->s;
    const struct tensor *x = blk->x;
    const struct block_dims *d = &blk->d;
    pf_status st = PF_OK;
    if (!x)
        return pf_err_set(err, PF_ERR_ARG, "block_backward: no forward pass to differentiate");
    /* y = LN2(res2), res2 = h1 + f2, f2 = g W2^T + b2 */
    PF_STEP(st, op_layernorm_backward(be, &s[BS_DRES2], grad_of(blk, BP_LN2_W),
                                      grad_of(blk, BP_LN2_B), dy, &a[BA_RES2], &p[BP_LN2_W],
                                      &a[BA_LN2_MEAN], &a[BA_LN2_RSTD], err));
    PF_STEP(st, op_matmul_backward(be, &s[BS_DG], grad_of(blk, BP_W2), grad_of(blk, BP_B2),
                                   &s[BS_DRES2], &a[BA_G], &p[BP_W2], 0, 1, 0, err));
    PF_STEP(st, op_gelu_backward(be, &s[BS_DF1], &s[BS_DG], &a[BA_F1], d->act, err));
    PF_STEP(st, op_matmul_backward(be, &s[BS_DH1], grad_of(blk, BP_W1), grad_of(blk, BP_B1),
                                   &s[BS_DF1], &a[BA_H1], &p[BP_W1], 0, 1, 0, err));
    PF_STEP(st, op_residual_backward(be, &s[BS_DH1], NULL, &s[BS_DRES2], err));
    /* h1 = LN1(res1), res1 = x + attn Wo^T + bo */
    PF_STEP(st, op_layernorm_backward(be, &s[BS_DRES1], grad_of(blk, BP_LN1_W),
                                      grad_of(blk, BP_LN1_B), &s[BS_DH1], &a[BA_RES1],
                                      &p[BP_LN1_W], &a[BA_LN1_MEAN], &a[BA_LN1_RSTD], err));
    PF_STEP(st, op_matmul_backward(be, &s[BS_DATTN], grad_of(blk, BP_WO), grad_of(blk, BP_BO),
                                   &s[BS_DRES1], &a[BA_ATTN], &p[BP_WO], 0, 1, 0, err));
    PF_STEP(st, op_attention_backward(be, &s[BS_DQ], &s[BS_DK], &s[BS_DV], &s[BS_DATT],
                                      &s[BS_DATTN], &a[BA_Q], &a[BA_K], &a[BA_V], &a[BA_ATT],
                                      d->H, d->KVH, 0, err));
    /* q, k, v projections all read x: the first writes dx, the others add to it */
    PF_STEP(st, op_matmul_backward(be, dx, grad_of(blk, BP_WQ), grad_of(blk, BP_BQ), &s[BS_DQ], x,
                                    &p[BP_WQ], 0, 1, 0, err));
    PF_STEP(st, op_matmul_backward(be, dx, grad_of(blk, BP_WK), grad_of(blk, BP_BK), &s[BS_DK], x,
                                    &p[BP_WK], 0, 1, 1, err));
    PF_STEP(st, op_matmul_backward(be, dx, grad_of(blk, BP_WV), grad_of(blk, BP_BV), &s[BS_DV], x,
                                    &p[BP_WV], 0, 1, 1, err));
    if (dx)
        PF_STEP(st, op_residual_backward(be, dx, NULL, &s[BS_DRES1], err));
    return st;
}
