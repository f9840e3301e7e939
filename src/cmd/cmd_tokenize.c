/* cmd_tokenize.c - `bipeft tokenize DIR --text T [--pair P] [--max-length N] [--no-special]`:
 * the encoding as one JSON object on stdout: {"ids": [...], "tokens": [...], "type_ids":
 * [...], "attention_mask": [...]}. Exit 2 for bad usage, a bad folder or invalid text. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/cmd_model_util.h"

static cJSON *int_array(const int32_t *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

int cmd_tokenize(const struct cmd_ctx *ctx, int argc, char **argv) {
    (void)ctx;
    struct text_args a;
    int rc = cmd_parse_text_args("tokenize", argc, argv, 0, &a);
    if (rc == 0 && a.n_text != 1) {
        fprintf(stderr, "bipeft: tokenize: give exactly one --text (and at most one --pair)\n");
        rc = 2;
    }
    if (rc) {
        cmd_text_args_free(&a);
        return rc;
    }
    struct pf_err err = {0};
    struct model_config cfg;
    struct tokenizer *tok = NULL;
    /* the family picks the fallback files' post-processor; a folder with a tokenizer and no
     * config.json still tokenizes */
    int have_cfg = hf_config_load(&cfg, a.dir, &err) == PF_OK;
    pf_status st = tok_load_dir(&tok, a.dir, have_cfg ? hf_family_name(cfg.family) : NULL, &err);
    if (st != PF_OK) {
        fprintf(stderr, "bipeft: tokenize: %s\n", err.msg);
        cmd_text_args_free(&a);
        return 2;
    }
    struct tok_options o = {.add_special_tokens = !a.no_special, .max_length = a.max_length};
    struct tok_encoding e;
    const char *pair = a.n_pair ? a.pair[0] : NULL;
    st = tok_encode(tok, a.text[0], strlen(a.text[0]), pair, pair ? strlen(pair) : 0, &o, &e,
                    &err);
    if (st != PF_OK) {
        fprintf(stderr, "bipeft: tokenize: %s\n", err.msg);
        tok_free(tok);
        cmd_text_args_free(&a);
        return 2;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "ids", int_array(e.ids, e.n));
    cJSON *toks = cJSON_CreateArray();
    for (int i = 0; i < e.n; i++) {
        const char *s = tok_id_to_token(tok, e.ids[i]);
        cJSON_AddItemToArray(toks, s ? cJSON_CreateString(s) : cJSON_CreateNull());
    }
    cJSON_AddItemToObject(j, "tokens", toks);
    cJSON_AddItemToObject(j, "type_ids", int_array(e.type_ids, e.n));
    cJSON_AddItemToObject(j, "attention_mask", int_array(e.attention_mask, e.n));
    char *s = cJSON_PrintUnformatted(j);
    rc = s ? 0 : 1;
    if (s)
        printf("%s\n", s);
    else
        fprintf(stderr, "bipeft: tokenize: out of memory printing the result\n");
    free(s);
    cJSON_Delete(j);
    tok_encoding_free(&e);
    tok_free(tok);
    cmd_text_args_free(&a);
    return rc;
}
