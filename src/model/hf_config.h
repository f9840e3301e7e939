/* hf_config.h - a HuggingFace config.json read into a plain struct, validated once.
 *
 * Supported model_type values: bert, roberta (encoders), gpt2, llama, and the LLaMA-shaped
 * mistral and qwen2. Every field is checked for its JSON type and range, and fields are
 * checked against each other (heads divide the hidden size, kv heads divide heads, ...)
 * before anything is allocated (reliability case 7). Errors are PF_ERR_FORMAT with one line
 * "PATH: field: rule" (e.g. "m/config.json: num_attention_heads: 0 must be >= 1"). Shapes
 * are checked against the weights later, by the loader (model/model_load.c). */
#ifndef PF_HF_CONFIG_H
#define PF_HF_CONFIG_H

#include <stddef.h>

#include "core/backend.h"
#include "util/err.h"

enum model_family { FAM_BERT, FAM_ROBERTA, FAM_GPT2, FAM_LLAMA };

/* What sits on top of the base model. */
enum model_head {
    HEAD_NONE,    /* BertModel, GPT2Model, LlamaModel, ...: hidden states only */
    HEAD_SEQ_CLS, /* *ForSequenceClassification: classification or regression */
    HEAD_MLM,     /* BertForMaskedLM, RobertaForMaskedLM */
    HEAD_LM       /* GPT2LMHeadModel, *ForCausalLM */
};

enum model_act { ACT_GELU_ERF, ACT_GELU_TANH, ACT_RELU, ACT_SILU };

/* Hard limits: far above any released model of these families, low enough that products of
 * them cannot overflow int64 and that a typo (vocab_size 2^40) is caught before allocation. */
#define HF_MAX_HIDDEN 65536
#define HF_MAX_LAYERS 512
#define HF_MAX_HEADS 1024
#define HF_MAX_VOCAB (1 << 22)
#define HF_MAX_POSITIONS (1 << 20)
#define HF_MAX_FFN (1 << 20)
#define HF_MAX_LABELS 100000

struct model_config {
    enum model_family family;
    char model_type[16];     /* as written: "bert", "roberta", "gpt2", "llama", "mistral", ... */
    char architecture[64];   /* architectures[0], or "" */
    char torch_dtype[16];    /* as written, or "" */
    enum model_head head;    /* from the architecture (HEAD_NONE when unknown/absent) */
    int vocab;               /* vocab_size */
    int hidden;              /* hidden_size / n_embd */
    int layers;              /* num_hidden_layers / n_layer */
    int heads;               /* num_attention_heads / n_head */
    int kv_heads;            /* num_key_value_heads (= heads unless GQA) */
    int head_dim;            /* head_dim, or hidden / heads */
    int ffn;                 /* intermediate_size / n_inner (GPT-2 null: 4 * n_embd) */
    int max_pos;             /* max_position_embeddings / n_positions */
    int type_vocab;          /* type_vocab_size (encoders; 0 otherwise) */
    int pos_offset;          /* RoBERTa: pad_token_id + 1 (positions start after padding) */
    float norm_eps;          /* layer_norm_eps / layer_norm_epsilon / rms_norm_eps */
    double rope_theta;       /* LLaMA family (10000 when absent) */
    enum model_act act;      /* hidden_act / activation_function */
    int pad_id, bos_id, eos_id; /* -1 when absent or null */
    int num_labels;          /* len(id2label) or num_labels; 2 when neither (HF's default) */
    int regression;          /* problem_type "regression", or num_labels == 1 */
    int tie_word_embeddings; /* LM/MLM decoder shares the token embedding */
    int attn_bias;           /* q/k/v projections have biases (Qwen2; LLaMA attention_bias) */
    int o_bias;              /* o_proj has a bias (LLaMA attention_bias) */
    int mlp_bias;            /* LLaMA mlp_bias */
    int sliding_window;      /* Mistral/Qwen2 (0 = none): longer inputs are refused */
    char labels[8][32];      /* the first id2label names (for display), "" when absent */
};

/* Parse the JSON text (len bytes) read from `path` (used in messages). */
pf_status hf_config_parse(struct model_config *c, const char *json, size_t len,
                          const char *path, struct pf_err *err);

/* Read and parse DIR/config.json (or the file itself when path names a file). */
pf_status hf_config_load(struct model_config *c, const char *path, struct pf_err *err);

/* "bert", "roberta", "gpt2" or "llama". */
const char *hf_family_name(enum model_family f);
/* "none", "sequence-classification", "masked-lm", "causal-lm". */
const char *hf_head_name(enum model_head h);
/* The gelu kind for GELU activations (GELU_ERF for anything else). */
enum gelu_kind hf_gelu_kind(enum model_act a);

#endif
