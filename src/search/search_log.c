/* search_log.c - the session event log in DIR/log.db (search_log.h): SQLite in WAL mode with
 * synchronous=NORMAL, every statement prepared once at open and reused, appends gathered in
 * one explicit transaction that search_log_flush commits. Errors read
 * "DIR/log.db: <what>: <SQLite's message>". */
#include "search/search_log.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util/xalloc.h"

#define LOG_BUSY_MS 5000

enum log_stmt {
    LS_BEGIN,
    LS_COMMIT,
    LS_INSERT,
    LS_TRUNCATE,
    LS_LAST,
    LS_SET_META,
    LS_GET_META,
    LS_EACH,
    LS_COUNT
};

/* The columns of events after seq, in the order LS_INSERT binds and LS_EACH reads them. */
#define LOG_COLS "type, step, epoch, stage, module, rank, value, value2, loss_w, loss_a, " \
                 "tau, lr, expected, current, n, seconds, source, text"

static const char *const stmt_sql[LS_COUNT] = {
    [LS_BEGIN] = "BEGIN IMMEDIATE",
    [LS_COMMIT] = "COMMIT",
    [LS_INSERT] = "INSERT INTO events (seq, " LOG_COLS ") VALUES "
                  "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                  "?17, ?18, ?19)",
    [LS_TRUNCATE] = "DELETE FROM events WHERE seq > ?1",
    [LS_LAST] = "SELECT COALESCE(MAX(seq), 0) FROM events",
    [LS_SET_META] = "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [LS_GET_META] = "SELECT value FROM meta WHERE key = ?1",
    [LS_EACH] = "SELECT seq, " LOG_COLS " FROM events WHERE ?1 IS NULL OR type = ?1 "
                "ORDER BY seq",
};

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, "
    "step INTEGER, epoch INTEGER, stage INTEGER, module INTEGER, rank INTEGER, value REAL, "
    "value2 REAL, loss_w REAL, loss_a REAL, tau REAL, lr REAL, expected REAL, current INTEGER, "
    "n INTEGER, seconds REAL, source TEXT, text TEXT);"
    "CREATE INDEX IF NOT EXISTS events_type ON events (type, seq);"
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);";

struct search_log {
    sqlite3 *db;
    char path[4096];
    sqlite3_stmt *st[LS_COUNT];
    int iterating;        /* inside search_log_each (its statement is busy) */
    pf_status sink_st;    /* the first error of the sink (sticky) */
    struct pf_err sink_err;
};

static pf_status db_err(const struct search_log *lg, const char *what, struct pf_err *err) {
    return pf_err_at(err, PF_ERR_IO, lg->path, "%s: %s", what, sqlite3_errmsg(lg->db));
}

/* Run a reusable statement that returns no rows. */
static pf_status run_stmt(struct search_log *lg, enum log_stmt k, const char *what,
                          struct pf_err *err) {
    sqlite3_stmt *s = lg->st[k];
    int rc = sqlite3_step(s);
    pf_status st = rc == SQLITE_DONE || rc == SQLITE_ROW ? PF_OK : db_err(lg, what, err);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return st;
}

static int pending(const struct search_log *lg) {
    return !sqlite3_get_autocommit(lg->db);
}

static pf_status begin(struct search_log *lg, struct pf_err *err) {
    return pending(lg) ? PF_OK : run_stmt(lg, LS_BEGIN, "begin", err);
}

static void log_free(struct search_log *lg) {
    for (int i = 0; i < LS_COUNT; i++)
        sqlite3_finalize(lg->st[i]);
    sqlite3_close(lg->db);
    xfree(lg);
}

