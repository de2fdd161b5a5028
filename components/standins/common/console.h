/* Console and power-off for the stand-ins: PL011 on aarch64 boards, COM1 on x86_64. */
#ifndef HIVE_STANDIN_CONSOLE_H
#define HIVE_STANDIN_CONSOLE_H

void console_puts(const char *text);
void console_put_u64(unsigned long long value);
/* Power the machine off (PSCI on aarch64, isa-debug-exit on x86_64); never returns. */
void machine_off(unsigned code) __attribute__((noreturn));

#endif
