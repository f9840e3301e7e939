/* test_tok_train.c - the WordPiece trainer (src/tok/tok_train.h) and `bipeft tokenizer-train`:
 * train on a small generated corpus, load the result with our own loader and check specials,
 * coverage of every training character, [UNK] for unseen ones, whole frequent words, the exact
 * vocab size, byte-identical reruns, pair type ids, the clear errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "tok/tok.h"
#include "tok/tok_train.h"
#include "util/err.h"

static const char *const WORDS[] = {
    "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be",
    "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have",
    "an", "had", "they", "you", "were", "their", "one", "all", "we", "can", "her", "has",
    "there", "been", "if", "more", "when", "will", "would", "who", "so", "no", "quick", "brown",
    "fox", "jumps", "over", "lazy", "dog", "zebra", "jukebox", "wizard", "vexing", "quartz",
    "café", "naïve", "東京", "straße"};
#define N_WORDS (sizeof WORDS / sizeof WORDS[0])

/* A deterministic corpus: n lines of 4-12 words, Zipf-like (early words far more often),
 * with some capitals and punctuation. */
static char *make_corpus(int n_lines) {
    size_t cap = (size_t)n_lines * 160 + 1, at = 0;
    char *s = check_alloc(cap);
    uint64_t x = 12345;
    for (int l = 0; l < n_lines; l++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        int k = 4 + (int)((x >> 33) % 9);
        for (int i = 0; i < k; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            double u = (double)((x >> 11) % 1000000) / 1000000.0;
            size_t w = (size_t)(u * u * u * (double)N_WORDS);
            const char *word = WORDS[w < N_WORDS ? w : N_WORDS - 1];
            at += (size_t)snprintf(s + at, cap - at, "%s%s", i ? " " : "", word);
            if (i == 0 && l % 3 == 0 && word[0] >= 'a' && word[0] <= 'z')
                s[at - strlen(word)] = (char)(word[0] - 'a' + 'A');
        }
        at += (size_t)snprintf(s + at, cap - at, "%s\n", l % 2 ? "." : ", yes!");
    }
    return s;
}

/* check_write_temp's path, copied (check_temp_dir reuses its buffer); four slots in turn. */
static const char *temp_file(const char *name, const char *text) {
    static char slots[4][512];
    static int k;
    char *p = slots[k++ % 4];
    snprintf(p, 512, "%s", check_write_temp(name, text));
    return p;
}

/* Train on the corpus file into folder `dir` (under the temp folder); returns the folder. */
static int by_freq; /* the score train_to uses */

static const char *train_to(const char *dir, const char *corpus_path, int vocab, int minf,
                            struct tok_train_stats *stats) {
    static char out[512];
    snprintf(out, sizeof out, "%s/%s", check_temp_dir(), dir);
    struct tok_train_opts o = {.vocab_size = vocab, .min_frequency = minf, .lowercase = 1,
                               .by_frequency = by_freq};
    struct tok_trainer *tr = NULL;
    struct pf_err err = {0};
    CHECK_OK(tok_trainer_new(&tr, &o, &err), &err);
    CHECK_OK(tok_trainer_add_file(tr, corpus_path, &err), &err);
    CHECK_OK(tok_trainer_learn(tr, &err), &err);
    CHECK_OK(tok_trainer_write(tr, out, &err), &err);
    if (stats)
        tok_trainer_stats(tr, stats);
    tok_trainer_free(tr);
    return out;
}

static const char *corpus_file(void) {
    char *c = make_corpus(400);
    const char *p = temp_file("corpus.txt", c);
    free(c);
    return p;
}

static struct tokenizer *load(const char *dir) {
    char path[600];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    struct tokenizer *t = NULL;
    struct pf_err err = {0};
    CHECK_OK(tok_load_json(&t, path, &err), &err);
    return t;
}

static void encode(const struct tokenizer *t, const char *a, const char *b,
                   struct tok_encoding *e) {
    struct pf_err err = {0};
    CHECK_OK(tok_encode(t, a, strlen(a), b, b ? strlen(b) : 0, NULL, e, &err), &err);
}

static int count_unk(const struct tok_encoding *e) {
    int n = 0;
    for (int i = 0; i < e->n; i++)
        n += e->ids[i] == 1;
    return n;
}

