/* search_fixture.c - the search tests' task and config (tests/search_fixture.h). */
#include "search_fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "core/backend.h"
#include "script/script_config.h"
#include "search/search.h"
#include "search/search_log.h"

static void write_task(void) {
    static int done;
    if (done)
        return;
    check_write_words("train.tsv", 192, 51);
    check_write_words("dev.tsv", 64, 52);
    check_write_words("test.tsv", 64, 53);
    done = 1;
}

/* A search config over the tiny LLaMA fixture: LoRA on q, v (ranks 1, 2, 4), BitFit on q, o,
 * LN-tuning on the attention norm and the final norm. */
const char *search_fixture_config(const char *file, const char *search, const char *extra) {
    write_task();
    char src[4096];
    const char *d = check_temp_dir();
    snprintf(src, sizeof src,
             "return {\n"
             "  mode = 'search',\n"
             "  model = { path = '%s/tests/data/hf/llama-cls' },\n"
             "  task = { name = 'words', train = '%s/train.tsv', dev = '%s/dev.tsv',\n"
             "           test = '%s/test.tsv', labels = { '0', '1' }, max_len = 16 },\n"
             "  space = peft.space{ peft.lora{ targets = { 'q', 'v' }, ranks = { 1, 2, 4 } },\n"
             "                      peft.bitfit{ targets = { 'q', 'o' } },\n"
             "                      peft.ln{ targets = { 'attn_ln', 'final_ln' } } },\n"
             "  budget = { params = 400 },\n"
             "  optim = { lr = 1e-2, arch_lr = 0.05, batch_size = 16, epochs = 4 },\n"
             "  search = { stages = 6, hard_stages = 2, trigger_window = 2, prune_begin_epoch = 1,\n"
             "             checkpoint_every = 3, snapshot_every = 4, retrain_epochs = 4 %s },\n"
             "  train = { log_every = 5 },\n"
             "  session = '%s/sessions',\n"
             "  seed = 5, threads = 1,\n"
             "  %s\n"
             "}\n",
             getenv("PWD") ? getenv("PWD") : ".", d, d, d, search, d, extra);
    static char path[600];
    snprintf(path, sizeof path, "%s", check_write_temp(file, src));
    return path;
}


static int ev_collect(void *ctx, const struct search_event *ev) {
    struct evlist *l = ctx;
    if (l->n < (int)(sizeof l->ev / sizeof l->ev[0]))
        l->ev[l->n++] = *ev;
    return 0;
}

struct evlist *search_fixture_events(const char *dir) {
    struct evlist *l = check_alloc(sizeof *l);
    l->n = 0;
    struct search_log *lg = NULL;
    struct pf_err err = {0};
    CHECK_OK(search_log_open(dir, 0, &lg, &err), &err);
    CHECK_OK(search_log_each(lg, -1, ev_collect, l, &err), &err);
    search_log_close(lg);
    return l;
}

void search_fixture_session_meta(const char *root, const char *id, const char *const *kv) {
    char dir[800];
    snprintf(dir, sizeof dir, "%s/%s", root, id);
    struct search_log *lg = NULL;
    struct pf_err err = {0};
    CHECK_OK(search_log_open(dir, 1, &lg, &err), &err);
    for (int i = 0; kv[i]; i += 2)
        CHECK_OK(search_log_set_meta(lg, kv[i], kv[i + 1], &err), &err);
    search_log_close(lg);
}

struct search *search_fixture_open(const char *config_path, const char *dir, struct backend **be,
                                   int no_retrain) {
    struct run_config cfg;
    struct pf_err err = {0};
    CHECK_OK(script_config_load(config_path, NULL, &cfg, &err), &err);
    *be = backend_open("cpu", 1, &err);
    cr_assert_not_null(*be, "%s", err.msg);
    char sd[700];
    snprintf(sd, sizeof sd, "%s/%s", check_temp_dir(), dir);
    struct search_opts o = {.session_dir = sd, .quiet = 1, .no_retrain = no_retrain};
    struct search *s = NULL;
    CHECK_OK(search_open(&s, &cfg, *be, &o, &err), &err);
    return s;
}
