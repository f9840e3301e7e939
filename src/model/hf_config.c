/* hf_config.c - config.json -> struct model_config with type, range and cross-field checks.
 * Unknown keys are ignored (HF configs carry many fields that do not change the
 * computation); fields that would change it in ways we do not implement are refused. */
#include "model/hf_config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/xalloc.h"
#include "util/file.h"

#define CONFIG_MAX_BYTES (16u << 20) /* a config.json is a few KB; refuse anything absurd */

const char *hf_family_name(enum model_family f) {
    static const char *n[] = {"bert", "roberta", "gpt2", "llama"};
    return (unsigned)f < 4 ? n[f] : "?";
}

const char *hf_head_name(enum model_head h) {
    static const char *n[] = {"none", "sequence-classification", "masked-lm", "causal-lm"};
    return (unsigned)h < 4 ? n[h] : "?";
}

enum gelu_kind hf_gelu_kind(enum model_act a) {
    return a == ACT_GELU_TANH ? GELU_TANH : GELU_ERF;
}

/* ---- typed field access; every failure names the path and the field ---- */

struct cfg_ctx {
    const cJSON *root;
    const char *path;
    struct pf_err *err;
};

static const char *json_type_name(const cJSON *v) {
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsArray(v)) return "an array";
    return "an object";
}

/* *v = the value of key, or NULL when it is absent or null (an error when required). */
static pf_status lookup(struct cfg_ctx *x, const char *key, int required, const cJSON **v) {
    *v = cJSON_GetObjectItemCaseSensitive(x->root, key);
    if (*v && cJSON_IsNull(*v))
        *v = NULL;
    if (!*v && required)
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "missing required field '%s'", key);
    return PF_OK;
}

/* Integer field in [lo, hi]. Absent or null: *out = def when !required. */
static pf_status get_int(struct cfg_ctx *x, const char *key, int required, long long def,
                         long long lo, long long hi, int *out) {
    const cJSON *v;
    pf_status st = lookup(x, key, required, &v);
    if (st != PF_OK || !v) {
        *out = (int)def;
        return st;
    }
    if (!cJSON_IsNumber(v))
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "%s: expected an integer, got %s",
                          key, json_type_name(v));
    double d = v->valuedouble;
    if (!(d == floor(d)) || fabs(d) > 9.0e15)
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "%s: expected an integer, got %.17g",
                          key, d);
    if (d < (double)lo || d > (double)hi)
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "%s: %.0f is outside [%lld, %lld]",
                          key, d, lo, hi);
    *out = (int)d;
    return PF_OK;
}

/* Positive finite number; absent or null gives def when !required. */
static pf_status get_pos(struct cfg_ctx *x, const char *key, int required, double def,
                         double *out) {
    const cJSON *v;
    pf_status st = lookup(x, key, required, &v);
    if (st != PF_OK || !v) {
        *out = def;
        return st;
    }
    if (!cJSON_IsNumber(v))
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "%s: expected a number, got %s", key,
                         json_type_name(v));
    if (!(v->valuedouble > 0.0) || !isfinite(v->valuedouble))
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "%s: %g must be a positive number",
                          key, v->valuedouble);
    *out = v->valuedouble;
    return PF_OK;
}

static pf_status get_bool(struct cfg_ctx *x, const char *key, int def, int *out) {
    const cJSON *v;
    lookup(x, key, 0, &v);
    if (!v) {
        *out = def;
        return PF_OK;
    }
    if (!cJSON_IsBool(v))
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "%s: expected true or false, got %s",
                          key, json_type_name(v));
    *out = cJSON_IsTrue(v);
    return PF_OK;
}

/* String field copied into buf; absent/null gives "" (or an error when required). */
static pf_status get_str(struct cfg_ctx *x, const char *key, int required, char *buf,
                         size_t bufsz) {
    const cJSON *v;
    buf[0] = '\0';
    pf_status st = lookup(x, key, required, &v);
    if (st != PF_OK || !v)
        return st;
    if (!cJSON_IsString(v))
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "%s: expected a string, got %s", key,
                         json_type_name(v));
    if (strlen(v->valuestring) >= bufsz)
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "%s: value longer than %zu bytes",
                          key, bufsz - 1);
    strcpy(buf, v->valuestring);
    return PF_OK;
}

