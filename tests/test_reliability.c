/* test_reliability.c - issue 19's reliability defects, each as a new user meets it: a budget
 * no module fits (refused before any session folder exists), special files where a model,
 * tokenizer or data file belongs (refused at once, not a hang), a policy hook that fails at
 * run time (the default's hook takes over and the search ends with a summary), and a session
 * that is already in use (a second run of it refused, naming the owner). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "search_fixture.h"
#include "core/backend.h"
#include "search/search.h"

static char out[16384], errb[16384];

/* A test that hangs (a FIFO waited on, say) dies by SIGALRM after `seconds` and is reported
 * as crashed. Criterion's own .timeout is not used: its runner leaks 48 bytes per timed test
 * under parallel jobs, which fails the sanitizer build (LeakSanitizer). */
static void hang_guard(unsigned seconds) {
    alarm(seconds);
}

static int run(const char *const *args) {
    return check_run_argv(args, out, sizeof out, errb, sizeof errb);
}

/* Occurrences of needle in hay. */
static int occurrences(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static int exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* <temp>/<name> into buf. */
static const char *temp_path(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "%s/%s", check_temp_dir(), name);
    return buf;
}

/* item 5 (and 4): a budget of 3 parameters; the smallest module of the fixture's space costs
 * more. Refused with the smallest module's size, and no session folder (nor the session root)
 * was made. */
Test(reliability, budget_no_module_fits_is_refused_before_any_folder) {
    hang_guard(60);
    char root[700], dir[800], cfg[600];
    temp_path(root, sizeof root, "budget3_root");
    snprintf(dir, sizeof dir, "%s/s", root);
    snprintf(cfg, sizeof cfg, "%s", search_fixture_config("budget3.lua", "",
                                                          "budget = { params = 3 },"));
    const char *a[] = {"search", cfg, "--session", dir, "--quiet", NULL};
    cr_assert_eq(run(a), 2, "%s", errb);
    cr_assert(strstr(errb, "budget: 3 parameters cannot hold any module"), "%s", errb);
    cr_assert(strstr(errb, "the smallest, "), "%s", errb);
    cr_assert(strstr(errb, "budget3.lua"), "the message names the user's config: %s", errb);
    cr_assert(!exists(dir) && !exists(root), "a folder was made for a refused search");
    /* the same without --session: nothing under the config's session root */
    char sroot[700];
    temp_path(sroot, sizeof sroot, "sessions");
    int before = exists(sroot);
    const char *b[] = {"search", cfg, "--quiet", NULL};
    cr_assert_eq(run(b), 2, "%s", errb);
    if (!before)
        cr_assert(!exists(sroot), "the session root was made for a refused search");
}

/* A copy of the fixture model folder in <temp>/<name> (config.json, model.safetensors,
 * tokenizer.json), into dir. */
static void copy_model(const char *name, char *dir, size_t n) {
    temp_path(dir, n, name);
    char cmd[6000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && cp '%s/tests/data/hf/llama-cls/"
             "config.json' '%s/tests/data/hf/llama-cls/model.safetensors' '%s/tests/data/hf/"
             "llama-cls/tokenizer.json' '%s/'", dir, dir, getenv("PWD"), getenv("PWD"),
             getenv("PWD"), dir);
    cr_assert_eq(system(cmd), 0);
}

/* item 6: a FIFO as tokenizer.json, as config.json, as the model weights and as the training
 * data, and /dev/zero as the training data: each answered within seconds (the test's timeout)
 * with the file and what it is, and no session folder. */
