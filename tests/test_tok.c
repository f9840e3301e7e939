/* test_tok.c - tokenizers (src/tok/): exact ids against HF Tokenizers.js (tests/data/tok/<kind>/
 * expected.jsonl, made by tools/make_tokenizers.py + tools/tokref/make_expected.mjs), the
 * fallback loaders, encode edge cases, and reliability case 8 (malformed tokenizer.json). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tok/tok.h"
#include "util/err.h"


static struct tokenizer *load_kind(const char *kind) {
    char path[256];
    snprintf(path, sizeof path, "tests/data/tok/%s/tokenizer.json", kind);
    struct tokenizer *t = NULL;
    struct pf_err err = {0};
    CHECK_OK(tok_load_json(&t, path, &err), &err);
    return t;
}

static int same_ints(const cJSON *want, const int32_t *got, int n) {
    if (cJSON_GetArraySize(want) != n)
        return 0;
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, want) {
        if ((int32_t)x->valuedouble != got[i++])
            return 0;
    }
    return 1;
}

static void print_ids(const char *what, const int32_t *v, int n) {
    fprintf(stderr, "  %s:", what);
    for (int i = 0; i < n; i++)
        fprintf(stderr, " %d", v[i]);
    fprintf(stderr, "\n");
}

/* Every row of expected.jsonl must match exactly; returns the number of rows. */
static int check_expected(const char *kind) {
    struct tokenizer *t = load_kind(kind);
    char path[256];
    snprintf(path, sizeof path, "tests/data/tok/%s/expected.jsonl", kind);
    char *data = check_read_file(path, NULL);
    int rows = 0, bad = 0;
    for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *row = cJSON_Parse(line);
        cr_assert(row, "%s: bad JSON line %d", path, rows + 1);
        const cJSON *text = cJSON_GetObjectItem(row, "text"), *pair = cJSON_GetObjectItem(row, "pair");
        const cJSON *ml = cJSON_GetObjectItem(row, "max_length");
        struct tok_options o = {1, cJSON_IsNumber(ml) ? (int)ml->valuedouble : 0};
        const char *p = cJSON_IsString(pair) ? pair->valuestring : NULL;
        struct tok_encoding e;
        struct pf_err err = {0};
        CHECK_OK(tok_encode(t, text->valuestring, strlen(text->valuestring), p, p ? strlen(p) : 0,
                            &o, &e, &err),
                 &err);
        const cJSON *ids = cJSON_GetObjectItem(row, "ids");
        if (!same_ints(ids, e.ids, e.n) ||
            !same_ints(cJSON_GetObjectItem(row, "type_ids"), e.type_ids, e.n) ||
            !same_ints(cJSON_GetObjectItem(row, "attention_mask"), e.attention_mask, e.n)) {
            fprintf(stderr, "%s line %d: text '%s' pair '%s' max_length %d\n", kind, rows + 1,
                    text->valuestring, p ? p : "(none)", o.max_length);
            char *w = cJSON_PrintUnformatted(ids);
            fprintf(stderr, "  want: %s\n", w);
            free(w);
            print_ids("got ids", e.ids, e.n);
            print_ids("got types", e.type_ids, e.n);
            bad++;
        }
        tok_encoding_free(&e);
        cJSON_Delete(row);
        rows++;
    }
    free(data);
    tok_free(t);
    cr_assert_eq(bad, 0, "%s: %d of %d rows differ from Tokenizers.js (see stderr)", kind, bad,
                 rows);
    return rows;
}

Test(tok_ref, bert) { cr_assert_geq(check_expected("bert"), 30); }
Test(tok_ref, roberta) { cr_assert_geq(check_expected("roberta"), 30); }
Test(tok_ref, gpt2) { cr_assert_geq(check_expected("gpt2"), 30); }
Test(tok_ref, llama3) { cr_assert_geq(check_expected("llama3"), 30); }
Test(tok_ref, llama2) { cr_assert_geq(check_expected("llama2"), 30); }

