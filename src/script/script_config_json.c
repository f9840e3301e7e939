/* script_config_json.c - the resolved struct run_config as JSON (for `bipeft check-config`
 * and session files) and as a Lua table (what policies receive). One cJSON tree serves both,
 * so the two can never disagree. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <lua.h>

#include "script/script_config.h"
#include "util/xalloc.h"

static const char *const mode_names[] = {"search", "train"};
static const char *const family_names[] = {"auto", "bert", "roberta", "gpt2", "llama"};
static const char *const type_names[] = {"classification", "regression"};
static const char *const format_names[] = {"auto", "tsv", "csv", "jsonl"};
static const char *const sched_names[] = {"constant", "linear", "cosine", "step", "custom"};
static const char *const order_names[] = {"alternate", "binary_then_rank", "rank_then_binary"};

static cJSON *int_array(const int *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

static cJSON *sched_json(const struct cfg_schedule *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", sched_names[s->kind]);
    switch (s->kind) {
    case CFG_SCHED_CONSTANT: cJSON_AddNumberToObject(o, "value", s->value); break;
    case CFG_SCHED_LINEAR:
    case CFG_SCHED_COSINE:
        cJSON_AddNumberToObject(o, "from", s->from);
        cJSON_AddNumberToObject(o, "to", s->to);
        cJSON_AddNumberToObject(o, "warmup", (double)s->warmup);
        break;
    case CFG_SCHED_STEP:
        cJSON_AddNumberToObject(o, "from", s->from);
        cJSON_AddNumberToObject(o, "gamma", s->gamma);
        cJSON_AddNumberToObject(o, "every", (double)s->every);
        break;
    case CFG_SCHED_CUSTOM: break;
    }
    return o;
}

static cJSON *group_json(enum cfg_kind k, const struct cfg_group *g) {
    cJSON *o = cJSON_CreateObject();
    if (k != CFG_KIND_PREFIX) {
        cJSON *t = cJSON_AddArrayToObject(o, "targets");
        for (int i = 0; i < CFG_T_COUNT; i++)
            if (g->targets & (1u << i))
                cJSON_AddItemToArray(t, cJSON_CreateString(script_target_name((enum cfg_target)i)));
    }
    if (g->n_ranks)
        cJSON_AddItemToObject(o, "ranks", int_array(g->ranks, g->n_ranks));
    if (g->all_layers)
        cJSON_AddStringToObject(o, "layers", "all");
    else
        cJSON_AddItemToObject(o, "layers", int_array(g->layers, g->n_layers));
    if (k == CFG_KIND_LORA) {
        cJSON_AddNumberToObject(o, "alpha", g->alpha);
        cJSON_AddNumberToObject(o, "dropout", g->dropout);
    }
    if (k == CFG_KIND_LRA)
        cJSON_AddNumberToObject(o, "reduction", g->reduction);
    return o;
}

static void add_opt_string(cJSON *o, const char *key, const char *s) {
    if (s[0])
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

/* Add the model and task objects (paths, columns, labels) to r. */
static void add_model_task(cJSON *r, const struct run_config *c) {
    cJSON *m = cJSON_AddObjectToObject(r, "model");
    cJSON_AddStringToObject(m, "path", c->model.path);
    cJSON_AddStringToObject(m, "family", family_names[c->model.family]);
    cJSON_AddStringToObject(m, "init", c->model.random_init ? "random" : "pretrained");

    cJSON *t = cJSON_AddObjectToObject(r, "task");
    cJSON_AddStringToObject(t, "name", c->task.name);
    cJSON_AddStringToObject(t, "type", type_names[c->task.type]);
    cJSON_AddStringToObject(t, "format", format_names[c->task.format]);
    cJSON_AddStringToObject(t, "train", c->task.train);
    add_opt_string(t, "dev", c->task.dev);
    add_opt_string(t, "test", c->task.test);
    cJSON *col = cJSON_AddObjectToObject(t, "columns");
    cJSON_AddStringToObject(col, "text", c->task.text_column);
    add_opt_string(col, "pair", c->task.pair_column);
    cJSON_AddStringToObject(col, "label", c->task.label_column);
    /* no labels: discovered from the training data (an empty list would not load back) */
    cJSON *lab = c->task.n_labels > 0 ? cJSON_AddArrayToObject(t, "labels") : NULL;
    for (int i = 0; i < c->task.n_labels; i++)
        cJSON_AddItemToArray(lab, cJSON_CreateString(c->task.labels[i]));
    cJSON_AddNumberToObject(t, "max_len", c->task.max_len);
    cJSON_AddNumberToObject(t, "search_split", c->task.search_split);
}

