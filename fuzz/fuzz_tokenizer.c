/* fuzz_tokenizer.c - libFuzzer target: any bytes as a tokenizer.json; a tokenizer that loads
 * must encode a few fixed texts (ASCII, accents, CJK, a pair, truncation) without a fault. */
#include "fuzz_util.h"

#include <string.h>

#include "tok/tok.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    char path[64];
    int fd = fuzz_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    struct tokenizer *t = NULL;
    struct pf_err err = {0};
    if (tok_load_json(&t, path, &err) == PF_OK) {
        static const char *texts[] = {"Hello, world!", "Crème brûlée 中文 they'll 12345",
                                      "  spaces\tand\nlines  ", ""};
        struct tok_options o = {.add_special_tokens = 1, .max_length = 0};
        for (int i = 0; i < 4; i++) {
            struct tok_encoding e;
            o.max_length = i == 1 ? 5 : 0;
            const char *pair = i == 2 ? texts[0] : NULL;
            if (tok_encode(t, texts[i], strlen(texts[i]), pair, pair ? strlen(pair) : 0, &o, &e,
                           &err) == PF_OK)
                tok_encoding_free(&e);
        }
        tok_free(t);
    }
    close(fd);
    return 0;
}
