/* cmd_pretrain.c - `bipeft pretrain CONFIG.lua [--quiet]`: masked-language-model pretraining
 * of a BERT encoder from scratch (src/pretrain/pretrain.h, docs/PRETRAIN.md). Prints the
 * summary as one JSON object on stdout. Exit 0 on success, 1 when training fails (diverged,
 * the output cannot be written), 2 for bad usage, a bad config, tokenizer or corpus. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/backend.h"
#include "pretrain/pretrain.h"

#define NAME "pretrain"

static int input_error(pf_status st) {
    return st == PF_ERR_ARG || st == PF_ERR_FORMAT || st == PF_ERR_SCRIPT ||
           st == PF_ERR_UNSUPPORTED || st == PF_ERR_SHAPE;
}

/* JSON number or null */
static void num(const char *key, double v, const char *sep) {
    if (isfinite(v))
        printf("\"%s\": %.6f%s", key, v, sep);
    else
        printf("\"%s\": null%s", key, sep);
}

int cmd_pretrain(const struct cmd_ctx *ctx, int argc, char **argv) {
    const char *path = NULL;
    int quiet = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "bipeft: " NAME ": unknown option '%s'\n", argv[i]);
            return 2;
        } else if (path) {
            fprintf(stderr, "bipeft: " NAME ": one config file expected, got '%s' too\n",
                    argv[i]);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "bipeft: " NAME ": missing CONFIG.lua\n");
        return 2;
    }
    struct pf_err err = {0};
    struct pretrain_config c;
    pf_status st = pretrain_config_load(path, &c, &err);
    if (st != PF_OK) {
        fprintf(stderr, "bipeft: " NAME ": %s\n", err.msg);
        return 2;
    }
    struct cmd_ctx c2 = *ctx;
    if (!c2.threads)
        c2.threads = c.threads;
    struct backend *be = cmd_open_backend(&c2, NAME);
    if (!be)
        return 2;
    struct pretrain_result r;
    st = pretrain_run(&c, be, quiet, &r, &err);
    backend_close(be);
    if (st != PF_OK) {
        fprintf(stderr, "bipeft: " NAME ": %s\n", err.msg);
        return r.bad_input || input_error(st) ? 2 : 1;
    }
    printf("{\"out\": \"%s\", \"steps\": %lld, \"params\": %lld, \"seconds\": %.3f, ", c.out,
           (long long)r.steps, (long long)r.params, r.seconds);
    num("final_train_loss", r.final_train_loss, ", ");
    num("eval_loss", r.eval_loss, ", ");
    num("eval_accuracy", r.eval_accuracy, ", ");
    num("unigram_accuracy", r.unigram_accuracy, "}\n");
    return 0;
}
