/* The PDF skill's app. For now it only announces itself; parsing arrives with the real
 * Unikraft skills. */
#include "console.h"

void skill_main(void)
{
    console_puts("pdf: parser stand-in, waiting on channel `brain`\n");
}
