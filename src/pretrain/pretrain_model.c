/* pretrain_model.c - the struct model_config of a BERT built from scratch (pretrain.h): the
 * same values hf_config_parse would give for the config.json pretrain_write_hf_config writes,
 * so that the model trained here and the model loaded back are built identically. */
#include <string.h>

#include "pretrain/pretrain.h"

void pretrain_bert_config(const struct pretrain_config *c, int vocab, int pad_id,
                          struct model_config *out) {
    memset(out, 0, sizeof *out);
    out->family = FAM_BERT;
    strcpy(out->model_type, "bert");
    strcpy(out->architecture, "BertForMaskedLM");
    strcpy(out->torch_dtype, "float32");
    out->head = HEAD_MLM;
    out->vocab = vocab;
    out->hidden = c->model.hidden;
    out->layers = c->model.layers;
    out->heads = c->model.heads;
    out->kv_heads = c->model.heads;
    out->head_dim = c->model.hidden / c->model.heads;
    out->ffn = c->model.intermediate;
    out->max_pos = c->model.max_positions;
    out->type_vocab = c->model.type_vocab;
    out->norm_eps = 1e-12f;
    out->act = ACT_GELU_ERF;
    out->pad_id = pad_id;
    out->bos_id = out->eos_id = -1;
    out->num_labels = 2;
    out->tie_word_embeddings = 1;
}
