/* The solvers split across worker threads (fw_reduce with examples/parallel/fw_threads.h): for 1, 2
   and 3 workers the outputs must agree. Every site draws the same random numbers whatever the split
   (its stream is entered at its global index), so only the order of the sums changes: rounding,
   relative 1e-12 of each output's scale (the largest |value| of its kind), far above the 1e-15 of
   one reordered sum carried through T steps of stable dynamics. A wrong split (a site drawn twice,
   a missed partial sum, a weight of the local instead of the global count) moves the outputs by
   the Monte Carlo error, 1e-3 relative here. Native builds only (POSIX threads). */
#define FINWIDTH_IMPLEMENTATION
#include "fw_test.h"
/* The ThreadSanitizer build (-DTEST_RACES_ONLY) looks for races, not rounding: it runs the same
   splits on shorter problems (ten times slower under the sanitizer otherwise). */
#ifdef TEST_RACES_ONLY
#define TEST_LONG(full, short_) (short_)
#else
#define TEST_LONG(full, short_) (full)
#endif
#include "../examples/parallel/fw_threads.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct job {
    fw_dmft_desc dd;
    fw_fluct_desc fd;
    int fluct;
    const fw_data *data;
    fw_dmft_result dr;
    fw_fluct_result fr;
    fw_status st;
} job;

static void *job_run(void *p)
{
    job *j = (job *)p;
    j->st = j->fluct ? fw_fluct_run(&j->fd, j->data, &j->fr, NULL) : fw_dmft_run(&j->dd, j->data, &j->dr, NULL);
    return NULL;
}

/* Runs K workers; jobs[k] holds worker k's result (the caller frees them). */
static int run_team(int K, job *jobs, const fw_dmft_desc *dd, const fw_fluct_desc *fd, const fw_data *data)
{
    fwt_team team;
    int k;
    if (fwt_team_init(&team, K) != 0) return 1;
    for (k = 0; k < K; ++k) {
        memset(&jobs[k], 0, sizeof jobs[k]);
        jobs[k].fluct = fd != NULL;
        jobs[k].data = data;
        if (fd != NULL) { jobs[k].fd = *fd; jobs[k].fd.dmft.reduce = fwt_reduce_of(&team, k); }
        else { jobs[k].dd = *dd; jobs[k].dd.reduce = fwt_reduce_of(&team, k); }
    }
    fwt_run(K, job_run, jobs, sizeof jobs[0], 1);
    fwt_team_destroy(&team);
    return 0;
}

/* float builds: every worker's partial sums round in float before the all-reduce adds them in
   double, so worker counts differ by float rounding: measured 3.7e-6 (two-layer theory) and
   3.9e-5 (DMFT, all cases) relative */
static double tol_rel = TEST_IS_FLOAT ? 1e-4 : 1e-12;

/* max |a - b| <= tol_rel max |ref| over n values (ref: the quantity a measures; a itself for
   values, the value for its standard error, whose reordering error is the value's). With the
   environment variable SHOW set, every comparison prints its relative difference (how the
   tolerances below were measured). */
static int same_as(const fw_real *a, const fw_real *b, int n, const fw_real *ref)
{
    double scale = 0, worst = 0;
    int i;
    for (i = 0; i < n; ++i) scale = fabs((double)ref[i]) > scale ? fabs((double)ref[i]) : scale;
    for (i = 0; i < n; ++i) worst = fabs((double)a[i] - (double)b[i]) > worst ? fabs((double)a[i] - (double)b[i]) : worst;
    if (getenv("SHOW")) printf("  rel %.3g\n", scale > 0 ? worst / scale : 0);
    if (worst > tol_rel * scale) printf("  differ: %.3g of scale %.3g\n", worst, scale);
    return worst <= tol_rel * scale;
}

static int same(const fw_real *a, const fw_real *b, int n) { return same_as(a, b, n, a); }

static fw_data problem(int P, int Q, int D, fw_real *X, fw_real *y)
{
    fw_data data;
    int i;
    test_fill_normal(X, (size_t)(P + Q) * D, 5);
    for (i = 0; i < P; ++i) y[i] = (fw_real)(i % 2 ? -0.7 : 0.8);
    memset(&data, 0, sizeof data);
    data.P = P; data.Q = Q; data.D = D; data.X = X; data.ldx = D; data.y = y;
    return data;
}

