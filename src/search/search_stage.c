/* search_stage.c - the policy's hooks at step boundaries and one pruning stage (spec 4.3-4.6,
 * 5.3): trigger -> delta = (E - B) / K -> select_prune -> fix_ranks, plus the termination
 * guard that makes the final structure fit the budget whatever the policy did. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "search/search_internal.h"

/* s with every occurrence of the session's copy of the policy (DIR/policy.lua) replaced by the
 * user's file it was copied from, into out. */
static void user_file_names(const struct search *s, const char *in, char *out, size_t n) {
    const char *copy = script_policy_file(s->pol);
    const char *user = s->policy_source;
    size_t lc = strlen(copy), lu = strlen(user), k = 0;
    int swap = lc > 0 && strcmp(user, "default") != 0;
    while (*in && k + 1 < n) {
        if (swap && !strncmp(in, copy, lc)) {
            size_t m = lu < n - 1 - k ? lu : n - 1 - k;
            memcpy(out + k, user, m);
            k += m;
            in += lc;
        } else {
            out[k++] = *in++;
        }
    }
    out[k < n ? k : n - 1] = '\0';
}

void search_report_fallbacks(struct search *s) {
    enum script_hook h;
    char why[512], named[640];
    while (script_policy_take_fallback(s->pol, &h, why, sizeof why)) {
        user_file_names(s, why, named, sizeof named);
        struct search_event e;
        search_event_init(s, &e, SEV_FALLBACK, "policy");
        e.value = (double)s->it;
        const char *msg = named;
        char pre[64]; /* the message starts with "policy HOOK: " (script_policy.c) */
        snprintf(pre, sizeof pre, "policy %s: ", script_hook_name(h));
        if (!strncmp(msg, pre, strlen(pre)))
            msg += strlen(pre);
        if (snprintf(e.text, sizeof e.text, "%s: %s", script_hook_name(h), msg) >=
            (int)sizeof e.text) /* a long message is cut to the event's fixed text size */
            e.text[sizeof e.text - 1] = '\0';
        search_emit(s, &e);
    }
}

/* The script layer's verb log after a hook: log lines and refusals become events (accepted
 * verbs were emitted by the engine when it applied them). */
static void drain(struct search *s) {
    search_report_fallbacks(s);
    const struct script_event *ev;
    int n = script_policy_events(s->pol, &ev);
    for (int i = 0; i < n; i++) {
        if (ev[i].verb != SCRIPT_VERB_LOG && ev[i].accepted)
            continue;
        struct search_event e;
        search_event_init(s, &e, ev[i].verb == SCRIPT_VERB_LOG ? SEV_LOG : SEV_REFUSED,
                          "policy");
        e.module = ev[i].module;
        e.value = ev[i].value;
        snprintf(e.text, sizeof e.text, "%.23s: %.130s", ev[i].source, ev[i].text);
        search_emit(s, &e);
    }
    script_policy_clear_events(s->pol);
}

/* A failed hook is an error of the run (the policy's traceback goes to the log). */
static pf_status hook_failed(struct search *s, const char *hook, pf_status st,
                             struct pf_err *err) {
    struct search_event e;
    search_event_init(s, &e, SEV_ERROR, "policy");
    snprintf(e.text, sizeof e.text, "policy %.16s: %.130s", hook, err->msg);
    search_emit(s, &e);
    drain(s);
    return st;
}

pf_status search_hook_trigger(struct search *s, int *fire, struct pf_err *err) {
    struct script_search_view v;
    search_build_view(s, &v);
    snprintf(s->hook_source, sizeof s->hook_source, "policy");
    pf_status st = script_policy_trigger(s->pol, &v, fire, err);
    if (st != PF_OK)
        return hook_failed(s, "trigger", st, err);
    drain(s);
    return PF_OK;
}

pf_status search_hook_step(struct search *s, int *stop, struct pf_err *err) {
    struct script_search_view v;
    search_build_view(s, &v);
    snprintf(s->hook_source, sizeof s->hook_source, "policy");
    pf_status st = script_policy_on_step(s->pol, &v, err);
    if (st != PF_OK)
        return hook_failed(s, "on_step", st, err);
    drain(s);
    search_build_view(s, &v);
    st = script_policy_should_stop(s->pol, &v, stop, err);
    if (st != PF_OK)
        return hook_failed(s, "should_stop", st, err);
    drain(s);
    return PF_OK;
}

