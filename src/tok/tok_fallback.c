/* tok_fallback.c - tok_load_dir: DIR/tokenizer.json, or the pre-`tokenizers` files.
 *
 * The fallbacks build the tokenizer.json document HF's converters would write and hand it to
 * the same loader, so they share its validation:
 *   vocab.txt (BERT): BertNormalizer (lowercase = tokenizer_config.json's do_lower_case,
 *     default true), BertPreTokenizer, WordPiece ([UNK], "##", 100 chars), BertProcessing with
 *     [CLS]/[SEP]; [PAD] [UNK] [CLS] [SEP] [MASK] present in the vocab become special tokens.
 *   vocab.json + merges.txt: ByteLevel (add_prefix_space false), BPE without unk; for
 *     model_type "roberta" RobertaProcessing(<s>, </s>) and <s> <pad> </s> <unk> <mask>
 *     (lstrip) as special tokens; otherwise no post-processor and <|endoftext|> special.
 *   A LLaMA directory with only tokenizer.model (SentencePiece protobuf) is not supported. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tok/tok_internal.h"
#include "util/xalloc.h"

#define MAX_VOCAB_FILE ((size_t)256 << 20)

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void add_special(cJSON *added, const cJSON *vocab, const char *name, int lstrip) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(vocab, name);
    if (!cJSON_IsNumber(id))
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", id->valuedouble);
    cJSON_AddStringToObject(o, "content", name);
    cJSON_AddBoolToObject(o, "single_word", 0);
    cJSON_AddBoolToObject(o, "lstrip", lstrip);
    cJSON_AddBoolToObject(o, "rstrip", 0);
    cJSON_AddBoolToObject(o, "normalized", 0);
    cJSON_AddBoolToObject(o, "special", 1);
    cJSON_AddItemToArray(added, o);
}

static cJSON *typed(const char *type) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    return o;
}

static cJSON *token_pair(const cJSON *vocab, const char *name) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(vocab, name);
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, cJSON_CreateString(name));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(cJSON_IsNumber(id) ? id->valuedouble : -1));
    return a;
}

/* do_lower_case from tokenizer_config.json; default 1. */
static int lower_case(const char *dir) {
    char *p = join(dir, "tokenizer_config.json"), *data;
    size_t len;
    int lower = 1;
    struct pf_err e = {0};
    if (tok_read_file(p, MAX_VOCAB_FILE, &data, &len, NULL, &e) == PF_OK) {
        cJSON *root = cJSON_ParseWithLength(data, len);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "do_lower_case");
        if (cJSON_IsBool(v))
            lower = cJSON_IsTrue(v);
        cJSON_Delete(root);
        free(data);
    }
    xfree(p);
    return lower;
}

