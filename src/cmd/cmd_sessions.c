/* cmd_sessions.c - `bipeft sessions [ROOT] [--json]`: one row per past run, i.e. per subfolder
 * of ROOT (default "sessions") that has a log.db, from the meta table of its session log
 * (search/search_log.h), sorted by the meta key "created" then by folder name. A run whose
 * status is "searching" or "retraining" but whose process is gone shows "interrupted"; a
 * log.db that cannot be opened shows "unreadable". `bipeft sessions diff A B` is
 * cmd_sessions_diff.c. Exit 0, 1 on a run-time failure, 2 for bad usage. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "cmd/cmd.h"
#include "search/search_log.h"
#include "util/xalloc.h"

static const char *usage = "usage: bipeft sessions [ROOT] [--json] | bipeft sessions diff A B";

/* The meta keys read per session (search_log.h lists what the engine writes). */
enum sess_key {
    SK_CREATED, SK_TASK, SK_MODEL, SK_METHOD, SK_BUDGET, SK_METRIC, SK_PARAMS, SK_DEV,
    SK_TEST, SK_SEARCH_SECONDS, SK_RETRAIN_SECONDS, SK_STATUS, SK_PID, SK_COUNT
};
static const char *const key_names[SK_COUNT] = {
    "created", "task", "model", "method", "budget", "metric", "params", "dev",
    "test", "search_seconds", "retrain_seconds", "status", "pid",
};
/* Keys printed as JSON numbers when their text is one. */
static const int key_numeric[SK_COUNT] = {
    [SK_BUDGET] = 1, [SK_PARAMS] = 1, [SK_DEV] = 1, [SK_TEST] = 1,
    [SK_SEARCH_SECONDS] = 1, [SK_RETRAIN_SECONDS] = 1, [SK_PID] = 1,
};

#define SESS_VAL 1024

struct sess_row {
    char id[256];
    char status[SESS_VAL];     /* what is shown: meta status, "interrupted" or "unreadable" */
    char meta[SK_COUNT][SESS_VAL];
};

struct sess_list {
    struct sess_row *rows;
    int n, cap;
};

