/* test_ui_model.c - ui/ui_model.c fed a hand-made event sequence (start, snapshots with and
 * without rank probabilities, prune, fix, pin, unpin, budget, refusal, pause, eval, stage,
 * done, and an unknown type): the header fields, the modules, the map placement of names
 * such as L0.lora.q / L3.lra.ffn / final.ln, the plot series and the log lines; DSIs not
 * computed yet (before the first stage, the engine's 999) as NaN and out of the series; the
 * ETA from the step rate since the first STEP (pauses left out); the retraining's and the
 * baseline's train events as their own progress, never the search's step or epoch. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ui_model.h"
#include "ui_text.h"

static struct search_event ev_of(enum search_event_type t, int64_t step, int module,
                                 const char *text) {
    static int64_t seq;
    struct search_event e;
    memset(&e, 0, sizeof e);
    e.type = t;
    e.seq = ++seq;
    e.step = step;
    e.module = module;
    e.value2 = NAN;
    e.expected = 5000 - (double)step;
    e.current = 4000;
    e.stage = 10;
    e.seconds = (double)step * 0.5;
    snprintf(e.source, sizeof e.source, "engine");
    snprintf(e.text, sizeof e.text, "%s", text ? text : "");
    return e;
}

static const char *const names[] = {"L0.lora.q", "L0.lora.v", "L0.bitfit.q", "L3.lra.ffn",
                                    "L1.ln.attn", "final.ln"};
#define NMOD 6

static struct ui_model *model_with_candidates(void) {
    struct ui_model *m = ui_model_new();
    for (int i = 0; i < NMOD; i++)
        cr_assert_eq(ui_model_add_module(m, names[i], 100.0 * (i + 1)), i);
    return m;
}

/* A snapshot at `step` with `stage` stages left (the DSIs count once a stage has run); module
 * 3 reports the engine's "no DSI" sentinel. */
static void snapshot(struct ui_model *m, int64_t step, int with_probs, int stage) {
    for (int i = 0; i < NMOD; i++) {
        char text[128];
        if (with_probs && i < 2)
            snprintf(text, sizeof text, "%s\tr=1:0.1%d,4:0.5,8:0.3", names[i], i);
        else
            snprintf(text, sizeof text, "%s", names[i]);
        struct search_event e = ev_of(SEV_SENSITIVITY, step, i, text);
        e.value = 0.1 * (i + 1) + (double)step * 0.001; /* sensitivity grows with i */
        e.value2 = i == 3 ? UI_DSI_UNSET : 0.5 + 0.1 * i; /* DSI */
        e.stage = stage;
        e.rank = 4;
        e.lr = 0.9;
        e.tau = 50.0 * (i + 1);
        ui_model_apply(m, &e);
    }
}

/* 1 when some log line contains s. */
static int log_has(const struct ui_model *m, const char *s, enum ui_log_level lv) {
    for (int i = 0; i < ui_model_log_count(m); i++) {
        const struct ui_log_line *l = ui_model_log_line(m, i);
        if (strstr(l->text, s) && l->level == lv)
            return 1;
    }
    return 0;
}

Test(ui_model, names_parse) {
    int layer;
    char kind[16], pos[64];
    cr_assert_eq(ui_module_parse_name("L3.lora.q", &layer, kind, sizeof kind, pos, sizeof pos), 1);
    cr_assert(layer == 3 && !strcmp(kind, "lora") && !strcmp(pos, "q"));
    ui_module_parse_name("L12.lra.attn", &layer, kind, sizeof kind, pos, sizeof pos);
    cr_assert(layer == 12 && !strcmp(kind, "lra") && !strcmp(pos, "attn"));
    cr_assert_eq(ui_module_parse_name("final.ln", &layer, kind, sizeof kind, pos, sizeof pos), 0);
    cr_assert(layer == -1 && !strcmp(kind, "ln") && !strcmp(pos, "final"));
    ui_module_parse_name("Lx.lora.q", &layer, kind, sizeof kind, pos, sizeof pos);
    cr_assert_eq(layer, -1);
    ui_module_parse_name("L2.bitfit", &layer, kind, sizeof kind, pos, sizeof pos);
    cr_assert(layer == 2 && !strcmp(kind, "bitfit") && !strcmp(pos, ""));
}

