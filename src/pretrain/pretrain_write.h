/* pretrain_write.h - the files of a pretraining output folder (pretrain_write.c). */
#ifndef PF_PRETRAIN_WRITE_H
#define PF_PRETRAIN_WRITE_H

#include "model/model.h"
#include "util/err.h"

/* DIR/config.json of a BertForMaskedLM with mc's shape, atomically. */
pf_status pretrain_write_hf_config(const char *dir, const struct model_config *mc,
                                   struct pf_err *err);
/* DIR/model.safetensors: every parameter of m under its full HF name, F32, atomically;
 * PF_ERR_NUMERIC (nothing written) when a value is not finite. */
pf_status pretrain_write_weights(const char *dir, const struct model *m, struct pf_err *err);
/* Copy file src to dst atomically. */
pf_status pretrain_copy_file(const char *src, const char *dst, struct pf_err *err);

#endif
