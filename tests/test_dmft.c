/* DMFT tests: Gauss-Hermite exactness, closed-form kernels against published values and Monte
   Carlo, kernel gradient descent against its eigen-solution, the two DMFT solvers against each
   other, exact Gaussian averages against quadrature and sampling, the lazy limit, the variance
   reduction of the antithetic sampler, and bad input. The comparisons with finite networks live
   in test_stat.c (native builds only; they train wide networks). */
#include "fw_test.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fw_data dmft_data(int P, int Q, int D, fw_real *X, fw_real *y, unsigned seed)
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

/* Scales the rows of X (n x D) to |x|^2 = D, so Kx has a unit diagonal. */
static void unit_rows(int n, int D, fw_real *X)
{
    int i, j;
    for (i = 0; i < n; ++i) {
        double s = 0;
        for (j = 0; j < D; ++j) s += (double)X[i * D + j] * X[i * D + j];
        for (j = 0; j < D; ++j) X[i * D + j] = (fw_real)(X[i * D + j] * sqrt(D / s));
    }
}

static fw_dmft_desc dmft_desc(int L, fw_activation act, fw_real gamma0, fw_real lr, int T)
{
    fw_dmft_desc d;
    memset(&d, 0, sizeof d);
    d.depth = L; d.act = act; d.gamma0 = gamma0; d.lr = lr; d.steps = T; d.seed = 11;
    return d;
}

static void gauss_hermite_integrates_polynomials_exactly(void)
{
    /* E z^(2k) = (2k-1)!!, odd moments 0, for 2k < 2n. Rounding: the sum of n terms of size
       up to (2k-1)!!, so the tolerance is relative, a few hundred eps (float: the nodes are
       computed in double and rounded once). */
    fw_real x[24], w[24];
    int n, k, i;
    for (n = 1; n <= 24; ++n) {
        double dfact = 1;
        FW_CHECK_STATUS(fw_gauss_hermite(n, x, w), FW_OK);
        for (i = 1; i < n; ++i) FW_CHECK(x[i] > x[i - 1]);
        for (k = 0; 2 * k < 2 * n && k <= 10; ++k) {
            double even = 0, odd = 0;
            if (k > 0) dfact *= 2 * k - 1;
            for (i = 0; i < n; ++i) {
                even += (double)w[i] * pow((double)x[i], 2 * k);
                odd += (double)w[i] * pow((double)x[i], 2 * k + 1);
            }
            FW_CHECK_NEAR(even, dfact, 300 * TEST_EPS * dfact);
            if (2 * k + 1 < 2 * n) FW_CHECK_NEAR(odd, 0, 300 * TEST_EPS * dfact * 4);
        }
    }
    FW_CHECK_STATUS(fw_gauss_hermite(0, x, w), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_gauss_hermite(3, NULL, w), FW_ERR_NULL);
}

static void relu_kernel_equals_arc_cosine_values_at_0_half_pi_pi(void)
{
    /* Cho & Saul (2009): for unit-variance inputs at angle th, the order-1 arc-cosine kernel is
       (1/pi)(sin th + (pi - th) cos th), and E relu(u) relu(v) is half of it: 1/2, 1/(2 pi), 0
       at th = 0, pi/2, pi. The order-0 kernel 1 - th/pi gives E step(u) step(v) = 1/2, 1/4, 0.
       Scaling: E relu(au) relu(bv) = ab E relu(u) relu(v). */
    const double pi = 3.14159265358979323846, tol = 50 * TEST_EPS;
    fw_real k, kd;
    FW_CHECK_STATUS(fw_act_kernel(FW_ACT_RELU, 1, 1, 1, &k, &kd), FW_OK);
    FW_CHECK_NEAR(k, 0.5, tol); FW_CHECK_NEAR(kd, 0.5, tol);
    FW_CHECK_STATUS(fw_act_kernel(FW_ACT_RELU, 1, 1, 0, &k, &kd), FW_OK);
    FW_CHECK_NEAR(k, 1 / (2 * pi), tol); FW_CHECK_NEAR(kd, 0.25, tol);
    FW_CHECK_STATUS(fw_act_kernel(FW_ACT_RELU, 1, 1, -1, &k, &kd), FW_OK);
    FW_CHECK_NEAR(k, 0, tol); FW_CHECK_NEAR(kd, 0, tol);
    FW_CHECK_STATUS(fw_act_kernel(FW_ACT_RELU, 4, 9, 0, &k, &kd), FW_OK);
    FW_CHECK_NEAR(k, 6 / (2 * pi), 6 * tol);
    /* erf at c = 0 vanishes (odd function, independent inputs); linear is the covariance */
    FW_CHECK_STATUS(fw_act_kernel(FW_ACT_ERF, 1, 2, 0, &k, &kd), FW_OK);
    FW_CHECK_NEAR(k, 0, tol);
    FW_CHECK_STATUS(fw_act_kernel(FW_ACT_LINEAR, 1, 2, (fw_real)0.3, &k, &kd), FW_OK);
    FW_CHECK_NEAR(k, 0.3, tol); FW_CHECK_NEAR(kd, 1, 0);
    /* bad input */
    FW_CHECK_STATUS(fw_act_kernel(FW_ACT_RELU, 1, 1, 2, &k, &kd), FW_ERR_NOT_PD);
    FW_CHECK_STATUS(fw_act_kernel(FW_ACT_RELU, -1, 1, 0, &k, &kd), FW_ERR_NOT_PD);
    FW_CHECK_STATUS(fw_act_kernel(FW_ACT_TANH, (fw_real)NAN, 1, 0, &k, &kd), FW_ERR_NONFINITE);
    FW_CHECK_STATUS(fw_act_kernel(FW_ACT_COUNT, 1, 1, 0, &k, &kd), FW_ERR_ARG);
}

static void act_kernels_agree_with_monte_carlo(void)
{
    /* 2e5 draws of (u, v): each estimate's standard error is sd / sqrt(S), computed from the
       draws; the check allows 4 of them. Covariance [[1.3, 0.6], [0.6, 0.8]]. */
    const int S = 200000;
    const fw_real a = (fw_real)1.3, b = (fw_real)0.8, c = (fw_real)0.6;
    fw_activation acts[3] = {FW_ACT_RELU, FW_ACT_TANH, FW_ACT_ERF};
    int which, i;
    for (which = 0; which < 3; ++which) {
        fw_rng rng;
        double s1 = 0, s2 = 0, d1 = 0, d2 = 0;
        fw_real k, kd;
        fw_rng_init(&rng, 77, (uint64_t)which);
        for (i = 0; i < S; ++i) {
            double z1 = fw_rng_normal(&rng), z2 = fw_rng_normal(&rng);
            fw_real u = (fw_real)(sqrt((double)a) * z1);
            fw_real v = (fw_real)(c / sqrt((double)a) * z1 + sqrt((double)(b - c * c / a)) * z2);
            double p = (double)fw_act(acts[which], u) * fw_act(acts[which], v);
            double q = (double)fw_act_d1(acts[which], u) * fw_act_d1(acts[which], v);
            s1 += p; s2 += p * p; d1 += q; d2 += q * q;
        }
        FW_CHECK_STATUS(fw_act_kernel(acts[which], a, b, c, &k, &kd), FW_OK);
        s1 /= S; s2 /= S; d1 /= S; d2 /= S;
        FW_CHECK_NEAR(k, s1, 4 * sqrt((s2 - s1 * s1) / S));
        FW_CHECK_NEAR(kd, d1, 4 * sqrt((d2 - d1 * d1) / S));
    }
}

