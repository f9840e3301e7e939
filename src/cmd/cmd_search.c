/* cmd_search.c - `bipeft search CONFIG.lua [--headless] [--session DIR] [--paused] [--quiet]
 * [--verbose]` and `bipeft resume DIR [--previous] [--restart] [--headless] [--paused] [--quiet]
 * [--verbose]`: run a search session (search/search.h) to the end, then print the result on
 * stdout.
 *
 * On a terminal (stdin and stdout ttys, TERM set and not "dumb") the session runs under the
 * TUI (ui/ui_app.h: module map, plots, event log; keys pin, prune, fix ranks, set the budget,
 * pause, reload the policy, checkpoint, quit). With --headless or --quiet, or without a
 * terminal, it runs headless with a progress line on stderr (none with --quiet). --paused
 * opens the TUI with the search paused before its next step (the pause is in the session's
 * log; space starts it, and pins, prunes, fixed ranks, budgets and policy reloads apply while
 * it waits); it needs the TUI: with --headless, --quiet or without a terminal it is a usage
 * error (exit 2). Exit 0 done, 1 when the run fails (diverged, a policy error, I/O), 2 for bad
 * usage, configs or inputs, 130 when interrupted or stopped (SIGINT/SIGTERM, or q in the TUI:
 * a checkpoint is written at the next step boundary and `bipeft resume DIR` continues; a
 * second Ctrl-C exits at once). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/backend.h"
#include "script/script_config.h"
#include "search/search.h"
#include "search/search_progress.h"
#include "ui_app.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    (void)sig;
    if (interrupted) /* a second Ctrl-C: stop now (the last checkpoint is still there) */
        _exit(130);
    interrupted = 1;
}

static int input_error(pf_status st) {
    return st == PF_ERR_ARG || st == PF_ERR_FORMAT || st == PF_ERR_IO ||
           st == PF_ERR_SCRIPT || st == PF_ERR_UNSUPPORTED || st == PF_ERR_SHAPE;
}

/* With --quiet: only a policy hook that failed (the search goes on with the default's). */
static void warn_emit(void *ctx, const struct search_event *ev) {
    (void)ctx;
    if (ev->type == SEV_FALLBACK)
        fprintf(stderr, "bipeft: policy hook failed at step %lld, the default policy's hook "
                "runs from now on: %s\n", (long long)ev->step, ev->text);
}

