/* cmd_summary.c - a structure.json as a few readable lines: the modules of each layer with
 * their ranks, and the parameters by kind. Shared by `bipeft search` / `resume` (the end of a
 * session) and anything else that reports a structure. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"

#define SUMMARY_MAX_BYTES (4 << 20)
#define SUMMARY_KINDS 16

static cJSON *read_json(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(SUMMARY_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, SUMMARY_MAX_BYTES, f) : 0;
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = 0;
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    return j;
}

static const char *str_of(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "?";
}

static double num_of(const cJSON *o, const char *k, double dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* One module as "lora.q r8" ("bitfit.q", "ln.final_ln": vector kinds have no rank). */
static void module_text(const cJSON *md, char *buf, size_t n) {
    int rank = (int)num_of(md, "rank", 0);
    if (rank > 0)
        snprintf(buf, n, "%s.%s r%d", str_of(md, "kind"), str_of(md, "target"), rank);
    else
        snprintf(buf, n, "%s.%s", str_of(md, "kind"), str_of(md, "target"));
}

const char *cmd_structure_export_format(const char *path, const char **why) {
    cJSON *j = read_json(path);
    const cJSON *mods = j ? cJSON_GetObjectItemCaseSensitive(j, "modules") : NULL;
    int lora = 0, ia3 = 0, ln = 0, bitfit = 0, other = 0;
    const cJSON *md;
    cJSON_ArrayForEach(md, mods) {
        const char *k = str_of(md, "kind");
        lora += !strcmp(k, "lora");
        ia3 += !strcmp(k, "ia3");
        ln += !strcmp(k, "ln");
        bitfit += !strcmp(k, "bitfit");
    }
    other = cJSON_GetArraySize(mods) - lora - ia3 - ln - bitfit;
    /* LLaMA's linears and norms have no bias: a BitFit delta has nowhere to merge into */
    const cJSON *model = j ? cJSON_GetObjectItemCaseSensitive(j, "model") : NULL;
    int no_bias = !strcmp(str_of(model, "family"), "llama");
    cJSON_Delete(j);
    /* what peft_export_peft and peft_export_merged accept */
    if (cJSON_IsArray(mods) && !other && !bitfit && (lora > 0) + (ia3 > 0) + (ln > 0) == 1) {
        *why = "an HF PEFT adapter";
        return "peft";
    }
    if (cJSON_IsArray(mods) && !other && !(bitfit && no_bias)) {
        *why = "a full HF checkpoint: PEFT cannot hold this mix of kinds";
        return "merged";
    }
    *why = bitfit && no_bias && !other
               ? "bipeft's own adapter: BitFit on a bias-free model has neither a PEFT nor a "
                 "merged form"
               : "bipeft's own adapter: adapters (lra, serial, parallel) and prefixes have "
                 "neither a PEFT nor a merged form yet";
    return "native";
}

int cmd_print_structure(FILE *out, const char *path, long long budget, const char *indent) {
    cJSON *j = read_json(path);
    const cJSON *mods = j ? cJSON_GetObjectItemCaseSensitive(j, "modules") : NULL;
    if (!cJSON_IsArray(mods)) {
        fprintf(out, "%sstructure: %s could not be read\n", indent, path);
        cJSON_Delete(j);
        return -1;
    }
    /* every layer of the model, those without modules too ("-") */
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
    int nm = cJSON_GetArraySize(mods), top = (int)num_of(model, "layers", 0) - 1;
    long long total = 0;
    const cJSON *md;
    cJSON_ArrayForEach(md, mods) {
        int l = (int)num_of(md, "layer", -1);
        if (l > top)
            top = l;
        total += (long long)num_of(md, "params", 0);
    }
    if (budget > 0)
        fprintf(out, "%sstructure: %d modules, %lld of %lld parameters (%.1f%% of the budget)\n",
                indent, nm, total, budget, 100.0 * (double)total / (double)budget);
    else
        fprintf(out, "%sstructure: %d modules, %lld parameters\n", indent, nm, total);
    /* layer by layer, then the final norm (layer -1) */
    for (int l = 0; l <= top + 1; l++) {
        int want = l <= top ? l : -1, any = 0, col = 0;
        char head[32];
        if (want >= 0)
            snprintf(head, sizeof head, "layer %d", want);
        else
            snprintf(head, sizeof head, "final");
        cJSON_ArrayForEach(md, mods) {
            if ((int)num_of(md, "layer", -1) != want)
                continue;
            char m[96];
            module_text(md, m, sizeof m);
            if (!any) {
                col = fprintf(out, "%s  %-9s", indent, head);
            } else if (col + (int)strlen(m) + 2 > 96) {
                col = fprintf(out, "\n%s  %-9s", indent, "");
            }
            col += fprintf(out, "  %s", m);
            any = 1;
        }
        if (any)
            fprintf(out, "\n");
        else if (want >= 0)
            fprintf(out, "%s  %-9s  -\n", indent, head);
    }
    /* by kind, in first-seen order */
    char kinds[SUMMARY_KINDS][24];
    long long kparams[SUMMARY_KINDS];
    int kcount[SUMMARY_KINDS], nk = 0;
    cJSON_ArrayForEach(md, mods) {
        const char *k = str_of(md, "kind");
        int i = 0;
        while (i < nk && strcmp(kinds[i], k))
            i++;
        if (i == nk) {
            if (nk == SUMMARY_KINDS)
                continue;
            snprintf(kinds[nk], sizeof kinds[nk], "%s", k);
            kparams[nk] = 0;
            kcount[nk] = 0;
            nk++;
        }
        kparams[i] += (long long)num_of(md, "params", 0);
        kcount[i]++;
    }
    if (nk) {
        fprintf(out, "%s  %-9s", indent, "by kind");
        for (int i = 0; i < nk; i++)
            fprintf(out, "  %s %d (%lld params)", kinds[i], kcount[i], kparams[i]);
        fprintf(out, "\n");
    }
    cJSON_Delete(j);
    return 0;
}