/* Reference Gaussian expectations of tanh, by a different rule from the library's in each regime,
   so that an error in either shows. The library uses the trapezoidal rule up to input scale s = 8
   and Gauss-Legendre panels beyond; the reference uses panels up to s = 8 and the trapezoidal rule
   (a finer step, 0.2 / s) beyond. Panels: 10-point Gauss-Legendre over [-8.5, 8.5] in the
   standard-normal variables, one unit of the tanh argument long (1/s in z) where that argument is
   within 20 of 0 (beyond, tanh is +-1 to rounding), 2 long elsewhere; tanh is analytic within
   |Im x| < pi/2, so a unit panel converges like 6.4^-20. Trapezoid: error about exp(-2 pi d / h)
   for poles at distance d = pi / (2 s): exp(-49). */
static const double ref_glx[5] = {0.14887433898163121088, 0.4333953941292471908, 0.67940956829902440623,
                                  0.86506336668898451073, 0.97390652851717172008};
static const double ref_glw[5] = {0.29552422471475287017, 0.26926671930999635509, 0.219086362515982044,
                                  0.14945134915058059315, 0.066671344308688137594};

/* Next panel length at z: fine (width wd) inside |z - zc| < rad for each of two features
   (wd <= 0: absent); a coarse panel stops where a fine region starts. */
static double ref_panel(double z, const double zc[2], const double wd[2], const double rad[2])
{
    double h = 2;
    int i;
    for (i = 0; i < 2; ++i) {
        double hi = 2, lo = zc[i] - rad[i];
        if (wd[i] <= 0 || wd[i] >= 2) continue;
        if (z >= lo - 1e-12 * (1 + fabs(lo)) && z < zc[i] + rad[i]) hi = wd[i];
        else if (z < lo) hi = lo - z < 2 ? lo - z : 2;
        h = hi < h ? hi : h;
    }
    return z + h > 8.5 ? 8.5 - z : h;
}

static void ref_tanh_gauss_1d(double m, double r, double *et, double *es)
{
    const double zc[2] = {r > 0 ? -m / r : 0, 0}, wd[2] = {r > 0 ? 1 / r : 0, 0}, rad[2] = {r > 0 ? 20 / r : 0, 0};
    double z = -8.5, st = 0, ss = 0;
    if (!(r > 0)) { const double t = tanh(m); *et = t; *es = 1 - t * t; return; }
    while (z < 8.5) {
        const double h = ref_panel(z, zc, wd, rad), mid = z + h / 2;
        int k, sg;
        for (k = 0; k < 5; ++k)
            for (sg = -1; sg <= 1; sg += 2) {
                const double zz = mid + sg * (h / 2) * ref_glx[k], w = (h / 2) * ref_glw[k] * exp(-zz * zz / 2), t = tanh(m + r * zz);
                st += w * t; ss += w * (1 - t * t);
            }
        z += h;
    }
    *et = st / 2.5066282746310002; *es = ss / 2.5066282746310002;
}

static void ref_tanh_trapezoid_2d(double sa, double cu, double rv, double smax, double *k, double *kd)
{
    const double h = 0.2 / smax;
    const int nz = (int)ceil(8.5 / h);
    double acc = 0, accd = 0;
    int i, j;
    for (i = -nz; i <= nz; ++i) {
        const double z1 = i * h, w1 = exp(-z1 * z1 / 2), t1 = tanh(sa * z1);
        double in = 0, ind = 0;
        for (j = -nz; j <= nz; ++j) {
            const double z2 = j * h, w2 = exp(-z2 * z2 / 2), t2 = tanh(cu * z1 + rv * z2);
            in += w2 * t2;
            ind += w2 * (1 - t2 * t2);
        }
        acc += w1 * t1 * in;
        accd += w1 * (1 - t1 * t1) * ind;
    }
    *k = acc * h * h / (2 * 3.14159265358979323846);
    *kd = accd * h * h / (2 * 3.14159265358979323846);
}

static void ref_tanh_gauss_2d(double a, double b, double c, double *k, double *kd)
{
    const double sa = sqrt(a), cu = a > 0 ? c / sa : 0, r2 = b - (a > 0 ? c * c / a : 0), rv = r2 > 0 ? sqrt(r2) : 0;
    const double sc = fabs(cu) > 0 ? (rv > 1 ? rv : 1) / fabs(cu) : 0;   /* the inner result varies on max(1, rv) in cu z */
    const double sz = sa > fabs(cu) ? sa : fabs(cu), smax = sz > rv ? sz : rv;
    const double zc[2] = {0, 0}, wd[2] = {sa > 0 ? 1 / sa : 0, sc}, rad[2] = {sa > 0 ? 20 / sa : 0, sc > 0 ? (20 + 8.5 * rv) / fabs(cu) : 0};
    double z = -8.5, s1 = 0, s2 = 0;
    if (smax > 8) { ref_tanh_trapezoid_2d(sa, cu, rv, smax, k, kd); return; }
    while (z < 8.5) {
        const double h = ref_panel(z, zc, wd, rad), mid = z + h / 2;
        int i, sg;
        for (i = 0; i < 5; ++i)
            for (sg = -1; sg <= 1; sg += 2) {
                const double zz = mid + sg * (h / 2) * ref_glx[i], w = (h / 2) * ref_glw[i] * exp(-zz * zz / 2), t = tanh(sa * zz);
                double et, es;
                ref_tanh_gauss_1d(cu * zz, rv, &et, &es);
                s1 += w * t * et; s2 += w * (1 - t * t) * es;
            }
        z += h;
    }
    *k = s1 / 2.5066282746310002; *kd = s2 / 2.5066282746310002;
}

