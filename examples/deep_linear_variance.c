/* How noisy is each layer of a deep linear net, and how does training change it? fw_dlfluct_run
   gives, without training a single network, the variance over random initializations of every
   layer's feature kernel Phi(l)(t, t), of the NTK and of the predictions of a width-N net at
   every GD step (exact for linear nets; docs/fluct.md section 11). This prints the relative
   variance N Var / mean^2 of Phi(l)_00 per layer and step, for a lazy-ish (gamma0 = 0.5) and a
   rich (gamma0 = 2) net:

       build/deep_linear_variance [depth] [width]

   What to see: at t = 0 the relative variance grows linearly with depth (l times layer 1's);
   with feature learning it falls during training in every layer, much more at gamma0 = 2. */
#define FINWIDTH_IMPLEMENTATION
#include "../finwidth.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { P = 2, Q = 1, D = 3, T = 8, n = P + Q };

int main(int argc, char **argv)
{
    const int L = argc > 1 ? atoi(argv[1]) : 3, N = argc > 2 ? atoi(argv[2]) : 256;
    const fw_real gammas[2] = {(fw_real)0.5, 2};
    fw_real X[n * D], y[P] = {(fw_real)0.8, (fw_real)-0.6}, f[(T + 1) * n], fv[(T + 1) * n];
    fw_real *phi, *phv;
    fw_data data = {0};
    fw_rng rng;
    int g, l, t, i;
    if (L < 1 || L > 8 || N < 1) { fprintf(stderr, "usage: deep_linear_variance [depth 1..8] [width >= 1]\n"); return 2; }
    phi = (fw_real *)malloc(sizeof(fw_real) * (size_t)L * (T + 1) * n * n);
    phv = (fw_real *)malloc(sizeof(fw_real) * (size_t)L * (T + 1) * n * n);
    if (phi == NULL || phv == NULL) { fprintf(stderr, "out of memory\n"); return 1; }
    fw_rng_init(&rng, 17, 0);   /* two training points and one test point in D = 3 */
    for (i = 0; i < n * D; ++i) X[i] = fw_rng_normal(&rng);
    data.P = P; data.Q = Q; data.D = D; data.X = X; data.y = y;
    for (g = 0; g < 2; ++g) {
        fw_dlfluct_desc d = {0};
        fw_dlfluct_out o = {0};
        fw_status s;
        d.depth = L; d.width = N; d.gamma0 = gammas[g]; d.lr = (fw_real)0.1; d.steps = T;
        o.f = f; o.f_var = fv; o.phi = phi; o.phi_var = phv;
        if ((s = fw_dlfluct_run(&d, &data, &o, NULL)) != FW_OK) {
            fprintf(stderr, "fw_dlfluct_run: %s\n", fw_status_string(s));
            free(phi); free(phv);
            return 1;
        }
        printf("depth %d, width %d, gamma0 %.1f, eta 0.1: N Var Phi(l)_00 / mean^2 (and the training prediction f_0 +- sd)\n", L, N, (double)gammas[g]);
        printf("   t");
        for (l = 1; l <= L; ++l) printf("   layer %d", l);
        printf("        f_0 +- sd\n");
        for (t = 0; t <= T; ++t) {
            printf("%4d", t);
            for (l = 0; l < L; ++l) {
                const size_t e = ((size_t)l * (T + 1) + t) * n * n;
                printf(" %9.3f", N * (double)phv[e] / ((double)phi[e] * phi[e]));
            }
            printf("   %7.3f +- %.3f\n", (double)f[t * n], sqrt((double)fv[t * n]));
        }
        printf("\n");
    }
    free(phi); free(phv);
    return 0;
}