/* Add the budget, space, optim and schedule objects to r. */
static void add_budget_optim(cJSON *r, const struct run_config *c) {
    cJSON *b = cJSON_AddObjectToObject(r, "budget");
    if (c->budget.params)
        cJSON_AddNumberToObject(b, "params", (double)c->budget.params);
    else
        cJSON_AddNullToObject(b, "params");
    if (c->budget.fraction > 0)
        cJSON_AddNumberToObject(b, "fraction", c->budget.fraction);
    else
        cJSON_AddNullToObject(b, "fraction");

    cJSON *sp = cJSON_AddObjectToObject(r, "space");
    for (int k = 0; k < CFG_KIND_COUNT; k++)
        if (c->space.group[k].enabled)
            cJSON_AddItemToObject(sp, script_kind_name((enum cfg_kind)k),
                                  group_json((enum cfg_kind)k, &c->space.group[k]));

    cJSON *o = cJSON_AddObjectToObject(r, "optim");
    cJSON_AddNumberToObject(o, "lr", c->optim.lr);
    cJSON_AddNumberToObject(o, "arch_lr", c->optim.arch_lr);
    cJSON_AddNumberToObject(o, "weight_decay", c->optim.weight_decay);
    cJSON_AddNumberToObject(o, "arch_weight_decay", c->optim.arch_weight_decay);
    cJSON_AddItemToObject(o, "betas", cJSON_CreateDoubleArray(c->optim.betas, 2));
    cJSON_AddItemToObject(o, "arch_betas", cJSON_CreateDoubleArray(c->optim.arch_betas, 2));
    cJSON_AddNumberToObject(o, "eps", c->optim.eps);
    cJSON_AddNumberToObject(o, "clip", c->optim.clip);
    cJSON_AddNumberToObject(o, "batch_size", c->optim.batch_size);
    cJSON_AddNumberToObject(o, "epochs", c->optim.epochs);
    cJSON_AddNumberToObject(o, "grad_accum", c->optim.grad_accum);

    cJSON *sc = cJSON_AddObjectToObject(r, "schedule");
    cJSON_AddItemToObject(sc, "lr", sched_json(&c->schedule.lr));
    cJSON_AddItemToObject(sc, "arch_lr", sched_json(&c->schedule.arch_lr));
    cJSON_AddItemToObject(sc, "tau", sched_json(&c->schedule.tau));
}

/* Add the search object (stages, selection, retraining) to r. */
static void add_search(cJSON *r, const struct run_config *c) {
    cJSON *s = cJSON_AddObjectToObject(r, "search");
    cJSON_AddNumberToObject(s, "stages", c->search.stages);
    cJSON_AddNumberToObject(s, "trigger_threshold", c->search.trigger_threshold);
    cJSON_AddNumberToObject(s, "trigger_window", c->search.trigger_window);
    cJSON_AddNumberToObject(s, "ema", c->search.ema);
    cJSON_AddNumberToObject(s, "prune_begin_epoch", c->search.prune_begin_epoch);
    cJSON_AddNumberToObject(s, "hard_stages", c->search.hard_stages);
    cJSON_AddStringToObject(s, "criterion", c->search.criterion);
    cJSON_AddBoolToObject(s, "gumbel", c->search.gumbel);
    cJSON_AddBoolToObject(s, "iterative", c->search.iterative);
    cJSON_AddStringToObject(s, "method", cfg_method_name(c->search.method));
    cJSON_AddStringToObject(s, "order", order_names[c->search.order]);
    cJSON_AddBoolToObject(s, "early_stop", c->search.early_stop);
    cJSON_AddNumberToObject(s, "arch_reg", c->search.arch_reg);
    cJSON_AddNumberToObject(s, "checkpoint_every", (double)c->search.checkpoint_every);
    cJSON_AddNumberToObject(s, "snapshot_every", (double)c->search.snapshot_every);
    cJSON *pin = cJSON_AddArrayToObject(s, "pin");
    for (int i = 0; i < c->search.n_pin; i++)
        cJSON_AddItemToArray(pin, cJSON_CreateString(c->search.pin[i]));
    cJSON_AddBoolToObject(s, "retrain", c->search.retrain);
    cJSON_AddNumberToObject(s, "retrain_epochs", c->search.retrain_epochs);
    cJSON_AddNumberToObject(s, "s3delta_beta", c->search.s3delta_beta);
    cJSON_AddNumberToObject(s, "s3delta_rank", c->search.s3delta_rank);
    cJSON_AddStringToObject(s, "baseline", c->search.baseline_lora ? "lora" : "none");
    cJSON_AddStringToObject(s, "sens_norm", cfg_sens_norm_names[c->search.sens_norm]);
    cJSON_AddStringToObject(s, "weight_rank", cfg_weight_rank_names[c->search.weight_rank]);
    cJSON_AddStringToObject(s, "gate_grad", cfg_gate_grad_names[c->search.gate_grad_sampled]);
    cJSON_AddBoolToObject(s, "fill", c->search.fill);
    cJSON_AddNumberToObject(s, "stage_span", c->search.stage_span);
}

