/* test_cli_sessions.c - `bipeft sessions`: the table of fabricated sessions (made with
 * search_log_open + set_meta), the interrupted and unreadable statuses, --json, an empty
 * root, and `sessions diff` of two structure files. Runs the binary named by $BIPEFT_BIN. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "search_fixture.h"
#include "search/search_log.h"

static char out[16384], errb[4096];

static void tmp_dir(char *dir, size_t n) {
    snprintf(dir, n, "/tmp/bipeft_sess_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void rm_dir(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}


/* The pid of a process that has exited (and been reaped). */
static pid_t dead_pid(void) {
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(0);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return pid;
}

static int sessions(const char *a, const char *b, const char *c) {
    const char *args[] = {"sessions", a, b, c, NULL};
    return check_run_argv(args, out, sizeof out, errb, sizeof errb);
}

/* The line of out that starts with `id ` (NULL if none), copied into line. */
static const char *row_of(const char *id, char *line, size_t n) {
    size_t len = strlen(id);
    for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (!strncmp(p, id, len) && p[len] == ' ') {
            const char *e = strchr(p, '\n');
            snprintf(line, n, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
            return line;
        }
    }
    return NULL;
}

static void fill_root(const char *root) {
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)dead_pid());
    /* "b-run" was created first: it is listed first despite its name */
    const char *const b[] = {"created", "2024-03-01T09:00:00", "task", "sst2", "model",
                             "/models/bert-base-uncased/", "method", "bipeft", "budget",
                             "0.0144", "metric", "accuracy", "params", "294912", "dev",
                             "0.91743", "test", "0.9", "search_seconds", "83.4", "status",
                             "done", "pid", "1", NULL};
    const char *const a[] = {"created", "2024-03-02T10:00:00", "task", "rte", "model",
                             "models/roberta", "method", "bipeft", "status", "searching",
                             "pid", pid, "search_seconds", "3725", NULL};
    search_fixture_session_meta(root, "b-run", b);
    search_fixture_session_meta(root, "a-run", a);
}

Test(cli_sessions, empty_and_missing_root) {
    char root[64];
    tmp_dir(root, sizeof root);
    cr_assert_eq(sessions(root, NULL, NULL), 0, "stderr: %s", errb);
    char want[128];
    snprintf(want, sizeof want, "no sessions in %s\n", root);
    cr_assert_str_eq(out, want);
    /* a folder without log.db is not a session */
    char sub[128];
    snprintf(sub, sizeof sub, "%s/notes", root);
    cr_assert_eq(mkdir(sub, 0777), 0);
    cr_assert_eq(sessions(root, NULL, NULL), 0);
    cr_assert_str_eq(out, want);
    cr_assert_eq(sessions(sub, NULL, NULL), 0);
    /* a root that does not exist is an error (issue 19, item 10), not "no sessions" */
    cr_assert_eq(sessions("/nonexistent/bipeft/root", NULL, NULL), 2);
    cr_assert(strstr(errb, "/nonexistent/bipeft/root: No such file or directory"), "%s", errb);
    cr_assert_eq(sessions(root, "--json", NULL), 0);
    cr_assert_str_eq(out, "[]\n");
    rm_dir(root);
}

Test(cli_sessions, table_of_two_sessions) {
    char root[64];
    tmp_dir(root, sizeof root);
    fill_root(root);
    cr_assert_eq(sessions(root, NULL, NULL), 0, "stderr: %s", errb);
    cr_assert(!strncmp(out, "id ", 3), "%s", out);
    const char *header = out, *pb = strstr(out, "\nb-run"), *pa = strstr(out, "\na-run");
    cr_assert(pb && pa && pb < pa, "sorted by created:\n%s", out);
    cr_assert(strstr(header, "status") && strstr(header, "time"), "%s", out);
    char line[1024];
    cr_assert_not_null(row_of("b-run", line, sizeof line), "%s", out);
    const char *want_b[] = {"sst2", " bert-base-uncased ", "bipeft", "0.0144", "294912",
                            "accuracy", "0.9174", "0.9000", "1m23s", " done"};
    for (size_t i = 0; i < sizeof want_b / sizeof *want_b; i++)
        cr_assert(strstr(line, want_b[i]), "'%s' not in: %s", want_b[i], line);
    cr_assert_not_null(row_of("a-run", line, sizeof line), "%s", out);
    cr_assert(strstr(line, " roberta ") && strstr(line, "1h02m05s") &&
              strstr(line, "interrupted") && strstr(line, " - "), "%s", line);
    /* columns line up: "status" starts where each row's status does */
    size_t col = (size_t)(strstr(out, "status") - out);
    const char *rb = pb + 1;
    cr_assert(rb + col < strchr(rb, '\n') && !strncmp(rb + col, "done", 4), "%s", out);
    rm_dir(root);
}

