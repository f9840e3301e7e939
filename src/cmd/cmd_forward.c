/* cmd_forward.c - `bipeft forward DIR --text T [--pair P] ... --out OUT.safetensors`:
 * tokenize a batch (the k-th --pair goes with the k-th --text), pad it on the right to the
 * longest row with config.json's pad_token_id (the tokenizer's pad token when the config has
 * none), run the model and write input_ids and attention_mask (I64, [B, T]),
 * last_hidden_state (F32, [B, T, hidden]) and, with a classification/regression head,
 * logits (F32, [B, num_labels]) atomically. DIR may also be a training run folder (it has
 * run.json, train/run_dir.h): the run's base model with its modules and trained weights runs,
 * tokenized with the base model folder's tokenizer. Exit 0 success, 1 run-time failure, 2 bad
 * usage or a bad model folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/cmd_model_util.h"
#include "core/backend.h"
#include "io/safetensors.h"
#include "model/model_load.h"
#include "train/run_dir.h"
#include "util/xalloc.h"

struct fwd {
    struct text_args a;
    struct backend *be;
    struct model m;
    int have_model;
    struct peft p;      /* a run folder's modules (have_model == 2) */
    struct run_info ri;
    struct tokenizer *tok;
    struct tok_encoding *enc;
    int n_enc;
};

static void fwd_free(struct fwd *f) {
    for (int i = 0; i < f->n_enc; i++)
        tok_encoding_free(&f->enc[i]);
    free(f->enc);
    tok_free(f->tok);
    if (f->have_model == 2)
        peft_free(&f->p);
    if (f->have_model)
        model_free(&f->m);
    if (f->be)
        backend_close(f->be);
    cmd_text_args_free(&f->a);
}

/* Tokenize and pad; returns an exit code (0 to go on). */
static int encode_batch(struct fwd *f) {
    struct pf_err err = {0};
    const struct model_config *c = &f->m.cfg;
    struct tok_options o = {.add_special_tokens = !f->a.no_special,
                            .max_length = f->a.max_length};
    f->enc = xcalloc((size_t)f->a.n_text, sizeof *f->enc);
    for (int i = 0; i < f->a.n_text; i++) {
        const char *t = f->a.text[i], *p = i < f->a.n_pair ? f->a.pair[i] : NULL;
        if (tok_encode(f->tok, t, strlen(t), p, p ? strlen(p) : 0, &o, &f->enc[i], &err) !=
            PF_OK) {
            fprintf(stderr, "bipeft: forward: --text %d: %s\n", i + 1, err.msg);
            return 2;
        }
        f->n_enc++;
        if (f->enc[i].n == 0) {
            fprintf(stderr, "bipeft: forward: --text %d encodes to no tokens\n", i + 1);
            return 2;
        }
        for (int k = 0; k < f->enc[i].n; k++)
            if (f->enc[i].ids[k] >= c->vocab) {
                fprintf(stderr, "bipeft: forward: the tokenizer gives id %d, outside the "
                        "model's vocab_size %d\n", f->enc[i].ids[k], c->vocab);
                return 2;
            }
    }
    int pad = c->pad_id >= 0 ? c->pad_id : tok_pad_id(f->tok);
    int ragged = 0;
    for (int i = 1; i < f->n_enc; i++)
        ragged |= f->enc[i].n != f->enc[0].n;
    if (ragged && pad < 0) {
        fprintf(stderr, "bipeft: forward: texts of different lengths need a pad_token_id in "
                "config.json or a pad token in the tokenizer\n");
        return 2;
    }
    if (ragged && tok_pad_batch(f->enc, f->n_enc, pad, &err) != PF_OK) {
        fprintf(stderr, "bipeft: forward: %s\n", err.msg);
        return 2;
    }
    return 0;
}

