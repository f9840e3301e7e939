/* peft_export_peft.c - adapter_config.json + adapter_model.safetensors in HuggingFace PEFT's
 * layout (peft_export.h, docs/EXPORT.md "peft"): LORA, IA3 or LN_TUNING. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "peft/peft_export.h"
#include "util/xalloc.h"

#define PREFIX "base_model.model."

/* One tensor of the adapter file. */
struct ptensor {
    char name[200];
    int ndim;
    int64_t shape[2];
    float *data;   /* owned */
};

/* One PEFT-side module (a LoRA pair, an ia3_l vector or a norm copy). */
struct pmod {
    char key[112];     /* registry path without the base prefix: "h.0.attn.c_attn" */
    int r;
    double alpha;
    float dropout;
    int ff;            /* ia3: feedforward (scales the input) */
};

struct pout {
    struct ptensor *t;
    int nt, capt;
    struct pmod *m;
    int nm, capm;
};

static struct ptensor *add_tensor(struct pout *o, const struct model *m, const char *key,
                                  const char *suffix, int ndim, int64_t d0, int64_t d1) {
    if (o->nt == o->capt) {
        o->capt = o->capt ? 2 * o->capt : 32;
        o->t = xrealloc(o->t, (size_t)o->capt * sizeof *o->t);
    }
    struct ptensor *t = &o->t[o->nt++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, PREFIX "%s%s%s", model_base_prefix(m->cfg.family), key,
             suffix);
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->data = xcalloc((size_t)(d0 * (ndim > 1 ? d1 : 1)), sizeof(float));
    return t;
}

static struct pmod *add_mod(struct pout *o, const char *key) {
    for (int i = 0; i < o->nm; i++)
        if (!strcmp(o->m[i].key, key))
            return &o->m[i];
    if (o->nm == o->capm) {
        o->capm = o->capm ? 2 * o->capm : 32;
        o->m = xrealloc(o->m, (size_t)o->capm * sizeof *o->m);
    }
    struct pmod *pm = &o->m[o->nm++];
    memset(pm, 0, sizeof *pm);
    snprintf(pm->key, sizeof pm->key, "%s", key);
    pm->r = -1;
    return pm;
}

static void pout_free(struct pout *o) {
    for (int i = 0; i < o->nt; i++)
        xfree(o->t[i].data);
    xfree(o->t);
    xfree(o->m);
    memset(o, 0, sizeof *o);
}

static double lora_scale(const struct peft_module *md) {
    return (md->s.alpha > 0.0f ? (double)md->s.alpha / md->s.rank : 1.0) * md->gate;
}

static int qkv(enum cfg_target t) {
    return t == CFG_T_Q || t == CFG_T_K || t == CFG_T_V;
}

/* ---- LORA ---- */

static pf_status lora_single(struct pout *o, const struct model *m,
                             const struct peft_module *md, struct pf_err *err) {
    struct export_site s;
    pf_status st = export_site(m, md->s.target, md->s.layer, 0, &s, err);
    if (st != PF_OK)
        return st;
    int r = md->s.rank, rm = md->s.r_max, in = md->in, out = md->out;
    struct pmod *pm = add_mod(o, s.path);
    pm->r = r;
    pm->alpha = md->s.alpha > 0.0f ? md->s.alpha : r;
    pm->dropout = md->s.dropout;
    const float *A = tensor_f32(&md->t[0]), *B = tensor_f32(&md->t[1]);
    struct ptensor *ta = add_tensor(o, m, s.path, ".lora_A.weight", 2, r, in);
    memcpy(ta->data, A, (size_t)r * in * sizeof(float));
    struct ptensor *tb = add_tensor(o, m, s.path, ".lora_B.weight", 2, out, r);
    for (int64_t i = 0; i < out; i++)
        for (int j = 0; j < r; j++)
            tb->data[i * r + j] = md->gate == 1.0f ? B[i * rm + j] : md->gate * B[i * rm + j];
    return PF_OK;
}

/* GPT-2: the LoRAs on the q/k/v slices of layer l as one LoRA on the fused c_attn. A is the
 * slices' A stacked (sum of ranks rows); B (3C, R) is block structured, zero where a slice
 * has no LoRA, with each slice's scale over the fused module's scale folded in. */
