/* Stand-in kernel: prints the boot markers seL4 and the Microkit monitor print, then the
 * police's ready line, and powers off. It exists so that the build and QEMU stages can be
 * exercised before the real kernel is built (see ../README.md). */
#include "console.h"

#ifndef HIVE_CONFIG
#define HIVE_CONFIG "debug"
#endif
#ifndef HIVE_BOARD
#define HIVE_BOARD "unknown"
#endif

int main(void)
{
    console_puts("Bootstrapping kernel\n");
    console_puts("hive: stand-in kernel, board " HIVE_BOARD ", config " HIVE_CONFIG "\n");
    console_puts("Booting all finished, dropped to user space\n");
    console_puts("MON|INFO: Microkit Monitor started!\n");
    console_puts("police: ready\n");
    return 0;
}
