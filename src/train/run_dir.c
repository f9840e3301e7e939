/* run_dir.c - run folders (run_dir.h). */
#include "train/run_dir.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "model/model_load.h"
#include "peft/peft_io.h"
#include "util/atomic.h"
#include "util/xalloc.h"
#include "util/file.h"

#define RUN_JSON_MAX (1u << 20)

static void path_join(char *out, size_t n, const char *dir, const char *name) {
    snprintf(out, n, "%s/%s", dir, name);
}

pf_status run_info_write(const char *dir, const struct run_info *ri, struct pf_err *err) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "format", RUN_FORMAT);
    cJSON_AddNumberToObject(r, "version", 1);
    cJSON_AddStringToObject(r, "model_path", ri->model_path);
    cJSON_AddStringToObject(r, "family", ri->family);
    cJSON_AddStringToObject(r, "task", ri->task);
    cJSON_AddNumberToObject(r, "num_labels", ri->num_labels);
    cJSON_AddBoolToObject(r, "regression", ri->regression);
    cJSON *lab = cJSON_AddArrayToObject(r, "labels");
    for (int i = 0; i < ri->n_labels; i++)
        cJSON_AddItemToArray(lab, cJSON_CreateString(ri->labels[i]));
    cJSON_AddBoolToObject(r, "full", ri->full);
    cJSON_AddBoolToObject(r, "head", ri->head);
    cJSON_AddNumberToObject(r, "max_len", ri->max_len);
    cJSON_AddNumberToObject(r, "seed", (double)ri->seed);
    if (ri->random_init)
        cJSON_AddBoolToObject(r, "random_init", 1);
    char *txt = cJSON_Print(r);
    cJSON_Delete(r);
    if (!txt)
        return pf_err_set(err, PF_ERR_NOMEM, "%s: out of memory", dir);
    char path[1024];
    path_join(path, sizeof path, dir, "run.json");
    size_t n = strlen(txt);
    txt[n] = '\n';
    pf_status st = atomic_write(path, txt, n + 1, err);
    free(txt);
    return st;
}

static int get_str(const cJSON *r, const char *key, char *out, size_t n) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, key);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= n)
        return 0;
    snprintf(out, n, "%s", v->valuestring);
    return 1;
}

static int get_num(const cJSON *r, const char *key, double lo, double hi, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, key);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))
        return 0;
    *out = v->valuedouble;
    return 1;
}

static int get_bool(const cJSON *r, const char *key, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, key);
    if (!cJSON_IsBool(v))
        return 0;
    *out = cJSON_IsTrue(v);
    return 1;
}

pf_status run_check_finished(const char *dir, const char *cmd, struct pf_err *err) {
    char path[1100], info[1100];
    path_join(path, sizeof path, dir, "summary.json");
    path_join(info, sizeof info, dir, "run.json");
    if (access(info, F_OK) != 0 || access(path, F_OK) == 0)
        return PF_OK; /* not a run folder at all: run_info_read says so */
    return pf_err_set(err, PF_ERR_ARG, "%s: this training run did not finish (no summary.json: "
                      "it was stopped or it failed), so its weights are the best dev weights "
                      "up to then, not the result; to use them anyway: bipeft %s ... --partial",
                      dir, cmd);
}

