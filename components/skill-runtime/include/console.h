/* The console, as every skill base gives it: one call that writes a string. */
#ifndef HIVE_CONSOLE_H
#define HIVE_CONSOLE_H

void console_puts(const char *text);

#endif
