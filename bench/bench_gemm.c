/* Portable gemm against CBLAS dgemm in the same run, one core, n = 256, 512, 1024.
   Prints GFLOP/s of each and their ratio. Build: see build.ninja (target bench). */
#include "bench_clock.h"
#define FINWIDTH_IMPLEMENTATION
#include "../finwidth.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

/* Best of several repetitions, each at least 0.2 s of work, as GFLOP/s. */
static double rate(int which, int n, const double *A, const double *B, double *C)
{
    double best = 0;
    int rep;
    for (rep = 0; rep < 5; ++rep) {
        int iters = 0;
        double t0 = bench_now(), t;
        do {
            if (which == 0) fw_gemm_portable(FW_NO_TRANS, FW_NO_TRANS, n, n, n, 1, A, n, B, n, 0, C, n);
            else cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, A, n, B, n, 0, C, n);
            ++iters;
            t = bench_now() - t0;
        } while (t < 0.2);
        if (2.0 * n * n * (double)n * iters / t * 1e-9 > best) best = 2.0 * n * n * (double)n * iters / t * 1e-9;
    }
    return best;
}

int main(void)
{
    static const int ns[3] = {256, 512, 1024};
    int c;
    printf("gemm, one core (OPENBLAS_NUM_THREADS=1), row-major, C = A B, best of 5\n");
    printf("%6s %16s %16s %10s\n", "n", "portable GF/s", "cblas GF/s", "ratio");
    for (c = 0; c < 3; ++c) {
        int n = ns[c];
        double *A = (double *)malloc(sizeof(double) * n * n), *B = (double *)malloc(sizeof(double) * n * n);
        double *C = (double *)malloc(sizeof(double) * n * n);
        double rp, rb;
        fw_rng r;
        fw_rng_init(&r, 1, 0);
        fw_rng_fill_normal(&r, A, n * n, 1);
        fw_rng_fill_normal(&r, B, n * n, 1);
        rp = rate(0, n, A, B, C);
        rb = rate(1, n, A, B, C);
        printf("%6d %16.2f %16.2f %10.2f\n", n, rp, rb, rb / rp);
        free(A); free(B); free(C);
    }
    printf("ratio = cblas / portable (target: below 4)\n");
    return 0;
}