Test(reliability, special_files_are_refused_not_waited_on) {
    hang_guard(60);
    static const char *const files[] = {"tokenizer.json", "config.json", "model.safetensors"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        char mdir[700], fifo[800], name[64], extra[1000], cfg[600], sess[700];
        snprintf(name, sizeof name, "fifo_model_%zu", k);
        copy_model(name, mdir, sizeof mdir);
        snprintf(fifo, sizeof fifo, "%s/%s", mdir, files[k]);
        cr_assert_eq(unlink(fifo), 0);
        cr_assert_eq(mkfifo(fifo, 0644), 0, "mkfifo: %s", strerror(errno));
        snprintf(extra, sizeof extra, "model = { path = '%s' },", mdir);
        snprintf(name, sizeof name, "fifo_%zu.lua", k);
        snprintf(cfg, sizeof cfg, "%s", search_fixture_config(name, "", extra));
        snprintf(name, sizeof name, "fifo_sess_%zu", k);
        temp_path(sess, sizeof sess, name);
        const char *a[] = {"search", cfg, "--session", sess, "--quiet", NULL};
        cr_assert_eq(run(a), 2, "%s: %s", files[k], errb);
        /* model.safetensors is looked at (stat) before it is opened, with its own message */
        cr_assert(strstr(errb, fifo) && strstr(errb, k < 2 ? "not a regular file (it is a FIFO)"
                                                           : "not a readable regular file"),
                  "%s: %s", files[k], errb);
        cr_assert(!exists(sess), "%s: a session folder was made", files[k]);
    }
    char fifo[800], extra[1200], cfg[600], sess[700];
    temp_path(fifo, sizeof fifo, "train_fifo.tsv");
    unlink(fifo);
    cr_assert_eq(mkfifo(fifo, 0644), 0);
    const char *trains[] = {fifo, "/dev/zero"};
    const char *what[] = {"(it is a FIFO)", "(it is a character device)"};
    for (int k = 0; k < 2; k++) {
        snprintf(extra, sizeof extra, "task = { name = 'words', train = '%s', dev = '%s/dev.tsv',"
                 " test = '%s/test.tsv', labels = { '0', '1' }, max_len = 16 },", trains[k],
                 check_temp_dir(), check_temp_dir());
        snprintf(cfg, sizeof cfg, "%s", search_fixture_config("train_special.lua", "", extra));
        temp_path(sess, sizeof sess, "train_special_sess");
        const char *a[] = {"search", cfg, "--session", sess, "--quiet", NULL};
        cr_assert_eq(run(a), 2, "%s: %s", trains[k], errb);
        cr_assert(strstr(errb, trains[k]) && strstr(errb, what[k]), "%s", errb);
        cr_assert(!exists(sess));
    }
}

/* Writes a policy into <temp>/<name>: the default policy with the given hooks replaced
 * (`body` is Lua that assigns P.<hook>; `base` is the default policy's table). */
static const char *write_policy(const char *name, const char *body) {
    char src[4096];
    snprintf(src, sizeof src, "local base = peft.policy.default(...)\n"
             "local P = {}\nfor k, v in pairs(base) do P[k] = v end\n%s\nreturn P\n", body);
    static char path[700];
    snprintf(path, sizeof path, "%s", check_write_temp(name, src));
    return path;
}

/* A search of the fixture with the policy `pol` into <temp>/<tag>_sess (its path into sess):
 * its exit code, stderr in errb. */
static int search_with_policy(const char *pol, const char *tag, char *sess, size_t n) {
    char extra[1000], cfg[600], name[96];
    snprintf(extra, sizeof extra, "policy = '%s',", pol);
    snprintf(name, sizeof name, "%s_cfg.lua", tag);
    snprintf(cfg, sizeof cfg, "%s", search_fixture_config(name, "", extra));
    snprintf(name, sizeof name, "%s_sess", tag);
    temp_path(sess, n, name);
    const char *a[] = {"search", cfg, "--session", sess, "--quiet", NULL};
    return run(a);
}

/* item 3: on_step raises at step 3. The search ends with rc 0 and a summary; the failure is
 * reported once on stderr, naming the user's policy file and line and the hook; the log holds
 * one "fallback" event; the structure fits the budget. */
Test(reliability, policy_hook_raising_falls_back_and_the_search_finishes) {
    hang_guard(300);
    const char *pol = write_policy("raise_step3.lua",
                                   "function P.on_step(s)\n"
                                   "  if s:step() == 3 then error('boom at step 3') end\n"
                                   "  return base.on_step(s)\n"
                                   "end");
    char sess[700];
    cr_assert_eq(search_with_policy(pol, "raise_step3", sess, sizeof sess), 0, "%s", errb);
    cr_assert_eq(occurrences(errb, "policy hook failed"), 1, "%s", errb);
    cr_assert(strstr(errb, "at step 3"), "%s", errb);
    char want[800];
    snprintf(want, sizeof want, "on_step: %s:5: boom at step 3", pol); /* its line 5 */
    cr_assert(strstr(errb, want), "expected '%s' in: %s", want, errb);
    cr_assert(!strstr(errb, "policy.lua"), "the session's copy is named: %s", errb);
    char p[800];
    snprintf(p, sizeof p, "%s/summary.json", sess);
    cr_assert(exists(p), "no summary");
    struct evlist *ev = search_fixture_events(sess);
    int fb = 0, err_ev = 0;
    for (int i = 0; i < ev->n; i++) {
        fb += ev->ev[i].type == SEV_FALLBACK;
        err_ev += ev->ev[i].type == SEV_ERROR;
        if (ev->ev[i].type == SEV_FALLBACK) {
            cr_assert_eq(ev->ev[i].step, 3);
            cr_assert(strstr(ev->ev[i].text, "on_step: ") == ev->ev[i].text, "%s",
                      ev->ev[i].text);
        }
    }
    free(ev);
    cr_assert_eq(fb, 1);
    cr_assert_eq(err_ev, 0);
}

