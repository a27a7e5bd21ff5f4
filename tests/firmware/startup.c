/* Vector table and reset handler of the test firmware, for the mps2-an386 (Cortex-M4F) and the
 * mps2-an505 (Cortex-M33, Secure state): the first 16 entries and the FPU enable are the same
 * on both. */
#include <stdint.h>

#include "semihost.h"

extern uint32_t _data_load[], _data_start[], _data_end[], _bss_start[], _bss_end[];
extern uint32_t __stack_top[];
extern int main(void);

/* Any fault ends the run with a distinct exit code: the library's panic handler traps with
 * `udf`, which lands here as a HardFault (or UsageFault), so a panic fails the test loudly
 * instead of hanging until the timeout. */
static void fault(void) {
  semihost_write0("FAULT: the firmware took a fault exception (a panic traps with udf)\n");
  semihost_exit(99);
}

void Reset_Handler(void) {
  /* The FPU must be on before the first floating-point instruction: give CP10 and CP11 full
   * access (CPACR bits 20-23), then wait for the write to take effect. Nothing before this
   * point may touch a float. */
  volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
  *cpacr |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");

  for (uint32_t *src = _data_load, *dst = _data_start; dst < _data_end;) *dst++ = *src++;
  for (uint32_t *dst = _bss_start; dst < _bss_end;) *dst++ = 0;

  semihost_exit(main());
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))__stack_top, /* initial stack pointer */
    Reset_Handler,
    fault, /* NMI */
    fault, /* HardFault */
    fault, /* MemManage */
    fault, /* BusFault */
    fault, /* UsageFault */
    fault, /* SecureFault (v8-M; reserved on v7-M) */
    0,     0, 0,
    fault, /* SVCall */
    fault, /* DebugMonitor */
    0,
    fault, /* PendSV */
    fault, /* SysTick (never enabled with interrupts) */
};