static void tanh_expectations_are_accurate_up_to_input_variance_100(void)
{
    /* Against the Gauss-Legendre reference above, for variances 0.01 .. 100, unequal variances
       and correlations 0 .. 1: 1e-10 relative asked (k relative to sqrt(k(a, a) k(b, b)), the
       scale of the kernel; kd relative to itself; the library's rule measured 2.4e-14 against
       25-digit quadrature). A float build uses a coarser step (about 1e-7) and rounds to float:
       4 float epsilons relative plus 4 absolute. */
    static const double var[5][2] = {{0.01, 0.02}, {1, 1}, {9, 4}, {25, 25}, {100, 64}};
    static const double rho[4] = {0, 0.3, -0.8, 1};
    const double tol = TEST_IS_FLOAT ? 4 * TEST_EPS : 1e-10;
#ifdef TEST_SMALL_MEMORY
    const int nvar = 3;   /* emulated Cortex-M (soft double): variances up to 9; the hosts run all five */
#else
    const int nvar = 5;
#endif
    int v, r;
    for (v = 0; v < nvar; ++v)
        for (r = 0; r < 4; ++r) {
            const double a = var[v][0], b = var[v][1], c = rho[r] * sqrt(a * b);
            double k, kd, kaa, kbb, dummy;
            fw_real fk, fkd;
            FW_CHECK_STATUS(fw_act_kernel(FW_ACT_TANH, (fw_real)a, (fw_real)b, (fw_real)c, &fk, &fkd), FW_OK);
            ref_tanh_gauss_2d(a, b, c, &k, &kd);
            ref_tanh_gauss_2d(a, a, a, &kaa, &dummy);
            ref_tanh_gauss_2d(b, b, b, &kbb, &dummy);
            if (TEST_IS_FLOAT) {   /* the float build's inputs are the rounded a, b, c */
                ref_tanh_gauss_2d((double)(fw_real)a, (double)(fw_real)b, (double)(fw_real)c, &k, &kd);
            }
            FW_CHECK_NEAR(fk, k, tol * sqrt(kaa * kbb) + (TEST_IS_FLOAT ? 4 * TEST_EPS : 0));
            FW_CHECK_NEAR(fkd, kd, tol * kd + (TEST_IS_FLOAT ? 4 * TEST_EPS : 0));
        }
    {   /* variance 1e4, uncorrelated: k = 0 by symmetry, kd = (E sech^2(100 z))^2; the 1-D
           reference by the trapezoidal rule, step 0.002 (exp(-49), as above). The library's
           cost stays bounded here (panels), where a step of 0.25 / s would need 6800^2 nodes. */
        const double s = 100, h = 0.2 / s;
        const int nz = (int)ceil(8.5 / h);
        double e = 0;
        fw_real fk, fkd;
        int i;
        for (i = -nz; i <= nz; ++i) {
            const double z = i * h, t = tanh(s * z);
            e += h * exp(-z * z / 2) / 2.5066282746310002 * (1 - t * t);
        }
        FW_CHECK_STATUS(fw_act_kernel(FW_ACT_TANH, (fw_real)1e4, (fw_real)1e4, 0, &fk, &fkd), FW_OK);
        FW_CHECK_NEAR(fk, 0, 1e-15);
        FW_CHECK_NEAR(fkd, e * e, tol * e * e + (TEST_IS_FLOAT ? 4 * TEST_EPS : 0));
    }
}

static void lazy_tanh_predictions_equal_kernel_gd_with_an_independent_kernel(void)
{
    /* `finwidth dmft --ntk` (the lazy limit): fw_kernels_infinite + fw_lazy_predict, against the
       NTK recursion written out here on the Gauss-Legendre reference kernel, then kernel GD. Inputs
       with |x|^2 / D = 9 (where the old 64 x 64 Gauss-Hermite rule was 1e-4 off in f). Depth 2,
       20 steps at eta 0.2: rounding in the recursion and 20 GD steps stays below 1e-12; 1e-9 is
       the asked accuracy. Float: the kernels are rounded to float, 1e-4. */
    enum { P = 3, Q = 2, n = 5, D = 4, T = 20, L = 2 };
    const fw_real eta = (fw_real)0.2;
    fw_real X[n * D], y[P], kx[n * n], phi[(L + 1) * n * n], g[L * n * n], ntk[n * n], f[(T + 1) * n];
    double rphi[L + 1][n * n], rd[L][n * n], rntk[n * n], rf[n], gk[n * n];
    const double tol = TEST_IS_FLOAT ? 1e-4 : 1e-9;
    int i, j, l, t;
    fw_rng rng;
    fw_rng_init(&rng, 2024, 0);
    for (i = 0; i < n * D; ++i) X[i] = 3 * fw_rng_normal(&rng);
    for (i = 0; i < P; ++i) y[i] = fw_rng_normal(&rng);
    FW_CHECK_STATUS(fw_syrk(FW_NO_TRANS, n, D, 1 / (fw_real)D, X, D, 0, kx, n), FW_OK);
    FW_CHECK_STATUS(fw_kernels_infinite(FW_ACT_TANH, L, n, kx, n, phi, g, ntk), FW_OK);
    FW_CHECK_STATUS(fw_lazy_predict(P, Q, ntk, n, y, eta, T, f), FW_OK);
    for (i = 0; i < n * n; ++i) rphi[0][i] = (double)kx[i];
    for (l = 1; l <= L; ++l)
        for (i = 0; i < n; ++i)
            for (j = 0; j <= i; ++j) {
                ref_tanh_gauss_2d(rphi[l - 1][i * n + i], rphi[l - 1][j * n + j], rphi[l - 1][i * n + j], &rphi[l][i * n + j], &rd[l - 1][i * n + j]);
                rphi[l][j * n + i] = rphi[l][i * n + j];
                rd[l - 1][j * n + i] = rd[l - 1][i * n + j];
            }
    /* G(L+1) = 1, G(l) = E phi'phi'(layer l) o G(l+1); NTK = sum_l G(l+1) o Phi(l) */
    for (i = 0; i < n * n; ++i) {
        double acc = rphi[L][i];
        gk[i] = 1;
        for (l = L; l >= 1; --l) { gk[i] *= rd[l - 1][i]; acc += gk[i] * rphi[l - 1][i]; }
        rntk[i] = acc;
    }
    for (i = 0; i < n; ++i) rf[i] = 0;
    for (t = 1; t <= T; ++t) {
        double nxt[n];
        for (i = 0; i < n; ++i) {
            double acc = 0;
            for (j = 0; j < P; ++j) acc += rntk[i * n + j] * ((double)y[j] - rf[j]);
            nxt[i] = rf[i] + (double)eta * acc;
        }
        for (i = 0; i < n; ++i) {
            rf[i] = nxt[i];
            FW_CHECK_NEAR(f[t * n + i], rf[i], tol * (1 + fabs(rf[i])));
        }
    }
    for (i = 0; i < n * n; ++i) FW_CHECK_NEAR(ntk[i], rntk[i], tol * (1 + fabs(rntk[i])));
}

