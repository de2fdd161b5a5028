/* What a Hive protection domain's app may call: the same names the stand-ins give skill
 * apps, so one app folder builds into a stand-in skill or a seL4 protection domain. */
#ifndef HIVE_PD_CONSOLE_H
#define HIVE_PD_CONSOLE_H

/* Print on the kernel's debug console (debug configurations; silent otherwise). */
void console_puts(const char *text);
void console_put_u64(unsigned long long value);

/* Where the component's memory region is mapped (0 when it has none). */
extern unsigned long hive_memory;

/* Clear the runtime's state; called by the start code before main on every (re)start. */
void hive_pd_reset(void);

#endif
