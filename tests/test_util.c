#include "fw_test.h"
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

fw_real *test_alloc(size_t n)
{
    fw_real *p = (fw_real *)malloc(n * sizeof(fw_real) + 1);
    if (p == NULL) { fprintf(stderr, "test_alloc: out of memory\n"); exit(2); }
    return p;
}

void test_free(void *p) { free(p); }

void test_fill_normal(fw_real *x, size_t n, unsigned seed)
{
    fw_rng r;
    size_t i;
    fw_rng_init(&r, seed, 77);
    for (i = 0; i < n; ++i) x[i] = fw_rng_normal(&r);
}

double test_max_abs(const fw_real *x, size_t n)
{
    double m = 0;
    size_t i;
    for (i = 0; i < n; ++i) if (fabs((double)x[i]) > m) m = fabs((double)x[i]);
    return m;
}

void test_naive_gemm(int ta, int tb, int m, int n, int k, const fw_real *A, int lda,
                     const fw_real *B, int ldb, double *C)
{
    int i, j, p;
    for (i = 0; i < m; ++i)
        for (j = 0; j < n; ++j) {
            double s = 0;
            for (p = 0; p < k; ++p) {
                double a = ta ? (double)A[(size_t)p * lda + i] : (double)A[(size_t)i * lda + p];
                double b = tb ? (double)B[(size_t)j * ldb + p] : (double)B[(size_t)p * ldb + j];
                s += a * b;
            }
            C[(size_t)i * n + j] = s;
        }
}

static void *counting_alloc(size_t bytes, void *user)
{
    test_counting_alloc *s = (test_counting_alloc *)user;
    void *p;
    s->calls++;
    if (s->fail_at > 0 && s->calls == s->fail_at) return NULL;
    p = malloc(bytes);
    if (p != NULL) s->live++;
    return p;
}

static void counting_free(void *p, void *user)
{
    test_counting_alloc *s = (test_counting_alloc *)user;
    if (p != NULL) s->live--;
    free(p);
}

fw_allocator test_counting_allocator(test_counting_alloc *state)
{
    fw_allocator a;
    a.alloc = counting_alloc;
    a.free = counting_free;
    a.user = state;
    return a;
}

int test_nomem_runs(int calls, fw_status (*run)(void *user, const fw_allocator *al), void (*release)(void *user),
                    void *user)
{
    int k, failures = 0;
    for (k = 1; k <= calls; ++k) {
        test_counting_alloc st;
        fw_allocator al;
        fw_status s;
        memset(&st, 0, sizeof st);
        st.fail_at = k;
        al = test_counting_allocator(&st);
        s = run(user, &al);   /* (FW_CHECK returns void: report through fw_test_fail) */
        if (s == FW_ERR_NOMEM) ++failures;
        else if (s != FW_OK) fw_test_fail(__FILE__, __LINE__, "run under a failing allocator: FW_OK or FW_ERR_NOMEM", 0, 0, -1);
        else release(user);
        if (st.live != 0) fw_test_fail(__FILE__, __LINE__, "no block left live", 0, 0, -1);
    }
    return failures;
}

/* The runner shared by test_main.c and test_stat.c. */
static int test_current_failed;
static int test_total_failures;   /* every failed check since the start (test_failures) */

int test_failures(void) { return test_total_failures; }

void fw_test_fail(const char *file, int line, const char *expr, double a, double b, double tol)
{
    test_current_failed = 1;
    ++test_total_failures;
    if (tol < 0) printf("    %s:%d: check failed: %s\n", file, line, expr);
    else printf("    %s:%d: %s: %.17g vs %.17g, tolerance %.3g\n", file, line, expr, a, b, tol);
}

int test_run(const fw_test_case *const *suites, int n_suites, const char *filter)
{
    int passed = 0, failed = 0, s;
    for (s = 0; s < n_suites; ++s) {
        const fw_test_case *t;
        for (t = suites[s]; t->name != NULL; ++t) {
            if (filter != NULL && strstr(t->name, filter) == NULL) continue;
            test_current_failed = 0;
            t->fn();
            if (test_current_failed) { ++failed; printf("FAIL %s\n", t->name); }
            else ++passed;
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
