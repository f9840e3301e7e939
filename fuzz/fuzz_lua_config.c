/* fuzz_lua_config.c - libFuzzer target: any bytes as a config.lua, run in the sandbox with
 * small limits (32 MB, 1e6 instructions, 0.5 s) and validated into struct run_config. */
#include "fuzz_util.h"

#include "script/script.h"
#include "script/script_config.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    char path[64];
    int fd = fuzz_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    struct script_limits lim = {.mem_bytes = 32u << 20, .instructions = 1000000, .seconds = 0.5};
    struct run_config cfg;
    struct pf_err err = {0};
    script_config_load(path, &lim, &cfg, &err);
    close(fd);
    return 0;
}
