/* The finite-width theory on a microcontroller: the variance over random initializations of a
   width-256 two-layer tanh network's predictions along 20 steps of gradient descent, for a tiny
   problem (P = 4 training points, one test point, D = 2), in single precision, with a tensor
   Gauss-Hermite rule instead of sampling (deterministic: 6^3 = 216 nodes), solved in one static
   buffer with zero heap use. The same file builds for the host, for wasm32 and for Cortex-M4:

     cc -std=c99 -O2 -DFW_REAL=float examples/mcu/theory_mcu.c -lm
     arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -std=c99 \
         -DFW_REAL=float --specs=rdimon.specs -T tests/arm/link.ld tests/arm/startup.c \
         examples/mcu/theory_mcu.c -lm        (run: qemu-system-arm -M mps2-an386 ... -kernel)

   (tests/arm holds the minimal vector table and linker script for qemu's mps2 boards.)
   Prints the workspace the solver asked for, then t,point,mean,var. */
#define FINWIDTH_IMPLEMENTATION
#define FW_TANGENT_BLOCK 16            /* the tangent pass in blocks of 16 samples: a smaller workspace */
#include "../../finwidth.h"
#include <stdio.h>

#define WORKSPACE_BYTES (512 * 1024)   /* >= fw_fluct_workspace_size for this problem (checked below) */

static union { double align; unsigned char bytes[WORKSPACE_BYTES]; } workspace;

int main(void)
{
    /* four training inputs and one test input (the last row) in D = 2, and the targets */
    static const fw_real X[5 * 2] = {1.2f, 0.3f, -0.4f, 1.1f, -0.9f, -0.8f, 0.5f, -1.3f, 0.8f, 0.8f};
    static const fw_real y[4] = {0.6f, -0.2f, -0.7f, 0.3f};
    fw_data data = {0};
    fw_fluct_desc fd = {0};
    fw_fluct_result res;
    size_t need = 0;
    fw_status s;
    int r, i;
    data.P = 4; data.Q = 1; data.D = 2; data.X = X; data.ldx = 2; data.y = y;
    fd.dmft.act = FW_ACT_TANH; fd.dmft.gamma0 = 1; fd.dmft.lr = 0.2f; fd.dmft.steps = 20; fd.dmft.every = 5;
    fd.dmft.sampler = FW_SAMPLER_QUADRATURE; fd.dmft.quad_nodes = 6;
    fd.width = 256;
    if ((s = fw_fluct_workspace_size(&fd, &data, &need)) != FW_OK) {
        printf("error: %s\n", fw_status_string(s));
        return 1;
    }
    printf("workspace: %lu bytes needed, %lu in the static buffer\n", (unsigned long)need, (unsigned long)sizeof workspace.bytes);
    if (need > sizeof workspace.bytes) {
        printf("error: raise WORKSPACE_BYTES to %lu\n", (unsigned long)need);
        return 1;
    }
    if ((s = fw_fluct_run_ws(&fd, &data, &res, workspace.bytes, sizeof workspace.bytes)) != FW_OK) {
        printf("error: %s\n", fw_status_string(s));
        return 1;
    }
    printf("t,point,mean,var\n");
    for (r = 0; r < res.n_records; ++r)
        for (i = 0; i < res.n_points; ++i)
            printf("%d,%d,%.6g,%.6g\n", fw_dmft_record_time(&fd.dmft, r), i, (double)res.f[r * res.n_points + i],
                   (double)res.f_var[r * res.n_points + i]);
    return 0;
}
