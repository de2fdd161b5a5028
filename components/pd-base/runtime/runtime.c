/* The runtime every Hive protection domain links: console output, the address of the
 * component's memory, and the reset that makes a restart clean. */
#include <stdint.h>

#include <microkit.h>

#include "console.h"

/* Where the component's `memory` (from the manifest) is mapped; the Microkit tool writes
 * the address here (setvar_vaddr in the system description). */
uintptr_t hive_memory;

void console_puts(const char *text)
{
    microkit_dbg_puts(text);
}

void console_put_u64(unsigned long long value)
{
    char digits[21];
    int at = 20;
    digits[at] = '\0';
    do {
        digits[--at] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    microkit_dbg_puts(&digits[at]);
}

/* libmicrokit keeps one deferred signal between handler iterations; a restart must not
 * replay one from before the fault. Apps with state of their own define hive_app_reset. */
__attribute__((weak)) void hive_app_reset(void)
{
}

void hive_pd_reset(void)
{
    microkit_have_signal = seL4_False;
    hive_app_reset();
}
