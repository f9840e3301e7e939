/* search_log.h - a session's crash-safe event log: DIR/log.db, SQLite in WAL mode.
 *
 * Tables:
 *   events(seq INTEGER PRIMARY KEY, type TEXT, step, epoch, stage, module, rank, value,
 *          value2, loss_w, loss_a, tau, lr, expected, current, n, seconds, source, text)
 *   meta(key TEXT PRIMARY KEY, value TEXT)   -- the session summary `bipeft sessions` lists
 * Appends go into an open transaction that search_log_flush commits (the engine flushes at
 * every step boundary and before every checkpoint), so a run killed at any moment leaves the
 * log as of its last flush: committed transactions survive SIGKILL (WAL,
 * synchronous=NORMAL). A resume drops the events after its checkpoint with
 * search_log_truncate, so the log of a resumed run equals the log of an uninterrupted one
 * (except `seconds`).
 *
 * Meta keys written by the engine: created, task, model, method, budget, metric (the task's
 * primary metric name), params (final module parameters), dev, test, search_seconds,
 * retrain_seconds, status ("searching", "retraining", "done", "failed"), pid, policy_source
 * (the policy file the session started from, absolute, or "default": what a reload reads). */
#ifndef PF_SEARCH_LOG_H
#define PF_SEARCH_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "search/search_event.h"
#include "util/err.h"

struct search_log;

/* Open DIR/log.db (create: make it and its tables when missing; else it must exist).
 * Errors name the file. */
pf_status search_log_open(const char *dir, int create, struct search_log **out,
                          struct pf_err *err);
/* Commit what is pending and close (NULL is a no-op). */
void search_log_close(struct search_log *lg);

/* Append one event to the pending transaction. */
pf_status search_log_append(struct search_log *lg, const struct search_event *ev,
                            struct pf_err *err);
/* Commit the pending transaction (no-op when nothing is pending). */
pf_status search_log_flush(struct search_log *lg, struct pf_err *err);
/* Delete every event with seq > after_seq (committed at once). */
pf_status search_log_truncate(struct search_log *lg, int64_t after_seq, struct pf_err *err);
/* The largest seq in the log (0 when empty). */
pf_status search_log_last_seq(struct search_log *lg, int64_t *seq, struct pf_err *err);

/* meta(key) = value (committed at once, with whatever is pending). */
pf_status search_log_set_meta(struct search_log *lg, const char *key, const char *value,
                              struct pf_err *err);
/* Copy meta(key) into buf ("" and PF_OK when absent). */
pf_status search_log_get_meta(struct search_log *lg, const char *key, char *buf, size_t n,
                              struct pf_err *err);

/* Events of one type (or all when type < 0) in seq order, through a callback; stops early
 * when it returns non-zero. */
pf_status search_log_each(struct search_log *lg, int type,
                          int (*fn)(void *ctx, const struct search_event *ev), void *ctx,
                          struct pf_err *err);

/* A sink that appends every event (errors are sticky: the first one is kept and returned by
 * search_log_sink_error; later appends are dropped). */
void search_log_sink(struct search_log *lg, struct search_sink *out);
pf_status search_log_sink_error(const struct search_log *lg, struct pf_err *err);

#endif
