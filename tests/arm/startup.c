/* Minimal Cortex-M start: a two-entry vector table (initial stack pointer at the top of RAM,
   reset handler) and a reset handler that enables the FPU when there is one, then enters
   newlib's _start (which clears .bss, sets up semihosting and calls main). */
#include <stdint.h>

extern void _start(void);
void fw_arm_reset(void);

__attribute__((section(".vectors"), used))
const uintptr_t fw_arm_vectors[2] = {0x20400000u, (uintptr_t)fw_arm_reset};

void fw_arm_reset(void)
{
#if defined(__ARM_FP)
    /* CPACR: full access to coprocessors 10 and 11 (the FPU), bits 20-23. */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    _start();
    for (;;) {}
}
