/* cmd_util.c - small helpers shared by the commands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/backend.h"
#include "script/script_config.h"
#include "util/err.h"

struct backend *cmd_open_backend(const struct cmd_ctx *ctx, const char *name) {
    struct pf_err err = {0};
    struct backend *be = backend_open(ctx->device, ctx->threads, &err);
    if (!be)
        fprintf(stderr, "bipeft: %s: %s\n", name, err.msg);
    return be;
}

int cmd_load_config(const char *name, const char *path, int mode, struct run_config *cfg) {
    struct pf_err err = {0};
    pf_status st = script_config_load(path, NULL, cfg, &err);
    if (st != PF_OK) {
        fprintf(stderr, "bipeft: %s: %s\n", name, err.msg);
        return st;
    }
    if (mode >= 0 && (int)cfg->mode != mode) {
        const char *want = mode == CFG_MODE_TRAIN ? "train" : "search";
        fprintf(stderr, "bipeft: %s: %s: mode is \"%s\"; run it with bipeft %s, or set mode = "
                "\"%s\"\n", name, path, cfg->mode == CFG_MODE_TRAIN ? "train" : "search",
                cfg->mode == CFG_MODE_TRAIN ? "train" : "search", want);
        return PF_ERR_ARG;
    }
    return PF_OK;
}

struct backend *cmd_open_config_backend(const struct cmd_ctx *ctx, const struct run_config *cfg,
                                        const char *name) {
    struct cmd_ctx c2 = *ctx;
    if (!c2.threads)
        c2.threads = cfg->threads;
    if (!ctx->device || !strcmp(ctx->device, "cpu"))
        c2.device = cfg->device;
    return cmd_open_backend(&c2, name);
}

int cmd_parse_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "bipeft: %s%s%s expects an integer in [%d, %d], got '%s'\n",
                cmd ? cmd : "", cmd ? ": " : "", opt, lo, hi, s);
        return 0;
    }
    *out = (int)v;
    return 1;
}