/* The whole text is a finite number. */
static int parse_num(const char *s, double *out) {
    char *end;
    if (!*s)
        return 0;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

/* "searching"/"retraining" with a dead pid is "interrupted". */
static void resolve_status(struct sess_row *r) {
    const char *st = r->meta[SK_STATUS];
    snprintf(r->status, sizeof r->status, "%s", st[0] ? st : "-");
    if (strcmp(st, "searching") && strcmp(st, "retraining"))
        return;
    char *end;
    long pid = strtol(r->meta[SK_PID], &end, 10);
    if (r->meta[SK_PID][0] && !*end && pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        snprintf(r->status, sizeof r->status, "interrupted");
}

static void read_row(const char *root, const char *name, struct sess_row *r) {
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", name);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    struct pf_err err = {0};
    struct search_log *lg = NULL;
    pf_status st = search_log_open(dir, 0, &lg, &err);
    for (int k = 0; k < SK_COUNT && st == PF_OK; k++)
        st = search_log_get_meta(lg, key_names[k], r->meta[k], SESS_VAL, &err);
    search_log_close(lg);
    if (st != PF_OK) {
        memset(r->meta, 0, sizeof r->meta);
        snprintf(r->status, sizeof r->status, "unreadable");
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

/* Every session under root; 0 (and a message) when root exists but cannot be listed. */
static int collect(const char *root, struct sess_list *l) {
    DIR *d = opendir(root);
    if (!d) {
        if (errno == ENOENT)
            return 1;
        fprintf(stderr, "bipeft: sessions: %s: cannot list: %s\n", root, strerror(errno));
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !has_log(root, e->d_name))
            continue;
        if (l->n == l->cap) {
            l->cap = l->cap ? 2 * l->cap : 8;
            l->rows = xrealloc(l->rows, (size_t)l->cap * sizeof *l->rows);
        }
        read_row(root, e->d_name, &l->rows[l->n++]);
    }
    closedir(d);
    return 1;
}

static int row_cmp(const void *a, const void *b) {
    const struct sess_row *x = a, *y = b;
    int c = strcmp(x->meta[SK_CREATED], y->meta[SK_CREATED]);
    return c ? c : strcmp(x->id, y->id);
}

/* 83 -> "1m23s", 3725 -> "1h02m05s", 7 -> "7s". */
static void fmt_duration(const char *raw, char *buf, size_t n) {
    double v;
    if (!parse_num(raw, &v) || v < 0) {
        snprintf(buf, n, "%s", raw[0] ? raw : "-");
        return;
    }
    long long s = llround(v), h = s / 3600, m = s / 60 % 60;
    if (h)
        snprintf(buf, n, "%lldh%02lldm%02llds", h, m, s % 60);
    else if (m)
        snprintf(buf, n, "%lldm%02llds", m, s % 60);
    else
        snprintf(buf, n, "%llds", s);
}

static const char *basename_of(const char *path, char *buf, size_t n) {
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    snprintf(buf, n, "%.*s", (int)(len - start), path + start);
    return buf;
}

enum sess_col {
    SC_ID, SC_TASK, SC_MODEL, SC_METHOD, SC_BUDGET, SC_PARAMS, SC_METRIC, SC_DEV, SC_TEST,
    SC_TIME, SC_STATUS, SC_COUNT
};
static const char *const col_names[SC_COUNT] = {
    "id", "task", "model", "method", "budget", "params", "metric", "dev", "test", "time",
    "status",
};

static void cell(const struct sess_row *r, int c, char *buf, size_t n) {
    static const int plain[SC_COUNT] = {
        [SC_TASK] = SK_TASK, [SC_METHOD] = SK_METHOD, [SC_BUDGET] = SK_BUDGET,
        [SC_PARAMS] = SK_PARAMS, [SC_METRIC] = SK_METRIC,
    };
    double v;
    const char *raw = "";
    switch (c) {
    case SC_ID:
        snprintf(buf, n, "%s", r->id);
        return;
    case SC_STATUS:
        snprintf(buf, n, "%s", r->status);
        return;
    case SC_MODEL:
        if (r->meta[SK_MODEL][0])
            basename_of(r->meta[SK_MODEL], buf, n);
        else
            snprintf(buf, n, "-");
        return;
    case SC_TIME:
        fmt_duration(r->meta[SK_SEARCH_SECONDS], buf, n);
        return;
    case SC_DEV:
    case SC_TEST:
        raw = r->meta[c == SC_DEV ? SK_DEV : SK_TEST];
        if (parse_num(raw, &v))
            snprintf(buf, n, "%.4f", v);
        else
            snprintf(buf, n, "%s", raw[0] ? raw : "-");
        return;
    default:
        raw = r->meta[plain[c]];
        snprintf(buf, n, "%s", raw[0] ? raw : "-");
        return;
    }
}

/* Columns are left-aligned, two spaces apart; the last one is not padded. */
static void print_cell(const char *s, int width, int last) {
    if (last)
        printf("%s\n", s);
    else
        printf("%-*s  ", width, s);
}

static void print_table(const struct sess_list *l) {
    int w[SC_COUNT];
    char buf[SESS_VAL];
    for (int c = 0; c < SC_COUNT; c++)
        w[c] = (int)strlen(col_names[c]);
    for (int i = 0; i < l->n; i++)
        for (int c = 0; c < SC_COUNT; c++) {
            cell(&l->rows[i], c, buf, sizeof buf);
            if ((int)strlen(buf) > w[c])
                w[c] = (int)strlen(buf);
        }
    for (int c = 0; c < SC_COUNT; c++)
        print_cell(col_names[c], w[c], c + 1 == SC_COUNT);
    for (int i = 0; i < l->n; i++)
        for (int c = 0; c < SC_COUNT; c++) {
            cell(&l->rows[i], c, buf, sizeof buf);
            print_cell(buf, w[c], c + 1 == SC_COUNT);
        }
}

/* One JSON array; missing values are null, numeric ones numbers. 0 when out of memory. */
static int print_json(const char *root, const struct sess_list *l) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < l->n; i++) {
        const struct sess_row *r = &l->rows[i];
        cJSON *o = cJSON_CreateObject();
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", root, r->id);
        cJSON_AddStringToObject(o, "id", r->id);
        cJSON_AddStringToObject(o, "path", path);
        for (int k = 0; k < SK_COUNT; k++) {
            const char *v = k == SK_STATUS ? r->status : r->meta[k];
            double x;
            if (!v[0] || (k == SK_STATUS && !strcmp(v, "-")))
                cJSON_AddNullToObject(o, key_names[k]);
            else if (key_numeric[k] && parse_num(v, &x))
                cJSON_AddNumberToObject(o, key_names[k], x);
            else
                cJSON_AddStringToObject(o, key_names[k], v);
        }
        cJSON_AddItemToArray(arr, o);
    }
    char *txt = arr ? cJSON_Print(arr) : NULL;
    cJSON_Delete(arr);
    if (!txt) {
        fprintf(stderr, "bipeft: sessions: out of memory\n");
        return 0;
    }
    printf("%s\n", txt);
    free(txt);
    return 1;
}

int cmd_sessions(const struct cmd_ctx *ctx, int argc, char **argv) {
    if (argc > 0 && !strcmp(argv[0], "diff"))
        return cmd_sessions_diff(ctx, argc - 1, argv + 1);
    const char *root = NULL;
    int json = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "bipeft: sessions: unknown option '%s' (%s)\n", argv[i], usage);
            return 2;
        } else if (!root) {
            root = argv[i];
        } else {
            fprintf(stderr, "bipeft: sessions: unexpected argument '%s' (%s)\n", argv[i],
                    usage);
            return 2;
        }
    }
    if (!root)
        root = "sessions";
    struct sess_list l = {0};
    if (!collect(root, &l)) {
        xfree(l.rows);
        return 2;
    }
    int rc = 0;
    if (l.n > 1)
        qsort(l.rows, (size_t)l.n, sizeof *l.rows, row_cmp);
    if (json)
        rc = print_json(root, &l) ? 0 : 1;
    else if (l.n == 0)
        printf("no sessions in %s\n", root);
    else
        print_table(&l);
    xfree(l.rows);
    return rc;
}
