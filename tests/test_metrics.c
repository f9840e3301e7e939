/* test_metrics.c - evaluation metrics (src/train/metrics.c) against values computed by hand
 * (each computation is written next to its test), degenerate inputs, and metric names. */
#include <criterion/criterion.h>
#include <math.h>

#include "train/metrics.h"

#define EQ(got, want) cr_assert_float_eq((got), (want), 1e-12, "got %.15g, want %.15g", (got), (want))

Test(metrics, accuracy) {
    int pred[5] = {0, 1, 1, 0, 1}, gold[5] = {0, 1, 0, 0, 0};
    EQ(metric_accuracy(pred, gold, 5), 0.6); /* matches at 0, 1, 3: 3/5 */
    EQ(metric_accuracy(pred, gold, 0), 0.0);
}

Test(metrics, f1_binary) {
    /* positive 1: tp = {0, 3} = 2, fp = {1} = 1, fn = {2} = 1; F1 = 2*2 / (2*2 + 1 + 1) = 2/3 */
    int pred[6] = {1, 1, 0, 1, 0, 0}, gold[6] = {1, 0, 1, 1, 0, 0};
    EQ(metric_f1_binary(pred, gold, 6, 1), 2.0 / 3.0);
    /* positive 0: tp = {4, 5} = 2, fp = {2} = 1, fn = {1} = 1: also 2/3 */
    EQ(metric_f1_binary(pred, gold, 6, 0), 2.0 / 3.0);
    /* no positive anywhere: 0/0, defined as 0 */
    int z[3] = {0, 0, 0};
    EQ(metric_f1_binary(z, z, 3, 1), 0.0);
    /* positives only in gold: tp 0, fn 2: F1 0 */
    int g2[3] = {1, 1, 0};
    EQ(metric_f1_binary(z, g2, 3, 1), 0.0);
}

Test(metrics, f1_macro) {
    /* gold {0,0,1,1,2,2}, pred {0,1,1,1,2,0}
     * class 0: tp 1 (i0), fp 1 (i5), fn 1 (i1): 2/4 = 1/2
     * class 1: tp 2 (i2,i3), fp 1 (i1), fn 0:    4/5
     * class 2: tp 1 (i4), fp 0, fn 1 (i5):       2/3
     * mean (15 + 24 + 20) / 30 / 3 = 59/90 */
    int gold[6] = {0, 0, 1, 1, 2, 2}, pred[6] = {0, 1, 1, 1, 2, 0};
    EQ(metric_f1_macro(pred, gold, 6, 3), 59.0 / 90.0);
    /* a 4th class in neither gold nor pred is left out (sklearn's default labels) */
    EQ(metric_f1_macro(pred, gold, 6, 4), 59.0 / 90.0);
    /* all correct: 1 */
    EQ(metric_f1_macro(gold, gold, 6, 3), 1.0);
    EQ(metric_f1_macro(gold, gold, 0, 3), 0.0);
}

Test(metrics, mcc) {
    /* binary: tp 3 (i0,i1,i6), tn 3 (i3,i4,i7), fp 1 (i5), fn 1 (i2)
     * (3*3 - 1*1) / sqrt(4 * 4 * 4 * 4) = 8/16 */
    int gold[8] = {1, 1, 1, 0, 0, 0, 1, 0}, pred[8] = {1, 1, 0, 0, 0, 1, 1, 0};
    EQ(metric_mcc(pred, gold, 8, 2), 0.5);
    /* multiclass (Gorodkin): gold {0,0,1,1,2,2}, pred {0,1,1,1,2,0}; s = 6, c = 4,
     * t = (2,2,2), p = (2,3,1); sum t.p = 12, sum p^2 = 14, sum t^2 = 12
     * (c s - t.p) / sqrt((s^2 - t.t)(s^2 - p.p)) = (24 - 12) / sqrt(24 * 22) = 12 / sqrt(528) */
    int g3[6] = {0, 0, 1, 1, 2, 2}, p3[6] = {0, 1, 1, 1, 2, 0};
    EQ(metric_mcc(p3, g3, 6, 3), 12.0 / sqrt(528.0));
    EQ(metric_mcc(g3, g3, 6, 3), 1.0);
    /* inverted binary: -1 */
    int inv[8];
    for (int i = 0; i < 8; i++)
        inv[i] = 1 - gold[i];
    EQ(metric_mcc(inv, gold, 8, 2), -1.0);
    /* one predicted class: s^2 - p.p = 0, defined as 0 */
    int one[8] = {0};
    EQ(metric_mcc(one, gold, 8, 2), 0.0);
    EQ(metric_mcc(one, gold, 0, 2), 0.0);
}

Test(metrics, pearson) {
    /* x {1..5}, y {2,4,5,4,5}: dx = (-2,-1,0,1,2), dy = (-2,0,1,0,1)
     * sxy = 4 + 2 = 6, sxx = 10, syy = 6: r = 6 / sqrt(60) */
    float x[5] = {1, 2, 3, 4, 5}, y[5] = {2, 4, 5, 4, 5};
    EQ(metric_pearson(x, y, 5), 6.0 / sqrt(60.0));
    float c[5] = {3, 3, 3, 3, 3};
    EQ(metric_pearson(x, c, 5), 0.0); /* constant series */
    EQ(metric_pearson(x, y, 1), 0.0);
    float neg[5] = {10, 8, 6, 4, 2};
    EQ(metric_pearson(x, neg, 5), -1.0);
}

Test(metrics, spearman_ties) {
    /* x {1,2,2,3}: average ranks (1, 2.5, 2.5, 4); y {1,3,2,4}: ranks (1, 3, 2, 4)
     * both mean 2.5: dx = (-1.5, 0, 0, 1.5), dy = (-1.5, .5, -.5, 1.5)
     * sxy = 4.5, sxx = 4.5, syy = 5: r = 4.5 / sqrt(22.5) */
    float x[4] = {1, 2, 2, 3}, y[4] = {1, 3, 2, 4};
    EQ(metric_spearman(x, y, 4), 4.5 / sqrt(22.5));
    /* monotone but not linear: 1; reversed: -1 */
    float a[4] = {1, 2, 3, 4}, cube[4] = {1, 8, 27, 64}, rev[4] = {0.5f, 0.25f, 0.125f, 0.0f};
    EQ(metric_spearman(a, cube, 4), 1.0);
    EQ(metric_spearman(a, rev, 4), -1.0);
    /* ties in unsorted order: x {3,1,3,2} ranks (3.5, 1, 3.5, 2) against itself: 1 */
    float u[4] = {3, 1, 3, 2};
    EQ(metric_spearman(u, u, 4), 1.0);
    float k[4] = {7, 7, 7, 7};
    EQ(metric_spearman(a, k, 4), 0.0); /* all tied: constant ranks */
}

Test(metrics, names) {
    cr_assert_str_eq(metric_name(METRIC_ACC), "accuracy");
    cr_assert_str_eq(metric_name(METRIC_F1), "f1");
    cr_assert_str_eq(metric_name(METRIC_MACRO_F1), "macro_f1");
    cr_assert_str_eq(metric_name(METRIC_MCC), "mcc");
    cr_assert_str_eq(metric_name(METRIC_PEARSON), "pearson");
    cr_assert_str_eq(metric_name(METRIC_SPEARMAN), "spearman");
    cr_assert_str_eq(metric_name(METRIC_COUNT), "?");
}
