/* tok_train_write.c - a trained WordPiece vocabulary as HF files: tokenizer.json (the layout
 * HF `tokenizers` writes for BERT: BertNormalizer, BertPreTokenizer, TemplateProcessing
 * [CLS] $A [SEP] / [CLS] $A [SEP] $B:1 [SEP]:1, WordPiece decoder and model) and vocab.txt
 * (one token per line in id order). cJSON keeps insertion order, so the bytes only depend on
 * the vocabulary and the options. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tok/tok_train_internal.h"
#include "util/atomic.h"
#include "util/xalloc.h"

static cJSON *tpl_item(const char *kind, const char *id, int type_id) {
    cJSON *o = cJSON_CreateObject(), *in = cJSON_CreateObject();
    cJSON_AddStringToObject(in, "id", id);
    cJSON_AddNumberToObject(in, "type_id", type_id);
    cJSON_AddItemToObject(o, kind, in);
    return o;
}

static cJSON *special_def(const char *tok, int id) {
    cJSON *o = cJSON_CreateObject(), *ids = cJSON_CreateArray(), *toks = cJSON_CreateArray();
    cJSON_AddStringToObject(o, "id", tok);
    cJSON_AddItemToArray(ids, cJSON_CreateNumber(id));
    cJSON_AddItemToObject(o, "ids", ids);
    cJSON_AddItemToArray(toks, cJSON_CreateString(tok));
    cJSON_AddItemToObject(o, "tokens", toks);
    return o;
}

static cJSON *post_processor(void) {
    cJSON *p = cJSON_CreateObject(), *single = cJSON_CreateArray(), *pair = cJSON_CreateArray();
    cJSON_AddStringToObject(p, "type", "TemplateProcessing");
    cJSON_AddItemToArray(single, tpl_item("SpecialToken", "[CLS]", 0));
    cJSON_AddItemToArray(single, tpl_item("Sequence", "A", 0));
    cJSON_AddItemToArray(single, tpl_item("SpecialToken", "[SEP]", 0));
    cJSON_AddItemToArray(pair, tpl_item("SpecialToken", "[CLS]", 0));
    cJSON_AddItemToArray(pair, tpl_item("Sequence", "A", 0));
    cJSON_AddItemToArray(pair, tpl_item("SpecialToken", "[SEP]", 0));
    cJSON_AddItemToArray(pair, tpl_item("Sequence", "B", 1));
    cJSON_AddItemToArray(pair, tpl_item("SpecialToken", "[SEP]", 1));
    cJSON_AddItemToObject(p, "single", single);
    cJSON_AddItemToObject(p, "pair", pair);
    cJSON *sp = cJSON_CreateObject();
    cJSON_AddItemToObject(sp, "[CLS]", special_def("[CLS]", 2));
    cJSON_AddItemToObject(sp, "[SEP]", special_def("[SEP]", 3));
    cJSON_AddItemToObject(p, "special_tokens", sp);
    return p;
}

char *tok_trainer_json(const struct tok_trainer *tr) {
    if (!tr || !tr->learned)
        return NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", "1.0");
    cJSON_AddNullToObject(root, "truncation");
    cJSON_AddNullToObject(root, "padding");
    cJSON *added = cJSON_AddArrayToObject(root, "added_tokens");
    for (int i = 0; i < TOK_TRAIN_N_SPECIAL; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", i);
        cJSON_AddStringToObject(a, "content", tok_train_specials[i]);
        cJSON_AddFalseToObject(a, "single_word");
        cJSON_AddFalseToObject(a, "lstrip");
        cJSON_AddFalseToObject(a, "rstrip");
        cJSON_AddFalseToObject(a, "normalized");
        cJSON_AddTrueToObject(a, "special");
        cJSON_AddItemToArray(added, a);
    }
    cJSON *nm = cJSON_AddObjectToObject(root, "normalizer");
    cJSON_AddStringToObject(nm, "type", "BertNormalizer");
    cJSON_AddTrueToObject(nm, "clean_text");
    cJSON_AddTrueToObject(nm, "handle_chinese_chars");
    cJSON_AddBoolToObject(nm, "strip_accents", tr->o.lowercase != 0);
    cJSON_AddBoolToObject(nm, "lowercase", tr->o.lowercase != 0);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "pre_tokenizer"), "type",
                            "BertPreTokenizer");
    cJSON_AddItemToObject(root, "post_processor", post_processor());
    cJSON *dec = cJSON_AddObjectToObject(root, "decoder");
    cJSON_AddStringToObject(dec, "type", "WordPiece");
    cJSON_AddStringToObject(dec, "prefix", "##");
    cJSON_AddTrueToObject(dec, "cleanup");
    cJSON *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "type", "WordPiece");
    cJSON_AddStringToObject(model, "unk_token", "[UNK]");
    cJSON_AddStringToObject(model, "continuing_subword_prefix", "##");
    cJSON_AddNumberToObject(model, "max_input_chars_per_word", TOK_TRAIN_MAX_WORD_CHARS);
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    for (int32_t id = 0; id < tr->vocab.size; id++)
        cJSON_AddNumberToObject(vocab, tr->vocab.str[id], id);
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

pf_status tok_trainer_write(const struct tok_trainer *tr, const char *dir, struct pf_err *err) {
    if (!tr || !dir)
        return pf_err_set(err, PF_ERR_ARG, "tok_trainer_write: NULL argument");
    if (!tr->learned)
        return pf_err_set(err, PF_ERR_ARG, "tok_trainer_write: nothing learned yet");
    char *json = tok_trainer_json(tr);
    if (!json)
        return pf_err_set(err, PF_ERR_NOMEM, "tokenizer.json: out of memory");
    struct tok_buf txt = {0};
    for (int32_t id = 0; id < tr->vocab.size; id++) {
        tok_buf_put(&txt, tr->vocab.str[id], tr->vocab.len[id]);
        tok_buf_putc(&txt, '\n');
    }
    char *vpath = join(dir, "vocab.txt"), *jpath = join(dir, "tokenizer.json");
    struct stat sb;
    int had_dir = stat(dir, &sb) == 0, had_vocab = stat(vpath, &sb) == 0;
    pf_status st = atomic_mkdirs(dir, err);
    PF_STEP(st, atomic_write(vpath, txt.p, txt.n, err));
    if (st == PF_OK) {
        st = atomic_write(jpath, json, strlen(json), err);
        if (st != PF_OK && !had_vocab)
            unlink(vpath); /* no half-written tokenizer folder */
    }
    if (st != PF_OK && !had_dir)
        rmdir(dir);
    xfree(vpath);
    xfree(jpath);
    tok_buf_free(&txt);
    free(json);
    return st;
}
