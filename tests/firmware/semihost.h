/* ARM semihosting: output and exit through the debugger interface, which QEMU implements with
 * -semihosting-config enable=on,target=native. */
#ifndef SEMIHOST_H
#define SEMIHOST_H

#include <stdint.h>

void semihost_write0(const char *text);
_Noreturn void semihost_exit(int code);

/* Small formatted output without printf, which would link newlib's stdio and its malloc. */
void put_str(const char *s);
void put_u32(uint32_t v);
void put_line_kv(const char *key, uint32_t value);

#endif
