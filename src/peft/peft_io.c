/* peft_io.c - structure files and native adapter tensors (peft_io.h). */
#include "peft/peft_io.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "model/model.h"
#include "util/atomic.h"
#include "util/xalloc.h"
#include "util/file.h"

#define STRUCT_MAX_BYTES (64u << 20)

static int matrix(enum cfg_kind k) {
    return k == CFG_KIND_LORA || k == CFG_KIND_LRA || k == CFG_KIND_SERIAL_ADAPTER ||
           k == CFG_KIND_PARALLEL_ADAPTER || k == CFG_KIND_PREFIX;
}

char *peft_structure_json(const struct model *m, const struct peft_spec *s, int n) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "format", PEFT_STRUCTURE_FORMAT);
    cJSON_AddNumberToObject(r, "version", 1);
    cJSON *mo = cJSON_AddObjectToObject(r, "model");
    cJSON_AddStringToObject(mo, "family", hf_family_name(m->cfg.family));
    cJSON_AddNumberToObject(mo, "hidden", m->cfg.hidden);
    cJSON_AddNumberToObject(mo, "layers", m->cfg.layers);
    int64_t total = 0;
    for (int i = 0; i < n; i++)
        total += peft_param_count(m, &s[i], s[i].rank);
    cJSON_AddNumberToObject(r, "params", (double)total);
    cJSON *arr = cJSON_AddArrayToObject(r, "modules");
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", script_kind_name(s[i].kind));
        cJSON_AddNumberToObject(o, "layer", s[i].layer);
        if (s[i].kind != CFG_KIND_PREFIX)
            cJSON_AddStringToObject(o, "target", script_target_name(s[i].target));
        if (matrix(s[i].kind)) {
            cJSON_AddNumberToObject(o, "rank", s[i].rank);
            if (s[i].r_max != s[i].rank) /* the tensors are stored at this rank */
                cJSON_AddNumberToObject(o, "stored_rank", s[i].r_max);
        }
        if (s[i].kind == CFG_KIND_LORA) {
            cJSON_AddNumberToObject(o, "alpha", s[i].alpha);
            cJSON_AddNumberToObject(o, "dropout", s[i].dropout);
        }
        if (s[i].kind == CFG_KIND_LRA || s[i].kind == CFG_KIND_PREFIX)
            cJSON_AddNumberToObject(o, "width", s[i].width);
        cJSON_AddNumberToObject(o, "params", (double)peft_param_count(m, &s[i], s[i].rank));
        cJSON_AddItemToArray(arr, o);
    }
    char *txt = cJSON_Print(r);
    cJSON_Delete(r);
    return txt;
}

pf_status peft_structure_write(const struct peft *p, const char *path, struct pf_err *err) {
    struct peft_spec *s = xmalloc((size_t)(p->n ? p->n : 1) * sizeof *s);
    for (int i = 0; i < p->n; i++)
        s[i] = p->mod[i].s;
    char *txt = peft_structure_json(p->model, s, p->n);
    xfree(s);
    if (!txt)
        return pf_err_set(err, PF_ERR_NOMEM, "%s: out of memory", path);
    size_t n = strlen(txt);
    txt[n] = '\n'; /* the terminator becomes a final newline: n + 1 bytes are written */
    pf_status st = atomic_write(path, txt, n + 1, err);
    free(txt);
    return st;
}

/* ---- reading ---- */

static int lookup(const char *name, const char *(*fn)(int), int count) {
    for (int i = 0; i < count; i++)
        if (!strcmp(fn(i), name))
            return i;
    return -1;
}

static const char *kind_at(int i) {
    return script_kind_name((enum cfg_kind)i);
}
static const char *target_at(int i) {
    return script_target_name((enum cfg_target)i);
}

/* An integer field: exact, in [lo, hi]. */
static int get_int(const cJSON *o, const char *key, int lo, int hi, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi)
        return 0;
    *out = (int)v->valuedouble;
    return 1;
}