static void lazy_predictions_equal_the_eigen_solution(void)
{
    /* f_train(t) = y - (I - eta K)^t y = V (1 - (1 - eta w)^t) V^T y. Rounding: t steps of a
       contraction, a few hundred eps. */
    const int P = 4, Q = 2, D = 3, n = 6, T = 12;
    fw_real X[6 * 3], y[4], kx[36], phi[3 * 36], g[2 * 36], ntk[36], f[13 * 6], A[16], w[4], V[16];
    fw_data data = dmft_data(P, Q, D, X, y, 3);
    const fw_real eta = (fw_real)0.3;
    int i, j, k;
    fw_syrk(FW_NO_TRANS, n, D, 1 / (fw_real)D, X, D, 0, kx, n);
    FW_CHECK_STATUS(fw_kernels_infinite(FW_ACT_TANH, 2, n, kx, n, phi, g, ntk), FW_OK);
    FW_CHECK_STATUS(fw_lazy_predict(P, Q, ntk, n, y, eta, T, f), FW_OK);
    for (i = 0; i < P; ++i)
        for (j = 0; j < P; ++j) A[i * P + j] = ntk[i * n + j];
    FW_CHECK_STATUS(fw_eigh(P, A, P, w, V, P), FW_OK);
    for (i = 0; i < P; ++i) {
        double want = 0;
        for (k = 0; k < P; ++k) {
            double vy = 0;
            for (j = 0; j < P; ++j) vy += (double)V[j * P + k] * data.y[j];
            want += (double)V[i * P + k] * (1 - pow(1 - (double)eta * w[k], T)) * vy;
        }
        FW_CHECK_NEAR(f[T * n + i], want, 300 * TEST_EPS);
    }
    /* eta lambda ~ 1e30: |f| grows 1e30-fold a step and overflows within 12 steps */
    FW_CHECK_STATUS(fw_lazy_predict(P, Q, ntk, n, y, (fw_real)1e30, T, f), FW_ERR_DIVERGED);
    FW_CHECK_STATUS(fw_lazy_predict(P, Q, ntk, n - 1, y, eta, T, f), FW_ERR_LD);
}

static void markov_and_general_solvers_agree_at_depth_one(void)
{
    /* The same samples through two different codes (the two-layer update and the general
       history solver): equal to rounding, relative 1e-9 (float 1e-3), for all outputs. */
    const int P = 3, Q = 2, D = 4, n = 5;
    fw_real X[5 * 4], y[3];
    fw_data data = dmft_data(P, Q, D, X, y, 21);
    fw_dmft_desc d = dmft_desc(1, FW_ACT_TANH, (fw_real)1.5, (fw_real)0.6, 6);
    fw_dmft_result a, b;
    const double tol = TEST_IS_FLOAT ? 1e-3 : 1e-9;
    int i;
    d.samples = 512; d.replicates = 2; d.two_time = 1; d.every = 3;
    FW_CHECK_STATUS(fw_dmft_run(&d, &data, &a, NULL), FW_OK);
    d.general = 1;
    FW_CHECK_STATUS(fw_dmft_run(&d, &data, &b, NULL), FW_OK);
    FW_CHECK(a.n_records == 3 && b.n_records == 3);
    for (i = 0; i < a.n_records * n; ++i) {
        FW_CHECK_NEAR(a.f[i], b.f[i], tol);
        FW_CHECK_NEAR(a.f_se[i], b.f_se[i], tol);
    }
    for (i = 0; i < a.n_records * P * P; ++i) FW_CHECK_NEAR(a.ntk[i], b.ntk[i], tol);
    for (i = 0; i < 9 * n * n; ++i) FW_CHECK_NEAR(a.phi[i], b.phi[i], tol);
    for (i = 0; i < 9 * P * P; ++i) FW_CHECK_NEAR(a.g[i], b.g[i], tol);
    fw_dmft_result_free(&a);
    fw_dmft_result_free(&b);
}

static void exact_gaussian_averages_equal_quadrature_for_linear_nets(void)
{
    /* Linear two-layer net: h(t) and w(t) stay linear in the initial (h, w), so f = E[w h] is a
       quadratic form and Gauss-Hermite with 3 nodes per dimension is exact. EXACT (basis
       propagation, both solvers) and QUADRATURE must agree to rounding. */
    const int P = 3, Q = 1, D = 2, n = 4;
    fw_real X[4 * 2], y[3];
    fw_data data = dmft_data(P, Q, D, X, y, 31);
    fw_dmft_desc d = dmft_desc(1, FW_ACT_LINEAR, (fw_real)0.7, (fw_real)0.2, 8);
    fw_dmft_result q, e1, e2;
    const double tol = TEST_IS_FLOAT ? 2e-4 : 1e-10;
    int i;
    d.sampler = FW_SAMPLER_QUADRATURE; d.quad_nodes = 3;
    FW_CHECK_STATUS(fw_dmft_run(&d, &data, &q, NULL), FW_OK);
    FW_CHECK(q.samples_used == 27);   /* 3^(min(P+Q, D) + 1) */
    d.sampler = FW_SAMPLER_EXACT;
    FW_CHECK_STATUS(fw_dmft_run(&d, &data, &e1, NULL), FW_OK);
    d.general = 1;
    FW_CHECK_STATUS(fw_dmft_run(&d, &data, &e2, NULL), FW_OK);
    for (i = 0; i < q.n_records * n; ++i) {
        FW_CHECK_NEAR(q.f[i], e1.f[i], tol);
        FW_CHECK_NEAR(q.f[i], e2.f[i], tol);
        FW_CHECK(q.f_se[i] == 0 && e2.f_se[i] == 0);
    }
    for (i = 0; i < q.n_records * P * P; ++i) FW_CHECK_NEAR(q.ntk[i], e2.ntk[i], tol);
    fw_dmft_result_free(&q);
    fw_dmft_result_free(&e1);
    fw_dmft_result_free(&e2);
}

static void lazy_limit_dmft_equals_kernel_gd_with_closed_form_ntk(void)
{
    /* gamma0 = 1e-4: features move O(gamma0), so the DMFT predictions equal kernel GD with the
       closed-form NTK up to O(gamma0) relative, far below the 1e-3 asked; quadrature over the 4
       source dimensions makes the averages deterministic. In float psi =
       w phi / gamma0 cancels O(1) terms to O(gamma0), so float runs gamma0 = 1e-2 and allows
       the O(gamma0) = 1e-2 relative deviation. Quadrature: Gauss-Hermite converges slowly for
       both (tanh has poles at +-i pi/2, erf grows like exp(y^2) off the real axis); measured on
       inputs with |x|^2 = D: about 1e-2 relative at q = 12, 3e-3 at 16, 1e-4 at 24. D = 2 < P + Q
       makes Kx singular (the test point's field is a combination of the others') and keeps the
       rule at q^3 nodes. */
    const int P = 2, Q = 1, D = 2, n = 3, T = 10;
    const fw_real g0 = TEST_IS_FLOAT ? (fw_real)1e-2 : (fw_real)1e-4, eta = (fw_real)0.5;
    const double tol = TEST_IS_FLOAT ? 2e-2 : 1e-3;
    fw_real X[3 * 2], y[2], kx[9], phi[2 * 9], g[9], ntk[9], f[11 * 3], A[4], w[2], V[4];
    fw_data data = dmft_data(P, Q, D, X, y, 41);
    fw_activation acts[2] = {FW_ACT_TANH, FW_ACT_ERF};
    int a, r, i;
    unit_rows(n, D, X);
    fw_syrk(FW_NO_TRANS, n, D, 1 / (fw_real)D, X, D, 0, kx, n);
    for (a = 0; a < 2; ++a) {
        fw_dmft_desc d = dmft_desc(1, acts[a], g0, eta, T);
        fw_dmft_result res;
        double fmax = 0;
        d.sampler = FW_SAMPLER_QUADRATURE; d.quad_nodes = TEST_IS_FLOAT ? 16 : 24;
        FW_CHECK_STATUS(fw_kernels_infinite(acts[a], 1, n, kx, n, phi, g, ntk), FW_OK);
        FW_CHECK_STATUS(fw_lazy_predict(P, Q, ntk, n, y, eta, T, f), FW_OK);
        FW_CHECK_STATUS(fw_dmft_run(&d, &data, &res, NULL), FW_OK);
        for (i = 0; i < (T + 1) * n; ++i) fmax = fabs((double)f[i]) > fmax ? fabs((double)f[i]) : fmax;
        for (r = 0; r < res.n_records; ++r)
            for (i = 0; i < n; ++i) FW_CHECK_NEAR(res.f[r * n + i], f[r * n + i], tol * fmax);
        /* the NTK and the sharpness stay at their closed-form initial values */
        A[0] = ntk[0]; A[1] = ntk[1]; A[2] = ntk[3]; A[3] = ntk[4];
        FW_CHECK_STATUS(fw_eigh(P, A, P, w, V, P), FW_OK);
        for (r = 0; r < res.n_records; ++r) {
            FW_CHECK_NEAR(res.sharpness[r], w[P - 1], tol * w[P - 1]);
            FW_CHECK_NEAR(res.ntk[r * P * P + 1], ntk[1], tol * w[P - 1]);
        }
        fw_dmft_result_free(&res);
    }
}

