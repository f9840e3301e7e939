/* search_store.h - the sessions under a root folder, as `bipeft sessions` and the TUI's
 * sessions screen list them: one entry per subfolder that holds a log.db, with the meta keys
 * the engine writes (search/search_log.h) read from it.
 *
 * Status: the meta "status", except that "searching" or "retraining" with a pid that no
 * longer runs reads "interrupted", a log.db that cannot be opened or read reads "unreadable"
 * (its meta left empty), and a missing status reads "-". */
#ifndef PF_SEARCH_STORE_H
#define PF_SEARCH_STORE_H

#include "util/err.h"

/* The meta keys read per session, in the order `bipeft sessions --json` prints them. */
enum search_store_key {
    SSK_CREATED, SSK_TASK, SSK_MODEL, SSK_METHOD, SSK_BUDGET, SSK_METRIC, SSK_PARAMS, SSK_DEV,
    SSK_TEST, SSK_SEARCH_SECONDS, SSK_RETRAIN_SECONDS, SSK_STATUS, SSK_PID, SSK_COUNT
};

#define SEARCH_STORE_VAL 1024
#define SEARCH_STORE_ID 256

struct search_store_session {
    char id[SEARCH_STORE_ID];        /* the folder's name under the root */
    char dir[4096];                  /* ROOT/id */
    char status[SEARCH_STORE_VAL];   /* see above */
    int unreadable;                  /* log.db could not be opened or read */
    char meta[SSK_COUNT][SEARCH_STORE_VAL]; /* raw values ("" when absent) */
};

struct search_store_list {
    struct search_store_session *s;  /* owned (xmalloc); free with search_store_list_free */
    int n, cap;
};

/* The meta key's name ("created", "task", ...); NULL out of range. */
const char *search_store_key_name(int k);
/* 1 for keys whose values are numbers (budget, params, dev, test, seconds, pid). */
int search_store_key_numeric(int k);

/* Read the meta of the session in dir (id: what to call it) into *out. Never fails: a log.db
 * that cannot be read gives the "unreadable" status; err (may be NULL) then says why, naming
 * the file. */
void search_store_read(const char *dir, const char *id, struct search_store_session *out,
                       struct pf_err *err);

/* Every session under root (subfolders with a log.db; names starting with '.' are skipped),
 * in no particular order. A root that does not exist is an empty list. Fails (naming root)
 * only when root exists but cannot be listed. out starts empty; on failure it is freed. */
pf_status search_store_scan(const char *root, struct search_store_list *out,
                            struct pf_err *err);
/* Sort by meta "created", then by id; newest_first reverses both. */
void search_store_sort(struct search_store_list *l, int newest_first);
void search_store_list_free(struct search_store_list *l);

/* The whole text is a finite number: 1 and *out, else 0. */
int search_store_parse_num(const char *s, double *out);

#endif
