#define FINWIDTH_IMPLEMENTATION
#include "finwidth.h"
#include <stdio.h>
int main(void) { /* a width-256 two-layer tanh net on 4 training points + 1 test point (D = 2), 20 GD steps */
    fw_real X[10] = {1, 0, 0, 1, -1, 0.5, 0.5, -1, 0.7, 0.7}, y[4] = {1, -1, 0.5, -0.5}, mean[14], m2[14];
    fw_data data = {4, 1, 2, X, 0, y, NULL};
    fw_dmft_desc net = {.act = FW_ACT_TANH, .gamma0 = 1, .lr = 0.5, .steps = 20, .every = 20};
    fw_fluct_desc theory = {.dmft = net, .width = 256};
    fw_ensemble_desc sim = {.net = {.input_dim = 2, .width = 256, .act = FW_ACT_TANH, .gamma0 = 1},
                            .lr = 0.5, .steps = 20, .every = 20};
    fw_fluct_result res; fw_stats st;
    if (fw_fluct_run(&theory, &data, &res, NULL) != FW_OK) return 1;   /* the theory: no network trained */
    fw_stats_init(&st, 14, mean, m2);                                 /* records t = 0, 20: 5 f + 2 losses */
    if (fw_ensemble_run(&sim, &data, 0, 1000, &st, NULL, NULL) != FW_OK) return 1;  /* 1000 real networks */
    printf("point  mean f: theory  networks   N Var f: theory  networks   (after 20 steps)\n");
    for (int p = 0; p < 5; ++p)
        printf("%5d  %14.3f  %8.3f  %17.3f  %8.3f\n", p, res.f[5 + p], mean[7 + p],
               256 * res.f_var[5 + p], 256 * fw_stats_var(&st, 7 + p));
    fw_fluct_result_free(&res); return 0;
}
