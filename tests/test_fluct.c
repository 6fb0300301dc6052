/* Fluctuation-theory tests: the variance at initialization, the response (I + J)^-1 against
   finite differences of the DMFT itself, the generic observable route against the built-in
   outputs, the lazy-limit closed form, and bad input. The comparison with seed ensembles of
   finite networks lives in test_stat.c (native builds only). */
#include "fw_test.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_IS_FLOAT (sizeof(fw_real) == sizeof(float))

static fw_data fluct_data(int P, int Q, int D, fw_real *X, fw_real *y, unsigned seed)
{
    fw_data data;
    int i;
    test_fill_normal(X, (size_t)(P + Q) * D, seed);
    test_fill_normal(y, (size_t)P, seed + 1);
    for (i = 0; i < P; ++i) y[i] *= (fw_real)0.7;
    memset(&data, 0, sizeof data);
    data.P = P; data.Q = Q; data.D = D; data.X = X; data.ldx = D; data.y = y;
    return data;
}

static fw_fluct_desc fluct_desc(fw_activation act, fw_real gamma0, fw_real lr, int T, int N)
{
    fw_fluct_desc d;
    memset(&d, 0, sizeof d);
    d.dmft.act = act; d.dmft.gamma0 = gamma0; d.dmft.lr = lr; d.dmft.steps = T; d.dmft.seed = 13;
    d.dmft.sampler = FW_SAMPLER_ANTITHETIC; d.dmft.samples = 8192 / TEST_SAMPLE_DIVISOR; d.dmft.replicates = 16;
    d.width = N;
    return d;
}

static void initial_variance_is_the_nngp_over_gamma0_squared_n(void)
{
    /* At t = 0 nothing has responded yet: Var f(0) = E[w^2 phi(h)^2] / (gamma0^2 N) =
       Phi(1)[a][a] / (gamma0^2 N), the closed-form NNGP diagonal. Tolerance: 4 of the solver's
       own standard errors (replicate spread) plus rounding. f_var equals f_var_naive there (the two
       sums run in different orders: equal to rounding, 1e-12 relative in double, 1e-5 in float). */
    const int P = 3, Q = 2, D = 4, n = 5, N = 100;
    fw_real X[5 * 4], y[3], kx[25], phi[50], g[25], ntk[25];
    fw_data data = fluct_data(P, Q, D, X, y, 91);
    fw_activation acts[3] = {FW_ACT_TANH, FW_ACT_RELU, FW_ACT_ERF};
    int a, i;
    fw_syrk(FW_NO_TRANS, n, D, 1 / (fw_real)D, X, D, 0, kx, n);
    for (a = 0; a < 3; ++a) {
        fw_fluct_desc d = fluct_desc(acts[a], (fw_real)0.7, (fw_real)0.3, 3, N);
        fw_fluct_result r;
        FW_CHECK_STATUS(fw_kernels_infinite(acts[a], 1, n, kx, n, phi, g, ntk), FW_OK);
        FW_CHECK_STATUS(fw_fluct_run(&d, &data, &r, NULL), FW_OK);
        for (i = 0; i < n; ++i) {
            double want = phi[n * n + i * n + i] / (0.49 * N);
            FW_CHECK_NEAR(r.f_var[i], want, 4 * r.f_var_se[i] + 1e-5 * want);
            FW_CHECK_NEAR(r.f_var[i], r.f_var_naive[i], (sizeof(fw_real) == 4 ? 1e-5 : 1e-12) * r.f_var_naive[i]);
        }
        fw_fluct_result_free(&r);
    }
}

static void label_response_equals_finite_differences_of_the_dmft(void)
{
    /* dfdy = (I - (I + J)^-1) applied to a constant shift of y is d f_inf / d y: the DMFT
       re-solved at y +- eps on the same samples gives it by central differences. This tests J
       (the tangents) and the forward substitution together. tanh is smooth: the difference
       quotient's error is eps^2 f'''/6 (eps = 1e-3; measured 3e-6 of the largest response, so
       f''' ~ 20) plus rounding eps_mach / eps (1e-13; float: 6e-5 at eps = 3e-2, where the eps^2
       term is ~3e-3). We allow 3e-5 (float 1e-2) of the largest response. */
    const int P = 3, Q = 2, D = 4, n = 5;
    const double eps = TEST_IS_FLOAT ? 3e-2 : 1e-3, tol = TEST_IS_FLOAT ? 1e-2 : 3e-5;
    fw_real X[5 * 4], y[3], yp[3];
    fw_data data = fluct_data(P, Q, D, X, y, 92), dp = data;
    fw_fluct_desc d = fluct_desc(FW_ACT_TANH, (fw_real)1.5, (fw_real)0.5, 6, 64);
    fw_fluct_result r;
    fw_dmft_result up, dn;
    int mu, i, k;
    double worst = 0, scale = 0;
    FW_CHECK_STATUS(fw_fluct_run(&d, &data, &r, NULL), FW_OK);
    dp.y = yp;
    for (mu = 0; mu < P; ++mu) {
        memcpy(yp, y, sizeof yp);
        yp[mu] = (fw_real)(y[mu] + eps);
        FW_CHECK_STATUS(fw_dmft_run(&d.dmft, &dp, &up, NULL), FW_OK);
        yp[mu] = (fw_real)(y[mu] - eps);
        FW_CHECK_STATUS(fw_dmft_run(&d.dmft, &dp, &dn, NULL), FW_OK);
        for (k = 0; k < r.n_records; ++k)
            for (i = 0; i < n; ++i) {
                double fd = ((double)up.f[k * n + i] - dn.f[k * n + i]) / (2 * eps);
                double th = r.dfdy[(k * n + i) * P + mu];
                if (fabs(fd - th) > worst) worst = fabs(fd - th);
                if (fabs(th) > scale) scale = fabs(th);
            }
        fw_dmft_result_free(&up);
        fw_dmft_result_free(&dn);
    }
    FW_CHECK(scale > 0.1);   /* the response is not trivially zero */
    FW_CHECK_NEAR(worst, 0, tol * scale);
    fw_fluct_result_free(&r);
}

/* o = w phi(h) / gamma0 on every point: the observable whose average is f itself. */
static void obs_psi(void *user, const fw_site_info *in, int m, const fw_real *h, const fw_real *w,
                    const fw_real *dh, const fw_real *dw, fw_real *out)
{
    int i, a;
    (void)user;
    for (i = 0; i < m; ++i)
        for (a = 0; a < in->n; ++a) {
            fw_real x = h[i * in->n + a];
            out[i * in->n + a] = dh == NULL ? w[i] * fw_act(in->act, x) / in->gamma0
                                            : (dw[i] * fw_act(in->act, x) + w[i] * fw_act_d1(in->act, x) * dh[i * in->n + a]) / in->gamma0;
        }
}

