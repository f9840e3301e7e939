/* script_state.c - the sandboxed Lua state: counting allocator, count hook, protected calls,
 * chunk loading (text only), source recording/replay, `include`, `bipeft.log`, and loading
 * the peft stdlib. What the sandbox allows is decided in script_sandbox.c; this file does not
 * know about configs or policies. */
#include "script/script.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

#include "script/script_internal.h"
#include "util/xalloc.h"
#include "util/file.h"

#define HOOK_EVERY 1000      /* instructions between two hook calls */
#define INCLUDE_DEPTH_MAX 16 /* include chains longer than this are a loop */
#define TRACE_MAX 4096

struct script {
    lua_State *L;
    struct script_limits lim;
    /* allocator */
    size_t used, peak;
    long fail_after; /* test hook: fail the nth allocation (0: never) */
    int mem_hit;     /* the cap refused an allocation during the current call */
    /* hook */
    uint64_t count;  /* instructions this call, in units of 1 */
    double deadline; /* monotonic seconds */
    int killed;      /* sticky: the current call is over a limit */
    char kill_msg[96];
    atomic_int cancel;
    int in_call;
    /* results */
    int needs_rebuild;
    char trace[TRACE_MAX];
    /* plumbing */
    struct script_sources *src;
    void *owner;
    void (*log_fn)(void *ctx, const char *msg);
    void *log_ctx;
    int include_depth;
};

/* ---- limits ---- */

void script_limits_default(struct script_limits *lim) {
    lim->mem_bytes = (size_t)256 << 20;
    lim->instructions = 200000000u;
    lim->seconds = 2.0;
    const char *mb = getenv("BIPEFT_LUA_MEM_MB");
    if (mb && atol(mb) > 0)
        lim->mem_bytes = (size_t)atol(mb) << 20;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- allocator: counts every byte the state holds and refuses to pass the cap ---- */

static void *script_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    struct script *S = ud;
    size_t old = ptr ? osize : 0; /* with ptr == NULL, osize is a type tag */
    if (nsize == 0) {
        free(ptr);
        S->used -= old;
        return NULL;
    }
    if (nsize > old) {
        if (S->fail_after > 0 && --S->fail_after == 0) {
            S->mem_hit = 1;
            return NULL;
        }
        if (nsize - old > S->lim.mem_bytes - S->used) {
            S->mem_hit = 1;
            return NULL;
        }
    }
    void *p = realloc(ptr, nsize);
    if (!p) {
        if (nsize <= old)
            return ptr; /* Lua assumes shrinking never fails: keep the larger block */
        S->mem_hit = 1;
        return NULL;
    }
    S->used = S->used - old + nsize;
    if (S->used > S->peak)
        S->peak = S->used;
    return p;
}

/* ---- count hook: instructions, wall time, cancel; sticky once tripped ---- */

static void script_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    struct script *S = script_from_lua(L);
    if (!S->killed) {
        S->count += HOOK_EVERY;
        if (S->mem_hit) /* a pcall swallowed the memory error: stop anyway */
            snprintf(S->kill_msg, sizeof S->kill_msg, "script memory limit (%zu MB) exceeded",
                     S->lim.mem_bytes >> 20);
        else if (atomic_load(&S->cancel))
            snprintf(S->kill_msg, sizeof S->kill_msg, "cancelled");
        else if (S->count > S->lim.instructions)
            snprintf(S->kill_msg, sizeof S->kill_msg, "instruction limit exceeded (%llu)",
                     (unsigned long long)S->lim.instructions);
        else if (now_seconds() > S->deadline)
            snprintf(S->kill_msg, sizeof S->kill_msg, "time limit exceeded (%.3g s)",
                     S->lim.seconds);
        else
            return;
        S->killed = 1;
        /* re-arm at every instruction: an enclosing pcall catches this error, and its very
         * next instruction raises again, until the error reaches script_call */
        lua_sethook(L, script_hook, LUA_MASKCOUNT, 1);
    }
    /* level 0 is the Lua function running (a hook adds no frame) */
    luaL_where(L, 0);
    lua_pushstring(L, S->kill_msg);
    lua_concat(L, 2);
    lua_error(L);
}

int script_is_stopping(lua_State *L) { return script_from_lua(L)->killed; }

/* ---- message handler: a traceback, never a user metamethod ---- */