pf_status run_info_read(const char *dir, struct run_info *ri, struct pf_err *err) {
    memset(ri, 0, sizeof *ri);
    char path[1024];
    path_join(path, sizeof path, dir, "run.json");
    const char *why = NULL;
    FILE *f = file_fopen_regular(path, &why);
    if (!f)
        return pf_err_set(err, PF_ERR_IO, "%s: cannot open: %s (is %s a run folder written by "
                          "bipeft train?)", path, why, dir);
    char *buf = xmalloc(RUN_JSON_MAX + 1);
    size_t len = fread(buf, 1, RUN_JSON_MAX + 1, f);
    fclose(f);
    pf_status st = PF_OK;
    cJSON *r = len <= RUN_JSON_MAX ? cJSON_ParseWithLength(buf, len) : NULL;
    xfree(buf);
    double num, seed, maxlen, ver;
    const char *bad = NULL;
    if (!r)
        bad = "not valid JSON (or larger than 1 MiB)";
    else if (!get_str(r, "format", ri->family, sizeof ri->family) || strcmp(ri->family, RUN_FORMAT))
        bad = "format: expected \"" RUN_FORMAT "\"";
    else if (!get_num(r, "version", 1, 1, &ver))
        bad = "version: expected 1";
    else if (!get_str(r, "model_path", ri->model_path, sizeof ri->model_path))
        bad = "model_path: expected a string";
    else if (!get_str(r, "family", ri->family, sizeof ri->family))
        bad = "family: expected a string";
    else if (!get_str(r, "task", ri->task, sizeof ri->task))
        bad = "task: expected a string";
    else if (!get_num(r, "num_labels", 1, 65536, &num) || num != floor(num))
        bad = "num_labels: expected an integer >= 1";
    else if (!get_bool(r, "regression", &ri->regression) || !get_bool(r, "full", &ri->full) ||
             !get_bool(r, "head", &ri->head))
        bad = "regression, full, head: expected true or false";
    else if (!get_num(r, "max_len", 1, 65536, &maxlen) || !get_num(r, "seed", 0, 1e19, &seed))
        bad = "max_len, seed: expected numbers";
    const cJSON *rin = cJSON_GetObjectItemCaseSensitive(r, "random_init");
    if (!bad && rin && !cJSON_IsBool(rin))
        bad = "random_init: expected true or false";
    ri->random_init = cJSON_IsTrue(rin);
    if (!bad) {
        ri->num_labels = (int)num;
        ri->max_len = (int)maxlen;
        ri->seed = (uint64_t)seed;
        const cJSON *lab = cJSON_GetObjectItemCaseSensitive(r, "labels");
        int n = cJSON_IsArray(lab) ? cJSON_GetArraySize(lab) : -1;
        if (n < 0 || n > 64)
            bad = "labels: expected an array of at most 64 strings";
        for (int i = 0; !bad && i < n; i++)
            if (!cJSON_IsString(cJSON_GetArrayItem(lab, i)) ||
                strlen(cJSON_GetArrayItem(lab, i)->valuestring) >= 64)
                bad = "labels: expected strings shorter than 64 bytes";
            else
                snprintf(ri->labels[i], 64, "%s", cJSON_GetArrayItem(lab, i)->valuestring);
        ri->n_labels = bad ? 0 : n;
    }
    if (bad)
        st = pf_err_set(err, PF_ERR_FORMAT, "%s: %s", path, bad);
    cJSON_Delete(r);
    return st;
}

static int want_param(const struct model_param *p, int head, int full) {
    return (head && p->head && !p->base) || (full && p->base);
}

pf_status run_save_weights(const char *dir, struct model *m, const struct peft *p, int head,
                           int full, struct pf_err *err) {
    pf_status st = p ? peft_check_finite(p, err) : PF_OK;
    if (st != PF_OK)
        return st;
    int nm = p ? peft_tensor_count(p) : 0, n = nm;
    for (int i = 0; i < m->n_params; i++)
        n += want_param(&m->params[i], head, full);
    struct st_wtensor *w = xcalloc((size_t)(n ? n : 1), sizeof *w);
    char (*names)[96] = xcalloc((size_t)(n ? n : 1), sizeof *names);
    float **bufs = xcalloc((size_t)(n ? n : 1), sizeof *bufs);
    if (p)
        st = peft_tensors_list(p, w, names, err);
    int k = nm;
    for (int i = 0; i < m->n_params && st == PF_OK; i++) {
        struct model_param *mp = &m->params[i];
        if (!want_param(mp, head, full))
            continue;
        st = model_param_copy_finite(m, mp, "save", &bufs[k], err);
        model_param_full_name(m, mp, names[k], sizeof names[k]);
        w[k].name = names[k];
        w[k].dtype = ST_F32;
        w[k].ndim = mp->ndim;
        w[k].shape = mp->shape;
        w[k].data = bufs[k];
        k++;
    }
    if (st == PF_OK) {
        char path[1024];
        path_join(path, sizeof path, dir, "adapter.safetensors");
        const char *meta[] = {"format", "bipeft"};
        st = st_write(path, w, k, meta, 1, err);
    }
    for (int i = 0; i < n; i++)
        xfree(bufs[i]);
    xfree(bufs);
    xfree(names);
    xfree(w);
    return st;
}