/* The NTK on the training points written out by hand (as a user would). */
static void obs_ntk(void *user, const fw_site_info *in, int m, const fw_real *h, const fw_real *w,
                    const fw_real *dh, const fw_real *dw, fw_real *out)
{
    const int n = in->n, P = in->P;
    int i, a, b;
    (void)user;
    for (i = 0; i < m; ++i)
        for (a = 0; a < P; ++a)
            for (b = 0; b < P; ++b) {
                const fw_real *x = h + i * n, kab = in->kx[a * n + b];
                fw_real pa = fw_act(in->act, x[a]), pb = fw_act(in->act, x[b]);
                fw_real da = fw_act_d1(in->act, x[a]), db = fw_act_d1(in->act, x[b]);
                fw_real o;
                if (dh == NULL) {
                    o = pa * pb + w[i] * w[i] * da * db * kab;
                } else {
                    const fw_real *t = dh + i * n;
                    fw_real sa = fw_site_d2(in->act, x[a], in->bw[a]), sb = fw_site_d2(in->act, x[b], in->bw[b]);
                    o = da * t[a] * pb + pa * db * t[b] +
                        kab * (2 * w[i] * dw[i] * da * db + w[i] * w[i] * (sa * t[a] * db + da * sb * t[b]));
                }
                out[(i * P + a) * P + b] = o;
            }
}

static void generic_observables_reproduce_the_builtin_outputs(void)
{
    /* The linear-response rule applied to o = psi must give Var f exactly (J_O = J, so
       eps - J (I + J)^-1 eps = (I + J)^-1 eps), and a hand-written NTK observable must give the
       built-in NTK mean and variance: equal up to rounding in the summation order (1e-9 relative;
       float 1e-3). Also the standard errors come back. */
    const int P = 3, Q = 1, D = 3, n = 4;
    const double rel = TEST_IS_FLOAT ? 1e-3 : 1e-9;
    fw_real X[4 * 3], y[3];
    fw_data data = fluct_data(P, Q, D, X, y, 93);
    fw_fluct_desc d = fluct_desc(FW_ACT_RELU, 1, (fw_real)0.4, 5, 50);
    fw_fluct_observable ob[2];
    fw_fluct_result r;
    fw_real *mem;
    int R, i;
    d.dmft.every = 2;
    R = fw_dmft_record_count(&d.dmft);
    mem = test_alloc((size_t)R * (3 * n + 3 * P * P));
    memset(ob, 0, sizeof ob);
    ob[0].k = n; ob[0].fn = obs_psi; ob[0].mean = mem; ob[0].var = mem + R * n; ob[0].var_se = mem + 2 * R * n;
    ob[1].k = P * P; ob[1].fn = obs_ntk;
    ob[1].mean = mem + 3 * R * n; ob[1].var = ob[1].mean + R * P * P; ob[1].var_se = ob[1].var + R * P * P;
    d.n_obs = 2; d.obs = ob; d.kernels = 1;
    FW_CHECK_STATUS(fw_fluct_run(&d, &data, &r, NULL), FW_OK);
    for (i = 0; i < R * n; ++i) {
        FW_CHECK_NEAR(ob[0].mean[i], r.f[i], rel * (fabs((double)r.f[i]) + 1e-3));
        FW_CHECK_NEAR(ob[0].var[i], r.f_var[i], rel * r.f_var[i] + 1e-12);
        FW_CHECK_NEAR(ob[0].var_se[i], r.f_var_se[i], rel * r.f_var_se[i] + 1e-12);
    }
    for (i = 0; i < R * P * P; ++i) {
        FW_CHECK_NEAR(ob[1].mean[i], r.ntk[i], rel * fabs((double)r.ntk[i]) + 1e-12);
        FW_CHECK_NEAR(ob[1].var[i], r.ntk_var[i], rel * r.ntk_var[i] + 1e-12);
        FW_CHECK(ob[1].var_se[i] >= 0);
    }
    FW_CHECK(r.ntk_var[(R - 1) * P * P] > 0);
    fw_fluct_result_free(&r);
    test_free(mem);
}

static void lazy_limit_equals_the_closed_form(void)
{
    /* gamma0 = 1e-3, a linear net on Gauss-Hermite nodes (exact for the polynomial averages),
       eta below 2 / lambda_max: the full solver must reduce to kernel GD with a random initial
       output, Var f(0) = Phi/(gamma0^2 N) propagated by (I - eta K)^t (fw_lazy_variance with
       the closed-form kernels). The kernel fluctuation and the feature-learning corrections
       are O(gamma0^2) relative (measured: 2.5e-6 at gamma0 = 1e-3, 2.5e-4 at 1e-2); we allow
       2e-5 relative. The closed form's kernel term is checked separately: at kcov = 0
       and P = 1 it is (1 - eta K)^(2t) Var f(0). */
    const int P = 2, Q = 1, D = 3, n = 3, N = 10, T = 6;
    const fw_real g0 = (fw_real)1e-3, eta = (fw_real)0.15;
    fw_real X[3 * 3], y[2], kx[9], phi[18], g[9], ntk[9], c0[9], kcov[36], var[7 * 3], *work;
    fw_data data = fluct_data(P, Q, D, X, y, 94);
    fw_fluct_desc d = fluct_desc(FW_ACT_LINEAR, g0, eta, T, N);
    fw_fluct_result r;
    int i, t;
    d.dmft.sampler = FW_SAMPLER_QUADRATURE; d.dmft.quad_nodes = 4;
    fw_syrk(FW_NO_TRANS, n, D, 1 / (fw_real)D, X, D, 0, kx, n);
    FW_CHECK_STATUS(fw_kernels_infinite(FW_ACT_LINEAR, 1, n, kx, n, phi, g, ntk), FW_OK);
    for (i = 0; i < 9; ++i) c0[i] = phi[9 + i] / (g0 * g0 * N);
    memset(kcov, 0, sizeof kcov);
    work = test_alloc(fw_lazy_variance_work(P, Q));
    FW_CHECK_STATUS(fw_lazy_variance(P, Q, ntk, c0, kcov, y, eta, T, var, NULL, work), FW_OK);
    FW_CHECK_STATUS(fw_fluct_run(&d, &data, &r, NULL), FW_OK);
    FW_CHECK(r.n_records == T + 1);
    for (t = 0; t <= T; ++t)
        for (i = 0; i < n; ++i)
            FW_CHECK_NEAR(r.f_var[t * n + i], var[t * n + i], (TEST_IS_FLOAT ? 1e-3 : 2e-5) * var[t * n + i]);
    fw_fluct_result_free(&r);
    {
        fw_real k1 = (fw_real)1.3, v0 = (fw_real)0.7, y1 = 1, kc = 0, v1[5];
        FW_CHECK_STATUS(fw_lazy_variance(1, 0, &k1, &v0, &kc, &y1, (fw_real)0.5, 4, v1, NULL, work), FW_OK);
        for (t = 0; t <= 4; ++t) FW_CHECK_NEAR(v1[t], v0 * pow(1 - 0.5 * 1.3, 2.0 * t), 1e-5 * v0);
        /* the kernel term alone: Var dK = 0.2, Delta0(0) = 1: Var f(1) = eta^2 * 0.2 */
        v0 = 0; kc = (fw_real)0.2;
        FW_CHECK_STATUS(fw_lazy_variance(1, 0, &k1, &v0, &kc, &y1, (fw_real)0.5, 1, v1, NULL, work), FW_OK);
        FW_CHECK_NEAR(v1[1], 0.25 * 0.2, 1e-6);
    }
    test_free(work);
}

