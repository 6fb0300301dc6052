/* Linear algebra tests: against a naive reference product and against identities (A x = b
   residuals, L L^T = A, V diag(w) V^T = A, expm(A) expm(-A) = I), on random and ill-conditioned
   inputs, plus bad input for every routine. Rounding tolerances: a length-k sum of products
   carries at most about k eps sum|a||b| (Higham, Accuracy and Stability, section 3.1). */
#include "fw_test.h"
#include <stdlib.h>

/* |C - ref| <= 2 k eps (|A||B|)_ij, bounded here by 2 k eps max|A| max|B| k^0 (entries N(0,1)). */
static int gemm_case_ok(int ta, int tb, int m, int n, int k, fw_real alpha, fw_real beta, int portable)
{
    int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 1;
    fw_real *A = test_alloc((size_t)(ta ? k : m) * lda);
    fw_real *B = test_alloc((size_t)(tb ? n : k) * ldb);
    fw_real *C = test_alloc((size_t)m * ldc), *C0 = test_alloc((size_t)m * ldc);
    double *R = (double *)malloc((size_t)m * n * sizeof(double));
    double bound;
    int i, j, ok = 1;
    fw_status s;
    test_fill_normal(A, (size_t)(ta ? k : m) * lda, 1 + m);
    test_fill_normal(B, (size_t)(tb ? n : k) * ldb, 2 + n);
    test_fill_normal(C0, (size_t)m * ldc, 3 + k);
    for (i = 0; i < m * ldc; ++i) C[i] = C0[i];
    test_naive_gemm(ta, tb, m, n, k, A, lda, B, ldb, R);
    s = portable ? fw_gemm_portable((fw_trans)ta, (fw_trans)tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
                 : fw_gemm((fw_trans)ta, (fw_trans)tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    bound = 4.0 * (k + 2) * TEST_EPS * test_max_abs(A, (size_t)(ta ? k : m) * lda) *
            test_max_abs(B, (size_t)(tb ? n : k) * ldb) * fabs((double)alpha) * sqrt((double)k) +
            4 * TEST_EPS * test_max_abs(C0, (size_t)m * ldc);
    if (s != FW_OK) ok = 0;
    for (i = 0; i < m && ok; ++i) {
        for (j = 0; j < n; ++j) {
            double want = (double)alpha * R[(size_t)i * n + j] + (double)beta * C0[(size_t)i * ldc + j];
            if (!(fabs((double)C[(size_t)i * ldc + j] - want) <= bound)) { ok = 0; break; }
        }
        if (ok) for (j = n; j < ldc; ++j) if (C[(size_t)i * ldc + j] != C0[(size_t)i * ldc + j]) ok = 0;
    }
    test_free(A); test_free(B); test_free(C); test_free(C0); free(R);
    return ok;
}

static void gemm_matches_naive_product_for_all_transposes(void)
{
    int ta, tb;
    for (ta = 0; ta < 2; ++ta)
        for (tb = 0; tb < 2; ++tb) {
            FW_CHECK(gemm_case_ok(ta, tb, 5, 7, 3, (fw_real)1.5, (fw_real)-0.5, 0));    /* small path */
            FW_CHECK(gemm_case_ok(ta, tb, 70, 45, 300, (fw_real)0.7, 0, 0));          /* blocked */
            FW_CHECK(gemm_case_ok(ta, tb, 64, 64, 64, 1, 1, 1));
        }
}

static void gemm_blocked_edges_match_naive_product(void)
{
    /* Sizes straddling the register tile (8 x 8 or 8 x 16), the row block (128) and the depth
       block (256) in both directions. */
    static const int ms[4] = {129, 8, 137, 31};
    static const int ns[4] = {17, 63, 9, 130};
    static const int ks[4] = {257, 513, 255, 60};
    int c;
    for (c = 0; c < 4; ++c) {
        FW_CHECK(gemm_case_ok(0, 0, ms[c], ns[c], ks[c], 1, (fw_real)0.25, 1));
        FW_CHECK(gemm_case_ok(1, 1, ms[c], ns[c], ks[c], -1, 0, 1));
    }
}

static void gemm_beta_zero_does_not_read_c(void)
{
    fw_real A[4] = {1, 2, 3, 4}, B[4] = {1, 0, 0, 1}, C[4];
    C[0] = C[1] = C[2] = C[3] = (fw_real)NAN;
    FW_CHECK_STATUS(fw_gemm(FW_NO_TRANS, FW_NO_TRANS, 2, 2, 2, 1, A, 2, B, 2, 0, C, 2), FW_OK);
    FW_CHECK(C[0] == 1 && C[1] == 2 && C[2] == 3 && C[3] == 4);
}

static void gemm_rejects_bad_arguments_and_nonfinite_data(void)
{
    fw_real A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, 0, 0, 1, 1, 1}, C[4] = {0, 0, 0, 0};
    FW_CHECK_STATUS(fw_gemm(FW_NO_TRANS, FW_NO_TRANS, 2, 2, 3, 1, NULL, 3, B, 2, 0, C, 2), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_gemm(FW_NO_TRANS, FW_NO_TRANS, 2, 2, 3, 1, A, 3, NULL, 2, 0, C, 2), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_gemm(FW_NO_TRANS, FW_NO_TRANS, 2, 2, 3, 1, A, 3, B, 2, 0, NULL, 2), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_gemm(FW_NO_TRANS, FW_NO_TRANS, 0, 2, 3, 1, A, 3, B, 2, 0, C, 2), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_gemm(FW_NO_TRANS, FW_NO_TRANS, 2, -1, 3, 1, A, 3, B, 2, 0, C, 2), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_gemm(FW_NO_TRANS, FW_NO_TRANS, 2, 2, 0, 1, A, 3, B, 2, 0, C, 2), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_gemm(FW_NO_TRANS, FW_NO_TRANS, 2, 2, 3, 1, A, 2, B, 2, 0, C, 2), FW_ERR_LD);
    FW_CHECK_STATUS(fw_gemm(FW_NO_TRANS, FW_NO_TRANS, 2, 2, 3, 1, A, 3, B, 1, 0, C, 2), FW_ERR_LD);
    FW_CHECK_STATUS(fw_gemm(FW_NO_TRANS, FW_NO_TRANS, 2, 2, 3, 1, A, 3, B, 2, 0, C, 1), FW_ERR_LD);
    FW_CHECK_STATUS(fw_gemm(FW_TRANS, FW_NO_TRANS, 2, 2, 3, 1, A, 1, B, 2, 0, C, 2), FW_ERR_LD);
    FW_CHECK_STATUS(fw_gemm((fw_trans)5, FW_NO_TRANS, 2, 2, 3, 1, A, 3, B, 2, 0, C, 2), FW_ERR_ARG);
    FW_CHECK_STATUS(fw_gemm(FW_NO_TRANS, FW_NO_TRANS, 2, 2, 3, (fw_real)NAN, A, 3, B, 2, 0, C, 2), FW_ERR_NONFINITE);
    FW_CHECK_STATUS(fw_gemm(FW_NO_TRANS, FW_NO_TRANS, 2, 2, 3, 1, A, 3, B, 2, (fw_real)INFINITY, C, 2), FW_ERR_NONFINITE);
    A[4] = (fw_real)NAN;
    FW_CHECK_STATUS(fw_gemm(FW_NO_TRANS, FW_NO_TRANS, 2, 2, 3, 1, A, 3, B, 2, 0, C, 2), FW_ERR_NONFINITE);
    A[4] = (fw_real)INFINITY;
    FW_CHECK_STATUS(fw_gemm(FW_NO_TRANS, FW_NO_TRANS, 2, 2, 3, 1, A, 3, B, 2, 0, C, 2), FW_ERR_NONFINITE);
    FW_CHECK_STATUS(fw_gemm_portable(FW_NO_TRANS, FW_NO_TRANS, 2, 2, 3, 1, A, 3, B, 2, 0, C, 0), FW_ERR_LD);
}

static void gemv_matches_naive_product_both_ways(void)
{
    enum { M = 37, N = 53, LDA = 60 };
    fw_real *A = test_alloc((size_t)M * LDA), x[N], y[N], y0[N];
    int t, i, j;
    test_fill_normal(A, (size_t)M * LDA, 9);
    test_fill_normal(x, N, 10);
    test_fill_normal(y0, N, 11);
    for (t = 0; t < 2; ++t) {
        int ny = t ? N : M, nx = t ? M : N;
        double amax = test_max_abs(A, (size_t)M * LDA) * test_max_abs(x, nx);
        for (i = 0; i < ny; ++i) y[i] = y0[i];
        FW_CHECK_STATUS(fw_gemv((fw_trans)t, M, N, 2, A, LDA, x, (fw_real)0.5, y), FW_OK);
        for (i = 0; i < ny; ++i) {
            double s = 0;
            for (j = 0; j < nx; ++j) s += (t ? A[(size_t)j * LDA + i] : A[(size_t)i * LDA + j]) * (double)x[j];
            /* 2 (length + 2) eps max|A||x| per entry, times |alpha| = 2, plus beta's rounding. */
            FW_CHECK_NEAR(y[i], 2 * s + 0.5 * y0[i], 4.0 * (nx + 2) * TEST_EPS * amax + 2 * TEST_EPS);
        }
        for (i = 0; i < ny; ++i) y[i] = y0[i];
        FW_CHECK_STATUS(fw_gemv_portable((fw_trans)t, M, N, 1, A, LDA, x, 0, y), FW_OK);
    }
    test_free(A);
}

static void gemv_rejects_bad_arguments_and_nonfinite_data(void)
{
    fw_real A[4] = {1, 2, 3, 4}, x[2] = {1, 1}, y[2] = {0, 0};
    FW_CHECK_STATUS(fw_gemv(FW_NO_TRANS, 2, 2, 1, NULL, 2, x, 0, y), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_gemv(FW_NO_TRANS, 2, 2, 1, A, 2, NULL, 0, y), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_gemv(FW_NO_TRANS, 2, 2, 1, A, 2, x, 0, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_gemv(FW_NO_TRANS, 0, 2, 1, A, 2, x, 0, y), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_gemv(FW_NO_TRANS, 2, 2, 1, A, 1, x, 0, y), FW_ERR_LD);
    FW_CHECK_STATUS(fw_gemv((fw_trans)3, 2, 2, 1, A, 2, x, 0, y), FW_ERR_ARG);
    FW_CHECK_STATUS(fw_gemv(FW_NO_TRANS, 2, 2, (fw_real)NAN, A, 2, x, 0, y), FW_ERR_NONFINITE);
    x[1] = (fw_real)INFINITY;
    FW_CHECK_STATUS(fw_gemv(FW_TRANS, 2, 2, 1, A, 2, x, 0, y), FW_ERR_NONFINITE);
    FW_CHECK_STATUS(fw_gemv_portable(FW_TRANS, 2, -2, 1, A, 2, x, 0, y), FW_ERR_SIZE);
}

static void syrk_matches_gemm_and_is_exactly_symmetric(void)
{
    static const int ns[3] = {6, 75, 140}, ks[3] = {4, 90, 300};
    int c, t, i, j;
    for (c = 0; c < 3; ++c)
        for (t = 0; t < 2; ++t) {
            int n = ns[c], k = ks[c], lda = (t ? n : k) + 1, ldc = n + 2;
            fw_real *A = test_alloc((size_t)(t ? k : n) * lda), *C = test_alloc((size_t)n * ldc);
            fw_real *G = test_alloc((size_t)n * ldc);
            double amax;
            test_fill_normal(A, (size_t)(t ? k : n) * lda, 20 + c);
            test_fill_normal(C, (size_t)n * ldc, 30 + c);
            for (i = 0; i < n * ldc; ++i) G[i] = C[i];
            for (i = 0; i < n; ++i)   /* a symmetric C to start from */
                for (j = 0; j < i; ++j) { C[(size_t)j * ldc + i] = C[(size_t)i * ldc + j]; G[(size_t)j * ldc + i] = C[(size_t)i * ldc + j]; }
            amax = test_max_abs(A, (size_t)(t ? k : n) * lda);
            FW_CHECK_STATUS(fw_syrk((fw_trans)t, n, k, (fw_real)0.5, A, lda, 2, C, ldc), FW_OK);
            FW_CHECK_STATUS(fw_gemm_portable((fw_trans)t, (fw_trans)!t, n, n, k, (fw_real)0.5, A, lda, A, lda, 2, G, ldc), FW_OK);
            for (i = 0; i < n; ++i)
                for (j = 0; j < n; ++j) {
                    FW_CHECK(C[(size_t)i * ldc + j] == C[(size_t)j * ldc + i]);
                    FW_CHECK_NEAR(C[(size_t)i * ldc + j], G[(size_t)i * ldc + j], 4.0 * (k + 2) * TEST_EPS * amax * amax * 2 + 8 * TEST_EPS * 8);
                }
            FW_CHECK_STATUS(fw_syrk_portable((fw_trans)t, n, k, 1, A, lda, 0, C, ldc), FW_OK);
            test_free(A); test_free(C); test_free(G);
        }
}

static void syrk_rejects_bad_arguments_and_nonfinite_data(void)
{
    fw_real A[4] = {1, 2, 3, 4}, C[4];
    FW_CHECK_STATUS(fw_syrk(FW_NO_TRANS, 2, 2, 1, NULL, 2, 0, C, 2), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_syrk(FW_NO_TRANS, 2, 2, 1, A, 2, 0, NULL, 2), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_syrk(FW_NO_TRANS, 0, 2, 1, A, 2, 0, C, 2), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_syrk(FW_NO_TRANS, 2, -2, 1, A, 2, 0, C, 2), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_syrk(FW_NO_TRANS, 2, 2, 1, A, 1, 0, C, 2), FW_ERR_LD);
    FW_CHECK_STATUS(fw_syrk(FW_NO_TRANS, 2, 2, 1, A, 2, 0, C, 1), FW_ERR_LD);
    FW_CHECK_STATUS(fw_syrk((fw_trans)2, 2, 2, 1, A, 2, 0, C, 2), FW_ERR_ARG);
    A[3] = (fw_real)NAN;
    FW_CHECK_STATUS(fw_syrk(FW_NO_TRANS, 2, 2, 1, A, 2, 0, C, 2), FW_ERR_NONFINITE);
    FW_CHECK_STATUS(fw_syrk_portable(FW_NO_TRANS, 2, 2, (fw_real)INFINITY, A, 2, 0, C, 2), FW_ERR_NONFINITE);
}

/* A = G G^T / k + shift I: symmetric positive definite with a controlled spectrum. */
static fw_real *random_spd(int n, int lda, fw_real shift, unsigned seed)
{
    int k = n + 5, i;
    fw_real *G = test_alloc((size_t)n * k), *A = test_alloc((size_t)n * lda);
    for (i = 0; i < n * lda; ++i) A[i] = 0;     /* the padding columns too */
    test_fill_normal(G, (size_t)n * k, seed);
    fw_syrk(FW_NO_TRANS, n, k, (fw_real)(1.0 / k), G, k, 0, A, lda);
    for (i = 0; i < n; ++i) A[(size_t)i * lda + i] += shift;
    test_free(G);
    return A;
}

/* Hilbert matrix H_ij = 1/(i+j+1): symmetric positive definite, condition number about
   1.5e10 at n = 8 and 1.6e13 at n = 10 (Higham, Test Matrices). */
static fw_real *hilbert(int n)
{
    fw_real *H = test_alloc((size_t)n * n);
    int i, j;
    for (i = 0; i < n; ++i) for (j = 0; j < n; ++j) H[(size_t)i * n + j] = (fw_real)(1.0 / (i + j + 1));
    return H;
}

/* max |L L^T - A| / max|A|; Cholesky is backward stable: about n eps (Higham, Thm 10.3). */
static double cholesky_residual(int n, const fw_real *A, int lda, const fw_real *L, int ldl)
{
    double worst = 0;
    int i, j, p;
    for (i = 0; i < n; ++i)
        for (j = 0; j < n; ++j) {
            double s = 0;
            for (p = 0; p < n; ++p) s += (double)L[(size_t)i * ldl + p] * L[(size_t)j * ldl + p];
            if (fabs(s - A[(size_t)i * lda + j]) > worst) worst = fabs(s - A[(size_t)i * lda + j]);
        }
    return worst / test_max_abs(A, (size_t)n * lda);
}

static void cholesky_reconstructs_random_and_ill_conditioned_matrices(void)
{
    int n = 60, lda = 64, nh = TEST_IS_FLOAT ? 4 : 8, i, j;
    fw_real *A = random_spd(n, lda, (fw_real)0.1, 41), *L = test_alloc((size_t)n * lda);
    fw_real *H = hilbert(nh), *LH = hilbert(nh);
    for (i = 0; i < n * lda; ++i) L[i] = A[i];
    FW_CHECK_STATUS(fw_cholesky(n, L, lda), FW_OK);
    for (i = 0; i < n; ++i) for (j = i + 1; j < n; ++j) FW_CHECK(L[(size_t)i * lda + j] == 0);
    FW_CHECK(cholesky_residual(n, A, lda, L, lda) <= 4.0 * n * TEST_EPS);
    FW_CHECK_STATUS(fw_cholesky(nh, LH, nh), FW_OK);
    FW_CHECK(cholesky_residual(nh, H, nh, LH, nh) <= 4.0 * nh * TEST_EPS);
    test_free(A); test_free(L); test_free(H); test_free(LH);
}

static void cholesky_rejects_indefinite_and_bad_input(void)
{
    fw_real A[4] = {1, 2, 2, 1}, B[4] = {1, 0, 0, 0};
    FW_CHECK_STATUS(fw_cholesky(2, A, 2), FW_ERR_NOT_PD);     /* eigenvalues 3 and -1 */
    FW_CHECK_STATUS(fw_cholesky(2, B, 2), FW_ERR_NOT_PD);     /* singular: a zero pivot */
    A[0] = 1; A[2] = 0; A[3] = 1;
    FW_CHECK_STATUS(fw_cholesky(2, NULL, 2), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_cholesky(0, A, 2), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_cholesky(2, A, 1), FW_ERR_LD);
    A[2] = (fw_real)NAN;
    FW_CHECK_STATUS(fw_cholesky(2, A, 2), FW_ERR_NONFINITE);
}

/* Normwise backward error of a solve, ||A x - b|| / (||A|| ||x|| + ||b||) in the max norm; a
   backward stable solver keeps it at a modest multiple of n eps whatever the conditioning. */
static double backward_error(int n, const fw_real *A, int lda, const fw_real *x, const fw_real *b)
{
    double rmax = 0, anorm = 0, xmax = test_max_abs(x, (size_t)n), bmax = test_max_abs(b, (size_t)n);
    int i, j;
    for (i = 0; i < n; ++i) {
        double r = -(double)b[i], rowsum = 0;
        for (j = 0; j < n; ++j) { r += (double)A[(size_t)i * lda + j] * x[j]; rowsum += fabs((double)A[(size_t)i * lda + j]); }
        if (fabs(r) > rmax) rmax = fabs(r);
        if (rowsum > anorm) anorm = rowsum;
    }
    return rmax / (anorm * xmax + bmax);
}

static void cholesky_solve_has_small_backward_error(void)
{
    int n = 40, i;
    fw_real *A = random_spd(n, n, (fw_real)0.05, 43), *L = test_alloc((size_t)n * n), b[40], x[40];
    for (i = 0; i < n * n; ++i) L[i] = A[i];
    test_fill_normal(b, n, 44);
    for (i = 0; i < n; ++i) x[i] = b[i];
    FW_CHECK_STATUS(fw_cholesky(n, L, n), FW_OK);
    FW_CHECK_STATUS(fw_cholesky_solve(n, 1, L, n, x, 1), FW_OK);
    FW_CHECK(backward_error(n, A, n, x, b) <= 8.0 * n * TEST_EPS);
    FW_CHECK_STATUS(fw_cholesky_solve(n, 0, L, n, x, 1), FW_ERR_SIZE);
    test_free(A); test_free(L);
}

static void triangular_solve_all_variants_have_small_residual(void)
{
    enum { N = 30, R = 3 };
    fw_real *T = test_alloc(N * N), B[N * R], X[N * R];
    int uplo, t, d, i, j, p;
    test_fill_normal(T, N * N, 50);
    for (i = 0; i < N; ++i) T[i * N + i] = (fw_real)(4 + fabs((double)T[i * N + i])); /* well conditioned */
    test_fill_normal(B, N * R, 51);
    for (uplo = 0; uplo < 2; ++uplo)
        for (t = 0; t < 2; ++t)
            for (d = 0; d < 2; ++d) {
                for (i = 0; i < N * R; ++i) X[i] = B[i];
                FW_CHECK_STATUS(fw_solve_triangular((fw_uplo)uplo, (fw_trans)t, (fw_diag)d, N, R, T, N, X, R), FW_OK);
                for (i = 0; i < N; ++i)
                    for (j = 0; j < R; ++j) {
                        double s = 0;
                        for (p = 0; p < N; ++p) {
                            int row = t ? p : i, col = t ? i : p;   /* op(T)[i][p] */
                            double v;
                            if (uplo == FW_LOWER ? col > row : col < row) continue;
                            v = (row == col && d == FW_UNIT) ? 1.0 : (double)T[row * N + col];
                            s += v * X[p * R + j];
                        }
                        /* forward error bound of substitution: about n eps max|T| max|X| */
                        FW_CHECK_NEAR(s, B[i * R + j], 8.0 * N * TEST_EPS * test_max_abs(T, N * N) * test_max_abs(X, N * R));
                    }
            }
    test_free(T);
}

static void triangular_solve_reports_zero_diagonal_and_bad_input(void)
{
    fw_real T[4] = {1, 0, 3, 0}, B[2] = {1, 1};
    FW_CHECK_STATUS(fw_solve_triangular(FW_LOWER, FW_NO_TRANS, FW_NON_UNIT, 2, 1, T, 2, B, 1), FW_ERR_SINGULAR);
    FW_CHECK_STATUS(fw_solve_triangular(FW_LOWER, FW_NO_TRANS, FW_UNIT, 2, 1, T, 2, B, 1), FW_OK);
    FW_CHECK_STATUS(fw_solve_triangular(FW_LOWER, FW_NO_TRANS, FW_UNIT, 2, 1, NULL, 2, B, 1), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_solve_triangular(FW_LOWER, FW_NO_TRANS, FW_UNIT, 2, 1, T, 2, NULL, 1), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_solve_triangular(FW_LOWER, FW_NO_TRANS, FW_UNIT, -2, 1, T, 2, B, 1), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_solve_triangular(FW_LOWER, FW_NO_TRANS, FW_UNIT, 2, 1, T, 1, B, 1), FW_ERR_LD);
    FW_CHECK_STATUS(fw_solve_triangular(FW_LOWER, FW_NO_TRANS, FW_UNIT, 2, 2, T, 2, B, 1), FW_ERR_LD);
    FW_CHECK_STATUS(fw_solve_triangular((fw_uplo)4, FW_NO_TRANS, FW_UNIT, 2, 1, T, 2, B, 1), FW_ERR_ARG);
    FW_CHECK_STATUS(fw_solve_triangular(FW_LOWER, FW_NO_TRANS, (fw_diag)4, 2, 1, T, 2, B, 1), FW_ERR_ARG);
    B[0] = (fw_real)NAN;
    FW_CHECK_STATUS(fw_solve_triangular(FW_LOWER, FW_NO_TRANS, FW_UNIT, 2, 1, T, 2, B, 1), FW_ERR_NONFINITE);
}

static void lu_solve_has_small_backward_error_on_random_and_hilbert(void)
{
    int n = 50, nh = TEST_IS_FLOAT ? 5 : 10, i;
    fw_real *A = test_alloc((size_t)n * n), *F = test_alloc((size_t)n * n), b[50], x[50];
    fw_real *H = hilbert(nh), *FH = hilbert(nh);
    int piv[50];
    test_fill_normal(A, (size_t)n * n, 60);
    for (i = 0; i < n * n; ++i) F[i] = A[i];
    test_fill_normal(b, n, 61);
    for (i = 0; i < n; ++i) x[i] = b[i];
    FW_CHECK_STATUS(fw_solve(n, 1, F, n, piv, x, 1), FW_OK);
    /* Partial pivoting: backward error a small multiple of n eps for all but contrived A. */
    FW_CHECK(backward_error(n, A, n, x, b) <= 8.0 * n * TEST_EPS);
    for (i = 0; i < nh; ++i) x[i] = b[i];
    FW_CHECK_STATUS(fw_lu(nh, FH, nh, piv), FW_OK);
    FW_CHECK_STATUS(fw_lu_solve(nh, 1, FH, nh, piv, x, 1), FW_OK);
    FW_CHECK(backward_error(nh, H, nh, x, b) <= 8.0 * nh * TEST_EPS);
    test_free(A); test_free(F); test_free(H); test_free(FH);
}

static void lu_pivots_past_a_zero_leading_entry(void)
{
    fw_real A[4] = {0, 2, 3, 0}, b[2] = {4, 9};
    int piv[2];
    FW_CHECK_STATUS(fw_solve(2, 1, A, 2, piv, b, 1), FW_OK);
    FW_CHECK(piv[0] == 1);
    FW_CHECK_NEAR(b[0], 3, 2 * TEST_EPS * 3);
    FW_CHECK_NEAR(b[1], 2, 2 * TEST_EPS * 2);
}

static void lu_rejects_singular_and_bad_input(void)
{
    fw_real A[4] = {1, 2, 2, 4}, B[2] = {1, 1};
    int piv[2] = {0, 1};
    FW_CHECK_STATUS(fw_lu(2, A, 2, piv), FW_ERR_SINGULAR);
    FW_CHECK_STATUS(fw_lu(2, A, 2, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_lu(2, NULL, 2, piv), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_lu(0, A, 2, piv), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_lu(2, A, 1, piv), FW_ERR_LD);
    A[1] = (fw_real)INFINITY;
    FW_CHECK_STATUS(fw_lu(2, A, 2, piv), FW_ERR_NONFINITE);
    A[0] = 2; A[1] = 0; A[2] = 0; A[3] = 2;
    piv[0] = 5;
    FW_CHECK_STATUS(fw_lu_solve(2, 1, A, 2, piv, B, 1), FW_ERR_ARG);
    piv[0] = 0; piv[1] = 1;
    FW_CHECK_STATUS(fw_lu_solve(2, 1, A, 2, NULL, B, 1), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_lu_solve(2, 1, A, 2, piv, B, 0), FW_ERR_LD);
    B[1] = (fw_real)NAN;
    FW_CHECK_STATUS(fw_lu_solve(2, 1, A, 2, piv, B, 1), FW_ERR_NONFINITE);
    FW_CHECK_STATUS(fw_solve(2, 1, A, 2, piv, NULL, 1), FW_ERR_NULL);
}

/* max |V diag(w) V^T - A| / ||A|| and max |V^T V - I|. */
static void eigen_residuals(int n, const fw_real *A, const fw_real *w, const fw_real *V,
                            double *recon, double *orth)
{
    int i, j, p;
    double amax = test_max_abs(A, (size_t)n * n);
    *recon = 0; *orth = 0;
    for (i = 0; i < n; ++i)
        for (j = 0; j < n; ++j) {
            double s = 0, o = 0;
            for (p = 0; p < n; ++p) {
                s += (double)V[i * n + p] * w[p] * V[j * n + p];
                o += (double)V[p * n + i] * V[p * n + j];
            }
            if (fabs(s - A[i * n + j]) / amax > *recon) *recon = fabs(s - A[i * n + j]) / amax;
            if (fabs(o - (i == j)) > *orth) *orth = fabs(o - (i == j));
        }
}

static void eigh_reconstructs_random_symmetric_matrix(void)
{
    enum { N = 40 };
    fw_real *A = test_alloc(N * N), *W = test_alloc(N * N), *V = test_alloc(N * N), w[N];
    double recon, orth;
    int i, j;
    test_fill_normal(A, N * N, 70);
    for (i = 0; i < N; ++i) for (j = 0; j < i; ++j) A[j * N + i] = A[i * N + j];
    for (i = 0; i < N * N; ++i) W[i] = A[i];
    FW_CHECK_STATUS(fw_eigh(N, W, N, w, V, N), FW_OK);
    for (i = 1; i < N; ++i) FW_CHECK(w[i - 1] <= w[i]);
    eigen_residuals(N, A, w, V, &recon, &orth);
    /* Jacobi: residual and orthogonality a modest multiple of n eps (Demmel & Veselic 1992). */
    FW_CHECK(recon <= 8.0 * N * TEST_EPS);
    FW_CHECK(orth <= 8.0 * N * TEST_EPS);
    test_free(A); test_free(W); test_free(V);
}

static void eigh_recovers_graded_and_repeated_eigenvalues(void)
{
    /* A = Q diag(d) Q^T with Q orthogonal (from a QR-like Gram-Schmidt of a random matrix) and
       d spanning 1e-12 .. 1 with a repeated pair: each eigenvalue to within n eps ||A||. */
    enum { N = 12 };
    fw_real Q[N * N], A[N * N], W[N * N], V[N * N], w[N], d[N];
    int i, j, p;
    test_fill_normal(Q, N * N, 71);
    for (j = 0; j < N; ++j) {           /* modified Gram-Schmidt on the columns, twice */
        int pass;
        for (pass = 0; pass < 2; ++pass) {
            for (p = 0; p < j; ++p) {
                double s = 0;
                for (i = 0; i < N; ++i) s += (double)Q[i * N + p] * Q[i * N + j];
                for (i = 0; i < N; ++i) Q[i * N + j] -= (fw_real)(s * Q[i * N + p]);
            }
            {
                double nrm = 0;
                for (i = 0; i < N; ++i) nrm += (double)Q[i * N + j] * Q[i * N + j];
                for (i = 0; i < N; ++i) Q[i * N + j] /= (fw_real)sqrt(nrm);
            }
        }
    }
    for (i = 0; i < N; ++i) d[i] = (fw_real)pow(10.0, -(double)i);
    d[3] = d[2];                        /* repeated eigenvalue 1e-2 */
    for (i = 0; i < N; ++i)
        for (j = 0; j < N; ++j) {
            double s = 0;
            for (p = 0; p < N; ++p) s += (double)Q[i * N + p] * d[p] * Q[j * N + p];
            A[i * N + j] = (fw_real)s;
        }
    for (i = 0; i < N; ++i) for (j = 0; j < i; ++j) A[j * N + i] = A[i * N + j];
    for (i = 0; i < N * N; ++i) W[i] = A[i];
    FW_CHECK_STATUS(fw_eigh(N, W, N, w, V, N), FW_OK);
    for (i = 0; i < N; ++i) {           /* w ascending, d descending (with the repeat) */
        double want = d[N - 1 - i];
        if (N - 1 - i == 2) want = d[3];
        FW_CHECK_NEAR(w[i], want, 16.0 * N * TEST_EPS);
    }
    /* The identity: V = I exactly. */
    for (i = 0; i < N * N; ++i) W[i] = 0;
    for (i = 0; i < N; ++i) W[i * N + i] = 1;
    FW_CHECK_STATUS(fw_eigh(N, W, N, w, V, N), FW_OK);
    for (i = 0; i < N; ++i) FW_CHECK(w[i] == 1);
}

static void eigh_rejects_bad_input(void)
{
    fw_real A[4] = {1, 0, 0, 1}, V[4], w[2];
    FW_CHECK_STATUS(fw_eigh(2, NULL, 2, w, V, 2), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_eigh(2, A, 2, NULL, V, 2), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_eigh(2, A, 2, w, NULL, 2), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_eigh(-1, A, 2, w, V, 2), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_eigh(2, A, 1, w, V, 2), FW_ERR_LD);
    FW_CHECK_STATUS(fw_eigh(2, A, 2, w, V, 1), FW_ERR_LD);
    A[2] = (fw_real)NAN;
    FW_CHECK_STATUS(fw_eigh(2, A, 2, w, V, 2), FW_ERR_NONFINITE);
}

static void expm_times_expm_of_negative_is_identity(void)
{
    enum { N = 20 };
    fw_real *A = test_alloc(N * N), *E1 = test_alloc(N * N), *E2 = test_alloc(N * N), *P = test_alloc(N * N);
    int i, j;
    test_fill_normal(A, N * N, 80);
    for (i = 0; i < N * N; ++i) A[i] *= (fw_real)0.3;   /* spectrum within about +-2.7 */
    FW_CHECK_STATUS(fw_expm_sym(N, 1, A, N, E1, N, NULL), FW_OK);
    FW_CHECK_STATUS(fw_expm_sym(N, -1, A, N, E2, N, NULL), FW_OK);
    FW_CHECK_STATUS(fw_gemm(FW_NO_TRANS, FW_NO_TRANS, N, N, N, 1, E1, N, E2, N, 0, P, N), FW_OK);
    /* Error grows with the condition of exp(A), e^(2 max|lambda|) < e^6 = 403. */
    for (i = 0; i < N; ++i)
        for (j = 0; j < N; ++j) FW_CHECK_NEAR(P[i * N + j], i == j, 403.0 * 8 * N * TEST_EPS);
    test_free(A); test_free(E1); test_free(E2); test_free(P);
}

static void expm_matches_taylor_series_and_diagonal_case(void)
{
    /* For ||A|| < 1/2 the Taylor series converges fast: 30 terms in double are exact to
       rounding. Checked against it, then exp(diag) = diag(exp). */
    enum { N = 6 };
    fw_real A[N * N], E[N * N];
    double term[N * N], next[N * N], sum[N * N];
    int i, j, p, q;
    test_fill_normal(A, N * N, 81);
    for (i = 0; i < N; ++i) for (j = 0; j <= i; ++j) { A[i * N + j] *= (fw_real)0.05; A[j * N + i] = A[i * N + j]; }
    for (i = 0; i < N * N; ++i) { term[i] = (i / N == i % N); sum[i] = term[i]; }
    for (q = 1; q < 30; ++q) {
        for (i = 0; i < N; ++i)
            for (j = 0; j < N; ++j) {
                double s = 0;
                for (p = 0; p < N; ++p) s += term[i * N + p] * (double)A[p * N + j] * 0.5;
                next[i * N + j] = s / q;
            }
        for (i = 0; i < N * N; ++i) { term[i] = next[i]; sum[i] += term[i]; }
    }
    FW_CHECK_STATUS(fw_expm_sym(N, (fw_real)0.5, A, N, E, N, NULL), FW_OK);   /* t = 0.5 */
    for (i = 0; i < N * N; ++i) FW_CHECK_NEAR(E[i], sum[i], 16.0 * N * TEST_EPS);
    for (i = 0; i < N * N; ++i) A[i] = 0;
    for (i = 0; i < N; ++i) A[i * N + i] = (fw_real)(i - 2);
    FW_CHECK_STATUS(fw_expm_sym(N, 1, A, N, E, N, NULL), FW_OK);
    for (i = 0; i < N; ++i)
        for (j = 0; j < N; ++j) FW_CHECK_NEAR(E[i * N + j], i == j ? exp((double)(i - 2)) : 0.0, 8 * TEST_EPS * exp(3.0));
}

static void expm_rejects_overflow_and_bad_input(void)
{
    fw_real A[4] = {1000, 0, 0, 1}, E[4];
    FW_CHECK_STATUS(fw_expm_sym(2, 1, A, 2, E, 2, NULL), FW_ERR_NONFINITE);      /* e^1000 */
    FW_CHECK_STATUS(fw_expm_sym(2, (fw_real)NAN, A, 2, E, 2, NULL), FW_ERR_NONFINITE);
    FW_CHECK_STATUS(fw_expm_sym(2, 1, NULL, 2, E, 2, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_expm_sym(2, 1, A, 2, NULL, 2, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_expm_sym(0, 1, A, 2, E, 2, NULL), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_expm_sym(2, 1, A, 1, E, 2, NULL), FW_ERR_LD);
    FW_CHECK_STATUS(fw_expm_sym(2, 1, A, 2, E, 1, NULL), FW_ERR_LD);
}

static void cblas_dispatch_equals_portable_path(void)
{
    /* In the CBLAS build fw_gemm/gemv/syrk go to the BLAS; the portable kernels must agree with
       them to rounding (both sum k products: |difference| <= 2 k eps max|A| max|B|). In the
       portable build the two calls are the same code and must agree exactly. */
    enum { M = 90, N = 70, K = 130 };
    fw_real *A = test_alloc(M * K), *B = test_alloc(K * N), *C1 = test_alloc(M * N), *C2 = test_alloc(M * N);
    fw_real *S1 = test_alloc(M * M), *S2 = test_alloc(M * M), y1[M], y2[M];
    double tol;
    int i;
    test_fill_normal(A, M * K, 90);
    test_fill_normal(B, K * N, 91);
    tol = 4.0 * K * TEST_EPS * test_max_abs(A, M * K) * test_max_abs(B, K * N) * sqrt((double)K);
    FW_CHECK_STATUS(fw_gemm(FW_NO_TRANS, FW_NO_TRANS, M, N, K, 1, A, K, B, N, 0, C1, N), FW_OK);
    FW_CHECK_STATUS(fw_gemm_portable(FW_NO_TRANS, FW_NO_TRANS, M, N, K, 1, A, K, B, N, 0, C2, N), FW_OK);
    for (i = 0; i < M * N; ++i) FW_CHECK_NEAR(C1[i], C2[i], tol);
    FW_CHECK_STATUS(fw_gemv(FW_NO_TRANS, M, K, 1, A, K, B, 0, y1), FW_OK);
    FW_CHECK_STATUS(fw_gemv_portable(FW_NO_TRANS, M, K, 1, A, K, B, 0, y2), FW_OK);
    for (i = 0; i < M; ++i) FW_CHECK_NEAR(y1[i], y2[i], tol);
    FW_CHECK_STATUS(fw_syrk(FW_NO_TRANS, M, K, 1, A, K, 0, S1, M), FW_OK);
    FW_CHECK_STATUS(fw_syrk_portable(FW_NO_TRANS, M, K, 1, A, K, 0, S2, M), FW_OK);
    for (i = 0; i < M * M; ++i) FW_CHECK_NEAR(S1[i], S2[i], tol);
    test_free(A); test_free(B); test_free(C1); test_free(C2); test_free(S1); test_free(S2);
}

const fw_test_case fw_tests_linalg[] = {
    FW_TEST(gemm_matches_naive_product_for_all_transposes),
    FW_TEST(gemm_blocked_edges_match_naive_product),
    FW_TEST(gemm_beta_zero_does_not_read_c),
    FW_TEST(gemm_rejects_bad_arguments_and_nonfinite_data),
    FW_TEST(gemv_matches_naive_product_both_ways),
    FW_TEST(gemv_rejects_bad_arguments_and_nonfinite_data),
    FW_TEST(syrk_matches_gemm_and_is_exactly_symmetric),
    FW_TEST(syrk_rejects_bad_arguments_and_nonfinite_data),
    FW_TEST(cholesky_reconstructs_random_and_ill_conditioned_matrices),
    FW_TEST(cholesky_rejects_indefinite_and_bad_input),
    FW_TEST(cholesky_solve_has_small_backward_error),
    FW_TEST(triangular_solve_all_variants_have_small_residual),
    FW_TEST(triangular_solve_reports_zero_diagonal_and_bad_input),
    FW_TEST(lu_solve_has_small_backward_error_on_random_and_hilbert),
    FW_TEST(lu_pivots_past_a_zero_leading_entry),
    FW_TEST(lu_rejects_singular_and_bad_input),
    FW_TEST(eigh_reconstructs_random_symmetric_matrix),
    FW_TEST(eigh_recovers_graded_and_repeated_eigenvalues),
    FW_TEST(eigh_rejects_bad_input),
    FW_TEST(expm_times_expm_of_negative_is_identity),
    FW_TEST(expm_matches_taylor_series_and_diagonal_case),
    FW_TEST(expm_rejects_overflow_and_bad_input),
    FW_TEST(cblas_dispatch_equals_portable_path),
    {NULL, NULL}
};
