/* main.c - argv -> command. Parses options, opens the backend and hands off; the commands
 * themselves live in their modules. Exit codes: 0 success, 1 run-time failure, 2 bad usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "model/demo.h"
#include "util/err.h"
#include "version.h"

struct cli {
    int threads;        /* 0: all cores */
    const char *device; /* "cpu" */
    const char *command;
    int argc;           /* arguments after the command */
    char **argv;
};

static void usage(FILE *f) {
    fprintf(f,
            "usage: bipeft [options] <command> [args]\n"
            "\n"
            "bipeft searches parameter-efficient fine-tuning structures (BIPEFT) for\n"
            "pretrained transformers under a parameter budget.\n"
            "\n"
            "commands:\n"
            "  info            the build, BLAS, threads and devices\n"
            "  demo            train a tiny encoder on a synthetic task (checks the core)\n"
            "\n"
            "options:\n"
            "  --threads N     worker threads for kernels and OpenBLAS (default: all cores)\n"
            "  --device D      cpu (default) or cuda[:N]\n"
            "  --version       print the version and exit\n"
            "  --help          print this help and exit\n");
}

static int parse_int(const char *opt, const char *s, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "bipeft: %s expects an integer in [%d, %d], got '%s'\n", opt, lo, hi, s);
        return 0;
    }
    *out = (int)v;
    return 1;
}

/* Returns -1 to continue, otherwise the exit code. */
static int parse_cli(int argc, char **argv, struct cli *cli) {
    memset(cli, 0, sizeof *cli);
    cli->device = "cpu";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--version")) {
            printf("bipeft %s\n", BIPEFT_VERSION);
            return 0;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--threads") || !strcmp(a, "--device")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "bipeft: %s needs a value\n", a);
                return 2;
            }
            if (a[2] == 't' && !parse_int(a, argv[++i], 0, 1024, &cli->threads))
                return 2;
            if (a[2] == 'd')
                cli->device = argv[++i];
        } else {
            fprintf(stderr, "bipeft: unknown option '%s' (see bipeft --help)\n", a);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    cli->command = argv[i];
    cli->argc = argc - i - 1;
    cli->argv = argv + i + 1;
    return -1;
}

static int cmd_info(struct backend *be) {
    char buf[512];
    printf("bipeft %s\n", BIPEFT_VERSION);
    printf("device   %s\n", be->name);
    printf("cpu      %s\n", backend_cpu_describe(be, buf, sizeof buf));
    printf("cuda     %s\n", backend_have_cuda() ? "built in" : "not built in this binary");
    return 0;
}

static void demo_log(void *ctx, int step, float loss, float lr) {
    const struct demo_config *c = ctx;
    fprintf(stderr, "demo: step %4d/%d  loss %.4f  lr %.2e\n", step, c->steps, loss, lr);
}

static int cmd_demo(struct backend *be) {
    struct demo_config cfg = demo_default_config();
    struct demo_result res;
    struct pf_err err = {0};
    char buf[512];
    fprintf(stderr, "demo: %s\n", backend_cpu_describe(be, buf, sizeof buf));
    fprintf(stderr, "demo: %d-layer encoder, C=%d, %d heads (%d kv), batch %d x %d tokens; "
            "task: is the marker token in the sequence?\n", cfg.n_layer, cfg.C, cfg.H, cfg.KVH,
            cfg.B, cfg.T);
    if (demo_run(be, &cfg, demo_log, &cfg, &res, &err) != PF_OK) {
        fprintf(stderr, "bipeft: demo: %s\n", err.msg);
        return 1;
    }
    printf("demo: loss %.4f -> %.4f, held-out accuracy %.1f%% (chance ~56%%), %.2f s, "
           "params fnv1a %016llx\n", res.first_loss, res.final_loss, 100.0 * res.eval_accuracy,
           res.seconds, (unsigned long long)res.param_hash);
    return 0;
}

int main(int argc, char **argv) {
    struct cli cli;
    int rc = parse_cli(argc, argv, &cli);
    if (rc >= 0)
        return rc;
    int known = !strcmp(cli.command, "info") || !strcmp(cli.command, "demo");
    if (!known) {
        fprintf(stderr, "bipeft: unknown command '%s' (see bipeft --help)\n", cli.command);
        return 2;
    }
    if (cli.argc > 0) {
        fprintf(stderr, "bipeft: %s: unexpected argument '%s'\n", cli.command, cli.argv[0]);
        return 2;
    }
    struct pf_err err = {0};
    struct backend *be = backend_open(cli.device, cli.threads, &err);
    if (!be) {
        fprintf(stderr, "bipeft: %s\n", err.msg);
        return 2;
    }
    rc = !strcmp(cli.command, "info") ? cmd_info(be) : cmd_demo(be);
    backend_close(be);
    return rc;
}
