/* Time per full-batch GD step of the simulator (forward, backward, update on P points) for
   N = 256..4096, P = 16..256, depth 1..4, D = 64, in GFLOP/s next to this machine's DGEMM rate
   measured in the same run; then a convolutional net's step (two 3 x 3 layers, N = 32..128
   channels, 256 images of 8 x 8 pixels, the digits' shape). Built twice by build.ninja: portable
   and with FW_USE_CBLAS. */
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
    double *C = (double *)calloc((size_t)n * n, sizeof(double)), t0, best = 0;
    int rep;
    for (rep = 0; rep < 3; ++rep) {
        t0 = bench_now();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, A, n, B, n, 0, C, n);
        if (2.0 * n * n * n / (bench_now() - t0) * 1e-9 > best) best = 2.0 * n * n * n / (bench_now() - t0) * 1e-9;
    }
    free(A); free(B); free(C);
    return best;
}

/* Seconds per GD step of the network d (max_points set to P) on P random points of d's input
   dimension, timed for at least `budget` seconds; negative when it cannot be built. */
static double seconds_per_step(fw_net_desc d, int P, double budget)
{
    const int D = d.input_dim;
    fw_real *X = (fw_real *)malloc(sizeof(fw_real) * (size_t)P * D), *y = (fw_real *)malloc(sizeof(fw_real) * (size_t)P);
    fw_net net;
    fw_data data;
    fw_rng r;
    double t0, t = -1;
    int steps = 0;
    d.max_points = P;
    if (X == NULL || y == NULL || fw_net_create(&net, &d, NULL) != FW_OK) { free(X); free(y); return -1; }
    fw_rng_init(&r, 1, 1);
    fw_rng_fill_normal(&r, X, P * D, 1);
    fw_rng_fill_normal(&r, y, P, 1);
    data.P = P; data.Q = 0; data.D = D; data.X = X; data.ldx = D; data.y = y; data.y_test = NULL;
    t0 = bench_now();
    do { fw_net_gd_step(&net, &data, (fw_real)1e-3, NULL); ++steps; t = bench_now() - t0; } while (t < budget);
    fw_net_destroy(&net);
    free(X); free(y);
    return t / steps;
}

int main(void)
{
    static const int Ns[3] = {256, 1024, 4096}, Ps[2] = {16, 256}, Ls[2] = {1, 4};
    const int D = 64;
    double peak = dgemm_rate();
    int a, b, c;
#ifdef FW_USE_CBLAS
    const char *path = "cblas";
#else
    const char *path = "portable";
#endif
    printf("GD step, %s path, D = %d; reference: cblas_dgemm n=1024 at %.1f GFLOP/s (one core)\n", path, D, peak);
    printf("%6s %5s %3s %12s %10s %12s\n", "N", "P", "L", "ms/step", "GFLOP/s", "of DGEMM");
    for (a = 0; a < 3; ++a)
        for (b = 0; b < 2; ++b)
            for (c = 0; c < 2; ++c) {
                const int N = Ns[a], P = Ps[b], L = Ls[c];
                fw_net_desc d;
                double t, flops;
                memset(&d, 0, sizeof d);
                d.input_dim = D; d.width = N; d.depth = L; d.act = FW_ACT_TANH; d.gamma0 = 1;
                if ((t = seconds_per_step(d, P, 0.3)) < 0) { printf("out of memory\n"); return 1; }
                /* forward 2PND + 2(L-1)PN^2, backward 2(L-1)PN^2, update 2PND + 2(L-1)PN^2 */
                flops = 4.0 * P * N * D + 6.0 * (L - 1) * (double)P * N * N + 4.0 * P * N;
                printf("%6d %5d %3d %12.3f %10.2f %11.0f%%\n", N, P, L, 1e3 * t, flops / t * 1e-9, 100 * flops / t * 1e-9 / peak);
            }
    /* CNN: per image and layer the im2col product 2 HW 9 C N (C = 1 below the first layer's
       output); the backward pass skips the first layer's input gradient: forward 2 HW 9 (C + N) N,
       backward 2 HW 9 N N, update 2 HW 9 (C + N) N, a step 2 P HW 9 N (2 C + 3 N) */
    printf("\nCNN GD step, %s path: 3 x 3 convolutions, 8 x 8 images, 1 channel, depth 2 (two conv layers), tanh\n", path);
    printf("%6s %5s %12s %10s %12s\n", "N", "P", "ms/step", "GFLOP/s", "of DGEMM");
    for (a = 32; a <= 128; a *= 2) {
        const int N = a, P = 256, HW = 64;
        fw_net_desc d;
        double t, flops;
        memset(&d, 0, sizeof d);
        d.arch = FW_ARCH_CNN; d.image_height = 8; d.image_width = 8; d.image_channels = 1; d.input_dim = HW;
        d.width = N; d.depth = 2; d.act = FW_ACT_TANH; d.gamma0 = 1;
        if ((t = seconds_per_step(d, P, 0.5)) < 0) { printf("out of memory\n"); return 1; }
        flops = 2.0 * P * HW * 9.0 * N * (2.0 * 1 + 3.0 * N);
        printf("%6d %5d %12.2f %10.2f %11.0f%%\n", N, P, 1e3 * t, flops / t * 1e-9, 100 * flops / t * 1e-9 / peak);
    }
    return 0;
}
