/* script_sandbox.c - what a script may touch. Opens base, table, string, math and utf8 and
 * copies an allow-list of their functions into a private "safe" table; every library table is
 * replaced by a read-only proxy whose metatable is protected; the string metatable's
 * __metatable is `false` so getmetatable("") cannot reach __index. Scripts see one read-only
 * environment: reading an unknown global raises "unknown global 'x'", assigning a global
 * raises too (use locals). The real global table is emptied.
 *
 * Wrapped functions:
 *   setmetatable  refuses metatables with __gc (finalizers would run outside any budget);
 *   rawset        refuses read-only tables (the proxies and the environment);
 *   string.find/match/gmatch/gsub
 *                 refuse patterns longer than 1024 bytes and patterns whose backtracking cost
 *                 estimate on the given subject exceeds 1e8 steps: the pattern matcher is C,
 *                 the count hook cannot stop it (reliability case 16);
 *   xpcall        runs the user's message handler through a C handler that skips it once the
 *                 call is over a limit: an error raised by the count hook leaves hooks off
 *                 while the handler runs, so a looping handler would never be stopped;
 *   string.rep    returns "" at once for an empty string and separator (the C loop would run
 *                 n times for nothing).
 * Not provided: io, os, package, require, debug, coroutine, load, loadfile, dofile,
 * collectgarbage, print (use bipeft.log), string.dump. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "script/script_internal.h"

#define PATTERN_MAX 1024
#define PATTERN_COST_LOG2 26.6 /* log2(1e8) */

/* ---- describing values without metamethods ---- */

const char *script_describe(lua_State *L, int idx, char *buf, size_t bufsz) {
    switch (lua_type(L, idx)) {
    case LUA_TNIL: return "nil";
    case LUA_TBOOLEAN: return lua_toboolean(L, idx) ? "true" : "false";
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            snprintf(buf, bufsz, "%lld", (long long)lua_tointeger(L, idx));
        else {
            snprintf(buf, bufsz, "%.14g", lua_tonumber(L, idx));
            if (!strpbrk(buf, ".eEni")) /* a float that looks integral: 1.0, as Lua shows it */
                snprintf(buf + strlen(buf), bufsz - strlen(buf), ".0");
        }
        return buf;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (n > 40)
            snprintf(buf, bufsz, "\"%.37s...\"", s);
        else
            snprintf(buf, bufsz, "\"%s\"", s);
        return buf;
    }
    case LUA_TTABLE: return "a table";
    case LUA_TFUNCTION: return "a function";
    default: return lua_typename(L, lua_type(L, idx));
    }
}

/* ---- read-only proxies ---- */

static int ro_newindex(lua_State *L) {
    char tmp[64];
    return luaL_error(L, "attempt to modify read-only table '%s' (key %s)",
                      lua_tostring(L, lua_upvalueindex(1)), script_describe(L, 2, tmp, sizeof tmp));
}

static int ro_next(lua_State *L) {
    lua_settop(L, 2);                         /* state key */
    if (lua_next(L, lua_upvalueindex(1)) == 0) /* real table, never handed out */
        return 0;
    return 2;
}

static int ro_pairs(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, ro_next, 1);
    lua_pushnil(L);
    lua_pushnil(L);
    return 3;
}

static int ro_len(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, lua_upvalueindex(1)));
    return 1;
}

static int is_read_only(lua_State *L, int idx) {
    if (!lua_getmetatable(L, idx))
        return 0;
    lua_pushliteral(L, "__newindex");
    lua_rawget(L, -2);
    lua_CFunction f = lua_tocfunction(L, -1);
    lua_pop(L, 2);
    return f == ro_newindex;
}

