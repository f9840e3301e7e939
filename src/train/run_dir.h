/* run_dir.h - the folder a `bipeft train` run writes, and reading it back (eval, export).
 *
 *   DIR/run.json            what the weights belong to (format "bipeft-run", version 1):
 *                           model path and family, task, labels, head, full or PEFT
 *   DIR/structure.json      the modules (peft_io.h); absent for full fine-tuning
 *   DIR/adapter.safetensors the best-dev weights: module tensors under native names
 *                           ("layers.0.lora.q.lora_A"), the head's parameters under their HF
 *                           names when the head was trained, and with full fine-tuning every
 *                           backbone parameter (HF names, base prefix included)
 *   DIR/config.json         the resolved config;  DIR/metrics.jsonl  one JSON object per line
 *   DIR/summary.json        the final numbers
 * Every file is written atomically; nothing non-finite is ever saved. */
#ifndef PF_RUN_DIR_H
#define PF_RUN_DIR_H

#include <stdint.h>

#include "model/model.h"
#include "peft/peft.h"

#define RUN_FORMAT "bipeft-run"

struct run_info {
    char model_path[512];
    char family[16];
    char task[64];
    int num_labels;          /* head outputs (1 for regression) */
    int regression;
    int n_labels;            /* label strings below (classification) */
    char labels[64][64];
    int full;                /* every backbone weight is in the adapter */
    int head;                /* the head's weights are in the adapter */
    int max_len;
    uint64_t seed;
    int random_init;         /* the base model's weights were replaced by the initialisation
                                from seed ^ RUN_RANDOM_INIT_STREAM (model.init = "random") */
};

#define RUN_RANDOM_INIT_STREAM 0x52414E44494E4954ULL /* "RANDINIT" */

pf_status run_info_write(const char *dir, const struct run_info *ri, struct pf_err *err);

/* A run that finished has DIR/summary.json (written last). One that was stopped (SIGINT,
 * SIGTERM, killed) or failed has not, and its adapter holds the best dev weights up to then:
 * PF_ERR_ARG saying so and naming `--partial` (the flag of the command `cmd`). */
pf_status run_check_finished(const char *dir, const char *cmd, struct pf_err *err);
pf_status run_info_read(const char *dir, struct run_info *ri, struct pf_err *err);

/* Write DIR/adapter.safetensors from the model and modules (p may be NULL): module tensors,
 * head parameters when `head`, every base parameter when `full`. Refuses non-finite values. */
pf_status run_save_weights(const char *dir, struct model *m, const struct peft *p, int head,
                           int full, struct pf_err *err);

/* Load the weights of DIR/adapter.safetensors into a model and modules built from the same
 * structure (names and shapes must match). */
pf_status run_load_weights(const char *dir, struct model *m, struct peft *p, int head, int full,
                           struct pf_err *err);

/* The run's modules (DIR/structure.json, unless ri->full) added to p, then every weight of
 * DIR/adapter.safetensors, into a model of the run's base checkpoint (run_open's second half;
 * bipeft eval uses it on a model it loaded itself). */
pf_status run_attach(const char *dir, const struct run_info *ri, struct model *m, struct peft *p,
                     struct pf_err *err);

/* Everything: run.json, the base model (sequence-classification head), the structure and
 * the adapter weights. On failure nothing is left allocated. */
pf_status run_open(const char *dir, struct backend *be, struct model *m, struct peft *p,
                   struct run_info *ri, struct pf_err *err);

#endif