Test(ui_model, rank_probs_parse) {
    int r[8];
    double p[8];
    cr_assert_eq(ui_parse_rank_probs("r=1:0.123,4:0.500,8:0.377", r, p, 8), 3);
    cr_assert(r[0] == 1 && r[1] == 4 && r[2] == 8);
    cr_assert_float_eq(p[2], 0.377, 1e-12);
    cr_assert_eq(ui_parse_rank_probs("r=1:0.5,x:0.5", r, p, 8), 1);
    cr_assert_eq(ui_parse_rank_probs("rank 4", r, p, 8), 0);
    cr_assert_eq(ui_parse_rank_probs("r=1:0.5,2:0.5", r, p, 1), 1);
    cr_assert_eq(ui_parse_rank_probs(NULL, r, p, 8), 0);
}

Test(ui_model, map_layout) {
    struct ui_model *m = model_with_candidates();
    /* rows: L0, L1, L3, then the row of other modules */
    cr_assert_eq(m->map_rows, 4);
    char lbl[16];
    ui_model_row_label(m, 0, lbl, sizeof lbl);
    cr_assert_str_eq(lbl, "L0");
    ui_model_row_label(m, 2, lbl, sizeof lbl);
    cr_assert_str_eq(lbl, "L3");
    ui_model_row_label(m, 3, lbl, sizeof lbl);
    cr_assert_str_eq(lbl, "--");
    /* columns: bitfit.q, ln.attn, lora.q, lora.v, lra.ffn (sorted), then final.ln */
    cr_assert_eq(m->map_cols, 6);
    const char *keys[] = {"bitfit.q", "ln.attn", "lora.q", "lora.v", "lra.ffn", "final.ln"};
    for (int c = 0; c < 6; c++)
        cr_assert_str_eq(m->col_key[c], keys[c]);
    cr_assert_eq(ui_model_map_at(m, 0, 2), 0); /* L0.lora.q */
    cr_assert_eq(ui_model_map_at(m, 0, 3), 1); /* L0.lora.v */
    cr_assert_eq(ui_model_map_at(m, 0, 0), 2); /* L0.bitfit.q */
    cr_assert_eq(ui_model_map_at(m, 2, 4), 3); /* L3.lra.ffn */
    cr_assert_eq(ui_model_map_at(m, 1, 1), 4); /* L1.ln.attn */
    cr_assert_eq(ui_model_map_at(m, 3, 5), 5); /* final.ln */
    cr_assert_eq(ui_model_map_at(m, 1, 2), -1);
    cr_assert_eq(ui_model_map_at(m, 9, 0), -1);
    cr_assert_eq(ui_model_map_at(m, 0, -1), -1);
    cr_assert(m->mods[3].map_row == 2 && m->mods[3].map_col == 4);
    ui_model_free(m);
}

