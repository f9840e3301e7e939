/* peft_io.h - a structure file (which modules, where, at which rank) and the native adapter
 * tensors.
 *
 * structure.json (written atomically; bipeft train reads it with `structure = "..."`):
 *   { "format": "bipeft-structure", "version": 1,
 *     "model": {"family": "bert", "hidden": 768, "layers": 12}, "params": 294912,
 *     "modules": [ {"kind": "lora", "layer": 0, "target": "q", "rank": 8, "alpha": 16,
 *                   "dropout": 0.1, "params": 12288}, ... ] }
 * A module whose tensors are stored at a larger rank than it runs at (a search's supernet)
 * also has "stored_rank". "params" entries are informational (recomputed on load). Errors name the file and the
 * field: "s.json: modules[3].rank: expected an integer in 1..1024".
 *
 * Native tensors are named "<module>.<tensor>", e.g. "layers.0.lora.q.lora_A", F32, at the
 * stored rank. */
#ifndef PF_PEFT_IO_H
#define PF_PEFT_IO_H

#include "peft/peft.h"

#define PEFT_STRUCTURE_FORMAT "bipeft-structure"

struct st_file;
struct st_wtensor;

/* JSON text of a structure (caller frees with free()); NULL when out of memory. */
char *peft_structure_json(const struct model *m, const struct peft_spec *s, int n);
pf_status peft_structure_write(const struct peft *p, const char *path, struct pf_err *err);
/* Read and validate; *out (xfree) holds *n specs at rank == r_max. */
/* The whole file at path into a fresh NUL-terminated buffer (*len bytes; the caller frees
 * it); a file over max bytes is an error naming it. */
pf_status peft_read_text(const char *path, size_t max, char **out, size_t *len,
                         struct pf_err *err);
pf_status peft_structure_read(const char *path, struct peft_spec **out, int *n,
                              struct pf_err *err);
pf_status peft_structure_parse(const char *path, const char *txt, size_t len,
                               struct peft_spec **out, int *n, struct pf_err *err);
/* peft_add every spec (seeded per module); errors read "WHAT: modules[i]: ...". */
pf_status peft_add_specs(struct peft *p, const struct peft_spec *s, int n, uint64_t seed,
                         const char *what, struct pf_err *err);

/* "layers.0.lora.q.lora_A" for tensor i of md. */
pf_status peft_tensor_name(const struct peft_module *md, int i, char *buf, size_t n);
/* PF_ERR_NUMERIC naming the first non-finite module weight. */
pf_status peft_check_finite(const struct peft *p, struct pf_err *err);
/* Number of module tensors, and their descriptions for st_write (names: that many slots). */
int peft_tensor_count(const struct peft *p);
pf_status peft_tensors_list(const struct peft *p, struct st_wtensor *w, char (*names)[96],
                            struct pf_err *err);
/* Read every module tensor from f (names and shapes must match; values finite). */
pf_status peft_load_tensors(struct peft *p, const struct st_file *f, struct pf_err *err);

#endif
