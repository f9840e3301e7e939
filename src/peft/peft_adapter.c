/* peft_adapter.c - bottleneck adapters at a sub-layer output (peft.h):
 *   serial / parallel   y += g (gelu((z Wd^T + bd) . m) Wu^T + bu)
 *   lra                 y += g (gelu(((z D1^T) . m) D2^T + db) U1^T . m) U2^T + g ub
 * z is the sub-layer output before the module (serial, lra) or the sub-layer input
 * (parallel). GELU is the tanh form (gelu_new), as in the BIPEFT spec. */
#include "core/ops.h"
#include "peft/peft_internal.h"

static int serial_input(const struct peft_module *md) {
    return md->s.kind != CFG_KIND_PARALLEL_ADAPTER;
}

static pf_status bottleneck_forward(struct peft *p, struct peft_module *md,
                                    const struct tensor *z, struct tensor *y,
                                    struct pf_err *err) {
    struct tensor *a = md->a, *t = md->t;
    int r = md->s.r_max;
    pf_status st = op_matmul_forward(p->be, &a[AA_HPRE], z, &t[AT_DOWN], &t[AT_DOWN_B], 0, 1,
                                     err);
    if (st != PF_OK)
        return st;
    int64_t N = tensor_rows(&a[AA_HPRE]);
    pu_copy(tensor_f32(&a[AA_HM]), tensor_f32(&a[AA_HPRE]), N * r);
    pu_scale_cols(tensor_f32(&a[AA_HM]), N, r, md->mask, 1.0f);
    PF_STEP(st, op_gelu_forward(p->be, &a[AA_ACT], &a[AA_HM], GELU_TANH, err));
    if (st != PF_OK)
        return st;
    pu_copy(tensor_f32(&a[AA_GACT]), tensor_f32(&a[AA_ACT]), N * r);
    for (int64_t i = 0; i < N * r; i++)
        tensor_f32(&a[AA_GACT])[i] *= md->gate;
    PF_STEP(st, op_matmul_acc(p->be, y, &a[AA_GACT], &t[AT_UP], 1, err));
    if (st == PF_OK)
        pu_add_rows(tensor_f32(y), N, (int)tensor_cols(y), tensor_f32(&t[AT_UP_B]), md->gate);
    return st;
}

/* dz: where the input gradient goes (accumulated), or NULL. */
static pf_status bottleneck_backward(struct peft *p, struct peft_module *md,
                                     const struct tensor *z, const struct tensor *dy,
                                     struct tensor *dz, struct pf_err *err) {
    struct tensor *a = md->a, *t = md->t, *g = md->g;
    int r = md->s.r_max, C = (int)tensor_cols(dy);
    int64_t N = tensor_rows(dy);
    float gt = md->gate;
    /* S = dy Wu (no gate), dWu += dy^T (g act) */
    pf_status st = op_matmul_backward(p->be, &a[AA_S], &g[AT_UP], NULL, dy, &a[AA_GACT],
                                      &t[AT_UP], 0, 1, 0, err);
    if (st != PF_OK)
        return st;
    double cs[PEFT_MAX_RANK], *colsum = NULL;
    /* dbu += g colsum(dy); dg += <S, act> + <colsum(dy), bu> */
    colsum = pu_scratch(p, (size_t)C * sizeof *colsum, err);
    if (!colsum)
        return PF_ERR_NOMEM;
    pu_colsum(tensor_f32(dy), N, C, colsum);
    float *dbu = tensor_f32(&g[AT_UP_B]);
    const float *bu = tensor_f32(&t[AT_UP_B]);
    double dgate = pu_dot(tensor_f32(&a[AA_S]), tensor_f32(&a[AA_ACT]), N * r);
    for (int c = 0; c < C; c++) {
        dbu[c] += (float)(gt * colsum[c]);
        dgate += colsum[c] * bu[c];
    }
    md->dgate += dgate;
    /* d act = g S; d hm = gelu'(hm) d act */
    for (int64_t i = 0; i < N * r; i++)
        tensor_f32(&a[AA_S])[i] *= gt;
    PF_STEP(st, op_gelu_backward(p->be, &a[AA_GACT], &a[AA_S], &a[AA_HM], GELU_TANH, err));
    if (st != PF_OK)
        return st;
    /* the forward's g*act is no longer needed: GACT now holds d hm */
    for (int j = 0; j < r; j++)
        cs[j] = 0.0;
    pu_coldot(tensor_f32(&a[AA_GACT]), tensor_f32(&a[AA_HPRE]), N, r, cs);
    for (int j = 0; j < r; j++)
        md->dmask[j] += cs[j];
    pu_scale_cols(tensor_f32(&a[AA_GACT]), N, r, md->mask, 1.0f); /* d hpre */
    return op_matmul_backward(p->be, dz, &g[AT_DOWN], &g[AT_DOWN_B], &a[AA_GACT], z,
                              &t[AT_DOWN], 0, 1, 1, err);
}

