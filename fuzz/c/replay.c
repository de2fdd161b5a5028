/* Runs a libFuzzer target's LLVMFuzzerTestOneInput on files named on the command line, with
 * no libFuzzer: how the replay test runs the C targets' seeds and kept reproducers under any
 * compiler's sanitizers. Prints `accepted N` (inputs that ran; a failure aborts). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *file = fopen(argv[i], "rb");
		unsigned char *bytes;
		long size;

		if (!file || fseek(file, 0, SEEK_END) || (size = ftell(file)) < 0
		    || fseek(file, 0, SEEK_SET)) {
			fprintf(stderr, "replay: cannot read %s\n", argv[i]);
			return 2;
		}
		bytes = malloc(size ? (size_t)size : 1);
		if (!bytes || fread(bytes, 1, (size_t)size, file) != (size_t)size) {
			fprintf(stderr, "replay: cannot read %s\n", argv[i]);
			return 2;
		}
		fclose(file);
		fprintf(stderr, "replay: %s\n", argv[i]);
		LLVMFuzzerTestOneInput(bytes, (size_t)size);
		free(bytes);
	}
	printf("replayed %d\n", argc - 1);
	return 0;
}
