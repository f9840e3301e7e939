/* json_file.h - a JSON document written to a file atomically (util/atomic.h), and numbers
 * rounded to the digits a summary shows. */
#ifndef PF_JSON_FILE_H
#define PF_JSON_FILE_H

#include <cjson/cJSON.h>

#include "util/err.h"

/* cJSON_Print(j) and a newline into path (temp + fsync + rename); PF_ERR_NOMEM when the text
 * cannot be made. j stays the caller's. */
pf_status json_file_write(const char *path, const cJSON *j, struct pf_err *err);

/* x rounded to `digits` decimals (cJSON then prints the short form: 0.441667, 12.5), or the
 * `missing` value when x is not finite (JSON has no NaN). */
double json_round(double x, int digits, double missing);

#endif
