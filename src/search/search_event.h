/* search_event.h - what the search engine tells the world. The engine never prints or draws:
 * it fills fixed-size events and hands each to every registered sink (headless progress on
 * stderr, the session log, test collectors, the TUI). A sink gets a pointer valid only during
 * the call and must not call back into the engine.
 *
 * Every event has a sequence number (1, 2, ... over the whole session, continued across
 * resumes) and the step it belongs to; `source` says who caused it: "engine", "policy",
 * "user", "config" or "guard" (the termination guard). */
#ifndef PF_SEARCH_EVENT_H
#define PF_SEARCH_EVENT_H

#include <stddef.h>
#include <stdint.h>

enum search_event_type {
    SEV_START,       /* text: method; value: budget; n: candidate modules */
    SEV_STEP,        /* one iteration: loss_w, loss_a, tau, lr, expected, current params */
    SEV_SENSITIVITY, /* a snapshot: one event per module (module, value = sensitivity,
                        value2 = DSI, rank, lr = P(on), tau = expected cost E_m, n = cost at
                        the largest candidate rank) at step 0 (after the config's pins) and
                        every `search.snapshot_every` steps; text = the module's name, then
                        for modules with candidate ranks a TAB and "r=" with the softmax of
                        the rank logits, "rank:prob" comma-separated (%.3f):
                        "L3.lora.q\tr=1:0.123,4:0.500,8:0.377" (search_event_module_name) */
    SEV_TRIGGER,     /* the policy's trigger fired: value = delta, stage = stages left */
    SEV_STAGE,       /* a pruning stage finished: value = expected params after it */
    SEV_PRUNE,       /* module pruned */
    SEV_FIX,         /* module's rank fixed: rank */
    SEV_PIN,         /* module pinned */
    SEV_UNPIN,       /* module unpinned */
    SEV_BUDGET,      /* budget changed: value = new budget */
    SEV_REFUSED,     /* an intervention refused: text says why */
    SEV_PAUSE,       /* paused (value 1) or resumed (value 0) */
    SEV_CHECKPOINT,  /* reserved: checkpoints are not events, so that a resumed run logs exactly
                        what an uninterrupted one does */
    SEV_EVAL,        /* dev metric of the discretised supernet: value = metric, value2 = loss */
    SEV_PHASE,       /* text: "search", "guard", "retrain", "done" */
    SEV_LOG,         /* text from a policy's search:log() */
    SEV_ERROR,       /* text: the error */
    SEV_DONE,        /* value: final params; value2: test metric (NaN: none) */
    SEV_TRAIN,       /* the retraining ("retrain") or the search.baseline run ("baseline", in
                        text) progresses: step = optimiser updates done, n = updates planned,
                        epoch = its epoch (0-based), value = running (EMA) training loss;
                        every ~1 % of the updates and at the last one (value2 NaN), and after
                        each dev evaluation (value2 = the task's primary dev metric) */
    SEV_RESTORE,     /* a pruned module back in the structure (search.fill, source "fill"):
                        rank = the rank it comes back at, value = its parameters */
    SEV_FALLBACK,    /* a policy hook failed at run time and the default policy's hook of that
                        name takes over (source "policy"): text = "HOOK: the error" with the
                        user's policy file named, value = the step */
    SEV_COUNT
};

#define SEARCH_EV_TEXT 160

struct search_event {
    enum search_event_type type;
    int64_t seq;             /* 1-based, session-wide */
    int64_t step;            /* iterations done when it happened (SEV_TRAIN: updates of the
                                training run) */
    int epoch;               /* search epoch (SEV_TRAIN: the training run's) */
    int stage;               /* stages left at the time */
    int module;              /* candidate index (0-based), -1 when none */
    int rank;                /* SEV_FIX / SEV_SENSITIVITY: rank; else 0 */
    double value, value2;    /* see the types */
    double loss_w, loss_a;   /* SEV_STEP: weight-half and architecture-half batch losses */
    double tau, lr;          /* SEV_STEP */
    double expected;         /* expected parameter count E after the event */
    int64_t current;         /* hard parameter count of the structure now */
    int64_t n;               /* SEV_START: candidates; SEV_STEP: total steps planned;
                                SEV_SENSITIVITY: full cost; SEV_TRAIN: updates planned */
    double seconds;          /* wall time since the session started (not part of decisions) */
    char source[12];         /* "engine", "policy", "user", "config", "guard" */
    char text[SEARCH_EV_TEXT];
};

struct search_sink {
    void (*emit)(void *ctx, const struct search_event *ev);
    void *ctx;
};

/* "start", "step", ... (stable names used in the session log); "unknown" out of range. */
const char *search_event_name(enum search_event_type t);
/* The type named `name` (as search_event_name spells it), or -1 when unknown (or NULL). */
int search_event_type_from_name(const char *name);
/* The module name at the start of a SEV_SENSITIVITY text (up to the TAB) into buf. */
void search_event_module_name(const struct search_event *ev, char *buf, size_t n);

#endif
