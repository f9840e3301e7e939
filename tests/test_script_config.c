/* test_script_config.c - config validation into struct run_config: the defaults of
 * bipeft-algorithm.md, every shipped config, and an exact "FILE:LINE: path: message" for each
 * kind of field (string, enum, integer, number, boolean, table, list, pair, target, layers,
 * schedule, unknown keys, required keys, include); plus `bipeft check-config` through the
 * built binary (JSON on stdout and exit 0, or the message and exit 2). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "script/script_config.h"

static const char *write_file(const char *name, const char *text) {
    return check_write_temp(name, text);
}

/* A valid config with line 6 replaced by `extra` (which may also override earlier keys by
 * being given instead: see the cases). */
static const char *base_config(const char *extra, const char *space) {
    static char buf[2048];
    snprintf(buf, sizeof buf,
             "return {\n"
             "  model = { path = \"m\" },\n"
             "  task = { name = \"t\", train = \"x.tsv\" },\n"
             "  budget = { params = 1000 },\n"
             "  space = %s,\n"
             "  %s\n"
             "}\n",
             space ? space : "{ lora = { ranks = { 1, 4, 8 } } }", extra);
    return buf;
}

Test(script_config, defaults_follow_the_paper) {
    struct run_config c;
    struct pf_err err = {0};
    const char *path = write_file("ok.lua", base_config("", NULL));
    cr_assert_eq(script_config_load(path, NULL, &c, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(c.search.stages, 100);
    cr_assert_float_eq(c.search.trigger_threshold, 0.85, 0);
    cr_assert_eq(c.search.trigger_window, 5);
    cr_assert_float_eq(c.search.ema, 0.85, 0);
    cr_assert_float_eq(c.optim.lr, 3e-4, 0);
    cr_assert_float_eq(c.optim.arch_lr, 0.01, 0);
    cr_assert_float_eq(c.optim.arch_betas[0], 0.5, 0);
    cr_assert_float_eq(c.optim.arch_betas[1], 0.999, 0);
    cr_assert_float_eq(c.optim.arch_weight_decay, 1e-4, 0); /* Adam(0.01, (0.5, 0.999), 1e-4) */
    cr_assert_float_eq(c.optim.clip, 2.0, 0);
    cr_assert_eq(c.schedule.tau.kind, CFG_SCHED_LINEAR);
    cr_assert_float_eq(c.schedule.tau.from, 5, 0);
    cr_assert_float_eq(c.schedule.tau.to, 1, 0);
    const struct cfg_group *g = &c.space.group[CFG_KIND_LORA];
    cr_assert(g->enabled && g->all_layers && g->n_ranks == 3);
    cr_assert(g->ranks[0] == 1 && g->ranks[1] == 4 && g->ranks[2] == 8);
    cr_assert_eq(g->targets, (1u << CFG_T_Q) | (1u << CFG_T_K) | (1u << CFG_T_V) |
                                 (1u << CFG_T_O) | (1u << CFG_T_FFN_UP) | (1u << CFG_T_FFN_DOWN));
    cr_assert_eq(c.space.group[CFG_KIND_BITFIT].enabled, 0);
    cr_assert_eq(c.budget.params, 1000);
    cr_assert_eq(c.seed, 42);
    cr_assert_str_eq(c.policy, "default");
    cr_assert_str_eq(c.device, "cpu");
    /* search method and its settings */
    cr_assert_eq(c.search.method, CFG_METHOD_BIPEFT);
    cr_assert_eq(c.search.order, CFG_ORDER_ALTERNATE);
    cr_assert_eq(c.search.early_stop, 1);
    cr_assert_float_eq(c.search.arch_reg, 0.01, 0);
    cr_assert_eq(c.search.checkpoint_every, 50);
    cr_assert_eq(c.search.snapshot_every, 10);
    cr_assert_eq(c.search.n_pin, 0);
    cr_assert_eq(c.search.retrain, 1);
    cr_assert_eq(c.search.retrain_epochs, 0);
    cr_assert_float_eq(c.search.s3delta_beta, 1.0, 0);
    cr_assert_eq(c.search.s3delta_rank, 0);
}

Test(script_config, search_method_fields_take_valid_values) {
    struct run_config c;
    struct pf_err err = {0};
    const char *path = write_file(
        "search.lua",
        base_config("search = { method = \"s3delta\", order = \"rank_then_binary\", "
                    "early_stop = false, arch_reg = 0, checkpoint_every = 0, snapshot_every = 1, "
                    "pin = { \"L3.lora.q\", \"final.ln\", \"L11.lra.ffn\", \"L0.prefix.attn\" }, "
                    "retrain = false, retrain_epochs = 3, s3delta_beta = 0.25, "
                    "s3delta_rank = 2 },",
                    NULL));
    cr_assert_eq(script_config_load(path, NULL, &c, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(c.search.method, CFG_METHOD_S3DELTA);
    cr_assert_eq(c.search.order, CFG_ORDER_RANK_THEN_BINARY);
    cr_assert_eq(c.search.early_stop, 0);
    cr_assert_float_eq(c.search.arch_reg, 0, 0);
    cr_assert_eq(c.search.checkpoint_every, 0);
    cr_assert_eq(c.search.snapshot_every, 1);
    cr_assert_eq(c.search.n_pin, 4);
    cr_assert_str_eq(c.search.pin[0], "L3.lora.q");
    cr_assert_str_eq(c.search.pin[1], "final.ln");
    cr_assert_str_eq(c.search.pin[2], "L11.lra.ffn");
    cr_assert_str_eq(c.search.pin[3], "L0.prefix.attn");
    cr_assert_eq(c.search.retrain, 0);
    cr_assert_eq(c.search.retrain_epochs, 3);
    cr_assert_float_eq(c.search.s3delta_beta, 0.25, 0);
    cr_assert_eq(c.search.s3delta_rank, 2);
    /* the other names of the enums; 64 pins; the JSON carries every field */
    static const char *const methods[] = {"bipeft", "s3delta", "manual", "random", "full"};
    static const char *const orders[] = {"alternate", "binary_then_rank", "rank_then_binary"};
    for (int i = 0; i < 5; i++) {
        char extra[300];
        snprintf(extra, sizeof extra,
                 "search = { method = \"%s\", order = \"%s\", pin = (function() local t = {} "
                 "for i = 1, 64 do t[i] = 'L' .. (i - 1) .. '.bitfit.q' end return t end)() },",
                 methods[i], orders[i % 3]);
        path = write_file("search.lua", base_config(extra, NULL));
        cr_assert_eq(script_config_load(path, NULL, &c, &err), PF_OK, "%s", err.msg);
        cr_assert_eq((int)c.search.method, i);
        cr_assert_eq((int)c.search.order, i % 3);
        cr_assert_eq(c.search.n_pin, 64);
        cr_assert_str_eq(c.search.pin[63], "L63.bitfit.q");
        char *json = script_config_to_json(&c);
        char want[64];
        snprintf(want, sizeof want, "\"method\":\t\"%s\"", methods[i]);
        cr_assert(strstr(json, want), "%s", json);
        snprintf(want, sizeof want, "\"order\":\t\"%s\"", orders[i % 3]);
        cr_assert(strstr(json, want), "%s", json);
        cr_assert(strstr(json, "\"L0.bitfit.q\", \"L1.bitfit.q\""), "%s", json);
        free(json);
    }
}

Test(script_config, shipped_default_config) {
    struct run_config c;
    struct pf_err err = {0};
    cr_assert_eq(script_config_load("configs/default.lua", NULL, &c, &err), PF_OK, "%s", err.msg);
    cr_assert_float_eq(c.budget.fraction, 2e-3, 1e-18);
    cr_assert_eq(c.budget.params, 0);
    cr_assert_eq(c.search.baseline_lora, 1);
    cr_assert_str_eq(c.task.name, "wn_super");
    for (int k = 0; k < CFG_KIND_COUNT; k++)
        cr_assert_eq(c.space.group[k].enabled,
                     k == CFG_KIND_LORA || k == CFG_KIND_LRA || k == CFG_KIND_BITFIT ||
                         k == CFG_KIND_LN,
                     "kind %s", script_kind_name((enum cfg_kind)k));
    cr_assert_eq(c.space.group[CFG_KIND_LRA].reduction, 32);
    cr_assert_eq(c.model.family, CFG_FAMILY_BERT);
    cr_assert_eq(c.model.random_init, 0);
    cr_assert_eq(c.task.n_labels, 0); /* discovered from the training data */
    /* the paper's setting is kept as its own config */
    cr_assert_eq(script_config_load("configs/paper_bert_base.lua", NULL, &c, &err), PF_OK, "%s",
                 err.msg);
    cr_assert_float_eq(c.budget.fraction, 1.39e-4, 1e-18);
    cr_assert_eq(c.task.n_labels, 2);
    /* include + override (tiny.lua overrides a few fields of default.lua) */
    cr_assert_eq(script_config_load("configs/tiny.lua", NULL, &c, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(c.budget.params, 2000);
    cr_assert_float_eq(c.budget.fraction, 0, 0);
    cr_assert_eq(c.search.stages, 10);
    cr_assert_float_eq(c.search.trigger_threshold, 0.85, 0); /* kept from default.lua */
    cr_assert_eq(c.space.group[CFG_KIND_LRA].enabled, 0);    /* a space replaces, whole */
    cr_assert_eq(c.space.group[CFG_KIND_LORA].n_layers, 2);
    cr_assert_eq(c.space.group[CFG_KIND_LORA].ranks[2], 4);
}

/* ---- one exact message per kind of field ---- */

struct bad_case {
    const char *extra;  /* line 6 of base_config */
    const char *space;  /* NULL: the default line 5 */
    const char *want;   /* the message after the file name */
};

static const struct bad_case bad_cases[] = {
    /* integers: a string is not a number */
    {"", "{ lora = { ranks = { 1, \"8\" } } }",
     ":5: space.lora.ranks[2]: expected a positive integer, got \"8\""},
    {"", "{ lora = { ranks = { 1, 4.5 } } }",
     ":5: space.lora.ranks[2]: expected a positive integer, got 4.5"},
    {"", "{ lora = { ranks = { 4, 1 } } }",
     ":5: space.lora.ranks[2]: ranks must be strictly increasing"},
    {"", "{ lora = { ranks = {} } }", ":5: space.lora.ranks: expected at least one rank"},
    {"", "{ lora = { ranks = { 1, 4, x = 8 } } }",
     ":5: space.lora.ranks: expected a list (keys 1..n), found other keys"},
    {"threads = 2000,", NULL, ":6: threads: expected an integer in [0, 1024], got 2000"},
    {"seed = -1,", NULL, ":6: seed: expected a non-negative integer, got -1"},
    {"optim = { batch_size = 8.5 },", NULL,
     ":6: optim.batch_size: expected a positive integer, got 8.5"},
    {"optim = { batch_size = 2^21 },", NULL,
     ":6: optim.batch_size: expected a positive integer <= 1048576, got 2097152.0"},
    /* numbers */
    {"search = { trigger_threshold = 1.5 },", NULL,
     ":6: search.trigger_threshold: expected a number in [0, 1], got 1.5"},
    {"optim = { lr = \"3e-4\" },", NULL,
     ":6: optim.lr: expected a number in (0, 1], got \"3e-4\""},
    {"optim = { betas = { 0.9 } },", NULL,
     ":6: optim.betas: expected two numbers {beta1, beta2}"},
    {"optim = { betas = { 0.9, 1.0 } },", NULL,
     ":6: optim.betas[2]: expected a number in [0, 1), got 1.0"},
    /* strings and enums */
    {"", NULL, NULL}, /* placeholder replaced below (model.path) */
    {"mode = \"serch\",", NULL, ":6: mode: expected one of \"search\", \"train\", got \"serch\""},
    {"device = \"tpu\",", NULL, ":6: device: expected \"cpu\", \"cuda\" or \"cuda:N\", got \"tpu\""},
    {"policy = \"mine\",", NULL, ":6: policy: expected \"default\" or a .lua file, got \"mine\""},
    {"search = { criterion = \"grad\" },", NULL,
     ":6: search.criterion: expected one of \"tra_val_cos1\", \"tra\", \"val\", \"tra_val\", "
     "\"tra_val_cos2\", \"gate\", got \"grad\""},
    /* search: method and its settings */
    {"search = { method = \"darts\" },", NULL,
     ":6: search.method: expected one of \"bipeft\", \"s3delta\", \"manual\", \"random\", "
     "\"full\", got \"darts\""},
    {"search = { method = 1 },", NULL,
     ":6: search.method: expected one of \"bipeft\", \"s3delta\", \"manual\", \"random\", "
     "\"full\", got 1"},
    {"search = { order = \"rank_first\" },", NULL,
     ":6: search.order: expected one of \"alternate\", \"binary_then_rank\", "
     "\"rank_then_binary\", got \"rank_first\""},
    {"search = { early_stop = 1 },", NULL,
     ":6: search.early_stop: expected true or false, got 1"},
    {"search = { arch_reg = -0.5 },", NULL,
     ":6: search.arch_reg: expected a number in [0, inf], got -0.5"},
    {"search = { arch_reg = \"0.01\" },", NULL,
     ":6: search.arch_reg: expected a number in [0, inf], got \"0.01\""},
    {"search = { checkpoint_every = -1 },", NULL,
     ":6: search.checkpoint_every: expected a non-negative integer, got -1"},
    {"search = { checkpoint_every = 2.5 },", NULL,
     ":6: search.checkpoint_every: expected a non-negative integer, got 2.5"},
    {"search = { snapshot_every = 0 },", NULL,
     ":6: search.snapshot_every: expected a positive integer, got 0"},
    {"search = { snapshot_every = true },", NULL,
     ":6: search.snapshot_every: expected a positive integer, got true"},
    {"search = { retrain = \"yes\" },", NULL,
     ":6: search.retrain: expected true or false, got \"yes\""},
    {"search = { retrain_epochs = -1 },", NULL,
     ":6: search.retrain_epochs: expected an integer in [0, 100000], got -1"},
    {"search = { s3delta_beta = 0 },", NULL,
     ":6: search.s3delta_beta: expected a number in (0, inf], got 0"},
    {"search = { s3delta_beta = 1/0 },", NULL,
     ":6: search.s3delta_beta: expected a number in (0, inf], got inf"},
    {"search = { s3delta_rank = -1 },", NULL,
     ":6: search.s3delta_rank: expected an integer in [0, 65536], got -1"},
    {"search = { s3delta_rank = \"4\" },", NULL,
     ":6: search.s3delta_rank: expected an integer in [0, 65536], got \"4\""},
    {"search = { methd = \"bipeft\" },", NULL,
     ":6: search.methd: unknown key (expected one of: stages, trigger_threshold, "
     "trigger_window, ema, prune_begin_epoch, hard_stages, criterion, gumbel, iterative, "
     "method, order, early_stop, arch_reg, checkpoint_every, snapshot_every, pin, retrain, "
     "retrain_epochs, s3delta_beta, s3delta_rank, baseline, sens_norm, weight_rank, gate_grad, "
     "fill, stage_span)"},
    /* search.pin */
    {"search = { pin = \"L3.lora.q\" },", NULL,
     ":6: search.pin: expected a table, got \"L3.lora.q\""},
    {"search = { pin = { \"L3.lora.q\", 3 } },", NULL,
     ":6: search.pin[2]: expected a string, got 3"},
    {"search = { pin = { \"L3.lora.q\", \"L3.lroa.q\" } },", NULL,
     ":6: search.pin[2]: unknown module kind \"lroa\" in \"L3.lroa.q\" (expected lora, lra, "
     "bitfit, ln, serial_adapter, parallel_adapter, prefix, ia3)"},
    {"search = { pin = { \"final.ln\", \"L3.lora.x\" } },", NULL,
     ":6: search.pin[2]: unknown target \"x\" in \"L3.lora.x\" (expected q, k, v, o, ffn_up, "
     "ffn_down, ffn_gate, attn, ffn, attn_ln, ffn_ln, final_ln)"},
    {"search = { pin = { \"final.lora.q\" } },", NULL,
     ":6: search.pin[1]: unknown module kind \"lora.q\" in \"final.lora.q\" (expected lora, lra, "
     "bitfit, ln, serial_adapter, parallel_adapter, prefix, ia3)"},
    {"search = { pin = { \"layer3.lora.q\" } },", NULL,
     ":6: search.pin[1]: expected a module name \"L<layer>.<kind>.<target>\" (layer 0..255) or "
     "\"final.<kind>\", got \"layer3.lora.q\""},
    {"search = { pin = { \"L03.lora.q\" } },", NULL,
     ":6: search.pin[1]: expected a module name \"L<layer>.<kind>.<target>\" (layer 0..255) or "
     "\"final.<kind>\", got \"L03.lora.q\""},
    {"search = { pin = { \"L256.lora.q\" } },", NULL,
     ":6: search.pin[1]: expected a module name \"L<layer>.<kind>.<target>\" (layer 0..255) or "
     "\"final.<kind>\", got \"L256.lora.q\""},
    {"search = { pin = { \"L3.lora\" } },", NULL,
     ":6: search.pin[1]: expected a module name \"L<layer>.<kind>.<target>\", got \"L3.lora\""},
    {"search = { pin = { \"final.ln\", \"final.ln\" } },", NULL,
     ":6: search.pin[2]: module \"final.ln\" given twice"},
    {"search = { pin = { \"L1.lora.\" .. string.rep(\"q\", 60) } },", NULL,
     ":6: search.pin[1]: string too long or contains NUL (at most 63 bytes)"},
    {"search = { pin = { x = \"L1.lora.q\" } },", NULL,
     ":6: search.pin: expected a list (keys 1..n), found other keys"},
    {"search = { pin = (function() local t = {} for i = 1, 65 do t[i] = 'L1.lora.q' end "
     "return t end)() },", NULL, ":6: search.pin: at most 64 items, got 65"},
    /* booleans and tables */
    {"search = { gumbel = \"yes\" },", NULL,
     ":6: search.gumbel: expected true or false, got \"yes\""},
    {"optim = 3,", NULL, ":6: optim: expected a table, got 3"},
    /* unknown keys */
    {"sead = 1,", NULL,
     ":6: sead: unknown key (expected one of: mode, model, task, budget, space, optim, "
     "schedule, search, train, structure, seed, threads, device, session, policy)"},
    {"", "{ lora = { rnaks = { 1 } } }",
     ":5: space.lora.rnaks: unknown key (expected one of: layers, targets, ranks, alpha, "
     "dropout)"},
    {"", "{ lroa = {} }",
     ":5: space.lroa: unknown key (expected one of: lora, lra, bitfit, ln, serial_adapter, "
     "parallel_adapter, prefix, ia3)"},
    {"", "{ bitfit = { ranks = { 1 } } }",
     ":5: space.bitfit.ranks: unknown key (expected one of: layers, targets)"},
    /* targets and layers */
    {"", "{ lora = { targets = { \"q\", \"x\" } } }",
     ":5: space.lora.targets[2]: expected one of \"q\", \"k\", \"v\", \"o\", \"ffn_up\", "
     "\"ffn_down\", \"ffn_gate\", got \"x\""},
    {"", "{ lra = { targets = { \"q\" } } }",
     ":5: space.lra.targets[1]: expected one of \"attn\", \"ffn\", got \"q\""},
    {"", "{ lora = { layers = \"some\" } }",
     ":5: space.lora.layers: expected \"all\" or a list of layer indexes, got \"some\""},
    {"", "{ lora = { layers = { 0, 300 } } }",
     ":5: space.lora.layers[2]: expected an integer in [0, 255], got 300"},
    {"", "{}", ":5: space: expected at least one module kind (lora, ...)"},
    /* budget */
    {"budget = { params = 10, fraction = 0.1 },", NULL,
     ":6: budget: give exactly one of params (a parameter count) or fraction (of the "
     "backbone)"},
    {"budget = { params = 0 },", NULL, ":6: budget.params: expected a positive integer, got 0"},
    /* schedules */
    {"schedule = { tau = { kind = \"linaer\" } },", NULL,
     ":6: schedule.tau.kind: expected one of \"constant\", \"linear\", \"cosine\", \"step\", "
     "\"custom\", got \"linaer\""},
    {"schedule = { lr = { kind = \"step\", from = 1, gamma = 0.5 } },", NULL,
     ":6: schedule.lr.every: missing (required)"},
    {"schedule = { lr = { kind = \"custom\" } },", NULL,
     ":6: schedule.lr.fn: expected a function(t, total)"},
    {"schedule = { lr = { kind = \"constant\", value = 1, to = 0 } },", NULL,
     ":6: schedule.lr.to: unknown key (expected one of: kind, value)"},
    /* cross-field rules */
    {"model = { path = \"m\", family = \"bert\" },",
     "{ lora = { targets = { \"ffn_gate\" } } }",
     ":5: space.lora.targets: ffn_gate exists only in llama models (model.family is \"bert\")"},
    {"structure = \"s.json\",", NULL, ":6: structure: only used with mode = \"train\""},
    {"task = { name = \"t\", train = \"x\", type = \"regression\", labels = { \"a\", \"b\" } },",
     NULL, ":6: task.labels: a regression task has no labels"},
    {"task = { name = \"t\", train = \"x\", labels = { \"a\", \"a\" } },", NULL,
     ":6: task.labels[2]: label \"a\" given twice"},
    /* required keys; Lua errors keep Lua's own position */
    {"task = { train = \"x\" },", NULL, ":6: task.name: missing (required)"},
    {"seed = foo,", NULL, ":6: unknown global 'foo'"},
    {"seed = peft.lora{ rank = 4 },", NULL,
     ":6: peft.lora: unknown option 'rank' (expected one of: layers, targets, ranks, alpha, "
     "dropout)"},
};

/* One process for all cases (Criterion parameters may not hold pointers across processes). */
Test(script_config, bad_field_exact_message) {
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *bc = &bad_cases[i];
        const char *text, *want;
        if (!bc->want) { /* a string field given a number */
            text = "return {\n  model = { path = 5 },\n  task = { name = \"t\", train = \"x\" },\n"
                   "  budget = { params = 1 },\n  space = { ia3 = {} },\n}\n";
            want = ":2: model.path: expected a string, got 5";
        } else {
            text = base_config(bc->extra, bc->space);
            want = bc->want;
        }
        const char *path = write_file("c.lua", text);
        char full[512];
        snprintf(full, sizeof full, "%s%s", path, want);
        struct run_config c;
        struct pf_err err = {0};
        cr_assert_neq(script_config_load(path, NULL, &c, &err), PF_OK, "case %zu accepted: %s", i,
                      text);
        cr_expect_str_eq(err.msg, full, "case %zu:\n got  %s\n want %s", i, err.msg, full);
    }
}

Test(script_config, not_a_table_and_syntax_errors) {
    struct run_config c;
    struct pf_err err = {0};
    const char *p = write_file("n.lua", "return 42\n");
    cr_assert_eq(script_config_load(p, NULL, &c, &err), PF_ERR_SCRIPT);
    cr_assert(strstr(err.msg, "n.lua:1: the config must return a table, got 42"), "%s", err.msg);
    p = write_file("s.lua", "return {\n  seed = ,\n}\n");
    cr_assert_eq(script_config_load(p, NULL, &c, &err), PF_ERR_SCRIPT);
    cr_assert(strstr(err.msg, "s.lua:2: unexpected symbol near ','"), "%s", err.msg);
    cr_assert_eq(script_config_load("/nonexistent/x.lua", NULL, &c, &err), PF_ERR_IO);
    cr_assert(strstr(err.msg, "/nonexistent/x.lua: cannot open"), "%s", err.msg);
}

Test(script_config, include_errors_name_the_included_file) {
    struct run_config c;
    struct pf_err err = {0};
    write_file("base.lua", base_config("threads = \"two\",", NULL));
    const char *p = write_file("top.lua", "return include(\"base.lua\", { seed = 7 })\n");
    cr_assert_eq(script_config_load(p, NULL, &c, &err), PF_ERR_SCRIPT);
    cr_assert(strstr(err.msg, "base.lua:6: threads: expected an integer in [0, 1024], got \"two\""),
              "%s", err.msg);
    p = write_file("esc.lua", "return include(\"../etc/passwd.lua\")\n");
    cr_assert_eq(script_config_load(p, NULL, &c, &err), PF_ERR_SCRIPT);
    cr_assert(strstr(err.msg, "without '..'"), "%s", err.msg);
    p = write_file("loop.lua", "return include(\"loop.lua\")\n");
    cr_assert_eq(script_config_load(p, NULL, &c, &err), PF_ERR_SCRIPT);
    cr_assert(strstr(err.msg, "nested deeper than 16"), "%s", err.msg);
    /* peft.none removes an included key; the default comes back */
    write_file("base2.lua", base_config("seed = 9,", NULL));
    p = write_file("top2.lua", "return include(\"base2.lua\", { seed = peft.none })\n");
    cr_assert_eq(script_config_load(p, NULL, &c, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(c.seed, 42);
}

/* ---- through the binary ---- */

static int run_bin(const char *args, char *out, size_t outsz, int want_stderr) {
    return check_run_shell(args, want_stderr ? "stderr" : "stdout", out, outsz);
}

Test(script_config, check_config_accepts_every_shipped_config) {
    static char out[1 << 18];
    cr_assert_eq(run_bin("check-config configs/*.lua", out, sizeof out, 0), 0);
    cr_assert(out[0] == '[', "%.200s", out);
    int n = 0;
    for (const char *s = out; (s = strstr(s, "\"file\":")); s++)
        n++;
    cr_assert_geq(n, 8, "%d configs", n);
    cr_assert_eq(run_bin("check-config configs/default.lua", out, sizeof out, 0), 0);
    /* the selection settings that won issue 18's ablations (docs/SEARCH.md) */
    cr_assert(strstr(out, "\"trigger_threshold\":\t0.85") && strstr(out, "\"ranks\":\t[1, 2]") &&
                  strstr(out, "\"sens_norm\":\t\"rank\"") && strstr(out, "\"fill\":\ttrue"),
              "%s", out);
}

Test(script_config, check_config_reports_file_line_and_exits_2) {
    char out[4096];
    const char *p = write_file("cli.lua", base_config("", "{ lora = { ranks = { 1, \"8\" } } }"));
    char args[512];
    snprintf(args, sizeof args, "check-config %s", p);
    cr_assert_eq(run_bin(args, out, sizeof out, 1), 2);
    char want[512];
    snprintf(want, sizeof want, "%s:5: space.lora.ranks[2]: expected a positive integer, got "
                                "\"8\"\n", p);
    cr_assert_str_eq(out, want);
    cr_assert_eq(run_bin("check-config", out, sizeof out, 1), 2);
}
