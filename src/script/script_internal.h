/* script_internal.h - declarations shared by the src/script/ files only (not a public API). */
#ifndef PF_SCRIPT_INTERNAL_H
#define PF_SCRIPT_INTERNAL_H

#include <stddef.h>

#include <lua.h>

#include "script/script.h"

/* script_sandbox.c: open the allowed libraries, wrap the dangerous functions, freeze the
 * library tables and install the environment (registry field SCRIPT_ENV_KEY). Runs under
 * lua_pcall (it may raise on memory errors). */
int script_sandbox_open(lua_State *L);
/* Replace the table on top of the stack by a read-only proxy (recursively for sub-tables).
 * name appears in "attempt to modify read-only table 'name'". */
void script_sandbox_freeze(lua_State *L, const char *name);
/* Add name = value (value on top, popped) to the safe globals before they are frozen. */
void script_sandbox_set_global(lua_State *L, const char *name);

/* script_state.c: 1 when the running call is over a limit (the hook raises again at every
 * instruction until the call returns). */
int script_is_stopping(lua_State *L);

#define SCRIPT_ENV_KEY "bipeft.env"
#define SCRIPT_SAFE_KEY "bipeft.safe"

/* script_stdlib.c: the stdlib modules in load order, NULL-terminated ("prelude", ...). */
extern const char *const script_stdlib_modules[];
/* Text of lua/peft/<name>.lua: from $BIPEFT_LUA_PATH when set (read from disk, caller frees
 * *owned), else the copy embedded at build time. Returns NULL with msg filled on failure. */
const char *script_stdlib_text(const char *name, size_t *len, char **owned, char *msg,
                               size_t msgsz);

/* Describe the value at idx for messages without running metamethods: `"8"`, `8.5`,
 * `a table`, `nil` ... */
const char *script_describe(lua_State *L, int idx, char *buf, size_t bufsz);

#endif
