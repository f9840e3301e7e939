/* script_policy.c - loading a config + policy into a fresh state, calling the hooks, hot
 * reload, rebuild after limit errors, the verb event log, and the policy's saved state (the
 * save/load hooks and the exact text form of what save() returns). The handles and verbs that
 * hooks use are in l_search.c. */
#include "script/script_policy.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "script/script_internal.h"
#include "util/xalloc.h"

static const char *const hook_names[SCRIPT_HOOK_COUNT] = {
    "tau", "lr", "trigger", "select_prune", "fix_ranks", "on_step", "should_stop", "save",
    "load"};
static const char *const verb_names[] = {"prune", "fix_rank", "pin", "unpin", "set_budget",
                                         "log"};

const char *script_hook_name(enum script_hook h) {
    return (unsigned)h < SCRIPT_HOOK_COUNT ? hook_names[h] : "?";
}
const char *script_verb_name(enum script_verb v) {
    return (unsigned)v <= SCRIPT_VERB_LOG ? verb_names[v] : "?";
}

/* A loaded policy: the state, the sources it was built from, and the hook references. */
struct loaded {
    struct script *S;
    struct script_sources src;
    struct run_config cfg;
    int ref[SCRIPT_HOOK_COUNT];
    /* a policy of its own (not "default"): the default policy's hooks, built beside it, take
     * over a hook of the policy that fails at run time (off[h] = 1 from then on) */
    int def_ref[SCRIPT_HOOK_COUNT];
    int off[SCRIPT_HOOK_COUNT];
    int has_default;
    char policy_file[CFG_PATH_MAX];
};

struct script_policy {
    struct script_limits lim;
    struct loaded cur;           /* in force; cur.S == NULL before the first load */
    char config_path[CFG_PATH_MAX];
    char policy_arg[CFG_PATH_MAX]; /* the override given to load ("" = from the config) */
    int have_config;
    /* the hook call in progress */
    const struct script_search_view *view;
    uint32_t gen;
    const char *hook;
    /* results */
    struct script_event *ev;
    int n_ev, cap_ev;
    char trace[4096];
    int failures, rebuilds;
    /* the fallbacks not yet taken by script_policy_take_fallback: hook and why */
    struct { enum script_hook h; char why[512]; } fb[SCRIPT_HOOK_COUNT];
    int n_fb;
};

struct script_policy *script_policy_new(const struct script_limits *lim) {
    struct script_policy *P = xcalloc(1, sizeof *P);
    if (lim)
        P->lim = *lim;
    else
        script_limits_default(&P->lim);
    script_config_defaults(&P->cur.cfg);
    return P;
}

static void loaded_free(struct loaded *l) {
    script_free(l->S);
    script_sources_free(&l->src);
    l->S = NULL;
}

void script_policy_free(struct script_policy *P) {
    if (!P)
        return;
    loaded_free(&P->cur);
    free(P->ev);
    free(P);
}

const struct run_config *script_policy_config(const struct script_policy *P) {
    return &P->cur.cfg;
}
const char *script_policy_file(const struct script_policy *P) { return P->cur.policy_file; }
const char *script_policy_traceback(const struct script_policy *P) { return P->trace; }
int script_policy_failures(const struct script_policy *P) { return P->failures; }
int script_policy_rebuilds(const struct script_policy *P) { return P->rebuilds; }
struct script *script_policy_script(struct script_policy *P) { return P->cur.S; }
uint32_t script_policy_generation(const struct script_policy *P) { return P->gen; }

void script_policy_cancel(struct script_policy *P) {
    if (P->cur.S)
        script_cancel(P->cur.S);
}

const struct script_search_view *script_policy_view(struct script_policy *P, uint32_t gen) {
    return P->view && gen == P->gen ? P->view : NULL;
}

/* ---- event log ---- */

void script_policy_record(struct script_policy *P, enum script_verb verb, int module,
                          double value, int accepted, const char *text) {
    if (P->n_ev == P->cap_ev) {
        P->cap_ev = P->cap_ev ? 2 * P->cap_ev : 64;
        P->ev = xrealloc(P->ev, (size_t)P->cap_ev * sizeof *P->ev);
    }
    struct script_event *e = &P->ev[P->n_ev++];
    memset(e, 0, sizeof *e);
    e->verb = verb;
    e->module = module;
    e->value = value;
    e->accepted = accepted;
    snprintf(e->source, sizeof e->source, "%s", P->hook ? P->hook : "load");
    snprintf(e->text, sizeof e->text, "%s", text ? text : "");
}

