/* fuzz_data.c - libFuzzer target: any bytes as a task data file. data_read must accept or
 * reject with a status (never crash, leak, or hold more than a record): the bytes are read as
 * a GLUE TSV (quotes literal, header), a header-less TSV (CoLA), an RFC 4180 CSV and a JSONL
 * file (WiC: a word column and JSON booleans), each strict and with skip_bad, the latter with
 * a small max_record_bytes. Accepted sets are split and subset to exercise the pool sharing. */
#include "fuzz_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"

static void read_as(const char *path, const struct data_task *t) {
    for (int mode = 0; mode < 2; mode++) {
        struct data_read_opts o = {mode, mode ? 256 : 0};
        struct data_set s;
        struct pf_err err = {0};
        int64_t skipped = 0;
        if (data_read(path, t, &o, &s, &skipped, &err) != PF_OK)
            continue;
        int64_t *a, *b, na, nb;
        if (data_split_half(s.n, 0.5, 1, &a, &na, &b, &nb, &err) == PF_OK) {
            struct data_set sub;
            if (data_set_subset(&s, a, na, &sub, &err) == PF_OK) {
                data_set_free(&s); /* the subset keeps the pool alive */
                for (int64_t i = 0; i < sub.n; i++)
                    if (!sub.ex[i].text || !sub.ex[i].text[0])
                        abort();
                data_set_free(&sub);
            }
            free(a);
            free(b);
        }
        data_set_free(&s);
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    char path[64];
    int fd = fuzz_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    static const char *const names[] = {"mnli", "cola", "wic"};
    struct pf_err err = {0};
    for (int i = 0; i < 3; i++) {
        struct data_task t;
        if (data_task_builtin(names[i], &t, &err) == PF_OK)
            read_as(path, &t);
    }
    struct data_task csv;
    if (data_task_builtin("sst2", &csv, &err) == PF_OK) {
        csv.format = DATA_CSV;
        csv.quoting = 1;
        read_as(path, &csv);
    }
    close(fd);
    return 0;
}
