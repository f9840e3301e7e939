/* test_script_policy.c - policy hooks against a small fake search: the default policy's rules
 * (trigger, prune selection by expected parameter reduction, rank fixing by dimension
 * stability, early stop, tau and lr), the verbs and their event log, stale handles, hook
 * errors with tracebacks, limits with state rebuild (case 11 for policies), hot reload. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "script/script_policy.h"

/* ---- the fake search ---- */

#define NMOD 6
struct fake {
    struct script_module_view m[NMOD];
    char names[NMOD][32];
    int ranks[NMOD][3];
    double probs[NMOD][3];
    struct script_search_view v;
    int refuse_all;
    int acted;
};

static pf_status fake_act(void *ctx, enum script_verb verb, int module, double value,
                          struct pf_err *err) {
    struct fake *f = ctx;
    if (f->refuse_all)
        return pf_err_set(err, PF_ERR_ARG, "engine says no");
    f->acted++;
    switch (verb) {
    case SCRIPT_VERB_PRUNE: f->m[module].state = SCRIPT_MOD_PRUNED; f->m[module].cost = 0; break;
    case SCRIPT_VERB_FIX_RANK:
        f->m[module].state = SCRIPT_MOD_FIXED;
        f->m[module].rank = (int)value;
        break;
    case SCRIPT_VERB_PIN: f->m[module].pinned = 1; break;
    case SCRIPT_VERB_UNPIN: f->m[module].pinned = 0; break;
    case SCRIPT_VERB_SET_BUDGET: f->v.budget = (int64_t)value; break;
    case SCRIPT_VERB_LOG: break;
    }
    return PF_OK;
}

/* Six LoRA-like modules: sensitivities 6..1 (module 0 the most sensitive), costs 100..600,
 * DSI 0.6..0.1 (module 5 the most stable), ranks {1, 4, 8}, argmax rank 4. */
static void fake_init(struct fake *f) {
    memset(f, 0, sizeof *f);
    for (int i = 0; i < NMOD; i++) {
        snprintf(f->names[i], sizeof f->names[i], "L%d.lora.q", i);
        f->ranks[i][0] = 1, f->ranks[i][1] = 4, f->ranks[i][2] = 8;
        f->probs[i][0] = 0.2, f->probs[i][1] = 0.5, f->probs[i][2] = 0.3;
        f->m[i] = (struct script_module_view){
            .name = f->names[i], .kind = CFG_KIND_LORA, .layer = i, .state = SCRIPT_MOD_ACTIVE,
            .sensitivity = NMOD - i, .stability = 0.1 * (NMOD - i), .cost = 100.0 * (i + 1),
            .full_cost = 800 * (i + 1), .rank = 4, .n_ranks = 3, .ranks = f->ranks[i],
            .rank_probs = f->probs[i]};
    }
    static const double loss[] = {1.0, 0.8, 0.7, 0.65};
    f->v = (struct script_search_view){
        .n_modules = NMOD, .modules = f->m, .expected_params = 2100, .current_params = 2100,
        .budget = 1000, .stage = 0, .stages_left = 10, .stages_total = 10, .step = 100,
        .epoch = 2, .global_stability = 1.0, .stability_window = 2, .state = "searching",
        .loss = loss, .n_loss = 4, .act = fake_act, .ctx = f};
}

static const char *write_file(const char *name, const char *text) {
    return check_write_temp(name, text);
}

/* The oldest fallback not yet taken: it must be of hook `want`; its message (static). */
static const char *fell_back(struct script_policy *P, enum script_hook want) {
    static char why[600];
    enum script_hook h;
    cr_assert(script_policy_take_fallback(P, &h, why, sizeof why), "no fallback recorded");
    cr_assert_eq(h, want, "fallback of %s, expected %s", script_hook_name(h),
                 script_hook_name(want));
    cr_assert(script_policy_falls_back(P, want));
    return why;
}

static struct script_policy *load_policy(const char *text, double seconds) {
    struct script_limits lim;
    script_limits_default(&lim);
    lim.seconds = seconds;
    struct script_policy *P = script_policy_new(&lim);
    struct pf_err err = {0};
    const char *path = text ? write_file("policy.lua", text) : "default";
    cr_assert_eq(script_policy_load(P, NULL, path, &err), PF_OK, "%s", err.msg);
    return P;
}

static int count_events(struct script_policy *P, enum script_verb verb, int accepted) {
    const struct script_event *ev;
    int n = script_policy_events(P, &ev), c = 0;
    for (int i = 0; i < n; i++)
        c += ev[i].verb == verb && ev[i].accepted == accepted;
    return c;
}

/* ---- the default policy ---- */

Test(script_policy, default_tau_and_lr_follow_the_schedules) {
    struct script_policy *P = load_policy(NULL, 2);
    struct pf_err err = {0};
    double tau, lr;
    cr_assert_eq(script_policy_tau(P, 0, 15, &tau, &err), PF_OK, "%s", err.msg);
    cr_assert_float_eq(tau, 5.0, 1e-12);
    cr_assert_eq(script_policy_tau(P, 3, 15, &tau, &err), PF_OK);
    cr_assert_float_eq(tau, 5.0 - 4.0 * 3 / 15, 1e-12); /* 5 - 4 epoch / E */
    cr_assert_eq(script_policy_lr(P, 0, 100, &lr, &err), PF_OK);
    cr_assert_float_eq(lr, 3e-4, 1e-15);
    cr_assert_eq(script_policy_lr(P, 50, 100, &lr, &err), PF_OK);
    cr_assert_float_eq(lr, 1.5e-4, 1e-15);
    cr_assert_eq(script_policy_lr(P, 100, 100, &lr, &err), PF_OK);
    cr_assert_float_eq(lr, 0.0, 1e-15);
    script_policy_free(P);
}