int script_policy_events(const struct script_policy *P, const struct script_event **ev) {
    *ev = P->ev;
    return P->n_ev;
}
void script_policy_clear_events(struct script_policy *P) { P->n_ev = 0; }

/* bipeft.log from a policy state becomes a LOG event. */
static void policy_log(void *ctx, const char *msg) {
    script_policy_record(ctx, SCRIPT_VERB_LOG, -1, 0, 1, msg);
}

/* ---- building a state: config, resolved config, policy, hooks ---- */

static int push_config(lua_State *L) {
    struct script *S = script_from_lua(L);
    script_config_push(S, lua_touserdata(L, 1), lua_isnoneornil(L, 2) ? 0 : 2);
    return 1;
}

/* The policy file named by the config, relative to the config's folder. */
static void resolve_policy(const char *config_path, const char *name, char *out, size_t n) {
    const char *slash = config_path ? strrchr(config_path, '/') : NULL;
    size_t dir = name[0] == '/' || !slash ? 0 : (size_t)(slash - config_path + 1);
    if (dir >= n)
        dir = 0;
    memcpy(out, config_path ? config_path : "", dir);
    snprintf(out + dir, n - dir, "%s", name);
}

/* Protected: hooks table at 1, struct loaded at 2. Only known hooks, each a function, the
 * required ones present; keeps a registry reference to each (LUA_NOREF for an absent optional
 * hook). Raises a message naming the file on a bad table. */
static int take_hooks(lua_State *L) {
    struct loaded *l = lua_touserdata(L, 2);
    int *refs = lua_toboolean(L, 3) ? l->def_ref : l->ref;
    const char *file = lua_toboolean(L, 3) ? "default policy" : l->policy_file;
    char tmp[64];
    if (lua_type(L, 1) != LUA_TTABLE)
        return luaL_error(L, "%s: a policy must return a table of hooks, got %s", file,
                          script_describe(L, 1, tmp, sizeof tmp));
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        int known = 0;
        for (int h = 0; h < SCRIPT_HOOK_COUNT; h++)
            known |= lua_type(L, -1) == LUA_TSTRING && !strcmp(lua_tostring(L, -1), hook_names[h]);
        if (!known)
            return luaL_error(L, "%s: unknown hook %s (expected tau, lr, trigger, select_prune, "
                                 "fix_ranks, on_step, should_stop; optional: save, load)",
                              file, script_describe(L, -1, tmp, sizeof tmp));
    }
    for (int h = 0; h < SCRIPT_HOOK_COUNT; h++) {
        lua_getfield(L, 1, hook_names[h]);
        if (h >= SCRIPT_HOOK_FIRST_OPTIONAL && lua_isnil(L, -1)) {
            lua_pop(L, 1);
            refs[h] = LUA_NOREF;
            continue;
        }
        if (lua_type(L, -1) != LUA_TFUNCTION)
            return luaL_error(L, "%s: hook '%s' is %s (expected a function)", file, hook_names[h],
                              lua_isnil(L, -1) ? "missing" : luaL_typename(L, -1));
        refs[h] = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    return 0;
}

static int open_search(lua_State *L) {
    script_search_open(L);
    return 0;
}

static const char default_policy_chunk[] = "return peft.policy.default(...)";

/* A fresh state: config (validated), the resolved config for Lua, the policy, its hooks.
 * Every Lua API call that may allocate runs inside script_call (protected). */
