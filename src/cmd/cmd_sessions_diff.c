/* cmd_sessions_diff.c - `bipeft sessions diff A B`: the final structures of two sessions
 * (A/structure.json and B/structure.json, peft/peft_io.h; A or B may also name the file
 * itself) side by side. One line per (layer, kind, target) present in either, sorted by layer
 * (final_ln, layer -1, last), kind, target:
 *     module      A   B
 *     L0.lora.q   8   8   =
 *     L0.lora.v   8   4   <>
 *     L1.ia3.ffn  on  -   A only
 * (rank, or "on" for vector kinds; "-" absent), then a totals line with the module and
 * parameter counts of each (the files' "params" fields). Exit 2 naming the file for a missing
 * or malformed structure. The rows come from peft/peft_diff.h. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "peft/peft_diff.h"
#include "util/xalloc.h"

static void params_text(int64_t p, char *buf, size_t n) {
    if (p < 0)
        snprintf(buf, n, "?");
    else
        snprintf(buf, n, "%lld", (long long)p);
}

static void print_diff(const struct peft_diff_side *a, const struct peft_diff_side *b) {
    int n;
    struct peft_diff_row *r = peft_diff_rows(a, b, &n);
    char cells[4][64];
    int w[3] = {6, 1, 1}; /* "module", "A", "B" */
    for (int pass = 0; pass < 2; pass++) {
        if (pass) {
            printf("A: %s\nB: %s\n", a->path, b->path);
            printf("%-*s  %-*s  %s\n", w[0], "module", w[1], "A", "B");
        }
        for (int i = 0; i < n; i++) {
            peft_diff_name(&r[i], cells[0], sizeof cells[0]);
            peft_diff_rank(a, r[i].a, cells[1], sizeof cells[1]);
            peft_diff_rank(b, r[i].b, cells[2], sizeof cells[2]);
            static const char *const marks[] = {
                [PEFT_DIFF_SAME] = "=", [PEFT_DIFF_CHANGED] = "<>",
                [PEFT_DIFF_A_ONLY] = "A only", [PEFT_DIFF_B_ONLY] = "B only"};
            snprintf(cells[3], sizeof cells[3], "%s", marks[peft_diff_mark_of(a, b, &r[i])]);
            for (int c = 0; c < 3 && !pass; c++)
                if ((int)strlen(cells[c]) > w[c])
                    w[c] = (int)strlen(cells[c]);
            if (pass)
                printf("%-*s  %-*s  %-*s  %s\n", w[0], cells[0], w[1], cells[1], w[2],
                       cells[2], cells[3]);
        }
    }
    char pa[32], pb[32];
    params_text(a->params, pa, sizeof pa);
    params_text(b->params, pb, sizeof pb);
    printf("total: A %d module%s, %s params; B %d module%s, %s params\n", a->n,
           a->n == 1 ? "" : "s", pa, b->n, b->n == 1 ? "" : "s", pb);
    xfree(r);
}

int cmd_sessions_diff(const struct cmd_ctx *ctx, int argc, char **argv) {
    (void)ctx;
    if (argc != 2 || argv[0][0] == '-' || argv[1][0] == '-') {
        fprintf(stderr, "bipeft: sessions: usage: bipeft sessions diff A B\n");
        return 2;
    }
    struct peft_diff_side a = {0}, b = {0};
    struct pf_err err = {0};
    pf_status st = peft_diff_read(argv[0], &a, &err);
    if (st == PF_OK)
        st = peft_diff_read(argv[1], &b, &err);
    if (st == PF_OK)
        print_diff(&a, &b);
    else
        fprintf(stderr, "bipeft: sessions: %s\n", err.msg);
    peft_diff_side_free(&a);
    peft_diff_side_free(&b);
    return st == PF_OK ? 0 : 2;
}
