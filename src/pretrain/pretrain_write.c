/* pretrain_write.c - the HF folder of a pretrained model (pretrain.h): config.json
 * (BertForMaskedLM, every field hf_config_parse reads and the ones transformers expects),
 * model.safetensors (every parameter under its HF name, F32, metadata format "pt" as
 * transformers requires; the tied decoder is not stored, as save_pretrained does) and a copy
 * of tokenizer.json. Each file is written atomically. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "model/model.h"
#include "pretrain/pretrain_write.h"
#include "util/atomic.h"
#include "util/xalloc.h"
#include "version.h"

pf_status pretrain_write_hf_config(const char *dir, const struct model_config *mc,
                                   struct pf_err *err) {
    cJSON *r = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(r, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("BertForMaskedLM"));
    cJSON_AddNumberToObject(r, "attention_probs_dropout_prob", 0.1);
    cJSON_AddNullToObject(r, "classifier_dropout");
    cJSON_AddStringToObject(r, "hidden_act", "gelu");
    cJSON_AddNumberToObject(r, "hidden_dropout_prob", 0.1);
    cJSON_AddNumberToObject(r, "hidden_size", mc->hidden);
    cJSON_AddNumberToObject(r, "initializer_range", 0.02);
    cJSON_AddNumberToObject(r, "intermediate_size", mc->ffn);
    cJSON_AddNumberToObject(r, "layer_norm_eps", 1e-12);
    cJSON_AddNumberToObject(r, "max_position_embeddings", mc->max_pos);
    cJSON_AddStringToObject(r, "model_type", "bert");
    cJSON_AddNumberToObject(r, "num_attention_heads", mc->heads);
    cJSON_AddNumberToObject(r, "num_hidden_layers", mc->layers);
    cJSON_AddNumberToObject(r, "pad_token_id", mc->pad_id);
    cJSON_AddStringToObject(r, "position_embedding_type", "absolute");
    cJSON_AddBoolToObject(r, "tie_word_embeddings", 1);
    cJSON_AddStringToObject(r, "torch_dtype", "float32");
    cJSON_AddNumberToObject(r, "type_vocab_size", mc->type_vocab);
    cJSON_AddBoolToObject(r, "use_cache", 1);
    cJSON_AddNumberToObject(r, "vocab_size", mc->vocab);
    cJSON_AddStringToObject(r, "bipeft_version", BIPEFT_VERSION);
    char *txt = cJSON_Print(r);
    cJSON_Delete(r);
    if (!txt)
        return pf_err_set(err, PF_ERR_NOMEM, "%s: out of memory", dir);
    char path[1024];
    snprintf(path, sizeof path, "%s/config.json", dir);
    size_t n = strlen(txt);
    txt[n] = '\n'; /* replaces the NUL: the buffer is written by length */
    pf_status st = atomic_write(path, txt, n + 1, err);
    free(txt);
    return st;
}

pf_status pretrain_write_weights(const char *dir, const struct model *m, struct pf_err *err) {
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    return model_save_safetensors(m, path, "save", err);
}

pf_status pretrain_copy_file(const char *src, const char *dst, struct pf_err *err) {
    FILE *f = fopen(src, "rb");
    if (!f)
        return pf_err_set(err, PF_ERR_IO, "%s: cannot open: %s", src, strerror(errno));
    size_t cap = 1 << 16, n = 0, got;
    char *buf = xmalloc(cap);
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = xrealloc(buf, cap *= 2);
    }
    int bad = ferror(f);
    fclose(f);
    pf_status st = bad ? pf_err_set(err, PF_ERR_IO, "%s: read failed", src)
                       : atomic_write(dst, buf, n, err);
    xfree(buf);
    return st;
}