static void bias_is_zero_at_t0_scales_as_one_over_n_and_leaves_the_variance(void)
{
    /* The O(1/N) mean shift (checked against 8000-seed ensembles in test_stat.c): E f_N(0) = 0
       exactly, so f_bias(0) = 0; b/N halves when N doubles (relative 1e-12, float 1e-5: the
       same b divided by N); asking for it changes no other output (bitwise); the loss shifts
       follow from f_bias and f_var by their definition; and the quadrature sampler (its own
       code path for the weights) gives finite shifts with zero standard errors. */
    const int P = 3, Q = 1, D = 3, n = 4, T = 6;
    fw_real X[4 * 3], y[3], yt[1] = {(fw_real)0.4};
    fw_data data = fluct_data(P, Q, D, X, y, 17);
    fw_fluct_desc d = fluct_desc(FW_ACT_TANH, 1, (fw_real)0.3, T, 50);
    fw_fluct_result a, b, c;
    const double tol = TEST_IS_FLOAT ? 1e-5 : 1e-12;
    int r, i;
    data.y_test = yt;
    d.dmft.every = 2;
    FW_CHECK_STATUS(fw_fluct_run(&d, &data, &a, NULL), FW_OK);
    FW_CHECK(a.f_bias == NULL && a.train_loss_bias == NULL);
    d.bias = 1;
    FW_CHECK_STATUS(fw_fluct_run(&d, &data, &b, NULL), FW_OK);
    d.width = 100;
    FW_CHECK_STATUS(fw_fluct_run(&d, &data, &c, NULL), FW_OK);
    if (a.owned == NULL || b.owned == NULL || c.owned == NULL) return;
    for (i = 0; i < a.n_records * n; ++i) FW_CHECK(a.f[i] == b.f[i] && a.f_var[i] == b.f_var[i] && a.f_var_se[i] == b.f_var_se[i]);
    for (i = 0; i < n; ++i) FW_CHECK(b.f_bias[i] == 0);
    for (r = 0; r < b.n_records; ++r) {
        double lt = 0, le = 0, any = 0;
        for (i = 0; i < n; ++i) {
            const int e = r * n + i;
            FW_CHECK_NEAR(c.f_bias[e], b.f_bias[e] / 2, tol * fabs((double)b.f_bias[e]) + 1e-300);
            any += fabs((double)b.f_bias[e]);
        }
        for (i = 0; i < P; ++i) lt += (-(double)(y[i] - b.f[r * n + i]) * b.f_bias[r * n + i] + b.f_var[r * n + i] / 2) / P;
        le = -(double)(yt[0] - b.f[r * n + P]) * b.f_bias[r * n + P] + b.f_var[r * n + P] / 2;
        FW_CHECK_NEAR(b.train_loss_bias[r], lt, tol * 10 * fabs(lt) + 1e-12);
        FW_CHECK_NEAR(b.test_loss_bias[r], le, tol * 10 * fabs(le) + 1e-12);
        if (r > 0) FW_CHECK(any > 0);
    }
    fw_fluct_result_free(&a);
    fw_fluct_result_free(&b);
    fw_fluct_result_free(&c);
    d.dmft.sampler = FW_SAMPLER_QUADRATURE; d.dmft.quad_nodes = 4;
    FW_CHECK_STATUS(fw_fluct_run(&d, &data, &a, NULL), FW_OK);
    if (a.owned == NULL) return;
    for (i = n; i < a.n_records * n; ++i) FW_CHECK(fabs((double)a.f_bias[i]) < 1 && a.f_bias_se[i] == 0);
    fw_fluct_result_free(&a);
}

static void online_with_a_repeated_batch_equals_full_batch_theory(void)
{
    /* Online SGD that sees the same P points at every step (batch B = P, lr B eta) is full-batch
       GD with lr eta, so fw_online_run and fw_fluct_run must agree on the test points: the mean,
       the variance and the O(1/N) mean shift, within 4 combined standard errors of their own
       (independent samples: v ~ N(0, I_D) there, h ~ N(0, Kx) here). */
    const int P = 3, Q = 2, D = 3, T = 6, n = P + Q;
    fw_real X[5 * 3], y[3], yt[2] = {(fw_real)0.2, (fw_real)-0.4}, Xb[6 * 3 * 3], yb[6 * 3];
    fw_data data = fluct_data(P, Q, D, X, y, 29);
    fw_fluct_desc d = fluct_desc(FW_ACT_TANH, 1, (fw_real)0.4, T, 64);
    fw_online_desc od;
    fw_online_data odata;
    fw_fluct_result a;
    fw_online_result b;
    int t, r, q;
    data.y_test = yt;
    d.dmft.every = 2; d.bias = 1;
    for (t = 0; t < T; ++t) {
        memcpy(Xb + (size_t)t * P * D, X, (size_t)P * D * sizeof(fw_real));
        memcpy(yb + (size_t)t * P, y, (size_t)P * sizeof(fw_real));
    }
    memset(&od, 0, sizeof od);
    od.act = FW_ACT_TANH; od.gamma0 = 1; od.lr = (fw_real)0.4 * P; od.steps = T; od.batch = P; od.every = 2; od.width = 64;
    od.samples = 8192 / TEST_SAMPLE_DIVISOR; od.replicates = 16; od.seed = 3;
    odata.D = D; odata.Q = Q; odata.Xb = Xb; odata.yb = yb; odata.Xt = X + P * D; odata.yt = yt;
    FW_CHECK_STATUS(fw_fluct_run(&d, &data, &a, NULL), FW_OK);
    FW_CHECK_STATUS(fw_online_run(&od, &odata, &b, NULL), FW_OK);
    if (a.owned == NULL || b.owned == NULL) return;
    FW_CHECK(a.n_records == b.n_records && b.Q == Q);
    for (r = 0; r < b.n_records; ++r)
        for (q = 0; q < Q; ++q) {
            const int ia = r * n + P + q, ib = r * Q + q;
            FW_CHECK_NEAR(a.f[ia], b.f[ib], 4 * sqrt((double)a.f_se[ia] * a.f_se[ia] + (double)b.f_se[ib] * b.f_se[ib]) + 1e-6);
            FW_CHECK_NEAR(a.f_var[ia], b.f_var[ib], 4 * sqrt((double)a.f_var_se[ia] * a.f_var_se[ia] + (double)b.f_var_se[ib] * b.f_var_se[ib]) + 1e-7);
            FW_CHECK_NEAR(a.f_bias[ia], b.f_bias[ib], 4 * sqrt((double)a.f_bias_se[ia] * a.f_bias_se[ia] + (double)b.f_bias_se[ib] * b.f_bias_se[ib]) + 1e-7);
        }
    fw_fluct_result_free(&a);
    fw_online_result_free(&b);
}