static void lazy_control_variate_makes_small_gamma0_dmft_equal_kernel_gd(void)
{
    /* Two-layer nets at gamma0 = 1e-4 with the antithetic sampler: without the control variate
       the predictions carry the sampling noise of the NTK (about 1e-2 at M = 4096); with it they
       equal kernel GD with the closed-form NTK up to the true O(gamma0^2) feature-learning
       correction, b gamma0^2 with b below 1 here (measured 0.7-0.8 on tanh and erf), so 1e-8,
       doubled for the noise in that difference. ReLU's kink makes the sampled path non-smooth in
       gamma0 at the samples that cross it (measured 2.4e-7): 1e-6. Float: gamma0 = 1e-2 (float
       rounding of psi = w phi / gamma0 is eps / gamma0), b gamma0^2 = 1e-4, so 1e-3. */
    const int P = 4, Q = 2, D = 8, n = 6, T = 10;
    const fw_real g0 = TEST_IS_FLOAT ? (fw_real)1e-2 : (fw_real)1e-4, eta = (fw_real)0.5;
    fw_real X[6 * 8], y[4], kx[36], phi[2 * 36], g[36], ntk[36], f[11 * 6];
    fw_data data = dmft_data(P, Q, D, X, y, 43);
    fw_activation acts[3] = {FW_ACT_TANH, FW_ACT_ERF, FW_ACT_RELU};
    int a, i, cv;
    fw_syrk(FW_NO_TRANS, n, D, 1 / (fw_real)D, X, D, 0, kx, n);
    for (a = 0; a < 3; ++a) {
        const double tol = TEST_IS_FLOAT ? 1e-3 : acts[a] == FW_ACT_RELU ? 1e-6 : 2e-8;
        double err[2] = {0, 0};
        FW_CHECK_STATUS(fw_kernels_infinite(acts[a], 1, n, kx, n, phi, g, ntk), FW_OK);
        FW_CHECK_STATUS(fw_lazy_predict(P, Q, ntk, n, y, eta, T, f), FW_OK);
        for (cv = 0; cv <= 1; ++cv) {
            fw_dmft_desc d = dmft_desc(1, acts[a], g0, eta, T);
            fw_dmft_result res;
            d.sampler = FW_SAMPLER_ANTITHETIC; d.samples = 4096 / TEST_SAMPLE_DIVISOR; d.control_variate = cv;
            FW_CHECK_STATUS(fw_dmft_run(&d, &data, &res, NULL), FW_OK);
            for (i = 0; i < (T + 1) * n; ++i) {
                const double e = fabs((double)res.f[i] - (double)f[i]);
                err[cv] = e > err[cv] ? e : err[cv];
            }
            if (cv) for (i = 0; i < P * P; ++i) FW_CHECK_NEAR(res.ntk[(size_t)T * P * P + i], ntk[(i / P) * n + i % P], 100 * tol);
            fw_dmft_result_free(&res);
        }
        FW_CHECK(err[1] <= tol);
        FW_CHECK(err[0] > 100 * err[1]);   /* and the sampling noise it removed was real */
    }
}

static void lazy_control_variate_brings_deep_dmft_near_kernel_gd(void)
{
    /* Depth 2 and 3 at gamma0 = 1e-4, antithetic, M = 512 (256 in the microcontroller builds,
       where 16 samples would leave the control variate little to cancel), T = 6: without the
       control variate the predictions carry the sampled kernels' noise (2e-2), with it they stay
       within TOL of kernel GD with the closed-form deep NTK (train and test points). The deep
       solver's sampled path is smooth in gamma0 to about 1e-7 (docs/dmft.md section 9; the
       two-layer solver: 1e-8): measured 3e-7 .. 7e-7 over tanh and erf at both depths and ReLU at
       depth 2 (1.2e-6 at M = 256), so 5e-6; ReLU at depth 3 (its kink, as in the two-layer test,
       three layers deep) 2.7e-5 here, 1.2e-5 at M = 4096, T = 10: 1e-4. Float: gamma0 = 1e-2 as
       the two-layer test, 1e-3 and a 20-fold gain (measured 2e-6, 6000x); ReLU 5e-3 and 5-fold
       (measured up to 1.8e-3, 32x). */
    const int P = 4, Q = 2, D = 8, n = 6, T = 6;
    const fw_real g0 = TEST_IS_FLOAT ? (fw_real)1e-2 : (fw_real)1e-4, eta = (fw_real)0.5;
    fw_real X[6 * 8], y[4], kx[36], phi[4 * 36], g[3 * 36], ntk[36], f[7 * 6];
    fw_data data = dmft_data(P, Q, D, X, y, 43);
    fw_activation acts[3] = {FW_ACT_TANH, FW_ACT_ERF, FW_ACT_RELU};
    int a, i, cv, L;
    fw_syrk(FW_NO_TRANS, n, D, 1 / (fw_real)D, X, D, 0, kx, n);
    for (L = 2; L <= 3; ++L)
        for (a = 0; a < 3; ++a) {
            const int relu = acts[a] == FW_ACT_RELU;
            const double tol = TEST_IS_FLOAT ? (relu ? 5e-3 : 1e-3) : relu && L == 3 ? 1e-4 : 5e-6;
            const double gain = TEST_IS_FLOAT ? (relu ? 5 : 20) : 100;
            double err[2] = {0, 0};
            FW_CHECK_STATUS(fw_kernels_infinite(acts[a], L, n, kx, n, phi, g, ntk), FW_OK);
            FW_CHECK_STATUS(fw_lazy_predict(P, Q, ntk, n, y, eta, T, f), FW_OK);
            for (cv = 0; cv <= 1; ++cv) {
                fw_dmft_desc d = dmft_desc(L, acts[a], g0, eta, T);
                fw_dmft_result res;
                d.sampler = FW_SAMPLER_ANTITHETIC; d.samples = 512 / (TEST_SAMPLE_DIVISOR < 2 ? TEST_SAMPLE_DIVISOR : 2); d.control_variate = cv;
                FW_CHECK_STATUS(fw_dmft_run(&d, &data, &res, NULL), FW_OK);
                for (i = 0; i < (T + 1) * n; ++i) {
                    const double e = fabs((double)res.f[i] - (double)f[i]);
                    err[cv] = e > err[cv] ? e : err[cv];
                }
                fw_dmft_result_free(&res);
            }
            if (getenv("SHOW")) printf("  depth %d act %d: plain %.3g, control variate %.3g\n", L, (int)acts[a], err[0], err[1]);
            FW_CHECK(err[1] <= tol);
            FW_CHECK(err[0] > gain * err[1]);   /* and the sampling noise it removed was real */
        }
}