static void dmft_is_the_same_on_1_2_and_3_workers(void)
{
    /* depth 1 (the Markov march: MC, antithetic, quadrature) and depth 2 (the general solver),
       with two-time kernels and the sharpness */
    fw_real X[5 * 3], y[3];
    fw_data data = problem(3, 2, 3, X, y);
    const fw_dmft_sampler samplers[4] = {FW_SAMPLER_ANTITHETIC, FW_SAMPLER_MC, FW_SAMPLER_QUADRATURE, FW_SAMPLER_ANTITHETIC};
    int c, K;
    for (c = 0; c < 4; ++c) {
        fw_dmft_desc d;
        job one[1], many[3];
        memset(&d, 0, sizeof d);
        d.depth = c == 3 ? 2 : 1; d.act = FW_ACT_TANH; d.gamma0 = 1; d.lr = (fw_real)(c == 3 ? 0.2 : 0.5); d.steps = c == 3 ? TEST_LONG(30, 6) : 6; d.two_time = 1;
        d.sampler = samplers[c]; d.samples = 3000; d.replicates = 4; d.quad_nodes = 6; d.seed = 3;
        /* the general solver (depth 2) draws its sources through the causal factors of its
           sampled kernels, built from the samples (docs/dmft.md section 6); built from the
           kernels instead they amplified the rounding of a reordered sum tenfold a step
           (1.7e-10 at T = 6). Depth 2 at eta 0.2 for 30 steps: eta x sharpness stays below 1
           (at eta 0.5 it passes 2 by t = 10 and the catapult that follows amplifies every
           perturbation, rounding included: 1e-9 by t = 30, as the networks themselves would) */
        tol_rel = TEST_IS_FLOAT ? 1e-4 : 1e-12;
        FW_CHECK(run_team(1, one, &d, NULL, &data) == 0);
        FW_CHECK_STATUS(one[0].st, FW_OK);
        for (K = 2; K <= 3; ++K) {
            const fw_dmft_result *a = &one[0].dr;
            int k;
            FW_CHECK(run_team(K, many, &d, NULL, &data) == 0);
            for (k = 0; k < K; ++k) {
                const fw_dmft_result *b = &many[k].dr;
                const int R = a->n_records, n = a->n_points, P = a->P, L = a->depth;
                FW_CHECK_STATUS(many[k].st, FW_OK);
                FW_CHECK(same(a->f, b->f, R * n));
                FW_CHECK(same_as(a->f_se, b->f_se, R * n, a->f));
                FW_CHECK(same(a->ntk, b->ntk, R * P * P) && same(a->sharpness, b->sharpness, R));
                FW_CHECK(same(a->phi, b->phi, L * R * R * n * n) && same(a->g, b->g, L * R * R * P * P));
                FW_CHECK(same(a->train_loss, b->train_loss, R) && same_as(a->test_loss_se, b->test_loss_se, R, a->test_loss));
            }
            for (k = 0; k < K; ++k) fw_dmft_result_free(&many[k].dr);
        }
        fw_dmft_result_free(&one[0].dr);
    }
}

static void two_layer_theory_is_the_same_on_1_2_and_3_workers(void)
{
    /* the variances (with their heavy cancellation late on the training points), the kernels'
       variances (the built-in observables), the O(1/N) mean shift and the replicates' standard
       errors */
    fw_real X[5 * 3], y[3];
    fw_data data = problem(3, 2, 3, X, y);
    fw_fluct_desc d;
    job one[1], many[3];
    int K, k;
    memset(&d, 0, sizeof d);
    d.dmft.act = FW_ACT_TANH; d.dmft.gamma0 = 1; d.dmft.lr = (fw_real)0.5; d.dmft.steps = 8;
    d.dmft.samples = 4000; d.dmft.replicates = 4; d.dmft.seed = 9; d.width = 256; d.kernels = 1; d.bias = 1;
    FW_CHECK(run_team(1, one, NULL, &d, &data) == 0);
    FW_CHECK_STATUS(one[0].st, FW_OK);
    for (K = 2; K <= 3; ++K) {
        const fw_fluct_result *a = &one[0].fr;
        FW_CHECK(run_team(K, many, NULL, &d, &data) == 0);
        for (k = 0; k < K; ++k) {
            const fw_fluct_result *b = &many[k].fr;
            const int R = a->n_records, n = a->n_points, P = a->P;
            FW_CHECK_STATUS(many[k].st, FW_OK);
            FW_CHECK(same(a->f, b->f, R * n) && same(a->f_var, b->f_var, R * n) && same_as(a->f_var_se, b->f_var_se, R * n, a->f_var));
            FW_CHECK(same(a->f_cov, b->f_cov, R * n * n) && same(a->f_var_naive, b->f_var_naive, R * n));
            FW_CHECK(same(a->ntk_var, b->ntk_var, R * P * P) && same(a->phi_var, b->phi_var, R * n * n));
            FW_CHECK(same(a->dfdy, b->dfdy, R * n * P) && same(a->test_loss_var, b->test_loss_var, R));
            FW_CHECK(same(a->f_bias, b->f_bias, R * n) && same_as(a->f_bias_se, b->f_bias_se, R * n, a->f_bias));
            FW_CHECK(same(a->train_loss_bias, b->train_loss_bias, R) && same(a->test_loss_bias, b->test_loss_bias, R));
        }
        for (k = 0; k < K; ++k) fw_fluct_result_free(&many[k].fr);
    }
    fw_fluct_result_free(&one[0].fr);
}

