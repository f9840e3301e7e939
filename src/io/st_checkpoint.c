/* st_checkpoint.c - a Hugging Face checkpoint folder: one model.safetensors, or shards named
 * by model.safetensors.index.json. Every shard is validated as a file, and the weight_map and
 * the shards must agree exactly (rules in safetensors.h), so that a tensor name resolves to
 * one file and one tensor or to nothing. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "io/st_internal.h"
#include "util/xalloc.h"
#include "util/file.h"

#define INDEX_NAME "model.safetensors.index.json"
#define SINGLE_NAME "model.safetensors"
#define MAX_INDEX_BYTES (64u << 20)

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* 1: a regular file, 0: absent, -1: present but not a regular file or not stat-able. */
static int file_kind(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0)
        return errno == ENOENT ? 0 : -1;
    return S_ISREG(sb.st_mode) ? 1 : -1;
}

static int by_entry_name(const void *a, const void *b) {
    return strcmp(((const struct st_entry *)a)->name, ((const struct st_entry *)b)->name);
}

static int by_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static struct st_entry *find_entry(const struct st_checkpoint *c, const char *name) {
    struct st_entry key = {.name = name};
    return bsearch(&key, c->entries, (size_t)c->n, sizeof key, by_entry_name);
}

static pf_status open_single(struct st_checkpoint *c, const char *path, struct pf_err *err) {
    c->files = xcalloc(1, sizeof *c->files);
    pf_status st = st_open(&c->files[0], path, err);
    if (st != PF_OK)
        return st;
    c->nfiles = 1;
    const struct st_file *f = &c->files[0];
    c->n = f->n;
    c->entries = xcalloc((size_t)f->n, sizeof *c->entries);
    for (int i = 0; i < f->n; i++) /* f->t is sorted by name already */
        c->entries[i] = (struct st_entry){.name = f->t[i].name, .file = 0, .info = &f->t[i]};
    return PF_OK;
}

/* A shard must be a plain file name in dir: no path, not hidden, *.safetensors. */
static int shard_name_ok(const char *s) {
    size_t n = strlen(s);
    const char *ext = ".safetensors";
    size_t e = strlen(ext);
    return n > e && n <= 255 && s[0] != '.' && !strchr(s, '/') && !strchr(s, '\\') &&
           strcmp(s + n - e, ext) == 0;
}

/* Read the whole index (bounded) as a NUL-terminated string. */
static pf_status read_index(const char *path, char **text, size_t *len, struct pf_err *err) {
    const char *why = NULL;
    int fd = file_open_regular(path, &why);
    if (fd < 0)
        return pf_err_set(err, PF_ERR_IO, "%s: cannot open: %s", path, why);
    struct stat sb;
    pf_status st = PF_OK;
    if (fstat(fd, &sb) != 0)
        st = pf_err_set(err, PF_ERR_IO, "%s: %s", path, strerror(errno));
    else if ((uint64_t)sb.st_size > MAX_INDEX_BYTES)
        st = pf_err_set(err, PF_ERR_FORMAT, "%s: index is %" PRIu64 " bytes, limit %u", path,
                        (uint64_t)sb.st_size, MAX_INDEX_BYTES);
    if (st == PF_OK) {
        size_t n = (size_t)sb.st_size, got = 0;
        char *p = xmalloc(n + 1);
        if (st_pread(fd, p, n, 0, &got) != PF_OK || got != n) {
            st = pf_err_set(err, PF_ERR_IO, "%s: read failed: %s", path,
                            got != n ? "file changed while loading" : strerror(errno));
            xfree(p);
        } else {
            p[n] = '\0';
            *text = p;
            *len = n;
        }
    }
    close(fd);
    return st;
}

/* Parse the index into c->entries (name -> shard index; info NULL for now) and the list of
 * distinct shard names (*shards, sorted; pointers into *root). */
