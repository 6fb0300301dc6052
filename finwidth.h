/* finwidth.h - the theory of wide neural networks, in one C header.

   What it is
     finwidth simulates finite-width neural networks and solves the theory that predicts them:
     the infinite-width dynamical mean field theory (DMFT) of feature learning and the O(1/sqrt(N))
     fluctuations around it. Sections (grep -n '^// ====' for the table of contents):
       core          status codes, allocators and workspaces, a counter-based RNG, dense linear
                     algebra, activations and their Gaussian expectations (fw_act_kernel)
       simulator     MLPs in mean-field/muP (gamma0) and NTK parameterization, full-batch GD and
                     online SGD, seed ensembles with mergeable statistics (fw_net_*, fw_ensemble_*);
                     convolutional nets on images in the same parameterizations (arch = FW_ARCH_CNN)
       DMFT          infinite-width training dynamics in discrete time, any depth and activation,
                     sampled or exact (linear); the lazy limit in closed form; an optional lazy
                     control variate for two-layer nets (fw_dmft_run, fw_kernels_infinite)
       fluctuations  Var f over initializations at width N for two-layer nets, the O(1/N) mean
                     shift, online SGD (fw_fluct_run, fw_online_run); kernel variances of deep nets
                     at initialization (fw_kcov_init) and over training (fw_dlfluct_run)
       deep linear   nets on random data: simulator, lazy closed forms, the proportional limit and
                     its infinite-depth residual limit; power-law data over infinitely many modes
                     in the capacity/source convention, rich and lazy, to 10^5 steps (fw_dln_*)

   How to include it (STB style)
     In exactly one C or C++ file:
         #define FINWIDTH_IMPLEMENTATION
         #include "finwidth.h"
     Everywhere else include it without the define: you get the declarations only.
     Link with -lm. With a CBLAS (e.g. Debian's libopenblas-dev), also define FW_USE_CBLAS in the
     implementation file and link -lopenblas: gemm, gemv and syrk then go to CBLAS (finwidth_blas.h).

   Twenty lines: what it is for (examples/purpose.c; the README shows its output)
     The mean and the variance over initializations of a width-256 network's predictions after
     20 GD steps, from the fluctuation theory, next to 1000 networks trained by the simulator:
     #define FINWIDTH_IMPLEMENTATION
     #include "finwidth.h"
     #include <stdio.h>
     int main(void) { // a width-256 two-layer tanh net on 4 training points + 1 test point (D = 2), 20 GD steps
         fw_real X[10] = {1, 0, 0, 1, -1, 0.5, 0.5, -1, 0.7, 0.7}, y[4] = {1, -1, 0.5, -0.5}, mean[14], m2[14];
         fw_data data = {4, 1, 2, X, 0, y, NULL};
         fw_dmft_desc net = {.act = FW_ACT_TANH, .gamma0 = 1, .lr = 0.5, .steps = 20, .every = 20};
         fw_fluct_desc theory = {.dmft = net, .width = 256};
         fw_ensemble_desc sim = {.net = {.input_dim = 2, .width = 256, .act = FW_ACT_TANH, .gamma0 = 1},
                                 .lr = 0.5, .steps = 20, .every = 20};
         fw_fluct_result res; fw_stats st;
         if (fw_fluct_run(&theory, &data, &res, NULL) != FW_OK) return 1;   // the theory: no network trained
         fw_stats_init(&st, 14, mean, m2);                                 // records t = 0, 20: 5 f + 2 losses
         if (fw_ensemble_run(&sim, &data, 0, 1000, &st, NULL, NULL) != FW_OK) return 1;  // 1000 real networks
         printf("point  mean f: theory  networks   N Var f: theory  networks   (after 20 steps)\n");
         for (int p = 0; p < 5; ++p)
             printf("%5d  %14.3f  %8.3f  %17.3f  %8.3f\n", p, res.f[5 + p], mean[7 + p],
                    256 * res.f_var[5 + p], 256 * fw_stats_var(&st, 7 + p));
         fw_fluct_result_free(&res); return 0;
     }
     It prints, per point, the theory's mean and N Var f next to the networks' (0.122 against
     0.126 on the first point; the networks' variance carries a 4.5% standard error).

   What each solver computes (shapes and units in the comment above each function)
     fw_ensemble_run   S networks (MLPs or CNNs) trained from seeds; running mean and variance of
                       f, losses, and optionally the kernels (MLPs), at the recorded steps (fw_stats,
                       mergeable)
     fw_dmft_run       infinite-width training: mean predictions, losses, NTK, sharpness and
                       two-time kernels Phi(l)(t,s), G(l)(t,s), with Monte Carlo standard errors
     fw_lazy_predict   kernel gradient descent with the closed-form NTK (fw_kernels_infinite)
     fw_fluct_run      two-layer nets at width N: Var and Cov of f, loss variances, NTK and Phi
                       variances, the O(1/N) mean shift (bias), user observables
     fw_online_run     online SGD at width N: held-out loss L_inf + c(t)/N, Var and mean shift
     fw_kcov_init      deep nets at initialization: Var of every Phi(l), G(l), NTK entry and f(0)
     fw_dlfluct_run    deep nets over training: Var of f, Phi(l), G(l), NTK (exact for linear nets;
                       sampled single sites for tanh and erf)
     fw_dln_simulate, fw_dln_theory, fw_dln_lazy, fw_dln_deep_limit
                       deep linear nets on random data: networks, the proportional limit, the lazy
                       closed form, the infinite-depth residual limit (train and test loss over t);
                       with desc.source > 0 power-law data with eigenvalues k^-a and source exponent
                       beta on the population loss, the infinite-width theory over all modes
                       (depth 1 rich, any depth lazy; docs/dln.md section 9)

   Many cores and machines (docs/parallel.md)
     The library creates no thread and knows no MPI; it splits work when told how to combine it.
     Ensembles: give each worker a seed range (fw_ensemble_run(..., seed_begin, seed_end, ...)) and
     merge the fw_stats (fw_stats_merge), or push the members' records in seed order (bitwise the
     one-worker result). One DMFT or two-layer fluctuation solve: set desc.reduce (fw_reduce) on K
     workers: worker k takes a contiguous share of the single sites (their random numbers keyed by
     their global index, so the split changes no draw) and every average becomes a partial sum and a
     call of reduce.fn, an all-reduce you supply (POSIX threads: examples/parallel/fw_threads.h; MPI:
     MPI_Allreduce, examples/parallel/finwidth_mpi.c). Results equal one worker's up to the order of
     the sums. fw_dlfluct_run's sampled propagator, fw_kcov_init and fw_online_run take desc.reduce
     too (their sites split the same way), and the O(1/N) bias is split with the rest.
     Every solver takes a desc struct (zero means the documented default), returns fw_status,
     reports the offending field through desc.log, and has a _ws variant for a caller buffer.

   Status codes (fw_status; fw_status_string gives the sentence)
     FW_OK                  0, success
     FW_ERR_NULL            a required pointer is NULL
     FW_ERR_SIZE            a size is < 1, or a count or byte total cannot be represented
                            (the same on 32- and 64-bit hosts)
     FW_ERR_LD              a leading dimension is smaller than its row
     FW_ERR_ARG             another argument is outside its documented range (in every solver
                            alike: gamma0 not finite, negative, or below 10 machine epsilons,
                            where rounding loses the updates; NTK ignores gamma0)
     FW_ERR_NONFINITE       an input holds NaN or Inf
     FW_ERR_NOMEM           the allocator returned NULL (nothing leaks)
     FW_ERR_WORKSPACE       the caller's buffer is smaller than the size query asked for
     FW_ERR_NOT_PD          a matrix that must be positive definite is not
     FW_ERR_SINGULAR        a matrix is singular to working precision
     FW_ERR_DIVERGED        training or a solve blew up (NaN/Inf): lower the learning rate; solvers
                            report the step (diverged_step) where they can
     FW_ERR_NO_CONVERGENCE  an iteration hit its cap before its tolerance (residual reported)

   Config macros (define before including; each has a default)
     FW_REAL        the floating type, double by default; float works (tests run in both).
     FW_API         storage of public functions, extern by default (define as static for private use).
     FW_MALLOC(n)   default allocation, malloc(n);   FW_FREE(p) default release, free(p).
     FW_ASSERT(x)   internal invariants (never user input), assert(x) by default.
     FW_NO_STDIO    accepted for bare-metal builds; this version has no FILE* helpers either way.
     FW_USE_CBLAS   dispatch gemm/gemv/syrk to CBLAS through finwidth_blas.h.
     FW_GEMM_KC     depth of the gemm packing block (default 256); the blocked gemm keeps
                    8 * FW_GEMM_KC reals on the stack, and only for products above 48^3.
     FW_TANGENT_BLOCK  samples per block of the fluctuation theory's tangent pass (default 64, a
                    multiple of 8); its workspace holds 5 (T+1) (P+Q) of these blocks of reals, so
                    a microcontroller build may take 16.

   Conventions
     Matrices are row-major with an explicit leading dimension (the distance between rows):
     element (i, j) of an m x n matrix A with leading dimension lda >= n is A[i * lda + j].
     Sizes are ints and must be >= 1. Every function that can fail returns fw_status; results go
     through out-parameters. The library never prints, exits or aborts on user input, holds no
     global mutable state and is thread-safe by construction (parallelism belongs to the caller).
     Memory: every allocation goes through an fw_allocator (NULL means FW_MALLOC/FW_FREE), and every
     solver also runs in a caller buffer (the "_ws" variants) sized by a *_workspace_size query.

   Model conventions (docs/model.md section 1; the simulator and every solver)
     P training pairs (x, y), x in R^D, optional Q test inputs, used as given.
     h1 = W0 x / sqrt(D),  h(l+1) = W(l) phi(h(l)) / sqrt(N),  f = w . phi(hL) / (gamma0 N),
     all weights i.i.d. N(0, 1); L = 1 is the two-layer network. Loss 1/2 sum over the P training
     points of (y - f)^2 (a sum). Full-batch gradient descent with step eta gamma0^2 N on every
     weight, so predictions move at rate eta NTK (y - f), O(1) in N. gamma0 = 1/sqrt(N) is the NTK
     parameterization (same code path), gamma0 -> 0 the lazy limit. Online SGD: fresh batches of B
     inputs x ~ N(0, I_D) labelled by a teacher, loss 1/(2B) sum, same step rule.

   Licence: MIT. Copyright (c) 2026 the finwidth authors.
*/
#ifndef FINWIDTH_H
#define FINWIDTH_H

#include <stddef.h>
#include <stdint.h>

#ifndef FW_REAL
#define FW_REAL double
#endif
#ifndef FW_API
#define FW_API extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

// ==== core: types, status, allocator, workspace =================================================

typedef FW_REAL fw_real;

/* Every fallible function returns one of these; FW_OK is zero. */
typedef enum fw_status {
    FW_OK = 0,
    FW_ERR_NULL,           /* a required pointer argument is NULL */
    FW_ERR_SIZE,           /* a size is zero, negative, or too large to represent (counts, bytes, int indices) */
    FW_ERR_LD,             /* a leading dimension is smaller than the row it must hold */
    FW_ERR_ARG,            /* another argument is outside its documented range */
    FW_ERR_NONFINITE,      /* an input or a result holds NaN or Inf */
    FW_ERR_NOMEM,          /* the allocator returned NULL */
    FW_ERR_WORKSPACE,      /* the caller's workspace is smaller than the size query asked for */
    FW_ERR_NOT_PD,         /* a matrix that must be symmetric positive definite is not */
    FW_ERR_SINGULAR,       /* a matrix is singular to working precision */
    FW_ERR_DIVERGED,       /* an iteration or training run blew up (NaN/Inf); lower the learning rate */
    FW_ERR_NO_CONVERGENCE, /* an iteration hit its cap before meeting its tolerance */
    FW_STATUS_COUNT
} fw_status;

/* A sentence describing s; never NULL. */
FW_API const char *fw_status_string(fw_status s);

/* User allocator. Both members NULL (or a NULL fw_allocator pointer) means FW_MALLOC/FW_FREE;
   setting only one of the two is an error (FW_ERR_ARG). */
typedef struct fw_allocator {
    void *(*alloc)(size_t bytes, void *user);
    void (*free)(void *ptr, void *user);
    void *user;
} fw_allocator;

/* Optional log callback, carried in solver descriptions: the library's only way of speaking.
   where: the function or field concerned; what: a sentence. */
typedef struct fw_log {
    void (*fn)(void *user, fw_status status, const char *where, const char *what);
    void *user;
} fw_log;

/* Splitting one sampled solve across workers (threads, MPI ranks; docs/parallel.md). Worker `rank`
   of `ranks` takes a contiguous share of the single sites of every solve; each site's random
   numbers are keyed by its global index, so the split changes no draw. Every average over sites
   becomes this worker's partial sum followed by fn(user, x, n), which must replace x[0..n) by its
   sum over all workers (an all-reduce: MPI_Allreduce with MPI_DOUBLE and MPI_SUM, or a barrier in
   shared memory). The sums travel in double also when fw_real is float.
   All workers call the solver with the same description except rank; fn is called the same number
   of times with the same n on every worker, and every worker gets the whole result. The results
   equal the one-worker results up to the order of the sums (1e-12 relative in double). The zero
   value (ranks 0 or 1, fn NULL) is one worker. */
typedef struct fw_reduce {
    void (*fn)(void *user, double *x, int n);
    void *user;
    int rank, ranks;
} fw_reduce;

/* Workspace arena over a caller buffer. Every block is aligned to FW_ALIGN bytes. With a NULL
   buffer the arena only measures: pushes return NULL and `used` grows, so a solver's size query
   and its real run lay out memory with the same code. */
#define FW_ALIGN 64
typedef struct fw_arena {
    unsigned char *base;
    size_t size;   /* bytes available */
    size_t used;   /* bytes consumed (in measuring mode: bytes needed, alignment slack included) */
    int failed;    /* set when a push did not fit */
} fw_arena;

FW_API void fw_arena_init(fw_arena *a, void *buf, size_t bytes);
/* A block of `bytes` (rounded up to FW_ALIGN), or NULL when measuring or when it does not fit. */
FW_API void *fw_arena_push(fw_arena *a, size_t bytes);

// ==== core: counter-based random numbers (Philox4x32-10) =======================================

/* The stream of a (seed, stream) pair is a sequence of 128-bit Philox4x32-10 blocks:
   key = (seed low 32 bits, seed high 32 bits), counter = (i low, i high, stream low, stream high)
   for block i = 0, 1, 2, ... Words are consumed in order w0, w1, w2, w3 of each block.
   uniform: two words a, b -> ((a >> 5) * 2^26 + (b >> 6) + 0.5) / 2^53, in (0, 1).
   normal:  two uniforms u1, u2 -> z0 = sqrt(-2 ln u1) cos(2 pi u2), then z1 = ... sin(2 pi u2)
            (Box-Muller; z1 is kept for the next call).
   These rules are the contract: the same seed gives the same numbers on every platform, within
   the rounding of log, sqrt, cos and sin (and of the float type if FW_REAL is float). */
typedef struct fw_rng {
    uint32_t key[2];
    uint32_t ctr[4];
    uint32_t block[4];
    int next_word;       /* 0..4; 4 means the block is used up */
    int has_spare;
    fw_real spare;
} fw_rng;

/* The raw block function: out = Philox4x32-10(ctr, key). */
FW_API void fw_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* Independent streams of one seed: one per ensemble member, per Monte Carlo shard, ... */
FW_API void fw_rng_init(fw_rng *r, uint64_t seed, uint64_t stream);
FW_API uint32_t fw_rng_u32(fw_rng *r);
/* These three cannot fail on a valid rng; given NULL they return 0, NaN and NaN. */
FW_API fw_real fw_rng_uniform(fw_rng *r);   /* in (0, 1) */
FW_API fw_real fw_rng_normal(fw_rng *r);    /* N(0, 1) */
/* x[i] = scale * N(0,1) for i < n. FW_ERR_NULL on NULL, FW_ERR_SIZE for n < 1. */
FW_API fw_status fw_rng_fill_normal(fw_rng *r, fw_real *x, int n, fw_real scale);

// ==== core: dense linear algebra ================================================================

typedef enum fw_trans { FW_NO_TRANS = 0, FW_TRANS = 1 } fw_trans;
typedef enum fw_uplo { FW_LOWER = 0, FW_UPPER = 1 } fw_uplo;
typedef enum fw_diag { FW_NON_UNIT = 0, FW_UNIT = 1 } fw_diag;

/* Common errors of all routines below: FW_ERR_NULL (NULL array), FW_ERR_SIZE (a size < 1),
   FW_ERR_LD (leading dimension too small), FW_ERR_ARG (bad enum), FW_ERR_NONFINITE (NaN/Inf in
   the inputs a routine scans, or in its result). op(X) is X or X^T as the fw_trans says. */

/* C = alpha op(A) op(B) + beta C.  C: m x n (ldc >= n); op(A): m x k; op(B): k x n.
   A is stored m x k (lda >= k) without transpose, k x m (lda >= m) with; likewise B.
   beta = 0 means C is not read. The result is checked for NaN/Inf. */
FW_API fw_status fw_gemm(fw_trans ta, fw_trans tb, int m, int n, int k, fw_real alpha,
                         const fw_real *A, int lda, const fw_real *B, int ldb, fw_real beta,
                         fw_real *C, int ldc);
/* y = alpha op(A) x + beta y.  A stored m x n (lda >= n); x has n entries (m with FW_TRANS),
   y has m (n with FW_TRANS). */
FW_API fw_status fw_gemv(fw_trans ta, int m, int n, fw_real alpha, const fw_real *A, int lda,
                         const fw_real *x, fw_real beta, fw_real *y);
/* C = alpha op(A) op(A)^T + beta C, C: n x n, op(A): n x k (A stored n x k, or k x n with
   FW_TRANS). Both triangles of C are written and exactly symmetric. */
FW_API fw_status fw_syrk(fw_trans ta, int n, int k, fw_real alpha, const fw_real *A, int lda,
                         fw_real beta, fw_real *C, int ldc);
/* The library's own kernels, whatever FW_USE_CBLAS says (for tests and benches); no checks on
   values, the same argument checks as above. */
FW_API fw_status fw_gemm_portable(fw_trans ta, fw_trans tb, int m, int n, int k, fw_real alpha,
                                  const fw_real *A, int lda, const fw_real *B, int ldb,
                                  fw_real beta, fw_real *C, int ldc);
FW_API fw_status fw_gemv_portable(fw_trans ta, int m, int n, fw_real alpha, const fw_real *A,
                                  int lda, const fw_real *x, fw_real beta, fw_real *y);
FW_API fw_status fw_syrk_portable(fw_trans ta, int n, int k, fw_real alpha, const fw_real *A,
                                  int lda, fw_real beta, fw_real *C, int ldc);

/* Cholesky A = L L^T of a symmetric positive definite n x n matrix, reading the lower triangle.
   On success L is in the lower triangle and the strict upper triangle is zeroed.
   FW_ERR_NOT_PD when a pivot is not positive (A is left partly factored). */
FW_API fw_status fw_cholesky(int n, fw_real *A, int lda);
/* Solves A X = B given the Cholesky factor L (lower triangle of L). B: n x nrhs, ldb >= nrhs. */
FW_API fw_status fw_cholesky_solve(int n, int nrhs, const fw_real *L, int ldl, fw_real *B, int ldb);
/* Solves op(T) X = B for triangular T (the uplo triangle of T is read; with FW_UNIT its diagonal
   is taken as 1). B: n x nrhs, overwritten by X. FW_ERR_SINGULAR on a zero diagonal entry. */
FW_API fw_status fw_solve_triangular(fw_uplo uplo, fw_trans t, fw_diag diag, int n, int nrhs,
                                     const fw_real *T, int ldt, fw_real *B, int ldb);
/* LU with partial pivoting, P A = L U, in place (unit L below, U on and above the diagonal).
   piv[i] (n ints) is the row swapped with row i at step i. FW_ERR_SINGULAR on an exactly zero
   pivot or on a pivot below n * eps * max|A| (A is then numerically singular). */
FW_API fw_status fw_lu(int n, fw_real *A, int lda, int *piv);
/* Solves A X = B from fw_lu's output; B: n x nrhs, overwritten. */
FW_API fw_status fw_lu_solve(int n, int nrhs, const fw_real *LU, int lda, const int *piv,
                             fw_real *B, int ldb);
/* A X = B in one call: fw_lu then fw_lu_solve. A is overwritten by its factors. */
FW_API fw_status fw_solve(int n, int nrhs, fw_real *A, int lda, int *piv, fw_real *B, int ldb);
/* Symmetric eigendecomposition A = V diag(w) V^T by cyclic Jacobi (accurate to working precision
   in every eigenvalue, also the small ones). Reads the lower triangle of A and overwrites A.
   w: n eigenvalues ascending; V: n x n (ldv >= n), column j the eigenvector of w[j].
   FW_ERR_NO_CONVERGENCE if 100 sweeps do not diagonalise A (not seen in practice). */
FW_API fw_status fw_eigh(int n, fw_real *A, int lda, fw_real *w, fw_real *V, int ldv);
/* E = exp(t A) for symmetric A, through fw_eigh: only the lower triangle is read (as in LAPACK's
   uplo = 'L'), so the upper one is not an input and a NaN there is ignored. E: n x n, lde >= n.
   FW_ERR_NONFINITE if t A has an eigenvalue whose exponential overflows. */
FW_API fw_status fw_expm_sym_workspace_size(int n, size_t *bytes);
FW_API fw_status fw_expm_sym_ws(int n, fw_real t, const fw_real *A, int lda, fw_real *E, int lde,
                                void *ws, size_t ws_bytes);
FW_API fw_status fw_expm_sym(int n, fw_real t, const fw_real *A, int lda, fw_real *E, int lde,
                             const fw_allocator *alloc);

// ==== core: activations =========================================================================

typedef enum fw_activation {
    FW_ACT_LINEAR = 0,  /* phi(x) = x */
    FW_ACT_RELU = 1,    /* phi(x) = max(0, x); phi'(0) = 0 */
    FW_ACT_TANH = 2,    /* phi(x) = tanh(x) */
    FW_ACT_ERF = 3,     /* phi(x) = erf(x) */
    FW_ACT_COUNT
} fw_activation;

/* phi and its first two derivatives at x; NaN for an activation outside the enum. */
FW_API fw_real fw_act(fw_activation act, fw_real x);
FW_API fw_real fw_act_d1(fw_activation act, fw_real x);
FW_API fw_real fw_act_d2(fw_activation act, fw_real x);
/* Vector form over n entries; any of phi, d1, d2 may be NULL (not computed), not all three. */
FW_API fw_status fw_act_eval(fw_activation act, int n, const fw_real *x, fw_real *phi,
                             fw_real *d1, fw_real *d2);
/* The name ("linear", "relu", "tanh", "erf") of act, or NULL. */
FW_API const char *fw_act_name(fw_activation act);
/* Parses a name back; FW_ERR_ARG if unknown. */
FW_API fw_status fw_act_parse(const char *name, fw_activation *act);

// ==== network simulator =========================================================================

/* A finite network of L hidden layers of width N on inputs of dimension D (docs/model.md section 1):
     h1 = W0 x / sqrt(D),  h(l+1) = W(l) phi(h(l)) / sqrt(N),  f(x) = w . phi(hL) / (gamma0 N),
   all weights i.i.d. N(0, 1) at initialization, drawn from the library's RNG with (seed, stream).
   Training loss: 1/2 sum over the P training points of (y - f)^2 (a sum, not a mean); gradient
   descent on every weight with step eta gamma0^2 N:  theta <- theta - eta gamma0^2 N dLoss/dtheta,
   so predictions move at rate eta * NTK * (y - f), O(1) in N. ntk != 0 selects the NTK
   parameterization, which is the same model with gamma0 = 1/sqrt(N).

   Convolutional nets (arch = FW_ARCH_CNN; docs/model.md section 5): an input row is an image of
   H x W pixels with C channels (row-major pixels, channels innermost: x[(y W + x) C + c]); every
   layer is a 3 x 3 convolution, stride 1, zero padding, with N channels as the width and the
   fan-in 9 C (9 N above the first layer) in place of D (N):
     h1[p, c] = sum_{k, c'} W0[c, (k, c')] x[p + k, c'] / sqrt(9 C),
     h(l+1)[p, c] = sum_{k, c'} W(l)[c, (k, c')] phi(h(l))[p + k, c'] / sqrt(9 N),
     f(x) = w . pool(phi(hL)) / (gamma0 N),   pool = the mean over the H W pixels,
   (k runs over the 9 offsets (dy, dx) in {-1, 0, 1}^2, row-major; pixels outside the image are
   0), with the same loss, initialization and step eta gamma0^2 N. Weights are stored as the
   matrices W(l)[c][(k, c')] (N x 9 C_in, row-major), so a layer is im2col + one gemm (CBLAS with
   FW_USE_CBLAS). fw_net_kernels is for MLPs only. */
typedef enum fw_arch { FW_ARCH_MLP = 0, FW_ARCH_CNN = 1 } fw_arch;
typedef struct fw_net_desc {
    int input_dim;        /* D >= 1 (required) */
    int width;            /* N >= 1 (required) */
    int depth;            /* L hidden layers; 0 means 1 (the two-layer network) */
    fw_activation act;    /* default FW_ACT_LINEAR (the zero value) */
    fw_real gamma0;       /* feature-learning strength; 0 means 1; ignored with ntk */
    int ntk;              /* nonzero: NTK parameterization, gamma0 = 1/sqrt(N) */
    uint64_t seed;        /* weights come from the RNG stream (seed, stream) */
    uint64_t stream;
    int max_points;       /* most rows one forward pass takes (P + Q, or the SGD batch); >= 1 */
    fw_log log;           /* optional: told which field was bad */
    int no_kernels;       /* nonzero: no kernel scratch (saves 2 max_points^2 reals); fw_net_kernels
                             then returns FW_ERR_ARG. Ensembles set it when they record no kernels. */
    fw_arch arch;         /* FW_ARCH_MLP (the zero value) or FW_ARCH_CNN */
    int image_height;     /* CNN: H >= 1 */
    int image_width;      /* CNN: W >= 1 */
    int image_channels;   /* CNN: C >= 1; 0 means 1. input_dim must be H W C (0 sets it) */
} fw_net_desc;

/* The network and its buffers, laid out in one block (caller workspace or allocator).
   Parameters are one vector: W0 (N x D, row-major), then W(1) .. W(L-1) (N x N each), then w (N);
   for a CNN W0 is N x 9 C and W(l) N x 9 N. After a forward pass on n rows, H[l] and A[l] hold
   h(l+1) and phi(h(l+1)) (n x N each, ld N; a CNN's n H W x N, image by image, pixel by pixel)
   for l = 0..L-1, and f the n outputs; after a backward pass Gr[l] holds g(l+1) = gamma0 N df/dh(l+1)
   (a CNN's on its training images only). */
typedef struct fw_net {
    fw_net_desc desc;     /* with defaults filled in */
    fw_real gamma0;       /* effective gamma0 (1/sqrt(N) with ntk) */
    int n_params;
    fw_real *params;
    fw_real *W0, *w;      /* views into params */
    fw_real *H, *A, *Gr;  /* L blocks of max_points x N */
    fw_real *f;           /* max_points */
    fw_real *delta;       /* max_points: the scaled errors of the last gradient */
    fw_real *scratch;     /* max_points x N */
    fw_real *kx, *kt;     /* max_points x max_points scratch for the kernels (NULL with no_kernels) */
    fw_real *batch_x, *batch_y; /* SGD batch: max_points x D and max_points */
    fw_real *col, *pool;  /* CNN: im2col rows of a chunk of images; pooled features (max_points x N) */
    int n_rows;           /* rows of the last forward pass */
    void *owned;          /* the block fw_net_create allocated (NULL with a caller workspace) */
    fw_allocator alloc;
} fw_net;

/* Training (and test) data: P + Q rows of X (P training rows first, ld >= D), P targets y, and
   optionally Q test targets y_test (only for reporting the test loss). */
typedef struct fw_data {
    int P, Q, D;
    const fw_real *X;
    int ldx;              /* 0 means D */
    const fw_real *y;
    const fw_real *y_test; /* may be NULL */
} fw_data;

/* Checks a description (reports the bad field through desc->log). */
FW_API fw_status fw_net_validate(const fw_net_desc *desc);
FW_API fw_status fw_net_workspace_size(const fw_net_desc *desc, size_t *bytes);
/* Lays the network out in ws and draws its initial weights. */
FW_API fw_status fw_net_init_ws(fw_net *net, const fw_net_desc *desc, void *ws, size_t ws_bytes);
FW_API fw_status fw_net_create(fw_net *net, const fw_net_desc *desc, const fw_allocator *alloc);
FW_API void fw_net_destroy(fw_net *net);
/* Redraws the initial weights from (seed, stream). */
FW_API fw_status fw_net_reinit(fw_net *net, uint64_t seed, uint64_t stream);
/* f = network outputs on n rows of X (n <= max_points, ldx >= D); f may be NULL (net->f has them). */
FW_API fw_status fw_net_forward(fw_net *net, int n, const fw_real *X, int ldx, fw_real *f);
/* grad = dLoss/dparams (n_params values) of 1/2 sum_{mu < P} (y - f)^2 over the first P rows. */
FW_API fw_status fw_net_loss_gradient(fw_net *net, const fw_data *data, fw_real *grad);
/* One full-batch gradient-descent step with learning rate eta on the P training points. On
   return net->f holds the outputs on all P + Q rows before the step and *train_loss (may be
   NULL) their training loss 1/(2P) sum (y - f)^2. FW_ERR_DIVERGED if those outputs or the new
   weights are not finite. */
FW_API fw_status fw_net_gd_step(fw_net *net, const fw_data *data, fw_real eta, fw_real *train_loss);

/* Teachers for online SGD: y = beta*.x / sqrt(D) (linear) or tanh(beta*.x / sqrt(D)) (single-
   index tanh), plus noise * N(0, 1). beta has D entries. */
typedef enum fw_teacher_kind { FW_TEACHER_LINEAR = 0, FW_TEACHER_TANH = 1 } fw_teacher_kind;
typedef struct fw_teacher {
    fw_teacher_kind kind;
    const fw_real *beta;
    fw_real noise;
} fw_teacher;
/* Labels y (n) of n rows of X under the teacher (noise drawn from rng when noise > 0). */
FW_API fw_status fw_teacher_label(const fw_teacher *t, int D, int n, const fw_real *X, int ldx,
                                  fw_rng *rng, fw_real *y);
/* One online-SGD step: draws B inputs x ~ N(0, I_D) from rng (B <= max_points), labels them with
   the teacher, and steps on 1/(2B) sum over the batch with step eta gamma0^2 N. */
FW_API fw_status fw_net_sgd_step(fw_net *net, const fw_teacher *t, int B, fw_real eta, fw_rng *rng,
                                 fw_real *batch_loss);
/* Kernels of the current network on n rows of X (computes a forward and backward pass):
   phi: (L+1) blocks of n x n, Phi(0) = X X^T / D, Phi(l) = phi(h(l)).phi(h(l)) / N;
   g: L blocks n x n, G(l) = g(l).g(l) / N for l = 1..L;
   ntk: n x n, NTK = sum_{l=0..L} G(l+1) o Phi(l) with G(L+1) = 1 (o: elementwise).
   Any of the three may be NULL. */
FW_API fw_status fw_net_kernels(fw_net *net, int n, const fw_real *X, int ldx, fw_real *phi,
                                fw_real *g, fw_real *ntk);

// ==== ensembles =================================================================================

/* Running mean and variance of a vector of n values over samples (Welford), mergeable (Chan et
   al.), so seeds can be split across threads or processes and combined. mean and m2 are caller
   arrays of n values. */
typedef struct fw_stats {
    int n;
    long count;
    fw_real *mean;
    fw_real *m2;          /* sum of squared deviations */
} fw_stats;
FW_API fw_status fw_stats_init(fw_stats *s, int n, fw_real *mean, fw_real *m2);
FW_API fw_status fw_stats_push(fw_stats *s, const fw_real *x);
/* a <- a combined with b (same n). */
FW_API fw_status fw_stats_merge(fw_stats *a, const fw_stats *b);
/* Unbiased sample variance of entry i (0 when count < 2). */
FW_API fw_real fw_stats_var(const fw_stats *s, int i);

/* An ensemble: members s = seed_begin .. seed_end-1 use RNG stream s of desc.net.seed. Each member
   trains for `steps` GD steps at learning rate lr and records, at t = 0, every, 2 every, ..., and
   at t = steps, one record of values:
     f on the P + Q points, train loss, test loss (0 without y_test),
     and with record_kernels also the NTK (n x n) and Phi(0..L) ((L+1) n x n), n = P + Q,
     and with record_kernels = 2 also G(1..L) (L n x n; see fw_net_kernels). */
typedef struct fw_ensemble_desc {
    fw_net_desc net;      /* max_points is set from the data */
    fw_real lr;           /* eta > 0 */
    int steps;            /* T >= 0 */
    int every;            /* record interval; 0 means 1 */
    int record_kernels;   /* 0: none; 1: NTK and Phi; 2: also G */
} fw_ensemble_desc;
/* Number of recorded times and values per record. */
FW_API fw_status fw_ensemble_shape(const fw_ensemble_desc *desc, const fw_data *data, int *n_records,
                                   int *record_len);
/* The recorded step of record r. */
FW_API int fw_ensemble_record_time(const fw_ensemble_desc *desc, int r);
FW_API fw_status fw_ensemble_workspace_size(const fw_ensemble_desc *desc, const fw_data *data, size_t *bytes);
/* Adds members seed_begin .. seed_end-1 to stats (n = n_records * record_len, laid out record by
   record). FW_ERR_DIVERGED if a member's run blows up; *diverged_step (may be NULL) tells when. */
FW_API fw_status fw_ensemble_run_ws(const fw_ensemble_desc *desc, const fw_data *data,
                                    uint64_t seed_begin, uint64_t seed_end, fw_stats *stats,
                                    int *diverged_step, void *ws, size_t ws_bytes);
FW_API fw_status fw_ensemble_run(const fw_ensemble_desc *desc, const fw_data *data,
                                 uint64_t seed_begin, uint64_t seed_end, fw_stats *stats,
                                 int *diverged_step, const fw_allocator *alloc);

// ==== DMFT: infinite-width dynamics (Bordelon & Pehlevan 2022) =================================

/* Gauss-Hermite rule for the standard normal measure: E f(z) ~ sum_k w[k] f(x[k]), z ~ N(0, 1),
   exact for polynomials of degree < 2n. n in 1..256; nodes ascending, weights sum to 1. */
FW_API fw_status fw_gauss_hermite(int n, fw_real *x, fw_real *w);

/* Two-point Gaussian averages of an activation: for (u, v) ~ N(0, [[a, c], [c, b]]),
   *k = E phi(u) phi(v) and *kd = E phi'(u) phi'(v) (either pointer may be NULL).
   Closed forms: linear (c, 1); relu, the arc-cosine kernels of order 1 and 0 (Cho & Saul 2009):
   sqrt(ab)/(2 pi) (sin th + (pi - th) cos th) and (pi - th)/(2 pi), th = arccos(c / sqrt(ab));
   erf: (2/pi) asin(2c / sqrt((1+2a)(1+2b))) and (4/pi) / sqrt((1+2a)(1+2b) - 4c^2).
   tanh: the trapezoidal rule in the standard-normal variables with a step that follows the
   input scale, Gauss-Legendre panels past scale 8 (2.4e-14 relative error measured for variances
   1e-2 .. 100; bounded cost at any variance; docs/dmft.md section 8).
   Computed in double whatever FW_REAL is. Needs a, b >= 0 and c^2 <= ab (up to rounding;
   FW_ERR_NOT_PD otherwise). */
FW_API fw_status fw_act_kernel(fw_activation act, fw_real a, fw_real b, fw_real c, fw_real *k,
                               fw_real *kd);

/* Infinite-width kernels at initialization of a depth-L network on n points (the NNGP and the
   NTK; docs/model.md sections 1 and 3), from the input kernel kx (n x n, ld ldk, e.g. X X^T / D):
     Phi(0) = kx,  Phi(l) = E phi(u) phi(u)^T,  u ~ N(0, Phi(l-1))          (l = 1..L)
     G(L+1) = 1,   G(l) = E phi'(u) phi'(u)^T o G(l+1), u ~ N(0, Phi(l-1))
     NTK = sum_{l=0..L} G(l+1) o Phi(l).
   phi: (L+1) blocks n x n; g: L blocks n x n (G(1)..G(L)); ntk: n x n; all required, ld n. */
FW_API fw_status fw_kernels_infinite(fw_activation act, int depth, int n, const fw_real *kx, int ldk,
                                     fw_real *phi, fw_real *g, fw_real *ntk);

/* Lazy-limit predictions (gamma0 -> 0, infinite width, f(0) = 0): kernel gradient descent in
   discrete time with the static NTK over P training and Q test points (ntk: (P+Q) x (P+Q), ld ldk,
   training points first):  f(t+1) = f(t) + eta NTK[:, train] (y - f_train(t)),  so on the training
   points f(t) = y - (I - eta K)^t y.  f: (steps + 1) x (P + Q), row t the predictions after t steps.
   FW_ERR_DIVERGED if they overflow (eta lambda_max > 2 grows without bound). */
FW_API fw_status fw_lazy_predict(int P, int Q, const fw_real *ntk, int ldk, const fw_real *y,
                                 fw_real eta, int steps, fw_real *f);

/* How the single-site averages E[.] of the DMFT are taken.
   MC: M i.i.d. draws of the Gaussian sources per replicate.
   ANTITHETIC: M/2 pairs; the partner keeps the forward sources and negates the backward ones
     (the readout w(0) and the fields r). At small gamma0 this cancels the O(1/gamma0) part of
     psi = w phi(h)/gamma0 exactly, the dominant Monte Carlo noise.
   QUADRATURE: two-layer nets only: a tensor Gauss-Hermite rule over the initial (h, w),
     quad_nodes^(min(P+Q, D) + 1) nodes (deterministic; for small P + Q). Exact for linear nets;
     for tanh and erf it converges slowly in the node count (measured: 8 nodes miss
     Var tanh(h)^2 by 15% at Var h = 0.77, 32 nodes a late NTK variance by 5%): check it against
     ANTITHETIC before trusting it there.
   EXACT: linear activation only: every field is a linear function of the Gaussian sources, so
     the averages are computed exactly by propagating one basis vector per source (no sampling). */
typedef enum fw_dmft_sampler {
    FW_SAMPLER_ANTITHETIC = 0,   /* the default (the zero value), for the library and the CLI alike */
    FW_SAMPLER_MC = 1,
    FW_SAMPLER_QUADRATURE = 2,
    FW_SAMPLER_EXACT = 3,
    FW_SAMPLER_COUNT
} fw_dmft_sampler;

/* The infinite-width network trained by full-batch GD exactly as the simulator trains a finite
   one (same model, same step eta gamma0^2 N, one DMFT step per GD step, no time-discretisation
   error). Two-layer nets (L = 1) run the single-site update of docs/model.md section 2 directly
   (memory O(M (P+Q))). Deeper nets (and L = 1 with `general`) run the general solver: per hidden
   layer l, forward fields h(l) = u(l) + sum_s [A(l-1) + eta gamma0 Phi(l-1) Delta](t,s) g(l)(s)
   and backward fields z(l) = r(l) + sum_s [B(l) + eta gamma0 G(l+1) Delta](t,s) phi(h(l)(s)),
   g(l) = phi'(h(l)) z(l), with Gaussian sources u(l) ~ GP(0, Phi(l-1)), r(l) ~ GP(0, G(l+1)) and
   the response functions A(l), B(l) (docs/dmft.md). In discrete time every quantity at step t
   depends only on earlier steps (B also on step t itself), so the self-consistent solution is
   reached by marching forward in t: one sweep, no fixed-point iteration.
   iterations > 0 solves the same equations instead as the damped fixed-point iteration of the
   papers over whole trajectories of the error: Delta_k+1 = Delta_k + damping (y - f[Delta_k] -
   Delta_k), with f[Delta] the predictions of the single-site dynamics driven by the trajectory
   Delta (all layers, all steps), starting from Delta_0(t) = y and stopping when the residual
   max_t,mu |y - f[Delta_k] - Delta_k| <= tol max(1, max|y|). With the same samples it converges to
   the marched solution (at most T + 2 sweeps at damping 1, geometrically below it; docs/dmft.md
   section 3); FW_ERR_NO_CONVERGENCE after `iterations` sweeps, with the residual in the result.
   Standard errors: MC and ANTITHETIC run R independent replicates of M/R samples and report their
   standard deviation / sqrt(R) (this includes the noise carried forward through Delta); the
   outputs themselves come from one more solve on the union of the replicates' samples, whose
   O(1/M) finite-sample bias is R times smaller than a replicate's. QUADRATURE and EXACT report 0.
   Control variate (control_variate = 1; ANTITHETIC, or QUADRATURE for two-layer nets): every solve is
   repeated on the same samples at gamma0 = 6e-6 (float: 5e-3), where the dynamics are lazy to
   O(gamma0^2) (the antithetic pairs make the sampled dynamics even in gamma0), and every output x
   becomes x - beta (x_ref - x_lazy), x_lazy the closed form (fw_kernels_infinite, fw_lazy_predict),
   beta = Cov(x, x_ref) / Var(x_ref) over the replicates. The sampling noise of the lazy part cancels:
   at gamma0 = 1e-4 the predictions equal kernel GD to 1e-8 (tanh, erf; deep nets: to 1e-7, their
   sampled path is less smooth in gamma0); the standard error falls about 20x at gamma0 = 0.1, 3x at
   0.5, 2x at 1 for twice the cost (depth 2: 8-11x at 0.1, 1.6-6x at 0.5, 0.8-3x at 1, problem-
   dependent; docs/dmft.md section 9).
   FW_ERR_DIVERGED if the lazy reference blows up (eta lambda_max(NTK) > 2). */
typedef struct fw_dmft_desc {
    int depth;                /* L hidden layers; 0 means 1 */
    fw_activation act;
    fw_real gamma0;           /* feature-learning strength > 0; 0 means 1 */
    fw_real lr;               /* eta > 0 */
    int steps;                /* T >= 0 */
    int every;                /* record at t = 0, every, 2 every, ..., and T; 0 means 1 */
    fw_dmft_sampler sampler;  /* default FW_SAMPLER_ANTITHETIC (the zero value) */
    int samples;              /* MC/ANTITHETIC: M, the total over replicates; 0 means 8192 */
    int replicates;           /* MC/ANTITHETIC: R >= 2; 0 means 8 */
    int quad_nodes;           /* QUADRATURE: nodes per dimension, 1..64; 0 means 8 */
    int two_time;             /* also record Phi(l)(t, s) and G(l)(t, s) at the recorded steps */
    int general;              /* L = 1 through the general solver (a cross-check of the two) */
    int iterations;           /* 0: march (exact in one sweep); > 0: fixed-point iteration, at most this many sweeps */
    fw_real damping;          /* iteration step in (0, 1]; 0 means 1 */
    fw_real tol;              /* iteration tolerance, relative to max(1, max|y|); 0 means 1e-9 (float: 1e-4) */
    uint64_t seed;            /* replicate r draws layer l from RNG stream 256 r + l of seed */
    int control_variate;      /* 1: the lazy control variate (see above; ANTITHETIC, or QUADRATURE at depth 1) */
    fw_reduce reduce;         /* the solve split across workers (MC, ANTITHETIC, QUADRATURE); zero: one worker */
    fw_log log;
} fw_dmft_desc;

/* Outputs (views into the solver's memory), each with its standard error under the same name
   plus _se. n = P + Q points (training first); R = n_records, t_r = fw_dmft_record_time(desc, r).
     f:          R x n     mean predictions f(t_r) = E[w phi(hL)] / gamma0
     train_loss, test_loss: R   1/(2P) sum (y - f)^2, 1/(2Q) sum over the test points (0 without y_test)
     ntk:        R x P x P  NTK(t_r) on the training points
     sharpness:  R          its largest eigenvalue (edge of stability: eta * sharpness -> 2); a full
                           eigendecomposition up to 64 training points, Lanczos above (1e-12 residual)
     phi:        two_time: L x R x R x n x n   Phi(l)(t_a, t_b), l = 1..L (NULL otherwise)
     g:          two_time: L x R x R x P x P   G(l)(t_a, t_b), l = 1..L, training points */
typedef struct fw_dmft_result {
    int n_records, n_points, P, depth;
    int samples_used;         /* per replicate (the node count for QUADRATURE, the layer-1 basis for EXACT) */
    int replicates_used;
    int diverged_step;        /* -1, or the step where the dynamics blew up (FW_ERR_DIVERGED) */
    int iterations_used;      /* iterations > 0: the most sweeps any solve took (also set on FW_ERR_NO_CONVERGENCE) */
    fw_real residual;         /* iterations > 0: the largest final residual of any solve (also on failure) */
    fw_real consistency;      /* MC/ANTITHETIC: max over f of |solve on all samples - replicates' mean| / f_se; ~0.5-2
                                 normally; above 4 (logged) the sampled dynamics amplify their own noise, as past
                                 the edge of stability where a catapult can bifurcate: then f_se understates the
                                 error (5x measured, docs/dmft.md section 6); average solves with other seeds */
    fw_real *f, *f_se;
    fw_real *train_loss, *train_loss_se, *test_loss, *test_loss_se;
    fw_real *ntk, *ntk_se;
    fw_real *sharpness, *sharpness_se;
    fw_real *phi, *phi_se;
    fw_real *g, *g_se;
    void *owned;              /* set by fw_dmft_run; release with fw_dmft_result_free */
    fw_allocator alloc;
} fw_dmft_result;

/* Checks a description against the data (reports the bad field through desc->log). */
FW_API fw_status fw_dmft_validate(const fw_dmft_desc *desc, const fw_data *data);
FW_API int fw_dmft_record_count(const fw_dmft_desc *desc);
FW_API int fw_dmft_record_time(const fw_dmft_desc *desc, int r);
FW_API fw_status fw_dmft_workspace_size(const fw_dmft_desc *desc, const fw_data *data, size_t *bytes);
/* Solves in the caller's workspace (zero heap use); the result's arrays live there. */
FW_API fw_status fw_dmft_run_ws(const fw_dmft_desc *desc, const fw_data *data, fw_dmft_result *res,
                                void *ws, size_t ws_bytes);
FW_API fw_status fw_dmft_run(const fw_dmft_desc *desc, const fw_data *data, fw_dmft_result *res,
                             const fw_allocator *alloc);
FW_API void fw_dmft_result_free(fw_dmft_result *res);

// ==== fluctuations: finite-width variance (Bordelon & Pehlevan 2023) ============================

/* What an observable callback sees of the problem: n points (training first), the input kernel
   kx = X X^T / D (n x n), and bw, n smoothing widths: in tangents, relu'' (a Dirac delta) stands
   as a Gaussian density of width bw[a] on point a (see fw_site_d2). */
typedef struct fw_site_info {
    int n, P;
    fw_activation act;
    fw_real gamma0;
    const fw_real *kx;
    const fw_real *bw;
} fw_site_info;

/* phi''(x) for the tangents of the fluctuation theory: the exact second derivative for smooth
   activations; for relu (phi'' = Dirac delta at 0) a Gaussian density of width bw > 0. */
FW_API fw_real fw_site_d2(fw_activation act, fw_real x, fw_real bw);

/* A neuron-averaged observable O(t) = (1/N) sum_i o(h_i(t), w_i(t)) of a two-layer net with k
   components, for the linear-response rule of docs/model.md section 2 (generic: the solver's NTK
   and Phi outputs use the same route). fn gets m single-site samples at one step: h (m x n, ld
   n: preactivations on all points) and w (m: readouts). With dh == NULL it writes o (m x k, ld k);
   otherwise it writes the directional derivative of o along the tangent (dh: m x n, dw: m). The
   solver returns the infinite-width mean and the width-N variance of every component at every
   recorded step into mean and var (n_records x k each, caller-owned), and the standard error of
   var into var_se when that is not NULL. fn must not keep state between calls. */
typedef struct fw_fluct_observable {
    int k;
    void (*fn)(void *user, const fw_site_info *info, int m, const fw_real *h, const fw_real *w,
               const fw_real *dh, const fw_real *dw, fw_real *out);
    void *user;
    fw_real *mean, *var, *var_se;
} fw_fluct_observable;

/* Finite-width fluctuations of a two-layer net trained by full-batch GD (Bordelon & Pehlevan
   2023; docs/model.md section 2): over random initializations a width-N network's predictions are
   f_N = f_inf + delta f with, to leading order,
     Cov(delta f) = (1/N) (I + J)^-1 kappa (I + J)^-T,
   kappa: the single-site covariance of psi = w phi(h) / gamma0 over all (step, point) pairs,
   J[(t, nu), (s, mu)] = E d psi_nu(t) / d Delta_mu(s): the causal response of the single site to
   the error, computed exactly by forward-mode tangents through the discrete-time update (no
   finite differences). I + J is block unit-lower-triangular in time: forward substitution.
   A neuron-averaged observable O gets delta O = eps_O - J_O (I + J)^-1 eps_f (J_O = E d o/d Delta),
   evaluated as the single-site variance of its influence o - J_O (I + J)^-1 psi.
   The averages use the DMFT's samples (desc.dmft: MC, ANTITHETIC or QUADRATURE). For MC and
   ANTITHETIC, as in fw_dmft_run, R replicates of M/R samples give the standard errors (_se,
   their spread / sqrt(R)) and the outputs come from one more solve on all M samples (the same
   samples as fw_dmft_run's mean). Cost: about 2 x (R + 1)/R solves of O(M T^2 P^2 (P + Q)).
   The variances are leading order in 1/N. With `bias`, the O(1/N) shift of the mean is added
   (second order in the fluctuations; docs/fluct.md section 8): E f_N = f_inf + b/N with
     b = (I + J)^-1 [ -E_xi Dpsi(xi)[u(xi)] + (1/2) E_xi D2psi(xi)[Sigma_u] ],
   u(xi) = (I + J)^-1 (psi(xi) - f) on the training points (a neuron's influence on the error),
   Sigma_u = E u u^T, D and D2 the first and second directional derivatives of the single-site
   output along error perturbations (forward-mode tangents; the second one along each eigenvector
   of Sigma_u). Extra cost: about P T more tangent passes of one direction each, and M P (T + 1)
   reals of memory. Where the response nearly cancels the single-site variance (late times on
   training points) the relative Monte Carlo error of the variance grows by that cancellation
   factor: read the _se. */
typedef struct fw_fluct_desc {
    fw_dmft_desc dmft;        /* the infinite-width problem; depth 1 (deep nets: not yet) */
    int width;                /* N >= 1: the variances are those of a width-N network */
    int kernels;              /* also the NTK (train) and Phi (all points) variances */
    fw_real relu_bw;          /* relu: delta width relative to sqrt(Kx[a][a]); 0 means 1.06 M^-1/5 */
    int n_obs;                /* user observables (may be 0) */
    fw_fluct_observable *obs;
    int bias;                 /* also the O(1/N) correction of the mean predictions and losses */
} fw_fluct_desc;

/* Outputs (views into the solver's memory); R = n_records, n = P + Q points, training first.
     f, f_var:   R x n   infinite-width mean, and Var f at width N
     f_cov:      R x n x n   equal-time covariance at width N
     f_var_naive: R x n  Var psi / N, the variance without the response (I + J)^-1 (for contrast)
     train_loss, test_loss (R): infinite-width losses; _var: their variance at width N (delta method)
     dfdy:       R x n x P   d f_inf(t) / d y: how the infinite-width predictions move with the
                 training labels (= (I - (I + J)^-1) applied to a constant shift of y)
     ntk, ntk_var: (kernels) R x P x P;  phi, phi_var: (kernels) R x n x n  (NULL otherwise)
     f_bias:     (bias) R x n   E f_N - f_inf = b/N at width N (NULL otherwise)
     train_loss_bias, test_loss_bias: (bias) R   E L_N - L_inf at O(1/N): the mean shift plus the
                 variance, (1/P) sum_mu (-Delta_mu b_mu / N + Var f_mu / 2) (test: over Q, y_test) */
typedef struct fw_fluct_result {
    int n_records, n_points, P, width, samples_used, replicates_used;
    int diverged_step;        /* -1, or the first step whose mean or variance is not finite (FW_ERR_DIVERGED) */
    fw_real *f, *f_var, *f_cov, *f_var_naive;
    fw_real *train_loss, *train_loss_var, *test_loss, *test_loss_var;
    fw_real *dfdy;
    fw_real *ntk, *ntk_var, *phi, *phi_var;
    fw_real *f_bias, *train_loss_bias, *test_loss_bias;
    /* standard errors of each of the above, same shapes (0 for QUADRATURE) */
    fw_real *f_se, *f_var_se, *f_cov_se, *f_var_naive_se;
    fw_real *train_loss_se, *train_loss_var_se, *test_loss_se, *test_loss_var_se;
    fw_real *dfdy_se;
    fw_real *f_bias_se, *train_loss_bias_se, *test_loss_bias_se;
    fw_real *ntk_se, *ntk_var_se, *phi_se, *phi_var_se;
    void *owned;
    fw_allocator alloc;
} fw_fluct_result;

FW_API fw_status fw_fluct_workspace_size(const fw_fluct_desc *desc, const fw_data *data, size_t *bytes);
FW_API fw_status fw_fluct_run_ws(const fw_fluct_desc *desc, const fw_data *data, fw_fluct_result *res,
                                 void *ws, size_t ws_bytes);
FW_API fw_status fw_fluct_run(const fw_fluct_desc *desc, const fw_data *data, fw_fluct_result *res,
                              const fw_allocator *alloc);
FW_API void fw_fluct_result_free(fw_fluct_result *res);

/* The lazy limit in closed form (docs/model.md section 3). With a static random kernel
   K = K0 + dK and random initial outputs f(0) = e0, kernel GD f(t+1) = f(t) + eta K[:, train] (y -
   f_train(t)) gives to first order delta f(t+1) = delta f(t) - eta K0[:, train] delta f_train(t) +
   eta dK[:, train] Delta0(t), delta f(0) = e0, with Delta0(t) = y - f0_train(t) the mean-field
   error (f0 from K0, f0(0) = 0). Inputs over n = P + Q points: ntk0 (n x n, ld n), f0cov = Cov e0
   (n x n), kcov = Cov dK[:, train] ((n P) x (n P), entry ((a, mu), (b, nu)) at
   (a P + mu) (n P) + b P + nu), and e0 uncorrelated with dK (true for the two-layer net: o(w) is
   even, psi odd in w). var: (steps + 1) x n, Var f(t) at each step; cov (may be NULL): (steps+1) x n x n.
   work: fw_lazy_variance_work(P, Q) reals. */
FW_API size_t fw_lazy_variance_work(int P, int Q);
FW_API fw_status fw_lazy_variance(int P, int Q, const fw_real *ntk0, const fw_real *f0cov,
                                  const fw_real *kcov, const fw_real *y, fw_real eta, int steps,
                                  fw_real *var, fw_real *cov, fw_real *work);

// ==== kernel fluctuations of deep networks at initialization ====================================

/* The leading-order (1/N) covariance, over the random weights of a width-N network, of its kernels
   at initialization (docs/fluct.md section 10), for any depth L and activation, on n points with
   input kernel kx (n x n, ld ldk, e.g. X X^T / D): Phi(l) = phi(h(l)).phi(h(l))/N and
   G(l) = g(l).g(l)/N (l = 1..L), the NTK K = sum_{l=0..L} G(l+1) o Phi(l), and f(0). A layer's
   neurons are i.i.d. given its neighbours' kernels (h(l) ~ N(0, Phi(l-1)), backward field
   ~ N(0, G(l+1)), the readout w for l = L), so
       dPhi(l) = eps_Phi(l) + F_l[dPhi(l-1)],   dG(l) = eps_G(l) + B_l[dG(l+1)] + C_l[dPhi(l-1)],
   where eps(l) is layer l's neuron-sampling noise (covariance kappa_l / N, estimated from M
   single-site samples) and F, B, C are the exact sensitivities of the two-point averages (central
   differences of fw_act_kernel). At t = 0 the backward pass's response couplings have mean zero and
   enter at O(1/N^2): this is the exact leading order (the docs give the argument; test_stat.c
   checks it against ensembles). Variances grow with depth (linear nets: Var Phi(l)_ab =
   l (K_aa K_bb + K_ab^2)/N). With ntk_cov restricted to the training columns, f0_cov and the
   infinite-width NTK (fw_kernels_infinite), fw_lazy_variance gives a deep net's prediction variance
   along training in the lazy limit gamma0 -> 0. Cost: L M n^4 / 2 for kappa, O(L^2 n^4) for the
   propagation; memory ~ 2 (L n^2)^2 doubles. */
typedef struct fw_kcov_desc {
    fw_activation act;
    int depth;          /* L >= 1 (0 means 1) */
    int width;          /* N >= 1: the variances are at this width */
    fw_real gamma0;     /* for f0_cov = Phi(L) / (gamma0^2 N); 0 means 1 */
    int ntk;            /* nonzero: NTK parameterization, gamma0 = 1/sqrt(N) */
    int samples;        /* M single-site samples per layer; 0 means 16384 */
    int replicates;     /* R >= 2 groups of M/R samples for the standard errors; 0 means 4 */
    uint64_t seed;
    fw_reduce reduce;   /* the samples split across workers (docs/parallel.md); zero: one worker */
    fw_log log;
} fw_kcov_desc;

/* Outputs: caller arrays, each may be NULL; n x n blocks, row-major. The _se arrays are the Monte
   Carlo standard errors of the variances (spread over the R replicates / sqrt(R)). */
typedef struct fw_kcov_out {
    fw_real *phi_var, *phi_var_se;   /* L blocks: Var Phi(l)_ab at width N, l = 1..L */
    fw_real *g_var, *g_var_se;       /* L blocks: Var G(l)_ab */
    fw_real *ntk_var, *ntk_var_se;   /* n x n: Var K_ab */
    fw_real *ntk_cov;                /* n^2 x n^2: Cov(K_ab, K_cd) at (a n + b) n^2 + c n + d */
    fw_real *f0_cov;                 /* n x n: Cov f(0) = Phi(L) / (gamma0^2 N) */
} fw_kcov_out;

FW_API fw_status fw_kcov_workspace_size(const fw_kcov_desc *desc, int n, size_t *bytes);
FW_API fw_status fw_kcov_init_ws(const fw_kcov_desc *desc, int n, const fw_real *kx, int ldk,
                                 const fw_kcov_out *out, void *ws, size_t ws_bytes);
FW_API fw_status fw_kcov_init(const fw_kcov_desc *desc, int n, const fw_real *kx, int ldk,
                              const fw_kcov_out *out, const fw_allocator *alloc);

// ==== deep networks on a finite data set: fluctuations over training (exact for linear nets) =====

/* The leading-order (1/N) fluctuations, over random initializations, of a width-N deep linear
   network (phi = identity, L hidden layers, the model of docs/model.md section 1) trained by
   full-batch GD on P training points: its predictions, its kernels Phi(l)(t, t) and G(l)(t, t)
   layer by layer and its NTK, at every step t = 0..T (docs/fluct.md section 11). Every
   single-site average of a linear net is Gaussian, so everything is exact linear algebra, no
   sampling: the discrete-time DMFT (order parameters q: the two-time kernels Phi(l), G(l), the
   responses A(l), B(l) and f), its Jacobian D = dF/dq by exact tangents, and
       Cov(q) = (1/N) (I - D)^-1 (kappa + X + Y + Z) (I - D)^-T,
   kappa: each layer's single-site covariance (its neurons are i.i.d. given q); X: the pairing of
   two adjacent layers' neurons through their shared initial weight W(l)_ij(0); Y, Z: the
   pairing of two neurons of one layer through a neuron of the next (previous) layer. Without X,
   Y, Z the variances of trained nets are wrong by large factors (docs). Cost: q has dim ~
   L (T+1)^2 (n^2 + 3 P^2 + 2 n P) / 2 entries; memory ~ 2 dim^2 reals, time O(dim^3);
   dim <= 3000. The first-order theory needs 1/(gamma0^2 N) small against the squared targets.
   Nonlinear nets (act = TANH or ERF; docs/fluct.md section 12): the same rule with every
   average over M sampled single sites per layer (common random numbers), per-site Jacobians
   of the trajectory, D by central differences of the sampled map and Price's theorem, and
   the pair terms from per-site response products; Monte Carlo standard errors from
   replicates. Cost ~ dim x M x (T+1)^3 n P^2 flops; needs (T+1)^2 P n <= 1024. */
typedef struct fw_dlfluct_desc {
    int depth;          /* L >= 1 hidden layers (0 means 1) */
    int width;          /* N >= 1: the variances are those of a width-N net */
    fw_real gamma0;     /* > 0 (0 means 1) */
    int ntk;            /* nonzero: NTK parameterization, gamma0 = 1/sqrt(N) */
    fw_real lr;         /* eta > 0 */
    int steps;          /* T >= 0 GD steps; every step t = 0..T is reported */
    fw_log log;
    fw_activation act;  /* LINEAR (0): exact; TANH, ERF: the sampled propagator (ReLU: FW_ERR_ARG) */
    int samples;        /* sampled propagator: M single sites per layer in all; 0 means 4000 */
    int replicates;     /* R >= 2: also R independent estimates of M / R sites for the standard
                           errors (about twice the cost); 0 means 1 (no standard errors) */
    int sampled;        /* nonzero: the sampled propagator for a linear net too (a check of it) */
    uint64_t seed;      /* the sampled sites' seed */
    fw_reduce reduce;   /* the sampled propagator split across workers (docs/parallel.md); zero: one */
} fw_dlfluct_desc;

/* Outputs: caller arrays, each may be NULL; row-major; n = P + Q points, training first. */
typedef struct fw_dlfluct_out {
    fw_real *f, *f_var;       /* (T+1) x n: infinite-width predictions; Var f at width N */
    fw_real *phi, *phi_var;   /* L x (T+1) x n x n: Phi(l)(t, t), l = 1..L; Var of each entry */
    fw_real *g, *g_var;       /* L x (T+1) x P x P: G(l)(t, t) on the training points */
    fw_real *ntk, *ntk_var;   /* (T+1) x P x P: the NTK on the training points */
    /* Monte Carlo standard errors of the variances (same shapes; 0 for the exact linear path;
       the sampled path needs replicates >= 2 for them) */
    fw_real *f_var_se, *phi_var_se, *g_var_se, *ntk_var_se;
} fw_dlfluct_out;

FW_API fw_status fw_dlfluct_workspace_size(const fw_dlfluct_desc *desc, const fw_data *data, size_t *bytes);
FW_API fw_status fw_dlfluct_run_ws(const fw_dlfluct_desc *desc, const fw_data *data,
                                   const fw_dlfluct_out *out, void *ws, size_t ws_bytes);
FW_API fw_status fw_dlfluct_run(const fw_dlfluct_desc *desc, const fw_data *data,
                                const fw_dlfluct_out *out, const fw_allocator *alloc);

// ==== online learning: width-N SGD on fresh batches ===============================================

/* A two-layer net trained by online SGD: at step t a fresh batch of B points x_tb (rows
   t B .. t B + B - 1 of Xb) with labels yb, one step on 1/(2B) sum_b (y - f)^2 with step
   eta gamma0^2 N (fw_net_sgd_step; the same as fw_net_gd_step on the batch with lr eta / B).
   Conditioned on the batch sequence, the infinite-width net is a single-site process of the
   neuron's input weights v (D) and readout w: f(x) = E[w phi(v.x/sqrt D)] / gamma0, and a
   width-N net is the same map averaged over N neurons, so the fluctuation theory of
   fw_fluct_run applies with the batch cells (t, b) as training cells (docs/model.md section 2,
   docs/fluct.md section 9). Outputs on Q held-out points at the recorded steps: the
   infinite-width predictions and test loss, the variance and the O(1/N) mean shift of the
   width-N predictions, and the O(1/N) rise of the expected test loss, E L_N = L_inf + c(t)/N.
   Average over several batch sequences for the expected loss over data as well. Smooth
   activations (tanh, erf, linear). Cost: about T B + T one-direction passes of M samples over
   T steps, plus the (T B)^2 influence covariance's eigen-decomposition. */
typedef struct fw_online_data {
    int D, Q;                 /* input dimension; held-out points */
    const fw_real *Xb;        /* steps * batch x D, the batches in order (ld D) */
    const fw_real *yb;        /* steps * batch labels */
    const fw_real *Xt;        /* Q x D held-out inputs (ld D) */
    const fw_real *yt;        /* Q held-out labels */
} fw_online_data;

typedef struct fw_online_desc {
    fw_activation act;
    fw_real gamma0;           /* > 0; 0 means 1 */
    fw_real lr;               /* eta > 0 */
    int steps;                /* T >= 1 */
    int batch;                /* B >= 1 */
    int every;                /* record every k steps (and T); 0 means 1 */
    int width;                /* N >= 1 */
    int samples;              /* M in all (antithetic pairs, R replicates of M/R); 0 means 8192 */
    int replicates;           /* R >= 2; 0 means 8 */
    uint64_t seed;
    fw_reduce reduce;         /* the solve split across workers (each replicate's sites); zero: one worker */
    fw_log log;
} fw_online_desc;

/* R = n_records, t_r = fw_online_record_time(desc, r); each output with a replicate standard
   error (_se): f (R x Q) infinite-width predictions, f_var (R x Q) their variance at width N,
   f_bias (R x Q) the O(1/N) shift of their mean, E f_N - f_inf = b/N; test_loss (R) the
   infinite-width loss (1/2Q) sum_q (y - f)^2 and loss_shift (R) its O(1/N) rise at width N,
   E L_N - L_inf = (1/Q) sum_q (-(y_q - f_q) b_q/N + Var f_q / 2): the slowdown c(t)/N.
   The estimates are replicate means (O(1/M) sampling bias). */
typedef struct fw_online_result {
    int n_records, Q, width, samples_used, replicates_used;
    fw_real *f, *f_var, *f_bias, *test_loss, *loss_shift;
    fw_real *f_se, *f_var_se, *f_bias_se, *test_loss_se, *loss_shift_se;
    void *owned;
    fw_allocator alloc;
} fw_online_result;

FW_API int fw_online_record_time(const fw_online_desc *desc, int r);
FW_API fw_status fw_online_workspace_size(const fw_online_desc *desc, const fw_online_data *data, size_t *bytes);
FW_API fw_status fw_online_run_ws(const fw_online_desc *desc, const fw_online_data *data, fw_online_result *res,
                                  void *ws, size_t ws_bytes);
FW_API fw_status fw_online_run(const fw_online_desc *desc, const fw_online_data *data, fw_online_result *res,
                               const fw_allocator *alloc);
FW_API void fw_online_result_free(fw_online_result *res);

// ==== deep linear networks on random data (Bordelon & Pehlevan 2025): the simulator ===============

/* The model of docs/model.md section 4. Inputs x ~ N(0, Sigma) in R^D, Sigma diagonal: isotropic,
   or lambda_k proportional to k^-spectrum normalised to trace D. Teacher y = beta*.x/sqrt(D) +
   noise xi, beta* Gaussian: isotropic with |beta*|^2 ~ D, or (task > 0) with task power law
   lambda_k beta*_k^2 proportional to k^-task, normalised to sum_k lambda_k beta*_k^2 = D.
   Network: L hidden layers of width N, h1 = W0 x/sqrt(D), h(l+1) = W(l) h(l)/sqrt(N) (residual:
   h(l) + (residual/sqrt(L)) W(l) h(l)/sqrt(N)), f = w.hL/(gamma0 N); all weights N(0, 1);
   ntk != 0 sets gamma0 = 1/sqrt(N). Training on (1/2B) sum over the batch of (f - y)^2 with step
   eta gamma0^2 N on W(1..L-1) and w and eta gamma0^2 N D on W0: full-batch GD on P = alpha D
   fixed samples (batch_ratio = 0), or one-pass SGD on a fresh batch of B = batch_ratio D samples
   per step. The network is linear, f = beta_eff.x/sqrt(D), and every layer's gradient is rank
   one, so a step costs O(B D + L N^2 + N D). Test loss: the population loss, exactly,
   (1/2) [(beta_eff - beta*)^T Sigma (beta_eff - beta*)/D + noise^2]. */
typedef struct fw_dln_desc {
    int D, width, depth;      /* D >= 1, N >= 1, L >= 1 (0 means 1) */
    fw_real gamma0;           /* > 0; 0 means 1 */
    int ntk;                  /* NTK parameterization: gamma0 = 1/sqrt(N) */
    fw_real lr;               /* eta > 0 */
    int steps, every;         /* T >= 0; record every k steps and at T (0 means 1) */
    fw_real alpha;            /* repeated data: P = max(1, round(alpha D)) samples */
    fw_real batch_ratio;      /* > 0: one-pass SGD with B = max(1, round(batch_ratio D)) fresh samples per step */
    fw_real residual;         /* beta_res of the residual branches; 0 means a plain deep linear net */
    fw_real spectrum;         /* a of lambda_k ~ k^-a; 0 means isotropic */
    fw_real task;             /* b of lambda_k beta*_k^2 ~ k^-b; 0 means an isotropic teacher */
    fw_real noise;            /* label noise sd >= 0 */
    int init_term;            /* fw_dln_theory, muP: add the width-N (N = width) network's
                                 random initial function, variance G1(t,t)/(gamma0^2 N) per entry of beta_eff
                                 (docs/dln.md section 4), the leading finite-size term for gamma0 << 1 */
    int balanced;             /* the balanced proportional scaling (docs/dln.md section 7): output
                                 f = sqrt(D) w.hL/(gamma0 N) and the step eta gamma0^2 N on every layer
                                 (W0, hidden, readout); NTK: gamma0 = sqrt(D/N). The input layer's random
                                 part then stays comparable to its learned part, the initial function has
                                 variance G1/(gamma0^2 nu), and the limit depends on nu = N/D */
    fw_real source;           /* > 0: the capacity/source convention (docs/dln.md section 9) with source exponent
                                 beta = source: lambda_k = k^-a exactly (a = spectrum > 0; trace zeta(a), not D),
                                 the teacher beta*_k = k^((a - a beta - 1)/2) (lambda_k beta*_k^2 = k^-(a beta + 1),
                                 the same for every seed), f = beta_eff.x and y = beta*.x (no 1/sqrt(D)), the step
                                 eta gamma0^2 N on every layer, and training on the population loss (exact
                                 gradients, no samples: alpha = batch_ratio = 0; train = test loss) or, with
                                 batch > 0, by one-pass SGD. In fw_dln_theory and fw_dln_lazy D = 0 means
                                 infinitely many modes */
    int batch;                /* capacity/source convention: > 0 trains by one-pass SGD on `batch` fresh
                                 samples per step (x ~ N(0, Sigma), y = beta*.x + noise); 0: the population loss */
    int centered;             /* simulator: train and score f - f(0) (beta_eff - beta_eff(0)), removing the
                                 random initial function; the theories then start from 0 under NTK as well */
    uint64_t seed;            /* member s draws its data, teacher and weights from stream s */
    fw_log log;
} fw_dln_desc;

FW_API int fw_dln_record_count(const fw_dln_desc *desc);
FW_API int fw_dln_record_time(const fw_dln_desc *desc, int r);
FW_API fw_status fw_dln_workspace_size(const fw_dln_desc *desc, size_t *bytes);
/* Trains members seed_begin .. seed_end-1 and adds each member's record to stats (n = 2 R values:
   train loss then test loss at record r at 2 r and 2 r + 1; the train loss is on the batch of
   that step, before it). FW_ERR_DIVERGED if a member blows up (*diverged_step may be NULL). */
FW_API fw_status fw_dln_simulate_ws(const fw_dln_desc *desc, uint64_t seed_begin, uint64_t seed_end,
                                    fw_stats *stats, int *diverged_step, void *ws, size_t ws_bytes);
FW_API fw_status fw_dln_simulate(const fw_dln_desc *desc, uint64_t seed_begin, uint64_t seed_end,
                                 fw_stats *stats, int *diverged_step, const fw_allocator *alloc);

/* The lazy limit (docs/dln.md section 2): D, N, P -> infinity at fixed alpha, nu, then gamma0 -> 0;
   NTK parameterization (ntk != 0) is this limit at any gamma0. Only the input layer's kernel term
   survives, so beta_eff follows linear-regression gradient descent with step eta (1 + c^2)^(L-1)
   (c = residual/sqrt(L); the squared norm of the backward signal at layer 1 over N), started from
   an isotropic beta_eff(0) of variance (1 + c^2)^(L-1) per entry under NTK and 0 under muP (its
   1/(gamma0^2 N) vanishes in the limit). Repeated data: closed form over the Marchenko-Pastur
   spectrum of X^T X/P (ratio 1/alpha; isotropic inputs only, spectrum = 0; any task). One-pass
   SGD: the exact mode-by-mode second moments over desc->D modes of Sigma (any spectrum; for
   isotropic inputs the result does not depend on D). Writes R = fw_dln_record_count(desc) values
   into train and test (expected losses at the recorded steps; train: on the batch before the step).
   width, gamma0 and seed are not used. FW_ERR_DIVERGED if the losses overflow.
   desc->source > 0 (docs/dln.md section 9): every mode decays alone with step (L + 1) eta, from
   beta*_k (plus an initial function of variance 1 per mode under NTK unless centered); D = 0: all
   modes (1..64 one by one, the rest by Gauss-Legendre panels in log k, relative error ~1e-6);
   plain nets of any depth; time K R for K <= 224 nodes. desc->batch > 0: one-pass SGD, the exact
   per-mode second moments (time K T). */
FW_API fw_status fw_dln_lazy_workspace_size(const fw_dln_desc *desc, size_t *bytes);
FW_API fw_status fw_dln_lazy_ws(const fw_dln_desc *desc, fw_real *train, fw_real *test, void *ws, size_t ws_bytes);
FW_API fw_status fw_dln_lazy(const fw_dln_desc *desc, fw_real *train, fw_real *test, const fw_allocator *alloc);

/* The proportional-limit theory at any gamma0 (docs/dln.md section 3): D, N, P -> infinity at fixed
   alpha, nu, L, gamma0, eta, T. Under muP the input layer's learned rank-T part dominates its random
   initialization, so beta_eff(t) = -eta sum_{s<t} G1(s,t) r(s) with r = sqrt(D) X^T e/P and
   G1(s,t) = g1(s).g1(t)/N the input layer's backward kernel; the hidden layers follow a deep linear
   DMFT (Gaussian single-site fields with per-layer correlation and response functions, solved
   exactly by propagating coefficient vectors, no sampling) driven by C_r(s,t) = r(s).r(t)/D. The
   limit does not depend on nu. NTK parameterization: the same with gamma0 -> 0 and beta_eff(0) of
   variance (1 + c^2)^(L-1) (equal to fw_dln_lazy). desc->balanced: the balanced scaling's limit
   (docs/dln.md section 7), which depends on nu = width/D: the input layer's random part enters
   through the cavity of the N x D matrix (one more noise block and the responses chi_g, chi_r) and
   the initial function has variance G1/(gamma0^2 nu); NTK is gamma0 = 1/sqrt(nu) there. Repeated
   data: the cavity of the data matrix (docs/dln.md section 8), one mode for isotropic inputs (the
   Marchenko-Pastur average of section 3; any task), D modes on a power-law spectrum (time D T^3,
   memory 4 D (T+1)^2 doubles more). One-pass SGD: exact batch second moments with desc->D in the
   1/B terms, any spectrum (power law: D modes, memory D (T+1)^2 doubles more). Writes R = fw_dln_record_count(desc) expected train and test losses, and
   if gkernel != NULL the diagonal G_l(t,t) of every layer's backward kernel (R x L, row r, column
   l-1; layer L is the readout |w|^2/N). Memory ~ 8 L (T+1)^2 doubles, 8 L^2 (T+1)^2 with residual
   branches (fw_dln_theory_workspace_size); time ~ L T^3 (L^2 T^3 residual). FW_ERR_DIVERGED if a loss or kernel overflows.
   desc->source > 0 (the capacity/source convention, docs/dln.md section 9): the infinite-width limit
   of a net with one hidden layer under muP, the exact discrete recursion of the Gram matrix of the
   weights [w, W0] over the modes (D = 0: all of them, as in fw_dln_lazy); train = test (population
   loss); gkernel: the readout kernel C = |w|^2/N. Time K^2/2 per step (K <= 224 nodes: 3 s for
   10^5 steps), memory K^2/2 doubles. Depth >= 2 under muP: FW_ERR_ARG (not built); NTK: the lazy
   closed form at any depth. */
FW_API fw_status fw_dln_theory_workspace_size(const fw_dln_desc *desc, size_t *bytes);
FW_API fw_status fw_dln_theory_ws(const fw_dln_desc *desc, fw_real *train, fw_real *test, fw_real *gkernel,
                                  void *ws, size_t ws_bytes);
FW_API fw_status fw_dln_theory(const fw_dln_desc *desc, fw_real *train, fw_real *test, fw_real *gkernel,
                               const fw_allocator *alloc);

/* The infinite-depth limit of the residual network (L -> infinity with branches residual/sqrt(L);
   docs/dln.md section 6). The depth-L theory is a first-order discretisation of a continuous-depth
   dynamics (each layer adds c^2 = residual^2/L of drift and an independent noise of variance c^2), so
   its curves have the expansion F(L) = F(inf) + a/L + b/L^2 + O(L^-3). Richardson over three depths
   removes a and b: R(L) = (8 F(4L) - 6 F(2L) + F(L))/3 = F(inf) + O(L^-3). This runs fw_dln_theory at
   L0 = desc->depth, 2 L0, 4 L0 and 8 L0 and writes R(2 L0); train_err and test_err (either may be
   NULL) get an error estimate, the larger of |R(2 L0) - R(L0)| and the last correction
   |R(2 L0) - (2 F(8 L0) - F(4 L0))| (conservative once the expansion holds; where it matters,
   compare with a larger L0). Needs residual > 0. Memory: fw_dln_theory's at depth 8 L0; time
   about 1.2 times its (L0 = 2 or 4 is usually enough: the docs give numbers). */
FW_API fw_status fw_dln_deep_limit_workspace_size(const fw_dln_desc *desc, size_t *bytes);
FW_API fw_status fw_dln_deep_limit_ws(const fw_dln_desc *desc, fw_real *train, fw_real *test, fw_real *train_err,
                                      fw_real *test_err, void *ws, size_t ws_bytes);
FW_API fw_status fw_dln_deep_limit(const fw_dln_desc *desc, fw_real *train, fw_real *test, fw_real *train_err,
                                   fw_real *test_err, const fw_allocator *alloc);

#ifdef __cplusplus
}
#endif
#endif /* FINWIDTH_H */

/* =============================================================================================
   Implementation
   ============================================================================================= */
#ifdef FINWIDTH_IMPLEMENTATION
#ifndef FINWIDTH_IMPLEMENTATION_DONE
#define FINWIDTH_IMPLEMENTATION_DONE

#include <math.h>
#include <float.h>
#include <string.h>

#ifndef FW_MALLOC
#include <stdlib.h>
#define FW_MALLOC(n) malloc(n)
#define FW_FREE(p) free(p)
#endif
#ifndef FW_ASSERT
#include <assert.h>
#define FW_ASSERT(x) assert(x)
#endif
#ifndef FW_GEMM_KC
#define FW_GEMM_KC 256
#endif
#ifdef FW_USE_CBLAS
#include "finwidth_blas.h"
#endif

#if defined(__cplusplus)
#define FW_RESTRICT __restrict
#else
#define FW_RESTRICT restrict
#endif

#define FW__IS_FLOAT (sizeof(fw_real) == sizeof(float))
#define FW__EPS ((fw_real)(FW__IS_FLOAT ? FLT_EPSILON : DBL_EPSILON))

// ==== core implementation: math wrappers, status, allocator, arena ==============================

/* libm in the precision of fw_real; the branch is a compile-time constant. */
static fw_real fw__sqrt(fw_real x) { return FW__IS_FLOAT ? (fw_real)sqrtf((float)x) : (fw_real)sqrt((double)x); }
static fw_real fw__exp(fw_real x) { return FW__IS_FLOAT ? (fw_real)expf((float)x) : (fw_real)exp((double)x); }
static fw_real fw__log(fw_real x) { return FW__IS_FLOAT ? (fw_real)logf((float)x) : (fw_real)log((double)x); }
static fw_real fw__cos(fw_real x) { return FW__IS_FLOAT ? (fw_real)cosf((float)x) : (fw_real)cos((double)x); }
static fw_real fw__sin(fw_real x) { return FW__IS_FLOAT ? (fw_real)sinf((float)x) : (fw_real)sin((double)x); }
static fw_real fw__tanh(fw_real x) { return FW__IS_FLOAT ? (fw_real)tanhf((float)x) : (fw_real)tanh((double)x); }
static fw_real fw__erf(fw_real x) { return FW__IS_FLOAT ? (fw_real)erff((float)x) : (fw_real)erf((double)x); }
static fw_real fw__abs(fw_real x) { return x < 0 ? -x : x; }
/* NaN and Inf fail x - x == 0 (Inf - Inf is NaN); portable without isfinite's macro quirks. */
static int fw__finite(fw_real x) { volatile fw_real d = x - x; return d == d; }

static int fw__all_finite(int m, int n, const fw_real *A, int lda)
{
    int i, j;
    for (i = 0; i < m; ++i) {
        const fw_real *row = A + (size_t)i * (size_t)lda;
        fw_real acc = 0;
        for (j = 0; j < n; ++j) acc += row[j] * 0; /* NaN or Inf anywhere makes acc NaN */
        if (acc != acc) return 0;
    }
    return 1;
}

FW_API const char *fw_status_string(fw_status s)
{
    switch (s) {
    case FW_OK: return "success";
    case FW_ERR_NULL: return "a required pointer argument is NULL";
    case FW_ERR_SIZE: return "a size argument is zero, negative or too large";
    case FW_ERR_LD: return "a leading dimension is smaller than the number of columns it must hold";
    case FW_ERR_ARG: return "an argument is outside its documented range";
    case FW_ERR_NONFINITE: return "an input or result contains NaN or Inf";
    case FW_ERR_NOMEM: return "out of memory: the allocator returned NULL";
    case FW_ERR_WORKSPACE: return "the workspace is smaller than the size query asked for";
    case FW_ERR_NOT_PD: return "the matrix is not symmetric positive definite";
    case FW_ERR_SINGULAR: return "the matrix is singular to working precision";
    case FW_ERR_DIVERGED: return "the run diverged (NaN or Inf appeared): the learning rate is too large";
    case FW_ERR_NO_CONVERGENCE: return "the iteration reached its cap without meeting its tolerance";
    case FW_STATUS_COUNT: break;
    }
    return "unknown fw_status value";
}

static int fw__allocator_ok(const fw_allocator *a)
{
    return a == NULL || ((a->alloc == NULL) == (a->free == NULL));
}

static void *fw__alloc(const fw_allocator *a, size_t bytes)
{
    if (a != NULL && a->alloc != NULL) return a->alloc(bytes, a->user);
    return FW_MALLOC(bytes);
}

static void fw__free(const fw_allocator *a, void *p)
{
    if (p == NULL) return;
    if (a != NULL && a->free != NULL) a->free(p, a->user);
    else FW_FREE(p);
}

/* The allocation step of every allocating form (fw_x next to fw_x_ws): checks the allocator and
   the status of the workspace size query, then takes `bytes` into *ws. */
static fw_status fw__ws_take(const fw_allocator *a, fw_status size_status, size_t bytes, void **ws)
{
    *ws = NULL;
    if (!fw__allocator_ok(a)) return FW_ERR_ARG;
    if (size_status != FW_OK) return size_status;
    return (*ws = fw__alloc(a, bytes)) == NULL ? FW_ERR_NOMEM : FW_OK;
}

/* The allocating forms' last step: on success the result keeps the workspace in *owned (with the
   allocator in *keep) until its *_result_free; on failure the workspace is freed and the result
   (res_bytes at res) cleared. */
static fw_status fw__keep_ws(fw_status st, const fw_allocator *alloc, void *ws, void *res, size_t res_bytes,
                             void **owned, fw_allocator *keep)
{
    if (st != FW_OK) {
        fw__free(alloc, ws);
        memset(res, 0, res_bytes);
        return st;
    }
    *owned = ws;
    if (alloc != NULL) *keep = *alloc;
    return FW_OK;
}

/* The *_result_free of a result that owns its workspace. */
static void fw__release(void *res, size_t res_bytes, void *owned, const fw_allocator *a)
{
    if (owned != NULL) fw__free(a, owned);
    memset(res, 0, res_bytes);
}

/* Checked size arithmetic: a product or sum that size_t cannot hold saturates at SIZE_MAX, which no
   arena can hold, so a workspace query built on these answers FW_ERR_SIZE instead of a wrapped
   size (on 32-bit targets as on 64-bit). */
static size_t fw__size_mul(size_t a, size_t b) { return a != 0 && b > SIZE_MAX / a ? SIZE_MAX : a * b; }
static size_t fw__size_mul3(size_t a, size_t b, size_t c) { return fw__size_mul(fw__size_mul(a, b), c); }

FW_API void fw_arena_init(fw_arena *a, void *buf, size_t bytes)
{
    if (a == NULL) return;
    a->base = (unsigned char *)buf;
    a->size = buf != NULL ? bytes : 0;
    /* A measuring arena counts the worst-case alignment slack of an unknown buffer up front. */
    a->used = buf != NULL ? 0 : FW_ALIGN - 1;
    a->failed = 0;
}

FW_API void *fw_arena_push(fw_arena *a, size_t bytes)
{
    size_t rounded, pad;
    if (a == NULL) return NULL;
    rounded = (bytes + (FW_ALIGN - 1)) & ~(size_t)(FW_ALIGN - 1);
    if (rounded < bytes) { a->failed = 1; return NULL; }           /* size_t overflow */
    if (a->base == NULL) {                                         /* measuring */
        if (rounded > SIZE_MAX - a->used) { a->failed = 1; a->used = SIZE_MAX; return NULL; }
        a->used += rounded;
        return NULL;
    }
    pad = (size_t)((FW_ALIGN - ((uintptr_t)(a->base + a->used) & (FW_ALIGN - 1))) & (FW_ALIGN - 1));
    if (a->used + pad > a->size || rounded > a->size - a->used - pad) { a->failed = 1; return NULL; }
    a->used += pad;
    {
        void *p = a->base + a->used;
        a->used += rounded;
        return p;
    }
}

// ==== core implementation: Philox4x32-10 ========================================================

static void fw__mulhilo32(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

FW_API void fw_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    /* Salmon et al., "Parallel random numbers: as easy as 1, 2, 3" (SC 2011): 10 rounds. */
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    int round;
    for (round = 0; round < 10; ++round) {
        uint32_t hi0, lo0, hi1, lo1;
        fw__mulhilo32(0xD2511F53u, c0, &hi0, &lo0);
        fw__mulhilo32(0xCD9E8D57u, c2, &hi1, &lo1);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

FW_API void fw_rng_init(fw_rng *r, uint64_t seed, uint64_t stream)
{
    if (r == NULL) return;
    r->key[0] = (uint32_t)seed;
    r->key[1] = (uint32_t)(seed >> 32);
    r->ctr[0] = 0; r->ctr[1] = 0;
    r->ctr[2] = (uint32_t)stream;
    r->ctr[3] = (uint32_t)(stream >> 32);
    r->next_word = 4;
    r->has_spare = 0;
    r->spare = 0;
}

FW_API uint32_t fw_rng_u32(fw_rng *r)
{
    if (r == NULL) return 0;
    if (r->next_word >= 4) {
        fw_philox4x32(r->ctr, r->key, r->block);
        if (++r->ctr[0] == 0) ++r->ctr[1];
        r->next_word = 0;
    }
    return r->block[r->next_word++];
}

FW_API fw_real fw_rng_uniform(fw_rng *r)
{
    uint32_t a, b;
    if (r == NULL) return (fw_real)NAN;
    a = fw_rng_u32(r) >> 5;
    b = fw_rng_u32(r) >> 6;
    /* Exact in double; in float the one rounding is relative, so ln u stays accurate. */
    fw_real u = ((fw_real)a * (fw_real)67108864.0 + (fw_real)b + (fw_real)0.5)
                * (fw_real)1.1102230246251565e-16; /* 2^-53 */
    if (u >= 1) u = 1 - FW__EPS / 2;                   /* only reachable in float */
    return u;
}

FW_API fw_real fw_rng_normal(fw_rng *r)
{
    fw_real u1, u2, rad, theta;
    if (r == NULL) return (fw_real)NAN;
    if (r->has_spare) { r->has_spare = 0; return r->spare; }
    u1 = fw_rng_uniform(r);
    u2 = fw_rng_uniform(r);
    rad = fw__sqrt(-2 * fw__log(u1));
    theta = (fw_real)6.283185307179586 * u2;
    r->spare = rad * fw__sin(theta);
    r->has_spare = 1;
    return rad * fw__cos(theta);
}

/* Positions a fresh stream (fw_rng_init) at its k-th normal: a pair of normals takes exactly one
   Philox block, so the block k / 2 is entered directly (and, k odd, its first normal dropped). A
   worker that holds part of a sample set draws each sample's numbers this way. */
static void fw__rng_seek_normal(fw_rng *r, uint64_t k)
{
    r->ctr[0] = (uint32_t)(k / 2);
    r->ctr[1] = (uint32_t)((k / 2) >> 32);
    r->next_word = 4;
    r->has_spare = 0;
    if (k % 2 == 1) (void)fw_rng_normal(r);
}

FW_API fw_status fw_rng_fill_normal(fw_rng *r, fw_real *x, int n, fw_real scale)
{
    int i;
    if (r == NULL || x == NULL) return FW_ERR_NULL;
    if (n < 1) return FW_ERR_SIZE;
    if (!fw__finite(scale)) return FW_ERR_NONFINITE;
    for (i = 0; i < n; ++i) x[i] = scale * fw_rng_normal(r);
    return FW_OK;
}

// ==== core implementation: dense linear algebra =================================================

/* Register tile of the gemm micro-kernel: MR = 8 rows by NR = 8 columns of C. */
#define FW_GEMM_MR 8
#define FW_GEMM_NR 8
#define FW__GEMM_MC 128

static fw_real fw__dot(int n, const fw_real *FW_RESTRICT x, const fw_real *FW_RESTRICT y)
{
    /* Eight independent partial sums: vectorisable without -ffast-math, and a fixed summation
       order, so the result does not depend on the compiler. */
    fw_real acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    fw_real s;
    int i = 0, u;
    for (; i + 8 <= n; i += 8)
        for (u = 0; u < 8; ++u) acc[u] += x[i + u] * y[i + u];
    s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; ++i) s += x[i] * y[i];
    return s;
}

static void fw__axpy(int n, fw_real a, const fw_real *FW_RESTRICT x, fw_real *FW_RESTRICT y)
{
    int i;
    for (i = 0; i < n; ++i) y[i] += a * x[i];
}

/* C(m x n) *= beta, with beta = 0 writing zeros without reading C. */
static void fw__scale_matrix(int m, int n, fw_real beta, fw_real *C, int ldc)
{
    int i, j;
    if (beta == 1) return;
    for (i = 0; i < m; ++i) {
        fw_real *row = C + (size_t)i * (size_t)ldc;
        if (beta == 0) for (j = 0; j < n; ++j) row[j] = 0;
        else for (j = 0; j < n; ++j) row[j] *= beta;
    }
}

/* op(X)[i][p] for a row-major X with leading dimension ld. */
static fw_real fw__op_at(const fw_real *X, int ld, fw_trans t, int i, int p)
{
    return t == FW_NO_TRANS ? X[(size_t)i * (size_t)ld + (size_t)p] : X[(size_t)p * (size_t)ld + (size_t)i];
}

/* Packs alpha * op(B)[p0 .. p0+kc, j0 .. j0+nr] as kc rows of NR (zero padded past nr). */
static void fw__pack_b(int kc, int nr, int j0, int p0, fw_real alpha, const fw_real *B, int ldb,
                       fw_trans tb, fw_real *FW_RESTRICT dst)
{
    const int NR = FW_GEMM_NR;
    int p, j;
    for (p = 0; p < kc; ++p) {
        fw_real *d = dst + (size_t)p * NR;
        if (tb == FW_NO_TRANS) {
            const fw_real *src = B + (size_t)(p0 + p) * (size_t)ldb + (size_t)j0;
            for (j = 0; j < nr; ++j) d[j] = alpha * src[j];
        } else {
            for (j = 0; j < nr; ++j) d[j] = alpha * B[(size_t)(j0 + j) * (size_t)ldb + (size_t)(p0 + p)];
        }
        for (j = nr; j < NR; ++j) d[j] = 0;
    }
}

/* C[0..8, 0..nr] += A-panel * packed B; a_rs / a_cs are A's row and column strides. Eight named
   row accumulators updated in one j loop: the shape that gcc and clang both turn into eight
   vector registers of FMAs at -O2 (measured in bench/: near the machine's DGEMM rate). */
static void fw__kernel_full(int kc, const fw_real *FW_RESTRICT a, size_t a_rs, size_t a_cs,
                            const fw_real *FW_RESTRICT b, fw_real *FW_RESTRICT c, int ldc, int nr)
{
    fw_real c0[8], c1[8], c2[8], c3[8], c4[8], c5[8], c6[8], c7[8];
    fw_real *rows[8];
    int p, j, r;
    for (j = 0; j < 8; ++j) c0[j] = c1[j] = c2[j] = c3[j] = c4[j] = c5[j] = c6[j] = c7[j] = 0;
    for (p = 0; p < kc; ++p) {
        const fw_real *bp = b + (size_t)p * 8, *ap = a + (size_t)p * a_cs;
        fw_real a0 = ap[0], a1 = ap[a_rs], a2 = ap[2 * a_rs], a3 = ap[3 * a_rs];
        fw_real a4 = ap[4 * a_rs], a5 = ap[5 * a_rs], a6 = ap[6 * a_rs], a7 = ap[7 * a_rs];
        for (j = 0; j < 8; ++j) {
            fw_real bj = bp[j];
            c0[j] += a0 * bj; c1[j] += a1 * bj; c2[j] += a2 * bj; c3[j] += a3 * bj;
            c4[j] += a4 * bj; c5[j] += a5 * bj; c6[j] += a6 * bj; c7[j] += a7 * bj;
        }
    }
    rows[0] = c0; rows[1] = c1; rows[2] = c2; rows[3] = c3;
    rows[4] = c4; rows[5] = c5; rows[6] = c6; rows[7] = c7;
    for (r = 0; r < 8; ++r) {
        fw_real *crow = c + (size_t)r * (size_t)ldc;
        for (j = 0; j < nr; ++j) crow[j] += rows[r][j];
    }
}

/* The same for an edge tile of mr < MR rows. */
static void fw__kernel_edge(int kc, int mr, const fw_real *a, size_t a_rs, size_t a_cs,
                            const fw_real *b, fw_real *c, int ldc, int nr)
{
    const int NR = FW_GEMM_NR;
    int p, r, j;
    for (r = 0; r < mr; ++r) {
        fw_real *crow = c + (size_t)r * (size_t)ldc;
        fw_real acc[FW_GEMM_NR];
        for (j = 0; j < NR; ++j) acc[j] = 0;
        for (p = 0; p < kc; ++p) {
            fw_real ar = a[(size_t)r * a_rs + (size_t)p * a_cs];
            const fw_real *bp = b + (size_t)p * (size_t)NR;
            for (j = 0; j < NR; ++j) acc[j] += ar * bp[j];
        }
        for (j = 0; j < nr; ++j) crow[j] += acc[j];
    }
}

/* C += alpha op(A) op(B), blocked: depth blocks of FW_GEMM_KC, row blocks of MC (A's block stays
   in L2), and for each NR-wide column strip a packed B panel (kc x NR, in L1) streamed against
   MR-row slices of A. With lower_only, tiles strictly above the diagonal are skipped (syrk). */
static void fw__gemm_blocked(fw_trans ta, fw_trans tb, int m, int n, int k, fw_real alpha,
                             const fw_real *A, int lda, const fw_real *B, int ldb, fw_real *C,
                             int ldc, int lower_only)
{
    fw_real bpack[FW_GEMM_KC * FW_GEMM_NR];
    const int NR = FW_GEMM_NR, MR = FW_GEMM_MR;
    const size_t a_rs = ta == FW_NO_TRANS ? (size_t)lda : 1;
    const size_t a_cs = ta == FW_NO_TRANS ? 1 : (size_t)lda;
    int p0, i0, j0, i;
    for (p0 = 0; p0 < k; p0 += FW_GEMM_KC) {
        int kc = k - p0 < FW_GEMM_KC ? k - p0 : FW_GEMM_KC;
        for (i0 = 0; i0 < m; i0 += FW__GEMM_MC) {
            int mc = m - i0 < FW__GEMM_MC ? m - i0 : FW__GEMM_MC;
            for (j0 = 0; j0 < n; j0 += NR) {
                int nr = n - j0 < NR ? n - j0 : NR;
                if (lower_only && j0 >= i0 + mc) break;
                fw__pack_b(kc, nr, j0, p0, alpha, B, ldb, tb, bpack);
                for (i = i0; i < i0 + mc; i += MR) {
                    int mr = i0 + mc - i < MR ? i0 + mc - i : MR;
                    const fw_real *ap = A + (size_t)i * a_rs + (size_t)p0 * a_cs;
                    fw_real *cp = C + (size_t)i * (size_t)ldc + (size_t)j0;
                    if (lower_only && j0 >= i + mr) continue;
                    if (mr == MR) fw__kernel_full(kc, ap, a_rs, a_cs, bpack, cp, ldc, nr);
                    else fw__kernel_edge(kc, mr, ap, a_rs, a_cs, bpack, cp, ldc, nr);
                }
            }
        }
    }
}

/* C += alpha op(A) op(B) for small products: plain loops, no stack buffer (MCU friendly). */
static void fw__gemm_small(fw_trans ta, fw_trans tb, int m, int n, int k, fw_real alpha,
                           const fw_real *A, int lda, const fw_real *B, int ldb, fw_real *C, int ldc,
                           int lower_only)
{
    int i, j, p;
    for (i = 0; i < m; ++i) {
        fw_real *crow = C + (size_t)i * (size_t)ldc;
        int jmax = lower_only ? i + 1 : n;
        if (tb == FW_NO_TRANS) {
            for (p = 0; p < k; ++p)
                fw__axpy(jmax, alpha * fw__op_at(A, lda, ta, i, p), B + (size_t)p * (size_t)ldb, crow);
        } else if (ta == FW_NO_TRANS) {
            for (j = 0; j < jmax; ++j)
                crow[j] += alpha * fw__dot(k, A + (size_t)i * (size_t)lda, B + (size_t)j * (size_t)ldb);
        } else {
            for (j = 0; j < jmax; ++j) {
                fw_real s = 0;
                for (p = 0; p < k; ++p) s += fw__op_at(A, lda, ta, i, p) * B[(size_t)j * (size_t)ldb + (size_t)p];
                crow[j] += alpha * s;
            }
        }
    }
}

static void fw__gemm_update(fw_trans ta, fw_trans tb, int m, int n, int k, fw_real alpha,
                            const fw_real *A, int lda, const fw_real *B, int ldb, fw_real *C,
                            int ldc, int lower_only)
{
    /* Below about 48^3 multiply-adds the packing does not pay for itself. */
    if ((double)m * (double)n * (double)k < 110592.0 || m < FW_GEMM_MR || n < FW_GEMM_NR)
        fw__gemm_small(ta, tb, m, n, k, alpha, A, lda, B, ldb, C, ldc, lower_only);
    else
        fw__gemm_blocked(ta, tb, m, n, k, alpha, A, lda, B, ldb, C, ldc, lower_only);
}

/* Internal entry points: no argument checks (callers inside the library pass valid shapes). */
static void fw__gemm_portable(fw_trans ta, fw_trans tb, int m, int n, int k, fw_real alpha,
                              const fw_real *A, int lda, const fw_real *B, int ldb, fw_real beta,
                              fw_real *C, int ldc)
{
    fw__scale_matrix(m, n, beta, C, ldc);
    if (alpha != 0) fw__gemm_update(ta, tb, m, n, k, alpha, A, lda, B, ldb, C, ldc, 0);
}

static void fw__gemv_portable(fw_trans ta, int m, int n, fw_real alpha, const fw_real *A, int lda,
                              const fw_real *x, fw_real beta, fw_real *y)
{
    int i, ny = ta == FW_NO_TRANS ? m : n;
    for (i = 0; i < ny; ++i) y[i] = beta == 0 ? 0 : beta * y[i];
    if (alpha == 0) return;
    if (ta == FW_NO_TRANS)
        for (i = 0; i < m; ++i) y[i] += alpha * fw__dot(n, A + (size_t)i * (size_t)lda, x);
    else
        for (i = 0; i < m; ++i) fw__axpy(n, alpha * x[i], A + (size_t)i * (size_t)lda, y);
}

static void fw__symmetrize_from_lower(int n, fw_real *C, int ldc)
{
    int i, j;
    for (i = 0; i < n; ++i)
        for (j = i + 1; j < n; ++j) C[(size_t)i * (size_t)ldc + (size_t)j] = C[(size_t)j * (size_t)ldc + (size_t)i];
}

static void fw__syrk_portable(fw_trans ta, int n, int k, fw_real alpha, const fw_real *A, int lda,
                              fw_real beta, fw_real *C, int ldc)
{
    fw_trans tb = ta == FW_NO_TRANS ? FW_TRANS : FW_NO_TRANS;
    fw__scale_matrix(n, n, beta, C, ldc);
    if (alpha != 0) fw__gemm_update(ta, tb, n, n, k, alpha, A, lda, A, lda, C, ldc, 1);
    fw__symmetrize_from_lower(n, C, ldc);
}

static void fw__gemm(fw_trans ta, fw_trans tb, int m, int n, int k, fw_real alpha, const fw_real *A,
                     int lda, const fw_real *B, int ldb, fw_real beta, fw_real *C, int ldc)
{
#ifdef FW_BLAS_GEMM
    FW_BLAS_GEMM(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    fw__gemm_portable(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

static void fw__gemv(fw_trans ta, int m, int n, fw_real alpha, const fw_real *A, int lda,
                     const fw_real *x, fw_real beta, fw_real *y)
{
#ifdef FW_BLAS_GEMV
    FW_BLAS_GEMV(ta, m, n, alpha, A, lda, x, beta, y);
#else
    fw__gemv_portable(ta, m, n, alpha, A, lda, x, beta, y);
#endif
}

static void fw__syrk(fw_trans ta, int n, int k, fw_real alpha, const fw_real *A, int lda,
                     fw_real beta, fw_real *C, int ldc)
{
#ifdef FW_BLAS_SYRK
    FW_BLAS_SYRK(ta, n, k, alpha, A, lda, beta, C, ldc);  /* fills the lower triangle */
    fw__symmetrize_from_lower(n, C, ldc);
#else
    fw__syrk_portable(ta, n, k, alpha, A, lda, beta, C, ldc);
#endif
}

/* Argument checks shared by the public wrappers. A stored matrix of r rows by c columns. */
static fw_status fw__check_matrix(const fw_real *X, int rows, int cols, int ld)
{
    if (X == NULL) return FW_ERR_NULL;
    if (rows < 1 || cols < 1) return FW_ERR_SIZE;
    if (ld < cols) return FW_ERR_LD;
    return FW_OK;
}

static int fw__trans_ok(fw_trans t) { return t == FW_NO_TRANS || t == FW_TRANS; }

static fw_status fw__check_gemm(fw_trans ta, fw_trans tb, int m, int n, int k, fw_real alpha,
                                const fw_real *A, int lda, const fw_real *B, int ldb, fw_real beta,
                                const fw_real *C, int ldc)
{
    fw_status s;
    if (A == NULL || B == NULL || C == NULL) return FW_ERR_NULL;
    if (m < 1 || n < 1 || k < 1) return FW_ERR_SIZE;
    if (!fw__trans_ok(ta) || !fw__trans_ok(tb)) return FW_ERR_ARG;
    if ((s = fw__check_matrix(A, ta == FW_NO_TRANS ? m : k, ta == FW_NO_TRANS ? k : m, lda)) != FW_OK) return s;
    if ((s = fw__check_matrix(B, tb == FW_NO_TRANS ? k : n, tb == FW_NO_TRANS ? n : k, ldb)) != FW_OK) return s;
    if ((s = fw__check_matrix(C, m, n, ldc)) != FW_OK) return s;
    if (!fw__finite(alpha) || !fw__finite(beta)) return FW_ERR_NONFINITE;
    return FW_OK;
}

FW_API fw_status fw_gemm_portable(fw_trans ta, fw_trans tb, int m, int n, int k, fw_real alpha,
                                  const fw_real *A, int lda, const fw_real *B, int ldb,
                                  fw_real beta, fw_real *C, int ldc)
{
    fw_status s = fw__check_gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    if (s != FW_OK) return s;
    fw__gemm_portable(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    return FW_OK;
}

FW_API fw_status fw_gemm(fw_trans ta, fw_trans tb, int m, int n, int k, fw_real alpha,
                         const fw_real *A, int lda, const fw_real *B, int ldb, fw_real beta,
                         fw_real *C, int ldc)
{
    fw_status s = fw__check_gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    if (s != FW_OK) return s;
    fw__gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    /* NaN/Inf in A, B or the read part of C reaches C; checking the m x n result is cheap next
       to the m n k product. */
    return fw__all_finite(m, n, C, ldc) ? FW_OK : FW_ERR_NONFINITE;
}

static fw_status fw__check_gemv(fw_trans ta, int m, int n, fw_real alpha, const fw_real *A, int lda,
                                const fw_real *x, fw_real beta, const fw_real *y)
{
    fw_status s;
    if (A == NULL || x == NULL || y == NULL) return FW_ERR_NULL;
    if (!fw__trans_ok(ta)) return FW_ERR_ARG;
    if ((s = fw__check_matrix(A, m, n, lda)) != FW_OK) return s;
    if (!fw__finite(alpha) || !fw__finite(beta)) return FW_ERR_NONFINITE;
    return FW_OK;
}

FW_API fw_status fw_gemv_portable(fw_trans ta, int m, int n, fw_real alpha, const fw_real *A,
                                  int lda, const fw_real *x, fw_real beta, fw_real *y)
{
    fw_status s = fw__check_gemv(ta, m, n, alpha, A, lda, x, beta, y);
    if (s != FW_OK) return s;
    fw__gemv_portable(ta, m, n, alpha, A, lda, x, beta, y);
    return FW_OK;
}

FW_API fw_status fw_gemv(fw_trans ta, int m, int n, fw_real alpha, const fw_real *A, int lda,
                         const fw_real *x, fw_real beta, fw_real *y)
{
    fw_status s = fw__check_gemv(ta, m, n, alpha, A, lda, x, beta, y);
    if (s != FW_OK) return s;
    fw__gemv(ta, m, n, alpha, A, lda, x, beta, y);
    return fw__all_finite(1, ta == FW_NO_TRANS ? m : n, y, ta == FW_NO_TRANS ? m : n) ? FW_OK : FW_ERR_NONFINITE;
}

static fw_status fw__check_syrk(fw_trans ta, int n, int k, fw_real alpha, const fw_real *A, int lda,
                                fw_real beta, const fw_real *C, int ldc)
{
    fw_status s;
    if (A == NULL || C == NULL) return FW_ERR_NULL;
    if (n < 1 || k < 1) return FW_ERR_SIZE;
    if (!fw__trans_ok(ta)) return FW_ERR_ARG;
    if ((s = fw__check_matrix(A, ta == FW_NO_TRANS ? n : k, ta == FW_NO_TRANS ? k : n, lda)) != FW_OK) return s;
    if ((s = fw__check_matrix(C, n, n, ldc)) != FW_OK) return s;
    if (!fw__finite(alpha) || !fw__finite(beta)) return FW_ERR_NONFINITE;
    return FW_OK;
}

FW_API fw_status fw_syrk_portable(fw_trans ta, int n, int k, fw_real alpha, const fw_real *A,
                                  int lda, fw_real beta, fw_real *C, int ldc)
{
    fw_status s = fw__check_syrk(ta, n, k, alpha, A, lda, beta, C, ldc);
    if (s != FW_OK) return s;
    fw__syrk_portable(ta, n, k, alpha, A, lda, beta, C, ldc);
    return FW_OK;
}

FW_API fw_status fw_syrk(fw_trans ta, int n, int k, fw_real alpha, const fw_real *A, int lda,
                         fw_real beta, fw_real *C, int ldc)
{
    fw_status s = fw__check_syrk(ta, n, k, alpha, A, lda, beta, C, ldc);
    if (s != FW_OK) return s;
    fw__syrk(ta, n, k, alpha, A, lda, beta, C, ldc);
    return fw__all_finite(n, n, C, ldc) ? FW_OK : FW_ERR_NONFINITE;
}

/* Lower-triangle checks for the symmetric routines (Cholesky, eigh, expm). */
static int fw__lower_finite(int n, const fw_real *A, int lda)
{
    int i;
    for (i = 0; i < n; ++i)
        if (!fw__all_finite(1, i + 1, A + (size_t)i * (size_t)lda, i + 1)) return 0;
    return 1;
}

FW_API fw_status fw_cholesky(int n, fw_real *A, int lda)
{
    fw_status s = fw__check_matrix(A, n, n, lda);
    int i, j;
    if (s != FW_OK) return s;
    if (!fw__lower_finite(n, A, lda)) return FW_ERR_NONFINITE;
    /* Row-oriented (Cholesky-Crout): row i of L from the rows above it, dot products contiguous. */
    for (i = 0; i < n; ++i) {
        fw_real *ri = A + (size_t)i * (size_t)lda;
        fw_real d;
        for (j = 0; j < i; ++j) {
            const fw_real *rj = A + (size_t)j * (size_t)lda;
            ri[j] = (ri[j] - fw__dot(j, ri, rj)) / rj[j];
        }
        d = ri[i] - fw__dot(i, ri, ri);
        if (!(d > 0)) return FW_ERR_NOT_PD;   /* also catches NaN */
        ri[i] = fw__sqrt(d);
    }
    for (i = 0; i < n; ++i)
        for (j = i + 1; j < n; ++j) A[(size_t)i * (size_t)lda + (size_t)j] = 0;
    return FW_OK;
}

static fw_status fw__check_solve_args(int n, int nrhs, const fw_real *T, int ldt, const fw_real *B, int ldb)
{
    fw_status s;
    if (T == NULL || B == NULL) return FW_ERR_NULL;
    if (n < 1 || nrhs < 1) return FW_ERR_SIZE;
    if ((s = fw__check_matrix(T, n, n, ldt)) != FW_OK) return s;
    return fw__check_matrix(B, n, nrhs, ldb);
}

/* op(T) X = B, row-oriented substitution; rows of B are contiguous so updates are axpys. */
static fw_status fw__trsm(fw_uplo uplo, fw_trans t, fw_diag diag, int n, int nrhs, const fw_real *T,
                          int ldt, fw_real *B, int ldb)
{
    /* op(T) is lower triangular iff (lower and no transpose) or (upper and transpose). */
    int lower_eff = (uplo == FW_LOWER) == (t == FW_NO_TRANS);
    int step, i, p, j;
    for (step = 0; step < n; ++step) {
        fw_real *bi;
        i = lower_eff ? step : n - 1 - step;
        bi = B + (size_t)i * (size_t)ldb;
        if (lower_eff) {
            for (p = 0; p < i; ++p)
                fw__axpy(nrhs, -fw__op_at(T, ldt, t, i, p), B + (size_t)p * (size_t)ldb, bi);
        } else {
            for (p = i + 1; p < n; ++p)
                fw__axpy(nrhs, -fw__op_at(T, ldt, t, i, p), B + (size_t)p * (size_t)ldb, bi);
        }
        if (diag == FW_NON_UNIT) {
            fw_real d = T[(size_t)i * (size_t)ldt + (size_t)i];
            if (d == 0) return FW_ERR_SINGULAR;
            for (j = 0; j < nrhs; ++j) bi[j] /= d;
        }
    }
    return FW_OK;
}

FW_API fw_status fw_solve_triangular(fw_uplo uplo, fw_trans t, fw_diag diag, int n, int nrhs,
                                     const fw_real *T, int ldt, fw_real *B, int ldb)
{
    fw_status s = fw__check_solve_args(n, nrhs, T, ldt, B, ldb);
    if (s != FW_OK) return s;
    if ((uplo != FW_LOWER && uplo != FW_UPPER) || !fw__trans_ok(t) ||
        (diag != FW_NON_UNIT && diag != FW_UNIT)) return FW_ERR_ARG;
    if (!fw__all_finite(n, n, T, ldt) || !fw__all_finite(n, nrhs, B, ldb)) return FW_ERR_NONFINITE;
    if ((s = fw__trsm(uplo, t, diag, n, nrhs, T, ldt, B, ldb)) != FW_OK) return s;
    return fw__all_finite(n, nrhs, B, ldb) ? FW_OK : FW_ERR_NONFINITE;
}

FW_API fw_status fw_cholesky_solve(int n, int nrhs, const fw_real *L, int ldl, fw_real *B, int ldb)
{
    fw_status s = fw_solve_triangular(FW_LOWER, FW_NO_TRANS, FW_NON_UNIT, n, nrhs, L, ldl, B, ldb);
    if (s != FW_OK) return s;
    return fw_solve_triangular(FW_LOWER, FW_TRANS, FW_NON_UNIT, n, nrhs, L, ldl, B, ldb);
}

FW_API fw_status fw_lu(int n, fw_real *A, int lda, int *piv)
{
    fw_status s = fw__check_matrix(A, n, n, lda);
    fw_real amax = 0, tiny;
    int i, j, k;
    if (s != FW_OK) return s;
    if (piv == NULL) return FW_ERR_NULL;
    if (!fw__all_finite(n, n, A, lda)) return FW_ERR_NONFINITE;
    for (i = 0; i < n; ++i)
        for (j = 0; j < n; ++j) {
            fw_real v = fw__abs(A[(size_t)i * (size_t)lda + (size_t)j]);
            if (v > amax) amax = v;
        }
    tiny = (fw_real)n * FW__EPS * amax;
    for (k = 0; k < n; ++k) {
        int pr = k;
        fw_real best = fw__abs(A[(size_t)k * (size_t)lda + (size_t)k]);
        fw_real *rk;
        for (i = k + 1; i < n; ++i) {
            fw_real v = fw__abs(A[(size_t)i * (size_t)lda + (size_t)k]);
            if (v > best) { best = v; pr = i; }
        }
        piv[k] = pr;
        if (best == 0 || best <= tiny) return FW_ERR_SINGULAR;
        if (pr != k) {
            fw_real *a = A + (size_t)k * (size_t)lda, *b = A + (size_t)pr * (size_t)lda;
            for (j = 0; j < n; ++j) { fw_real t = a[j]; a[j] = b[j]; b[j] = t; }
        }
        rk = A + (size_t)k * (size_t)lda;
        for (i = k + 1; i < n; ++i) {
            fw_real *ri = A + (size_t)i * (size_t)lda;
            fw_real l = ri[k] / rk[k];
            ri[k] = l;
            fw__axpy(n - k - 1, -l, rk + k + 1, ri + k + 1);
        }
    }
    return FW_OK;
}

FW_API fw_status fw_lu_solve(int n, int nrhs, const fw_real *LU, int lda, const int *piv,
                             fw_real *B, int ldb)
{
    fw_status s = fw__check_solve_args(n, nrhs, LU, lda, B, ldb);
    int i, j;
    if (s != FW_OK) return s;
    if (piv == NULL) return FW_ERR_NULL;
    for (i = 0; i < n; ++i)
        if (piv[i] < i || piv[i] >= n) return FW_ERR_ARG;
    if (!fw__all_finite(n, nrhs, B, ldb)) return FW_ERR_NONFINITE;
    for (i = 0; i < n; ++i)
        if (piv[i] != i) {
            fw_real *a = B + (size_t)i * (size_t)ldb, *b = B + (size_t)piv[i] * (size_t)ldb;
            for (j = 0; j < nrhs; ++j) { fw_real t = a[j]; a[j] = b[j]; b[j] = t; }
        }
    if ((s = fw__trsm(FW_LOWER, FW_NO_TRANS, FW_UNIT, n, nrhs, LU, lda, B, ldb)) != FW_OK) return s;
    if ((s = fw__trsm(FW_UPPER, FW_NO_TRANS, FW_NON_UNIT, n, nrhs, LU, lda, B, ldb)) != FW_OK) return s;
    return fw__all_finite(n, nrhs, B, ldb) ? FW_OK : FW_ERR_NONFINITE;
}

FW_API fw_status fw_solve(int n, int nrhs, fw_real *A, int lda, int *piv, fw_real *B, int ldb)
{
    fw_status s = fw__check_solve_args(n, nrhs, A, lda, B, ldb);
    if (s != FW_OK) return s;
    if ((s = fw_lu(n, A, lda, piv)) != FW_OK) return s;
    return fw_lu_solve(n, nrhs, A, lda, piv, B, ldb);
}

/* One Jacobi rotation in the (p, q) plane: A <- R^T A R, V <- V R, with R chosen so that the new
   A[p][q] is zero (the tangent of the smaller angle, for stability). */
static void fw__jacobi_rotate(int n, fw_real *A, int lda, fw_real *V, int ldv, int p, int q)
{
    fw_real apq = A[(size_t)p * (size_t)lda + (size_t)q];
    fw_real app = A[(size_t)p * (size_t)lda + (size_t)p], aqq = A[(size_t)q * (size_t)lda + (size_t)q];
    fw_real theta = (aqq - app) / (2 * apq), t, c, s;
    fw_real *rp = A + (size_t)p * (size_t)lda, *rq = A + (size_t)q * (size_t)lda;
    int k;
    if (fw__abs(theta) > (fw_real)1e15) t = 1 / (2 * theta);  /* theta^2 would overflow */
    else t = (theta >= 0 ? 1 : -1) / (fw__abs(theta) + fw__sqrt(theta * theta + 1));
    c = 1 / fw__sqrt(t * t + 1);
    s = t * c;
    for (k = 0; k < n; ++k) {   /* columns p and q */
        fw_real *rk = A + (size_t)k * (size_t)lda;
        fw_real akp = rk[p], akq = rk[q];
        rk[p] = c * akp - s * akq;
        rk[q] = s * akp + c * akq;
    }
    for (k = 0; k < n; ++k) {   /* rows p and q */
        fw_real apk = rp[k], aqk = rq[k];
        rp[k] = c * apk - s * aqk;
        rq[k] = s * apk + c * aqk;
    }
    rp[q] = 0;
    rq[p] = 0;
    for (k = 0; k < n; ++k) {
        fw_real *vk = V + (size_t)k * (size_t)ldv;
        fw_real vkp = vk[p], vkq = vk[q];
        vk[p] = c * vkp - s * vkq;
        vk[q] = s * vkp + c * vkq;
    }
}

FW_API fw_status fw_eigh(int n, fw_real *A, int lda, fw_real *w, fw_real *V, int ldv)
{
    fw_status s = fw__check_matrix(A, n, n, lda);
    fw_real fro = 0;
    int i, j, sweep, converged = 0;
    if (s != FW_OK) return s;
    if (w == NULL) return FW_ERR_NULL;
    if ((s = fw__check_matrix(V, n, n, ldv)) != FW_OK) return s;
    if (!fw__lower_finite(n, A, lda)) return FW_ERR_NONFINITE;
    fw__symmetrize_from_lower(n, A, lda);
    for (i = 0; i < n; ++i)
        for (j = 0; j < n; ++j) {
            fw_real a = A[(size_t)i * (size_t)lda + (size_t)j];
            V[(size_t)i * (size_t)ldv + (size_t)j] = i == j ? 1 : 0;
            fro += a * a;
        }
    for (sweep = 0; sweep < 100 && !converged; ++sweep) {
        fw_real off = 0;
        for (i = 0; i < n; ++i)
            for (j = i + 1; j < n; ++j) {
                fw_real a = A[(size_t)i * (size_t)lda + (size_t)j];
                off += a * a;
            }
        /* Quadratic convergence: one sweep past eps^2 * ||A||^2 costs little and leaves every
           off-diagonal entry negligible. */
        if (off <= FW__EPS * FW__EPS * fro * (fw_real)1e-4 || off == 0) { converged = 1; break; }
        for (i = 0; i < n; ++i)
            for (j = i + 1; j < n; ++j)
                if (A[(size_t)i * (size_t)lda + (size_t)j] != 0) fw__jacobi_rotate(n, A, lda, V, ldv, i, j);
    }
    if (!converged) return FW_ERR_NO_CONVERGENCE;
    for (i = 0; i < n; ++i) w[i] = A[(size_t)i * (size_t)lda + (size_t)i];
    for (i = 0; i < n; ++i) {   /* selection sort, ascending, columns of V along */
        int best = i, k;
        for (j = i + 1; j < n; ++j) if (w[j] < w[best]) best = j;
        if (best == i) continue;
        { fw_real t = w[i]; w[i] = w[best]; w[best] = t; }
        for (k = 0; k < n; ++k) {
            fw_real *vk = V + (size_t)k * (size_t)ldv;
            fw_real t = vk[i]; vk[i] = vk[best]; vk[best] = t;
        }
    }
    return FW_OK;
}

typedef struct fw__expm_layout { fw_real *Acopy, *V, *T, *w; } fw__expm_layout;

static void fw__expm_lay(fw_arena *ar, int n, fw__expm_layout *L)
{
    size_t nn = (size_t)n * (size_t)n * sizeof(fw_real);
    L->Acopy = (fw_real *)fw_arena_push(ar, nn);
    L->V = (fw_real *)fw_arena_push(ar, nn);
    L->T = (fw_real *)fw_arena_push(ar, nn);
    L->w = (fw_real *)fw_arena_push(ar, (size_t)n * sizeof(fw_real));
}

FW_API fw_status fw_expm_sym_workspace_size(int n, size_t *bytes)
{
    fw_arena ar;
    fw__expm_layout L;
    if (bytes == NULL) return FW_ERR_NULL;
    if (n < 1) return FW_ERR_SIZE;
    fw_arena_init(&ar, NULL, 0);
    fw__expm_lay(&ar, n, &L);
    *bytes = ar.used;
    return FW_OK;
}

FW_API fw_status fw_expm_sym_ws(int n, fw_real t, const fw_real *A, int lda, fw_real *E, int lde,
                                void *ws, size_t ws_bytes)
{
    fw_arena ar;
    fw__expm_layout L;
    fw_status s = fw__check_matrix(A, n, n, lda);
    int i, j;
    if (s != FW_OK) return s;
    if ((s = fw__check_matrix(E, n, n, lde)) != FW_OK) return s;
    if (ws == NULL) return FW_ERR_NULL;
    if (!fw__finite(t)) return FW_ERR_NONFINITE;
    fw_arena_init(&ar, ws, ws_bytes);
    fw__expm_lay(&ar, n, &L);
    if (ar.failed) return FW_ERR_WORKSPACE;
    for (i = 0; i < n; ++i)
        for (j = 0; j <= i; ++j) L.Acopy[(size_t)i * (size_t)n + (size_t)j] = A[(size_t)i * (size_t)lda + (size_t)j];
    if ((s = fw_eigh(n, L.Acopy, n, L.w, L.V, n)) != FW_OK) return s;
    /* E = V diag(exp(t w)) V^T = T V^T with T = V diag(exp(t w)). */
    for (j = 0; j < n; ++j) {
        fw_real e = fw__exp(t * L.w[j]);
        if (!fw__finite(e)) return FW_ERR_NONFINITE;
        for (i = 0; i < n; ++i) L.T[(size_t)i * (size_t)n + (size_t)j] = L.V[(size_t)i * (size_t)n + (size_t)j] * e;
    }
    fw__gemm_portable(FW_NO_TRANS, FW_TRANS, n, n, n, 1, L.T, n, L.V, n, 0, E, lde);
    return fw__all_finite(n, n, E, lde) ? FW_OK : FW_ERR_NONFINITE;
}

FW_API fw_status fw_expm_sym(int n, fw_real t, const fw_real *A, int lda, fw_real *E, int lde,
                             const fw_allocator *alloc)
{
    size_t bytes = 0;
    void *ws;
    fw_status s = fw_expm_sym_workspace_size(n, &bytes);
    if ((s = fw__ws_take(alloc, s, bytes, &ws)) != FW_OK) return s;
    s = fw_expm_sym_ws(n, t, A, lda, E, lde, ws, bytes);
    fw__free(alloc, ws);
    return s;
}

// ==== core implementation: activations ==========================================================

FW_API fw_real fw_act(fw_activation act, fw_real x)
{
    switch (act) {
    case FW_ACT_LINEAR: return x;
    case FW_ACT_RELU: return x > 0 ? x : 0;
    case FW_ACT_TANH: return fw__tanh(x);
    case FW_ACT_ERF: return fw__erf(x);
    case FW_ACT_COUNT: break;
    }
    return (fw_real)NAN;
}

FW_API fw_real fw_act_d1(fw_activation act, fw_real x)
{
    switch (act) {
    case FW_ACT_LINEAR: return 1;
    case FW_ACT_RELU: return x > 0 ? 1 : 0;
    case FW_ACT_TANH: { fw_real t = fw__tanh(x); return 1 - t * t; }
    case FW_ACT_ERF: return (fw_real)1.1283791670955126 * fw__exp(-x * x);   /* 2/sqrt(pi) */
    case FW_ACT_COUNT: break;
    }
    return (fw_real)NAN;
}

FW_API fw_real fw_act_d2(fw_activation act, fw_real x)
{
    switch (act) {
    case FW_ACT_LINEAR: return 0;
    case FW_ACT_RELU: return 0;
    case FW_ACT_TANH: { fw_real t = fw__tanh(x); return -2 * t * (1 - t * t); }
    case FW_ACT_ERF: return (fw_real)-2.2567583341910252 * x * fw__exp(-x * x);
    case FW_ACT_COUNT: break;
    }
    return (fw_real)NAN;
}

FW_API fw_status fw_act_eval(fw_activation act, int n, const fw_real *x, fw_real *phi,
                             fw_real *d1, fw_real *d2)
{
    int i;
    if (x == NULL || (phi == NULL && d1 == NULL && d2 == NULL)) return FW_ERR_NULL;
    if (n < 1) return FW_ERR_SIZE;
    if ((unsigned)act >= (unsigned)FW_ACT_COUNT) return FW_ERR_ARG;
    if (!fw__all_finite(1, n, x, n)) return FW_ERR_NONFINITE;
    for (i = 0; i < n; ++i) {
        if (phi != NULL) phi[i] = fw_act(act, x[i]);
        if (d1 != NULL) d1[i] = fw_act_d1(act, x[i]);
        if (d2 != NULL) d2[i] = fw_act_d2(act, x[i]);
    }
    return FW_OK;
}

static const char *const fw__act_names[FW_ACT_COUNT] = {"linear", "relu", "tanh", "erf"};

FW_API const char *fw_act_name(fw_activation act)
{
    if ((unsigned)act >= (unsigned)FW_ACT_COUNT) return NULL;
    return fw__act_names[act];
}

FW_API fw_status fw_act_parse(const char *name, fw_activation *act)
{
    int i;
    if (name == NULL || act == NULL) return FW_ERR_NULL;
    for (i = 0; i < FW_ACT_COUNT; ++i)
        if (strcmp(name, fw__act_names[i]) == 0) { *act = (fw_activation)i; return FW_OK; }
    return FW_ERR_ARG;
}

/* The one check of gamma0 for every solver (0 means 1). A step changes the weights by a relative
   amount of order gamma0, and rounding keeps only about gamma0/eps of it: the trained part of an
   output carries a relative error of about 0.02 eps/gamma0 (measured on the DMFT: 4e-6 at 1e-12,
   1.6e-3 at 1e-14, nonsense at 1e-16 in double). Below 10 machine epsilons (2.2e-15 in double,
   1.2e-6 in float) that error passes 1%: FW_ERR_ARG, the same in every solver. Under NTK
   (ntk != 0) gamma0 is not used and only has to be finite. Returns NULL when gamma0 is usable,
   else what to tell the user. */
static const char *fw__gamma0_problem(fw_real gamma0, int ntk)
{
    if (!fw__finite(gamma0) || gamma0 < 0) return "must be finite and > 0 (0 means 1)";
    if (!ntk && gamma0 > 0 && gamma0 < 10 * FW__EPS)
        return FW__IS_FLOAT ? "below 1.2e-6 (10 float epsilons) the updates are lost to rounding; for the lazy limit use the NTK parameterization"
                            : "below 2.2e-15 (10 double epsilons) the updates are lost to rounding; for the lazy limit use the NTK parameterization";
    return NULL;
}

// ==== network simulator implementation ==========================================================

static void fw__report(const fw_log *log, fw_status s, const char *where, const char *what)
{
    if (log != NULL && log->fn != NULL) log->fn(log->user, s, where, what);
}

/* Pixels per input (1 for an MLP) and the fan-in of a unit of layer l (0: the first layer):
   D and N for an MLP, 9 C and 9 N for a CNN's 3 x 3 convolutions; in double (checked by resolve). */
static double fw__net_pixels_d(const fw_net_desc *d)
{
    return d->arch == FW_ARCH_CNN ? (double)d->image_height * (double)d->image_width : 1.0;
}

static double fw__net_fan_d(const fw_net_desc *d, int l)
{
    if (d->arch == FW_ARCH_CNN) return 9.0 * (l == 0 ? (double)d->image_channels : (double)d->width);
    return l == 0 ? (double)d->input_dim : (double)d->width;
}

/* The larger of the two fan-ins: a CNN's im2col row length. */
static double fw__net_fan_max_d(const fw_net_desc *d)
{
    return fw__net_fan_d(d, 0) > fw__net_fan_d(d, 1) ? fw__net_fan_d(d, 0) : fw__net_fan_d(d, 1);
}

/* The parameter count W0 (N x fan0), L - 1 hidden N x fan, readout N; in double, exact below 2^53. */
static double fw__net_param_count_d(const fw_net_desc *d)
{
    return (double)d->width * fw__net_fan_d(d, 0) + ((double)d->depth - 1) * d->width * fw__net_fan_d(d, 1) + d->width;
}

/* A CNN's forward and backward passes take images in chunks whose im2col rows (pixels) total about
   this many (at least one image): one gemm per chunk per layer. */
#define FW__CONV_ROWS 1024

static int fw__net_chunk_images(const fw_net_desc *d)
{
    const double hw = fw__net_pixels_d(d);
    int c = hw >= FW__CONV_ROWS ? 1 : (int)(FW__CONV_ROWS / hw);
    return c < d->max_points ? c : d->max_points;
}

/* A CNN's image fields (channels 0 means 1; input_dim 0 means H W C) and their checks; nothing
   for an MLP. */
static fw_status fw__net_resolve_cnn(fw_net_desc *out)
{
    const fw_log *log = &out->log;
    double dim;
    if ((unsigned)out->arch > (unsigned)FW_ARCH_CNN) { fw__report(log, FW_ERR_ARG, "fw_net_desc.arch", "not an fw_arch (FW_ARCH_MLP or FW_ARCH_CNN)"); return FW_ERR_ARG; }
    if (out->arch != FW_ARCH_CNN) return FW_OK;
    if (out->image_channels == 0) out->image_channels = 1;
    if (out->image_height < 1 || out->image_width < 1 || out->image_channels < 1) {
        fw__report(log, FW_ERR_SIZE, "fw_net_desc.image_height", "a CNN needs image_height, image_width >= 1 and image_channels >= 1 (0 means 1)");
        return FW_ERR_SIZE;
    }
    dim = (double)out->image_height * out->image_width * (double)out->image_channels;
    if (dim > 2147483647.0) { fw__report(log, FW_ERR_SIZE, "fw_net_desc.image_height", "image_height x image_width x image_channels exceeds 2^31 - 1"); return FW_ERR_SIZE; }
    if (out->input_dim == 0) out->input_dim = (int)dim;
    if ((double)out->input_dim != dim) {
        fw__report(log, FW_ERR_SIZE, "fw_net_desc.input_dim", "a CNN's input_dim must be image_height x image_width x image_channels (0 sets it)");
        return FW_ERR_SIZE;
    }
    return FW_OK;
}

/* Fills the defaults of a description into out and checks it. */
static fw_status fw__net_resolve(const fw_net_desc *desc, fw_net_desc *out)
{
    const fw_log *log;
    if (desc == NULL || out == NULL) return FW_ERR_NULL;
    *out = *desc;
    log = &desc->log;
    if (out->depth == 0) out->depth = 1;
    if (out->gamma0 == 0) out->gamma0 = 1;
    {
        fw_status st = fw__net_resolve_cnn(out);
        if (st != FW_OK) return st;
    }
    if (out->input_dim < 1) { fw__report(log, FW_ERR_SIZE, "fw_net_desc.input_dim", "must be >= 1"); return FW_ERR_SIZE; }
    if (out->width < 1) { fw__report(log, FW_ERR_SIZE, "fw_net_desc.width", "must be >= 1"); return FW_ERR_SIZE; }
    if (out->depth < 1) { fw__report(log, FW_ERR_SIZE, "fw_net_desc.depth", "must be >= 1 (0 means 1)"); return FW_ERR_SIZE; }
    if (out->max_points < 1) { fw__report(log, FW_ERR_SIZE, "fw_net_desc.max_points", "must be >= 1"); return FW_ERR_SIZE; }
    if ((unsigned)out->act >= (unsigned)FW_ACT_COUNT) { fw__report(log, FW_ERR_ARG, "fw_net_desc.act", "not an fw_activation"); return FW_ERR_ARG; }
    if (fw__gamma0_problem(out->gamma0, out->ntk) != NULL) {
        fw__report(log, FW_ERR_ARG, "fw_net_desc.gamma0", fw__gamma0_problem(out->gamma0, out->ntk));
        return FW_ERR_ARG;
    }
    /* Sizes must fit the int indexing of the linear algebra. */
    if ((double)out->width * (double)(out->width > out->input_dim ? out->width : out->input_dim) > 2147483647.0 ||
        (double)out->max_points * (double)out->width > 2147483647.0) {
        fw__report(log, FW_ERR_SIZE, "fw_net_desc", "width, input_dim or max_points too large");
        return FW_ERR_SIZE;
    }
    if (fw__net_param_count_d(out) > 2147483647.0 || (double)out->depth * out->max_points * (double)out->width > 2147483647.0) {
        fw__report(log, FW_ERR_SIZE, "fw_net_desc", "width^2 x depth (the weight count) or depth x width x max_points exceeds 2^31 - 1");
        return FW_ERR_SIZE;
    }
    if (out->arch == FW_ARCH_CNN) {
        /* the activations (depth x images x pixels x width) and a chunk's im2col rows are int-indexed */
        const double hw = fw__net_pixels_d(out), fan = fw__net_fan_max_d(out);
        if ((double)out->depth * out->max_points * hw * out->width > 2147483647.0 ||
            (double)out->width * fan > 2147483647.0 || (double)fw__net_chunk_images(out) * hw * fan > 2147483647.0) {
            fw__report(log, FW_ERR_SIZE, "fw_net_desc", "a CNN's depth x max_points x pixels x width, or its im2col rows, exceed 2^31 - 1");
            return FW_ERR_SIZE;
        }
    }
    return FW_OK;
}

FW_API fw_status fw_net_validate(const fw_net_desc *desc)
{
    fw_net_desc d;
    return fw__net_resolve(desc, &d);
}

/* After fw__net_resolve, which bounds it by INT_MAX (the parameter vector is int-indexed). */
static int fw__net_param_count(const fw_net_desc *d) { return (int)fw__net_param_count_d(d); }

static void fw__net_lay(fw_arena *ar, const fw_net_desc *d, fw_net *net)
{
    size_t R = sizeof(fw_real), M = (size_t)d->max_points, N = (size_t)d->width, L = (size_t)d->depth;
    const size_t hw = (size_t)fw__net_pixels_d(d), MP = fw__size_mul(M, hw);   /* rows of a layer's block */
    net->params = (fw_real *)fw_arena_push(ar, fw__size_mul((size_t)fw__net_param_count(d), R));
    net->H = (fw_real *)fw_arena_push(ar, fw__size_mul3(L, MP, fw__size_mul(N, R)));
    net->A = (fw_real *)fw_arena_push(ar, fw__size_mul3(L, MP, fw__size_mul(N, R)));
    net->Gr = (fw_real *)fw_arena_push(ar, fw__size_mul3(L, MP, fw__size_mul(N, R)));
    net->f = (fw_real *)fw_arena_push(ar, fw__size_mul(M, R));
    net->delta = (fw_real *)fw_arena_push(ar, fw__size_mul(M, R));
    net->col = net->pool = NULL;
    if (d->arch == FW_ARCH_CNN) {
        const size_t rows = fw__size_mul((size_t)fw__net_chunk_images(d), hw);
        const size_t fan = (size_t)fw__net_fan_max_d(d);
        net->col = (fw_real *)fw_arena_push(ar, fw__size_mul3(rows, fan, R));      /* im2col rows, or their gradient */
        net->scratch = (fw_real *)fw_arena_push(ar, fw__size_mul3(rows > M ? rows : M, N, R));
        net->pool = (fw_real *)fw_arena_push(ar, fw__size_mul3(M, N, R));
    } else {
        net->scratch = (fw_real *)fw_arena_push(ar, fw__size_mul3(M, N, R));
    }
    net->kx = d->no_kernels ? NULL : (fw_real *)fw_arena_push(ar, fw__size_mul3(M, M, R));
    net->kt = d->no_kernels ? NULL : (fw_real *)fw_arena_push(ar, fw__size_mul3(M, M, R));
    net->batch_x = (fw_real *)fw_arena_push(ar, fw__size_mul3(M, (size_t)d->input_dim, R));
    net->batch_y = (fw_real *)fw_arena_push(ar, fw__size_mul(M, R));
}

FW_API fw_status fw_net_workspace_size(const fw_net_desc *desc, size_t *bytes)
{
    fw_net_desc d;
    fw_net tmp;
    fw_arena ar;
    fw_status s;
    if (bytes == NULL) return FW_ERR_NULL;
    if ((s = fw__net_resolve(desc, &d)) != FW_OK) return s;
    fw_arena_init(&ar, NULL, 0);
    fw__net_lay(&ar, &d, &tmp);
    if (ar.failed) return FW_ERR_SIZE;
    *bytes = ar.used;
    return FW_OK;
}

FW_API fw_status fw_net_reinit(fw_net *net, uint64_t seed, uint64_t stream)
{
    fw_rng rng;
    if (net == NULL || net->params == NULL) return FW_ERR_NULL;
    fw_rng_init(&rng, seed, stream);
    net->desc.seed = seed;
    net->desc.stream = stream;
    net->n_rows = 0;
    return fw_rng_fill_normal(&rng, net->params, net->n_params, 1);
}

FW_API fw_status fw_net_init_ws(fw_net *net, const fw_net_desc *desc, void *ws, size_t ws_bytes)
{
    fw_net_desc d;
    fw_arena ar;
    fw_status s;
    if (net == NULL || ws == NULL) return FW_ERR_NULL;
    if ((s = fw__net_resolve(desc, &d)) != FW_OK) return s;
    memset(net, 0, sizeof *net);
    fw_arena_init(&ar, ws, ws_bytes);
    fw__net_lay(&ar, &d, net);
    if (ar.failed) {
        fw__report(&d.log, FW_ERR_WORKSPACE, "fw_net_init_ws", "workspace smaller than fw_net_workspace_size");
        return FW_ERR_WORKSPACE;
    }
    net->desc = d;
    net->gamma0 = d.ntk ? 1 / fw__sqrt((fw_real)d.width) : d.gamma0;
    net->n_params = fw__net_param_count(&d);
    net->W0 = net->params;
    net->w = net->params + (size_t)net->n_params - (size_t)d.width;
    return fw_net_reinit(net, d.seed, d.stream);
}

FW_API fw_status fw_net_create(fw_net *net, const fw_net_desc *desc, const fw_allocator *alloc)
{
    size_t bytes = 0;
    void *ws;
    fw_status s;
    if (net == NULL) return FW_ERR_NULL;
    s = fw_net_workspace_size(desc, &bytes);
    if ((s = fw__ws_take(alloc, s, bytes, &ws)) != FW_OK) return s;
    if ((s = fw_net_init_ws(net, desc, ws, bytes)) != FW_OK) { fw__free(alloc, ws); return s; }
    net->owned = ws;
    if (alloc != NULL) net->alloc = *alloc;
    return FW_OK;
}

FW_API void fw_net_destroy(fw_net *net)
{
    if (net == NULL) return;
    if (net->owned != NULL) fw__free(&net->alloc, net->owned);
    memset(net, 0, sizeof *net);
}

/* Weight matrix W(l) of layer l = 0..L-1 (W0 is N x fan0, the others N x fan: MLP D and N, CNN 9 C and 9 N). */
static fw_real *fw__net_weight(const fw_net *net, int l)
{
    const size_t N = (size_t)net->desc.width, f0 = (size_t)fw__net_fan_d(&net->desc, 0), f1 = (size_t)fw__net_fan_d(&net->desc, 1);
    return l == 0 ? net->params : net->params + N * f0 + (size_t)(l - 1) * N * f1;
}

static fw_real *fw__net_block(const fw_net *net, fw_real *base, int l)
{
    return base + (size_t)l * (size_t)net->desc.max_points * (size_t)fw__net_pixels_d(&net->desc) * (size_t)net->desc.width;
}

/* phi'(h) given a = phi(h) as well: tanh's from a (bitwise fw_act_d1's value, without a second tanh). */
static fw_real fw__act_d1_given(fw_activation act, fw_real h, fw_real a)
{
    return act == FW_ACT_TANH ? 1 - a * a : fw_act_d1(act, h);
}

/* im2col of nimg images of H x W pixels, C channels each (pixel p of image i at in + i istride
   + p pstride): row (i, p) of col holds the 9 neighbours' C channels, offsets (dy, dx) row-major,
   0 outside the image (9 C reals a row). */
static void fw__conv_im2col(const fw_net_desc *d, int nimg, const fw_real *in, size_t istride, int pstride, int C, fw_real *col)
{
    const int H = d->image_height, W = d->image_width;
    int i, y, x, k, c;
    for (i = 0; i < nimg; ++i)
        for (y = 0; y < H; ++y)
            for (x = 0; x < W; ++x) {
                fw_real *row = col + ((size_t)i * H * W + (size_t)y * W + x) * 9 * (size_t)C;
                for (k = 0; k < 9; ++k) {
                    const int yy = y + k / 3 - 1, xx = x + k % 3 - 1;
                    fw_real *dst = row + (size_t)k * C;
                    if (yy < 0 || yy >= H || xx < 0 || xx >= W) { for (c = 0; c < C; ++c) dst[c] = 0; continue; }
                    {
                        const fw_real *src = in + (size_t)i * istride + ((size_t)yy * W + xx) * (size_t)pstride;
                        for (c = 0; c < C; ++c) dst[c] = src[c];
                    }
                }
            }
}

/* The adjoint of fw__conv_im2col into a layer's block (N channels, N per pixel): out[neighbour k
   of p] += dcol[(i, p), k] for every image of the chunk (out zeroed first). */
static void fw__conv_col2im(const fw_net_desc *d, int nimg, const fw_real *dcol, int N, fw_real *out)
{
    const int H = d->image_height, W = d->image_width;
    int i, y, x, k, c;
    for (i = 0; i < nimg * H * W * N; ++i) out[i] = 0;
    for (i = 0; i < nimg; ++i)
        for (y = 0; y < H; ++y)
            for (x = 0; x < W; ++x) {
                const fw_real *row = dcol + ((size_t)i * H * W + (size_t)y * W + x) * 9 * (size_t)N;
                for (k = 0; k < 9; ++k) {
                    const int yy = y + k / 3 - 1, xx = x + k % 3 - 1;
                    if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
                    {
                        fw_real *dst = out + ((size_t)i * H * W + (size_t)yy * W + xx) * (size_t)N;
                        const fw_real *src = row + (size_t)k * N;
                        for (c = 0; c < N; ++c) dst[c] += src[c];
                    }
                }
            }
}

/* The input of layer l of a CNN for images i0.. (X rows, or the block of layer l - 1): base,
   distance between images and between pixels, channels. */
static const fw_real *fw__conv_input(const fw_net *net, int l, const fw_real *X, int ldx, int i0,
                                     size_t *istride, int *pstride, int *C)
{
    const size_t hw = (size_t)fw__net_pixels_d(&net->desc), N = (size_t)net->desc.width;
    if (l == 0) {
        *istride = (size_t)ldx; *pstride = net->desc.image_channels; *C = net->desc.image_channels;
        return X + (size_t)i0 * (size_t)ldx;
    }
    *istride = hw * N; *pstride = (int)N; *C = (int)N;
    return fw__net_block(net, net->A, l - 1) + (size_t)i0 * hw * N;
}

/* A CNN's forward pass on n images: H, A image by image, the pooled features and f. */
static void fw__conv_forward(fw_net *net, int n, const fw_real *X, int ldx)
{
    const int N = net->desc.width, L = net->desc.depth, hw = (int)fw__net_pixels_d(&net->desc), cb = fw__net_chunk_images(&net->desc);
    int l, i, i0, p, c;
    for (l = 0; l < L; ++l) {
        fw_real *H = fw__net_block(net, net->H, l), *A = fw__net_block(net, net->A, l);
        for (i0 = 0; i0 < n; i0 += cb) {
            const int nb = n - i0 < cb ? n - i0 : cb;
            size_t istride;
            int pstride, C;
            const fw_real *in = fw__conv_input(net, l, X, ldx, i0, &istride, &pstride, &C);
            fw__conv_im2col(&net->desc, nb, in, istride, pstride, C, net->col);
            fw__gemm(FW_NO_TRANS, FW_TRANS, nb * hw, N, 9 * C, 1 / fw__sqrt((fw_real)(9 * C)), net->col, 9 * C,
                     fw__net_weight(net, l), 9 * C, 0, H + (size_t)i0 * hw * N, N);
        }
        for (i = 0; i < n * hw * N; ++i) A[i] = fw_act(net->desc.act, H[i]);
    }
    for (i = 0; i < n; ++i) {   /* global average pooling */
        const fw_real *a = fw__net_block(net, net->A, L - 1) + (size_t)i * hw * N;
        fw_real *q = net->pool + (size_t)i * N;
        for (c = 0; c < N; ++c) q[c] = 0;
        for (p = 0; p < hw; ++p)
            for (c = 0; c < N; ++c) q[c] += a[(size_t)p * N + c];
        for (c = 0; c < N; ++c) q[c] /= (fw_real)hw;
    }
    fw__gemv(FW_NO_TRANS, n, N, 1 / (net->gamma0 * (fw_real)N), net->pool, N, net->w, 0, net->f);
    net->n_rows = n;
}

/* A CNN's g(l) = gamma0 N df/dh(l) on the first n images of the last forward pass:
   g(L) = w o phi'(h(L)) / (H W), g(l) = phi'(h(l)) o col2im(g(l+1) W(l) / sqrt(9 N)). */
static void fw__conv_backward(fw_net *net, int n)
{
    const int N = net->desc.width, L = net->desc.depth, hw = (int)fw__net_pixels_d(&net->desc), cb = fw__net_chunk_images(&net->desc);
    int l, i, i0, j;
    {
        fw_real *G = fw__net_block(net, net->Gr, L - 1);
        const fw_real *H = fw__net_block(net, net->H, L - 1), *A = fw__net_block(net, net->A, L - 1);
        for (i = 0; i < n * hw; ++i)
            for (j = 0; j < N; ++j) {
                const size_t e = (size_t)i * N + j;
                G[e] = net->w[j] * fw__act_d1_given(net->desc.act, H[e], A[e]) / (fw_real)hw;
            }
    }
    for (l = L - 2; l >= 0; --l) {
        fw_real *Gl = fw__net_block(net, net->Gr, l);
        const fw_real *Hl = fw__net_block(net, net->H, l), *Gu = fw__net_block(net, net->Gr, l + 1);
        for (i0 = 0; i0 < n; i0 += cb) {
            const int nb = n - i0 < cb ? n - i0 : cb;
            fw__gemm(FW_NO_TRANS, FW_NO_TRANS, nb * hw, 9 * N, N, 1 / fw__sqrt((fw_real)(9 * N)), Gu + (size_t)i0 * hw * N, N,
                     fw__net_weight(net, l + 1), 9 * N, 0, net->col, 9 * N);
            fw__conv_col2im(&net->desc, nb, net->col, N, Gl + (size_t)i0 * hw * N);
        }
        {
            const fw_real *Al = fw__net_block(net, net->A, l);
            for (i = 0; i < n * hw * N; ++i) Gl[i] *= fw__act_d1_given(net->desc.act, Hl[i], Al[i]);
        }
    }
}

/* A CNN's target += coef (-dLoss/dparams) on the first P images (fw__net_descend's rule):
   -dLoss/dw = pool^T delta / (gamma0 N), -dLoss/dW(l) = sum_(i, p) delta_i g(l+1)[i, p]^T col_l[i, p]
   / (gamma0 N sqrt(9 C_in)). The im2col rows are formed again here (the forward pass kept only a
   chunk's: all of them would be P H W 9 N reals a layer, 150 MB at N = 128 on 256 8 x 8 images,
   for 6% of a step's time). */
static void fw__conv_descend(fw_net *net, int P, const fw_real *X, int ldx, fw_real *target, fw_real coef)
{
    const int N = net->desc.width, L = net->desc.depth, hw = (int)fw__net_pixels_d(&net->desc), cb = fw__net_chunk_images(&net->desc);
    const fw_real base = coef / (net->gamma0 * (fw_real)N);
    int l, i, i0, j;
    fw__gemv(FW_TRANS, P, N, base, net->pool, N, net->delta, 1, target + (size_t)net->n_params - (size_t)N);
    for (l = L - 1; l >= 0; --l) {
        const fw_real *G = fw__net_block(net, net->Gr, l);
        fw_real *Wt = target + (fw__net_weight(net, l) - net->params);
        for (i0 = 0; i0 < P; i0 += cb) {
            const int nb = P - i0 < cb ? P - i0 : cb;
            size_t istride;
            int pstride, C;
            const fw_real *in = fw__conv_input(net, l, X, ldx, i0, &istride, &pstride, &C);
            for (i = 0; i < nb; ++i)
                for (j = 0; j < hw * N; ++j)
                    net->scratch[(size_t)i * hw * N + j] = net->delta[i0 + i] * G[((size_t)(i0 + i) * hw) * N + j];
            fw__conv_im2col(&net->desc, nb, in, istride, pstride, C, net->col);
            fw__gemm(FW_TRANS, FW_NO_TRANS, N, 9 * C, nb * hw, base / fw__sqrt((fw_real)(9 * C)), net->scratch, N,
                     net->col, 9 * C, 1, Wt, 9 * C);
        }
    }
}

/* H, A and f on n rows (docs/model.md section 1). */
static void fw__net_forward(fw_net *net, int n, const fw_real *X, int ldx)
{
    const int N = net->desc.width, D = net->desc.input_dim, L = net->desc.depth;
    int l, i;
    if (net->desc.arch == FW_ARCH_CNN) { fw__conv_forward(net, n, X, ldx); return; }
    for (l = 0; l < L; ++l) {
        const fw_real *in = l == 0 ? X : fw__net_block(net, net->A, l - 1);
        int fan = l == 0 ? D : N, ld_in = l == 0 ? ldx : N;
        fw_real *H = fw__net_block(net, net->H, l), *A = fw__net_block(net, net->A, l);
        fw__gemm(FW_NO_TRANS, FW_TRANS, n, N, fan, 1 / fw__sqrt((fw_real)fan), in, ld_in,
                 fw__net_weight(net, l), fan, 0, H, N);
        for (i = 0; i < n * N; ++i) A[i] = fw_act(net->desc.act, H[i]);
    }
    fw__gemv(FW_NO_TRANS, n, N, 1 / (net->gamma0 * (fw_real)N), fw__net_block(net, net->A, L - 1), N,
             net->w, 0, net->f);
    net->n_rows = n;
}

/* g(l) = gamma0 N df/dh(l) on the rows of the last forward pass:
   g(L) = w o phi'(h(L)),  g(l) = phi'(h(l)) o (g(l+1) W(l) / sqrt(N)). */
static void fw__net_backward(fw_net *net)
{
    const int N = net->desc.width, L = net->desc.depth, n = net->n_rows;
    int l, i, j;
    fw_real *G = fw__net_block(net, net->Gr, L - 1);
    const fw_real *H = fw__net_block(net, net->H, L - 1), *A = fw__net_block(net, net->A, L - 1);
    for (i = 0; i < n; ++i)
        for (j = 0; j < N; ++j)
            G[(size_t)i * N + j] = net->w[j] * fw__act_d1_given(net->desc.act, H[(size_t)i * N + j], A[(size_t)i * N + j]);
    for (l = L - 2; l >= 0; --l) {
        fw_real *Gl = fw__net_block(net, net->Gr, l);
        const fw_real *Hl = fw__net_block(net, net->H, l), *Al = fw__net_block(net, net->A, l);
        fw__gemm(FW_NO_TRANS, FW_NO_TRANS, n, N, N, 1 / fw__sqrt((fw_real)N), fw__net_block(net, net->Gr, l + 1),
                 N, fw__net_weight(net, l + 1), N, 0, Gl, N);
        for (i = 0; i < n * N; ++i) Gl[i] *= fw__act_d1_given(net->desc.act, Hl[i], Al[i]);
    }
}

/* target += coef * (-dLoss/dparams) for Loss = 1/2 sum_{mu<P} delta_mu^2 / scale-free form:
   -dLoss/dw = A(L)^T delta / (gamma0 N),  -dLoss/dW(l) = (delta o g(l+1))^T phi(h(l)) / (gamma0 N sqrt(N)),
   -dLoss/dW0 = (delta o g(1))^T X / (gamma0 N sqrt(D)), with delta = net->delta on the first P rows. */
static void fw__net_descend(fw_net *net, int P, const fw_real *X, int ldx, fw_real *target, fw_real coef)
{
    const int N = net->desc.width, D = net->desc.input_dim, L = net->desc.depth;
    const fw_real base = coef / (net->gamma0 * (fw_real)N);
    fw_real *tw = target + (size_t)net->n_params - (size_t)N;
    int l, i, j;
    if (net->desc.arch == FW_ARCH_CNN) { fw__conv_descend(net, P, X, ldx, target, coef); return; }
    fw__gemv(FW_TRANS, P, N, base, fw__net_block(net, net->A, L - 1), N, net->delta, 1, tw);
    for (l = L - 1; l >= 0; --l) {
        const fw_real *G = fw__net_block(net, net->Gr, l);
        fw_real *Wt = target + (fw__net_weight(net, l) - net->params);
        for (i = 0; i < P; ++i)
            for (j = 0; j < N; ++j) net->scratch[(size_t)i * N + j] = net->delta[i] * G[(size_t)i * N + j];
        if (l == 0)
            fw__gemm(FW_TRANS, FW_NO_TRANS, N, D, P, base / fw__sqrt((fw_real)D), net->scratch, N, X, ldx, 1, Wt, D);
        else
            fw__gemm(FW_TRANS, FW_NO_TRANS, N, N, P, base / fw__sqrt((fw_real)N), net->scratch, N,
                     fw__net_block(net, net->A, l - 1), N, 1, Wt, N);
    }
}

static fw_status fw__check_net(const fw_net *net)
{
    if (net == NULL || net->params == NULL) return FW_ERR_NULL;
    return FW_OK;
}

static fw_status fw__check_rows(const fw_net *net, int n, const fw_real *X, int ldx)
{
    if (X == NULL) return FW_ERR_NULL;
    if (n < 1 || n > net->desc.max_points) return FW_ERR_SIZE;
    if (ldx < net->desc.input_dim) return FW_ERR_LD;
    if (!fw__all_finite(n, net->desc.input_dim, X, ldx)) return FW_ERR_NONFINITE;
    return FW_OK;
}

static fw_status fw__check_data(const fw_net *net, const fw_data *data)
{
    fw_status s;
    int ldx;
    if (data == NULL || data->X == NULL || data->y == NULL) return FW_ERR_NULL;
    if (data->P < 1 || data->Q < 0) return FW_ERR_SIZE;
    if (data->D != net->desc.input_dim) return FW_ERR_ARG;
    ldx = data->ldx == 0 ? data->D : data->ldx;
    if ((s = fw__check_rows(net, data->P + data->Q, data->X, ldx)) != FW_OK) return s;
    if (!fw__all_finite(1, data->P, data->y, data->P)) return FW_ERR_NONFINITE;
    if (data->y_test != NULL && data->Q > 0 && !fw__all_finite(1, data->Q, data->y_test, data->Q)) return FW_ERR_NONFINITE;
    return FW_OK;
}

FW_API fw_status fw_net_forward(fw_net *net, int n, const fw_real *X, int ldx, fw_real *f)
{
    fw_status s;
    int i;
    if ((s = fw__check_net(net)) != FW_OK) return s;
    if ((s = fw__check_rows(net, n, X, ldx)) != FW_OK) return s;
    fw__net_forward(net, n, X, ldx);
    if (f != NULL) for (i = 0; i < n; ++i) f[i] = net->f[i];
    return fw__all_finite(1, n, net->f, n) ? FW_OK : FW_ERR_DIVERGED;
}

/* Forward on all rows, backward, and delta = scale (y - f) on the P training rows. */
static fw_real fw__net_errors(fw_net *net, const fw_data *data, fw_real scale)
{
    int ldx = data->ldx == 0 ? data->D : data->ldx, i;
    fw_real loss = 0;
    fw__net_forward(net, data->P + data->Q, data->X, ldx);
    if (net->desc.arch == FW_ARCH_CNN) fw__conv_backward(net, data->P);   /* the gradient needs the training images only */
    else fw__net_backward(net);
    for (i = 0; i < data->P; ++i) {
        fw_real e = data->y[i] - net->f[i];
        net->delta[i] = scale * e;
        loss += e * e;
    }
    return loss / (2 * (fw_real)data->P);
}

FW_API fw_status fw_net_loss_gradient(fw_net *net, const fw_data *data, fw_real *grad)
{
    fw_status s;
    int i;
    if ((s = fw__check_net(net)) != FW_OK) return s;
    if (grad == NULL) return FW_ERR_NULL;
    if ((s = fw__check_data(net, data)) != FW_OK) return s;
    (void)fw__net_errors(net, data, 1);
    for (i = 0; i < net->n_params; ++i) grad[i] = 0;
    fw__net_descend(net, data->P, data->X, data->ldx == 0 ? data->D : data->ldx, grad, -1);
    return fw__all_finite(1, net->n_params, grad, net->n_params) ? FW_OK : FW_ERR_DIVERGED;
}

/* The rest of a GD step once fw__net_errors(net, data, 1) has run on the current weights (its
   loss given): the checks, then the step eta gamma0^2 N on every weight (docs/model.md section 1). */
static fw_status fw__net_step_after_errors(fw_net *net, const fw_data *data, fw_real eta, fw_real loss)
{
    if (!fw__finite(loss) || !fw__all_finite(1, data->P + data->Q, net->f, data->P + data->Q)) return FW_ERR_DIVERGED;
    fw__net_descend(net, data->P, data->X, data->ldx == 0 ? data->D : data->ldx, net->params,
                    eta * net->gamma0 * net->gamma0 * (fw_real)net->desc.width);
    return fw__all_finite(1, net->n_params, net->params, net->n_params) ? FW_OK : FW_ERR_DIVERGED;
}

FW_API fw_status fw_net_gd_step(fw_net *net, const fw_data *data, fw_real eta, fw_real *train_loss)
{
    fw_status s;
    fw_real loss;
    if ((s = fw__check_net(net)) != FW_OK) return s;
    if ((s = fw__check_data(net, data)) != FW_OK) return s;
    if (!fw__finite(eta) || eta <= 0) return FW_ERR_ARG;
    loss = fw__net_errors(net, data, 1);
    if (train_loss != NULL) *train_loss = loss;
    return fw__net_step_after_errors(net, data, eta, loss);
}

FW_API fw_status fw_teacher_label(const fw_teacher *t, int D, int n, const fw_real *X, int ldx,
                                  fw_rng *rng, fw_real *y)
{
    int i;
    if (t == NULL || t->beta == NULL || X == NULL || y == NULL) return FW_ERR_NULL;
    if (D < 1 || n < 1) return FW_ERR_SIZE;
    if (ldx < D) return FW_ERR_LD;
    if (t->kind != FW_TEACHER_LINEAR && t->kind != FW_TEACHER_TANH) return FW_ERR_ARG;
    if (!fw__finite(t->noise) || t->noise < 0) return FW_ERR_ARG;
    if (t->noise > 0 && rng == NULL) return FW_ERR_NULL;
    fw__gemv(FW_NO_TRANS, n, D, 1 / fw__sqrt((fw_real)D), X, ldx, t->beta, 0, y);
    for (i = 0; i < n; ++i) {
        if (t->kind == FW_TEACHER_TANH) y[i] = fw__tanh(y[i]);
        if (t->noise > 0) y[i] += t->noise * fw_rng_normal(rng);
    }
    return fw__all_finite(1, n, y, n) ? FW_OK : FW_ERR_NONFINITE;
}

FW_API fw_status fw_net_sgd_step(fw_net *net, const fw_teacher *t, int B, fw_real eta, fw_rng *rng,
                                 fw_real *batch_loss)
{
    fw_status s;
    fw_data batch;
    fw_real loss;
    const int D = net != NULL ? net->desc.input_dim : 0;
    if ((s = fw__check_net(net)) != FW_OK) return s;
    if (t == NULL || rng == NULL) return FW_ERR_NULL;
    if (B < 1 || B > net->desc.max_points) return FW_ERR_SIZE;
    if (!fw__finite(eta) || eta <= 0) return FW_ERR_ARG;
    if ((s = fw_rng_fill_normal(rng, net->batch_x, B * D, 1)) != FW_OK) return s;
    if ((s = fw_teacher_label(t, D, B, net->batch_x, D, rng, net->batch_y)) != FW_OK) return s;
    batch.P = B; batch.Q = 0; batch.D = D; batch.X = net->batch_x; batch.ldx = D;
    batch.y = net->batch_y; batch.y_test = NULL;
    /* Loss 1/(2B) sum over the batch: the sum-loss gradient with errors scaled by 1/B. */
    loss = fw__net_errors(net, &batch, 1 / (fw_real)B);
    if (batch_loss != NULL) *batch_loss = loss;
    if (!fw__finite(loss)) return FW_ERR_DIVERGED;
    fw__net_descend(net, B, net->batch_x, D, net->params, eta * net->gamma0 * net->gamma0 * (fw_real)net->desc.width);
    return fw__all_finite(1, net->n_params, net->params, net->n_params) ? FW_OK : FW_ERR_DIVERGED;
}

FW_API fw_status fw_net_kernels(fw_net *net, int n, const fw_real *X, int ldx, fw_real *phi,
                                fw_real *g, fw_real *ntk)
{
    const int N = net != NULL ? net->desc.width : 0, L = net != NULL ? net->desc.depth : 0;
    const size_t nn = (size_t)n * (size_t)n;
    fw_status s;
    int l;
    size_t i;
    if ((s = fw__check_net(net)) != FW_OK) return s;
    if (phi == NULL && g == NULL && ntk == NULL) return FW_ERR_NULL;
    if (net->desc.arch == FW_ARCH_CNN) {
        fw__report(&net->desc.log, FW_ERR_ARG, "fw_net_desc.arch", "fw_net_kernels is for MLPs (a CNN's kernels are not recorded)");
        return FW_ERR_ARG;
    }
    if (net->desc.no_kernels) {
        fw__report(&net->desc.log, FW_ERR_ARG, "fw_net_desc.no_kernels", "this network was laid out without kernel scratch");
        return FW_ERR_ARG;
    }
    if ((s = fw__check_rows(net, n, X, ldx)) != FW_OK) return s;
    fw__net_forward(net, n, X, ldx);
    fw__net_backward(net);
    if (ntk != NULL) for (i = 0; i < nn; ++i) ntk[i] = 0;
    for (l = 0; l <= L; ++l) {
        /* Phi(l) into kx, G(l+1) into kt (G(L+1) = 1). */
        if (l == 0) fw__syrk(FW_NO_TRANS, n, net->desc.input_dim, 1 / (fw_real)net->desc.input_dim, X, ldx, 0, net->kx, n);
        else fw__syrk(FW_NO_TRANS, n, N, 1 / (fw_real)N, fw__net_block(net, net->A, l - 1), N, 0, net->kx, n);
        if (l < L) fw__syrk(FW_NO_TRANS, n, N, 1 / (fw_real)N, fw__net_block(net, net->Gr, l), N, 0, net->kt, n);
        if (phi != NULL) for (i = 0; i < nn; ++i) phi[(size_t)l * nn + i] = net->kx[i];
        if (g != NULL && l < L) for (i = 0; i < nn; ++i) g[(size_t)l * nn + i] = net->kt[i];
        if (ntk != NULL) for (i = 0; i < nn; ++i) ntk[i] += (l < L ? net->kt[i] : 1) * net->kx[i];
    }
    if (ntk != NULL && !fw__all_finite(1, (int)nn, ntk, (int)nn)) return FW_ERR_DIVERGED;
    return FW_OK;
}

// ==== ensembles implementation ==================================================================

FW_API fw_status fw_stats_init(fw_stats *s, int n, fw_real *mean, fw_real *m2)
{
    int i;
    if (s == NULL || mean == NULL || m2 == NULL) return FW_ERR_NULL;
    if (n < 1) return FW_ERR_SIZE;
    s->n = n; s->count = 0; s->mean = mean; s->m2 = m2;
    for (i = 0; i < n; ++i) { mean[i] = 0; m2[i] = 0; }
    return FW_OK;
}

FW_API fw_status fw_stats_push(fw_stats *s, const fw_real *x)
{
    fw_real inv;
    int i;
    if (s == NULL || x == NULL || s->mean == NULL) return FW_ERR_NULL;
    if (!fw__all_finite(1, s->n, x, s->n)) return FW_ERR_NONFINITE;
    s->count++;
    inv = 1 / (fw_real)s->count;
    for (i = 0; i < s->n; ++i) {   /* Welford: stable in one pass */
        fw_real d = x[i] - s->mean[i];
        s->mean[i] += d * inv;
        s->m2[i] += d * (x[i] - s->mean[i]);
    }
    return FW_OK;
}

FW_API fw_status fw_stats_merge(fw_stats *a, const fw_stats *b)
{
    fw_real na, nb, n;
    int i;
    if (a == NULL || b == NULL || a->mean == NULL || b->mean == NULL) return FW_ERR_NULL;
    if (a->n != b->n) return FW_ERR_SIZE;
    if (b->count == 0) return FW_OK;
    na = (fw_real)a->count; nb = (fw_real)b->count; n = na + nb;
    for (i = 0; i < a->n; ++i) {   /* Chan, Golub & LeVeque's pairwise combination */
        fw_real d = b->mean[i] - a->mean[i];
        a->mean[i] += d * nb / n;
        a->m2[i] += b->m2[i] + d * d * na * nb / n;
    }
    a->count += b->count;
    return FW_OK;
}

FW_API fw_real fw_stats_var(const fw_stats *s, int i)
{
    if (s == NULL || s->m2 == NULL || i < 0 || i >= s->n) return (fw_real)NAN;
    return s->count < 2 ? 0 : s->m2[i] / (fw_real)(s->count - 1);
}

/* Records of a run of `steps` steps kept every `every` (0 means 1) steps: t = 0, every, 2 every, ...
   and always the last step. */
/* The largest step count: T + 1 time points must fit an int. */
#define FW__MAX_STEPS 2147483646

static int fw__rec_count(int steps, int every)
{
    int q;
    if (steps < 0 || every < 0) return 0;
    if (every == 0) every = 1;
    q = steps / every + (steps % every != 0);   /* ceil(steps / every) without steps + every - 1 */
    return q < 2147483647 ? q + 1 : 0;          /* 0: not representable (steps = INT_MAX, every = 1) */
}

static int fw__rec_time(int steps, int every, int r)
{
    if (r < 0) return -1;
    if (every < 1) every = 1;
    return r <= steps / every ? r * every : steps;   /* r * every <= steps: no overflow */
}

static int fw__ensemble_every(const fw_ensemble_desc *d) { return d->every > 0 ? d->every : 1; }

FW_API int fw_ensemble_record_time(const fw_ensemble_desc *desc, int r)
{
    return desc == NULL ? -1 : fw__rec_time(desc->steps, desc->every, r);
}

static fw_status fw__ensemble_net_desc(const fw_ensemble_desc *desc, const fw_data *data, fw_net_desc *nd)
{
    if (desc == NULL || data == NULL) return FW_ERR_NULL;
    if (desc->steps < 0 || desc->every < 0 || desc->steps > FW__MAX_STEPS) {
        fw__report(&desc->net.log, FW_ERR_SIZE, "fw_ensemble_desc.steps", "steps must be in 0 .. 2^31 - 2 and every >= 0");
        return FW_ERR_SIZE;
    }
    if (!fw__finite(desc->lr) || desc->lr <= 0) { fw__report(&desc->net.log, FW_ERR_ARG, "fw_ensemble_desc.lr", "must be finite and > 0"); return FW_ERR_ARG; }
    if (data->P < 1 || data->Q < 0) return FW_ERR_SIZE;
    *nd = desc->net;
    nd->max_points = data->P + data->Q;
    nd->no_kernels = !desc->record_kernels;   /* memory for the kernels only when they are recorded */
    if (desc->record_kernels && nd->arch == FW_ARCH_CNN) {
        fw__report(&desc->net.log, FW_ERR_ARG, "fw_ensemble_desc.record_kernels", "kernels are recorded for MLPs only; set 0 for a CNN");
        return FW_ERR_ARG;
    }
    return fw_net_validate(nd);
}

FW_API fw_status fw_ensemble_shape(const fw_ensemble_desc *desc, const fw_data *data, int *n_records,
                                   int *record_len)
{
    fw_net_desc nd;
    fw_status s;
    int n, L, every;
    if (n_records == NULL || record_len == NULL) return FW_ERR_NULL;
    if ((s = fw__ensemble_net_desc(desc, data, &nd)) != FW_OK) return s;
    every = fw__ensemble_every(desc);
    n = data->P + data->Q;
    L = nd.depth == 0 ? 1 : nd.depth;
    {
        const double len = n + 2.0 + (desc->record_kernels ? (L + 2.0) * n * (double)n : 0) + (desc->record_kernels >= 2 ? (double)L * n * (double)n : 0);
        const int nrec = fw__rec_count(desc->steps, every);
        /* the statistics vector n_records x record_len is int-indexed */
        if (nrec < 1 || len * nrec > 2147483647.0) {
            fw__report(&desc->net.log, FW_ERR_SIZE, "fw_ensemble_desc",
                       "records x record length exceeds 2^31 - 1 values: record fewer steps (every) or no kernels");
            return FW_ERR_SIZE;
        }
        *n_records = nrec;
        *record_len = (int)len;
    }
    return FW_OK;
}

/* The ensemble's workspace: the network's block, then one member's records (filled during its
   run, pushed into the stats at its end). */
static fw_status fw__ensemble_lay(fw_arena *ar, const fw_ensemble_desc *desc, const fw_data *data,
                                  const fw_net_desc *nd, void **net_ws, size_t *net_bytes, fw_real **rec)
{
    fw_status s;
    int nrec, len;
    if ((s = fw_net_workspace_size(nd, net_bytes)) != FW_OK) return s;
    if ((s = fw_ensemble_shape(desc, data, &nrec, &len)) != FW_OK) return s;
    *net_ws = fw_arena_push(ar, *net_bytes);
    *rec = (fw_real *)fw_arena_push(ar, (size_t)nrec * (size_t)len * sizeof(fw_real));
    return FW_OK;
}

FW_API fw_status fw_ensemble_workspace_size(const fw_ensemble_desc *desc, const fw_data *data, size_t *bytes)
{
    fw_net_desc nd;
    fw_arena ar;
    fw_status s;
    size_t net_bytes;
    void *net_ws;
    fw_real *rec;
    if (bytes == NULL) return FW_ERR_NULL;
    if ((s = fw__ensemble_net_desc(desc, data, &nd)) != FW_OK) return s;
    fw_arena_init(&ar, NULL, 0);
    if ((s = fw__ensemble_lay(&ar, desc, data, &nd, &net_ws, &net_bytes, &rec)) != FW_OK) return s;
    *bytes = ar.used;
    return FW_OK;
}

/* One record of the member's current state (f on all points from the last forward pass). */
static fw_status fw__ensemble_record(fw_net *net, const fw_ensemble_desc *desc, const fw_data *data,
                                     fw_real train_loss, fw_real *rec)
{
    const int n = data->P + data->Q;
    const size_t nn = (size_t)n * (size_t)n;
    fw_real test_loss = 0;
    int i;
    for (i = 0; i < n; ++i) rec[i] = net->f[i];
    if (data->y_test != NULL && data->Q > 0) {
        for (i = 0; i < data->Q; ++i) {
            fw_real e = data->y_test[i] - net->f[data->P + i];
            test_loss += e * e;
        }
        test_loss /= 2 * (fw_real)data->Q;
    }
    rec[n] = train_loss;
    rec[n + 1] = test_loss;
    if (desc->record_kernels)
        return fw_net_kernels(net, n, data->X, data->ldx == 0 ? data->D : data->ldx, rec + n + 2 + nn,
                              desc->record_kernels >= 2 ? rec + n + 2 + nn + (size_t)(net->desc.depth + 1) * nn : NULL, rec + n + 2);
    return FW_OK;
}

FW_API fw_status fw_ensemble_run_ws(const fw_ensemble_desc *desc, const fw_data *data,
                                    uint64_t seed_begin, uint64_t seed_end, fw_stats *stats,
                                    int *diverged_step, void *ws, size_t ws_bytes)
{
    fw_net_desc nd;
    fw_net net;
    fw_arena ar;
    fw_status s;
    size_t net_bytes;
    void *net_ws;
    int nrec, len, every, t, r;
    uint64_t m;
    fw_real *rec;
    if (stats == NULL || ws == NULL) return FW_ERR_NULL;
    if ((s = fw__ensemble_net_desc(desc, data, &nd)) != FW_OK) return s;
    if ((s = fw_ensemble_shape(desc, data, &nrec, &len)) != FW_OK) return s;
    if (stats->n != nrec * len) return FW_ERR_SIZE;
    if (seed_end < seed_begin) return FW_ERR_ARG;
    fw_arena_init(&ar, ws, ws_bytes);
    if ((s = fw__ensemble_lay(&ar, desc, data, &nd, &net_ws, &net_bytes, &rec)) != FW_OK) return s;
    if (ar.failed) return FW_ERR_WORKSPACE;
    if ((s = fw_net_init_ws(&net, &nd, net_ws, net_bytes)) != FW_OK) return s;
    if ((s = fw__check_data(&net, data)) != FW_OK) return s;
    every = fw__ensemble_every(desc);
    for (m = seed_begin; m < seed_end; ++m) {
        fw_real loss = 0;
        if ((s = fw_net_reinit(&net, nd.seed, m)) != FW_OK) return s;
        for (t = 0, r = 0; t <= desc->steps; ++t) {
            /* Record the state at time t (outputs, losses and, if asked, kernels of the current
               weights), then take step t -> t+1. */
            int fresh = 0;   /* the last forward and backward passes were on the current weights */
            if ((t % every == 0) || t == desc->steps) {
                fw_real *dst = rec + (size_t)r * (size_t)len;
                loss = fw__net_errors(&net, data, 1);
                fresh = !desc->record_kernels;   /* fw_net_kernels runs passes of its own */
                s = fw__finite(loss) ? fw__ensemble_record(&net, desc, data, loss, dst) : FW_ERR_DIVERGED;
                if (s == FW_OK && !fw__all_finite(1, len, dst, len)) s = FW_ERR_DIVERGED;
                ++r;
            }
            if (s == FW_OK && t < desc->steps)   /* the step: the record's passes are its own when fresh */
                s = fresh ? fw__net_step_after_errors(&net, data, desc->lr, loss) : fw_net_gd_step(&net, data, desc->lr, &loss);
            if (s != FW_OK) {
                if (diverged_step != NULL) *diverged_step = t;
                return s;
            }
        }
        for (r = 0; r < nrec; ++r) {
            /* push record by record through a view of stats */
            fw_stats view;
            view.n = len; view.count = stats->count;
            view.mean = stats->mean + (size_t)r * (size_t)len;
            view.m2 = stats->m2 + (size_t)r * (size_t)len;
            if ((s = fw_stats_push(&view, rec + (size_t)r * (size_t)len)) != FW_OK) return s;
        }
        stats->count++;
    }
    return FW_OK;
}

FW_API fw_status fw_ensemble_run(const fw_ensemble_desc *desc, const fw_data *data,
                                 uint64_t seed_begin, uint64_t seed_end, fw_stats *stats,
                                 int *diverged_step, const fw_allocator *alloc)
{
    size_t bytes = 0;
    void *ws;
    fw_status s = fw_ensemble_workspace_size(desc, data, &bytes);
    if ((s = fw__ws_take(alloc, s, bytes, &ws)) != FW_OK) return s;
    s = fw_ensemble_run_ws(desc, data, seed_begin, seed_end, stats, diverged_step, ws, bytes);
    fw__free(alloc, ws);
    return s;
}

// ==== DMFT implementation =======================================================================

#define FW__EIGH_MAX 64      /* sharpness by a full eigendecomposition up to this many training points */
#define FW__LANCZOS_MAX 128  /* Lanczos steps at most above it */


static fw_real fw__asin(fw_real x) { return FW__IS_FLOAT ? (fw_real)asinf((float)x) : (fw_real)asin((double)x); }
static fw_real fw__acos(fw_real x) { return FW__IS_FLOAT ? (fw_real)acosf((float)x) : (fw_real)acos((double)x); }

#define FW__PI 3.14159265358979323846

/* Orthonormal probabilists' Hermite polynomials at x: p_0 = 1, p_1 = x,
   p_{k+1} = (x p_k - sqrt(k) p_{k-1}) / sqrt(k+1); returns p_n, *pm1 = p_{n-1}. */
static double fw__hermite(int n, double x, double *pm1)
{
    double p0 = 0, p1 = 1;
    int k;
    for (k = 0; k < n; ++k) {
        double p2 = (x * p1 - sqrt((double)k) * p0) / sqrt((double)(k + 1));
        p0 = p1; p1 = p2;
    }
    *pm1 = p0;
    return p1;
}

FW_API fw_status fw_gauss_hermite(int n, fw_real *x, fw_real *w)
{
    /* Newton on p_n from the classic asymptotic starting guesses (largest root first, in
       physicists' units z = x / sqrt 2), then mirrored. r0 newest root, r1 the one before,
       r_first the largest. */
    double r0 = 0, r1 = 0, r_first = 0;
    int i, it;
    if (x == NULL || w == NULL) return FW_ERR_NULL;
    if (n < 1 || n > 256) return FW_ERR_SIZE;
    for (i = 0; i < (n + 1) / 2; ++i) {
        double g, z, pm1 = 0, p;
        if (i == 0) g = sqrt(2.0 * n + 1) - 1.85575 * pow(2.0 * n + 1, -1.0 / 6);
        else if (i == 1) g = r0 - 1.14 * pow((double)n, 0.426) / r0;
        else if (i == 2) g = 1.86 * r0 - 0.86 * r_first;
        else if (i == 3) g = 1.91 * r0 - 0.91 * r1;
        else g = 2 * r0 - r1;
        z = g * 1.4142135623730951;
        for (it = 0; it < 100; ++it) {
            double dz;
            p = fw__hermite(n, z, &pm1);
            dz = p / (sqrt((double)n) * pm1);
            z -= dz;
            if (fabs(dz) <= 1e-15 * (fabs(z) > 1 ? fabs(z) : 1)) break;
        }
        p = fw__hermite(n, z, &pm1);
        if (!(fabs(z) < 1e300) || it == 100) return FW_ERR_NO_CONVERGENCE;
        /* Christoffel-Darboux: weight 1 / (n p_{n-1}(x)^2) for the probability measure. */
        w[i] = w[n - 1 - i] = (fw_real)(1.0 / ((double)n * pm1 * pm1));
        x[i] = (fw_real)-z;
        x[n - 1 - i] = (fw_real)z;
        r1 = r0;
        r0 = z / 1.4142135623730951;
        if (i == 0) r_first = r0;
    }
    if (n % 2 == 1) x[n / 2] = 0;
    return FW_OK;
}

/* Gaussian expectations of tanh by the trapezoidal rule in the standard-normal variables z on
   [-8.5, 8.5] (the normal mass outside is 2e-17). A Gauss-Hermite rule with a fixed node count fails
   once the input standard deviation s is large: tanh(s z) then turns over within 1/s in z, between
   the nodes (64 x 64 nodes: the derivative kernel 7% off at variance 9, 45% at 25, 1e-8 at 1).
   For an integrand analytic in the strip |Im z| < d that decays along the real line, the
   trapezoidal rule with step h errs by about exp(-2 pi d / h). tanh(s z) has its poles at
   |Im z| = pi / (2 s), so h = 0.25 / s gives exp(-39); the Gaussian alone (s small) needs h <= 0.4.
   Its node count grows like s, so beyond s = 8 (variance 64) the rule switches to 10-point
   Gauss-Legendre panels one unit of the tanh argument long where that argument is within 20 of 0
   (beyond, tanh is +-1 to rounding) and 2 long elsewhere: about 500 nodes at any s. Measured
   against 25-digit adaptive quadrature: 2.4e-14 relative for variances 1e-2 .. 100 (docs/dmft.md
   section 8). Float builds take h = 0.4 / s, at most 0.7 (about 1e-7). */
#define FW__GAUSS_ZMAX 8.5
#define FW__TANH_STEP (FW__IS_FLOAT ? 0.4 : 0.25)   /* h s */
#define FW__GAUSS_STEP (FW__IS_FLOAT ? 0.7 : 0.4)   /* h when s is small */
#define FW__TANH_PANEL_SCALE 8.0                     /* s beyond which the panels take over */
#define FW__TANH_EDGE 20.0                           /* |x| beyond which tanh x is +-1 to double precision */

static const double fw__gl10_x[5] = {0.14887433898163121088, 0.4333953941292471908, 0.67940956829902440623,
                                     0.86506336668898451073, 0.97390652851717172008};
static const double fw__gl10_w[5] = {0.29552422471475287017, 0.26926671930999635509, 0.219086362515982044,
                                     0.14945134915058059315, 0.066671344308688137594};

/* A rule over z against the standard normal density, walked node by node. Trapezoid: step h over
   [-8.5, 8.5] (half: z >= 0 with the weights off 0 doubled, for even integrands). Panels: fine
   (width wd[i]) within rad[i] of zc[i] for up to two features (wd[i] <= 0: none), coarse 2 elsewhere,
   a coarse panel cut where a fine region starts; half: [0, 8.5], weights doubled. */
typedef struct fw__gauss_walk {
    int panels, half;
    int k, last;              /* trapezoid: node k of -last .. last (0 .. last when half) */
    int j;                    /* panels: node j (0..9) of the panel at z */
    double h, z, len, zc[2], wd[2], rad[2];
} fw__gauss_walk;

static void fw__walk_trapezoid(fw__gauss_walk *w, double s, int half)
{
    memset(w, 0, sizeof *w);
    w->h = s > 0 ? FW__TANH_STEP / s : FW__GAUSS_STEP;
    w->h = w->h < FW__GAUSS_STEP ? w->h : FW__GAUSS_STEP;
    w->half = half;
    w->last = (int)ceil(FW__GAUSS_ZMAX / w->h);
    w->k = half ? 0 : -w->last;
}

static double fw__walk_panel_length(const fw__gauss_walk *w, double z)
{
    double h = 2;
    int i;
    for (i = 0; i < 2; ++i) {
        const double lo = w->zc[i] - w->rad[i];
        double hi = 2;
        if (w->wd[i] <= 0 || w->wd[i] >= 2) continue;
        if (z >= lo - 1e-12 * (1 + fabs(lo)) && z < w->zc[i] + w->rad[i]) hi = w->wd[i];
        else if (z < lo) hi = lo - z < 2 ? lo - z : 2;
        h = hi < h ? hi : h;
    }
    return z + h > FW__GAUSS_ZMAX ? FW__GAUSS_ZMAX - z : h;
}

static void fw__walk_panels(fw__gauss_walk *w, const double zc[2], const double wd[2], const double rad[2], int half)
{
    int i;
    memset(w, 0, sizeof *w);
    w->panels = 1; w->half = half;
    for (i = 0; i < 2; ++i) { w->zc[i] = zc[i]; w->wd[i] = wd[i]; w->rad[i] = rad[i]; }
    w->z = half ? 0 : -FW__GAUSS_ZMAX;
    w->len = fw__walk_panel_length(w, w->z);
}

/* The next node z and its weight (normal density included); 0 when the rule is done. */
static int fw__walk_next(fw__gauss_walk *w, double *z, double *weight)
{
    if (!w->panels) {
        const double zz = w->k * w->h;
        if (w->k > w->last) return 0;
        *z = zz;
        *weight = w->h * exp(-zz * zz / 2) / 2.5066282746310002 * (w->half && w->k > 0 ? 2 : 1);
        ++w->k;
        return 1;
    }
    if (w->j == 10) {   /* next panel */
        w->z += w->len;
        if (w->z >= FW__GAUSS_ZMAX - 1e-12) return 0;
        w->len = fw__walk_panel_length(w, w->z);
        w->j = 0;
    }
    {
        const int i = w->j % 5, sg = w->j < 5 ? -1 : 1;
        const double zz = w->z + w->len / 2 + sg * (w->len / 2) * fw__gl10_x[i];
        *z = zz;
        *weight = (w->len / 2) * fw__gl10_w[i] * exp(-zz * zz / 2) / 2.5066282746310002 * (w->half ? 2 : 1);
        ++w->j;
        return 1;
    }
}

/* E tanh(m + r z) and E sech^2(m + r z), z ~ N(0, 1). */
static void fw__tanh_gauss_1d(double m, double r, double *et, double *es)
{
    fw__gauss_walk w;
    double z, wt, st = 0, ss = 0;
    if (!(r > 0)) {
        const double t = tanh(m);
        *et = t; *es = 1 - t * t;
        return;
    }
    if (r > FW__TANH_PANEL_SCALE) {
        const double zc[2] = {-m / r, 0}, wd[2] = {1 / r, 0}, rad[2] = {FW__TANH_EDGE / r, 0};
        fw__walk_panels(&w, zc, wd, rad, 0);
    } else {
        fw__walk_trapezoid(&w, r, 0);
    }
    while (fw__walk_next(&w, &z, &wt)) {
        const double t = tanh(m + r * z);
        st += wt * t;
        ss += wt * (1 - t * t);
    }
    *et = st; *es = ss;
}

/* E tanh(u) tanh(v) and E sech^2(u) sech^2(v), (u, v) ~ N(0, [[a, c], [c, b]]), written as
   u = sqrt(a) z1, v = cu z1 + rv z2: the inner expectation over z2 at each node of the outer
   rule over z1. The inner result is analytic in cu z1 within |Im| < pi/2 (the poles of tanh) and
   varies on the scale max(1, rv) in cu z1, so the outer rule follows max(sqrt(a), |cu|). Both
   outer integrands are even in z1: z1 >= 0, twice. */
static void fw__tanh_gauss_2d(double a, double b, double c, double *k, double *kd)
{
    const double sa = sqrt(a), cu = a > 0 ? c / sa : 0, r2 = b - (a > 0 ? c * c / a : 0), rv = r2 > 0 ? sqrt(r2) : 0;
    const double s = sa > fabs(cu) ? sa : fabs(cu);
    fw__gauss_walk w;
    double z, wt, s1 = 0, s2 = 0;
    if (s > FW__TANH_PANEL_SCALE) {
        const double sc = fabs(cu) > 0 ? (rv > 1 ? rv : 1) / fabs(cu) : 0;
        const double zc[2] = {0, 0}, wd[2] = {sa > 0 ? 1 / sa : 0, sc},
                     rad[2] = {sa > 0 ? FW__TANH_EDGE / sa : 0, sc > 0 ? (FW__TANH_EDGE + FW__GAUSS_ZMAX * rv) / fabs(cu) : 0};
        fw__walk_panels(&w, zc, wd, rad, 1);
    } else {
        fw__walk_trapezoid(&w, s, 1);
    }
    while (fw__walk_next(&w, &z, &wt)) {
        const double t = tanh(sa * z);
        double et, es;
        fw__tanh_gauss_1d(cu * z, rv, &et, &es);
        s1 += wt * t * et;
        s2 += wt * (1 - t * t) * es;
    }
    *k = s1;
    *kd = s2;
}

/* E phi(u)phi(v), E phi'(u)phi'(v) for (u, v) ~ N(0, [[a, c], [c, b]]). */
static void fw__act_kernel(fw_activation act, fw_real a, fw_real b, fw_real c, fw_real *k, fw_real *kd)
{
    fw_real ab = a * b, rho;
    *k = 0; *kd = 0;
    switch (act) {
    case FW_ACT_LINEAR: *k = c; *kd = 1; return;
    case FW_ACT_RELU:
        if (!(ab > 0)) return;   /* a zero-variance input is 0, where relu and relu' vanish */
        rho = c / fw__sqrt(ab);
        rho = rho > 1 ? 1 : rho < -1 ? -1 : rho;
        {
            fw_real th = fw__acos(rho);
            *k = fw__sqrt(ab) / (fw_real)(2 * FW__PI) * (fw__sin(th) + ((fw_real)FW__PI - th) * rho);
            *kd = ((fw_real)FW__PI - th) / (fw_real)(2 * FW__PI);
        }
        return;
    case FW_ACT_ERF: {
        fw_real q = (1 + 2 * a) * (1 + 2 * b), s = 2 * c / fw__sqrt(q), det = q - 4 * c * c;
        s = s > 1 ? 1 : s < -1 ? -1 : s;
        *k = (fw_real)(2 / FW__PI) * fw__asin(s);
        *kd = det > 0 ? (fw_real)(4 / FW__PI) / fw__sqrt(det) : (fw_real)INFINITY;
        return;
    }
    case FW_ACT_TANH: {
        double kk, kkd;
        fw__tanh_gauss_2d((double)a, (double)b, (double)c, &kk, &kkd);
        *k = (fw_real)kk; *kd = (fw_real)kkd;
        return;
    }
    case FW_ACT_COUNT: break;
    }
}

static int fw__psd_pair_ok(fw_real a, fw_real b, fw_real c)
{
    return fw__finite(a) && fw__finite(b) && fw__finite(c) && a >= 0 && b >= 0 &&
           c * c <= a * b * (1 + 64 * FW__EPS) + 64 * FW__EPS * FW__EPS;
}

FW_API fw_status fw_act_kernel(fw_activation act, fw_real a, fw_real b, fw_real c, fw_real *k,
                               fw_real *kd)
{
    fw_real kk, kkd;
    if ((unsigned)act >= (unsigned)FW_ACT_COUNT) return FW_ERR_ARG;
    if (!fw__finite(a) || !fw__finite(b) || !fw__finite(c)) return FW_ERR_NONFINITE;
    if (!fw__psd_pair_ok(a, b, c)) return FW_ERR_NOT_PD;
    fw__act_kernel(act, a, b, c, &kk, &kkd);
    if (k != NULL) *k = kk;
    if (kd != NULL) *kd = kkd;
    return fw__finite(kk) && fw__finite(kkd) ? FW_OK : FW_ERR_NONFINITE;
}

FW_API fw_status fw_kernels_infinite(fw_activation act, int depth, int n, const fw_real *kx, int ldk,
                                     fw_real *phi, fw_real *g, fw_real *ntk)
{
    const size_t nn = (size_t)n * (size_t)n;
    int l, i, j;
    size_t e;
    if (kx == NULL || phi == NULL || g == NULL || ntk == NULL) return FW_ERR_NULL;
    if (n < 1 || depth < 1) return FW_ERR_SIZE;
    if (ldk < n) return FW_ERR_LD;
    if ((unsigned)act >= (unsigned)FW_ACT_COUNT) return FW_ERR_ARG;
    if (!fw__all_finite(n, n, kx, ldk)) return FW_ERR_NONFINITE;
    for (i = 0; i < n; ++i)   /* Phi(0) from the lower triangle of kx */
        for (j = 0; j < n; ++j) phi[(size_t)i * n + j] = kx[(size_t)(i > j ? i : j) * ldk + (i > j ? j : i)];
    for (l = 1; l <= depth; ++l) {
        const fw_real *prev = phi + (size_t)(l - 1) * nn;
        fw_real *cur = phi + (size_t)l * nn, *der = g + (size_t)(l - 1) * nn;
        for (i = 0; i < n; ++i)
            for (j = 0; j <= i; ++j) {
                fw_real a = prev[(size_t)i * n + i], b = prev[(size_t)j * n + j], c = prev[(size_t)i * n + j], k, kd;
                if (!fw__psd_pair_ok(a, b, c)) return FW_ERR_NOT_PD;
                fw__act_kernel(act, a, b, c, &k, &kd);
                cur[(size_t)i * n + j] = cur[(size_t)j * n + i] = k;
                der[(size_t)i * n + j] = der[(size_t)j * n + i] = kd;
            }
    }
    /* g holds E phi'phi' per layer; G(L) is that (G(L+1) = 1), then G(l) = E phi'phi' o G(l+1). */
    for (l = depth - 1; l >= 1; --l)
        for (e = 0; e < nn; ++e) g[(size_t)(l - 1) * nn + e] *= g[(size_t)l * nn + e];
    for (e = 0; e < nn; ++e) {
        fw_real acc = phi[(size_t)depth * nn + e];
        for (l = 0; l < depth; ++l) acc += g[(size_t)l * nn + e] * phi[(size_t)l * nn + e];
        ntk[e] = acc;
    }
    return fw__all_finite(1, (int)nn, ntk, (int)nn) ? FW_OK : FW_ERR_NONFINITE;
}

FW_API fw_status fw_lazy_predict(int P, int Q, const fw_real *ntk, int ldk, const fw_real *y,
                                 fw_real eta, int steps, fw_real *f)
{
    int n, t, i, mu;
    if (ntk == NULL || y == NULL || f == NULL) return FW_ERR_NULL;
    if (P < 1 || Q < 0 || steps < 0) return FW_ERR_SIZE;
    n = P + Q;
    if (ldk < n) return FW_ERR_LD;
    if (!fw__finite(eta) || eta <= 0) return FW_ERR_ARG;
    if (!fw__all_finite(n, n, ntk, ldk) || !fw__all_finite(1, P, y, P)) return FW_ERR_NONFINITE;
    for (i = 0; i < n; ++i) f[i] = 0;
    for (t = 0; t < steps; ++t) {
        const fw_real *cur = f + (size_t)t * n;
        fw_real *nxt = f + (size_t)(t + 1) * n;
        for (i = 0; i < n; ++i) {
            fw_real acc = 0;
            for (mu = 0; mu < P; ++mu) acc += ntk[(size_t)i * ldk + mu] * (y[mu] - cur[mu]);
            nxt[i] = cur[i] + eta * acc;
        }
        if (!fw__all_finite(1, n, nxt, n)) return FW_ERR_DIVERGED;
    }
    return FW_OK;
}

/* ---- DMFT solver: layout ---------------------------------------------------------------------
   Layer l = 0..L-1 below is hidden layer l+1 of the papers. Time-major columns: (t, mu) is
   column t P + mu (training points) or t Q + q (test points); nt = T + 1 times. */
typedef struct fw__dmft_layer {
    int m;                      /* single-site samples */
    int cu, cr, ce;             /* source columns: forward u, backward r, test-point forward */
    fw_real *wt;                /* m sample weights (1/m, quadrature weights, or 1 for EXACT) */
    fw_real *zu, *zr, *ze;      /* standard-normal sources, m x cu, m x cr, m x ce */
    fw_real *u0;                /* layer 0: u(1) = zu Lx^T on all n points (m x n) */
    fw_real *ph, *phe, *gr, *d1;/* phi(h) train m x P nt, test m x Q nt; g m x P nt; phi'(h(t)) m x P */
    fw_real *ktt, *kte, *kee;   /* Phi(l+1) two-time: train (P nt)^2, test x train, test x test */
    fw_real *gk;                /* G(l+1) two-time, (P nt)^2 */
    fw_real *lphi, *lg;         /* (l < L-1) Cholesky factors of Phi(l+1)_train and G(l+2) */
    fw_real *qphi, *qg;         /* orthonormal sample columns behind them: this layer's phi (l < L-1) and g (l > 0), m x P nt */
    fw_real *lte, *lee;         /* (l < L-1) test rows of the factor of Phi(l+1) */
    fw_real *atr, *ate, *bop;   /* (l < L-1) responses A(l+1) (train, test rows) and B(l+1) */
} fw__dmft_layer;

typedef struct fw__dmft {
    fw_dmft_desc d;             /* defaults filled in */
    int P, Q, n, D, nt, L, nrec, m, mtot, R, len, quad_dims;   /* m per replicate, mtot pooled (all workers) */
    int rank, ranks;            /* this worker and the number of workers (d.reduce; 1: no split) */
    int msolve;                 /* sites of the current solve over all workers (fw__dmft_load) */
    double *red;                /* ranks > 1: the packing buffer of the all-reduce (red_cap doubles) */
    int red_cap;
    fw_real eta, gam;
    const fw_data *data;
    fw_real *kx, *lx;           /* n x n input kernel and its (semidefinite) Cholesky factor */
    fw_real *rec, *mean, *m2;   /* one replicate's outputs, and Welford accumulators over them */
    int cv;                     /* control variate on (docs/dmft.md section 9) */
    fw_real *cv_ref, *cv_lazy;  /* the reference solve's record vector, and the closed-form lazy one */
    fw_real *cv_rmean, *cv_rm2, *cv_cross;   /* over replicates: the reference's mean and squared deviations, and its co-moment with the main solve */
    fw_real *cv_phi, *cv_g, *cv_ntk, *cv_f;   /* closed-form kernels (L+1, L, 1 blocks n x n), lazy f nt x n */
    fw_real *fh, *delta;        /* predictions nt x n, errors nt x P */
    fw_real *dpres;             /* NULL (march), or the error trajectory that drives the sweep (nt x P) */
    fw_real *dit;               /* the fixed-point iterate, nt x P */
    fw_real resid;              /* iteration: the largest final residual over the solves */
    int sweeps;                 /* iteration: the most sweeps of any solve */
    fw_real *eig_a, *eig_v, *eig_w;
    fw_real *lz_t, *lz_v, *lz_u, *lz_w, *lz_x;   /* sharpness by Lanczos above FW__EIGH_MAX points: K x K (3), K, P */
    fw_real *gh_x, *gh_w;       /* quadrature rule */
    /* two-layer (Markov) solver */
    fw_real *h, *wv, *tmp, *gg, *st_ph, *st_g;   /* wtraj and scr double as an m-vector and m x n scratch */
    fw_real *htr, *wtr;         /* optional (fluctuations): h(t) nt x m x n and w(t) nt x m */
    fw_real *atr;               /* optional, with htr: phi(h(t)) nt x m x n */
    /* general solver */
    fw__dmft_layer *lay;
    fw_real *wtraj, *scr, *kh;
} fw__dmft;

static int fw__dmft_is_general(const fw__dmft *s) { return s->L > 1 || s->d.general; }

/* Worker k of K's share [*b, *e) of `total` sites: contiguous, in whole units (antithetic pairs). */
static void fw__share(int rank, int ranks, int total, int unit, int *b, int *e)
{
    const uint64_t units = (uint64_t)(total / unit), K = (uint64_t)ranks, k = (uint64_t)rank;
    *b = (int)(units * k / K) * unit;
    *e = k + 1 == K ? total : (int)(units * (k + 1) / K) * unit;
}

/* The all-reduce of a rows x cols block (leading dimension ld) over r's workers. In double builds
   a contiguous block goes to fn as it is; otherwise its entries pass through the double buffer
   buf (cap entries) in parts. Every worker makes the same calls with the same sizes. */
static void fw__reduce_block(const fw_reduce *r, double *buf, int cap, fw_real *x, int rows, int cols, int ld)
{
    const size_t total = (size_t)rows * (size_t)cols;
    size_t k0, k;
    if (r->ranks <= 1 || rows < 1 || cols < 1) return;
    if (!FW__IS_FLOAT && (ld == cols || rows == 1)) { r->fn(r->user, (double *)(void *)x, (int)total); return; }
    for (k0 = 0; k0 < total; k0 += (size_t)cap) {
        const size_t cnt = total - k0 < (size_t)cap ? total - k0 : (size_t)cap;
        for (k = 0; k < cnt; ++k) buf[k] = (double)x[((k0 + k) / (size_t)cols) * (size_t)ld + (k0 + k) % (size_t)cols];
        r->fn(r->user, buf, (int)cnt);
        for (k = 0; k < cnt; ++k) x[((k0 + k) / (size_t)cols) * (size_t)ld + (k0 + k) % (size_t)cols] = (fw_real)buf[k];
    }
}

/* This worker's share [*b, *e) of a solve over `total` sites: contiguous, antithetic pairs whole. */
static void fw__dmft_share(const fw__dmft *s, int total, int *b, int *e)
{
    fw__share(s->rank, s->ranks, total, s->d.sampler == FW_SAMPLER_ANTITHETIC ? 2 : 1, b, e);
}

/* Sites this worker holds at most (the pooled solve, or a replicate's if larger). */
static int fw__dmft_local_sites(const fw__dmft *s, int total)
{
    int b, e, b2, e2;
    if (s->d.sampler == FW_SAMPLER_EXACT || s->ranks == 1) return total;
    fw__dmft_share(s, s->mtot, &b, &e);
    fw__dmft_share(s, s->m, &b2, &e2);
    return e - b > e2 - b2 ? e - b : e2 - b2;
}

/* The all-reduce of a block over the workers (fw__reduce_block with the solver's buffer). */
static void fw__dmft_allreduce(const fw__dmft *s, fw_real *x, int rows, int cols, int ld)
{
    fw__reduce_block(&s->d.reduce, s->red, s->red_cap, x, rows, cols, ld);
}

/* Offsets of the outputs inside one record vector. */
static size_t fw__dmft_off(const fw__dmft *s, int which)
{
    const size_t R = (size_t)s->nrec, n = (size_t)s->n, P = (size_t)s->P, L = (size_t)s->L;
    const size_t tt = s->d.two_time ? 1 : 0;
    size_t o[7];
    o[0] = 0;                         /* f */
    o[1] = o[0] + R * n;              /* train loss */
    o[2] = o[1] + R;                  /* test loss */
    o[3] = o[2] + R;                  /* ntk */
    o[4] = o[3] + R * P * P;          /* sharpness */
    o[5] = o[4] + R;                  /* phi */
    o[6] = o[5] + tt * L * R * R * n * n; /* g; the end is o[6] + tt L R R P P */
    return which < 7 ? o[which] : o[6] + tt * L * R * R * P * P;
}

FW_API int fw_dmft_record_count(const fw_dmft_desc *desc)
{
    return desc == NULL ? 0 : fw__rec_count(desc->steps, desc->every);
}

FW_API int fw_dmft_record_time(const fw_dmft_desc *desc, int r)
{
    return desc == NULL ? -1 : fw__rec_time(desc->steps, desc->every, r);
}

#define FW__DMFT_FAIL(st, field, text) do { fw__report(&desc->log, st, field, text); return st; } while (0)

static fw_status fw__dmft_resolve(const fw_dmft_desc *desc, const fw_data *data, fw__dmft *s)
{
    double big;
    int ldx, mx;
    if (desc == NULL || data == NULL || s == NULL) return FW_ERR_NULL;
    memset(s, 0, sizeof *s);
    s->d = *desc;
    if (s->d.depth == 0) s->d.depth = 1;
    if (s->d.gamma0 == 0) s->d.gamma0 = 1;
    if (s->d.every == 0) s->d.every = 1;
    if (s->d.samples == 0) s->d.samples = 8192;
    if (s->d.replicates == 0) s->d.replicates = 8;
    if (s->d.quad_nodes == 0) s->d.quad_nodes = 8;
    if (s->d.damping == 0) s->d.damping = 1;
    if (s->d.tol == 0) s->d.tol = FW__IS_FLOAT ? (fw_real)1e-4 : (fw_real)1e-9;
    if (data->X == NULL || data->y == NULL) FW__DMFT_FAIL(FW_ERR_NULL, "fw_data", "X and y are required");
    if (data->P < 1 || data->Q < 0 || data->D < 1) FW__DMFT_FAIL(FW_ERR_SIZE, "fw_data", "needs P >= 1, Q >= 0, D >= 1");
    ldx = data->ldx == 0 ? data->D : data->ldx;
    if (ldx < data->D) FW__DMFT_FAIL(FW_ERR_LD, "fw_data.ldx", "must be >= D (0 means D)");
    if (!fw__all_finite(data->P + data->Q, data->D, data->X, ldx) || !fw__all_finite(1, data->P, data->y, data->P) ||
        (data->y_test != NULL && data->Q > 0 && !fw__all_finite(1, data->Q, data->y_test, data->Q)))
        FW__DMFT_FAIL(FW_ERR_NONFINITE, "fw_data", "X, y or y_test holds NaN or Inf");
    if (s->d.depth < 1) FW__DMFT_FAIL(FW_ERR_SIZE, "fw_dmft_desc.depth", "must be >= 1 (0 means 1)");
    if ((unsigned)s->d.act >= (unsigned)FW_ACT_COUNT) FW__DMFT_FAIL(FW_ERR_ARG, "fw_dmft_desc.act", "not an fw_activation");
    if (fw__gamma0_problem(s->d.gamma0, 0) != NULL) FW__DMFT_FAIL(FW_ERR_ARG, "fw_dmft_desc.gamma0", fw__gamma0_problem(s->d.gamma0, 0));
    if (!fw__finite(s->d.lr) || s->d.lr <= 0) FW__DMFT_FAIL(FW_ERR_ARG, "fw_dmft_desc.lr", "must be finite and > 0");
    if (s->d.steps < 0 || s->d.every < 0 || s->d.steps > FW__MAX_STEPS)
        FW__DMFT_FAIL(FW_ERR_SIZE, "fw_dmft_desc.steps", "steps must be in 0 .. 2^31 - 2 and every >= 0");
    if (s->d.iterations < 0) FW__DMFT_FAIL(FW_ERR_SIZE, "fw_dmft_desc.iterations", "must be >= 0 (0 means march)");
    if (!fw__finite(s->d.damping) || s->d.damping < 0 || s->d.damping > 1)
        FW__DMFT_FAIL(FW_ERR_ARG, "fw_dmft_desc.damping", "must be in (0, 1] (0 means 1)");
    if (!fw__finite(s->d.tol) || s->d.tol < 0) FW__DMFT_FAIL(FW_ERR_ARG, "fw_dmft_desc.tol", "must be finite and > 0 (0 means the default)");
    if ((unsigned)s->d.sampler >= (unsigned)FW_SAMPLER_COUNT) FW__DMFT_FAIL(FW_ERR_ARG, "fw_dmft_desc.sampler", "not an fw_dmft_sampler");
    if (s->d.samples < 0 || s->d.replicates < 0 || s->d.quad_nodes < 0 || s->d.quad_nodes > 64)
        FW__DMFT_FAIL(FW_ERR_SIZE, "fw_dmft_desc.samples", "samples, replicates >= 0; quad_nodes in 0..64");
    s->ranks = s->d.reduce.ranks == 0 ? 1 : s->d.reduce.ranks;
    s->rank = s->d.reduce.rank;
    if (s->ranks < 1 || s->rank < 0 || s->rank >= s->ranks)
        FW__DMFT_FAIL(FW_ERR_ARG, "fw_dmft_desc.reduce", "needs ranks >= 1 (0 means 1) and 0 <= rank < ranks");
    if (s->ranks > 1 && s->d.reduce.fn == NULL) FW__DMFT_FAIL(FW_ERR_NULL, "fw_dmft_desc.reduce", "ranks > 1 needs the all-reduce fn");
    if (s->ranks > 1 && s->d.sampler == FW_SAMPLER_EXACT)
        FW__DMFT_FAIL(FW_ERR_ARG, "fw_dmft_desc.reduce", "the EXACT sampler is not split across workers (it has only a few basis sites)");
    s->P = data->P; s->Q = data->Q; s->n = data->P + data->Q; s->D = data->D;
    s->nt = s->d.steps + 1; s->L = s->d.depth; s->data = data;
    s->nrec = fw_dmft_record_count(&s->d);
    s->eta = s->d.lr; s->gam = s->d.gamma0;
    if (s->d.sampler == FW_SAMPLER_EXACT && s->d.act != FW_ACT_LINEAR)
        FW__DMFT_FAIL(FW_ERR_ARG, "fw_dmft_desc.sampler", "EXACT needs the linear activation (Gaussian fields)");
    if (s->d.sampler == FW_SAMPLER_QUADRATURE && fw__dmft_is_general(s))
        FW__DMFT_FAIL(FW_ERR_ARG, "fw_dmft_desc.sampler", "QUADRATURE is for two-layer nets (depth 1, general = 0)");
    if (s->d.control_variate < 0 || s->d.control_variate > 1)
        FW__DMFT_FAIL(FW_ERR_ARG, "fw_dmft_desc.control_variate", "must be 0 (off) or 1 (on)");
    if (s->d.control_variate == 1 && s->d.sampler != FW_SAMPLER_ANTITHETIC && s->d.sampler != FW_SAMPLER_QUADRATURE)
        FW__DMFT_FAIL(FW_ERR_ARG, "fw_dmft_desc.control_variate",
                      "the lazy control variate needs a sampler symmetric in the backward sources (ANTITHETIC or QUADRATURE)");
    s->cv = s->d.control_variate == 1;
    if (s->d.sampler == FW_SAMPLER_MC || s->d.sampler == FW_SAMPLER_ANTITHETIC) {
        s->R = s->d.replicates;
        if (s->R < 2) FW__DMFT_FAIL(FW_ERR_SIZE, "fw_dmft_desc.replicates", "must be >= 2 (the standard errors come from their spread)");
        s->m = s->d.samples / s->R;
        if (s->d.sampler == FW_SAMPLER_ANTITHETIC) s->m -= s->m % 2;
        if (s->m < 2) FW__DMFT_FAIL(FW_ERR_SIZE, "fw_dmft_desc.samples", "fewer than 2 samples per replicate");
    } else if (s->d.sampler == FW_SAMPLER_QUADRATURE) {
        double nodes;
        int k;
        s->R = 1;
        s->quad_dims = (s->n < s->D ? s->n : s->D) + 1;
        for (k = 0, nodes = 1; k < s->quad_dims; ++k) nodes *= s->d.quad_nodes;
        if (nodes > 16777216.0) FW__DMFT_FAIL(FW_ERR_SIZE, "fw_dmft_desc.quad_nodes", "quad_nodes^(min(P+Q, D) + 1) exceeds 2^24: use MC");
        s->m = (int)nodes;
    } else {
        s->R = 1;
        s->m = 0;   /* per layer, set by the layout */
    }
    s->mtot = s->R > 1 ? s->m * s->R : s->m;
    if (s->ranks > 1 && s->m / (s->d.sampler == FW_SAMPLER_ANTITHETIC ? 2 : 1) < s->ranks)
        FW__DMFT_FAIL(FW_ERR_SIZE, "fw_dmft_desc.reduce", "more workers than sites (antithetic pairs) per solve: fewer ranks or more samples");
    /* every product of sizes below must fit the int indexing of the linear algebra */
    mx = s->mtot > 0 ? s->mtot : (s->n + s->P) * s->nt + 1;
    big = (double)mx * (double)s->n * (double)s->nt;
    if (big > 2147483647.0)
        FW__DMFT_FAIL(FW_ERR_SIZE, "fw_dmft_desc", "samples x points x (steps + 1) exceeds 2^31 - 1: fewer samples, points or steps");
    if ((double)s->n * s->nt * (double)s->n * s->nt > 2147483647.0)
        FW__DMFT_FAIL(FW_ERR_SIZE, "fw_dmft_desc", "the two-time kernels hold ((P + Q)(steps + 1))^2 > 2^31 - 1 entries: fewer points or steps");
    if ((double)s->L * s->nrec * s->nrec * (double)s->n * s->n > 2147483647.0)
        FW__DMFT_FAIL(FW_ERR_SIZE, "fw_dmft_desc", "the recorded kernels hold depth x records^2 x (P + Q)^2 > 2^31 - 1 entries: fewer points or records");
    s->len = (int)fw__dmft_off(s, 7);
    return FW_OK;
}

FW_API fw_status fw_dmft_validate(const fw_dmft_desc *desc, const fw_data *data)
{
    fw__dmft s;
    return fw__dmft_resolve(desc, data, &s);
}

#define FW__PUSH(ar, count) ((fw_real *)fw_arena_push((ar), fw__size_mul((size_t)(count), sizeof(fw_real))))

static void fw__dmft_lay(fw_arena *ar, fw__dmft *s)
{
    const size_t n = (size_t)s->n, P = (size_t)s->P, Q = (size_t)s->Q, nt = (size_t)s->nt;
    const size_t Pn = P * nt, Qn = Q * nt;
    s->kx = FW__PUSH(ar, n * n);
    s->lx = FW__PUSH(ar, n * n);
    s->rec = FW__PUSH(ar, s->len);
    s->mean = FW__PUSH(ar, s->len);
    s->m2 = FW__PUSH(ar, s->len);
    s->fh = FW__PUSH(ar, nt * n);
    s->delta = FW__PUSH(ar, nt * P);
    s->dit = FW__PUSH(ar, nt * P);
    s->eig_a = FW__PUSH(ar, P * P);
    s->eig_v = FW__PUSH(ar, P * P);
    s->eig_w = FW__PUSH(ar, P);
    if (P > FW__EIGH_MAX) {
        const size_t K = P < FW__LANCZOS_MAX ? P : FW__LANCZOS_MAX;
        s->lz_t = FW__PUSH(ar, K * K);
        s->lz_v = FW__PUSH(ar, K * K);
        s->lz_u = FW__PUSH(ar, K * K);
        s->lz_w = FW__PUSH(ar, K);
        s->lz_x = FW__PUSH(ar, P);
    }
    s->gh_x = FW__PUSH(ar, 64);
    s->gh_w = FW__PUSH(ar, 64);
    if (s->ranks > 1) {   /* a row block P x Pn, n x n, or nt x n, + 1 flag (larger blocks pass in parts) */
        size_t cap = n * n > P * Pn ? n * n : P * Pn;
        cap = (cap > nt * n ? cap : nt * n) + 1;
        s->red_cap = (int)(cap < 2147483647u ? cap : 2147483647u);
        s->red = (double *)fw_arena_push(ar, fw__size_mul(cap, sizeof(double)));
    }
    if (s->cv) {
        s->cv_ref = FW__PUSH(ar, s->len);
        s->cv_lazy = FW__PUSH(ar, s->len);
        s->cv_rmean = FW__PUSH(ar, s->len);
        s->cv_rm2 = FW__PUSH(ar, s->len);
        s->cv_cross = FW__PUSH(ar, s->len);
        s->cv_phi = FW__PUSH(ar, (size_t)(s->L + 1) * n * n);
        s->cv_g = FW__PUSH(ar, (size_t)s->L * n * n);
        s->cv_ntk = FW__PUSH(ar, n * n);
        s->cv_f = FW__PUSH(ar, nt * n);
    }
    if (!fw__dmft_is_general(s)) {
        fw__dmft_layer one, *y;
        size_t m, tt = s->d.two_time ? (size_t)s->nrec : 0;
        s->lay = (fw__dmft_layer *)fw_arena_push(ar, sizeof(fw__dmft_layer));
        y = s->lay != NULL ? s->lay : &one;
        memset(y, 0, sizeof *y);
        y->cu = s->n;
        y->cr = 1;
        y->m = s->d.sampler == FW_SAMPLER_EXACT ? s->n + 1 : fw__dmft_local_sites(s, s->mtot);
        m = (size_t)y->m;
        y->wt = FW__PUSH(ar, m);
        y->zu = FW__PUSH(ar, m * n);
        y->zr = FW__PUSH(ar, m);
        s->h = FW__PUSH(ar, m * n);
        s->wv = FW__PUSH(ar, m);
        s->tmp = FW__PUSH(ar, m * n);
        s->gg = FW__PUSH(ar, m * P);
        s->wtraj = FW__PUSH(ar, m);
        s->scr = FW__PUSH(ar, m * n);
        s->st_ph = FW__PUSH(ar, tt * m * n);
        s->st_g = FW__PUSH(ar, tt * m * P);
        return;
    }
    {
        int l, L = s->L;
        size_t mmax = 0;
        s->lay = (fw__dmft_layer *)fw_arena_push(ar, (size_t)L * sizeof(fw__dmft_layer));
        for (l = 0; l < L; ++l) {
            fw__dmft_layer tmp, *y = s->lay != NULL ? &s->lay[l] : &tmp;
            size_t m;
            memset(y, 0, sizeof *y);
            y->cu = l == 0 ? s->n : s->P * s->nt;
            y->cr = l < L - 1 ? s->P * s->nt : 1;
            y->ce = l == 0 ? 0 : s->Q * s->nt;
            y->m = s->d.sampler == FW_SAMPLER_EXACT ? y->cu + y->cr + y->ce : fw__dmft_local_sites(s, s->mtot);
            m = (size_t)y->m;
            if (m > mmax) mmax = m;
            y->wt = FW__PUSH(ar, m);
            y->zu = FW__PUSH(ar, m * (size_t)y->cu);
            y->zr = FW__PUSH(ar, m * (size_t)y->cr);
            y->ze = FW__PUSH(ar, m * (size_t)y->ce);
            y->u0 = l == 0 ? FW__PUSH(ar, m * n) : NULL;
            y->ph = FW__PUSH(ar, m * Pn);
            y->phe = FW__PUSH(ar, m * Qn);
            y->gr = FW__PUSH(ar, m * Pn);
            y->d1 = FW__PUSH(ar, m * P);
            y->ktt = FW__PUSH(ar, Pn * Pn);
            y->kte = FW__PUSH(ar, Qn * Pn);
            y->kee = FW__PUSH(ar, Qn * Qn);
            y->gk = FW__PUSH(ar, Pn * Pn);
            y->qphi = l < L - 1 ? FW__PUSH(ar, m * Pn) : NULL;
            y->qg = l > 0 ? FW__PUSH(ar, m * Pn) : NULL;
            if (l < L - 1) {
                y->lphi = FW__PUSH(ar, Pn * Pn);
                y->lg = FW__PUSH(ar, Pn * Pn);
                y->lte = FW__PUSH(ar, Qn * Pn);
                y->lee = FW__PUSH(ar, Qn * Qn);
                y->atr = FW__PUSH(ar, Pn * Pn);
                y->ate = FW__PUSH(ar, Qn * Pn);
                y->bop = FW__PUSH(ar, Pn * Pn);
            }
        }
        s->wtraj = FW__PUSH(ar, mmax * nt);
        s->scr = FW__PUSH(ar, mmax * (Pn > Qn ? (Pn > n ? Pn : n) : (Qn > n ? Qn : n)));
        s->kh = FW__PUSH(ar, (P > Qn ? P : Qn) * Pn);
    }
}

FW_API fw_status fw_dmft_workspace_size(const fw_dmft_desc *desc, const fw_data *data, size_t *bytes)
{
    fw__dmft s;
    fw_arena ar;
    fw_status st;
    if (bytes == NULL) return FW_ERR_NULL;
    if ((st = fw__dmft_resolve(desc, data, &s)) != FW_OK) return st;
    fw_arena_init(&ar, NULL, 0);
    fw__dmft_lay(&ar, &s);
    if (ar.failed) return FW_ERR_SIZE;
    *bytes = ar.used;
    return FW_OK;
}

/* ---- DMFT solver: kernels of the linear algebra ------------------------------------------- */

/* out (k x cols, ld ldo) = sum_i wt_i X_i^T Y_i over m samples (rows); scr: m x k. */
static void fw__wcross(int m, int k, int cols, const fw_real *wt, const fw_real *X, int ldx,
                       const fw_real *Y, int ldy, fw_real *scr, fw_real *out, int ldo)
{
    int i, j;
    for (i = 0; i < m; ++i) {
        const fw_real *x = X + (size_t)i * (size_t)ldx;
        fw_real *o = scr + (size_t)i * (size_t)k, w = wt[i];
        for (j = 0; j < k; ++j) o[j] = w * x[j];
    }
    fw__gemm(FW_TRANS, FW_NO_TRANS, k, cols, m, 1, scr, k, Y, ldy, 0, out, ldo);
}

/* Rows r0..r1-1 of a symmetric K were computed up to column r1: copy them to the upper part. */
static void fw__mirror_rows(fw_real *K, int ld, int r0, int r1)
{
    int i, j;
    for (i = r0; i < r1; ++i)
        for (j = 0; j < i; ++j) K[(size_t)j * ld + i] = K[(size_t)i * ld + j];
}

/* Rows r0..r1-1 of the lower Cholesky factor Lm of a positive semidefinite K (rows above r0
   done). A pivot below 1e4 eps of its diagonal entry is a direction the Gaussian does not
   have: its column of Lm is zero and the source attached to it is unused. K may equal Lm. */
static void fw__chol_rows(const fw_real *K, int ldk, fw_real *Lm, int ldl, int r0, int r1)
{
    const fw_real tol = 1e4 * FW__EPS;
    int i, j;
    for (i = r0; i < r1; ++i) {
        const fw_real *ki = K + (size_t)i * ldk;
        fw_real *li = Lm + (size_t)i * ldl, kii = ki[i], d;
        for (j = 0; j < i; ++j) {
            const fw_real *lj = Lm + (size_t)j * ldl;
            li[j] = lj[j] > 0 ? (ki[j] - fw__dot(j, li, lj)) / lj[j] : 0;
        }
        d = kii - fw__dot(i, li, li);
        li[i] = kii > 0 && d > tol * kii ? fw__sqrt(d) : 0;
        for (j = i + 1; j < r1; ++j) li[j] = 0;
    }
}

/* X <- X Lm^-1 for lower-triangular Lm (k x k), X: rows x k. Columns with a zero pivot give 0,
   and with K (its diagonal read at stride ldk + 1) so do pivots below cut sqrt(K_jj). */
static void fw__solve_right_lower_cut(int rows, int k, const fw_real *Lm, int ldl, fw_real *X, int ldx,
                                      const fw_real *K, int ldk, fw_real cut)
{
    int r, j;
    for (r = 0; r < rows; ++r) {
        fw_real *x = X + (size_t)r * ldx;
        for (j = k - 1; j >= 0; --j) {
            const fw_real *lj = Lm + (size_t)j * ldl;
            const fw_real kjj = K != NULL ? K[(size_t)j * (ldk + 1)] : 0;
            x[j] = lj[j] > 0 && (K == NULL || lj[j] >= cut * fw__sqrt(kjj > 0 ? kjj : 0)) ? x[j] / lj[j] : 0;
            fw__axpy(j, -x[j], lj, x);
        }
    }
}

static void fw__solve_right_lower(int rows, int k, const fw_real *Lm, int ldl, fw_real *X, int ldx)
{
    fw__solve_right_lower_cut(rows, k, Lm, ldl, X, ldx, NULL, 0, 0);
}

/* phi and phi' together (one tanh or exp where the pair shares it). */
static void fw__act_pair(fw_activation act, fw_real x, fw_real *phi, fw_real *d1)
{
    if (act == FW_ACT_TANH) { fw_real t = fw__tanh(x); *phi = t; *d1 = 1 - t * t; return; }
    *phi = fw_act(act, x);
    *d1 = fw_act_d1(act, x);
}

/* X <- phi(X) on m rows of k entries; with d1, also phi'(X) (ld ldd). */
static void fw__act_rows(fw_activation act, int m, int k, fw_real *X, int ldx, fw_real *d1, int ldd)
{
    int i, j;
    for (i = 0; i < m; ++i) {
        fw_real *x = X + (size_t)i * ldx;
        if (d1 == NULL) { for (j = 0; j < k; ++j) x[j] = fw_act(act, x[j]); continue; }
        for (j = 0; j < k; ++j) fw__act_pair(act, x[j], &x[j], &d1[(size_t)i * ldd + j]);
    }
}

/* ---- DMFT solver: factors of the sampled kernels ----------------------------------------- */

/* The Cholesky factor of a sampled kernel K = sum_i wt_i x_i x_i^T, built from the samples
   themselves (a QR factorisation of the weighted sample matrix, one block of columns at a time)
   rather than from K. The kernels over time are nearly singular (consecutive steps barely change
   the features: pivots 1e-4 of the diagonal by T = 20), and factoring K loses cond(K) eps to
   rounding, amplified a millionfold into the predictions by T = 40; the samples lose only
   sqrt(cond(K)) eps (docs/dmft.md section 6).
   V (m x nb, ld ldv) holds the weighted new columns sqrt(wt_i) x_i; B (m x nbasis) the
   orthonormal columns of the earlier ones (zero columns where a pivot was zero). Classical
   Gram-Schmidt, twice (the second pass removes what rounding left of the first), then the block's
   own columns in order: Lc (nb x nbasis) gets the coefficients on B, Lb (nb x nb, lower) the
   in-block ones and the pivots, V becomes the new orthonormal columns. A pivot whose square is at
   most 1e4 eps of the column's own norm kdiag[a * kstride] (its diagonal of K) is a direction the
   Gaussian does not have: zero, with a zero column. Every sum over sites is reduced across the
   workers. C: scratch of at least max(nbasis, 1) * nb reals. */
static void fw__dmft_orth(const fw__dmft *s, int m, const fw_real *B, int ldb, int nbasis, fw_real *V, int ldv,
                          int nb, const fw_real *kdiag, int kstride, fw_real *Lc, int ldlc, fw_real *Lb, int ldlb,
                          fw_real *C)
{
    const fw_real tol = 1e4 * FW__EPS;
    int pass, a, b, j, i;
    for (a = 0; a < nb; ++a) {
        for (j = 0; j < nbasis; ++j) Lc[(size_t)a * ldlc + j] = 0;
        for (b = 0; b < nb; ++b) Lb[(size_t)a * ldlb + b] = 0;
    }
    for (pass = 0; pass < 2 && nbasis > 0; ++pass) {
        fw__gemm(FW_TRANS, FW_NO_TRANS, nbasis, nb, m, 1, B, ldb, V, ldv, 0, C, nb);
        fw__dmft_allreduce(s, C, nbasis, nb, nb);
        fw__gemm(FW_NO_TRANS, FW_NO_TRANS, m, nb, nbasis, -1, B, ldb, C, nb, 1, V, ldv);
        for (a = 0; a < nb; ++a)
            for (j = 0; j < nbasis; ++j) Lc[(size_t)a * ldlc + j] += C[(size_t)j * nb + a];
    }
    for (a = 0; a < nb; ++a) {
        fw_real nrm = 0, piv;
        for (pass = 0; pass < 2 && a > 0; ++pass) {
            for (b = 0; b < a; ++b) C[b] = 0;
            for (i = 0; i < m; ++i) {
                const fw_real *v = V + (size_t)i * ldv;
                for (b = 0; b < a; ++b) C[b] += v[b] * v[a];
            }
            fw__dmft_allreduce(s, C, 1, a, a);
            for (i = 0; i < m; ++i) {
                fw_real *v = V + (size_t)i * ldv;
                for (b = 0; b < a; ++b) v[a] -= C[b] * v[b];
            }
            for (b = 0; b < a; ++b) Lb[(size_t)a * ldlb + b] += C[b];
        }
        for (i = 0; i < m; ++i) nrm += V[(size_t)i * ldv + a] * V[(size_t)i * ldv + a];
        fw__dmft_allreduce(s, &nrm, 1, 1, 1);
        piv = kdiag[(size_t)a * kstride] > 0 && nrm > tol * kdiag[(size_t)a * kstride] ? fw__sqrt(nrm) : 0;
        Lb[(size_t)a * ldlb + a] = piv;
        for (i = 0; i < m; ++i) V[(size_t)i * ldv + a] = piv > 0 ? V[(size_t)i * ldv + a] / piv : 0;
    }
}

/* Rows c0 .. c1 - 1 of the factor Lm (ld Pn) of the kernel of the columns c0 .. c1 - 1 of X
   (m x Pn samples, weights wt; K its kernel, ld Pn, for the pivot test), extending the
   orthonormal columns Qm (m x Pn) of the earlier ones. */
static void fw__dmft_factor_rows(const fw__dmft *s, int m, const fw_real *wt, const fw_real *X, const fw_real *K,
                                 fw_real *Qm, fw_real *Lm, int c0, int c1)
{
    const int Pn = s->P * s->nt;
    int i, a, j;
    for (i = 0; i < m; ++i) {
        const fw_real w = fw__sqrt(wt[i]);
        for (a = c0; a < c1; ++a) Qm[(size_t)i * Pn + a] = w * X[(size_t)i * Pn + a];
    }
    fw__dmft_orth(s, m, Qm, Pn, c0, Qm + c0, Pn, c1 - c0, K + (size_t)c0 * Pn + c0, Pn + 1,
                  Lm + (size_t)c0 * Pn, Pn, Lm + (size_t)c0 * Pn + c0, Pn, s->kh);
    for (a = c0; a < c1; ++a)
        for (j = c1; j < Pn; ++j) Lm[(size_t)a * Pn + j] = 0;
}

/* ---- DMFT solver: sources ----------------------------------------------------------------- */

/* Sources of layer l: rows row0 .. row0 + count - 1 get sites first .. first + count - 1 of
   replicate rep's RNG stream (MC and ANTITHETIC; weights 1/total) or of the quadrature nodes;
   EXACT: the whole deterministic basis. */
static void fw__dmft_draw(const fw__dmft *s, fw__dmft_layer *y, int rep, int l, int row0, int first, int count, int total)
{
    const int m = y->m, cu = y->cu, cr = y->cr, ce = y->ce;
    int i, j;
    if (s->d.sampler == FW_SAMPLER_EXACT) {
        memset(y->zu, 0, (size_t)m * cu * sizeof(fw_real));
        memset(y->zr, 0, (size_t)m * cr * sizeof(fw_real));
        if (ce > 0) memset(y->ze, 0, (size_t)m * ce * sizeof(fw_real));
        for (i = 0; i < m; ++i) {
            y->wt[i] = 1;
            if (i < cu) y->zu[(size_t)i * cu + i] = 1;
            else if (i < cu + cr) y->zr[(size_t)i * cr + (i - cu)] = 1;
            else y->ze[(size_t)i * ce + (i - cu - cr)] = 1;
        }
        return;
    }
    if (s->d.sampler == FW_SAMPLER_QUADRATURE) {
        /* node first + i: mixed-radix digits over the kept pivots of Lx, then w(0) */
        const int q = s->d.quad_nodes, dims = s->quad_dims;
        for (i = row0; i < row0 + count; ++i) {
            int idx = first + (i - row0), k = 0;
            fw_real wt = 1;
            for (j = 0; j < cu; ++j) {
                y->zu[(size_t)i * cu + j] = 0;
                if (s->lx[(size_t)j * s->n + j] > 0 && k < dims - 1) {
                    y->zu[(size_t)i * cu + j] = s->gh_x[idx % q];
                    wt *= s->gh_w[idx % q];
                    idx /= q; ++k;
                }
            }
            for (; k < dims - 1; ++k) { wt *= s->gh_w[idx % q]; idx /= q; }   /* unused dimensions */
            y->zr[i] = s->gh_x[idx % q];
            y->wt[i] = wt * s->gh_w[idx % q];
        }
        return;
    }
    {
        /* site k of the stream draws normals k c .. k c + c - 1 (antithetic: pair k/2 draws them, its
           second site mirrors the first), c = cu + cr + ce; a normal pair is one Philox block, so
           the stream is entered at site `first` directly */
        const int anti = s->d.sampler == FW_SAMPLER_ANTITHETIC;
        const uint64_t c = (uint64_t)(cu + cr + ce), k0 = (uint64_t)(anti ? first / 2 : first) * c;
        fw_rng rng;
        fw_rng_init(&rng, s->d.seed, (uint64_t)rep * 256u + (uint64_t)l);
        fw__rng_seek_normal(&rng, k0);
        for (i = row0; i < row0 + count; ++i) {
            fw_real *zu = y->zu + (size_t)i * cu, *zr = y->zr + (size_t)i * cr;
            fw_real *ze = ce > 0 ? y->ze + (size_t)i * ce : NULL;
            y->wt[i] = 1 / (fw_real)total;
            if (anti && (i - row0) % 2 == 1) {
                for (j = 0; j < cu; ++j) zu[j] = zu[j - cu];
                for (j = 0; j < ce; ++j) ze[j] = ze[j - ce];
                for (j = 0; j < cr; ++j) zr[j] = -zr[j - cr];
                continue;
            }
            fw_rng_fill_normal(&rng, zu, cu, 1);
            fw_rng_fill_normal(&rng, zr, cr, 1);
            if (ce > 0) fw_rng_fill_normal(&rng, ze, ce, 1);
        }
    }
}

/* This worker's share of solve rep (rep == R: the pooled solve over the union of the R
   replicates' samples; R == 1: the one solve) for layer l: drawn into y, y->m set to its count. */
static void fw__dmft_load(fw__dmft *s, fw__dmft_layer *y, int rep, int l)
{
    const int sampled = s->d.sampler == FW_SAMPLER_MC || s->d.sampler == FW_SAMPLER_ANTITHETIC;
    const int pooled = rep >= s->R && s->R > 1;
    int total, b, e, i;
    if (s->d.sampler == FW_SAMPLER_EXACT) { s->msolve = y->m; fw__dmft_draw(s, y, 0, l, 0, 0, y->m, y->m); return; }
    total = sampled && pooled ? s->mtot : s->m;
    s->msolve = total;
    fw__dmft_share(s, total, &b, &e);
    y->m = e - b;
    if (!pooled) { fw__dmft_draw(s, y, sampled ? rep : 0, l, 0, b, e - b, total); return; }
    for (i = 0; i < s->R; ++i) {   /* replicate i holds pooled sites i m .. (i + 1) m - 1 */
        const int lo = b > i * s->m ? b : i * s->m, hi = e < (i + 1) * s->m ? e : (i + 1) * s->m;
        if (lo < hi) fw__dmft_draw(s, y, i, l, lo - b, lo - i * s->m, hi - lo, total);
    }
}

/* ---- DMFT solver: records ----------------------------------------------------------------- */

/* The prediction and loss blocks of the record vector rec from the trajectory fh (nt x n). */
static void fw__dmft_record_predictions(const fw__dmft *s, const fw_real *fh, fw_real *rec)
{
    const int n = s->n, P = s->P, Q = s->Q;
    int r, i;
    for (r = 0; r < s->nrec; ++r) {
        const fw_real *f = fh + (size_t)fw_dmft_record_time(&s->d, r) * n;
        fw_real tr = 0, te = 0;
        for (i = 0; i < n; ++i) rec[fw__dmft_off(s, 0) + (size_t)r * n + i] = f[i];
        for (i = 0; i < P; ++i) tr += (s->data->y[i] - f[i]) * (s->data->y[i] - f[i]);
        if (s->data->y_test != NULL && Q > 0) {
            for (i = 0; i < Q; ++i) te += (s->data->y_test[i] - f[P + i]) * (s->data->y_test[i] - f[P + i]);
            te /= 2 * (fw_real)Q;
        }
        rec[fw__dmft_off(s, 1) + r] = tr / (2 * (fw_real)P);
        rec[fw__dmft_off(s, 2) + r] = te;
    }
}

static void fw__dmft_record_basic(fw__dmft *s) { fw__dmft_record_predictions(s, s->fh, s->rec); }

/* Stores the training-point NTK of record r (in s->eig_a on entry) and its top eigenvalue. */
/* The largest eigenvalue of the symmetric n x n matrix A (n > FW__EIGH_MAX) by Lanczos with full
   reorthogonalisation: K = min(n, FW__LANCZOS_MAX) steps at most, stopping when the Ritz residual
   beta |s_last| falls below 1e-12 of the Ritz value (its error is then of the order of the
   residual squared over the gap). Q: K x n basis (the caller's n x n scratch), T, V, U: K x K,
   w: K, x: n. O(K n^2) instead of the O(n^3) sweeps of a full eigendecomposition. */
static fw_status fw__top_eigenvalue(int n, const fw_real *A, fw_real *Q, fw_real *T, fw_real *V, fw_real *U, fw_real *w,
                                    fw_real *x, fw_real *top)
{
    const int K = n < FW__LANCZOS_MAX ? n : FW__LANCZOS_MAX;
    fw_real beta_prev = 0, nrm = 0;
    fw_status st;
    int j, i, k, pass;
    for (i = 0; i < n; ++i) { Q[i] = 1 + (fw_real)0.5 * fw__sin((fw_real)i); nrm += Q[i] * Q[i]; }   /* deterministic start */
    for (i = 0; i < n; ++i) Q[i] /= fw__sqrt(nrm);
    for (i = 0; i < K * K; ++i) T[i] = 0;
    *top = 0;
    for (j = 0; j < K; ++j) {
        fw_real *q = Q + (size_t)j * n, alpha, beta;
        fw__gemv(FW_NO_TRANS, n, n, 1, A, n, q, 0, x);
        alpha = fw__dot(n, q, x);
        for (i = 0; i < n; ++i) x[i] -= alpha * q[i] + (j > 0 ? beta_prev * Q[(size_t)(j - 1) * n + i] : 0);
        for (pass = 0; pass < 2; ++pass)   /* full reorthogonalisation, twice */
            for (k = 0; k <= j; ++k) {
                const fw_real c = fw__dot(n, Q + (size_t)k * n, x);
                for (i = 0; i < n; ++i) x[i] -= c * Q[(size_t)k * n + i];
            }
        beta = fw__sqrt(fw__dot(n, x, x));
        T[(size_t)j * K + j] = alpha;
        if (j > 0) T[(size_t)j * K + j - 1] = T[(size_t)(j - 1) * K + j] = beta_prev;
        if (j == K - 1 || j % 4 == 3 || !(beta > 0)) {
            /* Ritz values of the (j+1) x (j+1) tridiagonal block (copied: fw_eigh overwrites) */
            const int m = j + 1;
            for (i = 0; i < m; ++i)
                for (k = 0; k < m; ++k) V[(size_t)i * m + k] = T[(size_t)i * K + k];
            if ((st = fw_eigh(m, V, m, w, U, m)) != FW_OK) return st;
            *top = w[m - 1];
            if (!(beta > 0) || j == K - 1) break;
            {
                /* residual of the top Ritz pair: beta |last component of its eigenvector| */
                const fw_real sl = U[(size_t)(m - 1) * m + (m - 1)];   /* row and column m - 1 */
                if (beta * fw__abs(sl) <= (fw_real)1e-12 * fw__abs(*top)) break;
            }
        }
        if (!(beta > 0)) break;
        for (i = 0; i < n; ++i) Q[(size_t)(j + 1) * n + i] = x[i] / beta;
        beta_prev = beta;
    }
    return FW_OK;
}

static fw_status fw__dmft_record_ntk(fw__dmft *s, int r)
{
    const int P = s->P;
    fw_real *dst = s->rec + fw__dmft_off(s, 3) + (size_t)r * P * P;
    fw_status st;
    memcpy(dst, s->eig_a, (size_t)P * P * sizeof(fw_real));
    /* an NTK that overflowed while the predictions were still finite: the run is blowing up */
    if (!fw__all_finite(P, P, dst, P)) return FW_ERR_DIVERGED;
    if (P > FW__EIGH_MAX)
        return fw__top_eigenvalue(P, dst, s->eig_v, s->lz_t, s->lz_v, s->lz_u, s->lz_w, s->lz_x, &s->rec[fw__dmft_off(s, 4) + r]);
    if ((st = fw_eigh(P, s->eig_a, P, s->eig_w, s->eig_v, P)) != FW_OK) return st;
    s->rec[fw__dmft_off(s, 4) + r] = s->eig_w[P - 1];
    return FW_OK;
}

/* ---- DMFT solver: two-layer nets (docs/model.md section 2, the single-site update) ---------- */

static fw_status fw__dmft_markov(fw__dmft *s, int *bad_step)
{
    fw__dmft_layer *y = s->lay;
    const int m = y->m, n = s->n, P = s->P, T = s->d.steps;
    const fw_real eg = s->eta * s->gam;
    fw_real *wwt = s->wtraj;
    fw_status st;
    int t, i, j, r = 0;
    fw__gemm(FW_NO_TRANS, FW_TRANS, m, n, n, 1, y->zu, n, s->lx, n, 0, s->h, n);   /* h(0) ~ N(0, Kx) */
    for (i = 0; i < m; ++i) s->wv[i] = y->zr[i];
    for (t = 0; t <= T; ++t) {
        fw_real *f = s->fh + (size_t)t * n, *dl = s->delta + (size_t)t * P;
        /* tmp = phi(h); gg = g = w phi'(h) on the training points */
        memcpy(s->tmp, s->h, (size_t)m * n * sizeof(fw_real));
        fw__act_rows(s->d.act, m, P, s->tmp, n, s->gg, P);
        if (n > P) fw__act_rows(s->d.act, m, n - P, s->tmp + P, n, NULL, 0);
        for (i = 0; i < m; ++i)
            for (j = 0; j < P; ++j) s->gg[(size_t)i * P + j] *= s->wv[i];
        /* f = E[w phi(h)] / gamma0 */
        for (i = 0; i < m; ++i) wwt[i] = y->wt[i] * s->wv[i];
        fw__gemv(FW_TRANS, m, n, 1 / s->gam, s->tmp, n, wwt, 0, f);
        if (s->ranks > 1) {   /* f summed over the workers, with a count of workers whose readouts blew up */
            for (j = 0; j < n; ++j) s->red[j] = (double)f[j];
            s->red[n] = fw__all_finite(1, m, s->wv, m) ? 0 : 1;
            s->d.reduce.fn(s->d.reduce.user, s->red, n + 1);
            for (j = 0; j < n; ++j) f[j] = (fw_real)s->red[j];
            if (s->red[n] != 0) { *bad_step = t; return FW_ERR_DIVERGED; }
        }
        if (!fw__all_finite(1, n, f, n) || !fw__all_finite(1, m, s->wv, m)) { *bad_step = t; return FW_ERR_DIVERGED; }
        for (j = 0; j < P; ++j) dl[j] = s->dpres != NULL ? s->dpres[(size_t)t * P + j] : s->data->y[j] - f[j];
        if (s->htr != NULL) {
            memcpy(s->htr + (size_t)t * m * n, s->h, (size_t)m * n * sizeof(fw_real));
            memcpy(s->wtr + (size_t)t * m, s->wv, (size_t)m * sizeof(fw_real));
            if (s->atr != NULL) memcpy(s->atr + (size_t)t * m * n, s->tmp, (size_t)m * n * sizeof(fw_real));
        }
        if (r < s->nrec && fw_dmft_record_time(&s->d, r) == t) {
            /* NTK = Phi(1) + G(1) o Kx on the training points */
            fw__wcross(m, P, P, y->wt, s->tmp, n, s->tmp, n, s->scr, s->eig_a, P);
            fw__wcross(m, P, P, y->wt, s->gg, P, s->gg, P, s->scr, s->eig_v, P);
            for (i = 0; i < P; ++i)
                for (j = 0; j < P; ++j) s->eig_a[i * P + j] += s->eig_v[i * P + j] * s->kx[(size_t)i * n + j];
            fw__dmft_allreduce(s, s->eig_a, 1, P * P, P * P);
            if ((st = fw__dmft_record_ntk(s, r)) != FW_OK) { *bad_step = t; return st; }
            if (s->d.two_time) {
                memcpy(s->st_ph + (size_t)r * m * n, s->tmp, (size_t)m * n * sizeof(fw_real));
                memcpy(s->st_g + (size_t)r * m * P, s->gg, (size_t)m * P * sizeof(fw_real));
            }
            ++r;
        }
        if (t == T) break;
        /* one GD step, every neuron with the common error (simultaneous update):
           w += eta gamma0 sum_mu Delta_mu phi(h_mu);  h_nu += eta gamma0 sum_mu Kx[nu,mu] Delta_mu w phi'(h_mu) */
        fw__gemv(FW_NO_TRANS, m, P, eg, s->tmp, n, dl, 0, wwt);
        for (i = 0; i < m; ++i)
            for (j = 0; j < P; ++j) s->gg[(size_t)i * P + j] *= dl[j];
        fw__gemm(FW_NO_TRANS, FW_NO_TRANS, m, n, P, eg, s->gg, P, s->kx, n, 1, s->h, n);
        for (i = 0; i < m; ++i) s->wv[i] += wwt[i];
    }
    if (s->d.two_time) {
        int a, b;
        const int R = s->nrec;
        for (a = 0; a < R; ++a)
            for (b = 0; b < R; ++b) {
                fw__wcross(m, n, n, y->wt, s->st_ph + (size_t)a * m * n, n, s->st_ph + (size_t)b * m * n, n, s->scr,
                           s->rec + fw__dmft_off(s, 5) + ((size_t)a * R + b) * n * n, n);
                fw__wcross(m, P, P, y->wt, s->st_g + (size_t)a * m * P, P, s->st_g + (size_t)b * m * P, P, s->scr,
                           s->rec + fw__dmft_off(s, 6) + ((size_t)a * R + b) * P * P, P);
                fw__dmft_allreduce(s, s->rec + fw__dmft_off(s, 5) + ((size_t)a * R + b) * n * n, 1, n * n, n * n);
                fw__dmft_allreduce(s, s->rec + fw__dmft_off(s, 6) + ((size_t)a * R + b) * P * P, 1, P * P, P * P);
            }
    }
    fw__dmft_record_basic(s);
    return FW_OK;
}

/* ---- DMFT solver: the general (history) solver, any depth --------------------------------- */

/* Forward fields of layer l at step t on the training points (h -> phi(h) in ph, phi'(h) in d1),
   then the new row of Phi(l+1) and, below the top, of its Cholesky factor (the source of the
   next layer's u). */
static void fw__dmft_forward(fw__dmft *s, int l, int t)
{
    fw__dmft_layer *y = &s->lay[l], *pv = l > 0 ? &s->lay[l - 1] : NULL;
    const int m = y->m, P = s->P, Pn = P * s->nt, n = s->n, tP = t * P;
    const fw_real eg = s->eta * s->gam;
    fw_real *h = y->d1, *kh = s->kh;
    int i, mu, sp, nu;
    /* u(t): layer 0 is constant in time (the inputs do not move), deeper layers are drawn
       causally from Phi(l) through its factor's row block t */
    if (l == 0) {
        for (i = 0; i < m; ++i) memcpy(h + (size_t)i * P, y->u0 + (size_t)i * n, (size_t)P * sizeof(fw_real));
    } else {
        fw__gemm(FW_NO_TRANS, FW_TRANS, m, P, tP + P, 1, y->zu, Pn, pv->lphi + (size_t)tP * Pn, Pn, 0, h, P);
    }
    if (t > 0) {
        /* kh(t, s) = A(l)(t, s) + eta gamma0 Phi(l)(t, s) diag(Delta(s)), s < t */
        if (l > 0) {
            /* Stein: E[phi(t) zeta_r(s')] = A L_G, so A = S L_G^-1 (S kept causal: s' < t) */
            fw_real *arow = pv->atr + (size_t)tP * Pn;
            fw__wcross(pv->m, P, tP, pv->wt, pv->ph + tP, Pn, pv->zr, Pn, s->scr, arow, Pn);
            fw__dmft_allreduce(s, arow, P, tP, Pn);
            fw__solve_right_lower(P, tP, pv->lg, Pn, arow, Pn);
            for (mu = 0; mu < P; ++mu) memcpy(kh + (size_t)mu * tP, arow + (size_t)mu * Pn, (size_t)tP * sizeof(fw_real));
        } else {
            memset(kh, 0, (size_t)P * tP * sizeof(fw_real));
        }
        for (mu = 0; mu < P; ++mu)
            for (sp = 0; sp < t; ++sp)
                for (nu = 0; nu < P; ++nu) {
                    fw_real phi = l == 0 ? s->kx[(size_t)mu * n + nu] : pv->ktt[(size_t)(tP + mu) * Pn + sp * P + nu];
                    kh[(size_t)mu * tP + sp * P + nu] += eg * phi * s->delta[(size_t)sp * P + nu];
                }
        fw__gemm(FW_NO_TRANS, FW_TRANS, m, P, tP, 1, y->gr, Pn, kh, tP, 1, h, P);
    }
    for (i = 0; i < m; ++i)
        for (mu = 0; mu < P; ++mu) y->ph[(size_t)i * Pn + tP + mu] = h[(size_t)i * P + mu];
    fw__act_rows(s->d.act, m, P, y->ph + tP, Pn, y->d1, P);
    fw__wcross(m, P, tP + P, y->wt, y->ph + tP, Pn, y->ph, Pn, s->scr, y->ktt + (size_t)tP * Pn, Pn);
    fw__dmft_allreduce(s, y->ktt + (size_t)tP * Pn, P, tP + P, Pn);
    fw__mirror_rows(y->ktt, Pn, tP, tP + P);
    if (l < s->L - 1) fw__dmft_factor_rows(s, m, y->wt, y->ph, y->ktt, y->qphi, y->lphi, tP, tP + P);
}

/* Backward fields of layer l at step t (g = phi'(h) z), the new row of G(l+1) and, above the
   first layer, of its factor (the source of layer l-1's r). */
static void fw__dmft_backward(fw__dmft *s, int l, int t)
{
    fw__dmft_layer *y = &s->lay[l], *nx = l < s->L - 1 ? &s->lay[l + 1] : NULL;
    const int m = y->m, P = s->P, Pn = P * s->nt, tP = t * P, k = tP + P;
    const fw_real eg = s->eta * s->gam;
    fw_real *z = y->gr + tP, *kh = s->kh;
    int i, mu, sp, nu;
    if (nx == NULL) {
        /* the top layer's backward field is the readout w(t) */
        for (i = 0; i < m; ++i)
            for (mu = 0; mu < P; ++mu) z[(size_t)i * Pn + mu] = s->wtraj[(size_t)i * s->nt + t];
    } else {
        fw_real *brow = y->bop + (size_t)tP * Pn;
        /* r(t) from G(l+2)'s factor; B(t, s <= t) = E[g(l+2)(t) zeta_u(s')] L_Phi^-1 (Stein) */
        fw__gemm(FW_NO_TRANS, FW_TRANS, m, P, k, 1, y->zr, Pn, y->lg + (size_t)tP * Pn, Pn, 0, z, Pn);
        fw__wcross(nx->m, P, k, nx->wt, nx->gr + tP, Pn, nx->zu, Pn, s->scr, brow, Pn);
        fw__dmft_allreduce(s, brow, P, k, Pn);
        fw__solve_right_lower(P, k, y->lphi, Pn, brow, Pn);
        for (mu = 0; mu < P; ++mu) {
            memcpy(kh + (size_t)mu * k, brow + (size_t)mu * Pn, (size_t)k * sizeof(fw_real));
            for (sp = 0; sp < t; ++sp)
                for (nu = 0; nu < P; ++nu)
                    kh[(size_t)mu * k + sp * P + nu] += eg * nx->gk[(size_t)(tP + mu) * Pn + sp * P + nu] * s->delta[(size_t)sp * P + nu];
        }
        fw__gemm(FW_NO_TRANS, FW_TRANS, m, P, k, 1, y->ph, Pn, kh, k, 1, z, Pn);
    }
    for (i = 0; i < m; ++i)
        for (mu = 0; mu < P; ++mu) z[(size_t)i * Pn + mu] *= y->d1[(size_t)i * P + mu];
    fw__wcross(m, P, k, y->wt, y->gr + tP, Pn, y->gr, Pn, s->scr, y->gk + (size_t)tP * Pn, Pn);
    fw__dmft_allreduce(s, y->gk + (size_t)tP * Pn, P, k, Pn);
    fw__mirror_rows(y->gk, Pn, tP, k);
    if (l > 0) fw__dmft_factor_rows(s, m, y->wt, y->gr, y->gk, y->qg, s->lay[l - 1].lg, tP, k);
}

/* Test points, after the march: their forward fields read the training-point histories. With the
   control variate (deep nets) the test rows leave out the training directions whose pivot is below
   1e-4 of their scale, in the sources' conditioning and in the Stein solve of A: late innovations
   shrink like gamma0^k, their normalised directions turn to rounding as gamma0 -> 0, and the test
   rows' O(1) weights on them made the test predictions jump (1e-4 between gamma0 = 1e-4 and the
   reference's 6e-6, docs/dmft.md section 9), which the control variate cannot cancel. */
static void fw__dmft_test_pass(fw__dmft *s, int l)
{
    fw__dmft_layer *y = &s->lay[l], *pv = l > 0 ? &s->lay[l - 1] : NULL;
    const int m = y->m, P = s->P, Q = s->Q, n = s->n, nt = s->nt, Pn = P * nt, Qn = Q * nt;
    const fw_real eg = s->eta * s->gam;
    fw_real *kh = s->kh;
    const fw_real cut = s->cv ? (fw_real)1e-4 : 0;
    int i, t, q, sp, nu;
    if (l == 0) {
        for (i = 0; i < m; ++i)
            for (t = 0; t < nt; ++t)
                memcpy(y->phe + (size_t)i * Qn + (size_t)t * Q, y->u0 + (size_t)i * n + P, (size_t)Q * sizeof(fw_real));
    } else {
        /* the test rows of the factor of Phi(l): Lte = Phi_te,tr L^-T (the test samples' coefficients
           on the training basis), Lee = chol(Phi_ee - Lte Lte^T) (their residuals' own factor),
           both from the samples of layer l - 1 */
        fw_real *v = s->scr;
        for (i = 0; i < pv->m; ++i) {
            const fw_real w = fw__sqrt(pv->wt[i]);
            for (q = 0; q < Qn; ++q) v[(size_t)i * Qn + q] = w * pv->phe[(size_t)i * Qn + q];
        }
        if (cut > 0) {   /* leave out training directions whose pivot is below cut of their scale */
            int j;
            for (j = 0; j < Pn; ++j)
                if (pv->lphi[(size_t)j * Pn + j] < cut * fw__sqrt(pv->ktt[(size_t)j * Pn + j] > 0 ? pv->ktt[(size_t)j * Pn + j] : 0))
                    for (i = 0; i < pv->m; ++i) pv->qphi[(size_t)i * Pn + j] = 0;
        }
        fw__dmft_orth(s, pv->m, pv->qphi, Pn, Pn, v, Qn, Qn, pv->kee, Qn + 1, pv->lte, Pn, pv->lee, Qn, s->kh);
        fw__gemm(FW_NO_TRANS, FW_TRANS, m, Qn, Pn, 1, y->zu, Pn, pv->lte, Pn, 0, y->phe, Qn);
        fw__gemm(FW_NO_TRANS, FW_TRANS, m, Qn, Qn, 1, y->ze, Qn, pv->lee, Qn, 1, y->phe, Qn);
        /* the test rows of A(l), causal */
        fw__wcross(pv->m, Qn, Pn, pv->wt, pv->phe, Qn, pv->zr, Pn, s->scr, pv->ate, Pn);
        fw__dmft_allreduce(s, pv->ate, Qn, Pn, Pn);
        for (t = 0; t < nt; ++t)
            for (q = 0; q < Q; ++q)
                memset(pv->ate + (size_t)(t * Q + q) * Pn + (size_t)t * P, 0, (size_t)(Pn - t * P) * sizeof(fw_real));
        fw__solve_right_lower_cut(Qn, Pn, pv->lg, Pn, pv->ate, Pn, cut > 0 ? y->gk : NULL, Pn, cut);
    }
    for (t = 0; t < nt; ++t)
        for (q = 0; q < Q; ++q) {
            fw_real *row = kh + (size_t)(t * Q + q) * Pn;
            if (l > 0) memcpy(row, pv->ate + (size_t)(t * Q + q) * Pn, (size_t)Pn * sizeof(fw_real));
            else memset(row, 0, (size_t)Pn * sizeof(fw_real));
            for (sp = 0; sp < t; ++sp)
                for (nu = 0; nu < P; ++nu) {
                    fw_real phi = l == 0 ? s->kx[(size_t)(P + q) * n + nu] : pv->kte[(size_t)(t * Q + q) * Pn + sp * P + nu];
                    row[sp * P + nu] += eg * phi * s->delta[(size_t)sp * P + nu];
                }
        }
    fw__gemm(FW_NO_TRANS, FW_TRANS, m, Qn, Pn, 1, y->gr, Pn, kh, Pn, 1, y->phe, Qn);
    fw__act_rows(s->d.act, m, Qn, y->phe, Qn, NULL, 0);
    fw__wcross(m, Qn, Pn, y->wt, y->phe, Qn, y->ph, Pn, s->scr, y->kte, Pn);
    fw__wcross(m, Qn, Qn, y->wt, y->phe, Qn, y->phe, Qn, s->scr, y->kee, Qn);
    fw__dmft_allreduce(s, y->kte, Qn, Pn, Pn);
    fw__dmft_allreduce(s, y->kee, Qn, Qn, Qn);
}

/* Phi(l+1)(t_a, t_b) over all n points from the train/test blocks of layer l. */
static fw_real fw__dmft_phi_at(const fw__dmft *s, int l, int ta, int i, int tb, int j)
{
    const fw__dmft_layer *y = &s->lay[l];
    const int P = s->P, Q = s->Q, Pn = P * s->nt, Qn = Q * s->nt;
    if (i < P && j < P) return y->ktt[(size_t)(ta * P + i) * Pn + tb * P + j];
    if (i >= P && j < P) return y->kte[(size_t)(ta * Q + i - P) * Pn + tb * P + j];
    if (i < P) return y->kte[(size_t)(tb * Q + j - P) * Pn + ta * P + i];
    return y->kee[(size_t)(ta * Q + i - P) * Qn + tb * Q + j - P];
}

static fw_status fw__dmft_general(fw__dmft *s, int *bad_step)
{
    const int L = s->L, P = s->P, Q = s->Q, n = s->n, nt = s->nt, T = s->d.steps, Pn = P * nt;
    const fw_real eg = s->eta * s->gam;
    fw__dmft_layer *top = &s->lay[L - 1];
    fw_status st;
    int t, l, i, mu, q, r;
    fw__gemm(FW_NO_TRANS, FW_TRANS, s->lay[0].m, n, n, 1, s->lay[0].zu, n, s->lx, n, 0, s->lay[0].u0, n);
    for (i = 0; i < top->m; ++i) s->wtraj[(size_t)i * nt] = top->zr[i];
    for (t = 0; t <= T; ++t) {
        fw_real *f = s->fh + (size_t)t * n, *dl = s->delta + (size_t)t * P;
        for (l = 0; l < L; ++l) fw__dmft_forward(s, l, t);
        for (mu = 0; mu < P; ++mu) {
            fw_real acc = 0;
            for (i = 0; i < top->m; ++i) acc += top->wt[i] * s->wtraj[(size_t)i * nt + t] * top->ph[(size_t)i * Pn + t * P + mu];
            f[mu] = acc / s->gam;
        }
        fw__dmft_allreduce(s, f, 1, P, P);
        if (!fw__all_finite(1, P, f, P)) { *bad_step = t; return FW_ERR_DIVERGED; }
        for (mu = 0; mu < P; ++mu) dl[mu] = s->dpres != NULL ? s->dpres[(size_t)t * P + mu] : s->data->y[mu] - f[mu];
        for (l = L - 1; l >= 0; --l) fw__dmft_backward(s, l, t);
        if (t < T)
            for (i = 0; i < top->m; ++i) {
                fw_real acc = 0;
                for (mu = 0; mu < P; ++mu) acc += top->ph[(size_t)i * Pn + t * P + mu] * dl[mu];
                s->wtraj[(size_t)i * nt + t + 1] = s->wtraj[(size_t)i * nt + t] + eg * acc;
            }
    }
    if (Q > 0) {
        for (l = 0; l < L; ++l) fw__dmft_test_pass(s, l);
        for (t = 0; t <= T; ++t)
            for (q = 0; q < Q; ++q) {
                fw_real acc = 0;
                for (i = 0; i < top->m; ++i) acc += top->wt[i] * s->wtraj[(size_t)i * nt + t] * top->phe[(size_t)i * Q * nt + t * Q + q];
                s->fh[(size_t)t * n + P + q] = acc / s->gam;
            }
        fw__dmft_allreduce(s, s->fh + P, nt, Q, n);
        if (!fw__all_finite(nt, n, s->fh, n)) { *bad_step = T; return FW_ERR_DIVERGED; }
    }
    for (r = 0; r < s->nrec; ++r) {
        const int tr = fw_dmft_record_time(&s->d, r);
        /* NTK = G(1) o Kx + sum_{l=1..L-1} G(l+1) o Phi(l) + Phi(L) at equal times */
        for (i = 0; i < P; ++i)
            for (mu = 0; mu < P; ++mu) {
                const size_t e = (size_t)(tr * P + i) * Pn + tr * P + mu;
                fw_real acc = s->lay[0].gk[e] * s->kx[(size_t)i * n + mu] + top->ktt[e];
                for (l = 1; l < L; ++l) acc += s->lay[l].gk[e] * s->lay[l - 1].ktt[e];
                s->eig_a[i * P + mu] = acc;
            }
        if ((st = fw__dmft_record_ntk(s, r)) != FW_OK) { *bad_step = fw_dmft_record_time(&s->d, r); return st; }
    }
    if (s->d.two_time) {
        const int R = s->nrec;
        int a, b, j;
        for (l = 0; l < L; ++l)
            for (a = 0; a < R; ++a)
                for (b = 0; b < R; ++b) {
                    const int ta = fw_dmft_record_time(&s->d, a), tb = fw_dmft_record_time(&s->d, b);
                    fw_real *ph = s->rec + fw__dmft_off(s, 5) + (((size_t)l * R + a) * R + b) * n * n;
                    fw_real *gg = s->rec + fw__dmft_off(s, 6) + (((size_t)l * R + a) * R + b) * P * P;
                    for (i = 0; i < n; ++i)
                        for (j = 0; j < n; ++j) ph[(size_t)i * n + j] = fw__dmft_phi_at(s, l, ta, i, tb, j);
                    for (i = 0; i < P; ++i)
                        for (j = 0; j < P; ++j) gg[(size_t)i * P + j] = s->lay[l].gk[(size_t)(ta * P + i) * Pn + tb * P + j];
                }
    }
    fw__dmft_record_basic(s);
    return FW_OK;
}

/* ---- DMFT solver: driver ------------------------------------------------------------------- */

/* One solve on the drawn samples: a single marching sweep, or (iterations > 0) the damped
   fixed-point iteration over whole error trajectories, each sweep driven by s->dpres. */
static fw_status fw__dmft_solve(fw__dmft *s, int *bad_step)
{
    const int P = s->P, nt = s->nt;
    const fw_real *y = s->data->y;
    fw_real scale = 1, res = 0;
    fw_status st = FW_OK;
    int k, t, mu;
    if (s->d.iterations == 0) {
        s->dpres = NULL;
        return fw__dmft_is_general(s) ? fw__dmft_general(s, bad_step) : fw__dmft_markov(s, bad_step);
    }
    for (mu = 0; mu < P; ++mu) scale = fw__abs(y[mu]) > scale ? fw__abs(y[mu]) : scale;
    for (t = 0; t < nt; ++t)
        for (mu = 0; mu < P; ++mu) s->dit[(size_t)t * P + mu] = y[mu];
    s->dpres = s->dit;
    for (k = 1; k <= s->d.iterations; ++k) {
        st = fw__dmft_is_general(s) ? fw__dmft_general(s, bad_step) : fw__dmft_markov(s, bad_step);
        if (st != FW_OK) break;
        res = 0;
        for (t = 0; t < nt; ++t)
            for (mu = 0; mu < P; ++mu) {
                fw_real *d = s->dit + (size_t)t * P + mu, r = y[mu] - s->fh[(size_t)t * s->n + mu] - *d;
                res = fw__abs(r) > res ? fw__abs(r) : res;
                *d += s->d.damping * r;
            }
        if (res <= s->d.tol * scale) break;
    }
    s->dpres = NULL;
    s->sweeps = k > s->d.iterations ? s->d.iterations : k > s->sweeps ? k : s->sweeps;
    s->resid = res > s->resid ? res : s->resid;
    if (st != FW_OK) return st;
    return k > s->d.iterations ? FW_ERR_NO_CONVERGENCE : FW_OK;
}

/* ---- DMFT solver: the lazy control variate (docs/dmft.md section 9) ------------------------ */

/* The reference solve runs at this gamma0: small enough that its O(gamma0^2) distance from the
   lazy limit is negligible (3.6e-11 in double), large enough that psi = w phi(h) / gamma0 keeps
   its rounding error (eps / gamma0) as small. */
#ifndef FW__DMFT_CV_GAMMA
#define FW__DMFT_CV_GAMMA (FW__IS_FLOAT ? 5e-3 : 6e-6)
#endif

/* The closed-form lazy record vector (kernel GD with the infinite-width NTK, features frozen):
   predictions and losses, the constant NTK and its top eigenvalue, constant two-time kernels. */
static fw_status fw__dmft_lazy_record(fw__dmft *s)
{
    const int n = s->n, P = s->P, L = s->L, R = s->nrec;
    const size_t nn = (size_t)n * n;
    fw_status st;
    int r, a, b, l, i, j;
    if ((st = fw_kernels_infinite(s->d.act, L, n, s->kx, n, s->cv_phi, s->cv_g, s->cv_ntk)) != FW_OK) return st;
    if ((st = fw_lazy_predict(P, s->Q, s->cv_ntk, n, s->data->y, s->eta, s->d.steps, s->cv_f)) != FW_OK) return st;
    memset(s->cv_lazy, 0, (size_t)s->len * sizeof(fw_real));
    fw__dmft_record_predictions(s, s->cv_f, s->cv_lazy);
    for (i = 0; i < P; ++i)
        for (j = 0; j < P; ++j) s->eig_a[i * P + j] = s->cv_ntk[(size_t)i * n + j];
    for (r = 0; r < R; ++r)
        for (i = 0; i < P; ++i)
            for (j = 0; j < P; ++j) s->cv_lazy[fw__dmft_off(s, 3) + ((size_t)r * P + i) * P + j] = s->cv_ntk[(size_t)i * n + j];
    if ((st = fw_eigh(P, s->eig_a, P, s->eig_w, s->eig_v, P)) != FW_OK) return st;
    for (r = 0; r < R; ++r) s->cv_lazy[fw__dmft_off(s, 4) + r] = s->eig_w[P - 1];
    if (s->d.two_time)
        for (l = 0; l < L; ++l)
            for (a = 0; a < R; ++a)
                for (b = 0; b < R; ++b) {
                    fw_real *ph = s->cv_lazy + fw__dmft_off(s, 5) + (((size_t)l * R + a) * R + b) * nn;
                    fw_real *gg = s->cv_lazy + fw__dmft_off(s, 6) + (((size_t)l * R + a) * R + b) * P * P;
                    memcpy(ph, s->cv_phi + (size_t)(l + 1) * nn, nn * sizeof(fw_real));
                    for (i = 0; i < P; ++i)
                        for (j = 0; j < P; ++j) gg[(size_t)i * P + j] = s->cv_g[(size_t)l * nn + (size_t)i * n + j];
                }
    return fw__all_finite(1, s->len, s->cv_lazy, s->len) ? FW_OK : FW_ERR_DIVERGED;
}

/* One solve into s->rec; with the control variate also the reference solve, at gamma0 =
   FW__DMFT_CV_GAMMA on the same samples, into s->cv_ref. */
static fw_status fw__dmft_solve_with_reference(fw__dmft *s, int *bad_step)
{
    const fw_real gam = s->gam;
    fw_real *main_rec = s->rec;
    fw_status st;
    if ((st = fw__dmft_solve(s, bad_step)) != FW_OK || !s->cv) return st;
    s->rec = s->cv_ref;
    memset(s->rec, 0, (size_t)s->len * sizeof(fw_real));
    s->gam = (fw_real)FW__DMFT_CV_GAMMA;
    st = fw__dmft_solve(s, bad_step);
    s->gam = gam;
    s->rec = main_rec;
    if (st == FW_OK && !fw__all_finite(1, s->len, s->cv_ref, s->len)) st = FW_ERR_DIVERGED;
    return st;
}

/* The replicate statistics of the reference: its mean, squared deviations and co-moment with the
   main solve (before acc takes the main solve's values). */
static void fw__dmft_cv_push(fw__dmft *s, fw_stats *acc_ref, const fw_stats *acc)
{
    int i;
    fw_stats_push(acc_ref, s->cv_ref);
    for (i = 0; i < s->len; ++i) s->cv_cross[i] += (s->rec[i] - (acc->count > 0 ? acc->mean[i] : 0)) * (s->cv_ref[i] - acc_ref->mean[i]);
}

/* Every output x becomes x - beta (x_ref - x_lazy), beta = Cov(x, x_ref) / Var(x_ref) over the
   replicates (the variance-minimising coefficient; 1 when the two solves coincide, as at small
   gamma0), with the standard error of that combination. mean/m2 hold the main solve's replicate
   mean and the standard error slot on return. */
static void fw__dmft_cv_combine(fw__dmft *s, const fw_stats *acc, const fw_stats *acc_ref)
{
    const fw_real R = (fw_real)acc->count;
    int i;
    for (i = 0; i < s->len; ++i) {
        const fw_real crr = acc_ref->m2[i], beta = R < 2 ? 1 : crr > 0 ? s->cv_cross[i] / crr : 0;   /* QUADRATURE: one solve, beta 1 */
        fw_real var = R > 1 ? (acc->m2[i] - 2 * beta * s->cv_cross[i] + beta * beta * crr) / (R - 1) : 0;
        var = var > 0 ? var : 0;
        s->rec[i] -= beta * (s->cv_ref[i] - s->cv_lazy[i]);
        s->mean[i] -= beta * (acc_ref->mean[i] - s->cv_lazy[i]);
        s->m2[i] = R > 1 ? fw__sqrt(var / R) : 0;
    }
}

static void fw__dmft_result_views(fw__dmft *s, fw_dmft_result *res)
{
    fw_real *mu = s->mean, *se = s->m2;
    res->n_records = s->nrec; res->n_points = s->n; res->P = s->P; res->depth = s->L;
    res->samples_used = s->R > 1 ? s->m : s->lay[0].m; res->replicates_used = s->R;
    res->f = mu + fw__dmft_off(s, 0); res->f_se = se + fw__dmft_off(s, 0);
    res->train_loss = mu + fw__dmft_off(s, 1); res->train_loss_se = se + fw__dmft_off(s, 1);
    res->test_loss = mu + fw__dmft_off(s, 2); res->test_loss_se = se + fw__dmft_off(s, 2);
    res->ntk = mu + fw__dmft_off(s, 3); res->ntk_se = se + fw__dmft_off(s, 3);
    res->sharpness = mu + fw__dmft_off(s, 4); res->sharpness_se = se + fw__dmft_off(s, 4);
    res->phi = s->d.two_time ? mu + fw__dmft_off(s, 5) : NULL;
    res->phi_se = s->d.two_time ? se + fw__dmft_off(s, 5) : NULL;
    res->g = s->d.two_time ? mu + fw__dmft_off(s, 6) : NULL;
    res->g_se = s->d.two_time ? se + fw__dmft_off(s, 6) : NULL;
}

/* Kx = X X^T / D and its factor (u(1) ~ N(0, Kx) on all points, training points first); the
   quadrature rule. */
static fw_status fw__dmft_setup(fw__dmft *s)
{
    const fw_data *data = s->data;
    int i, j;
    fw__syrk(FW_NO_TRANS, s->n, s->D, 1 / (fw_real)s->D, data->X, data->ldx == 0 ? data->D : data->ldx, 0, s->kx, s->n);
    fw__chol_rows(s->kx, s->n, s->lx, s->n, 0, s->n);
    for (i = 0; i < s->n; ++i)
        for (j = i + 1; j < s->n; ++j) s->lx[(size_t)i * s->n + j] = 0;
    if (s->d.sampler == FW_SAMPLER_QUADRATURE) return fw_gauss_hermite(s->d.quad_nodes, s->gh_x, s->gh_w);
    return FW_OK;
}

FW_API fw_status fw_dmft_run_ws(const fw_dmft_desc *desc, const fw_data *data, fw_dmft_result *res,
                                void *ws, size_t ws_bytes)
{
    fw__dmft s;
    fw_arena ar;
    fw_stats acc, acc_ref;
    fw_status st;
    int rep, i, l, bad = -1;
    if (res == NULL || ws == NULL) return FW_ERR_NULL;
    memset(res, 0, sizeof *res);
    res->diverged_step = -1;
    if ((st = fw__dmft_resolve(desc, data, &s)) != FW_OK) return st;
    fw_arena_init(&ar, ws, ws_bytes);
    fw__dmft_lay(&ar, &s);
    if (ar.failed) {
        fw__report(&desc->log, FW_ERR_WORKSPACE, "fw_dmft_run_ws", "workspace smaller than fw_dmft_workspace_size");
        return FW_ERR_WORKSPACE;
    }
    if ((st = fw__dmft_setup(&s)) != FW_OK) return st;
    if (s.cv && (st = fw__dmft_lazy_record(&s)) != FW_OK) {
        fw__report(&desc->log, st, "fw_dmft_desc.control_variate",
                   "the lazy reference (kernel GD with the closed-form NTK) blows up at this learning rate (eta * lambda_max(NTK) > 2): "
                   "run without the control variate");
        return st;
    }
    /* Standard errors from R replicates of M/R samples; the mean from one solve on their union
       (so its O(1/M) finite-sample bias is R times smaller than a replicate's). */
    fw_stats_init(&acc, s.len, s.mean, s.m2);
    if (s.cv) {
        fw_stats_init(&acc_ref, s.len, s.cv_rmean, s.cv_rm2);
        memset(s.cv_cross, 0, (size_t)s.len * sizeof(fw_real));
    }
    for (rep = 0; rep <= s.R; ++rep) {
        const int pooled = rep == s.R, nl = fw__dmft_is_general(&s) ? s.L : 1;
        if (pooled && s.R == 1) break;
        for (l = 0; l < nl; ++l) fw__dmft_load(&s, &s.lay[l], rep, l);
        memset(s.rec, 0, (size_t)s.len * sizeof(fw_real));
        st = fw__dmft_solve_with_reference(&s, &bad);
        if (st == FW_OK && !fw__all_finite(1, s.len, s.rec, s.len)) st = FW_ERR_DIVERGED;
        res->iterations_used = s.sweeps;
        res->residual = s.resid;
        if (st != FW_OK) {
            res->diverged_step = bad;
            if (st == FW_ERR_DIVERGED)
                fw__report(&desc->log, st, "fw_dmft_run", "the predictions blew up: eta * sharpness exceeded 2 for too long");
            if (st == FW_ERR_NO_CONVERGENCE)
                fw__report(&desc->log, st, "fw_dmft_run", "the fixed-point iteration hit its cap (fw_dmft_desc.iterations); the residual is in the result");
            return st;
        }
        if (!pooled && s.cv) fw__dmft_cv_push(&s, &acc_ref, &acc);
        if (!pooled) fw_stats_push(&acc, s.rec);
    }
    /* m2 -> standard error; mean <- the pooled solve, and how far it sits from the replicates' mean */
    if (s.cv) fw__dmft_cv_combine(&s, &acc, &acc_ref);
    else
        for (i = 0; i < s.len; ++i) s.m2[i] = s.R > 1 ? fw__sqrt(fw_stats_var(&acc, i) / (fw_real)s.R) : 0;
    res->consistency = 0;
    for (i = 0; s.R > 1 && i < s.nrec * s.n; ++i) {   /* the f block comes first */
        const fw_real d = fw__abs(s.rec[i] - s.mean[i]);
        if (s.m2[i] > 0 && d > res->consistency * s.m2[i]) res->consistency = d / s.m2[i];
    }
    if (res->consistency > 4)
        fw__report(&desc->log, FW_OK, "fw_dmft_run", "the solve on all samples is more than 4 standard errors from the replicates' mean: "
                   "the dynamics amplify sampling noise (past the edge of stability?); f_se understates the error, average other seeds");
    memcpy(s.mean, s.rec, (size_t)s.len * sizeof(fw_real));
    fw__dmft_result_views(&s, res);
    return FW_OK;
}

FW_API fw_status fw_dmft_run(const fw_dmft_desc *desc, const fw_data *data, fw_dmft_result *res,
                             const fw_allocator *alloc)
{
    size_t bytes = 0;
    void *ws;
    fw_status st;
    if (res == NULL) return FW_ERR_NULL;
    memset(res, 0, sizeof *res);
    st = fw_dmft_workspace_size(desc, data, &bytes);
    if ((st = fw__ws_take(alloc, st, bytes, &ws)) != FW_OK) return st;
    if ((st = fw_dmft_run_ws(desc, data, res, ws, bytes)) != FW_OK) {   /* keep the failure's diagnostics */
        int bad = res->diverged_step, used = res->iterations_used;
        fw_real resid = res->residual;
        fw__keep_ws(st, alloc, ws, res, sizeof *res, &res->owned, &res->alloc);
        res->diverged_step = bad; res->iterations_used = used; res->residual = resid;
        return st;
    }
    return fw__keep_ws(st, alloc, ws, res, sizeof *res, &res->owned, &res->alloc);
}

FW_API void fw_dmft_result_free(fw_dmft_result *res)
{
    if (res != NULL) fw__release(res, sizeof *res, res->owned, &res->alloc);
}

// ==== fluctuations implementation ===============================================================

FW_API fw_real fw_site_d2(fw_activation act, fw_real x, fw_real bw)
{
    if (act == FW_ACT_RELU) {
        fw_real z = x / bw;
        return bw > 0 ? (fw_real)0.3989422804014327 / bw * fw__exp(-z * z / 2) : 0;
    }
    return fw_act_d2(act, x);
}

/* phi, phi', phi'' (smoothed for relu: fw_site_d2) of m x n preactivations. */
static void fw__site_acts(const fw_site_info *in, int m, const fw_real *h, fw_real *a0, fw_real *a1, fw_real *a2)
{
    const int n = in->n;
    int i, a;
    for (i = 0; i < m; ++i)
        for (a = 0; a < n; ++a) {
            const size_t e = (size_t)i * n + a;
            fw__act_pair(in->act, h[e], &a0[e], &a1[e]);
            if (a2 != NULL) a2[e] = in->act == FW_ACT_TANH ? -2 * a0[e] * a1[e] : fw_site_d2(in->act, h[e], in->bw[a]);
        }
}

/* The solver's own observables, through the generic route (the influence pass; the tangent pass
   computes their tangents directly, fw__fluct_tangents). Scratch: 3 m n reals in user. */
typedef struct fw__site_scratch { fw_real *a0, *a1, *a2; } fw__site_scratch;

/* NTK on the training points: o_ab = phi_a phi_b + w^2 phi'_a phi'_b Kx_ab (k = P^2). */
static void fw__obs_ntk(void *user, const fw_site_info *in, int m, const fw_real *h, const fw_real *w,
                        const fw_real *dh, const fw_real *dw, fw_real *out)
{
    const fw__site_scratch *sc = (const fw__site_scratch *)user;
    const int n = in->n, P = in->P;
    int i, a, b;
    fw__site_acts(in, m, h, sc->a0, sc->a1, dh != NULL ? sc->a2 : NULL);
    for (i = 0; i < m; ++i) {
        const fw_real *p0 = sc->a0 + (size_t)i * n, *p1 = sc->a1 + (size_t)i * n, *p2 = sc->a2 + (size_t)i * n;
        fw_real *o = out + (size_t)i * P * P, wi = w[i];
        if (dh == NULL) {
            for (a = 0; a < P; ++a)
                for (b = 0; b < P; ++b) o[a * P + b] = p0[a] * p0[b] + wi * wi * p1[a] * p1[b] * in->kx[(size_t)a * n + b];
        } else {
            const fw_real *d = dh + (size_t)i * n, dwi = dw[i];
            for (a = 0; a < P; ++a)
                for (b = 0; b < P; ++b)
                    o[a * P + b] = p1[a] * d[a] * p0[b] + p0[a] * p1[b] * d[b] +
                                   in->kx[(size_t)a * n + b] * (2 * wi * dwi * p1[a] * p1[b] +
                                                                 wi * wi * (p2[a] * d[a] * p1[b] + p1[a] * p2[b] * d[b]));
        }
    }
}

/* Phi on all points: o_ab = phi_a phi_b (k = n^2). */
static void fw__obs_phi(void *user, const fw_site_info *in, int m, const fw_real *h, const fw_real *w,
                        const fw_real *dh, const fw_real *dw, fw_real *out)
{
    const fw__site_scratch *sc = (const fw__site_scratch *)user;
    const int n = in->n;
    int i, a, b;
    (void)w; (void)dw;
    fw__site_acts(in, m, h, sc->a0, sc->a1, NULL);
    for (i = 0; i < m; ++i) {
        const fw_real *p0 = sc->a0 + (size_t)i * n, *p1 = sc->a1 + (size_t)i * n;
        fw_real *o = out + (size_t)i * n * n;
        if (dh == NULL) {
            for (a = 0; a < n; ++a)
                for (b = 0; b < n; ++b) o[a * n + b] = p0[a] * p0[b];
        } else {
            const fw_real *d = dh + (size_t)i * n;
            for (a = 0; a < n; ++a)
                for (b = 0; b < n; ++b) o[a * n + b] = p1[a] * d[a] * p0[b] + p0[a] * p1[b] * d[b];
        }
    }
}

#define FW__FLUCT_BLOCK 256   /* samples per block of the influence pass */
#ifndef FW_TANGENT_BLOCK
#define FW_TANGENT_BLOCK 64
#endif
/* sites per block of the tangent pass: their activations at every step and their tangents stay
   in cache (a multiple of 8) */
#define FW__TANGENT_BLOCK FW_TANGENT_BLOCK
typedef char fw__tangent_block_is_a_multiple_of_8[(FW__TANGENT_BLOCK % 8 == 0 && FW__TANGENT_BLOCK > 0) ? 1 : -1];

/* Rows of one product of the influence pass: whole records of n rows, at least FW_TANGENT_BLOCK / 2
   rows (products of fewer rows run slowly) unless fewer than that many records are left (left). */
static int fw__fluct_group_rows(int n, int left)
{
    int g = (FW__TANGENT_BLOCK / 2 + n - 1) / n;
    return (g < left ? g : left) * n;
}

typedef struct fw__fluct {
    fw__dmft s;
    const fw_fluct_desc *fd;
    int N, nt, cn, cp, nb, nobs, ktot, kmax;  /* cn = nt n, cp = nt P; nb built-in observables */
    fw_fluct_observable bi[2];                /* built-in: NTK, Phi */
    fw__site_scratch sc;
    fw_site_info info;
    fw_real *bw;
    int bad_step;            /* the first step that is not finite (FW_ERR_DIVERGED), else -1 */
    fw_real *psi;            /* m x cn: psi(t, nu) - f(t, nu) */
    fw_real *jf, *pi, *pitr; /* J: cn x cp; (I + J E)^-1: cn x cn; its training rows: cp x cn */
    fw_real *dh, *dw, *dh2, *dw2, *v;   /* tangents of P sources on one block of B sites, point-major: P x n x B, P x B; v: P x P x B */
    fw_real *blk_phi, *blk_dphi;   /* one block of B sites at every step, nt x n x B each: phi, phi' */
    fw_real *blk_weighted;   /* the same block, 3 nt x n x B: wt phi, wt w phi', w phi'' (see fw__fluct_tangents) */
    fw_real *wblk;           /* the block's readouts at every step: nt x B */
    fw_real *dht;            /* one source's tangents site-major (B x n), for the observables */
    fw_real *jo, *co;        /* J_O: nrec ktot x cp; J_O E (I + J E)^-1: nrec ktot x cn */
    fw_real *oval, *zo, *zs; /* m x kmax; B x nrec ktot; B x n */
    fw_real *pit, *cot;      /* the recorded rows of Pi (nrec n x cn) and of C_O, transposed (cn x nrec ktot) */
    fw_real *zt;             /* one block's influences at a group of records, transposed: group rows x min(B, m) */
    int m, len;              /* samples of the current solve; length of the packed outputs */
    fw_real *pk, *pk_mean, *pk_m2;      /* packed outputs of one solve; Welford over replicates */
    fw_real *f, *f_var, *f_cov, *f_naive, *trl, *trl_var, *tel, *tel_var, *dfdy;   /* views into pk */
    fw_real *fb, *trl_b, *tel_b;                   /* bias outputs (views into pk) */
    /* bias: per-sample training influences U (m x cp), their covariance and its eigenvectors
       (cp x cp), phi''' (m x n), one direction's tangents (m x n, m) of first and second order,
       the coefficients of their Kx products (m x P), and c, b (cn) */
    fw_real *bu, *bsig, *bvec, *bval, *a3, *th1, *th2, *tw1, *tw2, *tv1, *tv2, *bc, *bb;
    fw_real **om, **ov;      /* per observable: its mean and var inside pk */
} fw__fluct;

static fw_fluct_observable *fw__fluct_obs(fw__fluct *u, int j)
{
    return j < u->nb ? &u->bi[j] : &u->fd->obs[j - u->nb];
}

#define FW__FLUCT_FAIL(st, field, text) do { fw__report(&desc->dmft.log, st, field, text); return st; } while (0)

static fw_status fw__fluct_resolve(const fw_fluct_desc *desc, const fw_data *data, fw__fluct *u)
{
    const fw_dmft_desc *dd;
    fw_status st;
    int j;
    if (desc == NULL || data == NULL) return FW_ERR_NULL;
    dd = &desc->dmft;
    memset(u, 0, sizeof *u);
    u->fd = desc;
    if ((st = fw__dmft_resolve(dd, data, &u->s)) != FW_OK) return st;
    u->s.cv = 0;   /* the fluctuation solver differentiates the sampled dynamics itself */
    if (u->s.L != 1 || dd->general)
        FW__FLUCT_FAIL(FW_ERR_ARG, "fw_fluct_desc.dmft.depth", "the fluctuation solver handles two-layer nets (depth 1) so far");
    if (u->s.d.sampler == FW_SAMPLER_EXACT)
        FW__FLUCT_FAIL(FW_ERR_ARG, "fw_fluct_desc.dmft.sampler", "EXACT has no single-site covariance; use MC, ANTITHETIC or QUADRATURE");
    if (desc->width < 1) FW__FLUCT_FAIL(FW_ERR_SIZE, "fw_fluct_desc.width", "must be >= 1");
    if (!fw__finite(desc->relu_bw) || desc->relu_bw < 0) FW__FLUCT_FAIL(FW_ERR_ARG, "fw_fluct_desc.relu_bw", "must be finite and >= 0");
    if (desc->n_obs < 0 || (desc->n_obs > 0 && desc->obs == NULL))
        FW__FLUCT_FAIL(FW_ERR_NULL, "fw_fluct_desc.obs", "n_obs must be >= 0, with obs non-NULL when > 0");
    u->s.d.two_time = 0;
    u->N = desc->width;
    u->nt = u->s.nt;
    u->cn = u->nt * u->s.n;
    u->cp = u->nt * u->s.P;
    u->nb = desc->kernels ? 2 : 0;
    u->bi[0].k = u->s.P * u->s.P; u->bi[0].fn = fw__obs_ntk;
    u->bi[1].k = u->s.n * u->s.n; u->bi[1].fn = fw__obs_phi;
    u->nobs = u->nb + desc->n_obs;
    for (j = 0; j < u->nobs; ++j) {
        fw_fluct_observable *o = fw__fluct_obs(u, j);
        if (j >= u->nb && (o->k < 1 || o->fn == NULL || o->mean == NULL || o->var == NULL))
            FW__FLUCT_FAIL(FW_ERR_ARG, "fw_fluct_desc.obs", "every observable needs k >= 1, fn, mean and var");
        u->ktot += o->k;
        if (o->k > u->kmax) u->kmax = o->k;
    }
    if ((double)u->cn * u->cn > 2147483647.0 || (double)u->s.nrec * u->ktot * u->cn > 2147483647.0 ||
        (double)u->s.mtot * u->kmax > 2147483647.0)
        FW__FLUCT_FAIL(FW_ERR_SIZE, "fw_fluct_desc", "steps x points (or observables) too large");
    {
        const int R = u->s.nrec, n = u->s.n, P = u->s.P;
        u->len = R * (3 * n + n * n + 4 + n * P) + 2 * R * u->ktot + (desc->bias ? R * (n + 2) : 0);
    }
    return FW_OK;
}

static void fw__fluct_lay(fw_arena *ar, fw__fluct *u)
{
    const size_t m = (size_t)fw__dmft_local_sites(&u->s, u->s.mtot), n = (size_t)u->s.n, P = (size_t)u->s.P, nt = (size_t)u->nt;
    const size_t cn = (size_t)u->cn, cp = (size_t)u->cp, R = (size_t)u->s.nrec, B = FW__FLUCT_BLOCK;
    const size_t kt = (size_t)u->ktot, km = (size_t)u->kmax, TB = FW__TANGENT_BLOCK;
    fw__dmft_lay(ar, &u->s);   /* sites: this worker's share (fw__dmft_local_sites) */
    u->s.htr = FW__PUSH(ar, nt * m * n);
    u->s.wtr = FW__PUSH(ar, nt * m);
    u->s.atr = FW__PUSH(ar, nt * m * n);
    u->bw = FW__PUSH(ar, n);
    u->psi = FW__PUSH(ar, m * cn);
    u->jf = FW__PUSH(ar, cn * cp);
    u->pi = FW__PUSH(ar, cn * cn);
    u->pitr = FW__PUSH(ar, cp * cn);
    u->dh = FW__PUSH(ar, P * TB * n);
    u->dh2 = FW__PUSH(ar, P * TB * n);
    u->dw = FW__PUSH(ar, P * TB);
    u->dw2 = FW__PUSH(ar, P * TB);
    u->v = FW__PUSH(ar, (P * P > 2 * n + 1 ? P * P : 2 * n + 1) * TB);   /* also x, y, c of the built-in J_O */
    u->blk_phi = FW__PUSH(ar, nt * TB * n);
    u->blk_dphi = FW__PUSH(ar, nt * TB * n);
    u->blk_weighted = FW__PUSH(ar, 3 * nt * TB * n);
    u->wblk = FW__PUSH(ar, nt * TB);
    u->dht = FW__PUSH(ar, TB * n);
    u->sc.a0 = FW__PUSH(ar, m * n);
    u->sc.a1 = FW__PUSH(ar, m * n);
    u->sc.a2 = FW__PUSH(ar, m * n);
    u->jo = FW__PUSH(ar, R * kt * cp);
    u->co = FW__PUSH(ar, R * kt * cn);
    u->oval = FW__PUSH(ar, m * km);
    u->zo = FW__PUSH(ar, B * R * kt);
    u->pit = FW__PUSH(ar, cn * R * n);
    u->zt = FW__PUSH(ar, fw__fluct_group_rows(n, R) * (m < B ? m : B));
    u->cot = FW__PUSH(ar, cn * R * kt);
    u->zs = FW__PUSH(ar, B * (n > km ? n : km));
    u->pk = FW__PUSH(ar, u->len);
    u->pk_mean = FW__PUSH(ar, u->len);
    u->pk_m2 = FW__PUSH(ar, u->len);
    if (u->fd->bias) {
        u->bu = FW__PUSH(ar, m * cp);
        u->bsig = FW__PUSH(ar, cp * cp);
        u->bvec = FW__PUSH(ar, cp * cp);
        u->bval = FW__PUSH(ar, cp);
        u->a3 = FW__PUSH(ar, m * n);
        u->th1 = FW__PUSH(ar, m * n);
        u->th2 = FW__PUSH(ar, m * n);
        u->tw1 = FW__PUSH(ar, m);
        u->tw2 = FW__PUSH(ar, m);
        u->tv1 = FW__PUSH(ar, m * P);
        u->tv2 = FW__PUSH(ar, m * P);
        u->bc = FW__PUSH(ar, cn);
        u->bb = FW__PUSH(ar, cn);
    }
    u->om = (fw_real **)fw_arena_push(ar, (size_t)(u->nobs > 0 ? u->nobs : 1) * sizeof(fw_real *));
    u->ov = (fw_real **)fw_arena_push(ar, (size_t)(u->nobs > 0 ? u->nobs : 1) * sizeof(fw_real *));
    if (u->pk != NULL && u->om != NULL && u->ov != NULL) {
        fw_real *q = u->pk;
        int j;
        u->f = q; q += R * n;
        u->f_var = q; q += R * n;
        u->f_cov = q; q += R * n * n;
        u->f_naive = q; q += R * n;
        u->trl = q; q += R;
        u->trl_var = q; q += R;
        u->tel = q; q += R;
        u->tel_var = q; q += R;
        u->dfdy = q; q += R * n * P;
        for (j = 0; j < u->nobs; ++j) {
            const size_t k = (size_t)fw__fluct_obs(u, j)->k;
            u->om[j] = q; q += R * k;
            u->ov[j] = q; q += R * k;
        }
        if (u->fd->bias) {
            u->fb = q; q += R * n;
            u->trl_b = q; q += R;
            u->tel_b = q; q += R;
        }
    }
}

FW_API fw_status fw_fluct_workspace_size(const fw_fluct_desc *desc, const fw_data *data, size_t *bytes)
{
    fw__fluct u;
    fw_arena ar;
    fw_status st;
    if (bytes == NULL) return FW_ERR_NULL;
    if ((st = fw__fluct_resolve(desc, data, &u)) != FW_OK) return st;
    fw_arena_init(&ar, NULL, 0);
    fw__fluct_lay(&ar, &u);
    if (ar.failed) return FW_ERR_SIZE;
    *bytes = ar.used;
    return FW_OK;
}

/* J[(t, .), (s0, .)] for t > s0, and J_O at the recorded steps, by forward-mode tangents: the P
   sources Delta_mu(s0) enter the update at step s0 directly; then the tangents (dh, dw) follow
   the linearised update with the common error Delta(t). Each site's tangents are its own, so the
   pass runs over blocks of B sites (i0 .. i0 + bm - 1): their activations are computed once for
   every step and everything stays in cache. Adds the weighted sums over the block's sites to jf
   (J gamma0; the caller divides) and jo, in site order. */
/* The linearised step of one source's tangents on a block of FW__TANGENT_BLOCK sites (fixed
   length and restrict: the loops vectorise at -O2): dw' = dw + eg sum_a Delta_a phi'_a dh_a,
   dh'_nu = dh_nu + sum_a Kx[nu, a] v_a with v_a = eg Delta_a (dw phi'_a + w phi''_a dh_a). */
static void fw__tangent_step(int n, int P, fw_real eg, const fw_real *dl, const fw_real *kx, const fw_real *FW_RESTRICT q1,
                             const fw_real *FW_RESTRICT wq2, const fw_real *FW_RESTRICT dw, const fw_real *FW_RESTRICT dh,
                             fw_real *FW_RESTRICT dw2, fw_real *FW_RESTRICT dh2, fw_real *FW_RESTRICT v)
{
    enum { B = FW__TANGENT_BLOCK };
    int a, b, i;
    for (i = 0; i < B; ++i) dw2[i] = 0;
    for (a = 0; a < P; ++a) {
        const fw_real *FW_RESTRICT p1 = q1 + (size_t)a * B, *FW_RESTRICT p2 = wq2 + (size_t)a * B, *FW_RESTRICT d = dh + (size_t)a * B;
        fw_real *FW_RESTRICT va = v + (size_t)a * B;
        const fw_real ea = eg * dl[a], da = dl[a];
        for (i = 0; i < B; ++i) {
            dw2[i] += da * p1[i] * d[i];
            va[i] = ea * (dw[i] * p1[i] + p2[i] * d[i]);
        }
    }
    for (i = 0; i < B; ++i) dw2[i] = dw[i] + eg * dw2[i];
    for (a = 0; a < n; ++a) {
        const fw_real *FW_RESTRICT d = dh + (size_t)a * B;
        fw_real *FW_RESTRICT d2 = dh2 + (size_t)a * B;
        for (i = 0; i < B; ++i) d2[i] = d[i];
        for (b = 0; b + 4 <= P; b += 4) {   /* four sources a pass: one store per four products */
            const fw_real k0 = kx[(size_t)b * n + a], k1 = kx[(size_t)(b + 1) * n + a];
            const fw_real k2 = kx[(size_t)(b + 2) * n + a], k3 = kx[(size_t)(b + 3) * n + a];
            const fw_real *FW_RESTRICT v0 = v + (size_t)b * B, *FW_RESTRICT v1 = v0 + B, *FW_RESTRICT v2 = v1 + B, *FW_RESTRICT v3 = v2 + B;
            for (i = 0; i < B; ++i) d2[i] += (k0 * v0[i] + k1 * v1[i]) + (k2 * v2[i] + k3 * v3[i]);
        }
        for (; b < P; ++b) {
            const fw_real kba = kx[(size_t)b * n + a], *FW_RESTRICT vb = v + (size_t)b * B;
            for (i = 0; i < B; ++i) d2[i] += kba * vb[i];
        }
    }
}

/* sum_i x_i y_i + u_i v_i over one block of FW__TANGENT_BLOCK sites (eight partial sums, as fw__dot). */
static fw_real fw__tangent_dot(const fw_real *FW_RESTRICT x, const fw_real *FW_RESTRICT y, const fw_real *FW_RESTRICT u,
                               const fw_real *FW_RESTRICT v)
{
    fw_real acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i, k;
    for (i = 0; i < FW__TANGENT_BLOCK; i += 8)
        for (k = 0; k < 8; ++k) acc[k] += x[i + k] * y[i + k] + u[i + k] * v[i + k];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static void fw__fluct_tangents(fw__fluct *u, int i0, int bm)
{
    /* layout, point-major so that the inner loops run over the block's sites (FW__TANGENT_BLOCK,
       the last block padded with zero-weight sites): per step t the activations A0, A1 [t][a][i],
       the weighted ones used by J, WA0 = wt phi and WA1 = wt w phi', and WA2 = w phi'' for the
       step; the readouts W[t][i]; tangents dh[mu][a][i], dw[mu][i], v[mu][b][i] */
    enum { TB = FW__TANGENT_BLOCK };
    fw__dmft *s = &u->s;
    const int m = u->m, n = s->n, P = s->P, T = s->d.steps, cp = u->cp;
    const size_t bn = (size_t)TB * n;
    const fw_real eg = s->eta * s->gam, *kx = s->kx;
    fw_real *sm0 = u->sc.a0, *sm1 = u->sc.a1, *sm2 = u->sc.a2;   /* site-major scratch (bm x n) */
    fw_real *A0 = u->blk_phi, *A1 = u->blk_dphi, *WA0 = u->blk_weighted, *WA1 = WA0 + (T + 1) * bn, *WA2 = WA1 + (T + 1) * bn;
    fw_real *W = u->wblk, wt[TB];
    int t, s0, i, mu, a, b, r, j;
    for (i = 0; i < TB; ++i) wt[i] = i < bm ? s->lay->wt[i0 + i] : 0;
    for (t = 0; t <= T; ++t) {
        const fw_real *wr = s->wtr + (size_t)t * m + i0;
        if (s->d.act == FW_ACT_TANH && s->atr != NULL) {   /* phi from the march: phi' and phi'' follow (as fw__site_acts) */
            const fw_real *ph = s->atr + ((size_t)t * m + i0) * n;
            for (i = 0; i < bm * n; ++i) { sm0[i] = ph[i]; sm1[i] = 1 - ph[i] * ph[i]; sm2[i] = -2 * sm0[i] * sm1[i]; }
        } else {
            fw__site_acts(&u->info, bm, s->htr + ((size_t)t * m + i0) * n, sm0, sm1, sm2);
        }
        for (i = 0; i < bm; ++i) {   /* the block's centred psi = w phi(h) / gamma0 - f */
            fw_real *p = u->psi + (size_t)(i0 + i) * u->cn + (size_t)t * n;
            const fw_real wg = wr[i] / s->gam;
            for (a = 0; a < n; ++a) p[a] = wg * sm0[(size_t)i * n + a] - s->fh[(size_t)t * n + a];
        }
        for (i = 0; i < TB; ++i) W[t * TB + i] = i < bm ? wr[i] : 0;
        for (a = 0; a < n; ++a)
            for (i = 0; i < TB; ++i) {
                const size_t e = t * bn + (size_t)a * TB + i;
                const fw_real x0 = i < bm ? sm0[(size_t)i * n + a] : 0, x1 = i < bm ? sm1[(size_t)i * n + a] : 0;
                const fw_real x2 = i < bm ? sm2[(size_t)i * n + a] : 0;
                A0[e] = x0; A1[e] = x1;
                WA0[e] = wt[i] * x0; WA1[e] = wt[i] * W[t * TB + i] * x1; WA2[e] = W[t * TB + i] * x2;
            }
    }
    for (s0 = 0; s0 < T; ++s0) {
        {
            const fw_real *w = W + s0 * TB, *p0 = A0 + s0 * bn, *p1 = A1 + s0 * bn;
            for (mu = 0; mu < P; ++mu) {
                fw_real *dw = u->dw + (size_t)mu * TB, *dh = u->dh + (size_t)mu * bn;
                for (i = 0; i < TB; ++i) dw[i] = eg * p0[(size_t)mu * TB + i];
                for (a = 0; a < n; ++a)
                    for (i = 0; i < TB; ++i) dh[(size_t)a * TB + i] = eg * w[i] * p1[(size_t)mu * TB + i] * kx[(size_t)a * n + mu];
            }
        }
        for (t = s0 + 1, r = 0; t <= T; ++t) {
            const fw_real *dl = s->delta + (size_t)t * P;
            const fw_real *w0 = WA0 + t * bn, *w1 = WA1 + t * bn;
            fw_real *tmp;
            /* J(t, s0) gamma0 += sum_i wt_i (dw phi(h) + w phi'(h) dh) */
            for (mu = 0; mu < P; ++mu) {
                const fw_real *dw = u->dw + (size_t)mu * TB, *dh = u->dh + (size_t)mu * bn;
                fw_real *dst = u->jf + (size_t)(t * n) * cp + (size_t)s0 * P + mu;
                for (a = 0; a < n; ++a) dst[(size_t)a * cp] += fw__tangent_dot(w0 + (size_t)a * TB, dw, w1 + (size_t)a * TB, dh + (size_t)a * TB);
            }
            /* J_O at recorded steps: the built-in NTK and Phi as sums over the block of products of
               point-major rows; user observables through their callback (site-major arrays) */
            while (r < s->nrec && fw_dmft_record_time(&s->d, r) < t) ++r;
            if (r < s->nrec && fw_dmft_record_time(&s->d, r) == t && u->nobs > 0) {
                const fw_real *h = s->htr + ((size_t)t * m + i0) * n, *w = s->wtr + (size_t)t * m + i0;
                const fw_real *q1 = A1 + t * bn, *wq2 = WA2 + t * bn;
                int koff;
                for (mu = 0; mu < P; ++mu) {
                    const fw_real *dh = u->dh + (size_t)mu * bn, *dw = u->dw + (size_t)mu * TB;
                    fw_real *x = u->v, *y = u->v + bn, *c = u->v + 2 * bn;   /* phi' dh, w phi'' dh, 2 dw */
                    int transposed = 0;
                    for (a = 0; a < n; ++a)
                        for (i = 0; i < TB; ++i) {
                            x[(size_t)a * TB + i] = q1[(size_t)a * TB + i] * dh[(size_t)a * TB + i];
                            y[(size_t)a * TB + i] = wq2[(size_t)a * TB + i] * dh[(size_t)a * TB + i];
                        }
                    for (i = 0; i < TB; ++i) c[i] = 2 * dw[i];
                    for (j = 0, koff = 0; j < u->nobs; koff += fw__fluct_obs(u, j)->k, ++j) {
                        fw_fluct_observable *o = fw__fluct_obs(u, j);
                        const int k = o->k;
                        fw_real *dst = u->jo + ((size_t)r * u->ktot + koff) * cp + (size_t)s0 * P + mu;
                        if (j < u->nb && o->fn == fw__obs_phi) {
                            /* d(phi_a phi_b) = x_a phi_b + phi_a x_b: sums of wt x_a phi_b */
                            for (a = 0; a < n; ++a)
                                for (b = 0; b < n; ++b)
                                    u->zs[a * n + b] = fw__dot(TB, x + (size_t)a * TB, w0 + (size_t)b * TB);
                            for (a = 0; a < n; ++a)
                                for (b = 0; b < n; ++b) dst[(size_t)(a * n + b) * cp] += u->zs[a * n + b] + u->zs[b * n + a];
                        } else if (j < u->nb && o->fn == fw__obs_ntk) {
                            /* d(phi_a phi_b + w^2 phi'_a phi'_b Kx_ab) = x_a phi_b + phi_a x_b
                               + Kx_ab (2 w dw phi'_a phi'_b + w^2 phi''_a dh_a phi'_b + w^2 phi'_a phi''_b dh_b);
                               with w1 = wt w phi': sums of wt x phi, of w1_a c phi'_b, of y_a w1_b */
                            for (a = 0; a < P; ++a) {   /* c phi'_b per b, into scratch rows */
                                fw_real *cb = u->dht + (size_t)a * TB;
                                for (i = 0; i < TB; ++i) cb[i] = c[i] * q1[(size_t)a * TB + i];
                            }
                            for (a = 0; a < P; ++a)
                                for (b = 0; b < P; ++b) {
                                    const fw_real g = fw__dot(TB, x + (size_t)a * TB, w0 + (size_t)b * TB)
                                                    + fw__dot(TB, w0 + (size_t)a * TB, x + (size_t)b * TB);
                                    const fw_real e = fw__dot(TB, w1 + (size_t)a * TB, u->dht + (size_t)b * TB);
                                    const fw_real f = fw__dot(TB, y + (size_t)a * TB, w1 + (size_t)b * TB)
                                                    + fw__dot(TB, w1 + (size_t)a * TB, y + (size_t)b * TB);
                                    dst[(size_t)(a * P + b) * cp] += g + kx[(size_t)a * n + b] * (e + f);
                                }
                        } else {
                            if (!transposed) {   /* user observables take site-major tangents */
                                for (a = 0; a < n; ++a)
                                    for (i = 0; i < bm; ++i) u->dht[(size_t)i * n + a] = dh[(size_t)a * TB + i];
                                transposed = 1;
                            }
                            o->fn(o->user, &u->info, bm, h, w, u->dht, dw, u->oval);
                            fw__gemv(FW_TRANS, bm, k, 1, u->oval, k, wt, 0, u->zs);
                            for (a = 0; a < k; ++a) dst[(size_t)a * cp] += u->zs[a];
                        }
                    }
                }
            }
            if (t == T) break;
            for (mu = 0; mu < P; ++mu)
                fw__tangent_step(n, P, eg, dl, kx, A1 + t * bn, WA2 + t * bn, u->dw + (size_t)mu * TB, u->dh + (size_t)mu * bn,
                                 u->dw2 + (size_t)mu * TB, u->dh2 + (size_t)mu * bn, u->v + (size_t)mu * P * TB);
            tmp = u->dh; u->dh = u->dh2; u->dh2 = tmp;
            tmp = u->dw; u->dw = u->dw2; u->dw2 = tmp;
        }
    }
}

/* Pi = (I + J E)^-1, block unit-lower-triangular: row block t = e_t - J(t, <t) Pi_train(<t). */
static void fw__fluct_propagator(fw__fluct *u)
{
    const int n = u->s.n, P = u->s.P, cn = u->cn, cp = u->cp;
    int t, a;
    memset(u->pi, 0, (size_t)cn * cn * sizeof(fw_real));
    for (t = 0; t < u->nt; ++t) {
        fw_real *blk = u->pi + (size_t)t * n * cn;
        if (t > 0)
            fw__gemm(FW_NO_TRANS, FW_NO_TRANS, n, t * n, t * P, -1, u->jf + (size_t)t * n * cp, cp, u->pitr, cn, 0, blk, cn);
        for (a = 0; a < n; ++a) blk[(size_t)a * cn + t * n + a] = 1;
        for (a = 0; a < P; ++a) memcpy(u->pitr + ((size_t)t * P + a) * cn, blk + (size_t)a * cn, (size_t)cn * sizeof(fw_real));
    }
}

/* Means, then variances of the influences: f: Pi psi; observable: o - mean - C_O psi. The rows
   of Pi at the recorded steps are gathered once (pit: R n x cn) and those of C_O transposed (cot:
   cn x R ktot), so each block of B samples takes a few products pit x psi_block^T (records in
   groups of at least FW_TANGENT_BLOCK / 2 rows, each group's product only over the time blocks its last record
   reaches: Pi is block lower-triangular in time) and one psi_block x cot. */
static void fw__fluct_influence(fw__fluct *u)
{
    fw__dmft *s = &u->s;
    const int m = u->m, n = s->n, cn = u->cn, R = s->nrec, B = FW__FLUCT_BLOCK, kt = u->ktot;
    const int mloc = fw__dmft_local_sites(s, s->mtot), ldz = mloc < B ? mloc : B;
    const int rk = R * kt;
    const fw_real *wt = s->lay->wt;
    int r, r1, j, i0, i, a, b, koff, k;
    memset(u->f_cov, 0, (size_t)R * n * n * sizeof(fw_real));
    for (r = 0; r < R; ++r) {
        const int t = fw_dmft_record_time(&s->d, r);
        memcpy(u->pit + (size_t)r * n * cn, u->pi + (size_t)t * n * cn, (size_t)n * cn * sizeof(fw_real));
        for (a = 0; a < kt; ++a)
            for (k = 0; k < cn; ++k) u->cot[(size_t)k * rk + r * kt + a] = u->co[((size_t)r * kt + a) * cn + k];
    }
    for (j = 0, koff = 0; j < u->nobs; koff += fw__fluct_obs(u, j)->k, ++j) {
        fw_fluct_observable *o = fw__fluct_obs(u, j);
        for (r = 0; r < R; ++r) {
            const int t = fw_dmft_record_time(&s->d, r);
            o->fn(o->user, &u->info, m, s->htr + (size_t)t * m * n, s->wtr + (size_t)t * m, NULL, NULL, u->oval);
            fw__gemv(FW_TRANS, m, o->k, 1, u->oval, o->k, wt, 0, u->om[j] + (size_t)r * o->k);
            for (a = 0; a < o->k; ++a) u->ov[j][(size_t)r * o->k + a] = 0;
        }
        fw__dmft_allreduce(s, u->om[j], 1, R * o->k, R * o->k);   /* the means first: the variances subtract them */
    }
    for (i0 = 0; i0 < m; i0 += B) {
        const int bm = m - i0 < B ? m - i0 : B;
        const fw_real *ps = u->psi + (size_t)i0 * cn, *wb = wt + i0;
        /* per record, the block's influences transposed, Z^T = Pi(t, <= t) psi_block^T (rows: points,
           columns: samples; Pi is block lower-triangular in time), scaled by sqrt(wt) (the weights
           are >= 0), then Cov += Z^T diag(wt) Z */
        for (i = 0; i < bm; ++i) u->zs[i] = fw__sqrt(wb[i]);
        for (r = 0; r < R; r = r1) {   /* Z^T of records r .. r1 - 1 in one product, times sqrt(wt) */
            const int rows = fw__fluct_group_rows(n, R - r), kr = (fw_dmft_record_time(&s->d, r + rows / n - 1) + 1) * n;
            r1 = r + rows / n;
            fw__gemm(FW_NO_TRANS, FW_TRANS, rows, bm, kr, 1, u->pit + (size_t)r * n * cn, cn, ps, cn, 0, u->zt, ldz);
            for (a = 0; a < rows; ++a)
                for (i = 0; i < bm; ++i) u->zt[(size_t)a * ldz + i] *= u->zs[i];
            for (j = r; j < r1; ++j) {
                const fw_real *z = u->zt + (size_t)(j - r) * n * ldz;
                fw_real *c = u->f_cov + (size_t)j * n * n;
                for (a = 0; a < n; ++a)
                    for (b = 0; b <= a; ++b) c[a * n + b] += fw__dot(bm, z + (size_t)a * ldz, z + (size_t)b * ldz);
            }
        }
        if (kt == 0) continue;
        /* zo = o - mean - C_O psi, for every observable component and record */
        fw__gemm(FW_NO_TRANS, FW_NO_TRANS, bm, rk, cn, -1, ps, cn, u->cot, rk, 0, u->zo, rk);
        for (j = 0, koff = 0; j < u->nobs; koff += fw__fluct_obs(u, j)->k, ++j) {
            fw_fluct_observable *o = fw__fluct_obs(u, j);
            k = o->k;
            for (r = 0; r < R; ++r) {
                const int t = fw_dmft_record_time(&s->d, r);
                const fw_real *mu = u->om[j] + (size_t)r * k;
                fw_real *var = u->ov[j] + (size_t)r * k;
                o->fn(o->user, &u->info, bm, s->htr + ((size_t)t * m + i0) * n, s->wtr + (size_t)t * m + i0, NULL, NULL, u->oval);
                for (i = 0; i < bm; ++i) {
                    const fw_real *z = u->zo + (size_t)i * rk + r * kt + koff, *ov = u->oval + (size_t)i * k;
                    for (a = 0; a < k; ++a) {
                        const fw_real e = ov[a] - mu[a] + z[a];
                        var[a] += wb[i] * e * e;
                    }
                }
            }
        }
    }
    fw__dmft_allreduce(s, u->f_cov, 1, R * n * n, R * n * n);
    for (j = 0; j < u->nobs; ++j) {
        fw_fluct_observable *o = fw__fluct_obs(u, j);
        fw__dmft_allreduce(s, u->ov[j], 1, R * o->k, R * o->k);
        for (a = 0; a < R * o->k; ++a) u->ov[j][a] /= (fw_real)u->N;
    }
    for (r = 0; r < R; ++r)   /* the upper triangles from the lower ones */
        for (a = 0; a < n; ++a)
            for (b = a + 1; b < n; ++b) u->f_cov[((size_t)r * n + a) * n + b] = u->f_cov[((size_t)r * n + b) * n + a];
    for (a = 0; a < R * n * n; ++a) u->f_cov[a] /= (fw_real)u->N;
}

/* ---- fluctuations: the O(1/N) mean (docs/fluct.md section 8) --------------------------------- */

/* The third derivative of phi on m x n preactivations (a0 = phi, a1 = phi' from fw__site_acts;
   relu: the derivative of the smoothed delta). */
static void fw__site_d3(const fw__fluct *u, int m, const fw_real *h)
{
    const int n = u->s.n;
    int i, a;
    for (i = 0; i < m; ++i)
        for (a = 0; a < n; ++a) {
            const size_t e = (size_t)i * n + a;
            const fw_real x = h[e], p1 = u->sc.a1[e], t = u->sc.a0[e], bw = u->bw[a];
            switch (u->s.d.act) {
            case FW_ACT_TANH: u->a3[e] = p1 * (4 * t * t - 2 * p1); break;
            case FW_ACT_ERF: u->a3[e] = (4 * x * x - 2) * p1; break;
            case FW_ACT_RELU: u->a3[e] = -x / (bw * bw) * fw_site_d2(FW_ACT_RELU, x, bw); break;
            default: u->a3[e] = 0; break;
            }
        }
}

/* One forward-mode pass of all samples along an error direction d (cp values, (s, mu) at
   s P + mu; one row per sample when per_sample, else one row for all): adds coef E[D psi]
   (second == 0) or coef E[D2 psi] (second != 0) to out (cn). The update of docs/model.md section 2
   differentiated once (th1, tw1) and twice (th2, tw2), with the Kx products as one GEMM. */
static void fw__fluct_dir_pass(fw__fluct *u, const fw_real *dir, int per_sample, int second, fw_real coef, fw_real *out)
{
    fw__dmft *s = &u->s;
    const int m = u->m, n = s->n, P = s->P, T = s->d.steps, cp = u->cp;
    const fw_real eg = s->eta * s->gam, *wt = s->lay->wt;
    int t, i, a;
    memset(u->th1, 0, (size_t)m * n * sizeof(fw_real));
    memset(u->th2, 0, (size_t)m * n * sizeof(fw_real));
    memset(u->tw1, 0, (size_t)m * sizeof(fw_real));
    memset(u->tw2, 0, (size_t)m * sizeof(fw_real));
    for (t = 0; t <= T; ++t) {
        const fw_real *h = s->htr + (size_t)t * m * n, *w = s->wtr + (size_t)t * m, *dl = s->delta + (size_t)t * P;
        fw__site_acts(&u->info, m, h, u->sc.a0, u->sc.a1, u->sc.a2);
        if (second) fw__site_d3(u, m, h);
        /* the derivative of psi = w phi(h) / gamma0 */
        for (a = 0; a < n; ++a) u->zs[a] = 0;
        for (i = 0; i < m; ++i) {
            const size_t r = (size_t)i * n;
            for (a = 0; a < n; ++a) {
                const fw_real p0 = u->sc.a0[r + a], p1 = u->sc.a1[r + a], hd = u->th1[r + a];
                const fw_real v = second ? u->tw2[i] * p0 + 2 * u->tw1[i] * p1 * hd + w[i] * (u->sc.a2[r + a] * hd * hd + p1 * u->th2[r + a])
                                         : u->tw1[i] * p0 + w[i] * p1 * hd;
                u->zs[a] += wt[i] * v;
            }
        }
        for (a = 0; a < n; ++a) out[(size_t)t * n + a] += coef * u->zs[a] / s->gam;
        if (t == T) break;
        /* the differentiated step (old values on the right; d the direction, D = Delta(t)):
           dw1 += eg sum_mu [d phi + D phi' dh1],  dh1 += eg Kx [d w phi' + D (dw1 phi' + w phi'' dh1)],
           dw2 += eg sum_mu [2 d phi' dh1 + D (phi'' dh1^2 + phi' dh2)],
           dh2 += eg Kx [2 d (dw1 phi' + w phi'' dh1) + D (dw2 phi' + 2 dw1 phi'' dh1 + w phi''' dh1^2 + w phi'' dh2)] */
        for (i = 0; i < m; ++i) {
            const fw_real *d = dir + (per_sample ? (size_t)i * cp : 0) + (size_t)t * P, wi = w[i];
            const fw_real w1 = u->tw1[i], w2 = u->tw2[i];
            const size_t r = (size_t)i * n;
            fw_real acc1 = 0, acc2 = 0;
            for (a = 0; a < P; ++a) {
                const fw_real p0 = u->sc.a0[r + a], p1 = u->sc.a1[r + a], p2 = u->sc.a2[r + a], hd = u->th1[r + a];
                const fw_real da = d[a], D = dl[a];
                acc1 += da * p0 + D * p1 * hd;
                u->tv1[(size_t)i * P + a] = eg * (da * wi * p1 + D * (w1 * p1 + wi * p2 * hd));
                if (second) {
                    const fw_real hdd = u->th2[r + a], p3 = u->a3[r + a];
                    acc2 += 2 * da * p1 * hd + D * (p2 * hd * hd + p1 * hdd);
                    u->tv2[(size_t)i * P + a] = eg * (2 * da * (w1 * p1 + wi * p2 * hd) +
                                                      D * (w2 * p1 + 2 * w1 * p2 * hd + wi * p3 * hd * hd + wi * p2 * hdd));
                }
            }
            u->tw1[i] = w1 + eg * acc1;
            if (second) u->tw2[i] = w2 + eg * acc2;
        }
        fw__gemm(FW_NO_TRANS, FW_NO_TRANS, m, n, P, 1, u->tv1, P, s->kx, n, 1, u->th1, n);
        if (second) fw__gemm(FW_NO_TRANS, FW_NO_TRANS, m, n, P, 1, u->tv2, P, s->kx, n, 1, u->th2, n);
    }
}

/* b = Pi [ -E D psi[u] + (1/2) E D2 psi[Sigma_u] ], the records f_bias = b / N and the loss
   shifts. Needs psi, pi, pitr and f_var of the current solve. */
static fw_status fw__fluct_bias(fw__fluct *u)
{
    fw__dmft *s = &u->s;
    const int m = u->m, n = s->n, P = s->P, Q = s->Q, cp = u->cp, cn = u->cn, R = s->nrec;
    const fw_real *wt = s->lay->wt;
    fw_status st;
    int i, k, a, r;
    /* the training influences u(xi) = Pi_train (psi(xi) - f), one row per sample */
    fw__gemm(FW_NO_TRANS, FW_TRANS, m, cp, cn, 1, u->psi, cn, u->pitr, cn, 0, u->bu, cp);
    memset(u->bc, 0, (size_t)cn * sizeof(fw_real));
    fw__fluct_dir_pass(u, u->bu, 1, 0, -1, u->bc);
    /* Sigma_u = sum_i wt_i u_i u_i^T, then the second derivative along each eigen-direction */
    for (i = 0; i < m; ++i) {
        const fw_real c = fw__sqrt(wt[i] > 0 ? wt[i] : 0);
        for (a = 0; a < cp; ++a) u->bu[(size_t)i * cp + a] *= c;
    }
    fw__syrk(FW_TRANS, cp, m, 1, u->bu, cp, 0, u->bsig, cp);
    fw__dmft_allreduce(s, u->bsig, cp, cp, cp);   /* every worker decomposes the same Sigma_u */
    if ((st = fw_eigh(cp, u->bsig, cp, u->bval, u->bvec, cp)) != FW_OK) return st;
    for (k = 0; k < cp; ++k) {
        if (!(u->bval[k] > (fw_real)1e-12 * u->bval[cp - 1])) continue;
        for (a = 0; a < cp; ++a) u->bb[a] = u->bvec[(size_t)a * cp + k];
        fw__fluct_dir_pass(u, u->bb, 0, 1, u->bval[k] / 2, u->bc);
    }
    fw__dmft_allreduce(s, u->bc, 1, cn, cn);   /* the passes' sums over every worker's sites */
    fw__gemv(FW_NO_TRANS, cn, cn, 1, u->pi, cn, u->bc, 0, u->bb);
    for (r = 0; r < R; ++r) {
        const int tr = fw_dmft_record_time(&s->d, r);
        const fw_real *f = s->fh + (size_t)tr * n, *fv = u->f_var + (size_t)r * n;
        fw_real *fb = u->fb + (size_t)r * n, lt = 0, le = 0;
        for (a = 0; a < n; ++a) fb[a] = u->bb[(size_t)tr * n + a] / (fw_real)u->N;
        for (a = 0; a < P; ++a) lt += -(s->data->y[a] - f[a]) * fb[a] + fv[a] / 2;
        if (s->data->y_test != NULL && Q > 0)
            for (a = 0; a < Q; ++a) le += -(s->data->y_test[a] - f[P + a]) * fb[P + a] + fv[P + a] / 2;
        u->trl_b[r] = lt / (fw_real)P;
        u->tel_b[r] = Q > 0 ? le / (fw_real)Q : 0;
    }
    return FW_OK;
}

/* One solve on replicate rep's samples (rep == s->R: all of them pooled) into u->pk. */
static fw_status fw__fluct_solve(fw__fluct *u, int rep)
{
    fw__dmft *s = &u->s;
    const int n = s->n, P = s->P, Q = s->Q, cn = u->cn, R = s->nrec;
    int m;
    fw__dmft_layer *y = s->lay;
    fw_status st;
    int i, t, a, b, r, bad = -1;
    fw_real c;
    fw__dmft_load(s, y, rep, 0);
    u->m = m = y->m;   /* this worker's sites */
    memset(s->rec, 0, (size_t)s->len * sizeof(fw_real));
    if ((st = fw__dmft_markov(s, &bad)) != FW_OK) { u->bad_step = bad; return st; }
    c = u->fd->relu_bw > 0 ? u->fd->relu_bw : (fw_real)(1.06 * pow((double)s->msolve, -0.2));
    for (a = 0; a < n; ++a) u->bw[a] = c * fw__sqrt(s->kx[(size_t)a * n + a] > 0 ? s->kx[(size_t)a * n + a] : 1);
    u->info.n = n; u->info.P = P; u->info.act = s->d.act; u->info.gamma0 = s->gam; u->info.kx = s->kx; u->info.bw = u->bw;
    u->bi[0].user = &u->sc; u->bi[1].user = &u->sc;
    /* J and J_O, the propagator, C_O = J_O E Pi */
    memset(u->jf, 0, (size_t)cn * u->cp * sizeof(fw_real));
    memset(u->jo, 0, (size_t)R * u->ktot * u->cp * sizeof(fw_real));
    for (i = 0; i < m; i += FW__TANGENT_BLOCK) fw__fluct_tangents(u, i, m - i < FW__TANGENT_BLOCK ? m - i : FW__TANGENT_BLOCK);
    fw__dmft_allreduce(s, u->jf, 1, cn * u->cp, cn * u->cp);   /* the sums over every worker's sites */
    fw__dmft_allreduce(s, u->jo, 1, R * u->ktot * u->cp, R * u->ktot * u->cp);
    /* the naive variance Var psi / N (sums in sample order, row by row of psi) */
    memset(u->f_naive, 0, (size_t)R * n * sizeof(fw_real));
    for (i = 0; i < m; ++i)
        for (r = 0; r < R; ++r) {
            const fw_real *p = u->psi + (size_t)i * cn + (size_t)fw_dmft_record_time(&s->d, r) * n;
            for (a = 0; a < n; ++a) u->f_naive[(size_t)r * n + a] += y->wt[i] * p[a] * p[a];
        }
    fw__dmft_allreduce(s, u->f_naive, 1, R * n, R * n);
    for (i = 0; i < cn * u->cp; ++i) u->jf[i] /= s->gam;
    fw__fluct_propagator(u);
    if (u->ktot > 0)
        fw__gemm(FW_NO_TRANS, FW_NO_TRANS, R * u->ktot, cn, u->cp, 1, u->jo, u->cp, u->pitr, cn, 0, u->co, cn);
    fw__fluct_influence(u);
    /* the record: means, variances, the losses by the delta method, df/dy */
    for (r = 0; r < R; ++r) {
        const int tr = fw_dmft_record_time(&s->d, r);
        const fw_real *cv = u->f_cov + (size_t)r * n * n, *f = s->fh + (size_t)tr * n;
        fw_real vt = 0, ve = 0;
        for (a = 0; a < n; ++a) {
            u->f[(size_t)r * n + a] = f[a];
            u->f_var[(size_t)r * n + a] = cv[a * n + a];
            u->f_naive[(size_t)r * n + a] /= (fw_real)u->N;
            for (b = 0; b < P; ++b) {
                fw_real acc = a == b ? 1 : 0;
                for (t = 0; t <= tr; ++t) acc -= u->pi[(size_t)(tr * n + a) * cn + t * n + b];
                u->dfdy[((size_t)r * n + a) * P + b] = acc;
            }
        }
        for (a = 0; a < P; ++a)
            for (b = 0; b < P; ++b) vt += (s->data->y[a] - f[a]) * (s->data->y[b] - f[b]) * cv[a * n + b];
        if (s->data->y_test != NULL && Q > 0)
            for (a = 0; a < Q; ++a)
                for (b = 0; b < Q; ++b)
                    ve += (s->data->y_test[a] - f[P + a]) * (s->data->y_test[b] - f[P + b]) * cv[(P + a) * n + P + b];
        u->trl[r] = s->rec[fw__dmft_off(s, 1) + r];
        u->tel[r] = s->rec[fw__dmft_off(s, 2) + r];
        u->trl_var[r] = vt / ((fw_real)P * P);
        u->tel_var[r] = Q > 0 ? ve / ((fw_real)Q * Q) : 0;
    }
    if (u->fd->bias && (st = fw__fluct_bias(u)) != FW_OK) return st;
    if (!fw__all_finite(1, u->len, u->pk, u->len)) {   /* the first record whose mean or variance overflowed */
        for (r = 0; r < R && u->bad_step < 0; ++r)
            if (!fw__all_finite(1, n, u->f + (size_t)r * n, n) || !fw__all_finite(1, n, u->f_var + (size_t)r * n, n))
                u->bad_step = fw_dmft_record_time(&s->d, r);
        if (u->bad_step < 0) u->bad_step = s->d.steps;
        return FW_ERR_DIVERGED;
    }
    return FW_OK;
}

FW_API fw_status fw_fluct_run_ws(const fw_fluct_desc *desc, const fw_data *data, fw_fluct_result *res,
                                 void *ws, size_t ws_bytes)
{
    fw__fluct u;
    fw_arena ar;
    fw_stats acc;
    fw_status st;
    int rep, i, j;
    if (res == NULL || ws == NULL) return FW_ERR_NULL;
    memset(res, 0, sizeof *res);
    res->diverged_step = -1;
    if ((st = fw__fluct_resolve(desc, data, &u)) != FW_OK) return st;
    u.bad_step = -1;
    fw_arena_init(&ar, ws, ws_bytes);
    fw__fluct_lay(&ar, &u);
    if (ar.failed) {
        fw__report(&desc->dmft.log, FW_ERR_WORKSPACE, "fw_fluct_run_ws", "workspace smaller than fw_fluct_workspace_size");
        return FW_ERR_WORKSPACE;
    }
    if ((st = fw__dmft_setup(&u.s)) != FW_OK) return st;
    /* standard errors from the R replicates' spread; the outputs from the pooled solve */
    fw_stats_init(&acc, u.len, u.pk_mean, u.pk_m2);
    for (rep = u.s.R > 1 ? 0 : u.s.R; rep <= u.s.R; ++rep) {
        if ((st = fw__fluct_solve(&u, rep)) != FW_OK) {
            if (st == FW_ERR_DIVERGED) {
                res->diverged_step = u.bad_step;
                fw__report(&desc->dmft.log, st, "fw_dmft_desc.lr", "the infinite-width dynamics or their response blew up: lower the learning rate");
            }
            return st;
        }
        if (rep < u.s.R) fw_stats_push(&acc, u.pk);
    }
    for (i = 0; i < u.len; ++i) u.pk_m2[i] = u.s.R > 1 ? fw__sqrt(fw_stats_var(&acc, i) / (fw_real)u.s.R) : 0;
    res->n_records = u.s.nrec; res->n_points = u.s.n; res->P = u.s.P; res->width = u.N; res->samples_used = u.s.mtot;
    res->replicates_used = u.s.R;
#define FW__FLUCT_VIEW(name, src) do { res->name = u.src; res->name##_se = u.pk_m2 + (u.src - u.pk); } while (0)
    FW__FLUCT_VIEW(f, f); FW__FLUCT_VIEW(f_var, f_var); FW__FLUCT_VIEW(f_cov, f_cov);
    FW__FLUCT_VIEW(f_var_naive, f_naive);
    FW__FLUCT_VIEW(train_loss, trl); FW__FLUCT_VIEW(train_loss_var, trl_var);
    FW__FLUCT_VIEW(test_loss, tel); FW__FLUCT_VIEW(test_loss_var, tel_var);
    FW__FLUCT_VIEW(dfdy, dfdy);
    if (u.nb > 0) {
        FW__FLUCT_VIEW(ntk, om[0]); FW__FLUCT_VIEW(ntk_var, ov[0]);
        FW__FLUCT_VIEW(phi, om[1]); FW__FLUCT_VIEW(phi_var, ov[1]);
    }
    if (desc->bias) {
        FW__FLUCT_VIEW(f_bias, fb); FW__FLUCT_VIEW(train_loss_bias, trl_b); FW__FLUCT_VIEW(test_loss_bias, tel_b);
    }
#undef FW__FLUCT_VIEW
    for (j = u.nb; j < u.nobs; ++j) {
        fw_fluct_observable *o = fw__fluct_obs(&u, j);
        const size_t k = (size_t)u.s.nrec * (size_t)o->k;
        memcpy(o->mean, u.om[j], k * sizeof(fw_real));
        memcpy(o->var, u.ov[j], k * sizeof(fw_real));
        if (o->var_se != NULL) memcpy(o->var_se, u.pk_m2 + (u.ov[j] - u.pk), k * sizeof(fw_real));
    }
    return FW_OK;
}

FW_API fw_status fw_fluct_run(const fw_fluct_desc *desc, const fw_data *data, fw_fluct_result *res,
                              const fw_allocator *alloc)
{
    size_t bytes = 0;
    void *ws;
    fw_status st;
    if (res == NULL) return FW_ERR_NULL;
    memset(res, 0, sizeof *res);
    res->diverged_step = -1;
    st = fw_fluct_workspace_size(desc, data, &bytes);
    if ((st = fw__ws_take(alloc, st, bytes, &ws)) != FW_OK) return st;
    if ((st = fw_fluct_run_ws(desc, data, res, ws, bytes)) != FW_OK) {   /* keep the step of a divergence */
        const int bad = res->diverged_step;
        fw__keep_ws(st, alloc, ws, res, sizeof *res, &res->owned, &res->alloc);
        res->diverged_step = bad;
        return st;
    }
    return fw__keep_ws(st, alloc, ws, res, sizeof *res, &res->owned, &res->alloc);
}

FW_API void fw_fluct_result_free(fw_fluct_result *res)
{
    if (res != NULL) fw__release(res, sizeof *res, res->owned, &res->alloc);
}

FW_API size_t fw_lazy_variance_work(int P, int Q)
{
    const size_t n = (size_t)(P + Q), np = n * (size_t)(P > 0 ? P : 0);
    return P < 1 || Q < 0 ? 0 : 3 * n * n + 3 * n * np + 2 * n;
}

FW_API fw_status fw_lazy_variance(int P, int Q, const fw_real *ntk0, const fw_real *f0cov,
                                  const fw_real *kcov, const fw_real *y, fw_real eta, int steps,
                                  fw_real *var, fw_real *cov, fw_real *work)
{
    /* delta f(t) = U(t) e0 + V(t) dk, dk the vector of dK[:, train] ((a, mu) -> a P + mu):
       U(t+1) = A U(t), V(t+1) = A V(t) + eta D(Delta0(t)), A = I - eta K0[:, train] E,
       D(Delta)[a, (b, mu)] = [a == b] Delta_mu.  Cov = U C0 U^T + V kcov V^T. */
    const int n = P + Q, np = n * P;
    fw_real *U, *U2, *C, *V, *V2, *W, *f0, *dl, *tmp;
    int t, a, c, mu;
    if (ntk0 == NULL || f0cov == NULL || kcov == NULL || y == NULL || var == NULL || work == NULL) return FW_ERR_NULL;
    if (P < 1 || Q < 0 || steps < 0) return FW_ERR_SIZE;
    if (!fw__finite(eta) || eta <= 0) return FW_ERR_ARG;
    if (!fw__all_finite(n, n, ntk0, n) || !fw__all_finite(n, n, f0cov, n) || !fw__all_finite(np, np, kcov, np) ||
        !fw__all_finite(1, P, y, P))
        return FW_ERR_NONFINITE;
    U = work; U2 = U + (size_t)n * n; C = U2 + (size_t)n * n;
    V = C + (size_t)n * n; V2 = V + (size_t)n * np; W = V2 + (size_t)n * np;
    f0 = W + (size_t)n * np; dl = f0 + n;
    memset(U, 0, (size_t)n * n * sizeof(fw_real));
    memset(V, 0, (size_t)n * np * sizeof(fw_real));
    memset(f0, 0, (size_t)n * sizeof(fw_real));
    for (a = 0; a < n; ++a) U[a * n + a] = 1;
    for (t = 0; t <= steps; ++t) {
        fw__gemm(FW_NO_TRANS, FW_NO_TRANS, n, n, n, 1, U, n, f0cov, n, 0, U2, n);
        fw__gemm(FW_NO_TRANS, FW_TRANS, n, n, n, 1, U2, n, U, n, 0, C, n);
        fw__gemm(FW_NO_TRANS, FW_NO_TRANS, n, np, np, 1, V, np, kcov, np, 0, W, np);
        fw__gemm(FW_NO_TRANS, FW_TRANS, n, n, np, 1, W, np, V, np, 1, C, n);
        if (!fw__all_finite(n, n, C, n)) return FW_ERR_DIVERGED;
        for (a = 0; a < n; ++a) var[(size_t)t * n + a] = C[a * n + a];
        if (cov != NULL) memcpy(cov + (size_t)t * n * n, C, (size_t)n * n * sizeof(fw_real));
        if (t == steps) break;
        for (mu = 0; mu < P; ++mu) dl[mu] = y[mu] - f0[mu];
        for (a = 0; a < n; ++a) {
            fw_real acc = 0;
            for (c = 0; c < n; ++c) {
                fw_real u = U[a * n + c];
                for (mu = 0; mu < P; ++mu) u -= eta * ntk0[a * n + mu] * U[mu * n + c];
                U2[a * n + c] = u;
            }
            for (c = 0; c < np; ++c) {
                fw_real v = V[a * np + c];
                for (mu = 0; mu < P; ++mu) v -= eta * ntk0[a * n + mu] * V[mu * np + c];
                V2[a * np + c] = v;
            }
            for (mu = 0; mu < P; ++mu) {
                V2[a * np + a * P + mu] += eta * dl[mu];
                acc += ntk0[a * n + mu] * dl[mu];
            }
            f0[a] += eta * acc;
        }
        tmp = U; U = U2; U2 = tmp;
        tmp = V; V = V2; V2 = tmp;
    }
    return FW_OK;
}

// ==== kernel fluctuations at initialization: implementation ======================================

typedef struct fw__kc {
    fw_kcov_desc d;
    int n, m, L, M, R;
    fw_real gam;
    int *pa, *pb, *pix;        /* pair p = (pa, pb), pa <= pb; pix[a n + b] = p */
    fw_real *phi, *g, *ntk;    /* infinite-width kernels: (L+1) n^2, L n^2, n^2 */
    fw_real *sqh, *sqz;        /* per layer n x n factors: h = sqh e, z = sqz e' */
    fw_real *A, *V, *ev, *e, *h, *z;
    double *cf, *cc, *cb;      /* per layer per pair: F (3), C (3), B (1) */
    double *s1, *s2;           /* per (replicate, layer): sums of o (2m) and o o^T (2m x 2m) */
    double *kap, *Y, *Q;       /* Kb (2Lm)^2 block diagonal, Y, Q = Cov q: (2Lm)^2 each */
    double *o, *rv;            /* 2m; (R + 1) x (2 L + 1) m variances: replicates, then pooled */
} fw__kc;

#define FW__KC_FAIL(st, field, text) do { fw__report(&desc->log, st, field, text); return st; } while (0)

static fw_status fw__kc_setup(const fw_kcov_desc *desc, int n, fw__kc *c, fw_arena *ar)
{
    size_t nn, m2, q2;
    if (desc == NULL) return FW_ERR_NULL;
    memset(c, 0, sizeof *c);
    c->d = *desc;
    if (c->d.depth == 0) c->d.depth = 1;
    if (c->d.gamma0 == 0) c->d.gamma0 = 1;
    if (c->d.samples == 0) c->d.samples = 16384;
    if (c->d.replicates == 0) c->d.replicates = 4;
    if (n < 1 || c->d.depth < 1 || c->d.width < 1) FW__KC_FAIL(FW_ERR_SIZE, "fw_kcov_desc", "needs n >= 1, depth >= 1, width >= 1");
    if ((unsigned)c->d.act >= (unsigned)FW_ACT_COUNT) FW__KC_FAIL(FW_ERR_ARG, "fw_kcov_desc.act", "unknown activation");
    if (fw__gamma0_problem(c->d.gamma0, c->d.ntk) != NULL) FW__KC_FAIL(FW_ERR_ARG, "fw_kcov_desc.gamma0", fw__gamma0_problem(c->d.gamma0, c->d.ntk));
    if (c->d.reduce.ranks == 0) c->d.reduce.ranks = 1;
    if (c->d.reduce.ranks < 1 || c->d.reduce.rank < 0 || c->d.reduce.rank >= c->d.reduce.ranks)
        FW__KC_FAIL(FW_ERR_ARG, "fw_kcov_desc.reduce", "needs ranks >= 1 (0 means 1) and 0 <= rank < ranks");
    if (c->d.reduce.ranks > 1 && c->d.reduce.fn == NULL) FW__KC_FAIL(FW_ERR_NULL, "fw_kcov_desc.reduce", "ranks > 1 needs the all-reduce fn");
    if (c->d.replicates < 2 || c->d.samples < 2 * c->d.replicates)
        FW__KC_FAIL(FW_ERR_ARG, "fw_kcov_desc", "needs replicates >= 2 and samples >= 2 replicates");
    if (n > 64 || c->d.depth > 64) FW__KC_FAIL(FW_ERR_SIZE, "fw_kcov_desc", "n and depth are limited to 64 (memory grows as (L n^2)^2)");
    c->n = n; c->L = c->d.depth; c->R = c->d.replicates; c->M = c->d.samples / c->R * c->R;
    c->m = n * (n + 1) / 2;
    c->gam = c->d.ntk ? (fw_real)(1 / sqrt((double)c->d.width)) : c->d.gamma0;
    nn = (size_t)n * n; m2 = (size_t)(2 * c->m) * (size_t)(2 * c->m); q2 = (size_t)(2 * c->L * c->m) * (size_t)(2 * c->L * c->m);
    c->pa = (int *)fw_arena_push(ar, sizeof(int) * (size_t)c->m);
    c->pb = (int *)fw_arena_push(ar, sizeof(int) * (size_t)c->m);
    c->pix = (int *)fw_arena_push(ar, sizeof(int) * nn);
    c->phi = (fw_real *)fw_arena_push(ar, sizeof(fw_real) * nn * (size_t)(c->L + 1));
    c->g = (fw_real *)fw_arena_push(ar, sizeof(fw_real) * nn * (size_t)c->L);
    c->ntk = (fw_real *)fw_arena_push(ar, sizeof(fw_real) * nn);
    c->sqh = (fw_real *)fw_arena_push(ar, sizeof(fw_real) * nn * (size_t)c->L);
    c->sqz = (fw_real *)fw_arena_push(ar, sizeof(fw_real) * nn * (size_t)c->L);
    c->A = (fw_real *)fw_arena_push(ar, sizeof(fw_real) * nn);
    c->V = (fw_real *)fw_arena_push(ar, sizeof(fw_real) * nn);
    c->ev = (fw_real *)fw_arena_push(ar, sizeof(fw_real) * (size_t)n);
    c->e = (fw_real *)fw_arena_push(ar, sizeof(fw_real) * (size_t)n);
    c->h = (fw_real *)fw_arena_push(ar, sizeof(fw_real) * (size_t)n);
    c->z = (fw_real *)fw_arena_push(ar, sizeof(fw_real) * (size_t)n);
    c->cf = (double *)fw_arena_push(ar, sizeof(double) * 3 * (size_t)c->m * (size_t)c->L);
    c->cc = (double *)fw_arena_push(ar, sizeof(double) * 3 * (size_t)c->m * (size_t)c->L);
    c->cb = (double *)fw_arena_push(ar, sizeof(double) * (size_t)c->m * (size_t)c->L);
    c->s1 = (double *)fw_arena_push(ar, sizeof(double) * (size_t)(2 * c->m) * (size_t)c->L * (size_t)c->R);
    c->s2 = (double *)fw_arena_push(ar, sizeof(double) * m2 * (size_t)c->L * (size_t)c->R);
    c->kap = (double *)fw_arena_push(ar, sizeof(double) * q2);
    c->Y = (double *)fw_arena_push(ar, sizeof(double) * q2);
    c->Q = (double *)fw_arena_push(ar, sizeof(double) * q2);
    c->o = (double *)fw_arena_push(ar, sizeof(double) * (size_t)(2 * c->m));
    c->rv = (double *)fw_arena_push(ar, sizeof(double) * (size_t)(2 * c->L + 1) * (size_t)c->m * (size_t)(c->R + 1));
    return FW_OK;
}

FW_API fw_status fw_kcov_workspace_size(const fw_kcov_desc *desc, int n, size_t *bytes)
{
    fw__kc c;
    fw_arena ar;
    fw_status st;
    if (bytes == NULL) return FW_ERR_NULL;
    fw_arena_init(&ar, NULL, 0);
    if ((st = fw__kc_setup(desc, n, &c, &ar)) != FW_OK) return st;
    if (ar.failed) return FW_ERR_SIZE;
    *bytes = ar.used;
    return FW_OK;
}

/* Partial derivatives of (E phi phi, E phi' phi') at the 2 x 2 covariance [[a, cc], [cc, b]]
   with respect to a, b and cc (diag: a = b = cc moved together, the result in slot 0), by central
   differences (one-sided, second order, next to the edge of the positive semidefinite set). */
static fw_status fw__kc_partials(fw_activation act, double a, double b, double cc, int diag, double dk[3], double dkd[3])
{
    const double rel = FW__IS_FLOAT ? 3e-3 : 1e-5;
    int v;
    dk[0] = dk[1] = dk[2] = dkd[0] = dkd[1] = dkd[2] = 0;
    for (v = 0; v < (diag ? 1 : 3); ++v) {
        const double x0 = v == 0 ? a : v == 1 ? b : cc, sc = diag ? a : sqrt(a * b);
        const double hh = rel * (sc > 0 ? sc : 1);
        double f[4], fd[4], xs[4];
        int k, ok = 1, oneside = 0, dir = 1;
        fw_status st = FW_OK;
        for (k = 0; k < 2 && ok; ++k) {   /* central: x0 - h, x0 + h */
            xs[k] = x0 + (k == 0 ? -hh : hh);
            if (diag && xs[k] < 0) ok = 0;
        }
        if (!diag) {
            for (k = 0; k < 2; ++k) {
                const double aa = v == 0 ? xs[k] : a, bb = v == 1 ? xs[k] : b, c2 = v == 2 ? xs[k] : cc;
                if (aa < 0 || bb < 0 || c2 * c2 > aa * bb) ok = 0;
            }
        }
        if (!ok) {   /* step away from the edge: a and b up, cc towards 0 */
            oneside = 1;
            dir = v == 2 ? (cc > 0 ? -1 : 1) : 1;
            xs[0] = x0; xs[1] = x0 + dir * hh; xs[2] = x0 + 2 * dir * hh;
        }
        for (k = 0; k < (oneside ? 3 : 2) && st == FW_OK; ++k) {
            fw_real kk, kkd;
            const double aa = diag || v == 0 ? xs[k] : a, bb = diag || v == 1 ? xs[k] : b, c2 = diag || v == 2 ? xs[k] : cc;
            st = fw_act_kernel(act, (fw_real)aa, (fw_real)bb, (fw_real)c2, &kk, &kkd);
            f[k] = kk; fd[k] = kkd;
        }
        if (st != FW_OK) return st;
        if (oneside) {
            dk[v] = (-3 * f[0] + 4 * f[1] - f[2]) / (2 * dir * hh);
            dkd[v] = (-3 * fd[0] + 4 * fd[1] - fd[2]) / (2 * dir * hh);
        } else {
            dk[v] = (f[1] - f[0]) / (2 * hh);
            dkd[v] = (fd[1] - fd[0]) / (2 * hh);
        }
    }
    return FW_OK;
}

/* out = S^(1/2) (symmetric PSD square root through fw_eigh; negative rounding eigenvalues to 0). */
static fw_status fw__kc_sqrt(fw__kc *c, const fw_real *S, fw_real *out)
{
    const int n = c->n;
    int i, j, k;
    fw_status st;
    memcpy(c->A, S, sizeof(fw_real) * (size_t)n * n);
    if ((st = fw_eigh(n, c->A, n, c->ev, c->V, n)) != FW_OK) return st;
    for (i = 0; i < n; ++i)
        for (j = 0; j < n; ++j) {
            double acc = 0;
            for (k = 0; k < n; ++k) {
                const double lam = c->ev[k] > 0 ? (double)c->ev[k] : 0;
                acc += (double)c->V[(size_t)i * n + k] * sqrt(lam) * (double)c->V[(size_t)j * n + k];
            }
            out[(size_t)i * n + j] = (fw_real)acc;
        }
    return FW_OK;
}

/* out = sq e, e ~ N(0, I_n): one Gaussian vector with covariance sq sq^T. */
static void fw__kc_draw(fw__kc *c, const fw_real *sq, fw_rng *rng, fw_real *out)
{
    const int n = c->n;
    int i, j;
    for (i = 0; i < n; ++i) c->e[i] = fw_rng_normal(rng);
    for (i = 0; i < n; ++i) {
        double acc = 0;
        for (j = 0; j < n; ++j) acc += (double)sq[(size_t)i * n + j] * c->e[j];
        out[i] = (fw_real)acc;
    }
}

/* x <- (I - M)^(-1) x over q = (Phi(1..L), G(1..L)), each a block of m pairs. */
static void fw__kc_prop(const fw__kc *c, double *x)
{
    const int m = c->m, L = c->L;
    int l, p;
    for (l = 2; l <= L; ++l) {
        double *cur = x + (size_t)(l - 1) * m;
        const double *prev = x + (size_t)(l - 2) * m, *F = c->cf + (size_t)(l - 1) * 3 * m;
        for (p = 0; p < m; ++p)
            cur[p] += F[3 * p] * prev[c->pix[c->pa[p] * c->n + c->pa[p]]] + F[3 * p + 1] * prev[c->pix[c->pb[p] * c->n + c->pb[p]]] +
                      F[3 * p + 2] * prev[p];
    }
    for (l = L; l >= 1; --l) {
        double *cur = x + (size_t)(L + l - 1) * m;
        if (l < L) {
            const double *up = x + (size_t)(L + l) * m, *B = c->cb + (size_t)(l - 1) * m;
            for (p = 0; p < m; ++p) cur[p] += B[p] * up[p];
        }
        if (l >= 2) {
            const double *prev = x + (size_t)(l - 2) * m, *C = c->cc + (size_t)(l - 1) * 3 * m;
            for (p = 0; p < m; ++p)
                cur[p] += C[3 * p] * prev[c->pix[c->pa[p] * c->n + c->pa[p]]] + C[3 * p + 1] * prev[c->pix[c->pb[p] * c->n + c->pb[p]]] +
                          C[3 * p + 2] * prev[p];
        }
    }
}

/* The weight of block b (0..2L-1: Phi(1..L), then G(1..L)) at entry e in dK = sum_l
   (Phi(l-1) o dG(l) + G(l+1) o dPhi(l)), G(L+1) = 1. */
static double fw__kc_weight(const fw__kc *c, int blk, size_t e)
{
    const int L = c->L, l = blk % L + 1;
    const size_t nn = (size_t)c->n * c->n;
    if (blk < L) return l < L ? (double)c->g[(size_t)l * nn + e] : 1;
    return (double)c->phi[(size_t)(l - 1) * nn + e];
}

/* Cov(K_p, K_j) of the NTK entries at pairs p and j from Q = Cov q. */
static double fw__kc_ntk_cov(const fw__kc *c, int p, int j)
{
    const int m = c->m, nq = 2 * c->L * m;
    const size_t e = (size_t)c->pa[p] * c->n + c->pb[p], f = (size_t)c->pa[j] * c->n + c->pb[j];
    double acc = 0;
    int b1, b2;
    for (b1 = 0; b1 < 2 * c->L; ++b1) {
        const double w1 = fw__kc_weight(c, b1, e);
        for (b2 = 0; b2 < 2 * c->L; ++b2) acc += w1 * fw__kc_weight(c, b2, f) * c->Q[(size_t)(b1 * m + p) * nq + (size_t)(b2 * m + j)];
    }
    return acc;
}

/* Q = (1/N) Pi Kb Pi^T from the sums of replicates r0..r1-1; then the variances of Phi, G (per
   pair, into vq: 2 L m) and of the NTK entries (into vk: m). */
static void fw__kc_cov(fw__kc *c, int r0, int r1, double *vq, double *vk)
{
    const int m = c->m, L = c->L, m2 = 2 * m, nq = 2 * L * m;
    const double cnt = (double)(r1 - r0) * (double)(c->M / c->R), N = c->d.width;
    int l, i, j, r, p;
    memset(c->kap, 0, sizeof(double) * (size_t)nq * nq);
    for (l = 0; l < L; ++l) {
        double *mean = c->o;
        for (i = 0; i < m2; ++i) {
            double acc = 0;
            for (r = r0; r < r1; ++r) acc += c->s1[((size_t)r * L + l) * m2 + i];
            mean[i] = acc / cnt;
        }
        for (i = 0; i < m2; ++i) {
            const int qi = i < m ? l * m + i : (L + l) * m + (i - m);
            for (j = 0; j < m2; ++j) {
                const int qj = j < m ? l * m + j : (L + l) * m + (j - m);
                double acc = 0;
                for (r = r0; r < r1; ++r) acc += c->s2[((size_t)r * L + l) * (size_t)m2 * m2 + (size_t)(i < j ? i : j) * m2 + (i < j ? j : i)];
                c->kap[(size_t)qi * nq + qj] = (acc / cnt - mean[i] * mean[j]) / N;
            }
        }
    }
    /* Y = Pi Kb (columns), then Q = Pi Y^T */
    for (j = 0; j < nq; ++j) {
        for (i = 0; i < nq; ++i) c->Y[(size_t)j * nq + i] = c->kap[(size_t)i * nq + j];
        fw__kc_prop(c, c->Y + (size_t)j * nq);   /* row j of Y^T = column j of Pi Kb */
    }
    for (i = 0; i < nq; ++i) {   /* Q row i = Pi (row i of Y^T transposed): column i of Pi Y^T */
        for (j = 0; j < nq; ++j) c->Q[(size_t)i * nq + j] = c->Y[(size_t)j * nq + i];
        fw__kc_prop(c, c->Q + (size_t)i * nq);
    }
    /* Q[i][j] now holds (Pi (Pi Kb)^T)[j][i] = Cov(q_j, q_i): symmetric */
    for (i = 0; i < nq; ++i) vq[i] = c->Q[(size_t)i * nq + i];
    for (p = 0; p < m; ++p) vk[p] = fw__kc_ntk_cov(c, p, p);
}
FW_API fw_status fw_kcov_init_ws(const fw_kcov_desc *desc, int n, const fw_real *kx, int ldk,
                                 const fw_kcov_out *out, void *ws, size_t ws_bytes)
{
    fw__kc c;
    fw_arena ar;
    fw_status st;
    size_t nn;
    int a, b, p, l, r, i, j, smp, m, m2, L, nv;
    if (kx == NULL || out == NULL || ws == NULL) return FW_ERR_NULL;
    fw_arena_init(&ar, ws, ws_bytes);
    if ((st = fw__kc_setup(desc, n, &c, &ar)) != FW_OK) return st;
    if (ar.failed) FW__KC_FAIL(FW_ERR_WORKSPACE, "fw_kcov_init_ws", "workspace smaller than fw_kcov_workspace_size");
    if (ldk < n) FW__KC_FAIL(FW_ERR_LD, "kx", "ldk must be >= n");
    if (!fw__all_finite(n, n, kx, ldk)) FW__KC_FAIL(FW_ERR_NONFINITE, "kx", "holds NaN or Inf");
    m = c.m; m2 = 2 * m; L = c.L; nn = (size_t)n * n; nv = (2 * L + 1) * m;
    for (p = 0, a = 0; a < n; ++a)
        for (b = a; b < n; ++b, ++p) { c.pa[p] = a; c.pb[p] = b; c.pix[a * n + b] = c.pix[b * n + a] = p; }
    if ((st = fw_kernels_infinite(c.d.act, L, n, kx, ldk, c.phi, c.g, c.ntk)) != FW_OK)
        FW__KC_FAIL(st, "kx", "the infinite-width kernels failed (kx must be symmetric positive semidefinite)");
    /* sensitivities per layer at the mean kernels */
    for (l = 1; l <= L; ++l) {
        const fw_real *S = c.phi + (size_t)(l - 1) * nn;
        for (p = 0; p < m; ++p) {
            const int pa = c.pa[p], pb = c.pb[p];
            const double up = l < L ? (double)c.g[(size_t)l * nn + (size_t)pa * n + pb] : 1;
            double dk[3], dkd[3];
            fw_real kk, kd;
            if ((st = fw__kc_partials(c.d.act, S[(size_t)pa * n + pa], S[(size_t)pb * n + pb], S[(size_t)pa * n + pb], pa == pb, dk, dkd)) != FW_OK ||
                (st = fw_act_kernel(c.d.act, S[(size_t)pa * n + pa], S[(size_t)pb * n + pb], S[(size_t)pa * n + pb], &kk, &kd)) != FW_OK)
                FW__KC_FAIL(st, "kx", "a two-point average failed (kx must be symmetric positive semidefinite)");
            for (i = 0; i < 3; ++i) {
                c.cf[((size_t)(l - 1) * m + p) * 3 + i] = dk[i];
                c.cc[((size_t)(l - 1) * m + p) * 3 + i] = up * dkd[i];
            }
            c.cb[(size_t)(l - 1) * m + p] = kd;
        }
    }
    /* single-site sampling: kappa's sums per (replicate, layer) */
    memset(c.s1, 0, sizeof(double) * (size_t)m2 * L * c.R);
    memset(c.s2, 0, sizeof(double) * (size_t)m2 * m2 * L * c.R);
    for (l = 1; l <= L; ++l) {
        if ((st = fw__kc_sqrt(&c, c.phi + (size_t)(l - 1) * nn, c.sqh)) != FW_OK) return st;
        if (l < L && (st = fw__kc_sqrt(&c, c.g + (size_t)l * nn, c.sqz)) != FW_OK) return st;
        for (r = 0; r < c.R; ++r) {
            /* this worker's share of the replicate's samples; sample s draws normals s c .. s c + c - 1 */
            const long per = c.M / c.R, K = c.d.reduce.ranks, k = c.d.reduce.rank;
            const int lo = (int)(per * k / K), hi = (int)(per * (k + 1) / K);
            fw_rng rng;
            double *s1 = c.s1 + ((size_t)r * L + (l - 1)) * m2, *s2 = c.s2 + ((size_t)r * L + (l - 1)) * (size_t)m2 * m2;
            fw_rng_init(&rng, c.d.seed, (uint64_t)(l - 1) * (uint64_t)c.R + (uint64_t)r);
            fw__rng_seek_normal(&rng, (uint64_t)lo * (uint64_t)(n + (l < L ? n : 1)));
            for (smp = lo; smp < hi; ++smp) {
                fw__kc_draw(&c, c.sqh, &rng, c.h);
                if (l < L) {
                    fw__kc_draw(&c, c.sqz, &rng, c.z);
                } else {
                    const fw_real w = fw_rng_normal(&rng);
                    for (i = 0; i < n; ++i) c.z[i] = w;
                }
                for (i = 0; i < n; ++i) {   /* h <- phi(h), z <- g = phi'(h) z */
                    const fw_real hv = c.h[i];
                    c.h[i] = fw_act(c.d.act, hv);
                    c.z[i] *= fw_act_d1(c.d.act, hv);
                }
                for (p = 0; p < m; ++p) {
                    c.o[p] = (double)c.h[c.pa[p]] * c.h[c.pb[p]];
                    c.o[m + p] = (double)c.z[c.pa[p]] * c.z[c.pb[p]];
                }
                for (i = 0; i < m2; ++i) {
                    const double oi = c.o[i];
                    double *row = s2 + (size_t)i * m2;
                    s1[i] += oi;
                    for (j = i; j < m2; ++j) row[j] += oi * c.o[j];
                }
            }
        }
    }
    if (c.d.reduce.ranks > 1) {   /* the sums over every worker's samples */
        c.d.reduce.fn(c.d.reduce.user, c.s1, m2 * L * c.R);
        for (i = 0; i < L * c.R; ++i) c.d.reduce.fn(c.d.reduce.user, c.s2 + (size_t)i * m2 * m2, m2 * m2);
    }
    for (r = 0; r < c.R; ++r) fw__kc_cov(&c, r, r + 1, c.rv + (size_t)r * nv, c.rv + (size_t)r * nv + 2 * L * m);
    fw__kc_cov(&c, 0, c.R, c.rv + (size_t)c.R * nv, c.rv + (size_t)c.R * nv + 2 * L * m);   /* pooled, last: Q stays */
    for (i = 0; i < nv; ++i) {
        const double v = c.rv[(size_t)c.R * nv + i];
        double sd = 0;
        for (r = 0; r < c.R; ++r) { const double dv = c.rv[(size_t)r * nv + i] - v; sd += dv * dv; }
        sd = sqrt(sd / (c.R - 1) / c.R);
        if (!fw__finite((fw_real)v) || !fw__finite((fw_real)sd)) FW__KC_FAIL(FW_ERR_NONFINITE, "fw_kcov_init", "a variance overflowed");
        p = i % m; l = i / m;
        {
            const size_t e1 = (size_t)c.pa[p] * n + c.pb[p], e2 = (size_t)c.pb[p] * n + c.pa[p];
            fw_real *dst = l < L ? out->phi_var : l < 2 * L ? out->g_var : out->ntk_var;
            fw_real *dse = l < L ? out->phi_var_se : l < 2 * L ? out->g_var_se : out->ntk_var_se;
            const size_t off = (size_t)(l < L ? l : l < 2 * L ? l - L : 0) * nn;
            if (dst != NULL) dst[off + e1] = dst[off + e2] = (fw_real)v;
            if (dse != NULL) dse[off + e1] = dse[off + e2] = (fw_real)sd;
        }
    }
    if (out->ntk_cov != NULL)   /* Cov(K_p, K_p') from the pooled Cov q */
        for (p = 0; p < m; ++p)
            for (j = 0; j < m; ++j) {
                const double acc = fw__kc_ntk_cov(&c, p, j);
                {
                    const int ea[2] = {c.pa[p], c.pb[p]}, eb[2] = {c.pa[j], c.pb[j]};
                    int u, v2;
                    for (u = 0; u < 2; ++u)
                        for (v2 = 0; v2 < 2; ++v2)
                            out->ntk_cov[((size_t)ea[u] * n + ea[1 - u]) * nn + (size_t)eb[v2] * n + eb[1 - v2]] = (fw_real)acc;
                }
            }
    if (out->f0_cov != NULL) {
        const double sc = 1 / ((double)c.gam * c.gam * c.d.width);
        for (i = 0; i < (int)nn; ++i) out->f0_cov[i] = (fw_real)(sc * c.phi[(size_t)L * nn + i]);
    }
    return FW_OK;
}

FW_API fw_status fw_kcov_init(const fw_kcov_desc *desc, int n, const fw_real *kx, int ldk,
                              const fw_kcov_out *out, const fw_allocator *alloc)
{
    size_t bytes = 0;
    void *ws;
    fw_status st = fw_kcov_workspace_size(desc, n, &bytes);
    if ((st = fw__ws_take(alloc, st, bytes, &ws)) != FW_OK) return st;
    st = fw_kcov_init_ws(desc, n, kx, ldk, out, ws, bytes);
    fw__free(alloc, ws);
    return st;
}

// ==== deep linear networks on a finite data set: fluctuations implementation =====================

/* docs/fluct.md section 11. A layer's state x = (h(t, a) for t <= T, a < n; z(t, mu) for mu < P)
   solves x = S + K x with the Gaussian sources S = (u, r) (u ~ N(0, Phi(l-1)), r ~ N(0, G(l+1)))
   and K built from q (docs/dmft.md section 1-2 with phi = identity), so x = M S, M = (I - K)^-1,
   and every average is a quadratic form in M. The full order-parameter vector q (offsets oPhi,
   oG, oA, oB, of below) holds complete matrices; the packed vector (dimp entries) keeps one copy
   of each symmetric pair and only the causal entries of A (s < t) and B (s <= t). */
typedef struct fw__dlf {
    fw_dlfluct_desc d;
    const fw_data *data;
    int L, T1, n, P, nh, nz, nx, dimp, nout;
    size_t oPhi, oG, oA, oB, of, dimf;
    fw_real gam, eg;
    int *p1, *p2, *fpk;            /* packed -> full offsets (p2 = p1 unless a symmetric pair); full -> packed (-1) */
    int *ol, *op, *oq;             /* per packed entry: layer of its observable (0: none), x indices */
    fw_real *oc;                   /* its coefficient */
    int *piv;
    fw_real *kx, *q, *q2, *dq, *dq2;
    fw_real *M, *C, *Pu, *Pr;      /* per layer: nx^2, nx^2, nx nh, nx nz */
    fw_real *K, *dK, *dM, *tmp, *E, *cu, *cr;
    fw_real *D, *Ce, *W, *U;       /* dimp^2, dimp^2, dimp nout, dimp nout */
    fw_real *R, *S, *Qa, *Qb, *Qc, *X;  /* noise scratch: nobs x nz nh (two), nobs x max(nz, nh)^2 (three), nobs^2 */
    int *ix;                       /* 2 nobs: the packed indices of two layers' observables */
    int nobs;                      /* largest number of observables of one layer */
    double *vv, *vse;              /* nout: the output variances and their standard errors */
    /* the sampled propagator (nonlinear nets, or desc.sampled): see fw__dnf_* */
    int smp, Ms, Rr, m0, m1, nol;  /* on; samples in all; replicates; the samples in use; per-layer observable bound */
    int *styp, *sa, *sb, *sl, *lob, *lix;
    double *xi, *src, *Kd, *Ke, *Lu, *Lr, *rv;
    double *xh, *xp, *xd1, *xd2, *xz, *xg, *a1, *a2, *sx, *J, *bp, *bg, *X1, *X2;
    double *ov, *ob, *chk, *mn, *mp, *mm, *spl, *smi, *acc, *Rd, *Sd, *Tm, *Qd, *Rc, *Rc2;
} fw__dlf;

static fw_status fw__dnf_setup(fw__dlf *c, fw_arena *ar);
static fw_status fw__dnf_prepare(fw__dlf *c, int l);
static void fw__dnf_mean(fw__dlf *c, int l, const double *K, int ia, double va, int ib, double vb, double *mean);
#define FW__DPUSH(ar, count) ((double *)fw_arena_push((ar), (size_t)(count) * sizeof(double)))

#define FW__DLF_FAIL(st, field, text) do { fw__report(&desc->log, st, field, text); return st; } while (0)

static fw_status fw__dlf_setup(const fw_dlfluct_desc *desc, const fw_data *data, fw__dlf *c, fw_arena *ar)
{
    size_t nx2, sz;
    int l, nobs_h, nobs_z;
    if (desc == NULL || data == NULL) return FW_ERR_NULL;
    memset(c, 0, sizeof *c);
    c->d = *desc;
    c->data = data;
    if (c->d.depth == 0) c->d.depth = 1;
    if (c->d.gamma0 == 0) c->d.gamma0 = 1;
    if (c->d.depth < 1 || c->d.width < 1 || c->d.steps < 0 || c->d.steps > FW__MAX_STEPS)
        FW__DLF_FAIL(FW_ERR_SIZE, "fw_dlfluct_desc", "needs depth >= 1, width >= 1, steps >= 0");
    if (fw__gamma0_problem(c->d.gamma0, c->d.ntk) != NULL) FW__DLF_FAIL(FW_ERR_ARG, "fw_dlfluct_desc.gamma0", fw__gamma0_problem(c->d.gamma0, c->d.ntk));
    if (c->d.reduce.ranks == 0) c->d.reduce.ranks = 1;
    if (c->d.reduce.ranks < 1 || c->d.reduce.rank < 0 || c->d.reduce.rank >= c->d.reduce.ranks)
        FW__DLF_FAIL(FW_ERR_ARG, "fw_dlfluct_desc.reduce", "needs ranks >= 1 (0 means 1) and 0 <= rank < ranks");
    if (c->d.reduce.ranks > 1 && c->d.reduce.fn == NULL) FW__DLF_FAIL(FW_ERR_NULL, "fw_dlfluct_desc.reduce", "ranks > 1 needs the all-reduce fn");
    if (!fw__finite(c->d.lr) || c->d.lr <= 0) FW__DLF_FAIL(FW_ERR_ARG, "fw_dlfluct_desc.lr", "must be finite and > 0");
    if ((unsigned)c->d.act >= (unsigned)FW_ACT_COUNT) FW__DLF_FAIL(FW_ERR_ARG, "fw_dlfluct_desc.act", "unknown activation");
    if (c->d.act == FW_ACT_RELU)
        FW__DLF_FAIL(FW_ERR_ARG, "fw_dlfluct_desc.act", "the sampled deep propagator needs a smooth activation (linear, tanh, erf); ReLU is not supported yet");
    if (c->d.samples == 0) c->d.samples = 4000;
    if (c->d.replicates == 0) c->d.replicates = 1;
    if (c->d.samples < 2 || c->d.replicates < 1 || c->d.samples / c->d.replicates < 2)
        FW__DLF_FAIL(FW_ERR_SIZE, "fw_dlfluct_desc.samples", "needs samples >= 2 per replicate (0 means 4000) and replicates >= 1 (0 means 1)");
    if (data->P < 1 || data->Q < 0 || data->D < 1) FW__DLF_FAIL(FW_ERR_SIZE, "fw_data", "needs P >= 1, Q >= 0, D >= 1");
    c->L = c->d.depth; c->T1 = c->d.steps + 1; c->n = data->P + data->Q; c->P = data->P;
    if (c->T1 > 256 || c->n > 256 || (double)c->T1 * (c->n + c->P) > 256)
        FW__DLF_FAIL(FW_ERR_SIZE, "fw_dlfluct_desc", "(steps + 1) (P + Q + P) must be <= 256");
    c->nh = c->T1 * c->n; c->nz = c->T1 * c->P; c->nx = c->nh + c->nz;
    c->gam = c->d.ntk ? (fw_real)(1 / sqrt((double)c->d.width)) : c->d.gamma0;
    c->eg = c->d.lr * c->gam;
    c->oPhi = 0;
    c->oG = c->oPhi + (size_t)c->L * c->nh * c->nh;
    c->oA = c->oG + (size_t)c->L * c->nz * c->nz;
    c->oB = c->oA + (size_t)(c->L - 1) * c->nh * c->nz;
    c->of = c->oB + (size_t)(c->L - 1) * c->nz * c->nz;
    c->dimf = c->of + (size_t)c->T1 * c->n;
    /* packed size: symmetric kernels, causal responses, f */
    nobs_h = c->nh * (c->nh + 1) / 2; nobs_z = c->nz * (c->nz + 1) / 2;
    {
        const double pairs_lt = (double)c->T1 * (c->T1 - 1) / 2, pairs_le = (double)c->T1 * (c->T1 + 1) / 2;
        const double dimp = c->L * (double)(nobs_h + nobs_z) + (c->L - 1) * (pairs_lt * c->n * c->P + pairs_le * c->P * c->P) + (double)c->T1 * c->n;
        if (dimp > 3000) FW__DLF_FAIL(FW_ERR_SIZE, "fw_dlfluct_desc", "too many order parameters (about L (T+1)^2 (n^2 + 3 P^2 + 2 n P) / 2 > 3000): fewer steps or points");
        c->dimp = (int)dimp;
    }
    c->nobs = nobs_h + nobs_z + c->T1 * c->n;
    c->nout = c->T1 * c->n + c->L * c->T1 * c->n * (c->n + 1) / 2 + (c->L + 1) * c->T1 * c->P * (c->P + 1) / 2;
    nx2 = (size_t)c->nx * c->nx;
    sz = (size_t)c->dimp;
    c->p1 = (int *)fw_arena_push(ar, sizeof(int) * sz);
    c->p2 = (int *)fw_arena_push(ar, sizeof(int) * sz);
    c->ol = (int *)fw_arena_push(ar, sizeof(int) * sz);
    c->op = (int *)fw_arena_push(ar, sizeof(int) * sz);
    c->oq = (int *)fw_arena_push(ar, sizeof(int) * sz);
    c->fpk = (int *)fw_arena_push(ar, sizeof(int) * c->dimf);
    c->piv = (int *)fw_arena_push(ar, sizeof(int) * (sz > (size_t)c->nx ? sz : (size_t)c->nx));
    c->oc = FW__PUSH(ar, sz);
    c->kx = FW__PUSH(ar, (size_t)c->n * c->n);
    c->q = FW__PUSH(ar, c->dimf);
    c->q2 = FW__PUSH(ar, c->dimf);
    c->dq = FW__PUSH(ar, c->dimf);
    c->K = FW__PUSH(ar, nx2);
    c->dK = FW__PUSH(ar, nx2);
    c->cu = FW__PUSH(ar, (size_t)c->nh * c->nh);
    c->cr = FW__PUSH(ar, (size_t)c->nz * c->nz);
    c->D = FW__PUSH(ar, sz * sz);
    c->Ce = FW__PUSH(ar, sz * sz);
    c->W = FW__PUSH(ar, sz * (size_t)c->nout);
    c->U = FW__PUSH(ar, sz * (size_t)c->nout);
    c->vv = (double *)fw_arena_push(ar, sizeof(double) * (size_t)c->nout);
    c->smp = c->d.act != FW_ACT_LINEAR || c->d.sampled;
    if (c->smp) return fw__dnf_setup(c, ar);
    /* the exact path's own arrays */
    c->dq2 = FW__PUSH(ar, c->dimf);
    c->M = FW__PUSH(ar, nx2 * c->L);
    c->C = FW__PUSH(ar, nx2 * c->L);
    c->Pu = FW__PUSH(ar, (size_t)c->nx * c->nh * c->L);
    c->Pr = FW__PUSH(ar, (size_t)c->nx * c->nz * c->L);
    c->dM = FW__PUSH(ar, nx2);
    c->tmp = FW__PUSH(ar, nx2);
    c->E = FW__PUSH(ar, nx2);
    if (c->L > 1) {   /* the pair terms exist only between hidden layers */
        l = c->nz > c->nh ? c->nz : c->nh;
        c->R = FW__PUSH(ar, (size_t)c->nobs * c->nz * c->nh);
        c->S = FW__PUSH(ar, (size_t)c->nobs * c->nz * c->nh);
        c->Qa = FW__PUSH(ar, (size_t)c->nobs * l * l);
        c->Qb = FW__PUSH(ar, (size_t)c->nobs * l * l);
        if (c->L > 2) c->Qc = FW__PUSH(ar, (size_t)c->nobs * l * l);
        c->X = FW__PUSH(ar, (size_t)c->nobs * c->nobs);
    }
    c->ix = (int *)fw_arena_push(ar, sizeof(int) * 2 * (size_t)c->nobs);
    return FW_OK;
}

/* The packed layout and each packed entry's observable (o = coef x_p x_q over the layer's state). */
static void fw__dlf_index(fw__dlf *c)
{
    const int nh = c->nh, nz = c->nz, n = c->n, P = c->P;
    int l, i, j, t, s, a, b, k = 0;
    size_t e;
    for (e = 0; e < c->dimf; ++e) c->fpk[e] = -1;
#define FW__DLF_PUT(off1, off2, lay, pp, qq, cf) do { \
        c->p1[k] = (int)(off1); c->p2[k] = (int)(off2); c->ol[k] = (lay); c->op[k] = (pp); c->oq[k] = (qq); \
        c->oc[k] = (cf); c->fpk[off1] = k; c->fpk[off2] = k; ++k; } while (0)
    for (l = 1; l <= c->L; ++l) {
        const size_t o = c->oPhi + (size_t)(l - 1) * nh * nh, g = c->oG + (size_t)(l - 1) * nz * nz;
        for (i = 0; i < nh; ++i)
            for (j = i; j < nh; ++j) FW__DLF_PUT(o + (size_t)i * nh + j, o + (size_t)j * nh + i, l, i, j, 1);
        for (i = 0; i < nz; ++i)
            for (j = i; j < nz; ++j) FW__DLF_PUT(g + (size_t)i * nz + j, g + (size_t)j * nz + i, l, nh + i, nh + j, 1);
    }
    for (l = 1; l < c->L; ++l) {
        const size_t oa = c->oA + (size_t)(l - 1) * nh * nz, ob = c->oB + (size_t)(l - 1) * nz * nz;
        for (t = 0; t < c->T1; ++t)
            for (s = 0; s < t; ++s)
                for (a = 0; a < n; ++a)
                    for (b = 0; b < P; ++b) {
                        const size_t off = oa + (size_t)(t * n + a) * nz + s * P + b;
                        FW__DLF_PUT(off, off, 0, 0, 0, 0);
                    }
        for (t = 0; t < c->T1; ++t)
            for (s = 0; s <= t; ++s)
                for (a = 0; a < P; ++a)
                    for (b = 0; b < P; ++b) {
                        const size_t off = ob + (size_t)(t * P + a) * nz + s * P + b;
                        FW__DLF_PUT(off, off, 0, 0, 0, 0);
                    }
    }
    for (t = 0; t < c->T1; ++t)
        for (a = 0; a < n; ++a) FW__DLF_PUT(c->of + (size_t)t * n + a, c->of + (size_t)t * n + a, c->L, nh + t * P, t * n + a, 1 / c->gam);
#undef FW__DLF_PUT
}

/* K and the source covariances of layer l at q (dq == NULL), or their derivatives along dq
   (K is bilinear in (Delta, kernels): the product rule). docs/dmft.md section 1-2:
     h(t, nu) += sum_{s<t, mu} [A(l-1)(t nu, s mu) + eta gamma0 Delta_mu(s) Phi(l-1)(s mu, t nu)] z(s, mu)
     z(t, mu) += sum_{s<=t, nu} B(l)(t mu, s nu) h(s, nu) + sum_{s<t, nu} eta gamma0 Delta_nu(s) G(l+1)(s nu, t mu) h(s, nu)
   with Phi(0) = Kx at all times, A(0) = 0, G(L+1) = 1 (the readout), B(L) = 0. */
static void fw__dlf_build(const fw__dlf *c, int l, const fw_real *q, const fw_real *dq, fw_real *K, fw_real *cu, fw_real *cr)
{
    const int nh = c->nh, nz = c->nz, nx = c->nx, n = c->n, P = c->P, T1 = c->T1;
    const fw_real *y = c->data->y, *f = q + c->of, *df = dq != NULL ? dq + c->of : NULL;
    const fw_real *ph = l > 1 ? q + c->oPhi + (size_t)(l - 2) * nh * nh : NULL;
    const fw_real *dph = l > 1 && dq != NULL ? dq + c->oPhi + (size_t)(l - 2) * nh * nh : NULL;
    const fw_real *Ap = l > 1 ? (dq != NULL ? dq : q) + c->oA + (size_t)(l - 2) * nh * nz : NULL;
    const fw_real *gn = l < c->L ? q + c->oG + (size_t)l * nz * nz : NULL;
    const fw_real *dgn = l < c->L && dq != NULL ? dq + c->oG + (size_t)l * nz * nz : NULL;
    const fw_real *Bc = l < c->L ? (dq != NULL ? dq : q) + c->oB + (size_t)(l - 1) * nz * nz : NULL;
    int t, s, a, b;
    memset(K, 0, sizeof(fw_real) * (size_t)nx * nx);
    for (t = 0; t < T1; ++t)
        for (s = 0; s < t; ++s)
            for (b = 0; b < P; ++b) {
                const fw_real del = y[b] - f[s * n + b], ddel = df != NULL ? -df[s * n + b] : 0;
                for (a = 0; a < n; ++a) {
                    const fw_real pv = ph != NULL ? ph[(size_t)(s * n + b) * nh + t * n + a] : c->kx[b * n + a];
                    const fw_real dpv = dph != NULL ? dph[(size_t)(s * n + b) * nh + t * n + a] : 0;
                    fw_real v = Ap != NULL ? Ap[(size_t)(t * n + a) * nz + s * P + b] : 0;
                    v += dq != NULL ? c->eg * (ddel * pv + del * dpv) : c->eg * del * pv;
                    K[(size_t)(t * n + a) * nx + nh + s * P + b] = v;
                }
            }
    for (t = 0; t < T1; ++t)
        for (s = 0; s <= t; ++s)
            for (b = 0; b < P; ++b) {
                const fw_real del = y[b] - f[s * n + b], ddel = df != NULL ? -df[s * n + b] : 0;
                for (a = 0; a < P; ++a) {
                    fw_real v = Bc != NULL ? Bc[(size_t)(t * P + a) * nz + s * P + b] : 0;
                    if (s < t) {
                        const fw_real gv = gn != NULL ? gn[(size_t)(s * P + b) * nz + t * P + a] : 1;
                        const fw_real dgv = dgn != NULL ? dgn[(size_t)(s * P + b) * nz + t * P + a] : 0;
                        v += dq != NULL ? c->eg * (ddel * gv + del * dgv) : c->eg * del * gv;
                    }
                    K[(size_t)(nh + t * P + a) * nx + s * n + b] = v;
                }
            }
    if (cu != NULL) {
        for (t = 0; t < nh; ++t)
            for (s = 0; s < nh; ++s)
                cu[(size_t)t * nh + s] = l > 1 ? (dq != NULL ? dph : ph)[(size_t)t * nh + s]
                                               : (dq != NULL ? 0 : c->kx[(t % n) * n + s % n]);
    }
    if (cr != NULL) {
        for (t = 0; t < nz; ++t)
            for (s = 0; s < nz; ++s)
                cr[(size_t)t * nz + s] = l < c->L ? (dq != NULL ? dgn : gn)[(size_t)t * nz + s] : (dq != NULL ? 0 : 1);
    }
}

/* Layer l's contributions to q from (M, C), or their tangents from (dM, dC): Phi(l) = C_hh,
   G(l) = C_zz, A(l) = dh/dr, B(l-1) = dz/du on training columns, f = E[w h(L)] / gamma0. */
static void fw__dlf_outputs(const fw__dlf *c, int l, const fw_real *M, const fw_real *C, fw_real *q)
{
    const int nh = c->nh, nz = c->nz, nx = c->nx, n = c->n, P = c->P, T1 = c->T1;
    fw_real *ph = q + c->oPhi + (size_t)(l - 1) * nh * nh, *g = q + c->oG + (size_t)(l - 1) * nz * nz;
    int i, j, t, s, b;
    for (i = 0; i < nh; ++i)
        for (j = 0; j < nh; ++j) ph[(size_t)i * nh + j] = C[(size_t)i * nx + j];
    for (i = 0; i < nz; ++i)
        for (j = 0; j < nz; ++j) g[(size_t)i * nz + j] = C[(size_t)(nh + i) * nx + nh + j];
    if (l < c->L) {
        fw_real *A = q + c->oA + (size_t)(l - 1) * nh * nz;
        for (i = 0; i < nh; ++i)
            for (j = 0; j < nz; ++j) A[(size_t)i * nz + j] = M[(size_t)i * nx + nh + j];
    }
    if (l > 1) {
        fw_real *B = q + c->oB + (size_t)(l - 2) * nz * nz;
        for (i = 0; i < nz; ++i)
            for (s = 0; s < T1; ++s)
                for (b = 0; b < P; ++b) B[(size_t)i * nz + s * P + b] = M[(size_t)(nh + i) * nx + s * n + b];
    }
    if (l == c->L) {
        fw_real *f = q + c->of;
        for (t = 0; t < T1; ++t)
            for (i = 0; i < n; ++i) f[t * n + i] = C[(size_t)(nh + t * P) * nx + t * n + i] / c->gam;
    }
}

/* M = (I - K)^-1 and C = M diag(CovU, CovR) M^T for layer l at c->q (cached for the tangents). */
static fw_status fw__dlf_solve_layer(fw__dlf *c, int l)
{
    const int nh = c->nh, nz = c->nz, nx = c->nx;
    const size_t nx2 = (size_t)nx * nx;
    fw_real *M = c->M + (size_t)(l - 1) * nx2, *C = c->C + (size_t)(l - 1) * nx2;
    fw_real *Pu = c->Pu + (size_t)(l - 1) * nx * nh, *Pr = c->Pr + (size_t)(l - 1) * nx * nz;
    fw_status st;
    size_t i;
    fw__dlf_build(c, l, c->q, NULL, c->K, c->cu, c->cr);
    for (i = 0; i < nx2; ++i) { c->K[i] = -c->K[i]; M[i] = 0; }
    for (i = 0; i < (size_t)nx; ++i) { c->K[i * nx + i] += 1; M[i * nx + i] = 1; }
    if ((st = fw_solve(nx, nx, c->K, nx, c->piv, M, nx)) != FW_OK) return st;
    if ((st = fw_gemm(FW_NO_TRANS, FW_NO_TRANS, nx, nh, nh, 1, M, nx, c->cu, nh, 0, Pu, nh)) != FW_OK ||
        (st = fw_gemm(FW_NO_TRANS, FW_NO_TRANS, nx, nz, nz, 1, M + nh, nx, c->cr, nz, 0, Pr, nz)) != FW_OK ||
        (st = fw_gemm(FW_NO_TRANS, FW_TRANS, nx, nx, nh, 1, Pu, nh, M, nx, 0, C, nx)) != FW_OK ||
        (st = fw_gemm(FW_NO_TRANS, FW_TRANS, nx, nx, nz, 1, Pr, nz, M + nh, nx, 1, C, nx)) != FW_OK)
        return st;
    return FW_OK;
}

/* Layer l at c->q: exact (M, C) for a linear net, K and the sources for the sampled path; with
   q2, also its outputs into q2. FW_ERR_DIVERGED on overflow, FW_ERR_NOT_PD (sampled). */
static fw_status fw__dlf_layer(fw__dlf *c, int l, fw_real *q2)
{
    fw_status st;
    int e;
    if (!c->smp) {   /* I - K is unit triangular in the causal order: a failed solve means overflow */
        if (fw__dlf_solve_layer(c, l) != FW_OK) return FW_ERR_DIVERGED;
        if (q2 != NULL) fw__dlf_outputs(c, l, c->M + (size_t)(l - 1) * c->nx * c->nx, c->C + (size_t)(l - 1) * c->nx * c->nx, q2);
        return FW_OK;
    }
    if ((st = fw__dnf_prepare(c, l)) != FW_OK) return st == FW_ERR_NOT_PD ? st : FW_ERR_DIVERGED;
    if (q2 == NULL) return FW_OK;
    fw__dnf_mean(c, l, c->Kd + (size_t)(l - 1) * c->nx * c->nx, -1, 0, -1, 0, c->mn);
    for (e = c->lob[l - 1]; e < c->lob[l]; ++e) {
        const int k = c->lix[e];
        q2[c->p1[k]] = q2[c->p2[k]] = (fw_real)c->mn[e - c->lob[l - 1]];
    }
    return FW_OK;
}

/* The infinite-width solution: q = F(q) by sweeps over the layers. F is causal in time and,
   at one time, triangular in the layers, so the sweeps end in about (T + 1)(2 L + 1) steps
   (the sampled map too: common random numbers and causal sources, fw__dnf_sqrt). */
static fw_status fw__dlf_fixed_point(fw__dlf *c)
{
    const int cap = 4 * c->T1 * (c->L + 1) + 20;
    const double tol = FW__IS_FLOAT ? 1e-6 : 1e-13;
    int it, l;
    size_t i;
    fw_status st;
    memset(c->q, 0, sizeof(fw_real) * c->dimf);
    for (l = 1; l <= c->L; ++l) {
        fw_real *ph = c->q + c->oPhi + (size_t)(l - 1) * c->nh * c->nh, *g = c->q + c->oG + (size_t)(l - 1) * c->nz * c->nz;
        for (i = 0; i < (size_t)c->nh * c->nh; ++i) ph[i] = c->kx[(i / c->nh % c->n) * c->n + (i % c->nh) % c->n];
        for (i = 0; i < (size_t)c->nz * c->nz; ++i) g[i] = 1;
    }
    for (it = 0; it < cap; ++it) {
        double diff = 0, big = 1;
        memcpy(c->q2, c->q, sizeof(fw_real) * c->dimf);
        for (l = 1; l <= c->L; ++l)
            if ((st = fw__dlf_layer(c, l, c->q2)) != FW_OK) return st;
        for (i = 0; i < c->dimf; ++i) {
            const double dd = fw__abs(c->q2[i] - c->q[i]), a = fw__abs(c->q2[i]);
            if (!fw__finite(c->q2[i])) return FW_ERR_DIVERGED;
            if (dd > diff) diff = dd;
            if (a > big) big = a;
        }
        memcpy(c->q, c->q2, sizeof(fw_real) * c->dimf);
        if (diff <= tol * big) {
            for (l = 1; l <= c->L; ++l)
                if ((st = fw__dlf_layer(c, l, NULL)) != FW_OK) return st;
            return FW_OK;
        }
    }
    return FW_ERR_NO_CONVERGENCE;
}

/* Tangent of layer l's outputs along c->dq into c->dq2: dM = M dK M and
   dC = dMu Pu^T + Pu dMu^T + Mu dCovU Mu^T + (the same with r). */
static fw_status fw__dlf_tangent(fw__dlf *c, int l, int du, int dr)
{
    const int nh = c->nh, nz = c->nz, nx = c->nx;
    const size_t nx2 = (size_t)nx * nx;
    const fw_real *M = c->M + (size_t)(l - 1) * nx2, *Pu = c->Pu + (size_t)(l - 1) * nx * nh, *Pr = c->Pr + (size_t)(l - 1) * nx * nz;
    fw_status st;
    size_t i, j;
    fw__dlf_build(c, l, c->q, c->dq, c->dK, du ? c->cu : NULL, dr ? c->cr : NULL);
    if ((st = fw_gemm(FW_NO_TRANS, FW_NO_TRANS, nx, nx, nx, 1, c->dK, nx, M, nx, 0, c->tmp, nx)) != FW_OK ||
        (st = fw_gemm(FW_NO_TRANS, FW_NO_TRANS, nx, nx, nx, 1, M, nx, c->tmp, nx, 0, c->dM, nx)) != FW_OK ||
        (st = fw_gemm(FW_NO_TRANS, FW_TRANS, nx, nx, nh, 1, c->dM, nx, Pu, nh, 0, c->tmp, nx)) != FW_OK ||
        (st = fw_gemm(FW_NO_TRANS, FW_TRANS, nx, nx, nz, 1, c->dM + nh, nx, Pr, nz, 1, c->tmp, nx)) != FW_OK)
        return st;
    for (i = 0; i < (size_t)nx; ++i)
        for (j = 0; j < (size_t)nx; ++j) c->E[i * nx + j] = c->tmp[i * nx + j] + c->tmp[j * nx + i];
    if (du) {
        if ((st = fw_gemm(FW_NO_TRANS, FW_NO_TRANS, nx, nh, nh, 1, M, nx, c->cu, nh, 0, c->tmp, nh)) != FW_OK ||
            (st = fw_gemm(FW_NO_TRANS, FW_TRANS, nx, nx, nh, 1, c->tmp, nh, M, nx, 1, c->E, nx)) != FW_OK)
            return st;
    }
    if (dr) {
        if ((st = fw_gemm(FW_NO_TRANS, FW_NO_TRANS, nx, nz, nz, 1, M + nh, nx, c->cr, nz, 0, c->tmp, nz)) != FW_OK ||
            (st = fw_gemm(FW_NO_TRANS, FW_TRANS, nx, nx, nz, 1, c->tmp, nz, M + nh, nx, 1, c->E, nx)) != FW_OK)
            return st;
    }
    fw__dlf_outputs(c, l, c->dM, c->E, c->dq2);
    return FW_OK;
}

/* The layers lo..hi (none if hi < lo) whose map reads packed coordinate k, and whether it enters
   as the forward (du) or backward (dr) source covariance: Phi(l) -> layer l+1 (du), G(l) ->
   layer l-1 (dr), A(l) -> layer l+1, B(l) -> layer l, f on training points -> every layer. */
static void fw__dlf_feeds(const fw__dlf *c, int k, int *lo, int *hi, int *du, int *dr)
{
    const size_t o = (size_t)c->p1[k];
    int l;
    *lo = 1; *hi = 0; *du = 0; *dr = 0;
    if (o < c->oG) { l = (int)(o / ((size_t)c->nh * c->nh)) + 1; if (l < c->L) { *lo = *hi = l + 1; *du = 1; } }
    else if (o < c->oA) { l = (int)((o - c->oG) / ((size_t)c->nz * c->nz)) + 1; if (l > 1) { *lo = *hi = l - 1; *dr = 1; } }
    else if (o < c->oB) { l = (int)((o - c->oA) / ((size_t)c->nh * c->nz)) + 1; *lo = *hi = l + 1; }
    else if (o < c->of) { l = (int)((o - c->oB) / ((size_t)c->nz * c->nz)) + 1; *lo = *hi = l; }
    else if ((int)((o - c->of) % (size_t)c->n) < c->P) { *lo = 1; *hi = c->L; }
}

/* D = dF/dq over the packed entries, one column per direction, through the layers it feeds:
   Phi(l) -> layer l+1, G(l) -> layer l-1, A(l) -> layer l+1, B(l) -> layer l, f (training
   points) -> every layer, and nothing for Phi(L), G(1) and f on test points. */
static fw_status fw__dlf_jacobian(fw__dlf *c)
{
    const size_t dp = (size_t)c->dimp;
    int k, l;
    fw_status st;
    memset(c->dq, 0, sizeof(fw_real) * c->dimf);
    for (k = 0; k < c->dimp; ++k) {
        int lo, hi, du, dr;
        size_t i;
        fw__dlf_feeds(c, k, &lo, &hi, &du, &dr);
        c->dq[c->p1[k]] = 1;
        c->dq[c->p2[k]] = 1;
        memset(c->dq2, 0, sizeof(fw_real) * c->dimf);
        for (l = lo; l <= hi; ++l)
            if ((st = fw__dlf_tangent(c, l, du, dr)) != FW_OK) return st;
        c->dq[c->p1[k]] = 0;
        c->dq[c->p2[k]] = 0;
        for (i = 0; i < dp; ++i) c->D[i * dp + k] = c->dq2[c->p1[i]];
    }
    return FW_OK;
}

/* The observables of layer l (packed indices first..first+cnt-1 hold them, see fw__dlf_index)
   and R_o(k, m) = E[d o / d r(k) x_h(m)] (rsrc = 1) or S_o(k, m) = E[d o / d u(m) z(k)] (rsrc =
   0), laid out o x (k, m) with k < nz, m < nh: the pair sums of docs/fluct.md section 11. */
static void fw__dlf_pairs(const fw__dlf *c, int l, const int *idx, int cnt, int rsrc, fw_real *out)
{
    const int nh = c->nh, nz = c->nz, nx = c->nx;
    const fw_real *M = c->M + (size_t)(l - 1) * nx * nx, *C = c->C + (size_t)(l - 1) * nx * nx;
    int e, k, m;
    for (e = 0; e < cnt; ++e) {
        const int p = c->op[idx[e]], qq = c->oq[idx[e]];
        const fw_real cf = c->oc[idx[e]];
        fw_real *o = out + (size_t)e * nz * nh;
        for (k = 0; k < nz; ++k)
            for (m = 0; m < nh; ++m) {
                fw_real v;
                if (rsrc)   /* d x / d r(k) = M[., nh + k]; paired with h(m) */
                    v = M[(size_t)p * nx + nh + k] * C[(size_t)qq * nx + m] + M[(size_t)qq * nx + nh + k] * C[(size_t)p * nx + m];
                else        /* d x / d u(m) = M[., m]; paired with z(k) */
                    v = M[(size_t)p * nx + m] * C[(size_t)qq * nx + nh + k] + M[(size_t)qq * nx + m] * C[(size_t)p * nx + nh + k];
                o[(size_t)k * nh + m] = cf * v;
            }
    }
}

/* Qa[o] = R_o B^T (rsrc) with B(k', m) = the other layer's dz(k')/du(m) (nz x nz), or
   Qa[o] = S_o^T-contracted with A(m', k) = this side's dh(m')/dr(k) (nh x nh); Qb the
   transposes; the same-layer pair term is then Qa Qb^T. */
static fw_status fw__dlf_same(const fw__dlf *c, const fw_real *RS, int cnt, int rsrc, const fw_real *Mo, fw_real *Qa, fw_real *Qb)
{
    const int nh = c->nh, nz = c->nz, nx = c->nx, w = rsrc ? nz : nh;
    int e, i, j;
    fw_status st;
    for (e = 0; e < cnt; ++e) {
        const fw_real *r = RS + (size_t)e * nz * nh;
        fw_real *qa = Qa + (size_t)e * w * w, *qb = Qb + (size_t)e * w * w;
        if (rsrc) st = fw_gemm(FW_NO_TRANS, FW_TRANS, nz, nz, nh, 1, r, nh, Mo + (size_t)nh * nx, nx, 0, qa, nz);
        else      st = fw_gemm(FW_TRANS, FW_TRANS, nh, nh, nz, 1, r, nh, Mo + nh, nx, 0, qa, nh);
        if (st != FW_OK) return st;
        for (i = 0; i < w; ++i)
            for (j = 0; j < w; ++j) qb[(size_t)i * w + j] = qa[(size_t)j * w + i];
    }
    return FW_OK;
}

/* The packed indices of layer l's observables (ol == l), in packed order; returns their count. */
static int fw__dlf_gather(const fw__dlf *c, int l, int *ix)
{
    int i, m = 0;
    for (i = 0; i < c->dimp; ++i)
        if (c->ol[i] == l) ix[m++] = i;
    return m;
}

/* One hop of a chain through layer m, for cnt observables' pair sums (o x (k, m), k < nz,
   m < nh): up (R of a lower layer): R <- dz/dr^T R dh/du^T; down (S of an upper layer):
   S <- dz/dr S dh/du, with the derivatives of layer m's single site. */
static fw_status fw__dlf_hop(fw__dlf *c, int m, int up, int cnt, fw_real *RS)
{
    const size_t km = (size_t)c->nz * c->nh;
    const int nx = c->nx, nh = c->nh, nz = c->nz;
    const fw_real *Mj = c->M + (size_t)(m - 1) * nx * nx;
    int e;
    fw_status st;
    for (e = 0; e < cnt; ++e) {
        fw_real *r = RS + (size_t)e * km;
        if (up) {
            if ((st = fw_gemm(FW_TRANS, FW_NO_TRANS, nz, nh, nz, 1, Mj + (size_t)nh * nx + nh, nx, r, nh, 0, c->Qa, nh)) != FW_OK ||
                (st = fw_gemm(FW_NO_TRANS, FW_TRANS, nz, nh, nh, 1, c->Qa, nh, Mj, nx, 0, r, nh)) != FW_OK)
                return st;
        } else {
            if ((st = fw_gemm(FW_NO_TRANS, FW_NO_TRANS, nz, nh, nz, 1, Mj + (size_t)nh * nx + nh, nx, r, nh, 0, c->Qa, nh)) != FW_OK ||
                (st = fw_gemm(FW_NO_TRANS, FW_NO_TRANS, nz, nh, nh, 1, c->Qa, nh, Mj, nx, 0, r, nh)) != FW_OK)
                return st;
        }
    }
    return FW_OK;
}

/* Ce[ia, ib] += X (na x nb) and, unless the two sets are one, Ce[ib, ia] += X^T. */
static void fw__dlf_addx(fw__dlf *c, const int *ia, int na, const int *ib, int nb, int same)
{
    const size_t dp = (size_t)c->dimp;
    int i, j;
    for (i = 0; i < na; ++i)
        for (j = 0; j < nb; ++j) {
            const fw_real v = c->X[(size_t)i * nb + j];
            c->Ce[(size_t)ia[i] * dp + ib[j]] += v;
            if (!same) c->Ce[(size_t)ib[j] * dp + ia[i]] += v;
        }
}

/* The cross terms of layer l with every layer l' >= l + 2: a chain of neurons j (layer l),
   k (l+1), ..., i (l') joined by one weight per hop, each weight paired with itself. R_o of
   layer l is carried through each layer between, R <- dz/dr^T R dh/du^T (the middle neuron's
   backward response to its own backward source, and forward response to its forward source),
   then contracted with S_o' of layer l' like the adjacent X. */
static fw_status fw__dlf_chains(fw__dlf *c, int l, int *ia, int *ib)
{
    const size_t km = (size_t)c->nz * c->nh;
    const int na = fw__dlf_gather(c, l, ia);
    int lp;
    fw_status st;
    fw__dlf_pairs(c, l, ia, na, 1, c->R);
    for (lp = l + 2; lp <= c->L; ++lp) {
        const int nb = fw__dlf_gather(c, lp, ib);
        if ((st = fw__dlf_hop(c, lp - 1, 1, na, c->R)) != FW_OK) return st;
        fw__dlf_pairs(c, lp, ib, nb, 0, c->S);
        if ((st = fw_gemm(FW_NO_TRANS, FW_TRANS, na, nb, (int)km, 1, c->R, (int)km, c->S, (int)km, 0, c->X, nb)) != FW_OK) return st;
        fw__dlf_addx(c, ia, na, ib, nb, 0);
    }
    return FW_OK;
}

/* Pairs through a common neuron two or more layers away (docs/fluct.md section 11.1). Top: two
   neurons of layers l1 <= l2 below a neuron of layer l3 > l2, each joined to it by a chain; R
   of each carried up to layer l3 - 1, then the exchange contraction of Y with layer l3's dz/du.
   Bottom: the mirror image, S carried down to layer l3 + 1, Z's contraction with layer l3's
   dh/dr. The one-hop cases are Y and Z (fw__dlf_noise). */
static fw_status fw__dlf_loops(fw__dlf *c, int *ia, int *ib)
{
    const int nh = c->nh, nz = c->nz, nx = c->nx;
    int l1, l2, l3, m, top;
    fw_status st;
    for (top = 1; top >= 0; --top)
        for (l3 = 1; l3 <= c->L; ++l3)
            for (l1 = top ? 1 : l3 + 1; l1 <= (top ? l3 - 1 : c->L); ++l1)
                for (l2 = l1; l2 <= (top ? l3 - 1 : c->L); ++l2) {
                    const int na = fw__dlf_gather(c, l1, ia), nb = fw__dlf_gather(c, l2, ib), w = top ? nz : nh;
                    const fw_real *M3 = c->M + (size_t)(l3 - 1) * nx * nx;
                    if (top ? l1 == l3 - 1 : l2 == l3 + 1) continue;   /* Y, Z */
                    fw__dlf_pairs(c, l1, ia, na, top, c->R);
                    for (m = top ? l1 + 1 : l1 - 1; top ? m < l3 : m > l3; m += top ? 1 : -1)
                        if ((st = fw__dlf_hop(c, m, top, na, c->R)) != FW_OK) return st;
                    if (l2 != l1) {
                        fw__dlf_pairs(c, l2, ib, nb, top, c->S);
                        for (m = top ? l2 + 1 : l2 - 1; top ? m < l3 : m > l3; m += top ? 1 : -1)
                            if ((st = fw__dlf_hop(c, m, top, nb, c->S)) != FW_OK) return st;
                    }
                    if ((st = fw__dlf_same(c, c->R, na, top, M3, c->Qc, c->Qb)) != FW_OK ||
                        (st = fw__dlf_same(c, l2 != l1 ? c->S : c->R, nb, top, M3, c->Qa, c->Qb)) != FW_OK ||
                        (st = fw_gemm(FW_NO_TRANS, FW_TRANS, na, nb, w * w, 1, c->Qc, w * w, c->Qb, w * w, 0, c->X, nb)) != FW_OK)
                        return st;
                    fw__dlf_addx(c, ia, na, ib, nb, l1 == l2);
                }
    return FW_OK;
}

/* Ce = kappa + X + Y + Z over the packed entries (times 1/N later). */
static fw_status fw__dlf_noise(fw__dlf *c)
{
    const size_t dp = (size_t)c->dimp;
    const int nx = c->nx, nh = c->nh, nz = c->nz;
    int *ia = c->ix, *ib = c->ix + c->nobs;
    int l, i, j;
    fw_status st;
    memset(c->Ce, 0, sizeof(fw_real) * dp * dp);
    for (l = 1; l <= c->L; ++l) {   /* kappa: Cov(x_p x_q, x_p' x_q') = C_pp' C_qq' + C_pq' C_qp' */
        const fw_real *C = c->C + (size_t)(l - 1) * nx * nx;
        const int na = fw__dlf_gather(c, l, ia);
        for (i = 0; i < na; ++i) {
            const int a = ia[i], p = c->op[a], q = c->oq[a];
            for (j = 0; j < na; ++j) {
                const int b = ia[j], p2 = c->op[b], q2 = c->oq[b];
                c->Ce[(size_t)a * dp + b] = c->oc[a] * c->oc[b] *
                    (C[(size_t)p * nx + p2] * C[(size_t)q * nx + q2] + C[(size_t)p * nx + q2] * C[(size_t)q * nx + p2]);
            }
        }
    }
    for (l = 1; l < c->L; ++l) {    /* the pair terms of the shared matrix W(l) */
        const int na = fw__dlf_gather(c, l, ia), nb = fw__dlf_gather(c, l + 1, ib);
        const size_t km = (size_t)nz * nh;
        fw__dlf_pairs(c, l, ia, na, 1, c->R);
        fw__dlf_pairs(c, l + 1, ib, nb, 0, c->S);
        /* X[o, o'] = sum_{k, m} R_o(k, m) S_o'(k, m) */
        if ((st = fw_gemm(FW_NO_TRANS, FW_TRANS, na, nb, (int)km, 1, c->R, (int)km, c->S, (int)km, 0, c->X, nb)) != FW_OK) return st;
        for (i = 0; i < na; ++i)
            for (j = 0; j < nb; ++j) {
                const fw_real v = c->X[(size_t)i * nb + j];
                c->Ce[(size_t)ia[i] * dp + ib[j]] += v;
                c->Ce[(size_t)ib[j] * dp + ia[i]] += v;
            }
        /* Y (layer l, through layer l+1's dz/du) and Z (layer l+1, through layer l's dh/dr) */
        if ((st = fw__dlf_same(c, c->R, na, 1, c->M + (size_t)l * nx * nx, c->Qa, c->Qb)) != FW_OK ||
            (st = fw_gemm(FW_NO_TRANS, FW_TRANS, na, na, nz * nz, 1, c->Qa, nz * nz, c->Qb, nz * nz, 0, c->X, na)) != FW_OK)
            return st;
        for (i = 0; i < na; ++i)
            for (j = 0; j < na; ++j) c->Ce[(size_t)ia[i] * dp + ia[j]] += c->X[(size_t)i * na + j];
        if ((st = fw__dlf_same(c, c->S, nb, 0, c->M + (size_t)(l - 1) * nx * nx, c->Qa, c->Qb)) != FW_OK ||
            (st = fw_gemm(FW_NO_TRANS, FW_TRANS, nb, nb, nh * nh, 1, c->Qa, nh * nh, c->Qb, nh * nh, 0, c->X, nb)) != FW_OK)
            return st;
        for (i = 0; i < nb; ++i)
            for (j = 0; j < nb; ++j) c->Ce[(size_t)ib[i] * dp + ib[j]] += c->X[(size_t)i * nb + j];
    }
    for (l = 1; l + 2 <= c->L; ++l)  /* chains l -> l' through the layers between */
        if ((st = fw__dlf_chains(c, l, ia, ib)) != FW_OK) return st;
    if (c->L > 2 && (st = fw__dlf_loops(c, ia, ib)) != FW_OK) return st;
    return FW_OK;
}

/* docs/fluct.md section 12. The same order parameters, packing, outputs and final solve as the
   deep linear case, but each layer's averages are over M sampled single sites (common random
   numbers: the same standard normals for every evaluation), the state marched in time:
     h(t, a) = u(t, a) + sum_{s<t, mu} Kh(t a, s mu) g(s, mu),  g = phi'(h) z on training points,
     z(t, mu) = r(t, mu) + sum_{s<=t, nu} Kz(t mu, s nu) phi(h(s, nu)),
   and A(l) = E[d phi(h) / d r], B(l-1) = E[d g / d u] (training columns) are averages too, so
   they carry sampling noise of their own. D = dF/dq: through K by central differences of the
   sampled means (K is linear in each packed coordinate); through the source covariances by
   Price's theorem, dE[o]/dC_ab = E[d^2 o / dS_a dS_b] (halved on the diagonal), by second
   differences of source shifts. The pair terms use per-site responses (central differences of
   one site's observables under a shift of one of its sources) and per-site Jacobians
   J = dx/dS = (I - K psi'(x))^-1, built row by row in causal order. Internals in double. */

static void fw__dnf_act(fw_activation act, double x, double *f, double *d1, double *d2)
{
    if (act == FW_ACT_TANH) {
        const double t = tanh(x);
        *f = t; *d1 = 1 - t * t; *d2 = -2 * t * (1 - t * t);
    } else if (act == FW_ACT_ERF) {
        const double e = 1.1283791670955126 * exp(-x * x);   /* 2 / sqrt(pi) e^-x^2 */
        *f = erf(x); *d1 = e; *d2 = -2 * x * e;
    } else {
        *f = x; *d1 = 1; *d2 = 0;
    }
}

/* Per packed entry its observable (kind 1 Phi: phi(h_a) phi(h_b); 2 G: g_a g_b; 3 A: d phi(h_a)
   / d r_b; 4 B: d g_a / d u_b; 5 f: z_b phi(h_a) / gamma0) and the layer whose sites average it;
   layer l's entries listed in lix[lob[l-1] .. lob[l]). Returns the largest count of one layer. */
static int fw__dnf_index(fw__dlf *c)
{
    const size_t hh = (size_t)c->nh * c->nh, zz = (size_t)c->nz * c->nz, hz = (size_t)c->nh * c->nz;
    int k, l, m = 0, big = 0;
    for (k = 0; k < c->dimp; ++k) {
        const size_t o = (size_t)c->p1[k];
        size_t e;
        if (o < c->oG) { e = o % hh; c->sl[k] = (int)(o / hh) + 1; c->styp[k] = 1; c->sa[k] = (int)(e / c->nh); c->sb[k] = (int)(e % c->nh); }
        else if (o < c->oA) { e = (o - c->oG) % zz; c->sl[k] = (int)((o - c->oG) / zz) + 1; c->styp[k] = 2; c->sa[k] = (int)(e / c->nz); c->sb[k] = (int)(e % c->nz); }
        else if (o < c->oB) { e = (o - c->oA) % hz; c->sl[k] = (int)((o - c->oA) / hz) + 1; c->styp[k] = 3; c->sa[k] = (int)(e / c->nz); c->sb[k] = (int)(e % c->nz); }
        else if (o < c->of) {
            const int j = (int)((o - c->oB) % zz % c->nz);
            e = (o - c->oB) % zz;
            c->sl[k] = (int)((o - c->oB) / zz) + 2; c->styp[k] = 4; c->sa[k] = (int)(e / c->nz);
            c->sb[k] = (j / c->P) * c->n + j % c->P;
        } else {
            const int t = (int)((o - c->of) / (size_t)c->n);
            c->sl[k] = c->L; c->styp[k] = 5; c->sa[k] = (int)(o - c->of); c->sb[k] = t * c->P;
        }
    }
    c->lob[0] = 0;
    for (l = 1; l <= c->L; ++l) {
        for (k = 0; k < c->dimp; ++k)
            if (c->sl[k] == l) c->lix[m++] = k;
        c->lob[l] = m;
        if (m - c->lob[l - 1] > big) big = m - c->lob[l - 1];
    }
    return big;
}

/* One single site: the state x = (h, z) for the sources S (nx) and the layer's K (double), with
   phi, phi', phi'' of h and g = phi'(h) z, a1 = dg/dh, a2 = dg/dz on the training cells; with
   jac also J = dx/dS (nx x nx), from J = I + K psi'(x) J row by row in causal order (h(t)
   reads z(s < t) and h(s < t); z(t) reads h(s <= t)). */
static void fw__dnf_site(fw__dlf *c, const double *K, const double *S, int jac)
{
    const int nh = c->nh, nx = c->nx, n = c->n, P = c->P, T1 = c->T1;
    double *h = c->xh, *z = c->xz, *J = c->J;
    int t, a, k, s, b, col;
    for (t = 0; t < T1; ++t) {
        for (a = 0; a < n; ++a) {
            const int i = t * n + a;
            const double *Kr = K + (size_t)i * nx + nh;
            double v = S[i];
            for (k = 0; k < t * P; ++k) v += Kr[k] * c->xg[k];
            h[i] = v;
            fw__dnf_act(c->d.act, v, c->xp + i, c->xd1 + i, c->xd2 + i);
        }
        for (a = 0; a < P; ++a) {
            const int j = t * P + a;
            const double *Kr = K + (size_t)(nh + j) * nx;
            double v = S[nh + j];
            for (s = 0; s <= t; ++s)
                for (b = 0; b < P; ++b) v += Kr[s * n + b] * c->xp[s * n + b];
            z[j] = v;
            c->xg[j] = c->xd1[t * n + a] * v;
            c->a1[j] = c->xd2[t * n + a] * v;
            c->a2[j] = c->xd1[t * n + a];
        }
    }
    if (!jac) return;
    memset(J, 0, sizeof(double) * (size_t)nx * nx);
    for (t = 0; t < T1; ++t) {
        for (a = 0; a < n; ++a) {
            const int i = t * n + a;
            const double *Kr = K + (size_t)i * nx + nh;
            double *Ji = J + (size_t)i * nx;
            Ji[i] = 1;
            for (k = 0; k < t * P; ++k) {
                const double c1 = Kr[k] * c->a1[k], c2 = Kr[k] * c->a2[k];
                const double *Jh = J + (size_t)((k / P) * n + k % P) * nx, *Jz = J + (size_t)(nh + k) * nx;
                if (c1 == 0 && c2 == 0) continue;
                for (col = 0; col < nx; ++col) Ji[col] += c1 * Jh[col] + c2 * Jz[col];
            }
        }
        for (a = 0; a < P; ++a) {
            const int j = t * P + a;
            const double *Kr = K + (size_t)(nh + j) * nx;
            double *Jj = J + (size_t)(nh + j) * nx;
            Jj[nh + j] = 1;
            for (s = 0; s <= t; ++s)
                for (b = 0; b < P; ++b) {
                    const double c1 = Kr[s * n + b] * c->xd1[s * n + b];
                    const double *Jh = J + (size_t)(s * n + b) * nx;
                    if (c1 == 0) continue;
                    for (col = 0; col < nx; ++col) Jj[col] += c1 * Jh[col];
                }
        }
    }
}

/* d g_i / d x_col for a training cell i (needs J). */
static double fw__dnf_dg(const fw__dlf *c, int i, int col)
{
    const int hi = (i / c->P) * c->n + i % c->P;
    return c->a1[i] * c->J[(size_t)hi * c->nx + col] + c->a2[i] * c->J[(size_t)(c->nh + i) * c->nx + col];
}

/* Layer l's observables of the current site into o (lix order). */
static void fw__dnf_obs(const fw__dlf *c, int l, double *o)
{
    const int nx = c->nx, nh = c->nh, e0 = c->lob[l - 1];
    int e;
    for (e = e0; e < c->lob[l]; ++e) {
        const int k = c->lix[e], i = c->sa[k], j = c->sb[k];
        double v;
        switch (c->styp[k]) {
        case 1: v = c->xp[i] * c->xp[j]; break;
        case 2: v = c->xg[i] * c->xg[j]; break;
        case 3: v = c->xd1[i] * c->J[(size_t)i * nx + nh + j]; break;
        case 4: v = fw__dnf_dg(c, i, j); break;
        default: v = c->xz[j] * c->xp[i] / (double)c->gam; break;
        }
        o[e - e0] = v;
    }
}

/* One site of layer l, sample m, K, its sources shifted by va at ia and vb at ib (< 0: none). */
static void fw__dnf_at(fw__dlf *c, int l, int m, const double *K, int ia, double va, int ib, double vb, int jac)
{
    const int nx = c->nx;
    memcpy(c->sx, c->src + ((size_t)(l - 1) * c->Ms + m) * nx, sizeof(double) * nx);
    if (ia >= 0) c->sx[ia] += va;
    if (ib >= 0) c->sx[ib] += vb;
    fw__dnf_site(c, K, c->sx, jac);
}

/* This worker's share [*lo, *hi) of the sites in use, m0 .. m1 - 1 (desc.reduce; all of them for
   one worker). The averages below sum over the share, add the shares up with reduce.fn, and
   divide by the count of all the sites in use. The sites fall into FW__DNF_CHUNKS fixed chunks
   (chunk j: m0 + span j / C .. m0 + span (j + 1) / C - 1, whatever the worker count) and worker k
   of K holds chunks C k / K .. C (k + 1) / K - 1 (fw__dnf_mean sums chunk by chunk). */
#define FW__DNF_CHUNKS 60
static int fw__dnf_chunk_start(const fw__dlf *c, int j)
{
    return c->m0 + (int)((uint64_t)(c->m1 - c->m0) * (uint64_t)j / FW__DNF_CHUNKS);
}

static void fw__dnf_share(const fw__dlf *c, int *lo, int *hi)
{
    const uint64_t K = c->d.reduce.ranks > 1 ? (uint64_t)c->d.reduce.ranks : 1, k = K > 1 ? (uint64_t)c->d.reduce.rank : 0;
    *lo = fw__dnf_chunk_start(c, (int)(FW__DNF_CHUNKS * k / K));
    *hi = fw__dnf_chunk_start(c, (int)(FW__DNF_CHUNKS * (k + 1) / K));
}

static void fw__dnf_sum(const fw__dlf *c, double *x, size_t n)
{
    if (c->d.reduce.ranks > 1 && n > 0) c->d.reduce.fn(c->d.reduce.user, x, (int)n);
}

/* The mean over the samples in use of layer l's observables, K and shifts as fw__dnf_at.
   The sums are the same numbers for any worker count, not only up to their order: the drift and
   Price columns difference these means at steps of 1e-4 and 1e-3 (central differences), which
   would turn a reordered sum's rounding into 1e-8 of the outputs. Each chunk is summed in site
   order by its one worker, the chunk sums travel in slots of which every worker fills its own (a
   sum with one nonzero term is exact), and every worker adds them up in chunk order. */
static void fw__dnf_mean(fw__dlf *c, int l, const double *K, int ia, double va, int ib, double vb, double *mean)
{
    const int no = c->lob[l] - c->lob[l - 1], split = c->d.reduce.ranks > 1;
    int m, e, j, lo, hi;
    fw__dnf_share(c, &lo, &hi);
    if (split) memset(c->chk, 0, sizeof(double) * (size_t)FW__DNF_CHUNKS * no);
    for (e = 0; e < no; ++e) mean[e] = 0;
    for (j = 0; j < FW__DNF_CHUNKS; ++j) {
        const int b = fw__dnf_chunk_start(c, j), end = fw__dnf_chunk_start(c, j + 1);
        double *sum = c->chk + (split ? (size_t)j * no : 0);
        if (b < lo || b >= hi || b == end) continue;   /* another worker's chunk, or empty */
        for (e = 0; e < no; ++e) sum[e] = 0;
        for (m = b; m < end; ++m) {
            fw__dnf_at(c, l, m, K, ia, va, ib, vb, c->L > 1);
            fw__dnf_obs(c, l, c->ov);
            for (e = 0; e < no; ++e) sum[e] += c->ov[e];
        }
        if (!split) for (e = 0; e < no; ++e) mean[e] += sum[e];
    }
    if (split) {
        fw__dnf_sum(c, c->chk, (size_t)FW__DNF_CHUNKS * no);
        for (j = 0; j < FW__DNF_CHUNKS; ++j)
            if (fw__dnf_chunk_start(c, j) < fw__dnf_chunk_start(c, j + 1))
                for (e = 0; e < no; ++e) mean[e] += c->chk[(size_t)j * no + e];
    }
    for (e = 0; e < no; ++e) mean[e] /= (c->m1 - c->m0);
}

/* B = the lower Cholesky factor of the PSD matrix C (n x n, fw_real), B B^T = C, with a pivot
   below 1e-11 (float: 1e-4) of the largest diagonal entry taken as 0 (C is often singular: the first layer's
   inputs repeat over time, the readout is one number; rounding leaves such pivots slightly
   negative). Lower triangular in the time order, so the sources of step t read C only up to t:
   the sampled map stays causal and its sweeps settle exactly. FW_ERR_NOT_PD below -1e-6 (-1e-2). */
static fw_status fw__dnf_sqrt(int n, const fw_real *C, double *B)
{
    double top = 0;
    int i, j, k;
    for (j = 0; j < n; ++j) top = fw__abs(C[(size_t)j * n + j]) > top ? fw__abs(C[(size_t)j * n + j]) : top;
    for (j = 0; j < n; ++j) {
        double d = C[(size_t)j * n + j];
        for (k = 0; k < j; ++k) d -= B[(size_t)j * n + k] * B[(size_t)j * n + k];
        for (i = 0; i < j; ++i) B[(size_t)i * n + j] = 0;
        if (!fw__finite((fw_real)d) || d < -(FW__IS_FLOAT ? 1e-2 : 1e-6) * top) return FW_ERR_NOT_PD;
        if (d <= (FW__IS_FLOAT ? 1e-4 : 1e-11) * top) {
            for (i = j; i < n; ++i) B[(size_t)i * n + j] = 0;
            continue;
        }
        d = sqrt(d);
        B[(size_t)j * n + j] = d;
        for (i = j + 1; i < n; ++i) {
            double v = C[(size_t)i * n + j];
            for (k = 0; k < j; ++k) v -= B[(size_t)i * n + k] * B[(size_t)j * n + k];
            B[(size_t)i * n + j] = v / d;
        }
    }
    return FW_OK;
}

/* Layer l at c->q: its K (double, kept per layer) and its sources S = (Lu xi_u, Lr xi_r). */
static fw_status fw__dnf_prepare(fw__dlf *c, int l)
{
    const int nh = c->nh, nz = c->nz, nx = c->nx;
    double *Kd = c->Kd + (size_t)(l - 1) * nx * nx;
    size_t i;
    int m, a, b, lo, hi;
    fw_status st;
    fw__dlf_build(c, l, c->q, NULL, c->K, c->cu, c->cr);
    for (i = 0; i < (size_t)nx * nx; ++i) Kd[i] = c->K[i];
    if ((st = fw__dnf_sqrt(nh, c->cu, c->Lu)) != FW_OK || (st = fw__dnf_sqrt(nz, c->cr, c->Lr)) != FW_OK) return st;
    fw__dnf_share(c, &lo, &hi);
    for (m = lo; m < hi; ++m) {   /* this worker's sites' sources */
        const size_t o = ((size_t)(l - 1) * c->Ms + m) * nx;
        const double *xi = c->xi + o;
        double *S = c->src + o;
        for (a = 0; a < nh; ++a) {
            double v = 0;
            for (b = 0; b < nh; ++b) v += c->Lu[(size_t)a * nh + b] * xi[b];
            S[a] = v;
        }
        for (a = 0; a < nz; ++a) {
            double v = 0;
            for (b = 0; b < nz; ++b) v += c->Lr[(size_t)a * nz + b] * xi[nh + b];
            S[nh + a] = v;
        }
    }
    return FW_OK;
}

/* D[rows of layer l, col] += s (mp - mm) (the layer's observables in lix order). */
static void fw__dnf_dcol(fw__dlf *c, int l, int col, double s, const double *mp, const double *mm)
{
    const size_t dp = (size_t)c->dimp;
    int e;
    for (e = c->lob[l - 1]; e < c->lob[l]; ++e) {
        const int k = e - c->lob[l - 1];
        c->D[(size_t)c->lix[e] * dp + col] += (fw_real)(s * (mp[k] - (mm != NULL ? mm[k] : 0)));
    }
}

/* D = dF/dq (packed): drift columns through K, Price columns through the source covariances. */
static fw_status fw__dnf_jacobian(fw__dlf *c)
{
    const double hk = 1e-4, hs = 1e-3;
    const size_t dp = (size_t)c->dimp, nx2 = (size_t)c->nx * c->nx;
    const int nh = c->nh, nz = c->nz, nol = c->nol;
    int k, l, a, b, e;
    size_t i;
    memset(c->D, 0, sizeof(fw_real) * dp * dp);
    memset(c->dq, 0, sizeof(fw_real) * c->dimf);
    for (k = 0; k < c->dimp; ++k) {
        int lo, hi, du, dr;
        fw__dlf_feeds(c, k, &lo, &hi, &du, &dr);
        c->dq[c->p1[k]] = 1;
        c->dq[c->p2[k]] = 1;
        for (l = lo; l <= hi; ++l) {
            const double *Kd = c->Kd + (size_t)(l - 1) * nx2;
            int any = 0;
            fw__dlf_build(c, l, c->q, c->dq, c->dK, NULL, NULL);
            for (i = 0; i < nx2; ++i) any |= c->dK[i] != 0;
            if (!any) continue;
            for (i = 0; i < nx2; ++i) c->Ke[i] = Kd[i] + hk * c->dK[i];
            fw__dnf_mean(c, l, c->Ke, -1, 0, -1, 0, c->mp);
            for (i = 0; i < nx2; ++i) c->Ke[i] = Kd[i] - hk * c->dK[i];
            fw__dnf_mean(c, l, c->Ke, -1, 0, -1, 0, c->mm);
            fw__dnf_dcol(c, l, k, 1 / (2 * hk), c->mp, c->mm);
        }
        c->dq[c->p1[k]] = 0;
        c->dq[c->p2[k]] = 0;
    }
    /* Price: with the single shifts m(+-a), the cross second difference from m(a+b), m(-a-b) */
    for (l = 1; l <= c->L; ++l) {
        const double *Kd = c->Kd + (size_t)(l - 1) * nx2;
        const int no = c->lob[l] - c->lob[l - 1];
        int side;
        fw__dnf_mean(c, l, Kd, -1, 0, -1, 0, c->mn);
        for (side = 0; side < 2; ++side) {   /* u (covariance Phi(l-1)) and r (G(l+1)) */
            const int ns = side == 0 ? nh : nz, x0 = side == 0 ? 0 : nh;
            if ((side == 0 && l == 1) || (side == 1 && l == c->L)) continue;
            for (a = 0; a < ns; ++a) {
                fw__dnf_mean(c, l, Kd, x0 + a, hs, -1, 0, c->spl + (size_t)a * nol);
                fw__dnf_mean(c, l, Kd, x0 + a, -hs, -1, 0, c->smi + (size_t)a * nol);
            }
            for (a = 0; a < ns; ++a)
                for (b = a; b < ns; ++b) {
                    const size_t off = side == 0 ? c->oPhi + (size_t)(l - 2) * nh * nh + (size_t)a * nh + b
                                                 : c->oG + (size_t)l * nz * nz + (size_t)a * nz + b;
                    const int col = c->fpk[off];
                    const double *pa = c->spl + (size_t)a * nol, *pb = c->spl + (size_t)b * nol;
                    const double *ma = c->smi + (size_t)a * nol, *mb = c->smi + (size_t)b * nol;
                    if (a == b) {
                        for (e = 0; e < no; ++e) c->mp[e] = 0.5 * (pa[e] - 2 * c->mn[e] + ma[e]) / (hs * hs);
                    } else {
                        fw__dnf_mean(c, l, Kd, x0 + a, hs, x0 + b, hs, c->mp);
                        fw__dnf_mean(c, l, Kd, x0 + a, -hs, x0 + b, -hs, c->mm);
                        for (e = 0; e < no; ++e)
                            c->mp[e] = (c->mp[e] + c->mm[e] - pa[e] - pb[e] - ma[e] - mb[e] + 2 * c->mn[e]) / (2 * hs * hs);
                    }
                    fw__dnf_dcol(c, l, col, 1, c->mp, NULL);
                }
        }
    }
    for (i = 0; i < dp * dp; ++i)
        if (!fw__finite(c->D[i])) return FW_ERR_NONFINITE;
    return FW_OK;
}

/* C (m x n) = A (m x k) B^T (n x k) + beta C, doubles, row-major. */
static void fw__dnf_abt(int m, int n, int k, const double *A, const double *B, double beta, double *C)
{
    int i, j, p;
    for (i = 0; i < m; ++i)
        for (j = 0; j < n; ++j) {
            double v = 0;
            const double *a = A + (size_t)i * k, *b = B + (size_t)j * k;
            for (p = 0; p < k; ++p) v += a[p] * b[p];
            C[(size_t)i * n + j] = beta * C[(size_t)i * n + j] + v;
        }
}

/* C (m x n) = A (m x k) B (k x n), doubles, row-major. */
static void fw__dnf_ab(int m, int n, int k, const double *A, const double *B, double *C)
{
    int i, j, p;
    for (i = 0; i < m; ++i) {
        double *cr = C + (size_t)i * n;
        for (j = 0; j < n; ++j) cr[j] = 0;
        for (p = 0; p < k; ++p) {
            const double a = A[(size_t)i * k + p];
            const double *br = B + (size_t)p * n;
            if (a == 0) continue;
            for (j = 0; j < n; ++j) cr[j] += a * br[j];
        }
    }
}

/* Ce[rows of layer la, cols of layer lb] += X (na x nb), and the mirror if sym. */
static void fw__dnf_add(fw__dlf *c, int la, int lb, const double *X, int sym)
{
    const size_t dp = (size_t)c->dimp;
    const int na = c->lob[la] - c->lob[la - 1], nb = c->lob[lb] - c->lob[lb - 1];
    int i, j;
    for (i = 0; i < na; ++i)
        for (j = 0; j < nb; ++j) {
            const size_t r = (size_t)c->lix[c->lob[la - 1] + i], s = (size_t)c->lix[c->lob[lb - 1] + j];
            const fw_real v = (fw_real)X[(size_t)i * nb + j];
            c->Ce[r * dp + s] += v;
            if (sym) c->Ce[s * dp + r] += v;
        }
}

/* R (layer l, rsrc) or S (layer l, !rsrc): o x (k, m), k < nz, m < nh:
   R_o(k, m) = E[d o / d r_k phi(h_m)], S_o(k, m) = E[d o / d u_m g_k], per-site central
   differences of the layer's observables. */
static void fw__dnf_resp(fw__dlf *c, int l, int rsrc, double *out)
{
    const double hs = 1e-4;
    const int nh = c->nh, nz = c->nz, nx = c->nx, no = c->lob[l] - c->lob[l - 1], ns = rsrc ? nz : nh;
    const double *K = c->Kd + (size_t)(l - 1) * nx * nx;
    const size_t km = (size_t)nz * nh;
    int m, s, e, k, j, lo, hi;
    fw__dnf_share(c, &lo, &hi);
    memset(out, 0, sizeof(double) * no * km);
    for (m = lo; m < hi; ++m) {
        fw__dnf_at(c, l, m, K, -1, 0, -1, 0, 0);
        for (j = 0; j < nh; ++j) c->bp[j] = c->xp[j];
        for (k = 0; k < nz; ++k) c->bg[k] = c->xg[k];
        for (s = 0; s < ns; ++s) {
            const int src = rsrc ? nh + s : s;
            fw__dnf_at(c, l, m, K, src, hs, -1, 0, c->L > 1);
            fw__dnf_obs(c, l, c->ov);
            fw__dnf_at(c, l, m, K, src, -hs, -1, 0, c->L > 1);
            fw__dnf_obs(c, l, c->ob);
            for (e = 0; e < no; ++e) {
                const double d = (c->ov[e] - c->ob[e]) / (2 * hs);
                double *o = out + (size_t)e * km;
                if (d == 0) continue;
                if (rsrc) for (j = 0; j < nh; ++j) o[(size_t)s * nh + j] += d * c->bp[j];
                else      for (k = 0; k < nz; ++k) o[(size_t)k * nh + s] += d * c->bg[k];
            }
        }
    }
    fw__dnf_sum(c, out, (size_t)no * km);
    for (e = 0; e < (int)(no * km); ++e) out[e] /= (c->m1 - c->m0);
}

/* The fourth-moment matrices of one layer's per-site responses, (k, m) x (j, n), k, j < nz,
   m, n < nh: kind 0: E[dg_k/du_n dg_j/du_m] (pairs two neurons of the layer below), kind 1:
   E[dphi_m/dr_j dphi_n/dr_k] (two of the layer above), kind 2: E[dg_k/dr_j dphi_n/du_m] (the
   middle of a chain). */
static void fw__dnf_moment(fw__dlf *c, int l, int kind, double *T)
{
    const int nh = c->nh, nz = c->nz, nx = c->nx, km = nz * nh;
    const double *K = c->Kd + (size_t)(l - 1) * nx * nx;
    int m, k, mm, j, n, lo, hi;
    fw__dnf_share(c, &lo, &hi);
    memset(T, 0, sizeof(double) * (size_t)km * km);
    for (m = lo; m < hi; ++m) {
        fw__dnf_at(c, l, m, K, -1, 0, -1, 0, 1);
        for (k = 0; k < nz; ++k)   /* X1 (k, x) = dg_k / dx, X2 (m, x) = dphi_m / dx */
            for (j = 0; j < nx; ++j) c->X1[(size_t)k * nx + j] = fw__dnf_dg(c, k, j);
        for (mm = 0; mm < nh; ++mm)
            for (j = 0; j < nx; ++j) c->X2[(size_t)mm * nx + j] = c->xd1[mm] * c->J[(size_t)mm * nx + j];
        for (k = 0; k < nz; ++k)
            for (mm = 0; mm < nh; ++mm) {
                double *row = T + (size_t)(k * nh + mm) * km;
                for (j = 0; j < nz; ++j)
                    for (n = 0; n < nh; ++n) {
                        double v;
                        if (kind == 0) v = c->X1[(size_t)k * nx + n] * c->X1[(size_t)j * nx + mm];
                        else if (kind == 1) v = c->X2[(size_t)mm * nx + nh + j] * c->X2[(size_t)n * nx + nh + k];
                        else v = c->X1[(size_t)k * nx + nh + j] * c->X2[(size_t)n * nx + mm];
                        row[j * nh + n] += v;
                    }
            }
    }
    fw__dnf_sum(c, T, (size_t)km * km);
    for (k = 0; k < km * km; ++k) T[k] /= (c->m1 - c->m0);
}

/* One hop through layer m of cnt observables' pair sums (o x (k, m)): up, R <- R C; down,
   S <- S C^T, with C[(a, b), (c, d)] = E[dg_a/dr_c dphi_d/du_b] over layer m's sites. */
static void fw__dnf_hop(fw__dlf *c, int m, int up, int cnt, double *RS)
{
    const int km = c->nz * c->nh;
    fw__dnf_moment(c, m, 2, c->Tm);
    if (up) fw__dnf_ab(cnt, km, km, RS, c->Tm, c->Qd);
    else    fw__dnf_abt(cnt, km, km, RS, c->Tm, 0, c->Qd);
    memcpy(RS, c->Qd, sizeof(double) * (size_t)cnt * km);
}

/* The pairs through a common neuron two or more layers away (fw__dlf_loops, sampled): R of
   layers l1 <= l2 carried up to below a top layer l3 and contracted with its E[dg/du dg/du]
   moment, or S carried down to above a bottom layer and contracted with E[dphi/dr dphi/dr]. */
static void fw__dnf_loops(fw__dlf *c)
{
    const size_t km = (size_t)c->nz * c->nh;
    int top, l1, l2, l3, m;
    for (top = 1; top >= 0; --top)
        for (l3 = 1; l3 <= c->L; ++l3)
            for (l1 = top ? 1 : l3 + 1; l1 <= (top ? l3 - 1 : c->L); ++l1)
                for (l2 = l1; l2 <= (top ? l3 - 1 : c->L); ++l2) {
                    const int na = c->lob[l1] - c->lob[l1 - 1], nb = c->lob[l2] - c->lob[l2 - 1];
                    const double *src = top ? c->Rd : c->Sd;
                    if (top ? l1 == l3 - 1 : l2 == l3 + 1) continue;   /* Y, Z */
                    memcpy(c->Rc, src + (size_t)(l1 - 1) * c->nol * km, sizeof(double) * na * km);
                    for (m = top ? l1 + 1 : l1 - 1; top ? m < l3 : m > l3; m += top ? 1 : -1) fw__dnf_hop(c, m, top, na, c->Rc);
                    if (l2 != l1) {
                        memcpy(c->Rc2, src + (size_t)(l2 - 1) * c->nol * km, sizeof(double) * nb * km);
                        for (m = top ? l2 + 1 : l2 - 1; top ? m < l3 : m > l3; m += top ? 1 : -1) fw__dnf_hop(c, m, top, nb, c->Rc2);
                    }
                    fw__dnf_moment(c, l3, top ? 0 : 1, c->Tm);
                    fw__dnf_ab(na, (int)km, (int)km, c->Rc, c->Tm, c->Qd);
                    fw__dnf_abt(na, nb, (int)km, c->Qd, l2 != l1 ? c->Rc2 : c->Rc, 0, c->acc);
                    fw__dnf_add(c, l1, l2, c->acc, l1 != l2);
                }
}

/* Ce = kappa + X + Y + Z + chains (times 1/N later), all from the sampled sites. */
static fw_status fw__dnf_noise(fw__dlf *c)
{
    const size_t dp = (size_t)c->dimp, km = (size_t)c->nz * c->nh;
    const int nx = c->nx;
    int l, lp, m, i, j, lo, hi;
    size_t e;
    fw__dnf_share(c, &lo, &hi);
    memset(c->Ce, 0, sizeof(fw_real) * dp * dp);
    for (l = 1; l <= c->L; ++l) {   /* kappa: the sites' covariance, centred at the sample mean */
        const int no = c->lob[l] - c->lob[l - 1];
        const double *K = c->Kd + (size_t)(l - 1) * nx * nx;
        const double w = 1.0 / (c->m1 - c->m0);
        for (i = 0; i < no; ++i) c->mn[i] = 0;
        memset(c->acc, 0, sizeof(double) * (size_t)no * no);
        for (m = lo; m < hi; ++m) {
            fw__dnf_at(c, l, m, K, -1, 0, -1, 0, c->L > 1);
            fw__dnf_obs(c, l, c->ov);
            for (i = 0; i < no; ++i) {
                const double oi = c->ov[i] - c->q[c->p1[c->lix[c->lob[l - 1] + i]]];
                double *row = c->acc + (size_t)i * no;
                c->mn[i] += oi;
                for (j = 0; j < no; ++j) row[j] += oi * (c->ov[j] - c->q[c->p1[c->lix[c->lob[l - 1] + j]]]);
            }
        }
        fw__dnf_sum(c, c->mn, (size_t)no);
        fw__dnf_sum(c, c->acc, (size_t)no * no);
        for (i = 0; i < no; ++i)
            for (j = 0; j < no; ++j) c->acc[(size_t)i * no + j] = c->acc[(size_t)i * no + j] * w - c->mn[i] * w * c->mn[j] * w;
        fw__dnf_add(c, l, l, c->acc, 0);
    }
    if (c->L == 1) return FW_OK;
    for (l = 1; l < c->L; ++l) fw__dnf_resp(c, l, 1, c->Rd + (size_t)(l - 1) * c->nol * km);
    for (l = 2; l <= c->L; ++l) fw__dnf_resp(c, l, 0, c->Sd + (size_t)(l - 1) * c->nol * km);
    for (l = 1; l < c->L; ++l) {
        const int na = c->lob[l] - c->lob[l - 1], nb = c->lob[l + 1] - c->lob[l];
        const double *R = c->Rd + (size_t)(l - 1) * c->nol * km, *S = c->Sd + (size_t)l * c->nol * km;
        fw__dnf_abt(na, nb, (int)km, R, S, 0, c->acc);            /* X: adjacent layers through W(l) */
        fw__dnf_add(c, l, l + 1, c->acc, 1);
        fw__dnf_moment(c, l + 1, 0, c->Tm);                        /* Y: two layer-l neurons, one above */
        fw__dnf_ab(na, (int)km, (int)km, R, c->Tm, c->Qd);
        fw__dnf_abt(na, na, (int)km, c->Qd, R, 0, c->acc);
        fw__dnf_add(c, l, l, c->acc, 0);
        fw__dnf_moment(c, l, 1, c->Tm);                            /* Z: two layer-(l+1) neurons, one below */
        fw__dnf_ab(nb, (int)km, (int)km, S, c->Tm, c->Qd);
        fw__dnf_abt(nb, nb, (int)km, c->Qd, S, 0, c->acc);
        fw__dnf_add(c, l + 1, l + 1, c->acc, 0);
    }
    for (l = 1; l + 2 <= c->L; ++l) {   /* chains l -> l' through the layers between */
        const int na = c->lob[l] - c->lob[l - 1];
        memcpy(c->Rc, c->Rd + (size_t)(l - 1) * c->nol * km, sizeof(double) * na * km);
        for (lp = l + 2; lp <= c->L; ++lp) {
            const int nb = c->lob[lp] - c->lob[lp - 1];
            fw__dnf_hop(c, lp - 1, 1, na, c->Rc);
            fw__dnf_abt(na, nb, (int)km, c->Rc, c->Sd + (size_t)(lp - 1) * c->nol * km, 0, c->acc);
            fw__dnf_add(c, l, lp, c->acc, 1);
        }
    }
    if (c->L > 2) fw__dnf_loops(c);
    for (e = 0; e < dp * dp; ++e)
        if (!fw__finite(c->Ce[e])) return FW_ERR_NONFINITE;
    return FW_OK;
}

/* The sampled propagator's arrays (after fw__dlf_setup's own). */
static fw_status fw__dnf_setup(fw__dlf *c, fw_arena *ar)
{
    const int nh = c->nh, nz = c->nz, nx = c->nx, L = c->L, T1 = c->T1, n = c->n, P = c->P;
    const int km = nz * nh, ns = nh > nz ? nh : nz;
    const size_t dp = (size_t)c->dimp;
    if ((double)nz * nh > 1024)
        { fw__report(&c->d.log, FW_ERR_SIZE, "fw_dlfluct_desc", "the sampled propagator needs (steps + 1)^2 (P + Q) P <= 1024"); return FW_ERR_SIZE; }
    c->Ms = c->d.samples; c->Rr = c->d.replicates;
    /* the largest layer: Phi, G, causal A and B, f */
    c->nol = nh * (nh + 1) / 2 + nz * (nz + 1) / 2 + (T1 * (T1 - 1) / 2) * n * P + (T1 * (T1 + 1) / 2) * P * P + T1 * n;
    c->styp = (int *)fw_arena_push(ar, sizeof(int) * dp);
    c->sa = (int *)fw_arena_push(ar, sizeof(int) * dp);
    c->sb = (int *)fw_arena_push(ar, sizeof(int) * dp);
    c->sl = (int *)fw_arena_push(ar, sizeof(int) * dp);
    c->lix = (int *)fw_arena_push(ar, sizeof(int) * dp);
    c->lob = (int *)fw_arena_push(ar, sizeof(int) * (size_t)(L + 1));
    c->xi = FW__DPUSH(ar, (size_t)L * c->Ms * nx);
    c->src = FW__DPUSH(ar, (size_t)L * c->Ms * nx);
    c->Kd = FW__DPUSH(ar, (size_t)L * nx * nx);
    c->Ke = FW__DPUSH(ar, (size_t)nx * nx);
    c->Lu = FW__DPUSH(ar, (size_t)nh * nh);
    c->Lr = FW__DPUSH(ar, (size_t)nz * nz);
    c->rv = FW__DPUSH(ar, (size_t)c->Rr * c->nout);
    c->vse = FW__DPUSH(ar, (size_t)c->nout);
    c->xh = FW__DPUSH(ar, nh); c->xp = FW__DPUSH(ar, nh); c->xd1 = FW__DPUSH(ar, nh); c->xd2 = FW__DPUSH(ar, nh);
    c->xz = FW__DPUSH(ar, nz); c->xg = FW__DPUSH(ar, nz); c->a1 = FW__DPUSH(ar, nz); c->a2 = FW__DPUSH(ar, nz);
    c->sx = FW__DPUSH(ar, nx); c->bp = FW__DPUSH(ar, nh); c->bg = FW__DPUSH(ar, nz);
    c->J = FW__DPUSH(ar, (size_t)nx * nx);
    c->X1 = FW__DPUSH(ar, (size_t)nz * nx);
    c->X2 = FW__DPUSH(ar, (size_t)nh * nx);
    c->ov = FW__DPUSH(ar, c->nol); c->ob = FW__DPUSH(ar, c->nol); c->mn = FW__DPUSH(ar, c->nol);
    c->mp = FW__DPUSH(ar, c->nol); c->mm = FW__DPUSH(ar, c->nol);
    c->chk = FW__DPUSH(ar, (size_t)(c->d.reduce.ranks > 1 ? FW__DNF_CHUNKS : 1) * c->nol);   /* chunk sums (fw__dnf_mean) */
    c->spl = FW__DPUSH(ar, (size_t)ns * c->nol);
    c->smi = FW__DPUSH(ar, (size_t)ns * c->nol);
    c->acc = FW__DPUSH(ar, (size_t)c->nol * c->nol);
    if (L > 1) {
        c->Rd = FW__DPUSH(ar, (size_t)L * c->nol * km);
        c->Sd = FW__DPUSH(ar, (size_t)L * c->nol * km);
        c->Tm = FW__DPUSH(ar, (size_t)km * km);
        c->Qd = FW__DPUSH(ar, (size_t)c->nol * km);
        c->Rc = FW__DPUSH(ar, (size_t)c->nol * km);
        c->Rc2 = FW__DPUSH(ar, (size_t)c->nol * km);
    }
    return FW_OK;
}

/* The outputs as linear functionals of the packed q, one column of W each (in the order f,
   Phi(l)(t, t) for a <= b, G(l)(t, t) for mu <= nu, NTK(t) for mu <= nu). */
static void fw__dlf_functionals(fw__dlf *c)
{
    const int nh = c->nh, nz = c->nz, n = c->n, P = c->P, T1 = c->T1, no = c->nout;
    int t, a, b, l, o = 0;
    memset(c->W, 0, sizeof(fw_real) * (size_t)c->dimp * no);
#define FW__DLF_W(off, v) (c->W[(size_t)c->fpk[off] * no + o] += (v))
    for (t = 0; t < T1; ++t)
        for (a = 0; a < n; ++a, ++o) FW__DLF_W(c->of + (size_t)t * n + a, 1);
    for (l = 1; l <= c->L; ++l)
        for (t = 0; t < T1; ++t)
            for (a = 0; a < n; ++a)
                for (b = a; b < n; ++b, ++o) FW__DLF_W(c->oPhi + (size_t)(l - 1) * nh * nh + (size_t)(t * n + a) * nh + t * n + b, 1);
    for (l = 1; l <= c->L; ++l)
        for (t = 0; t < T1; ++t)
            for (a = 0; a < P; ++a)
                for (b = a; b < P; ++b, ++o) FW__DLF_W(c->oG + (size_t)(l - 1) * nz * nz + (size_t)(t * P + a) * nz + t * P + b, 1);
    for (t = 0; t < T1; ++t)   /* dK = sum_l Phi(l) dG(l+1) + G(l+1) dPhi(l), Phi(0) = Kx, G(L+1) = 1 */
        for (a = 0; a < P; ++a)
            for (b = a; b < P; ++b, ++o)
                for (l = 0; l <= c->L; ++l) {
                    const size_t ip = c->oPhi + (size_t)(l - 1) * nh * nh + (size_t)(t * n + a) * nh + t * n + b;
                    const size_t ig = c->oG + (size_t)l * nz * nz + (size_t)(t * P + a) * nz + t * P + b;
                    if (l >= 1) FW__DLF_W(ip, l < c->L ? c->q[ig] : 1);
                    if (l < c->L) FW__DLF_W(ig, l >= 1 ? c->q[ip] : c->kx[a * n + b]);
                }
#undef FW__DLF_W
}

/* Var of output o: w^T Ce w / N with w = column o of W and U = Ce W. */
static double fw__dlf_colvar(const fw__dlf *c, int o)
{
    double v = 0;
    int i;
    for (i = 0; i < c->dimp; ++i) v += (double)c->W[(size_t)i * c->nout + o] * c->U[(size_t)i * c->nout + o];
    return v / c->d.width;
}

/* From D and Ce: the output variances c->vv = w^T (I - D)^-1 Ce (I - D)^-T w / N (D is consumed). */
static fw_status fw__dlf_finish(fw__dlf *c)
{
    const size_t dp = (size_t)c->dimp;
    size_t i, k;
    fw_status st;
    for (i = 0; i < dp; ++i)   /* rows of (I - D)^-1 for the outputs: (I - D)^T W = E */
        for (k = i + 1; k < dp; ++k) { const fw_real t = c->D[i * dp + k]; c->D[i * dp + k] = c->D[k * dp + i]; c->D[k * dp + i] = t; }
    for (i = 0; i < dp * dp; ++i) c->D[i] = -c->D[i];
    for (i = 0; i < dp; ++i) c->D[i * dp + i] += 1;
    fw__dlf_functionals(c);
    if (fw_lu(c->dimp, c->D, c->dimp, c->piv) != FW_OK || fw_lu_solve(c->dimp, c->nout, c->D, c->dimp, c->piv, c->W, c->nout) != FW_OK)
        return FW_ERR_SINGULAR;
    if ((st = fw_gemm(FW_NO_TRANS, FW_NO_TRANS, c->dimp, c->nout, c->dimp, 1, c->Ce, c->dimp, c->W, c->nout, 0, c->U, c->nout)) != FW_OK)
        return st;
    for (k = 0; k < (size_t)c->nout; ++k) {
        c->vv[k] = fw__dlf_colvar(c, (int)k);
        if (!fw__finite((fw_real)c->vv[k])) return FW_ERR_NONFINITE;
    }
    return FW_OK;
}

/* The means (from q) and variances (w^T Ce w / N per column w of W) into the caller's arrays. */
static void fw__dlf_write(const fw__dlf *c, const fw_dlfluct_out *out)
{
    const int nh = c->nh, nz = c->nz, n = c->n, P = c->P, T1 = c->T1;
    const size_t nn = (size_t)n * n, pp = (size_t)P * P;
    int t, a, b, l, o = 0;
#define FW__DLF_SE(arr, i1, i2) do { if ((arr) != NULL) (arr)[i1] = (arr)[i2] = (fw_real)(c->smp ? c->vse[o] : 0); } while (0)
    for (t = 0; t < T1; ++t)
        for (a = 0; a < n; ++a, ++o) {
            if (out->f != NULL) out->f[t * n + a] = c->q[c->of + (size_t)t * n + a];
            if (out->f_var != NULL) out->f_var[t * n + a] = (fw_real)c->vv[o];
            if (out->f_var_se != NULL) out->f_var_se[t * n + a] = (fw_real)(c->smp ? c->vse[o] : 0);
        }
    for (l = 1; l <= c->L; ++l)
        for (t = 0; t < T1; ++t)
            for (a = 0; a < n; ++a)
                for (b = a; b < n; ++b, ++o) {
                    const size_t e = ((size_t)(l - 1) * T1 + t) * nn, i1 = e + (size_t)a * n + b, i2 = e + (size_t)b * n + a;
                    if (out->phi != NULL) out->phi[i1] = out->phi[i2] = c->q[c->oPhi + (size_t)(l - 1) * nh * nh + (size_t)(t * n + a) * nh + t * n + b];
                    if (out->phi_var != NULL) out->phi_var[i1] = out->phi_var[i2] = (fw_real)c->vv[o];
                    FW__DLF_SE(out->phi_var_se, i1, i2);
                }
    for (l = 1; l <= c->L; ++l)
        for (t = 0; t < T1; ++t)
            for (a = 0; a < P; ++a)
                for (b = a; b < P; ++b, ++o) {
                    const size_t e = ((size_t)(l - 1) * T1 + t) * pp, i1 = e + (size_t)a * P + b, i2 = e + (size_t)b * P + a;
                    if (out->g != NULL) out->g[i1] = out->g[i2] = c->q[c->oG + (size_t)(l - 1) * nz * nz + (size_t)(t * P + a) * nz + t * P + b];
                    if (out->g_var != NULL) out->g_var[i1] = out->g_var[i2] = (fw_real)c->vv[o];
                    FW__DLF_SE(out->g_var_se, i1, i2);
                }
    for (t = 0; t < T1; ++t)
        for (a = 0; a < P; ++a)
            for (b = a; b < P; ++b, ++o) {
                const size_t i1 = (size_t)t * pp + (size_t)a * P + b, i2 = (size_t)t * pp + (size_t)b * P + a;
                if (out->ntk != NULL) {
                    double k = 0;
                    for (l = 0; l <= c->L; ++l) {
                        const double ph = l >= 1 ? (double)c->q[c->oPhi + (size_t)(l - 1) * nh * nh + (size_t)(t * n + a) * nh + t * n + b] : (double)c->kx[a * n + b];
                        const double g = l < c->L ? (double)c->q[c->oG + (size_t)l * nz * nz + (size_t)(t * P + a) * nz + t * P + b] : 1;
                        k += ph * g;
                    }
                    out->ntk[i1] = out->ntk[i2] = (fw_real)k;
                }
                if (out->ntk_var != NULL) out->ntk_var[i1] = out->ntk_var[i2] = (fw_real)c->vv[o];
                FW__DLF_SE(out->ntk_var_se, i1, i2);
            }
#undef FW__DLF_SE
}

/* The sampled path of fw_dlfluct_run_ws: draws the sites' standard normals, then one estimate
   from all M sites, and with R >= 2 replicates also R estimates from M / R sites each, whose
   spread / sqrt(R) is the standard error reported next to the pooled estimate. */
static fw_status fw__dnf_run(fw__dlf *c, const fw_dlfluct_desc *desc, const fw_dlfluct_out *out)
{
    const int R = c->Rr, runs = R >= 2 ? R + 1 : 1, nx = c->nx;
    int l, m, r, o, i;
    fw_status st;
    if (R < 2 && (out->f_var_se != NULL || out->phi_var_se != NULL || out->g_var_se != NULL || out->ntk_var_se != NULL))
        FW__DLF_FAIL(FW_ERR_ARG, "fw_dlfluct_desc.replicates", "standard errors of the sampled propagator need replicates >= 2");
    fw__dnf_index(c);
    for (l = 0; l < c->L; ++l) {
        fw_rng g;
        fw_rng_init(&g, c->d.seed, (uint64_t)l);
        for (m = 0; m < c->Ms * nx; ++m) c->xi[(size_t)l * c->Ms * nx + m] = fw_rng_normal(&g);
    }
    for (r = 0; r < runs; ++r) {
        c->m0 = r < R && runs > 1 ? (int)((long)r * c->Ms / R) : 0;
        c->m1 = r < R && runs > 1 ? (int)((long)(r + 1) * c->Ms / R) : c->Ms;
        st = fw__dlf_fixed_point(c);
        if (st == FW_ERR_DIVERGED) FW__DLF_FAIL(st, "fw_dlfluct_desc.lr", "the infinite-width dynamics blew up: lower the learning rate");
        if (st == FW_ERR_NOT_PD) FW__DLF_FAIL(st, "fw_dlfluct_run", "a sampled kernel lost positive semidefiniteness to rounding (kernels of very different sizes; a double build helps)");
        if (st != FW_OK) FW__DLF_FAIL(st, "fw_dlfluct_run", "the sampled DMFT sweeps did not settle (learning rate too large?)");
        if ((st = fw__dnf_jacobian(c)) != FW_OK) FW__DLF_FAIL(st, "fw_dlfluct_run", "the Jacobian of the sampled DMFT map overflowed");
        if ((st = fw__dnf_noise(c)) != FW_OK) FW__DLF_FAIL(st, "fw_dlfluct_run", "the sampled noise covariance overflowed");
        if ((st = fw__dlf_finish(c)) == FW_ERR_SINGULAR) FW__DLF_FAIL(st, "fw_dlfluct_run", "I - D is singular (the linear response does not exist)");
        if (st != FW_OK) FW__DLF_FAIL(st, "fw_dlfluct_run", "the covariance overflowed");
        if (r < R && runs > 1) memcpy(c->rv + (size_t)r * c->nout, c->vv, sizeof(double) * c->nout);
    }
    for (o = 0; o < c->nout; ++o) {
        double mu = 0, sd = 0;
        if (runs == 1) { c->vse[o] = 0; continue; }
        for (i = 0; i < R; ++i) mu += c->rv[(size_t)i * c->nout + o] / R;
        for (i = 0; i < R; ++i) { const double d = c->rv[(size_t)i * c->nout + o] - mu; sd += d * d; }
        c->vse[o] = sqrt(sd / (R - 1) / R);
    }
    fw__dlf_write(c, out);
    return FW_OK;
}

FW_API fw_status fw_dlfluct_workspace_size(const fw_dlfluct_desc *desc, const fw_data *data, size_t *bytes)
{
    fw__dlf c;
    fw_arena ar;
    fw_status st;
    if (bytes == NULL) return FW_ERR_NULL;
    fw_arena_init(&ar, NULL, 0);
    if ((st = fw__dlf_setup(desc, data, &c, &ar)) != FW_OK) return st;
    if (ar.failed) return FW_ERR_SIZE;
    *bytes = ar.used;
    return FW_OK;
}

FW_API fw_status fw_dlfluct_run_ws(const fw_dlfluct_desc *desc, const fw_data *data,
                                   const fw_dlfluct_out *out, void *ws, size_t ws_bytes)
{
    fw__dlf c;
    fw_arena ar;
    fw_status st;
    const int ldx = data != NULL && data->ldx > 0 ? data->ldx : (data != NULL ? data->D : 0);
    int a, b;
    if (out == NULL || ws == NULL) return FW_ERR_NULL;
    fw_arena_init(&ar, ws, ws_bytes);
    if ((st = fw__dlf_setup(desc, data, &c, &ar)) != FW_OK) return st;
    if (ar.failed) FW__DLF_FAIL(FW_ERR_WORKSPACE, "fw_dlfluct_run_ws", "workspace smaller than fw_dlfluct_workspace_size");
    if (data->X == NULL || data->y == NULL) FW__DLF_FAIL(FW_ERR_NULL, "fw_data", "X and y are required");
    if (ldx < data->D) FW__DLF_FAIL(FW_ERR_LD, "fw_data.ldx", "must be >= D (or 0)");
    if (!fw__all_finite(c.n, data->D, data->X, ldx) || !fw__all_finite(1, c.P, data->y, c.P))
        FW__DLF_FAIL(FW_ERR_NONFINITE, "fw_data", "X or y holds NaN or Inf");
    for (a = 0; a < c.n; ++a)
        for (b = 0; b < c.n; ++b) {
            double s = 0;
            int e;
            for (e = 0; e < data->D; ++e) s += (double)data->X[(size_t)a * ldx + e] * data->X[(size_t)b * ldx + e];
            c.kx[a * c.n + b] = (fw_real)(s / data->D);
        }
    fw__dlf_index(&c);
    if (c.smp) return fw__dnf_run(&c, desc, out);
    st = fw__dlf_fixed_point(&c);
    if (st == FW_ERR_DIVERGED) FW__DLF_FAIL(st, "fw_dlfluct_desc.lr", "the infinite-width dynamics blew up: lower the learning rate");
    if (st != FW_OK) FW__DLF_FAIL(st, "fw_dlfluct_run", "the DMFT sweeps did not settle (learning rate too large?)");
    if ((st = fw__dlf_jacobian(&c)) != FW_OK) FW__DLF_FAIL(st, "fw_dlfluct_run", "the Jacobian of the DMFT map failed (overflow?)");
    if ((st = fw__dlf_noise(&c)) != FW_OK) FW__DLF_FAIL(st, "fw_dlfluct_run", "the noise covariance failed (overflow?)");
    if ((st = fw__dlf_finish(&c)) == FW_ERR_SINGULAR) FW__DLF_FAIL(st, "fw_dlfluct_run", "I - D is singular (the linear response does not exist)");
    if (st != FW_OK) FW__DLF_FAIL(st, "fw_dlfluct_run", "the covariance overflowed");
    fw__dlf_write(&c, out);
    return FW_OK;
}

FW_API fw_status fw_dlfluct_run(const fw_dlfluct_desc *desc, const fw_data *data,
                                const fw_dlfluct_out *out, const fw_allocator *alloc)
{
    size_t bytes = 0;
    void *ws;
    fw_status st = fw_dlfluct_workspace_size(desc, data, &bytes);
    if ((st = fw__ws_take(alloc, st, bytes, &ws)) != FW_OK) return st;
    st = fw_dlfluct_run_ws(desc, data, out, ws, bytes);
    fw__free(alloc, ws);
    return st;
}

// ==== online learning implementation ============================================================

typedef struct fw__online {
    fw_online_desc d;
    const fw_online_data *data;
    int D, Q, T, B, nt, nrec, m, R, tb, rq, len;   /* tb = T B batch cells; rq = nrec Q test cells */
    int mtot, lo, rank, ranks;     /* sites of a replicate over all workers; this worker's m from site lo on */
    double *red;                   /* ranks > 1: the all-reduce's buffer (red_cap doubles) */
    int red_cap;
    fw_real eg, isd;                                /* eta gamma0 / B; 1 / sqrt(D) */
    fw_real *v, *w;                /* trajectories: nt x m x D, nt x m */
    fw_real *h, *a0, *a1, *a2;     /* m x max(B, Q): preactivations and phi, phi', phi'' at one step */
    fw_real *fb, *dl, *ft;         /* T x B predictions and errors at each batch's step; nrec x Q test predictions */
    fw_real *psb, *pst, *u;        /* centred psi on the batch cells (m x tb) and test cells (m x rq); influences (m x tb) */
    fw_real *jb, *jt;              /* J on the batch cells (tb x tb) and from them to the test cells (rq x tb) */
    fw_real *dv, *dw, *dh, *c;     /* tangents of the B sources of one step: B m x D, B m; B m x max(B, Q); B m x B */
    fw_real *rec, *mean, *m2;
    /* the O(1/N) mean: one direction's tangents of first and second order (m x D, m), their
       preactivations (m x max(B, Q)), phi''' (m x B), step coefficients (m x B); c and the
       influence covariance's eigen-decomposition */
    fw_real *bv1, *bv2, *bw1, *bw2, *bh1, *bh2, *ba3, *bc1, *bc2, *cb, *ct, *bsig, *bvec, *bval, *bdir;
} fw__online;

FW_API int fw_online_record_time(const fw_online_desc *desc, int r)
{
    return desc == NULL ? -1 : fw__rec_time(desc->steps, desc->every, r);
}

#define FW__ONLINE_FAIL(st, field, text) do { fw__report(&desc->log, st, field, text); return st; } while (0)

static fw_status fw__online_resolve(const fw_online_desc *desc, const fw_online_data *data, fw__online *o)
{
    if (desc == NULL || data == NULL || o == NULL) return FW_ERR_NULL;
    memset(o, 0, sizeof *o);
    o->d = *desc;
    if (o->d.gamma0 == 0) o->d.gamma0 = 1;
    if (o->d.every == 0) o->d.every = 1;
    if (o->d.samples == 0) o->d.samples = 8192;
    if (o->d.replicates == 0) o->d.replicates = 8;
    if ((unsigned)o->d.act >= (unsigned)FW_ACT_COUNT) FW__ONLINE_FAIL(FW_ERR_ARG, "fw_online_desc.act", "not an fw_activation");
    if (o->d.act == FW_ACT_RELU) FW__ONLINE_FAIL(FW_ERR_ARG, "fw_online_desc.act", "relu (a delta in the response) is not supported here yet: use tanh, erf or linear");
    if (fw__gamma0_problem(o->d.gamma0, 0) != NULL) FW__ONLINE_FAIL(FW_ERR_ARG, "fw_online_desc.gamma0", fw__gamma0_problem(o->d.gamma0, 0));
    if (!fw__finite(o->d.lr) || o->d.lr <= 0) FW__ONLINE_FAIL(FW_ERR_ARG, "fw_online_desc.lr", "must be finite and > 0");
    if (o->d.steps < 1 || o->d.steps > FW__MAX_STEPS || o->d.batch < 1 || o->d.every < 0 || o->d.width < 1)
        FW__ONLINE_FAIL(FW_ERR_SIZE, "fw_online_desc", "needs steps >= 1, batch >= 1, width >= 1, every >= 0");
    if (o->d.replicates < 2 || o->d.samples < 0) FW__ONLINE_FAIL(FW_ERR_SIZE, "fw_online_desc.replicates", "must be >= 2 (0 means 8)");
    if (data->Xb == NULL || data->yb == NULL || data->Xt == NULL || data->yt == NULL)
        FW__ONLINE_FAIL(FW_ERR_NULL, "fw_online_data", "Xb, yb, Xt and yt are required");
    if (data->D < 1 || data->Q < 1) FW__ONLINE_FAIL(FW_ERR_SIZE, "fw_online_data", "needs D >= 1 and Q >= 1");
    o->data = data; o->D = data->D; o->Q = data->Q; o->T = o->d.steps; o->B = o->d.batch;
    o->nt = o->T + 1; o->tb = o->T * o->B;
    o->nrec = fw__rec_count(o->T, o->d.every);
    o->rq = o->nrec * o->Q;
    o->R = o->d.replicates;
    o->mtot = o->d.samples / o->R;
    o->mtot -= o->mtot % 2;
    if (o->mtot < 2) FW__ONLINE_FAIL(FW_ERR_SIZE, "fw_online_desc.samples", "fewer than 2 samples per replicate");
    o->ranks = o->d.reduce.ranks == 0 ? 1 : o->d.reduce.ranks;
    o->rank = o->d.reduce.rank;
    if (o->ranks < 1 || o->rank < 0 || o->rank >= o->ranks)
        FW__ONLINE_FAIL(FW_ERR_ARG, "fw_online_desc.reduce", "needs ranks >= 1 (0 means 1) and 0 <= rank < ranks");
    if (o->ranks > 1 && o->d.reduce.fn == NULL) FW__ONLINE_FAIL(FW_ERR_NULL, "fw_online_desc.reduce", "ranks > 1 needs the all-reduce fn");
    if (o->mtot / 2 < o->ranks) FW__ONLINE_FAIL(FW_ERR_SIZE, "fw_online_desc.reduce", "more workers than antithetic pairs in a replicate");
    {
        int e;
        fw__share(o->rank, o->ranks, o->mtot, 2, &o->lo, &e);
        o->m = e - o->lo;
    }
    if ((double)o->m * o->nt * (o->D + 1) > 2147483647.0 || (double)o->m * o->tb > 2147483647.0 ||
        (double)o->m * o->rq > 2147483647.0 || (double)o->tb * o->tb > 2147483647.0)
        FW__ONLINE_FAIL(FW_ERR_SIZE, "fw_online_desc", "samples x steps x batch too large");
    if (!fw__all_finite(o->tb, o->D, data->Xb, o->D) || !fw__all_finite(1, o->tb, data->yb, o->tb) ||
        !fw__all_finite(o->Q, o->D, data->Xt, o->D) || !fw__all_finite(1, o->Q, data->yt, o->Q))
        FW__ONLINE_FAIL(FW_ERR_NONFINITE, "fw_online_data", "holds NaN or Inf");
    o->eg = o->d.lr * o->d.gamma0 / (fw_real)o->B;
    o->isd = 1 / fw__sqrt((fw_real)o->D);
    o->len = 3 * o->rq + 2 * o->nrec;
    return FW_OK;
}

static void fw__online_lay(fw_arena *ar, fw__online *o)
{
    const size_t m = (size_t)o->m, D = (size_t)o->D, B = (size_t)o->B, nt = (size_t)o->nt;
    const size_t k = (size_t)(o->B > o->Q ? o->B : o->Q), tb = (size_t)o->tb, rq = (size_t)o->rq;
    o->v = FW__PUSH(ar, nt * m * D);
    o->w = FW__PUSH(ar, nt * m);
    o->h = FW__PUSH(ar, m * k);
    o->a0 = FW__PUSH(ar, m * k);
    o->a1 = FW__PUSH(ar, m * k);
    o->a2 = FW__PUSH(ar, m * k);
    o->fb = FW__PUSH(ar, tb);
    o->dl = FW__PUSH(ar, tb);
    o->ft = FW__PUSH(ar, rq);
    o->psb = FW__PUSH(ar, m * tb);
    o->pst = FW__PUSH(ar, m * rq);
    o->u = FW__PUSH(ar, m * tb);
    o->jb = FW__PUSH(ar, tb * tb);
    o->jt = FW__PUSH(ar, rq * tb);
    o->dv = FW__PUSH(ar, B * m * D);
    o->dw = FW__PUSH(ar, B * m);
    o->dh = FW__PUSH(ar, B * m * k);
    o->c = FW__PUSH(ar, B * m * B);
    o->rec = FW__PUSH(ar, o->len);
    o->mean = FW__PUSH(ar, o->len);
    o->m2 = FW__PUSH(ar, o->len);
    o->bv1 = FW__PUSH(ar, m * D);
    o->bv2 = FW__PUSH(ar, m * D);
    o->bw1 = FW__PUSH(ar, m);
    o->bw2 = FW__PUSH(ar, m);
    o->bh1 = FW__PUSH(ar, m * k);
    o->bh2 = FW__PUSH(ar, m * k);
    o->ba3 = FW__PUSH(ar, m * B);
    o->bc1 = FW__PUSH(ar, m * B);
    o->bc2 = FW__PUSH(ar, m * B);
    o->cb = FW__PUSH(ar, tb);
    o->ct = FW__PUSH(ar, rq);
    o->bsig = FW__PUSH(ar, tb * tb);
    o->bvec = FW__PUSH(ar, tb * tb);
    o->bval = FW__PUSH(ar, tb);
    o->bdir = FW__PUSH(ar, tb);
    if (o->ranks > 1) {   /* float builds pass their sums through it (double: only strided blocks, none here) */
        o->red_cap = o->tb + o->rq + 1;
        o->red = (double *)fw_arena_push(ar, fw__size_mul((size_t)o->red_cap, sizeof(double)));
    }
}

/* The sums over every worker's sites (a contiguous block). */
static void fw__online_sum(const fw__online *o, fw_real *x, size_t n)
{
    if (n > 0) fw__reduce_block(&o->d.reduce, o->red, o->red_cap, x, 1, (int)n, (int)n);
}

FW_API fw_status fw_online_workspace_size(const fw_online_desc *desc, const fw_online_data *data, size_t *bytes)
{
    fw__online o;
    fw_arena ar;
    fw_status st;
    if (bytes == NULL) return FW_ERR_NULL;
    if ((st = fw__online_resolve(desc, data, &o)) != FW_OK) return st;
    fw_arena_init(&ar, NULL, 0);
    fw__online_lay(&ar, &o);
    if (ar.failed) return FW_ERR_SIZE;
    *bytes = ar.used;
    return FW_OK;
}

/* phi, phi', phi'' of the m x k preactivations in o->h (smooth activations only). */
static void fw__online_acts(fw__online *o, int k)
{
    const size_t mk = (size_t)o->m * (size_t)k;
    size_t e;
    for (e = 0; e < mk; ++e) {
        fw__act_pair(o->d.act, o->h[e], &o->a0[e], &o->a1[e]);
        o->a2[e] = o->d.act == FW_ACT_TANH ? -2 * o->a0[e] * o->a1[e] : fw_act_d2(o->d.act, o->h[e]);
    }
}

/* Preactivations o->h (m x k) of the samples' input weights at step t on k rows of X. */
static void fw__online_pre(fw__online *o, int t, const fw_real *X, int k)
{
    fw__gemm(FW_NO_TRANS, FW_TRANS, o->m, k, o->D, o->isd, o->v + (size_t)t * o->m * o->D, o->D, X, o->D, 0, o->h, k);
    fw__online_acts(o, k);
}

/* The single-site march on the current samples: predictions, errors, centred psi, trajectories. */
static fw_status fw__online_march(fw__online *o)
{
    const int m = o->m, D = o->D, B = o->B, Q = o->Q, T = o->T;
    const fw_real ig = 1 / o->d.gamma0, im = 1 / (fw_real)o->mtot;
    int t, i, b, r = 0;
    for (t = 0; t <= T; ++t) {
        const fw_real *w = o->w + (size_t)t * m;
        if (r < o->nrec && fw_online_record_time(&o->d, r) == t) {
            fw_real *f = o->ft + (size_t)r * Q;
            fw__online_pre(o, t, o->data->Xt, Q);
            fw__gemv(FW_TRANS, m, Q, im * ig, o->a0, Q, w, 0, f);
            fw__online_sum(o, f, (size_t)Q);
            if (!fw__all_finite(1, Q, f, Q)) return FW_ERR_DIVERGED;
            for (i = 0; i < m; ++i)
                for (b = 0; b < Q; ++b) o->pst[(size_t)i * o->rq + r * Q + b] = w[i] * o->a0[(size_t)i * Q + b] * ig - f[b];
            ++r;
        }
        if (t == T) break;
        {
            const fw_real *xb = o->data->Xb + (size_t)t * B * D;
            fw_real *f = o->fb + (size_t)t * B, *dl = o->dl + (size_t)t * B;
            fw_real *vn = o->v + (size_t)(t + 1) * m * D, *wn = o->w + (size_t)(t + 1) * m;
            fw__online_pre(o, t, xb, B);
            fw__gemv(FW_TRANS, m, B, im * ig, o->a0, B, w, 0, f);
            fw__online_sum(o, f, (size_t)B);
            if (!fw__all_finite(1, B, f, B)) return FW_ERR_DIVERGED;
            for (b = 0; b < B; ++b) dl[b] = o->data->yb[(size_t)t * B + b] - f[b];
            /* w += eg sum_b Delta_b phi_b;  v += sum_b (eg Delta_b w phi'_b / sqrt D) x_b */
            for (i = 0; i < m; ++i) {
                fw_real acc = 0;
                for (b = 0; b < B; ++b) {
                    const size_t e = (size_t)i * B + b;
                    o->psb[(size_t)i * o->tb + (size_t)t * B + b] = w[i] * o->a0[e] * ig - f[b];
                    acc += dl[b] * o->a0[e];
                    o->c[e] = o->eg * dl[b] * w[i] * o->a1[e] * o->isd;
                }
                wn[i] = w[i] + o->eg * acc;
            }
            memcpy(vn, o->v + (size_t)t * m * D, (size_t)m * D * sizeof(fw_real));
            fw__gemm(FW_NO_TRANS, FW_NO_TRANS, m, D, B, 1, o->c, B, xb, D, 1, vn, D);
        }
    }
    return FW_OK;
}

/* J columns of the B sources Delta(s0, .): forward tangents from step s0 on. */
static void fw__online_tangents(fw__online *o, int s0)
{
    const int m = o->m, D = o->D, B = o->B, Q = o->Q, T = o->T, tb = o->tb;
    const fw_real ig = 1 / o->d.gamma0, im = 1 / (fw_real)o->mtot;
    int t, i, b, c, r;
    {
        const fw_real *w = o->w + (size_t)s0 * m, *xb = o->data->Xb + (size_t)s0 * B * D;
        fw__online_pre(o, s0, xb, B);
        for (c = 0; c < B; ++c)
            for (i = 0; i < m; ++i) {
                const size_t e = (size_t)i * B + c;
                fw_real *dv = o->dv + ((size_t)c * m + i) * D, k = o->eg * w[i] * o->a1[e] * o->isd;
                o->dw[(size_t)c * m + i] = o->eg * o->a0[e];
                for (b = 0; b < D; ++b) dv[b] = k * xb[(size_t)c * D + b];
            }
    }
    for (t = s0 + 1, r = 0; t <= T; ++t) {
        const fw_real *w = o->w + (size_t)t * m;
        while (r < o->nrec && fw_online_record_time(&o->d, r) < t) ++r;
        if (r < o->nrec && fw_online_record_time(&o->d, r) == t) {
            /* J from Delta(s0, c) to the test cells of record r */
            fw__online_pre(o, t, o->data->Xt, Q);
            fw__gemm(FW_NO_TRANS, FW_TRANS, B * m, Q, D, o->isd, o->dv, D, o->data->Xt, D, 0, o->dh, Q);
            for (c = 0; c < B; ++c)
                for (b = 0; b < Q; ++b) {
                    fw_real acc = 0;
                    for (i = 0; i < m; ++i) {
                        const size_t e = (size_t)i * Q + b;
                        acc += o->dw[(size_t)c * m + i] * o->a0[e] + w[i] * o->a1[e] * o->dh[((size_t)c * m + i) * Q + b];
                    }
                    o->jt[(size_t)(r * Q + b) * tb + (size_t)s0 * B + c] = acc * im * ig;
                }
        }
        if (t == T) break;
        {
            const fw_real *xb = o->data->Xb + (size_t)t * B * D, *dl = o->dl + (size_t)t * B;
            fw__online_pre(o, t, xb, B);
            fw__gemm(FW_NO_TRANS, FW_TRANS, B * m, B, D, o->isd, o->dv, D, xb, D, 0, o->dh, B);
            for (c = 0; c < B; ++c) {
                for (b = 0; b < B; ++b) {
                    fw_real acc = 0;
                    for (i = 0; i < m; ++i) {
                        const size_t e = (size_t)i * B + b;
                        acc += o->dw[(size_t)c * m + i] * o->a0[e] + w[i] * o->a1[e] * o->dh[((size_t)c * m + i) * B + b];
                    }
                    o->jb[(size_t)(t * B + b) * tb + (size_t)s0 * B + c] = acc * im * ig;
                }
                /* the linearised step: dw += eg sum_b Delta_b phi'_b dh_b;
                   dv += sum_b eg Delta_b (dw phi'_b + w phi''_b dh_b) x_b / sqrt D */
                for (i = 0; i < m; ++i) {
                    const fw_real dwi = o->dw[(size_t)c * m + i];
                    fw_real acc = 0;
                    for (b = 0; b < B; ++b) {
                        const size_t e = (size_t)i * B + b;
                        const fw_real dh = o->dh[((size_t)c * m + i) * B + b];
                        acc += dl[b] * o->a1[e] * dh;
                        o->c[((size_t)c * m + i) * B + b] = o->eg * dl[b] * (dwi * o->a1[e] + w[i] * o->a2[e] * dh) * o->isd;
                    }
                    o->dw[(size_t)c * m + i] = dwi + o->eg * acc;
                }
            }
            fw__gemm(FW_NO_TRANS, FW_NO_TRANS, B * m, D, B, 1, o->c, B, xb, D, 1, o->dv, D);
        }
    }
}

/* The third derivative of phi on the m x k preactivations in o->h (o->a0, o->a1 current). */
static void fw__online_d3(fw__online *o, int k, fw_real *a3)
{
    const size_t mk = (size_t)o->m * (size_t)k;
    size_t e;
    for (e = 0; e < mk; ++e) {
        const fw_real x = o->h[e], p1 = o->a1[e], t = o->a0[e];
        a3[e] = o->d.act == FW_ACT_TANH ? p1 * (4 * t * t - 2 * p1) : o->d.act == FW_ACT_ERF ? (4 * x * x - 2) * p1 : 0;
    }
}

/* psi derivatives on k cells with preactivations in o->h (acts current) and tangent
   preactivations h1, h2 (m x k): adds coef E[D psi] (or E[D2 psi]) to out[0..k). */
static void fw__online_dpsi(fw__online *o, int k, int second, const fw_real *w, fw_real coef, fw_real *out)
{
    const int m = o->m;
    int i, a;
    for (a = 0; a < k; ++a) {
        fw_real acc = 0;
        for (i = 0; i < m; ++i) {
            const size_t e = (size_t)i * k + a;
            const fw_real h1 = o->bh1[e];
            acc += second ? o->bw2[i] * o->a0[e] + 2 * o->bw1[i] * o->a1[e] * h1 + w[i] * (o->a2[e] * h1 * h1 + o->a1[e] * o->bh2[e])
                          : o->bw1[i] * o->a0[e] + w[i] * o->a1[e] * h1;
        }
        out[a] += coef * acc / ((fw_real)o->mtot * o->d.gamma0);
    }
}

/* One forward-mode pass along an error direction d over the batch cells (tb values; one row per
   sample when per_sample): adds coef E[D psi] (second: E[D2 psi]) on the batch cells to cb (tb)
   and on the test cells to ct (rq). The update of fw__online_march differentiated once and twice. */
static void fw__online_dir_pass(fw__online *o, const fw_real *dir, int per_sample, int second, fw_real coef,
                                fw_real *cb, fw_real *ct)
{
    const int m = o->m, D = o->D, B = o->B, Q = o->Q, T = o->T, tb = o->tb;
    int t, i, b, r = 0;
    memset(o->bv1, 0, (size_t)m * D * sizeof(fw_real));
    memset(o->bv2, 0, (size_t)m * D * sizeof(fw_real));
    memset(o->bw1, 0, (size_t)m * sizeof(fw_real));
    memset(o->bw2, 0, (size_t)m * sizeof(fw_real));
    for (t = 0; t <= T; ++t) {
        const fw_real *w = o->w + (size_t)t * m;
        if (r < o->nrec && fw_online_record_time(&o->d, r) == t) {
            fw__online_pre(o, t, o->data->Xt, Q);
            fw__gemm(FW_NO_TRANS, FW_TRANS, m, Q, D, o->isd, o->bv1, D, o->data->Xt, D, 0, o->bh1, Q);
            if (second) fw__gemm(FW_NO_TRANS, FW_TRANS, m, Q, D, o->isd, o->bv2, D, o->data->Xt, D, 0, o->bh2, Q);
            fw__online_dpsi(o, Q, second, w, coef, ct + (size_t)r * Q);
            ++r;
        }
        if (t == T) break;
        {
            const fw_real *xb = o->data->Xb + (size_t)t * B * D, *dl = o->dl + (size_t)t * B;
            fw__online_pre(o, t, xb, B);
            if (second) fw__online_d3(o, B, o->ba3);
            fw__gemm(FW_NO_TRANS, FW_TRANS, m, B, D, o->isd, o->bv1, D, xb, D, 0, o->bh1, B);
            if (second) fw__gemm(FW_NO_TRANS, FW_TRANS, m, B, D, o->isd, o->bv2, D, xb, D, 0, o->bh2, B);
            fw__online_dpsi(o, B, second, w, coef, cb + (size_t)t * B);
            for (i = 0; i < m; ++i) {
                const fw_real *d = dir + (per_sample ? (size_t)i * tb : 0) + (size_t)t * B, wi = w[i];
                const fw_real w1 = o->bw1[i], w2 = o->bw2[i];
                fw_real acc1 = 0, acc2 = 0;
                for (b = 0; b < B; ++b) {
                    const size_t e = (size_t)i * B + b;
                    const fw_real p0 = o->a0[e], p1 = o->a1[e], p2 = o->a2[e], h1 = o->bh1[e], db = d[b], D0 = dl[b];
                    acc1 += db * p0 + D0 * p1 * h1;
                    o->bc1[e] = o->eg * (db * wi * p1 + D0 * (w1 * p1 + wi * p2 * h1)) * o->isd;
                    if (second) {
                        const fw_real h2 = o->bh2[e], p3 = o->ba3[e];
                        acc2 += 2 * db * p1 * h1 + D0 * (p2 * h1 * h1 + p1 * h2);
                        o->bc2[e] = o->eg * (2 * db * (w1 * p1 + wi * p2 * h1) +
                                             D0 * (w2 * p1 + 2 * w1 * p2 * h1 + wi * p3 * h1 * h1 + wi * p2 * h2)) * o->isd;
                    }
                }
                o->bw1[i] = w1 + o->eg * acc1;
                if (second) o->bw2[i] = w2 + o->eg * acc2;
            }
            fw__gemm(FW_NO_TRANS, FW_NO_TRANS, m, D, B, 1, o->bc1, B, xb, D, 1, o->bv1, D);
            if (second) fw__gemm(FW_NO_TRANS, FW_NO_TRANS, m, D, B, 1, o->bc2, B, xb, D, 1, o->bv2, D);
        }
    }
}

/* The O(1/N) mean shift b/N on the test cells (docs/fluct.md section 8, with the batch cells as
   the training cells) into o->rec; needs o->u (influences), J and the errors of this solve. */
static fw_status fw__online_bias(fw__online *o)
{
    const int m = o->m, B = o->B, Q = o->Q, tb = o->tb, rq = o->rq;
    const fw_real im = 1 / (fw_real)o->mtot;
    fw_status st;
    int k, a, t, r, q;
    memset(o->cb, 0, (size_t)tb * sizeof(fw_real));
    memset(o->ct, 0, (size_t)rq * sizeof(fw_real));
    fw__online_dir_pass(o, o->u, 1, 0, -1, o->cb, o->ct);
    fw__syrk(FW_TRANS, tb, m, im, o->u, tb, 0, o->bsig, tb);
    fw__online_sum(o, o->bsig, (size_t)tb * tb);   /* every worker decomposes the same Sigma_u */
    if ((st = fw_eigh(tb, o->bsig, tb, o->bval, o->bvec, tb)) != FW_OK) return st;
    for (k = 0; k < tb; ++k) {
        if (!(o->bval[k] > (fw_real)1e-12 * o->bval[tb - 1])) continue;
        for (a = 0; a < tb; ++a) o->bdir[a] = o->bvec[(size_t)a * tb + k];
        fw__online_dir_pass(o, o->bdir, 0, 1, o->bval[k] / 2, o->cb, o->ct);
    }
    fw__online_sum(o, o->cb, (size_t)tb);   /* the passes' sums over every worker's sites */
    fw__online_sum(o, o->ct, (size_t)rq);
    /* b = (I + J)^-1 c: forward substitution on the batch cells, then the test cells */
    for (t = 1; t < o->T; ++t)
        fw__gemv(FW_NO_TRANS, B, t * B, -1, o->jb + (size_t)t * B * tb, tb, o->cb, 1, o->cb + (size_t)t * B);
    fw__gemv(FW_NO_TRANS, rq, tb, -1, o->jt, tb, o->cb, 1, o->ct);
    for (r = 0; r < o->nrec; ++r) {
        fw_real acc = 0;
        for (q = 0; q < Q; ++q) {
            const int c = r * Q + q;
            const fw_real fb = o->ct[c] / (fw_real)o->d.width;
            o->rec[2 * rq + c] = fb;
            acc += -(o->data->yt[q] - o->ft[c]) * fb;
        }
        o->rec[3 * rq + o->nrec + r] += acc / (fw_real)Q;
    }
    return FW_OK;
}

/* One replicate: draw, march, J, influences, record. */
static fw_status fw__online_solve(fw__online *o, int rep)
{
    const int m = o->m, D = o->D, B = o->B, Q = o->Q, tb = o->tb, rq = o->rq;
    fw_rng rng;
    fw_status st;
    int i, t, r, q;
    fw_rng_init(&rng, o->d.seed, (uint64_t)rep);
    fw__rng_seek_normal(&rng, (uint64_t)(o->lo / 2) * (uint64_t)(D + 1));   /* pair k draws normals k (D + 1) .. */
    for (i = 0; i < m; i += 2) {   /* antithetic pairs: the partner negates the readout */
        fw_rng_fill_normal(&rng, o->v + (size_t)i * D, D, 1);
        memcpy(o->v + (size_t)(i + 1) * D, o->v + (size_t)i * D, (size_t)D * sizeof(fw_real));
        o->w[i] = fw_rng_normal(&rng);
        o->w[i + 1] = -o->w[i];
    }
    if ((st = fw__online_march(o)) != FW_OK) return st;
    memset(o->jb, 0, (size_t)tb * tb * sizeof(fw_real));
    memset(o->jt, 0, (size_t)rq * tb * sizeof(fw_real));
    for (t = 0; t < o->T; ++t) fw__online_tangents(o, t);
    fw__online_sum(o, o->jb, (size_t)tb * tb);   /* the sums over every worker's sites */
    fw__online_sum(o, o->jt, (size_t)rq * tb);
    /* u = (I + J)^-1 psi on the batch cells, by forward substitution over the steps */
    for (t = 0; t < o->T; ++t) {
        for (i = 0; i < m; ++i)
            memcpy(o->u + (size_t)i * tb + (size_t)t * B, o->psb + (size_t)i * tb + (size_t)t * B, (size_t)B * sizeof(fw_real));
        if (t > 0)
            fw__gemm(FW_NO_TRANS, FW_TRANS, m, B, t * B, -1, o->u, tb, o->jb + (size_t)t * B * tb, tb, 1, o->u + (size_t)t * B, tb);
    }
    /* test influences psi_test - J_test u, then the records */
    fw__gemm(FW_NO_TRANS, FW_TRANS, m, rq, tb, -1, o->u, tb, o->jt, tb, 1, o->pst, rq);
    for (q = 0; q < rq; ++q) {
        fw_real v = 0;
        for (i = 0; i < m; ++i) v += o->pst[(size_t)i * rq + q] * o->pst[(size_t)i * rq + q];
        o->rec[rq + q] = v;
    }
    fw__online_sum(o, o->rec + rq, (size_t)rq);
    for (r = 0; r < o->nrec; ++r) {
        fw_real loss = 0, shift = 0;
        for (q = 0; q < Q; ++q) {
            const int c = r * Q + q;
            const fw_real f = o->ft[c], e = o->data->yt[q] - f;
            const fw_real v = o->rec[rq + c] / ((fw_real)o->mtot * (fw_real)o->d.width);
            o->rec[c] = f;
            o->rec[rq + c] = v;
            loss += e * e;
            shift += v;
        }
        o->rec[3 * rq + r] = loss / (2 * (fw_real)Q);
        o->rec[3 * rq + o->nrec + r] = shift / (2 * (fw_real)Q);
    }
    if ((st = fw__online_bias(o)) != FW_OK) return st;
    return fw__all_finite(1, o->len, o->rec, o->len) ? FW_OK : FW_ERR_DIVERGED;
}

FW_API fw_status fw_online_run_ws(const fw_online_desc *desc, const fw_online_data *data, fw_online_result *res,
                                  void *ws, size_t ws_bytes)
{
    fw__online o;
    fw_arena ar;
    fw_stats acc;
    fw_status st;
    int rep, i;
    if (res == NULL || ws == NULL) return FW_ERR_NULL;
    memset(res, 0, sizeof *res);
    if ((st = fw__online_resolve(desc, data, &o)) != FW_OK) return st;
    fw_arena_init(&ar, ws, ws_bytes);
    fw__online_lay(&ar, &o);
    if (ar.failed) {
        fw__report(&desc->log, FW_ERR_WORKSPACE, "fw_online_run_ws", "workspace smaller than fw_online_workspace_size");
        return FW_ERR_WORKSPACE;
    }
    fw_stats_init(&acc, o.len, o.mean, o.m2);
    for (rep = 0; rep < o.R; ++rep) {
        if ((st = fw__online_solve(&o, rep)) != FW_OK) {
            if (st == FW_ERR_DIVERGED) fw__report(&desc->log, st, "fw_online_run", "the dynamics blew up: lower the learning rate");
            return st;
        }
        fw_stats_push(&acc, o.rec);
    }
    for (i = 0; i < o.len; ++i) o.m2[i] = fw__sqrt(fw_stats_var(&acc, i) / (fw_real)o.R);
    res->n_records = o.nrec; res->Q = o.Q; res->width = o.d.width; res->samples_used = o.mtot * o.R; res->replicates_used = o.R;
    res->f = o.mean; res->f_se = o.m2;
    res->f_var = o.mean + o.rq; res->f_var_se = o.m2 + o.rq;
    res->f_bias = o.mean + 2 * o.rq; res->f_bias_se = o.m2 + 2 * o.rq;
    res->test_loss = o.mean + 3 * o.rq; res->test_loss_se = o.m2 + 3 * o.rq;
    res->loss_shift = o.mean + 3 * o.rq + o.nrec; res->loss_shift_se = o.m2 + 3 * o.rq + o.nrec;
    return FW_OK;
}

FW_API fw_status fw_online_run(const fw_online_desc *desc, const fw_online_data *data, fw_online_result *res,
                               const fw_allocator *alloc)
{
    size_t bytes = 0;
    void *ws;
    fw_status st;
    if (res == NULL) return FW_ERR_NULL;
    memset(res, 0, sizeof *res);
    st = fw_online_workspace_size(desc, data, &bytes);
    if ((st = fw__ws_take(alloc, st, bytes, &ws)) != FW_OK) return st;
    return fw__keep_ws(fw_online_run_ws(desc, data, res, ws, bytes), alloc, ws, res, sizeof *res, &res->owned, &res->alloc);
}

FW_API void fw_online_result_free(fw_online_result *res)
{
    if (res != NULL) fw__release(res, sizeof *res, res->owned, &res->alloc);
}

// ==== deep linear networks implementation ======================================================

typedef struct fw__dln {
    fw_dln_desc d;
    int D, N, L, B, nrec, online;   /* B: rows per step (P, or the SGD batch) */
    int src, pop;                   /* the capacity/source convention; with population gradients (no samples) */
    fw_real gam, c, eta;            /* gamma0; residual branch scale (0: plain); eta */
    fw_real *lam, *sl, *bstar, *W0, *W, *w, *X, *y, *a, *b, *beff, *beff0, *f, *r, *rec;
} fw__dln;

#define FW__DLN_FAIL(st, field, text) do { fw__report(&desc->log, st, field, text); return st; } while (0)

static fw_status fw__dln_resolve(const fw_dln_desc *desc, fw__dln *z)
{
    double rows;
    if (desc == NULL || z == NULL) return FW_ERR_NULL;
    memset(z, 0, sizeof *z);
    z->d = *desc;
    if (z->d.depth == 0) z->d.depth = 1;
    if (z->d.gamma0 == 0) z->d.gamma0 = 1;
    if (z->d.every == 0) z->d.every = 1;
    if (z->d.D < 1 || z->d.width < 1 || z->d.depth < 1 || z->d.steps < 0 || z->d.steps > FW__MAX_STEPS || z->d.every < 0)
        FW__DLN_FAIL(FW_ERR_SIZE, "fw_dln_desc", "needs D >= 1, width >= 1, depth >= 1, 0 <= steps <= 2^31 - 2");
    if (fw__gamma0_problem(z->d.gamma0, z->d.ntk) != NULL) FW__DLN_FAIL(FW_ERR_ARG, "fw_dln_desc.gamma0", fw__gamma0_problem(z->d.gamma0, z->d.ntk));
    if (!fw__finite(z->d.lr) || z->d.lr <= 0) FW__DLN_FAIL(FW_ERR_ARG, "fw_dln_desc.lr", "must be finite and > 0");
    if (!fw__finite(z->d.source) || z->d.source < 0) FW__DLN_FAIL(FW_ERR_ARG, "fw_dln_desc.source", "must be finite and >= 0");
    if (z->d.batch < 0 || (z->d.batch > 0 && z->d.source <= 0))
        FW__DLN_FAIL(FW_ERR_ARG, "fw_dln_desc.batch", "batch >= 0, and > 0 only with source (the proportional convention's SGD: batch_ratio)");
    z->src = z->d.source > 0;
    z->pop = z->src && z->d.batch == 0;
    if (z->src && (z->d.alpha != 0 || z->d.batch_ratio != 0))
        FW__DLN_FAIL(FW_ERR_ARG, "fw_dln_desc.source", "the capacity/source convention trains on the population loss or by SGD with batch: alpha and batch_ratio must be 0");
    if (z->src && (!fw__finite(z->d.spectrum) || z->d.spectrum <= 0 || z->d.task != 0))
        FW__DLN_FAIL(FW_ERR_ARG, "fw_dln_desc.source", "needs spectrum a > 0 (lambda_k = k^-a) and task = 0 (the source exponent sets the teacher)");
    if (z->src && z->d.balanced) FW__DLN_FAIL(FW_ERR_ARG, "fw_dln_desc.source", "the balanced scaling is a proportional-limit scaling; not with source");
    if (!z->src && (!fw__finite(z->d.alpha) || !fw__finite(z->d.batch_ratio) || z->d.alpha < 0 || z->d.batch_ratio < 0 ||
                    (z->d.batch_ratio == 0 && z->d.alpha <= 0)))
        FW__DLN_FAIL(FW_ERR_ARG, "fw_dln_desc.alpha", "alpha > 0 (repeated data) or batch_ratio > 0 (one-pass SGD)");
    if (!fw__finite(z->d.residual) || !fw__finite(z->d.spectrum) || !fw__finite(z->d.task) || !fw__finite(z->d.noise) ||
        z->d.residual < 0 || z->d.spectrum < 0 || z->d.task < 0 || z->d.noise < 0)
        FW__DLN_FAIL(FW_ERR_ARG, "fw_dln_desc", "residual, spectrum, task and noise must be finite and >= 0");
    z->D = z->d.D; z->N = z->d.width; z->L = z->d.depth;
    z->online = z->d.batch_ratio > 0 || z->d.batch > 0;
    rows = z->pop ? 1 : z->src ? (double)z->d.batch : floor((double)(z->online ? z->d.batch_ratio : z->d.alpha) * z->D + 0.5);
    z->B = rows < 1 ? 1 : rows > 2147483647.0 ? 0 : (int)rows;
    if (z->B < 1 || (double)z->B * z->D > 2147483647.0 || (double)z->N * z->N > 2147483647.0 ||
        (double)z->N * z->D > 2147483647.0)
        FW__DLN_FAIL(FW_ERR_SIZE, "fw_dln_desc", "D, width or the number of samples too large");
    z->gam = z->d.ntk ? 1 / fw__sqrt((fw_real)z->N) : z->d.balanced ? z->d.gamma0 / fw__sqrt((fw_real)z->D) : z->d.gamma0;
    z->c = z->d.residual > 0 ? z->d.residual / fw__sqrt((fw_real)z->L) : 0;
    z->eta = z->d.lr;
    z->nrec = fw_dln_record_count(&z->d);
    return FW_OK;
}

FW_API int fw_dln_record_count(const fw_dln_desc *desc)
{
    return desc == NULL ? 0 : fw__rec_count(desc->steps, desc->every);
}

FW_API int fw_dln_record_time(const fw_dln_desc *desc, int r)
{
    return desc == NULL ? -1 : fw__rec_time(desc->steps, desc->every, r);
}

static void fw__dln_lay(fw_arena *ar, fw__dln *z)
{
    const size_t D = (size_t)z->D, N = (size_t)z->N, L = (size_t)z->L, B = (size_t)z->B;
    z->lam = FW__PUSH(ar, D);
    z->sl = FW__PUSH(ar, D);
    z->bstar = FW__PUSH(ar, D);
    z->W0 = FW__PUSH(ar, N * D);
    z->W = FW__PUSH(ar, (L - 1) * N * N + 1);
    z->w = FW__PUSH(ar, N);
    z->X = FW__PUSH(ar, B * D);
    z->y = FW__PUSH(ar, B);
    z->a = FW__PUSH(ar, L * N);
    z->b = FW__PUSH(ar, L * N);
    z->beff = FW__PUSH(ar, D);
    z->beff0 = FW__PUSH(ar, D);
    z->f = FW__PUSH(ar, B);
    z->r = FW__PUSH(ar, D);
    z->rec = FW__PUSH(ar, 2 * (size_t)z->nrec);
}

FW_API fw_status fw_dln_workspace_size(const fw_dln_desc *desc, size_t *bytes)
{
    fw__dln z;
    fw_arena ar;
    fw_status st;
    if (bytes == NULL) return FW_ERR_NULL;
    if ((st = fw__dln_resolve(desc, &z)) != FW_OK) return st;
    fw_arena_init(&ar, NULL, 0);
    fw__dln_lay(&ar, &z);
    if (ar.failed) return FW_ERR_SIZE;
    *bytes = ar.used;
    return FW_OK;
}

/* B samples x = Sigma^(1/2) z and y = beta*.x/sqrt(D) + noise xi (z row by row, then xi). */
static void fw__dln_draw_data(fw__dln *z, fw_rng *rng)
{
    const int D = z->D;
    const fw_real isd = z->src ? 1 : 1 / fw__sqrt((fw_real)D);   /* capacity/source: y = beta*.x */
    int i, k;
    fw_rng_fill_normal(rng, z->X, z->B * D, 1);
    for (i = 0; i < z->B; ++i) {
        fw_real *x = z->X + (size_t)i * D, acc = 0;
        for (k = 0; k < D; ++k) { x[k] *= z->sl[k]; acc += z->bstar[k] * x[k]; }
        z->y[i] = acc * isd;
    }
    if (z->d.noise > 0)
        for (i = 0; i < z->B; ++i) z->y[i] += z->d.noise * fw_rng_normal(rng);
}

/* a(l) = df/dh(l) for l = 1..L (rows 0..L-1 of z->a) from the readout, and beta_eff = W0^T a(1)
   (f = a(1).h1 = (W0^T a(1)).x/sqrt(D)). */
static void fw__dln_pullback(fw__dln *z)
{
    const int N = z->N, L = z->L;
    const fw_real isn = 1 / fw__sqrt((fw_real)N);
    int l, i;
    for (i = 0; i < N; ++i) z->a[(size_t)(L - 1) * N + i] = z->w[i] / (z->gam * (fw_real)N);
    for (l = L - 2; l >= 0; --l) {
        fw_real *al = z->a + (size_t)l * N;
        const fw_real *an = z->a + (size_t)(l + 1) * N, *Wl = z->W + (size_t)l * N * N;   /* W(l+1) maps h(l+1) -> h(l+2) */
        if (z->c > 0) {
            memcpy(al, an, (size_t)N * sizeof(fw_real));
            fw__gemv(FW_TRANS, N, N, z->c * isn, Wl, N, an, 1, al);
        } else {
            fw__gemv(FW_TRANS, N, N, isn, Wl, N, an, 0, al);
        }
    }
    fw__gemv(FW_TRANS, N, z->D, 1, z->W0, z->D, z->a, 0, z->beff);
}

/* One member: draws, trains, records train and test loss into z->rec. */
static fw_status fw__dln_member(fw__dln *z, uint64_t stream, int *bad_step)
{
    const int D = z->D, N = z->N, L = z->L, B = z->B, T = z->d.steps;
    const fw_real isd = z->src ? 1 : 1 / fw__sqrt((fw_real)D), isn = 1 / fw__sqrt((fw_real)N);
    const fw_real step0 = z->eta * z->gam * z->gam * (fw_real)N * (z->src ? 1 : (fw_real)D);   /* W0 */
    const fw_real step = z->d.balanced ? step0 : z->eta * z->gam * z->gam * (fw_real)N;   /* hidden and readout */
    fw_rng rng;
    fw_real norm = 0, tnorm = 0;
    int k, l, t, i, rr = 0;
    fw_rng_init(&rng, z->d.seed, stream);
    /* the spectrum and the teacher */
    for (k = 0; k < D; ++k) {
        z->lam[k] = z->d.spectrum > 0 ? (fw_real)pow((double)(k + 1), -(double)z->d.spectrum) : 1;
        norm += z->lam[k];
    }
    if (z->src) {   /* capacity/source: lambda_k = k^-a, beta*_k = k^((a - a beta - 1)/2), no draw */
        const double a = (double)z->d.spectrum;
        for (k = 0; k < D; ++k) {
            z->bstar[k] = (fw_real)pow((double)(k + 1), (a - a * (double)z->d.source - 1) / 2);
            z->sl[k] = fw__sqrt(z->lam[k]);
        }
    } else {
        for (k = 0; k < D; ++k) { z->lam[k] *= (fw_real)D / norm; z->sl[k] = fw__sqrt(z->lam[k]); }
        fw_rng_fill_normal(&rng, z->bstar, D, 1);
    }
    if (z->d.task > 0) {
        for (k = 0; k < D; ++k) tnorm += (fw_real)pow((double)(k + 1), -(double)z->d.task);
        for (k = 0; k < D; ++k)
            z->bstar[k] *= fw__sqrt((fw_real)pow((double)(k + 1), -(double)z->d.task) / z->lam[k] * (fw_real)D / tnorm);
    }
    /* weights: W0 (N x D), W(1..L-1) (N x N each), w (N) */
    fw_rng_fill_normal(&rng, z->W0, N * D, 1);
    if (L > 1) fw_rng_fill_normal(&rng, z->W, (L - 1) * N * N, 1);
    fw_rng_fill_normal(&rng, z->w, N, 1);
    if (!z->online && !z->pop) fw__dln_draw_data(z, &rng);
    for (t = 0; t <= T; ++t) {
        fw_real train = 0, test = 0;
        if (z->online) fw__dln_draw_data(z, &rng);
        fw__dln_pullback(z);
        if (z->d.centered) {   /* f - f(0): beta_eff - beta_eff(0) */
            if (t == 0) memcpy(z->beff0, z->beff, (size_t)D * sizeof(fw_real));
            for (k = 0; k < D; ++k) z->beff[k] -= z->beff0[k];
        }
        if (z->pop) {   /* population gradient: r = Sigma (beta_eff - beta*), loss (sum_k lambda_k v_k^2 + s^2)/2 */
            for (k = 0; k < D; ++k) {
                const fw_real v = z->beff[k] - z->bstar[k];
                z->r[k] = z->lam[k] * v;
                test += z->r[k] * v;
            }
            train = test;
        } else {
            fw__gemv(FW_NO_TRANS, B, D, isd, z->X, D, z->beff, 0, z->f);
            for (i = 0; i < B; ++i) { z->f[i] -= z->y[i]; train += z->f[i] * z->f[i]; }   /* f <- e = f - y */
        }
        if (!fw__all_finite(1, D, z->beff, D) || !fw__finite(train)) { *bad_step = t; return FW_ERR_DIVERGED; }
        if (rr < z->nrec && fw_dln_record_time(&z->d, rr) == t) {
            if (!z->pop)
                for (k = 0; k < D; ++k) test += z->lam[k] * (z->beff[k] - z->bstar[k]) * (z->beff[k] - z->bstar[k]);
            z->rec[2 * rr] = z->pop ? (train + z->d.noise * z->d.noise) / 2 : train / (2 * (fw_real)B);
            z->rec[2 * rr + 1] = (test / (z->src ? 1 : (fw_real)D) + z->d.noise * z->d.noise) / 2;
            ++rr;
        }
        if (t == T) break;
        /* r = X^T e / B (population: computed above); b(1) = W0 r / sqrt(D), b(l+1) = M(l) b(l) */
        if (!z->pop) fw__gemv(FW_TRANS, B, D, 1 / (fw_real)B, z->X, D, z->f, 0, z->r);
        fw__gemv(FW_NO_TRANS, N, D, isd, z->W0, D, z->r, 0, z->b);
        for (l = 0; l + 1 < L; ++l) {
            const fw_real *bl = z->b + (size_t)l * N, *Wl = z->W + (size_t)l * N * N;
            fw_real *bn = z->b + (size_t)(l + 1) * N;
            if (z->c > 0) {
                memcpy(bn, bl, (size_t)N * sizeof(fw_real));
                fw__gemv(FW_NO_TRANS, N, N, z->c * isn, Wl, N, bl, 1, bn);
            } else {
                fw__gemv(FW_NO_TRANS, N, N, isn, Wl, N, bl, 0, bn);
            }
        }
        /* rank-one steps, all from the gradients at the current weights:
           w -= step b(L)/(gamma0 N); W(l) -= step c' a(l+1) b(l)^T/sqrt(N); W0 -= step D a(1) r^T/sqrt(D) */
        for (i = 0; i < N; ++i) z->w[i] -= step * z->b[(size_t)(L - 1) * N + i] / (z->gam * (fw_real)N);
        for (l = 0; l + 1 < L; ++l) {
            const fw_real *an = z->a + (size_t)(l + 1) * N, *bl = z->b + (size_t)l * N, cf = step * (z->c > 0 ? z->c : 1) * isn;
            fw_real *Wl = z->W + (size_t)l * N * N;
            for (i = 0; i < N; ++i) {
                const fw_real s = cf * an[i];
                fw_real *row = Wl + (size_t)i * N;
                for (k = 0; k < N; ++k) row[k] -= s * bl[k];
            }
        }
        for (i = 0; i < N; ++i) {
            const fw_real s = step0 * isd * z->a[i];
            fw_real *row = z->W0 + (size_t)i * D;
            for (k = 0; k < D; ++k) row[k] -= s * z->r[k];
        }
    }
    return FW_OK;
}

FW_API fw_status fw_dln_simulate_ws(const fw_dln_desc *desc, uint64_t seed_begin, uint64_t seed_end,
                                    fw_stats *stats, int *diverged_step, void *ws, size_t ws_bytes)
{
    fw__dln z;
    fw_arena ar;
    fw_status st;
    uint64_t s;
    int bad = -1;
    if (diverged_step != NULL) *diverged_step = -1;
    if (stats == NULL || ws == NULL) return FW_ERR_NULL;
    if ((st = fw__dln_resolve(desc, &z)) != FW_OK) return st;
    if (stats->n != 2 * z.nrec) FW__DLN_FAIL(FW_ERR_SIZE, "fw_stats", "needs n = 2 fw_dln_record_count(desc)");
    fw_arena_init(&ar, ws, ws_bytes);
    fw__dln_lay(&ar, &z);
    if (ar.failed) FW__DLN_FAIL(FW_ERR_WORKSPACE, "fw_dln_simulate_ws", "workspace smaller than fw_dln_workspace_size");
    for (s = seed_begin; s < seed_end; ++s) {
        if ((st = fw__dln_member(&z, s, &bad)) != FW_OK) {
            if (diverged_step != NULL) *diverged_step = bad;
            fw__report(&desc->log, st, "fw_dln_simulate", "training blew up: lower the learning rate");
            return st;
        }
        fw_stats_push(stats, z.rec);
    }
    return FW_OK;
}

FW_API fw_status fw_dln_simulate(const fw_dln_desc *desc, uint64_t seed_begin, uint64_t seed_end,
                                 fw_stats *stats, int *diverged_step, const fw_allocator *alloc)
{
    size_t bytes = 0;
    void *ws;
    fw_status st = fw_dln_workspace_size(desc, &bytes);
    if ((st = fw__ws_take(alloc, st, bytes, &ws)) != FW_OK) return st;
    st = fw_dln_simulate_ws(desc, seed_begin, seed_end, stats, diverged_step, ws, bytes);
    fw__free(alloc, ws);
    return st;
}

/* ---- the capacity/source convention (docs/dln.md section 9) ---- */

/* Modes 1..FW__SRC_EXACT are carried one by one; the rest, up to D (or FW__SRC_KMAX when D = 0), by
   8-point Gauss-Legendre panels a factor 4 long in k: a sum over modes of a function smooth in log k
   becomes an integral from FW__SRC_EXACT + 1/2 (midpoint rule; relative error ~ p^2/(24 k^2) of that
   part for a power k^-p, 1e-5 measured). Past FW__SRC_KMAX (D = 0) the modes are frozen for any run
   (lambda = 1e-18) and their loss is added in closed form. */
#define FW__SRC_EXACT 64
#define FW__SRC_KMAX 1e12
static const double fw__gl8_x[4] = {0.18343464249564980494, 0.52553240991632898582, 0.79666647741362673959,
                                    0.96028985649753623168};
static const double fw__gl8_w[4] = {0.36268378337836198297, 0.31370664587788728734, 0.22238103445337447054,
                                    0.10122853629037625915};

typedef struct fw__src {
    int K, T, nrec, rich, batch;   /* nodes; steps; records; 1: the muP theory (depth 1), 0: lazy closed form;
                                      one-pass SGD batch (0: population) */
    double a, beta, eta, e, g0, s2, c0, tail;   /* e: lazy step (L + 1) eta; c0: E beta_eff(0)_k^2 (NTK, not centered);
                                                   tail: (1/2) sum over frozen modes of lambda_k (beta*_k^2 + c0) */
    double *lam, *m, *bs;          /* per node: eigenvalue, the number of modes it stands for, teacher */
    double *B, *g, *x, *Qg, *Q;    /* muP: B = gamma0 beta_eff, g = Sigma v, x = m g, Qg, and Q - I (packed upper triangle) */
} fw__src;

static fw_status fw__src_setup(const fw_dln_desc *desc, fw__src *y, fw_arena *ar, int rich)
{
    const fw_dln_desc *d = desc;
    fw_dln_desc chk;
    fw__dln z;
    fw_status st;
    double lo, hi, h;
    int k0, np = 0, j, k, p, i;
    if (desc == NULL) return FW_ERR_NULL;
    memset(y, 0, sizeof *y);
    chk = *desc;   /* the simulator's checks; the limit needs no width, and D = 0 means all modes */
    if (chk.width == 0) chk.width = 1;
    if (chk.D == 0) chk.D = 1;
    if (!(chk.source > 0)) FW__DLN_FAIL(FW_ERR_ARG, "fw_dln_desc.source", "must be finite and >= 0 (0: the default convention)");
    if ((st = fw__dln_resolve(&chk, &z)) != FW_OK) return st;
    if (d->D == 0 && d->spectrum <= 1)
        FW__DLN_FAIL(FW_ERR_ARG, "fw_dln_desc.spectrum", "infinitely many modes (D = 0) need a > 1: the trace sum_k k^-a must be finite");
    if (d->residual != 0 || d->init_term)
        FW__DLN_FAIL(FW_ERR_ARG, "fw_dln_desc.source", "the capacity/source theory covers plain nets (no residual branches or init_term)");
    y->rich = rich && !d->ntk;
    if (y->rich && d->batch > 0)
        FW__DLN_FAIL(FW_ERR_ARG, "fw_dln_desc.batch", "one-pass SGD in the capacity/source convention: the lazy limit only (fw_dln_lazy, or ntk = 1); the rich dynamics with batch noise has no closed recursion here");
    if (y->rich && d->depth > 1)
        FW__DLN_FAIL(FW_ERR_ARG, "fw_dln_desc.depth", "the capacity/source theory at finite gamma0 covers depth 1 (deeper nets: the lazy limit, ntk = 1 or fw_dln_lazy)");
    y->T = d->steps; y->nrec = fw_dln_record_count(d); y->batch = d->batch;
    y->a = (double)d->spectrum; y->beta = (double)d->source; y->eta = (double)d->lr;
    y->e = y->eta * ((d->depth == 0 ? 1 : d->depth) + 1);   /* each of the L + 1 layers adds x.x' to the tangent kernel */
    y->g0 = (double)(d->gamma0 == 0 ? 1 : d->gamma0); y->s2 = (double)d->noise * d->noise;
    y->c0 = d->ntk && !d->centered ? 1 : 0;   /* NTK: beta_eff(0) has variance 1/(gamma0^2 N) = 1 per entry */
    k0 = d->D > 0 && d->D < FW__SRC_EXACT ? d->D : FW__SRC_EXACT;
    lo = log(k0 + 0.5); hi = log((d->D > 0 ? (double)d->D : FW__SRC_KMAX) + 0.5);
    if (hi > lo) np = (int)ceil((hi - lo) / log(4.0));
    y->K = k0 + 8 * np;
    {   /* K <= 64 + 8 * 20; Q is K x K */
        const size_t K = (size_t)y->K;
        y->lam = (double *)fw_arena_push(ar, sizeof(double) * K);
        y->m = (double *)fw_arena_push(ar, sizeof(double) * K);
        y->bs = (double *)fw_arena_push(ar, sizeof(double) * K);
        if (y->rich) {
            y->B = (double *)fw_arena_push(ar, sizeof(double) * K);
            y->g = (double *)fw_arena_push(ar, sizeof(double) * K);
            y->x = (double *)fw_arena_push(ar, sizeof(double) * 4 * K);   /* x, then the previous g, B and u */
            y->Qg = (double *)fw_arena_push(ar, sizeof(double) * K);
            y->Q = (double *)fw_arena_push(ar, sizeof(double) * K * (K + 1) / 2);   /* packed upper triangle */
        } else if (y->batch > 0) {
            y->g = (double *)fw_arena_push(ar, sizeof(double) * K);   /* lazy SGD: E v_k^2 per node */
        }
    }
    if (ar->failed || ar->base == NULL) return FW_OK;   /* sizing only */
    for (j = 0; j < k0; ++j) { y->lam[j] = pow(j + 1.0, -y->a); y->m[j] = 1; }
    h = np > 0 ? (hi - lo) / np : 0;
    for (p = 0, j = k0; p < np; ++p)
        for (i = 0; i < 8; ++i, ++j) {
            const double xg = i < 4 ? -fw__gl8_x[3 - i] : fw__gl8_x[i - 4], wg = fw__gl8_w[i < 4 ? 3 - i : i - 4];
            const double kk = exp(lo + h * (p + 0.5) + 0.5 * h * xg);
            y->lam[j] = pow(kk, -y->a); y->m[j] = 0.5 * h * wg * kk;
        }
    for (k = 0; k < y->K; ++k) y->bs[k] = sqrt(pow(y->lam[k], y->beta + 1 / y->a) / y->lam[k]);   /* lambda beta*^2 = k^-(a beta + 1) */
    if (d->D == 0) {   /* frozen modes past KMAX: integrals of k^-(a beta + 1) and c0 k^-a from KMAX + 1/2 */
        const double kx = FW__SRC_KMAX + 0.5;
        y->tail = 0.5 * (pow(kx, -y->a * y->beta) / (y->a * y->beta) + y->c0 * pow(kx, 1 - y->a) / (y->a - 1));
    }
    return FW_OK;
}

/* Lazy: every mode decays alone, v_k(t) = (1 - e lambda_k)^t v_k(0), E v_k(0)^2 = beta*_k^2 + c0.
   One-pass SGD with B samples (Gaussian x): the second moments m_k = E v_k^2 close exactly,
     m_k <- (1 - 2 e lambda_k + e^2 lambda_k^2 (1 + 1/B)) m_k + (e^2 lambda_k / B) (S + s^2),
   S = sum_k lambda_k m_k; the expected loss on a fresh batch (train) and on the population (test) are
   both (S + s^2)/2. The frozen modes past KMAX add their constant share to S. */
static void fw__src_lazy(const fw_dln_desc *d, const fw__src *y, fw_real *train, fw_real *test)
{
    int r, k, t;
    if (y->batch > 0) {
        const double Bn = (double)y->batch;
        double *mk = y->g;
        for (k = 0; k < y->K; ++k) mk[k] = y->bs[k] * y->bs[k] + y->c0;
        for (t = 0, r = 0; t <= y->T && r < y->nrec; ++t) {
            double S = 2 * y->tail;
            for (k = 0; k < y->K; ++k) S += y->m[k] * y->lam[k] * mk[k];
            if (fw_dln_record_time(d, r) == t) { train[r] = test[r] = (fw_real)((S + y->s2) / 2); ++r; }
            for (k = 0; k < y->K; ++k) {
                const double el = y->e * y->lam[k];
                mk[k] = (1 - 2 * el + el * el * (1 + 1 / Bn)) * mk[k] + el * y->e / Bn * (S + y->s2);
            }
        }
        return;
    }
    for (r = 0; r < y->nrec; ++r) {
        const double t = (double)fw_dln_record_time(d, r);
        double acc = 0;
        for (k = 0; k < y->K; ++k) {
            const double q = 1 - y->e * y->lam[k];
            acc += y->m[k] * y->lam[k] * (y->bs[k] * y->bs[k] + y->c0) * pow(q * q, t);
        }
        train[r] = test[r] = (fw_real)((acc + y->s2) / 2 + y->tail);
    }
}

/* muP, depth 1, infinite width: the network's weights U = [w, W0] (N x (1 + modes)) move by
   U <- U (I - eps J), eps = eta gamma0, J = e0 g^T + g e0^T, g = Sigma v. Everything the losses need is
   the Gram S = U^T U/N = [[C, B^T], [B, I + Q]] (C = |w|^2/N = G1, B = gamma0 beta_eff), which at
   infinite width starts at the identity and obeys S <- (I - eps J) S (I - eps J) exactly:
     C <- C - 2 eps B.g + eps^2 g.(I+Q)g,  B <- B - eps ((I+Q)g + C g) + eps^2 (B.g) g,
     Q <- Q - eps (g B^T + B g^T) + eps^2 C g g^T.
   Dot products are sums over modes (sum_k m_k ...); time K^2 per step, memory K^2/2 doubles. */
static fw_status fw__src_rich(const fw_dln_desc *desc, fw__src *y, fw_real *train, fw_real *test, fw_real *gkernel)
{
    const int K = y->K;
    const double eps = y->eta * y->g0, e2 = eps * eps;
    double C = 1, Bg, gQg;
    double *gp = y->x + K, *bp = gp + K, *up = bp + K;   /* the previous step's g and B, and its row factor */
    int t, j, l, r = 0;
    for (j = 0; j < K; ++j) { y->B[j] = 0; gp[j] = 0; bp[j] = 0; up[j] = 0; }
    for (j = 0; j < K * (K + 1) / 2; ++j) y->Q[j] = 0;
    for (t = 0; t <= y->T; ++t) {
        double loss = 0, *q = y->Q;
        for (j = 0; j < K; ++j) {
            const double v = y->B[j] / y->g0 - y->bs[j];
            y->g[j] = y->lam[j] * v;
            y->x[j] = y->m[j] * y->g[j];
            y->Qg[j] = 0;
            loss += y->x[j] * v;
        }
        loss = (loss + y->s2) / 2 + y->tail;
        if (!(loss < HUGE_VAL)) FW__DLN_FAIL(FW_ERR_DIVERGED, "fw_dln_theory", "the loss overflows: eta (1 + G1) times the top eigenvalue passed 2");
        if (r < y->nrec && fw_dln_record_time(desc, r) == t) {
            train[r] = test[r] = (fw_real)loss;
            if (gkernel != NULL) gkernel[r] = (fw_real)C;
            ++r;
        }
        if (t == y->T) break;
        /* one pass over the packed upper triangle: the previous step's update
           Q += g_p u_p^T - eps B_p g_p^T (u_p = eps^2 C_p g_p - eps B_p; symmetric), then Q x */
        for (j = 0; j < K; ++j) {
            const double gj = gp[j], bj = -eps * bp[j], xj = y->x[j];
            double acc;
            q[0] += gj * up[j] + bj * gp[j];
            acc = q[0] * xj;
            for (l = j + 1; l < K; ++l) {
                const double v = q[l - j] + gj * up[l] + bj * gp[l];
                q[l - j] = v;
                acc += v * y->x[l];
                y->Qg[l] += v * xj;
            }
            y->Qg[j] += acc;
            q += K - j;
        }
        Bg = 0; gQg = 0;
        for (j = 0; j < K; ++j) {
            y->Qg[j] += y->g[j];
            Bg += y->B[j] * y->x[j];
            gQg += y->x[j] * y->Qg[j];
        }
        for (j = 0; j < K; ++j) {
            gp[j] = y->g[j]; bp[j] = y->B[j];
            up[j] = e2 * C * gp[j] - eps * bp[j];
            y->B[j] += -eps * (y->Qg[j] + C * y->g[j]) + e2 * Bg * y->g[j];
        }
        C += -2 * eps * Bg + e2 * gQg;
    }
    return FW_OK;
}

/* The entry points for desc->source > 0 (fw_dln_lazy: rich = 0; fw_dln_theory: rich = 1). */
static fw_status fw__src_size(const fw_dln_desc *desc, size_t *bytes, int rich)
{
    fw__src y;
    fw_arena ar;
    fw_status st;
    if (bytes == NULL) return FW_ERR_NULL;
    fw_arena_init(&ar, NULL, 0);
    if ((st = fw__src_setup(desc, &y, &ar, rich)) != FW_OK) return st;
    if (ar.failed) return FW_ERR_SIZE;
    *bytes = ar.used;
    return FW_OK;
}

static fw_status fw__src_run(const fw_dln_desc *desc, fw_real *train, fw_real *test, fw_real *gkernel,
                             void *ws, size_t ws_bytes, int rich)
{
    fw__src y;
    fw_arena ar;
    fw_status st;
    int r;
    if (train == NULL || test == NULL || ws == NULL) return FW_ERR_NULL;
    fw_arena_init(&ar, ws, ws_bytes);
    if ((st = fw__src_setup(desc, &y, &ar, rich)) != FW_OK) return st;
    if (ar.failed) FW__DLN_FAIL(FW_ERR_WORKSPACE, rich ? "fw_dln_theory_ws" : "fw_dln_lazy_ws", "workspace smaller than the size query reports");
    if (y.rich) {
        if ((st = fw__src_rich(desc, &y, train, test, gkernel)) != FW_OK) return st;
    } else {
        fw__src_lazy(desc, &y, train, test);
        if (gkernel != NULL)   /* lazy: the backward kernels stay at their initial value 1 */
            for (r = 0; r < y.nrec * (desc->depth == 0 ? 1 : desc->depth); ++r) gkernel[r] = 1;
    }
    for (r = 0; r < y.nrec; ++r)
        if (!fw__finite(train[r]) || !fw__finite(test[r]))
            FW__DLN_FAIL(FW_ERR_DIVERGED, rich ? "fw_dln_theory" : "fw_dln_lazy", "the losses overflow: eta times the tangent kernel's top eigenvalue is past 2");
    return FW_OK;
}

/* ---- the lazy limit (docs/dln.md section 2) ---- */

/* Checks desc for the lazy theory; *gain = (1 + c^2)^(L-1). */
static fw_status fw__dln_lazy_check(const fw_dln_desc *desc, fw__dln *z, double *gain, int lazy)
{
    fw_status st;
    fw_dln_desc d;
    if (desc == NULL) return FW_ERR_NULL;
    d = *desc;
    if (d.width < 0) FW__DLN_FAIL(FW_ERR_SIZE, "fw_dln_desc.width", "must be >= 0 (0: no width; the limit does not need one)");
    if (d.width == 0 && d.init_term) FW__DLN_FAIL(FW_ERR_SIZE, "fw_dln_desc.width", "the initial-function term needs the width N");
    if (d.width == 0) d.width = 1;   /* not used by the limit */
    if ((st = fw__dln_resolve(&d, z)) != FW_OK) return st;
    if (lazy && !z->online && z->d.spectrum > 0)
        FW__DLN_FAIL(FW_ERR_ARG, "fw_dln_desc.spectrum", "the lazy form for repeated data covers isotropic inputs (spectrum = 0); power-law spectra: fw_dln_theory");
    *gain = pow(1 + (double)z->c * z->c, (double)(z->L - 1));
    return FW_OK;
}

/* The lazy theory's workspace: F, K and S of the SGD convolution (3 (T+1) doubles); one double else. */
static double *fw__dln_lazy_lay(fw_arena *ar, const fw__dln *z)
{
    return (double *)fw_arena_push(ar, sizeof(double) * (z->online ? 3 * ((size_t)z->d.steps + 1) : 1));
}

FW_API fw_status fw_dln_lazy_workspace_size(const fw_dln_desc *desc, size_t *bytes)
{
    fw__dln z;
    fw_arena ar;
    double gain;
    fw_status st;
    if (bytes == NULL) return FW_ERR_NULL;
    if (desc != NULL && desc->source != 0) return fw__src_size(desc, bytes, 0);
    if ((st = fw__dln_lazy_check(desc, &z, &gain, 1)) != FW_OK) return st;
    fw_arena_init(&ar, NULL, 0);
    fw__dln_lazy_lay(&ar, &z);
    if (ar.failed) return FW_ERR_SIZE;
    *bytes = ar.used;
    return FW_OK;
}

/* Repeated data: with v = beta_eff - beta*, lambda over the spectrum mu of X^T X/P (Marchenko-Pastur
   at ratio q = 1/alpha; atom 1 - alpha at 0 when alpha < 1),
     test(t)  = [ (1 + c0) int (1 - e lambda)^2t dmu + (s^2/alpha) int lambda Q_t(lambda)^2 dmu + s^2 ] / 2,
     train(t) = [ (1/alpha) int_{lambda>0} (1 - e lambda)^2t ((1 + c0) alpha lambda + s^2) dmu
                  + max(0, 1 - 1/alpha) s^2 ] / 2,
   Q_t = e sum_{u<t} (1 - e lambda)^u. With lambda = 1 + q + 2 sqrt(q) cos th the continuous part is
   dmu = (2/pi) sin^2 th / lambda dth, a smooth periodic integrand: the midpoint rule in th converges
   geometrically and reaches rounding with 2T + 64 + 80/|ln q| nodes (exact for alpha = 1). */
static void fw__dln_lazy_repeated(const fw__dln *z, double e, double c0, fw_real *train, fw_real *test)
{
    const double alpha = (double)z->d.alpha, q = 1 / alpha, s2 = (double)z->d.noise * z->d.noise;
    const double lq = fabs(log(q));   /* 1/lambda(th) has Fourier coefficients ~ exp(-n lq/2) */
    const int T = z->d.steps, nq = 2 * T + 64 + (lq > 0 ? (80 / lq < 1e5 ? (int)(80 / lq) : 100000) : 0);
    const double pi = 3.14159265358979323846;
    int j, t, r;
    for (r = 0; r < z->nrec; ++r) { train[r] = 0; test[r] = 0; }
    for (j = 0; j < nq; ++j) {
        const double th = pi * (j + 0.5) / nq, sn = sin(th);
        const double lam = 1 + q + 2 * sqrt(q) * cos(th), wgt = 2 / pi * sn * sn / lam * (pi / nq);
        double p = 1, Q = 0;
        r = 0;
        for (t = 0; t <= T && r < z->nrec; ++t) {
            if (fw_dln_record_time(&z->d, r) == t) {
                test[r] += (fw_real)(wgt * ((1 + c0) * p * p + s2 / alpha * lam * Q * Q));
                train[r] += (fw_real)(wgt * p * p * ((1 + c0) * alpha * lam + s2) / alpha);
                ++r;
            }
            Q += e * p;
            p *= 1 - e * lam;
        }
    }
    for (r = 0; r < z->nrec; ++r) {
        const double atom = alpha < 1 ? 1 - alpha : 0;
        test[r] = (fw_real)(((double)test[r] + (1 + c0) * atom + s2) / 2);
        train[r] = (fw_real)(((double)train[r] + (alpha > 1 ? 1 - q : 0) * s2) / 2);
    }
}

/* One-pass SGD, B = b D fresh samples per step. Per mode k (eigenvalue lambda_k of Sigma, trace D)
   the expected m_k = E v_k^2 obeys, exactly for Gaussian inputs (E S A S = Sigma A Sigma (1 + 1/B)
   + tr(A Sigma) Sigma / B for the batch covariance S),
     m_k(t+1) = A_k m_k(t) + c_k (S(t) + s^2 D),  A_k = 1 - 2 e lambda_k + e^2 lambda_k^2 (1 + 1/B),
     c_k = e^2 lambda_k / B,  S(t) = sum_k lambda_k m_k(t),
   so S(t) = F(t) + sum_{u<t} K(t-1-u) (S(u) + s^2 D) with F(t) = sum_k lambda_k A_k^t m_k(0) and
   K(tau) = sum_k lambda_k c_k A_k^tau; test = train = (S/D + s^2)/2. */
static void fw__dln_lazy_sgd(const fw__dln *z, double e, double c0, double *F, double *K, double *S,
                             fw_real *train, fw_real *test)
{
    const int T = z->d.steps, D = z->D, iso = z->d.spectrum <= 0 && z->d.task <= 0;
    const int modes = iso ? 1 : D;
    const double B = (double)z->B, s2 = (double)z->d.noise * z->d.noise;
    double norm = 0, tnorm = 0;
    int k, t, u, r;
    for (k = 0; k < D && !iso; ++k) {
        norm += z->d.spectrum > 0 ? pow((double)(k + 1), -(double)z->d.spectrum) : 1;
        tnorm += z->d.task > 0 ? pow((double)(k + 1), -(double)z->d.task) : 1;
    }
    for (t = 0; t <= T; ++t) { F[t] = 0; K[t] = 0; }
    for (k = 0; k < modes; ++k) {
        const double lam = iso ? 1 : (z->d.spectrum > 0 ? pow((double)(k + 1), -(double)z->d.spectrum) * D / norm : 1);
        const double b2 = iso || z->d.task <= 0 ? 1 : pow((double)(k + 1), -(double)z->d.task) / lam * D / tnorm;
        const double A = 1 - 2 * e * lam + e * e * lam * lam * (1 + 1 / B), c = e * e * lam / B;
        const double wk = iso ? (double)D : 1;
        double p = 1;
        for (t = 0; t <= T; ++t) { F[t] += wk * lam * (b2 + c0) * p; K[t] += wk * lam * c * p; p *= A; }
    }
    for (t = 0; t <= T; ++t) {
        double acc = F[t];
        for (u = 0; u < t; ++u) acc += K[t - 1 - u] * (S[u] + s2 * D);
        S[t] = acc;
    }
    for (r = 0; r < z->nrec; ++r) {
        const double v = (S[fw_dln_record_time(&z->d, r)] / D + s2) / 2;
        train[r] = (fw_real)v; test[r] = (fw_real)v;
    }
}

FW_API fw_status fw_dln_lazy_ws(const fw_dln_desc *desc, fw_real *train, fw_real *test, void *ws, size_t ws_bytes)
{
    fw__dln z;
    fw_arena ar;
    double gain, *F;
    fw_status st;
    int r;
    if (train == NULL || test == NULL || ws == NULL) return FW_ERR_NULL;
    if (desc != NULL && desc->source != 0) return fw__src_run(desc, train, test, NULL, ws, ws_bytes, 0);
    if ((st = fw__dln_lazy_check(desc, &z, &gain, 1)) != FW_OK) return st;
    if (z.d.balanced) FW__DLN_FAIL(FW_ERR_ARG, "fw_dln_desc.balanced", "the lazy closed form is the default scaling's; use fw_dln_theory for the balanced one");
    fw_arena_init(&ar, NULL, 0);   /* the size fw_dln_lazy_workspace_size reports */
    fw__dln_lazy_lay(&ar, &z);
    if (ar.failed || ws_bytes < ar.used)
        FW__DLN_FAIL(FW_ERR_WORKSPACE, "fw_dln_lazy_ws", "workspace smaller than fw_dln_lazy_workspace_size");
    fw_arena_init(&ar, ws, ws_bytes);
    F = fw__dln_lazy_lay(&ar, &z);
    {
        const double e = (double)z.eta * gain, c0 = z.d.ntk && !z.d.centered ? gain : 0;   /* centered: no initial function */
        if (z.online) fw__dln_lazy_sgd(&z, e, c0, F, F + z.d.steps + 1, F + 2 * ((size_t)z.d.steps + 1), train, test);
        else fw__dln_lazy_repeated(&z, e, c0, train, test);
    }
    for (r = 0; r < z.nrec; ++r)
        if (!fw__finite(train[r]) || !fw__finite(test[r]))
            FW__DLN_FAIL(FW_ERR_DIVERGED, "fw_dln_lazy", "the losses overflow: eta times the largest data eigenvalue is past 2");
    return FW_OK;
}

FW_API fw_status fw_dln_lazy(const fw_dln_desc *desc, fw_real *train, fw_real *test, const fw_allocator *alloc)
{
    size_t bytes = 0;
    void *ws;
    fw_status st = fw_dln_lazy_workspace_size(desc, &bytes);
    if ((st = fw__ws_take(alloc, st, bytes, &ws)) != FW_OK) return st;
    st = fw_dln_lazy_ws(desc, train, test, ws, bytes);
    fw__free(alloc, ws);
    return st;
}

/* ---- the proportional-limit theory (docs/dln.md section 3) ---- */

typedef struct fw__dlt {
    int L, T1, nv, nvar, sgd, res, bal;
    double eta, g0, c, c0, alpha, s2, B, D, rn;   /* rn: 1/sqrt(nu) (balanced scaling) */
    double *kt, *Xr;        /* K(t, s) = chi_g(t,s)/gamma0 - eta G1(s,t) at the current t (T1); balanced:
                               chi_r(t, s) = <dr(t)/du(s)> (T1 x T1) */
    double *A, *S;          /* nvar x nv: coefficients of q_l(t), g_l(t) on the noises; nv: Sigma times the newest one */
    double *Cq, *G, *Cr;    /* L x T1 x T1 (layer l at l-1), L x T1 x T1, T1 x T1 */
    double xi, *Zn, *zw, *Xs;     /* init_term: 1/(gamma0^2 N) (balanced: 1/(gamma0^2 nu)); one-pass SGD: per mode Z (T1 x T1); G1 z (T1);
                                     SGD: per mode xi z_s^T G1 z_t at the current t (T1) */
    int nm;                       /* modes of Sigma carried (1 for isotropic data, else D) */
    double *lamk, *wk, *v0k;      /* per mode: eigenvalue of Sigma, weight 1/D (1 if isotropic), E v_k(0)^2 */
    double *P, *H, *m, *Ve;       /* per mode: P (T1), H (T1 x T1), m and Ve (T1) */
    int cav, nk;                  /* repeated data: the cavity of the data matrix (docs/dln.md section 8), nm modes
                                     (1 on isotropic inputs); nk = entries of a mode's coefficient vector */
    double *Wc, *Rc, *Ec, *Cw, *Ce, *chw, *sw;   /* per mode: w_k(t), rho_k(t) on (b0, xi(0..T), rho0(0..T))
                                     (nm x T1 x nk each); P-space e(t) on (h0(0..T), label noise) (T1 x (T1+1));
                                     C_w, C_e (T1 x T1); chi_w (T1 x T1); scratch (nk) */
} fw__dlt;

/* noise blocks: psi_l (l = 1..L-1, the field A_l^T g_(l+1)/sqrt(N)), phi_l (l = 2..L, A_(l-1) q_(l-1)/sqrt(N)), w0
   last. With residual branches the single site spans all layers and a vector holds every block; without,
   a layer's variables touch only its own psi_l, phi_l (and w0 at layer L), so each vector holds just those
   (local layout psi, phi, w0: nv = 2 T1 + 1, an L-fold saving; L = 1 has w0 only, nv = 1). The balanced
   scaling adds phi_1 = A_0 r/sqrt(D) (the input layer's random part; kernel C_r): layer 1's phi slot in the
   local layout (L = 1 then uses it too), a last block before w0 with residual branches. */
#define FW__DLT_PSI(z, l, s) ((z)->res ? (size_t)((l) - 1) * (z)->T1 + (size_t)(s) : (size_t)(s))
#define FW__DLT_PHI(z, l, s) ((z)->res ? (size_t)((l) >= 2 ? (z)->L - 1 + (l) - 2 : 2 * (z)->L - 2) * (z)->T1 + (size_t)(s) \
                                      : (size_t)(z)->T1 + (size_t)(s))
#define FW__DLT_Q(z, l, t) ((size_t)(2 * ((l) - 1)) * (z)->T1 + (size_t)(t))
#define FW__DLT_G(z, l, t) ((size_t)(2 * ((l) - 1) + 1) * (z)->T1 + (size_t)(t))
#define FW__DLT_K(z, M, l, s, t) ((M)[((size_t)((l) - 1) * (z)->T1 + (size_t)(s)) * (z)->T1 + (size_t)(t)])

static fw_status fw__dlt_setup(const fw_dln_desc *desc, fw__dln *z, fw__dlt *y, fw_arena *ar)
{
    double gain, words;
    fw_status st;
    size_t T1, nv, nvar, L;
    if ((st = fw__dln_lazy_check(desc, z, &gain, 0)) != FW_OK) return st;
    if (z->d.balanced && desc->width < 1) FW__DLN_FAIL(FW_ERR_SIZE, "fw_dln_desc.width", "the balanced theory needs the width (nu = width/D)");
    memset(y, 0, sizeof *y);
    {   /* sizes in double first: the int products below must not overflow */
        const double Ld = (double)z->L, Td = (double)z->d.steps + 1,
                     nvd = z->d.residual > 0 ? (2 * Ld - 2 + (z->d.balanced ? 1 : 0)) * Td + 1 : z->L == 1 && !z->d.balanced ? 1 : 2 * Td + 1;
        const double nmd = (z->online && (z->d.spectrum > 0 || z->d.task > 0)) || z->d.spectrum > 0 ? (double)z->D : 1;
        const int zt = z->d.init_term || z->d.balanced;
        words = (2 * Ld * Td + 1) * nvd + 3.0 * Ld * Td * Td + 2 * Td * Td + (z->online ? nmd * (Td * Td + 3.0 * Td + 3) * (zt ? 2 : 1)
                : nmd * (2 * Td * (2 * Td + 1) + 3) + 5 * Td * Td + 2 * Td + 1);
        if (words * (double)sizeof(double) > (double)SIZE_MAX / 2 || nvd > 2e9 || 2 * Ld * Td > 2e9)
            FW__DLN_FAIL(FW_ERR_SIZE, "fw_dln_desc", "steps and depth too large for the theory's memory (~8 L^2 T^2 doubles)");
    }
    y->L = z->L; y->T1 = z->d.steps + 1; y->sgd = z->online; y->res = z->d.residual > 0; y->bal = z->d.balanced != 0;
    y->eta = (double)z->eta;
    y->c = y->res ? (double)z->c : 1;
    y->alpha = (double)z->d.alpha; y->s2 = (double)z->d.noise * z->d.noise; y->B = (double)z->B; y->D = (double)z->D;
    if (y->bal) {   /* gamma0 here is the balanced one (NTK: sqrt(D/N)); the initial function has variance G1/(gamma0^2 nu) */
        const double nu = (double)z->N / y->D;
        y->g0 = z->d.ntk ? 1 / sqrt(nu) : (double)z->d.gamma0; y->c0 = 0; y->rn = 1 / sqrt(nu);
        y->xi = 1 / (y->g0 * y->g0 * nu);
    } else {
        y->g0 = z->d.ntk ? 0 : (double)z->d.gamma0; y->c0 = z->d.ntk && !z->d.centered ? gain : 0;
        if (z->d.init_term && !z->d.ntk) y->xi = 1 / ((double)z->d.gamma0 * (double)z->d.gamma0 * (double)z->N);
    }
    y->nv = y->res ? (2 * y->L - 2 + y->bal) * y->T1 + 1 : y->L == 1 && !y->bal ? 1 : 2 * y->T1 + 1;
    y->nvar = 2 * y->L * y->T1;
    T1 = (size_t)y->T1; nv = (size_t)y->nv; nvar = (size_t)y->nvar; L = (size_t)y->L;
    y->A = (double *)fw_arena_push(ar, sizeof(double) * nvar * nv);
    y->S = (double *)fw_arena_push(ar, sizeof(double) * nv);
    y->Cq = (double *)fw_arena_push(ar, sizeof(double) * L * T1 * T1);
    y->G = (double *)fw_arena_push(ar, sizeof(double) * L * T1 * T1);
    y->Cr = (double *)fw_arena_push(ar, sizeof(double) * T1 * T1);
    y->kt = (double *)fw_arena_push(ar, sizeof(double) * T1);
    if (y->bal) y->Xr = (double *)fw_arena_push(ar, sizeof(double) * T1 * T1);
    y->cav = !y->sgd;
    if (y->cav) {   /* the data cavity (docs/dln.md section 8): per mode w and rho on (b0, xi, rho0); one mode
                       stands for all on isotropic inputs */
        const size_t nm = (size_t)(y->nm = z->d.spectrum > 0 ? z->D : 1), nk = (size_t)(y->nk = 2 * y->T1 + 1);
        y->lamk = (double *)fw_arena_push(ar, sizeof(double) * nm);
        y->wk = (double *)fw_arena_push(ar, sizeof(double) * nm);
        y->v0k = (double *)fw_arena_push(ar, sizeof(double) * nm);
        y->Wc = (double *)fw_arena_push(ar, sizeof(double) * nm * T1 * nk);
        y->Rc = (double *)fw_arena_push(ar, sizeof(double) * nm * T1 * nk);
        y->Ec = (double *)fw_arena_push(ar, sizeof(double) * T1 * (T1 + 1));
        y->Cw = (double *)fw_arena_push(ar, sizeof(double) * T1 * T1);
        y->Ce = (double *)fw_arena_push(ar, sizeof(double) * T1 * T1);
        y->chw = (double *)fw_arena_push(ar, sizeof(double) * T1 * T1);
        y->sw = (double *)fw_arena_push(ar, sizeof(double) * (nk + T1 + 1));
    } else {
        const size_t nm = (size_t)(y->nm = z->d.spectrum > 0 || z->d.task > 0 ? z->D : 1);
        y->lamk = (double *)fw_arena_push(ar, sizeof(double) * nm);
        y->wk = (double *)fw_arena_push(ar, sizeof(double) * nm);
        y->v0k = (double *)fw_arena_push(ar, sizeof(double) * nm);
        y->P = (double *)fw_arena_push(ar, sizeof(double) * nm * T1);
        y->H = (double *)fw_arena_push(ar, sizeof(double) * nm * T1 * T1);
        y->m = (double *)fw_arena_push(ar, sizeof(double) * nm * T1);
        y->Ve = (double *)fw_arena_push(ar, sizeof(double) * nm * T1);
        if (y->xi > 0) {
            y->Zn = (double *)fw_arena_push(ar, sizeof(double) * nm * T1 * T1);
            y->zw = (double *)fw_arena_push(ar, sizeof(double) * T1);
            y->Xs = (double *)fw_arena_push(ar, sizeof(double) * nm * T1);
        }
    }
    return FW_OK;
}

FW_API fw_status fw_dln_theory_workspace_size(const fw_dln_desc *desc, size_t *bytes)
{
    fw__dln z;
    fw__dlt y;
    fw_arena ar;
    fw_status st;
    if (bytes == NULL) return FW_ERR_NULL;
    if (desc != NULL && desc->source != 0) return fw__src_size(desc, bytes, 1);
    fw_arena_init(&ar, NULL, 0);
    if ((st = fw__dlt_setup(desc, &z, &y, &ar)) != FW_OK) return st;
    if (ar.failed) return FW_ERR_SIZE;
    *bytes = ar.used;
    return FW_OK;
}

/* out = Sigma a over the noise blocks, entries 0..t of each block (psi_l: G_(l+1); phi_l: Cq_(l-1); w0: 1);
   a belongs to layer lv (only its blocks without residual branches). */
static void fw__dlt_sigma(const fw__dlt *y, const double *a, double *out, int t, int lv)
{
    int l, s, u;
    for (l = y->res ? 1 : lv; l <= (y->res ? y->L : lv); ++l) {
        if (l < y->L) {
            const size_t o = FW__DLT_PSI(y, l, 0);
            for (s = 0; s <= t; ++s) {
                double acc = 0;
                for (u = 0; u <= t; ++u) acc += FW__DLT_K(y, y->G, l + 1, s, u) * a[o + (size_t)u];
                out[o + (size_t)s] = acc;
            }
        }
        if (l >= 2 || y->bal) {   /* phi_1 (balanced): A_0 r/sqrt(D), kernel C_r */
            const size_t o = FW__DLT_PHI(y, l, 0);
            const double *K = l >= 2 ? y->Cq + (size_t)(l - 2) * y->T1 * y->T1 : y->Cr;
            for (s = 0; s <= t; ++s) {
                double acc = 0;
                for (u = 0; u <= t; ++u) acc += K[(size_t)s * y->T1 + (size_t)u] * a[o + (size_t)u];
                out[o + (size_t)s] = acc;
            }
        }
    }
    out[y->nv - 1] = a[y->nv - 1];
}

/* Vectors of time <= t are zero past entry t of each T1-block: the loops below visit entries 0..t of
   every block and the last entry (w0). */
static double fw__dlt_dot(const fw__dlt *y, const double *a, const double *b, int t)
{
    const int nb = (y->nv - 1) / y->T1;
    double acc = a[y->nv - 1] * b[y->nv - 1];
    int k, i;
    for (k = 0; k < nb; ++k) {
        const double *ak = a + (size_t)k * y->T1, *bk = b + (size_t)k * y->T1;
        for (i = 0; i <= t; ++i) acc += ak[i] * bk[i];
    }
    return acc;
}

static void fw__dlt_axpy(const fw__dlt *y, double s, const double *x, double *a, int t)
{
    const int nb = (y->nv - 1) / y->T1;
    int k, i;
    a[y->nv - 1] += s * x[y->nv - 1];
    for (k = 0; k < nb; ++k) {
        const double *xk = x + (size_t)k * y->T1;
        double *ak = a + (size_t)k * y->T1;
        for (i = 0; i <= t; ++i) ak[i] += s * xk[i];
    }
}

/* Stores variable v at time t: its kernel with the same variable at s <= t, a^T Sigma a_s with
   Sigma a (entries up to t, all known at t) formed once in y->S. */
static void fw__dlt_close(fw__dlt *y, size_t v, size_t v0, double *K, int l, int t)
{
    const size_t nv = (size_t)y->nv;
    int s;
    memset(y->S, 0, nv * sizeof(double));   /* blocks of other layers stay 0 */
    fw__dlt_sigma(y, y->A + v * nv, y->S, t, l);
    for (s = 0; s <= t; ++s) {
        const double k = fw__dlt_dot(y, y->A + (v0 + (size_t)s) * nv, y->S, s);
        FW__DLT_K(y, K, l, s, t) = k;
        FW__DLT_K(y, K, l, t, s) = k;
    }
}

/* The initial-function term at step t for one node or mode of eigenvalue lm (docs/dln.md sections 4, 7):
   row t of Z (Z(t,t) = 1, Z(t,u) = lm sum_{u<=s<t} K(t,s) Z(s,u), K = y->kt), then out[s] = xi z_s^T G1 z_t, s <= t. */
static void fw__dlt_zterm(fw__dlt *y, double *Z, double lm, int t, double *out)
{
    const int T1 = y->T1;
    double *zt = Z + (size_t)t * T1;
    int u, v, s;
    zt[t] = 1;
    for (u = 0; u < t; ++u) {
        double acc = 0;
        for (v = u; v < t; ++v) acc += y->kt[v] * Z[(size_t)v * T1 + u];
        zt[u] = lm * acc;
    }
    for (u = 0; u <= t; ++u) {   /* zw = G1 z_t */
        const double *gu = y->G + (size_t)u * T1;
        double acc = 0;
        for (v = 0; v <= t; ++v) acc += gu[v] * zt[v];
        y->zw[u] = acc;
    }
    for (s = 0; s <= t; ++s) {
        const double *zs = Z + (size_t)s * T1;
        double acc = 0;
        for (u = 0; u <= s; ++u) acc += zs[u] * y->zw[u];
        out[s] = y->xi * acc;
    }
}

/* out = Cov a for a mode's coefficient vector a on (b0, xi(0..T), rho0(0..T)) (the data cavity), entries
   0..t of the xi block and 0..ta of the rho0 block: Var b0 = v0, Cov xi = xi G1, Cov rho0 = alpha C_e. */
static void fw__dlt_cavcov(const fw__dlt *y, double v0, const double *a, double *out, int t, int ta)
{
    const int T1 = y->T1;
    int s, u;
    out[0] = v0 * a[0];
    for (s = 0; s <= t; ++s) {
        double acc = 0;
        if (y->xi > 0)
            for (u = 0; u <= t; ++u) acc += y->G[(size_t)s * T1 + (size_t)u] * a[1 + u];
        out[1 + s] = y->xi * acc;
    }
    for (s = 0; s <= ta; ++s) {
        double acc = 0;
        for (u = 0; u <= ta; ++u) acc += y->Ce[(size_t)s * T1 + (size_t)u] * a[1 + T1 + u];
        out[1 + T1 + s] = y->alpha * acc;
    }
    for (s = ta + 1; s <= t; ++s) out[1 + T1 + s] = 0;
}

/* a . b over the entries of times <= t (both blocks) and b0. */
static double fw__dlt_cavdot(const fw__dlt *y, const double *a, const double *b, int t)
{
    double acc = a[0] * b[0];
    int s;
    for (s = 0; s <= t; ++s) acc += a[1 + s] * b[1 + s] + a[1 + y->T1 + s] * b[1 + y->T1 + s];
    return acc;
}

/* a += f x for a mode's coefficient vectors, entries of times <= s (x is a variable of time s). */
static void fw__dlt_cavaxpy(const fw__dlt *y, double f, const double *x, double *a, int s)
{
    int u;
    a[0] += f * x[0];
    for (u = 0; u <= s; ++u) { a[1 + u] += f * x[1 + u]; a[1 + y->T1 + u] += f * x[1 + y->T1 + u]; }
}

/* Repeated data at step t (docs/dln.md section 8): per mode k of Sigma,
   w_k = sqrt(l_k) v_k and rho_k = X_k^T e/sqrt(D) (r~_k = sqrt(l_k) rho_k/alpha) with
     w_k(t)   = sqrt(l_k) (b0_k + xi_k(t)) + (l_k/alpha) sum_{s<t} K(t,s) rho_k(s),
     rho_k(t) = rho0_k(t) + alpha sum_{s<=t} chi_e(t,s) w_k(s),      rho0 ~ GP(0, alpha C_e),
   and one sample's error e(t) = h0(t) + sum_{s<t} chi_w(t,s) e(s) - noise, h0 ~ GP(0, C_w), with
   C_w = <w w>, C_e = <e e>, chi_w = <dw/drho0>, chi_e = de/dh0: the cavity of the P x D data matrix. */
static void fw__dlt_cavity(fw__dlt *y, int t, double *train, double *test)
{
    const int T1 = y->T1, nk = y->nk;
    double *sw = y->sw, *E = y->Ec, *Et = y->Ec + (size_t)t * (T1 + 1), *cr = y->Cr + (size_t)t * T1;
    int k, s, u;
    for (s = 0; s <= t; ++s) { y->Cw[(size_t)s * T1 + t] = 0; cr[s] = 0; }
    for (s = 0; s < t; ++s) y->chw[(size_t)t * T1 + s] = 0;
    for (k = 0; k < y->nm; ++k) {   /* w_k(t), C_w(., t), chi_w(t, .) */
        const double lm = y->lamk[k], sl = sqrt(lm), wk = y->wk[k];
        const double *R = y->Rc + (size_t)k * T1 * nk;
        double *W = y->Wc + (size_t)k * T1 * nk, *Wt = W + (size_t)t * nk;
        memset(Wt, 0, sizeof(double) * (size_t)nk);
        Wt[0] = sl;
        if (y->xi > 0) Wt[1 + t] = sl;
        for (s = 0; s < t; ++s) fw__dlt_cavaxpy(y, lm / y->alpha * y->kt[s], R + (size_t)s * nk, Wt, s);
        fw__dlt_cavcov(y, y->v0k[k], Wt, sw, t, t - 1);
        for (s = 0; s <= t; ++s) y->Cw[(size_t)s * T1 + t] += wk * fw__dlt_cavdot(y, W + (size_t)s * nk, sw, s);
        for (s = 0; s < t; ++s) y->chw[(size_t)t * T1 + s] += wk * Wt[1 + T1 + s];
    }
    for (s = 0; s < t; ++s) y->Cw[(size_t)t * T1 + s] = y->Cw[(size_t)s * T1 + t];
    /* one sample: e(t) on h0(0..t) and the label noise (last entry) */
    memset(Et, 0, sizeof(double) * (size_t)(T1 + 1));
    Et[t] = 1; Et[T1] = -1;
    for (s = 0; s < t; ++s) {
        const double f = y->chw[(size_t)t * T1 + s], *Es = E + (size_t)s * (T1 + 1);
        for (u = 0; u <= s; ++u) Et[u] += f * Es[u];
        Et[T1] += f * Es[T1];
    }
    for (s = 0; s <= t; ++s) {   /* sw = C_w E_t */
        double acc = 0;
        for (u = 0; u <= t; ++u) acc += y->Cw[(size_t)s * T1 + u] * Et[u];
        sw[s] = acc;
    }
    for (s = 0; s <= t; ++s) {
        const double *Es = E + (size_t)s * (T1 + 1);
        double acc = y->s2 * Es[T1] * Et[T1];
        for (u = 0; u <= s; ++u) acc += Es[u] * sw[u];
        y->Ce[(size_t)s * T1 + t] = y->Ce[(size_t)t * T1 + s] = acc;
    }
    for (k = 0; k < y->nm; ++k) {   /* rho_k(t), C_r(., t), chi_r(t, .) */
        const double lm = y->lamk[k], wk = y->wk[k] * lm / (y->alpha * y->alpha);
        const double *W = y->Wc + (size_t)k * T1 * nk;
        double *R = y->Rc + (size_t)k * T1 * nk, *Rt = R + (size_t)t * nk;
        memset(Rt, 0, sizeof(double) * (size_t)nk);
        Rt[1 + T1 + t] = 1;
        for (s = 0; s <= t; ++s) fw__dlt_cavaxpy(y, y->alpha * Et[s], W + (size_t)s * nk, Rt, s);
        fw__dlt_cavcov(y, y->v0k[k], Rt, sw, t, t);
        for (s = 0; s <= t; ++s) cr[s] += wk * fw__dlt_cavdot(y, R + (size_t)s * nk, sw, s);
        if (y->bal)   /* chi_r(t, s) = <dr~(t)/du(s)>, r~ = sqrt(l) rho/alpha, xi = u/(gamma0 sqrt(nu)) */
            for (s = 0; s <= t; ++s) y->Xr[(size_t)t * T1 + (size_t)s] += y->wk[k] * sqrt(lm) / y->alpha * Rt[1 + s] * y->rn / y->g0;
    }
    for (s = 0; s < t; ++s) y->Cr[(size_t)s * T1 + t] = cr[s];
    *test = (y->Cw[(size_t)t * T1 + t] + y->s2) / 2;
    *train = y->Ce[(size_t)t * T1 + t] / 2;
}

/* The D-space at step t: losses and C_r(s, t), s <= t, from G1(s, t), s < t (and, balanced, chi_g(t, s):
   then also chi_r(t, s), s <= t). */
static void fw__dlt_dspace(fw__dlt *y, int t, double *train, double *test)
{
    const int T1 = y->T1;
    int s, u;
    /* the memory kernel of beta_eff: K(t, s) = -eta G1(s, t) + chi_g(t, s)/gamma0 (the second term: the
       input layer's random part, balanced scaling only; chi_g(t, s) = dg1(t)/dphi_1(s), a coefficient) */
    for (s = 0; s < t; ++s) {
        y->kt[s] = -y->eta * y->G[(size_t)t * T1 + (size_t)s];
        if (y->bal) y->kt[s] += y->A[FW__DLT_G(y, 1, t) * (size_t)y->nv + FW__DLT_PHI(y, 1, s)] / y->g0;
    }
    if (y->bal) for (s = 0; s <= t; ++s) y->Xr[(size_t)t * T1 + (size_t)s] = 0;
    if (y->cav) {
        fw__dlt_cavity(y, t, train, test);
    } else {
        /* per mode k: v_k(t) = P_t v_k(0) + sum_{u<t} H(t,u) eps_u,k, r_k(s) = l_k v_k(s) + eps_s,k, the batch
           noise eps uncorrelated over steps and with the past, Var eps_t,k = (l_k^2 m_k + l_k D S^ + s^2 D l_k)/B
           with S^ = sum_k w_k l_k m_k (docs/dln.md section 3) */
        double *cr = y->Cr + (size_t)t * T1, Sh = 0;
        int k;
        for (s = 0; s <= t; ++s) cr[s] = 0;
        for (k = 0; k < y->nm; ++k) {
            const double lm = y->lamk[k];
            double *P = y->P + (size_t)k * T1, *H = y->H + (size_t)k * T1 * T1, *m = y->m + (size_t)k * T1, *Ve = y->Ve + (size_t)k * T1;
            double p = 0, mt;
            for (s = 0; s < t; ++s) p += y->kt[s] * P[s];
            P[t] = 1 + lm * p;
            for (u = 0; u < t; ++u) {
                double h = 0;
                for (s = u + 1; s < t; ++s) h += y->kt[s] * H[(size_t)s * T1 + u];
                H[(size_t)t * T1 + u] = y->kt[u] + lm * h;
            }
            mt = y->v0k[k] * P[t] * P[t];
            for (u = 0; u < t; ++u) mt += H[(size_t)t * T1 + u] * H[(size_t)t * T1 + u] * Ve[u];
            if (y->Zn != NULL) {   /* the random initial function, uncorrelated with the batch noise */
                double *xs = y->Xs + (size_t)k * T1;
                const double *zt = y->Zn + ((size_t)k * T1 + (size_t)t) * T1;
                fw__dlt_zterm(y, y->Zn + (size_t)k * T1 * T1, lm, t, xs);
                mt += xs[t];
                if (y->bal)
                    for (s = 0; s <= t; ++s) y->Xr[(size_t)t * T1 + (size_t)s] += y->wk[k] * lm * zt[s] * y->rn / y->g0;
            }
            m[t] = mt;
            Sh += y->wk[k] * lm * mt;
        }
        *test = *train = (Sh + y->s2) / 2;
        for (k = 0; k < y->nm; ++k) {
            const double lm = y->lamk[k], wk = y->wk[k];
            const double *P = y->P + (size_t)k * T1, *H = y->H + (size_t)k * T1 * T1, *m = y->m + (size_t)k * T1;
            double *Ve = y->Ve + (size_t)k * T1;
            Ve[t] = (lm * lm * m[t] + lm * y->D * Sh + y->s2 * y->D * lm) / y->B;
            for (s = 0; s < t; ++s) {
                double acc = y->v0k[k] * P[s] * P[t] + (y->Xs != NULL ? y->Xs[(size_t)k * T1 + s] : 0);
                for (u = 0; u < s; ++u) acc += H[(size_t)s * T1 + u] * H[(size_t)t * T1 + u] * Ve[u];
                cr[s] += wk * (lm * lm * acc + lm * H[(size_t)t * T1 + s] * Ve[s]);
            }
            cr[t] += wk * (lm * lm * m[t] + Ve[t]);
        }
        for (s = 0; s < t; ++s) y->Cr[(size_t)s * T1 + t] = cr[s];
    }
}

FW_API fw_status fw_dln_theory_ws(const fw_dln_desc *desc, fw_real *train, fw_real *test, fw_real *gkernel,
                                  void *ws, size_t ws_bytes)
{
    fw__dln z;
    fw__dlt y;
    fw_arena ar;
    fw_status st;
    size_t nv;
    int t, l, s, r = 0, j;
    if (train == NULL || test == NULL || ws == NULL) return FW_ERR_NULL;
    if (desc != NULL && desc->source != 0) return fw__src_run(desc, train, test, gkernel, ws, ws_bytes, 1);
    fw_arena_init(&ar, ws, ws_bytes);
    if ((st = fw__dlt_setup(desc, &z, &y, &ar)) != FW_OK) return st;
    if (ar.failed) FW__DLN_FAIL(FW_ERR_WORKSPACE, "fw_dln_theory_ws", "workspace smaller than fw_dln_theory_workspace_size");
    nv = (size_t)y.nv;
    memset(y.A, 0, sizeof(double) * (size_t)y.nvar * nv);
    memset(y.Cq, 0, sizeof(double) * (size_t)y.L * y.T1 * y.T1);   /* Sigma reads rows not yet reached (times zero) */
    memset(y.G, 0, sizeof(double) * (size_t)y.L * y.T1 * y.T1);
    memset(y.Cr, 0, sizeof(double) * (size_t)y.T1 * y.T1);
    {   /* modes of Sigma (as the simulator draws them): lambda_k ~ k^-a, trace D; E beta*_k^2 */
        double norm = 0, tnorm = 0;
        for (j = 0; j < y.nm; ++j) {
            norm += z.d.spectrum > 0 ? pow(j + 1.0, -(double)z.d.spectrum) : 1;
            tnorm += z.d.task > 0 ? pow(j + 1.0, -(double)z.d.task) : 1;
        }
        for (j = 0; j < y.nm; ++j) {
            y.lamk[j] = y.nm == 1 ? 1 : (z.d.spectrum > 0 ? pow(j + 1.0, -(double)z.d.spectrum) : 1) * y.D / norm;
            y.wk[j] = y.nm == 1 ? 1 : 1 / y.D;
            y.v0k[j] = y.c0 + (y.nm == 1 || z.d.task <= 0 ? 1 : pow(j + 1.0, -(double)z.d.task) / y.lamk[j] * y.D / tnorm);
        }
    }
    for (t = 0; t < y.T1; ++t) {
        double tr, te;
        /* top-down: g_L(t) = w(t), then g_l(t) */
        for (l = y.L; l >= 1; --l) {
            double *a = y.A + FW__DLT_G(&y, l, t) * nv;
            if (l == y.L) {
                a[nv - 1] = 1;
                for (s = 0; s < t; ++s) fw__dlt_axpy(&y, -y.eta * y.g0, y.A + FW__DLT_Q(&y, l, s) * nv, a, s);
            } else {
                const double *gn = y.A + FW__DLT_G(&y, l + 1, t) * nv;
                if (y.res) memcpy(a, gn, sizeof(double) * nv);
                a[FW__DLT_PSI(&y, l, t)] += y.c;
                for (s = 0; s < t; ++s) {
                    const double R = gn[FW__DLT_PHI(&y, l + 1, s)];
                    fw__dlt_axpy(&y, y.c * (R - y.eta * y.g0 * y.c * FW__DLT_K(&y, y.G, l + 1, s, t)), y.A + FW__DLT_Q(&y, l, s) * nv, a, s);
                }
            }
            fw__dlt_close(&y, FW__DLT_G(&y, l, t), FW__DLT_G(&y, l, 0), y.G, l, t);
        }
        fw__dlt_dspace(&y, t, &tr, &te);
        if (!fw__finite((fw_real)tr) || !fw__finite((fw_real)te) || !fw__finite((fw_real)FW__DLT_K(&y, y.G, 1, t, t)))
            FW__DLN_FAIL(FW_ERR_DIVERGED, "fw_dln_theory", "the losses or kernels overflow: lower the learning rate");
        if (r < z.nrec && fw_dln_record_time(&z.d, r) == t) {
            train[r] = (fw_real)tr; test[r] = (fw_real)te;
            if (gkernel != NULL)
                for (l = 1; l <= y.L; ++l) gkernel[(size_t)r * y.L + (size_t)(l - 1)] = (fw_real)FW__DLT_K(&y, y.G, l, t, t);
            ++r;
        }
        if (t + 1 == y.T1) break;
        /* bottom-up: q_1(t) from C_r, then q_l(t) */
        for (l = 1; l <= y.L; ++l) {
            double *a = y.A + FW__DLT_Q(&y, l, t) * nv;
            if (l == 1) {
                for (s = 0; s < t; ++s) fw__dlt_axpy(&y, -y.eta * y.g0 * y.Cr[(size_t)s * y.T1 + t], y.A + FW__DLT_G(&y, 1, s) * nv, a, s);
                if (y.bal) {   /* + phi_1(t) = phi0_1(t) + nu^(-1/2) sum_{s<=t} chi_r(t, s) g1(s) */
                    a[FW__DLT_PHI(&y, 1, t)] += 1;
                    for (s = 0; s <= t; ++s) fw__dlt_axpy(&y, y.rn * y.Xr[(size_t)t * y.T1 + s], y.A + FW__DLT_G(&y, 1, s) * nv, a, s);
                }
            } else {
                const double *qp = y.A + FW__DLT_Q(&y, l - 1, t) * nv;
                if (y.res) memcpy(a, qp, sizeof(double) * nv);
                a[FW__DLT_PHI(&y, l, t)] += y.c;
                for (s = 0; s < t; ++s) {
                    const double R = qp[FW__DLT_PSI(&y, l - 1, s)];
                    fw__dlt_axpy(&y, y.c * (R - y.eta * y.g0 * y.c * FW__DLT_K(&y, y.Cq, l - 1, s, t)), y.A + FW__DLT_G(&y, l, s) * nv, a, s);
                }
                if (y.bal)   /* balanced: q_1(t) answers g_1(t) at once (through chi_r(t, t)), so q_(l-1)(t) has an
                                equal-time response to psi_(l-1)(t) */
                    fw__dlt_axpy(&y, y.c * qp[FW__DLT_PSI(&y, l - 1, t)], y.A + FW__DLT_G(&y, l, t) * nv, a, t);
            }
            fw__dlt_close(&y, FW__DLT_Q(&y, l, t), FW__DLT_Q(&y, l, 0), y.Cq, l, t);
        }
    }
    return FW_OK;
}

FW_API fw_status fw_dln_theory(const fw_dln_desc *desc, fw_real *train, fw_real *test, fw_real *gkernel,
                               const fw_allocator *alloc)
{
    size_t bytes = 0;
    void *ws;
    fw_status st = fw_dln_theory_workspace_size(desc, &bytes);
    if ((st = fw__ws_take(alloc, st, bytes, &ws)) != FW_OK) return st;
    st = fw_dln_theory_ws(desc, train, test, gkernel, ws, bytes);
    fw__free(alloc, ws);
    return st;
}

/* Checks the description and sets the four depths' descriptions; R records. */
static fw_status fw__dln_deep_setup(const fw_dln_desc *desc, fw_dln_desc lev[4], int *R)
{
    int k;
    if (desc == NULL || R == NULL) return FW_ERR_NULL;
    if (!fw__finite(desc->residual) || desc->residual <= 0)
        FW__DLN_FAIL(FW_ERR_ARG, "fw_dln_desc.residual", "the infinite-depth limit needs residual branches (residual > 0)");
    if (desc->depth < 0 || desc->depth > (1 << 27))
        FW__DLN_FAIL(FW_ERR_SIZE, "fw_dln_desc.depth", "the base depth L0 must be in 1 .. 2^27 (0 means 1)");
    for (k = 0; k < 4; ++k) {
        lev[k] = *desc;
        lev[k].depth = (desc->depth == 0 ? 1 : desc->depth) << k;   /* L0, 2 L0, 4 L0, 8 L0 */
    }
    *R = fw_dln_record_count(desc);
    return FW_OK;
}

FW_API fw_status fw_dln_deep_limit_workspace_size(const fw_dln_desc *desc, size_t *bytes)
{
    fw_dln_desc lev[4];
    fw_arena ar;
    size_t th = 0;
    int R = 0;
    fw_status st;
    if (bytes == NULL) return FW_ERR_NULL;
    if ((st = fw__dln_deep_setup(desc, lev, &R)) != FW_OK) return st;
    if ((st = fw_dln_theory_workspace_size(&lev[3], &th)) != FW_OK) return st;   /* the deepest is the largest */
    fw_arena_init(&ar, NULL, 0);
    fw_arena_push(&ar, sizeof(fw_real) * 6 * (size_t)(R > 0 ? R : 1));
    fw_arena_push(&ar, th);
    if (ar.failed) return FW_ERR_SIZE;
    *bytes = ar.used;
    return FW_OK;
}

FW_API fw_status fw_dln_deep_limit_ws(const fw_dln_desc *desc, fw_real *train, fw_real *test, fw_real *train_err,
                                      fw_real *test_err, void *ws, size_t ws_bytes)
{
    fw_dln_desc lev[4];
    fw_arena ar;
    fw_real *f;   /* F(L0), F(2 L0), F(4 L0): train then test, R each */
    size_t th = 0;
    void *tws;
    int R = 0, r, k;
    fw_status st;
    if (train == NULL || test == NULL || ws == NULL) return FW_ERR_NULL;
    if ((st = fw__dln_deep_setup(desc, lev, &R)) != FW_OK) return st;
    if ((st = fw_dln_theory_workspace_size(&lev[3], &th)) != FW_OK) return st;
    fw_arena_init(&ar, ws, ws_bytes);
    f = (fw_real *)fw_arena_push(&ar, sizeof(fw_real) * 6 * (size_t)(R > 0 ? R : 1));
    tws = fw_arena_push(&ar, th);
    if (ar.failed) FW__DLN_FAIL(FW_ERR_WORKSPACE, "fw_dln_deep_limit_ws", "workspace smaller than fw_dln_deep_limit_workspace_size");
    for (k = 0; k < 3; ++k)
        if ((st = fw_dln_theory_ws(&lev[k], f + 2 * k * R, f + (2 * k + 1) * R, NULL, tws, th)) != FW_OK) return st;
    if ((st = fw_dln_theory_ws(&lev[3], train, test, NULL, tws, th)) != FW_OK) return st;
    for (r = 0; r < R; ++r)
        for (k = 0; k < 2; ++k) {
            fw_real *out = k == 0 ? train : test, *err = k == 0 ? train_err : test_err;
            const double f1 = f[k * R + r], f2 = f[(2 + k) * R + r], f4 = f[(4 + k) * R + r], f8 = out[r];
            const double lim = (8 * f8 - 6 * f4 + f2) / 3, prev = (8 * f4 - 6 * f2 + f1) / 3;
            out[r] = (fw_real)lim;
            if (err != NULL) err[r] = (fw_real)fmax(fabs(lim - prev), fabs(lim - (2 * f8 - f4)));
        }
    return FW_OK;
}

FW_API fw_status fw_dln_deep_limit(const fw_dln_desc *desc, fw_real *train, fw_real *test, fw_real *train_err,
                                   fw_real *test_err, const fw_allocator *alloc)
{
    size_t bytes = 0;
    void *ws;
    fw_status st = fw_dln_deep_limit_workspace_size(desc, &bytes);
    if ((st = fw__ws_take(alloc, st, bytes, &ws)) != FW_OK) return st;
    st = fw_dln_deep_limit_ws(desc, train, test, train_err, test_err, ws, bytes);
    fw__free(alloc, ws);
    return st;
}

#endif /* FINWIDTH_IMPLEMENTATION_DONE */
#endif /* FINWIDTH_IMPLEMENTATION */