void script_sandbox_freeze(lua_State *L, const char *name) {
    int t = lua_gettop(L);
    if (is_read_only(L, t))
        return;
    /* sub-tables first (assigning existing fields during lua_next is allowed) */
    lua_pushnil(L);
    while (lua_next(L, t)) {                   /* t key value */
        if (lua_type(L, -1) == LUA_TTABLE && lua_type(L, -2) == LUA_TSTRING) {
            char sub[128];
            snprintf(sub, sizeof sub, "%s.%s", name, lua_tostring(L, -2));
            script_sandbox_freeze(L, sub);     /* t key proxy */
            lua_pushvalue(L, -2);
            lua_insert(L, -2);                 /* t key key proxy */
            lua_rawset(L, t);                  /* t key */
        } else {
            lua_pop(L, 1);
        }
    }
    lua_newtable(L);                           /* t proxy */
    lua_createtable(L, 0, 5);                  /* t proxy mt */
    lua_pushvalue(L, t);
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, name);
    lua_pushcclosure(L, ro_newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, t);
    lua_pushcclosure(L, ro_pairs, 1);
    lua_setfield(L, -2, "__pairs");
    lua_pushvalue(L, t);
    lua_pushcclosure(L, ro_len, 1);
    lua_setfield(L, -2, "__len");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);                   /* t proxy */
    lua_replace(L, t);                         /* proxy */
}

/* ---- the environment ---- */

static int env_index(lua_State *L) {
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    if (!lua_isnil(L, -1))
        return 1;
    char tmp[64];
    if (lua_type(L, 2) == LUA_TSTRING)
        return luaL_error(L, "unknown global '%s'", lua_tostring(L, 2));
    return luaL_error(L, "unknown global %s", script_describe(L, 2, tmp, sizeof tmp));
}

static int env_newindex(lua_State *L) {
    char tmp[64];
    if (lua_type(L, 2) == LUA_TSTRING)
        return luaL_error(L, "assignment to global '%s' (globals are read-only: use local)",
                          lua_tostring(L, 2));
    return luaL_error(L, "assignment to global %s (globals are read-only: use local)",
                      script_describe(L, 2, tmp, sizeof tmp));
}

void script_push_env(lua_State *L) { lua_getfield(L, LUA_REGISTRYINDEX, SCRIPT_ENV_KEY); }

