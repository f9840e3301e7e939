/* test_cli.c - the bipeft binary's command line: --version, --help, bad usage exits 2 with a
 * clear message, unknown device is a clear error. Runs the binary named by $BIPEFT_BIN. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include <sys/wait.h>

static int run(const char *args, char *out, size_t outsz) {
    return check_run_shell(args, "both", out, outsz);
}

Test(cli, version_and_help) {
    char out[4096];
    cr_assert_eq(run("--version", out, sizeof out), 0);
    cr_assert(strncmp(out, "bipeft ", 7) == 0, "output: %s", out);
    cr_assert_eq(run("--help", out, sizeof out), 0);
    cr_assert(strstr(out, "usage: bipeft") && strstr(out, "--threads"), "output: %s", out);
}

Test(cli, bad_usage_exits_2) {
    char out[4096];
    cr_assert_eq(run("", out, sizeof out), 2);
    cr_assert_eq(run("frobnicate", out, sizeof out), 2);
    cr_assert(strstr(out, "unknown command 'frobnicate'"), "output: %s", out);
    cr_assert_eq(run("--threads -3 info", out, sizeof out), 2);
    cr_assert(strstr(out, "--threads expects an integer"), "output: %s", out);
    cr_assert_eq(run("--device tpu info", out, sizeof out), 2);
    cr_assert(strstr(out, "device 'tpu': unknown"), "output: %s", out);
}

Test(cli, info_reports_threads) {
    char out[4096];
    cr_assert_eq(run("--threads 1 info", out, sizeof out), 0);
    cr_assert(strstr(out, "threading openmp; kernels 1 thread, OpenBLAS 1 thread"),
              "output: %s", out);
    cr_assert_eq(run("--threads 2 info", out, sizeof out), 0);
    cr_assert(strstr(out, "kernels 2 threads, OpenBLAS 2 threads"), "output: %s", out);
}
