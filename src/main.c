/* main.c - argv -> command. Parses the global options and hands off to the command table
 * (cmd/cmd.h); the commands themselves live in src/cmd/. Exit codes: 0 success, 1 run-time
 * failure, 2 bad usage or bad input. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "version.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: bipeft [options] <command> [args]\n"
            "\n"
            "bipeft searches parameter-efficient fine-tuning structures (BIPEFT) for\n"
            "pretrained transformers under a parameter budget.\n"
            "\n"
            "commands:\n");
    for (const struct command *c = cmd_table; c->name; c++) {
        char head[64];
        snprintf(head, sizeof head, "%s%s%s", c->name, c->args[0] ? " " : "", c->args);
        if (strlen(head) < 24)
            fprintf(f, "  %-24s%s\n", head, c->summary);
        else
            fprintf(f, "  %s\n  %-24s%s\n", head, "", c->summary);
    }
    fprintf(f,
            "\n"
            "options:\n"
            "  --threads N             worker threads for kernels and OpenBLAS (default: all)\n"
            "  --device D              cpu (default) or cuda[:N]\n"
            "  --version               print the version and exit\n"
            "  --help                  print this help and exit\n"
            "--threads and --device may also follow the command.\n");
}

int main(int argc, char **argv) {
    struct cmd_ctx ctx = {.threads = 0, .device = "cpu"};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--version")) {
            printf("bipeft %s\n", BIPEFT_VERSION);
            return 0;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--threads") || !strcmp(a, "--device")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "bipeft: %s needs a value\n", a);
                return 2;
            }
            if (a[2] == 't' && !cmd_parse_int(NULL, a, argv[++i], 0, 1024, &ctx.threads))
                return 2;
            if (a[2] == 'd')
                ctx.device = argv[++i];
        } else {
            fprintf(stderr, "bipeft: unknown option '%s' (see bipeft --help)\n", a);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    /* the global options may also come after the command (no command has options of these
     * names); "--" ends the scan: what follows goes to the command as it is */
    int n = 0;
    for (int j = i + 1; j < argc; j++) {
        if (!strcmp(argv[j], "--")) {
            while (j < argc)
                argv[i + 1 + n++] = argv[j++];
            break;
        }
        if (!strcmp(argv[j], "--threads") || !strcmp(argv[j], "--device")) {
            if (j + 1 >= argc) {
                fprintf(stderr, "bipeft: %s: %s needs a value\n", argv[i], argv[j]);
                return 2;
            }
            if (argv[j][2] == 't' &&
                !cmd_parse_int(NULL, argv[j], argv[j + 1], 0, 1024, &ctx.threads))
                return 2;
            if (argv[j][2] == 'd')
                ctx.device = argv[j + 1];
            j++;
            continue;
        }
        argv[i + 1 + n++] = argv[j];
    }
    argc = i + 1 + n;
    argv[argc] = NULL;
    for (const struct command *c = cmd_table; c->name; c++)
        if (!strcmp(c->name, argv[i]))
            return c->run(&ctx, argc - i - 1, argv + i + 1);
    fprintf(stderr, "bipeft: unknown command '%s' (see bipeft --help)\n", argv[i]);
    return 2;
}