/* modules[i]'s kind, layer and target into *s (layer -1 goes with final_ln only). */
static pf_status module_place(const char *path, const cJSON *o, int i, struct peft_spec *s,
                              struct pf_err *err) {
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
    const cJSON *target = cJSON_GetObjectItemCaseSensitive(o, "target");
    int k = cJSON_IsString(kind) ? lookup(kind->valuestring, kind_at, CFG_KIND_COUNT) : -1;
    if (!cJSON_IsObject(o))
        return pf_err_set(err, PF_ERR_FORMAT, "%s: modules[%d]: expected an object", path, i);
    if (k < 0)
        return pf_err_set(err, PF_ERR_FORMAT, "%s: modules[%d].kind: expected one of lora, "
                          "lra, bitfit, ln, serial_adapter, parallel_adapter, prefix, ia3",
                          path, i);
    s->kind = (enum cfg_kind)k;
    if (!get_int(o, "layer", -1, 1 << 20, &s->layer))
        return pf_err_set(err, PF_ERR_FORMAT, "%s: modules[%d].layer: expected an integer "
                          ">= 0 (-1 for final_ln)", path, i);
    if (k == CFG_KIND_PREFIX) {
        s->target = CFG_T_ATTN;
    } else {
        int t = cJSON_IsString(target) ? lookup(target->valuestring, target_at, CFG_T_COUNT)
                                       : -1;
        if (t < 0)
            return pf_err_set(err, PF_ERR_FORMAT, "%s: modules[%d].target: expected a target "
                              "name (q, k, v, o, ffn_up, ffn_down, ffn_gate, attn, ffn, "
                              "attn_ln, ffn_ln)", path, i);
        s->target = (enum cfg_target)t;
    }
    if ((s->layer == -1) != (s->target == CFG_T_FINAL_LN))
        return pf_err_set(err, PF_ERR_FORMAT, "%s: modules[%d].layer: -1 goes with target "
                          "final_ln (the model's final norm), and only with it", path, i);
    return PF_OK;
}

/* modules[i]'s rank and stored rank (matrix kinds), width, alpha and dropout into *s. */
static pf_status module_sizes(const char *path, const cJSON *o, int i, struct peft_spec *s,
                              struct pf_err *err) {
    const cJSON *alpha = cJSON_GetObjectItemCaseSensitive(o, "alpha");
    const cJSON *drop = cJSON_GetObjectItemCaseSensitive(o, "dropout");
    if (matrix(s->kind)) {
        if (!get_int(o, "rank", 1, PEFT_MAX_RANK, &s->rank))
            return pf_err_set(err, PF_ERR_FORMAT, "%s: modules[%d].rank: expected an integer "
                              "in 1..%d", path, i, PEFT_MAX_RANK);
        s->r_max = s->rank;
        if (cJSON_GetObjectItemCaseSensitive(o, "stored_rank") &&
            !get_int(o, "stored_rank", s->rank, PEFT_MAX_RANK, &s->r_max))
            return pf_err_set(err, PF_ERR_FORMAT, "%s: modules[%d].stored_rank: expected an "
                              "integer in rank..%d", path, i, PEFT_MAX_RANK);
    }
    if (cJSON_GetObjectItemCaseSensitive(o, "width") &&
        !get_int(o, "width", 0, 65536, &s->width))
        return pf_err_set(err, PF_ERR_FORMAT, "%s: modules[%d].width: expected an integer in "
                          "0..65536", path, i);
    if (alpha && (!cJSON_IsNumber(alpha) || !(alpha->valuedouble >= 0) ||
                  !isfinite(alpha->valuedouble)))
        return pf_err_set(err, PF_ERR_FORMAT, "%s: modules[%d].alpha: expected a number >= 0",
                          path, i);
    if (drop && (!cJSON_IsNumber(drop) || !(drop->valuedouble >= 0) ||
                 !(drop->valuedouble < 1)))
        return pf_err_set(err, PF_ERR_FORMAT, "%s: modules[%d].dropout: expected a number in "
                          "[0, 1)", path, i);
    s->alpha = alpha ? (float)alpha->valuedouble : 0.0f;
    s->dropout = drop ? (float)drop->valuedouble : 0.0f;
    return PF_OK;
}

pf_status peft_structure_parse(const char *path, const char *txt, size_t len,
                               struct peft_spec **out, int *n_out, struct pf_err *err) {
    *out = NULL;
    *n_out = 0;
    cJSON *r = cJSON_ParseWithLength(txt, len);
    if (!r)
        return pf_err_set(err, PF_ERR_FORMAT, "%s: not valid JSON (near byte %ld)", path,
                          (long)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - txt : 0));
    pf_status st = PF_OK;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(r, "format");
    const cJSON *mods = cJSON_GetObjectItemCaseSensitive(r, "modules");
    int version = 0;
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, PEFT_STRUCTURE_FORMAT)) {
        st = pf_err_set(err, PF_ERR_FORMAT, "%s: format: expected \"%s\"", path,
                        PEFT_STRUCTURE_FORMAT);
    } else if (!get_int(r, "version", 1, 1, &version)) {
        st = pf_err_set(err, PF_ERR_FORMAT, "%s: version: expected 1", path);
    } else if (!cJSON_IsArray(mods)) {
        st = pf_err_set(err, PF_ERR_FORMAT, "%s: modules: expected an array", path);
    }
    int n = st == PF_OK ? cJSON_GetArraySize(mods) : 0;
    struct peft_spec *s = xcalloc((size_t)(n ? n : 1), sizeof *s);
    for (int i = 0; i < n && st == PF_OK; i++) {
        const cJSON *o = cJSON_GetArrayItem(mods, i);
        st = module_place(path, o, i, &s[i], err);
        PF_STEP(st, module_sizes(path, o, i, &s[i], err));
    }
    cJSON_Delete(r);
    if (st != PF_OK) {
        xfree(s);
        return st;
    }
    *out = s;
    *n_out = n;
    return PF_OK;
}

