/* Deep linear networks on random data: the cost of a theory curve against the simulations that
   give the same curve. One configuration per depth (muP, gamma0 = 1, alpha = 2, label noise 0.3,
   eta = 0.05, T = 1000 GD steps, recorded every 50): fw_dln_theory's wall time and memory, against
   simulations at D = N = 512: the time per seed, the seed-to-seed spread of the final test loss
   (8 seeds), and the seeds S = (sd / (0.01 mean))^2 a simulation needs for a 1% standard error
   on it (the theory's own numerical error is below 1e-6, docs/dln.md). Ratio = S x time per seed
   / theory time. The third row is the balanced scaling (docs/dln.md section 7) at depth 2, nu = 1.
   A D = 512 simulation has a finite-size error of its own, so a second table asks for the same
   limit: simulations at D = 128, 256, 512 (8 seeds each) extrapolated to D -> infinity by the
   weighted fit L(D) = L_inf + a / D at t = 100 and at t = T; the extrapolated L_inf next to the
   theory (z = gap / its standard error), and the cost of simulations that pin L_inf to 1% (the
   same seeds at each D scaled until the intercept's standard error is 1%) against the theory's.
   One core, portable build. */
#include "bench_clock.h"
#define FINWIDTH_IMPLEMENTATION
#include "../finwidth.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Weighted least squares y = b0 + b1 x (weights w): the intercept and its variance. */
static double intercept(int n, const double *x, const double *y, const double *w, double *var)
{
    double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, det;
    int i;
    for (i = 0; i < n; ++i) { sw += w[i]; sx += w[i] * x[i]; sy += w[i] * y[i]; sxx += w[i] * x[i] * x[i]; sxy += w[i] * x[i] * y[i]; }
    det = sw * sxx - sx * sx;
    *var = sxx / det;
    return (sxx * sy - sx * sxy) / det;
}

/* The extrapolation table: per configuration, simulations at three D and the fit at t = 100 and T. */
static int extrapolated(int T, int every)
{
    enum { ND = 3, S = 8 };
    const int Ds[ND] = {128, 256, 512};
    int c, k, j;
    printf("\nthe same limit: simulations at D = 128, 256, 512 (%d seeds each) extrapolated over 1/D\n", S);
    printf("%-5s %6s %12s %16s %8s %14s %10s\n", "L", "t", "theory", "L_inf (sim)", "z", "sim_s_for_1%", "ratio");
    for (c = 0; c < 3; ++c) {
        const int L = c == 0 ? 1 : 2;
        double t_th = 0, x[ND], cost = 0, mean[2][ND], var[2][ND];
        int R = 0, rs[2] = {0, 0};
        fw_real *tr = NULL, *mem;
        for (k = 0; k < ND; ++k) {
            fw_dln_desc d;
            fw_stats st;
            double t0;
            memset(&d, 0, sizeof d);
            d.D = Ds[k]; d.width = Ds[k]; d.depth = L; d.gamma0 = 1; d.lr = (fw_real)0.05; d.steps = T; d.every = every;
            d.alpha = 2; d.noise = (fw_real)0.3; d.seed = 5; d.balanced = c == 2;
            if (k == 0) {
                R = fw_dln_record_count(&d);
                tr = (fw_real *)malloc(sizeof(fw_real) * (size_t)R * 6);
                if (tr == NULL) return 1;
                t0 = bench_now();
                if (fw_dln_theory(&d, tr, tr + R, NULL, NULL) != FW_OK) { fprintf(stderr, "theory failed\n"); return 1; }
                t_th = bench_now() - t0;
                rs[0] = 100 / every; rs[1] = R - 1;
            }
            mem = tr + 2 * R;
            fw_stats_init(&st, 2 * R, mem, mem + 2 * R);
            t0 = bench_now();
            if (fw_dln_simulate(&d, 0, S, &st, NULL, NULL) != FW_OK) { fprintf(stderr, "simulation failed\n"); return 1; }
            cost += (bench_now() - t0);
            x[k] = 1.0 / Ds[k];
            for (j = 0; j < 2; ++j) {
                mean[j][k] = (double)st.mean[2 * rs[j] + 1];
                var[j][k] = (double)fw_stats_var(&st, 2 * rs[j] + 1) / S;   /* of the mean */
            }
        }
        for (j = 0; j < 2; ++j) {
            double w[ND], v0, b0, need;
            for (k = 0; k < ND; ++k) w[k] = 1 / var[j][k];
            b0 = intercept(ND, x, mean[j], w, &v0);
            need = v0 / pow(0.01 * b0, 2);   /* the factor on every D's seeds for a 1% standard error */
            printf("%d%-4s %6d %12.5f %9.5f +- %.5f %8.2f %14.1f %10.2f\n", L, c == 2 ? " bal" : "", j ? T : 100,
                   (double)tr[R + rs[j]], b0, sqrt(v0), ((double)tr[R + rs[j]] - b0) / sqrt(v0), need * cost, need * cost / t_th);
        }
        free(tr);
    }
    return 0;
}

int main(void)
{
    const int T = 1000, every = 50, Dsim = 512, S = 8;
    int c;
    printf("deep linear theory vs simulation: muP, gamma0 = 1, alpha = 2, noise 0.3, eta = 0.05, T = %d\n", T);
    printf("%-5s %10s %10s %12s %12s %12s %10s %9s %10s\n", "L", "theory_s", "theory_MB", "test_theory", "test_sim",
           "sim_s/seed", "sd/mean", "seeds_1%", "ratio");
    for (c = 0; c < 3; ++c) {
        const int L = c == 0 ? 1 : 2;
        fw_dln_desc d;
        fw_stats st;
        size_t bytes = 0;
        int R, r;
        double t0, t_th, t_sim, sd, need;
        fw_real *tr, *te, *mem;
        memset(&d, 0, sizeof d);
        d.D = Dsim; d.width = Dsim; d.depth = L; d.gamma0 = 1; d.lr = (fw_real)0.05; d.steps = T; d.every = every;
        d.alpha = 2; d.noise = (fw_real)0.3; d.seed = 3; d.balanced = c == 2;
        R = fw_dln_record_count(&d);
        tr = (fw_real *)malloc(sizeof(fw_real) * (size_t)R * 6);
        if (tr == NULL) return 1;
        te = tr + R; mem = tr + 2 * R;
        if (fw_dln_theory_workspace_size(&d, &bytes) != FW_OK) return 1;
        t0 = bench_now();
        if (fw_dln_theory(&d, tr, te, NULL, NULL) != FW_OK) { fprintf(stderr, "theory failed\n"); return 1; }
        t_th = bench_now() - t0;
        fw_stats_init(&st, 2 * R, mem, mem + 2 * R);
        t0 = bench_now();
        if (fw_dln_simulate(&d, 0, S, &st, NULL, NULL) != FW_OK) { fprintf(stderr, "simulation failed\n"); return 1; }
        t_sim = (bench_now() - t0) / S;
        r = R - 1;
        sd = sqrt((double)fw_stats_var(&st, 2 * r + 1));
        need = pow(sd / (0.01 * (double)st.mean[2 * r + 1]), 2);
        if (need < 1) need = 1;
        printf("%d%-4s %10.2f %10.1f %12.5f %12.5f %12.2f %10.4f %9.0f %10.1f\n", L, c == 2 ? " bal" : "", t_th, (double)bytes / 1048576.0,
               (double)te[r], (double)st.mean[2 * r + 1], t_sim, sd / (double)st.mean[2 * r + 1], need, need * t_sim / t_th);
        free(tr);
    }
    return extrapolated(T, every);
}