static pf_status lora_fused(struct pout *o, const struct model *m, const struct peft *p, int l,
                            struct pf_err *err) {
    const struct peft_module *sl[3] = {0};
    for (int i = 0; i < p->n; i++)
        if (p->mod[i].s.layer == l && qkv(p->mod[i].s.target))
            sl[p->mod[i].s.target - CFG_T_Q] = &p->mod[i];
    struct export_site s;
    pf_status st = export_site(m, CFG_T_Q, l, 0, &s, err);
    if (st != PF_OK)
        return st;
    int R = 0, C = m->cfg.hidden, same = 1;
    double s0 = 0.0;
    const struct peft_module *first = NULL;
    for (int k = 0; k < 3; k++)
        if (sl[k]) {
            R += sl[k]->s.rank;
            if (!first) {
                first = sl[k];
                s0 = lora_scale(sl[k]);
            } else if (lora_scale(sl[k]) != s0) {
                same = 0;
            }
        }
    double sf = same ? s0 : 1.0;
    struct pmod *pm = add_mod(o, s.path);
    pm->r = R;
    pm->alpha = sf * R;
    pm->dropout = first->s.dropout;
    struct ptensor *ta = add_tensor(o, m, s.path, ".lora_A.weight", 2, R, C);
    struct ptensor *tb = add_tensor(o, m, s.path, ".lora_B.weight", 2, 3LL * C, R);
    int c0 = 0;
    for (int k = 0; k < 3; k++) {
        if (!sl[k])
            continue;
        int r = sl[k]->s.rank, rm = sl[k]->s.r_max;
        const float *A = tensor_f32(&sl[k]->t[0]), *B = tensor_f32(&sl[k]->t[1]);
        memcpy(ta->data + (int64_t)c0 * C, A, (size_t)r * C * sizeof(float));
        double f = lora_scale(sl[k]) / sf;
        for (int64_t i = 0; i < C; i++)
            for (int j = 0; j < r; j++) {
                float b = B[i * rm + j];
                tb->data[((int64_t)k * C + i) * R + c0 + j] = f == 1.0 ? b : (float)(f * b);
            }
        c0 += r;
    }
    return PF_OK;
}

static pf_status build_lora(struct pout *o, const struct model *m, const struct peft *p,
                            struct pf_err *err) {
    pf_status st = PF_OK;
    for (int i = 0; i < p->n && st == PF_OK; i++) {
        const struct peft_module *md = &p->mod[i];
        if (md->custom_mask)
            return pf_err_set(err, PF_ERR_UNSUPPORTED, "export: peft: module %d has a custom "
                              "rank mask, which LoRA's rank cannot express; use --format "
                              "merged or native", i);
        if (m->cfg.family == FAM_GPT2 && qkv(md->s.target)) {
            int done = 0; /* one fused module per layer, made at its first slice */
            for (int j = 0; j < i; j++)
                done |= p->mod[j].s.layer == md->s.layer && qkv(p->mod[j].s.target);
            if (!done)
                st = lora_fused(o, m, p, md->s.layer, err);
        } else {
            st = lora_single(o, m, md, err);
        }
    }
    return st;
}

/* ---- IA3 ---- */

static pf_status build_ia3(struct pout *o, const struct model *m, const struct peft *p,
                           struct pf_err *err) {
    for (int i = 0; i < p->n; i++) {
        const struct peft_module *md = &p->mod[i];
        int ff = md->s.target == CFG_T_FFN_UP;
        struct export_site s;
        pf_status st = export_site(m, md->s.target, md->s.layer, ff, &s, err);
        if (st != PF_OK)
            return st;
        const float *l = tensor_f32(&md->t[0]);
        int fused = m->cfg.family == FAM_GPT2 && qkv(md->s.target);
        int found = 0;
        for (int k = 0; k < o->nm; k++)
            found |= !strcmp(o->m[k].key, s.path);
        if (found && !fused)
            return pf_err_set(err, PF_ERR_UNSUPPORTED, "export: peft: (IA)3 on both ffn_up "
                              "(the input of %s) and ffn_down (its output) of layer %d: PEFT "
                              "scales one side of a module only; use --format merged or "
                              "native", s.path, md->s.layer);
        struct pmod *pm = add_mod(o, s.path);
        pm->ff = ff;
        struct ptensor *t = NULL;
        char name[200];
        snprintf(name, sizeof name, PREFIX "%s%s.ia3_l", model_base_prefix(m->cfg.family),
                 s.path);
        for (int k = 0; k < o->nt; k++)
            if (!strcmp(o->t[k].name, name))
                t = &o->t[k];
        if (!t) {
            int64_t n = fused ? 3LL * m->cfg.hidden : md->out;
            t = ff ? add_tensor(o, m, s.path, ".ia3_l", 2, 1, n)
                   : add_tensor(o, m, s.path, ".ia3_l", 2, n, 1);
            for (int64_t k = 0; k < n; k++)
                t->data[k] = 1.0f;
        }
        for (int k = 0; k < md->out; k++)
            t->data[s.off + k] = 1.0f + md->gate * l[k];
    }
    return PF_OK;
}

