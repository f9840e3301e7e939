/* cmd_demo.c - `bipeft demo`: train a tiny encoder on a synthetic task (model/demo.h). */
#include <stdio.h>

#include "cmd/cmd.h"
#include "core/backend.h"
#include "model/demo.h"
#include "util/err.h"

static void demo_log(void *ctx, int step, float loss, float lr) {
    const struct demo_config *c = ctx;
    fprintf(stderr, "demo: step %4d/%d  loss %.4f  lr %.2e\n", step, c->steps, loss, lr);
}

int cmd_demo(const struct cmd_ctx *ctx, int argc, char **argv) {
    if (argc > 0) {
        fprintf(stderr, "bipeft: demo: unexpected argument '%s'\n", argv[0]);
        return 2;
    }
    struct backend *be = cmd_open_backend(ctx, "demo");
    if (!be)
        return 2;
    struct demo_config cfg = demo_default_config();
    struct demo_result res;
    struct pf_err err = {0};
    char buf[512];
    fprintf(stderr, "demo: %s\n", backend_cpu_describe(be, buf, sizeof buf));
    fprintf(stderr, "demo: %d-layer encoder, C=%d, %d heads (%d kv), batch %d x %d tokens; "
            "task: is the marker token in the sequence?\n", cfg.n_layer, cfg.C, cfg.H, cfg.KVH,
            cfg.B, cfg.T);
    int rc = 0;
    if (demo_run(be, &cfg, demo_log, &cfg, &res, &err) != PF_OK) {
        fprintf(stderr, "bipeft: demo: %s\n", err.msg);
        rc = 1;
    } else {
        printf("demo: loss %.4f -> %.4f, held-out accuracy %.1f%% (chance ~56%%), %.2f s, "
               "params fnv1a %016llx\n", res.first_loss, res.final_loss,
               100.0 * res.eval_accuracy, res.seconds, (unsigned long long)res.param_hash);
    }
    backend_close(be);
    return rc;
}
