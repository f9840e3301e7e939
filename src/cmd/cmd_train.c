/* cmd_train.c - `bipeft train CONFIG.lua [--headless] [--quiet]`: fine-tune the fixed structure
 * a config names (a structure file, the config's space at its largest ranks, or full
 * fine-tuning) and write the run folder (train/run_dir.h) under the config's session folder.
 * Exit 0 on success, 1 when training fails (e.g. diverged), 2 for bad configs or inputs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/backend.h"
#include "peft/peft_io.h"
#include "script/script_config.h"
#include "train/metrics.h"
#include "train/train.h"
#include "util/atomic.h"
#include "util/xalloc.h"

static int input_error(pf_status st) {
    return st == PF_ERR_ARG || st == PF_ERR_FORMAT || st == PF_ERR_IO ||
           st == PF_ERR_SCRIPT || st == PF_ERR_UNSUPPORTED || st == PF_ERR_SHAPE;
}

/* DIR = session/name, created here; an existing folder with a run in it is refused. */
static pf_status make_run_dir(const struct run_config *c, const char *task, char *dir,
                              size_t n, struct pf_err *err) {
    char name[CFG_NAME_MAX + 64];
    if (c->train.name[0]) {
        snprintf(name, sizeof name, "%s", c->train.name);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        snprintf(name, sizeof name, "%s-train-%s", task, stamp);
    }
    snprintf(dir, n, "%s/%s", c->session[0] ? c->session : "sessions", name);
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/run.json", dir);
    if (access(probe, F_OK) == 0)
        return pf_err_set(err, PF_ERR_IO, "%s: a run is already there; set train.name to "
                          "another folder or remove it", dir);
    return atomic_mkdirs(dir, err);
}

static void print_metrics(const struct trainer *t, const char *label, const double *v) {
    printf("  %-6s", label);
    for (int i = 0; i < t->task.n_metrics; i++)
        printf("  %s %.4f", metric_name(t->task.metrics[i]), v[t->task.metrics[i]]);
    printf("\n");
}

/* The command line: the config path and --quiet (--headless is accepted); 0, or 2 after
 * printing the usage error. */
static int train_args(int argc, char **argv, const char **path, int *quiet) {
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--headless"))
            continue; /* training is always headless until the TUI hosts it */
        if (!strcmp(argv[i], "--quiet")) {
            *quiet = 1;
        } else if (argv[i][0] == '-' || *path) {
            fprintf(stderr, "bipeft: train: unexpected argument '%s' (usage: bipeft train "
                    "CONFIG.lua [--headless] [--quiet])\n", argv[i]);
            return 2;
        } else {
            *path = argv[i];
        }
    }
    if (!*path) {
        fprintf(stderr, "bipeft: train: usage: bipeft train CONFIG.lua [--headless] [--quiet]\n");
        return 2;
    }
    return 0;
}

/* Attach the config's structure (a structure file, the space, or full fine-tuning), make
 * the run folder (dir) and write its files. */
static pf_status train_prepare(struct trainer *t, const struct run_config *cfg, char *dir,
                               size_t dir_size, struct pf_err *err) {
    struct peft_spec *specs = NULL;
    int n = 0;
    pf_status st;
    if (cfg->train.full)
        st = PF_OK;
    else if (cfg->structure[0])
        st = peft_structure_read(cfg->structure, &specs, &n, err);
    else
        st = train_space_specs(cfg, &t->m, &specs, &n, err);
    if (st == PF_OK)
        st = trainer_build(t, specs, n, cfg->train.full, err);
    xfree(specs);
    if (st == PF_OK)
        st = make_run_dir(cfg, t->task.name, dir, dir_size, err);
    if (st == PF_OK)
        st = trainer_write_run_files(t, dir, err);
    return st;
}

/* The result on stdout: counts, the dev/test/test2 metrics and the run folder. */
static void print_result(const struct trainer *t, const struct train_result *r,
                         const char *dir) {
    printf("task %s  trainable %lld (modules %lld)  steps %lld  nan skips %lld  %.1f s\n",
           t->task.name, (long long)r->trainable, (long long)r->module_params,
           (long long)r->updates, (long long)r->nan_skips, r->seconds);
    if (r->has_dev)
        print_metrics(t, "dev", r->dev);
    if (r->has_test)
        print_metrics(t, "test", r->test);
    if (r->has_test2)
        print_metrics(t, "test2", r->test2);
    printf("run folder: %s\n", dir);
}

int cmd_train(const struct cmd_ctx *ctx, int argc, char **argv) {
    const char *path = NULL;
    int quiet = 0;
    if (train_args(argc, argv, &path, &quiet) != 0)
        return 2;
    struct pf_err err = {0};
    struct run_config cfg;
    if (cmd_load_config("train", path, CFG_MODE_TRAIN, &cfg) != PF_OK)
        return 2;
    struct backend *be = cmd_open_config_backend(ctx, &cfg, "train");
    if (!be)
        return 2;
    struct trainer t;
    pf_status st = trainer_open(&t, &cfg, be, &err);
    if (st != PF_OK) {
        fprintf(stderr, "bipeft: train: %s\n", err.msg);
        backend_close(be);
        return input_error(st) ? 2 : 1;
    }
    t.quiet = quiet;
    if (t.head_reinitialised && !quiet)
        fprintf(stderr, "bipeft: train: note: %s has a classification head for another number "
                "of labels; it was initialised afresh for %d labels\n", cfg.model.path,
                t.task.regression ? 1 : t.task.n_labels);
    char dir[1024];
    st = train_prepare(&t, &cfg, dir, sizeof dir, &err);
    if (st != PF_OK) {
        fprintf(stderr, "bipeft: train: %s\n", err.msg);
        trainer_close(&t);
        backend_close(be);
        return input_error(st) ? 2 : 1;
    }
    if (!quiet)
        fprintf(stderr, "bipeft: train: %s on %s: %d modules, %lld module parameters; run "
                "folder %s\n", t.task.name, cfg.model.path, t.p.n,
                (long long)peft_total_params(&t.p), dir);
    struct train_result r;
    st = trainer_fit(&t, dir, &r, &err);
    if (st != PF_OK) {
        fprintf(stderr, "bipeft: train: %s\n", err.msg);
        trainer_close(&t);
        backend_close(be);
        return input_error(st) ? 2 : 1;
    }
    print_result(&t, &r, dir);
    trainer_close(&t);
    backend_close(be);
    return 0;
}
