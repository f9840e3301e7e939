/* script_policy_check.c - a policy's dry run for `bipeft check-config`: every hook called once
 * on a synthetic search (script_policy.h, script_policy_dry_run). */
#include <stdio.h>
#include <string.h>

#include "script/script_policy.h"

enum { DRY_MODULES = 6 };

/* Collects the fallbacks of the last call into the report. */
static int take(struct script_policy *P, char *report, size_t n, size_t *used) {
    enum script_hook h;
    char why[512];
    int k = 0;
    while (script_policy_take_fallback(P, &h, why, sizeof why)) {
        if (*used < n) {
            int w = snprintf(report + *used, n - *used, "%s%s", *used ? "\n" : "", why);
            *used = w < 0 ? n : *used + (size_t)w > n ? n : *used + (size_t)w;
        }
        k++;
    }
    return k;
}

int script_policy_dry_run(struct script_policy *P, char *report, size_t n) {
    const struct run_config *c = script_policy_config(P);
    static const char *const names[DRY_MODULES] = {"L0.lora.q", "L0.lora.v", "L1.lora.q",
                                                   "L1.lora.v", "L0.bitfit.o", "final.ln"};
    static const int ranks[3] = {1, 2, 4};
    static const double probs[3] = {0.5, 0.3, 0.2};
    static const double loss[3] = {1.0, 0.9, 0.85}, metric[2] = {0.5, 0.6};
    struct script_module_view m[DRY_MODULES];
    for (int i = 0; i < DRY_MODULES; i++) {
        int matrix = i < 4;
        m[i] = (struct script_module_view){
            .name = names[i], .kind = matrix ? CFG_KIND_LORA : i == 4 ? CFG_KIND_BITFIT
                                                                      : CFG_KIND_LN,
            .layer = i < 5 ? i / 2 % 2 : -1, .state = SCRIPT_MOD_ACTIVE,
            .sensitivity = 1.0 / (i + 1), .stability = 0.1 * (i + 1),
            .cost = matrix ? 600.0 : 64.0, .full_cost = matrix ? 2048 : 64,
            .rank = matrix ? 1 : 0, .n_ranks = matrix ? 3 : 0, .ranks = matrix ? ranks : NULL,
            .rank_probs = matrix ? probs : NULL};
    }
    int epochs = c->optim.epochs > 0 ? c->optim.epochs : 1;
    struct script_search_view v = {
        .n_modules = DRY_MODULES, .modules = m, .expected_params = 2528,
        .current_params = 2528, .budget = 1200, .stage = 0, .stages_left = 4,
        .stages_total = 4, .step = 10, .epoch = c->search.prune_begin_epoch < epochs
                                                     ? c->search.prune_begin_epoch : 0,
        .steps_per_epoch = 10, .global_stability = 0.5, .stability_window = 2,
        .state = "searching", .loss = loss, .n_loss = 3, .metric = metric, .n_metric = 2,
        .act = NULL, .ctx = NULL};
    size_t used = 0;
    int bad = 0;
    if (n)
        report[0] = '\0';
    struct pf_err err = {0};
    double x;
    int b;
    /* the calls succeed (a failing hook falls back to the default's); what failed is kept */
#define DRY(call)                                                                     \
    do {                                                                              \
        if ((call) != PF_OK) {                                                        \
            if (used < n) {                                                           \
                int w = snprintf(report + used, n - used, "%s%s", used ? "\n" : "",    \
                                 err.msg);                                            \
                used = w < 0 || used + (size_t)w > n ? n : used + (size_t)w;          \
            }                                                                         \
            bad++;                                                                    \
        }                                                                             \
        bad += take(P, report, n, &used);                                             \
    } while (0)
    DRY(script_policy_tau(P, v.epoch, epochs, &x, &err));
    DRY(script_policy_lr(P, v.step, v.steps_per_epoch * epochs, &x, &err));
    DRY(script_policy_trigger(P, &v, &b, &err));
    DRY(script_policy_on_step(P, &v, &err));
    DRY(script_policy_should_stop(P, &v, &b, &err));
    DRY(script_policy_select_prune(P, &v, 600.0, &err));
    DRY(script_policy_fix_ranks(P, &v, &err));
#undef DRY
    script_policy_clear_events(P);
    return bad;
}
