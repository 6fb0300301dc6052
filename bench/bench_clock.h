/* Monotonic wall clock for the benches (POSIX). Include before any other header. */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H
#define _POSIX_C_SOURCE 199309L
#include <time.h>

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
#endif