static int script_msghandler(lua_State *L) {
    const char *msg = NULL;
    char buf[64];
    int t = lua_type(L, 1);
    if (t == LUA_TSTRING) {
        msg = lua_tostring(L, 1);
    } else if (t == LUA_TNUMBER) {
        if (lua_isinteger(L, 1))
            snprintf(buf, sizeof buf, "%lld", (long long)lua_tointeger(L, 1));
        else
            snprintf(buf, sizeof buf, "%.14g", lua_tonumber(L, 1));
        msg = buf;
    } else if (t == LUA_TNIL) {
        msg = "nil error";
    } else {
        msg = "<non-string error>"; /* __tostring is user code: never call it here */
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* ---- public: life cycle ---- */

struct script *script_from_lua(lua_State *L) {
    return *(struct script **)lua_getextraspace(L);
}

static int script_open_all(lua_State *L);

struct script *script_new(const struct script_limits *lim, struct pf_err *err) {
    struct script *S = xcalloc(1, sizeof *S);
    if (lim)
        S->lim = *lim;
    else
        script_limits_default(&S->lim);
    atomic_init(&S->cancel, 0);
    S->L = lua_newstate(script_alloc, S);
    if (!S->L) {
        free(S);
        pf_err_set(err, PF_ERR_NOMEM, "lua: cannot create a state within %zu bytes",
                   lim ? lim->mem_bytes : 0);
        return NULL;
    }
    *(struct script **)lua_getextraspace(S->L) = S;
    lua_pushcfunction(S->L, script_open_all);
    if (script_call(S, 0, 0, err) != PF_OK) {
        script_free(S);
        return NULL;
    }
    return S;
}

void script_free(struct script *S) {
    if (!S)
        return;
    if (S->L)
        lua_close(S->L);
    free(S);
}

lua_State *script_lua(struct script *S) { return S->L; }
void script_set_owner(struct script *S, void *owner) { S->owner = owner; }
void *script_owner(const struct script *S) { return S->owner; }
void script_set_sources(struct script *S, struct script_sources *src) { S->src = src; }
const struct script_sources *script_sources_of(const struct script *S) { return S->src; }
void script_cancel(struct script *S) { atomic_store(&S->cancel, 1); }
void script_uncancel(struct script *S) { atomic_store(&S->cancel, 0); }
const char *script_traceback(const struct script *S) { return S->trace; }
int script_needs_rebuild(const struct script *S) { return S->needs_rebuild; }
size_t script_mem_used(const struct script *S) { return S->used; }
size_t script_mem_peak(const struct script *S) { return S->peak; }
uint64_t script_last_instructions(const struct script *S) { return S->count; }
void script_fail_alloc_after(struct script *S, long n) { S->fail_after = n; }

void script_set_log(struct script *S, void (*fn)(void *ctx, const char *msg), void *ctx) {
    S->log_fn = fn;
    S->log_ctx = ctx;
}

/* ---- protected calls ---- */

/* First line of the traceback into err (the message proper). */
static void copy_first_line(struct pf_err *err, pf_status code, const char *trace) {
    size_t n = strcspn(trace, "\n");
    pf_err_set(err, code, "%.*s", (int)(n < 250 ? n : 250), trace);
}

pf_status script_call(struct script *S, int nargs, int nres, struct pf_err *err) {
    lua_State *L = S->L;
    int outer = !S->in_call; /* nested calls (include) share the outer call's budget */
    if (outer) {
        S->count = 0;
        S->killed = 0;
        S->mem_hit = 0;
        S->deadline = now_seconds() + S->lim.seconds;
        lua_sethook(L, script_hook, LUA_MASKCOUNT, HOOK_EVERY);
        S->in_call = 1;
    }
    int base = lua_gettop(L) - nargs; /* the function's slot */
    lua_pushcfunction(L, script_msghandler);
    lua_insert(L, base);
    int rc = lua_pcall(L, nargs, nres, base);
    lua_remove(L, base);
    if (outer) {
        S->in_call = 0;
        lua_sethook(L, NULL, 0, 0);
    }
    if (rc == LUA_OK) {
        if (outer)
            S->needs_rebuild = 0;
        return PF_OK;
    }
    pf_status code = PF_ERR_SCRIPT;
    if (rc == LUA_ERRMEM || S->mem_hit) {
        /* LUA_ERRMEM carries a fixed message and no handler ran: write our own */
        snprintf(S->trace, sizeof S->trace, "script memory limit (%zu MB) exceeded",
                 S->lim.mem_bytes >> 20);
        if (rc != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING)
            snprintf(S->trace + strlen(S->trace), sizeof S->trace - strlen(S->trace), ": %s",
                     lua_tostring(L, -1));
        code = PF_ERR_NOMEM;
    } else if (lua_type(L, -1) == LUA_TSTRING) {
        snprintf(S->trace, sizeof S->trace, "%s", lua_tostring(L, -1));
    } else {
        snprintf(S->trace, sizeof S->trace, "<non-string error>");
    }
    lua_pop(L, 1);
    S->needs_rebuild = S->killed || code == PF_ERR_NOMEM;
    copy_first_line(err, code, S->trace);
    return code;
}

/* ---- sources: read from disk (recording) or replay the recorded copies ---- */

void script_sources_free(struct script_sources *src) {
    if (!src)
        return;
    for (int i = 0; i < src->n; i++) {
        free(src->v[i].path);
        free(src->v[i].text);
    }
    free(src->v);
    memset(src, 0, sizeof *src);
}

static char *read_whole_file(const char *path, size_t *len, struct pf_err *err) {
    const char *why = NULL;
    FILE *f = file_fopen_regular(path, &why);
    if (!f) {
        pf_err_set(err, PF_ERR_IO, "%s: cannot open: %s", path, why);
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            if (cap >= ((size_t)64 << 20)) {
                fclose(f);
                free(buf);
                pf_err_set(err, PF_ERR_IO, "%s: larger than 64 MiB", path);
                return NULL;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        pf_err_set(err, PF_ERR_IO, "%s: read error", path);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

const char *script_read_source(struct script *S, const char *path, size_t *len,
                               struct pf_err *err) {
    struct script_sources *src = S->src;
    if (src)
        for (int i = 0; i < src->n; i++)
            if (!strcmp(src->v[i].path, path)) {
                *len = src->v[i].len;
                return src->v[i].text;
            }
    if (src && src->replay) {
        pf_err_set(err, PF_ERR_IO, "%s: not among the recorded sources", path);
        return NULL;
    }
    char *text = read_whole_file(path, len, err);
    if (!text || !src)
        return text; /* with no sources the caller gets ownership (see script_run_file) */
    if (src->n == src->cap) {
        src->cap = src->cap ? 2 * src->cap : 8;
        src->v = xrealloc(src->v, (size_t)src->cap * sizeof *src->v);
    }
    src->v[src->n++] = (struct script_source){xstrdup(path), text, *len};
    return text;
}

/* ---- loading chunks ---- */

/* Load a text chunk and give it the sandbox environment; pushes the function. */
static pf_status load_chunk(struct script *S, const char *chunkname, const char *buf, size_t len,
                            struct pf_err *err) {
    lua_State *L = S->L;
    int rc = luaL_loadbufferx(L, buf, len, chunkname, "t");
    if (rc != LUA_OK) {
        pf_status code = rc == LUA_ERRMEM ? PF_ERR_NOMEM : PF_ERR_SCRIPT;
        const char *m = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "load error";
        snprintf(S->trace, sizeof S->trace, "%s", m);
        pf_err_set(err, code, "%s", m);
        lua_pop(L, 1);
        return code;
    }
    script_push_env(L);
    lua_setupvalue(L, -2, 1); /* _ENV of the main chunk */
    return PF_OK;
}

pf_status script_run_buffer(struct script *S, const char *chunkname, const char *buf, size_t len,
                            int nargs, int nres, struct pf_err *err) {
    pf_status st = load_chunk(S, chunkname, buf, len, err);
    if (st != PF_OK) {
        lua_pop(S->L, nargs);
        return st;
    }
    lua_insert(S->L, -nargs - 1); /* function below its arguments */
    return script_call(S, nargs, nres, err);
}

pf_status script_run_file(struct script *S, const char *path, int nargs, int nres,
                          struct pf_err *err) {
    size_t len;
    const char *text = script_read_source(S, path, &len, err);
    if (!text) {
        lua_pop(S->L, nargs);
        return err ? err->code : PF_ERR_IO;
    }
    char chunk[600];
    snprintf(chunk, sizeof chunk, "@%s", path);
    pf_status st = script_run_buffer(S, chunk, text, len, nargs, nres, err);
    if (!S->src)
        free((char *)text);
    return st;
}

/* ---- bindings that need the script: include, bipeft.log, bipeft.now ---- */

/* Directory of the Lua function `level` levels up, from its chunkname "@dir/file.lua". */
static void caller_dir(lua_State *L, int level, char *dir, size_t dirsz) {
    lua_Debug ar;
    dir[0] = '\0';
    if (!lua_getstack(L, level, &ar) || !lua_getinfo(L, "S", &ar) || ar.source[0] != '@')
        return;
    const char *p = ar.source + 1, *slash = strrchr(p, '/');
    if (slash)
        snprintf(dir, dirsz, "%.*s", (int)(slash - p + 1), p);
}

static int include_name_ok(const char *name) {
    size_t n = strlen(name);
    if (n < 5 || n > 200 || strcmp(name + n - 4, ".lua") || name[0] == '/')
        return 0;
    for (const char *c = name; *c; c++)
        if (!(*c == '/' || *c == '.' || *c == '_' || *c == '-' || (*c >= '0' && *c <= '9') ||
              (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
            return 0;
    return strstr(name, "..") == NULL;
}

/* include(name [, overrides]) -> table: run configs' sibling file `name` (relative to the
 * including file), deep-merge overrides into its result with peft.merge. */
static int l_include(lua_State *L) {
    struct script *S = script_from_lua(L);
    const char *name = luaL_checkstring(L, 1); /* name [overrides] */
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    if (!include_name_ok(name))
        return luaL_error(L, "include: '%s': expected a relative path ending in .lua, "
                             "without '..'", name);
    if (S->include_depth >= INCLUDE_DEPTH_MAX)
        return luaL_error(L, "include: '%s': includes nested deeper than %d (a loop?)", name,
                          INCLUDE_DEPTH_MAX);
    char dir[512], path[768];
    caller_dir(L, 1, dir, sizeof dir);
    snprintf(path, sizeof path, "%s%s", dir, name);
    struct pf_err e = {0};
    size_t len;
    const char *text = script_read_source(S, path, &len, &e);
    if (!text)
        return luaL_error(L, "include: %s", e.msg);
    char chunk[800];
    snprintf(chunk, sizeof chunk, "@%s", path);
    int rc = luaL_loadbufferx(L, text, len, chunk, "t"); /* name [ov] fn */
    if (!S->src)
        free((char *)text);
    if (rc != LUA_OK)
        return lua_error(L);
    script_push_env(L);
    lua_setupvalue(L, -2, 1);
    S->include_depth++;
    rc = lua_pcall(L, 0, 1, 0); /* name [ov] result */
    S->include_depth--;
    if (rc != LUA_OK)
        return lua_error(L); /* already has its position; the handler adds the traceback */
    if (lua_type(L, -1) != LUA_TTABLE)
        return luaL_error(L, "include: %s: expected the file to return a table", path);
    if (lua_isnoneornil(L, 2))
        return 1;
    lua_getfield(L, LUA_REGISTRYINDEX, SCRIPT_SAFE_KEY); /* ... res safe */
    lua_getfield(L, -1, "peft");
    lua_getfield(L, -1, "merge");                        /* ... res safe peft merge */
    lua_pushvalue(L, -4);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 1);                                   /* ... res safe peft merged */
    return 1;
}

static void log_default(void *ctx, const char *msg) {
    (void)ctx;
    fprintf(stderr, "lua: %s\n", msg);
}

/* bipeft.log(...): tostring-free concatenation of strings and numbers, tab-separated. */
static int l_log(lua_State *L) {
    struct script *S = script_from_lua(L);
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        char tmp[64];
        if (i > 1)
            luaL_addchar(&b, '\t');
        if (lua_type(L, i) == LUA_TSTRING) {
            lua_pushvalue(L, i);
            luaL_addvalue(&b);
        } else {
            luaL_addstring(&b, script_describe(L, i, tmp, sizeof tmp));
        }
    }
    luaL_pushresult(&b);
    const char *msg = lua_tostring(L, -1);
    (S->log_fn ? S->log_fn : log_default)(S->log_ctx, msg);
    return 0;
}

static int l_now(lua_State *L) {
    lua_pushnumber(L, now_seconds());
    return 1;
}

/* ---- opening: sandbox, bipeft table, stdlib ---- */

static void load_stdlib(lua_State *L) {
    /* peft = prelude(); then each module(peft) adds to it */
    lua_newtable(L); /* peft */
    for (int i = 0; script_stdlib_modules[i]; i++) {
        const char *name = script_stdlib_modules[i];
        char *owned = NULL, msg[256], chunk[128];
        size_t len;
        const char *text = script_stdlib_text(name, &len, &owned, msg, sizeof msg);
        if (!text)
            luaL_error(L, "%s", msg);
        snprintf(chunk, sizeof chunk, "@lua/peft/%s.lua", name);
        int rc = luaL_loadbufferx(L, text, len, chunk, "t");
        free(owned);
        if (rc != LUA_OK)
            lua_error(L);
        script_push_env(L);
        lua_setupvalue(L, -2, 1);
        lua_pushvalue(L, -2); /* peft fn peft */
        lua_call(L, 1, 0);
    }
    script_sandbox_freeze(L, "peft");
    script_sandbox_set_global(L, "peft");
}

static int script_open_all(lua_State *L) {
    lua_pushcfunction(L, script_sandbox_open);
    lua_call(L, 0, 0);
    static const luaL_Reg bipeft_fns[] = {{"log", l_log}, {"now", l_now}, {NULL, NULL}};
    luaL_newlib(L, bipeft_fns);
    lua_pushstring(L, "bipeft (Lua " LUA_VERSION_MAJOR "." LUA_VERSION_MINOR ")");
    lua_setfield(L, -2, "version");
    script_sandbox_freeze(L, "bipeft");
    script_sandbox_set_global(L, "bipeft");
    lua_pushcfunction(L, l_include);
    script_sandbox_set_global(L, "include");
    load_stdlib(L);
    return 0;
}
