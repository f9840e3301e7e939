/* script_policy.c - loading a config + policy into a fresh state, calling the hooks, hot
 * reload, rebuild after limit errors, and the verb event log. The handles and verbs that
 * hooks use are in l_search.c. */
#include "script/script_policy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "script/script_internal.h"
#include "util/xalloc.h"

static const char *const hook_names[SCRIPT_HOOK_COUNT] = {
    "tau", "lr", "trigger", "select_prune", "fix_ranks", "on_step", "should_stop"};
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

/* Protected: hooks table at 1, struct loaded at 2. Exactly the known hooks, each a function;
 * keeps a registry reference to each. Raises a message naming the file on a bad table. */
static int take_hooks(lua_State *L) {
    struct loaded *l = lua_touserdata(L, 2);
    const char *file = l->policy_file;
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
                                 "fix_ranks, on_step, should_stop)",
                              file, script_describe(L, -1, tmp, sizeof tmp));
    }
    for (int h = 0; h < SCRIPT_HOOK_COUNT; h++) {
        lua_getfield(L, 1, hook_names[h]);
        if (lua_type(L, -1) != LUA_TFUNCTION)
            return luaL_error(L, "%s: hook '%s' is %s (expected a function)", file, hook_names[h],
                              lua_isnil(L, -1) ? "missing" : luaL_typename(L, -1));
        l->ref[h] = luaL_ref(L, LUA_REGISTRYINDEX);
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
    P->rebuilds++;
}

/* ---- hook calls ---- */

enum { ARGS_NUMBERS, ARGS_SEARCH, ARGS_SEARCH_NUM };

/* Protected trampoline: (hook, args kind, a, b) -> the hook's first result. Pushing the
 * search handle allocates, so it happens in here, under the call's protection. */
static int hook_tramp(lua_State *L) {
    struct script_policy *P = script_owner(script_from_lua(L));
    int h = (int)lua_tointeger(L, 1), kind = (int)lua_tointeger(L, 2), n = 1;
    lua_rawgeti(L, LUA_REGISTRYINDEX, P->cur.ref[h]);
    if (kind == ARGS_NUMBERS) {
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

/* Run hook h; on success its result is on top (nres 1) or nothing (nres 0). */
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
    lua_pushcfunction(L, hook_tramp);
    lua_pushinteger(L, h);
    lua_pushinteger(L, kind);
    if (kind == ARGS_NUMBERS) {
        lua_pushinteger(L, (lua_Integer)a);
        lua_pushinteger(L, (lua_Integer)b);
    } else {
        lua_pushnumber(L, a);
        lua_pushnil(L);
    }
    pf_status st = script_call(S, 4, nres, err);
    P->view = NULL;
    P->gen++; /* handles from this call are stale now */
    P->hook = NULL;
    if (st == PF_OK)
        return PF_OK;
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

static pf_status number_hook(struct script_policy *P, enum script_hook h, int64_t t,
                             int64_t total, int allow_zero, double *out, struct pf_err *err) {
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

pf_status script_policy_tau(struct script_policy *P, int epoch, int epochs, double *tau,
                            struct pf_err *err) {
    return number_hook(P, SCRIPT_HOOK_TAU, epoch, epochs, 0, tau, err);
}

pf_status script_policy_lr(struct script_policy *P, int64_t step, int64_t steps, double *lr,
                           struct pf_err *err) {
    return number_hook(P, SCRIPT_HOOK_LR, step, steps, 1, lr, err);
}

static pf_status bool_hook(struct script_policy *P, enum script_hook h,
                           const struct script_search_view *view, int *out, struct pf_err *err) {
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
    return run_hook(P, SCRIPT_HOOK_SELECT_PRUNE, ARGS_SEARCH_NUM, view, delta, 0, 0, err);
}

pf_status script_policy_fix_ranks(struct script_policy *P, const struct script_search_view *view,
                                  struct pf_err *err) {
    return run_hook(P, SCRIPT_HOOK_FIX_RANKS, ARGS_SEARCH, view, 0, 0, 0, err);
}

pf_status script_policy_on_step(struct script_policy *P, const struct script_search_view *view,
                                struct pf_err *err) {
    return run_hook(P, SCRIPT_HOOK_ON_STEP, ARGS_SEARCH, view, 0, 0, 0, err);
}
