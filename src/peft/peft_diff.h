/* peft_diff.h - two final structures (structure.json, peft/peft_io.h) side by side: what
 * `bipeft sessions diff A B` prints and the TUI's comparison screen shows.
 *
 * One row per (layer, kind, target) present in either, sorted by layer (final_ln, layer -1,
 * last), kind, target; modules with the same key pair up in order. */
#ifndef PF_PEFT_DIFF_H
#define PF_PEFT_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "peft/peft.h"
#include "util/err.h"

struct peft_diff_side {
    char path[4096];       /* the structure.json read */
    struct peft_spec *s;   /* owned (xmalloc) */
    int n;
    int64_t params;        /* sum of the modules' "params" (or the top-level one); -1: unknown */
};

enum peft_diff_mark { PEFT_DIFF_SAME, PEFT_DIFF_CHANGED, PEFT_DIFF_A_ONLY, PEFT_DIFF_B_ONLY };

struct peft_diff_row {
    int layer, kind, target;
    int a, b;              /* module index in A / B, -1: absent */
};

/* Read arg/structure.json (or arg itself when it is a regular file) into *d. Errors name the
 * file. */
pf_status peft_diff_read(const char *arg, struct peft_diff_side *d, struct pf_err *err);
void peft_diff_side_free(struct peft_diff_side *d);

/* The rows of A and B (owned by the caller: xfree); *n gets their count. */
struct peft_diff_row *peft_diff_rows(const struct peft_diff_side *a,
                                     const struct peft_diff_side *b, int *n);

/* "L0.lora.q", "L2.prefix", "final.ln". */
void peft_diff_name(const struct peft_diff_row *r, char *buf, size_t n);
/* Module i of d: its rank, "on" for vector kinds, "-" when i < 0. */
void peft_diff_rank(const struct peft_diff_side *d, int i, char *buf, size_t n);
/* Same rank text on both sides, different, or one side only. */
enum peft_diff_mark peft_diff_mark_of(const struct peft_diff_side *a,
                                      const struct peft_diff_side *b,
                                      const struct peft_diff_row *r);

#endif
