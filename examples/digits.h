/* digits.h: the handwritten digits for the examples (the CLI's --data digits and the demo's CNN
   figure). The file (tests/fetch_digits.sh writes build/data/digits.csv from Debian's
   python3-sklearn) has one image a row: 64 pixels 0..16 (8 x 8, row by row), then the label 0..9.

   digits_load takes the images of two classes A and B in file order, the first P for training
   (targets +1 for A, -1 for B) and the next Q for testing, into X ((P + Q) x 64, row-major), y (P)
   and yt (Q). Pixels are standardised with the mean and standard deviation of every pixel of the
   file, so that |x|^2 / 64 is about 1. Returns 0, or 1 with a sentence in err. */
#ifndef FW_DIGITS_H
#define FW_DIGITS_H

#include "../finwidth.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define DIGITS_ROWS 1797
#define DIGITS_PIXELS 64

/* The same from an open stream (path names it in the messages); does not close fp. */
static int digits_read(FILE *fp, const char *path, int A, int B, int P, int Q, fw_real *X, fw_real *y, fw_real *yt, char *err, size_t cap)
{
    unsigned char *v;
    double mean = 0, sq = 0, sd;
    int n = 0, have = 0, k = 0, i, j;
    if (P < 1 || Q < 0 || (double)P + Q > DIGITS_ROWS) {
        snprintf(err, cap, "--train-size %d and --test-size %d: the digits file has %d images (P >= 1, Q >= 0)", P, Q, DIGITS_ROWS);
        return 1;
    }
    v = (unsigned char *)malloc((size_t)DIGITS_ROWS * (DIGITS_PIXELS + 1));
    if (v == NULL) { snprintf(err, cap, "out of memory"); return 1; }
    for (n = 0; n < DIGITS_ROWS; ++n) {   /* integers 0..16 and a label 0..9, comma separated */
        for (j = 0; j <= DIGITS_PIXELS; ++j) {
            int x, c;
            if (fscanf(fp, "%d", &x) != 1 || x < 0 || x > (j < DIGITS_PIXELS ? 16 : 9)) break;
            v[(size_t)n * (DIGITS_PIXELS + 1) + j] = (unsigned char)x;
            c = fgetc(fp);
            if (c != (j < DIGITS_PIXELS ? ',' : '\n') && !(j == DIGITS_PIXELS && c == EOF)) { j = -1; break; }
        }
        if (j != DIGITS_PIXELS + 1) break;
    }
    if (n != DIGITS_ROWS) {
        snprintf(err, cap, "%s: row %d is not 64 pixels 0..16 and a label 0..9 (the file has %d rows of them)", path, n + 1, DIGITS_ROWS);
        free(v);
        return 1;
    }
    for (i = 0; i < n; ++i) {
        const unsigned char *r = v + (size_t)i * (DIGITS_PIXELS + 1);
        for (j = 0; j < DIGITS_PIXELS; ++j) { mean += r[j]; sq += (double)r[j] * r[j]; }
        have += r[DIGITS_PIXELS] == A || r[DIGITS_PIXELS] == B;
    }
    mean /= (double)n * DIGITS_PIXELS;
    sd = sqrt(sq / ((double)n * DIGITS_PIXELS) - mean * mean);
    if (have < P + Q) {
        snprintf(err, cap, "the digits %d and %d have %d images in %s; --train-size + --test-size (%d + %d) must not exceed that",
                 A, B, have, path, P, Q);
        free(v);
        return 1;
    }
    for (i = 0; i < n && k < P + Q; ++i) {
        const unsigned char *r = v + (size_t)i * (DIGITS_PIXELS + 1);
        if (r[DIGITS_PIXELS] != A && r[DIGITS_PIXELS] != B) continue;
        for (j = 0; j < DIGITS_PIXELS; ++j) X[(size_t)k * DIGITS_PIXELS + j] = (fw_real)((r[j] - mean) / sd);
        if (k < P) y[k] = r[DIGITS_PIXELS] == A ? 1 : -1;
        else if (yt != NULL) yt[k - P] = r[DIGITS_PIXELS] == A ? 1 : -1;
        ++k;
    }
    free(v);
    return 0;
}

static int digits_load(const char *path, int A, int B, int P, int Q, fw_real *X, fw_real *y, fw_real *yt, char *err, size_t cap)
{
    FILE *fp = fopen(path, "r");
    int rc;
    if (fp == NULL) {
        snprintf(err, cap, "cannot read %s: the digits come from Debian's python3-sklearn; bash tests/fetch_digits.sh writes "
                           "build/data/digits.csv", path);
        return 1;
    }
    rc = digits_read(fp, path, A, B, P, Q, X, y, yt, err, cap);
    fclose(fp);
    return rc;
}

#endif