Test(tok_api, kinds_sizes_and_special_ids) {
    static const struct {
        const char *kind, *name;
        int32_t size, pad;
    } want[] = {{"bert", "wordpiece", 248, 0},
                {"roberta", "bpe-bytelevel", 512, 1},
                {"gpt2", "bpe-bytelevel", 500, -1},
                {"llama3", "bpe-llama3", 502, -1},
                {"llama2", "bpe-sentencepiece", 512, -1}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct tokenizer *t = load_kind(want[i].kind);
        cr_assert_str_eq(tok_kind(t), want[i].name, "%s", want[i].kind);
        cr_assert_eq(tok_vocab_size(t), want[i].size, "%s: %d", want[i].kind, tok_vocab_size(t));
        cr_assert_eq(tok_pad_id(t), want[i].pad, "%s", want[i].kind);
        tok_free(t);
    }
    struct tokenizer *t = load_kind("bert");
    cr_assert_eq(tok_token_to_id(t, "[CLS]"), 2);
    cr_assert_eq(tok_token_to_id(t, "[SEP]"), 3);
    cr_assert_eq(tok_token_to_id(t, "no-such-token"), -1);
    cr_assert_str_eq(tok_id_to_token(t, 4), "[MASK]");
    cr_assert_null(tok_id_to_token(t, 248));
    cr_assert_null(tok_id_to_token(t, -1));
    tok_free(t);
    t = load_kind("llama3");
    cr_assert_eq(tok_token_to_id(t, "<|begin_of_text|>"), 500);
    cr_assert_str_eq(tok_id_to_token(t, 501), "<|end_of_text|>");
    tok_free(t);
}

Test(tok_api, invalid_utf8_input_is_an_argument_error) {
    struct tokenizer *t = load_kind("gpt2");
    struct tok_encoding e;
    struct pf_err err = {0};
    const char bad[] = "ok \xC3\x28 here";
    cr_assert_eq(tok_encode(t, bad, sizeof bad - 1, NULL, 0, NULL, &e, &err), PF_ERR_ARG);
    cr_assert(strstr(err.msg, "invalid UTF-8 at byte offset 3"), "message: %s", err.msg);
    cr_assert_eq(e.n, 0);
    cr_assert_null(e.ids);
    const char trunc[] = "end \xE2\x82";
    cr_assert_eq(tok_encode(t, "fine", 4, trunc, sizeof trunc - 1, NULL, &e, &err), PF_ERR_ARG);
    cr_assert(strstr(err.msg, "pair text: invalid UTF-8 at byte offset 4"), "message: %s", err.msg);
    tok_free(t);
}

Test(tok_api, empty_text_gives_the_special_tokens) {
    struct tokenizer *t = load_kind("bert");
    struct tok_encoding e;
    struct pf_err err = {0};
    CHECK_OK(tok_encode(t, "", 0, NULL, 0, NULL, &e, &err), &err);
    cr_assert_eq(e.n, 2);
    cr_assert(e.ids[0] == 2 && e.ids[1] == 3 && e.special_mask[0] == 1 && e.special_mask[1] == 1);
    tok_encoding_free(&e);
    struct tok_options no = {0, 0};
    CHECK_OK(tok_encode(t, NULL, 0, NULL, 0, &no, &e, &err), &err);
    cr_assert_eq(e.n, 0);
    tok_encoding_free(&e);
    tok_free(t);
}