static pf_status build(struct script_policy *P, struct loaded *l, struct pf_err *err) {
    l->S = script_new(&P->lim, err);
    if (!l->S)
        return err ? err->code : PF_ERR_NOMEM;
    struct script *S = l->S;
    lua_State *L = script_lua(S);
    script_set_owner(S, P);
    script_set_sources(S, &l->src);
    script_set_log(S, policy_log, P);
    lua_pushcfunction(L, open_search);
    pf_status st = script_call(S, 0, 0, err);
    int raw = 0;
    if (st == PF_OK && P->have_config) {
        st = script_run_file(S, P->config_path, 0, 1, err);
        if (st == PF_OK)
            st = script_config_from_lua(S, P->config_path, &l->cfg, err);
        raw = lua_gettop(L);
    } else {
        script_config_defaults(&l->cfg);
    }
    const char *name = P->policy_arg[0] ? P->policy_arg : l->cfg.policy;
    if (st == PF_OK) { /* Lua 5.4 seeds math.random at random: make policies reproducible */
        static const char seed_chunk[] = "math.randomseed(...)";
        lua_pushinteger(L, (lua_Integer)l->cfg.seed);
        st = script_run_buffer(S, "=seed", seed_chunk, sizeof seed_chunk - 1, 1, 0, err);
    }
    if (st == PF_OK) { /* the resolved config, the policy's argument */
        lua_pushcfunction(L, push_config);
        lua_pushlightuserdata(L, &l->cfg);
        if (raw)
            lua_pushvalue(L, raw);
        st = script_call(S, raw ? 2 : 1, 1, err);
    }
    if (st == PF_OK && !strcmp(name, "default")) {
        snprintf(l->policy_file, sizeof l->policy_file, "default");
        st = script_run_buffer(S, "=default policy", default_policy_chunk,
                               sizeof default_policy_chunk - 1, 1, 1, err);
    } else if (st == PF_OK) {
        if (P->policy_arg[0])
            snprintf(l->policy_file, sizeof l->policy_file, "%s", name);
        else
            resolve_policy(P->have_config ? P->config_path : NULL, name, l->policy_file,
                           sizeof l->policy_file);
        st = script_run_file(S, l->policy_file, 1, 1, err);
    }
    if (st == PF_OK) {
        lua_pushcfunction(L, take_hooks);
        lua_insert(L, -2);
        lua_pushlightuserdata(L, l);
        st = script_call(S, 2, 0, err);
    }
    for (int h = 0; h < SCRIPT_HOOK_COUNT; h++)
        l->def_ref[h] = LUA_NOREF;
    if (st == PF_OK && strcmp(name, "default") != 0) {
        /* the default policy on the same config: what a hook that fails falls back to */
        lua_pushcfunction(L, push_config);
        lua_pushlightuserdata(L, &l->cfg);
        if (raw)
            lua_pushvalue(L, raw);
        st = script_call(S, raw ? 2 : 1, 1, err);
        PF_STEP(st, script_run_buffer(S, "=default policy", default_policy_chunk,
                                      sizeof default_policy_chunk - 1, 1, 1, err));
        if (st == PF_OK) {
            lua_pushcfunction(L, take_hooks);
            lua_insert(L, -2);
            lua_pushlightuserdata(L, l);
            lua_pushboolean(L, 1);
            st = script_call(S, 3, 0, err);
        }
        l->has_default = st == PF_OK;
    }
    lua_settop(L, 0);
    if (st != PF_OK)
        snprintf(P->trace, sizeof P->trace, "%s", script_traceback(S)[0] ? script_traceback(S)
                                                                           : (err ? err->msg : ""));
    return st;
}

pf_status script_policy_load(struct script_policy *P, const char *config_path,
                             const char *policy_path, struct pf_err *err) {
    P->have_config = config_path != NULL;
    snprintf(P->config_path, sizeof P->config_path, "%s", config_path ? config_path : "");
    snprintf(P->policy_arg, sizeof P->policy_arg, "%s", policy_path ? policy_path : "");
    return script_reload(P, err);
}

pf_status script_reload(struct script_policy *P, struct pf_err *err) {
    struct loaded fresh;
    memset(&fresh, 0, sizeof fresh);
    pf_status st = build(P, &fresh, err);
    if (st != PF_OK) {
        loaded_free(&fresh); /* the old policy stays in force */
        return st;
    }
    loaded_free(&P->cur);
    P->cur = fresh;
    script_set_sources(P->cur.S, &P->cur.src); /* it pointed at `fresh`, on this stack */
    P->failures = 0;
    P->trace[0] = '\0';
    return PF_OK;
}