pf_status search_log_open(const char *dir, int create, struct search_log **out,
                          struct pf_err *err) {
    *out = NULL;
    struct search_log *lg = xcalloc(1, sizeof *lg);
    int len = snprintf(lg->path, sizeof lg->path, "%s/log.db", dir);
    if (len < 0 || (size_t)len >= sizeof lg->path) {
        xfree(lg);
        return pf_err_set(err, PF_ERR_ARG, "%s/log.db: path too long", dir);
    }
    struct stat sb;
    if (create && mkdir(dir, 0777) != 0 && errno != EEXIST) {
        pf_status st = pf_err_at(err, PF_ERR_IO, lg->path, "cannot create %s: %s", dir,
                                 strerror(errno));
        xfree(lg);
        return st;
    }
    if (!create && stat(lg->path, &sb) != 0) {
        pf_status st = pf_err_at(err, PF_ERR_IO, lg->path, "cannot open: %s", strerror(errno));
        xfree(lg);
        return st;
    }
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(lg->path, &lg->db, flags, NULL) != SQLITE_OK) {
        pf_status st = lg->db ? db_err(lg, "cannot open", err)
                              : pf_err_at(err, PF_ERR_NOMEM, lg->path, "out of memory");
        log_free(lg);
        return st;
    }
    sqlite3_busy_timeout(lg->db, LOG_BUSY_MS);
    /* journal_mode is the first read of the file: a non-database fails here */
    pf_status st = PF_OK;
    if (sqlite3_exec(lg->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL,
                     NULL, NULL) != SQLITE_OK)
        st = db_err(lg, "cannot open", err);
    if (st == PF_OK && create && sqlite3_exec(lg->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK)
        st = db_err(lg, "cannot create tables", err);
    for (int i = 0; i < LS_COUNT && st == PF_OK; i++)
        if (sqlite3_prepare_v3(lg->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &lg->st[i],
                               NULL) != SQLITE_OK)
            st = db_err(lg, create ? "prepare" : "not a session log", err);
    if (st != PF_OK) {
        if (st == PF_ERR_IO && sqlite3_errcode(lg->db) == SQLITE_NOTADB)
            st = PF_ERR_FORMAT;
        log_free(lg);
        return st;
    }
    *out = lg;
    return PF_OK;
}

void search_log_close(struct search_log *lg) {
    if (!lg)
        return;
    search_log_flush(lg, NULL);
    log_free(lg);
}

static void bind_text(sqlite3_stmt *s, int i, const char *txt, size_t cap) {
    sqlite3_bind_text(s, i, txt, (int)strnlen(txt, cap), SQLITE_TRANSIENT);
}

pf_status search_log_append(struct search_log *lg, const struct search_event *ev,
                            struct pf_err *err) {
    pf_status st = begin(lg, err);
    if (st != PF_OK)
        return st;
    sqlite3_stmt *s = lg->st[LS_INSERT];
    /* NaN binds as NULL (SQLite has no NaN) and reads back as NaN */
    sqlite3_bind_int64(s, 1, ev->seq);
    sqlite3_bind_text(s, 2, search_event_name(ev->type), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, ev->step);
    sqlite3_bind_int(s, 4, ev->epoch);
    sqlite3_bind_int(s, 5, ev->stage);
    sqlite3_bind_int(s, 6, ev->module);
    sqlite3_bind_int(s, 7, ev->rank);
    const double d[] = {ev->value, ev->value2, ev->loss_w, ev->loss_a, ev->tau, ev->lr,
                        ev->expected};
    for (int i = 0; i < 7; i++)
        sqlite3_bind_double(s, 8 + i, d[i]);
    sqlite3_bind_int64(s, 15, ev->current);
    sqlite3_bind_int64(s, 16, ev->n);
    sqlite3_bind_double(s, 17, ev->seconds);
    bind_text(s, 18, ev->source, sizeof ev->source);
    bind_text(s, 19, ev->text, sizeof ev->text);
    return run_stmt(lg, LS_INSERT, "append", err);
}

pf_status search_log_flush(struct search_log *lg, struct pf_err *err) {
    return pending(lg) ? run_stmt(lg, LS_COMMIT, "commit", err) : PF_OK;
}

pf_status search_log_truncate(struct search_log *lg, int64_t after_seq, struct pf_err *err) {
    pf_status st = begin(lg, err);
    if (st != PF_OK)
        return st;
    sqlite3_bind_int64(lg->st[LS_TRUNCATE], 1, after_seq);
    st = run_stmt(lg, LS_TRUNCATE, "truncate", err);
    return st == PF_OK ? search_log_flush(lg, err) : st;
}

pf_status search_log_last_seq(struct search_log *lg, int64_t *seq, struct pf_err *err) {
    sqlite3_stmt *s = lg->st[LS_LAST];
    *seq = 0;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *seq = sqlite3_column_int64(s, 0);
    pf_status st = rc == SQLITE_ROW ? PF_OK : db_err(lg, "last seq", err);
    sqlite3_reset(s);
    return st;
}

