/* hivebuild's skill runtime: the name lib-lwip uses for Unikraft's software RNG before 0.17. */
#ifndef HIVE_COMPAT_UK_SWRAND_H
#define HIVE_COMPAT_UK_SWRAND_H

#include <uk/arch/types.h>

__u32 uk_swrand_randr(void);

#endif