/* The search run headless: the progress sink (unless quiet) and our Ctrl-C handler. */
static pf_status run_headless(struct search *s, struct search_progress *pg, int quiet,
                              struct search_result *r, struct pf_err *err) {
    struct search_sink sk = {.emit = warn_emit, .ctx = NULL};
    if (!quiet)
        search_progress_sink(pg, &sk);
    search_add_sink(s, &sk, err);
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    pf_status st = search_run(s, r, err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return st;
}

/* The header of the TUI: the task, the model folder, the device, the method, the stage
 * count. */
static void tui_info(const struct run_config *cfg, const struct backend *be,
                     struct ui_info *info) {
    memset(info, 0, sizeof *info);
    info->method = cfg_method_name(cfg->search.method);
    info->task = cfg->task.name;
    info->model = cfg->model.path;
    info->device = be->name;
    info->stages_total = cfg->search.stages;
    info->interrupt = &interrupted;
}

/* The baseline's line and, where both have scores, the found - baseline difference in
 * points (100 x the metric's difference). */
static void print_baseline(const struct search_result *r) {
    const struct search_trained *b = &r->baseline;
    char label[48];
    snprintf(label, sizeof label, "%s baseline (r%d)", r->baseline_name, r->baseline_rank);
    printf("  %-20s params %8lld", label, (long long)b->params);
    if (b->has_test)
        printf("  test %s %.4f", b->metric, b->test);
    if (b->has_dev)
        printf("  dev %s %.4f", b->metric, b->dev);
    printf("  (%d modules, %.1f s)\n", b->n_modules, b->seconds);
    /* the comparison the search exists for, in points (100 x the metric's difference) */
    if ((r->has_test && b->has_test) || (r->has_dev && b->has_dev)) {
        printf("  %-20s", "found - baseline");
        if (r->has_test && b->has_test)
            printf("  test %+.2f points", 100.0 * (r->test - b->test));
        if (r->has_dev && b->has_dev)
            printf("  dev %+.2f points", 100.0 * (r->dev - b->dev));
        printf("  (%s; the found structure %s the baseline on test)\n", r->metric,
               !r->has_test || !b->has_test ? "is compared with"
               : r->test >= b->test         ? "is at or above"
                                            : "is below");
    }
}

/* The report of a finished search on stdout: the structure, the search's counts, the
 * scores (and the baseline's), what was saved and how to export it. */
static void print_report(struct search *s, const struct search_result *r) {
    const char *dir = search_dir(s);
    char sp[1100];
    printf("session %s\n", dir);
    snprintf(sp, sizeof sp, "%s/structure.json", dir);
    cmd_print_structure(stdout, sp, (long long)r->budget, "  ");
    printf("  search: %lld of %lld iterations, stages %d/%d%s, %.1f s; retrain %.1f s\n",
           (long long)r->iterations, (long long)r->planned, r->stages_done, r->stages_total,
           r->early_stopped ? " (stopped early)" : "", r->search_seconds, r->retrain_seconds);
    if (r->guard_stages)
        printf("  the termination guard ran the last %d stages\n", r->guard_stages);
    if (r->has_test || r->has_dev) {
        printf("  %-20s params %8lld", "found structure", (long long)r->params);
        if (r->has_test)
            printf("  test %s %.4f", r->metric, r->test);
        if (r->has_dev)
            printf("  dev %s %.4f", r->metric, r->dev);
        printf("\n");
    }
    if (r->has_baseline)
        print_baseline(r);
    printf("  saved in %s: structure.json, retrain/%s\n", dir,
           r->has_baseline ? ", baseline-lora/" : "");
    const char *why = "";
    const char *fmt = cmd_structure_export_format(sp, &why);
    printf("  export: bipeft export %s/retrain --format %s --out DIR  (%s)\n", dir, fmt, why);
}

static int finish(const char *name, struct search *s, struct backend *be,
                  struct search_progress *pg, int quiet, const struct ui_info *tui) {
    struct pf_err err = {0};
    struct search_result r;
    pf_status st = PF_OK;
    int stopped = 0, ran = 0;
    if (tui) {
        struct pf_err uerr = {0};
        if (ui_run_search(s, tui, &r, &st, &err, &stopped, &uerr) == PF_OK) {
            ran = 1;
        } else if (tui->start_paused) { /* headless, nobody could ever unpause it */
            fprintf(stderr, "bipeft: %s: %s; --paused needs the TUI (a terminal)\n", name,
                    uerr.msg);
            search_close(s);
            backend_close(be);
            return 2;
        } else {
            fprintf(stderr, "bipeft: %s: %s; running headless\n", name, uerr.msg);
        }
    }
    if (!ran)
        st = run_headless(s, pg, quiet, &r, &err);
    if (st == PF_OK && (r.interrupted || stopped)) {
        fprintf(stderr, "%sbipeft: %s: %s at iteration %lld; checkpoint written. "
                "Continue with: bipeft resume %s\n", tui ? "" : "\n", name,
                stopped ? "stopped" : "interrupted", (long long)r.iterations, search_dir(s));
        search_close(s);
        backend_close(be);
        return 130;
    }
    if (st != PF_OK) {
        fprintf(stderr, "bipeft: %s: %s\n", name, err.msg);
        if (st == PF_ERR_NUMERIC) /* a resume runs the same config into the same divergence */
            fprintf(stderr, "bipeft: %s: the session %s is kept for inspection (bipeft replay "
                    "%s); a resume would diverge again: start a new search with the change "
                    "above\n", name, search_dir(s), search_dir(s));
        else
            fprintf(stderr, "bipeft: %s: the session %s can be continued from its last "
                    "checkpoint with: bipeft resume %s\n", name, search_dir(s), search_dir(s));
        search_close(s);
        backend_close(be);
        return 1; /* a run-time failure: the session stays resumable */
    }
    print_report(s, &r);
    search_close(s);
    backend_close(be);
    return 0;
}

static int common_flag(const char *a, int *headless, int *quiet, int *verbose, int *paused) {
    if (!strcmp(a, "--headless"))
        return *headless = 1;
    if (!strcmp(a, "--paused"))
        return *paused = 1;
    if (!strcmp(a, "--quiet"))
        return *quiet = 1;
    if (!strcmp(a, "--verbose"))
        return *verbose = 1;
    return 0;
}

/* --paused without the TUI: nothing could start the search (exit 2). */
static int paused_without_tui(const char *name, int paused, int tui) {
    if (!paused || tui)
        return 0;
    fprintf(stderr, "bipeft: %s: --paused needs the TUI (a terminal)\n", name);
    return 1;
}

int cmd_search(const struct cmd_ctx *ctx, int argc, char **argv) {
    const char *path = NULL, *session = NULL;
    int headless = 0, quiet = 0, verbose = 0, paused = 0;
    const char *usage = "usage: bipeft search CONFIG.lua [--headless] [--session DIR] "
                        "[--paused] [--quiet] [--verbose]";
    for (int i = 0; i < argc; i++) {
        if (common_flag(argv[i], &headless, &quiet, &verbose, &paused))
            continue;
        if (!strcmp(argv[i], "--session") && i + 1 < argc) {
            session = argv[++i];
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "bipeft: search: unexpected argument '%s' (%s)\n", argv[i], usage);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "bipeft: search: %s\n", usage);
        return 2;
    }
    /* under the TUI the retraining's progress bar stays off the screen */
    int tui = !headless && !quiet && ui_available();
    if (paused_without_tui("search", paused, tui))
        return 2;
    struct pf_err err = {0};
    struct run_config cfg;
    if (cmd_load_config("search", path, CFG_MODE_SEARCH, &cfg) != PF_OK)
        return 2;
    struct backend *be = cmd_open_config_backend(ctx, &cfg, "search");
    if (!be)
        return 2;
    struct search_opts o = {.session_dir = session, .quiet = quiet || tui,
                            .interrupt = &interrupted};
    struct search *s = NULL;
    pf_status st = search_open(&s, &cfg, be, &o, &err);
    if (st != PF_OK) {
        fprintf(stderr, "bipeft: search: %s\n", err.msg);
        backend_close(be);
        return input_error(st) ? 2 : 1;
    }
    struct search_progress pg;
    search_progress_init(&pg, stderr, "search", verbose);
    if (!quiet)
        fprintf(stderr, "bipeft: search: session %s: %d candidate modules, budget %lld\n",
                search_dir(s), search_n_candidates(s), (long long)search_budget(s));
    struct ui_info info;
    tui_info(&cfg, be, &info);
    info.start_paused = paused;
    return finish("search", s, be, &pg, quiet, tui ? &info : NULL);
}