typedef struct online_args { const fw_online_desc *d; const fw_online_data *data; fw_online_result *res; } online_args;
static fw_status online_run(void *u, const fw_allocator *al)
{
    const online_args *a = (const online_args *)u;
    return fw_online_run(a->d, a->data, a->res, al);
}
static void online_free(void *u) { fw_online_result_free(((const online_args *)u)->res); }

typedef struct fluct_args { const fw_fluct_desc *d; const fw_data *data; fw_fluct_result *res; } fluct_args;
static fw_status fluct_run(void *u, const fw_allocator *al)
{
    const fluct_args *a = (const fluct_args *)u;
    return fw_fluct_run(a->d, a->data, a->res, al);
}
static void fluct_free(void *u) { fw_fluct_result_free(((const fluct_args *)u)->res); }

static void online_rejects_bad_input_without_leaks(void)
{
    const int D = 2, T = 3, B = 2, Q = 2;
    fw_real Xb[3 * 2 * 2], yb[6], Xt[4], yt[2];
    fw_online_desc od;
    fw_online_data odata;
    fw_online_result res;
    size_t bytes;
    void *ws;
    test_fill_normal(Xb, 12, 5); test_fill_normal(yb, 6, 6); test_fill_normal(Xt, 4, 7); test_fill_normal(yt, 2, 8);
    memset(&od, 0, sizeof od);
    od.act = FW_ACT_TANH; od.lr = (fw_real)0.5; od.steps = T; od.batch = B; od.width = 16; od.samples = 64; od.replicates = 2;
    odata.D = D; odata.Q = Q; odata.Xb = Xb; odata.yb = yb; odata.Xt = Xt; odata.yt = yt;
    FW_CHECK_STATUS(fw_online_run(NULL, &odata, &res, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_online_run(&od, NULL, &res, NULL), FW_ERR_NULL);
    od.act = FW_ACT_RELU; FW_CHECK_STATUS(fw_online_run(&od, &odata, &res, NULL), FW_ERR_ARG); od.act = FW_ACT_TANH;
    od.lr = (fw_real)NAN; FW_CHECK_STATUS(fw_online_run(&od, &odata, &res, NULL), FW_ERR_ARG); od.lr = (fw_real)0.5;
    od.gamma0 = TEST_TINY_GAMMA0; FW_CHECK_STATUS(fw_online_run(&od, &odata, &res, NULL), FW_ERR_ARG); od.gamma0 = 1;
    od.batch = 0; FW_CHECK_STATUS(fw_online_run(&od, &odata, &res, NULL), FW_ERR_SIZE); od.batch = B;
    od.samples = 3; FW_CHECK_STATUS(fw_online_run(&od, &odata, &res, NULL), FW_ERR_SIZE); od.samples = 64;
    yb[1] = (fw_real)INFINITY; FW_CHECK_STATUS(fw_online_run(&od, &odata, &res, NULL), FW_ERR_NONFINITE); yb[1] = 0;
    FW_CHECK_STATUS(fw_online_workspace_size(&od, &odata, &bytes), FW_OK);
    ws = malloc(bytes);
    FW_CHECK(ws != NULL);
    FW_CHECK_STATUS(fw_online_run_ws(&od, &odata, &res, ws, bytes / 2), FW_ERR_WORKSPACE);
    FW_CHECK_STATUS(fw_online_run_ws(&od, &odata, &res, ws, bytes), FW_OK);
    free(ws);
    {   /* allocation failure at each of the two allocator calls: one FW_ERR_NOMEM, nothing leaks */
        online_args a = {&od, &odata, &res};
        FW_CHECK(test_nomem_runs(2, online_run, online_free, &a) == 1);
    }
    od.lr = (fw_real)(TEST_IS_FLOAT ? 1e30 : 1e200); od.act = FW_ACT_LINEAR;   /* overflows within the 3 steps */
    FW_CHECK_STATUS(fw_online_run(&od, &odata, &res, NULL), FW_ERR_DIVERGED);
}

static void fluct_rejects_bad_input_without_leaks(void)
{
    const int P = 2, Q = 1, D = 2;
    fw_real X[3 * 2], y[2], bad[2];
    fw_data data = fluct_data(P, Q, D, X, y, 95), bd;
    fw_fluct_desc d = fluct_desc(FW_ACT_TANH, 1, (fw_real)0.3, 3, 32);
    fw_fluct_observable ob;
    fw_fluct_result r;
    size_t bytes;
    void *ws;
    d.dmft.samples = 64;
    FW_CHECK_STATUS(fw_fluct_run(NULL, &data, &r, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_fluct_run(&d, NULL, &r, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_fluct_run(&d, &data, NULL, NULL), FW_ERR_NULL);
    d.width = 0; FW_CHECK_STATUS(fw_fluct_run(&d, &data, &r, NULL), FW_ERR_SIZE); d.width = 32;
    d.dmft.depth = 2; FW_CHECK_STATUS(fw_fluct_run(&d, &data, &r, NULL), FW_ERR_ARG); d.dmft.depth = 1;
    d.dmft.sampler = FW_SAMPLER_EXACT; d.dmft.act = FW_ACT_LINEAR;
    FW_CHECK_STATUS(fw_fluct_run(&d, &data, &r, NULL), FW_ERR_ARG);
    d.dmft.sampler = FW_SAMPLER_ANTITHETIC; d.dmft.act = FW_ACT_TANH;
    d.relu_bw = (fw_real)NAN; FW_CHECK_STATUS(fw_fluct_run(&d, &data, &r, NULL), FW_ERR_ARG); d.relu_bw = 0;
    d.dmft.lr = -1; FW_CHECK_STATUS(fw_fluct_run(&d, &data, &r, NULL), FW_ERR_ARG); d.dmft.lr = (fw_real)0.3;
    memset(&ob, 0, sizeof ob);
    d.n_obs = 1; d.obs = NULL; FW_CHECK_STATUS(fw_fluct_run(&d, &data, &r, NULL), FW_ERR_NULL);
    d.obs = &ob; FW_CHECK_STATUS(fw_fluct_run(&d, &data, &r, NULL), FW_ERR_ARG);
    d.n_obs = 0; d.obs = NULL;
    bad[0] = y[0]; bad[1] = (fw_real)NAN;
    bd = data; bd.y = bad; FW_CHECK_STATUS(fw_fluct_run(&d, &bd, &r, NULL), FW_ERR_NONFINITE);
    /* workspace: too small, then exact; the result equals the allocating run bit for bit */
    FW_CHECK_STATUS(fw_fluct_workspace_size(&d, &data, &bytes), FW_OK);
    ws = malloc(bytes);
    FW_CHECK(ws != NULL);
    FW_CHECK_STATUS(fw_fluct_run_ws(&d, &data, &r, ws, bytes / 2), FW_ERR_WORKSPACE);
    FW_CHECK_STATUS(fw_fluct_run_ws(&d, &data, &r, ws, bytes), FW_OK);
    {
        fw_fluct_result r2;
        int i;
        FW_CHECK_STATUS(fw_fluct_run(&d, &data, &r2, NULL), FW_OK);
        for (i = 0; i < r.n_records * 3; ++i) FW_CHECK(r.f_var[i] == r2.f_var[i] && r.f_var_se[i] == r2.f_var_se[i]);
        fw_fluct_result_free(&r2);
    }
    free(ws);
    {   /* allocation failure at each of the two allocator calls: one FW_ERR_NOMEM, nothing leaks */
        fluct_args a = {&d, &data, &r};
        FW_CHECK(test_nomem_runs(2, fluct_run, fluct_free, &a) == 1);
    }
    /* a learning rate far beyond 2 / sharpness */
    d.dmft.lr = 50; d.dmft.steps = 200; d.dmft.act = FW_ACT_LINEAR;
    FW_CHECK_STATUS(fw_fluct_run(&d, &data, &r, NULL), FW_ERR_DIVERGED);
}

static fw_status kcov_run(void *user, const fw_allocator *al)
{
    const fw_real kx[4] = {1, (fw_real)0.3, (fw_real)0.3, 1};
    fw_real *v = (fw_real *)user;
    fw_kcov_desc d;
    fw_kcov_out o;
    memset(&d, 0, sizeof d);
    memset(&o, 0, sizeof o);
    d.act = FW_ACT_TANH; d.depth = 2; d.width = 8; d.samples = 64;
    o.ntk_var = v;
    return fw_kcov_init(&d, 2, kx, 2, &o, al);
}

static void kcov_free(void *user) { (void)user; }

static void deep_kernel_variance_at_init_matches_linear_closed_forms(void)
{
    /* Deep linear nets at initialization: Phi(l) = H(l) H(l)^T / N is Wishart around Phi(l-1), so
       at leading order Var Phi(l)_ab = l (K_aa K_bb + K_ab^2) / N, and G(l) = 1 (all entries) with
       Var G(l)_ab = 2 (L - l + 1) / N (each layer above adds the Wishart noise of the all-ones kernel;
       G(L) = |w|^2 / N). fw_kcov_init estimates kappa by Monte Carlo (M = 16384), the
       sensitivities exactly: agreement within 4 of its own standard errors (plus 2e-3 relative for
       the float build's finite differences). Also: Var K_ab is the diagonal of ntk_cov, f0_cov =
       Phi(L) / (gamma0^2 N), and the variance per entry grows with depth. */
    const int n = 3, L = 3, N = 100;
    const fw_real kx[9] = {1, (fw_real)0.5, (fw_real)0.2, (fw_real)0.5, (fw_real)1.2, (fw_real)-0.3, (fw_real)0.2, (fw_real)-0.3, (fw_real)0.8};
    fw_real pv[27], pse[27], gv[27], gse[27], kv[9], kse[9], kc[81], f0[9];
    fw_kcov_desc d;
    fw_kcov_out o;
    int l, a, b;
    memset(&d, 0, sizeof d);
    memset(&o, 0, sizeof o);
    d.act = FW_ACT_LINEAR; d.depth = L; d.width = N; d.gamma0 = 2; d.samples = 16384; d.seed = 5;   /* streaming: no memory in M */
    o.phi_var = pv; o.phi_var_se = pse; o.g_var = gv; o.g_var_se = gse; o.ntk_var = kv; o.ntk_var_se = kse; o.ntk_cov = kc; o.f0_cov = f0;
    FW_CHECK_STATUS(fw_kcov_init(&d, n, kx, n, &o, NULL), FW_OK);
    for (l = 1; l <= L; ++l)
        for (a = 0; a < n; ++a)
            for (b = 0; b < n; ++b) {
                const int e = (l - 1) * 9 + a * n + b;
                const double want = l * (kx[a * n + a] * kx[b * n + b] + kx[a * n + b] * kx[a * n + b]) / N, wg = 2.0 * (L - l + 1) / N;
                FW_CHECK(pse[e] > 0 && gse[e] > 0);
                FW_CHECK_NEAR(pv[e], want, 4 * pse[e] + 2e-3 * want);
                FW_CHECK_NEAR(gv[e], wg, 4 * gse[e] + 2e-3 * wg);
                FW_CHECK(pv[e] == pv[(l - 1) * 9 + b * n + a]);
            }
    for (a = 0; a < n * n; ++a) {
        FW_CHECK_NEAR(kv[a], kc[a * 9 + a], 1e-6 * kv[a]);
        FW_CHECK_NEAR(f0[a], kx[a] / (4.0 * N), 1e-6);   /* Phi(L) = kx for linear nets */
    }
    FW_CHECK(pv[18] > pv[0] + 3 * (pse[18] + pse[0]));   /* depth 3 vs 1: 3x the variance */
    /* bad input, allocation failure */
    FW_CHECK_STATUS(fw_kcov_init(NULL, n, kx, n, &o, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_kcov_init(&d, n, NULL, n, &o, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_kcov_init(&d, n, kx, n, NULL, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_kcov_init(&d, 0, kx, n, &o, NULL), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_kcov_init(&d, n, kx, 2, &o, NULL), FW_ERR_LD);
    d.act = (fw_activation)99; FW_CHECK_STATUS(fw_kcov_init(&d, n, kx, n, &o, NULL), FW_ERR_ARG); d.act = FW_ACT_TANH;
    d.width = -1; FW_CHECK_STATUS(fw_kcov_init(&d, n, kx, n, &o, NULL), FW_ERR_SIZE); d.width = N;
    d.replicates = 1; FW_CHECK_STATUS(fw_kcov_init(&d, n, kx, n, &o, NULL), FW_ERR_ARG); d.replicates = 0;
    d.gamma0 = (fw_real)NAN; FW_CHECK_STATUS(fw_kcov_init(&d, n, kx, n, &o, NULL), FW_ERR_ARG); d.gamma0 = 1;
    d.gamma0 = TEST_TINY_GAMMA0; FW_CHECK_STATUS(fw_kcov_init(&d, n, kx, n, &o, NULL), FW_ERR_ARG); d.gamma0 = 1;
    {
        fw_real bad[9];
        size_t need = 0;
        unsigned char ws[256];
        memcpy(bad, kx, sizeof bad);
        bad[1] = bad[3] = 3;   /* |K_01| > sqrt(K_00 K_11): not positive semidefinite */
        FW_CHECK_STATUS(fw_kcov_init(&d, n, bad, n, &o, NULL), FW_ERR_NOT_PD);
        bad[1] = bad[3] = (fw_real)INFINITY;
        FW_CHECK_STATUS(fw_kcov_init(&d, n, bad, n, &o, NULL), FW_ERR_NONFINITE);
        FW_CHECK_STATUS(fw_kcov_workspace_size(&d, n, NULL), FW_ERR_NULL);
        FW_CHECK_STATUS(fw_kcov_workspace_size(&d, n, &need), FW_OK);
        FW_CHECK(need > sizeof ws);
        FW_CHECK_STATUS(fw_kcov_init_ws(&d, n, kx, n, &o, ws, sizeof ws), FW_ERR_WORKSPACE);
    }
    {
        fw_real v[4];
        FW_CHECK(test_nomem_runs(1, kcov_run, kcov_free, v) == 1);
    }
}

/* Deep linear nets trained by GD (fw_dlfluct_run). */
static fw_dlfluct_desc dlf_desc(int L, int N, fw_real gamma0, fw_real lr, int T)
{
    fw_dlfluct_desc d;
    memset(&d, 0, sizeof d);
    d.depth = L; d.width = N; d.gamma0 = gamma0; d.lr = lr; d.steps = T;
    return d;
}

static void deep_linear_fluct_at_init_is_the_wishart_closed_form(void)
{
    /* At t = 0 the training terms vanish and docs/fluct.md section 10's closed forms hold exactly
       (no sampling here): Var Phi(l)_ab = l (K_aa K_bb + K_ab^2) / N, Var G(l) = 2 (L - l + 1) / N,
       Var f = K_aa / (gamma0^2 N); means Phi(l) = Kx, G(l) = 1, f = 0. Rounding only: 1e-9
       relative (float: 1e-4). */
    const int P = 2, Q = 1, n = 3, L = 3, N = 64;
    const double tol = TEST_IS_FLOAT ? 1e-4 : 1e-9;
    fw_real X[3 * 2], y[2], kx[9], f[3], fv[3], ph[27], phv[27], g[12], gv[12];
    fw_data data = fluct_data(P, Q, 2, X, y, 41);
    fw_dlfluct_desc d = dlf_desc(L, N, 2, (fw_real)0.3, 0);
    fw_dlfluct_out o;
    int l, a, b;
    memset(&o, 0, sizeof o);
    o.f = f; o.f_var = fv; o.phi = ph; o.phi_var = phv; o.g = g; o.g_var = gv;
    FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_OK);
    for (a = 0; a < n; ++a)
        for (b = 0; b < n; ++b) kx[a * n + b] = (X[a * 2] * X[b * 2] + X[a * 2 + 1] * X[b * 2 + 1]) / 2;
    for (a = 0; a < n; ++a) {
        FW_CHECK(f[a] == 0);
        FW_CHECK_NEAR(fv[a], kx[a * n + a] / (4.0 * N), tol * kx[a * n + a] / N);
    }
    for (l = 1; l <= L; ++l) {
        for (a = 0; a < n; ++a)
            for (b = 0; b < n; ++b) {
                const double want = l * (kx[a * n + a] * kx[b * n + b] + kx[a * n + b] * kx[a * n + b]) / N;
                FW_CHECK_NEAR(ph[(l - 1) * 9 + a * n + b], kx[a * n + b], tol);
                FW_CHECK_NEAR(phv[(l - 1) * 9 + a * n + b], want, tol * want + 1e-12);
            }
        for (a = 0; a < P * P; ++a) {
            FW_CHECK_NEAR(g[(l - 1) * 4 + a], 1, tol);
            FW_CHECK_NEAR(gv[(l - 1) * 4 + a], 2.0 * (L - l + 1) / N, tol / N);
        }
    }
}

static void deep_linear_fluct_at_depth_one_equals_the_two_layer_theory(void)
{
    /* L = 1 has no shared hidden weights: the deep propagator must reduce to fw_fluct_run's
       (I + J)^-1 kappa (I + J)^-T, here evaluated by tensor Gauss-Hermite quadrature (8 nodes a
       dimension integrate the degree <= 10 polynomials of 4 steps exactly). Predictions, Phi and
       NTK variances at every step agree to 1e-7 relative (float: 2e-3). */
    const int P = 2, Q = 1, n = 3, T = 4, N = 100;
    const double tol = TEST_IS_FLOAT ? 2e-3 : 1e-7;
    fw_real X[3 * 2], y[2], f[15], fv[15], phv[45], kv[20];
    fw_data data = fluct_data(P, Q, 2, X, y, 43);
    fw_dlfluct_desc d = dlf_desc(1, N, (fw_real)0.8, (fw_real)0.4, T);
    fw_dlfluct_out o;
    fw_fluct_desc fd = fluct_desc(FW_ACT_LINEAR, (fw_real)0.8, (fw_real)0.4, T, N);
    fw_fluct_result r;
    int i;
    memset(&o, 0, sizeof o);
    o.f = f; o.f_var = fv; o.phi_var = phv; o.ntk_var = kv;
    FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_OK);
    fd.dmft.sampler = FW_SAMPLER_QUADRATURE; fd.dmft.quad_nodes = 8; fd.kernels = 1;
    FW_CHECK_STATUS(fw_fluct_run(&fd, &data, &r, NULL), FW_OK);
    if (r.n_records != T + 1) { FW_CHECK(r.n_records == T + 1); fw_fluct_result_free(&r); return; }
    for (i = 0; i < (T + 1) * n; ++i) {
        FW_CHECK_NEAR(f[i], r.f[i], tol * (1 + fabs((double)r.f[i])));
        FW_CHECK_NEAR(fv[i], r.f_var[i], tol * r.f_var[i] + 1e-12);
    }
    for (i = 0; i < (T + 1) * n * n; ++i) FW_CHECK_NEAR(phv[i], r.phi_var[i], tol * fabs((double)r.phi_var[i]) + 1e-12);
    for (i = 0; i < (T + 1) * P * P; ++i) FW_CHECK_NEAR(kv[i], r.ntk_var[i], tol * fabs((double)r.ntk_var[i]) + 1e-12);
    fw_fluct_result_free(&r);
}

static void deep_linear_fluct_means_equal_the_exact_dmft(void)
{
    /* The infinite-width part (fixed point of the layer map) against fw_dmft_run's exact
       sampler for linear nets (a different code path: marching basis vectors through the
       general solver), depth 3: predictions and NTK at every step, to 1e-8 (float: 1e-3). */
    const int P = 1, Q = 1, n = 2, L = 3, T = 3;
    const double tol = TEST_IS_FLOAT ? 1e-3 : 1e-8;
    fw_real X[2 * 2], y[1], f[8], k[4];
    fw_data data = fluct_data(P, Q, 2, X, y, 47);
    fw_dlfluct_desc d = dlf_desc(L, 32, (fw_real)1.5, (fw_real)0.5, T);
    fw_dlfluct_out o;
    fw_dmft_desc dd;
    fw_dmft_result r;
    int i;
    y[0] = 1;
    memset(&o, 0, sizeof o);
    o.f = f; o.ntk = k;
    FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_OK);
    memset(&dd, 0, sizeof dd);
    dd.depth = L; dd.act = FW_ACT_LINEAR; dd.gamma0 = (fw_real)1.5; dd.lr = (fw_real)0.5; dd.steps = T; dd.sampler = FW_SAMPLER_EXACT;
    FW_CHECK_STATUS(fw_dmft_run(&dd, &data, &r, NULL), FW_OK);
    if (r.n_records != T + 1) { FW_CHECK(r.n_records == T + 1); fw_dmft_result_free(&r); return; }
    for (i = 0; i < (T + 1) * n; ++i) FW_CHECK_NEAR(f[i], r.f[i], tol);
    for (i = 0; i < T + 1; ++i) FW_CHECK_NEAR(k[i], r.ntk[i], tol * fabs((double)r.ntk[i]));
    FW_CHECK(fabs((double)f[T * n]) > 0.1);   /* it trained (towards y = 1; eta 0.5 overshoots) */
    fw_dmft_result_free(&r);
}

typedef struct dlf_args { const fw_dlfluct_desc *d; const fw_data *data; const fw_dlfluct_out *o; } dlf_args;
static fw_status dlf_run(void *u, const fw_allocator *al)
{
    const dlf_args *a = (const dlf_args *)u;
    return fw_dlfluct_run(a->d, a->data, a->o, al);
}

/* Workspace: too small, then exact; the same f_var (cnt entries, all > 0) as the allocating
   run (same seed); then every allocation failure returns FW_ERR_NOMEM without a leak. */
static void dlf_ws_and_nomem(const fw_dlfluct_desc *d, const fw_data *data, fw_real *fv, int cnt)
{
    fw_real fv2[64];
    fw_dlfluct_out o;
    size_t bytes = 0;
    void *ws;
    int i;
    memset(&o, 0, sizeof o);
    o.f_var = fv;
    FW_CHECK(cnt <= 64);
    FW_CHECK_STATUS(fw_dlfluct_workspace_size(d, data, &bytes), FW_OK);
    ws = malloc(bytes);
    FW_CHECK(ws != NULL);
    if (ws == NULL) return;
    FW_CHECK_STATUS(fw_dlfluct_run_ws(d, data, &o, ws, bytes / 2), FW_ERR_WORKSPACE);
    FW_CHECK_STATUS(fw_dlfluct_run_ws(d, data, &o, ws, bytes), FW_OK);
    o.f_var = fv2;
    FW_CHECK_STATUS(fw_dlfluct_run(d, data, &o, NULL), FW_OK);
    for (i = 0; i < cnt; ++i) FW_CHECK(fv[i] == fv2[i] && fv[i] > 0);
    free(ws);
    {
        dlf_args a = {d, data, &o};
        FW_CHECK(test_nomem_runs(1, dlf_run, kcov_free, &a) == 1);
    }
}

static void deep_linear_fluct_rejects_bad_input_without_leaks(void)
{
    const int P = 1, Q = 1;
    fw_real X[2 * 2], y[1], bad[4], fv[8];
    size_t bytes_unused;
    fw_data data = fluct_data(P, Q, 2, X, y, 53), bd;
    fw_dlfluct_desc d = dlf_desc(2, 16, 1, (fw_real)0.3, 3);
    fw_dlfluct_out o;
    memset(&o, 0, sizeof o);
    o.f_var = fv;
    FW_CHECK_STATUS(fw_dlfluct_run(NULL, &data, &o, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_dlfluct_run(&d, NULL, &o, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, NULL, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_dlfluct_workspace_size(&d, &data, NULL), FW_ERR_NULL);
    d.width = 0; FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_ERR_SIZE); d.width = 16;
    d.steps = -1; FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_ERR_SIZE); d.steps = 3;
    d.depth = -2; FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_ERR_SIZE); d.depth = 2;
    d.steps = 400; FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_ERR_SIZE); d.steps = 3;
    d.lr = (fw_real)NAN; FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_ERR_ARG); d.lr = 0;
    FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_ERR_ARG); d.lr = (fw_real)0.3;
    d.gamma0 = -1; FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_ERR_ARG); d.gamma0 = 1;
    d.gamma0 = TEST_TINY_GAMMA0; FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_ERR_ARG); d.gamma0 = 1;
    d.ntk = 1; d.gamma0 = TEST_TINY_GAMMA0; FW_CHECK_STATUS(fw_dlfluct_workspace_size(&d, &data, &bytes_unused), FW_OK); d.ntk = 0; d.gamma0 = 1;   /* NTK: gamma0 unused */
    bd = data; bd.P = 0; FW_CHECK_STATUS(fw_dlfluct_run(&d, &bd, &o, NULL), FW_ERR_SIZE);
    bd = data; bd.X = NULL; FW_CHECK_STATUS(fw_dlfluct_run(&d, &bd, &o, NULL), FW_ERR_NULL);
    memcpy(bad, X, sizeof bad); bad[3] = (fw_real)INFINITY;
    bd = data; bd.X = bad; FW_CHECK_STATUS(fw_dlfluct_run(&d, &bd, &o, NULL), FW_ERR_NONFINITE);
    dlf_ws_and_nomem(&d, &data, fv, 8);
    /* a learning rate far beyond the edge of stability */
    d.lr = 200; d.steps = 8; d.depth = 1;   /* small enough for the 4 MiB ARM boards */
    FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_ERR_DIVERGED);
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void sampled_deep_propagator_reproduces_the_exact_linear_one(void)
{
    /* docs/fluct.md section 12: the sampled propagator (sites marched in time, per-site
       Jacobians, Price columns, per-site response products for the pair and chain terms) run
       on a linear net (desc.sampled) must give the exact propagator's variances up to its own
       Monte Carlo error. Depth 3 (adjacent pairs and a chain), 3 steps, every output variance:
       z = (sampled - exact) / se, se from 8 replicates (a t statistic with 7 degrees of
       freedom: median |z| about 0.7, |z| > 6 has probability 1e-3 per cell). A wrong or missing
       pair term is off by factors (tens of se). */
    enum { P = 1, Q = 1, n = 2, L = 3, T = 3, T1 = T + 1 };
    fw_real X[n * 2], y[P];
    fw_data data = fluct_data(P, Q, 2, X, y, 61);
    fw_dlfluct_desc d = dlf_desc(L, 64, (fw_real)1.5, (fw_real)0.3, T);
    fw_dlfluct_out o, e;
    fw_real fv[T1 * n], fs[T1 * n], pv[L * T1 * n * n], ps[L * T1 * n * n], gv[L * T1], gs[L * T1], kv[T1], ks[T1];
    fw_real fv0[T1 * n], pv0[L * T1 * n * n], gv0[L * T1], kv0[T1];
    double z[T1 * n + L * T1 * n * n + L * T1 + T1], rel[T1 * n + L * T1 * n * n + L * T1 + T1];
    int i, m = 0;
    y[0] = 1;
    memset(&o, 0, sizeof o);
    memset(&e, 0, sizeof e);
    e.f_var = fv0; e.phi_var = pv0; e.g_var = gv0; e.ntk_var = kv0;
    FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &e, NULL), FW_OK);
    d.sampled = 1; d.replicates = 8; d.seed = 5;
