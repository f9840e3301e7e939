/* cmd_model_util.h - what inspect, tokenize and forward share: the tokenizer of a model
 * folder, and encoding a batch of texts (with pairs) padded on the right. */
#ifndef PF_CMD_MODEL_UTIL_H
#define PF_CMD_MODEL_UTIL_H

#include "model/hf_config.h"
#include "tok/tok.h"

/* The folder's tokenizer for a model of family f (tokenizer.json, or the vocab fallbacks). */
pf_status cmd_load_tokenizer(struct tokenizer **out, const char *dir, enum model_family f,
                             struct pf_err *err);

/* Options every text command takes: --text (repeatable), --pair (repeatable, the k-th goes
 * with the k-th --text), --max-length N, --no-special. Unknown options and missing values
 * print one line and return 2; otherwise 0 with the remaining positional arguments. */
struct text_args {
    int n_text, n_pair;
    const char **text, **pair;
    int max_length, no_special;
    const char *out;     /* --out (forward) */
    const char *dir;     /* the one positional argument */
};
int cmd_parse_text_args(const char *cmd, int argc, char **argv, int allow_out,
                        struct text_args *a);
void cmd_text_args_free(struct text_args *a);

#endif