static pf_status lra_forward(struct peft *p, struct peft_module *md, const struct tensor *z,
                             struct tensor *y, struct pf_err *err) {
    struct tensor *a = md->a, *t = md->t;
    int r = md->s.r_max;
    pf_status st = op_matmul_forward(p->be, &a[RA_T1], z, &t[RT_D1], NULL, 0, 1, err);
    if (st != PF_OK)
        return st;
    int64_t N = tensor_rows(&a[RA_T1]);
    pu_copy(tensor_f32(&a[RA_T1M]), tensor_f32(&a[RA_T1]), N * r);
    pu_scale_cols(tensor_f32(&a[RA_T1M]), N, r, md->mask, 1.0f);
    PF_STEP(st, op_matmul_forward(p->be, &a[RA_T2], &a[RA_T1M], &t[RT_D2], &t[RT_DB], 0, 1,
                                  err));
    PF_STEP(st, op_gelu_forward(p->be, &a[RA_A], &a[RA_T2], GELU_TANH, err));
    PF_STEP(st, op_matmul_forward(p->be, &a[RA_U1], &a[RA_A], &t[RT_U1], NULL, 0, 1, err));
    if (st != PF_OK)
        return st;
    pu_copy(tensor_f32(&a[RA_U1M]), tensor_f32(&a[RA_U1]), N * r);
    pu_scale_cols(tensor_f32(&a[RA_U1M]), N, r, md->mask, md->gate);
    PF_STEP(st, op_matmul_acc(p->be, y, &a[RA_U1M], &t[RT_U2], 1, err));
    if (st == PF_OK)
        pu_add_rows(tensor_f32(y), N, (int)tensor_cols(y), tensor_f32(&t[RT_UB]), md->gate);
    return st;
}

static pf_status lra_backward(struct peft *p, struct peft_module *md, const struct tensor *z,
                              const struct tensor *dy, struct tensor *dz, struct pf_err *err) {
    struct tensor *a = md->a, *t = md->t, *g = md->g;
    int r = md->s.r_max, C = (int)tensor_cols(dy);
    int64_t N = tensor_rows(dy);
    float gt = md->gate;
    /* S1 = dy U2 (no gate), dU2 += dy^T u1m */
    pf_status st = op_matmul_backward(p->be, &a[RA_S1], &g[RT_U2], NULL, dy, &a[RA_U1M],
                                      &t[RT_U2], 0, 1, 0, err);
    if (st != PF_OK)
        return st;
    double *colsum = pu_scratch(p, (size_t)C * sizeof *colsum, err);
    if (!colsum)
        return PF_ERR_NOMEM;
    pu_colsum(tensor_f32(dy), N, C, colsum);
    float *dub = tensor_f32(&g[RT_UB]);
    const float *ub = tensor_f32(&t[RT_UB]);
    double cs[PEFT_MAX_RANK] = {0}, dgate = 0.0;
    for (int c = 0; c < C; c++) {
        dub[c] += (float)(gt * colsum[c]);
        dgate += colsum[c] * ub[c];
    }
    pu_coldot(tensor_f32(&a[RA_S1]), tensor_f32(&a[RA_U1]), N, r, cs);
    for (int j = 0; j < r; j++) {
        dgate += md->mask[j] * cs[j];
        md->dmask[j] += gt * cs[j];
        cs[j] = 0.0;
    }
    md->dgate += dgate;
    pu_scale_cols(tensor_f32(&a[RA_S1]), N, r, md->mask, gt); /* d u1 */
    /* S2 = d u1 U1 (d a), dU1 += d u1^T a */
    PF_STEP(st, op_matmul_backward(p->be, &a[RA_S2], &g[RT_U1], NULL, &a[RA_S1], &a[RA_A],
                                   &t[RT_U1], 0, 1, 0, err));
    PF_STEP(st, op_gelu_backward(p->be, &a[RA_S3], &a[RA_S2], &a[RA_T2], GELU_TANH, err));
    /* S1 = d t2 D2 (d t1m), dD2 += d t2^T t1m, ddb += colsum d t2 */
    PF_STEP(st, op_matmul_backward(p->be, &a[RA_S1], &g[RT_D2], &g[RT_DB], &a[RA_S3],
                                   &a[RA_T1M], &t[RT_D2], 0, 1, 0, err));
    if (st != PF_OK)
        return st;
    pu_coldot(tensor_f32(&a[RA_S1]), tensor_f32(&a[RA_T1]), N, r, cs);
    for (int j = 0; j < r; j++)
        md->dmask[j] += cs[j];
    pu_scale_cols(tensor_f32(&a[RA_S1]), N, r, md->mask, 1.0f); /* d t1 */
    return op_matmul_backward(p->be, dz, &g[RT_D1], NULL, &a[RA_S1], z, &t[RT_D1], 0, 1, 1,
                              err);
}

pf_status peft_adapter_forward(struct peft *p, struct peft_module *md, const struct tensor *x,
                               struct tensor *y, struct pf_err *err) {
    const struct tensor *z = x;
    if (serial_input(md)) { /* the module reads the output it changes: keep a copy */
        struct tensor *zc = &md->a[md->s.kind == CFG_KIND_LRA ? RA_Z : AA_Z];
        pu_copy(tensor_f32(zc), tensor_f32(y), y->numel);
        z = zc;
    }
    return md->s.kind == CFG_KIND_LRA ? lra_forward(p, md, z, y, err)
                                      : bottleneck_forward(p, md, z, y, err);
}

/* Serial: y = z + f(z), so dz = dy + f'(z)^T dy is written into dy itself once f's
 * gradients are taken (the gradient paths below read dy before the last GEMM adds to it).
 * Parallel: dx += f'(x)^T dy and dy is unchanged. */
pf_status peft_adapter_backward(struct peft *p, struct peft_module *md,
                                const struct tensor *x, struct tensor *dy, struct tensor *dx,
                                struct pf_err *err) {
    int serial = serial_input(md);
    const struct tensor *z = serial ? &md->a[md->s.kind == CFG_KIND_LRA ? RA_Z : AA_Z] : x;
    struct tensor *dz = serial ? dy : dx;
    return md->s.kind == CFG_KIND_LRA ? lra_backward(p, md, z, dy, dz, err)
                                      : bottleneck_backward(p, md, z, dy, dz, err);
}
