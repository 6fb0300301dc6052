/* Quick start: solve a small SPD system and draw reproducible normals. */
#define FINWIDTH_IMPLEMENTATION
#include "../finwidth.h"
#include <stdio.h>

int main(void)
{
    fw_real A[4] = {4, 2, 2, 3}, b[2] = {1, 2};   /* row-major 2 x 2, lda = 2 */
    fw_rng rng;
    int i;
    fw_status s = fw_cholesky(2, A, 2);           /* A = L L^T, L in the lower triangle */
    if (s == FW_OK) s = fw_cholesky_solve(2, 1, A, 2, b, 1);
    if (s != FW_OK) { fprintf(stderr, "finwidth: %s\n", fw_status_string(s)); return 1; }
    printf("solution of [[4,2],[2,3]] x = [1,2]: x = (%g, %g)  (exact: -0.125, 0.75)\n", (double)b[0], (double)b[1]);
    fw_rng_init(&rng, 42, 0);                      /* seed 42, stream 0: same on every platform */
    printf("first normals of seed 42, stream 0:");
    for (i = 0; i < 4; ++i) printf(" %.6f", (double)fw_rng_normal(&rng));
    printf("\n");
    return 0;
}
