/* metrics.c - classification and regression metrics (see metrics.h). Counts are int64,
 * sums double; ranks for Spearman come from one sort of the indices. */
#include "train/metrics.h"

#include <math.h>
#include <stdlib.h>

double metric_accuracy(const int *pred, const int *gold, int64_t n) {
    if (n <= 0)
        return 0.0;
    int64_t ok = 0;
    for (int64_t i = 0; i < n; i++)
        ok += pred[i] == gold[i];
    return (double)ok / (double)n;
}

static double f1_of(int64_t tp, int64_t fp, int64_t fn) {
    int64_t d = 2 * tp + fp + fn;
    return d ? 2.0 * (double)tp / (double)d : 0.0;
}

double metric_f1_binary(const int *pred, const int *gold, int64_t n, int positive) {
    int64_t tp = 0, fp = 0, fn = 0;
    for (int64_t i = 0; i < n; i++) {
        int p = pred[i] == positive, g = gold[i] == positive;
        tp += p && g;
        fp += p && !g;
        fn += !p && g;
    }
    return f1_of(tp, fp, fn);
}

static int in_range(int v, int k) {
    return v >= 0 && v < k;
}

double metric_f1_macro(const int *pred, const int *gold, int64_t n, int n_classes) {
    if (n_classes <= 0)
        return 0.0;
    int64_t *c = calloc((size_t)n_classes * 3, sizeof *c); /* tp, fp, fn per class */
    if (!c)
        return 0.0;
    for (int64_t i = 0; i < n; i++) {
        int p = pred[i], g = gold[i];
        if (!in_range(p, n_classes) || !in_range(g, n_classes))
            continue;
        if (p == g) {
            c[3 * p]++;
        } else {
            c[3 * p + 1]++;
            c[3 * g + 2]++;
        }
    }
    double sum = 0.0;
    int present = 0;
    for (int k = 0; k < n_classes; k++) {
        if (c[3 * k] + c[3 * k + 1] + c[3 * k + 2] == 0)
            continue; /* in neither gold nor pred */
        sum += f1_of(c[3 * k], c[3 * k + 1], c[3 * k + 2]);
        present++;
    }
    free(c);
    return present ? sum / present : 0.0;
}

double metric_mcc(const int *pred, const int *gold, int64_t n, int n_classes) {
    if (n_classes <= 0)
        return 0.0;
    double *t = calloc((size_t)n_classes * 2, sizeof *t); /* true and predicted counts */
    if (!t)
        return 0.0;
    double *p = t + n_classes, s = 0.0, c = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (!in_range(pred[i], n_classes) || !in_range(gold[i], n_classes))
            continue;
        t[gold[i]] += 1.0;
        p[pred[i]] += 1.0;
        c += pred[i] == gold[i];
        s += 1.0;
    }
    double tp = 0.0, pp = 0.0, tt = 0.0;
    for (int k = 0; k < n_classes; k++) {
        tp += t[k] * p[k];
        pp += p[k] * p[k];
        tt += t[k] * t[k];
    }
    free(t);
    double cov_tp = c * s - tp, cov_pp = s * s - pp, cov_tt = s * s - tt;
    double d = cov_tt * cov_pp;
    return d > 0.0 ? cov_tp / sqrt(d) : 0.0;
}

static double pearson_d(const double *x, const double *y, int64_t n) {
    if (n < 2)
        return 0.0;
    double mx = 0.0, my = 0.0;
    for (int64_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double a = x[i] - mx, b = y[i] - my;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    if (sxx <= 0.0 || syy <= 0.0)
        return 0.0;
    double r = sxy / sqrt(sxx * syy);
    return r > 1.0 ? 1.0 : r < -1.0 ? -1.0 : r;
}

double metric_pearson(const float *x, const float *y, int64_t n) {
    if (n < 2)
        return 0.0;
    double *d = malloc((size_t)n * 2 * sizeof *d);
    if (!d)
        return 0.0;
    for (int64_t i = 0; i < n; i++) {
        d[i] = x[i];
        d[n + i] = y[i];
    }
    double r = pearson_d(d, d + n, n);
    free(d);
    return r;
}

static const float *rank_key;

static int cmp_by_key(const void *a, const void *b) {
    float x = rank_key[*(const int64_t *)a], y = rank_key[*(const int64_t *)b];
    return (x > y) - (x < y);
}

/* Average ranks (1-based) of v into r; idx is scratch of n entries. Not reentrant (qsort key). */
static void ranks(const float *v, int64_t n, int64_t *idx, double *r) {
    for (int64_t i = 0; i < n; i++)
        idx[i] = i;
    rank_key = v;
    qsort(idx, (size_t)n, sizeof *idx, cmp_by_key);
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j + 1 < n && v[idx[j + 1]] == v[idx[i]])
            j++;
        double avg = 0.5 * (double)(i + j) + 1.0; /* ranks i+1 .. j+1 */
        for (int64_t k = i; k <= j; k++)
            r[idx[k]] = avg;
        i = j + 1;
    }
}

double metric_spearman(const float *x, const float *y, int64_t n) {
    if (n < 2)
        return 0.0;
    int64_t *idx = malloc((size_t)n * sizeof *idx);
    double *r = malloc((size_t)n * 2 * sizeof *r);
    double out = 0.0;
    if (idx && r) {
        ranks(x, n, idx, r);
        ranks(y, n, idx, r + n);
        out = pearson_d(r, r + n, n);
    }
    free(idx);
    free(r);
    return out;
}

const char *metric_name(enum data_metric m) {
    static const char *const names[METRIC_COUNT] = {"accuracy", "f1",      "macro_f1",
                                                    "mcc",      "pearson", "spearman"};
    return (int)m >= 0 && m < METRIC_COUNT ? names[m] : "?";
}
