/* What the fluctuation theory saves: for one configuration (two-layer tanh, gamma0 = 1, P = 8
   training and 2 test points, T = 20 GD steps recorded every 2, eta = 0.3), the wall time of
   fw_fluct_run and the relative precision of its variances (median over the recorded cells of
   f_var_se / f_var, at t > 0), against the ensemble a simulation would need for the same
   precision: a sample variance over S seeds has relative standard error sqrt(2 / (S - 1)), so
   S = 1 + 2 / r^2 seeds, each costing one training run (measured on 200 seeds at each width).
   The ratio is ensemble time / theory time. The theory's time does not depend on N (it gives
   the variance at every width at once); the ensemble's grows with N. One core, portable build. */
#include "bench_clock.h"
#define FINWIDTH_IMPLEMENTATION
#include "../finwidth.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Seconds per seed of a width-N ensemble (S0 seeds timed) of depth L, T steps at lr, gamma0,
   recorded every `every` steps, kernels recorded if asked; -1 if a run failed. */
static double seed_time(fw_activation act, int L, int N, int T, double gamma0, double lr, int every, int kernels,
                        int S0, const fw_data *data)
{
    fw_ensemble_desc ed;
    fw_stats st;
    fw_real *mem;
    int nrec, len;
    double t1;
    memset(&ed, 0, sizeof ed);
    ed.net.input_dim = data->D; ed.net.width = N; ed.net.depth = L; ed.net.act = act; ed.net.gamma0 = (fw_real)gamma0;
    ed.net.seed = 3; ed.lr = (fw_real)lr; ed.steps = T; ed.every = every; ed.record_kernels = kernels;
    fw_ensemble_shape(&ed, data, &nrec, &len);
    mem = (fw_real *)malloc(2 * sizeof(fw_real) * (size_t)nrec * len);
    if (mem == NULL) return -1;
    fw_stats_init(&st, nrec * len, mem, mem + (size_t)nrec * len);
    t1 = bench_now();
    if (fw_ensemble_run(&ed, data, 0, (uint64_t)S0, &st, NULL, NULL) != FW_OK) { free(mem); return -1; }
    t1 = (bench_now() - t1) / S0;
    free(mem);
    return t1;
}

/* The sampled deep propagator (fw_dlfluct_run with act = tanh: depth 2, P = 2 + 1 points, T = 3,
   M = 4000 sites, 4 replicates): its time and the median relative standard error r of its
   variances at t > 0, against the S = 1 + 2 / r^2 seeds that give the same precision. */
static int deep_tanh(void)
{
    enum { P = 2, Q = 1, D = 3, T = 3, L = 2, n = P + Q };
    const int widths[2] = {256, 1024};
    fw_real X[n * D], y[P], ph[L * (T + 1) * n * n], pv[L * (T + 1) * n * n], ps[L * (T + 1) * n * n];
    double rel[L * T * n * n], t_th, r;
    fw_data data;
    fw_dlfluct_desc dd;
    fw_dlfluct_out o;
    fw_rng rng;
    int w, l, t, i, m = 0;
    fw_rng_init(&rng, 9, 0);
    fw_rng_fill_normal(&rng, X, n * D, 1);
    y[0] = (fw_real)0.8; y[1] = (fw_real)-0.6;
    memset(&data, 0, sizeof data);
    data.P = P; data.Q = Q; data.D = D; data.X = X; data.ldx = D; data.y = y;
    memset(&dd, 0, sizeof dd);
    memset(&o, 0, sizeof o);
    dd.depth = L; dd.width = 256; dd.gamma0 = 2; dd.lr = (fw_real)0.1; dd.steps = T;
    dd.act = FW_ACT_TANH; dd.samples = 4000; dd.replicates = 4; dd.seed = 1;
    o.phi = ph; o.phi_var = pv; o.phi_var_se = ps;
    t_th = bench_now();
    if (fw_dlfluct_run(&dd, &data, &o, NULL) != FW_OK) { fprintf(stderr, "bench_fluct: deep tanh theory failed\n"); return 1; }
    t_th = bench_now() - t_th;
    for (l = 0; l < L; ++l)
        for (t = 1; t <= T; ++t)
            for (i = 0; i < n * n; ++i) {
                const size_t e = ((size_t)l * (T + 1) + t) * n * n + i;
                if (pv[e] > 0) rel[m++] = ps[e] / pv[e];
            }
    qsort(rel, (size_t)m, sizeof rel[0], cmp);
    r = rel[m / 2];
    printf("\nsampled deep propagator vs seed ensembles (tanh, depth 2, P = %d + %d, T = %d, M = 4000): theory %.2f s,\n"
           "median relative se of Var Phi(l) %.3f, the precision of S = %.0f seeds\n", P, Q, T, t_th, r, 1 + 2 / (r * r));
    printf("%6s %14s %16s %10s\n", "N", "s per seed", "ensemble s", "ratio");
    for (w = 0; w < 2; ++w) {
        const double t1 = seed_time(FW_ACT_TANH, L, widths[w], T, 2, 0.1, 1, 1, 40, &data), S = 1 + 2 / (r * r);
        if (t1 < 0) { fprintf(stderr, "bench_fluct: ensemble failed\n"); return 1; }
        printf("%6d %14.2e %16.2f %10.2f\n", widths[w], t1, S * t1, S * t1 / t_th);
    }
    return 0;
}

