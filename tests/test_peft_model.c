/* test_peft_model.c - PEFT modules wired into whole models through the layers' hook points:
 * for GPT-2, LLaMA and BERT shapes with two layers and modules of every kind at once (some
 * sharing a point, so that their composition order matters):
 *   - with every gate at 0 the hidden states equal the bare model's, bit for bit;
 *   - each module's parameter gradient, along a random direction, and its gate gradient match
 *     central differences of the fp32 model (the per-kind maths is checked in fp64 by
 *     test_peft.c; this checks that the backward of the hooked layers routes the right
 *     gradients to the right modules, including through later layers and the residuals). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <string.h>

#include "check.h"
#include "model/model.h"
#include "peft/peft.h"

enum { B = 2, T = 4 };

static const struct peft_spec specs[] = {
    {CFG_KIND_LORA, CFG_T_Q, 0, 3, 2, 4.0f, 0, 0},
    {CFG_KIND_LORA, CFG_T_V, 1, 3, 3, 0, 0, 0},
    {CFG_KIND_IA3, CFG_T_V, 1, 0, 0, 0, 0, 0},
    {CFG_KIND_BITFIT, CFG_T_V, 1, 0, 0, 0, 0, 0},
    {CFG_KIND_LORA, CFG_T_FFN_DOWN, 0, 2, 2, 0, 0, 0},
    {CFG_KIND_LRA, CFG_T_ATTN, 0, 3, 3, 0, 0, 4},
    {CFG_KIND_SERIAL_ADAPTER, CFG_T_FFN, 1, 3, 3, 0, 0, 0},
    {CFG_KIND_LRA, CFG_T_FFN, 1, 2, 2, 0, 0, 4},
    {CFG_KIND_PARALLEL_ADAPTER, CFG_T_ATTN, 1, 2, 2, 0, 0, 0},
    {CFG_KIND_BITFIT, CFG_T_O, 0, 0, 0, 0, 0, 0},
    {CFG_KIND_BITFIT, CFG_T_FFN_LN, 1, 0, 0, 0, 0, 0},
    {CFG_KIND_LN, CFG_T_ATTN_LN, 0, 0, 0, 0, 0, 0},
    {CFG_KIND_LN, CFG_T_FFN_LN, 1, 0, 0, 0, 0, 0},
    {CFG_KIND_IA3, CFG_T_FFN_UP, 0, 0, 0, 0, 0, 0},
    {CFG_KIND_PREFIX, CFG_T_ATTN, 0, 3, 2, 0, 0, 4},
    {CFG_KIND_LN, CFG_T_FINAL_LN, -1, 0, 0, 0, 0, 0},
    {CFG_KIND_BITFIT, CFG_T_FINAL_LN, -1, 0, 0, 0, 0, 0},
};
enum { NSPEC = sizeof specs / sizeof specs[0] };

struct fam_case {
    char name[24];
    enum model_family fam;
};
static const struct fam_case fams[] = {{"bert", FAM_BERT}, {"gpt2", FAM_GPT2},
                                       {"llama", FAM_LLAMA}};

struct world {
    struct model m;
    struct peft p;
    int32_t ids[B * T], mask[B * T];
    float w[B * T * 8];
};

static void setup(struct world *wd, enum model_family fam) {
    struct pf_err err = {0};
    check_tiny_model(&wd->m, fam, 2);
    /* weights larger than HF's N(0, 0.02) so that attention is far from uniform and every
     * path carries a gradient worth measuring */
    for (int l = 0; l < wd->m.n_layers; l++)
        for (int i = 0; i < BP_COUNT; i++) {
            struct tensor *t = &wd->m.layers[l].p[i];
            if (t->data && t->ndim == 2)
                check_fill(tensor_f32(t), (size_t)t->numel, 300 + 20 * (uint64_t)l + i, -0.5f,
                           0.5f);
        }
    cr_assert_eq(peft_init(&wd->p, &wd->m, 3, &err), PF_OK, "%s", err.msg);
    for (int i = 0; i < NSPEC; i++)
        cr_assert_eq(peft_add(&wd->p, &specs[i], 40 + (uint64_t)i, NULL, &err), PF_OK,
                     "spec %d: %s", i, err.msg);
    for (int i = 0; i < wd->p.n; i++) {
        struct peft_module *md = &wd->p.mod[i];
        for (int j = 0; j < md->n_t; j++)
            check_fill(tensor_f32(&md->t[j]), (size_t)md->t[j].numel, 900 + 10 * (uint64_t)i + j,
                       -0.4f, 0.4f);
        md->gate = 0.8f;
    }
    for (int i = 0; i < B * T; i++) {
        wd->ids[i] = 1 + (i * 7) % 19;
        wd->mask[i] = !(i == B * T - 1); /* the last token of row 1 is padding */
    }
    check_fill(wd->w, B * T * 8, 77, -1.0f, 1.0f);
}

