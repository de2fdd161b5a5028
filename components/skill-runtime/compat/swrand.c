/* hivebuild's skill runtime: uk_swrand_randr() over Unikraft 0.17's ukrandom. */
#include <uk/random.h>
#include <uk/swrand.h>

__u32 uk_swrand_randr(void)
{
	__u32 value;

	uk_random_fill_buffer(&value, sizeof(value));
	return value;
}
