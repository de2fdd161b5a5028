/* hive-pack: packs named files into one system image, the stand-in for the Microkit tool.
 *
 *   hive-pack -o system.img NAME=FILE...
 *
 * Layout (all integers little-endian): the magic "HIVEPACK1\n", the entry count (u32), then
 * for each entry in the order given: name length (u32), name, data length (u64), data, zero
 * padding to a multiple of 8. The output depends only on the inputs. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put_le(FILE *out, uint64_t value, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        if (fputc((int)((value >> (8 * i)) & 0xff), out) == EOF) {
            return -1;
        }
    }
    return 0;
}

static int copy_entry(FILE *out, const char *spec)
{
    const char *equals = strchr(spec, '=');
    if (equals == NULL || equals == spec) {
        fprintf(stderr, "hive-pack: `%s` is not NAME=FILE\n", spec);
        return -1;
    }
    const char *path = equals + 1;
    FILE *in = fopen(path, "rb");
    if (in == NULL) {
        fprintf(stderr, "hive-pack: cannot open `%s`: %s\n", path, strerror(errno));
        return -1;
    }
    fseek(in, 0, SEEK_END);
    long length = ftell(in);
    fseek(in, 0, SEEK_SET);
    uint32_t name_length = (uint32_t)(equals - spec);
    int failed = put_le(out, name_length, 4) || fwrite(spec, 1, name_length, out) != name_length
        || put_le(out, (uint64_t)length, 8);
    char buffer[65536];
    size_t got;
    while (!failed && (got = fread(buffer, 1, sizeof buffer, in)) > 0) {
        failed = fwrite(buffer, 1, got, out) != got;
    }
    for (long pad = (8 - length % 8) % 8; !failed && pad > 0; pad--) {
        failed = fputc(0, out) == EOF;
    }
    fclose(in);
    return failed ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[1], "-o") != 0) {
        fprintf(stderr, "usage: hive-pack -o OUTPUT NAME=FILE...\n");
        return 2;
    }
    FILE *out = fopen(argv[2], "wb");
    if (out == NULL) {
        fprintf(stderr, "hive-pack: cannot create `%s`: %s\n", argv[2], strerror(errno));
        return 1;
    }
    int failed = fputs("HIVEPACK1\n", out) == EOF || put_le(out, (uint64_t)(argc - 3), 4);
    for (int i = 3; !failed && i < argc; i++) {
        failed = copy_entry(out, argv[i]) != 0;
    }
    failed |= fclose(out) != 0;
    if (failed) {
        remove(argv[2]);
        return 1;
    }
    return 0;
}
