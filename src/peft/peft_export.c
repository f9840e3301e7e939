/* peft_export.c - `bipeft export`: the dispatcher, the output folder, file copies, the
 * native format and where each target lives in an HF model (peft_export.h). */
#include "peft/peft_export.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/atomic.h"
#include "util/xalloc.h"
#include "util/file.h"

pf_status export_format_parse(const char *s, enum export_format *out, struct pf_err *err) {
    if (!strcmp(s, "peft"))
        *out = EXPORT_PEFT;
    else if (!strcmp(s, "merged"))
        *out = EXPORT_MERGED;
    else if (!strcmp(s, "native"))
        *out = EXPORT_NATIVE;
    else
        return pf_err_set(err, PF_ERR_ARG, "--format: unknown format '%s' (expected peft, "
                          "merged or native)", s);
    return PF_OK;
}

pf_status peft_export(const char *run_dir, struct backend *be, enum export_format fmt,
                      const char *out_dir, struct pf_err *err) {
    struct model m;
    struct peft p;
    struct run_info ri;
    pf_status st = run_open(run_dir, be, &m, &p, &ri, err);
    if (st != PF_OK)
        return st;
    switch (fmt) {
    case EXPORT_NATIVE: st = peft_export_native(run_dir, out_dir, err); break;
    case EXPORT_MERGED: st = peft_export_merged(&m, &p, &ri, out_dir, err); break;
    default: st = peft_export_peft(&m, &p, &ri, out_dir, err); break;
    }
    peft_free(&p);
    model_free(&m);
    return st;
}

/* ---- the output folder ---- */

/* 1 when name is base + sep + six characters of mkstemp/mkdtemp's alphabet. */
static int temp_name(const char *name, const char *base, size_t nb, const char *sep) {
    size_t ns = strlen(sep), n = strlen(name);
    if (n != nb + ns + 6 || strncmp(name, base, nb) || strncmp(name + nb, sep, ns))
        return 0;
    for (const char *c = name + nb + ns; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
            return 0;
    return 1;
}

/* What an export killed before it could clean up (SIGKILL, a power cut) left next to or in
 * final: "FINAL.tmp-XXXXXX" folders (a staged export) and "NAME.tmp.XXXXXX" files in an
 * existing FINAL (an atomic write). Removed before a new export of the same folder. */
static void remove_stale(const char *final) {
    char parent[1024];
    snprintf(parent, sizeof parent, "%s", final);
    char *slash = strrchr(parent, '/');
    const char *base = slash ? slash + 1 : final;
    if (slash)
        *slash = '\0';
    struct export_dir stale;
    DIR *d = opendir(slash ? (parent[0] ? parent : "/") : ".");
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!temp_name(e->d_name, base, strlen(base), ".tmp-"))
            continue;
        memset(&stale, 0, sizeof stale);
        if (snprintf(stale.work, sizeof stale.work, "%s/%s",
                     slash ? (parent[0] ? parent : "") : ".", e->d_name) >=
            (int)sizeof stale.work)
            continue;
        stale.staged = 1;
        export_dir_abort(&stale);
    }
    if (d)
        closedir(d);
    d = opendir(final);
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 12 || strncmp(e->d_name + n - 11, ".tmp.", 5))
            continue;
        if (!temp_name(e->d_name, e->d_name, n - 11, ".tmp."))
            continue;
        char p[1400];
        if (snprintf(p, sizeof p, "%s/%s", final, e->d_name) < (int)sizeof p)
            unlink(p);
    }
    if (d)
        closedir(d);
}

pf_status export_dir_open(struct export_dir *d, const char *out_dir, struct pf_err *err) {
    memset(d, 0, sizeof *d);
    size_t n = strlen(out_dir);
    while (n > 1 && out_dir[n - 1] == '/')
        n--;
    if (n == 0 || n >= sizeof d->final)
        return pf_err_set(err, PF_ERR_ARG, "--out: expected a folder path shorter than %zu "
                          "bytes", sizeof d->final);
    memcpy(d->final, out_dir, n);
    d->final[n] = '\0';
    remove_stale(d->final);
    struct stat sb;
    if (stat(d->final, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode))
            return pf_err_set(err, PF_ERR_IO, "%s: exists and is not a folder", d->final);
        snprintf(d->work, sizeof d->work, "%s", d->final);
        return PF_OK;
    }
    char parent[1024];
    snprintf(parent, sizeof parent, "%s", d->final);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        pf_status st = atomic_mkdirs(parent, err);
        if (st != PF_OK)
            return st;
    }
    snprintf(d->work, sizeof d->work, "%s.tmp-XXXXXX", d->final);
    if (!mkdtemp(d->work))
        return pf_err_set(err, PF_ERR_IO, "%s: cannot create a temporary folder: %s", d->work,
                          strerror(errno));
    if (chmod(d->work, (mode_t)file_mode_for_dir()) != 0) { /* mkdtemp makes it 0700 */
        pf_status st = pf_err_set(err, PF_ERR_IO, "%s: chmod failed: %s", d->work,
                                  strerror(errno));
        rmdir(d->work);
        return st;
    }
    d->staged = 1;
    return PF_OK;
}

