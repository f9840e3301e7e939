/* json_file.c - JSON documents written atomically (json_file.h). */
#include "io/json_file.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/atomic.h"

pf_status json_file_write(const char *path, const cJSON *j, struct pf_err *err) {
    char *txt = cJSON_Print(j);
    if (!txt)
        return pf_err_set(err, PF_ERR_NOMEM, "%s: out of memory for the JSON text", path);
    size_t n = strlen(txt);
    char *buf = malloc(n + 2);
    if (!buf) {
        free(txt);
        return pf_err_set(err, PF_ERR_NOMEM, "%s: out of memory for the JSON text", path);
    }
    memcpy(buf, txt, n);
    buf[n] = '\n';
    free(txt);
    pf_status st = atomic_write(path, buf, n + 1, err);
    free(buf);
    return st;
}

double json_round(double x, int digits, double missing) {
    if (!isfinite(x))
        return missing;
    double p = pow(10.0, digits);
    return round(x * p) / p;
}
