/* cmd_model_util.c - shared pieces of the model commands (cmd_model_util.h). */
#include "cmd/cmd_model_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "util/xalloc.h"

pf_status cmd_load_tokenizer(struct tokenizer **out, const char *dir, enum model_family f,
                             struct pf_err *err) {
    return tok_load_dir(out, dir, hf_family_name(f), err);
}

int cmd_parse_text_args(const char *cmd, int argc, char **argv, int allow_out,
                        struct text_args *a) {
    memset(a, 0, sizeof *a);
    a->text = xcalloc((size_t)argc + 1, sizeof *a->text);
    a->pair = xcalloc((size_t)argc + 1, sizeof *a->pair);
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(o, "--text") || !strcmp(o, "--pair") || !strcmp(o, "--max-length") ||
            (allow_out && !strcmp(o, "--out"))) {
            if (!has_value) {
                fprintf(stderr, "bipeft: %s: %s needs a value\n", cmd, o);
                return 2;
            }
            const char *v = argv[++i];
            if (!strcmp(o, "--text"))
                a->text[a->n_text++] = v;
            else if (!strcmp(o, "--pair"))
                a->pair[a->n_pair++] = v;
            else if (!strcmp(o, "--out"))
                a->out = v;
            else if (!cmd_parse_int(cmd, o, v, 1, 1 << 20, &a->max_length))
                return 2;
        } else if (!strcmp(o, "--no-special")) {
            a->no_special = 1;
        } else if (o[0] == '-' && o[1]) {
            fprintf(stderr, "bipeft: %s: unknown option '%s'\n", cmd, o);
            return 2;
        } else if (a->dir) {
            fprintf(stderr, "bipeft: %s: unexpected argument '%s' (one model folder)\n", cmd, o);
            return 2;
        } else {
            a->dir = o;
        }
    }
    if (!a->dir) {
        fprintf(stderr, "bipeft: %s: missing the model folder\n", cmd);
        return 2;
    }
    if (a->n_pair > a->n_text) {
        fprintf(stderr, "bipeft: %s: %d --pair for %d --text (the k-th --pair goes with the "
                "k-th --text)\n", cmd, a->n_pair, a->n_text);
        return 2;
    }
    return 0;
}

void cmd_text_args_free(struct text_args *a) {
    free(a->text);
    free(a->pair);
    a->text = a->pair = NULL;
}