Test(tok_api, truncation_longest_first_on_pairs) {
    struct tokenizer *t = load_kind("bert");
    struct tok_encoding full_a, full_b, e;
    struct pf_err err = {0};
    struct tok_options raw = {0, 0};
    const char *a = "the quick brown fox jumps over the lazy dog and the cat";
    const char *b = "the dog";
    CHECK_OK(tok_encode(t, a, strlen(a), NULL, 0, &raw, &full_a, &err), &err);
    CHECK_OK(tok_encode(t, b, strlen(b), NULL, 0, &raw, &full_b, &err), &err);
    cr_assert_gt(full_a.n, 8);
    cr_assert_leq(full_b.n, 3, "'the dog' should be short");
    struct tok_options o = {1, 10}; /* 3 specials: 7 left; b keeps all, a gets the rest */
    CHECK_OK(tok_encode(t, a, strlen(a), b, strlen(b), &o, &e, &err), &err);
    cr_assert_eq(e.n, 10);
    int nb = full_b.n, na = 7 - nb;
    cr_assert_eq(e.ids[0], 2);
    for (int i = 0; i < na; i++)
        cr_assert_eq(e.ids[1 + i], full_a.ids[i]);
    cr_assert_eq(e.ids[1 + na], 3);
    cr_assert_eq(e.ids[9], 3);
    cr_assert_eq(e.type_ids[9], 1);
    cr_assert_eq(e.type_ids[0], 0);
    tok_encoding_free(&e);
    /* both long: max/2 for the first, the rest (one more when odd) for the second, as HF */
    o.max_length = 8; /* 5 left: first 2, second 3 */
    CHECK_OK(tok_encode(t, a, strlen(a), a, strlen(a), &o, &e, &err), &err);
    cr_assert_eq(e.n, 8);
    cr_assert(e.ids[3] == 3 && e.ids[7] == 3 && e.type_ids[4] == 1 && e.type_ids[3] == 0);
    tok_encoding_free(&e);
    o.max_length = 2;
    cr_assert_eq(tok_encode(t, a, strlen(a), b, strlen(b), &o, &e, &err), PF_ERR_ARG);
    cr_assert(strstr(err.msg, "max_length 2 is smaller than the 3 special tokens"), "%s", err.msg);
    tok_encoding_free(&full_a);
    tok_encoding_free(&full_b);
    tok_free(t);
}

Test(tok_api, padding_batch) {
    struct tokenizer *t = load_kind("roberta");
    struct tok_encoding e[3];
    struct pf_err err = {0};
    const char *texts[3] = {"Hello, world!", "", "The quick brown fox jumps over the lazy dog."};
    for (int i = 0; i < 3; i++)
        CHECK_OK(tok_encode(t, texts[i], strlen(texts[i]), NULL, 0, NULL, &e[i], &err), &err);
    int n0 = e[0].n, n1 = e[1].n, longest = e[2].n;
    cr_assert_eq(n1, 2);
    CHECK_OK(tok_pad_batch(e, 3, tok_pad_id(t), &err), &err);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(e[i].n, longest);
    for (int q = n0; q < longest; q++)
        cr_assert(e[0].ids[q] == 1 && e[0].attention_mask[q] == 0 && e[0].special_mask[q] == 1);
    cr_assert(e[1].ids[0] == 0 && e[1].ids[1] == 2 && e[1].attention_mask[1] == 1 &&
              e[1].attention_mask[2] == 0);
    cr_assert_eq(tok_pad_batch(e, 3, -1, &err), PF_ERR_ARG);
    cr_assert(strstr(err.msg, "no pad token"), "%s", err.msg);
    for (int i = 0; i < 3; i++)
        tok_encoding_free(&e[i]);
    tok_free(t);
}

/* ---- fallback loaders ---- */

static char *tmpdir(void) {
    char *d = strdup("/tmp/bipeft-tok-XXXXXX");
    cr_assert(mkdtemp(d));
    return d;
}

static void write_file(const char *dir, const char *name, const char *data, size_t n) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void copy_file(const char *from, const char *dir, const char *name) {
    size_t n;
    char *d = check_read_file(from, &n);
    write_file(dir, name, d, n);
    free(d);
}

static void rm_dir(char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    free(dir);
}