int cmd_resume(const struct cmd_ctx *ctx, int argc, char **argv) {
    const char *dir = NULL;
    int headless = 0, quiet = 0, verbose = 0, previous = 0, paused = 0, restart = 0;
    const char *usage = "usage: bipeft resume DIR [--previous] [--restart] [--headless] "
                        "[--paused] [--quiet] [--verbose]";
    for (int i = 0; i < argc; i++) {
        if (common_flag(argv[i], &headless, &quiet, &verbose, &paused))
            continue;
        if (!strcmp(argv[i], "--previous")) {
            previous = 1;
            continue;
        }
        if (!strcmp(argv[i], "--restart")) {
            restart = 1;
            continue;
        }
        if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "bipeft: resume: unexpected argument '%s' (%s)\n", argv[i], usage);
            return 2;
        }
        dir = argv[i];
    }
    if (!dir) {
        fprintf(stderr, "bipeft: resume: %s\n", usage);
        return 2;
    }
    int tui = !headless && !quiet && ui_available();
    if (paused_without_tui("resume", paused, tui))
        return 2;
    /* the session's own threads and device: a resumed run repeats the same arithmetic */
    struct pf_err err = {0};
    struct run_config cfg;
    char cp[1100];
    snprintf(cp, sizeof cp, "%s/config.lua", dir);
    if (access(cp, R_OK) != 0) {
        fprintf(stderr, "bipeft: resume: %s: not a session folder (no config.lua; if a search "
                "was killed while it started, run it again)\n", dir);
        return 2;
    }
    if (cmd_load_config("resume", cp, -1, &cfg) != PF_OK)
        return 2;
    struct backend *be = cmd_open_config_backend(ctx, &cfg, "resume");
    if (!be)
        return 2;
    struct search_opts o = {.quiet = quiet || tui, .previous = previous, .restart = restart,
                            .interrupt = &interrupted};
    struct search *s = NULL;
    pf_status st = search_resume(&s, dir, be, &o, &err);
    if (st != PF_OK) {
        fprintf(stderr, "bipeft: resume: %s\n", err.msg);
        backend_close(be);
        return input_error(st) ? 2 : 1;
    }
    struct search_progress pg;
    search_progress_init(&pg, stderr, "resume", verbose);
    if (!quiet)
        fprintf(stderr, "bipeft: resume: %s at iteration %lld, %d stages left\n", dir,
                (long long)search_iteration(s), search_stages_left(s));
    struct ui_info info;
    tui_info(&cfg, be, &info);
    info.start_paused = paused;
    return finish("resume", s, be, &pg, quiet, tui ? &info : NULL);
}
