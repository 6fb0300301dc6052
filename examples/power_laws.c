/* Power-law exponents of rich and lazy training (docs/dln.md section 9): a two-layer linear network
   (one hidden layer) at infinite width, on data with eigenvalues lambda_k = k^-a over infinitely
   many modes and a teacher of source exponent beta (lambda_k beta*_k^2 = k^-(a beta + 1)), trained
   by gradient descent on the population loss. Lazy training (the gamma0 -> 0 limit) decays like
   t^-beta; in the rich regime (muP at gamma0 of order one) hard tasks (beta < 1) decay like
   t^-(2 beta/(1 + beta)) and easy ones (beta > 1) keep t^-beta.

     power_laws [--steps T] [--gamma0 G] [--lr ETA] [--check]
                (defaults T = 100000, G = 4, ETA = 0.005; about 15 s)

   For beta in {0.25, 0.5, 1.5} at a = 1.5 it computes both curves to T, fits ln(loss) against ln(t)
   by least squares over the window [T/16, T] (33 points, evenly spaced in ln t), and prints the
   window, the local slope over each doubling inside it (their spread is the drift: how far the
   slope still moves), then the CSV beta,lazy_exponent,rich_exponent and the asymptotes next to
   them. --check: exit status 1 unless every exponent is within 5% of its asymptote. */
#define FINWIDTH_IMPLEMENTATION
#include "../finwidth.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NB 3

/* Least-squares slope of -ln(loss) against ln(t) over [t0, T] and the local slopes over the four
   doublings [t0, 2 t0], ..., [T/2, T] (lo, hi: their least and largest). loss[t] for t = 0..T. */
static double fit_exponent(const fw_real *loss, int T, double *lo, double *hi)
{
    const int n = 33;
    const double t0 = T / 16.0;
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int i;
    for (i = 0; i < n; ++i) {
        const int t = (int)floor(t0 * pow(16.0, i / (n - 1.0)) + 0.5);
        const double x = log((double)t), y = -log((double)loss[t]);
        sx += x; sy += y; sxx += x * x; sxy += x * y;
    }
    *lo = HUGE_VAL; *hi = -HUGE_VAL;
    for (i = 0; i < 4; ++i) {
        const int a = (int)floor(t0 * pow(2.0, i) + 0.5), b = (int)floor(t0 * pow(2.0, i + 1) + 0.5);
        const double s = log((double)loss[a] / (double)loss[b]) / log((double)b / a);
        if (s < *lo) *lo = s;
        if (s > *hi) *hi = s;
    }
    return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

int main(int argc, char **argv)
{
    const double betas[NB] = {0.25, 0.5, 1.5}, a = 1.5;
    double gamma0 = 4, lr = 0.005, ex[NB][2], lo[NB][2], hi[NB][2];
    int T = 100000, check = 0, i, b, m, bad = 0;
    fw_real *tr, *te;
    for (i = 1; i < argc; ++i) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--check") == 0) { check = 1; continue; }
        if (v != NULL && strcmp(argv[i], "--steps") == 0) T = atoi(v);
        else if (v != NULL && strcmp(argv[i], "--gamma0") == 0) gamma0 = atof(v);
        else if (v != NULL && strcmp(argv[i], "--lr") == 0) lr = atof(v);
        else T = 0;
        ++i;
    }
    if (T < 64 || !(gamma0 > 0) || !(lr > 0)) {
        fprintf(stderr, "usage: power_laws [--steps T >= 64] [--gamma0 G > 0] [--lr ETA > 0] [--check]\n");
        return 2;
    }
    tr = (fw_real *)malloc(sizeof(fw_real) * 2 * ((size_t)T + 1));
    if (tr == NULL) { fprintf(stderr, "power_laws: out of memory\n"); return 1; }
    te = tr + T + 1;
    printf("a = %g, infinitely many modes, population GD, eta = %g, T = %d; rich: muP gamma0 = %g, depth 1\n",
           a, lr, T, gamma0);
    printf("fit window t = %d .. %d (33 points, even in ln t); local slopes over its 4 doublings\n", T / 16, T);
    printf("%6s  %-8s %9s %21s %11s\n", "beta", "regime", "exponent", "local slopes min..max", "asymptote");
    for (b = 0; b < NB; ++b)
        for (m = 0; m < 2; ++m) {   /* m = 0 lazy, 1 rich */
            fw_dln_desc d;
            fw_status st;
            const double want = m == 1 && betas[b] < 1 ? 2 * betas[b] / (1 + betas[b]) : betas[b];
            memset(&d, 0, sizeof d);
            d.D = 0; d.depth = 1; d.gamma0 = (fw_real)gamma0; d.lr = (fw_real)lr; d.steps = T; d.every = 1;
            d.spectrum = (fw_real)a; d.source = (fw_real)betas[b];
            st = m == 0 ? fw_dln_lazy(&d, tr, te, NULL) : fw_dln_theory(&d, tr, te, NULL, NULL);
            if (st != FW_OK) { fprintf(stderr, "power_laws: %s\n", fw_status_string(st)); free(tr); return 1; }
            ex[b][m] = fit_exponent(te, T, &lo[b][m], &hi[b][m]);
            printf("%6g  %-8s %9.4f %10.4f..%-10.4f %11.4f\n", betas[b], m ? "rich" : "lazy", ex[b][m], lo[b][m],
                   hi[b][m], want);
            fflush(stdout);
            if (!(fabs(ex[b][m] - want) <= 0.05 * want)) bad = 1;
        }
    printf("\nbeta,lazy_exponent,rich_exponent\n");
    for (b = 0; b < NB; ++b) printf("%g,%.4f,%.4f\n", betas[b], ex[b][0], ex[b][1]);
    printf("\nasymptotes: lazy beta; rich 2 beta/(1 + beta) for beta < 1, beta for beta > 1\n");
    printf("beta,lazy_asymptote,rich_asymptote\n");
    for (b = 0; b < NB; ++b)
        printf("%g,%.4f,%.4f\n", betas[b], betas[b], betas[b] < 1 ? 2 * betas[b] / (1 + betas[b]) : betas[b]);
    free(tr);
    if (check) printf("check: every exponent within 5%% of its asymptote: %s\n", bad ? "NO" : "yes");
    return check && bad ? 1 : 0;
}