Test(ui_model, event_sequence) {
    struct ui_model *m = model_with_candidates();
    struct search_event e = ev_of(SEV_START, 0, -1, "bipeft");
    e.value = 2000;
    e.n = NMOD;
    ui_model_apply(m, &e);
    cr_assert_str_eq(m->method, "bipeft");
    cr_assert_eq(m->budget, 2000);
    cr_assert_eq(m->stages_total, 10);
    e = ev_of(SEV_PHASE, 0, -1, "search");
    ui_model_apply(m, &e);
    cr_assert_str_eq(m->phase, "search");

    e = ev_of(SEV_STEP, 10, -1, NULL);
    e.n = 40;
    e.loss_w = 0.7;
    e.loss_a = 0.8;
    e.tau = 4.5;
    e.value = 2000;
    ui_model_apply(m, &e);
    cr_assert(m->step == 10 && m->planned == 40 && m->loss_w == 0.7 && m->loss_a == 0.8);
    cr_assert_lt(m->eta, 0); /* the first STEP: no rate yet (its 5 s include the set-up) */
    cr_assert_eq(m->expected, 4990);
    cr_assert_eq(m->current, 4000);
    cr_assert_eq(m->s_expected.n, 1);

    snapshot(m, 10, 0, 10); /* without rank probabilities; before the first stage */
    cr_assert(m->mods[0].seen && m->mods[0].n_ranks == 0);
    cr_assert_float_eq(m->mods[2].sens, 0.31, 1e-12);
    cr_assert(isnan(m->mods[2].dsi), "a DSI before the first stage: %g", m->mods[2].dsi);
    cr_assert_eq(m->mods[2].h_dsi.n, 0);
    cr_assert_eq(m->mods[2].rank, 4);
    cr_assert_float_eq(m->mods[2].p_on, 0.9, 1e-12);
    cr_assert_float_eq(m->mods[2].cost, 150, 1e-12);
    cr_assert_eq(m->s_stab.n, 0); /* the snapshot is still open */
    e = ev_of(SEV_STEP, 11, -1, NULL);
    e.n = 40;
    ui_model_apply(m, &e);
    cr_assert_eq(m->s_stab.n, 0); /* no DSI known: no stability point */
    cr_assert_float_eq(m->eta, 14.5, 1e-9); /* 0.5 s for step 11: 29 steps left */

    snapshot(m, 20, 1, 9); /* with rank probabilities for the first two; after a stage */
    cr_assert_float_eq(m->mods[2].dsi, 0.7, 1e-12);
    cr_assert_eq(m->mods[2].h_dsi.n, 1);
    cr_assert(isnan(m->mods[3].dsi), "the sentinel shows as a number: %g", m->mods[3].dsi);
    cr_assert_eq(m->mods[3].h_dsi.n, 0);
    cr_assert_eq(m->mods[1].n_ranks, 3);
    cr_assert(m->mods[1].ranks[0] == 1 && m->mods[1].ranks[2] == 8);
    cr_assert_float_eq(m->mods[1].probs[0], 0.11, 1e-12);
    cr_assert_str_eq(m->mods[1].name, "L0.lora.v"); /* the name stops at the TAB */
    cr_assert_eq(ui_model_argmax_rank(m, 1), 4);
    cr_assert_eq(m->mods[1].h_sens.n, 2);
    cr_assert_eq(m->mods[1].h_prob[0].n, 1);

    int lv[NMOD];
    ui_model_sens_levels(m, lv, 5);
    cr_assert_eq(lv[5], 4); /* the most sensitive */
    cr_assert_eq(lv[0], 0);

    e = ev_of(SEV_TRIGGER, 21, -1, NULL);
    e.value = 300;
    e.stage = 9;
    ui_model_apply(m, &e);
    cr_assert_eq(m->s_stab.n, 1);
    cr_assert_float_eq(m->s_stab.y[0], 0.74, 1e-9); /* 0.5 0.6 0.7 0.9 1.0: not the 999 */
    e = ev_of(SEV_PRUNE, 21, 3, "L3.lra.ffn");
    snprintf(e.source, sizeof e.source, "policy");
    ui_model_apply(m, &e);
    cr_assert(m->mods[3].pruned);
    ui_model_sens_levels(m, lv, 5);
    cr_assert_eq(lv[3], -1); /* pruned modules have no level */
    e = ev_of(SEV_FIX, 21, 0, "L0.lora.q");
    e.rank = 8;
    ui_model_apply(m, &e);
    cr_assert(m->mods[0].fixed && m->mods[0].rank == 8);
    e = ev_of(SEV_STAGE, 21, -1, NULL);
    e.stage = 9;
    e.value = 3500;
    ui_model_apply(m, &e);
    cr_assert_eq(m->s_stage.n, 1);
    cr_assert(m->s_stage.x[0] == 1 && m->s_stage.y[0] == 3500);
    cr_assert_eq(m->stages_left, 9);

    e = ev_of(SEV_PIN, 22, 5, "final.ln");
    snprintf(e.source, sizeof e.source, "user");
    ui_model_apply(m, &e);
    cr_assert(m->mods[5].pinned);
    e = ev_of(SEV_UNPIN, 23, 5, "final.ln");
    ui_model_apply(m, &e);
    cr_assert(!m->mods[5].pinned);
    e = ev_of(SEV_BUDGET, 24, -1, "budget");
    e.value = 1500;
    ui_model_apply(m, &e);
    cr_assert_eq(m->budget, 1500);
    e = ev_of(SEV_REFUSED, 24, 2, "L0.bitfit.q is already pruned");
    snprintf(e.source, sizeof e.source, "user");
    ui_model_apply(m, &e);
    e = ev_of(SEV_PAUSE, 25, -1, NULL);
    e.value = 1;
    ui_model_apply(m, &e);
    cr_assert(m->paused);
    e.value = 0;
    ui_model_apply(m, &e);
    cr_assert(!m->paused);
    e = ev_of(SEV_EVAL, 30, -1, "accuracy");
    e.value = 0.625;
    e.value2 = 0.66;
    ui_model_apply(m, &e);
    cr_assert(m->has_dev && m->dev == 0.625);
    cr_assert_str_eq(m->metric, "accuracy");
    cr_assert_eq(m->s_dev.n, 1);
    e = ev_of(SEV_LOG, 30, -1, "default: keep going");
    ui_model_apply(m, &e);

    /* an event type this build does not know, and broken module indices: ignored */
    cr_assert_eq(m->train.run[0], '\0'); /* no training run yet */
    int64_t before = m->events;
    e = ev_of((enum search_event_type)(SEV_COUNT + 3), 31, 0, "train progress");
    ui_model_apply(m, &e);
    cr_assert_eq(m->events, before);
    e = ev_of(SEV_PRUNE, 31, -7, "");
    ui_model_apply(m, &e);
    e = ev_of(SEV_SENSITIVITY, 31, 1 << 30, "huge");
    ui_model_apply(m, &e);
    cr_assert_eq(m->n_mods, NMOD);

    e = ev_of(SEV_DONE, 40, -1, "accuracy");
    e.value = 1234;
    e.value2 = 0.75;
    ui_model_apply(m, &e);
    cr_assert(m->done && m->final_params == 1234 && m->final_test == 0.75);
    cr_assert_str_eq(m->phase, "done");

    ui_model_log(m, UI_LOG_USER, "you: pin %s", "L0.lora.q");
    cr_assert(log_has(m, "start: bipeft, 6 candidates, budget 2000", UI_LOG_INFO));
    cr_assert(log_has(m, "phase search", UI_LOG_INFO));
    cr_assert(log_has(m, "trigger (engine): stage with delta 300", UI_LOG_DECISION));
    cr_assert(log_has(m, "prune L3.lra.ffn (policy)", UI_LOG_DECISION));
    cr_assert(log_has(m, "fix L0.lora.q r8 (engine)", UI_LOG_DECISION));
    cr_assert(log_has(m, "pin final.ln (user)", UI_LOG_DECISION));
    cr_assert(log_has(m, "unpin final.ln (engine)", UI_LOG_DECISION));
    cr_assert(log_has(m, "budget 1500", UI_LOG_DECISION));
    cr_assert(log_has(m, "REFUSED (user): L0.bitfit.q is already pruned", UI_LOG_ERROR));
    cr_assert(log_has(m, "paused", UI_LOG_WARN));
    cr_assert(log_has(m, "resumed", UI_LOG_WARN));
    cr_assert(log_has(m, "policy: default: keep going", UI_LOG_INFO));
    cr_assert(log_has(m, "done: 1234 params, test accuracy 0.7500", UI_LOG_DECISION));
    cr_assert(log_has(m, "you: pin L0.lora.q", UI_LOG_USER));
    ui_model_free(m);
}

