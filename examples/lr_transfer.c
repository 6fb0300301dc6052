/* Learning-rate transfer in deep linear networks on random data (Bordelon & Pehlevan 2025): the
   final test loss against the learning rate eta for several width ratios nu = N/D, in muP
   (gamma0 = 1) and NTK parameterization, from the proportional-limit theory and from simulated
   networks, printed as a table with the best eta per column.

     lr_transfer [D] [seeds] [--science]     (defaults D = 256, 8 seeds; about a minute)

   Model: L = 2 hidden layers, P = D samples (alpha = 1) of isotropic Gaussian data, a linear teacher
   without label noise, full-batch GD for T = 32 steps, in the balanced scaling (docs/dln.md
   section 7: f = sqrt(D) w.h/(gamma0 N), step eta gamma0^2 N on every layer; NTK is gamma0 =
   1/sqrt(nu)), where the limit depends on nu. Each column pair is theory (the D -> infinity limit
   at that nu) and the mean over seeds of networks of input dimension D.

   What it shows: in muP the best eta stays put as the network widens (and the loss falls: wider is
   better); in NTK parameterization the best eta grows with the width. Near the edge of stability
   (the largest eta that trains) finite networks converge slowly to the limit, so there the two
   columns differ more than elsewhere.

   --science: the same sweep under the reference step rule (input-layer step times D only), whose limit
   does not depend on nu (docs/dln.md sections 3 and 5): one theory column, alpha = 1, label noise
   0.3, T = 16. */
#define FINWIDTH_IMPLEMENTATION
#include "../finwidth.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NE 7
#define NNU 5

int main(int argc, char **argv)
{
    const double etas[NE] = {0.05, 0.0707, 0.1, 0.1414, 0.2, 0.2828, 0.4}, nus[NNU] = {0.5, 1, 2, 4, 8};
    int D = 256, S = 8, science = 0, npos = 0, i, p, e, k;
    for (i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--science") == 0) science = 1;
        else if (npos == 0) { D = atoi(argv[i]); ++npos; }
        else if (npos == 1) { S = atoi(argv[i]); ++npos; }
        else D = 0;
    }
    if (D < 8 || S < 1) { fprintf(stderr, "usage: lr_transfer [D >= 8] [seeds >= 1] [--science]\n"); return 2; }
    for (p = 0; p < 2; ++p) {
        double loss[NE][2 * NNU];
        int best[2 * NNU], ncol = science ? 1 + NNU : 2 * NNU;
        const int T = science ? 16 : 32;
        for (k = 0; k < ncol; ++k) best[k] = 0;
        printf("%s%s: final test loss (t = %d), %d seeds at D = %d\n%8s", p ? "NTK parameterization" : "muP, gamma0 = 1",
               science ? " (reference step rule)" : " (balanced scaling)", T, S, D, "eta");
        if (science) {
            printf(" %9s", "theory");
            for (k = 0; k < NNU; ++k) printf("  sim nu=%-3g", nus[k]);
        } else {
            for (k = 0; k < NNU; ++k) printf("   nu=%-3g th     sim", nus[k]);
        }
        printf("\n");
        for (e = 0; e < NE; ++e) {
            for (k = 0; k < NNU; ++k) {
                fw_dln_desc d;
                fw_real tr[2], te[2], mean[4], m2[4];
                fw_stats st;
                memset(&d, 0, sizeof d);
                d.D = D; d.depth = 2; d.gamma0 = 1; d.ntk = p; d.lr = (fw_real)etas[e]; d.steps = T; d.every = T;
                d.alpha = 1; d.noise = science ? (fw_real)0.3 : 0; d.seed = 1; d.balanced = !science;
                d.width = (int)(nus[k] * D + 0.5);
                if (!science || k == 0)   /* NaN: the theory diverged (past the edge of stability) */
                    loss[e][science ? 0 : 2 * k] = fw_dln_theory(&d, tr, te, NULL, NULL) == FW_OK ? (double)te[1] : NAN;
                fw_stats_init(&st, 4, mean, m2);
                loss[e][science ? 1 + k : 2 * k + 1] = fw_dln_simulate(&d, 0, (uint64_t)S, &st, NULL, NULL) == FW_OK ? (double)mean[3] : NAN;
            }
            printf("%8g", etas[e]);
            for (k = 0; k < ncol; ++k) {
                printf(science ? " %11.4f" : " %8.4f", loss[e][k]);
                if (loss[e][k] == loss[e][k] && !(loss[e][k] >= loss[best[k]][k])) best[k] = e;   /* NaN (diverged) never wins */
            }
            printf("\n");
        }
        printf("%8s", "best eta");
        for (k = 0; k < ncol; ++k) printf(science ? " %11g" : " %8g", etas[best[k]]);
        printf("\n\n");
    }
    return 0;
}