/* After a limit error: a fresh state from the recorded sources (files may have changed). */
static void rebuild(struct script_policy *P) {
    struct loaded fresh;
    memset(&fresh, 0, sizeof fresh);
    fresh.src = P->cur.src; /* borrow the copies in replay mode */
    fresh.src.replay = 1;
    struct pf_err e = {0};
    pf_status st = build(P, &fresh, &e);
    fresh.src.replay = 0;
    if (st != PF_OK) { /* cannot happen with the same text unless memory is short: keep old */
        script_free(fresh.S);
        return;
    }
    script_free(P->cur.S);
    P->cur.S = fresh.S;
    P->cur.src = fresh.src; /* the same copies */
    script_set_sources(P->cur.S, &P->cur.src);
    memcpy(P->cur.ref, fresh.ref, sizeof fresh.ref);
    memcpy(P->cur.def_ref, fresh.def_ref, sizeof fresh.def_ref); /* off[] stays */
    P->cur.has_default = fresh.has_default;
    P->rebuilds++;
}

/* ---- hook calls ---- */

/* ARGS_VALUE: the one argument is the value on top of the stack when run_hook is called. */
enum { ARGS_NUMBERS, ARGS_SEARCH, ARGS_SEARCH_NUM, ARGS_NONE, ARGS_VALUE };

/* Protected trampoline: (hook, args kind, a, b) -> the hook's first result. Pushing the
 * search handle allocates, so it happens in here, under the call's protection. */
static int hook_tramp(lua_State *L) {
    struct script_policy *P = script_owner(script_from_lua(L));
    int h = (int)lua_tointeger(L, 1), kind = (int)lua_tointeger(L, 2), n = 1;
    lua_rawgeti(L, LUA_REGISTRYINDEX, P->cur.off[h] ? P->cur.def_ref[h] : P->cur.ref[h]);
    if (kind == ARGS_NONE) {
        n = 0;
    } else if (kind == ARGS_VALUE) {
        lua_pushvalue(L, 4);
    } else if (kind == ARGS_NUMBERS) {
        lua_pushvalue(L, 3);
        lua_pushvalue(L, 4);
        n = 2;
    } else {
        script_search_push(L, P->gen);
        if (kind == ARGS_SEARCH_NUM) {
            lua_pushvalue(L, 3);
            n = 2;
        }
    }
    lua_call(L, n, 1);
    return 1;
}

/* A failed call of (or for) hook h: "policy h: " in front of the message, count it, keep the
 * traceback, rebuild the state after a limit. Returns st. */
static pf_status hook_failed(struct script_policy *P, enum script_hook h, pf_status st,
                             struct pf_err *err) {
    struct script *S = P->cur.S;
    if (err) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        pf_err_set(err, st, "policy %s: %s", hook_names[h], msg);
    }
    P->failures++;
    snprintf(P->trace, sizeof P->trace, "%s", script_traceback(S));
    if (script_needs_rebuild(S))
        rebuild(P);
    return st;
}

/* Run hook h; on success its result is on top (nres 1) or nothing (nres 0). ARGS_VALUE: the
 * argument is on top of the stack (consumed). */
static pf_status run_hook(struct script_policy *P, enum script_hook h, int kind,
                          const struct script_search_view *view, double a, double b, int nres,
                          struct pf_err *err) {
    if (!P->cur.S)
        return pf_err_set(err, PF_ERR_SCRIPT, "policy %s: no policy loaded", hook_names[h]);
    struct script *S = P->cur.S;
    lua_State *L = script_lua(S);
    script_uncancel(S);
    P->hook = hook_names[h];
    P->gen++;
    P->view = view;
    int value = lua_gettop(L);
    lua_pushcfunction(L, hook_tramp);
    lua_pushinteger(L, h);
    lua_pushinteger(L, kind);
    if (kind == ARGS_NUMBERS) {
        lua_pushinteger(L, (lua_Integer)a);
        lua_pushinteger(L, (lua_Integer)b);
    } else if (kind == ARGS_VALUE) {
        lua_pushnil(L);
        lua_rotate(L, value, -1); /* tramp h kind nil value */
    } else {
        lua_pushnumber(L, a);
        lua_pushnil(L);
    }
    pf_status st = script_call(S, 4, nres, err);
    P->view = NULL;
    P->gen++; /* handles from this call are stale now */
    P->hook = NULL;
    return st == PF_OK ? PF_OK : hook_failed(P, h, st, err);
}