static struct search_event step_at(int64_t step, double seconds) {
    struct search_event e = ev_of(SEV_STEP, step, -1, NULL);
    e.n = 40;
    e.epoch = 3;
    e.seconds = seconds;
    return e;
}

static struct search_event train_at(const char *run, int64_t step, double seconds,
                                    double loss, double dev) {
    struct search_event e = ev_of(SEV_TRAIN, step, -1, run);
    e.n = 450;
    e.epoch = step / 150;
    e.value = loss;
    e.value2 = dev;
    e.seconds = seconds;
    e.stage = 0;
    return e;
}

Test(ui_model, eta_and_training_runs) {
    struct ui_model *m = model_with_candidates();
    snprintf(m->metric, sizeof m->metric, "accuracy");
    struct search_event e = ev_of(SEV_START, 0, -1, "bipeft");
    ui_model_apply(m, &e);
    e = step_at(10, 5); /* 5 s of set-up and 10 steps */
    ui_model_apply(m, &e);
    cr_assert_lt(m->eta, 0);
    e = step_at(20, 10); /* 0.5 s a step since the first STEP: 20 steps left */
    ui_model_apply(m, &e);
    cr_assert_float_eq(m->eta, 10.0, 1e-9);
    /* 18 s paused do not count */
    e = ev_of(SEV_PAUSE, 20, -1, NULL);
    e.value = 1;
    e.seconds = 12;
    ui_model_apply(m, &e);
    cr_assert(m->paused);
    e.value = 0;
    e.seconds = 30;
    ui_model_apply(m, &e);
    e = step_at(30, 35); /* 35 - 5 - 18 = 12 s for 20 steps: 0.6 s each, 10 left */
    ui_model_apply(m, &e);
    cr_assert_float_eq(m->eta, 6.0, 1e-9);
    cr_assert_eq(ui_model_training(m), 0);

    e = ev_of(SEV_PHASE, 40, -1, "retrain");
    e.value = 321;
    e.epoch = 3; /* the search's epoch, as the engine stamps every other event */
    ui_model_apply(m, &e);
    cr_assert(ui_model_training(m) && !ui_model_searching(m));
    e = train_at("retrain", 5, 100, 0.9, NAN);
    ui_model_apply(m, &e);
    cr_assert_eq(m->step, 40, "a train event moved the search's step to %lld", (long long)m->step);
    cr_assert_eq(m->epoch, 3, "a train event moved the search's epoch to %d", m->epoch);
    cr_assert_str_eq(m->train.run, "retrain");
    cr_assert(m->train.step == 5 && m->train.total == 450 && m->train.epoch == 0);
    cr_assert_float_eq(m->train.loss, 0.9, 1e-12);
    cr_assert(isnan(m->train.dev));
    cr_assert_lt(m->train.eta, 0);
    e = train_at("retrain", 120, 123, 0.53, NAN); /* 23 s for 115 updates: 330 left */
    ui_model_apply(m, &e);
    cr_assert_float_eq(m->train.eta, 66.0, 1e-9);
    e = train_at("retrain", 150, 130, 0.5, 0.42); /* after epoch 1's evaluation */
    ui_model_apply(m, &e);
    cr_assert_float_eq(m->train.dev, 0.42, 1e-12);
    cr_assert_eq(m->train.epoch, 1);
    cr_assert(log_has(m, "retrain epoch 2: dev accuracy 0.4200", UI_LOG_INFO));
    e = train_at("retrain", 160, 132, 0.48, NAN); /* a later report keeps the last dev */
    ui_model_apply(m, &e);
    cr_assert_float_eq(m->train.dev, 0.42, 1e-12);
    cr_assert_float_eq(m->train.loss, 0.48, 1e-12);
    cr_assert_eq(m->step, 40);
    cr_assert_float_eq(m->eta, 6.0, 1e-9); /* the search's ETA stays as it was */

    e = ev_of(SEV_PHASE, 40, -1, "baseline");
    ui_model_apply(m, &e);
    e = train_at("baseline", 3, 200, 1.1, NAN); /* a new run: its own progress */
    ui_model_apply(m, &e);
    cr_assert_str_eq(m->train.run, "baseline");
    cr_assert(m->train.step == 3 && isnan(m->train.dev) && m->train.eta < 0);
    cr_assert(ui_model_training(m));
    e = ev_of(SEV_DONE, 40, -1, "accuracy");
    e.value = 321;
    ui_model_apply(m, &e);
    cr_assert_eq(ui_model_training(m), 0);
    ui_model_free(m);
}