static void same_encodings(struct tokenizer *x, struct tokenizer *y, const char *what) {
    static const char *texts[] = {"Hello, world! They'll pay $7.25 for crème brûlée.",
                                  "  MIXED case 12345 中文字 😀\tend ", "", "[CLS] <s>x</s>"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        for (int withpair = 0; withpair < 2; withpair++) {
            struct tok_encoding a, b;
            struct pf_err err = {0};
            const char *p = withpair ? "a pair, too" : NULL;
            size_t pn = p ? strlen(p) : 0;
            CHECK_OK(tok_encode(x, texts[i], strlen(texts[i]), p, pn, NULL, &a, &err), &err);
            CHECK_OK(tok_encode(y, texts[i], strlen(texts[i]), p, pn, NULL, &b, &err), &err);
            cr_assert_eq(a.n, b.n, "%s: '%s'", what, texts[i]);
            cr_assert_arr_eq(a.ids, b.ids, (size_t)a.n * sizeof(int32_t), "%s: '%s'", what, texts[i]);
            cr_assert_arr_eq(a.type_ids, b.type_ids, (size_t)a.n * sizeof(int32_t), "%s", what);
            tok_encoding_free(&a);
            tok_encoding_free(&b);
        }
    }
}

Test(tok_fallback, vocab_txt_matches_tokenizer_json) {
    char *d = tmpdir();
    copy_file("tests/data/tok/bert/vocab.txt", d, "vocab.txt");
    struct tokenizer *fb = NULL, *tj = load_kind("bert");
    struct pf_err err = {0};
    CHECK_OK(tok_load_dir(&fb, d, "bert", &err), &err);
    cr_assert_str_eq(tok_kind(fb), "wordpiece");
    cr_assert_eq(tok_vocab_size(fb), tok_vocab_size(tj));
    cr_assert_eq(tok_pad_id(fb), 0);
    same_encodings(fb, tj, "vocab.txt");
    tok_free(fb);
    /* do_lower_case false keeps case: "Hello" is not in the lower-case vocab */
    const char *cfg = "{\"do_lower_case\": false}";
    write_file(d, "tokenizer_config.json", cfg, strlen(cfg));
    CHECK_OK(tok_load_dir(&fb, d, "bert", &err), &err);
    struct tok_encoding a, b;
    CHECK_OK(tok_encode(fb, "The", 3, NULL, 0, NULL, &a, &err), &err);
    CHECK_OK(tok_encode(tj, "The", 3, NULL, 0, NULL, &b, &err), &err);
    cr_assert(a.n != b.n || memcmp(a.ids, b.ids, (size_t)a.n * 4) != 0);
    tok_encoding_free(&a);
    tok_encoding_free(&b);
    tok_free(fb);
    tok_free(tj);
    rm_dir(d);
}

Test(tok_fallback, vocab_json_merges_txt_match_tokenizer_json) {
    char *d = tmpdir();
    copy_file("tests/data/tok/gpt2/vocab.json", d, "vocab.json");
    copy_file("tests/data/tok/gpt2/merges.txt", d, "merges.txt");
    struct tokenizer *fb = NULL, *tj = load_kind("gpt2");
    struct pf_err err = {0};
    CHECK_OK(tok_load_dir(&fb, d, "gpt2", &err), &err);
    cr_assert_str_eq(tok_kind(fb), "bpe-bytelevel");
    cr_assert_eq(tok_vocab_size(fb), 500);
    same_encodings(fb, tj, "vocab.json+merges.txt");
    tok_free(fb);
    tok_free(tj);
    /* the directory loader prefers tokenizer.json */
    CHECK_OK(tok_load_dir(&fb, "tests/data/tok/llama3", "llama", &err), &err);
    cr_assert_str_eq(tok_kind(fb), "bpe-llama3");
    tok_free(fb);
    /* nothing to load */
    char vj[600];
    snprintf(vj, sizeof vj, "%s/vocab.json", d);
    cr_assert_eq(unlink(vj), 0);
    cr_assert_neq(tok_load_dir(&fb, d, NULL, &err), PF_OK);
    cr_assert(strstr(err.msg, "no tokenizer.json"), "%s", err.msg);
    rm_dir(d);
}