#ifdef TEST_SMALL_MEMORY
    d.samples = 400;
#else
    d.samples = 1600;
#endif
    o.f_var = fv; o.phi_var = pv; o.g_var = gv; o.ntk_var = kv;
    o.f_var_se = fs; o.phi_var_se = ps; o.g_var_se = gs; o.ntk_var_se = ks;
    FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_OK);
#define FW__ZC(v, s, x, k) do { if ((x)[k] > 1e-9) { z[m] = fabs((double)(v)[k] - (x)[k]) / (s)[k]; rel[m++] = (s)[k] / (x)[k]; } } while (0)
    for (i = 0; i < T1 * n; ++i) FW__ZC(fv, fs, fv0, i);
    for (i = 0; i < L * T1 * n * n; ++i) FW__ZC(pv, ps, pv0, i);
    for (i = 0; i < L * T1; ++i) FW__ZC(gv, gs, gv0, i);
    for (i = 0; i < T1; ++i) FW__ZC(kv, ks, kv0, i);
#undef FW__ZC
    qsort(z, (size_t)m, sizeof z[0], cmp_double);
    qsort(rel, (size_t)m, sizeof rel[0], cmp_double);
    printf("  sampled vs exact linear: %d cells, median |z| %.2f, max |z| %.2f, median se/var %.3f\n", m, z[m / 2], z[m - 1], rel[m / 2]);
    FW_CHECK(m > 40);
    FW_CHECK(z[m / 2] < 1.5);
    FW_CHECK(z[m - 1] < 6);
    FW_CHECK(rel[m / 2] < 8 / sqrt((double)d.samples));   /* the Monte Carlo error is small: 0.14 at M = 1600 */
}