pf_status run_load_weights(const char *dir, struct model *m, struct peft *p, int head, int full,
                           struct pf_err *err) {
    char path[1024];
    path_join(path, sizeof path, dir, "adapter.safetensors");
    struct st_file f;
    pf_status st = st_open(&f, path, err);
    if (st != PF_OK)
        return st;
    if (p)
        st = peft_load_tensors(p, &f, err);
    for (int i = 0; i < m->n_params && st == PF_OK; i++) {
        struct model_param *mp = &m->params[i];
        if (!want_param(mp, head, full))
            continue;
        char name[128];
        model_param_full_name(m, mp, name, sizeof name);
        const struct st_info *t = st_find(&f, name);
        int64_t numel = model_param_numel(mp);
        if (!t) {
            st = pf_err_set(err, PF_ERR_FORMAT, "%s: tensor '%s' is missing", path, name);
            break;
        }
        if (t->numel != numel) {
            st = pf_err_set(err, PF_ERR_FORMAT, "%s: tensor '%s' has %lld elements, the model "
                            "needs %lld", path, name, (long long)t->numel, (long long)numel);
            break;
        }
        float *buf = xmalloc((size_t)(numel ? numel : 1) * sizeof(float));
        st = st_read_f32(&f, t, buf, numel, err);
        if (st == PF_OK)
            model_param_set(m, mp, buf);
        xfree(buf);
    }
    st_close(&f);
    return st;
}

pf_status run_attach(const char *dir, const struct run_info *ri, struct model *m, struct peft *p,
                     struct pf_err *err) {
    pf_status st = PF_OK;
    if (!ri->full) {
        char path[1024];
        struct peft_spec *s = NULL;
        int n = 0;
        path_join(path, sizeof path, dir, "structure.json");
        st = peft_structure_read(path, &s, &n, err);
        if (st == PF_OK)
            st = peft_add_specs(p, s, n, ri->seed, path, err);
        xfree(s);
    }
    if (st == PF_OK)
        st = run_load_weights(dir, m, ri->full ? NULL : p, ri->head, ri->full, err);
    return st;
}

pf_status run_open(const char *dir, struct backend *be, struct model *m, struct peft *p,
                   struct run_info *ri, struct pf_err *err) {
    memset(m, 0, sizeof *m);
    memset(p, 0, sizeof *p);
    pf_status st = run_info_read(dir, ri, err);
    if (st != PF_OK)
        return st;
    struct model_load_opts o = {.head = HEAD_SEQ_CLS, .n_labels = ri->num_labels,
                                .seed = ri->seed, .reinit_mismatched_head = 1};
    struct model_load_info info;
    st = model_load(m, ri->model_path, be, &o, &info, err);
    if (st != PF_OK)
        return st;
    m->cfg.regression = ri->regression;
    if (ri->random_init)
        model_init_params(m, ri->seed ^ RUN_RANDOM_INIT_STREAM, 0);
    st = peft_init(p, m, ri->seed, err);
    if (st == PF_OK)
        st = run_attach(dir, ri, m, p, err);
    if (st != PF_OK) {
        peft_free(p);
        model_free(m);
    }
    return st;
}