void script_sandbox_set_global(lua_State *L, const char *name) {
    lua_getfield(L, LUA_REGISTRYINDEX, SCRIPT_SAFE_KEY); /* value safe */
    lua_insert(L, -2);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

/* ---- wrapped functions (upvalue 1: the original) ---- */

static int forward_to_original(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static int w_setmetatable(lua_State *L) {
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        int has_gc = lua_rawget(L, 2) != LUA_TNIL;
        lua_pop(L, 1);
        if (has_gc)
            return luaL_error(L, "setmetatable: __gc metamethods are not allowed in scripts");
    }
    return forward_to_original(L);
}

static int w_rawset(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (is_read_only(L, 1))
        return luaL_error(L, "rawset: table is read-only");
    if (lua_getmetatable(L, 1)) {
        lua_pushliteral(L, "__newindex");
        lua_rawget(L, -2);
        int env = lua_tocfunction(L, -1) == env_newindex;
        lua_pop(L, 2);
        if (env)
            return luaL_error(L, "rawset: the global table is read-only");
    }
    return forward_to_original(L);
}

/* Message handler around the user's (upvalue 1): passes the error through untouched once the
 * call is stopped by a limit, since Lua runs handlers of hook errors with hooks disabled. */
static int xpcall_handler(lua_State *L) {
    if (script_is_stopping(L))
        return 1;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int w_xpcall(lua_State *L) {
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, xpcall_handler, 1);
    lua_replace(L, 2);
    return forward_to_original(L);
}

/* Skip one single-character class starting at p[i] ("x", "%a", "[set]", "."); returns the
 * index after it, or 0 if the pattern is malformed (the original function reports it). */
static size_t skip_class(const char *p, size_t lp, size_t i) {
    if (p[i] == '%')
        return i + 2 <= lp ? i + 2 : 0;
    if (p[i] != '[')
        return i + 1;
    i++;
    if (i < lp && p[i] == '^')
        i++;
    do { /* the first character of a set may be ']' */
        if (i >= lp)
            return 0;
        i += p[i] == '%' ? 2 : 1;
    } while (i < lp && p[i] != ']');
    return i < lp ? i + 1 : 0;
}

/* Only captures and a final '$' follow: a quantifier here never backtracks. */
static int rest_is_trivial(const char *p, size_t lp, size_t i) {
    for (; i < lp; i++)
        if (!(p[i] == ')' || p[i] == '(' || (p[i] == '$' && i + 1 == lp)))
            return 0;
    return 1;
}

/* log2 of a bound on the matcher's backtracking steps for a pattern on a subject of n bytes:
 * start positions x 2^(number of '?') x C(n + k, k) for k variable-length items ('*', '+',
 * '-', %b) that something can still fail after. Conservative; -1 if malformed. */
static double pattern_cost_log2(const char *p, size_t lp, size_t n) {
    size_t i = 0;
    double lg = 0;
    if (lp > 0 && p[0] == '^')
        i = 1;
    else
        lg = log2((double)n + 1);
    int q = 0, k = 0;
    while (i < lp) {
        char c = p[i];
        if (c == '(' || c == ')' || (c == '$' && i + 1 == lp)) {
            i++;
            continue;
        }
        if (c == '%' && i + 1 < lp && p[i + 1] == 'b') {
            i += 4;
            k += !rest_is_trivial(p, lp, i);
            continue;
        }
        if (c == '%' && i + 1 < lp && p[i + 1] == 'f') {
            i = skip_class(p, lp, i + 2);
            if (!i)
                return -1;
            continue;
        }
        if (c == '%' && i + 1 < lp && p[i + 1] >= '0' && p[i + 1] <= '9') {
            i += 2;
            continue;
        }
        i = skip_class(p, lp, i);
        if (!i)
            return -1;
        if (i < lp && strchr("*+-?", p[i])) {
            char qc = p[i++];
            if (!rest_is_trivial(p, lp, i)) {
                if (qc == '?')
                    q++;
                else
                    k++;
            }
        }
    }
    double ln_c = lgamma((double)n + k + 1) - lgamma((double)k + 1) - lgamma((double)n + 1);
    return lg + q + ln_c / log(2.0);
}

static int w_pattern(lua_State *L) {
    size_t ls, lp;
    luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int plain = lua_toboolean(L, 4) &&
                lua_tocfunction(L, lua_upvalueindex(1)) == lua_tocfunction(L, lua_upvalueindex(2));
    if (!plain) {
        char msg[160];
        double c = lp > PATTERN_MAX ? 0 : pattern_cost_log2(p, lp, ls);
        if (lp > PATTERN_MAX)
            snprintf(msg, sizeof msg, "pattern of %zu bytes refused (limit %d)", lp, PATTERN_MAX);
        else if (c > PATTERN_COST_LOG2)
            snprintf(msg, sizeof msg, "pattern refused: backtracking on a %zu-byte subject could "
                     "take ~2^%.0f steps (limit 1e8)", ls, c);
        else
            return forward_to_original(L);
        return luaL_error(L, "%s", msg);
    }
    return forward_to_original(L);
}

static int w_rep(lua_State *L) {
    size_t l, lsep = 0;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    if (!lua_isnoneornil(L, 3))
        luaL_checklstring(L, 3, &lsep);
    if (n > 0 && l + lsep == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    return forward_to_original(L);
}

/* ---- assembling the safe table ---- */

static const char *const base_allowed[] = {
    "assert", "error",  "getmetatable", "ipairs",   "next", "pairs",    "pcall",
    "rawequal", "rawget", "rawlen",     "select",   "tonumber", "tostring", "type",
    "_VERSION", NULL};

/* Copy lib (on top) into a fresh table without the names in `drop`; replaces the top. */
static void copy_lib(lua_State *L, const char *const *drop) {
    int src = lua_gettop(L);
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, src)) {
        int skip = 0;
        for (int i = 0; drop && drop[i]; i++)
            skip |= lua_type(L, -2) == LUA_TSTRING && !strcmp(lua_tostring(L, -2), drop[i]);
        if (skip) {
            lua_pop(L, 1);
            continue;
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, src + 1);
    }
    lua_replace(L, src);
}

