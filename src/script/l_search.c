/* l_search.c - the read-only handles hooks receive: "bipeft.Search" and "bipeft.Module".
 * A handle holds the hook call's generation (and a module index); every method checks it, so
 * a handle kept past its hook raises "stale handle" instead of reading engine memory. Methods
 * return copies. Verbs (prune, fix_rank, pin, unpin, set_budget, log) are checked here, then
 * validated and applied by the engine's act(), and recorded in the event log either way:
 * accepted verbs return true, refused ones return nil, message. Misuse (wrong types, stale
 * handles) raises. */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "script/script_internal.h"
#include "script/script_policy.h"

#define SEARCH_MT "bipeft.Search"
#define MODULE_MT "bipeft.Module"

struct search_handle {
    uint32_t gen;
};
struct module_handle {
    uint32_t gen;
    int id; /* 0-based */
};

static struct script_policy *policy_of(lua_State *L) {
    return script_owner(script_from_lua(L));
}

static const struct script_search_view *check_search(lua_State *L) {
    struct search_handle *h = luaL_checkudata(L, 1, SEARCH_MT);
    const struct script_search_view *v = script_policy_view(policy_of(L), h->gen);
    if (!v)
        luaL_error(L, "stale search handle (used after its hook returned)");
    return v;
}

static const struct script_module_view *check_module(lua_State *L, int idx, int *id) {
    struct module_handle *h = luaL_checkudata(L, idx, MODULE_MT);
    const struct script_search_view *v = script_policy_view(policy_of(L), h->gen);
    if (!v)
        luaL_error(L, "stale module handle (used after its hook returned)");
    if (id)
        *id = h->id;
    return &v->modules[h->id];
}

static void push_module(lua_State *L, uint32_t gen, int id) {
    struct module_handle *h = lua_newuserdatauv(L, sizeof *h, 0);
    h->gen = gen;
    h->id = id;
    luaL_setmetatable(L, MODULE_MT);
}

static const char *state_name(enum script_mod_state s) {
    return s == SCRIPT_MOD_PRUNED ? "pruned" : s == SCRIPT_MOD_FIXED ? "fixed" : "active";
}

/* ---- module methods ---- */

