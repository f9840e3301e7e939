/* cmd_check_config.c - `bipeft check-config [--no-dry-run] FILE.lua...`: load each config and
 * its policy in the sandbox, validate them, call every hook of the policy once on a synthetic
 * search (script_policy_dry_run; --no-dry-run skips it), and print the fully resolved config
 * as JSON on stdout (an array when several files are given). On a bad file print
 * "FILE:LINE: message" on stderr and exit 2 (every file is still checked). `bipeft script-test FILE.lua [ARGS]` runs a Lua file in the
 * same sandbox (with the peft stdlib; ARGS arrive as `...`; bipeft.log prints to stdout):
 * exit 0 when it returns, 1 with the message and traceback on stderr when it fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>

#include "cmd/cmd.h"
#include "script/script.h"
#include "script/script_config.h"
#include "script/script_policy.h"

int cmd_check_config(const struct cmd_ctx *ctx, int argc, char **argv) {
    (void)ctx;
    if (argc < 1) {
        fprintf(stderr, "bipeft: check-config: expected one or more FILE.lua\n");
        return 2;
    }
    int failed = 0, printed = 0, no_dry_run = 0;
    static char report[8192];
    if (argc > 0 && !strcmp(argv[0], "--no-dry-run")) { /* only load and validate */
        no_dry_run = 1;
        argc--;
        argv++;
    }
    if (argc < 1) {
        fprintf(stderr, "bipeft: check-config: expected one or more FILE.lua\n");
        return 2;
    }
    if (argc > 1)
        printf("[\n");
    for (int i = 0; i < argc; i++) {
        struct script_policy *P = script_policy_new(NULL);
        struct pf_err err = {0};
        if (script_policy_load(P, argv[i], NULL, &err) != PF_OK) {
            fprintf(stderr, "%s\n", err.msg);
            failed = 1;
        } else if (!no_dry_run && script_policy_dry_run(P, report, sizeof report) > 0) {
            /* the policy loads, but a hook fails on a synthetic search state */
            fprintf(stderr, "%s: the policy's hooks, called once on a synthetic search, "
                    "failed:\n%s\n", argv[i], report);
            failed = 1;
        } else {
            char *json = script_config_to_json(script_policy_config(P));
            printf("%s%s", printed++ ? ",\n" : "", json);
            free(json);
        }
        script_policy_free(P);
    }
    if (argc > 1)
        printf("\n]\n");
    else if (printed)
        printf("\n");
    return failed ? 2 : 0;
}

static void log_stdout(void *ctx, const char *msg) {
    (void)ctx;
    printf("%s\n", msg);
    fflush(stdout);
}

int cmd_script_test(const struct cmd_ctx *ctx, int argc, char **argv) {
    (void)ctx;
    struct script_limits lim;
    script_limits_default(&lim);
    int i = 0;
    for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
        int v = 0;
        if (!strcmp(argv[i], "--mem-mb") && cmd_parse_int("script-test", argv[i], argv[i + 1], 1,
                                                          1 << 20, &v))
            lim.mem_bytes = (size_t)v << 20;
        else if (!strcmp(argv[i], "--ms") &&
                 cmd_parse_int("script-test", argv[i], argv[i + 1], 1, 600000, &v))
            lim.seconds = v / 1000.0;
        else
            return 2;
    }
    if (i >= argc) {
        fprintf(stderr, "bipeft: script-test: expected [--mem-mb N] [--ms N] FILE.lua [ARGS]\n");
        return 2;
    }
    struct pf_err err = {0};
    struct script *S = script_new(&lim, &err);
    if (!S) {
        fprintf(stderr, "bipeft: script-test: %s\n", err.msg);
        return 1;
    }
    script_set_log(S, log_stdout, NULL);
    lua_State *L = script_lua(S);
    for (int a = i + 1; a < argc; a++)
        lua_pushstring(L, argv[a]);
    int rc = 0;
    if (script_run_file(S, argv[i], argc - i - 1, 0, &err) != PF_OK) {
        fprintf(stderr, "%s\n", script_traceback(S)[0] ? script_traceback(S) : err.msg);
        rc = 1;
    }
    script_free(S);
    return rc;
}
