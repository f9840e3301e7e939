/* model_load.h - a HuggingFace checkpoint folder into a struct model.
 *
 * DIR holds config.json and model.safetensors (or model.safetensors.index.json and its
 * shards). Order of work, so that bad files fail before anything large is allocated:
 *   1. config.json is parsed and validated (model/hf_config.h);
 *   2. the safetensors headers are validated (io/safetensors.h);
 *   3. config and weights are cross-checked on a few sentinel tensors (the token embedding
 *      against vocab_size x hidden_size, the first and last layer present, no layer beyond
 *      num_hidden_layers) - reliability case 7;
 *   4. the model is allocated and every registered parameter is matched by name (with or
 *      without the family prefix; LayerNorm gamma/beta of TF-converted files as weight/bias)
 *      and shape, then read and widened to fp32;
 *   5. head parameters the checkpoint lacks are initialised from the seed (HF's init).
 * Tensors in the file that the model does not use are counted (and named in info). */
#ifndef PF_MODEL_LOAD_H
#define PF_MODEL_LOAD_H

#include <stdint.h>

#include "model/model.h"

struct model_load_opts {
    int head;          /* enum model_head to use, or -1 for config.json's architecture */
    int n_labels;      /* classification outputs, or 0 for config.json's */
    uint64_t seed;     /* for parameters the checkpoint does not have */
    int reinit_mismatched_head; /* 1: a head tensor of another shape (a checkpoint fine-tuned
                                   for a task with another label count) is initialised
                                   afresh and counted in n_reinitialised, like transformers'
                                   ignore_mismatched_sizes; 0: it is an error */
};

struct model_load_info {
    int n_files;           /* safetensors files read */
    int n_tensors;         /* tensors in the checkpoint */
    int n_loaded;          /* HF parameters read from it */
    int n_initialised;     /* HF parameters initialised (missing head) */
    int n_unused;          /* checkpoint tensors the model does not use */
    int n_reinitialised;   /* head tensors of another shape, initialised (opts) */
    char first_initialised[160];
    char first_unused[160];
    char dtype[8];         /* dtype of the loaded weights ("F32", "BF16", or "mixed") */
    int prefixed;          /* names carry the family prefix (bert./transformer./...) */
    int64_t file_bytes;    /* bytes of tensor data in the checkpoint */
};

/* Steps 1-3 only, nothing allocated for weights: what `bipeft inspect` shows. */
struct model_probe {
    struct model_config cfg;
    int n_files, n_tensors, prefixed;
    int64_t n_elements;   /* over every tensor in the checkpoint */
    int64_t data_bytes;   /* bytes of tensor data */
    char dtype[8];        /* the one dtype of every tensor, or "mixed" */
};
pf_status model_probe(const char *dir, struct model_probe *out, struct pf_err *err);

pf_status model_load(struct model *m, const char *dir, struct backend *be,
                     const struct model_load_opts *opts, struct model_load_info *info,
                     struct pf_err *err);

#endif