Test(cli_sessions, live_pid_keeps_status_and_unreadable_row) {
    char root[64];
    tmp_dir(root, sizeof root);
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    const char *const live[] = {"status", "retraining", "pid", pid, "created", "2024", NULL};
    search_fixture_session_meta(root, "live", live);
    char bad[128];
    snprintf(bad, sizeof bad, "%s/broken", root);
    cr_assert_eq(mkdir(bad, 0777), 0);
    strcat(bad, "/log.db");
    FILE *f = fopen(bad, "w");
    cr_assert_not_null(f);
    fputs("this is not an SQLite database, just some garbage bytes\n", f);
    fclose(f);
    cr_assert_eq(sessions(root, NULL, NULL), 0, "stderr: %s", errb);
    char line[1024];
    cr_assert_not_null(row_of("live", line, sizeof line), "%s", out);
    cr_assert(strstr(line, "retraining") && !strstr(line, "interrupted"), "%s", line);
    cr_assert_not_null(row_of("broken", line, sizeof line), "%s", out);
    cr_assert(strstr(line, "unreadable"), "%s", line);
    rm_dir(root);
}

Test(cli_sessions, json_parses) {
    char root[64];
    tmp_dir(root, sizeof root);
    fill_root(root);
    cr_assert_eq(sessions("--json", root, NULL), 0, "stderr: %s", errb);
    cJSON *r = cJSON_Parse(out);
    cr_assert_not_null(r, "not JSON: %s", out);
    cr_assert(cJSON_IsArray(r));
    cr_assert_eq(cJSON_GetArraySize(r), 2);
    const cJSON *b = cJSON_GetArrayItem(r, 0), *a = cJSON_GetArrayItem(r, 1);
    cr_assert_str_eq(cJSON_GetObjectItem(b, "id")->valuestring, "b-run");
    cr_assert_str_eq(cJSON_GetObjectItem(b, "status")->valuestring, "done");
    cr_assert_str_eq(cJSON_GetObjectItem(b, "metric")->valuestring, "accuracy");
    cr_assert_float_eq(cJSON_GetObjectItem(b, "dev")->valuedouble, 0.91743, 1e-12);
    cr_assert_float_eq(cJSON_GetObjectItem(b, "params")->valuedouble, 294912, 0);
    cr_assert_str_eq(cJSON_GetObjectItem(a, "status")->valuestring, "interrupted");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(a, "dev")));
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(a, "model")));
    cJSON_Delete(r);
    rm_dir(root);
}

Test(cli_sessions, bad_usage_exits_2) {
    cr_assert_eq(sessions("--frob", NULL, NULL), 2);
    cr_assert(strstr(errb, "bipeft: sessions: unknown option '--frob'"), "%s", errb);
    cr_assert_eq(sessions("a", "b", NULL), 2);
    cr_assert(strstr(errb, "bipeft: sessions: "), "%s", errb);
    cr_assert_eq(sessions("diff", "only-one", NULL), 2);
    cr_assert(strstr(errb, "usage: bipeft sessions diff A B"), "%s", errb);
}

