/* test_ui_sessions.c - ui/ui_sessions.h: the sessions under a root, newest first, with their
 * meta (fabricated logs; a folder without a log.db is skipped, a broken log.db flagged), the
 * cells of the list, and the comparison of two sessions' structure.json files. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "search_fixture.h"
#include "search/search_log.h"
#include "ui_sessions.h"


static const char *root_dir(const char *name) {
    static char root[700];
    snprintf(root, sizeof root, "%s/%s", check_temp_dir(), name);
    cr_assert_eq(mkdir(root, 0777), 0);
    return root;
}

Test(ui_sessions, newest_first_with_meta) {
    const char *root = root_dir("list");
    const char *const old[] = {"created", "2024-03-01T09:00:00", "task", "sst2", "method",
                               "bipeft", "budget", "1440", "params", "1432", "metric",
                               "accuracy", "test", "0.9", "status", "done", NULL};
    const char *const new[] = {"created", "2024-03-02T10:30:00", "task", "rte", "method",
                               "s3delta", "budget", "2000000", "status", "done", NULL};
    search_fixture_session_meta(root, "zz-old", old);
    search_fixture_session_meta(root, "aa-new", new);
    char p[900];
    snprintf(p, sizeof p, "%s/notes", root); /* not a session: no log.db */
    cr_assert_eq(mkdir(p, 0777), 0);
    snprintf(p, sizeof p, "%s/broken", root);
    cr_assert_eq(mkdir(p, 0777), 0);
    strcat(p, "/log.db");
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs("garbage, not SQLite", f);
    fclose(f);

    struct search_store_list l;
    struct pf_err err = {0};
    CHECK_OK(ui_sessions_load(root, &l, &err), &err);
    cr_assert_eq(l.n, 3, "notes/ is not a session; got %d", l.n);
    cr_assert_str_eq(l.s[0].id, "aa-new");
    cr_assert_str_eq(l.s[1].id, "zz-old");
    cr_assert_str_eq(l.s[2].id, "broken", "no date: last");
    cr_assert(l.s[2].unreadable);
    cr_assert_str_eq(l.s[2].status, "unreadable");
    cr_assert_str_eq(l.s[0].meta[SSK_TASK], "rte");
    cr_assert_str_eq(l.s[1].meta[SSK_METRIC], "accuracy");
    char want_dir[900];
    snprintf(want_dir, sizeof want_dir, "%s/zz-old", root);
    cr_assert_str_eq(l.s[1].dir, want_dir);

    char c[256];
    ui_sessions_cell(&l.s[0], UI_SC_DATE, c, sizeof c);
    cr_assert_str_eq(c, "2024-03-02 10:30");
    ui_sessions_cell(&l.s[0], UI_SC_BUDGET, c, sizeof c);
    cr_assert_str_eq(c, "2.00M");
    ui_sessions_cell(&l.s[0], UI_SC_TEST, c, sizeof c);
    cr_assert_str_eq(c, "-");
    ui_sessions_cell(&l.s[1], UI_SC_TEST, c, sizeof c);
    cr_assert_str_eq(c, "accuracy 0.9000");
    ui_sessions_cell(&l.s[1], UI_SC_PARAMS, c, sizeof c);
    cr_assert_str_eq(c, "1.43k");
    ui_sessions_cell(&l.s[1], UI_SC_METHOD, c, sizeof c);
    cr_assert_str_eq(c, "bipeft");
    ui_sessions_cell(&l.s[2], UI_SC_TASK, c, sizeof c);
    cr_assert_str_eq(c, "-");
    cr_assert_str_eq(ui_sessions_col_name(UI_SC_STATUS), "status");
    search_store_list_free(&l);

    /* a root that does not exist is empty; one that is a file cannot be listed */
    CHECK_OK(ui_sessions_load("/nonexistent/bipeft/root", &l, &err), &err);
    cr_assert_eq(l.n, 0);
    search_store_list_free(&l);
    cr_assert_neq(ui_sessions_load(p, &l, &err), PF_OK);
    cr_assert(strstr(err.msg, p), "%s", err.msg);
}

static void write_structure(const char *root, const char *id, const char *json) {
    char p[900];
    snprintf(p, sizeof p, "%s/%s/structure.json", root, id);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(json, f);
    fclose(f);
}

#define STRUCT_HEAD "{\"format\": \"bipeft-structure\", \"version\": 1, \"model\": " \
                    "{\"family\": \"bert\", \"hidden\": 8, \"layers\": 2}, \"modules\": ["