pf_status search_do_stage(struct search *s, int guard, struct pf_err *err) {
    const char *src = guard ? "guard" : "policy";
    double E = search_expected_params(s, 1);
    int K = s->stages_left;
    double delta = (E - (double)s->budget) / (double)K;
    s->stages_left--;
    if (guard)
        s->guard_stages++;
    struct search_event e;
    search_event_init(s, &e, SEV_TRIGGER, src);
    e.value = delta;
    e.expected = E;
    search_emit(s, &e);

    struct script_search_view v;
    search_build_view(s, &v);
    snprintf(s->hook_source, sizeof s->hook_source, "%s", src);
    pf_status st = script_policy_select_prune(s->pol, &v, delta, err);
    if (st != PF_OK)
        return hook_failed(s, "select_prune", st, err);
    drain(s);
    /* the rank-history window: DSI and global stability, then the policy fixes ranks */
    search_compute_dsi(s);
    search_build_view(s, &v);
    st = script_policy_fix_ranks(s->pol, &v, err);
    if (st != PF_OK)
        return hook_failed(s, "fix_ranks", st, err);
    drain(s);
    if (s->win_count >= 2)
        search_window_clear(s);
    if (s->stages_left == 0) /* every rank is fixed after the last stage */
        for (int i = 0; i < s->nc; i++)
            if (s->c[i].n_ranks > 0 && !s->c[i].fixed && !s->c[i].pruned)
                (void)search_act(s, SCRIPT_VERB_FIX_RANK, i,
                                 s->c[i].ranks[search_cur_rank_idx(&s->c[i])], src, NULL);
    search_event_init(s, &e, SEV_STAGE, src);
    e.value = search_expected_params(s, 1);
    search_emit(s, &e);
    return PF_OK;
}

/* search.fill: after the guard, pruned modules come back, highest score first (ties by
 * index), each at the rank it had when pruned, while the exact count stays within the
 * budget: what the last stages' granularity left unused goes to the best modules that fit. */
void search_fill(struct search *s) {
    if (!s->cfg.search.fill)
        return;
    for (;;) {
        int64_t room = s->budget - search_hard_params(s);
        int best = -1;
        for (int i = 0; i < s->nc; i++) {
            const struct search_cand *c = &s->c[i];
            if (!c->pruned || c->cost[search_cur_rank_idx(c)] > room)
                continue;
            if (best < 0 || c->sens_i > s->c[best].sens_i)
                best = i;
        }
        if (best < 0)
            return;
        struct search_cand *c = &s->c[best];
        c->pruned = 0; /* its rank stays fixed where it was */
        search_expected_params(s, 1);
        struct search_event e;
        search_event_init(s, &e, SEV_RESTORE, "fill");
        e.module = best;
        e.rank = c->n_ranks ? c->ranks[search_cur_rank_idx(c)] : 0;
        e.value = (double)c->cost[search_cur_rank_idx(c)];
        snprintf(e.text, sizeof e.text, "%s", c->name);
        search_emit(s, &e);
    }
}

/* After the last stage: prune the least sensitive unpinned modules until the exact count of
 * the structure fits (pins reserve at most the budget, so this always ends). */
pf_status search_guard_fit(struct search *s, struct pf_err *err) {
    while (search_hard_params(s) > s->budget) {
        int best = -1;
        for (int i = 0; i < s->nc; i++) {
            const struct search_cand *c = &s->c[i];
            if (c->pruned || c->pinned)
                continue;
            if (best < 0 || c->sens_i < s->c[best].sens_i)
                best = i;
        }
        if (best < 0)
            return pf_err_set(err, PF_ERR_ARG, "the pinned modules alone need %lld parameters, "
                              "over the budget of %lld", (long long)search_hard_params(s),
                              (long long)s->budget);
        pf_status st = search_act(s, SCRIPT_VERB_PRUNE, best, 0, "guard", err);
        if (st != PF_OK)
            return st;
    }
    return PF_OK;
}