static pf_status load_vocab_txt(struct tokenizer **out, const char *dir, const char *path,
                                char *data, size_t len, struct pf_err *err) {
    cJSON *root = cJSON_CreateObject(), *vocab = cJSON_CreateObject();
    int id = 0;
    for (size_t i = 0; i < len;) {
        size_t e = i;
        while (e < len && data[e] != '\n')
            e++;
        size_t n = e;
        if (n > i && data[n - 1] == '\r')
            n--;
        if (memchr(data + i, '\0', n - i)) {
            cJSON_Delete(root);
            cJSON_Delete(vocab);
            return pf_err_set(err, PF_ERR_FORMAT, "%s: line %d contains a NUL byte", path, id + 1);
        }
        char save = data[n];
        data[n] = '\0';
        cJSON_AddItemToObject(vocab, data + i, cJSON_CreateNumber(id++));
        data[n] = save;
        i = e + 1;
    }
    cJSON *model = typed("WordPiece");
    cJSON_AddStringToObject(model, "unk_token", "[UNK]");
    cJSON_AddStringToObject(model, "continuing_subword_prefix", "##");
    cJSON_AddNumberToObject(model, "max_input_chars_per_word", 100);
    cJSON_AddItemToObject(model, "vocab", vocab);
    cJSON *added = cJSON_CreateArray();
    static const char *sp[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (int k = 0; k < 5; k++)
        add_special(added, vocab, sp[k], 0);
    int lower = lower_case(dir);
    cJSON *norm = typed("BertNormalizer");
    cJSON_AddBoolToObject(norm, "clean_text", 1);
    cJSON_AddBoolToObject(norm, "handle_chinese_chars", 1);
    cJSON_AddNullToObject(norm, "strip_accents");
    cJSON_AddBoolToObject(norm, "lowercase", lower);
    cJSON *post = typed("BertProcessing");
    cJSON_AddItemToObject(post, "sep", token_pair(vocab, "[SEP]"));
    cJSON_AddItemToObject(post, "cls", token_pair(vocab, "[CLS]"));
    cJSON_AddItemToObject(root, "added_tokens", added);
    cJSON_AddItemToObject(root, "normalizer", norm);
    cJSON_AddItemToObject(root, "pre_tokenizer", typed("BertPreTokenizer"));
    cJSON_AddItemToObject(root, "post_processor", post);
    cJSON_AddItemToObject(root, "model", model);
    pf_status st = tok_from_json(out, root, path, err);
    cJSON_Delete(root);
    return st;
}

static pf_status load_bpe_files(struct tokenizer **out, const char *vpath, const char *mpath,
                                const char *model_type, struct pf_err *err) {
    char *vdata, *mdata;
    size_t vlen, mlen;
    pf_status st = tok_read_file(vpath, MAX_VOCAB_FILE, &vdata, &vlen, NULL, err);
    if (st != PF_OK)
        return st;
    cJSON *vocab = cJSON_ParseWithLength(vdata, vlen);
    free(vdata);
    if (!cJSON_IsObject(vocab)) {
        cJSON_Delete(vocab);
        return pf_err_set(err, PF_ERR_FORMAT, "%s: not a JSON object of token: id", vpath);
    }
    st = tok_read_file(mpath, MAX_VOCAB_FILE, &mdata, &mlen, NULL, err);
    if (st != PF_OK) {
        cJSON_Delete(vocab);
        return st;
    }
    cJSON *merges = cJSON_CreateArray();
    int line = 0;
    for (size_t i = 0; i < mlen;) {
        size_t e = i;
        while (e < mlen && mdata[e] != '\n')
            e++;
        size_t n = e;
        if (n > i && mdata[n - 1] == '\r')
            n--;
        line++;
        int skip = n == i || (line == 1 && n - i >= 9 && !strncmp(mdata + i, "#version:", 9));
        if (!skip) {
            char save = mdata[n];
            mdata[n] = '\0';
            cJSON_AddItemToArray(merges, cJSON_CreateString(mdata + i));
            mdata[n] = save;
        }
        i = e + 1;
    }
    free(mdata);
    int roberta = model_type && !strcmp(model_type, "roberta");
    cJSON *root = cJSON_CreateObject(), *added = cJSON_CreateArray();
    if (roberta) {
        static const char *sp[] = {"<s>", "<pad>", "</s>", "<unk>"};
        for (int k = 0; k < 4; k++)
            add_special(added, vocab, sp[k], 0);
        add_special(added, vocab, "<mask>", 1);
    } else {
        add_special(added, vocab, "<|endoftext|>", 0);
    }
    cJSON *pre = typed("ByteLevel");
    cJSON_AddBoolToObject(pre, "add_prefix_space", 0);
    cJSON_AddBoolToObject(pre, "trim_offsets", 1);
    cJSON_AddBoolToObject(pre, "use_regex", 1);
    cJSON *model = typed("BPE");
    cJSON_AddNullToObject(model, "unk_token");
    cJSON_AddItemToObject(model, "vocab", vocab);
    cJSON_AddItemToObject(model, "merges", merges);
    cJSON_AddItemToObject(root, "added_tokens", added);
    cJSON_AddItemToObject(root, "pre_tokenizer", pre);
    if (roberta) {
        cJSON *post = typed("RobertaProcessing");
        cJSON_AddItemToObject(post, "sep", token_pair(vocab, "</s>"));
        cJSON_AddItemToObject(post, "cls", token_pair(vocab, "<s>"));
        cJSON_AddItemToObject(root, "post_processor", post);
    }
    cJSON_AddItemToObject(root, "model", model);
    st = tok_from_json(out, root, vpath, err);
    cJSON_Delete(root);
    return st;
}

pf_status tok_load_dir(struct tokenizer **out, const char *dir, const char *model_type,
                       struct pf_err *err) {
    if (!out || !dir)
        return pf_err_set(err, PF_ERR_ARG, "tok_load_dir: NULL argument");
    *out = NULL;
    char *p = join(dir, "tokenizer.json");
    /* existence only (tok_load_json refuses what is not a regular file): opening a FIFO here
     * would block */
    if (access(p, F_OK) == 0) {
        pf_status st = tok_load_json(out, p, err);
        xfree(p);
        return st;
    }
    xfree(p);
    p = join(dir, "vocab.txt");
    char *data;
    size_t len;
    int missing = 0;
    pf_status st = tok_read_file(p, MAX_VOCAB_FILE, &data, &len, &missing, err);
    if (st == PF_OK) {
        st = load_vocab_txt(out, dir, p, data, len, err);
        free(data);
        xfree(p);
        return st;
    }
    xfree(p);
    if (!missing)
        return st;
    char *vp = join(dir, "vocab.json"), *mp = join(dir, "merges.txt");
    if (access(vp, F_OK) == 0) {
        st = load_bpe_files(out, vp, mp, model_type, err);
    } else {
        char *sp = join(dir, "tokenizer.model");
        int g = access(sp, F_OK) == 0;
        st = pf_err_set(err, g ? PF_ERR_UNSUPPORTED : PF_ERR_IO,
                        "%s: no tokenizer.json, vocab.txt or vocab.json + merges.txt%s", dir,
                        g ? " (a SentencePiece tokenizer.model alone is not supported)" : "");
        xfree(sp);
    }
    xfree(vp);
    xfree(mp);
    return st;
}
