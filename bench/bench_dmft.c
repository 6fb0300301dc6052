/* Cost of DMFT solves: a two-layer solve (P = 32, T = 200, M = 10^5 samples) and a deep solve
   (L = 3, P = 8, T = 50, M = 4096), in seconds and GFLOP/s of their dominant products, next to
   this machine's DGEMM rate in the same run. Built twice: portable and with FW_USE_CBLAS.
   Every solve runs R = 8 replicates of M/R samples plus the pooled solve on all M (2M samples
   in all), which the flop counts include.
   Then the lazy control variate (docs/dmft.md section 9) at equal cost: a two-layer tanh net
   (P = 8 + 2 test points, T = 20, eta 0.5) solved plainly with 2M samples and with the control
   variate (two solves) with M; the mean standard error of f over all cells, its ratio (> 1: the
   control variate wins at equal cost) and the measured time ratio; then the same at depth 2. */
#include "bench_clock.h"
#define FINWIDTH_IMPLEMENTATION
#include "../finwidth.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double dgemm_rate(void)
{
    const int n = 1024;
    double *A = (double *)calloc((size_t)n * n, sizeof(double)), *B = (double *)calloc((size_t)n * n, sizeof(double));
    double *C = (double *)calloc((size_t)n * n, sizeof(double)), best = 0;
    int rep;
    for (rep = 0; rep < 3; ++rep) {
        double t0 = bench_now(), r;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, A, n, B, n, 0, C, n);
        r = 2.0 * n * n * n / (bench_now() - t0) * 1e-9;
        if (r > best) best = r;
    }
    free(A); free(B); free(C);
    return best;
}

/* Random inputs X ((P + Q) x D, N(0, 1)) and labels y (P, N(0, ysd^2)) from seed `seed`. */
static fw_data random_problem(int P, int Q, int D, uint64_t seed, fw_real ysd, fw_real *X, fw_real *y)
{
    fw_data data;
    fw_rng rng;
    fw_rng_init(&rng, seed, 0);
    fw_rng_fill_normal(&rng, X, (P + Q) * D, 1);
    fw_rng_fill_normal(&rng, y, P, ysd);
    memset(&data, 0, sizeof data);
    data.P = P; data.Q = Q; data.D = D; data.X = X; data.y = y;
    return data;
}

/* Solves once and returns the seconds (negative on failure). */
static double solve(int L, int P, int T, int M)
{
    const int Q = 0, D = 16;
    fw_real *X = (fw_real *)malloc(sizeof(fw_real) * (size_t)(P + Q) * D), *y = (fw_real *)malloc(sizeof(fw_real) * (size_t)P);
    fw_dmft_desc d;
    fw_dmft_result res;
    const fw_data data = random_problem(P, Q, D, 1, (fw_real)0.5, X, y);
    double t0, t;
    fw_status s;
    memset(&d, 0, sizeof d);
    d.depth = L; d.act = FW_ACT_TANH; d.gamma0 = 1; d.lr = (fw_real)0.2; d.steps = T; d.every = T;
    d.samples = M; d.replicates = 8; d.sampler = FW_SAMPLER_ANTITHETIC;
    t0 = bench_now();
    s = fw_dmft_run(&d, &data, &res, NULL);
    t = bench_now() - t0;
    fw_dmft_result_free(&res);
    free(X); free(y);
    return s == FW_OK ? t : -1;
}

/* Two-layer tanh solve for the control-variate table: mean f_se over cells, and the seconds. */
static double cv_solve(int depth, double gamma0, int M, int cv, double *seconds)
{
    enum { P = 8, Q = 2, D = 16, T = 20 };
    fw_real X[(P + Q) * D], y[P];
    fw_dmft_desc d;
    fw_dmft_result res;
    const fw_data data = random_problem(P, Q, D, 2, (fw_real)0.7, X, y);
    double t0, se = 0;
    int i, cells;
    memset(&d, 0, sizeof d);
    d.depth = depth; d.act = FW_ACT_TANH; d.gamma0 = (fw_real)gamma0; d.lr = (fw_real)(depth > 1 ? 0.3 : 0.5); d.steps = T;
    d.samples = M; d.replicates = 8; d.sampler = FW_SAMPLER_ANTITHETIC; d.control_variate = cv; d.seed = 5;
    t0 = bench_now();
    if (fw_dmft_run(&d, &data, &res, NULL) != FW_OK) return -1;
    *seconds = bench_now() - t0;
    cells = res.n_records * res.n_points;
    for (i = 0; i < cells; ++i) se += (double)res.f_se[i];
    fw_dmft_result_free(&res);
    return se / cells;
}

int main(void)
{
    const double peak = dgemm_rate();
    /* two-layer, per sample and step: the field update 2 P (P+Q) and the output 2 (P+Q) */
    const int P2 = 32, T2 = 200, M2 = 100000;
    const double f2 = 2.0 * M2 * (T2 + 1) * (2.0 * P2 * P2 + 2.0 * P2);
    /* deep, per sample, layer and step t: about 18 P^2 t (sources, responses, memory terms, kernel
       rows), summed over t: 9 P^2 T^2 */
    const int L3 = 3, P3 = 8, T3 = 50, M3 = 4096;
    const double f3 = 2.0 * M3 * L3 * 9.0 * P3 * P3 * (double)T3 * T3;
    double t2 = solve(1, P2, T2, M2), t3 = solve(L3, P3, T3, M3);
#ifdef FW_USE_CBLAS
    const char *kind = "cblas";
#else
    const char *kind = "portable";
#endif
    printf("DMFT solves (%s; DGEMM n = 1024 in this run: %.1f GFLOP/s)\n", kind, peak);
    printf("%-34s %10s %10s %12s\n", "solve", "seconds", "GFLOP/s", "/ DGEMM");
    printf("%-34s %10.2f %10.2f %12.3f\n", "two-layer P=32 T=200 M=1e5", t2, f2 / t2 * 1e-9, f2 / t2 * 1e-9 / peak);
    printf("%-34s %10.2f %10.2f %12.3f\n", "deep L=3 P=8 T=50 M=4096", t3, f3 / t3 * 1e-9, f3 / t3 * 1e-9 / peak);
    {
        static const double gammas[5] = {1e-4, 0.1, 0.5, 1, 2};
        int g, bad = 0, depth;
        for (depth = 1; depth <= 2; ++depth) {   /* depth 2: the history solver, eta 0.3, M = 4096 */
            const int M = depth == 1 ? 16384 : 4096;
            printf("\nlazy control variate at equal cost (depth %d, tanh, P = 8 + 2, T = 20; plain: 2M = %d samples, cv: M = %d)\n",
                   depth, 2 * M, M);
            printf("%-8s %14s %14s %16s %14s\n", "gamma0", "se plain 2M", "se cv M", "se ratio (gain)", "time cv/plain");
            for (g = 0; g < 5; ++g) {
                double tp = 0, tc = 0, sp = cv_solve(depth, gammas[g], 2 * M, 0, &tp), sc = cv_solve(depth, gammas[g], M, 1, &tc);
                if (sp < 0 || sc < 0) { bad = 1; continue; }
                printf("%-8g %14.3g %14.3g %16.1f %14.2f\n", gammas[g], sp, sc, sp / sc, tc / tp);
            }
        }
        if (bad) return 1;
    }
    return t2 > 0 && t3 > 0 ? 0 : 1;
}
