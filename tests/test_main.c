/* The test runner. This file holds the implementation of finwidth.h; the test files include the
   header without it (so the STB split is exercised by every build). */
#define FINWIDTH_IMPLEMENTATION
#include "fw_test.h"
#include <stdio.h>
#include <string.h>

static int current_failed;

void fw_test_fail(const char *file, int line, const char *expr, double a, double b, double tol)
{
    current_failed = 1;
    if (tol < 0) printf("    %s:%d: check failed: %s\n", file, line, expr);
    else printf("    %s:%d: %s: %.17g vs %.17g, tolerance %.3g\n", file, line, expr, a, b, tol);
}

int main(int argc, char **argv)
{
    const fw_test_case *suites[5];
    int passed = 0, failed = 0, s;
    const char *filter = argc > 1 ? argv[1] : NULL;
    suites[0] = fw_tests_core;
    suites[1] = fw_tests_rng;
    suites[2] = fw_tests_linalg;
    suites[3] = fw_tests_net;
    suites[4] = fw_tests_dmft;
    for (s = 0; s < 5; ++s) {
        const fw_test_case *t;
        for (t = suites[s]; t->name != NULL; ++t) {
            if (filter != NULL && strstr(t->name, filter) == NULL) continue;
            current_failed = 0;
            t->fn();
            if (current_failed) { ++failed; printf("FAIL %s\n", t->name); }
            else ++passed;
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