/* The deep linear propagator (fw_dlfluct_run: depth 3, P = 3 + 1 points, T = 5) is exact: its
   variances carry no Monte Carlo error, so an ensemble matches it only in the limit; the table
   gives the seeds for 5% and 1% relative precision (S = 1 + 2 / r^2) and their cost. */
static int deep_linear(void)
{
    const int P = 3, Q = 1, D = 4, T = 5, L = 3, n = P + Q, widths[2] = {256, 1024};
    fw_real X[4 * 4], y[3], fv[6 * 4];
    fw_data data;
    fw_dlfluct_desc dd;
    fw_dlfluct_out o;
    fw_rng rng;
    double t_th;
    int w;
    fw_rng_init(&rng, 9, 0);
    fw_rng_fill_normal(&rng, X, (size_t)n * D, 1);
    fw_rng_fill_normal(&rng, y, P, (fw_real)0.8);
    memset(&data, 0, sizeof data);
    data.P = P; data.Q = Q; data.D = D; data.X = X; data.ldx = D; data.y = y;
    memset(&dd, 0, sizeof dd);
    memset(&o, 0, sizeof o);
    dd.depth = L; dd.width = 256; dd.gamma0 = 2; dd.lr = (fw_real)0.1; dd.steps = T;
    o.f_var = fv;
    t_th = bench_now();
    if (fw_dlfluct_run(&dd, &data, &o, NULL) != FW_OK) { fprintf(stderr, "bench_fluct: deep linear theory failed\n"); return 1; }
    t_th = bench_now() - t_th;
    printf("\ndeep linear propagator vs seed ensembles (depth 3, P = %d + %d, T = %d): theory %.2f s, exact\n", P, Q, T, t_th);
    printf("%6s %14s %16s %10s %16s %10s\n", "N", "s per seed", "5%: S = 801, s", "ratio", "1%: S = 20001, s", "ratio");
    for (w = 0; w < 2; ++w) {
        const double t1 = seed_time(FW_ACT_LINEAR, L, widths[w], T, 2, 0.1, 1, 1, 40, &data);
        if (t1 < 0) { fprintf(stderr, "bench_fluct: ensemble failed\n"); return 1; }
        printf("%6d %14.2e %16.1f %10.1f %16.1f %10.1f\n", widths[w], t1, 801 * t1, 801 * t1 / t_th, 20001 * t1, 20001 * t1 / t_th);
    }
    return 0;
}

int main(void)
{
    const int P = 8, Q = 2, D = 4, T = 20, n = P + Q, widths[3] = {256, 1024, 4096};
    fw_real X[10 * 4], y[8];
    fw_data data;
    fw_fluct_desc fd;
    fw_fluct_result res;
    fw_rng rng;
    double t_th, rel[64], r;
    int i, k, w, cells = 0;
    fw_rng_init(&rng, 7, 0);
    fw_rng_fill_normal(&rng, X, (size_t)n * D, 1);
    for (i = 0; i < P; ++i) y[i] = (fw_real)tanh((double)X[i * D] + 0.5 * X[i * D + 1]);
    memset(&data, 0, sizeof data);
    data.P = P; data.Q = Q; data.D = D; data.X = X; data.ldx = D; data.y = y;
    memset(&fd, 0, sizeof fd);
    fd.dmft.act = FW_ACT_TANH; fd.dmft.gamma0 = 1; fd.dmft.lr = (fw_real)0.3; fd.dmft.steps = T; fd.dmft.every = 2;
    fd.dmft.sampler = FW_SAMPLER_ANTITHETIC; fd.dmft.samples = 32768; fd.dmft.replicates = 8; fd.dmft.seed = 1;
    fd.width = 1;
    t_th = bench_now();
    if (fw_fluct_run(&fd, &data, &res, NULL) != FW_OK) { fprintf(stderr, "bench_fluct: theory failed\n"); return 1; }
    t_th = bench_now() - t_th;
    for (k = n; k < res.n_records * n && cells < 64; ++k) rel[cells++] = (double)res.f_var_se[k] / (double)res.f_var[k];
    qsort(rel, (size_t)cells, sizeof rel[0], cmp);
    r = rel[cells / 2];
    fw_fluct_result_free(&res);
    printf("fluctuation theory vs seed ensembles for the same variance precision (tanh, P = %d + %d, T = %d)\n", P, Q, T);
    printf("theory: %.2f s (M = 32768 antithetic, R = 8), median relative error of Var f %.3f -> S = %.0f seeds needed\n",
           t_th, r, 1 + 2 / (r * r));
    printf("%6s %14s %14s %10s\n", "N", "s per seed", "ensemble s", "ratio");
    for (w = 0; w < 3; ++w) {
        const double t1 = seed_time(FW_ACT_TANH, 1, widths[w], T, 1, 0.3, 2, 0, 200, &data);
        if (t1 < 0) { fprintf(stderr, "bench_fluct: ensemble failed\n"); return 1; }
        printf("%6d %14.2e %14.2f %10.2f\n", widths[w], t1, t1 * (1 + 2 / (r * r)), t1 * (1 + 2 / (r * r)) / t_th);
    }
    return deep_linear() || deep_tanh();
}
