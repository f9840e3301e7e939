/* script.h - one sandboxed Lua 5.4 state: limits, loading, protected calls.
 *
 * A `struct script` owns a lua_State opened with only base, table, string, math and utf8
 * (see script_sandbox.c for the exact allow-list), a counting allocator with a byte cap, and a
 * count hook that bounds every call by instructions, wall time and a cancel flag. The hook is
 * sticky: once a call is over budget every later instruction of that call raises again, so a
 * Lua `pcall` cannot swallow the stop. All Lua code runs through script_call (a lua_pcall with
 * a traceback handler that never runs user metamethods).
 *
 * Errors never longjmp out of this module: functions return pf_status and fill pf_err with
 * the first line of the message; the full traceback stays in script_traceback(). After a
 * limit error (instructions, time, cancel, memory) the state may be half-updated: callers
 * should free it and build a fresh one (script_policy.c does).
 *
 * The state is touched by one thread only; script_cancel() alone may be called from another. */
#ifndef PF_SCRIPT_H
#define PF_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct lua_State;

struct script_limits {
    size_t mem_bytes;      /* allocator cap for the whole state (default 256 MiB) */
    uint64_t instructions; /* Lua VM instructions per script_call (default 200 M) */
    double seconds;        /* wall-clock seconds per script_call (default 2.0) */
};

/* Fill lim with the defaults above; BIPEFT_LUA_MEM_MB overrides mem_bytes when set. */
void script_limits_default(struct script_limits *lim);

/* Source files read while a state runs (config, includes, policy). A script reads every file
 * through its sources: in record mode it reads the disk and keeps a copy, in replay mode it
 * serves the copies only, so a state can be rebuilt from exactly the text that loaded last
 * time even when the files changed on disk since. */
struct script_source {
    char *path;
    char *text;
    size_t len;
};
struct script_sources {
    struct script_source *v;
    int n, cap;
    int replay; /* 1: never touch the disk */
};
void script_sources_free(struct script_sources *src); /* frees the copies; src may be NULL */

struct script;

/* Open a sandboxed state with the peft stdlib loaded (embedded in the binary, or read from
 * $BIPEFT_LUA_PATH/peft/ when that is set). Returns NULL and fills err on failure. */
struct script *script_new(const struct script_limits *lim, struct pf_err *err);
/* Close the state (never runs user code: __gc metamethods are refused). NULL is a no-op. */
void script_free(struct script *S);

/* The raw state, borrowed, for bindings and tests. */
struct lua_State *script_lua(struct script *S);
/* The script that owns L (stored in the state's extra space). */
struct script *script_from_lua(struct lua_State *L);

/* Who owns this script (script_policy sets itself); borrowed. */
void script_set_owner(struct script *S, void *owner);
void *script_owner(const struct script *S);

/* Read files through src (borrowed; NULL: read the disk directly, keep nothing). */
void script_set_sources(struct script *S, struct script_sources *src);
const struct script_sources *script_sources_of(const struct script *S);

/* Where bipeft.log and s:log go (default: stderr, "lua: msg"). */
void script_set_log(struct script *S, void (*fn)(void *ctx, const char *msg), void *ctx);

/* Load a text chunk from a file (binary chunks refused) with the sandbox environment, call
 * it with the nargs values on top of the stack, and leave nres results (LUA_MULTRET allowed
 * as -1). On failure nothing is left on the stack. */
pf_status script_run_file(struct script *S, const char *path, int nargs, int nres,
                          struct pf_err *err);
/* The same from memory; chunkname is shown in messages ("=name" or "@path"). */
pf_status script_run_buffer(struct script *S, const char *chunkname, const char *buf, size_t len,
                            int nargs, int nres, struct pf_err *err);

/* lua_pcall of the function below the nargs arguments on top of the stack, under the limits.
 * On failure pops function and arguments, copies the first line into err (PF_ERR_SCRIPT or
 * PF_ERR_NOMEM for the memory cap) and keeps the full traceback for script_traceback(). */
pf_status script_call(struct script *S, int nargs, int nres, struct pf_err *err);

/* Ask the running (or next) call to stop. Safe from any thread. */
void script_cancel(struct script *S);
/* Clear a cancel request (the next call runs normally). */
void script_uncancel(struct script *S);

/* Full message and traceback of the last failed call ("" if none). Borrowed. */
const char *script_traceback(const struct script *S);
/* 1 when the last failure was a limit (instructions, time, cancel, memory): rebuild. */
int script_needs_rebuild(const struct script *S);
/* Bytes the allocator holds now / at most since script_new. */
size_t script_mem_used(const struct script *S);
size_t script_mem_peak(const struct script *S);
/* Instructions (in hook units of 1000) counted by the last call. */
uint64_t script_last_instructions(const struct script *S);

/* Test hook: make the nth allocation from now fail (0: never). */
void script_fail_alloc_after(struct script *S, long n);

/* ---- used by the other script_*.c files ---- */

/* Read path through the script's sources. Returns a borrowed pointer (valid while the
 * sources live) or NULL with err filled. */
const char *script_read_source(struct script *S, const char *path, size_t *len,
                               struct pf_err *err);
/* Push the sandbox environment (the read-only global table user chunks see). */
void script_push_env(struct lua_State *L);

#endif