static void lazy_control_variate_lowers_the_standard_error_and_stays_unbiased(void)
{
    /* gamma0 = 0.5 (tanh), 8192 samples (depth 2: 2048), 8 replicates: the standard error with the control variate
       is measured 23x below the plain one at depth 1 and 7.4x at depth 2 here; asserted 1.5x (the
       replicate estimate of each se has a relative spread of 1/sqrt(2 (R - 1)) = 27%). Unbiased:
       the two estimates agree within 4 combined standard errors at every recorded point. */
    const int P = 4, Q = 2, D = 8, n = 6, T = 10;
    fw_real X[6 * 8], y[4];
    fw_data data = dmft_data(P, Q, D, X, y, 43);
    int L;
    for (L = 1; L <= 2; ++L) {
        fw_dmft_result res[2];
        double se[2] = {0, 0};
        int cv, i;
        for (cv = 0; cv <= 1; ++cv) {
            fw_dmft_desc d = dmft_desc(L, FW_ACT_TANH, (fw_real)0.5, (fw_real)0.5, T);
            d.sampler = FW_SAMPLER_ANTITHETIC; d.samples = (L == 1 ? 8192 : 2048) / TEST_SAMPLE_DIVISOR; d.control_variate = cv; d.seed = 100 + cv;
            FW_CHECK_STATUS(fw_dmft_run(&d, &data, &res[cv], NULL), FW_OK);
            for (i = 0; i < (T + 1) * n; ++i) se[cv] += (double)res[cv].f_se[i];
        }
        if (getenv("SHOW")) printf("  depth %d: se plain %.3g, control variate %.3g\n", L, se[0], se[1]);
        FW_CHECK(se[0] > 1.5 * se[1]);
        for (i = 0; i < (T + 1) * n; ++i)
            FW_CHECK_NEAR(res[0].f[i], res[1].f[i], 4 * sqrt((double)res[0].f_se[i] * res[0].f_se[i] + (double)res[1].f_se[i] * res[1].f_se[i]));
        fw_dmft_result_free(&res[0]);
        fw_dmft_result_free(&res[1]);
    }
}

static void sharpness_of_many_points_by_lanczos_equals_the_full_eigendecomposition(void)
{
    /* Above 64 training points the sharpness comes from Lanczos (a full Jacobi sweep of a 2000 x
       2000 NTK took minutes): on 100 points it equals the largest eigenvalue of the recorded NTK
       from fw_eigh to 1e-10 relative (measured 1e-13; float: 1e-4). */
    enum { P = 100, D = 8 };
    static fw_real X[P * D], y[P], A[P * P], V[P * P];
    fw_real w[P];
    fw_data data = dmft_data(P, 0, D, X, y, 61);
    fw_dmft_desc d = dmft_desc(1, FW_ACT_TANH, 1, (fw_real)0.05, 2);
    fw_dmft_result res;
    int r, i;
    d.samples = 256; d.replicates = 2;
    FW_CHECK_STATUS(fw_dmft_run(&d, &data, &res, NULL), FW_OK);
    for (r = 0; r < res.n_records; ++r) {
        for (i = 0; i < P * P; ++i) A[i] = res.ntk[(size_t)r * P * P + i];
        FW_CHECK_STATUS(fw_eigh(P, A, P, w, V, P), FW_OK);
        FW_CHECK_NEAR(res.sharpness[r], w[P - 1], (TEST_IS_FLOAT ? 1e-4 : 1e-10) * w[P - 1]);
    }
    fw_dmft_result_free(&res);
}

static void lazy_control_variate_rejects_what_it_cannot_do(void)
{
    /* MC (no symmetry) and a learning rate where the lazy reference itself blows up: each a clear
       FW_ERR_ARG / FW_ERR_DIVERGED. Deep nets are accepted since 2026-12-06. */
    const int P = 4, Q = 2, D = 8;
    fw_real X[6 * 8], y[4];
    fw_data data = dmft_data(P, Q, D, X, y, 43);
    fw_dmft_desc d = dmft_desc(1, FW_ACT_TANH, (fw_real)0.5, (fw_real)0.5, 4);
    fw_dmft_result res;
    d.control_variate = 1; d.sampler = FW_SAMPLER_MC;
    FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_ARG);            /* MC */
    d.sampler = FW_SAMPLER_ANTITHETIC; d.depth = 2;
    FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_OK);                 /* deep */
    d.depth = 1; d.control_variate = 2;
    FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_ARG);
    d.control_variate = 1; d.lr = 50; d.steps = 200; d.samples = 256;
    FW_CHECK_STATUS(fw_dmft_run(&d, &data, &res, NULL), FW_ERR_DIVERGED);
    fw_dmft_result_free(&res);
}