static double loss(struct world *wd) {
    struct pf_err err = {0};
    struct model_batch b = {.B = B, .T = T, .ids = wd->ids, .mask = wd->mask};
    cr_assert_eq(model_forward(&wd->m, &b, &err), PF_OK, "%s", err.msg);
    const float *h = tensor_f32(model_hidden(&wd->m));
    double s = 0;
    for (int i = 0; i < B * T * 8; i++)
        s += (double)wd->w[i] * h[i];
    return s;
}

/* Central difference of the loss along v over md's parameters, Richardson-combined by the
 * caller: (4 D(h/2) - D(h)) / 3 cancels the h^2 term, leaving fp32 rounding (~1e-4). */
static double central(struct world *wd, struct peft_module *md, const float *v, double h) {
    double l[2];
    for (int k = 0; k < 2; k++) {
        float sg = k ? -(float)h : (float)h;
        int64_t off = 0;
        for (int j = 0; j < md->n_t; j++) {
            for (int64_t i = 0; i < md->t[j].numel; i++)
                tensor_f32(&md->t[j])[i] += sg * v[off + i];
            off += md->t[j].numel;
        }
        l[k] = loss(wd);
        off = 0;
        for (int j = 0; j < md->n_t; j++) {
            for (int64_t i = 0; i < md->t[j].numel; i++)
                tensor_f32(&md->t[j])[i] -= sg * v[off + i];
            off += md->t[j].numel;
        }
    }
    return (l[0] - l[1]) / (2 * h);
}

ParameterizedTestParameters(peft_model, gates_off_is_identity) {
    return cr_make_param_array(struct fam_case, fams, 3);
}

ParameterizedTest(const struct fam_case *fc, peft_model, gates_off_is_identity) {
    static struct world wd;
    struct pf_err err = {0};
    setup(&wd, fc->fam);
    struct model_batch b = {.B = B, .T = T, .ids = wd.ids, .mask = wd.mask};
    for (int i = 0; i < wd.p.n; i++)
        wd.p.mod[i].gate = 0.0f;
    cr_assert_eq(model_forward(&wd.m, &b, &err), PF_OK, "%s", err.msg);
    float with[B * T * 8];
    memcpy(with, tensor_f32(model_hidden(&wd.m)), sizeof with);
    peft_free(&wd.p);
    cr_assert_eq(model_forward(&wd.m, &b, &err), PF_OK, "%s", err.msg);
    cr_assert(!memcmp(with, tensor_f32(model_hidden(&wd.m)), sizeof with),
              "%s: gates at 0 changed the hidden states", fc->name);
    model_free(&wd.m);
}

ParameterizedTestParameters(peft_model, gradients_reach_every_module) {
    return cr_make_param_array(struct fam_case, fams, 3);
}

ParameterizedTest(const struct fam_case *fc, peft_model, gradients_reach_every_module) {
    static struct world wd;
    const char *fname = fc->name;
    struct pf_err err = {0};
    setup(&wd, fc->fam);
    cr_assert_eq(peft_zero_grad(&wd.p, &err), PF_OK);
    loss(&wd);
    int64_t shp[3] = {B, T, 8};
    struct tensor dh = check_tensor(wd.m.be, wd.w, TENSOR_F32, "dh", 3, shp);
    cr_assert_eq(model_backward(&wd.m, &dh, NULL, &err), PF_OK, "%s", err.msg);
    for (int i = 0; i < wd.p.n; i++) {
        struct peft_module *md = &wd.p.mod[i];
        char name[64];
        peft_module_name(md, name, sizeof name);
        /* directional derivative along v over all of the module's parameters */
        double analytic = 0, eps = 2e-2;
        static float v[4096];
        int64_t off = 0;
        for (int j = 0; j < md->n_t; j++) {
            check_fill(v + off, (size_t)md->t[j].numel, 5000 + 31 * (uint64_t)i + j, -1, 1);
            for (int64_t k = 0; k < md->t[j].numel; k++)
                analytic += (double)v[off + k] * tensor_f32(&md->g[j])[k];
            off += md->t[j].numel;
        }
        double lp, lm, numeric = (4 * central(&wd, md, v, eps / 2) - central(&wd, md, v, eps)) / 3;

        cr_expect(fabs(analytic - numeric) <= 5e-4 + 5e-4 * fabs(numeric),
                  "%s %s: parameter gradient %.6g, finite differences %.6g", fname, name,
                  analytic, numeric);
        cr_expect(fabs(analytic) > 1e-4, "%s %s: no gradient reached the module", fname,
                  name);
        float g0 = md->gate;
        double d[2];
        for (int k = 0; k < 2; k++) {
            double h = k ? eps / 2 : eps;
            md->gate = g0 + (float)h;
            lp = loss(&wd);
            md->gate = g0 - (float)h;
            lm = loss(&wd);
            d[k] = (lp - lm) / (2 * h);
        }
        md->gate = g0;
        numeric = (4 * d[1] - d[0]) / 3;
        cr_expect(fabs(md->dgate - numeric) <= 5e-4 + 5e-4 * fabs(numeric),
                  "%s %s: gate gradient %.6g, finite differences %.6g", fname, name,
                  md->dgate, numeric);
    }
    peft_free(&wd.p);
    model_free(&wd.m);
}
