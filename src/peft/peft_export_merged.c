/* peft_export_merged.c - module deltas folded into the weights, and the merged HF checkpoint
 * folder (peft_export.h, docs/EXPORT.md "merged"). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "peft/peft_export.h"
#include "util/xalloc.h"

static int mergeable(enum cfg_kind k) {
    return k == CFG_KIND_LORA || k == CFG_KIND_BITFIT || k == CFG_KIND_LN || k == CFG_KIND_IA3;
}

/* One parameter's HF value, modified and written back. */
struct edit {
    struct model_param *mp;
    float *v;
    int64_t rows, cols;   /* the HF shape (vectors: rows = numel, cols = 1) */
};

static pf_status edit_open(struct model *m, const char *name, struct edit *e,
                           struct pf_err *err) {
    memset(e, 0, sizeof *e);
    e->mp = model_find_param(m, name);
    if (!e->mp)
        return pf_err_set(err, PF_ERR_FORMAT, "export: the model has no parameter %s", name);
    e->rows = e->mp->shape[0];
    e->cols = e->mp->ndim > 1 ? e->mp->shape[1] : 1;
    e->v = xmalloc((size_t)(e->rows * e->cols) * sizeof(float));
    return model_param_value(m, e->mp, e->v, err);
}

static void edit_close(struct model *m, struct edit *e, int save) {
    if (save && e->v)
        model_param_set(m, e->mp, e->v);
    xfree(e->v);
    e->v = NULL;
}

/* Element (o, i) of a linear's weight: output o (slice offset included), input i. */
static float *wat(const struct edit *e, const struct export_site *s, int64_t o, int64_t i) {
    return s->in_out ? &e->v[i * e->cols + s->off + o] : &e->v[(s->off + o) * e->cols + i];
}

static pf_status merge_lora(struct model *m, const struct peft_module *md,
                            const struct export_site *s, struct pf_err *err) {
    struct edit e;
    pf_status st = edit_open(m, s->w, &e, err);
    const float *A = tensor_f32(&md->t[0]), *B = tensor_f32(&md->t[1]);
    int r = md->s.r_max, in = md->in, out = md->out;
    double scale = (md->s.alpha > 0.0f ? (double)md->s.alpha / md->s.rank : 1.0) * md->gate;
    for (int o = 0; st == PF_OK && o < out; o++)
        for (int i = 0; i < in; i++) {
            double acc = 0.0;
            for (int j = 0; j < r; j++)
                acc += (double)md->mask[j] * B[(int64_t)o * r + j] * A[(int64_t)j * in + i];
            *wat(&e, s, o, i) += (float)(scale * acc);
        }
    edit_close(m, &e, st == PF_OK);
    return st;
}

static pf_status merge_bias(struct model *m, const struct peft_module *md,
                            const struct export_site *s, struct pf_err *err) {
    if (!s->b[0])
        return pf_err_set(err, PF_ERR_UNSUPPORTED, "export: bitfit on layer %d %s: %s has no "
                          "bias in this model (%s), so the bias delta cannot be merged; use "
                          "--format native", md->s.layer, script_target_name(md->s.target),
                          s->path, s->norm ? "an RMSNorm" : "a bias-free linear");
    struct edit e;
    pf_status st = edit_open(m, s->b, &e, err);
    const float *v = tensor_f32(&md->t[0]);
    for (int o = 0; st == PF_OK && o < md->out; o++)
        e.v[s->off + o] += md->gate * v[o];
    edit_close(m, &e, st == PF_OK);
    return st;
}

static pf_status merge_ln(struct model *m, const struct peft_module *md,
                          const struct export_site *s, struct pf_err *err) {
    struct edit e;
    pf_status st = edit_open(m, s->w, &e, err);
    const float *v = tensor_f32(&md->t[0]);
    for (int64_t c = 0; st == PF_OK && c < e.rows; c++)
        e.v[c] += md->gate * v[c];
    edit_close(m, &e, st == PF_OK);
    return st;
}

