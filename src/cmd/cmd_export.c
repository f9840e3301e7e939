/* cmd_export.c - `bipeft export RUN_DIR --format peft|merged|native --out DIR`: a training
 * run folder written as a PEFT adapter, a merged HF checkpoint or a copy of the run's own
 * files (peft/peft_export.h, docs/EXPORT.md). Exit 0 success, 2 bad usage, a bad run folder
 * or a structure the format cannot hold, 1 run-time failure (writing, memory). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/backend.h"
#include "peft/peft_export.h"
#include "train/run_dir.h"

#define USAGE "usage: bipeft export RUN_DIR --format peft|merged|native --out DIR [--partial]"

static int export_run(const char *run, enum export_format f, const char *fmt, const char *out,
                      struct backend *be, struct pf_err *err);

int cmd_export(const struct cmd_ctx *ctx, int argc, char **argv) {
    const char *run = NULL, *fmt = NULL, *out = NULL;
    int partial = 0;
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--partial")) {
            partial = 1;
        } else if (!strcmp(o, "--format") || !strcmp(o, "--out")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "bipeft: export: %s needs a value (" USAGE ")\n", o);
                return 2;
            }
            *(!strcmp(o, "--format") ? &fmt : &out) = argv[++i];
        } else if (o[0] == '-' && o[1]) {
            fprintf(stderr, "bipeft: export: unknown option '%s' (" USAGE ")\n", o);
            return 2;
        } else if (run) {
            fprintf(stderr, "bipeft: export: unexpected argument '%s' (one run folder)\n", o);
            return 2;
        } else {
            run = o;
        }
    }
    if (!run || !fmt || !out) {
        fprintf(stderr, "bipeft: export: %s (" USAGE ")\n",
                !run ? "missing the run folder" : !fmt ? "missing --format" : "missing --out");
        return 2;
    }
    struct pf_err err = {0};
    enum export_format f;
    if ((!partial && run_check_finished(run, "export", &err) != PF_OK) ||
        export_format_parse(fmt, &f, &err) != PF_OK) {
        fprintf(stderr, "bipeft: export: %s\n", err.msg);
        return 2;
    }
    struct backend *be = cmd_open_backend(ctx, "export");
    if (!be)
        return 2;
    /* SIGINT, SIGTERM, SIGHUP and SIGQUIT wait until the export is either in place or undone
     * (it is staged in OUT.tmp-XXXXXX and renamed at the end): a stop then leaves no debris.
     * They take effect when it returns. */
    sigset_t stops, old;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGHUP);
    sigaddset(&stops, SIGQUIT);
    sigprocmask(SIG_BLOCK, &stops, &old);
    int rc = export_run(run, f, fmt, out, be, &err);
    sigset_t pending;
    if (sigpending(&pending) == 0 &&
        (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) ||
         sigismember(&pending, SIGHUP) || sigismember(&pending, SIGQUIT)))
        fprintf(stderr, "bipeft: export: stopped by a signal once the export was %s\n",
                rc == 0 ? "complete" : "undone");
    fflush(NULL);
    sigprocmask(SIG_SETMASK, &old, NULL); /* a pending stop ends the process here */
    return rc;
}

/* The export itself (signals blocked by the caller); the exit code. */
static int export_run(const char *run, enum export_format f, const char *fmt, const char *out,
                      struct backend *be, struct pf_err *err) {
    /* reading the run is input (exit 2); writing the export is run time (exit 1) */
    struct model m;
    struct peft p;
    struct run_info ri;
    pf_status st = run_open(run, be, &m, &p, &ri, err);
    if (st != PF_OK) {
        backend_close(be);
        fprintf(stderr, "bipeft: export: %s\n", err->msg);
        return st == PF_ERR_NOMEM ? 1 : 2;
    }
    st = f == EXPORT_NATIVE ? peft_export_native(run, out, err)
       : f == EXPORT_MERGED ? peft_export_merged(&m, &p, &ri, out, err)
                            : peft_export_peft(&m, &p, &ri, out, err);
    peft_free(&p);
    model_free(&m);
    backend_close(be);
    if (st != PF_OK) {
        fprintf(stderr, "bipeft: export: %s\n", err->msg);
        return st == PF_ERR_IO || st == PF_ERR_NOMEM ? 1 : 2;
    }
    printf("exported %s (%s) to %s\n", run, fmt, out);
    return 0;
}