static void sampled_deep_propagator_at_depth_one_equals_the_two_layer_theory(void)
{
    /* A tanh net with one hidden layer: the sampled propagator (Monte Carlo sites, D by central
       differences and Price's theorem) against fw_fluct_run's two-layer theory (antithetic
       sampling, J by exact tangents: a different code path), every prediction, Phi and NTK
       variance over 3 steps; z with both solvers' replicate standard errors: median |z| < 1.5,
       max < 6. (Gauss-Hermite quadrature is no reference here: with 8 nodes a dimension it
       misses Var tanh(h)^2 by 15% at K = 0.77, with 32 still by 5% at t = 3.) */
    enum { P = 1, Q = 1, n = 2, T = 3, T1 = T + 1, N = 64 };
    fw_real X[n * 2], y[P], fv[T1 * n], fs[T1 * n], pv[T1 * n * n], ps[T1 * n * n], kv[T1], ks[T1];
    fw_data data = fluct_data(P, Q, 2, X, y, 71);
    fw_dlfluct_desc d = dlf_desc(1, N, (fw_real)1.5, (fw_real)0.5, T);
    fw_dlfluct_out o;
    fw_fluct_desc fd = fluct_desc(FW_ACT_TANH, (fw_real)1.5, (fw_real)0.5, T, N);
    fw_fluct_result r;
    double z[T1 * n + T1 * n * n + T1];
    int i, m = 0;
    y[0] = 1;
    memset(&o, 0, sizeof o);
    d.act = FW_ACT_TANH; d.replicates = 8; d.seed = 3;
#ifdef TEST_SMALL_MEMORY
    d.samples = 800;
#else
    d.samples = 3200;
#endif
    o.f_var = fv; o.f_var_se = fs; o.phi_var = pv; o.phi_var_se = ps; o.ntk_var = kv; o.ntk_var_se = ks;
    FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_OK);
    fd.kernels = 1;
    FW_CHECK_STATUS(fw_fluct_run(&fd, &data, &r, NULL), FW_OK);
    if (r.n_records != T1) { FW_CHECK(r.n_records == T1); fw_fluct_result_free(&r); return; }