Test(ui_sessions, compare_marks_shared_and_only_modules) {
    const char *root = root_dir("cmp");
    const char *const a[] = {"created", "2024-01-01", "budget", "400", "test", "0.8",
                             "metric", "accuracy", NULL};
    const char *const b[] = {"created", "2024-01-02", "budget", "300", "test", "0.7",
                             "metric", "accuracy", NULL};
    search_fixture_session_meta(root, "a", a);
    search_fixture_session_meta(root, "b", b);
    search_fixture_session_meta(root, "c", b);
    write_structure(root, "a", STRUCT_HEAD
        "{\"kind\": \"lora\", \"layer\": 0, \"target\": \"q\", \"rank\": 4, \"params\": 64},"
        "{\"kind\": \"lora\", \"layer\": 1, \"target\": \"v\", \"rank\": 2, \"params\": 32},"
        "{\"kind\": \"bitfit\", \"layer\": 0, \"target\": \"o\", \"params\": 8},"
        "{\"kind\": \"ln\", \"layer\": -1, \"target\": \"final_ln\", \"params\": 16}]}");
    write_structure(root, "b", STRUCT_HEAD
        "{\"kind\": \"lora\", \"layer\": 0, \"target\": \"q\", \"rank\": 4, \"params\": 64},"
        "{\"kind\": \"lora\", \"layer\": 1, \"target\": \"v\", \"rank\": 1, \"params\": 16},"
        "{\"kind\": \"lora\", \"layer\": 1, \"target\": \"q\", \"rank\": 2, \"params\": 32}]}");
    char da[800], db[800], dc[800];
    snprintf(da, sizeof da, "%s/a", root);
    snprintf(db, sizeof db, "%s/b", root);
    snprintf(dc, sizeof dc, "%s/c", root);
    struct ui_compare c;
    ui_compare_open(da, db, &c);
    cr_assert(c.has[0] && c.has[1], "%s | %s", c.why[0], c.why[1]);
    cr_assert_eq(c.n_rows, 5);
    cr_assert_eq(c.side[0].params, 120);
    cr_assert_eq(c.side[1].params, 112);
    cr_assert_str_eq(c.meta[0].meta[SSK_BUDGET], "400");
    cr_assert_str_eq(c.meta[1].meta[SSK_TEST], "0.7");
    cr_assert_str_eq(c.meta[1].id, "b");
    struct {
        const char *name, *ra, *rb;
        enum peft_diff_mark mark;
    } want[] = {
        {"L0.bitfit.o", "on", "-", PEFT_DIFF_A_ONLY},
        {"L0.lora.q", "4", "4", PEFT_DIFF_SAME},
        {"L1.lora.q", "-", "2", PEFT_DIFF_B_ONLY},
        {"L1.lora.v", "2", "1", PEFT_DIFF_CHANGED},
        {"final.ln", "on", "-", PEFT_DIFF_A_ONLY},
    };
    int seen[5] = {0};
    for (int i = 0; i < c.n_rows; i++) {
        char name[64], ra[32], rb[32];
        enum peft_diff_mark mk;
        cr_assert(ui_compare_row(&c, i, name, sizeof name, ra, rb, sizeof ra, &mk));
        int k = 0;
        while (k < 5 && strcmp(want[k].name, name))
            k++;
        cr_assert_lt(k, 5, "unexpected row %s", name);
        seen[k]++;
        cr_assert_str_eq(ra, want[k].ra, "%s in A", name);
        cr_assert_str_eq(rb, want[k].rb, "%s in B", name);
        cr_assert_eq(mk, want[k].mark, "%s: mark %d", name, (int)mk);
    }
    for (int k = 0; k < 5; k++)
        cr_assert_eq(seen[k], 1, "%s listed %d times", want[k].name, seen[k]);
    cr_assert_eq(c.count[PEFT_DIFF_SAME], 1);
    cr_assert_eq(c.count[PEFT_DIFF_CHANGED], 1);
    cr_assert_eq(c.count[PEFT_DIFF_A_ONLY], 2);
    cr_assert_eq(c.count[PEFT_DIFF_B_ONLY], 1);
    cr_assert_eq(ui_compare_row(&c, 5, (char[8]){0}, 8, (char[8]){0}, (char[8]){0}, 8,
                                &(enum peft_diff_mark){0}), 0);
    ui_compare_free(&c);

    /* a session without a structure (still searching): its side is empty and says why */
    ui_compare_open(da, dc, &c);
    cr_assert(c.has[0] && !c.has[1]);
    cr_assert(strstr(c.why[1], "c/structure.json"), "%s", c.why[1]);
    cr_assert_eq(c.count[PEFT_DIFF_A_ONLY], 4);
    cr_assert_eq(c.side[1].params, -1);
    ui_compare_free(&c);
}
