/* main.c - argv -> command. Parses the command line and hands off; computes nothing itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "version.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: bipeft [--threads N] <command> [args]\n"
            "\n"
            "bipeft searches parameter-efficient fine-tuning structures (BIPEFT) for\n"
            "pretrained transformers under a parameter budget.\n"
            "\n"
            "commands:\n"
            "  info            show the build, the BLAS and the devices\n"
            "  demo            train a tiny transformer block on a synthetic task (CPU core check)\n"
            "\n"
            "options:\n"
            "  --threads N     worker threads for kernels and OpenBLAS (default: all cores)\n"
            "  --device D      cpu (default) or cuda[:N]\n"
            "  --version       print the version and exit\n"
            "  --help          print this help and exit\n");
}

int main(int argc, char **argv) {
    (void)argc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--version")) {
            printf("bipeft %s\n", BIPEFT_VERSION);
            return 0;
        }
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    }
    usage(stderr);
    return 2;
}