void export_dir_path(const struct export_dir *d, const char *name, char *buf, size_t n) {
    snprintf(buf, n, "%s/%s", d->work, name);
}

pf_status export_dir_commit(struct export_dir *d, struct pf_err *err) {
    if (!d->staged)
        return PF_OK;
    if (rename(d->work, d->final) != 0) {
        pf_status st = pf_err_set(err, PF_ERR_IO, "%s: cannot rename %s into place: %s",
                                  d->final, d->work, strerror(errno));
        export_dir_abort(d);
        return st;
    }
    d->staged = 0;
    return atomic_sync_dir(d->final, err);
}

void export_dir_abort(struct export_dir *d) {
    if (!d->staged)
        return;
    DIR *dir = opendir(d->work);
    if (dir) {
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char path[1400];
            snprintf(path, sizeof path, "%s/%s", d->work, e->d_name);
            unlink(path);
        }
        closedir(dir);
    }
    rmdir(d->work);
    d->staged = 0;
}

pf_status export_write_text(const char *path, const char *txt, struct pf_err *err) {
    size_t n = strlen(txt);
    char *buf = xmalloc(n + 2);
    memcpy(buf, txt, n);
    buf[n] = '\n';
    pf_status st = atomic_write(path, buf, n + 1, err);
    xfree(buf);
    return st;
}

