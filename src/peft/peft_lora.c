/* peft_lora.c - LoRA at a linear's output: y += g s ((drop(x) A^T) . m) B^T (peft.h).
 * The rank mask multiplies the r-dimensional intermediate once; its gradient, and the gate's,
 * are the exact derivatives of that forward. */
#include "core/ops.h"
#include "peft/peft_internal.h"

static float lora_scale(const struct peft_module *md) {
    return md->s.alpha > 0.0f ? md->s.alpha / (float)md->s.rank : 1.0f;
}

static uint64_t drop_seed(const struct peft *p, const struct peft_module *md) {
    return p->seed ^ (0xD1B54A32D192ED03ULL * (uint64_t)(md->index + 1));
}

pf_status peft_lora_forward(struct peft *p, struct peft_module *md, const struct tensor *x,
                            struct tensor *y, struct pf_err *err) {
    struct tensor *a = md->a;
    const struct tensor *xin = x;
    pf_status st = PF_OK;
    if (p->training && md->s.dropout > 0.0f) {
        md->drop_offset = p->step * (uint64_t)x->numel;
        PF_STEP(st, op_dropout_forward(p->be, &a[LA_XD], x, md->s.dropout, drop_seed(p, md),
                                       md->drop_offset, err));
        xin = &a[LA_XD];
    } else if (md->s.dropout > 0.0f) {
        PF_STEP(st, op_dropout_forward(p->be, &a[LA_XD], x, 0.0f, 0, 0, err)); /* a copy */
        xin = &a[LA_XD];
    }
    PF_STEP(st, op_matmul_forward(p->be, &a[LA_U], xin, &md->t[LT_A], NULL, 0, 1, err));
    if (st != PF_OK)
        return st;
    int64_t N = tensor_rows(&a[LA_U]);
    int r = md->s.r_max;
    pu_copy(tensor_f32(&a[LA_VS]), tensor_f32(&a[LA_U]), N * r);
    pu_scale_cols(tensor_f32(&a[LA_VS]), N, r, md->mask, md->gate * lora_scale(md));
    return op_matmul_acc(p->be, y, &a[LA_VS], &md->t[LT_B], 1, err);
}

pf_status peft_lora_backward(struct peft *p, struct peft_module *md, const struct tensor *x,
                             struct tensor *dy, struct tensor *dx, struct pf_err *err) {
    struct tensor *a = md->a;
    const struct tensor *xin = md->s.dropout > 0.0f ? &a[LA_XD] : x;
    float s = lora_scale(md), g = md->gate;
    int r = md->s.r_max;
    pf_status st = PF_OK;
    /* DV = dy B, dB += dy^T vs */
    PF_STEP(st, op_matmul_backward(p->be, &a[LA_DV], &md->g[LT_B], NULL, dy, &a[LA_VS],
                                   &md->t[LT_B], 0, 1, 0, err));
    if (st != PF_OK)
        return st;
    int64_t N = tensor_rows(&a[LA_DV]);
    double c[PEFT_MAX_RANK] = {0};
    pu_coldot(tensor_f32(&a[LA_DV]), tensor_f32(&a[LA_U]), N, r, c);
    for (int j = 0; j < r; j++) {
        md->dgate += (double)s * md->mask[j] * c[j];
        md->dmask[j] += (double)g * s * c[j];
    }
    pu_scale_cols(tensor_f32(&a[LA_DV]), N, r, md->mask, g * s); /* du */
    int drop = md->s.dropout > 0.0f;
    struct tensor *da = dx ? (drop ? &a[LA_DXD] : dx) : NULL;
    PF_STEP(st, op_matmul_backward(p->be, da, &md->g[LT_A], NULL, &a[LA_DV], xin, &md->t[LT_A],
                                   0, 1, drop ? 0 : 1, err));
    if (dx && drop) {
        float pr = p->training ? md->s.dropout : 0.0f;
        PF_STEP(st, op_dropout_backward(p->be, &a[LA_DXD], &a[LA_DXD], pr, drop_seed(p, md),
                                        md->drop_offset, err));
        PF_STEP(st, op_residual_backward(p->be, dx, NULL, &a[LA_DXD], err));
    }
    return st;
}