Test(tok_train, specials_and_training_sentences) {
    const char *dir = train_to("t1", corpus_file(), 150, 2, NULL);
    struct tokenizer *t = load(dir);
    cr_assert_str_eq(tok_kind(t), "wordpiece");
    const char *sp[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(tok_token_to_id(t, sp[i]), i, "%s", sp[i]);
    cr_assert_eq(tok_pad_id(t), 0);
    struct tok_encoding e;
    encode(t, "The quick brown fox jumps over the lazy dog, yes!", NULL, &e);
    cr_assert_gt(e.n, 2);
    cr_assert_eq(e.ids[0], 2);
    cr_assert_eq(e.ids[e.n - 1], 3);
    cr_assert_eq(count_unk(&e), 0);
    tok_encoding_free(&e);
    /* every training word, accents and CJK included */
    for (size_t w = 0; w < N_WORDS; w++) {
        encode(t, WORDS[w], NULL, &e);
        cr_assert_eq(count_unk(&e), 0, "'%s' gave [UNK]", WORDS[w]);
        tok_encoding_free(&e);
    }
    /* the special tokens in text are cut out as added tokens */
    encode(t, "the [MASK] dog", NULL, &e);
    int masks = 0;
    for (int i = 0; i < e.n; i++)
        masks += e.ids[i] == 4;
    cr_assert_eq(masks, 1);
    tok_encoding_free(&e);
    tok_free(t);
}

Test(tok_train, every_seen_character_and_unseen_ones) {
    const char *dir = train_to("t2", corpus_file(), 200, 2, NULL);
    struct tokenizer *t = load(dir);
    struct tok_encoding e;
    /* each ASCII letter of the corpus alone where it starts a word, after "a" (## form)
     * where it continues one */
    for (size_t w = 0; w < N_WORDS; w++) {
        for (size_t i = 0; WORDS[w][i]; i++) {
            char c = WORDS[w][i];
            if (c < 'a' || c > 'z')
                continue;
            char text[3] = {i ? 'a' : c, i ? c : 0, 0};
            encode(t, text, NULL, &e);
            cr_assert_eq(count_unk(&e), 0, "'%s' gave [UNK]", text);
            tok_encoding_free(&e);
        }
    }
    encode(t, "東 京 aé", NULL, &e);
    cr_assert_eq(count_unk(&e), 0);
    tok_encoding_free(&e);
    /* unseen characters: one [UNK] per word */
    encode(t, "the Ω dog", NULL, &e);
    cr_assert_eq(e.n, 5);
    cr_assert_eq(e.ids[2], 1);
    cr_assert_eq(count_unk(&e), 1);
    tok_encoding_free(&e);
    encode(t, "aqa", NULL, &e); /* "##q" never occurs: the word is [UNK], as HF does it */
    cr_assert_eq(count_unk(&e), 1);
    tok_encoding_free(&e);
    tok_free(t);
}

Test(tok_train, frequent_words_are_single_tokens_and_size_is_exact) {
    struct tok_train_stats st;
    by_freq = 1; /* the likelihood score merges rare pairs first (see the next test) */
    const char *dir = train_to("t3", corpus_file(), 150, 2, &st);
    struct tokenizer *t = load(dir);
    cr_assert_eq(tok_vocab_size(t), 150);
    cr_assert_eq(st.vocab_size, 150);
    cr_assert_eq(st.merges, 150 - 5 - st.alphabet);
    const char *frequent[] = {"the", "of", "and", "to", "in", "that", "is"};
    for (size_t i = 0; i < sizeof frequent / sizeof frequent[0]; i++) {
        cr_assert_geq(tok_token_to_id(t, frequent[i]), 5, "'%s' is not a token", frequent[i]);
        struct tok_encoding e;
        encode(t, frequent[i], NULL, &e);
        cr_assert_eq(e.n, 3, "'%s' is %d tokens", frequent[i], e.n - 2);
        tok_encoding_free(&e);
    }
    /* vocab.txt: one token per line, id order, same size */
    char path[600];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    char *v = check_read_file(path, NULL);
    int lines = 0;
    for (char *p = v; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, 150);
    cr_assert(strncmp(v, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", 31) == 0);
    free(v);
    tok_free(t);
    /* the folder loads through tok_load_dir too */
    struct tokenizer *t2 = NULL;
    struct pf_err err = {0};
    CHECK_OK(tok_load_dir(&t2, dir, "bert", &err), &err);
    cr_assert_eq(tok_vocab_size(t2), 150);
    tok_free(t2);
}

Test(tok_train, likelihood_score_ends_with_whole_words) {
    struct tok_train_stats st;
    const char *dir = train_to("t6", corpus_file(), 1000, 2, &st);
    cr_assert_lt(st.vocab_size, 1000, "the corpus is exhausted");
    struct tokenizer *t = load(dir);
    for (size_t w = 0; w < N_WORDS; w++) {
        struct tok_encoding e;
        encode(t, WORDS[w], NULL, &e);
        int want = strcmp(WORDS[w], "東京") ? 1 : 2; /* CJK characters are words of their own */
        cr_assert_eq(e.n, want + 2, "'%s' is %d tokens", WORDS[w], e.n - 2);
        tok_encoding_free(&e);
    }
    tok_free(t);
    /* it prefers pairs whose parts seldom occur apart: "q" + "##u" goes before "t" + "##h" */
    dir = train_to("t7", corpus_file(), 70, 2, &st);
    t = load(dir);
    cr_assert_geq(tok_token_to_id(t, "qu"), 5);
    cr_assert_lt(tok_token_to_id(t, "th"), 0);
    tok_free(t);
}

Test(tok_train, corpus_exhausted_gives_a_smaller_vocab) {
    const char *p = temp_file("tiny.txt", "aa ab aa ab ba\nab aa\n");
    struct tok_train_stats st;
    const char *dir = train_to("t4", p, 1000, 1, &st);
    cr_assert_lt(st.vocab_size, 1000);
    struct tokenizer *t = load(dir);
    cr_assert_eq(tok_vocab_size(t), st.vocab_size);
    cr_assert_geq(tok_token_to_id(t, "aa"), 5);
    cr_assert_geq(tok_token_to_id(t, "ab"), 5);
    tok_free(t);
}

Test(tok_train, deterministic_bytes) {
    const char *c = corpus_file();
    char a[600], b[600];
    snprintf(a, sizeof a, "%s", train_to("d1", c, 150, 2, NULL));
    snprintf(b, sizeof b, "%s", train_to("d2", c, 150, 2, NULL));
    const char *names[] = {"tokenizer.json", "vocab.txt"};
    for (int i = 0; i < 2; i++) {
        char pa[700], pb[700];
        snprintf(pa, sizeof pa, "%s/%s", a, names[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, names[i]);
        size_t na, nb;
        char *x = check_read_file(pa, &na), *y = check_read_file(pb, &nb);
        cr_assert_eq(na, nb, "%s differs in size", names[i]);
        cr_assert(memcmp(x, y, na) == 0, "%s differs", names[i]);
        free(x);
        free(y);
    }
}

Test(tok_train, pairs_have_type_ids) {
    const char *dir = train_to("t5", corpus_file(), 150, 2, NULL);
    struct tokenizer *t = load(dir);
    struct tok_encoding a, e;
    encode(t, "the dog", NULL, &a);
    encode(t, "the dog", "a fox", &e);
    cr_assert_eq(e.ids[0], 2);
    int sep1 = a.n - 1;
    cr_assert_eq(e.ids[sep1], 3);
    cr_assert_eq(e.ids[e.n - 1], 3);
    for (int i = 0; i < e.n; i++)
        cr_assert_eq(e.type_ids[i], i <= sep1 ? 0 : 1, "type id %d", i);
    cr_assert_gt(e.n, sep1 + 2);
    tok_encoding_free(&a);
    tok_encoding_free(&e);
    tok_free(t);
}

Test(tok_train, no_lowercase_keeps_case_and_accents) {
    const char *p = temp_file("cased.txt", "Café Café café Dog dog Dog\nCafé dog\n");
    struct tok_train_opts o = {.vocab_size = 40, .min_frequency = 1, .lowercase = 0};
    struct tok_trainer *tr = NULL;
    struct pf_err err = {0};
    CHECK_OK(tok_trainer_new(&tr, &o, &err), &err);
    CHECK_OK(tok_trainer_add_file(tr, p, &err), &err);
    CHECK_OK(tok_trainer_learn(tr, &err), &err);
    int found_C = 0, found_acc = 0;
    for (int i = 0; i < tok_trainer_vocab_size(tr); i++) {
        found_C |= !strcmp(tok_trainer_token(tr, i), "C");
        found_acc |= !strcmp(tok_trainer_token(tr, i), "##é");
    }
    cr_assert(found_C && found_acc);
    char *json = tok_trainer_json(tr);
    cr_assert(strstr(json, "\"lowercase\":\tfalse"), "%s", json);
    free(json);
    tok_trainer_free(tr);
}

Test(tok_train, min_frequency_drops_rare_characters) {
    const char *p = temp_file("rare.txt", "ab ab ab ba ba ba ax\n");
    struct tok_train_opts o = {.vocab_size = 20, .min_frequency = 2, .lowercase = 1};
    struct tok_trainer *tr = NULL;
    struct pf_err err = {0};
    struct tok_train_stats st;
    CHECK_OK(tok_trainer_new(&tr, &o, &err), &err);
    CHECK_OK(tok_trainer_add_file(tr, p, &err), &err);
    CHECK_OK(tok_trainer_learn(tr, &err), &err);
    tok_trainer_stats(tr, &st);
    cr_assert_eq(st.dropped_chars, 1); /* ##x */
    for (int i = 0; i < tok_trainer_vocab_size(tr); i++)
        cr_assert(!strstr(tok_trainer_token(tr, i), "x"));
    tok_trainer_free(tr);
}

Test(tok_train, bounded_word_table_prunes) {
    /* 3000 distinct words seen once, "common" many times; the table holds 64 */
    size_t cap = 3000 * 12 + 4000 * 7 + 1, at = 0;
    char *s = check_alloc(cap);
    for (int i = 0; i < 3000; i++) {
        at += (size_t)snprintf(s + at, cap - at, "w%c%c%c common\n", 'a' + i % 26,
                               'a' + (i / 26) % 26, 'a' + (i / 676) % 26);
    }
    const char *p = temp_file("many.txt", s);
    free(s);
    struct tok_train_opts o = {.vocab_size = 60, .min_frequency = 2, .lowercase = 1,
                               .max_words = 64};
    struct tok_trainer *tr = NULL;
    struct pf_err err = {0};
    struct tok_train_stats st;
    CHECK_OK(tok_trainer_new(&tr, &o, &err), &err);
    CHECK_OK(tok_trainer_add_file(tr, p, &err), &err);
    CHECK_OK(tok_trainer_learn(tr, &err), &err);
    tok_trainer_stats(tr, &st);
    cr_assert_gt(st.prunes, 0);
    cr_assert_gt(st.pruned_distinct, 0);
    cr_assert_leq(st.distinct, 64);
    int found = 0;
    for (int i = 0; i < tok_trainer_vocab_size(tr); i++)
        found |= !strcmp(tok_trainer_token(tr, i), "common");
    cr_assert(found, "the frequent word survived pruning and became a token");
    tok_trainer_free(tr);
}

Test(tok_train, clear_errors) {
    struct tok_train_opts o = {.vocab_size = 8, .min_frequency = 1, .lowercase = 1};
    struct tok_trainer *tr = NULL;
    struct pf_err err = {0};
    CHECK_OK(tok_trainer_new(&tr, &o, &err), &err);
    cr_assert_eq(tok_trainer_add_file(tr, "/nonexistent/x.txt", &err), PF_ERR_IO);
    cr_assert(strstr(err.msg, "/nonexistent/x.txt"), "%s", err.msg);
    const char *bad = temp_file("bad.txt", "ok line\nbad \xff byte\n");
    cr_assert_eq(tok_trainer_add_file(tr, bad, &err), PF_ERR_FORMAT);
    cr_assert(strstr(err.msg, "bad.txt:2: invalid UTF-8"), "%s", err.msg);
    cr_assert_eq(tok_trainer_learn(tr, &err), PF_ERR_ARG, "learning from nothing (ok counted?)");
    tok_trainer_free(tr);
    /* alphabet larger than the vocab */
    CHECK_OK(tok_trainer_new(&tr, &o, &err), &err);
    const char *t = "abcdef abcdef";
    CHECK_OK(tok_trainer_add_text(tr, t, strlen(t), "text", &err), &err);
    cr_assert_eq(tok_trainer_learn(tr, &err), PF_ERR_ARG);
    cr_assert(strstr(err.msg, "vocab size 8 is too small"), "%s", err.msg);
    tok_trainer_free(tr);
    o.vocab_size = 5;
    cr_assert_eq(tok_trainer_new(&tr, &o, &err), PF_ERR_ARG);
    o.vocab_size = 10;
    o.min_frequency = 0;
    cr_assert_eq(tok_trainer_new(&tr, &o, &err), PF_ERR_ARG);
}

/* ---- the command ---- */

Test(tok_train, cli_trains_and_loads) {
    const char *c = corpus_file();
    char dir[600];
    snprintf(dir, sizeof dir, "%s/cli/out", check_temp_dir());
    const char *args[] = {"tokenizer-train", "--vocab-size", "150", "--out", dir, c, NULL};
    char out[4096], errb[4096];
    int rc = check_run_argv(args, out, sizeof out, errb, sizeof errb);
    cr_assert_eq(rc, 0, "stderr: %s", errb);
    cr_assert(strstr(out, "\"vocab_size\": 150"), "%s", out);
    struct tokenizer *t = NULL;
    struct pf_err err = {0};
    CHECK_OK(tok_load_dir(&t, dir, NULL, &err), &err);
    cr_assert_eq(tok_vocab_size(t), 150);
    tok_free(t);
    /* the same through `bipeft tokenize` */
    const char *tk[] = {"tokenize", dir, "--text", "the dog", NULL};
    cr_assert_eq(check_run_argv(tk, out, sizeof out, errb, sizeof errb), 0, "%s", errb);
    cr_assert(strstr(out, "\"tokens\":[\"[CLS]\",") && strstr(out, "\"dog\",\"[SEP]\"]") &&
                  !strstr(out, "[UNK]"), "%s", out);
}

Test(tok_train, cli_usage_errors_exit_2) {
    char out[4096], errb[4096];
    const char *c = corpus_file();
    char dir[600];
    snprintf(dir, sizeof dir, "%s/never", check_temp_dir());
    struct {
        const char *args[12];
        const char *want;
    } cases[] = {
        {{"tokenizer-train", NULL}, "missing --vocab-size"},
        {{"tokenizer-train", "--vocab-size", "100", c, NULL}, "missing --out"},
        {{"tokenizer-train", "--vocab-size", "100", "--out", dir, NULL}, "no input files"},
        {{"tokenizer-train", "--vocab-size", "x", "--out", dir, c, NULL},
         "--vocab-size expects an integer"},
        {{"tokenizer-train", "--vocab-size", "3", "--out", dir, c, NULL},
         "--vocab-size expects an integer"},
        {{"tokenizer-train", "--vocab-size", "100", "--min-frequency", "0", "--out", dir, c,
          NULL}, "--min-frequency expects an integer"},
        {{"tokenizer-train", "--vocab-size", "100", "--bogus", "--out", dir, c, NULL},
         "unknown option '--bogus'"},
        {{"tokenizer-train", "--vocab-size", "100", "--out", dir, c, "/no/such/corpus.txt", NULL},
         "/no/such/corpus.txt: No such file"},
        {{"tokenizer-train", "--vocab-size", "10", "--out", dir, c, NULL},
         "vocab size 10 is too small"},
        {{"tokenizer-train", "--vocab-size", "100", "--out", NULL}, "--out needs a value"},
        {{"tokenizer-train", "--vocab-size", "100", "--score", "best", "--out", dir, c, NULL},
         "--score is likelihood or frequency"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = check_run_argv(cases[i].args, out, sizeof out, errb, sizeof errb);
        cr_assert_eq(rc, 2, "case %zu: rc %d, stderr %s", i, rc, errb);
        cr_assert(strstr(errb, cases[i].want), "case %zu: stderr %s", i, errb);
        cr_assert(strncmp(errb, "bipeft: tokenizer-train: ", 25) == 0, "case %zu: %s", i, errb);
    }
    struct stat sb;
    cr_assert_neq(stat(dir, &sb), 0, "nothing was created for failed runs");
}