/* ---- reliability case 8: malformed tokenizer.json ---- */

/* A small valid BPE tokenizer.json with placeholders patched by the tests. */
static const char *BPE_TEMPLATE =
    "{\"version\":\"1.0\",\"added_tokens\":[%s],\"normalizer\":%s,\"pre_tokenizer\":%s,"
    "\"post_processor\":%s,\"decoder\":null,"
    "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":\"<unk>\",\"byte_fallback\":%s,"
    "\"vocab\":{%s},\"merges\":[%s]}}";

static const char *VOCAB = "\"<unk>\":0,\"<s>\":1,\"a\":2,\"b\":3,\"ab\":4";

static pf_status load_text(const char *json, size_t n, struct pf_err *err, char **path_out) {
    char *d = tmpdir();
    write_file(d, "tokenizer.json", json, n);
    char path[600];
    snprintf(path, sizeof path, "%s/tokenizer.json", d);
    struct tokenizer *t = NULL;
    pf_status st = tok_load_json(&t, path, err);
    if (st == PF_OK)
        cr_assert_not_null(t);
    else
        cr_assert_null(t);
    tok_free(t);
    if (path_out)
        *path_out = strdup(path);
    rm_dir(d);
    return st;
}

static pf_status load_bpe(const char *added, const char *norm, const char *pre, const char *post,
                          const char *fallback, const char *vocab, const char *merges,
                          struct pf_err *err) {
    size_t cap = strlen(BPE_TEMPLATE) + strlen(added) + strlen(norm) + strlen(pre) +
                 strlen(post) + strlen(vocab) + strlen(merges) + 64;
    char *buf = malloc(cap);
    snprintf(buf, cap, BPE_TEMPLATE, added, norm, pre, post, fallback, vocab, merges);
    char *path = NULL;
    pf_status st = load_text(buf, strlen(buf), err, &path);
    if (st != PF_OK) /* one line, starting with the file path */
        cr_assert(strncmp(err->msg, path, strlen(path)) == 0 && !strchr(err->msg, '\n'),
                  "message: %s", err->msg);
    free(path);
    free(buf);
    return st;
}

#define EXPECT_FORMAT(call, text)                                                            \
    do {                                                                                     \
        struct pf_err err = {0};                                                             \
        cr_assert_eq((call), PF_ERR_FORMAT, "expected a format error: %s", err.msg);          \
        cr_assert(strstr(err.msg, (text)), "message: %s", err.msg);                          \
    } while (0)

Test(tok_case8, the_base_document_loads) {
    struct pf_err err = {0};
    CHECK_OK(load_bpe("", "null", "null", "null", "false", VOCAB, "\"a b\"", &err), &err);
    CHECK_OK(load_bpe("", "null", "null", "null", "false", VOCAB, "[\"a\",\"b\"]", &err), &err);
}

Test(tok_case8, special_token_id_beyond_vocab_size) {
    EXPECT_FORMAT(load_bpe("{\"id\":600,\"content\":\"<new>\",\"special\":true}", "null", "null",
                           "null", "false", VOCAB, "", &err),
                  "id 600 >= vocab size 6");
    EXPECT_FORMAT(load_bpe("{\"id\":-1,\"content\":\"<new>\",\"special\":true}", "null", "null",
                           "null", "false", VOCAB, "", &err),
                  "negative id");
    EXPECT_FORMAT(load_bpe("{\"id\":3,\"content\":\"<s>\",\"special\":true}", "null", "null",
                           "null", "false", VOCAB, "", &err),
                  "has id 3 but the vocab gives it id 1");
    EXPECT_FORMAT(load_bpe("", "null", "null",
                           "{\"type\":\"BertProcessing\",\"sep\":[\"<s>\",1],\"cls\":[\"<s>\",512]}",
                           "false", VOCAB, "", &err),
                  "id 512 >= vocab size 5");
    EXPECT_FORMAT(
        load_bpe("", "null", "null",
                 "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\","
                 "\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":[],"
                 "\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[70000],\"tokens\":[\"<s>\"]}}}",
                 "false", VOCAB, "", &err),
        "id 70000 >= vocab size 5");
    EXPECT_FORMAT(load_bpe("", "null", "null", "null", "false",
                           "\"<unk>\":0,\"<s>\":1,\"a\":2,\"b\":3,\"ab\":40", "", &err),
                  "id 40 >= vocab size 5");
}

