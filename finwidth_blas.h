/* finwidth_blas.h - routes finwidth's gemm, gemv and syrk to a CBLAS.

   Use: define FW_USE_CBLAS in the file that defines FINWIDTH_IMPLEMENTATION (finwidth.h then
   includes this file), have <cblas.h> on the include path and link the BLAS, e.g. on Debian
       apt-get install libopenblas-dev   ...   cc -DFW_USE_CBLAS ... -lopenblas -lm
   Including this file yourself, before or after finwidth.h, does the same.

   This file holds no maths: each hook below is one CBLAS call in row-major order, chosen by the
   size of fw_real (cblas_d* for double, cblas_s* for float). The hooks are macros, expanded inside
   finwidth.h's implementation, so the include order does not matter. fw_gemm_portable and friends
   stay available for comparison. */
#ifndef FINWIDTH_BLAS_H
#define FINWIDTH_BLAS_H

#include <cblas.h>

#ifndef FW_USE_CBLAS
#define FW_USE_CBLAS 1
#endif

#define FW__CBLAS_T(t) ((t) == FW_NO_TRANS ? CblasNoTrans : CblasTrans)

#define FW_BLAS_GEMM(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)                      \
    (sizeof(fw_real) == sizeof(double)                                                        \
         ? cblas_dgemm(CblasRowMajor, FW__CBLAS_T(ta), FW__CBLAS_T(tb), (m), (n), (k),          \
                       (double)(alpha), (const double *)(const void *)(A), (lda),             \
                       (const double *)(const void *)(B), (ldb), (double)(beta),              \
                       (double *)(void *)(C), (ldc))                                          \
         : cblas_sgemm(CblasRowMajor, FW__CBLAS_T(ta), FW__CBLAS_T(tb), (m), (n), (k),          \
                       (float)(alpha), (const float *)(const void *)(A), (lda),               \
                       (const float *)(const void *)(B), (ldb), (float)(beta),                \
                       (float *)(void *)(C), (ldc)))

#define FW_BLAS_GEMV(ta, m, n, alpha, A, lda, x, beta, y)                                       \
    (sizeof(fw_real) == sizeof(double)                                                        \
         ? cblas_dgemv(CblasRowMajor, FW__CBLAS_T(ta), (m), (n), (double)(alpha),               \
                       (const double *)(const void *)(A), (lda),                              \
                       (const double *)(const void *)(x), 1, (double)(beta),                  \
                       (double *)(void *)(y), 1)                                              \
         : cblas_sgemv(CblasRowMajor, FW__CBLAS_T(ta), (m), (n), (float)(alpha),                \
                       (const float *)(const void *)(A), (lda),                               \
                       (const float *)(const void *)(x), 1, (float)(beta),                    \
                       (float *)(void *)(y), 1))

/* Writes the lower triangle only; finwidth.h mirrors it. */
#define FW_BLAS_SYRK(ta, n, k, alpha, A, lda, beta, C, ldc)                                     \
    (sizeof(fw_real) == sizeof(double)                                                        \
         ? cblas_dsyrk(CblasRowMajor, CblasLower, FW__CBLAS_T(ta), (n), (k), (double)(alpha),   \
                       (const double *)(const void *)(A), (lda), (double)(beta),              \
                       (double *)(void *)(C), (ldc))                                          \
         : cblas_ssyrk(CblasRowMajor, CblasLower, FW__CBLAS_T(ta), (n), (k), (float)(alpha),    \
                       (const float *)(const void *)(A), (lda), (float)(beta),                \
                       (float *)(void *)(C), (ldc)))

#endif /* FINWIDTH_BLAS_H */
