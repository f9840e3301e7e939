/* cmd_tokenizer_train.c - `bipeft tokenizer-train --vocab-size N --out DIR [--min-frequency K]
 * [--no-lowercase] [--score likelihood|frequency] [--max-words M] FILE...`: train a BERT-style WordPiece tokenizer on UTF-8
 * text files and write DIR/tokenizer.json and DIR/vocab.txt (src/tok/tok_train.h). Prints one
 * JSON object of counts on stdout. Exit 2 for bad usage, an unreadable or invalid input file
 * (named) or a vocab size too small for the alphabet; 1 when the output cannot be written
 * (nothing partial is left behind). */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "tok/tok_train.h"

#define NAME "tokenizer-train"

static int usage(const char *msg) {
    fprintf(stderr, "bipeft: " NAME ": %s\n", msg);
    return 2;
}

static void print_stats(const struct tok_train_stats *s, const char *dir) {
    printf("{\"out\": \"%s\", \"vocab_size\": %d, \"alphabet\": %d, \"dropped_chars\": %d, "
           "\"merges\": %d, \"lines\": %llu, \"words\": %llu, \"distinct_words\": %llu, "
           "\"long_words_skipped\": %llu, \"prunes\": %d, \"pruned_distinct\": %llu, "
           "\"pruned_words\": %llu}\n",
           dir, s->vocab_size, s->alphabet, s->dropped_chars, s->merges,
           (unsigned long long)s->lines, (unsigned long long)s->words,
           (unsigned long long)s->distinct, (unsigned long long)s->long_words, s->prunes,
           (unsigned long long)s->pruned_distinct, (unsigned long long)s->pruned_words);
}

int cmd_tokenizer_train(const struct cmd_ctx *ctx, int argc, char **argv) {
    (void)ctx;
    struct tok_train_opts o = {.vocab_size = 0, .min_frequency = 2, .lowercase = 1};
    const char *out = NULL;
    int n_files = 0, max_words = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(a, "--vocab-size") || !strcmp(a, "--min-frequency") ||
            !strcmp(a, "--max-words") || !strcmp(a, "--out") || !strcmp(a, "--score")) {
            if (!has_val) {
                fprintf(stderr, "bipeft: " NAME ": %s needs a value\n", a);
                return 2;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--out"))
                out = v;
            else if (!strcmp(a, "--score") && strcmp(v, "likelihood") && strcmp(v, "frequency")) {
                fprintf(stderr, "bipeft: " NAME ": --score is likelihood or frequency, got '%s'\n",
                        v);
                return 2;
            } else if (!strcmp(a, "--score"))
                o.by_frequency = !strcmp(v, "frequency");
            else if (!strcmp(a, "--vocab-size") &&
                     !cmd_parse_int(NAME, a, v, 6, 1 << 24, &o.vocab_size))
                return 2;
            else if (!strcmp(a, "--min-frequency") &&
                     !cmd_parse_int(NAME, a, v, 1, 1 << 30, &o.min_frequency))
                return 2;
            else if (!strcmp(a, "--max-words") &&
                     !cmd_parse_int(NAME, a, v, 16, 1 << 30, &max_words))
                return 2;
        } else if (!strcmp(a, "--no-lowercase")) {
            o.lowercase = 0;
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "bipeft: " NAME ": unknown option '%s'\n", a);
            return 2;
        } else {
            argv[n_files++] = argv[i]; /* keep the files, in order, at the front */
        }
    }
    if (!o.vocab_size)
        return usage("missing --vocab-size N");
    if (!out || !*out)
        return usage("missing --out DIR");
    if (n_files == 0)
        return usage("no input files (give FILE...)");
    o.max_words = (size_t)max_words;
    struct pf_err err = {0};
    struct tok_trainer *tr = NULL;
    pf_status st = tok_trainer_new(&tr, &o, &err);
    for (int i = 0; i < n_files && st == PF_OK; i++)
        st = tok_trainer_add_file(tr, argv[i], &err);
    if (st == PF_OK)
        st = tok_trainer_learn(tr, &err);
    if (st != PF_OK) {
        fprintf(stderr, "bipeft: " NAME ": %s\n", err.msg);
        tok_trainer_free(tr);
        return 2;
    }
    st = tok_trainer_write(tr, out, &err);
    if (st != PF_OK) {
        fprintf(stderr, "bipeft: " NAME ": %s\n", err.msg);
        tok_trainer_free(tr);
        return 1;
    }
    struct tok_train_stats s;
    tok_trainer_stats(tr, &s);
    if (s.prunes)
        fprintf(stderr, "bipeft: " NAME ": the word table was pruned %d times (%llu rare words, "
                "%llu occurrences dropped); raise --max-words to keep them\n", s.prunes,
                (unsigned long long)s.pruned_distinct, (unsigned long long)s.pruned_words);
    if (s.vocab_size < o.vocab_size)
        fprintf(stderr, "bipeft: " NAME ": the corpus only supports %d tokens (asked %d)\n",
                s.vocab_size, o.vocab_size);
    print_stats(&s, out);
    tok_trainer_free(tr);
    return 0;
}
