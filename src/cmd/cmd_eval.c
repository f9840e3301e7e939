/* cmd_eval.c - `bipeft eval RUN_DIR CONFIG.lua [--split dev|test|test2|all]`: score a run
 * folder (from `bipeft train`, or a native export) on the data a config names. The base model
 * is the run's (run.json); the config gives the task and its files. Prints one JSON object:
 *   {"run": "...", "task": "sst2", "dev": {"accuracy": 0.91, ...}, "test": {...}}
 * Exit 0, 1 on a run-time failure, 2 for bad arguments or inputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/backend.h"
#include "script/script_config.h"
#include "train/metrics.h"
#include "train/run_dir.h"
#include "train/train.h"

static const char *usage = "usage: bipeft eval RUN_DIR CONFIG.lua [--split dev|test|test2|all] "
                           "[--partial]";

static void print_split(const struct trainer *t, const char *name, const double *v, int *first) {
    printf("%s\"%s\": {", *first ? "" : ", ", name);
    for (int i = 0; i < t->task.n_metrics; i++)
        printf("%s\"%s\": %.6f", i ? ", " : "", metric_name(t->task.metrics[i]),
               v[t->task.metrics[i]]);
    printf("}");
    *first = 0;
}

/* The command line: the run folder, the config, --split (its index in splits, *which) and
 * --partial; 0, or 2 after printing the usage error. */
static int eval_args(int argc, char **argv, const char *const *splits, const char **run,
                     const char **cfgp, int *which, int *partial) {
    const char *split = "all";
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--partial")) {
            *partial = 1;
        } else if (!strcmp(argv[i], "--split") && i + 1 < argc) {
            split = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "bipeft: eval: unknown option '%s' (%s)\n", argv[i], usage);
            return 2;
        } else if (!*run) {
            *run = argv[i];
        } else if (!*cfgp) {
            *cfgp = argv[i];
        } else {
            fprintf(stderr, "bipeft: eval: unexpected argument '%s' (%s)\n", argv[i], usage);
            return 2;
        }
    }
    *which = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(split, splits[i]))
            *which = i;
    if (!*run || !*cfgp || *which < 0) {
        fprintf(stderr, "bipeft: eval: %s\n", usage);
        return 2;
    }
    return 0;
}

/* The run's info (finished, unless partial) and the config, its model replaced by the run's
 * base model (and its seed, for a random base). */
static pf_status eval_config(const char *run, const char *cfgp, int partial,
                             struct run_info *ri, struct run_config *cfg, struct pf_err *err) {
    pf_status st = partial ? PF_OK : run_check_finished(run, "eval", err);
    PF_STEP(st, run_info_read(run, ri, err));
    if (st == PF_OK)
        st = script_config_load(cfgp, NULL, cfg, err);
    if (st != PF_OK)
        return st;
    /* the weights belong to the run's base model, whatever the config's model says */
    snprintf(cfg->model.path, sizeof cfg->model.path, "%s", ri->model_path);
    cfg->model.random_init = ri->random_init;
    if (ri->random_init) /* the run's random base weights come from its own seed */
        cfg->seed = ri->seed;
    return PF_OK;
}

/* Attach the run's weights to the opened trainer and score the chosen splits (v[i], have[i]
 * for dev, test, test2); a split asked for by name must exist. */
static pf_status eval_splits(struct trainer *t, const char *run, const struct run_info *ri,
                             const char *const *splits, int which, double v[3][METRIC_COUNT],
                             int have[3], struct pf_err *err) {
    pf_status st = PF_OK;
    if ((t->task.regression ? 1 : t->task.n_labels) != ri->num_labels)
        st = pf_err_set(err, PF_ERR_ARG, "%s has %d outputs but the config's task %s has %d",
                        run, ri->num_labels, t->task.name,
                        t->task.regression ? 1 : t->task.n_labels);
    if (st == PF_OK)
        st = run_attach(run, ri, &t->m, &t->p, err);
    for (int i = 0; i < 3 && st == PF_OK; i++) {
        if ((which != 3 && which != i) || t->enc[TE_DEV + i].n == 0)
            continue;
        st = trainer_eval(t, TE_DEV + i, v[i], NULL, err);
        have[i] = st == PF_OK;
    }
    if (st == PF_OK && which != 3 && !have[which])
        st = pf_err_set(err, PF_ERR_ARG, "the config's task has no %s split", splits[which]);
    return st;
}

int cmd_eval(const struct cmd_ctx *ctx, int argc, char **argv) {
    static const char *const splits[] = {"dev", "test", "test2", "all"};
    const char *run = NULL, *cfgp = NULL;
    int partial = 0, which = -1;
    if (eval_args(argc, argv, splits, &run, &cfgp, &which, &partial) != 0)
        return 2;
    struct pf_err err = {0};
    struct run_info ri;
    struct run_config cfg;
    pf_status st = eval_config(run, cfgp, partial, &ri, &cfg, &err);
    if (st != PF_OK) {
        fprintf(stderr, "bipeft: eval: %s\n", err.msg);
        return 2;
    }
    struct cmd_ctx c2 = *ctx;
    if (!c2.threads)
        c2.threads = cfg.threads;
    struct backend *be = cmd_open_backend(&c2, "eval");
    if (!be)
        return 2;
    struct trainer t;
    st = trainer_open(&t, &cfg, be, &err);
    double v[3][METRIC_COUNT];
    int have[3] = {0};
    PF_STEP(st, eval_splits(&t, run, &ri, splits, which, v, have, &err));
    if (st != PF_OK) {
        fprintf(stderr, "bipeft: eval: %s\n", err.msg);
        trainer_close(&t);
        backend_close(be);
        return st == PF_ERR_NOMEM ? 1 : 2;
    }
    printf("{\"run\": \"%s\", \"task\": \"%s\", ", run, t.task.name);
    int first = 1;
    for (int i = 0; i < 3; i++)
        if (have[i])
            print_split(&t, splits[i], v[i], &first);
    printf("}\n");
    trainer_close(&t);
    backend_close(be);
    return 0;
}