static int l_module_id(lua_State *L) {
    int id;
    check_module(L, 1, &id);
    lua_pushinteger(L, id + 1);
    return 1;
}
static int l_module_name(lua_State *L) {
    lua_pushstring(L, check_module(L, 1, NULL)->name);
    return 1;
}
static int l_module_kind(lua_State *L) {
    lua_pushstring(L, script_kind_name(check_module(L, 1, NULL)->kind));
    return 1;
}
static int l_module_layer(lua_State *L) {
    lua_pushinteger(L, check_module(L, 1, NULL)->layer);
    return 1;
}
static int l_module_state(lua_State *L) {
    lua_pushstring(L, state_name(check_module(L, 1, NULL)->state));
    return 1;
}
static int l_module_pinned(lua_State *L) {
    lua_pushboolean(L, check_module(L, 1, NULL)->pinned);
    return 1;
}
static int l_module_sensitivity(lua_State *L) {
    lua_pushnumber(L, check_module(L, 1, NULL)->sensitivity);
    return 1;
}
static int l_module_stability(lua_State *L) {
    lua_pushnumber(L, check_module(L, 1, NULL)->stability);
    return 1;
}
static int l_module_cost(lua_State *L) {
    lua_pushnumber(L, check_module(L, 1, NULL)->cost);
    return 1;
}
static int l_module_full_cost(lua_State *L) {
    lua_pushinteger(L, check_module(L, 1, NULL)->full_cost);
    return 1;
}
static int l_module_rank(lua_State *L) {
    lua_pushinteger(L, check_module(L, 1, NULL)->rank);
    return 1;
}
static int l_module_ranks(lua_State *L) {
    const struct script_module_view *m = check_module(L, 1, NULL);
    lua_createtable(L, m->n_ranks, 0);
    for (int i = 0; i < m->n_ranks; i++) {
        lua_pushinteger(L, m->ranks[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}
static int l_module_rank_probs(lua_State *L) {
    const struct script_module_view *m = check_module(L, 1, NULL);
    lua_createtable(L, m->n_ranks, 0);
    for (int i = 0; i < m->n_ranks; i++) {
        lua_pushnumber(L, m->rank_probs ? m->rank_probs[i] : 0.0);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}
static int l_module_tostring(lua_State *L) {
    struct module_handle *h = luaL_checkudata(L, 1, MODULE_MT);
    const struct script_search_view *v = script_policy_view(policy_of(L), h->gen);
    lua_pushfstring(L, "bipeft.Module(%s)", v ? v->modules[h->id].name : "stale");
    return 1;
}

/* ---- search queries ---- */

static int l_search_n_modules(lua_State *L) {
    lua_pushinteger(L, check_search(L)->n_modules);
    return 1;
}

/* s:module(i) (1-based) or s:module("name") -> handle, or nil, msg */
static int l_search_module(lua_State *L) {
    const struct script_search_view *v = check_search(L);
    struct search_handle *h = lua_touserdata(L, 1);
    int id = -1;
    if (lua_type(L, 2) == LUA_TSTRING) {
        const char *name = lua_tostring(L, 2);
        for (int i = 0; i < v->n_modules && id < 0; i++)
            if (!strcmp(v->modules[i].name, name))
                id = i;
        if (id < 0) {
            luaL_pushfail(L);
            lua_pushfstring(L, "no module named '%s'", name);
            return 2;
        }
    } else {
        lua_Integer i = luaL_checkinteger(L, 2);
        luaL_argcheck(L, i >= 1 && i <= v->n_modules, 2, "module index out of range");
        id = (int)i - 1;
    }
    push_module(L, h->gen, id);
    return 1;
}

static int l_search_modules(lua_State *L) {
    const struct script_search_view *v = check_search(L);
    struct search_handle *h = lua_touserdata(L, 1);
    lua_createtable(L, v->n_modules, 0);
    for (int i = 0; i < v->n_modules; i++) {
        push_module(L, h->gen, i);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* s:column(name) -> a list with one value per module (a copy). */
static int l_search_column(lua_State *L) {
    static const char *const cols[] = {"sensitivity", "stability", "cost", "full_cost", "rank",
                                       "n_ranks", "layer", "state", "pinned", "name", "kind",
                                       NULL};
    const struct script_search_view *v = check_search(L);
    int c = luaL_checkoption(L, 2, NULL, cols);
    lua_createtable(L, v->n_modules, 0);
    for (int i = 0; i < v->n_modules; i++) {
        const struct script_module_view *m = &v->modules[i];
        switch (c) {
        case 0: lua_pushnumber(L, m->sensitivity); break;
        case 1: lua_pushnumber(L, m->stability); break;
        case 2: lua_pushnumber(L, m->cost); break;
        case 3: lua_pushinteger(L, m->full_cost); break;
        case 4: lua_pushinteger(L, m->rank); break;
        case 5: lua_pushinteger(L, m->n_ranks); break;
        case 6: lua_pushinteger(L, m->layer); break;
        case 7: lua_pushstring(L, state_name(m->state)); break;
        case 8: lua_pushboolean(L, m->pinned); break;
        case 9: lua_pushstring(L, m->name); break;
        default: lua_pushstring(L, script_kind_name(m->kind)); break;
        }
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int l_search_expected_params(lua_State *L) {
    lua_pushnumber(L, check_search(L)->expected_params);
    return 1;
}
static int l_search_current_params(lua_State *L) {
    lua_pushinteger(L, check_search(L)->current_params);
    return 1;
}
static int l_search_budget(lua_State *L) {
    lua_pushinteger(L, check_search(L)->budget);
    return 1;
}
static int l_search_stage(lua_State *L) {
    lua_pushinteger(L, check_search(L)->stage);
    return 1;
}
static int l_search_stages_left(lua_State *L) {
    lua_pushinteger(L, check_search(L)->stages_left);
    return 1;
}
static int l_search_stages_total(lua_State *L) {
    lua_pushinteger(L, check_search(L)->stages_total);
    return 1;
}
static int l_search_step(lua_State *L) {
    lua_pushinteger(L, check_search(L)->step);
    return 1;
}
static int l_search_epoch(lua_State *L) {
    lua_pushinteger(L, check_search(L)->epoch);
    return 1;
}
static int l_search_steps_per_epoch(lua_State *L) {
    lua_pushinteger(L, check_search(L)->steps_per_epoch);
    return 1;
}
static int l_search_global_stability(lua_State *L) {
    lua_pushnumber(L, check_search(L)->global_stability);
    return 1;
}
static int l_search_stability_window(lua_State *L) {
    lua_pushinteger(L, check_search(L)->stability_window);
    return 1;
}
static int l_search_state(lua_State *L) {
    const char *s = check_search(L)->state;
    lua_pushstring(L, s ? s : "searching");
    return 1;
}

/* s:history("loss" | "metric" [, n]) -> the last n values, oldest first (a copy). */
static int l_search_history(lua_State *L) {
    static const char *const names[] = {"loss", "metric", NULL};
    const struct script_search_view *v = check_search(L);
    int which = luaL_checkoption(L, 2, NULL, names);
    const double *x = which ? v->metric : v->loss;
    int n = which ? v->n_metric : v->n_loss;
    lua_Integer want = luaL_optinteger(L, 3, n);
    luaL_argcheck(L, want >= 0, 3, "expected a non-negative count");
    int k = want < n ? (int)want : n;
    lua_createtable(L, k, 0);
    for (int i = 0; i < k; i++) {
        lua_pushnumber(L, x[n - k + i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* ---- verbs ---- */

/* Check, act, record; push true or nil, msg. `why` non-NULL: refused by the script layer. */
static int do_verb(lua_State *L, const struct script_search_view *v, enum script_verb verb,
                   int module, double value, const char *why, const char *text) {
    struct script_policy *P = policy_of(L);
    struct pf_err e = {0};
    int ok = why == NULL;
    if (ok && v->act && v->act(v->ctx, verb, module, value, &e) != PF_OK) {
        ok = 0;
        why = e.msg[0] ? e.msg : "refused by the engine";
    }
    script_policy_record(P, verb, module, value, ok, ok ? text : why);
    if (ok) {
        lua_pushboolean(L, 1);
        return 1;
    }
    luaL_pushfail(L);
    lua_pushstring(L, why);
    return 2;
}

static int l_search_prune(lua_State *L) {
    const struct script_search_view *v = check_search(L);
    int id;
    const struct script_module_view *m = check_module(L, 2, &id);
    char why[160];
    const char *w = NULL;
    if (m->state == SCRIPT_MOD_PRUNED)
        snprintf(why, sizeof why, "%s is already pruned", m->name), w = why;
    else if (m->pinned)
        snprintf(why, sizeof why, "%s is pinned (unpin it first)", m->name), w = why;
    return do_verb(L, v, SCRIPT_VERB_PRUNE, id, 0, w, m->name);
}

static int l_search_fix_rank(lua_State *L) {
    const struct script_search_view *v = check_search(L);
    int id;
    const struct script_module_view *m = check_module(L, 2, &id);
    lua_Integer r = luaL_checkinteger(L, 3);
    char why[160];
    const char *w = NULL;
    int cand = 0;
    for (int i = 0; i < m->n_ranks; i++)
        cand |= m->ranks[i] == r;
    if (m->n_ranks == 0)
        snprintf(why, sizeof why, "%s has no rank choice", m->name), w = why;
    else if (m->state == SCRIPT_MOD_PRUNED)
        snprintf(why, sizeof why, "%s is pruned", m->name), w = why;
    else if (!cand)
        snprintf(why, sizeof why, "rank %lld is not a candidate of %s", (long long)r, m->name),
            w = why;
    return do_verb(L, v, SCRIPT_VERB_FIX_RANK, id, (double)r, w, m->name);
}

static int pin_verb(lua_State *L, enum script_verb verb) {
    const struct script_search_view *v = check_search(L);
    int id;
    const struct script_module_view *m = check_module(L, 2, &id);
    char why[160];
    const char *w = NULL;
    if (verb == SCRIPT_VERB_PIN && m->state == SCRIPT_MOD_PRUNED)
        snprintf(why, sizeof why, "%s is pruned", m->name), w = why;
    return do_verb(L, v, verb, id, 0, w, m->name);
}
static int l_search_pin(lua_State *L) { return pin_verb(L, SCRIPT_VERB_PIN); }
static int l_search_unpin(lua_State *L) { return pin_verb(L, SCRIPT_VERB_UNPIN); }

static int l_search_set_budget(lua_State *L) {
    const struct script_search_view *v = check_search(L);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_argcheck(L, n > 0, 2, "expected a positive parameter count");
    char text[64];
    snprintf(text, sizeof text, "%lld", (long long)n);
    return do_verb(L, v, SCRIPT_VERB_SET_BUDGET, -1, (double)n, NULL, text);
}

static int l_search_log(lua_State *L) {
    const struct script_search_view *v = check_search(L);
    const char *msg = luaL_checkstring(L, 2);
    return do_verb(L, v, SCRIPT_VERB_LOG, -1, 0, NULL, msg);
}

static int l_search_tostring(lua_State *L) {
    struct search_handle *h = luaL_checkudata(L, 1, SEARCH_MT);
    lua_pushstring(L, script_policy_view(policy_of(L), h->gen) ? "bipeft.Search"
                                                                 : "bipeft.Search(stale)");
    return 1;
}

/* ---- registration ---- */

static void new_meta(lua_State *L, const char *name, const luaL_Reg *methods,
                     lua_CFunction tostring) {
    luaL_newmetatable(L, name);          /* mt */
    lua_newtable(L);                     /* mt methods (never handed out) */
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable"); /* getmetatable(handle) == "locked" */
    lua_pop(L, 1);
}

void script_search_open(lua_State *L) {
    static const luaL_Reg module_methods[] = {
        {"id", l_module_id},           {"name", l_module_name},
        {"kind", l_module_kind},       {"layer", l_module_layer},
        {"state", l_module_state},     {"pinned", l_module_pinned},
        {"sensitivity", l_module_sensitivity}, {"stability", l_module_stability},
        {"cost", l_module_cost},       {"full_cost", l_module_full_cost},
        {"rank", l_module_rank},       {"ranks", l_module_ranks},
        {"rank_probs", l_module_rank_probs}, {NULL, NULL}};
    static const luaL_Reg search_methods[] = {
        {"n_modules", l_search_n_modules},
        {"module", l_search_module},
        {"modules", l_search_modules},
        {"column", l_search_column},
        {"expected_params", l_search_expected_params},
        {"current_params", l_search_current_params},
        {"budget", l_search_budget},
        {"stage", l_search_stage},
        {"stages_left", l_search_stages_left},
        {"stages_total", l_search_stages_total},
        {"step", l_search_step},
        {"epoch", l_search_epoch},
        {"steps_per_epoch", l_search_steps_per_epoch},
        {"global_stability", l_search_global_stability},
        {"stability_window", l_search_stability_window},
        {"state", l_search_state},
        {"history", l_search_history},
        {"prune", l_search_prune},
        {"fix_rank", l_search_fix_rank},
        {"pin", l_search_pin},
        {"unpin", l_search_unpin},
        {"set_budget", l_search_set_budget},
        {"log", l_search_log},
        {NULL, NULL}};
    new_meta(L, MODULE_MT, module_methods, l_module_tostring);
    new_meta(L, SEARCH_MT, search_methods, l_search_tostring);
}

void script_search_push(lua_State *L, uint32_t gen) {
    struct search_handle *h = lua_newuserdatauv(L, sizeof *h, 0);
    h->gen = gen;
    luaL_setmetatable(L, SEARCH_MT);
}
