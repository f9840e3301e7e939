/* ui_sessions.h - the data of the TUI's sessions screen (pure: no curses): the sessions under
 * a root folder, newest first (search/search_store.h, as `bipeft sessions` reads them), the
 * cells of their rows, and two sessions' final structures side by side (peft/peft_diff.h, as
 * `bipeft sessions diff` computes them) with their parameter totals, budgets and test
 * metrics. */
#ifndef UI_SESSIONS_H
#define UI_SESSIONS_H

#include <stddef.h>

#include "peft/peft_diff.h"
#include "search/search_store.h"
#include "util/err.h"

/* The sessions under root, newest first (by meta "created", then by folder name). A root
 * that does not exist is an empty list; one that cannot be listed is an error naming it. */
pf_status ui_sessions_load(const char *root, struct search_store_list *out,
                           struct pf_err *err);

/* The columns of the list. */
enum ui_sess_col {
    UI_SC_DATE, UI_SC_ID, UI_SC_TASK, UI_SC_METHOD, UI_SC_BUDGET, UI_SC_PARAMS, UI_SC_TEST,
    UI_SC_STATUS, UI_SC_COUNT
};
/* Column title ("date", "session", ...). */
const char *ui_sessions_col_name(int col);
/* The cell text (raw bytes from the log: escape before drawing): the date as "YYYY-MM-DD
 * HH:MM" (from "created"), counts short (1.23k), the test metric as "accuracy 0.9000";
 * "-" for a missing value. */
void ui_sessions_cell(const struct search_store_session *s, int col, char *buf, size_t n);

/* Two sessions side by side. A side without a readable structure.json (a session still
 * searching, or interrupted) is empty, with why[] saying so; the other side's modules are
 * then "only" modules. */
struct ui_compare {
    struct search_store_session meta[2];
    struct peft_diff_side side[2];
    int has[2];                  /* its structure.json was read */
    char why[2][512];            /* when not: the reason, naming the file */
    struct peft_diff_row *rows;  /* owned */
    int n_rows;
    int count[4];                /* rows per enum peft_diff_mark */
};

/* Read dir_a and dir_b (session folders) into *c (zeroed first). Never fails: what cannot be
 * read is reported in meta[].status ("unreadable") and why[]. Free with ui_compare_free. */
void ui_compare_open(const char *dir_a, const char *dir_b, struct ui_compare *c);
void ui_compare_free(struct ui_compare *c);
/* Row i: module name, the rank text of each side ("4", "on", "-") and its mark. 0 when i is
 * out of range. */
int ui_compare_row(const struct ui_compare *c, int i, char *name, size_t nn, char *ra,
                   char *rb, size_t rn, enum peft_diff_mark *mark);

#endif