/* Token id fields: absent, null or (in some configs) a list; we take an integer or -1. */
static pf_status get_token_id(struct cfg_ctx *x, const char *key, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(x->root, key);
    if (v && cJSON_IsArray(v)) /* LLaMA-3.1 lists several eos ids: the first is the eos */
        v = cJSON_GetArrayItem(v, 0);
    if (!v || cJSON_IsNull(v)) {
        *out = -1;
        return PF_OK;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < 0 || v->valuedouble >= HF_MAX_VOCAB)
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "%s: expected a token id in [0, %d)",
                          key, HF_MAX_VOCAB);
    *out = (int)v->valuedouble;
    return PF_OK;
}

static pf_status parse_act(struct cfg_ctx *x, const char *key, const char *def,
                           enum model_act *out) {
    char s[32];
    pf_status st = get_str(x, key, 0, s, sizeof s);
    if (st != PF_OK)
        return st;
    if (!s[0])
        strcpy(s, def);
    if (!strcmp(s, "gelu"))
        *out = ACT_GELU_ERF;
    else if (!strcmp(s, "gelu_new") || !strcmp(s, "gelu_pytorch_tanh") ||
             !strcmp(s, "gelu_fast"))
        *out = ACT_GELU_TANH;
    else if (!strcmp(s, "relu"))
        *out = ACT_RELU;
    else if (!strcmp(s, "silu") || !strcmp(s, "swish"))
        *out = ACT_SILU;
    else
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "%s: unsupported activation '%s' "
                          "(supported: gelu, gelu_new, gelu_pytorch_tanh, relu, silu)", key, s);
    return PF_OK;
}

/* ---- head and labels ---- */

static enum model_head head_of(const char *arch) {
    size_t n = strlen(arch);
    static const struct { const char *suffix; enum model_head head; } map[] = {
        {"ForSequenceClassification", HEAD_SEQ_CLS}, {"ForMaskedLM", HEAD_MLM},
        {"LMHeadModel", HEAD_LM}, {"ForCausalLM", HEAD_LM}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t k = strlen(map[i].suffix);
        if (n >= k && !strcmp(arch + n - k, map[i].suffix))
            return map[i].head;
    }
    return HEAD_NONE;
}

static pf_status parse_labels(struct cfg_ctx *x, struct model_config *c) {
    const cJSON *id2label = cJSON_GetObjectItemCaseSensitive(x->root, "id2label");
    int n_map = 0;
    if (id2label && !cJSON_IsNull(id2label)) {
        if (!cJSON_IsObject(id2label))
            return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "id2label: expected an object, got %s",
                              json_type_name(id2label));
        n_map = cJSON_GetArraySize(id2label);
        const cJSON *e;
        cJSON_ArrayForEach(e, id2label) {
            char *end;
            errno = 0;
            long id = strtol(e->string, &end, 10);
            if (errno || end == e->string || *end || id < 0 || id >= n_map)
                return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "id2label: key '%s' is not an id "
                                  "in [0, %d)", e->string, n_map);
            if (!cJSON_IsString(e))
                return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "id2label.%s: expected a string",
                                  e->string);
            if (id < 8)
                snprintf(c->labels[id], sizeof c->labels[id], "%s", e->valuestring);
        }
    }
    pf_status st = get_int(x, "num_labels", 0, n_map ? n_map : 2, 1, HF_MAX_LABELS,
                           &c->num_labels);
    if (st != PF_OK)
        return st;
    if (n_map && c->num_labels != n_map)
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "num_labels %d disagrees with id2label "
                          "(%d entries)", c->num_labels, n_map);
    char problem[48];
    st = get_str(x, "problem_type", 0, problem, sizeof problem);
    if (st != PF_OK)
        return st;
    if (problem[0] && strcmp(problem, "regression") &&
        strcmp(problem, "single_label_classification"))
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "problem_type: unsupported '%s' "
                          "(regression or single_label_classification)", problem);
    c->regression = !strcmp(problem, "regression") || (!problem[0] && c->num_labels == 1);
    return PF_OK;
}

/* ---- families ---- */