Test(tok_case8, merge_with_unknown_token) {
    EXPECT_FORMAT(load_bpe("", "null", "null", "null", "false", VOCAB, "\"a zz\"", &err),
                  "merges[0] references unknown token 'zz'");
    EXPECT_FORMAT(load_bpe("", "null", "null", "null", "false", VOCAB, "\"a b\",\"b a\"", &err),
                  "merges[1]: merged token 'ba' is not in the vocab");
    EXPECT_FORMAT(load_bpe("", "null", "null", "null", "false", VOCAB, "\"a b c\"", &err),
                  "merges[0] must be");
    EXPECT_FORMAT(load_bpe("", "null", "null", "null", "false", VOCAB, "[\"a\"]", &err),
                  "merges[0] must be");
}

static char *byte_vocab(const char *bad) {
    size_t cap = 256 * 16 + 256;
    char *v = malloc(cap);
    int k = snprintf(v, cap, "\"<unk>\":0,\"a\":1");
    int id = 2;
    for (int x = 0; x < 256; x++)
        k += snprintf(v + k, cap - (size_t)k, ",\"<0x%02X>\":%d", x, id++);
    if (bad)
        snprintf(v + k, cap - (size_t)k, ",\"%s\":%d", bad, id);
    return v;
}

Test(tok_case8, malformed_byte_fallback_tokens) {
    static const char *bad[] = {"<0x-1>", "<0xZZ>", "<0x100>", "<0x0a>"};
    for (int i = 0; i < 4; i++) {
        char *v = byte_vocab(bad[i]);
        char want[64];
        snprintf(want, sizeof want, "malformed byte-fallback token '%s'", bad[i]);
        EXPECT_FORMAT(load_bpe("", "null", "null", "null", "true", v, "", &err), want);
        free(v);
    }
    char *v = byte_vocab(NULL);
    struct pf_err ok = {0};
    CHECK_OK(load_bpe("", "null", "null", "null", "true", v, "", &ok), &ok);
    free(v);
    EXPECT_FORMAT(load_bpe("", "null", "null", "null", "true", VOCAB, "", &err),
                  "byte_fallback is on but '<0x00>' is not in the vocab");
}

Test(tok_case8, duplicate_tokens_and_ids) {
    EXPECT_FORMAT(load_bpe("", "null", "null", "null", "false",
                           "\"<unk>\":0,\"a\":1,\"a\":2", "", &err),
                  "duplicate token 'a'");
    EXPECT_FORMAT(load_bpe("", "null", "null", "null", "false", "\"<unk>\":0,\"a\":1,\"b\":1", "",
                           &err),
                  "duplicate id 1");
    EXPECT_FORMAT(load_bpe("{\"id\":5,\"content\":\"x\"},{\"id\":5,\"content\":\"y\"}", "null",
                           "null", "null", "false", VOCAB, "", &err),
                  "reuses id 5 of 'x'");
}

Test(tok_case8, huge_token_string) {
    size_t big = (size_t)2 << 20; /* a 2 MB token */
    char *v = malloc(big + 64);
    int k = snprintf(v, big + 64, "\"<unk>\":0,\"");
    memset(v + k, 'x', big);
    snprintf(v + k + big, 64, "\":1");
    EXPECT_FORMAT(load_bpe("", "null", "null", "null", "false", v, "", &err),
                  "token of 2097152 bytes exceeds the 1024-byte limit");
    free(v);
}

