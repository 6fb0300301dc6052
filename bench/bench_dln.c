/* Deep linear networks on random data: the cost of a theory curve against the simulations that
   give the same curve. One configuration per depth (muP, gamma0 = 1, alpha = 2, label noise 0.3,
   eta = 0.05, T = 1000 GD steps, recorded every 50): fw_dln_theory's wall time and memory, against
   simulations at D = N = 512: the time per seed, the seed-to-seed spread of the final test loss
   (8 seeds), and the seeds S = (sd / (0.01 mean))^2 a simulation needs for a 1% standard error
   on it (the theory's own numerical error is below 1e-6, docs/dln.md). Ratio = S x time per seed
   / theory time. The third row is the balanced scaling (docs/dln.md section 7) at depth 2, nu = 1.
   One core, portable build. */
#include "bench_clock.h"
#define FINWIDTH_IMPLEMENTATION
#include "../finwidth.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    return 0;
}
