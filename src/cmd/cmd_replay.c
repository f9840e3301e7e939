/* cmd_replay.c - `bipeft replay [DIR] [--root ROOT] [--text]`: replay a search session's
 * events in the TUI (ui/ui_replay_app.h; keys under `?`), or, without DIR, the sessions
 * screen of ROOT (default "sessions"): pick one to replay, compare two structures.
 *
 * Without a terminal (stdin or stdout not a tty, TERM unset or "dumb"), or with --text,
 * `bipeft replay DIR` prints a plain-text summary of the session instead (its meta, the events
 * by type, the decision log) and exits 0; `bipeft replay` without DIR then exits 2 (the list
 * is `bipeft sessions`). A folder without a readable log.db: one line naming the file, exit 2.
 * q leaves with 0; SIGINT / SIGTERM / SIGHUP restore the terminal and exit 130.
 * docs/TUI_REPLAY.md. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "search/search_event.h"
#include "ui_app.h"
#include "ui_model.h"
#include "ui_replay.h"
#include "ui_replay_app.h"
#include "ui_text.h"

static const char *usage = "usage: bipeft replay [DIR] [--root ROOT] [--text]";

static const char *meta_or(const struct ui_replay *r, int k) {
    return r->meta.meta[k][0] ? r->meta.meta[k] : "-";
}

/* Escaped outside text into one of two rotating buffers (for one printf). */
static const char *esc(const char *raw) {
    static char buf[8][1200];
    static int k;
    k = (k + 1) % 8;
    ui_text_escape(buf[k], sizeof buf[k], raw);
    return buf[k];
}

static void print_summary(const char *dir, struct ui_replay *r) {
    printf("session %s\n", esc(dir));
    printf("  task %s  model %s  method %s\n", esc(meta_or(r, SSK_TASK)),
           esc(meta_or(r, SSK_MODEL)), esc(meta_or(r, SSK_METHOD)));
    printf("  budget %s  params %s  %s: dev %s test %s  status %s  created %s\n",
           esc(meta_or(r, SSK_BUDGET)), esc(meta_or(r, SSK_PARAMS)),
           esc(meta_or(r, SSK_METRIC)), esc(meta_or(r, SSK_DEV)), esc(meta_or(r, SSK_TEST)),
           esc(r->meta.status), esc(meta_or(r, SSK_CREATED)));
    int64_t by[SEV_COUNT] = {0};
    for (int64_t i = 0; i < r->n; i++)
        if ((int)r->ev[i].type >= 0 && r->ev[i].type < SEV_COUNT)
            by[r->ev[i].type]++;
    printf("  %lld events, %lld steps:", (long long)r->n, (long long)r->steps_total);
    for (int t = 0; t < SEV_COUNT; t++)
        if (by[t] && t != SEV_STEP)
            printf(" %s %lld", search_event_name((enum search_event_type)t), (long long)by[t]);
    printf("\n");
    ui_replay_seek(r, r->n);
    const struct ui_model *m = r->model;
    int n = ui_model_log_count(m);
    printf("log (%d line%s%s):\n", n, n == 1 ? "" : "s",
           m->log_total > n ? ", the last ones" : "");
    for (int i = 0; i < n; i++) {
        const struct ui_log_line *l = ui_model_log_line(m, i);
        printf("  %7lld  %s\n", (long long)l->step, esc(l->text));
    }
}

int cmd_replay(const struct cmd_ctx *ctx, int argc, char **argv) {
    (void)ctx;
    const char *dir = NULL, *root = NULL;
    int text = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--text")) {
            text = 1;
        } else if (!strcmp(argv[i], "--root")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "bipeft: replay: --root needs a folder (%s)\n", usage);
                return 2;
            }
            root = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "bipeft: replay: unknown option '%s' (%s)\n", argv[i], usage);
            return 2;
        } else if (!dir) {
            dir = argv[i];
        } else {
            fprintf(stderr, "bipeft: replay: unexpected argument '%s' (%s)\n", argv[i], usage);
            return 2;
        }
    }
    if (dir && root) {
        fprintf(stderr, "bipeft: replay: DIR and --root exclude each other (%s)\n", usage);
        return 2;
    }
    struct pf_err err = {0};
    int tty = !text && ui_available();
    if (!dir) {
        if (text || !tty) {
            fprintf(stderr, "bipeft: replay: the sessions screen needs a terminal (not a "
                    "terminal here); list them with: bipeft sessions%s%s\n",
                    root ? " " : "", root ? root : "");
            return 2;
        }
        int intr = 0;
        if (ui_sessions_run(root ? root : "sessions", &intr, &err) != PF_OK) {
            fprintf(stderr, "bipeft: replay: %s\n", err.msg);
            return 2;
        }
        return intr ? 130 : 0;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "bipeft: replay: %s: not a session folder (no such folder)\n", dir);
        return 2;
    }
    if (tty) {
        int intr = 0;
        if (ui_replay_run(dir, &intr, &err) != PF_OK) {
            fprintf(stderr, "bipeft: replay: %s\n", err.msg);
            return 2;
        }
        return intr ? 130 : 0;
    }
    struct ui_replay *r = NULL;
    if (ui_replay_open(dir, &r, &err) != PF_OK) {
        fprintf(stderr, "bipeft: replay: %s\n", err.msg);
        return 2;
    }
    if (!text)
        fprintf(stderr, "bipeft: replay: not a terminal: a text summary of the session "
                "follows (the replay itself needs a terminal)\n");
    print_summary(dir, r);
    ui_replay_free(r);
    return 0;
}
