/* libFuzzer harness over the command line's input parsers: the CSV reader (read_csv_stream, on the
   input as a file in memory) and the option parser (parse_options, on the input split at NUL bytes
   into arguments). Built by `ninja fuzz` with clang -fsanitize=fuzzer,address,undefined; any
   sanitizer report, crash or leak ends the run (run it with -close_fd_mask=3: the parsers print
   one line per rejected input). First input byte: 0..3 option parser for simulate,
   dmft, theory or compare; 4 the header-row CSV reader of `plot`; 5 the digits reader
   (examples/digits.h: 4 + 2 images of 3 and 8); anything else the data CSV reader, on the
   remaining bytes. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#define main finwidth_main
#include "../examples/finwidth.c"
#undef main

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (data[0] < 4) {
        char buf[4096], *argv[256];
        int argc = 0;
        size_t n = size - 1 < sizeof buf - 1 ? size - 1 : sizeof buf - 1, i;
        options o;
        memcpy(buf, data + 1, n);
        buf[n] = '\0';
        argv[argc++] = buf;
        for (i = 0; i < n && argc < 255; ++i)
            if (buf[i] == '\0') argv[argc++] = buf + i + 1;
        (void)parse_options(argc, argv, data[0], &o);
        return 0;
    }
    if (data[0] == 4) {
        csv_table t;
        FILE *fp;
        if (size < 2) return 0;
        fp = fmemopen((void *)(data + 1), size - 1, "r");
        if (fp == NULL) return 0;
        if (read_csv_header_stream(fp, "fuzz", &t) == 0) csv_table_free(&t);
        return 0;
    }
    if (data[0] == 5) {
        fw_real X[6 * DIGITS_PIXELS], y[4], yt[2];
        char err[512];
        FILE *fp;
        if (size < 2) return 0;
        fp = fmemopen((void *)(data + 1), size - 1, "r");
        if (fp == NULL) return 0;
        (void)digits_read(fp, "fuzz", 3, 8, 4, 2, X, y, yt, err, sizeof err);
        fclose(fp);
        return 0;
    }
    {
        table t;
        FILE *fp;
        if (size < 2) return 0;   /* fmemopen needs at least one byte */
        fp = fmemopen((void *)(data + 1), size - 1, "r");
        if (fp == NULL) return 0;
        if (read_csv_stream(fp, "fuzz", &t) == 0) free(t.v);
    }
    return 0;
}
