/* script_stdlib.c - the Lua stdlib (the files in lua/peft/) embedded into the binary at build
 * time with the assembler's .incbin, so that a copied or installed binary never looks for it on disk.
 * Setting BIPEFT_LUA_PATH=DIR reads DIR/peft/<name>.lua instead (edit the stdlib without
 * rebuilding); a missing file is then a clear error. The Makefile makes this object depend on
 * the files in lua/peft/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script/script_internal.h"
#include "util/err.h"
#include "util/file.h"

/* Each file becomes start/end symbols; the paths are relative to the repository root, where
 * make runs the compiler. */
__asm__(".section .rodata\n"
        ".balign 16\n"
        ".globl pf_lua_prelude\n.hidden pf_lua_prelude\npf_lua_prelude:\n"
        ".incbin \"lua/peft/prelude.lua\"\n"
        ".globl pf_lua_prelude_end\n.hidden pf_lua_prelude_end\npf_lua_prelude_end:\n"
        ".globl pf_lua_space\n.hidden pf_lua_space\npf_lua_space:\n"
        ".incbin \"lua/peft/space.lua\"\n"
        ".globl pf_lua_space_end\n.hidden pf_lua_space_end\npf_lua_space_end:\n"
        ".globl pf_lua_schedule\n.hidden pf_lua_schedule\npf_lua_schedule:\n"
        ".incbin \"lua/peft/schedule.lua\"\n"
        ".globl pf_lua_schedule_end\n.hidden pf_lua_schedule_end\npf_lua_schedule_end:\n"
        ".globl pf_lua_policy\n.hidden pf_lua_policy\npf_lua_policy:\n"
        ".incbin \"lua/peft/policy.lua\"\n"
        ".globl pf_lua_policy_end\n.hidden pf_lua_policy_end\npf_lua_policy_end:\n"
        ".previous\n");

extern const char pf_lua_prelude[], pf_lua_prelude_end[];
extern const char pf_lua_space[], pf_lua_space_end[];
extern const char pf_lua_schedule[], pf_lua_schedule_end[];
extern const char pf_lua_policy[], pf_lua_policy_end[];

const char *const script_stdlib_modules[] = {"prelude", "schedule", "space", "policy", NULL};

static const struct {
    const char *name, *start, *end;
} embedded[] = {
    {"prelude", pf_lua_prelude, pf_lua_prelude_end},
    {"space", pf_lua_space, pf_lua_space_end},
    {"schedule", pf_lua_schedule, pf_lua_schedule_end},
    {"policy", pf_lua_policy, pf_lua_policy_end},
};

static char *read_file(const char *path, size_t *len) {
    const char *why = NULL;
    FILE *f = file_fopen_regular(path, &why);
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

const char *script_stdlib_text(const char *name, size_t *len, char **owned, char *msg,
                               size_t msgsz) {
    *owned = NULL;
    const char *dir = getenv("BIPEFT_LUA_PATH");
    if (dir && dir[0]) {
        char path[1024];
        snprintf(path, sizeof path, "%s/peft/%s.lua", dir, name);
        *owned = read_file(path, len);
        if (!*owned)
            snprintf(msg, msgsz, "BIPEFT_LUA_PATH=%s: cannot read %s (the Lua stdlib)", dir,
                     path);
        return *owned;
    }
    for (size_t i = 0; i < sizeof embedded / sizeof embedded[0]; i++)
        if (!strcmp(embedded[i].name, name)) {
            *len = (size_t)(embedded[i].end - embedded[i].start);
            return embedded[i].start;
        }
    snprintf(msg, msgsz, "lua stdlib module '%s' is not embedded in this binary", name);
    return NULL;
}