static int run_and_write(struct fwd *f) {
    struct pf_err err = {0};
    int B = f->n_enc, T = f->enc[0].n;
    size_t n = (size_t)B * (size_t)T;
    int32_t *ids = xmalloc(n * sizeof(int32_t) * 3);
    int32_t *mask = ids + n, *types = ids + 2 * n;
    int64_t *ids64 = xmalloc(n * sizeof(int64_t) * 2), *mask64 = ids64 + n;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)b * T + t;
            ids[i] = f->enc[b].ids[t];
            mask[i] = f->enc[b].attention_mask[t];
            types[i] = f->enc[b].type_ids[t];
            ids64[i] = ids[i];
            mask64[i] = mask[i];
        }
    if (f->m.cfg.type_vocab > 0)
        for (size_t i = 0; i < n; i++)
            if (types[i] >= f->m.cfg.type_vocab)
                types[i] = 0; /* one-segment models (RoBERTa) ignore the tokenizer's type ids */
    struct model_batch batch = {.B = B, .T = T, .ids = ids, .mask = mask, .type_ids = types};
    int rc = 0;
    if (model_forward(&f->m, &batch, &err) != PF_OK) {
        fprintf(stderr, "bipeft: forward: %s\n", err.msg);
        rc = 1;
    }
    if (rc == 0) {
        const struct tensor *h = model_hidden(&f->m);
        int64_t sh[2] = {B, T};
        float *hb = xmalloc(tensor_nbytes(h)), *lb = NULL;
        f->be->download(f->be, hb, h->data, tensor_nbytes(h));
        struct st_wtensor w[4] = {
            {"input_ids", ST_I64, 2, sh, ids64, 0},
            {"attention_mask", ST_I64, 2, sh, mask64, 0},
            {"last_hidden_state", ST_F32, 3, h->shape, hb, 0},
        };
        int nw = 3;
        if (f->m.cfg.head == HEAD_SEQ_CLS) {
            const struct tensor *lg = model_logits(&f->m);
            lb = xmalloc(tensor_nbytes(lg));
            f->be->download(f->be, lb, lg->data, tensor_nbytes(lg));
            w[nw++] = (struct st_wtensor){"logits", ST_F32, 2, lg->shape, lb, 0};
        }
        const char *meta[4] = {"format", "pt", "producer", "bipeft forward"};
        if (st_write(f->a.out, w, nw, meta, 2, &err) != PF_OK) {
            fprintf(stderr, "bipeft: forward: %s\n", err.msg);
            rc = 1;
        }
        free(hb);
        free(lb);
    }
    free(ids);
    free(ids64);
    return rc;
}

int cmd_forward(const struct cmd_ctx *ctx, int argc, char **argv) {
    struct fwd f;
    memset(&f, 0, sizeof f);
    int rc = cmd_parse_text_args("forward", argc, argv, 1, &f.a);
    if (rc == 0 && (f.a.n_text < 1 || !f.a.out)) {
        fprintf(stderr, "bipeft: forward: usage: bipeft forward DIR --text T [--pair P] ... "
                "--out OUT.safetensors\n");
        rc = 2;
    }
    struct pf_err err = {0};
    if (rc == 0 && !(f.be = cmd_open_backend(ctx, "forward")))
        rc = 2;
    struct model_load_opts opts = {.head = -1, .n_labels = 0, .seed = 0};
    char runjson[1100];
    snprintf(runjson, sizeof runjson, "%s/run.json", f.a.dir ? f.a.dir : "");
    int is_run = rc == 0 && access(runjson, F_OK) == 0;
    const char *tokdir = f.a.dir;
    if (rc == 0) {
        pf_status st = is_run ? run_open(f.a.dir, f.be, &f.m, &f.p, &f.ri, &err)
                              : model_load(&f.m, f.a.dir, f.be, &opts, NULL, &err);
        if (st != PF_OK) {
            fprintf(stderr, "bipeft: forward: %s\n", err.msg);
            rc = err.code == PF_ERR_NOMEM ? 1 : 2;
        } else {
            f.have_model = is_run ? 2 : 1;
            if (is_run)
                tokdir = f.ri.model_path;
        }
    }
    if (rc == 0 && cmd_load_tokenizer(&f.tok, tokdir, f.m.cfg.family, &err) != PF_OK) {
        fprintf(stderr, "bipeft: forward: %s\n", err.msg);
        rc = 2;
    }
    if (rc == 0)
        rc = encode_batch(&f);
    if (rc == 0)
        rc = run_and_write(&f);
    fwd_free(&f);
    return rc;
}