static void antithetic_sampler_beats_plain_monte_carlo_at_equal_cost(void)
{
    /* Same total samples M; reference from quadrature (24^3 nodes, ~1e-4 relative). Both estimators
       are checked against it within 4 of their standard errors (R = 16 replicates, so the error
       estimate is good to ~20%), at the last step on every point, and the antithetic standard
       errors must be smaller on average: at gamma0 = 0.5 the cancelled w phi(h(0))/gamma0 part
       carries most of the variance. */
    const int P = 2, Q = 1, D = 2, n = 3, T = 6;
    fw_real X[3 * 2], y[2];
    fw_data data = dmft_data(P, Q, D, X, y, 51);
    fw_dmft_desc d = dmft_desc(1, FW_ACT_TANH, (fw_real)0.5, (fw_real)0.5, T);
    fw_dmft_result ref, mc, an;
    double ratio = 0;
    int i, r;
    d.sampler = FW_SAMPLER_QUADRATURE; d.quad_nodes = 24;
    FW_CHECK_STATUS(fw_dmft_run(&d, &data, &ref, NULL), FW_OK);
    d.samples = 16000 / TEST_SAMPLE_DIVISOR; d.replicates = 16;
    d.sampler = FW_SAMPLER_MC;
    FW_CHECK_STATUS(fw_dmft_run(&d, &data, &mc, NULL), FW_OK);
    d.sampler = FW_SAMPLER_ANTITHETIC;
    FW_CHECK_STATUS(fw_dmft_run(&d, &data, &an, NULL), FW_OK);
    r = ref.n_records - 1;
    for (i = 0; i < n; ++i) {
        FW_CHECK_NEAR(mc.f[r * n + i], ref.f[r * n + i], 4 * mc.f_se[r * n + i]);
        FW_CHECK_NEAR(an.f[r * n + i], ref.f[r * n + i], 4 * an.f_se[r * n + i]);
    }
    for (r = 0; r < ref.n_records; ++r)
        for (i = 0; i < n; ++i) ratio += an.f_se[r * n + i] / mc.f_se[r * n + i] / (ref.n_records * n);
    FW_CHECK(ratio < 0.7);
    fw_dmft_result_free(&ref);
    fw_dmft_result_free(&mc);
    fw_dmft_result_free(&an);
}

static void deep_linear_exact_solution_matches_sampled_solver(void)
{
    /* L = 3 linear: EXACT propagates the Gaussian sources' basis (no sampling); the sampled
       general solver (Stein responses, Cholesky sources) must agree within 4 standard errors
       (R = 16) on the final predictions and NTK diagonal. */
    const int P = 3, Q = 1, D = 4, n = 4, T = 4;
    fw_real X[4 * 4], y[3];
    fw_data data = dmft_data(P, Q, D, X, y, 61);
    fw_dmft_desc d = dmft_desc(3, FW_ACT_LINEAR, (fw_real)1, (fw_real)0.1, T);
    fw_dmft_result ex, mc;
    int i, r;
    d.every = 2;
    d.sampler = FW_SAMPLER_EXACT;
    FW_CHECK_STATUS(fw_dmft_run(&d, &data, &ex, NULL), FW_OK);
    d.sampler = FW_SAMPLER_ANTITHETIC; d.samples = 16000 / TEST_SAMPLE_DIVISOR; d.replicates = 16;
    FW_CHECK_STATUS(fw_dmft_run(&d, &data, &mc, NULL), FW_OK);
    r = ex.n_records - 1;
    for (i = 0; i < n; ++i) FW_CHECK_NEAR(mc.f[r * n + i], ex.f[r * n + i], 4 * mc.f_se[r * n + i]);
    for (i = 0; i < P; ++i) FW_CHECK_NEAR(mc.ntk[(r * P + i) * P + i], ex.ntk[(r * P + i) * P + i], 4 * mc.ntk_se[(r * P + i) * P + i]);
    /* the t = 0 NTK of the exact solver is the closed form */
    {
        fw_real kx[16], phi[4 * 16], g[3 * 16], ntk[16];
        fw_syrk(FW_NO_TRANS, n, D, 1 / (fw_real)D, X, D, 0, kx, n);
        FW_CHECK_STATUS(fw_kernels_infinite(FW_ACT_LINEAR, 3, n, kx, n, phi, g, ntk), FW_OK);
        for (i = 0; i < P; ++i) FW_CHECK_NEAR(ex.ntk[i * P + i], ntk[i * n + i], 1e3 * TEST_EPS * ntk[i * n + i]);
    }
    fw_dmft_result_free(&ex);
    fw_dmft_result_free(&mc);
}

static void fixed_point_iteration_converges_to_the_marched_solution(void)
{
    /* The damped whole-trajectory iteration on the same samples against the one-sweep march,
       two-layer (Markov) and depth 2 (general) solvers. Damping 1: Delta(t) is exact after t + 1
       sweeps, so the residual vanishes (to rounding) by sweep T + 2 and f equals the march to
       rounding (relative 1e-9, float 1e-3, as the solver cross-check above). Damping 0.5: the
       iteration matrix is 0.5 I - 0.5 J with J strictly causal, so it converges geometrically;
       stopped at residual <= tol = 1e-10 (float 1e-5), f is off by at most ||(I + J)^-1|| tol,
       well below 1e-7 (float 1e-2) here. A cap below T + 2 sweeps must fail with the residual. */
    const int P = 3, Q = 1, D = 4, T = 6, n = 4;
    fw_real X[4 * 4], y[3];
    fw_data data = dmft_data(P, Q, D, X, y, 33);
    const double tol = TEST_IS_FLOAT ? 1e-3 : 1e-9, tol_damped = TEST_IS_FLOAT ? 1e-2 : 1e-7;
    int L, i;
    for (L = 1; L <= 2; ++L) {
        fw_dmft_desc d = dmft_desc(L, FW_ACT_TANH, (fw_real)1.5, (fw_real)0.5, T);
        fw_dmft_result a, b, c;
        d.samples = 256; d.replicates = 2; d.every = 2;
        FW_CHECK_STATUS(fw_dmft_run(&d, &data, &a, NULL), FW_OK);
        FW_CHECK(a.iterations_used == 0);
        d.iterations = 50;
        FW_CHECK_STATUS(fw_dmft_run(&d, &data, &b, NULL), FW_OK);
        FW_CHECK(b.iterations_used >= 2 && b.iterations_used <= T + 2);
        FW_CHECK(b.residual <= (TEST_IS_FLOAT ? 1e-4 : 1e-9));
        for (i = 0; i < a.n_records * n; ++i) {
            FW_CHECK_NEAR(a.f[i], b.f[i], tol);
            FW_CHECK_NEAR(a.f_se[i], b.f_se[i], tol);
        }
        for (i = 0; i < a.n_records * P * P; ++i) FW_CHECK_NEAR(a.ntk[i], b.ntk[i], tol * 10);
        fw_dmft_result_free(&b);
        d.damping = (fw_real)0.5; d.iterations = 400; d.tol = (fw_real)(TEST_IS_FLOAT ? 1e-5 : 1e-10);
        FW_CHECK_STATUS(fw_dmft_run(&d, &data, &c, NULL), FW_OK);
        FW_CHECK(c.iterations_used > T + 2 && c.iterations_used < 400);
        for (i = 0; i < a.n_records * n; ++i) FW_CHECK_NEAR(a.f[i], c.f[i], tol_damped);
        fw_dmft_result_free(&c);
        d.damping = 1; d.iterations = T;
        FW_CHECK_STATUS(fw_dmft_run(&d, &data, &c, NULL), FW_ERR_NO_CONVERGENCE);
        FW_CHECK(c.iterations_used == T && c.residual > 0 && c.residual < 10);
        FW_CHECK(c.owned == NULL);
        fw_dmft_result_free(&a);
    }
}