Test(script_policy, default_trigger_fires_after_a_stable_window) {
    struct script_policy *P = load_policy(NULL, 2);
    struct fake f;
    fake_init(&f);
    struct pf_err err = {0};
    int fire = 1;
    f.v.epoch = 1; /* before prune_begin_epoch (2): never, and nothing is stored */
    cr_assert_eq(script_policy_trigger(P, &f.v, &fire, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(fire, 0);
    f.v.epoch = 2;
    for (int call = 1; call <= 6; call++) { /* needs window + 1 = 6 stored selections */
        cr_assert_eq(script_policy_trigger(P, &f.v, &fire, &err), PF_OK, "%s", err.msg);
        cr_assert_eq(fire, 0, "fired at call %d", call);
    }
    cr_assert_eq(script_policy_trigger(P, &f.v, &fire, &err), PF_OK);
    cr_assert_eq(fire, 1);
    /* a different selection breaks the agreement: budget 1000 took {0,1,2,3}; now {5} */
    f.m[5].sensitivity = 100;
    f.m[5].cost = 1000;
    cr_assert_eq(script_policy_trigger(P, &f.v, &fire, &err), PF_OK);
    cr_assert_eq(fire, 0);
    script_policy_free(P);
}

Test(script_policy, default_select_prune_by_expected_reduction) {
    struct script_policy *P = load_policy(NULL, 2);
    struct fake f;
    fake_init(&f);
    struct pf_err err = {0};
    /* least sensitive first: module 5 (cost 600), 4 (500), 3 (400)...; delta 1000: take 5
     * (600), skip 4 (1100 > 1000), take 3 (1000); the total then exceeds nothing more */
    cr_assert_eq(script_policy_select_prune(P, &f.v, 1000, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(f.m[5].state, SCRIPT_MOD_PRUNED);
    cr_assert_eq(f.m[4].state, SCRIPT_MOD_ACTIVE);
    cr_assert_eq(f.m[3].state, SCRIPT_MOD_PRUNED);
    cr_assert_eq(f.m[2].state, SCRIPT_MOD_ACTIVE);
    const struct script_event *ev;
    cr_assert_eq(script_policy_events(P, &ev), 2);
    cr_assert_eq(ev[0].verb, SCRIPT_VERB_PRUNE);
    cr_assert_eq(ev[0].module, 5);
    cr_assert_str_eq(ev[0].source, "select_prune");
    cr_assert_str_eq(ev[0].text, "L5.lora.q");
    cr_assert_eq(ev[1].module, 3);
    script_policy_clear_events(P);
    /* a small delta still prunes the first (least sensitive, unpinned) module */
    f.m[4].pinned = 1;
    cr_assert_eq(script_policy_select_prune(P, &f.v, 1, &err), PF_OK);
    cr_assert_eq(f.m[4].state, SCRIPT_MOD_ACTIVE);
    cr_assert_eq(f.m[2].state, SCRIPT_MOD_PRUNED);
    /* delta <= 0: nothing */
    script_policy_clear_events(P);
    cr_assert_eq(script_policy_select_prune(P, &f.v, -5, &err), PF_OK);
    cr_assert_eq(script_policy_events(P, &ev), 0);
    script_policy_free(P);
}

Test(script_policy, default_fix_ranks_by_dimension_stability) {
    struct script_policy *P = load_policy(NULL, 2);
    struct fake f;
    fake_init(&f);
    struct pf_err err = {0};
    f.m[5].state = SCRIPT_MOD_PRUNED; /* pruned modules count as fixed */
    f.v.stages_left = 2;               /* n = floor(G * 5 unfixed / 2) = 2 */
    f.v.global_stability = 1.0;
    cr_assert_eq(script_policy_fix_ranks(P, &f.v, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(count_events(P, SCRIPT_VERB_FIX_RANK, 1), 2);
    cr_assert_eq(f.m[4].state, SCRIPT_MOD_FIXED); /* DSI 0.2: the stablest unfixed */
    cr_assert_eq(f.m[3].state, SCRIPT_MOD_FIXED);
    cr_assert_eq(f.m[2].state, SCRIPT_MOD_ACTIVE);
    const struct script_event *ev;
    script_policy_events(P, &ev);
    cr_assert_float_eq(ev[0].value, 4.0, 0); /* at its argmax rank */
    /* K == 1: fix all the rest */
    script_policy_clear_events(P);
    f.v.stages_left = 1;
    cr_assert_eq(script_policy_fix_ranks(P, &f.v, &err), PF_OK);
    cr_assert_eq(count_events(P, SCRIPT_VERB_FIX_RANK, 1), 3);
    /* a window of one snapshot: nothing */
    fake_init(&f);
    script_policy_clear_events(P);
    f.v.stability_window = 1;
    cr_assert_eq(script_policy_fix_ranks(P, &f.v, &err), PF_OK);
    cr_assert_eq(count_events(P, SCRIPT_VERB_FIX_RANK, 1), 0);
    script_policy_free(P);
}

Test(script_policy, default_should_stop_after_the_last_stage) {
    struct script_policy *P = load_policy(NULL, 2);
    struct fake f;
    fake_init(&f);
    struct pf_err err = {0};
    int stop = 1;
    cr_assert_eq(script_policy_should_stop(P, &f.v, &stop, &err), PF_OK);
    cr_assert_eq(stop, 0);
    f.v.stages_left = 0;
    cr_assert_eq(script_policy_should_stop(P, &f.v, &stop, &err), PF_OK);
    cr_assert_eq(stop, 1);
    script_policy_free(P);
}

/* ---- handles and verbs ---- */

static const char *const verbs_policy =
    "local config = ...\n"
    "local P = peft.policy.default(config)\n"
    "local kept\n"
    "function P.on_step(s)\n"
    "  local m = s:module('L2.lora.q')\n"
    "  assert(m:name() == 'L2.lora.q' and m:kind() == 'lora' and m:layer() == 2)\n"
    "  assert(m:rank() == 4 and #m:ranks() == 3 and m:rank_probs()[2] == 0.5)\n"
    "  assert(m:id() == 3 and m:state() == 'active' and not m:pinned())\n"
    "  assert(s:n_modules() == 6 and #s:modules() == 6 and s:budget() == 1000)\n"
    "  assert(s:expected_params() == 2100 and s:stages_left() == 10 and s:epoch() == 2)\n"
    "  local h = s:history('loss', 2)\n"
    "  assert(#h == 2 and h[1] == 0.7 and h[2] == 0.65)\n"
    "  local r = m:ranks(); r[1] = 99; assert(m:ranks()[1] == 1) -- copies\n"
    "  assert(s:pin(m))\n"
    "  local ok, msg = s:prune(m)\n"
    "  assert(ok == nil and msg:find('pinned'), msg)\n"
    "  ok, msg = s:fix_rank(m, 3)\n"
    "  assert(ok == nil and msg:find('rank 3 is not a candidate'), msg)\n"
    "  assert(s:fix_rank(m, 8))\n"
    "  assert(s:unpin(m))\n"
    "  assert(s:set_budget(900))\n"
    "  assert(s:log('hello from on_step'))\n"
    "  assert(s:module('nope') == nil)\n"
    "  kept = s\n"
    "end\n"
    "function P.should_stop(s) return kept:budget() > 0 end\n"
    "return P\n";

Test(script_policy, verbs_are_checked_and_logged) {
    struct script_policy *P = load_policy(verbs_policy, 2);
    struct fake f;
    fake_init(&f);
    struct pf_err err = {0};
    cr_assert_eq(script_policy_on_step(P, &f.v, &err), PF_OK, "%s", err.msg);
    const struct script_event *ev;
    int n = script_policy_events(P, &ev);
    cr_assert_eq(n, 7);
    cr_assert(ev[0].verb == SCRIPT_VERB_PIN && ev[0].accepted && ev[0].module == 2);
    cr_assert(ev[1].verb == SCRIPT_VERB_PRUNE && !ev[1].accepted);
    cr_assert(strstr(ev[1].text, "pinned"), "%s", ev[1].text);
    cr_assert(ev[2].verb == SCRIPT_VERB_FIX_RANK && !ev[2].accepted);
    cr_assert(ev[3].verb == SCRIPT_VERB_FIX_RANK && ev[3].accepted && ev[3].value == 8);
    cr_assert(ev[4].verb == SCRIPT_VERB_UNPIN && ev[4].accepted);
    cr_assert(ev[5].verb == SCRIPT_VERB_SET_BUDGET && ev[5].value == 900);
    cr_assert(ev[6].verb == SCRIPT_VERB_LOG && !strcmp(ev[6].text, "hello from on_step"));
    cr_assert_str_eq(ev[6].source, "on_step");
    cr_assert_eq(f.v.budget, 900);
    cr_assert_eq(f.m[2].rank, 8);
    /* the handle kept past its hook is stale: should_stop fails, the default's runs */
    int stop;
    cr_assert_eq(script_policy_should_stop(P, &f.v, &stop, &err), PF_OK, "%s", err.msg);
    const char *why = fell_back(P, SCRIPT_HOOK_SHOULD_STOP);
    cr_assert(strstr(why, "stale search handle"), "%s", why);
    script_policy_free(P);
}

Test(script_policy, engine_refusals_reach_the_script) {
    struct script_policy *P = load_policy(
        "local P = peft.policy.default(...)\n"
        "function P.on_step(s)\n"
        "  local ok, msg = s:prune(s:module(1))\n"
        "  assert(ok == nil and msg == 'engine says no', msg)\n"
        "end\nreturn P\n", 2);
    struct fake f;
    fake_init(&f);
    f.refuse_all = 1;
    struct pf_err err = {0};
    cr_assert_eq(script_policy_on_step(P, &f.v, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(count_events(P, SCRIPT_VERB_PRUNE, 0), 1);
    script_policy_free(P);
}

Test(script_policy, handles_are_read_only) {
    struct script_policy *P = load_policy(
        "local P = peft.policy.default(...)\n"
        "function P.on_step(s)\n"
        "  assert(getmetatable(s) == 'locked')\n"
        "  assert(not pcall(function() s.prune = nil end))\n"
        "  assert(not pcall(function() local m = s:module(1); m.x = 1 end))\n"
        "  assert(not pcall(s.prune, s, 'L1.lora.q'))  -- a name is not a handle\n"
        "  assert(not pcall(s.module, s, 99))\n"
        "end\nreturn P\n", 2);
    struct fake f;
    fake_init(&f);
    struct pf_err err = {0};
    cr_assert_eq(script_policy_on_step(P, &f.v, &err), PF_OK, "%s", err.msg);
    script_policy_free(P);
}

/* ---- failures ---- */

Test(script_policy, hook_error_reports_a_traceback) {
    struct script_policy *P = load_policy(
        "local P = peft.policy.default(...)\n"
        "local function helper() error('bad rule') end\n"
        "function P.on_step(s) helper() end\n"
        "function P.trigger(s) return 1 end\n"
        "return P\n", 2);
    struct fake f;
    fake_init(&f);
    struct pf_err err = {0};
    /* the hook fails, the default policy's on_step runs instead (and from now on) */
    cr_assert_eq(script_policy_on_step(P, &f.v, &err), PF_OK, "%s", err.msg);
    const char *why = fell_back(P, SCRIPT_HOOK_ON_STEP);
    cr_assert(strstr(why, "policy on_step: ") && strstr(why, "policy.lua:2: bad rule"), "%s",
              why);
    cr_assert(strstr(script_policy_traceback(P), "stack traceback") &&
                  strstr(script_policy_traceback(P), "helper"),
              "%s", script_policy_traceback(P));
    int fire = -1;
    cr_assert_eq(script_policy_trigger(P, &f.v, &fire, &err), PF_OK, "%s", err.msg);
    cr_assert(fire == 0 || fire == 1);
    why = fell_back(P, SCRIPT_HOOK_TRIGGER);
    cr_assert(strstr(why, "policy trigger returned 1 (expected true or false)"), "%s", why);
    cr_assert_eq(script_policy_failures(P), 2);
    cr_assert_eq(script_policy_rebuilds(P), 0);
    /* once fallen back, the policy's own hook is not called again: no new failure */
    cr_assert_eq(script_policy_on_step(P, &f.v, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(script_policy_failures(P), 2);
    enum script_hook h;
    char tmp[8];
    cr_assert(!script_policy_take_fallback(P, &h, tmp, sizeof tmp));
    cr_assert(!script_policy_falls_back(P, SCRIPT_HOOK_TAU));
    script_policy_free(P);
}

Test(script_policy, case11_runaway_hook_is_stopped_and_the_state_rebuilt) {
    struct script_policy *P = load_policy(
        "local P = peft.policy.default(...)\n"
        "local calls = 0\n"
        "function P.on_step(s) calls = calls + 1; while true do end end\n"
        "function P.tau(e, n) return 1 + calls end\n"
        "return P\n", 0.2);
    struct fake f;
    fake_init(&f);
    struct pf_err err = {0};
    cr_assert_eq(script_policy_on_step(P, &f.v, &err), PF_OK, "%s", err.msg);
    const char *why = fell_back(P, SCRIPT_HOOK_ON_STEP);
    cr_assert(strstr(why, "policy on_step: ") && strstr(why, "policy.lua:3: time limit"), "%s",
              why);
    cr_assert_eq(script_policy_rebuilds(P), 1);
    /* the rebuilt state runs the same policy from scratch (calls == 0 again) */
    double tau;
    cr_assert_eq(script_policy_tau(P, 0, 1, &tau, &err), PF_OK, "%s", err.msg);
    cr_assert_float_eq(tau, 1.0, 0);
    script_policy_free(P);
}

Test(script_policy, case15_memory_hungry_hook_is_stopped_and_rebuilt) {
    struct script_limits lim;
    script_limits_default(&lim);
    lim.mem_bytes = 32 << 20;
    struct script_policy *P = script_policy_new(&lim);
    struct pf_err err = {0};
    const char *path = write_file("hungry.lua",
                                  "local P = peft.policy.default(...)\n"
                                  "function P.on_step(s) local t = {} while true do "
                                  "t[#t + 1] = string.rep('x', 1e6) .. #t end end\n"
                                  "return P\n");
    cr_assert_eq(script_policy_load(P, NULL, path, &err), PF_OK, "%s", err.msg);
    struct fake f;
    fake_init(&f);
    cr_assert_eq(script_policy_on_step(P, &f.v, &err), PF_ERR_NOMEM, "%s", err.msg);
    cr_assert(strstr(err.msg, "script memory limit (32 MB) exceeded"), "%s", err.msg);
    cr_assert_eq(script_policy_rebuilds(P), 1);
    cr_assert_lt(script_mem_used(script_policy_script(P)), (size_t)4 << 20);
    double tau;
    cr_assert_eq(script_policy_tau(P, 0, 15, &tau, &err), PF_OK, "%s", err.msg);
    script_policy_free(P);
}

Test(script_policy, bad_policy_tables_are_load_errors) {
    static const char *const cases[][2] = {
        {"return 5", "a policy must return a table of hooks, got 5"},
        {"local P = peft.policy.default(...) P.triger = P.trigger return P",
         "unknown hook \"triger\""},
        {"local P = peft.policy.default(...) P.fix_ranks = nil return P",
         "hook 'fix_ranks' is missing"},
        {"local P = peft.policy.default(...) P.lr = 3e-4 return P", "hook 'lr' is number"},
        {"return {", "expected"},
        {"return peft.policy.nope(...)", "attempt to call a nil value (field 'nope')"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct script_policy *P = script_policy_new(NULL);
        struct pf_err err = {0};
        const char *path = write_file("bad.lua", cases[i][0]);
        cr_assert_eq(script_policy_load(P, NULL, path, &err), PF_ERR_SCRIPT, "%s", cases[i][0]);
        cr_assert(strstr(err.msg, cases[i][1]) && strstr(err.msg, "bad.lua"), "%s: %s",
                  cases[i][0], err.msg);
        script_policy_free(P);
    }
}

/* ---- hot reload ---- */

Test(script_policy, reload_keeps_the_old_policy_when_the_new_one_fails) {
    const char *path = write_file("live.lua", "local P = peft.policy.default(...)\n"
                                              "function P.tau() return 1.5 end\nreturn P\n");
    struct script_policy *P = script_policy_new(NULL);
    struct pf_err err = {0};
    double tau;
    cr_assert_eq(script_policy_load(P, NULL, path, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(script_policy_tau(P, 0, 1, &tau, &err), PF_OK);
    cr_assert_float_eq(tau, 1.5, 0);
    /* a syntax error: reported, old policy in force */
    write_file("live.lua", "local P = peft.policy.default(...)\nfunction P.tau( return 2 end\n");
    cr_assert_eq(script_reload(P, &err), PF_ERR_SCRIPT);
    cr_assert(strstr(err.msg, "live.lua:2:"), "%s", err.msg);
    cr_assert_eq(script_policy_tau(P, 0, 1, &tau, &err), PF_OK);
    cr_assert_float_eq(tau, 1.5, 0);
    /* a validation error: the same */
    write_file("live.lua", "local P = peft.policy.default(...)\nP.tua = P.tau\nreturn P\n");
    cr_assert_eq(script_reload(P, &err), PF_ERR_SCRIPT);
    cr_assert(strstr(err.msg, "unknown hook \"tua\""), "%s", err.msg);
    cr_assert_eq(script_policy_tau(P, 0, 1, &tau, &err), PF_OK);
    cr_assert_float_eq(tau, 1.5, 0);
    /* a good file: in force */
    write_file("live.lua", "local P = peft.policy.default(...)\n"
                           "function P.tau() return 2.5 end\nreturn P\n");
    cr_assert_eq(script_reload(P, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(script_policy_tau(P, 0, 1, &tau, &err), PF_OK);
    cr_assert_float_eq(tau, 2.5, 0);
    script_policy_free(P);
}

Test(script_policy, config_policy_and_custom_schedule) {
    struct script_policy *P = script_policy_new(NULL);
    struct pf_err err = {0};
    cr_assert_eq(script_policy_load(P, "configs/search_llama_lora.lua", NULL, &err), PF_OK, "%s",
                 err.msg);
    cr_assert_str_eq(script_policy_file(P), "configs/policies/patient.lua");
    cr_assert_eq(script_policy_config(P)->schedule.tau.kind, CFG_SCHED_CUSTOM);
    double tau;
    cr_assert_eq(script_policy_tau(P, 2, 5, &tau, &err), PF_OK, "%s", err.msg);
    cr_assert_float_eq(tau, 5 * 0.7 * 0.7, 1e-12);
    struct fake f;
    fake_init(&f);
    f.m[3].layer = 11;
    snprintf(f.names[3], sizeof f.names[3], "L11.lora.v");
    cr_assert_eq(script_policy_on_step(P, &f.v, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(f.m[3].pinned, 1);
    cr_assert_eq(count_events(P, SCRIPT_VERB_PIN, 1), 1);
    script_policy_free(P);
}

Test(script_policy, no_policy_loaded_is_an_error) {
    struct script_policy *P = script_policy_new(NULL);
    struct pf_err err = {0};
    double tau;
    cr_assert_eq(script_policy_tau(P, 0, 1, &tau, &err), PF_ERR_SCRIPT);
    cr_assert(strstr(err.msg, "no policy loaded"), "%s", err.msg);
    script_policy_free(P);
    script_policy_free(NULL);
}

/* A hook may include a helper file at run time, after loads, reloads and rebuilds (the state
 * reads through the sources of the policy in force). */
Test(script_policy, include_from_a_hook_after_reload_and_rebuild) {
    write_file("helper.lua", "return { threshold = 3 }\n");
    const char *path = write_file("inc.lua",
                                  "local P = peft.policy.default(...)\n"
                                  "local n = 0\n"
                                  "function P.tau() return include('helper.lua').threshold end\n"
                                  "function P.on_step(s) n = n + 1; if n == 1 then "
                                  "while true do end end end\n"
                                  "return P\n");
    struct script_limits lim;
    script_limits_default(&lim);
    lim.seconds = 0.2;
    struct script_policy *P = script_policy_new(&lim);
    struct pf_err err = {0};
    double tau;
    cr_assert_eq(script_policy_load(P, NULL, path, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(script_reload(P, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(script_policy_tau(P, 0, 1, &tau, &err), PF_OK, "%s", err.msg);
    cr_assert_float_eq(tau, 3, 0);
    struct fake f;
    fake_init(&f);
    cr_assert_eq(script_policy_on_step(P, &f.v, &err), PF_OK, "%s", err.msg);
    (void)fell_back(P, SCRIPT_HOOK_ON_STEP);
    cr_assert_eq(script_policy_rebuilds(P), 1);
    cr_assert_eq(script_policy_tau(P, 0, 1, &tau, &err), PF_OK, "%s", err.msg);
    cr_assert_float_eq(tau, 3, 0);
    script_policy_free(P);
}

/* The default policy file itself, copied into configs/ as a user would, is a valid policy. */
Test(script_policy, default_policy_file_can_be_copied_and_used) {
    FILE *in = fopen("lua/peft/policy.lua", "r");
    cr_assert_not_null(in);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, in);
    fclose(in);
    text[n] = '\0';
    struct script_policy *P = load_policy(text, 2);
    cr_assert(strstr(script_policy_file(P), "policy.lua"));
    struct fake f;
    fake_init(&f);
    struct pf_err err = {0};
    int fire = 1;
    for (int call = 1; call <= 6; call++)
        cr_assert_eq(script_policy_trigger(P, &f.v, &fire, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(fire, 0);
    cr_assert_eq(script_policy_trigger(P, &f.v, &fire, &err), PF_OK);
    cr_assert_eq(fire, 1);
    cr_assert_eq(script_policy_select_prune(P, &f.v, 1000, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(f.m[5].state, SCRIPT_MOD_PRUNED);
    script_policy_free(P);
}

/* math.random is seeded from config.seed at every load: the same draws run after run. */
Test(script_policy, math_random_is_seeded_from_the_config) {
    static const char text[] = "local P = peft.policy.default(...)\n"
                               "function P.tau() return math.random() + 1 end\nreturn P\n";
    double a, b;
    struct pf_err err = {0};
    struct script_policy *P = load_policy(text, 2);
    cr_assert_eq(script_policy_tau(P, 0, 1, &a, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(script_reload(P, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(script_policy_tau(P, 0, 1, &b, &err), PF_OK, "%s", err.msg);
    cr_assert_float_eq(a, b, 0);
    script_policy_free(P);
}

/* ---- the new search settings reach policies ---- */

Test(script_policy, search_settings_reach_the_policy) {
    char cfg[256]; /* write_file returns its own buffer: keep a copy */
    snprintf(cfg, sizeof cfg, "%s", write_file(
        "settings.lua",
        "return {\n  model = { path = \"m\" },\n  task = { name = \"t\", train = \"x.tsv\" },\n"
        "  budget = { params = 1000 },\n  space = { lora = {} },\n"
        "  search = { method = \"s3delta\", order = \"binary_then_rank\", early_stop = false,\n"
        "             pin = { \"L3.lora.q\", \"final.ln\" }, s3delta_beta = 0.5 },\n}\n"));
    const char *pol = write_file(
        "settings_policy.lua",
        "local config = ...\n"
        "local P = peft.policy.default(config)\n"
        "local S = config.search\n"
        "assert(S.method == 's3delta' and S.order == 'binary_then_rank' and S.early_stop == false)\n"
        "assert(#S.pin == 2 and S.pin[1] == 'L3.lora.q' and S.pin[2] == 'final.ln')\n"
        "assert(S.s3delta_beta == 0.5 and S.s3delta_rank == 0 and S.arch_reg == 0.01)\n"
        "assert(math.type(S.checkpoint_every) == 'integer' and S.checkpoint_every == 50)\n"
        "assert(S.snapshot_every == 10 and S.retrain == true and S.retrain_epochs == 0)\n"
        "assert(config.optim.arch_weight_decay == 1e-4)\n"
        "return P\n");
    struct script_policy *P = script_policy_new(NULL);
    struct pf_err err = {0};
    cr_assert_eq(script_policy_load(P, cfg, pol, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(script_policy_config(P)->search.method, CFG_METHOD_S3DELTA);
    script_policy_free(P);
}

/* ---- checkpoints of the policy's state ---- */

/* Drive the trigger n times; the decisions go to fire[]. */
static void drive_trigger(struct script_policy *P, struct fake *f, int n, int *fire) {
    struct pf_err err = {0};
    for (int i = 0; i < n; i++)
        cr_assert_eq(script_policy_trigger(P, &f->v, &fire[i], &err), PF_OK, "%s", err.msg);
}

Test(script_policy, default_state_resumes_with_the_same_decisions) {
    struct script_policy *A = load_policy(NULL, 2);
    struct fake f;
    fake_init(&f);
    int fire[16];
    drive_trigger(A, &f, 4, fire); /* 4 selections stored: no decision yet */
    struct pf_err err = {0};
    char *text = NULL;
    cr_assert_eq(script_policy_save_state(A, &text, &err), PF_OK, "%s", err.msg);
    cr_assert_str_eq(text, "return {[\"history\"]={[1]={[1]=1,[2]=1,[3]=1,[4]=1,[5]=0,[6]=0},"
                           "[2]={[1]=1,[2]=1,[3]=1,[4]=1,[5]=0,[6]=0},"
                           "[3]={[1]=1,[2]=1,[3]=1,[4]=1,[5]=0,[6]=0},"
                           "[4]={[1]=1,[2]=1,[3]=1,[4]=1,[5]=0,[6]=0}},[\"seen\"]=4}");
    /* a fresh policy from the same config, restored, then both driven the same way */
    struct script_policy *B = load_policy(NULL, 2), *C = load_policy(NULL, 2);
    cr_assert_eq(script_policy_load_state(B, text, &err), PF_OK, "%s", err.msg);
    char *again = NULL;
    cr_assert_eq(script_policy_save_state(B, &again, &err), PF_OK, "%s", err.msg);
    cr_assert_str_eq(again, text); /* load then save gives the same text */
    int fa[8], fb[8], fc[8];
    struct fake fa_s = f, fb_s, fc_s;
    fake_init(&fb_s);
    fake_init(&fc_s);
    fa_s.v.ctx = &fa_s, fa_s.v.modules = fa_s.m; /* the copy acts on itself */
    for (int i = 0; i < NMOD; i++)
        fa_s.m[i].name = fa_s.names[i], fa_s.m[i].ranks = fa_s.ranks[i],
        fa_s.m[i].rank_probs = fa_s.probs[i];
    for (int round = 0; round < 2; round++) {
        drive_trigger(A, &fa_s, 4, fa);
        drive_trigger(B, &fb_s, 4, fb);
        drive_trigger(C, &fc_s, 4, fc);
        for (int i = 0; i < 4; i++)
            cr_assert_eq(fa[i], fb[i], "round %d call %d: %d vs %d", round, i, fa[i], fb[i]);
        if (round == 0) { /* A and B fire at their 7th call (the 3rd here); C has no history */
            cr_assert(!fa[0] && !fa[1] && fa[2] && fa[3]);
            cr_assert(!fc[2]);
            /* then a different selection: both stop agreeing at the same time */
            fa_s.m[5].sensitivity = fb_s.m[5].sensitivity = 100;
            fa_s.m[5].cost = fb_s.m[5].cost = 1000;
        }
    }
    char *ta = NULL, *tb = NULL;
    cr_assert_eq(script_policy_save_state(A, &ta, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(script_policy_save_state(B, &tb, &err), PF_OK, "%s", err.msg);
    cr_assert_str_eq(ta, tb);
    free(text), free(again), free(ta), free(tb);
    script_policy_free(A), script_policy_free(B), script_policy_free(C);
}

/* A policy whose save() returns `expr` (a Lua expression) and whose load(t) checks that t is
 * an exact copy of it (types, math.type, every bit of every float) and keeps it. */
static struct script_policy *state_policy(const char *expr) {
    static char text[8192];
    snprintf(text, sizeof text,
             "local P = peft.policy.default(...)\n"
             "local function make() return %s end\n"
             "local function same(a, b, path)\n"
             "  if type(a) ~= type(b) then error(path .. ': ' .. type(a) .. ' vs ' .. type(b)) end\n"
             "  if type(a) == 'number' then\n"
             "    if math.type(a) ~= math.type(b) then error(path .. ': ' .. math.type(a)) end\n"
             "    if a ~= a then if b == b then error(path .. ': nan') end return end\n"
             "    if string.format('%%a', a) ~= string.format('%%a', b) then\n"
             "      error(path .. ': ' .. string.format('%%a vs %%a', a, b)) end\n"
             "  elseif type(a) == 'table' then\n"
             "    for k, v in pairs(a) do same(v, b[k], path .. '[' .. tostring(k) .. ']') end\n"
             "    for k in pairs(b) do if a[k] == nil then error(path .. ': extra key') end end\n"
             "  elseif a ~= b then error(path .. ': ' .. tostring(a) .. ' vs ' .. tostring(b)) end\n"
             "end\n"
             "local kept\n"
             "function P.save() if kept ~= nil then return kept end return make() end\n"
             "function P.load(t) same(t, make(), 't'); kept = t end\n"
             "return P\n",
             expr);
    return load_policy(text, 2);
}

static const char *const tricky =
    "{ big = (1 << 53) + 1, maxi = math.maxinteger, mini = math.mininteger, tenth = 0.1,\n"
    "  negzero = -0.0, huge = 1e308, tiny = 5e-324, inf = 1/0, ninf = -1/0, nan = 0/0,\n"
    "  five = 5.0, two63 = 2^63, third = 1/3,\n"
    "  str = 'a\\0b\"c\\\\d\\n\\r\\t\\1\\127\\255z', empty = '', [10] = 'ten', ['10'] = 10,\n"
    "  [-3] = true, [1] = false, nested = { { 1, { 2, { 3, { x = 'deep' } } } } },\n"
    "  list = { 3, 1, 2 }, none = {} }";

Test(script_policy, saved_state_round_trips_tricky_values_exactly) {
    struct script_policy *A = state_policy(tricky);
    struct pf_err err = {0};
    char *text = NULL;
    cr_assert_eq(script_policy_save_state(A, &text, &err), PF_OK, "%s", err.msg);
    static const char *const pieces[] = {
        "return {[-3]=true,[1]=false,[10]=\"ten\",[\"10\"]=10,[\"big\"]=9007199254740993,",
        "[\"five\"]=5.0,", "[\"huge\"]=1e+308,", "[\"inf\"]=(1/0),",
        "[\"list\"]={[1]=3,[2]=1,[3]=2},", "[\"maxi\"]=9223372036854775807,",
        "[\"mini\"]=(-9223372036854775807-1),", "[\"nan\"]=(0/0),", "[\"negzero\"]=-0.0,",
        "[\"ninf\"]=(-1/0),", "[\"none\"]={},",
        "[\"str\"]=\"a\\000b\\\"c\\\\d\\n\\r\\t\\001\\127\\255z\",", "[\"tenth\"]=0.1,",
        "[\"third\"]=0.3333333333333333,", "[\"two63\"]=9.223372036854776e+18}",
        "[\"tiny\"]=4.94065645841247e-324,", "[\"empty\"]=\"\",",
        "[\"nested\"]={[1]={[1]=1,[2]={[1]=2,[2]={[1]=3,[2]={[\"x\"]=\"deep\"}}}}},"};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++)
        cr_assert(strstr(text, pieces[i]), "missing %s in\n%s", pieces[i], text);
    /* a fresh policy: load(t) checks every value bit for bit, then saves the same text */
    struct script_policy *B = state_policy(tricky);
    cr_assert_eq(script_policy_load_state(B, text, &err), PF_OK, "%s", err.msg);
    char *again = NULL;
    cr_assert_eq(script_policy_save_state(B, &again, &err), PF_OK, "%s", err.msg);
    cr_assert_str_eq(again, text);
    /* a value that differs is caught by the check: the test can fail */
    struct script_policy *C = state_policy("{ x = 0.0 }");
    cr_assert_eq(script_policy_load_state(C, "return { x = -0.0 }", &err), PF_ERR_SCRIPT);
    cr_assert(strstr(err.msg, "policy load: ") && strstr(err.msg, "t[x]"), "%s", err.msg);
    free(text), free(again);
    script_policy_free(A), script_policy_free(B), script_policy_free(C);
}

/* The saved text of `expr`, or NULL with err filled. */
static char *saved_text(const char *expr, struct pf_err *err) {
    struct script_policy *P = state_policy(expr);
    char *text = NULL;
    pf_status st = script_policy_save_state(P, &text, err);
    if (st != PF_OK)
        cr_assert_null(text);
    if (st != PF_OK)
        cr_assert_eq(script_policy_failures(P), 1);
    script_policy_free(P);
    return text;
}

Test(script_policy, saved_state_is_sorted_and_refuses_what_it_cannot_write) {
    struct pf_err err = {0};
    char *t = saved_text("{ 3, 1, [-2] = true, b = 'x', a = {}, [10] = 0.5, ab = 1, B = 2 }", &err);
    cr_assert_not_null(t, "%s", err.msg);
    cr_assert_str_eq(t, "return {[-2]=true,[1]=3,[2]=1,[10]=0.5,[\"B\"]=2,[\"a\"]={},"
                        "[\"ab\"]=1,[\"b\"]=\"x\"}");
    free(t);
    t = saved_text("nil", &err);
    cr_assert_str_eq(t, "return nil");
    free(t);
    t = saved_text("'just a string'", &err);
    cr_assert_str_eq(t, "return \"just a string\"");
    free(t);
    /* 32 levels are fine, 33 are not */
    t = saved_text("(function() local t = 1 for i = 1, 32 do t = { t } end return t end)()", &err);
    cr_assert_not_null(t, "%s", err.msg);
    free(t);
    static const char *const bad[][2] = {
        {"{ history = { 1, 2, function() end } }",
         "save(): [history][3]: functions cannot be saved"},
        {"function() end", "save(): functions cannot be saved"},
        {"(function() local t = { a = {} } t.a.b = t return t end)()",
         "save(): [a][b]: cycles cannot be saved (this table contains itself)"},
        {"(function() local t = {} t.self = t return { t } end)()",
         "save(): [1][self]: cycles cannot be saved (this table contains itself)"},
        {"(function() local t = 1 for i = 1, 33 do t = { t } end return t end)()",
         "save(): [1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1]"
         "[1][1][1][1][1][1][1]: tables nested deeper than 32 levels cannot be saved"},
        {"{ x = { [1.5] = 1 } }", "save(): [x]: keys must be integers or strings, got 1.5"},
        {"{ [true] = 1 }", "save(): keys must be integers or strings, got true"},
        {"{ s = string.rep('x', 16 * 1024 * 1024) }",
         "save(): [s]: the saved text would exceed 16 MiB"},
        {"error('no state today')", "policy save: "},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pf_err_clear(&err);
        t = saved_text(bad[i][0], &err);
        cr_assert_null(t, "case %zu: %s", i, bad[i][0]);
        cr_assert_eq(err.code, PF_ERR_SCRIPT, "case %zu", i);
        cr_assert(!strncmp(err.msg, bad[i][1], strlen(bad[i][1])), "case %zu:\n got  %s\n want %s",
                  i, err.msg, bad[i][1]);
    }
    cr_assert(strstr(err.msg, "no state today"), "%s", err.msg);
    /* just under the limit is fine */
    t = saved_text("string.rep('x', 16 * 1024 * 1024 - 9)", &err);
    cr_assert_not_null(t, "%s", err.msg);
    cr_assert_eq(strlen(t), (size_t)16 << 20);
    free(t);
}

Test(script_policy, policies_without_save_or_load_hooks) {
    struct script_policy *P = load_policy("local P = peft.policy.default(...)\n"
                                          "P.save, P.load = nil, nil\nreturn P\n", 2);
    struct pf_err err = {0};
    char *text = NULL;
    cr_assert_eq(script_policy_save_state(P, &text, &err), PF_OK, "%s", err.msg);
    cr_assert_str_eq(text, "return nil");
    free(text);
    /* no load hook: nothing runs, not even the text */
    cr_assert_eq(script_policy_load_state(P, "error('not run')", &err), PF_OK, "%s", err.msg);
    script_policy_free(P);
    /* a load hook is not called for "return nil" */
    P = load_policy("local P = peft.policy.default(...)\n"
                    "function P.load(t) error('called') end\nreturn P\n", 2);
    cr_assert_eq(script_policy_load_state(P, "return nil", &err), PF_OK, "%s", err.msg);
    cr_assert_eq(script_policy_load_state(P, "return {}", &err), PF_ERR_SCRIPT);
    cr_assert(strstr(err.msg, "policy load: ") && strstr(err.msg, "called"), "%s", err.msg);
    script_policy_free(P);
    /* a hook that is not a function is a load error */
    P = script_policy_new(NULL);
    const char *path = write_file("bad_save.lua", "local P = peft.policy.default(...)\n"
                                                  "P.save = 5\nreturn P\n");
    cr_assert_eq(script_policy_load(P, NULL, path, &err), PF_ERR_SCRIPT);
    cr_assert(strstr(err.msg, "hook 'save' is number (expected a function)"), "%s", err.msg);
    script_policy_free(P);
    P = script_policy_new(NULL);
    char *none = NULL;
    cr_assert_eq(script_policy_save_state(P, &none, &err), PF_ERR_SCRIPT);
    cr_assert(none == NULL && strstr(err.msg, "no policy loaded"), "%s", err.msg);
    cr_assert_eq(script_policy_load_state(P, "return nil", &err), PF_ERR_SCRIPT);
    script_policy_free(P);
    cr_assert_str_eq(script_hook_name(SCRIPT_HOOK_SAVE), "save");
    cr_assert_str_eq(script_hook_name(SCRIPT_HOOK_LOAD), "load");
}

Test(script_policy, load_state_runs_text_only_under_the_limits) {
    struct script_policy *P = load_policy(NULL, 0.2);
    struct pf_err err = {0};
    cr_assert_eq(script_policy_load_state(P, "return {", &err), PF_ERR_SCRIPT);
    cr_assert(strstr(err.msg, "policy load: saved state:1:"), "%s", err.msg);
    cr_assert_eq(script_policy_load_state(P, "\x1bLua", &err), PF_ERR_SCRIPT);
    cr_assert(strstr(err.msg, "attempt to load a binary chunk"), "%s", err.msg);
    cr_assert_eq(script_policy_load_state(P, "while true do end", &err), PF_ERR_SCRIPT);
    cr_assert(strstr(err.msg, "policy load: saved state:1: time limit"), "%s", err.msg);
    cr_assert_eq(script_policy_rebuilds(P), 1);
    cr_assert_eq(script_policy_load_state(P, "return { seen = 'x' }", &err), PF_ERR_SCRIPT);
    cr_assert(strstr(err.msg, "policy load: ") &&
                  strstr(err.msg, "expected the table that save() returned"),
              "%s", err.msg);
    cr_assert_eq(script_policy_load_state(P, "os.exit()", &err), PF_ERR_SCRIPT);
    cr_assert(strstr(err.msg, "unknown global 'os'"), "%s", err.msg);
    cr_assert_eq(script_policy_failures(P), 5);
    /* still usable afterwards */
    char *text = NULL;
    cr_assert_eq(script_policy_save_state(P, &text, &err), PF_OK, "%s", err.msg);
    cr_assert_str_eq(text, "return {[\"history\"]={},[\"seen\"]=0}");
    free(text);
    script_policy_free(P);
}

/* The memory cap may stop a save while it writes (the sorted keys live in the state): the
 * call then fails cleanly (no text, no leak) and the state is rebuilt. Caps from "too small
 * to load" to "plenty" cover both outcomes. */
Test(script_policy, save_state_under_the_memory_cap) {
    const char *path = write_file("big_state.lua",
                                  "local P = peft.policy.default(...)\n"
                                  "local big = {}\n"
                                  "for i = 1, 30000 do big['key' .. i] = i end\n"
                                  "function P.save() return big end\n"
                                  "return P\n");
    int ok = 0, nomem = 0;
    for (size_t kb = 1024; kb <= 6144; kb += 128) {
        struct script_limits lim;
        script_limits_default(&lim);
        lim.mem_bytes = kb << 10;
        struct script_policy *P = script_policy_new(&lim);
        struct pf_err err = {0};
        if (script_policy_load(P, NULL, path, &err) != PF_OK) {
            script_policy_free(P);
            continue;
        }
        char *text = NULL;
        pf_status st = script_policy_save_state(P, &text, &err);
        if (st == PF_OK) {
            cr_assert(text && strstr(text, "[\"key29999\"]=29999"));
            ok++;
        } else {
            cr_assert_eq(st, PF_ERR_NOMEM, "%s", err.msg);
            cr_assert(strstr(err.msg, "policy save: script memory limit"), "%s", err.msg);
            cr_assert_null(text);
            cr_assert_eq(script_policy_rebuilds(P), 1);
            nomem++;
        }
        free(text);
        script_policy_free(P);
    }
    cr_assert(ok > 0 && nomem > 0, "ok %d, out of memory %d", ok, nomem);
}
