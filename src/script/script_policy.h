/* script_policy.h - the policy the engine consults at step boundaries, and hot reload.
 *
 * A policy is a Lua file that returns a table of seven hooks, plus two optional ones (save,
 * load) for checkpoints (lua/peft/policy.lua documents them; "default" is the paper's rules). The engine describes the search to the hooks through
 * a struct script_search_view it owns; Lua sees it through read-only handles ("bipeft.Search",
 * "bipeft.Module") whose methods return copies, valid only during the hook call (a handle
 * kept past it raises "stale handle"). Lua acts only through verbs (prune, fix_rank, pin,
 * unpin, set_budget, log): the script layer checks them, the engine's act() validates and
 * applies them, and every attempt lands in the event log (accepted or not) for the engine to
 * drain.
 *
 * A hook that fails (error, instruction/time limit, cancel, memory cap) returns PF_ERR_SCRIPT
 * or PF_ERR_NOMEM with the first line in err and the traceback in script_policy_traceback();
 * after a limit the Lua state is rebuilt from the recorded sources of the last good load, so
 * the next call runs the same policy in a fresh state. Nothing here aborts on script input. */
#ifndef PF_SCRIPT_POLICY_H
#define PF_SCRIPT_POLICY_H

#include <stdint.h>

#include "script/script.h"
#include "script/script_config.h"
#include "util/err.h"

enum script_verb {
    SCRIPT_VERB_PRUNE,      /* module: switch it off for good */
    SCRIPT_VERB_FIX_RANK,   /* module, value = rank: stop searching its rank */
    SCRIPT_VERB_PIN,        /* module: never prune it */
    SCRIPT_VERB_UNPIN,      /* module */
    SCRIPT_VERB_SET_BUDGET, /* value = new parameter budget */
    SCRIPT_VERB_LOG         /* text only */
};

enum script_mod_state { SCRIPT_MOD_ACTIVE, SCRIPT_MOD_FIXED, SCRIPT_MOD_PRUNED };

/* One candidate module as the engine describes it (all borrowed from the engine). */
struct script_module_view {
    const char *name;            /* e.g. "L3.lora.q" */
    enum cfg_kind kind;
    int layer;                   /* 0-based; -1 outside the layers (final norms) */
    enum script_mod_state state; /* pruned modules also count as fixed */
    int pinned;
    double sensitivity;          /* EMA of the importance score (higher: keep) */
    double stability;            /* dimension-stability indicator DSI (lower: stabler) */
    double cost;                 /* expected parameter count E_m now */
    int64_t full_cost;           /* parameters at the largest rank */
    int rank;                    /* current argmax (or fixed) rank; 0 for vector modules */
    int n_ranks;                 /* 0 for vector modules */
    const int *ranks;            /* candidate ranks */
    const double *rank_probs;    /* softmax of the rank logits, n_ranks values */
};

/* The search at a step boundary. act() may update the arrays the view points to (the
 * engine owns them), so later reads in the same hook see the change. */
struct script_search_view {
    int n_modules;
    const struct script_module_view *modules;
    double expected_params;   /* E = sum of E_m */
    int64_t current_params;   /* parameters of the hard structure now */
    int64_t budget;
    int stage, stages_left, stages_total;
    int64_t step;
    int epoch;
    int64_t steps_per_epoch;  /* iterations in one search epoch */
    double global_stability;  /* G over the rank-history window (NaN allowed) */
    int stability_window;     /* snapshots in that window */
    const char *state;        /* "warmup", "searching", "done" ... */
    const double *loss;       /* history, oldest first */
    int n_loss;
    const double *metric;
    int n_metric;
    /* Validate and apply a verb (module: 0-based index; value: rank or budget). Return PF_OK,
     * or an error whose message the script receives as `nil, msg`. NULL: accept all. */
    pf_status (*act)(void *ctx, enum script_verb verb, int module, double value,
                     struct pf_err *err);
    void *ctx;
};