typedef struct djob { fw_dlfluct_desc d; const fw_data *data; fw_dlfluct_out o; fw_status st; } djob;

static void *djob_run(void *p)
{
    djob *j = (djob *)p;
    j->st = fw_dlfluct_run(&j->d, j->data, &j->o, NULL);
    return NULL;
}

static void deep_theory_is_the_same_on_1_2_and_3_workers(void)
{
    /* the sampled deep propagator (tanh, depth 2): Var f, Phi(l), G(l) and their replicate
       standard errors; its sums are in double on every build. Its drift and Price columns are
       central differences (steps 1e-4 and 1e-3 on the sources) of means that are summed in fixed
       chunks whatever the split (with plain partial sums they turned a reordered sum's rounding
       into 9e-9 relative); the rest is summed in worker order: measured 1.5e-15, so 1e-12 */
    enum { P = 2, Q = 1, T = 3, L = 2, n = P + Q, T1 = T + 1 };
    static fw_real buf[4][2 * (T1 * n + 2 * L * T1 * (n * n + P * P) + 2 * T1 * P * P)];
    fw_real X[3 * 3], y[2];
    fw_data data = problem(P, Q, 3, X, y);
    const int sz[6] = {T1 * n, T1 * n, L * T1 * n * n, L * T1 * n * n, L * T1 * P * P, L * T1 * P * P};
    int K, k, a;
    tol_rel = 1e-12;
    for (K = 1; K <= 3; ++K) {
        fwt_team team;
        djob jobs[3];
        FW_CHECK(fwt_team_init(&team, K) == 0);
        for (k = 0; k < K; ++k) {
            fw_real *b = buf[K == 1 ? 0 : k + 1];
            memset(&jobs[k], 0, sizeof jobs[k]);
            jobs[k].d.depth = L; jobs[k].d.width = 256; jobs[k].d.gamma0 = 1; jobs[k].d.lr = (fw_real)0.4; jobs[k].d.steps = T;
            jobs[k].d.act = FW_ACT_TANH; jobs[k].d.samples = TEST_LONG(400, 120); jobs[k].d.replicates = 2; jobs[k].d.seed = 5;
            jobs[k].d.reduce = fwt_reduce_of(&team, k);
            jobs[k].data = &data;
            jobs[k].o.f_var = b; jobs[k].o.f_var_se = b + sz[0];
            jobs[k].o.phi_var = b + sz[0] + sz[1]; jobs[k].o.phi_var_se = jobs[k].o.phi_var + sz[2];
            jobs[k].o.g_var = jobs[k].o.phi_var_se + sz[3]; jobs[k].o.g_var_se = jobs[k].o.g_var + sz[4];
        }
        fwt_run(K, djob_run, jobs, sizeof jobs[0], 1);
        fwt_team_destroy(&team);
        for (k = 0; k < K; ++k) FW_CHECK_STATUS(jobs[k].st, FW_OK);
        if (K == 1) continue;
        for (k = 0; k < K; ++k) {
            const fw_real *a0 = buf[0], *b0 = buf[k + 1];
            size_t off = 0;
            for (a = 0; a < 6; off += (size_t)sz[a], ++a)   /* values, then their standard errors against the values */
                FW_CHECK(same_as(b0 + off, a0 + off, sz[a], a0 + off - (a % 2 ? (size_t)sz[a - 1] : 0)));
        }
    }
}

