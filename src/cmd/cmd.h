/* cmd.h - the command table behind `bipeft <command>`.
 *
 * main.c parses the global options (--threads, --device, --version, --help), finds the
 * command by name and calls it with the arguments that follow it. Each command lives in its
 * own src/cmd/cmd_<name>.c, parses its own arguments, opens the backend only if it computes,
 * and returns the process exit code: 0 success, 1 run-time failure, 2 bad usage or bad input
 * files (one clear line on stderr, prefixed "bipeft: <command>: "). */
#ifndef PF_CMD_H
#define PF_CMD_H

#include <stdio.h>

struct cmd_ctx {
    int threads;        /* --threads (0: all cores) */
    const char *device; /* --device ("cpu" by default) */
};

struct command {
    const char *name;
    const char *args;    /* argument synopsis for --help */
    const char *summary; /* one line for --help */
    int (*run)(const struct cmd_ctx *ctx, int argc, char **argv);
};

/* The table, terminated by a zeroed entry (cmd_table.c). */
extern const struct command cmd_table[];

/* Shared helpers for commands (cmd_util.c). */
struct backend;
/* Open ctx->device with ctx->threads; on failure prints "bipeft: <name>: <msg>" and
 * returns NULL (the caller exits 2). */
struct backend *cmd_open_backend(const struct cmd_ctx *ctx, const char *name);
struct run_config;
/* Load and validate a config (mode: CFG_MODE_SEARCH / CFG_MODE_TRAIN that it must have, or
 * -1 for any); on failure prints "bipeft: <name>: <msg>" and returns the status (exit 2). */
int cmd_load_config(const char *name, const char *path, int mode, struct run_config *cfg);
/* cmd_open_backend with the config's threads and device where the command line gave none. */
struct backend *cmd_open_config_backend(const struct cmd_ctx *ctx, const struct run_config *cfg,
                                        const char *name);
/* Parse a decimal int in [lo, hi]; on failure prints a clear line and returns 0. */
int cmd_parse_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out);

int cmd_info(const struct cmd_ctx *ctx, int argc, char **argv);
int cmd_demo(const struct cmd_ctx *ctx, int argc, char **argv);
int cmd_inspect(const struct cmd_ctx *ctx, int argc, char **argv);
int cmd_tokenize(const struct cmd_ctx *ctx, int argc, char **argv);
int cmd_tokenizer_train(const struct cmd_ctx *ctx, int argc, char **argv);
int cmd_forward(const struct cmd_ctx *ctx, int argc, char **argv);
int cmd_export(const struct cmd_ctx *ctx, int argc, char **argv);
int cmd_check_config(const struct cmd_ctx *ctx, int argc, char **argv);
int cmd_script_test(const struct cmd_ctx *ctx, int argc, char **argv);
int cmd_train(const struct cmd_ctx *ctx, int argc, char **argv);
int cmd_pretrain(const struct cmd_ctx *ctx, int argc, char **argv);
int cmd_eval(const struct cmd_ctx *ctx, int argc, char **argv);
int cmd_search(const struct cmd_ctx *ctx, int argc, char **argv);
int cmd_resume(const struct cmd_ctx *ctx, int argc, char **argv);
int cmd_sessions(const struct cmd_ctx *ctx, int argc, char **argv);
int cmd_replay(const struct cmd_ctx *ctx, int argc, char **argv);
/* `bipeft sessions diff A B` (cmd_sessions calls it; argv holds A and B). */
int cmd_sessions_diff(const struct cmd_ctx *ctx, int argc, char **argv);

/* Print the structure in structure.json at `path` to out: each layer's modules with their
 * ranks, the final norm, the parameters by kind, and the share of `budget` (0: none). Each
 * line starts with indent. -1 (after one line saying so) when the file cannot be read. */
int cmd_print_structure(FILE *out, const char *path, long long budget, const char *indent);
/* The `bipeft export --format` the structure at `path` can take: "peft" (one kind PEFT holds:
 * LoRA, (IA)3 or LN-tuning only), "merged" (only kinds with a weight form: lora, bitfit, ln,
 * ia3) or "native"; *why says what the result is. */
const char *cmd_structure_export_format(const char *path, const char **why);

#endif
