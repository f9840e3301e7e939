/* test_hf_config.c - config.json validation (reliability case 7): every rule has a case,
 * each gives one line naming the file, the field and the rule, and a config that disagrees
 * with the weights fails before the model is allocated. The weights are bert-cls's
 * (tests/data/hf), linked into a temporary folder beside the config under test. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "model/hf_config.h"
#include "model/model_load.h"

/* bert-cls's config with one "key": value pair replaced (or removed when value is NULL, or
 * added when absent). */
static const char *base_fields[][2] = {
    {"architectures", "[\"BertForSequenceClassification\"]"}, {"hidden_act", "\"gelu\""},
    {"hidden_size", "32"}, {"intermediate_size", "64"}, {"layer_norm_eps", "1e-12"},
    {"max_position_embeddings", "64"}, {"model_type", "\"bert\""},
    {"num_attention_heads", "4"}, {"num_hidden_layers", "2"}, {"pad_token_id", "0"},
    {"type_vocab_size", "2"}, {"vocab_size", "512"},
    {"id2label", "{\"0\": \"a\", \"1\": \"b\", \"2\": \"c\"}"}};

static void make_config(char *out, size_t n, const char *key, const char *value) {
    size_t k = (size_t)snprintf(out, n, "{");
    int first = 1, seen = 0;
    for (size_t i = 0; i < sizeof base_fields / sizeof base_fields[0]; i++) {
        const char *v = base_fields[i][1];
        if (key && !strcmp(key, base_fields[i][0])) {
            seen = 1;
            v = value;
        }
        if (!v)
            continue;
        k += (size_t)snprintf(out + k, n - k, "%s\"%s\": %s", first ? "" : ", ",
                              base_fields[i][0], v);
        first = 0;
    }
    if (key && !seen && value)
        k += (size_t)snprintf(out + k, n - k, ", \"%s\": %s", key, value);
    snprintf(out + k, n - k, "}");
}

/* A temp folder with config.json = text and model.safetensors -> bert-cls's weights. */
static void make_dir(char *dir, const char *text) {
    strcpy(dir, "/tmp/bipeft-cfg-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char path[PATH_MAX], weights[PATH_MAX];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    cr_assert_not_null(realpath("tests/data/hf/bert-cls/model.safetensors", weights));
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    cr_assert_eq(symlink(weights, path), 0);
}

static void remove_dir(const char *dir) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unlink(path);
    rmdir(dir);
}

/* Load with key replaced by value; expect failure with a message containing want. */
static void expect_error(const char *key, const char *value, const char *want) {
    char text[4096], dir[64];
    make_config(text, sizeof text, key, value);
    make_dir(dir, text);
    struct model m;
    struct pf_err err = {0};
    struct model_load_opts opts = {.head = -1};
    pf_status st = model_load(&m, dir, check_cpu(1), &opts, NULL, &err);
    cr_assert_neq(st, PF_OK, "%s = %s was accepted", key, value ? value : "(removed)");
    cr_assert(strstr(err.msg, want) && strstr(err.msg, dir), "%s = %s: message '%s' lacks "
              "'%s' or the folder", key, value ? value : "(removed)", err.msg, want);
    cr_assert_null(strchr(err.msg, '\n'), "message is not one line: %s", err.msg);
    remove_dir(dir);
}

Test(hf_config, valid_base_loads) {
    char text[4096], dir[64];
    make_config(text, sizeof text, NULL, NULL);
    make_dir(dir, text);
    struct model m;
    struct pf_err err = {0};
    struct model_load_opts opts = {.head = -1};
    CHECK_OK(model_load(&m, dir, check_cpu(1), &opts, NULL, &err), &err);
    cr_assert_eq(m.cfg.num_labels, 3);
    cr_assert_eq(m.cfg.head, HEAD_SEQ_CLS);
    model_free(&m);
    remove_dir(dir);
}

Test(hf_config, case7_sizes_disagree_with_weights) {
    expect_error("hidden_size", "64", "has shape [512,32] but config.json says vocab_size 512 "
                 "x hidden_size 64");
    expect_error("vocab_size", "30522", "vocab_size 30522 x hidden_size 32");
    expect_error("num_hidden_layers", "3", "config.json says 3 layers but the checkpoint has "
                 "no tensor 'bert.encoder.layer.2.attention.self.query.weight'");
    expect_error("num_hidden_layers", "1", "config.json says 1 layers but the checkpoint has "
                 "'bert.encoder.layer.1.attention.self.query.weight' (more layers)");
    expect_error("intermediate_size", "128", "tensor 'bert.encoder.layer.0.intermediate.dense."
                 "weight' has shape [64,32], config.json implies [128,32]");
    expect_error("num_hidden_layers", "513", "num_hidden_layers: 513 is outside [1, 512]");
}

Test(hf_config, case7_heads) {
    expect_error("num_attention_heads", "0", "num_attention_heads: 0 is outside [1, 1024]");
    expect_error("num_attention_heads", "5", "num_attention_heads 5 does not divide "
                 "hidden_size 32");
}

Test(hf_config, case7_vocab) {
    expect_error("vocab_size", "0", "vocab_size: 0 is outside [1, 4194304]");
    expect_error("vocab_size", "1099511627776", "vocab_size: 1099511627776 is outside");
    expect_error("pad_token_id", "600", "pad_token_id 600 is not below vocab_size 512");
}