static cJSON *config_json(const struct run_config *c) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "file", c->file);
    cJSON_AddStringToObject(r, "mode", mode_names[c->mode]);
    add_model_task(r, c);
    add_budget_optim(r, c);
    add_search(r, c);

    cJSON *tr = cJSON_AddObjectToObject(r, "train");
    cJSON_AddBoolToObject(tr, "full", c->train.full);
    cJSON_AddBoolToObject(tr, "head", c->train.head);
    cJSON_AddNumberToObject(tr, "eval_every", (double)c->train.eval_every);
    cJSON_AddNumberToObject(tr, "patience", c->train.patience);
    cJSON_AddNumberToObject(tr, "max_nan_skips", c->train.max_nan_skips);
    cJSON_AddBoolToObject(tr, "skip_bad_rows", c->train.skip_bad_rows);
    cJSON_AddNumberToObject(tr, "max_steps", (double)c->train.max_steps);
    cJSON_AddNumberToObject(tr, "log_every", c->train.log_every);
    add_opt_string(tr, "name", c->train.name);

    add_opt_string(r, "structure", c->structure);
    cJSON_AddNumberToObject(r, "seed", (double)c->seed);
    cJSON_AddNumberToObject(r, "threads", c->threads);
    cJSON_AddStringToObject(r, "device", c->device);
    cJSON_AddStringToObject(r, "session", c->session);
    cJSON_AddStringToObject(r, "policy", c->policy);
    return r;
}

char *script_config_to_json(const struct run_config *cfg) {
    cJSON *r = config_json(cfg);
    char *s = cJSON_Print(r);
    cJSON_Delete(r);
    if (!s) {
        s = xstrdup("null");
    }
    return s;
}

/* ---- the same tree as a Lua table ---- */

static void push_json(lua_State *L, const cJSON *j) {
    if (cJSON_IsObject(j) || cJSON_IsArray(j)) {
        lua_newtable(L);
        int i = 1;
        for (const cJSON *c = j->child; c; c = c->next, i++) {
            if (cJSON_IsNull(c))
                continue; /* absent in Lua */
            push_json(L, c);
            if (cJSON_IsArray(j))
                lua_rawseti(L, -2, i);
            else
                lua_setfield(L, -2, c->string);
        }
    } else if (cJSON_IsString(j)) {
        lua_pushstring(L, j->valuestring);
    } else if (cJSON_IsBool(j)) {
        lua_pushboolean(L, cJSON_IsTrue(j));
    } else if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (d == floor(d) && fabs(d) < 9.0e15)
            lua_pushinteger(L, (lua_Integer)d);
        else
            lua_pushnumber(L, d);
    } else {
        lua_pushnil(L);
    }
}

static int push_tree(lua_State *L) {
    push_json(L, lua_touserdata(L, 1));
    return 1;
}

void script_config_push(struct script *S, const struct run_config *cfg, int raw) {
    lua_State *L = script_lua(S);
    if (raw)
        raw = lua_absindex(L, raw);
    cJSON *r = config_json(cfg);
    /* push_json may raise (memory): run it protected so that the tree is always freed */
    lua_pushcfunction(L, push_tree);
    lua_pushlightuserdata(L, r);
    int rc = lua_pcall(L, 1, 1, 0);
    cJSON_Delete(r);
    if (rc != LUA_OK)
        lua_error(L);
    if (!raw)
        return;
    static const char *const names[] = {"lr", "arch_lr", "tau"};
    const struct cfg_schedule *sch[] = {&cfg->schedule.lr, &cfg->schedule.arch_lr,
                                        &cfg->schedule.tau};
    for (int i = 0; i < 3; i++) {
        if (sch[i]->kind != CFG_SCHED_CUSTOM)
            continue;
        lua_getfield(L, -1, "schedule");
        lua_getfield(L, -1, names[i]);          /* cfg sched s */
        lua_pushliteral(L, "schedule");
        lua_rawget(L, raw);
        lua_pushstring(L, names[i]);
        lua_rawget(L, -2);
        lua_pushliteral(L, "fn");
        lua_rawget(L, -2);                      /* cfg sched s rawsched rawS fn */
        lua_setfield(L, -4, "fn");
        lua_pop(L, 4);
    }
}