/* item 3: hooks that return values the engine cannot use - tau "hot", lr -1, a trigger that
 * returns {}, should_stop nil - each fall back once; the search finishes. */
Test(reliability, policy_hooks_returning_bad_values_fall_back) {
    hang_guard(300);
    const char *pol = write_policy("bad_values.lua",
                                   "function P.tau() return 'hot' end\n"
                                   "function P.lr() return -1 end\n"
                                   "function P.trigger() return {} end\n"
                                   "function P.should_stop() return nil end");
    char sess[700];
    cr_assert_eq(search_with_policy(pol, "bad_values", sess, sizeof sess), 0, "%s", errb);
    cr_assert_eq(occurrences(errb, "policy hook failed"), 4, "%s", errb);
    static const char *const hooks[] = {"tau: ", "lr: ", "trigger: ", "should_stop: "};
    static const char *const why[] = {"returned \"hot\"", "returned -1", "returned a table",
                                      "returned nil"};
    struct evlist *ev = search_fixture_events(sess);
    for (int k = 0; k < 4; k++) {
        int n = 0;
        for (int i = 0; i < ev->n; i++)
            if (ev->ev[i].type == SEV_FALLBACK && strstr(ev->ev[i].text, hooks[k]) ==
                                                      ev->ev[i].text) {
                n++;
                cr_assert(strstr(ev->ev[i].text, why[k]), "%s", ev->ev[i].text);
            }
        cr_assert_eq(n, 1, "hook %s fell back %d times", hooks[k], n);
    }
    free(ev);
    char p[800];
    snprintf(p, sizeof p, "%s/summary.json", sess);
    cr_assert(exists(p), "no summary");
}

/* item 1: while a session is open (a search runs it), a resume of it is refused with "in use
 * by process P" and changes nothing; once it is closed, the resume works. */
Test(reliability, a_session_in_use_is_refused) {
    hang_guard(120);
    struct backend *be = NULL;
    struct search *s = search_fixture_open(search_fixture_config("locked.lua", "", ""),
                                           "locked_sess", &be, 1);
    char dir[800];
    temp_path(dir, sizeof dir, "locked_sess");
    struct search_opts o = {.quiet = 1, .no_retrain = 1};
    struct search *t = NULL;
    struct pf_err err = {0};
    cr_assert_neq(search_resume(&t, dir, be, &o, &err), PF_OK);
    cr_assert_null(t);
    char want[64];
    snprintf(want, sizeof want, "in use by process %ld", (long)getpid());
    cr_assert(strstr(err.msg, want), "%s", err.msg);
    /* the same from the command line */
    const char *a[] = {"resume", dir, "--quiet", NULL};
    cr_assert_eq(run(a), 2, "%s", errb);
    cr_assert(strstr(errb, want), "%s", errb);
    search_close(s);
    cr_assert_eq(search_resume(&t, dir, be, &o, &err), PF_OK, "%s", err.msg);
    search_close(t);
    backend_close(be);
}

/* item 11: the checkpoints of a session that had run are deleted. A resume is refused (it
 * would silently start again at iteration 0), naming --restart; with --restart it starts
 * again and finishes. */
Test(reliability, resume_without_checkpoints_needs_restart) {
    hang_guard(300);
    char cfg[600], sess[700], p[800];
    snprintf(cfg, sizeof cfg, "%s", search_fixture_config("restart.lua", "", ""));
    temp_path(sess, sizeof sess, "restart_sess");
    const char *a[] = {"search", cfg, "--session", sess, "--quiet", NULL};
    cr_assert_eq(run(a), 0, "%s", errb);
    snprintf(p, sizeof p, "%s/checkpoint.bin", sess);
    unlink(p);
    snprintf(p, sizeof p, "%s/checkpoint.prev.bin", sess);
    unlink(p);
    const char *b[] = {"resume", sess, "--quiet", NULL};
    cr_assert_eq(run(b), 2, "%s", errb);
    cr_assert(strstr(errb, "checkpoints (checkpoint.bin, checkpoint.prev.bin) are gone") &&
                  strstr(errb, "--restart"), "%s", errb);
    const char *c[] = {"resume", sess, "--restart", "--quiet", NULL};
    cr_assert_eq(run(c), 0, "%s", errb);
    snprintf(p, sizeof p, "%s/summary.json", sess);
    cr_assert(exists(p));
}