Test(tok_case8, invalid_utf8_and_empty_vocab) {
    EXPECT_FORMAT(load_bpe("", "null", "null", "null", "false", "\"<unk>\":0,\"a\xff\":1", "",
                           &err),
                  "is not valid UTF-8");
    EXPECT_FORMAT(load_bpe("{\"id\":5,\"content\":\"\xc3\"}", "null", "null", "null", "false",
                           VOCAB, "", &err),
                  "is not valid UTF-8");
    EXPECT_FORMAT(load_bpe("", "null", "null", "null", "false", "", "", &err),
                  "model.vocab is empty");
    EXPECT_FORMAT(load_bpe("", "null", "null", "null", "false", "\"<unk>\":0,\"\":1", "", &err),
                  "empty token string");
}

Test(tok_case8, unknown_component_types) {
    EXPECT_FORMAT(load_bpe("", "{\"type\":\"Frobnicate\"}", "null", "null", "false", VOCAB, "",
                           &err),
                  "unknown normalizer type 'Frobnicate'");
    EXPECT_FORMAT(load_bpe("", "null", "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"X\"}]}",
                           "null", "false", VOCAB, "", &err),
                  "unknown pre_tokenizer type 'X'");
    EXPECT_FORMAT(load_bpe("", "null", "null", "{\"type\":\"Y\"}", "false", VOCAB, "", &err),
                  "unknown post_processor type 'Y'");
    struct pf_err e2 = {0};
    const char *re = "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\w+\"},\"behavior\":\"Isolated\"}";
    cr_assert_eq(load_bpe("", "null", re, "null", "false", VOCAB, "", &e2), PF_ERR_UNSUPPORTED);
    cr_assert(strstr(e2.msg, "unsupported Split pattern"), "%s", e2.msg);
    const char *json = "{\"model\":{\"type\":\"Quux\",\"vocab\":{\"a\":0}}}";
    EXPECT_FORMAT(load_text(json, strlen(json), &err, NULL), "unknown model type 'Quux'");
}

Test(tok_case8, wrong_json_types_and_nesting) {
    EXPECT_FORMAT(load_bpe("", "null", "null", "null", "\"yes\"", VOCAB, "", &err),
                  "model.byte_fallback must be true or false");
    EXPECT_FORMAT(load_bpe("", "null", "null", "null", "false", "\"<unk>\":\"zero\"", "", &err),
                  "id of '<unk>' must be an integer");
    EXPECT_FORMAT(load_bpe("", "null", "null", "null", "false", "\"<unk>\":0.5", "", &err),
                  "must be an integer");
    EXPECT_FORMAT(load_bpe("{\"id\":\"7\",\"content\":\"x\"}", "null", "null", "null", "false",
                           VOCAB, "", &err),
                  "added_tokens[].id must be an integer");
    EXPECT_FORMAT(load_bpe("", "[1,2]", "null", "null", "false", VOCAB, "", &err),
                  "normalizer must be an object or null");
    const char *json = "[1,2,3]";
    EXPECT_FORMAT(load_text(json, strlen(json), &err, NULL), "top level must be a JSON object");
    json = "{\"model\":";
    EXPECT_FORMAT(load_text(json, strlen(json), &err, NULL), "invalid JSON");
    /* deep nesting: cJSON's nesting limit rejects it as invalid JSON */
    size_t depth = 5000;
    char *deep = malloc(2 * depth + 16);
    size_t k = 0;
    k += (size_t)sprintf(deep, "{\"model\":");
    for (size_t i = 0; i < depth; i++)
        deep[k++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[k++] = ']';
    deep[k++] = '}';
    EXPECT_FORMAT(load_text(deep, k, &err, NULL), "invalid JSON");
    free(deep);
}