typedef struct dmft_args { const fw_dmft_desc *d; const fw_data *data; fw_dmft_result *res; } dmft_args;
static fw_status dmft_run(void *u, const fw_allocator *al)
{
    const dmft_args *a = (const dmft_args *)u;
    return fw_dmft_run(a->d, a->data, a->res, al);
}
static void dmft_free(void *u) { fw_dmft_result_free(((const dmft_args *)u)->res); }

static void dmft_rejects_bad_input_without_leaks(void)
{
    const int P = 2, Q = 1, D = 2;
    fw_real X[3 * 2], y[2], bad_y[2];
    fw_data data = dmft_data(P, Q, D, X, y, 71), bd;
    fw_dmft_desc d = dmft_desc(2, FW_ACT_TANH, 1, (fw_real)0.3, 4);
    fw_dmft_result res;
    size_t bytes;
    void *ws;
    d.samples = 64; d.replicates = 2;
    FW_CHECK_STATUS(fw_dmft_run(NULL, &data, &res, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_dmft_run(&d, NULL, &res, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_dmft_run(&d, &data, NULL, NULL), FW_ERR_NULL);
    d.lr = (fw_real)NAN; FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_ARG); d.lr = (fw_real)0.3;
    d.gamma0 = -1; FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_ARG); d.gamma0 = 1;
    d.gamma0 = TEST_TINY_GAMMA0; FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_ARG); d.gamma0 = 1;
    d.depth = -1; FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_SIZE); d.depth = 2;
    d.steps = -1; FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_SIZE); d.steps = 4;
    d.replicates = 1; FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_SIZE); d.replicates = 2;
    d.samples = 3; FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_SIZE); d.samples = 64;
    d.sampler = FW_SAMPLER_EXACT; FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_ARG);
    d.sampler = FW_SAMPLER_QUADRATURE; FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_ARG);
    d.sampler = (fw_dmft_sampler)9; FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_ARG);
    d.iterations = -1; FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_SIZE); d.iterations = 0;
    d.damping = (fw_real)1.5; FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_ARG); d.damping = 0;
    d.tol = (fw_real)NAN; FW_CHECK_STATUS(fw_dmft_validate(&d, &data), FW_ERR_ARG); d.tol = 0;
    d.sampler = FW_SAMPLER_MC;
    bd = data; bd.P = 0; FW_CHECK_STATUS(fw_dmft_validate(&d, &bd), FW_ERR_SIZE);
    bad_y[0] = y[0]; bad_y[1] = (fw_real)INFINITY;
    bd = data; bd.y = bad_y; FW_CHECK_STATUS(fw_dmft_validate(&d, &bd), FW_ERR_NONFINITE);
    bd = data; bd.ldx = 1; FW_CHECK_STATUS(fw_dmft_validate(&d, &bd), FW_ERR_LD);
    /* too small a workspace */
    FW_CHECK_STATUS(fw_dmft_workspace_size(&d, &data, &bytes), FW_OK);
    ws = malloc(bytes);
    FW_CHECK(ws != NULL);
    FW_CHECK_STATUS(fw_dmft_run_ws(&d, &data, &res, ws, bytes / 2), FW_ERR_WORKSPACE);
    FW_CHECK_STATUS(fw_dmft_run_ws(&d, &data, &res, ws, bytes), FW_OK);
    free(ws);
    /* allocation failure: every call of the allocator fails in turn, nothing leaks */
    {   /* allocation failure at each of the two allocator calls: one FW_ERR_NOMEM, nothing leaks */
        dmft_args a = {&d, &data, &res};
        FW_CHECK(test_nomem_runs(2, dmft_run, dmft_free, &a) == 1);
    }
    /* divergence: a linear net with eta far beyond 2 / sharpness grows like |1 - eta lambda|^t
       and overflows within a few hundred steps (float: fewer) */
    d.lr = 50; d.steps = 1000; d.depth = 1; d.act = FW_ACT_LINEAR;
    FW_CHECK_STATUS(fw_dmft_run(&d, &data, &res, NULL), FW_ERR_DIVERGED);
    FW_CHECK(res.diverged_step > 0 && res.diverged_step < 1000);
}

static void dmft_workspace_run_is_deterministic_and_equals_allocating_run(void)
{
    const int P = 3, Q = 1, D = 3;
    fw_real X[4 * 3], y[3];
    fw_data data = dmft_data(P, Q, D, X, y, 81);
    fw_dmft_desc d = dmft_desc(2, FW_ACT_RELU, (fw_real)0.8, (fw_real)0.4, 5);
    fw_dmft_result a, b;
    size_t bytes;
    void *ws;
    int i;
    d.samples = 256; d.replicates = 4;
    FW_CHECK_STATUS(fw_dmft_workspace_size(&d, &data, &bytes), FW_OK);
    ws = malloc(bytes);
    FW_CHECK(ws != NULL);
    FW_CHECK_STATUS(fw_dmft_run_ws(&d, &data, &a, ws, bytes), FW_OK);
    FW_CHECK_STATUS(fw_dmft_run(&d, &data, &b, NULL), FW_OK);
    for (i = 0; i < a.n_records * 4; ++i) FW_CHECK(a.f[i] == b.f[i] && a.f_se[i] == b.f_se[i]);
    FW_CHECK(a.samples_used == 64 && a.replicates_used == 4);
    free(ws);
    fw_dmft_result_free(&b);
}

const fw_test_case fw_tests_dmft[] = {
    FW_TEST(gauss_hermite_integrates_polynomials_exactly),
    FW_TEST(relu_kernel_equals_arc_cosine_values_at_0_half_pi_pi),
    FW_TEST(act_kernels_agree_with_monte_carlo),
    FW_TEST(tanh_expectations_are_accurate_up_to_input_variance_100),
    FW_TEST(lazy_tanh_predictions_equal_kernel_gd_with_an_independent_kernel),
    FW_TEST(lazy_predictions_equal_the_eigen_solution),
    FW_TEST(markov_and_general_solvers_agree_at_depth_one),
    FW_TEST(exact_gaussian_averages_equal_quadrature_for_linear_nets),
    FW_TEST(lazy_limit_dmft_equals_kernel_gd_with_closed_form_ntk),
    FW_TEST(lazy_control_variate_makes_small_gamma0_dmft_equal_kernel_gd),
    FW_TEST(lazy_control_variate_brings_deep_dmft_near_kernel_gd),
    FW_TEST(lazy_control_variate_lowers_the_standard_error_and_stays_unbiased),
    FW_TEST(lazy_control_variate_rejects_what_it_cannot_do),
    FW_TEST(antithetic_sampler_beats_plain_monte_carlo_at_equal_cost),
    FW_TEST(sharpness_of_many_points_by_lanczos_equals_the_full_eigendecomposition),
    FW_TEST(deep_linear_exact_solution_matches_sampled_solver),
    FW_TEST(fixed_point_iteration_converges_to_the_marched_solution),
    FW_TEST(dmft_rejects_bad_input_without_leaks),
    FW_TEST(dmft_workspace_run_is_deterministic_and_equals_allocating_run),
    {NULL, NULL}
};