static pf_status parse_encoder(struct cfg_ctx *x, struct model_config *c) {
    pf_status st = PF_OK;
    double eps;
    char pet[32];
    PF_STEP(st, get_int(x, "vocab_size", 1, 0, 1, HF_MAX_VOCAB, &c->vocab));
    PF_STEP(st, get_int(x, "hidden_size", 1, 0, 1, HF_MAX_HIDDEN, &c->hidden));
    PF_STEP(st, get_int(x, "num_hidden_layers", 1, 0, 1, HF_MAX_LAYERS, &c->layers));
    PF_STEP(st, get_int(x, "num_attention_heads", 1, 0, 1, HF_MAX_HEADS, &c->heads));
    PF_STEP(st, get_int(x, "intermediate_size", 1, 0, 1, HF_MAX_FFN, &c->ffn));
    PF_STEP(st, get_int(x, "max_position_embeddings", 1, 0, 1, HF_MAX_POSITIONS, &c->max_pos));
    PF_STEP(st, get_int(x, "type_vocab_size", 0, 2, 1, 1024, &c->type_vocab));
    PF_STEP(st, get_pos(x, "layer_norm_eps", 0, 1e-12, &eps));
    PF_STEP(st, parse_act(x, "hidden_act", "gelu", &c->act));
    PF_STEP(st, get_str(x, "position_embedding_type", 0, pet, sizeof pet));
    if (st != PF_OK)
        return st;
    if (pet[0] && strcmp(pet, "absolute"))
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "position_embedding_type: '%s' is not "
                          "supported (absolute only)", pet);
    c->kv_heads = c->heads;
    c->norm_eps = (float)eps;
    c->tie_word_embeddings = 1;
    if (c->family == FAM_ROBERTA) {
        if (c->pad_id < 0)
            return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "pad_token_id: required for roberta "
                              "(position ids start after it)");
        c->pos_offset = c->pad_id + 1;
        if (c->max_pos <= c->pos_offset)
            return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "max_position_embeddings %d leaves no "
                              "positions after pad_token_id %d", c->max_pos, c->pad_id);
    }
    return PF_OK;
}

static pf_status parse_gpt2(struct cfg_ctx *x, struct model_config *c) {
    pf_status st = PF_OK;
    double eps;
    int scale = 1, inv_layer = 0;
    PF_STEP(st, get_int(x, "vocab_size", 1, 0, 1, HF_MAX_VOCAB, &c->vocab));
    PF_STEP(st, get_int(x, "n_embd", 1, 0, 1, HF_MAX_HIDDEN, &c->hidden));
    PF_STEP(st, get_int(x, "n_layer", 1, 0, 1, HF_MAX_LAYERS, &c->layers));
    PF_STEP(st, get_int(x, "n_head", 1, 0, 1, HF_MAX_HEADS, &c->heads));
    PF_STEP(st, get_int(x, "n_positions", 1, 0, 1, HF_MAX_POSITIONS, &c->max_pos));
    PF_STEP(st, get_pos(x, "layer_norm_epsilon", 0, 1e-5, &eps));
    PF_STEP(st, parse_act(x, "activation_function", "gelu_new", &c->act));
    PF_STEP(st, get_bool(x, "scale_attn_weights", 1, &scale));
    PF_STEP(st, get_bool(x, "scale_attn_by_inverse_layer_idx", 0, &inv_layer));
    PF_STEP(st, get_bool(x, "tie_word_embeddings", 1, &c->tie_word_embeddings));
    if (st != PF_OK)
        return st;
    if (!scale || inv_layer)
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "scale_attn_weights false or "
                          "scale_attn_by_inverse_layer_idx true is not supported");
    if (c->hidden > HF_MAX_FFN / 4)
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "n_embd %d too large", c->hidden);
    PF_STEP(st, get_int(x, "n_inner", 0, 4LL * c->hidden, 1, HF_MAX_FFN, &c->ffn));
    c->kv_heads = c->heads;
    c->norm_eps = (float)eps;
    c->attn_bias = c->o_bias = c->mlp_bias = 1;
    return st;
}

