/* search.h - the BIPEFT search engine (docs/SEARCH.md; ../shared/reference/bipeft-algorithm.md
 * is the spec).
 *
 *   search_open     a session: the config's model, task and data (train/train.h's trainer),
 *                   the supernet (every candidate of the space at its largest rank), the
 *                   architecture logits, the policy (Lua), the event sinks
 *   search_run      iterate until the search is over (or paused/stopped), then derive the
 *                   structure, retrain it from scratch and score it; resumable at any
 *                   checkpoint (search_resume)
 *   search_request  an intervention (pin, prune, fix rank, budget, pause, checkpoint), from
 *                   any thread; applied at the next step boundary
 *
 * One iteration (method bipeft): an architecture step on a batch of the architecture half
 * (binary and rank spaces alternating, straight-through hard Gumbel-softmax, Adam on the
 * logits), then a weight step on a batch of the weight half (AdamW on the PEFT weights and the
 * head), then the sensitivities, and from prune_begin_epoch the policy's trigger, pruning stage
 * and rank fixing. The per-parameter maths is here in C; the decisions are the policy's.
 * Determinism: every random draw is a pure function of (seed, iteration, module), so a run
 * resumed from a checkpoint repeats the uninterrupted run bitwise on the same machine. */
#ifndef PF_SEARCH_H
#define PF_SEARCH_H

#include <signal.h>
#include <stdint.h>

#include "search/search_event.h"
#include "util/err.h"

struct backend;
struct run_config;
struct search;

#define SEARCH_MAX_SINKS 8

enum search_phase { SPH_SEARCH, SPH_GUARD, SPH_RETRAIN, SPH_DONE, SPH_FAILED };

enum search_req_type {
    SREQ_PIN, SREQ_UNPIN, SREQ_PRUNE, SREQ_FIX_RANK, SREQ_BUDGET, SREQ_PAUSE, SREQ_RESUME,
    SREQ_CHECKPOINT, SREQ_STOP,
    SREQ_RELOAD_POLICY /* re-read the policy file the session was started from
                          (search_policy_source) against DIR/config.lua; on failure the old
                          policy stays in force and an SEV_REFUSED event "policy reload: ..."
                          names the error; on success the text replaces DIR/policy.lua (what a
                          resume runs), the old policy's save() state goes to the new one's
                          load(t), and an SEV_LOG "policy reloaded from PATH" follows */
};

struct search_request {
    enum search_req_type type;
    char module[64];   /* pin, unpin, prune, fix_rank: "L3.lora.q" / "final.ln" */
    int64_t value;     /* fix_rank: rank; budget: parameters */
};

struct search_opts {
    const char *session_dir;  /* NULL: <config.session>/<task>-<method>-<time> */
    int quiet;                /* no progress line on stderr */
    int no_retrain;           /* stop after the structure (tests) */
    int64_t stop_after;       /* tests: return after this many iterations (0: never) */
    volatile sig_atomic_t *interrupt; /* non-zero (e.g. set by a SIGINT handler): checkpoint at
                                         the next step boundary and return (NULL: none) */
    int previous;             /* search_resume: from checkpoint.prev.bin (the newest one is
                                 damaged) */
    int restart;              /* search_resume: start again at iteration 0 when the checkpoints
                                 are gone although the log shows the search had run (without
                                 it, such a resume is refused) */
};

/* The outcome (also in DIR/summary.json). */
/* One structure trained from scratch (the retraining, or the comparison baseline). */
struct search_trained {
    int64_t params;
    int n_modules;
    double seconds;
    int has_dev, has_test;
    double dev, test;         /* the task's primary metric (NaN: none) */
    char metric[24];
};

struct search_result {
    int64_t iterations;       /* search iterations run */
    int64_t planned;          /* iterations the epoch cap allows */
    int stages_done, stages_total;
    int early_stopped;        /* all stages done before the epoch cap */
    int interrupted;          /* returned early on opts.interrupt (the session is resumable) */
    int guard_stages;         /* stages the termination guard ran at the end */
    int64_t budget;
    int64_t params;           /* the final structure's module parameters (exact) */
    int n_modules;            /* in the final structure */
    double search_seconds, retrain_seconds;
    int has_dev, has_test;
    double dev, test;         /* the task's primary metric (NaN: none) */
    char metric[24];
    int has_baseline;         /* search.baseline: the comparison structure, trained alike */
    char baseline_name[16];   /* "lora" */
    int baseline_rank;
    struct search_trained baseline;
};

/* Create a session from a validated config and get it ready to run. Errors name the file or
 * field; nothing is left behind on failure except a session folder that says "failed". */
pf_status search_open(struct search **out, const struct run_config *cfg, struct backend *be,
                      const struct search_opts *o, struct pf_err *err);
/* Reopen DIR (a session folder) at its last checkpoint. */
pf_status search_resume(struct search **out, const char *dir, struct backend *be,
                        const struct search_opts *o, struct pf_err *err);
void search_close(struct search *s);

/* Add a sink (at most SEARCH_MAX_SINKS); events emitted from then on reach it. */
pf_status search_add_sink(struct search *s, const struct search_sink *sink, struct pf_err *err);

/* Run to the end (or until paused / stop_after). *r gets the outcome so far. */
pf_status search_run(struct search *s, struct search_result *r, struct pf_err *err);

/* search_run for a worker thread (the TUI): while the session is paused it sleeps until
 * search_request queues the next request (a condition variable; reloads and other requests
 * apply while paused) instead of returning. Returns when the session is done, failed, stopped
 * (SREQ_STOP) or interrupted (opts.interrupt, noticed within 100 ms while paused; the
 * session is checkpointed). */
pf_status search_serve(struct search *s, struct search_result *r, struct pf_err *err);
int search_paused(const struct search *s);

/* Queue an intervention (thread-safe). Validation happens at the step boundary; a refusal is
 * an SEV_REFUSED event naming the rule. */
void search_request(struct search *s, const struct search_request *rq);
/* Validate and apply now (the caller owns the engine: between runs, tests). source: "user",
 * "config", "policy". */
pf_status search_apply(struct search *s, const struct search_request *rq, const char *source,
                       struct pf_err *err);

/* Read-only state for front ends and tests (valid until the next search_run step). */
const char *search_dir(const struct search *s);
/* The policy file the session was started from (absolute), or "default": what
 * SREQ_RELOAD_POLICY reads (meta policy_source; kept across resumes). */
const char *search_policy_source(const struct search *s);
enum search_phase search_phase_of(const struct search *s);
/* The phase's name as the SEV_PHASE events and the TUI show it: "search", "guard", "retrain",
 * "done", "failed" ("?" out of range). The one table of these names. */
const char *search_phase_name(enum search_phase p);
int search_n_candidates(const struct search *s);
/* Index of a candidate by name, or -1. */
int search_find(const struct search *s, const char *name);
struct search_cand_info {
    const char *name;
    int pruned, pinned, fixed, rank, n_ranks;
    double sensitivity, stability, cost;
    int64_t full_cost;
};
void search_cand_info(const struct search *s, int i, struct search_cand_info *out);
int64_t search_budget(const struct search *s);
double search_expected(const struct search *s);
int search_stages_left(const struct search *s);
int64_t search_iteration(const struct search *s);
/* Iterations the epoch cap allows. */
int64_t search_planned(const struct search *s);

/* Write a checkpoint now (also done every search.checkpoint_every iterations). */
pf_status search_checkpoint(struct search *s, struct pf_err *err);

#endif
