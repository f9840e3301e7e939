/* peft_export.h - a training run folder (train/run_dir.h) written out for other tools
 * (docs/EXPORT.md):
 *
 *   native  run.json, structure.json and adapter.safetensors copied byte for byte (what
 *           run_open reads back);
 *   merged  a HuggingFace checkpoint folder: config.json (the base config with the
 *           *ForSequenceClassification architecture and the run's labels), model.safetensors
 *           (every parameter under its HF name, module deltas folded into the weights) and
 *           the base folder's tokenizer files;
 *   peft    adapter_config.json + adapter_model.safetensors as HuggingFace PEFT writes them:
 *           LORA for LoRA-only structures (GPT-2 q/k/v slices fused onto c_attn), IA3 for
 *           (IA)^3-only ones, LN_TUNING for LN-tuning-only ones.
 *
 * Everything that can be refused is refused before the first byte is written, with one line
 * naming the module kinds and the format that can hold them. The output folder: when it does
 * not exist it is built as "DIR.tmp-XXXXXX" next to it and renamed into place at the end
 * (a failure leaves nothing behind); when it exists each file is replaced atomically. */
#ifndef PF_PEFT_EXPORT_H
#define PF_PEFT_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "peft/peft.h"
#include "train/run_dir.h"

enum export_format { EXPORT_PEFT, EXPORT_MERGED, EXPORT_NATIVE };

/* "peft", "merged" or "native"; PF_ERR_ARG naming the value otherwise. */
pf_status export_format_parse(const char *s, enum export_format *out, struct pf_err *err);

/* Open the run folder (run_open) and export it to out_dir. */
pf_status peft_export(const char *run_dir, struct backend *be, enum export_format fmt,
                      const char *out_dir, struct pf_err *err);

/* The formats on an opened run (m and p from run_open of run_dir; m is modified by merged:
 * the deltas are folded into its weights). */
pf_status peft_export_native(const char *run_dir, const char *out_dir, struct pf_err *err);
pf_status peft_export_merged(struct model *m, const struct peft *p, const struct run_info *ri,
                             const char *out_dir, struct pf_err *err);
pf_status peft_export_peft(struct model *m, const struct peft *p, const struct run_info *ri,
                           const char *out_dir, struct pf_err *err);

/* Fold every module of p into m's weights (merged's maths, peft_export_merged.c); refuses
 * kinds that have no weight form (LRA, adapters, prefix) and BitFit where the layer has no
 * bias. After it, m alone (p detached) computes what m with p computed. */
pf_status peft_merge_into(struct model *m, const struct peft *p, struct pf_err *err);

/* ---- shared by the export files ---- */

/* Where a module's target lives in the HF model: the registry names (no base prefix) of
 * the linear's or norm's weight and bias ("" when absent), the module path (no ".weight"),
 * and for GPT-2's fused c_attn the offset of the slice in the output dimension. */
struct export_site {
    char path[112];       /* "encoder.layer.0.attention.self.query" */
    char w[128], b[128];  /* "<path>.weight", "<path>.bias" or "" */
    int in_out;           /* weight stored (in, out) (GPT-2 Conv1D) */
    int64_t off;          /* slice offset in the output dimension (c_attn q/k/v) */
    int norm;             /* a LayerNorm / RMSNorm */
};
/* Site of (target, layer) for model m; target CFG_T_FFN_UP with down_in = 1 gives the down
 * projection (where (IA)^3's FFN scaling lives). PF_ERR_UNSUPPORTED for other targets. */
pf_status export_site(const struct model *m, enum cfg_target t, int layer, int down_in,
                      struct export_site *s, struct pf_err *err);

/* An output folder being written (see above). */
struct export_dir {
    char final[1024];
    char work[1100];
    int staged;           /* 1: work is DIR.tmp-XXXXXX, renamed at commit */
};
pf_status export_dir_open(struct export_dir *d, const char *out_dir, struct pf_err *err);
/* work/name into buf. */
void export_dir_path(const struct export_dir *d, const char *name, char *buf, size_t n);
pf_status export_dir_commit(struct export_dir *d, struct pf_err *err);
/* Remove the staged folder (no-op for an existing one). */
void export_dir_abort(struct export_dir *d);
/* Copy src to dst through a temporary file and rename (atomic). */
pf_status export_copy_file(const char *src, const char *dst, struct pf_err *err);
/* Write a JSON text (plus a newline) atomically. */
pf_status export_write_text(const char *path, const char *txt, struct pf_err *err);

#endif