pf_status export_copy_file(const char *src, const char *dst, struct pf_err *err) {
    int in = open(src, O_RDONLY);
    if (in < 0)
        return pf_err_set(err, PF_ERR_IO, "%s: cannot open: %s", src, strerror(errno));
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", dst);
    int out = mkstemp(tmp);
    if (out < 0) {
        close(in);
        return pf_err_set(err, PF_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    pf_status st = PF_OK;
    if (fchmod(out, (mode_t)file_mode_for_file()) != 0) /* mkstemp makes it 0600 */
        st = pf_err_set(err, PF_ERR_IO, "%s: chmod failed: %s", tmp, strerror(errno));
    char *buf = xmalloc(1 << 16);
    for (; st == PF_OK;) {
        ssize_t r = read(in, buf, 1 << 16);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = pf_err_set(err, PF_ERR_IO, "%s: read failed: %s", src, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        for (ssize_t o = 0; o < r && st == PF_OK;) {
            ssize_t w = write(out, buf + o, (size_t)(r - o));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                st = pf_err_set(err, PF_ERR_IO, "%s: write failed: %s", dst, strerror(errno));
            else
                o += w;
        }
        if (st != PF_OK)
            break;
    }
    xfree(buf);
    close(in);
    if (st == PF_OK && fsync(out) != 0)
        st = pf_err_set(err, PF_ERR_IO, "%s: write failed: %s", dst, strerror(errno));
    if (close(out) != 0 && st == PF_OK)
        st = pf_err_set(err, PF_ERR_IO, "%s: write failed: %s", dst, strerror(errno));
    if (st == PF_OK && rename(tmp, dst) != 0)
        st = pf_err_set(err, PF_ERR_IO, "%s: cannot rename into place: %s", dst,
                        strerror(errno));
    if (st != PF_OK)
        unlink(tmp);
    else
        st = atomic_sync_dir(dst, err);
    return st;
}

/* ---- native ---- */

pf_status peft_export_native(const char *run_dir, const char *out_dir, struct pf_err *err) {
    /* summary.json marks a finished run (run_check_finished): the copy of an unfinished one
     * (exported with --partial) stays unfinished */
    static const char *const files[] = {"run.json", "structure.json", "adapter.safetensors",
                                        "summary.json"};
    struct export_dir d;
    pf_status st = export_dir_open(&d, out_dir, err);
    for (int i = 0; i < 4 && st == PF_OK; i++) {
        char src[1100], dst[1200];
        snprintf(src, sizeof src, "%s/%s", run_dir, files[i]);
        if ((i == 1 || i == 3) && access(src, F_OK) != 0)
            continue; /* full fine-tuning runs have no structure */
        export_dir_path(&d, files[i], dst, sizeof dst);
        st = export_copy_file(src, dst, err);
    }
    if (st == PF_OK)
        return export_dir_commit(&d, err);
    export_dir_abort(&d);
    return st;
}

/* ---- where targets live ---- */

static const char *site_name(enum model_family f, enum cfg_target t, int *norm) {
    static const char *const enc[CFG_T_COUNT] = {
        [CFG_T_Q] = "attention.self.query", [CFG_T_K] = "attention.self.key",
        [CFG_T_V] = "attention.self.value", [CFG_T_O] = "attention.output.dense",
        [CFG_T_FFN_UP] = "intermediate.dense", [CFG_T_FFN_DOWN] = "output.dense",
        [CFG_T_ATTN_LN] = "attention.output.LayerNorm", [CFG_T_FFN_LN] = "output.LayerNorm"};
    static const char *const gpt2[CFG_T_COUNT] = {
        [CFG_T_Q] = "attn.c_attn", [CFG_T_K] = "attn.c_attn", [CFG_T_V] = "attn.c_attn",
        [CFG_T_O] = "attn.c_proj", [CFG_T_FFN_UP] = "mlp.c_fc", [CFG_T_FFN_DOWN] = "mlp.c_proj",
        [CFG_T_ATTN_LN] = "ln_1", [CFG_T_FFN_LN] = "ln_2"};
    static const char *const llama[CFG_T_COUNT] = {
        [CFG_T_Q] = "self_attn.q_proj", [CFG_T_K] = "self_attn.k_proj",
        [CFG_T_V] = "self_attn.v_proj", [CFG_T_O] = "self_attn.o_proj",
        [CFG_T_FFN_UP] = "mlp.up_proj", [CFG_T_FFN_DOWN] = "mlp.down_proj",
        [CFG_T_FFN_GATE] = "mlp.gate_proj", [CFG_T_ATTN_LN] = "input_layernorm",
        [CFG_T_FFN_LN] = "post_attention_layernorm"};
    if ((unsigned)t >= CFG_T_COUNT)
        return NULL;
    *norm = t == CFG_T_ATTN_LN || t == CFG_T_FFN_LN;
    return f == FAM_GPT2 ? gpt2[t] : f == FAM_LLAMA ? llama[t] : enc[t];
}

static const char *layer_prefix(enum model_family f) {
    return f == FAM_GPT2 ? "h." : f == FAM_LLAMA ? "layers." : "encoder.layer.";
}

pf_status export_site(const struct model *m, enum cfg_target t, int layer, int down_in,
                      struct export_site *s, struct pf_err *err) {
    memset(s, 0, sizeof *s);
    enum model_family f = m->cfg.family;
    if (down_in)
        t = CFG_T_FFN_DOWN;
    const char *name = site_name(f, t, &s->norm);
    if (t == CFG_T_FINAL_LN) { /* the model-level norm: no layer */
        s->norm = 1;
        snprintf(s->path, sizeof s->path, "%s", f == FAM_GPT2    ? "ln_f"
                                                : f == FAM_LLAMA ? "norm"
                                                                 : "embeddings.LayerNorm");
    } else if (!name) {
        return pf_err_set(err, PF_ERR_UNSUPPORTED, "export: target %s has no single HF module",
                          script_target_name(t));
    } else {
        snprintf(s->path, sizeof s->path, "%s%d.%s", layer_prefix(f), layer, name);
    }
    struct model *mm = (struct model *)m;
    snprintf(s->w, sizeof s->w, "%s.weight", s->path);
    snprintf(s->b, sizeof s->b, "%s.bias", s->path);
    if (!model_find_param(mm, s->w))
        return pf_err_set(err, PF_ERR_FORMAT, "export: the model has no parameter %s", s->w);
    if (!model_find_param(mm, s->b))
        s->b[0] = '\0';
    s->in_out = f == FAM_GPT2 && !s->norm;
    if (f == FAM_GPT2 && (t == CFG_T_Q || t == CFG_T_K || t == CFG_T_V))
        s->off = (int64_t)(t - CFG_T_Q) * m->cfg.hidden;
    return PF_OK;
}

