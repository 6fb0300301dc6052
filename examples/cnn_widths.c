/* cnn_widths: convolutional nets on the handwritten digits at widths 8..128: how the variance
   over seeds of the test predictions and the bias of their ensemble mean fall with width (the
   study of examples/cnn_study.h; demo Figure 11 runs it at --scale 1).

     cnn_widths [--scale K] [--digits FILE]

   K multiplies the seeds per width (96, 64, 24, 12, 8); `ninja validate` runs --scale 4 (about
   23 minutes on one core with a CBLAS). Prints the CSV N,seeds,t,n_var,n_var_se (N times the
   seed variance of f averaged over the test images, jackknife standard error), then per width at
   t = T the variance part and the bias part with their standard errors, the fitted exponents, and
   the verdict lines "variance: ..." and "bias: ..." with PASS or FAIL: the variance part's slope
   against N within 0.2 of -1, the bias part's exponent against 1/N - 1/128 within 0.3 (or two
   standard errors) of 1 over the widths it resolves. Exit status 1 when a verdict fails.
   Progress goes to stderr. The digits: bash tests/fetch_digits.sh. */
#define FINWIDTH_IMPLEMENTATION
#include "../finwidth.h"
#include "cnn_study.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void progress(void *user, int width, int done, int total)
{
    (void)user;
    if (done == total || done % 16 == 0) fprintf(stderr, "cnn_widths: %d of %d networks trained (width %d)\n", done, total, width);
}

int main(int argc, char **argv)
{
    cnn_study c;
    const char *digits = "build/data/digits.csv";
    char err[512];
    int scale = 1, i, w, r, ok_v, ok_b;
    for (i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc && (scale = atoi(argv[++i])) >= 1 && scale <= 1000) continue;
        if (strcmp(argv[i], "--digits") == 0 && i + 1 < argc) { digits = argv[++i]; continue; }
        fprintf(stderr, "usage: cnn_widths [--scale K (1..1000)] [--digits FILE]\n");
        return 2;
    }
    cnn_study_defaults(&c, scale);
    c.progress = progress;
    if (cnn_study_run(&c, digits, err, sizeof err)) { fprintf(stderr, "cnn_widths: %s\n", err); return 1; }
    printf("N,seeds,t,n_var,n_var_se\n");
    for (w = 0; w < c.nw; ++w)
        for (r = 0; r < c.nrec; ++r) printf("%d,%d,%g,%.6g,%.3g\n", c.widths[w], c.seeds[w], c.t[r], c.nvar[w][r], c.nvar_se[w][r]);
    printf("\nat t = %d: N,variance_part,variance_part_se,bias_part,bias_part_se\n", c.T);
    for (w = 0; w < c.nw; ++w)
        printf("%d,%.6g,%.3g,%.6g,%.3g\n", c.widths[w], c.vpart[w], c.vpart_se[w], w < c.nw - 1 ? c.bias[w] : 0.0,
               w < c.nw - 1 ? c.bias_se[w] : 0.0);
    for (w = 0; w + 1 < c.nw - 1; ++w)
        if (c.bias[w + 1] > 0)
            printf("bias ratio N = %d / N = %d: %.2f (an exact 1/N bias: %.2f)\n", c.widths[w], c.widths[w + 1], c.bias[w] / c.bias[w + 1],
                   (1.0 / c.widths[w] - 1.0 / c.widths[c.nw - 1]) / (1.0 / c.widths[w + 1] - 1.0 / c.widths[c.nw - 1]));
    ok_v = fabs(c.slope_v + 1) <= 0.2;
    ok_b = c.n_resolved >= 2 && fabs(c.expo_b - 1) <= fmax(0.3, 2 * c.expo_b_se);
    printf("variance: slope of (1/2) Var f against N %.3f +- %.3f (need -1 +- 0.2): %s\n", c.slope_v, c.slope_v_se, ok_v ? "PASS" : "FAIL");
    printf("bias: exponent of |E f_N - E f_%d| against 1/N - 1/%d %.3f +- %.3f over %d widths (need 1 +- max(0.3, 2 se)): %s\n",
           c.widths[c.nw - 1], c.widths[c.nw - 1], c.expo_b, c.expo_b_se, c.n_resolved, ok_b ? "PASS" : "FAIL");
    return ok_v && ok_b ? 0 : 1;
}