/* ---- LN_TUNING: whole norm copies, weight = gain + delta, bias = the base bias ---- */

static pf_status build_ln(struct pout *o, struct model *m, const struct peft *p,
                          struct pf_err *err) {
    for (int i = 0; i < p->n; i++) {
        const struct peft_module *md = &p->mod[i];
        struct export_site s;
        pf_status st = export_site(m, md->s.target, md->s.layer, 0, &s, err);
        if (st != PF_OK)
            return st;
        add_mod(o, s.path);
        const char *names[2] = {s.w, s.b};
        const char *suffix[2] = {".ln_tuning_layers.weight", ".ln_tuning_layers.bias"};
        for (int k = 0; k < 2; k++) {
            if (!names[k][0])
                continue;
            struct model_param *mp = model_find_param(m, names[k]);
            float *v;
            st = model_param_copy_finite(m, mp, "export", &v, err);
            if (st != PF_OK)
                return st;
            struct ptensor *t = add_tensor(o, m, s.path, suffix[k], 1, mp->shape[0], 0);
            const float *w = tensor_f32(&md->t[0]);
            for (int64_t c = 0; c < mp->shape[0]; c++)
                t->data[c] = k == 0 ? v[c] + md->gate * w[c] : v[c];
            xfree(v);
        }
    }
    return PF_OK;
}

/* ---- the head (modules_to_save) ---- */

static pf_status add_head(struct pout *o, const struct model *m, cJSON *mts,
                          struct pf_err *err) {
    enum model_family f = m->cfg.family;
    if (f == FAM_GPT2 || f == FAM_LLAMA) {
        cJSON_AddItemToArray(mts, cJSON_CreateString("score"));
    } else {
        cJSON_AddItemToArray(mts, cJSON_CreateString("classifier"));
        if (f == FAM_BERT)
            cJSON_AddItemToArray(mts, cJSON_CreateString("pooler"));
    }
    for (int i = 0; i < m->n_params; i++) {
        const struct model_param *mp = &m->params[i];
        if (!mp->head)
            continue;
        float *v;
        pf_status st = model_param_copy_finite(m, mp, "export", &v, err);
        if (st != PF_OK)
            return st;
        if (o->nt == o->capt) {
            o->capt = o->capt ? 2 * o->capt : 32;
            o->t = xrealloc(o->t, (size_t)o->capt * sizeof *o->t);
        }
        struct ptensor *t = &o->t[o->nt++];
        snprintf(t->name, sizeof t->name, PREFIX "%s%s",
                 mp->base ? model_base_prefix(f) : "", mp->name);
        t->ndim = mp->ndim;
        t->shape[0] = mp->shape[0];
        t->shape[1] = mp->shape[1];
        t->data = v;
    }
    return PF_OK;
}

/* ---- adapter_config.json ---- */

/* The most common value of x[0..n) (ties: the first). */
static double mode(const double *x, int n) {
    int best = 0, bc = 0;
    for (int i = 0; i < n; i++) {
        int c = 0;
        for (int j = 0; j < n; j++)
            c += x[j] == x[i];
        if (c > bc) {
            bc = c;
            best = i;
        }
    }
    return n ? x[best] : 0.0;
}

static cJSON *full_names(const struct pout *o, const struct model *m, int only_ff) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < o->nm; i++) {
        if (only_ff && !o->m[i].ff)
            continue;
        char full[200];
        snprintf(full, sizeof full, "%s%s", model_base_prefix(m->cfg.family), o->m[i].key);
        cJSON_AddItemToArray(a, cJSON_CreateString(full));
    }
    return a;
}