static pf_status bad_result(struct script_policy *P, enum script_hook h, const char *want,
                            struct pf_err *err) {
    lua_State *L = script_lua(P->cur.S);
    char tmp[64];
    snprintf(P->trace, sizeof P->trace, "policy %s returned %s (expected %s)", hook_names[h],
             script_describe(L, -1, tmp, sizeof tmp), want);
    lua_pop(L, 1);
    pf_err_set(err, PF_ERR_SCRIPT, "%s", P->trace);
    P->failures++;
    return PF_ERR_SCRIPT;
}

/* Hook h of the policy failed (raised, or returned a bad value: err says which). When the
 * policy is not the default one and h has not failed before, the default policy's h takes
 * over from now on, the failure is kept for script_policy_take_fallback, and the call is to
 * be made again (returns 1). Memory errors are not the hook's fault and do not fall back. */
static int fall_back(struct script_policy *P, enum script_hook h, pf_status st,
                     const struct pf_err *err) {
    if (st == PF_ERR_NOMEM || !P->cur.S || !P->cur.has_default || P->cur.off[h] ||
        P->cur.def_ref[h] == LUA_NOREF ||
        h >= SCRIPT_HOOK_FIRST_OPTIONAL)
        return 0;
    P->cur.off[h] = 1;
    if (P->n_fb < SCRIPT_HOOK_COUNT) {
        P->fb[P->n_fb].h = h;
        snprintf(P->fb[P->n_fb].why, sizeof P->fb[P->n_fb].why, "%s",
                 err ? err->msg : "failed");
        P->n_fb++;
    }
    return 1;
}

int script_policy_take_fallback(struct script_policy *P, enum script_hook *h, char *why,
                                size_t n) {
    if (P->n_fb == 0)
        return 0;
    *h = P->fb[0].h;
    snprintf(why, n, "%s", P->fb[0].why);
    memmove(&P->fb[0], &P->fb[1], (size_t)(P->n_fb - 1) * sizeof P->fb[0]);
    P->n_fb--;
    return 1;
}

int script_policy_falls_back(const struct script_policy *P, enum script_hook h) {
    return (unsigned)h < SCRIPT_HOOK_COUNT && P->cur.off[h];
}

static pf_status number_hook_once(struct script_policy *P, enum script_hook h, int64_t t,
                                  int64_t total, int allow_zero, double *out,
                                  struct pf_err *err) {
    pf_status st = run_hook(P, h, ARGS_NUMBERS, NULL, (double)t, (double)total, 1, err);
    if (st != PF_OK)
        return st;
    lua_State *L = script_lua(P->cur.S);
    double x = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : NAN;
    if (!isfinite(x) || x < 0 || (x == 0 && !allow_zero))
        return bad_result(P, h, allow_zero ? "a finite number >= 0" : "a finite number > 0", err);
    lua_pop(L, 1);
    *out = x;
    return PF_OK;
}

static pf_status number_hook(struct script_policy *P, enum script_hook h, int64_t t,
                             int64_t total, int allow_zero, double *out, struct pf_err *err) {
    pf_status st;
    do
        st = number_hook_once(P, h, t, total, allow_zero, out, err);
    while (st != PF_OK && fall_back(P, h, st, err));
    return st;
}

pf_status script_policy_tau(struct script_policy *P, int epoch, int epochs, double *tau,
                            struct pf_err *err) {
    return number_hook(P, SCRIPT_HOOK_TAU, epoch, epochs, 0, tau, err);
}

pf_status script_policy_lr(struct script_policy *P, int64_t step, int64_t steps, double *lr,
                           struct pf_err *err) {
    return number_hook(P, SCRIPT_HOOK_LR, step, steps, 1, lr, err);
}

static pf_status bool_hook_once(struct script_policy *P, enum script_hook h,
                                const struct script_search_view *view, int *out,
                                struct pf_err *err) {
    pf_status st = run_hook(P, h, ARGS_SEARCH, view, 0, 0, 1, err);
    if (st != PF_OK)
        return st;
    lua_State *L = script_lua(P->cur.S);
    if (lua_type(L, -1) != LUA_TBOOLEAN)
        return bad_result(P, h, "true or false", err);
    *out = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return PF_OK;
}

