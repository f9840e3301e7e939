/* search_fixture.h - the fixture of the search tests: a synthetic two-class words task
 * (train 192, dev 64, test 64 rows in the temp folder) and a search config over the tiny LLaMA
 * fixture (tests/data/hf/llama-cls): LoRA on q, v (ranks 1, 2, 4), BitFit on q, o, LN-tuning on
 * the attention norm and the final norm, budget 400, 4 epochs, 6 stages, checkpoints every 3
 * iterations. `search` is spliced into the config's search table (", key = value, ..."),
 * `extra` into the top-level table. Returns the config's path (a static buffer). */
#ifndef PF_TEST_SEARCH_FIXTURE_H
#define PF_TEST_SEARCH_FIXTURE_H

#include "search/search_event.h"

const char *search_fixture_config(const char *file, const char *search, const char *extra);

struct backend;
struct search;
/* A search session of the config at config_path in <temp>/<dir> (quiet, cpu backend with one
 * thread into *be; no_retrain: stop after the structure). */
struct search *search_fixture_open(const char *config_path, const char *dir, struct backend **be,
                                   int no_retrain);

/* Every event of DIR/log.db in seq order (at most 4096; the caller frees the list). */
struct evlist {
    int n;
    struct search_event ev[4096];
};
struct evlist *search_fixture_events(const char *dir);

/* ROOT/id/log.db with the NULL-terminated key, value pairs as meta (a session as `bipeft
 * sessions` lists it). */
void search_fixture_session_meta(const char *root, const char *id, const char *const *kv);

#endif