/* The shortest decimal that reads back as the same float (0.1f is 0.1, not
 * 0.10000000149011612): what a person would have written in the config. */
static double shortest(float x) {
    char buf[32];
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)x);
        if ((float)strtod(buf, NULL) == x)
            return strtod(buf, NULL);
    }
    return (double)x;
}

/* base_model_name_or_path: the base checkpoint's absolute path, so that the adapter loads
 * from any working folder (the run may record it relative to where it was trained). */
static void add_base_path(cJSON *c, const struct run_info *ri) {
    char abs[PATH_MAX];
    cJSON_AddStringToObject(c, "base_model_name_or_path",
                            realpath(ri->model_path, abs) ? abs : ri->model_path);
}

/* Only the keys this adapter needs, every one known to peft since 0.10 (a key an older peft
 * does not know is a TypeError there; a key left out takes its default in every version):
 * sorted, as save_pretrained writes them. */
static cJSON *lora_config(const struct pout *o, const struct model *m,
                          const struct run_info *ri, cJSON *mts) {
    int n = o->nm;
    double *r = xcalloc((size_t)n + 1, sizeof *r), *al = xcalloc((size_t)n + 1, sizeof *al),
           *dr = xcalloc((size_t)n + 1, sizeof *dr);
    for (int i = 0; i < n; i++) {
        r[i] = o->m[i].r;
        al[i] = o->m[i].alpha;
        dr[i] = o->m[i].dropout;
    }
    double r0 = mode(r, n), a0 = mode(al, n), d0 = mode(dr, n);
    cJSON *c = cJSON_CreateObject();
    cJSON *ap = cJSON_AddObjectToObject(c, "alpha_pattern");
    add_base_path(c, ri);
    cJSON_AddStringToObject(c, "bias", "none");
    cJSON_AddBoolToObject(c, "fan_in_fan_out", m->cfg.family == FAM_GPT2);
    cJSON_AddTrueToObject(c, "inference_mode");
    cJSON_AddNumberToObject(c, "lora_alpha", a0);
    cJSON_AddNumberToObject(c, "lora_dropout", shortest((float)d0));
    cJSON_AddItemToObject(c, "modules_to_save", mts);
    cJSON_AddStringToObject(c, "peft_type", "LORA");
    cJSON_AddNumberToObject(c, "r", r0);
    cJSON *rp = cJSON_AddObjectToObject(c, "rank_pattern");
    cJSON_AddItemToObject(c, "target_modules", full_names(o, m, 0));
    cJSON_AddStringToObject(c, "task_type", "SEQ_CLS");
    cJSON_AddFalseToObject(c, "use_rslora");
    for (int i = 0; i < n; i++) {
        if (r[i] != r0)
            cJSON_AddNumberToObject(rp, o->m[i].key, r[i]);
        if (al[i] != a0)
            cJSON_AddNumberToObject(ap, o->m[i].key, al[i]);
    }
    xfree(r);
    xfree(al);
    xfree(dr);
    return c;
}

static cJSON *small_config(const struct pout *o, const struct model *m,
                           const struct run_info *ri, cJSON *mts, int ia3) {
    cJSON *c = cJSON_CreateObject();
    add_base_path(c, ri);
    if (ia3) {
        cJSON_AddBoolToObject(c, "fan_in_fan_out", m->cfg.family == FAM_GPT2);
        cJSON_AddItemToObject(c, "feedforward_modules", full_names(o, m, 1));
    }
    cJSON_AddTrueToObject(c, "inference_mode");
    if (ia3)
        cJSON_AddTrueToObject(c, "init_ia3_weights");
    cJSON_AddItemToObject(c, "modules_to_save", mts);
    cJSON_AddStringToObject(c, "peft_type", ia3 ? "IA3" : "LN_TUNING");
    cJSON_AddItemToObject(c, "target_modules", full_names(o, m, 0));
    cJSON_AddStringToObject(c, "task_type", "SEQ_CLS");
    return c;
}

/* ---- the whole export ---- */