static pf_status bool_hook(struct script_policy *P, enum script_hook h,
                           const struct script_search_view *view, int *out, struct pf_err *err) {
    pf_status st;
    do
        st = bool_hook_once(P, h, view, out, err);
    while (st != PF_OK && fall_back(P, h, st, err));
    return st;
}

/* A hook with no result (select_prune, fix_ranks, on_step), with the fallback. */
static pf_status void_hook(struct script_policy *P, enum script_hook h, int kind,
                           const struct script_search_view *view, double a,
                           struct pf_err *err) {
    pf_status st;
    do
        st = run_hook(P, h, kind, view, a, 0, 0, err);
    while (st != PF_OK && fall_back(P, h, st, err));
    return st;
}

pf_status script_policy_trigger(struct script_policy *P, const struct script_search_view *view,
                                int *fire, struct pf_err *err) {
    return bool_hook(P, SCRIPT_HOOK_TRIGGER, view, fire, err);
}

pf_status script_policy_should_stop(struct script_policy *P,
                                    const struct script_search_view *view, int *stop,
                                    struct pf_err *err) {
    return bool_hook(P, SCRIPT_HOOK_SHOULD_STOP, view, stop, err);
}

pf_status script_policy_select_prune(struct script_policy *P,
                                     const struct script_search_view *view, double delta,
                                     struct pf_err *err) {
    return void_hook(P, SCRIPT_HOOK_SELECT_PRUNE, ARGS_SEARCH_NUM, view, delta, err);
}

pf_status script_policy_fix_ranks(struct script_policy *P, const struct script_search_view *view,
                                  struct pf_err *err) {
    return void_hook(P, SCRIPT_HOOK_FIX_RANKS, ARGS_SEARCH, view, 0, err);
}

pf_status script_policy_on_step(struct script_policy *P, const struct script_search_view *view,
                                struct pf_err *err) {
    return void_hook(P, SCRIPT_HOOK_ON_STEP, ARGS_SEARCH, view, 0, err);
}

/* ---- the policy's saved state ---- */

/* Writing what save() returned as "return <value>". Refusals fill msg (with path, the keys
 * from the root to the value: "[history][3]") and make every writer return 0; only memory
 * errors raise (the writer runs under script_call). */
struct saver {
    char *buf; /* owned by the caller of the protected call, freed there */
    size_t len, cap;
    const void *open[SCRIPT_STATE_MAX_DEPTH]; /* the tables being written, outermost first */
    int depth;
    char path[256];
    char msg[200];
};

struct saved_key {
    int is_string;
    lua_Integer i;
    const char *s; /* a key of the table being written: alive while it is */
    size_t n;
};

__attribute__((format(printf, 2, 3))) static int refuse(struct saver *sv, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sv->msg, sizeof sv->msg, fmt, ap);
    va_end(ap);
    return 0;
}

static int put(struct saver *sv, const char *p, size_t n) {
    if (n > SCRIPT_STATE_MAX_BYTES - sv->len)
        return refuse(sv, "the saved text would exceed %zu MiB", SCRIPT_STATE_MAX_BYTES >> 20);
    if (sv->len + n + 1 > sv->cap) {
        size_t cap = sv->cap ? sv->cap : 256;
        while (sv->len + n + 1 > cap)
            cap *= 2;
        sv->buf = xrealloc(sv->buf, cap);
        sv->cap = cap;
    }
    memcpy(sv->buf + sv->len, p, n);
    sv->len += n;
    sv->buf[sv->len] = '\0';
    return 1;
}

static int puts_(struct saver *sv, const char *s) { return put(sv, s, strlen(s)); }

static int put_integer(struct saver *sv, lua_Integer x) {
    char b[32];
    if (x == LUA_MININTEGER) /* its digits would read back as a float */
        snprintf(b, sizeof b, "(%lld-1)", (long long)(x + 1));
    else
        snprintf(b, sizeof b, "%lld", (long long)x);
    return puts_(sv, b);
}

/* The shortest %.Ng (N = 15..17) that reads back to the same bits; ".0" when the digits
 * alone would read as an integer (this keeps -0.0 too); inf, -inf and NaN as expressions. */