static pf_status parse_llama(struct cfg_ctx *x, struct model_config *c) {
    pf_status st = PF_OK;
    double eps;
    int attention_bias = 0;
    PF_STEP(st, get_int(x, "vocab_size", 1, 0, 1, HF_MAX_VOCAB, &c->vocab));
    PF_STEP(st, get_int(x, "hidden_size", 1, 0, 1, HF_MAX_HIDDEN, &c->hidden));
    PF_STEP(st, get_int(x, "num_hidden_layers", 1, 0, 1, HF_MAX_LAYERS, &c->layers));
    PF_STEP(st, get_int(x, "num_attention_heads", 1, 0, 1, HF_MAX_HEADS, &c->heads));
    PF_STEP(st, get_int(x, "intermediate_size", 1, 0, 1, HF_MAX_FFN, &c->ffn));
    PF_STEP(st, get_int(x, "max_position_embeddings", 0, 2048, 1, HF_MAX_POSITIONS,
                        &c->max_pos));
    PF_STEP(st, get_pos(x, "rms_norm_eps", 0, 1e-6, &eps));
    PF_STEP(st, get_pos(x, "rope_theta", 0, 10000.0, &c->rope_theta));
    PF_STEP(st, parse_act(x, "hidden_act", "silu", &c->act));
    PF_STEP(st, get_bool(x, "attention_bias", 0, &attention_bias));
    PF_STEP(st, get_bool(x, "mlp_bias", 0, &c->mlp_bias));
    PF_STEP(st, get_bool(x, "tie_word_embeddings", 0, &c->tie_word_embeddings));
    PF_STEP(st, get_int(x, "sliding_window", 0, 0, 0, HF_MAX_POSITIONS, &c->sliding_window));
    int use_sw = 1; /* Qwen2 configs carry a window they do not use */
    PF_STEP(st, get_bool(x, "use_sliding_window", 1, &use_sw));
    if (!use_sw)
        c->sliding_window = 0;
    if (st != PF_OK)
        return st;
    PF_STEP(st, get_int(x, "num_key_value_heads", 0, c->heads, 1, HF_MAX_HEADS, &c->kv_heads));
    PF_STEP(st, get_int(x, "head_dim", 0, c->hidden % c->heads ? 0 : c->hidden / c->heads, 1,
                        4096, &c->head_dim));
    if (st != PF_OK)
        return st;
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(x->root, "rope_scaling");
    if (rs && !cJSON_IsNull(rs))
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "rope_scaling: not supported yet (only "
                          "plain RoPE with rope_theta)");
    if (c->act != ACT_SILU)
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "hidden_act: the LLaMA MLP supports silu "
                          "only");
    if (c->head_dim % 2)
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "head_dim %d must be even for RoPE",
                          c->head_dim);
    c->norm_eps = (float)eps;
    /* Qwen2 always has q/k/v biases and no o_proj bias; LLaMA's attention_bias covers all four */
    int qwen2 = !strcmp(c->model_type, "qwen2");
    c->attn_bias = qwen2 || attention_bias;
    c->o_bias = !qwen2 && attention_bias;
    return PF_OK;
}

/* ---- cross-field rules (shared) ---- */

static pf_status check_consistency(struct cfg_ctx *x, struct model_config *c) {
    if (c->family != FAM_LLAMA || c->head_dim == 0) {
        if (c->hidden % c->heads != 0)
            return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "num_attention_heads %d does not "
                              "divide hidden_size %d", c->heads, c->hidden);
        if (c->head_dim == 0)
            c->head_dim = c->hidden / c->heads;
    }
    if (c->heads % c->kv_heads != 0)
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "num_key_value_heads %d does not divide "
                          "num_attention_heads %d", c->kv_heads, c->heads);
    if ((long long)c->heads * c->head_dim > HF_MAX_HIDDEN)
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "heads x head_dim = %lld exceeds %d",
                          (long long)c->heads * c->head_dim, HF_MAX_HIDDEN);
    const int ids[3] = {c->pad_id, c->bos_id, c->eos_id};
    const char *names[3] = {"pad_token_id", "bos_token_id", "eos_token_id"};
    for (int i = 0; i < 3; i++)
        if (ids[i] >= c->vocab)
            return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "%s %d is not below vocab_size %d",
                              names[i], ids[i], c->vocab);
    if (c->head == HEAD_MLM && c->family != FAM_BERT && c->family != FAM_ROBERTA)
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "architectures: %s is a masked-LM head "
                          "on a decoder", c->architecture);
    if (c->head == HEAD_LM && (c->family == FAM_BERT || c->family == FAM_ROBERTA))
        return pf_err_at(x->err, PF_ERR_FORMAT, x->path, "architectures: %s (causal LM head) is "
                          "not supported for encoders", c->architecture);
    return PF_OK;
}