static pf_status check_kinds(const struct peft *p, const struct run_info *ri, enum cfg_kind *k,
                             struct pf_err *err) {
    if (ri->full)
        return pf_err_set(err, PF_ERR_UNSUPPORTED, "export: peft: this run fine-tuned every "
                          "weight (no adapter); use --format merged or native");
    if (p->n == 0)
        return pf_err_set(err, PF_ERR_UNSUPPORTED, "export: peft: the run has no modules; use "
                          "--format merged or native");
    char kinds[256] = "";
    int mixed = 0;
    for (int i = 0; i < p->n; i++) {
        const char *kn = script_kind_name(p->mod[i].s.kind);
        mixed |= p->mod[i].s.kind != p->mod[0].s.kind;
        char word[40];
        snprintf(word, sizeof word, "%s,", kn);
        if (!strstr(kinds, word))
            snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), "%s", word);
    }
    kinds[strlen(kinds) - 1] = '\0';
    *k = p->mod[0].s.kind;
    int ok = !mixed && (*k == CFG_KIND_LORA || *k == CFG_KIND_IA3 || *k == CFG_KIND_LN);
    if (!ok)
        return pf_err_set(err, PF_ERR_UNSUPPORTED, "export: peft: module kinds %s%s: PEFT "
                          "holds lora-only (LORA), ia3-only (IA3) or ln-only (LN_TUNING) "
                          "structures; use --format merged (lora, bitfit, ln, ia3) or --format "
                          "native", kinds, mixed ? " mixed" : "");
    return PF_OK;
}

pf_status peft_export_peft(struct model *m, const struct peft *p, const struct run_info *ri,
                           const char *out_dir, struct pf_err *err) {
    enum cfg_kind kind = CFG_KIND_LORA;
    if (ri->random_init)
        return pf_err_set(err, PF_ERR_UNSUPPORTED, "the run's base model was randomly "
                          "initialised (model.init = \"random\"), so an adapter for %s would "
                          "not reproduce it: use --format merged", ri->model_path);
    pf_status st = check_kinds(p, ri, &kind, err);
    if (st != PF_OK)
        return st;
    struct pout o = {0};
    st = kind == CFG_KIND_LORA ? build_lora(&o, m, p, err)
       : kind == CFG_KIND_IA3 ? build_ia3(&o, m, p, err) : build_ln(&o, m, p, err);
    for (int i = 0; st == PF_OK && i < o.nt; i++)
        for (int64_t j = 0; j < o.t[i].shape[0] * (o.t[i].ndim > 1 ? o.t[i].shape[1] : 1); j++)
            if (!isfinite(o.t[i].data[j])) {
                st = pf_err_set(err, PF_ERR_NUMERIC, "%s[%lld] is not finite: refusing to "
                                "export", o.t[i].name, (long long)j);
                break;
            }
    /* the head always (issue 20): peft wraps the SEQ_CLS head of every adapter as
     * modules_to_save and looks each wrapped key up in the adapter's state dict on load; a head
     * left to the base would also be the base's own, not the run's (a base head of another
     * label count is replaced at training, whatever its name) */
    cJSON *mts = NULL;
    if (st == PF_OK) {
        mts = cJSON_CreateArray();
        st = add_head(&o, m, mts, err);
    }
    struct export_dir d;
    if (st == PF_OK)
        st = export_dir_open(&d, out_dir, err);
    else
        cJSON_Delete(mts);
    if (st != PF_OK) {
        pout_free(&o);
        return st;
    }
    cJSON *c = kind == CFG_KIND_LORA ? lora_config(&o, m, ri, mts)
                                     : small_config(&o, m, ri, mts, kind == CFG_KIND_IA3);
    char *txt = cJSON_Print(c);
    cJSON_Delete(c);
    char path[1200];
    struct st_wtensor *w = xcalloc((size_t)o.nt, sizeof *w);
    for (int i = 0; i < o.nt; i++)
        w[i] = (struct st_wtensor){o.t[i].name, ST_F32, o.t[i].ndim, o.t[i].shape,
                                   o.t[i].data, 0};
    const char *meta[] = {"format", "pt"};
    export_dir_path(&d, "adapter_model.safetensors", path, sizeof path);
    st = st_write(path, w, o.nt, meta, 1, err);
    xfree(w);
    if (st == PF_OK && !txt)
        st = pf_err_set(err, PF_ERR_NOMEM, "export: out of memory");
    if (st == PF_OK) {
        export_dir_path(&d, "adapter_config.json", path, sizeof path);
        st = export_write_text(path, txt, err);
    }
    free(txt);
    pout_free(&o);
    if (st == PF_OK)
        return export_dir_commit(&d, err);
    export_dir_abort(&d);
    return st;
}