Test(hf_config, case7_missing_and_wrong_types) {
    expect_error("hidden_size", NULL, "missing required field 'hidden_size'");
    expect_error("model_type", NULL, "missing required field 'model_type'");
    expect_error("hidden_size", "\"32\"", "hidden_size: expected an integer, got a string");
    expect_error("hidden_size", "32.5", "hidden_size: expected an integer, got 32.5");
    expect_error("num_hidden_layers", "[2]", "num_hidden_layers: expected an integer, got an "
                 "array");
    expect_error("layer_norm_eps", "-1", "layer_norm_eps: -1 must be a positive number");
    expect_error("model_type", "\"t5\"", "model_type: 't5' is not supported");
    expect_error("hidden_act", "\"mish\"", "hidden_act: unsupported activation 'mish'");
    expect_error("id2label", "[1]", "id2label: expected an object, got an array");
    expect_error("num_labels", "2", "num_labels 2 disagrees with id2label (3 entries)");
    expect_error("position_embedding_type", "\"relative_key\"", "position_embedding_type: "
                 "'relative_key' is not supported");
}

Test(hf_config, not_json) {
    struct model_config c;
    struct pf_err err = {0};
    const char *bad = "{\"model_type\": \"bert\",";
    cr_assert_eq(hf_config_parse(&c, bad, strlen(bad), "x/config.json", &err), PF_ERR_FORMAT);
    cr_assert(strstr(err.msg, "x/config.json: not valid JSON"), "%s", err.msg);
    cr_assert_eq(hf_config_parse(&c, "[1]", 3, "x/config.json", &err), PF_ERR_FORMAT);
    cr_assert(strstr(err.msg, "expected a JSON object"), "%s", err.msg);
}

/* The LLaMA family: GQA and RoPE fields are validated against each other. */
Test(hf_config, llama_rules) {
    struct model_config c;
    struct pf_err err = {0};
    char j[512];
    const char *fmt = "{\"model_type\": \"llama\", \"vocab_size\": 100, \"hidden_size\": 32, "
                      "\"num_hidden_layers\": 1, \"num_attention_heads\": 4, "
                      "\"intermediate_size\": 64%s}";
    snprintf(j, sizeof j, fmt, ", \"num_key_value_heads\": 3");
    cr_assert_eq(hf_config_parse(&c, j, strlen(j), "c.json", &err), PF_ERR_FORMAT);
    cr_assert(strstr(err.msg, "num_key_value_heads 3 does not divide num_attention_heads 4"),
              "%s", err.msg);
    snprintf(j, sizeof j, fmt, ", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}");
    cr_assert_eq(hf_config_parse(&c, j, strlen(j), "c.json", &err), PF_ERR_FORMAT);
    cr_assert(strstr(err.msg, "rope_scaling: not supported"), "%s", err.msg);
    snprintf(j, sizeof j, fmt, ", \"num_key_value_heads\": 2, \"rope_theta\": 500000.0");
    CHECK_OK(hf_config_parse(&c, j, strlen(j), "c.json", &err), &err);
    cr_assert(c.kv_heads == 2 && c.head_dim == 8 && c.rope_theta == 500000.0);
    cr_assert(c.tie_word_embeddings == 0 && c.attn_bias == 0 && c.head == HEAD_NONE);
    snprintf(j, sizeof j, fmt, ", \"eos_token_id\": [7, 9]");
    CHECK_OK(hf_config_parse(&c, j, strlen(j), "c.json", &err), &err);
    cr_assert_eq(c.eos_id, 7);
}

/* A checkpoint larger than this machine's memory (a sparse 256 GiB file, beyond any test machine: no disk used) is
 * refused before anything is allocated, with the sizes in the message. */
Test(hf_config, checkpoint_larger_than_memory) {
    char dir[] = "/tmp/bipeft-big-XXXXXX", path[PATH_MAX];
    cr_assert_not_null(mkdtemp(dir));
    const char *cfg = "{\"model_type\": \"bert\", \"vocab_size\": 4194304, \"hidden_size\": 16384,"
                      " \"num_hidden_layers\": 1, \"num_attention_heads\": 16, "
                      "\"intermediate_size\": 64, \"max_position_embeddings\": 64}";
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(cfg, f);
    fclose(f);
    unsigned long long emb = 4194304ULL * 16384 * 4, q = 16384ULL * 16384 * 4;
    char header[512];
    int n = snprintf(header, sizeof header,
                     "{\"embeddings.word_embeddings.weight\":{\"dtype\":\"F32\",\"shape\":"
                     "[4194304,16384],\"data_offsets\":[0,%llu]},"
                     "\"encoder.layer.0.attention.self.query.weight\":{\"dtype\":\"F32\","
                     "\"shape\":[16384,16384],\"data_offsets\":[%llu,%llu]}}",
                     emb, emb, emb + q);
    while (n % 8)
        header[n++] = ' ';
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    f = fopen(path, "wb");
    cr_assert_not_null(f);
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)((unsigned long long)n >> (8 * i));
    fwrite(len, 1, 8, f);
    fwrite(header, 1, (size_t)n, f);
    fclose(f);
    cr_assert_eq(truncate(path, (off_t)(8 + n + emb + q)), 0);
    struct model m;
    struct pf_err err = {0};
    struct model_load_opts opts = {.head = -1};
    pf_status st = model_load(&m, dir, check_cpu(1), &opts, NULL, &err);
    cr_assert_eq(st, PF_ERR_NOMEM, "status %d: %s", st, err.msg);
    cr_assert(strstr(err.msg, "need 257.0 GiB in fp32; this machine has"), "%s", err.msg);
    unlink(path);
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    rmdir(dir);
}