/* items 4 and 9: values no run can use are refused with the field, the rule and the range,
 * before any folder exists: max_len 1 (was an internal message from the encoder after the
 * session folder was made), lr 1e30 (was accepted and diverged), layers past the model's,
 * ffn_gate on a BERT model. */
Test(reliability, unusable_values_are_refused_with_the_range) {
    hang_guard(60);
    static const char *const cases[][2] = {
        {"task = { name = 'words', train = 'T/train.tsv', max_len = 1 },",
         "task.max_len: expected an integer in [2, 65536], got 1"},
        {"optim = { lr = 1e30 },", "optim.lr: expected a number in (0, 1], got 1e+30"},
        {"optim = { arch_lr = 5 },", "optim.arch_lr: expected a number in (0, 1], got 5"},
        {"space = peft.space{ peft.lora{ targets = { 'q' }, ranks = { 1 }, layers = "
         "peft.layers(0, 40) } },", "layer 2 does not exist (the model has 2 layers, 0..1)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char extra[1200], cfg[600], sess[700], name[64];
        /* T: the fixture's temp folder */
        const char *t = strstr(cases[k][0], "T/");
        if (t)
            snprintf(extra, sizeof extra, "%.*s%s%s", (int)(t - cases[k][0]), cases[k][0],
                     check_temp_dir(), t + 1);
        else
            snprintf(extra, sizeof extra, "%s", cases[k][0]);
        snprintf(name, sizeof name, "unusable_%zu.lua", k);
        snprintf(cfg, sizeof cfg, "%s", search_fixture_config(name, "", extra));
        snprintf(name, sizeof name, "unusable_sess_%zu", k);
        temp_path(sess, sizeof sess, name);
        const char *a[] = {"search", cfg, "--session", sess, "--quiet", NULL};
        cr_assert_eq(run(a), 2, "case %zu: %s", k, errb);
        cr_assert(strstr(errb, cases[k][1]), "case %zu: expected '%s' in: %s", k, cases[k][1],
                  errb);
        cr_assert(!exists(sess), "case %zu: a session folder was made", k);
    }
}

/* item 10: messages that say what is wrong. */
Test(reliability, command_line_messages_say_what_is_wrong) {
    hang_guard(60);
    const char *a1[] = {"--device", "cuda:abc", "info", NULL};
    cr_assert_eq(run(a1), 2, "%s", errb);
    cr_assert(strstr(errb, "device 'cuda:abc': the GPU index after 'cuda:' must be a number"),
              "%s", errb);
    /* global options after the command */
    const char *a2[] = {"info", "--threads", "1", "--device", "cpu", NULL};
    cr_assert_eq(run(a2), 0, "%s", errb);
    cr_assert(strstr(out, "kernels 1 thread"), "%s", out);
    const char *a3[] = {"info", "--device", NULL};
    cr_assert_eq(run(a3), 2);
    cr_assert(strstr(errb, "--device needs a value"), "%s", errb);
    /* sessions of a folder that does not exist */
    const char *a4[] = {"sessions", "/nonexistent/bipeft-sessions", NULL};
    cr_assert_eq(run(a4), 2, "%s", out);
    cr_assert(strstr(errb, "/nonexistent/bipeft-sessions: No such file or directory"), "%s",
              errb);
    /* inspect on a file */
    const char *f = check_write_temp("not_a_model.txt", "hello\n");
    char fp[600];
    snprintf(fp, sizeof fp, "%s", f);
    const char *a5[] = {"inspect", fp, NULL};
    cr_assert_eq(run(a5), 2);
    cr_assert(strstr(errb, "is a file; inspect reads a checkpoint folder"), "%s", errb);
}

/* item 7: a training run that did not finish (its summary.json is what a finished run writes
 * last; a run stopped by SIGTERM has none) is refused by export and eval, naming --partial;
 * with --partial they use its weights. The run is the retraining of a finished session with
 * its summary removed, the state a kill leaves it in. */
Test(reliability, an_unfinished_run_is_not_taken_for_a_result) {
    hang_guard(300);
    char cfg[600], sess[700], run_dir[800], p[900], xo[900];
    snprintf(cfg, sizeof cfg, "%s", search_fixture_config("unfinished.lua", "", ""));
    temp_path(sess, sizeof sess, "unfinished_sess");
    const char *a[] = {"search", cfg, "--session", sess, "--quiet", NULL};
    cr_assert_eq(run(a), 0, "%s", errb);
    snprintf(run_dir, sizeof run_dir, "%s/retrain", sess);
    snprintf(p, sizeof p, "%s/summary.json", run_dir);
    cr_assert_eq(unlink(p), 0);
    snprintf(xo, sizeof xo, "%s/unfinished_export", check_temp_dir());
    const char *e[] = {"export", run_dir, "--format", "native", "--out", xo, NULL};
    cr_assert_eq(run(e), 2, "%s", errb);
    cr_assert(strstr(errb, "this training run did not finish") && strstr(errb, "--partial"),
              "%s", errb);
    cr_assert(!exists(xo));
    const char *v[] = {"eval", run_dir, cfg, NULL};
    cr_assert_eq(run(v), 2, "%s", errb);
    cr_assert(strstr(errb, "did not finish"), "%s", errb);
    const char *e2[] = {"export", run_dir, "--format", "native", "--out", xo, "--partial", NULL};
    cr_assert_eq(run(e2), 0, "%s", errb);
    const char *v2[] = {"eval", run_dir, cfg, "--partial", NULL};
    cr_assert_eq(run(v2), 0, "%s", errb);
}

/* item 2: an export stopped by SIGTERM at random moments leaves no OUT.tmp-XXXXXX folder and
 * no NAME.tmp.XXXXXX file (a stop waits until the export is in place or undone), and what a
 * SIGKILL leaves behind is removed by the next export of the same folder. */
Test(reliability, a_stopped_export_leaves_no_debris) {
    hang_guard(300);
    char cfg[600], sess[700], run_dir[800], xo[900], cmd[6000];
    snprintf(cfg, sizeof cfg, "%s", search_fixture_config("debris.lua", "", ""));
    temp_path(sess, sizeof sess, "debris_sess");
    const char *a[] = {"search", cfg, "--session", sess, "--quiet", NULL};
    cr_assert_eq(run(a), 0, "%s", errb);
    snprintf(run_dir, sizeof run_dir, "%s/retrain", sess);
    char root[800];
    temp_path(root, sizeof root, "debris_out");
    mkdir(root, 0755);
    for (int k = 0; k < 12; k++) {
        snprintf(xo, sizeof xo, "%s/x%d", root, k);
        const char *e[] = {"export", run_dir, "--format", k % 2 ? "merged" : "native", "--out",
                           xo, NULL};
        pid_t pid = check_spawn_argv(e, -1, -1);
        /* 0 to 77 ms: before, during and after the writes */
        nanosleep(&(struct timespec){0, (long)k * 7000000L}, NULL);
        kill(pid, SIGTERM);
        int st;
        cr_assert_eq(waitpid(pid, &st, 0), pid);
    }
    snprintf(cmd, sizeof cmd, "find '%s' -name '*.tmp*' | grep -q .", root);
    cr_assert_neq(system(cmd), 0, "debris left under %s", root);
    /* debris of a SIGKILL: a staged folder beside OUT and a half-written file inside it */
    snprintf(xo, sizeof xo, "%s/y", root);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' '%s.tmp-AbC123' && touch '%s.tmp-AbC123/adapter."
             "safetensors' '%s/adapter.safetensors.tmp.Zz9abc' '%s.tmp-keep'", xo, xo, xo, xo,
             xo);
    cr_assert_eq(system(cmd), 0);
    const char *e[] = {"export", run_dir, "--format", "native", "--out", xo, NULL};
    cr_assert_eq(run(e), 0, "%s", errb);
    char p[1000];
    snprintf(p, sizeof p, "%s.tmp-AbC123", xo);
    cr_assert(!exists(p), "stale staged folder kept");
    snprintf(p, sizeof p, "%s/adapter.safetensors.tmp.Zz9abc", xo);
    cr_assert(!exists(p), "stale temporary file kept");
    snprintf(p, sizeof p, "%s.tmp-keep", xo);
    cr_assert(exists(p), "a name outside the pattern was removed");
}