#define FW__ZQ(a, sa, b, sb) (fabs((double)(a) - (b)) / sqrt((double)(sa) * (sa) + (double)(sb) * (sb)))
    for (i = 0; i < T1 * n; ++i) z[m++] = FW__ZQ(fv[i], fs[i], r.f_var[i], r.f_var_se[i]);
    for (i = 0; i < T1 * n * n; ++i) z[m++] = FW__ZQ(pv[i], ps[i], r.phi_var[i], r.phi_var_se[i]);
    for (i = 0; i < T1; ++i) z[m++] = FW__ZQ(kv[i], ks[i], r.ntk_var[i], r.ntk_var_se[i]);
#undef FW__ZQ
    fw_fluct_result_free(&r);
    qsort(z, (size_t)m, sizeof z[0], cmp_double);
    printf("  sampled depth 1 vs two-layer theory: %d cells, median |z| %.2f, max |z| %.2f\n", m, z[m / 2], z[m - 1]);
    FW_CHECK(z[m / 2] < 1.5);
    FW_CHECK(z[m - 1] < 6);
}

static void sampled_deep_propagator_rejects_bad_input_without_leaks(void)
{
    const int P = 1, Q = 1;
    fw_real X[2 * 2], y[1], fv[6], fs[6];
    fw_data data = fluct_data(P, Q, 2, X, y, 67);
    fw_dlfluct_desc d = dlf_desc(2, 16, 1, (fw_real)0.3, 2);
    fw_dlfluct_out o;
    memset(&o, 0, sizeof o);
    o.f_var = fv;
    d.act = FW_ACT_RELU; FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_ERR_ARG);
    d.act = (fw_activation)77; FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_ERR_ARG);
    d.act = FW_ACT_TANH;
    d.samples = 1; FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_ERR_SIZE);
    d.samples = 8; d.replicates = 8; FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_ERR_SIZE);
    d.replicates = -1; FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_ERR_SIZE);
    d.samples = 64; d.replicates = 1;
    o.f_var_se = fs; FW_CHECK_STATUS(fw_dlfluct_run(&d, &data, &o, NULL), FW_ERR_ARG); o.f_var_se = NULL;
    dlf_ws_and_nomem(&d, &data, fv, 6);
}