typedef struct ojob { fw_online_desc d; const fw_online_data *data; fw_online_result r; fw_status st; } ojob;

static void *ojob_run(void *p)
{
    ojob *j = (ojob *)p;
    j->st = fw_online_run(&j->d, j->data, &j->r, NULL);
    return NULL;
}

static void online_theory_is_the_same_on_1_2_and_3_workers(void)
{
    /* fw_online_run (tanh, fresh batches of 3 in D = 4, T = 6): the held-out predictions, their
       width-N variance, the O(1/N) mean shift, the losses and every standard error */
    enum { D = 4, B = 3, T = 6, Q = 2 };
    fw_real Xb[T * B * D], yb[T * B], Xt[Q * D], yt[Q];
    fw_online_data data;
    ojob one[1], many[3];
    int K, k, i;
    test_fill_normal(Xb, (size_t)T * B * D, 11);
    test_fill_normal(Xt, (size_t)Q * D, 12);
    for (i = 0; i < T * B; ++i) yb[i] = fw_act(FW_ACT_TANH, Xb[i * D] - (fw_real)0.5 * Xb[i * D + 1]);
    for (i = 0; i < Q; ++i) yt[i] = fw_act(FW_ACT_TANH, Xt[i * D] - (fw_real)0.5 * Xt[i * D + 1]);
    data.D = D; data.Q = Q; data.Xb = Xb; data.yb = yb; data.Xt = Xt; data.yt = yt;
    for (K = 1; K <= 3; ++K) {
        ojob *jobs = K == 1 ? one : many;
        fwt_team team;
        FW_CHECK(fwt_team_init(&team, K) == 0);
        for (k = 0; k < K; ++k) {
            memset(&jobs[k], 0, sizeof jobs[k]);
            jobs[k].d.act = FW_ACT_TANH; jobs[k].d.gamma0 = 1; jobs[k].d.lr = 1; jobs[k].d.steps = T; jobs[k].d.batch = B;
            jobs[k].d.width = 64; jobs[k].d.samples = 2400; jobs[k].d.replicates = 4; jobs[k].d.seed = 2;
            jobs[k].d.reduce = fwt_reduce_of(&team, k);
            jobs[k].data = &data;
        }
        fwt_run(K, ojob_run, jobs, sizeof jobs[0], 1);
        fwt_team_destroy(&team);
        for (k = 0; k < K; ++k) FW_CHECK_STATUS(jobs[k].st, FW_OK);
        if (K == 1) continue;
        for (k = 0; k < K; ++k) {
            const fw_online_result *a = &one[0].r, *b = &many[k].r;
            const int n = a->n_records * a->Q;
            FW_CHECK(b->samples_used == a->samples_used);
            FW_CHECK(same(a->f, b->f, n) && same_as(a->f_se, b->f_se, n, a->f));
            FW_CHECK(same(a->f_var, b->f_var, n) && same_as(a->f_var_se, b->f_var_se, n, a->f_var));
            FW_CHECK(same(a->f_bias, b->f_bias, n) && same_as(a->f_bias_se, b->f_bias_se, n, a->f_bias));
            FW_CHECK(same(a->test_loss, b->test_loss, a->n_records) && same(a->loss_shift, b->loss_shift, a->n_records));
            fw_online_result_free(&many[k].r);
        }
    }
    fw_online_result_free(&one[0].r);
}

typedef struct kjob { fw_kcov_desc d; const fw_real *kx; fw_kcov_out o; fw_status st; } kjob;

static void *kjob_run(void *p)
{
    kjob *j = (kjob *)p;
    j->st = fw_kcov_init(&j->d, 3, j->kx, 3, &j->o, NULL);
    return NULL;
}