pf_status search_log_set_meta(struct search_log *lg, const char *key, const char *value,
                              struct pf_err *err) {
    pf_status st = begin(lg, err);
    if (st != PF_OK)
        return st;
    sqlite3_stmt *s = lg->st[LS_SET_META];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, value, -1, SQLITE_TRANSIENT);
    st = run_stmt(lg, LS_SET_META, "set meta", err);
    return st == PF_OK ? search_log_flush(lg, err) : st;
}

pf_status search_log_get_meta(struct search_log *lg, const char *key, char *buf, size_t n,
                              struct pf_err *err) {
    sqlite3_stmt *s = lg->st[LS_GET_META];
    if (n)
        buf[0] = '\0';
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && n) {
        const unsigned char *v = sqlite3_column_text(s, 0);
        snprintf(buf, n, "%s", v ? (const char *)v : "");
    }
    pf_status st = rc == SQLITE_ROW || rc == SQLITE_DONE ? PF_OK : db_err(lg, "get meta", err);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return st;
}

static double col_double(sqlite3_stmt *s, int i) {
    return sqlite3_column_type(s, i) == SQLITE_NULL ? NAN : sqlite3_column_double(s, i);
}

static void col_text(sqlite3_stmt *s, int i, char *buf, size_t n) {
    const unsigned char *v = sqlite3_column_text(s, i);
    snprintf(buf, n, "%s", v ? (const char *)v : "");
}

/* One row of LS_EACH into ev; 0 when its type name is unknown. */
static int read_row(sqlite3_stmt *s, struct search_event *ev) {
    memset(ev, 0, sizeof *ev);
    int type = search_event_type_from_name((const char *)sqlite3_column_text(s, 1));
    if (type < 0)
        return 0;
    ev->type = (enum search_event_type)type;
    ev->seq = sqlite3_column_int64(s, 0);
    ev->step = sqlite3_column_int64(s, 2);
    ev->epoch = sqlite3_column_int(s, 3);
    ev->stage = sqlite3_column_int(s, 4);
    ev->module = sqlite3_column_int(s, 5);
    ev->rank = sqlite3_column_int(s, 6);
    ev->value = col_double(s, 7);
    ev->value2 = col_double(s, 8);
    ev->loss_w = col_double(s, 9);
    ev->loss_a = col_double(s, 10);
    ev->tau = col_double(s, 11);
    ev->lr = col_double(s, 12);
    ev->expected = col_double(s, 13);
    ev->current = sqlite3_column_int64(s, 14);
    ev->n = sqlite3_column_int64(s, 15);
    ev->seconds = col_double(s, 16);
    col_text(s, 17, ev->source, sizeof ev->source);
    col_text(s, 18, ev->text, sizeof ev->text);
    return 1;
}

pf_status search_log_each(struct search_log *lg, int type,
                          int (*fn)(void *ctx, const struct search_event *ev), void *ctx,
                          struct pf_err *err) {
    if (type >= SEV_COUNT)
        return pf_err_at(err, PF_ERR_ARG, lg->path, "each: no event type %d", type);
    if (lg->iterating)
        return pf_err_at(err, PF_ERR_ARG, lg->path, "each: called from its own callback");
    sqlite3_stmt *s = lg->st[LS_EACH];
    if (type >= 0)
        sqlite3_bind_text(s, 1, search_event_name((enum search_event_type)type), -1,
                          SQLITE_STATIC);
    lg->iterating = 1;
    pf_status st = PF_OK;
    struct search_event ev;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (!read_row(s, &ev)) {
            const unsigned char *name = sqlite3_column_text(s, 1);
            st = pf_err_at(err, PF_ERR_FORMAT, lg->path, "events seq %lld: unknown type '%s'",
                           (long long)sqlite3_column_int64(s, 0),
                           name ? (const char *)name : "(null)");
            break;
        }
        if (fn(ctx, &ev))
            break;
    }
    if (st == PF_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        st = db_err(lg, "read events", err);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    lg->iterating = 0;
    return st;
}

static void sink_emit(void *ctx, const struct search_event *ev) {
    struct search_log *lg = ctx;
    if (lg->sink_st == PF_OK)
        lg->sink_st = search_log_append(lg, ev, &lg->sink_err);
}

void search_log_sink(struct search_log *lg, struct search_sink *out) {
    out->emit = sink_emit;
    out->ctx = lg;
}

pf_status search_log_sink_error(const struct search_log *lg, struct pf_err *err) {
    if (lg->sink_st != PF_OK && err)
        *err = lg->sink_err;
    return lg->sink_st;
}