static const char *structure_a =
    "{\"format\": \"bipeft-structure\", \"version\": 1,"
    " \"model\": {\"family\": \"bert\", \"hidden\": 8, \"layers\": 2}, \"params\": 999,"
    " \"modules\": ["
    "  {\"kind\": \"ln\", \"layer\": -1, \"target\": \"final_ln\", \"params\": 8},"
    "  {\"kind\": \"lora\", \"layer\": 1, \"target\": \"v\", \"rank\": 4, \"params\": 64},"
    "  {\"kind\": \"lora\", \"layer\": 0, \"target\": \"q\", \"rank\": 2, \"params\": 32},"
    "  {\"kind\": \"lora\", \"layer\": 0, \"target\": \"v\", \"rank\": 8, \"params\": 128},"
    "  {\"kind\": \"ia3\", \"layer\": 1, \"target\": \"ffn\", \"params\": 12}]}";
static const char *structure_b =
    "{\"format\": \"bipeft-structure\", \"version\": 1,"
    " \"model\": {\"family\": \"bert\", \"hidden\": 8, \"layers\": 2}, \"params\": 152,"
    " \"modules\": ["
    "  {\"kind\": \"lora\", \"layer\": 0, \"target\": \"q\", \"rank\": 2, \"params\": 32},"
    "  {\"kind\": \"lora\", \"layer\": 0, \"target\": \"v\", \"rank\": 4, \"params\": 64},"
    "  {\"kind\": \"bitfit\", \"layer\": 10, \"target\": \"o\", \"params\": 8},"
    "  {\"kind\": \"lora\", \"layer\": 1, \"target\": \"k\", \"rank\": 3, \"params\": 48}]}";

static void write_file(const char *dir, const char *name, const char *text) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    cr_assert(mkdir(dir, 0777) == 0 || access(dir, F_OK) == 0);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f, "%s", p);
    fputs(text, f);
    fclose(f);
}

Test(cli_sessions, diff_of_two_structures) {
    char root[64], a[128], b[128];
    tmp_dir(root, sizeof root);
    snprintf(a, sizeof a, "%s/a", root);
    snprintf(b, sizeof b, "%s/b", root);
    write_file(a, "structure.json", structure_a);
    write_file(b, "structure.json", structure_b);
    cr_assert_eq(sessions("diff", a, b), 0, "stderr: %s", errb);
    /* sorted by layer (final last), kind, target; columns fit the widest cell */
    char want[1024];
    snprintf(want, sizeof want,
             "A: %s/structure.json\n"
             "B: %s/structure.json\n"
             "module        A   B\n"
             "L0.lora.q     2   2   =\n"
             "L0.lora.v     8   4   <>\n"
             "L1.lora.k     -   3   B only\n"
             "L1.lora.v     4   -   A only\n"
             "L1.ia3.ffn    on  -   A only\n"
             "L10.bitfit.o  -   on  B only\n"
             "final.ln      on  -   A only\n"
             "total: A 5 modules, 244 params; B 4 modules, 152 params\n", a, b);
    cr_assert_str_eq(out, want);
    /* a structure file given directly works too */
    char fa[160];
    snprintf(fa, sizeof fa, "%s/structure.json", a);
    cr_assert_eq(sessions("diff", fa, fa), 0, "stderr: %s", errb);
    cr_assert(!strstr(out, "<>") && !strstr(out, "only"), "%s", out);
    rm_dir(root);
}

Test(cli_sessions, diff_missing_or_bad_structure_exits_2) {
    char root[64], a[128], b[128];
    tmp_dir(root, sizeof root);
    snprintf(a, sizeof a, "%s/a", root);
    snprintf(b, sizeof b, "%s/b", root);
    write_file(a, "structure.json", structure_a);
    cr_assert_eq(sessions("diff", a, b), 2);
    char want[200];
    snprintf(want, sizeof want, "bipeft: sessions: %s/structure.json: cannot open", b);
    cr_assert(strstr(errb, want), "%s", errb);
    write_file(b, "structure.json", "{\"format\": \"bipeft-structure\", \"version\": 1, "
                                    "\"modules\": [{\"kind\": \"lora\", \"layer\": 0}]}");
    cr_assert_eq(sessions("diff", a, b), 2);
    cr_assert(strstr(errb, "structure.json: modules[0].target"), "%s", errb);
    write_file(b, "structure.json", "not json");
    cr_assert_eq(sessions("diff", b, a), 2);
    cr_assert(strstr(errb, "structure.json: not valid JSON"), "%s", errb);
    rm_dir(root);
}
