/* metrics.h - evaluation metrics of the task table (enum data_metric in data/data.h), in
 * double precision, matching scikit-learn / scipy on defined inputs. Degenerate inputs never
 * give NaN: where the library would divide by zero (no positives, a constant series, n = 0)
 * the result is 0, as sklearn's zero_division=0 default. Class ids outside [0, n_classes) are
 * left out of the per-class counts (the pair is ignored) in f1_macro and mcc. */
#ifndef PF_METRICS_H
#define PF_METRICS_H

#include <stdint.h>

#include "data/data.h"

/* Share of pred[i] == gold[i]; 0 for n = 0. */
double metric_accuracy(const int *pred, const int *gold, int64_t n);

/* F1 of class `positive`: 2tp / (2tp + fp + fn); 0 when that is 0/0 (no positive predicted
 * and none in gold). */
double metric_f1_binary(const int *pred, const int *gold, int64_t n, int positive);

/* Unweighted mean of per-class F1 over the classes that occur in gold or pred (sklearn's
 * average="macro" with its default labels). */
double metric_f1_macro(const int *pred, const int *gold, int64_t n, int n_classes);

/* Matthews correlation, the multiclass (Gorodkin) form of sklearn matthews_corrcoef; 0 when
 * the denominator is 0. */
double metric_mcc(const int *pred, const int *gold, int64_t n, int n_classes);

/* Pearson correlation; 0 when n < 2 or a series is constant. */
double metric_pearson(const float *x, const float *y, int64_t n);

/* Spearman correlation: Pearson of the ranks, ties get their average rank (scipy). */
double metric_spearman(const float *x, const float *y, int64_t n);

/* "accuracy", "f1", "macro_f1", "mcc", "pearson", "spearman"; "?" when out of range. */
const char *metric_name(enum data_metric m);

#endif