/* (IA)^3: the output rows of W and b by (1 + g l), or, at the down projection's input
 * (target ffn_up), the input columns of W_down. */
static pf_status merge_ia3(struct model *m, const struct peft_module *md,
                           const struct export_site *s, int down_in, struct pf_err *err) {
    const float *l = tensor_f32(&md->t[0]);
    struct edit e;
    pf_status st = edit_open(m, s->w, &e, err);
    int64_t in = s->in_out ? e.rows : e.cols, out = md->out;
    if (down_in)
        out = s->in_out ? e.cols : e.rows;
    for (int64_t o = 0; st == PF_OK && o < out; o++)
        for (int64_t i = 0; i < in; i++)
            *wat(&e, s, o, i) *= 1.0f + md->gate * l[down_in ? i : o];
    edit_close(m, &e, st == PF_OK);
    if (st == PF_OK && !down_in && s->b[0]) {
        st = edit_open(m, s->b, &e, err);
        for (int64_t o = 0; st == PF_OK && o < out; o++)
            e.v[s->off + o] *= 1.0f + md->gate * l[o];
        edit_close(m, &e, st == PF_OK);
    }
    return st;
}

pf_status peft_merge_into(struct model *m, const struct peft *p, struct pf_err *err) {
    char bad[256] = "";
    for (int i = 0; i < p->n; i++) {
        const char *k = script_kind_name(p->mod[i].s.kind);
        if (!mergeable(p->mod[i].s.kind) && !strstr(bad, k))
            snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "%s%s", bad[0] ? ", " : "",
                     k);
    }
    if (bad[0])
        return pf_err_set(err, PF_ERR_UNSUPPORTED, "export: merged: module kinds %s have no "
                          "weight form (only lora, bitfit, ln and ia3 merge); use --format "
                          "native", bad);
    /* additive kinds first; (IA)^3 scales what they produce at its point */
    pf_status st = PF_OK;
    for (int pass = 0; pass < 2 && st == PF_OK; pass++)
        for (int i = 0; i < p->n && st == PF_OK; i++) {
            const struct peft_module *md = &p->mod[i];
            if ((md->s.kind == CFG_KIND_IA3) != pass)
                continue;
            int down_in = md->s.kind == CFG_KIND_IA3 && md->s.target == CFG_T_FFN_UP;
            struct export_site s;
            st = export_site(m, md->s.target, md->s.layer, down_in, &s, err);
            if (st != PF_OK)
                break;
            switch (md->s.kind) {
            case CFG_KIND_LORA: st = merge_lora(m, md, &s, err); break;
            case CFG_KIND_BITFIT: st = merge_bias(m, md, &s, err); break;
            case CFG_KIND_LN: st = merge_ln(m, md, &s, err); break;
            default: st = merge_ia3(m, md, &s, down_in, err); break;
            }
        }
    return st;
}

/* ---- the checkpoint folder ---- */

static const char *arch_class(const char *model_type, enum model_family f) {
    static const char *const map[][2] = {
        {"bert", "BertForSequenceClassification"},
        {"roberta", "RobertaForSequenceClassification"},
        {"gpt2", "GPT2ForSequenceClassification"},
        {"llama", "LlamaForSequenceClassification"},
        {"mistral", "MistralForSequenceClassification"},
        {"qwen2", "Qwen2ForSequenceClassification"}};
    for (size_t i = 0; model_type && i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(model_type, map[i][0]))
            return map[i][1];
    return f == FAM_BERT ? map[0][1] : f == FAM_ROBERTA ? map[1][1] : f == FAM_GPT2 ? map[2][1]
                                                                                    : map[3][1];
}

