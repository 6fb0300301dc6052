/* The explorer's theory call, native: the browser test's speed reference (the same fw_web.c the
   page runs as wasm). Prints the best of 3 times in ms of fwweb_theory on the page's default
   problem for the settings given: act width gamma0 lr steps samples. */
#define _POSIX_C_SOURCE 199309L
#include <time.h>
#include "../examples/web/fw_web.c"
#include <stdio.h>

int main(int argc, char **argv)
{
    /* the page's built-in data (examples/web/app.js, DEFAULT_DATA) */
    static const fw_real X[10 * 2] = {2, 0, 1.4, 1.4, 0, 2, -1.4, 1.4, -2, 0, -1.4, -1.4, 0, -2, 1.4, -1.4, 1, 0.4, -0.6, 1.6};
    static const fw_real y[8] = {0.8, 0.4, -0.3, -0.8, 0.6, 0.2, -0.5, -0.9};
    const int act = argc > 1 ? atoi(argv[1]) : 2, width = argc > 2 ? atoi(argv[2]) : 256, steps = argc > 5 ? atoi(argv[5]) : 40;
    const double gamma0 = argc > 3 ? atof(argv[3]) : 1, lr = argc > 4 ? atof(argv[4]) : 0.5;
    const int samples = argc > 6 ? atoi(argv[6]) : 1024, n = 10, R = steps + 1;
    fw_real *m = (fw_real *)malloc(sizeof(fw_real) * 3 * (size_t)R * n);
    double best = 1e30;
    int k;
    if (m == NULL) return 1;
    for (k = 0; k < 3; ++k) {
        struct timespec a, b;
        double ms;
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (fwweb_theory(8, 2, 2, X, y, act, gamma0, lr, steps, width, samples, 4, 0, m, m + R * n, m + 2 * R * n) != 0) return 1;
        clock_gettime(CLOCK_MONOTONIC, &b);
        ms = 1e3 * (double)(b.tv_sec - a.tv_sec) + 1e-6 * (double)(b.tv_nsec - a.tv_nsec);
        if (ms < best) best = ms;
    }
    printf("%.1f\n", best);
    free(m);
    return 0;
}