const fw_test_case fw_tests_fluct[] = {
    FW_TEST(initial_variance_is_the_nngp_over_gamma0_squared_n),
    FW_TEST(label_response_equals_finite_differences_of_the_dmft),
    FW_TEST(generic_observables_reproduce_the_builtin_outputs),
    FW_TEST(lazy_limit_equals_the_closed_form),
    FW_TEST(bias_is_zero_at_t0_scales_as_one_over_n_and_leaves_the_variance),
    FW_TEST(online_with_a_repeated_batch_equals_full_batch_theory),
    FW_TEST(online_rejects_bad_input_without_leaks),
    FW_TEST(fluct_rejects_bad_input_without_leaks),
    FW_TEST(deep_kernel_variance_at_init_matches_linear_closed_forms),
    FW_TEST(deep_linear_fluct_at_init_is_the_wishart_closed_form),
    FW_TEST(deep_linear_fluct_at_depth_one_equals_the_two_layer_theory),
    FW_TEST(deep_linear_fluct_means_equal_the_exact_dmft),
    FW_TEST(deep_linear_fluct_rejects_bad_input_without_leaks),
    FW_TEST(sampled_deep_propagator_reproduces_the_exact_linear_one),
    FW_TEST(sampled_deep_propagator_at_depth_one_equals_the_two_layer_theory),
    FW_TEST(sampled_deep_propagator_rejects_bad_input_without_leaks),
    {NULL, NULL}
};