/* item 9: a damaged log.db named the previous checkpoint as the way out, and that resume
 * failed the same way. Now the message names log.db and suggests nothing that cannot work
 * (a damaged checkpoint.bin still suggests --previous, and that resume works:
 * search/damaged_checkpoints_are_refused_and_previous_resumes). */
Test(reliability, recovery_advice_works) {
    hang_guard(300);
    char cfg[600], sess[700], p[900];
    snprintf(cfg, sizeof cfg, "%s", search_fixture_config("advice.lua", "",
                                                          "search = { checkpoint_every = 3, "
                                                          "stages = 6, hard_stages = 2, "
                                                          "trigger_window = 2, "
                                                          "prune_begin_epoch = 1 },"));
    temp_path(sess, sizeof sess, "advice_sess");
    const char *a[] = {"search", cfg, "--session", sess, "--quiet", NULL};
    cr_assert_eq(run(a), 0, "%s", errb);
    snprintf(p, sizeof p, "%s/summary.json", sess);
    cr_assert_eq(unlink(p), 0); /* so that the session is not "already done" */
    snprintf(p, sizeof p, "%s/log.db", sess);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f);
    for (int i = 0; i < 4096; i++)
        fputc((i * 131 + 7) & 0xff, f);
    fclose(f);
    const char *b[] = {"resume", sess, "--quiet", NULL};
    cr_assert_eq(run(b), 2, "%s", errb);
    cr_assert(strstr(errb, "log.db"), "%s", errb);
    cr_assert(!strstr(errb, "--previous"), "advice that cannot work: %s", errb);
    const char *c[] = {"resume", sess, "--previous", "--quiet", NULL};
    cr_assert_neq(run(c), 0, "with a damaged log no checkpoint can help");
}