Test(ui_model, snapshot_before_candidates_and_log_ring) {
    struct ui_model *m = ui_model_new();
    struct search_event e = ev_of(SEV_SENSITIVITY, 5, 2, "L1.lora.q");
    e.value = 1;
    ui_model_apply(m, &e);
    cr_assert_eq(m->n_mods, 3);
    cr_assert_str_eq(m->mods[2].name, "L1.lora.q");
    cr_assert_str_eq(m->mods[0].name, "#0"); /* placeholders until named */
    cr_assert_eq(ui_model_map_at(m, m->mods[2].map_row, m->mods[2].map_col), 2);
    for (int i = 0; i < UI_LOG_MAX + 10; i++)
        ui_model_log(m, UI_LOG_INFO, "line %d", i);
    cr_assert_eq(ui_model_log_count(m), UI_LOG_MAX);
    cr_assert_str_eq(ui_model_log_line(m, 0)->text, "line 10");
    cr_assert_null(ui_model_log_line(m, UI_LOG_MAX));
    ui_model_free(m);
}

Test(ui_model, series_thin_evenly) {
    static struct ui_series s;
    for (int i = 0; i < 3 * UI_SERIES_MAX; i++)
        ui_series_push(&s, i, i);
    cr_assert(s.n <= UI_SERIES_MAX && s.n >= UI_SERIES_MAX / 2);
    for (int i = 1; i < s.n; i++)
        cr_assert_gt(s.x[i], s.x[i - 1]);
    struct ui_ring r = {0};
    for (int i = 0; i < UI_HIST + 5; i++)
        ui_ring_push(&r, i);
    double v[UI_HIST];
    cr_assert_eq(ui_ring_get(&r, v, UI_HIST), UI_HIST);
    cr_assert(v[0] == 5 && v[UI_HIST - 1] == UI_HIST + 4);
    cr_assert_eq(ui_ring_get(&r, v, 3), 3);
    cr_assert_eq(v[2], UI_HIST + 4);
}

Test(ui_model, escape_untrusted_text) {
    char b[64];
    ui_text_escape(b, sizeof b, "caf\xc3\xa9\tx\x1b[2J");
    cr_assert_str_eq(b, "caf\\xc3\\xa9\\x09x\\x1b[2J");
    ui_text_escape(b, 6, "ab\xff");
    cr_assert_str_eq(b, "ab"); /* an escape that does not fit is left out whole */
    ui_text_escape(b, sizeof b, NULL);
    cr_assert_str_eq(b, "");
    ui_fmt_count(1234, b, sizeof b);
    cr_assert_str_eq(b, "1.23k");
    ui_fmt_count(5300000, b, sizeof b);
    cr_assert_str_eq(b, "5.30M");
    ui_fmt_duration(187, b, sizeof b);
    cr_assert_str_eq(b, "3m07s");
    ui_fmt_duration(-1, b, sizeof b);
    cr_assert_str_eq(b, "--");
}