static void kernel_covariance_is_the_same_on_1_2_and_3_workers(void)
{
    /* fw_kcov_init (tanh, depth 3): every variance and its standard error; sums in double */
    enum { n = 3, L = 3, B = 4 * L * n * n + 2 * n * n };
    static fw_real buf[4][B];
    const fw_real kx[9] = {1, (fw_real)0.3, (fw_real)-0.2, (fw_real)0.3, (fw_real)0.8, (fw_real)0.1, (fw_real)-0.2, (fw_real)0.1, (fw_real)1.2};
    int K, k, a;
    tol_rel = TEST_IS_FLOAT ? 1e-4 : 1e-12;
    for (K = 1; K <= 3; ++K) {
        fwt_team team;
        kjob jobs[3];
        FW_CHECK(fwt_team_init(&team, K) == 0);
        for (k = 0; k < K; ++k) {
            fw_real *b = buf[K == 1 ? 0 : k + 1];
            memset(&jobs[k], 0, sizeof jobs[k]);
            jobs[k].d.act = FW_ACT_TANH; jobs[k].d.depth = L; jobs[k].d.width = 128; jobs[k].d.samples = 3000;
            jobs[k].d.replicates = 4; jobs[k].d.seed = 2; jobs[k].d.reduce = fwt_reduce_of(&team, k);
            jobs[k].kx = kx;
            jobs[k].o.phi_var = b; jobs[k].o.phi_var_se = b + L * n * n; jobs[k].o.g_var = b + 2 * L * n * n;
            jobs[k].o.g_var_se = b + 3 * L * n * n; jobs[k].o.ntk_var = b + 4 * L * n * n; jobs[k].o.ntk_var_se = b + 4 * L * n * n + n * n;
        }
        fwt_run(K, kjob_run, jobs, sizeof jobs[0], 1);
        fwt_team_destroy(&team);
        for (k = 0; k < K; ++k) FW_CHECK_STATUS(jobs[k].st, FW_OK);
        if (K == 1) continue;
        for (k = 0; k < K; ++k)
            for (a = 0; a < 3; ++a) {   /* Phi, G, NTK: the variances, and their standard errors against them */
                const size_t v = a < 2 ? (size_t)(2 * a) * L * n * n : (size_t)4 * L * n * n, sz = a < 2 ? (size_t)L * n * n : (size_t)n * n;
                FW_CHECK(same(buf[k + 1] + v, buf[0] + v, (int)sz));
                FW_CHECK(same_as(buf[k + 1] + v + sz, buf[0] + v + sz, (int)sz, buf[0] + v));
            }
    }
}

static void a_split_is_checked(void)
{
    /* more workers than sites, a rank out of range, no all-reduce and EXACT: refused (the O(1/N)
       bias is split since 2026-12-06) */
    fw_real X[5 * 3], y[3];
    fw_data data = problem(3, 2, 3, X, y);
    fw_dmft_desc d;
    fw_fluct_desc f;
    fwt_team team;
    memset(&d, 0, sizeof d);
    d.lr = (fw_real)0.5; d.steps = 2; d.samples = 64; d.replicates = 2;
    FW_CHECK(fwt_team_init(&team, 3) == 0);
    d.reduce = fwt_reduce_of(&team, 0);
    d.reduce.ranks = 40; FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_SIZE);   /* 16 pairs a replicate */
    d.reduce.ranks = 3; d.reduce.rank = 3; FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_ARG);
    d.reduce.rank = 0; d.reduce.fn = NULL; FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_NULL);
    d.reduce = fwt_reduce_of(&team, 0); d.sampler = FW_SAMPLER_EXACT; d.act = FW_ACT_LINEAR;
    FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_ARG);
    memset(&f, 0, sizeof f);
    f.dmft = d; f.dmft.sampler = FW_SAMPLER_ANTITHETIC; f.dmft.act = FW_ACT_TANH; f.width = 64; f.bias = 1;
    {
        size_t bytes;
        FW_CHECK_STATUS(fw_fluct_workspace_size(&f, &data, &bytes), FW_OK);
        f.dmft.reduce.ranks = 40;
        FW_CHECK_STATUS(fw_fluct_workspace_size(&f, &data, &bytes), FW_ERR_SIZE);
    }
    fwt_team_destroy(&team);
}

static const fw_test_case fw_tests_parallel[] = {
    FW_TEST(dmft_is_the_same_on_1_2_and_3_workers),
    FW_TEST(two_layer_theory_is_the_same_on_1_2_and_3_workers),
    FW_TEST(deep_theory_is_the_same_on_1_2_and_3_workers),
    FW_TEST(kernel_covariance_is_the_same_on_1_2_and_3_workers),
    FW_TEST(online_theory_is_the_same_on_1_2_and_3_workers),
    FW_TEST(a_split_is_checked),
    {NULL, NULL}
};

int main(int argc, char **argv)
{
    const fw_test_case *const suites[1] = {fw_tests_parallel};
    return test_run(suites, 1, argc > 1 ? argv[1] : NULL);
}
