/* The test runner. This file holds the implementation of finwidth.h; the test files include the
   header without it (so the STB split is exercised by every build). */
#define FINWIDTH_IMPLEMENTATION
#include "fw_test.h"
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    const fw_test_case *const suites[6] = {fw_tests_core, fw_tests_rng, fw_tests_linalg, fw_tests_net, fw_tests_dmft, fw_tests_fluct};
    return test_run(suites, 6, argc > 1 ? argv[1] : NULL);
}