static int put_float(struct saver *sv, double x) {
    char b[40];
    if (isnan(x))
        return puts_(sv, "(0/0)");
    if (isinf(x))
        return puts_(sv, x > 0 ? "(1/0)" : "(-1/0)");
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, x);
        double back = strtod(b, NULL);
        if (!memcmp(&back, &x, sizeof x))
            break;
    }
    if (!strpbrk(b, ".eE"))
        strcat(b, ".0");
    return puts_(sv, b);
}

/* A string literal that reads back byte for byte: printable ASCII as is, except " and \. */
static int put_string(struct saver *sv, const char *s, size_t n) {
    if (!put(sv, "\"", 1))
        return 0;
    size_t run = 0; /* plain bytes not yet written: s[i - run .. i) */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            run++;
            continue;
        }
        char esc[8];
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else if (c == '\n')
            snprintf(esc, sizeof esc, "\\n");
        else if (c == '\r')
            snprintf(esc, sizeof esc, "\\r");
        else if (c == '\t')
            snprintf(esc, sizeof esc, "\\t");
        else
            snprintf(esc, sizeof esc, "\\%03u", (unsigned)c);
        if (!put(sv, s + i - run, run) || !puts_(sv, esc))
            return 0;
        run = 0;
    }
    return put(sv, s + n - run, run) && put(sv, "\"", 1);
}

/* Append "[key]" to the path (control bytes shown as '?'); returns the mark to restore. */
static size_t path_push(struct saver *sv, const struct saved_key *k) {
    size_t mark = strlen(sv->path), room = sizeof sv->path - mark;
    if (k->is_string) {
        char key[64];
        size_t n = k->n < sizeof key - 1 ? k->n : sizeof key - 1;
        for (size_t i = 0; i < n; i++)
            key[i] = (unsigned char)k->s[i] < 0x20 ? '?' : k->s[i];
        key[n] = '\0';
        snprintf(sv->path + mark, room, "[%s%s]", key, n < k->n ? "..." : "");
    } else {
        snprintf(sv->path + mark, room, "[%lld]", (long long)k->i);
    }
    return mark;
}

static int key_order(const void *pa, const void *pb) {
    const struct saved_key *a = pa, *b = pb;
    if (a->is_string != b->is_string)
        return a->is_string - b->is_string; /* integers first */
    if (!a->is_string)
        return (a->i > b->i) - (a->i < b->i);
    int c = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
    return c ? c : (a->n > b->n) - (a->n < b->n);
}

static int save_value(lua_State *L, struct saver *sv, int idx);

static int save_table(lua_State *L, struct saver *sv, int t) {
    const void *self = lua_topointer(L, t);
    for (int d = 0; d < sv->depth; d++)
        if (sv->open[d] == self)
            return refuse(sv, "cycles cannot be saved (this table contains itself)");
    if (sv->depth == SCRIPT_STATE_MAX_DEPTH)
        return refuse(sv, "tables nested deeper than %d levels cannot be saved",
                      SCRIPT_STATE_MAX_DEPTH);
    luaL_checkstack(L, 6, "saved state");
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        n++;
    }
    struct saved_key *keys = lua_newuserdatauv(L, (n ? n : 1) * sizeof *keys, 0);
    size_t k = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        char tmp[64];
        if (lua_type(L, -1) == LUA_TSTRING) {
            keys[k].is_string = 1;
            keys[k].s = lua_tolstring(L, -1, &keys[k].n);
        } else if (lua_isinteger(L, -1)) {
            keys[k].is_string = 0;
            keys[k].i = lua_tointeger(L, -1);
        } else {
            return refuse(sv, "keys must be integers or strings, got %s",
                          script_describe(L, -1, tmp, sizeof tmp));
        }
        k++;
    }
    qsort(keys, n, sizeof *keys, key_order);
    sv->open[sv->depth++] = self;
    if (!put(sv, "{", 1))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (i && !put(sv, ",", 1))
            return 0;
        if (!put(sv, "[", 1) ||
            !(keys[i].is_string ? put_string(sv, keys[i].s, keys[i].n)
                                : put_integer(sv, keys[i].i)) ||
            !put(sv, "]=", 2))
            return 0;
        if (keys[i].is_string)
            lua_pushlstring(L, keys[i].s, keys[i].n);
        else
            lua_pushinteger(L, keys[i].i);
        lua_rawget(L, t);
        size_t mark = path_push(sv, &keys[i]);
        if (!save_value(L, sv, lua_gettop(L)))
            return 0;
        sv->path[mark] = '\0';
        lua_pop(L, 1);
    }
    sv->depth--;
    lua_pop(L, 1); /* keys */
    return put(sv, "}", 1);
}

