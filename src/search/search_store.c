/* search_store.c - the sessions under a root folder (search_store.h): a directory scan and
 * the meta table of each session's log.db. */
#include "search/search_store.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "search/search_log.h"
#include "util/xalloc.h"

static const char *const key_names[SSK_COUNT] = {
    "created", "task", "model", "method", "budget", "metric", "params", "dev",
    "test", "search_seconds", "retrain_seconds", "status", "pid",
};
static const int key_numeric[SSK_COUNT] = {
    [SSK_BUDGET] = 1, [SSK_PARAMS] = 1, [SSK_DEV] = 1, [SSK_TEST] = 1,
    [SSK_SEARCH_SECONDS] = 1, [SSK_RETRAIN_SECONDS] = 1, [SSK_PID] = 1,
};

const char *search_store_key_name(int k) {
    return k >= 0 && k < SSK_COUNT ? key_names[k] : NULL;
}

int search_store_key_numeric(int k) { return k >= 0 && k < SSK_COUNT && key_numeric[k]; }

int search_store_parse_num(const char *s, double *out) {
    char *end;
    if (!s || !*s)
        return 0;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

/* "searching"/"retraining" with a dead pid is "interrupted". */
static void resolve_status(struct search_store_session *r) {
    const char *st = r->meta[SSK_STATUS];
    snprintf(r->status, sizeof r->status, "%s", st[0] ? st : "-");
    if (strcmp(st, "searching") && strcmp(st, "retraining"))
        return;
    char *end;
    long pid = strtol(r->meta[SSK_PID], &end, 10);
    if (r->meta[SSK_PID][0] && !*end && pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        snprintf(r->status, sizeof r->status, "interrupted");
}

void search_store_read(const char *dir, const char *id, struct search_store_session *r,
                       struct pf_err *err) {
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    struct pf_err e = {0};
    struct search_log *lg = NULL;
    pf_status st = search_log_open(dir, 0, &lg, &e);
    for (int k = 0; k < SSK_COUNT && st == PF_OK; k++)
        st = search_log_get_meta(lg, key_names[k], r->meta[k], SEARCH_STORE_VAL, &e);
    search_log_close(lg);
    if (st != PF_OK) {
        memset(r->meta, 0, sizeof r->meta);
        snprintf(r->status, sizeof r->status, "unreadable");
        r->unreadable = 1;
        if (err)
            *err = e;
        return;
    }
    resolve_status(r);
}

static int has_log(const char *root, const char *name) {
    char p[4096];
    struct stat sb;
    if (snprintf(p, sizeof p, "%s/%s", root, name) >= (int)sizeof p || stat(p, &sb) != 0 ||
        !S_ISDIR(sb.st_mode))
        return 0;
    snprintf(p, sizeof p, "%s/%s/log.db", root, name);
    return stat(p, &sb) == 0;
}

pf_status search_store_scan(const char *root, struct search_store_list *l,
                            struct pf_err *err) {
    memset(l, 0, sizeof *l);
    DIR *d = opendir(root);
    if (!d) {
        if (errno == ENOENT)
            return PF_OK;
        return pf_err_set(err, PF_ERR_IO, "%s: cannot list: %s", root, strerror(errno));
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !has_log(root, e->d_name))
            continue;
        if (l->n == l->cap) {
            l->cap = l->cap ? 2 * l->cap : 8;
            l->s = xrealloc(l->s, (size_t)l->cap * sizeof *l->s);
        }
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
        search_store_read(dir, e->d_name, &l->s[l->n++], NULL);
    }
    closedir(d);
    return PF_OK;
}

static int cmp_oldest(const void *a, const void *b) {
    const struct search_store_session *x = a, *y = b;
    int c = strcmp(x->meta[SSK_CREATED], y->meta[SSK_CREATED]);
    return c ? c : strcmp(x->id, y->id);
}

static int cmp_newest(const void *a, const void *b) { return cmp_oldest(b, a); }

void search_store_sort(struct search_store_list *l, int newest_first) {
    if (l->n > 1)
        qsort(l->s, (size_t)l->n, sizeof *l->s, newest_first ? cmp_newest : cmp_oldest);
}

void search_store_list_free(struct search_store_list *l) {
    xfree(l->s);
    memset(l, 0, sizeof *l);
}