pf_status hf_config_parse(struct model_config *c, const char *json, size_t len,
                          const char *path, struct pf_err *err) {
    memset(c, 0, sizeof *c);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        size_t at = end && end >= json ? (size_t)(end - json) : 0;
        return pf_err_set(err, PF_ERR_FORMAT, "%s: not valid JSON (near byte %zu)", path, at);
    }
    struct cfg_ctx x = {root, path, err};
    pf_status st = PF_OK;
    if (!cJSON_IsObject(root)) {
        st = pf_err_set(err, PF_ERR_FORMAT, "%s: expected a JSON object at the top", path);
        goto out;
    }
    st = get_str(&x, "model_type", 1, c->model_type, sizeof c->model_type);
    if (st != PF_OK)
        goto out;
    if (!strcmp(c->model_type, "bert"))
        c->family = FAM_BERT;
    else if (!strcmp(c->model_type, "roberta"))
        c->family = FAM_ROBERTA;
    else if (!strcmp(c->model_type, "gpt2"))
        c->family = FAM_GPT2;
    else if (!strcmp(c->model_type, "llama") || !strcmp(c->model_type, "mistral") ||
             !strcmp(c->model_type, "qwen2"))
        c->family = FAM_LLAMA;
    else {
        st = pf_err_set(err, PF_ERR_FORMAT, "%s: model_type: '%s' is not supported (bert, "
                        "roberta, gpt2, llama, mistral, qwen2)", path, c->model_type);
        goto out;
    }
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    if (arch && !cJSON_IsNull(arch)) {
        const cJSON *a0 = cJSON_GetArrayItem(arch, 0);
        if (!cJSON_IsArray(arch) || (a0 && !cJSON_IsString(a0))) {
            st = pf_err_set(err, PF_ERR_FORMAT, "%s: architectures: expected a list of "
                            "strings", path);
            goto out;
        }
        if (a0)
            snprintf(c->architecture, sizeof c->architecture, "%s", a0->valuestring);
    }
    c->head = head_of(c->architecture);
    PF_STEP(st, get_str(&x, "torch_dtype", 0, c->torch_dtype, sizeof c->torch_dtype));
    PF_STEP(st, get_token_id(&x, "pad_token_id", &c->pad_id));
    PF_STEP(st, get_token_id(&x, "bos_token_id", &c->bos_id));
    PF_STEP(st, get_token_id(&x, "eos_token_id", &c->eos_id));
    PF_STEP(st, parse_labels(&x, c));
    if (st != PF_OK)
        goto out;
    c->rope_theta = 0.0;
    switch (c->family) {
    case FAM_BERT: case FAM_ROBERTA: st = parse_encoder(&x, c); break;
    case FAM_GPT2: st = parse_gpt2(&x, c); break;
    case FAM_LLAMA: st = parse_llama(&x, c); break;
    }
    PF_STEP(st, check_consistency(&x, c));
out:
    cJSON_Delete(root);
    return st;
}

pf_status hf_config_load(struct model_config *c, const char *path, struct pf_err *err) {
    char file[4096];
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        snprintf(file, sizeof file, "%s/config.json", path);
    else
        snprintf(file, sizeof file, "%s", path);
    const char *why = NULL;
    FILE *f = file_fopen_regular(file, &why);
    if (!f)
        return pf_err_set(err, PF_ERR_IO, "%s: cannot open: %s", file, why);
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > CONFIG_MAX_BYTES) {
        fclose(f);
        return pf_err_set(err, PF_ERR_FORMAT, "%s: not a regular file of at most %u bytes",
                          file, CONFIG_MAX_BYTES);
    }
    size_t n = (size_t)sb.st_size;
    char *buf = xmalloc(n + 1);
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    pf_status st;
    if (got != n)
        st = pf_err_set(err, PF_ERR_IO, "%s: short read (%zu of %zu bytes)", file, got, n);
    else
        st = hf_config_parse(c, buf, n, file, err);
    free(buf);
    return st;
}
