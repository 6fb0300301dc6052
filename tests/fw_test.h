/* A tiny test runner of our own. A test is a void function; FW_CHECK records a failure (file,
   line, expression) and ends the test. The runner's last line is "N passed, M failed". */
#ifndef FW_TEST_H
#define FW_TEST_H

#include "../finwidth.h"
#include <float.h>
#include <math.h>

typedef struct fw_test_case {
    const char *name;
    void (*fn)(void);
} fw_test_case;

#define FW_TEST(fn) {#fn, fn}

/* The suites, one table per test file, ended by {NULL, NULL}. Declared extern here so that
   the const tables keep external linkage in C++ as well. */
extern const fw_test_case fw_tests_core[];
extern const fw_test_case fw_tests_rng[];
extern const fw_test_case fw_tests_linalg[];
extern const fw_test_case fw_tests_net[];
extern const fw_test_case fw_tests_dmft[];
extern const fw_test_case fw_tests_fluct[];

/* The runner (test_util.c): runs every test whose name contains filter (NULL: all), prints
   "N passed, M failed" last and returns the exit status. */
int test_run(const fw_test_case *const *suites, int n_suites, const char *filter);
void fw_test_fail(const char *file, int line, const char *expr, double a, double b, double tol);
/* The number of failed checks so far (for reports that run checks outside test_run). */
int test_failures(void);

#define FW_CHECK(cond)                                                      \
    do {                                                                    \
        if (!(cond)) { fw_test_fail(__FILE__, __LINE__, #cond, 0, 0, -1); return; } \
    } while (0)

/* |a - b| <= tol; the tolerance comes from the statistics or the rounding analysis stated next
   to each use. */
#define FW_CHECK_NEAR(a, b, tol)                                            \
    do {                                                                    \
        double fw_a_ = (double)(a), fw_b_ = (double)(b), fw_t_ = (double)(tol); \
        if (!(fabs(fw_a_ - fw_b_) <= fw_t_)) {                              \
            fw_test_fail(__FILE__, __LINE__, #a " ~ " #b, fw_a_, fw_b_, fw_t_); return; \
        }                                                                   \
    } while (0)

#define FW_CHECK_STATUS(expr, want) FW_CHECK((expr) == (want))

/* Unit roundoff of the build's fw_real: tolerances of rounding analyses are multiples of it. */
#define TEST_EPS ((double)(sizeof(fw_real) == sizeof(float) ? FLT_EPSILON : DBL_EPSILON))
#define TEST_IS_FLOAT (sizeof(fw_real) == sizeof(float))

/* The microcontroller builds have 4 MiB of RAM for heap and stack: Monte Carlo tests divide
   their sample counts by this (their tolerances come from the measured standard errors, so
   they stay valid, only wider). */
#ifdef TEST_SMALL_MEMORY
#define TEST_SAMPLE_DIVISOR 32
#else
#define TEST_SAMPLE_DIVISOR 1
#endif

/* Helpers shared by the test files (test_util.c). */
fw_real *test_alloc(size_t n);                 /* aborts the run on failure; tests only */
void test_free(void *p);
void test_fill_normal(fw_real *x, size_t n, unsigned seed);
double test_max_abs(const fw_real *x, size_t n);
/* Reference product, plain triple loop in double: C = op(A) op(B) (m x n). */
void test_naive_gemm(int ta, int tb, int m, int n, int k, const fw_real *A, int lda,
                     const fw_real *B, int ldb, double *C);

/* An allocator that counts live blocks and can fail on its k-th call (k >= 1; 0 never fails). */
typedef struct test_counting_alloc {
    int calls;
    int fail_at;
    int live;
} test_counting_alloc;
fw_allocator test_counting_allocator(test_counting_alloc *state);
/* Calls run(user, allocator) with the allocator failing at its 1st, 2nd, ..., calls-th call; each
   run must return FW_OK (then release(user) frees its result) or FW_ERR_NOMEM, with no block left
   live. Returns how many runs gave FW_ERR_NOMEM. */
int test_nomem_runs(int calls, fw_status (*run)(void *user, const fw_allocator *al), void (*release)(void *user),
                    void *user);

/* A gamma0 below every solver's floor of 10 machine epsilons (double 2.2e-15, float 1.2e-6) and
   not zero (which means 1) in either precision: FW_ERR_ARG from every solver alike. */
#define TEST_TINY_GAMMA0 ((fw_real)(sizeof(fw_real) == sizeof(float) ? 1e-6 : 1e-15))

#endif
