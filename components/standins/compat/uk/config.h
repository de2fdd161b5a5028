/* The one thing the skill runtime's channel.c asks of Unikraft's configuration, given on the
 * stand-ins from the compiler's own names. */
#ifndef HIVE_STANDIN_UK_CONFIG_H
#define HIVE_STANDIN_UK_CONFIG_H

#if defined(__x86_64__)
#define CONFIG_ARCH_X86_64 1
#elif defined(__aarch64__)
#define CONFIG_ARCH_ARM_64 1
#endif

#endif