static int save_value(lua_State *L, struct saver *sv, int idx) {
    switch (lua_type(L, idx)) {
    case LUA_TNIL: return puts_(sv, "nil");
    case LUA_TBOOLEAN: return puts_(sv, lua_toboolean(L, idx) ? "true" : "false");
    case LUA_TNUMBER:
        return lua_isinteger(L, idx) ? put_integer(sv, lua_tointeger(L, idx))
                                     : put_float(sv, lua_tonumber(L, idx));
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        return put_string(sv, s, n);
    }
    case LUA_TTABLE: return save_table(L, sv, idx);
    case LUA_TFUNCTION: return refuse(sv, "functions cannot be saved");
    case LUA_TTHREAD: return refuse(sv, "threads cannot be saved");
    default: return refuse(sv, "%s values cannot be saved", luaL_typename(L, idx));
    }
}

/* Protected: (value, saver) -> nothing; the text or the refusal is in the saver. */
static int save_protected(lua_State *L) {
    struct saver *sv = lua_touserdata(L, 2);
    if (puts_(sv, "return "))
        save_value(L, sv, 1);
    return 0;
}

pf_status script_policy_save_state(struct script_policy *P, char **text, struct pf_err *err) {
    *text = NULL;
    if (!P->cur.S)
        return pf_err_set(err, PF_ERR_SCRIPT, "policy save: no policy loaded");
    if (P->cur.ref[SCRIPT_HOOK_SAVE] == LUA_NOREF) {
        *text = xstrdup("return nil");
        return PF_OK;
    }
    pf_status st = run_hook(P, SCRIPT_HOOK_SAVE, ARGS_NONE, NULL, 0, 0, 1, err);
    if (st != PF_OK)
        return st;
    struct script *S = P->cur.S;
    lua_State *L = script_lua(S);
    struct saver *sv = xcalloc(1, sizeof *sv);
    lua_pushcfunction(L, save_protected);
    lua_insert(L, -2);
    lua_pushlightuserdata(L, sv); /* save_protected value saver */
    st = script_call(S, 2, 0, err);
    if (st != PF_OK) {
        free(sv->buf);
        free(sv);
        return hook_failed(P, SCRIPT_HOOK_SAVE, st, err);
    }
    if (sv->msg[0]) {
        pf_err_set(err, PF_ERR_SCRIPT, "save(): %s%s%s", sv->path, sv->path[0] ? ": " : "",
                   sv->msg);
        snprintf(P->trace, sizeof P->trace, "save(): %s%s%s", sv->path,
                 sv->path[0] ? ": " : "", sv->msg);
        P->failures++;
        free(sv->buf);
        free(sv);
        return PF_ERR_SCRIPT;
    }
    *text = sv->buf;
    free(sv);
    return PF_OK;
}

pf_status script_policy_load_state(struct script_policy *P, const char *text,
                                   struct pf_err *err) {
    if (!P->cur.S)
        return pf_err_set(err, PF_ERR_SCRIPT, "policy load: no policy loaded");
    if (P->cur.ref[SCRIPT_HOOK_LOAD] == LUA_NOREF)
        return PF_OK;
    size_t len = strlen(text);
    if (len > SCRIPT_STATE_MAX_BYTES) {
        P->failures++;
        snprintf(P->trace, sizeof P->trace, "policy load: the saved text exceeds %zu MiB",
                 SCRIPT_STATE_MAX_BYTES >> 20);
        return pf_err_set(err, PF_ERR_SCRIPT, "%s", P->trace);
    }
    struct script *S = P->cur.S;
    lua_State *L = script_lua(S);
    script_uncancel(S);
    pf_status st = script_run_buffer(S, "=saved state", text, len, 0, 1, err);
    if (st != PF_OK)
        return hook_failed(P, SCRIPT_HOOK_LOAD, st, err);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return PF_OK;
    }
    return run_hook(P, SCRIPT_HOOK_LOAD, ARGS_VALUE, NULL, 0, 0, 0, err);
}
