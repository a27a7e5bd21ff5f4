#include "semihost.h"

#define SYS_WRITE0 0x04
/* SYS_EXIT_EXTENDED takes the exit code as a parameter, unlike SYS_EXIT (0x18), whose 32-bit
 * form can only say "success" or "failure"; QEMU passes the code to its own exit status. */
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

static uint32_t semihost_call(uint32_t op, const void *arg) {
  register uint32_t r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void semihost_write0(const char *text) { semihost_call(SYS_WRITE0, text); }

_Noreturn void semihost_exit(int code) {
  uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
  semihost_call(SYS_EXIT_EXTENDED, block);
  for (;;) {
  }
}

void put_str(const char *s) { semihost_write0(s); }

void put_u32(uint32_t v) {
  char buf[11];
  int i = 10;
  buf[i] = '\0';
  do {
    buf[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  semihost_write0(&buf[i]);
}

void put_line_kv(const char *key, uint32_t value) {
  put_str(key);
  put_str(" ");
  put_u32(value);
  put_str("\n");
}
