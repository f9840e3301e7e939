/* fuzz_config_json.c - libFuzzer target: any bytes as a HuggingFace config.json. */
#include "fuzz_util.h"

#include "model/hf_config.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    struct model_config c;
    struct pf_err err = {0};
    hf_config_parse(&c, (const char *)data, size, "config.json", &err);
    return 0;
}
