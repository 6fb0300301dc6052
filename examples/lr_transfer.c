/* Learning-rate transfer in deep linear networks on random data (Bordelon & Pehlevan 2025): the
   final test loss against the learning rate eta for several width ratios nu = N/D, in muP
   (gamma0 = 1) and NTK parameterization, from the proportional-limit theory and from simulated
   networks, printed as a table with the best eta per column.

     lr_transfer [D] [seeds]      (defaults D = 128, 4 seeds; a few seconds)

   Model: L = 2 hidden layers, P = D samples (alpha = 1) of isotropic Gaussian data, linear teacher
   with label noise 0.3, full-batch GD for T = 16 steps (docs/dln.md). Under the library's step
   conventions the limit does not depend on nu (docs/dln.md section 3), so the theory column is one
   column per parameterization; the simulated columns show how closely finite networks follow it. */
#define FINWIDTH_IMPLEMENTATION
#include "../finwidth.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    const int D = argc > 1 ? atoi(argv[1]) : 128, S = argc > 2 ? atoi(argv[2]) : 4, T = 16;
    const double etas[7] = {0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5}, nus[3] = {0.5, 1, 2};
    double loss[7][4];
    int p, e, k;
    if (D < 8 || S < 1) { fprintf(stderr, "usage: lr_transfer [D >= 8] [seeds >= 1]\n"); return 2; }
    for (p = 0; p < 2; ++p) {
        int best[4] = {0, 0, 0, 0};
        printf("%s: final test loss (t = %d), D = %d, %d seeds\n%8s %10s", p ? "NTK parameterization" : "muP, gamma0 = 1", T, D,
               S, "eta", "theory");
        for (k = 0; k < 3; ++k) printf("   sim nu=%-4g", nus[k]);
        printf("\n");
        for (e = 0; e < 7; ++e) {
            fw_dln_desc d;
            fw_real tr[2], te[2], mean[4], m2[4];
            fw_stats st;
            memset(&d, 0, sizeof d);
            d.D = D; d.depth = 2; d.gamma0 = 1; d.ntk = p; d.lr = (fw_real)etas[e]; d.steps = T; d.every = T;
            d.alpha = 1; d.noise = (fw_real)0.3; d.seed = 1;
            d.width = D;
            loss[e][0] = fw_dln_theory(&d, tr, te, NULL, NULL) == FW_OK ? (double)te[1] : NAN;
            for (k = 0; k < 3; ++k) {
                d.width = (int)(nus[k] * D + 0.5);
                fw_stats_init(&st, 4, mean, m2);
                loss[e][1 + k] = fw_dln_simulate(&d, 0, (uint64_t)S, &st, NULL, NULL) == FW_OK ? (double)mean[3] : NAN;
            }
            printf("%8g", etas[e]);
            for (k = 0; k < 4; ++k) {
                printf(" %12.4f", loss[e][k]);
                if (!(loss[e][k] >= loss[best[k]][k])) best[k] = e;   /* NaN (diverged) never wins */
            }
            printf("\n");
        }
        printf("%8s", "best eta");
        for (k = 0; k < 4; ++k) printf(" %12g", etas[best[k]]);
        printf("\n\n");
    }
    return 0;
}
