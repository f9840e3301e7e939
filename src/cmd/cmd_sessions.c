/* cmd_sessions.c - `bipeft sessions [ROOT] [--json]`: one row per past run, i.e. per subfolder
 * of ROOT (default "sessions") that has a log.db, from the meta table of its session log
 * (search/search_log.h, read by search/search_store.h), sorted by the meta key "created" then by folder name. A run whose
 * status is "searching" or "retraining" but whose process is gone shows "interrupted"; a
 * log.db that cannot be opened shows "unreadable". `bipeft sessions diff A B` is
 * cmd_sessions_diff.c. Exit 0, 1 on a run-time failure, 2 for bad usage. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "search/search_store.h"

static const char *usage = "usage: bipeft sessions [ROOT] [--json] | bipeft sessions diff A B";

#define SESS_VAL SEARCH_STORE_VAL

static int parse_num(const char *s, double *out) { return search_store_parse_num(s, out); }

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

static void cell(const struct search_store_session *r, int c, char *buf, size_t n) {
    static const int plain[SC_COUNT] = {
        [SC_TASK] = SSK_TASK, [SC_METHOD] = SSK_METHOD, [SC_BUDGET] = SSK_BUDGET,
        [SC_PARAMS] = SSK_PARAMS, [SC_METRIC] = SSK_METRIC,
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
        if (r->meta[SSK_MODEL][0])
            basename_of(r->meta[SSK_MODEL], buf, n);
        else
            snprintf(buf, n, "-");
        return;
    case SC_TIME:
        fmt_duration(r->meta[SSK_SEARCH_SECONDS], buf, n);
        return;
    case SC_DEV:
    case SC_TEST:
        raw = r->meta[c == SC_DEV ? SSK_DEV : SSK_TEST];
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

static void print_table(const struct search_store_list *l) {
    int w[SC_COUNT];
    char buf[SESS_VAL];
    for (int c = 0; c < SC_COUNT; c++)
        w[c] = (int)strlen(col_names[c]);
    for (int i = 0; i < l->n; i++)
        for (int c = 0; c < SC_COUNT; c++) {
            cell(&l->s[i], c, buf, sizeof buf);
            if ((int)strlen(buf) > w[c])
                w[c] = (int)strlen(buf);
        }
    for (int c = 0; c < SC_COUNT; c++)
        print_cell(col_names[c], w[c], c + 1 == SC_COUNT);
    for (int i = 0; i < l->n; i++)
        for (int c = 0; c < SC_COUNT; c++) {
            cell(&l->s[i], c, buf, sizeof buf);
            print_cell(buf, w[c], c + 1 == SC_COUNT);
        }
}

/* One JSON array; missing values are null, numeric ones numbers. 0 when out of memory. */
static int print_json(const char *root, const struct search_store_list *l) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < l->n; i++) {
        const struct search_store_session *r = &l->s[i];
        cJSON *o = cJSON_CreateObject();
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", root, r->id);
        cJSON_AddStringToObject(o, "id", r->id);
        cJSON_AddStringToObject(o, "path", path);
        for (int k = 0; k < SSK_COUNT; k++) {
            const char *v = k == SSK_STATUS ? r->status : r->meta[k];
            double x;
            const char *key = search_store_key_name(k);
            if (!v[0] || (k == SSK_STATUS && !strcmp(v, "-")))
                cJSON_AddNullToObject(o, key);
            else if (search_store_key_numeric(k) && parse_num(v, &x))
                cJSON_AddNumberToObject(o, key, x);
            else
                cJSON_AddStringToObject(o, key, v);
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
    struct stat sb;
    if (stat(root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        /* the default root may not exist yet (no search run here): that is "no sessions" */
        if (strcmp(root, "sessions") != 0 || errno != ENOENT) {
            fprintf(stderr, "bipeft: sessions: %s: %s\n", root,
                    stat(root, &sb) != 0 ? strerror(errno) : "not a folder");
            return 2;
        }
    }
    struct search_store_list l;
    struct pf_err err = {0};
    if (search_store_scan(root, &l, &err) != PF_OK) {
        fprintf(stderr, "bipeft: sessions: %s\n", err.msg);
        return 2;
    }
    int rc = 0;
    search_store_sort(&l, 0);
    if (json)
        rc = print_json(root, &l) ? 0 : 1;
    else if (l.n == 0)
        printf("no sessions in %s\n", root);
    else
        print_table(&l);
    search_store_list_free(&l);
    return rc;
}