/* item 3: check-config calls every hook once on a synthetic search and reports the hooks that
 * fail there (exit 2), naming the hook, the policy file and line; --no-dry-run only loads. */
Test(reliability, check_config_runs_the_policy_hooks_once) {
    hang_guard(60);
    const char *pol = write_policy("dry_bad.lua",
                                   "function P.tau() return 'hot' end\n"
                                   "function P.on_step(s) error('always broken') end");
    char extra[1000], cfg[600];
    snprintf(extra, sizeof extra, "policy = '%s',", pol);
    snprintf(cfg, sizeof cfg, "%s", search_fixture_config("dry_cfg.lua", "", extra));
    const char *a[] = {"check-config", cfg, NULL};
    cr_assert_eq(run(a), 2, "%s", errb);
    cr_assert(strstr(errb, "called once on a synthetic search, failed"), "%s", errb);
    cr_assert(strstr(errb, "policy tau returned \"hot\""), "%s", errb);
    char want[800];
    snprintf(want, sizeof want, "policy on_step: %s:5: always broken", pol);
    cr_assert(strstr(errb, want), "expected '%s' in %s", want, errb);
    const char *b[] = {"check-config", "--no-dry-run", cfg, NULL};
    cr_assert_eq(run(b), 0, "%s", errb);
    /* a good policy passes the dry run */
    const char *good = write_policy("dry_good.lua", "");
    snprintf(extra, sizeof extra, "policy = '%s',", good);
    snprintf(cfg, sizeof cfg, "%s", search_fixture_config("dry_good_cfg.lua", "", extra));
    const char *c[] = {"check-config", cfg, NULL};
    cr_assert_eq(run(c), 0, "%s", errb);
}

/* The summaries are JSON whatever the task's name holds (they were written with printf: a
 * quote or a backslash in task.name made summary.json unreadable). */
Test(reliability, summaries_are_json_for_any_task_name) {
    hang_guard(300);
    char extra[2000], cfg[600], sess[700], p[900];
    const char *d = check_temp_dir();
    snprintf(extra, sizeof extra, "task = { name = 'we\"ird\\\\name', train = '%s/train.tsv', "
             "dev = '%s/dev.tsv', test = '%s/test.tsv', labels = { '0', '1' }, max_len = 16 },",
             d, d, d);
    snprintf(cfg, sizeof cfg, "%s", search_fixture_config("odd_name.lua", "", extra));
    temp_path(sess, sizeof sess, "odd_name_sess");
    const char *a[] = {"search", cfg, "--session", sess, "--quiet", NULL};
    cr_assert_eq(run(a), 0, "%s", errb);
    static const char *const files[] = {"summary.json", "retrain/summary.json"};
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/%s", sess, files[k]);
        char *txt = check_read_file(p, NULL);
        cJSON *j = cJSON_Parse(txt);
        cr_assert_not_null(j, "%s is not JSON: %s", files[k], txt);
        cr_assert_str_eq(cJSON_GetObjectItem(j, "task")->valuestring, "we\"ird\\name");
        cJSON_Delete(j);
        free(txt);
    }
}
