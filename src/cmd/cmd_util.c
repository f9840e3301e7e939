/* cmd_util.c - small helpers shared by the commands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "core/backend.h"
#include "util/err.h"

struct backend *cmd_open_backend(const struct cmd_ctx *ctx, const char *name) {
    struct pf_err err = {0};
    struct backend *be = backend_open(ctx->device, ctx->threads, &err);
    if (!be)
        fprintf(stderr, "bipeft: %s: %s\n", name, err.msg);
    return be;
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