/* One verb attempt. */
struct script_event {
    enum script_verb verb;
    int module;        /* 0-based, -1 when none */
    double value;      /* rank or budget */
    int accepted;      /* 0: refused (text says why) */
    char source[24];   /* the hook that acted ("select_prune") */
    char text[160];    /* log text, or the refusal */
};

enum script_hook {
    SCRIPT_HOOK_TAU, SCRIPT_HOOK_LR, SCRIPT_HOOK_TRIGGER, SCRIPT_HOOK_SELECT_PRUNE,
    SCRIPT_HOOK_FIX_RANKS, SCRIPT_HOOK_ON_STEP, SCRIPT_HOOK_SHOULD_STOP,
    SCRIPT_HOOK_SAVE, SCRIPT_HOOK_LOAD, /* optional: the policy's state for checkpoints */
    SCRIPT_HOOK_COUNT
};

/* The first optional hook: hooks before it are required. */
#define SCRIPT_HOOK_FIRST_OPTIONAL SCRIPT_HOOK_SAVE
/* Limits of a saved policy state (script_policy_save_state). */
#define SCRIPT_STATE_MAX_BYTES ((size_t)16 << 20)
#define SCRIPT_STATE_MAX_DEPTH 32

struct script_policy;

/* lim: NULL for the defaults. Never NULL (xmalloc). */
struct script_policy *script_policy_new(const struct script_limits *lim);
void script_policy_free(struct script_policy *P); /* NULL is a no-op */

/* Load a config (validated into the struct run_config returned by script_policy_config) and
 * its policy: policy_path, or else the config's `policy` field ("default" or a file relative
 * to the config's folder). config_path NULL: default settings, no model or task. On failure
 * the previously loaded policy (if any) stays in force. */
pf_status script_policy_load(struct script_policy *P, const char *config_path,
                             const char *policy_path, struct pf_err *err);
/* Re-read the same files from disk. If they fail to load or validate, the old policy stays
 * in force and err says why. */
pf_status script_reload(struct script_policy *P, struct pf_err *err);

/* The validated config of the policy in force (defaults before any load). */
const struct run_config *script_policy_config(const struct script_policy *P);
/* The policy file in force ("default" for the built-in). */
const char *script_policy_file(const struct script_policy *P);

/* Hooks. Each runs under the limits; see the file comment for failures. */
pf_status script_policy_tau(struct script_policy *P, int epoch, int epochs, double *tau,
                            struct pf_err *err);
pf_status script_policy_lr(struct script_policy *P, int64_t step, int64_t steps, double *lr,
                           struct pf_err *err);
pf_status script_policy_trigger(struct script_policy *P, const struct script_search_view *view,
                                int *fire, struct pf_err *err);
pf_status script_policy_select_prune(struct script_policy *P,
                                     const struct script_search_view *view, double delta,
                                     struct pf_err *err);
pf_status script_policy_fix_ranks(struct script_policy *P, const struct script_search_view *view,
                                  struct pf_err *err);
pf_status script_policy_on_step(struct script_policy *P, const struct script_search_view *view,
                                struct pf_err *err);
pf_status script_policy_should_stop(struct script_policy *P,
                                    const struct script_search_view *view, int *stop,
                                    struct pf_err *err);