static pf_status parse_index(struct st_checkpoint *c, const char *ipath, cJSON **root,
                             const char ***shards, int *nshards, struct pf_err *err) {
    char *text = NULL;
    size_t len = 0;
    pf_status st = read_index(ipath, &text, &len, err);
    if (st != PF_OK)
        return st;
    struct st_scan sc;
    st = st_json_scan(ipath, "index", text, len, 64, SIZE_MAX, 4 * (size_t)ST_MAX_JSON_TOKENS,
                      &sc, err);
    st_scan_free(&sc);
    const cJSON *wm = NULL;
    if (st == PF_OK) {
        const char *end = NULL;
        *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
        if (!*root)
            st = pf_err_set(err, PF_ERR_FORMAT, "%s: not valid JSON (error near byte %zu)", ipath,
                            end && end >= text && end <= text + len ? (size_t)(end - text) : 0);
        else if (!cJSON_IsObject(*root))
            st = pf_err_set(err, PF_ERR_FORMAT, "%s: must be a JSON object", ipath);
    }
    if (st == PF_OK) {
        wm = cJSON_GetObjectItemCaseSensitive(*root, "weight_map");
        if (!cJSON_IsObject(wm))
            st = pf_err_set(err, PF_ERR_FORMAT, "%s: 'weight_map' is %s, must be an object",
                            ipath, wm ? "not an object" : "missing");
    }
    xfree(text);
    if (st != PF_OK)
        return st;

    int n = cJSON_GetArraySize(wm);
    c->entries = xcalloc((size_t)n, sizeof *c->entries);
    const char **names = xcalloc((size_t)n, sizeof *names);
    char q[ST_QBUF], q2[ST_QBUF];
    for (const cJSON *e = wm->child; e && st == PF_OK; e = e->next) {
        if (!cJSON_IsString(e))
            st = pf_err_set(err, PF_ERR_FORMAT, "%s: weight_map value for '%s' must be a string",
                            ipath, st_q(e->string, q, sizeof q));
        else if (!shard_name_ok(e->valuestring))
            st = pf_err_set(err, PF_ERR_FORMAT,
                            "%s: weight_map shard '%s' for '%s' must be a plain *.safetensors file "
                            "name in the folder",
                            ipath, st_q(e->valuestring, q, sizeof q), st_q(e->string, q2, sizeof q2));
        else {
            c->entries[c->n] = (struct st_entry){.name = e->string, .file = -1};
            names[c->n++] = e->valuestring;
        }
    }
    if (st == PF_OK && c->n == 0)
        st = pf_err_set(err, PF_ERR_FORMAT, "%s: weight_map is empty", ipath);
    if (st == PF_OK) {
        /* distinct shard names, then each entry's shard by binary search */
        const char **u = xmalloc((size_t)n * sizeof *u);
        memcpy(u, names, (size_t)c->n * sizeof *u);
        qsort(u, (size_t)c->n, sizeof *u, by_str);
        int k = 0;
        for (int i = 0; i < c->n; i++)
            if (k == 0 || strcmp(u[k - 1], u[i]) != 0)
                u[k++] = u[i];
        for (int i = 0; i < c->n; i++) {
            const char **hit = bsearch(&names[i], u, (size_t)k, sizeof *u, by_str);
            c->entries[i].file = (int)(hit - u);
        }
        *shards = u;
        *nshards = k;
        qsort(c->entries, (size_t)c->n, sizeof *c->entries, by_entry_name);
        for (int i = 1; i < c->n && st == PF_OK; i++)
            if (strcmp(c->entries[i - 1].name, c->entries[i].name) == 0)
                st = pf_err_set(err, PF_ERR_FORMAT, "%s: weight_map names '%s' twice", ipath,
                                st_q(c->entries[i].name, q, sizeof q));
    }
    xfree(names);
    return st;
}

static pf_status open_sharded(struct st_checkpoint *c, const char *ipath, struct pf_err *err) {
    cJSON *root = NULL;
    const char **shards = NULL;
    int nshards = 0;
    char q[ST_QBUF];
    pf_status st = parse_index(c, ipath, &root, &shards, &nshards, err);
    if (st == PF_OK)
        c->files = xcalloc((size_t)nshards, sizeof *c->files);
    for (int i = 0; i < nshards && st == PF_OK; i++) {
        char *p = join(c->dir, shards[i]);
        st = st_open(&c->files[i], p, err);
        if (st == PF_OK)
            c->nfiles++;
        xfree(p);
    }
    /* every shard tensor is mapped to its own shard, exactly once */
    for (int i = 0; i < c->nfiles && st == PF_OK; i++) {
        const struct st_file *f = &c->files[i];
        for (int j = 0; j < f->n && st == PF_OK; j++) {
            struct st_entry *e = find_entry(c, f->t[j].name);
            st_q(f->t[j].name, q, sizeof q);
            if (!e)
                st = pf_err_set(err, PF_ERR_FORMAT, "%s: tensor '%s' is not in the weight_map of %s",
                                f->path, q, INDEX_NAME);
            else if (e->file != i)
                st = pf_err_set(err, PF_ERR_FORMAT,
                                "%s: tensor '%s' is also here, but the weight_map puts it in %s "
                                "(one shard per tensor)",
                                f->path, q, shards[e->file]);
            else
                e->info = &f->t[j];
        }
    }
    for (int i = 0; i < c->n && st == PF_OK; i++) {
        struct st_entry *e = &c->entries[i];
        if (!e->info)
            st = pf_err_set(err, PF_ERR_FORMAT, "%s: weight_map puts '%s' in %s, which has no such "
                            "tensor", ipath, st_q(e->name, q, sizeof q), shards[e->file]);
        else
            e->name = e->info->name; /* from here on the cJSON tree is not needed */
    }
    xfree(shards);
    cJSON_Delete(root);
    return st;
}

pf_status st_checkpoint_open(struct st_checkpoint *c, const char *dir, struct pf_err *err) {
    memset(c, 0, sizeof *c);
    c->dir = xstrdup(dir);
    char *single = join(dir, SINGLE_NAME), *index = join(dir, INDEX_NAME);
    int ks = file_kind(single), ki = file_kind(index);
    pf_status st;
    if (ks < 0 || ki < 0)
        st = pf_err_set(err, PF_ERR_IO, "%s: not a readable regular file", ks < 0 ? single : index);
    else if (ks && ki)
        st = pf_err_set(err, PF_ERR_FORMAT, "%s: both %s and %s exist; keep one", dir, SINGLE_NAME,
                        INDEX_NAME);
    else if (!ks && !ki)
        st = pf_err_set(err, PF_ERR_IO, "%s: neither %s nor %s found", dir, SINGLE_NAME,
                        INDEX_NAME);
    else if (ks)
        st = open_single(c, single, err);
    else
        st = open_sharded(c, index, err);
    xfree(single);
    xfree(index);
    if (st != PF_OK)
        st_checkpoint_close(c);
    return st;
}

void st_checkpoint_close(struct st_checkpoint *c) {
    if (!c)
        return;
    for (int i = 0; i < c->nfiles; i++)
        st_close(&c->files[i]);
    xfree(c->files);
    xfree(c->entries);
    xfree(c->dir);
    memset(c, 0, sizeof *c);
}

const struct st_info *st_checkpoint_find(const struct st_checkpoint *c, const char *name,
                                         const struct st_file **file) {
    const struct st_entry *e = find_entry(c, name);
    if (file)
        *file = e ? &c->files[e->file] : NULL;
    return e ? e->info : NULL;
}