static pf_status write_config(const struct model *m, const struct run_info *ri,
                              const char *dst, struct pf_err *err) {
    char src[1100];
    snprintf(src, sizeof src, "%s/config.json", ri->model_path);
    FILE *f = fopen(src, "rb");
    if (!f)
        return pf_err_set(err, PF_ERR_IO, "%s: cannot open", src);
    char *buf = xmalloc((1u << 20) + 1);
    size_t len = fread(buf, 1, 1u << 20, f);
    fclose(f);
    cJSON *c = cJSON_ParseWithLength(buf, len);
    xfree(buf);
    if (!cJSON_IsObject(c)) {
        cJSON_Delete(c);
        return pf_err_set(err, PF_ERR_FORMAT, "%s: not a JSON object (or over 1 MiB)", src);
    }
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(c, "model_type");
    const char *cls = arch_class(cJSON_IsString(mt) ? mt->valuestring : NULL, m->cfg.family);
    cJSON *arch = cJSON_CreateArray();
    cJSON_AddItemToArray(arch, cJSON_CreateString(cls));
    /* the tensors written are F32: a base saved in bf16/f16 must not make transformers load
     * them as that (dtype="auto" reads this); "dtype" is transformers v5's name for it */
    const int had_dtype = cJSON_HasObjectItem(c, "dtype");
    const char *drop[] = {"architectures", "id2label", "label2id", "num_labels", "problem_type",
                          "torch_dtype", "dtype"};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(c, drop[i]);
    cJSON_AddItemToObject(c, "architectures", arch);
    cJSON *id2 = cJSON_AddObjectToObject(c, "id2label");
    cJSON *l2i = cJSON_AddObjectToObject(c, "label2id");
    for (int i = 0; i < ri->num_labels; i++) {
        char key[16], name[80];
        snprintf(key, sizeof key, "%d", i);
        if (!ri->regression && ri->n_labels == ri->num_labels)
            snprintf(name, sizeof name, "%s", ri->labels[i]);
        else
            snprintf(name, sizeof name, "LABEL_%d", i);
        cJSON_AddStringToObject(id2, key, name);
        cJSON_AddNumberToObject(l2i, name, i);
    }
    cJSON_AddStringToObject(c, "problem_type", ri->regression ? "regression"
                                                               : "single_label_classification");
    cJSON_AddStringToObject(c, "torch_dtype", "float32");
    if (had_dtype)
        cJSON_AddStringToObject(c, "dtype", "float32");
    char *txt = cJSON_Print(c);
    cJSON_Delete(c);
    if (!txt)
        return pf_err_set(err, PF_ERR_NOMEM, "%s: out of memory", dst);
    pf_status st = export_write_text(dst, txt, err);
    free(txt);
    return st;
}

pf_status peft_export_merged(struct model *m, const struct peft *p, const struct run_info *ri,
                             const char *out_dir, struct pf_err *err) {
    static const char *const tok_files[] = {"tokenizer.json", "tokenizer_config.json",
                                            "special_tokens_map.json", "vocab.txt",
                                            "vocab.json", "merges.txt"};
    pf_status st = ri->full ? PF_OK : peft_merge_into(m, p, err);
    if (st != PF_OK)
        return st;
    struct export_dir d;
    st = export_dir_open(&d, out_dir, err);
    if (st != PF_OK)
        return st;
    char dst[1200];
    export_dir_path(&d, "model.safetensors", dst, sizeof dst);
    st = model_save_safetensors(m, dst, "export", err);
    if (st == PF_OK) {
        export_dir_path(&d, "config.json", dst, sizeof dst);
        st = write_config(m, ri, dst, err);
    }
    for (size_t i = 0; st == PF_OK && i < sizeof tok_files / sizeof tok_files[0]; i++) {
        char src[1100];
        snprintf(src, sizeof src, "%s/%s", ri->model_path, tok_files[i]);
        if (access(src, F_OK) != 0)
            continue;
        export_dir_path(&d, tok_files[i], dst, sizeof dst);
        st = export_copy_file(src, dst, err);
    }
    if (st == PF_OK)
        return export_dir_commit(&d, err);
    export_dir_abort(&d);
    return st;
}
