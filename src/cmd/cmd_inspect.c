/* cmd_inspect.c - `bipeft inspect DIR`: family, sizes, parameter count, dtype, head and
 * tokenizer of a checkpoint folder, from config.json and the safetensors headers (the
 * weights are not read). Exit 2 with one line for a bad folder. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "cmd/cmd_model_util.h"
#include "model/model_load.h"

static const char *group(long long v, char *buf, size_t n) {
    char tmp[32];
    int len = snprintf(tmp, sizeof tmp, "%lld", v), k = 0;
    for (int i = 0; i < len && k + 2 < (int)n; i++) {
        if (i && (len - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = tmp[i];
    }
    buf[k] = '\0';
    return buf;
}

int cmd_inspect(const struct cmd_ctx *ctx, int argc, char **argv) {
    (void)ctx;
    if (argc != 1 || argv[0][0] == '-') {
        fprintf(stderr, "bipeft: inspect: usage: bipeft inspect DIR\n");
        return 2;
    }
    const char *dir = argv[0];
    struct stat sb;
    if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "bipeft: inspect: %s is a file; inspect reads a checkpoint folder (a "
                "HuggingFace folder with config.json and model.safetensors, e.g. "
                "models/bipeft-base)\n", dir);
        return 2;
    }
    struct model_probe p;
    struct pf_err err = {0};
    if (model_probe(dir, &p, &err) != PF_OK) {
        fprintf(stderr, "bipeft: inspect: %s\n", err.msg);
        return 2;
    }
    struct tokenizer *tok = NULL;
    struct pf_err terr = {0};
    pf_status tst = cmd_load_tokenizer(&tok, dir, p.cfg.family, &terr);
    const struct model_config *c = &p.cfg;
    char num[32];
    printf("model       %s\n", dir);
    printf("family      %s (model_type %s%s%s)\n", hf_family_name(c->family), c->model_type,
           c->architecture[0] ? ", " : "", c->architecture);
    if (c->head == HEAD_SEQ_CLS)
        printf("head        %s, %d %s\n", hf_head_name(c->head), c->num_labels,
               c->regression ? "output (regression)" : "labels");
    else
        printf("head        %s\n", hf_head_name(c->head));
    printf("layers      %d\n", c->layers);
    printf("hidden      %d\n", c->hidden);
    printf("heads       %d (kv heads %d, head size %d)\n", c->heads, c->kv_heads, c->head_dim);
    printf("ffn         %d\n", c->ffn);
    printf("vocab       %d\n", c->vocab);
    printf("positions   %d\n", c->max_pos - c->pos_offset);
    if (c->family == FAM_LLAMA)
        printf("rope_theta  %g\n", c->rope_theta);
    printf("parameters  %s in %d tensors, %d file%s\n", group(p.n_elements, num, sizeof num),
           p.n_tensors, p.n_files, p.n_files == 1 ? "" : "s");
    printf("dtype       %s\n", p.dtype);
    if (tst == PF_OK)
        printf("tokenizer   %s, vocab %d, pad id %d\n", tok_kind(tok), tok_vocab_size(tok),
               tok_pad_id(tok));
    else
        printf("tokenizer   none (%s)\n", terr.msg);
    tok_free(tok);
    return 0;
}
