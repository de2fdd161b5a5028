/* Console and power-off for the stand-ins: PL011 on aarch64 boards, COM1 on x86_64. */
#ifndef HIVE_STANDIN_CONSOLE_H
#define HIVE_STANDIN_CONSOLE_H

void console_puts(const char *text);
void console_put_u64(unsigned long long value);
/* The next byte typed on the console, or -1 when there is none (never waits). */
int console_getc(void);
/* Microseconds since the first call: the architecture's counter (aarch64) or the PIT
 * (x86_64), polled; call it at least every 50 ms on x86_64. */
unsigned long long clock_us(void);
/* Power the machine off (PSCI on aarch64, isa-debug-exit on x86_64); never returns. */
void machine_off(unsigned code) __attribute__((noreturn));

#endif