/* t[name] = wrapper closure over the original t[name] (and extra upvalue `up2`, or nil). */
static void wrap_field(lua_State *L, int t, const char *name, lua_CFunction wrapper,
                       lua_CFunction up2) {
    lua_getfield(L, t, name);
    if (up2)
        lua_pushcfunction(L, up2);
    else
        lua_pushnil(L);
    lua_pushcclosure(L, wrapper, 2);
    lua_setfield(L, t, name);
}

static void open_string(lua_State *L, int safe) {
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0);
    static const char *const drop[] = {"dump", NULL};
    copy_lib(L, drop);
    int s = lua_gettop(L);
    lua_getfield(L, s, "find");
    lua_CFunction orig_find = lua_tocfunction(L, -1);
    lua_pop(L, 1);
    /* upvalue 2 of find is the original find itself: only find's 4th argument means plain */
    wrap_field(L, s, "find", w_pattern, orig_find);
    wrap_field(L, s, "match", w_pattern, NULL);
    wrap_field(L, s, "gmatch", w_pattern, NULL);
    wrap_field(L, s, "gsub", w_pattern, NULL);
    wrap_field(L, s, "rep", w_rep, NULL);
    script_sandbox_freeze(L, "string");        /* proxy */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);                   /* proxy "" mt */
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");        /* getmetatable("") == false */
    lua_pop(L, 2);
    lua_setfield(L, safe, "string");
}

static void open_plain(lua_State *L, int safe, const char *name, lua_CFunction open) {
    luaL_requiref(L, name, open, 0);
    copy_lib(L, NULL);
    script_sandbox_freeze(L, name);
    lua_setfield(L, safe, name);
}

int script_sandbox_open(lua_State *L) {
    luaL_requiref(L, "_G", luaopen_base, 0);   /* G */
    int g = lua_gettop(L);
    lua_newtable(L);                           /* G safe */
    int safe = g + 1;
    for (int i = 0; base_allowed[i]; i++) {
        lua_getfield(L, g, base_allowed[i]);
        lua_setfield(L, safe, base_allowed[i]);
    }
    wrap_field(L, g, "setmetatable", w_setmetatable, NULL);
    lua_getfield(L, g, "setmetatable");
    lua_setfield(L, safe, "setmetatable");
    wrap_field(L, g, "xpcall", w_xpcall, NULL);
    lua_getfield(L, g, "xpcall");
    lua_setfield(L, safe, "xpcall");
    wrap_field(L, g, "rawset", w_rawset, NULL);
    lua_getfield(L, g, "rawset");
    lua_setfield(L, safe, "rawset");
    open_string(L, safe);
    open_plain(L, safe, LUA_TABLIBNAME, luaopen_table);
    open_plain(L, safe, LUA_MATHLIBNAME, luaopen_math);
    open_plain(L, safe, LUA_UTF8LIBNAME, luaopen_utf8);

    /* the environment: an empty proxy that reads safe and raises on unknown names */
    lua_newtable(L);                           /* G safe env */
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, safe);
    lua_pushcclosure(L, env_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, env_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, safe);
    lua_pushcclosure(L, ro_pairs, 1);
    lua_setfield(L, -2, "__pairs");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, safe, "_G");
    lua_setfield(L, LUA_REGISTRYINDEX, SCRIPT_ENV_KEY);
    lua_setfield(L, LUA_REGISTRYINDEX, SCRIPT_SAFE_KEY); /* G */

    /* empty the real global table: nothing loaded later may see it */
    for (;;) {
        lua_pushnil(L);
        if (!lua_next(L, g))
            break;
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_rawset(L, g);
    }
    lua_pop(L, 1);
    return 0;
}
