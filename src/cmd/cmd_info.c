/* cmd_info.c - `bipeft info`: the build, BLAS, threads and devices. */
#include <stdio.h>

#include "cmd/cmd.h"
#include "core/backend.h"
#include "version.h"

int cmd_info(const struct cmd_ctx *ctx, int argc, char **argv) {
    if (argc > 0) {
        fprintf(stderr, "bipeft: info: unexpected argument '%s'\n", argv[0]);
        return 2;
    }
    struct backend *be = cmd_open_backend(ctx, "info");
    if (!be)
        return 2;
    char buf[512];
    printf("bipeft %s\n", BIPEFT_VERSION);
    printf("device   %s\n", be->name);
    printf("cpu      %s\n", backend_cpu_describe(be, buf, sizeof buf));
    printf("cuda     %s\n", backend_have_cuda() ? "built in" : "not built in this binary");
    backend_close(be);
    return 0;
}