pf_status peft_read_text(const char *path, size_t max, char **out, size_t *len,
                         struct pf_err *err) {
    *out = NULL;
    *len = 0;
    const char *why = NULL;
    FILE *f = file_fopen_regular(path, &why);
    if (!f)
        return pf_err_set(err, PF_ERR_IO, "%s: cannot open: %s", path, why);
    char *buf = xmalloc(max + 1);
    size_t n = fread(buf, 1, max + 1, f);
    int bad = ferror(f);
    fclose(f);
    pf_status st = PF_OK;
    if (bad)
        st = pf_err_set(err, PF_ERR_IO, "%s: read failed", path);
    else if (n > max)
        st = pf_err_set(err, PF_ERR_FORMAT, "%s: larger than %zu MiB", path, max >> 20);
    if (st != PF_OK) {
        xfree(buf);
        return st;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return PF_OK;
}

pf_status peft_structure_read(const char *path, struct peft_spec **out, int *n,
                              struct pf_err *err) {
    *out = NULL;
    *n = 0;
    char *buf = NULL;
    size_t len = 0;
    pf_status st = peft_read_text(path, STRUCT_MAX_BYTES, &buf, &len, err);
    if (st == PF_OK)
        st = peft_structure_parse(path, buf, len, out, n, err);
    xfree(buf);
    return st;
}

pf_status peft_add_specs(struct peft *p, const struct peft_spec *s, int n, uint64_t seed,
                         const char *what, struct pf_err *err) {
    for (int i = 0; i < n; i++) {
        pf_status st = peft_add(p, &s[i], seed + 0x9E37ULL * (uint64_t)i, NULL, err);
        if (st != PF_OK) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            return pf_err_set(err, st, "%s: modules[%d]: %s", what, i, msg);
        }
    }
    return PF_OK;
}

/* ---- native tensors ---- */

pf_status peft_tensor_name(const struct peft_module *md, int i, char *buf, size_t n) {
    char mn[64];
    peft_module_name(md, mn, sizeof mn);
    snprintf(buf, n, "%s.%s", mn, md->tname[i]);
    return PF_OK;
}

pf_status peft_check_finite(const struct peft *p, struct pf_err *err) {
    for (int i = 0; i < p->n; i++) {
        const struct peft_module *md = &p->mod[i];
        for (int j = 0; j < md->n_t; j++) {
            const float *x = tensor_f32(&md->t[j]);
            for (int64_t k = 0; k < md->t[j].numel; k++)
                if (!isfinite(x[k])) {
                    char name[96];
                    peft_tensor_name(md, j, name, sizeof name);
                    return pf_err_set(err, PF_ERR_NUMERIC, "%s[%lld] is %s: refusing to save "
                                      "non-finite weights", name, (long long)k,
                                      isnan(x[k]) ? "NaN" : "infinite");
                }
        }
    }
    return PF_OK;
}

int peft_tensor_count(const struct peft *p) {
    int n = 0;
    for (int i = 0; i < p->n; i++)
        n += p->mod[i].n_t;
    return n;
}

pf_status peft_tensors_list(const struct peft *p, struct st_wtensor *w, char (*names)[96],
                            struct pf_err *err) {
    (void)err;
    int k = 0;
    for (int i = 0; i < p->n; i++) {
        const struct peft_module *md = &p->mod[i];
        for (int j = 0; j < md->n_t; j++, k++) {
            peft_tensor_name(md, j, names[k], sizeof names[k]);
            w[k].name = names[k];
            w[k].dtype = ST_F32;
            w[k].ndim = md->t[j].ndim;
            w[k].shape = md->t[j].shape;
            w[k].data = md->t[j].data;
            w[k].from_f32 = 0;
        }
    }
    return PF_OK;
}

pf_status peft_load_tensors(struct peft *p, const struct st_file *f, struct pf_err *err) {
    for (int i = 0; i < p->n; i++) {
        struct peft_module *md = &p->mod[i];
        for (int j = 0; j < md->n_t; j++) {
            char name[96];
            peft_tensor_name(md, j, name, sizeof name);
            const struct st_info *t = st_find(f, name);
            if (!t)
                return pf_err_set(err, PF_ERR_FORMAT, "%s: tensor '%s' is missing (the "
                                  "structure has this module)", f->path, name);
            int ok = t->ndim == md->t[j].ndim;
            for (int d = 0; ok && d < t->ndim; d++)
                ok = t->shape[d] == md->t[j].shape[d];
            if (!ok)
                return pf_err_set(err, PF_ERR_FORMAT, "%s: tensor '%s' has another shape than "
                                  "the structure gives", f->path, name);
            pf_status st = st_read_f32(f, t, tensor_f32(&md->t[j]), md->t[j].numel, err);
            if (st != PF_OK)
                return st;
        }
    }
    return peft_check_finite(p, err);
}