/* Checkpoints of the policy's own state (e.g. the default trigger's history, kept in
 * closures), exact to the bit.
 *
 * save_state calls the policy's save() hook and writes what it returned as a Lua chunk,
 * "return {...}", into *text (malloc'd, the caller frees it; NULL on failure). The text is
 * deterministic and reproduces the value exactly: integers stay integers, floats round-trip
 * bitwise (shortest of %.15g..%.17g that reads back, ".0" added when it would read as an
 * integer, -0.0 kept, (1/0) (-1/0) (0/0) for inf, -inf, NaN), strings are escaped (quote,
 * backslash, \n \r \t, other bytes outside printable ASCII as \ddd), and table keys are
 * sorted: integer keys ascending, then string keys in byte order. Values may be nil (the root
 * only), booleans, numbers, strings and tables of them with integer or string keys (nested
 * at most SCRIPT_STATE_MAX_DEPTH levels, no cycles, metatables ignored); a shared sub-table
 * is written once per reference. Without a save hook *text is "return nil".
 * A failing hook reads "policy save: ..." like other hooks; a value that cannot be saved is
 * PF_ERR_SCRIPT naming its path, e.g. "save(): [history][3]: functions cannot be saved"; so
 * is a text over SCRIPT_STATE_MAX_BYTES. Failures count in script_policy_failures.
 *
 * load_state runs text (a text chunk, never bytecode) in the policy's sandbox under the
 * usual limits and passes its result to the load(t) hook. Nothing happens when the policy has
 * no load hook or the chunk returns nil ("return nil"). Errors read "policy load: ...". */
pf_status script_policy_save_state(struct script_policy *P, char **text, struct pf_err *err);
pf_status script_policy_load_state(struct script_policy *P, const char *text,
                                   struct pf_err *err);

/* The event log since the last clear (borrowed; valid until the next hook or clear). */
int script_policy_events(const struct script_policy *P, const struct script_event **ev);
void script_policy_clear_events(struct script_policy *P);

/* Traceback of the last failure ("" if none). */
const char *script_policy_traceback(const struct script_policy *P);
/* Hook failures since load; state rebuilds after limit errors. */
int script_policy_failures(const struct script_policy *P);

/* Fallback: a policy of its own (not "default") has the default policy's hooks built beside
 * it. When one of its hooks tau, lr, trigger, select_prune, fix_ranks, on_step or should_stop
 * raises or returns a bad value, the default's hook of that name is called instead, then and
 * from then on (until the policy is reloaded), and the call succeeds. Each such failure is
 * kept once: script_policy_take_fallback gives the oldest not yet taken (1; its hook and
 * the error, as err->msg said it) or 0. A hook that already fell back, or the default
 * policy's own hooks, fail as before. */
int script_policy_take_fallback(struct script_policy *P, enum script_hook *h, char *why,
                                size_t n);
/* check-config's dry run: every hook called once on a synthetic search (six modules, a
 * step in the pruning phase, a verb callback that accepts all). Returns how many hooks failed
 * (raised, or returned a value the engine cannot use), with one line each in report ("policy
 * HOOK: FILE:LINE: message"). Hooks that fail only on some states are not caught. */
int script_policy_dry_run(struct script_policy *P, char *report, size_t n);
/* 1 when hook h runs the default policy's hook (an earlier failure). */
int script_policy_falls_back(const struct script_policy *P, enum script_hook h);
int script_policy_rebuilds(const struct script_policy *P);
/* Stop the running hook (from any thread); cleared at the start of the next hook call. */
void script_policy_cancel(struct script_policy *P);
/* The current state (tests and bindings); borrowed, replaced by reloads and rebuilds. */
struct script *script_policy_script(struct script_policy *P);

/* Names: "prune", "fix_rank", ...; "tau", "lr", "trigger", ..., "save", "load" */
const char *script_verb_name(enum script_verb v);
const char *script_hook_name(enum script_hook h);

/* ---- for l_search.c ---- */
/* The view if `gen` is the current hook call's generation, else NULL (stale handle). */
const struct script_search_view *script_policy_view(struct script_policy *P, uint32_t gen);
uint32_t script_policy_generation(const struct script_policy *P);
void script_policy_record(struct script_policy *P, enum script_verb verb, int module,
                          double value, int accepted, const char *text);
/* l_search.c: create the handle metatables; push a Search handle for generation gen. */
void script_search_open(struct lua_State *L);
void script_search_push(struct lua_State *L, uint32_t gen);

#endif
