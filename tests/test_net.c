/* Simulator and ensemble tests: gradients against finite differences, the closed-form two-layer
   update, the NTK against the parameter Jacobian, SGD against GD on the same batch, the exact
   initial variance of a linear network, seed-order independence, bad input. */
#include "fw_test.h"
#include <stdlib.h>
#include <string.h>

static fw_net_desc small_desc(int D, int N, int L, fw_activation act, fw_real gamma0, int max_points)
{
    fw_net_desc d;
    memset(&d, 0, sizeof d);
    d.input_dim = D; d.width = N; d.depth = L; d.act = act; d.gamma0 = gamma0;
    d.seed = 1234; d.stream = 0; d.max_points = max_points;
    return d;
}

static fw_data make_data(int P, int Q, int D, fw_real *X, fw_real *y, unsigned seed)
{
    fw_data data;
    test_fill_normal(X, (size_t)(P + Q) * D, seed);
    test_fill_normal(y, (size_t)P, seed + 1);
    data.P = P; data.Q = Q; data.D = D; data.X = X; data.ldx = D; data.y = y; data.y_test = NULL;
    return data;
}

/* Training objective 1/2 sum_{mu<P} (y - f)^2, in double. */
static double sum_loss(fw_net *net, const fw_data *data)
{
    double s = 0;
    int i;
    fw_net_forward(net, data->P, data->X, data->D, NULL);
    for (i = 0; i < data->P; ++i) s += 0.5 * ((double)data->y[i] - net->f[i]) * ((double)data->y[i] - net->f[i]);
    return s;
}

/* The largest gap between fw_net_loss_gradient and central differences of the loss (step h),
   relative to the largest gradient entry (so tiny entries are not judged on their own scale);
   +infinity when the gradient fails or is zero. */
static double gradient_error(fw_net *net, const fw_data *data, double h)
{
    fw_real *g = test_alloc((size_t)net->n_params);
    double gmax, worst = 0;
    int i;
    if (fw_net_loss_gradient(net, data, g) != FW_OK || (gmax = test_max_abs(g, (size_t)net->n_params)) <= 0) { test_free(g); return HUGE_VAL; }
    for (i = 0; i < net->n_params; ++i) {
        fw_real keep = net->params[i];
        double lp, lm, e;
        net->params[i] = (fw_real)(keep + h); lp = sum_loss(net, data);
        net->params[i] = (fw_real)(keep - h); lm = sum_loss(net, data);
        net->params[i] = keep;
        e = fabs(g[i] - (lp - lm) / ((double)(fw_real)(keep + h) - (double)(fw_real)(keep - h))) / gmax;
        if (!(e <= worst)) worst = e;   /* NaN sticks */
    }
    test_free(g);
    return worst;
}

static void gradient_matches_finite_differences_all_activations_depths_1_to_4(void)
{
    /* Central differences: truncation h^2 |L'''| and rounding eps |L| / h. Double: h = 1e-5
       puts both near 1e-10 relative, far below the 1e-6 the issue asks for. Float: h = 3e-3
       gives about 1e-4 and 1e-4 |L|/|g|; 1e-2 leaves room for |L|/|g| ~ 30. Errors are relative
       to the largest gradient entry, so tiny entries are not judged on their own scale. */
    const int D = 3, N = 5, P = 4;
    const double h = TEST_IS_FLOAT ? 3e-3 : 1e-5, tol = TEST_IS_FLOAT ? 1e-2 : 1e-6;
    fw_real X[4 * 3], y[4];
    fw_data data = make_data(P, 0, D, X, y, 5);
    int a, L;
    for (a = 0; a < FW_ACT_COUNT; ++a)
        for (L = 1; L <= 4; ++L) {
            fw_net_desc d = small_desc(D, N, L, (fw_activation)a, (fw_real)0.8, P);
            fw_net net;
            FW_CHECK_STATUS(fw_net_create(&net, &d, NULL), FW_OK);
            FW_CHECK_NEAR(gradient_error(&net, &data, h), 0, tol);
            fw_net_destroy(&net);
        }
}

static void two_layer_gd_step_equals_closed_form_update(void)
{
    /* docs/model.md section 2: w_i += eta gamma0 sum_mu Delta_mu phi(h_i,mu),
       h_i,nu += eta gamma0 sum_mu Kx[nu,mu] Delta_mu w_i phi'(h_i,mu) on all points nu. */
    const int D = 2, N = 3, P = 2, Q = 1, n = 3;
    const fw_real gamma0 = (fw_real)0.7, eta = (fw_real)0.3;
    fw_real X[3 * 2] = {(fw_real)0.5, (fw_real)-1.0, (fw_real)1.5, (fw_real)0.25, (fw_real)-0.75, (fw_real)0.8};
    fw_real y[2] = {1, -1};
    double h[3][3], w[3], Kx[3][3], delta[2], f[3];
    fw_net_desc d = small_desc(D, N, 1, FW_ACT_TANH, gamma0, n);
    fw_net net;
    fw_data data;
    int i, nu, mu;
    data.P = P; data.Q = Q; data.D = D; data.X = X; data.ldx = D; data.y = y; data.y_test = NULL;
    FW_CHECK_STATUS(fw_net_create(&net, &d, NULL), FW_OK);
    for (nu = 0; nu < n; ++nu) {
        f[nu] = 0;
        for (i = 0; i < N; ++i) {
            h[i][nu] = ((double)net.W0[i * D] * X[nu * D] + (double)net.W0[i * D + 1] * X[nu * D + 1]) / sqrt(2.0);
            f[nu] += (double)net.w[i] * tanh(h[i][nu]) / (gamma0 * N);
        }
        for (mu = 0; mu < n; ++mu) Kx[nu][mu] = ((double)X[nu * D] * X[mu * D] + (double)X[nu * D + 1] * X[mu * D + 1]) / D;
    }
    for (i = 0; i < N; ++i) w[i] = net.w[i];
    for (mu = 0; mu < P; ++mu) delta[mu] = y[mu] - f[mu];
    FW_CHECK_STATUS(fw_net_gd_step(&net, &data, eta, NULL), FW_OK);
    for (nu = 0; nu < n; ++nu) FW_CHECK_NEAR(net.f[nu], f[nu], 64 * TEST_EPS);   /* outputs before the step */
    for (i = 0; i < N; ++i) {
        double wn = w[i];
        for (mu = 0; mu < P; ++mu) wn += eta * gamma0 * delta[mu] * tanh(h[i][mu]);
        FW_CHECK_NEAR(net.w[i], wn, 64 * TEST_EPS);
        for (nu = 0; nu < n; ++nu) {
            double hn = h[i][nu], hnet;
            for (mu = 0; mu < P; ++mu) {
                double t = tanh(h[i][mu]);
                hn += eta * gamma0 * Kx[nu][mu] * delta[mu] * w[i] * (1 - t * t);
            }
            hnet = ((double)net.W0[i * D] * X[nu * D] + (double)net.W0[i * D + 1] * X[nu * D + 1]) / sqrt(2.0);
            FW_CHECK_NEAR(hnet, hn, 64 * TEST_EPS);
        }
    }
    fw_net_destroy(&net);
}

static void ntk_equals_jacobian_gram_and_phi0_equals_input_gram(void)
{
    /* NTK[a][b] = gamma0^2 N sum_theta df_a/dtheta df_b/dtheta: the gradient of 1/2 (y - f)^2
       at one point with y = f + 1 is -df/dtheta, so the Jacobian rows come from
       fw_net_loss_gradient. Equal to rounding. */
    const int D = 3, N = 6, L = 3, n = 4;
    fw_real X[4 * 3], yy[4], phi[4 * 16], g[3 * 16], ntk[16], one_y;
    fw_net_desc d = small_desc(D, N, L, FW_ACT_ERF, (fw_real)1.3, n);
    fw_net net;
    fw_real *J;
    int a, b, p;
    test_fill_normal(X, 12, 3);
    FW_CHECK_STATUS(fw_net_create(&net, &d, NULL), FW_OK);
    J = test_alloc((size_t)n * net.n_params);
    FW_CHECK_STATUS(fw_net_kernels(&net, n, X, D, phi, g, ntk), FW_OK);
    for (a = 0; a < n; ++a) {
        fw_data one;
        FW_CHECK_STATUS(fw_net_forward(&net, 1, X + a * D, D, yy), FW_OK);
        one_y = yy[0] + 1;
        one.P = 1; one.Q = 0; one.D = D; one.X = X + a * D; one.ldx = D; one.y = &one_y; one.y_test = NULL;
        FW_CHECK_STATUS(fw_net_loss_gradient(&net, &one, J + (size_t)a * net.n_params), FW_OK);
    }
    for (a = 0; a < n; ++a)
        for (b = 0; b < n; ++b) {
            double s = 0;
            for (p = 0; p < net.n_params; ++p) s += (double)J[(size_t)a * net.n_params + p] * J[(size_t)b * net.n_params + p];
            s *= (double)net.gamma0 * net.gamma0 * N;
            FW_CHECK_NEAR(ntk[a * n + b], s, 256 * TEST_EPS * fabs(s) + 64 * TEST_EPS);
        }
    for (a = 0; a < n; ++a)   /* Phi(0) = X X^T / D */
        for (b = 0; b < n; ++b) {
            double s = ((double)X[a * D] * X[b * D] + (double)X[a * D + 1] * X[b * D + 1] + (double)X[a * D + 2] * X[b * D + 2]) / D;
            FW_CHECK_NEAR(phi[a * n + b], s, 16 * TEST_EPS * (1 + fabs(s)));
        }
    test_free(J);
    fw_net_destroy(&net);
}

/* Largest |f_net(t) - f_kernel(t)| over t <= T and all points, relative to max|y - f(0)|, for a
   two-layer tanh net trained with eta = 0.5 / lambda_max(K(0)) against kernel GD with its own
   initial NTK K(0): f(t+1) = f(t) + eta K(0)[:, train] (y - f_train(t)). */
static double lazy_deviation(int N, double gamma0, uint64_t seed, int T, double *eta_lmax)
{
    enum { D = 4, P = 6, Q = 2, n = 8 };
    fw_real X[n * D], y[P], K[n * n], fk[n], Kt[P * P], V[P * P], w[P], err[P];
    fw_net_desc d = small_desc(D, N, 1, FW_ACT_TANH, (fw_real)gamma0, n);
    fw_net net;
    fw_data data = make_data(P, Q, D, X, y, 61);
    double worst = 0, scale = 0, eta;
    int i, j, t;
    d.seed = seed;
    if (fw_net_create(&net, &d, NULL) != FW_OK) return 1e9;
    fw_net_kernels(&net, n, X, D, NULL, NULL, K);
    fw_net_forward(&net, n, X, D, fk);
    for (i = 0; i < P; ++i) for (j = 0; j < P; ++j) Kt[i * P + j] = K[i * n + j];
    fw_eigh(P, Kt, P, w, V, P);
    eta = 0.5 / w[P - 1];
    *eta_lmax = 0.5;
    for (i = 0; i < P; ++i) if (fabs((double)y[i] - fk[i]) > scale) scale = fabs((double)y[i] - fk[i]);
    for (t = 0; t < T; ++t) {
        if (fw_net_gd_step(&net, &data, (fw_real)eta, NULL) != FW_OK) { fw_net_destroy(&net); return 1e9; }
        for (i = 0; i < n; ++i) if (fabs((double)net.f[i] - fk[i]) / scale > worst) worst = fabs((double)net.f[i] - fk[i]) / scale;
        for (i = 0; i < P; ++i) err[i] = y[i] - fk[i];
        for (i = 0; i < n; ++i) {
            double s = 0;
            for (j = 0; j < P; ++j) s += (double)K[i * n + j] * err[j];
            fk[i] = (fw_real)(fk[i] + eta * s);
        }
    }
    fw_net_destroy(&net);
    return worst;
}

static void lazy_limit_follows_kernel_gd_with_its_initial_ntk(void)
{
    /* At gamma0 -> 0 the error y - f is dominated by f(0) ~ 1/(gamma0 sqrt N). The leading
       nonlinearity per step, sum_i dw_i dphi_i / (gamma0 N), carries one readout factor w_i of
       mean zero, so it sums to O(eta^2 gamma0 Delta^2 / sqrt N): relative to the kernel term
       eta K Delta that is O(eta lambda gamma0 Delta / sqrt N) = O(eta lambda / N), plus O(gamma0)
       from the O(1) part of the error. Over T steps: deviation <= gamma0 + T eta lambda / N.
       The test also asks that the deviation falls with N (16x predicted from 256 to 4096;
       at least 4x required, averaged over 3 seeds). Measured: ~1.6e-3 at N = 256, ~1.6e-4 at 4096. */
    const int T = 20;
    const double gamma0 = 1e-4;
    double small = 0, large = 0, el = 0;
    uint64_t s;
    for (s = 1; s <= 3; ++s) {
        small += lazy_deviation(256, gamma0, s, T, &el) / 3;
        large += lazy_deviation(4096, gamma0, s, T, &el) / 3;
    }
    FW_CHECK(large <= gamma0 + T * el / 4096.0);
    FW_CHECK(large * 4 <= small);
}

/* An SGD step at eta and a GD step at eta / B on the batch it drew, from the same weights: the
   largest parameter gap relative to 1 + |theta| (+infinity when a step fails). */
static double sgd_gd_gap(const fw_net_desc *d, int D, int B)
{
    fw_real beta[4] = {1, (fw_real)-0.5, (fw_real)0.25, 2}, Xb[5 * 4], yb[5];
    fw_net a, b;
    fw_teacher t;
    fw_rng r1, r2;
    fw_data batch;
    double worst = HUGE_VAL;
    int i;
    t.kind = FW_TEACHER_TANH; t.beta = beta; t.noise = (fw_real)0.1;
    if (D != 4 || B > 5 || fw_net_create(&a, d, NULL) != FW_OK) return HUGE_VAL;
    if (fw_net_create(&b, d, NULL) != FW_OK) { fw_net_destroy(&a); return HUGE_VAL; }
    fw_rng_init(&r1, 5, 9);
    fw_rng_init(&r2, 5, 9);
    batch.P = B; batch.Q = 0; batch.D = D; batch.X = Xb; batch.ldx = D; batch.y = yb; batch.y_test = NULL;
    if (fw_net_sgd_step(&a, &t, B, (fw_real)0.4, &r1, NULL) == FW_OK && fw_rng_fill_normal(&r2, Xb, B * D, 1) == FW_OK &&
        fw_teacher_label(&t, D, B, Xb, D, &r2, yb) == FW_OK && fw_net_gd_step(&b, &batch, (fw_real)(0.4 / B), NULL) == FW_OK)
        for (i = 0, worst = 0; i < a.n_params; ++i) {
            const double e = fabs((double)a.params[i] - b.params[i]) / (1 + fabs((double)b.params[i]));
            if (!(e <= worst)) worst = e;
        }
    fw_net_destroy(&a);
    fw_net_destroy(&b);
    return worst;
}

static void sgd_step_equals_gd_step_on_the_same_batch(void)
{
    /* The SGD loss 1/(2B) sum over the batch has the gradient of the GD sum-loss over 1/B, so an
       SGD step at eta equals a GD step at eta/B on the batch it drew (to 64 eps): an MLP, and a
       CNN on 2 x 2 one-channel images (the same 4 inputs). */
    const int D = 4, B = 5;
    fw_net_desc d = small_desc(D, 7, 2, FW_ACT_RELU, 1, B);
    FW_CHECK_NEAR(sgd_gd_gap(&d, D, B), 0, 64 * TEST_EPS);
    d.arch = FW_ARCH_CNN; d.image_height = 2; d.image_width = 2; d.image_channels = 1; d.width = 3;
    FW_CHECK_NEAR(sgd_gd_gap(&d, D, B), 0, 64 * TEST_EPS);
}

static void teacher_labels_follow_their_formulas(void)
{
    fw_real beta[2] = {1, -2}, X[4] = {1, 1, (fw_real)0.5, 2}, y[2];
    fw_teacher t;
    t.kind = FW_TEACHER_LINEAR; t.beta = beta; t.noise = 0;
    FW_CHECK_STATUS(fw_teacher_label(&t, 2, 2, X, 2, NULL, y), FW_OK);
    FW_CHECK_NEAR(y[0], -1 / sqrt(2.0), 8 * TEST_EPS);
    FW_CHECK_NEAR(y[1], -3.5 / sqrt(2.0), 8 * TEST_EPS);
    t.kind = FW_TEACHER_TANH;
    FW_CHECK_STATUS(fw_teacher_label(&t, 2, 2, X, 2, NULL, y), FW_OK);
    FW_CHECK_NEAR(y[1], tanh(-3.5 / sqrt(2.0)), 8 * TEST_EPS);
    t.noise = 1;
    FW_CHECK_STATUS(fw_teacher_label(&t, 2, 2, X, 2, NULL, y), FW_ERR_NULL);   /* noise needs an rng */
    t.kind = (fw_teacher_kind)7;
    FW_CHECK_STATUS(fw_teacher_label(&t, 2, 2, X, 2, NULL, y), FW_ERR_ARG);
}

/* Ensemble of S members of a small net; stats over members [b, e). */
static fw_status run_range(const fw_ensemble_desc *ed, const fw_data *data, uint64_t b, uint64_t e,
                           fw_stats *st, fw_real **mem)
{
    int nrec, len;
    fw_status s = fw_ensemble_shape(ed, data, &nrec, &len);
    if (s != FW_OK) return s;
    *mem = test_alloc((size_t)2 * nrec * len);
    fw_stats_init(st, nrec * len, *mem, *mem + (size_t)nrec * len);
    return fw_ensemble_run(ed, data, b, e, st, NULL, NULL);
}

static void linear_two_layer_initial_variance_matches_exact_value(void)
{
    /* Var f(0) = x.x / (D gamma0^2 N) per point. f(0) is a sum of N i.i.d. products of two
       standard normals (excess kurtosis 6 each, 6/N for the sum), so the sample variance over S
       members has standard error var sqrt(2/(S-1) + 6/(N S)); checked at 3 standard errors. */
    const int D = 3, N = 8, P = 3, S = 3000;
    const fw_real gamma0 = (fw_real)0.5;
    fw_real X[3 * 3], y[3];
    fw_data data = make_data(P, 0, D, X, y, 21);
    fw_ensemble_desc ed;
    fw_stats st;
    fw_real *mem;
    int i;
    memset(&ed, 0, sizeof ed);
    ed.net = small_desc(D, N, 1, FW_ACT_LINEAR, gamma0, P);
    ed.lr = (fw_real)0.1; ed.steps = 0;
    FW_CHECK_STATUS(run_range(&ed, &data, 0, S, &st, &mem), FW_OK);
    FW_CHECK(st.count == S);
    for (i = 0; i < P; ++i) {
        double xx = (double)X[i * D] * X[i * D] + (double)X[i * D + 1] * X[i * D + 1] + (double)X[i * D + 2] * X[i * D + 2];
        double v = xx / (D * (double)gamma0 * gamma0 * N);
        double se = v * sqrt(2.0 / (S - 1) + 6.0 / ((double)N * S));
        FW_CHECK_NEAR(fw_stats_var(&st, i), v, 3 * se);
        FW_CHECK_NEAR(st.mean[i], 0, 3 * sqrt(v / S));   /* the mean, at 3 standard errors */
    }
    test_free(mem);
}

static void ensemble_is_independent_of_seed_order_and_merges(void)
{
    /* Members [0, 10) in one run, and the same members one at a time in reverse order merged
       pairwise: equal to rounding (a few eps relative; Welford and Chan's merge differ only in
       summation order). */
    const int D = 3, P = 4, Q = 2, S = 10;
    fw_real X[6 * 3], y[4];
    fw_data data = make_data(P, Q, D, X, y, 31);
    fw_ensemble_desc ed;
    fw_stats all, acc;
    fw_real *m_all, *m_acc;
    int i, k;
    memset(&ed, 0, sizeof ed);
    ed.net = small_desc(D, 16, 2, FW_ACT_TANH, 1, P + Q);
    ed.lr = (fw_real)0.5; ed.steps = 6; ed.every = 2; ed.record_kernels = 1;
    FW_CHECK_STATUS(run_range(&ed, &data, 0, S, &all, &m_all), FW_OK);
    FW_CHECK_STATUS(run_range(&ed, &data, S - 1, S, &acc, &m_acc), FW_OK);
    for (k = S - 2; k >= 0; --k) {
        fw_stats one;
        fw_real *m_one;
        FW_CHECK_STATUS(run_range(&ed, &data, (uint64_t)k, (uint64_t)k + 1, &one, &m_one), FW_OK);
        FW_CHECK_STATUS(fw_stats_merge(&acc, &one), FW_OK);
        test_free(m_one);
    }
    FW_CHECK(acc.count == all.count);
    for (i = 0; i < all.n; ++i) {
        FW_CHECK_NEAR(acc.mean[i], all.mean[i], 64 * TEST_EPS * (1 + fabs((double)all.mean[i])));
        FW_CHECK_NEAR(fw_stats_var(&acc, i), fw_stats_var(&all, i), 256 * TEST_EPS * (1 + fw_stats_var(&all, i)));
    }
    test_free(m_all); test_free(m_acc);
}

static char last_where[64];
static void remember(void *user, fw_status s, const char *where, const char *what)
{
    (void)user; (void)s; (void)what;
    strncpy(last_where, where, sizeof last_where - 1);
}

static void log_callback_names_the_bad_field(void)
{
    fw_net_desc d = small_desc(3, 4, 1, FW_ACT_TANH, 1, 2);
    d.log.fn = remember;
    d.width = 0;
    FW_CHECK_STATUS(fw_net_validate(&d), FW_ERR_SIZE);
    FW_CHECK(strcmp(last_where, "fw_net_desc.width") == 0);
    d.width = 4; d.gamma0 = (fw_real)NAN;
    FW_CHECK_STATUS(fw_net_validate(&d), FW_ERR_ARG);
    FW_CHECK(strcmp(last_where, "fw_net_desc.gamma0") == 0);
}

static void net_rejects_bad_descriptions_and_inputs(void)
{
    fw_net_desc d = small_desc(3, 4, 2, FW_ACT_TANH, 1, 2);
    fw_real X[2 * 3] = {1, 2, 3, 4, 5, 6}, y[2] = {1, 0}, g[64];
    fw_net net;
    fw_data data;
    size_t bytes;
    data.P = 2; data.Q = 0; data.D = 3; data.X = X; data.ldx = 3; data.y = y; data.y_test = NULL;
    FW_CHECK_STATUS(fw_net_validate(NULL), FW_ERR_NULL);
    d.input_dim = 0; FW_CHECK_STATUS(fw_net_validate(&d), FW_ERR_SIZE); d.input_dim = 3;
    d.depth = -1; FW_CHECK_STATUS(fw_net_validate(&d), FW_ERR_SIZE); d.depth = 2;
    d.max_points = 0; FW_CHECK_STATUS(fw_net_validate(&d), FW_ERR_SIZE); d.max_points = 2;
    d.act = (fw_activation)9; FW_CHECK_STATUS(fw_net_validate(&d), FW_ERR_ARG); d.act = FW_ACT_TANH;
    d.gamma0 = -1; FW_CHECK_STATUS(fw_net_validate(&d), FW_ERR_ARG); d.gamma0 = 1;
    d.gamma0 = TEST_TINY_GAMMA0; FW_CHECK_STATUS(fw_net_validate(&d), FW_ERR_ARG);
    d.ntk = 1; FW_CHECK_STATUS(fw_net_validate(&d), FW_OK); d.ntk = 0; d.gamma0 = 1;   /* NTK: gamma0 unused */
    d.width = 100000; FW_CHECK_STATUS(fw_net_validate(&d), FW_ERR_SIZE); d.width = 4;
    FW_CHECK_STATUS(fw_net_workspace_size(&d, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_net_workspace_size(&d, &bytes), FW_OK);
    FW_CHECK_STATUS(fw_net_init_ws(&net, &d, X, 8), FW_ERR_WORKSPACE);
    FW_CHECK_STATUS(fw_net_create(&net, &d, NULL), FW_OK);
    FW_CHECK_STATUS(fw_net_forward(&net, 3, X, 3, NULL), FW_ERR_SIZE);        /* > max_points */
    FW_CHECK_STATUS(fw_net_forward(&net, 0, X, 3, NULL), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_net_forward(&net, 2, NULL, 3, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_net_forward(&net, 2, X, 2, NULL), FW_ERR_LD);
    FW_CHECK_STATUS(fw_net_forward(NULL, 2, X, 3, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_net_gd_step(&net, &data, 0, NULL), FW_ERR_ARG);
    FW_CHECK_STATUS(fw_net_gd_step(&net, &data, (fw_real)NAN, NULL), FW_ERR_ARG);
    FW_CHECK_STATUS(fw_net_gd_step(&net, NULL, 1, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_net_loss_gradient(&net, &data, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_net_kernels(&net, 2, X, 3, NULL, NULL, NULL), FW_ERR_NULL);
    data.D = 2; FW_CHECK_STATUS(fw_net_gd_step(&net, &data, 1, NULL), FW_ERR_ARG); data.D = 3;
    data.P = 0; FW_CHECK_STATUS(fw_net_loss_gradient(&net, &data, g), FW_ERR_SIZE); data.P = 2;
    y[1] = (fw_real)NAN; FW_CHECK_STATUS(fw_net_gd_step(&net, &data, 1, NULL), FW_ERR_NONFINITE); y[1] = 0;
    X[4] = (fw_real)INFINITY; FW_CHECK_STATUS(fw_net_forward(&net, 2, X, 3, NULL), FW_ERR_NONFINITE); X[4] = 5;
    fw_net_destroy(&net);
    fw_net_destroy(NULL);
}

static void too_large_learning_rate_reports_divergence_with_its_step(void)
{
    const int D = 2, P = 3;
    fw_real X[3 * 2], y[3];
    fw_data data = make_data(P, 0, D, X, y, 41);
    fw_ensemble_desc ed;
    fw_stats st;
    fw_real mem[64];
    int nrec, len, step = -1;
    memset(&ed, 0, sizeof ed);
    ed.net = small_desc(D, 8, 1, FW_ACT_LINEAR, 1, P);
    ed.lr = 50; ed.steps = 200;
    FW_CHECK_STATUS(fw_ensemble_shape(&ed, &data, &nrec, &len), FW_OK);
    FW_CHECK(nrec * len <= 32 * 32);
    {
        fw_real *m = test_alloc((size_t)2 * nrec * len);
        fw_stats_init(&st, nrec * len, m, m + (size_t)nrec * len);
        FW_CHECK_STATUS(fw_ensemble_run(&ed, &data, 0, 1, &st, &step, NULL), FW_ERR_DIVERGED);
        FW_CHECK(step > 0 && step <= 200);
        test_free(m);
    }
    ed.lr = -1;
    FW_CHECK_STATUS(fw_ensemble_shape(&ed, &data, &nrec, &len), FW_ERR_ARG);
    fw_stats_init(&st, 4, mem, mem + 4);
    ed.lr = 1; ed.steps = -2;
    FW_CHECK_STATUS(fw_ensemble_run(&ed, &data, 0, 1, &st, NULL, NULL), FW_ERR_SIZE);
    ed.steps = 2;
    FW_CHECK_STATUS(fw_ensemble_run(&ed, &data, 0, 1, &st, NULL, NULL), FW_ERR_SIZE);   /* stats too short */
}

static void net_and_ensemble_survive_allocation_failure_at_every_call(void)
{
    const int D = 2, P = 2;
    fw_real X[2 * 2], y[2];
    fw_data data = make_data(P, 0, D, X, y, 51);
    fw_ensemble_desc ed;
    fw_real mem[2 * 64];
    int k, done = 0;
    memset(&ed, 0, sizeof ed);
    ed.net = small_desc(D, 4, 1, FW_ACT_TANH, 1, P);
    ed.lr = (fw_real)0.1; ed.steps = 3;
    for (k = 1; k < 20 && !done; ++k) {
        test_counting_alloc st = {0, 0, 0};
        fw_allocator al;
        fw_net net;
        fw_stats stats;
        fw_status s1, s2;
        int nrec, len;
        st.fail_at = k;
        al = test_counting_allocator(&st);
        s1 = fw_net_create(&net, &ed.net, &al);
        if (s1 == FW_OK) fw_net_destroy(&net);
        fw_ensemble_shape(&ed, &data, &nrec, &len);
        fw_stats_init(&stats, nrec * len, mem, mem + 64);
        s2 = fw_ensemble_run(&ed, &data, 0, 2, &stats, NULL, &al);
        FW_CHECK(st.live == 0);
        if (st.calls < k) { FW_CHECK(s1 == FW_OK && s2 == FW_OK); done = 1; }
        else FW_CHECK(s1 == FW_ERR_NOMEM || s2 == FW_ERR_NOMEM);
    }
    FW_CHECK(done);
}

static void stats_reject_bad_input(void)
{
    fw_real m[2], v[2], x[2] = {1, (fw_real)NAN};
    fw_stats a, b;
    FW_CHECK_STATUS(fw_stats_init(&a, 0, m, v), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_stats_init(NULL, 2, m, v), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_stats_init(&a, 2, m, v), FW_OK);
    FW_CHECK_STATUS(fw_stats_push(&a, x), FW_ERR_NONFINITE);
    FW_CHECK_STATUS(fw_stats_push(&a, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_stats_init(&b, 1, m, v), FW_OK);
    a.n = 2;
    FW_CHECK_STATUS(fw_stats_merge(&a, &b), FW_ERR_SIZE);
    FW_CHECK(fw_stats_var(&b, 3) != fw_stats_var(&b, 3));
}

/* The deep linear model of fw_dln_simulate written the slow way: every sample through explicit
   matrices, gradients by backpropagation per sample, beta_eff from the images of the basis
   vectors. Draws in the documented order (stream s of seed: beta*, W0, W(1..L-1), w, then the
   data and the label noise). Fills rec like the library (train, test per record). */
static void dln_naive(const fw_dln_desc *d, uint64_t stream, int P, double *rec)
{
    const int D = d->D, N = d->width, L = d->depth, T = d->steps;
    const double gam = d->ntk ? 1 / sqrt((double)N) : d->balanced ? d->gamma0 / sqrt((double)D) : d->gamma0;
    const double c = d->residual > 0 ? d->residual / sqrt((double)L) : 0;
    const double step = d->lr * gam * gam * N * (d->balanced ? D : 1);   /* hidden and readout; W0 always times D */
    fw_real *bstar = test_alloc(D), *W0 = test_alloc((size_t)N * D), *W = test_alloc((size_t)(L > 1 ? L - 1 : 1) * N * N),
            *w = test_alloc(N), *X = test_alloc((size_t)P * D), *y = test_alloc(P);
    double *lam = (double *)calloc((size_t)D, sizeof(double)), *h = (double *)calloc((size_t)(L + 1) * N, sizeof(double));
    double *gh = (double *)calloc((size_t)(L + 1) * N, sizeof(double)), *gW0 = (double *)calloc((size_t)N * D, sizeof(double));
    double *gW = (double *)calloc((size_t)(L > 1 ? L - 1 : 1) * N * N, sizeof(double)), *gw = (double *)calloc((size_t)N, sizeof(double));
    double *xe = (double *)calloc((size_t)D, sizeof(double)), norm = 0, tnorm = 0;
    fw_rng rng;
    int k, l, i, j, mu, t, r = 0;
    fw_rng_init(&rng, d->seed, stream);
    for (k = 0; k < D; ++k) { lam[k] = d->spectrum > 0 ? pow(k + 1.0, -(double)d->spectrum) : 1; norm += lam[k]; }
    for (k = 0; k < D; ++k) lam[k] *= D / norm;
    fw_rng_fill_normal(&rng, bstar, D, 1);
    for (k = 0; k < D && d->task > 0; ++k) tnorm += pow(k + 1.0, -(double)d->task);
    for (k = 0; k < D && d->task > 0; ++k) bstar[k] = (fw_real)(bstar[k] * sqrt(pow(k + 1.0, -(double)d->task) / lam[k] * D / tnorm));
    fw_rng_fill_normal(&rng, W0, N * D, 1);
    if (L > 1) fw_rng_fill_normal(&rng, W, (L - 1) * N * N, 1);
    fw_rng_fill_normal(&rng, w, N, 1);
    fw_rng_fill_normal(&rng, X, P * D, 1);
    for (mu = 0; mu < P; ++mu) {
        double acc = 0;
        for (k = 0; k < D; ++k) { X[mu * D + k] = (fw_real)(X[mu * D + k] * sqrt(lam[k])); acc += bstar[k] * (double)X[mu * D + k]; }
        y[mu] = (fw_real)(acc / sqrt((double)D));
    }
    for (mu = 0; mu < P && d->noise > 0; ++mu) y[mu] = (fw_real)(y[mu] + d->noise * fw_rng_normal(&rng));
    for (t = 0; t <= T; ++t) {
        double train = 0, test = 0;
        /* forward of one input xe (length D) into h[0..L-1] and the output */
#define DLN_FORWARD(xin, out)                                                                         \
        do {                                                                                          \
            for (i = 0; i < N; ++i) { double a = 0; for (j = 0; j < D; ++j) a += W0[i * D + j] * (xin)[j]; h[i] = a / sqrt((double)D); } \
            for (l = 0; l + 1 < L; ++l)                                                               \
                for (i = 0; i < N; ++i) {                                                             \
                    double a = 0;                                                                     \
                    for (j = 0; j < N; ++j) a += W[(size_t)l * N * N + i * N + j] * h[l * N + j];     \
                    h[(l + 1) * N + i] = (c > 0 ? h[l * N + i] + c * a / sqrt((double)N) : a / sqrt((double)N)); \
                }                                                                                     \
            out = 0;                                                                                  \
            for (i = 0; i < N; ++i) out += w[i] * h[(L - 1) * N + i];                                 \
            out /= gam * N;                                                                           \
        } while (0)
        memset(gW0, 0, sizeof(double) * N * D); memset(gW, 0, sizeof(double) * (L > 1 ? L - 1 : 1) * N * N); memset(gw, 0, sizeof(double) * N);
        for (mu = 0; mu < P; ++mu) {
            double f, e;
            for (k = 0; k < D; ++k) xe[k] = X[mu * D + k];
            DLN_FORWARD(xe, f);
            e = (f - y[mu]) / P;
            train += (f - y[mu]) * (f - y[mu]);
            for (i = 0; i < N; ++i) { gw[i] += e * h[(L - 1) * N + i] / (gam * N); gh[(L - 1) * N + i] = e * w[i] / (gam * N); }
            for (l = L - 2; l >= 0; --l)
                for (j = 0; j < N; ++j) {
                    double a = 0;
                    for (i = 0; i < N; ++i) {
                        gW[(size_t)l * N * N + i * N + j] += (c > 0 ? c : 1) * gh[(l + 1) * N + i] * h[l * N + j] / sqrt((double)N);
                        a += W[(size_t)l * N * N + i * N + j] * gh[(l + 1) * N + i];
                    }
                    gh[l * N + j] = c > 0 ? gh[(l + 1) * N + j] + c * a / sqrt((double)N) : a / sqrt((double)N);
                }
            for (i = 0; i < N; ++i)
                for (k = 0; k < D; ++k) gW0[i * D + k] += gh[i] * xe[k] / sqrt((double)D);
        }
        if (r < fw_dln_record_count(d) && fw_dln_record_time(d, r) == t) {
            for (k = 0; k < D; ++k) {
                double f;
                for (mu = 0; mu < D; ++mu) xe[mu] = mu == k ? sqrt((double)D) : 0;
                DLN_FORWARD(xe, f);   /* beta_eff_k = f(sqrt(D) e_k) */
                test += lam[k] * (f - bstar[k]) * (f - bstar[k]);
            }
            rec[2 * r] = train / (2.0 * P);
            rec[2 * r + 1] = (test / D + (double)d->noise * d->noise) / 2;
            ++r;
        }
#undef DLN_FORWARD
        if (t == T) break;
        for (i = 0; i < N; ++i) w[i] = (fw_real)(w[i] - step * gw[i]);
        for (k = 0; k < (L - 1) * N * N; ++k) W[k] = (fw_real)(W[k] - step * gW[k]);
        for (k = 0; k < N * D; ++k) W0[k] = (fw_real)(W0[k] - d->lr * gam * gam * N * D * gW0[k]);
    }
    test_free(bstar); test_free(W0); test_free(W); test_free(w); test_free(X); test_free(y);
    free(lam); free(h); free(gh); free(gW0); free(gW); free(gw); free(xe);
}

static void deep_linear_simulator_equals_explicit_backpropagation(void)
{
    /* fw_dln_simulate's rank-one steps against per-sample backpropagation through explicit
       matrices (dln_naive), plain and residual, power-law data and teacher, label noise:
       the same train and test losses at every recorded step, to rounding (relative 1e-10;
       float 1e-3: the naive code accumulates in double). One member, so the stats mean is it. */
    fw_dln_desc d;
    fw_stats st;
    fw_real mean[2 * 6], m2[2 * 6];
    double ref[2 * 6];
    const double tol = TEST_IS_FLOAT ? 1e-3 : 1e-10;
    int v, k;
    for (v = 0; v < 5; ++v) {   /* v = 3, 4: the balanced scaling (muP with residual branches, NTK) */
        memset(&d, 0, sizeof d);
        d.D = 6; d.width = 5; d.depth = v == 2 ? 1 : 3; d.gamma0 = (fw_real)0.7; d.lr = (fw_real)0.05; d.steps = 5;
        d.alpha = (fw_real)1.5; d.noise = (fw_real)0.1; d.spectrum = (fw_real)1.0; d.task = (fw_real)0.5; d.seed = 21;
        d.residual = v == 1 || v == 3 ? (fw_real)0.8 : 0;
        d.balanced = v >= 3; d.ntk = v == 4;
        FW_CHECK(fw_dln_record_count(&d) == 6);
        FW_CHECK_STATUS(fw_stats_init(&st, 12, mean, m2), FW_OK);
        FW_CHECK_STATUS(fw_dln_simulate(&d, 3, 4, &st, NULL, NULL), FW_OK);
        dln_naive(&d, 3, 9, ref);
        for (k = 0; k < 12; ++k) FW_CHECK_NEAR(mean[k], ref[k], tol * fabs(ref[k]) + 1e-300);
        FW_CHECK(mean[11] < mean[1]);   /* it learns */
    }
}

static void deep_linear_simulator_rejects_bad_input(void)
{
    fw_dln_desc d;
    fw_stats st;
    fw_real mean[4], m2[4];
    int bad = 0;
    memset(&d, 0, sizeof d);
    d.D = 4; d.width = 4; d.lr = (fw_real)0.1; d.steps = 1; d.alpha = 1;
    FW_CHECK_STATUS(fw_stats_init(&st, 4, mean, m2), FW_OK);
    FW_CHECK_STATUS(fw_dln_simulate(NULL, 0, 1, &st, NULL, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_dln_simulate(&d, 0, 1, NULL, NULL, NULL), FW_ERR_NULL);
    d.D = 0; FW_CHECK_STATUS(fw_dln_simulate(&d, 0, 1, &st, NULL, NULL), FW_ERR_SIZE); d.D = 4;
    d.alpha = 0; FW_CHECK_STATUS(fw_dln_simulate(&d, 0, 1, &st, NULL, NULL), FW_ERR_ARG); d.alpha = 1;
    d.noise = (fw_real)NAN; FW_CHECK_STATUS(fw_dln_simulate(&d, 0, 1, &st, NULL, NULL), FW_ERR_ARG); d.noise = 0;
    d.steps = 2; FW_CHECK_STATUS(fw_dln_simulate(&d, 0, 1, &st, NULL, NULL), FW_ERR_SIZE); d.steps = 1;   /* stats of the wrong size */
    d.lr = (fw_real)(TEST_IS_FLOAT ? 1e30 : 1e200); d.steps = 1;
    FW_CHECK_STATUS(fw_dln_simulate(&d, 0, 1, &st, &bad, NULL), FW_ERR_DIVERGED);
    FW_CHECK(bad == 1);
}

static void deep_linear_lazy_limit_matches_its_moments_and_recursions(void)
{
    /* The lazy theory's numerics against independent forms of the same formulas (docs/dln.md
       section 2). Repeated data: at t = 1, 2 the losses are polynomials in the Marchenko-Pastur
       moments m1 = 1, m2 = 1 + q, m3 = 1 + 3q + q^2, m4 = 1 + 6q + 6q^2 + q^3 (q = 1/alpha), which
       the theta-quadrature must reproduce (it is exact for them at alpha = 1 and geometric
       elsewhere: relative 1e-12, float 1e-5). One-pass SGD: the convolution form equals the
       plain mode-by-mode recursion, for isotropic and power-law data. */
    const double tol = TEST_IS_FLOAT ? 1e-5 : 1e-11;
    const double alphas[3] = {0.5, 1, 2};
    fw_dln_desc d;
    fw_real tr[8], te[8];
    int a, t, k;
    memset(&d, 0, sizeof d);
    d.D = 16; d.width = 16; d.depth = 3; d.ntk = 1; d.residual = (fw_real)0.8; d.lr = (fw_real)0.3; d.steps = 2; d.noise = (fw_real)0.4;
    for (a = 0; a < 3; ++a) {
        const double al = alphas[a], q = 1 / al, s2 = 0.16, atom = al < 1 ? 1 - al : 0;
        const double g = pow(1 + 0.64 / 3, 2), e = 0.3 * g, c0 = g;   /* (1 + c^2)^(L-1), c^2 = 0.8^2/3 */
        const double m1 = 1, m2 = 1 + q, m3 = 1 + 3 * q + q * q, m4 = 1 + 6 * q + 6 * q * q + q * q * q;
        double want_te[3], want_tr[3];
        d.alpha = (fw_real)al;
        FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_OK);
        want_te[0] = (1 + c0 + s2) / 2;
        want_te[1] = ((1 + c0) * (1 - 2 * e * m1 + e * e * m2) + s2 / al * e * e * m1 + s2) / 2;
        want_te[2] = ((1 + c0) * (1 - 4 * e * m1 + 6 * e * e * m2 - 4 * e * e * e * m3 + e * e * e * e * m4) +
                      s2 / al * e * e * (4 * m1 - 4 * e * m2 + e * e * m3) + s2) / 2;
        want_tr[0] = ((1 + c0) * m1 + s2 / al * (1 - atom) + (al > 1 ? 1 - q : 0) * s2) / 2;
        want_tr[1] = ((1 + c0) * (m1 - 2 * e * m2 + e * e * m3) + s2 / al * (1 - 2 * e * m1 + e * e * m2 - atom) +
                      (al > 1 ? 1 - q : 0) * s2) / 2;
        for (t = 0; t < 3; ++t) FW_CHECK_NEAR(te[t], want_te[t], tol * want_te[t]);
        for (t = 0; t < 2; ++t) FW_CHECK_NEAR(tr[t], want_tr[t], tol * want_tr[t]);
    }
    /* one-pass SGD, B = 8: isotropic, then lambda_k ~ k^-1.5 with task power k^-1.2 */
    d.alpha = 0; d.batch_ratio = (fw_real)0.5; d.steps = 7; d.ntk = 0; d.residual = 0; d.depth = 1; d.lr = (fw_real)0.2;
    for (a = 0; a < 2; ++a) {
        double lam[16], m[16], norm = 0, tnorm = 0;
        const double B = 8, s2 = 0.16, e = 0.2;
        d.spectrum = (fw_real)(a ? 1.5 : 0); d.task = (fw_real)(a ? 1.2 : 0);
        FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_OK);
        for (k = 0; k < 16; ++k) { norm += a ? pow(k + 1.0, -1.5) : 1; tnorm += a ? pow(k + 1.0, -1.2) : 1; }
        for (k = 0; k < 16; ++k) {
            lam[k] = a ? pow(k + 1.0, -1.5) * 16 / norm : 1;
            m[k] = a ? pow(k + 1.0, -1.2) / lam[k] * 16 / tnorm : 1;   /* E beta*_k^2; muP: beta_eff(0) -> 0 */
        }
        for (t = 0; t <= 7; ++t) {
            double S = 0, next[16];
            for (k = 0; k < 16; ++k) S += lam[k] * m[k];
            FW_CHECK_NEAR(te[t], (S / 16 + s2) / 2, tol * te[t]);
            FW_CHECK(tr[t] == te[t]);
            for (k = 0; k < 16; ++k)
                next[k] = m[k] * (1 - 2 * e * lam[k] + e * e * lam[k] * lam[k] * (1 + 1 / B)) + e * e * lam[k] / B * (S + s2 * 16);
            memcpy(m, next, sizeof m);
        }
    }
}

static void deep_linear_lazy_theory_rejects_bad_input(void)
{
    fw_dln_desc d;
    fw_real tr[4], te[4];
    unsigned char ws[256];
    size_t need = 0;
    memset(&d, 0, sizeof d);
    d.D = 4; d.width = 4; d.lr = (fw_real)0.1; d.steps = 3; d.alpha = 1;
    FW_CHECK_STATUS(fw_dln_lazy(NULL, tr, te, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_dln_lazy(&d, NULL, te, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_dln_lazy_workspace_size(&d, NULL), FW_ERR_NULL);
    d.spectrum = 1; FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_ERR_ARG); d.spectrum = 0;   /* repeated data: isotropic only */
    d.lr = (fw_real)NAN; FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_ERR_ARG); d.lr = (fw_real)0.1;
    d.steps = -1; FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_ERR_SIZE); d.steps = 3;
    d.alpha = 0; d.batch_ratio = 1;
    FW_CHECK_STATUS(fw_dln_lazy_workspace_size(&d, &need), FW_OK);
    FW_CHECK(need > 0 && need <= sizeof ws);
    FW_CHECK_STATUS(fw_dln_lazy_ws(&d, tr, te, ws, need - 1), FW_ERR_WORKSPACE);
    FW_CHECK_STATUS(fw_dln_lazy_ws(&d, tr, te, ws, need), FW_OK);
    d.lr = (fw_real)(TEST_IS_FLOAT ? 1e30 : 1e200); d.steps = 3;   /* A = O(lr^2) per step: overflows */
    FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_ERR_DIVERGED);
}

static void deep_linear_theory_reduces_to_its_limits(void)
{
    /* The proportional-limit theory (docs/dln.md section 3) against two independent forms:
       (1) NTK parameterization, and muP with gamma0 -> 0, are the lazy limit: equal to the closed
       forms of fw_dln_lazy (repeated data at alpha = 0.5 and 2, one-pass SGD, residual depth 3,
       power-law SGD over D = 64 modes);
       NTK relative 1e-10 (float 1e-4), gamma0 = 1e-5: the O(gamma0^2) terms, relative 1e-7.
       (2) L = 1, alpha -> infinity, no noise: w(t) = a(t) w(0) and v(t) = c(t) v(0) with
       c(t) = 1 - eta a(t) sum_{s<t} c(s) a(s) and a(t+1) = a(t) + eta^2 gamma0^2 sum_{s<t} a(s) C_r(s,t)
       (docs/dln.md section 3); with the initial-function term (section 4) xi(u) = a(u) xi0 adds
       y(t) = a(t) (1 - eta sum_{s<t} a(s) y(s)) of variance 1/(gamma0^2 N); at alpha = 1e8 the Marchenko-Pastur width is 2e-4, its effect on
       the losses O(1e-8): relative 1e-6 plus 1e-8 (float 1e-4 plus 1e-7). */
    const double tol = TEST_IS_FLOAT ? 1e-4 : 1e-10;
    fw_dln_desc d;
    fw_real tr[13], te[13], ltr[13], lte[13], gk[13 * 3];
    int k, t;
    memset(&d, 0, sizeof d);
    d.D = 64; d.width = 64; d.steps = 12; d.lr = (fw_real)0.2; d.noise = (fw_real)0.3;
    for (k = 0; k < 5; ++k) {
        d.depth = k == 3 ? 3 : 2; d.residual = (fw_real)(k == 3 ? 1 : 0);
        d.spectrum = (fw_real)(k == 4 ? 1.5 : 0); d.task = (fw_real)(k == 4 ? 1.2 : 0);   /* power-law one-pass SGD */
        if (k == 4) d.lr = (fw_real)0.02;   /* the top eigenvalue is D / zeta(1.5)-ish */
        d.alpha = (fw_real)(k == 0 ? 0.5 : k == 1 ? 2 : 0); d.batch_ratio = (fw_real)(k >= 2 ? 0.5 : 0);
        d.ntk = 1; d.gamma0 = 1;
        FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, gk, NULL), FW_OK);
        FW_CHECK_STATUS(fw_dln_lazy(&d, ltr, lte, NULL), FW_OK);
        for (t = 0; t <= 12; ++t) {
            FW_CHECK_NEAR(tr[t], ltr[t], tol * ltr[t]);
            FW_CHECK_NEAR(te[t], lte[t], tol * lte[t]);
            FW_CHECK_NEAR(gk[t * d.depth], gk[0], tol);   /* the kernel does not move */
        }
        d.ntk = 0; d.gamma0 = (fw_real)1e-5;
        FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_OK);
        FW_CHECK_STATUS(fw_dln_lazy(&d, ltr, lte, NULL), FW_OK);
        for (t = 0; t <= 12; ++t) {
            FW_CHECK_NEAR(tr[t], ltr[t], (TEST_IS_FLOAT ? 1e-4 : 1e-7) * ltr[t]);
            FW_CHECK_NEAR(te[t], lte[t], (TEST_IS_FLOAT ? 1e-4 : 1e-7) * lte[t]);
        }
    }
    for (k = 0; k < 2; ++k) {   /* k = 1: with the initial-function term at N = 5, xi = 1/(gamma0^2 N) */
        const double eta = 0.3, g0 = 1.5, xi = k ? 1 / (g0 * g0 * 5) : 0;
        double a[13], c[13], y[13];
        memset(&d, 0, sizeof d);
        d.D = 1; d.width = 5; d.depth = 1; d.steps = 12; d.lr = (fw_real)eta; d.gamma0 = (fw_real)g0; d.alpha = (fw_real)1e8;
        d.init_term = k;
        FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, gk, NULL), FW_OK);
        a[0] = 1;
        for (t = 0; t <= 12; ++t) {
            double acc = 0, accy = 0, cr = 0, want;
            int s;
            for (s = 0; s < t; ++s) { acc += c[s] * a[s]; accy += a[s] * y[s]; }
            c[t] = 1 - eta * a[t] * acc;
            y[t] = a[t] * (1 - eta * accy);   /* sum_u Z(t,u) a(u): xi(u) = a(u) xi0 at L = 1 */
            want = (c[t] * c[t] + xi * y[t] * y[t]) / 2;
            FW_CHECK_NEAR(te[t], want, (TEST_IS_FLOAT ? 1e-4 : 1e-6) * want + (TEST_IS_FLOAT ? 1e-7 : 1e-8));
            FW_CHECK_NEAR(gk[t], a[t] * a[t], (TEST_IS_FLOAT ? 1e-4 : 1e-6) * a[t] * a[t]);
            for (s = 0; s < t; ++s) cr += a[s] * (c[s] * c[t] + xi * y[s] * y[t]);   /* C_r(s, t) */
            if (t < 12) a[t + 1] = a[t] + eta * eta * g0 * g0 * cr;
        }
    }
}

/* A two-layer linear net in the capacity/source convention written out: lambda_k = k^-a, teacher
   beta*_k = k^((a - a beta - 1)/2), beta_eff = W0^T w/(gamma0 N), population loss
   (1/2) sum_k lambda_k v_k^2 (v = beta_eff - beta*), both layers stepped by eta gamma0^2 N times
   their gradient (grad w = W0 g/(gamma0 N), grad W0 = w g^T/(gamma0 N), g = Sigma v). W0 (N x D)
   and w (N) are the initial weights, overwritten. Writes the loss and C = |w|^2/N at every step. */
static void source_net(int D, int N, double gam, double eta, double a, double beta, int T,
                       double *W0, double *w, double *loss, double *C)
{
    double *be = (double *)calloc((size_t)D, sizeof(double)), *g = (double *)calloc((size_t)D, sizeof(double));
    double *gw = (double *)calloc((size_t)N, sizeof(double));
    int t, i, k;
    for (t = 0; t <= T; ++t) {
        double L = 0, c = 0;
        for (k = 0; k < D; ++k) {
            const double lam = pow(k + 1.0, -a), bs = pow(k + 1.0, (a - a * beta - 1) / 2);
            double acc = 0;
            for (i = 0; i < N; ++i) acc += W0[(size_t)i * D + k] * w[i];
            be[k] = acc / (gam * N);
            g[k] = lam * (be[k] - bs);
            L += g[k] * (be[k] - bs);
        }
        for (i = 0; i < N; ++i) c += w[i] * w[i];
        loss[t] = L / 2; C[t] = c / N;
        if (t == T) break;
        for (i = 0; i < N; ++i) {
            double acc = 0;
            for (k = 0; k < D; ++k) acc += W0[(size_t)i * D + k] * g[k];
            gw[i] = acc / (gam * N);
        }
        for (i = 0; i < N; ++i)
            for (k = 0; k < D; ++k) W0[(size_t)i * D + k] -= eta * gam * gam * N * w[i] * g[k] / (gam * N);
        for (i = 0; i < N; ++i) w[i] -= eta * gam * gam * N * gw[i];
    }
    free(be); free(g); free(gw);
}

/* Columns [w, W0] of an N x (D + 1) matrix with U^T U = N I exactly (modified Gram-Schmidt, twice,
   on Gaussian columns). */
static void orthogonal_start(int D, int N, uint64_t seed, double *W0, double *w)
{
    double *U = (double *)calloc((size_t)N * (D + 1), sizeof(double));
    fw_rng rng;
    int i, j, c, pass;
    fw_rng_init(&rng, seed, 0);
    for (i = 0; i < N * (D + 1); ++i) U[i] = (double)fw_rng_normal(&rng);
    for (c = 0; c <= D; ++c)
        for (pass = 0; pass < 2; ++pass) {
            double nrm = 0;
            for (j = 0; j < c; ++j) {
                double dot = 0;
                for (i = 0; i < N; ++i) dot += U[(size_t)i * (D + 1) + j] * U[(size_t)i * (D + 1) + c];
                for (i = 0; i < N; ++i) U[(size_t)i * (D + 1) + c] -= dot * U[(size_t)i * (D + 1) + j];
            }
            for (i = 0; i < N; ++i) nrm += U[(size_t)i * (D + 1) + c] * U[(size_t)i * (D + 1) + c];
            for (i = 0; i < N; ++i) U[(size_t)i * (D + 1) + c] /= sqrt(nrm);
        }
    for (i = 0; i < N; ++i) {
        w[i] = sqrt((double)N) * U[(size_t)i * (D + 1)];
        for (j = 0; j < D; ++j) W0[(size_t)i * D + j] = sqrt((double)N) * U[(size_t)i * (D + 1) + 1 + j];
    }
    free(U);
}

static void source_theory_is_exact_for_an_orthogonally_started_network(void)
{
    /* docs/dln.md section 9: the infinite-width theory follows the Gram matrix S = U^T U/N of the
       weights U = [w, W0], which starts at the identity in the limit. A finite network started with
       U^T U = N I exactly therefore follows the theory exactly, at any width N >= D + 1. Checked on
       the written-out network (source_net): D = 12 modes (carried one by one: relative 1e-11, double
       rounding over 40 steps; measured below 1e-13) and D = 200 (modes past 64 by the quadrature
       over log k: measured 4e-7 relative, asserted 1e-5); also the readout norm C = |w|^2/N against the
       theory's gkernel. Float: the theory runs in double inside, outputs rounded (1e-5). */
    const int Ds[2] = {12, 200}, T = 40;
    int v, t;
    for (v = 0; v < 2; ++v) {
        const int D = Ds[v], N = D + 8;
        const double tol = v == 0 ? (TEST_IS_FLOAT ? 1e-5 : 1e-11) : 1e-5;
        double *W0 = (double *)calloc((size_t)N * D, sizeof(double)), *w = (double *)calloc((size_t)N, sizeof(double));
        double loss[41], C[41];
        fw_real tr[41], te[41], gk[41];
        fw_dln_desc d;
        memset(&d, 0, sizeof d);
        d.D = D; d.width = N; d.depth = 1; d.gamma0 = (fw_real)0.8; d.lr = (fw_real)0.3; d.steps = T;
        d.spectrum = (fw_real)1.5; d.source = (fw_real)0.5; d.noise = 0;
        orthogonal_start(D, N, 7 + (uint64_t)v, W0, w);
        source_net(D, N, 0.8, 0.3, 1.5, 0.5, T, W0, w, loss, C);
        FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, gk, NULL), FW_OK);
        for (t = 0; t <= T; ++t) {
            FW_CHECK_NEAR(te[t], loss[t], tol * loss[t]);
            FW_CHECK_NEAR(tr[t], te[t], 0);   /* population: one loss */
            FW_CHECK_NEAR(gk[t], C[t], tol * C[t]);
        }
        FW_CHECK(C[T] > 1.5 && loss[T] < 0.5 * loss[0]);   /* features moved: not the lazy run */
        free(W0); free(w);
    }
}

static void source_simulator_equals_the_written_out_network(void)
{
    /* fw_dln_simulate in the capacity/source convention (population gradients, depth 1) against
       source_net started from the same Gaussian weights (drawn in the documented order: W0, then w,
       from stream s), to rounding (relative 1e-10; float 1e-4). Also centered: the recorded loss is
       that of beta_eff - beta_eff(0), checked against the same net with the teacher shifted by
       beta_eff(0) (the loss of f - f(0) - y equals that of f - (y + f(0))). */
    const int D = 9, N = 7, T = 12;
    fw_dln_desc d;
    fw_stats st;
    fw_real mean[2 * 13], m2[2 * 13], *W0f = test_alloc((size_t)N * D), *wf = test_alloc(N);
    double W0[7 * 9], w[7], loss[13], C[13];
    const double tol = TEST_IS_FLOAT ? 1e-4 : 1e-10;
    fw_rng rng;
    int i, t;
    memset(&d, 0, sizeof d);
    d.D = D; d.width = N; d.depth = 1; d.gamma0 = (fw_real)0.6; d.lr = (fw_real)0.2; d.steps = T;
    d.spectrum = (fw_real)1.2; d.source = (fw_real)0.3; d.seed = 5;
    fw_rng_init(&rng, 5, 2);
    fw_rng_fill_normal(&rng, W0f, N * D, 1);
    fw_rng_fill_normal(&rng, wf, N, 1);
    for (i = 0; i < N * D; ++i) W0[i] = W0f[i];
    for (i = 0; i < N; ++i) w[i] = wf[i];
    source_net(D, N, 0.6, 0.2, 1.2, 0.3, T, W0, w, loss, C);
    FW_CHECK_STATUS(fw_stats_init(&st, 2 * (T + 1), mean, m2), FW_OK);
    FW_CHECK_STATUS(fw_dln_simulate(&d, 2, 3, &st, NULL, NULL), FW_OK);
    for (t = 0; t <= T; ++t) {
        FW_CHECK_NEAR(mean[2 * t + 1], loss[t], tol * loss[t]);
        FW_CHECK_NEAR(mean[2 * t], loss[t], tol * loss[t]);
    }
    d.centered = 1;
    FW_CHECK_STATUS(fw_stats_init(&st, 2 * (T + 1), mean, m2), FW_OK);
    FW_CHECK_STATUS(fw_dln_simulate(&d, 2, 3, &st, NULL, NULL), FW_OK);
    FW_CHECK(mean[1] < 0.6 * loss[0] || mean[1] > 1.4 * loss[0] || fabs(mean[1] - loss[0]) > 1e-3);   /* f(0) removed: a different start */
    FW_CHECK(mean[2 * T + 1] < mean[1]);
    test_free(W0f); test_free(wf);
}

static void source_lazy_limit_is_the_mode_sum_and_the_small_gamma0_theory(void)
{
    /* fw_dln_lazy in the capacity/source convention with infinitely many modes (D = 0) against the
       mode sum written out: sum_{k <= 5 10^4} lambda_k (beta*_k^2 + c0) (1 - e lambda_k)^(2t) plus
       the integral of the frozen rest (for t <= 200 a mode past 5 10^4 moves by 4e-5 relative, and
       the rest is 2e-3 of the loss: 1e-7), e = (L + 1) eta, c0 = 1 under NTK (the initial function) and
       0 under muP or centered. The quadrature over log k carries the modes past 64: error 1e-5
       relative asserted (measured 6e-7, the midpoint rule's k^-2 term at k = 64). Then the muP
       theory at gamma0 = 1e-5 (the smallest float allows) equals the lazy curve (the feature-learning
       correction is O(gamma0^2): 1e-9 relative asserted). */
    const int T = 200, every = 50, R = 5;
    fw_dln_desc d;
    fw_real tr[5], te[5], tr2[5], te2[5];
    int v, r;
    memset(&d, 0, sizeof d);
    d.D = 0; d.depth = 1; d.gamma0 = 1; d.lr = (fw_real)0.4; d.steps = T; d.every = every;
    d.spectrum = (fw_real)1.5; d.source = (fw_real)0.4; d.noise = (fw_real)0.1;
    for (v = 0; v < 3; ++v) {   /* muP depth 1; NTK depth 2 (initial function); NTK depth 2 centered */
        const double e = (v == 0 ? 2 : 3) * 0.4, c0 = v == 1 ? 1 : 0;
        d.depth = v == 0 ? 1 : 2; d.ntk = v > 0; d.centered = v == 2;
        FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_OK);
        {
            const double K = 5e4, a = 1.5, b = 0.4;
            double acc[5] = {0, 0, 0, 0, 0};
            long k;
            for (k = 1; k <= (long)K; ++k) {   /* record r: (q^2)^(r every), one pow per mode for the step */
                const double lam = pow((double)k, -a), q = 1 - e * lam, step = pow(q * q, (double)every);
                double w = pow((double)k, -(a * b + 1)) + c0 * lam;
                for (r = 0; r < R; ++r) { acc[r] += w; w *= step; }
            }
            for (r = 0; r < R; ++r) {
                acc[r] += pow(K + 0.5, -a * b) / (a * b) + c0 * pow(K + 0.5, 1 - a) / (a - 1);
                acc[r] = (acc[r] + 0.01) / 2;
                FW_CHECK_NEAR(te[r], acc[r], 1e-5 * acc[r]);
                FW_CHECK_NEAR(tr[r], te[r], 0);
            }
        }
    }
    d.depth = 1; d.ntk = 0; d.centered = 0; d.gamma0 = (fw_real)1e-5;
    FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_OK);
    FW_CHECK_STATUS(fw_dln_theory(&d, tr2, te2, NULL, NULL), FW_OK);
    for (r = 0; r < R; ++r) FW_CHECK_NEAR(te2[r], te[r], (TEST_IS_FLOAT ? 1e-6 : 1e-9) * te[r]);
}

static void source_lazy_sgd_is_linear_regression_sgd(void)
{
    /* fw_dln_lazy with batch > 0 (one-pass SGD in the capacity/source convention) against linear
       regression trained by SGD written out: v <- v - e (1/B) sum_b x_b (x_b.v - s xi_b) with
       x ~ N(0, diag(k^-a)), e = (L + 1) eta, from v = -beta* (the centered lazy limit), over 2000
       runs; D = 12 modes (all carried one by one), B = 3, s = 0.2, T = 20. The expected test loss
       (1/2)(sum_k lambda_k v_k^2 + s^2) within 4 standard errors of the runs' mean at every record
       (measured z 0.1, 2.1, 0.2, 1.8 at t = 5..20). Float: the runs in double, the theory's output rounded (1e-6 relative more). */
    const int D = 12, B = 3, T = 20, every = 5, R = 5, S = 2000;
    const double a = 1.5, beta = 0.5, eta = 0.15, e = 2 * eta, s = 0.2;
    double sum[5] = {0, 0, 0, 0, 0}, sq[5] = {0, 0, 0, 0, 0}, v[12], x[12], lam[12], g[12];
    fw_real tr[5], te[5];
    fw_dln_desc d;
    fw_rng rng;
    int run, t, k, b, r;
    memset(&d, 0, sizeof d);
    d.D = D; d.depth = 1; d.gamma0 = 1; d.ntk = 1; d.centered = 1; d.lr = (fw_real)eta; d.steps = T; d.every = every;
    d.spectrum = (fw_real)a; d.source = (fw_real)beta; d.noise = (fw_real)s; d.batch = B;
    FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_OK);
    FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_OK);   /* NTK: the same closed form */
    for (k = 0; k < D; ++k) lam[k] = pow(k + 1.0, -a);
    fw_rng_init(&rng, 77, 0);
    for (run = 0; run < S; ++run) {
        for (k = 0; k < D; ++k) v[k] = -pow(k + 1.0, (a - a * beta - 1) / 2);
        for (t = 0, r = 0; t <= T; ++t) {
            if (t % every == 0) {
                double L = s * s;
                for (k = 0; k < D; ++k) L += lam[k] * v[k] * v[k];
                sum[r] += L / 2; sq[r] += L * L / 4; ++r;
            }
            for (k = 0; k < D; ++k) g[k] = 0;
            for (b = 0; b < B; ++b) {
                double err = 0;
                for (k = 0; k < D; ++k) { x[k] = sqrt(lam[k]) * (double)fw_rng_normal(&rng); err += x[k] * v[k]; }
                err -= s * (double)fw_rng_normal(&rng);
                for (k = 0; k < D; ++k) g[k] += x[k] * err / B;
            }
            for (k = 0; k < D; ++k) v[k] -= e * g[k];
        }
    }
    for (r = 0; r < R; ++r) {
        const double mean = sum[r] / S, se = sqrt(fmax(0, sq[r] / S - mean * mean) / (S - 1));
        FW_CHECK_NEAR(te[r], mean, 4 * se + (TEST_IS_FLOAT ? 1e-6 : 1e-12) * mean);
        FW_CHECK_NEAR(tr[r], te[r], 0);
    }
    FW_CHECK(te[R - 1] < 0.5 * te[0]);
    d.ntk = 0;   /* the muP theory has no closed recursion with batch noise: refused */
    FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_ERR_ARG);
}

static void centered_ntk_theories_start_from_zero(void)
{
    /* desc.centered removes the random initial function: under NTK the lazy closed form and the
       theory then equal the muP lazy curve (the same step, beta_eff(0) = 0), on repeated data and
       one-pass SGD alike (to rounding: the same arithmetic with c0 = 0). */
    fw_dln_desc d;
    fw_real tr[3], te[3], tr2[3], te2[3], tr3[3], te3[3];
    int v, r;
    for (v = 0; v < 2; ++v) {
        memset(&d, 0, sizeof d);
        d.D = 64; d.width = 64; d.depth = 2; d.lr = (fw_real)0.2; d.steps = 8; d.every = 4; d.noise = (fw_real)0.2;
        if (v) d.batch_ratio = (fw_real)0.5; else d.alpha = 2;
        FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_OK);            /* muP: no initial function */
        d.ntk = 1; d.centered = 1;
        FW_CHECK_STATUS(fw_dln_lazy(&d, tr2, te2, NULL), FW_OK);
        FW_CHECK_STATUS(fw_dln_theory(&d, tr3, te3, NULL, NULL), FW_OK);
        for (r = 0; r < 3; ++r) {
            FW_CHECK_NEAR(te2[r], te[r], 1e-12 * te[r]);
            FW_CHECK_NEAR(tr2[r], tr[r], 1e-12 * tr[r]);
            FW_CHECK_NEAR(te3[r], te[r], (TEST_IS_FLOAT ? 1e-5 : 1e-10) * te[r]);
        }
        d.centered = 0;   /* uncentered NTK starts higher: the initial function's variance */
        FW_CHECK_STATUS(fw_dln_lazy(&d, tr2, te2, NULL), FW_OK);
        FW_CHECK(te2[0] > te[0] + 0.1);
    }
}

static void source_convention_rejects_what_it_does_not_cover(void)
{
    fw_dln_desc d;
    fw_real tr[4], te[4];
    fw_stats st;
    fw_real mean[8], m2[8];
    memset(&d, 0, sizeof d);
    d.D = 0; d.depth = 1; d.lr = (fw_real)0.1; d.steps = 3; d.spectrum = (fw_real)1.5; d.source = (fw_real)0.5;
    FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_OK);
    FW_CHECK_STATUS(fw_stats_init(&st, 8, mean, m2), FW_OK);
    d.width = 4;
    FW_CHECK_STATUS(fw_dln_simulate(&d, 0, 1, &st, NULL, NULL), FW_ERR_SIZE);   /* a network needs D >= 1 modes */
    d.width = 0;
    d.alpha = 1; FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_ERR_ARG); d.alpha = 0;
    d.batch_ratio = 1; FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_ERR_ARG); d.batch_ratio = 0;
    d.spectrum = 1; FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_ERR_ARG);   /* D = 0 needs a > 1 */
    d.D = 100; FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_OK); d.D = 0; d.spectrum = (fw_real)1.5;
    d.spectrum = 0; FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_ERR_ARG); d.spectrum = (fw_real)1.5;
    d.task = 1; FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_ERR_ARG); d.task = 0;
    d.depth = 2; FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_ERR_ARG);   /* muP beyond depth 1: not built */
    FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_OK); d.depth = 1;
    d.residual = 1; FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_ERR_ARG); d.residual = 0;
    d.batch = -1; FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_ERR_ARG); d.batch = 0;
    d.source = (fw_real)NAN; FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_ERR_ARG);
    d.D = 4; d.width = 4; d.source = (fw_real)-1;
    FW_CHECK_STATUS(fw_dln_simulate(&d, 0, 1, &st, NULL, NULL), FW_ERR_ARG);
    d.source = 0; d.alpha = 1; d.batch = 2;   /* batch belongs to the capacity/source convention */
    FW_CHECK_STATUS(fw_dln_simulate(&d, 0, 1, &st, NULL, NULL), FW_ERR_ARG); d.alpha = 0; d.batch = 0;
    d.D = 0; d.width = 0; d.source = (fw_real)0.5;
    d.lr = 5; d.steps = 200; d.every = 100;   /* e lambda_1 = 10 > 2: |1 - 10|^400 overflows */
    FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_ERR_DIVERGED);
    FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_ERR_DIVERGED);
}

static void deep_linear_theory_rejects_bad_input(void)
{
    fw_dln_desc d;
    fw_real tr[4], te[4];
    unsigned char ws[1 << 14];
    size_t need = 0;
    memset(&d, 0, sizeof d);
    d.D = 4; d.width = 4; d.depth = 2; d.lr = (fw_real)0.1; d.steps = 3; d.alpha = 1;
    FW_CHECK_STATUS(fw_dln_theory(NULL, tr, te, NULL, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_dln_theory(&d, tr, NULL, NULL, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_dln_theory_workspace_size(&d, NULL), FW_ERR_NULL);
    d.spectrum = 1;   /* repeated data on a power law: the data cavity (the lazy closed form has no such branch) */
    FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_OK);
    FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_ERR_ARG);
    d.spectrum = 0;
    d.gamma0 = (fw_real)INFINITY; FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_ERR_ARG); d.gamma0 = 1;
    d.depth = -1; FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_ERR_SIZE); d.depth = 2;
    d.steps = 2000000000; FW_CHECK_STATUS(fw_dln_theory_workspace_size(&d, &need), FW_ERR_SIZE); d.steps = 3;
    FW_CHECK_STATUS(fw_dln_theory_workspace_size(&d, &need), FW_OK);
    FW_CHECK(need > 0 && need <= sizeof ws);
    FW_CHECK_STATUS(fw_dln_theory_ws(&d, tr, te, NULL, ws, need / 2), FW_ERR_WORKSPACE);
    FW_CHECK_STATUS(fw_dln_theory_ws(&d, tr, te, NULL, ws, need), FW_OK);
    d.lr = (fw_real)(TEST_IS_FLOAT ? 1e30 : 1e200);
    FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_ERR_DIVERGED);
    d.lr = (fw_real)0.1; d.balanced = 1;   /* the balanced scaling: zero heap in a caller workspace; it needs the width */
    FW_CHECK_STATUS(fw_dln_theory_workspace_size(&d, &need), FW_OK);
    {
        void *big = test_alloc((need + sizeof(fw_real) - 1) / sizeof(fw_real));
        FW_CHECK(big != NULL);
        if (big != NULL) {
            FW_CHECK_STATUS(fw_dln_theory_ws(&d, tr, te, NULL, big, need / 2), FW_ERR_WORKSPACE);
            FW_CHECK_STATUS(fw_dln_theory_ws(&d, tr, te, NULL, big, need), FW_OK);
        }
        test_free(big);
    }
    d.width = 0; FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_ERR_SIZE); d.width = 4;
    FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_ERR_ARG);   /* the lazy closed form is the default scaling's */
}

static void data_cavity_needs_one_mode_on_isotropic_data(void)
{
    /* Repeated data: the theory runs the cavity of the data matrix mode by mode (docs/dln.md section 8),
       one mode standing for all on isotropic inputs, D modes (weights 1/D, eigenvalues of trace D) on a
       spectrum. A spectrum k^-1e-9 is isotropic to 1e-8, so the D-mode run (D = 16) must equal the
       one-mode run: relative 1e-7 (float: 1e-4), train and test, in five settings: muP, balanced (with
       its chi_r), NTK, the initial-function term, residual branches; alpha 0.5 and 2, label noise.
       (The one-mode cavity equals the Marchenko-Pastur quadrature it replaced to 5e-12 over 40 settings,
       and fw_dln_lazy's closed forms: deep_linear_theory_reduces_to_its_limits.) */
    const double tol = TEST_IS_FLOAT ? 1e-4 : 1e-7;
    int c, r, k;
    for (c = 0; c < 5; ++c) {
        fw_dln_desc d;
        fw_real tr[2][5], te[2][5];
        memset(&d, 0, sizeof d);
        d.D = 16; d.width = 16; d.depth = c % 3 + 1; d.lr = (fw_real)0.1; d.steps = 12; d.every = 3; d.noise = (fw_real)0.3;
        d.alpha = (fw_real)(c < 3 ? 0.5 : 2); d.gamma0 = 1;
        d.balanced = c == 1; d.ntk = c == 2; d.init_term = c == 3; d.residual = (fw_real)(c == 4 ? 1 : 0);
        for (k = 0; k < 2; ++k) {
            d.spectrum = (fw_real)(k ? 1e-9 : 0);
            FW_CHECK_STATUS(fw_dln_theory(&d, tr[k], te[k], NULL, NULL), FW_OK);
        }
        for (r = 0; r < 5; ++r) {
            FW_CHECK_NEAR(tr[1][r], tr[0][r], tol * tr[0][r]);
            FW_CHECK_NEAR(te[1][r], te[0][r], tol * te[0][r]);
        }
    }
}

static void balanced_deep_linear_theory_tends_to_the_lazy_limit_at_large_nu(void)
{
    /* The balanced scaling under NTK (gamma0 = 1/sqrt(nu)) at nu -> infinity: the random input layer's
       share of every kernel tends to its mean (W0^T W0/N -> I) and feature learning vanishes, so the
       theory must become linear-regression GD whose step is eta times the number of trained layers,
       L + 1 (each layer's kernel term is eta times an O(1) average equal to 1 for a plain net; docs/dln.md
       section 7): fw_dln_lazy at step (L + 1) eta. Leading correction O(1/nu): the gap at nu = 100 is
       10 times that at 1000 (measured 9.99-10.0 for L = 1..3; allowed 8-12) and below 1e-3 relative at
       nu = 1000 (measured 5e-5 L = 1 to 5e-4 L = 3). */
    fw_dln_desc d;
    fw_real tr[3], te[3], ltr[3], lte[3];
    int L, k;
    for (L = 1; L <= 3; ++L) {
        double gap[2];
        memset(&d, 0, sizeof d);
        d.D = 1; d.depth = L; d.steps = 8; d.every = 4; d.alpha = 2; d.noise = (fw_real)0.3; d.ntk = 1;
        d.lr = (fw_real)(0.05 * (L + 1));
        FW_CHECK_STATUS(fw_dln_lazy(&d, ltr, lte, NULL), FW_OK);
        d.lr = (fw_real)0.05; d.balanced = 1;
        for (k = 0; k < 2; ++k) {
            d.width = k ? 1000 : 100;   /* D = 1: nu = width */
            FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_OK);
            FW_CHECK_NEAR(te[0], lte[0], 1e-6 * lte[0]);   /* t = 0: 1 + the initial function's 1/(gamma0^2 nu) = 1 */
            gap[k] = fabs((double)te[2] - lte[2]) / lte[2];
        }
        FW_CHECK(gap[1] < 1e-3);
        FW_CHECK(gap[0] > 8 * gap[1] && gap[0] < 12 * gap[1]);
    }
}

static fw_status deep_limit_run(void *user, const fw_allocator *al)
{
    fw_real *out = (fw_real *)user;
    fw_dln_desc d;
    memset(&d, 0, sizeof d);
    d.D = 16; d.width = 16; d.depth = 2; d.lr = (fw_real)0.1; d.steps = 4; d.alpha = 2; d.residual = 1;
    return fw_dln_deep_limit(&d, out, out + 5, NULL, NULL, al);
}

static void deep_limit_free(void *user) { (void)user; }

static void residual_deep_limit_is_the_limit_of_the_finite_depth_theory(void)
{
    /* docs/dln.md section 6. Residual branches 1/sqrt(L) (alpha = 2, muP gamma0 = 1, eta = 0.1,
       noise 0.3, T = 6, recorded every 2 steps). (1) The limit from L0 = 1 (L = 1 .. 8) and from
       L0 = 2 (2 .. 16) agree within the error estimate the first reports: the expansion in 1/L holds
       (measured gaps 1e-6 .. 4e-4 against estimates 8e-4 .. 7e-3).
       (2) The finite-depth curves approach the limit at first order: at the last step the gap at
       L = 4, 8, 16 shrinks by a factor in [0.4, 0.6] per doubling (first order: -> 1/2; the 1/L^2
       term moves it by a few percent here: 0.47, 0.49). */
    fw_dln_desc d;
    fw_real a[4], b[4], ea[4], eb[4], atr[4], btr[4], eatr[4], tr[4], te[4], ws[64];
    double gap[3];
    size_t need = 0;
    int r, k;
    memset(&d, 0, sizeof d);
    d.D = 64; d.width = 64; d.lr = (fw_real)0.1; d.steps = 6; d.every = 2; d.alpha = 2; d.residual = 1;
    d.noise = (fw_real)0.3; d.gamma0 = 1;
    FW_CHECK(fw_dln_record_count(&d) == 4);
    d.depth = 1; FW_CHECK_STATUS(fw_dln_deep_limit(&d, atr, a, eatr, ea, NULL), FW_OK);
    d.depth = 2; FW_CHECK_STATUS(fw_dln_deep_limit(&d, btr, b, NULL, eb, NULL), FW_OK);
    for (r = 0; r < 4; ++r) {
        FW_CHECK(ea[r] >= 0 && eb[r] >= 0 && eatr[r] >= 0);
        FW_CHECK_NEAR(a[r], b[r], ea[r] + (TEST_IS_FLOAT ? 1e-6 : 1e-12));
        FW_CHECK_NEAR(atr[r], btr[r], eatr[r] + (TEST_IS_FLOAT ? 1e-6 : 1e-12));
    }
    FW_CHECK(a[3] < a[2] && a[2] < a[1]);   /* it learns */
    for (k = 0; k < 3; ++k) {
        d.depth = 4 << k;
        FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_OK);
        gap[k] = te[3] - b[3];
        FW_CHECK(gap[k] > 0);
    }
    FW_CHECK(gap[1] / gap[0] > 0.4 && gap[1] / gap[0] < 0.6);
    FW_CHECK(gap[2] / gap[1] > 0.4 && gap[2] / gap[1] < 0.6);
    /* bad input */
    d.depth = 2;
    FW_CHECK_STATUS(fw_dln_deep_limit(NULL, tr, te, NULL, NULL, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_dln_deep_limit(&d, tr, NULL, NULL, NULL, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_dln_deep_limit_workspace_size(&d, NULL), FW_ERR_NULL);
    d.residual = 0; FW_CHECK_STATUS(fw_dln_deep_limit(&d, tr, te, NULL, NULL, NULL), FW_ERR_ARG);
    d.residual = (fw_real)NAN; FW_CHECK_STATUS(fw_dln_deep_limit(&d, tr, te, NULL, NULL, NULL), FW_ERR_ARG); d.residual = 1;
    d.depth = -1; FW_CHECK_STATUS(fw_dln_deep_limit(&d, tr, te, NULL, NULL, NULL), FW_ERR_SIZE); d.depth = 2;
    d.steps = 3; d.every = 1;
    FW_CHECK_STATUS(fw_dln_deep_limit_workspace_size(&d, &need), FW_OK);
    FW_CHECK(need > sizeof ws);
    FW_CHECK_STATUS(fw_dln_deep_limit_ws(&d, tr, te, NULL, NULL, ws, sizeof ws), FW_ERR_WORKSPACE);
    d.lr = (fw_real)(TEST_IS_FLOAT ? 1e30 : 1e200);
    FW_CHECK_STATUS(fw_dln_deep_limit(&d, tr, te, NULL, NULL, NULL), FW_ERR_DIVERGED);
    {
        fw_real out[10];
        FW_CHECK(test_nomem_runs(1, deep_limit_run, deep_limit_free, out) == 1);
    }
}

/* The deep linear solvers under a failing allocator (issue: allocation failure at every call):
   the simulator (repeated data and one-pass SGD), the theory (plain, balanced, power-law repeated
   data) and the lazy form (power-law one-pass SGD): each run allocates once, so failing the first
   call gives FW_ERR_NOMEM and nothing left live (test_nomem_runs checks both). */
typedef struct dln_nomem { fw_dln_desc d; int kind; fw_real mean[20], m2[20], tr[5], te[5]; } dln_nomem;

static fw_status dln_nomem_run(void *user, const fw_allocator *al)
{
    dln_nomem *c = (dln_nomem *)user;
    if (c->kind == 0) {
        fw_stats st;
        fw_stats_init(&st, 2 * fw_dln_record_count(&c->d), c->mean, c->m2);
        return fw_dln_simulate(&c->d, 0, 2, &st, NULL, al);
    }
    return c->kind == 1 ? fw_dln_theory(&c->d, c->tr, c->te, NULL, al) : fw_dln_lazy(&c->d, c->tr, c->te, al);
}

static void dln_nomem_free(void *user) { (void)user; }

static void deep_linear_solvers_fail_cleanly_without_memory(void)
{
    dln_nomem c;
    size_t need;
    int v;
    for (v = 0; v < 6; ++v) {
        memset(&c, 0, sizeof c);
        c.d.D = 16; c.d.width = 16; c.d.depth = 2; c.d.lr = (fw_real)0.1; c.d.steps = 4; c.d.alpha = 1;
        switch (v) {
        case 0: c.kind = 0; break;                                                 /* simulator, repeated data */
        case 1: c.kind = 0; c.d.alpha = 0; c.d.batch_ratio = 1; break;             /* simulator, one-pass SGD */
        case 2: c.kind = 1; break;                                                 /* theory */
        case 3: c.kind = 1; c.d.balanced = 1; break;                               /* theory, balanced scaling */
        case 4: c.kind = 1; c.d.spectrum = (fw_real)1.5; c.d.task = (fw_real)1.2; break;   /* theory, power law */
        default: c.kind = 2; c.d.alpha = 0; c.d.batch_ratio = 1; c.d.spectrum = (fw_real)1.5; c.d.task = (fw_real)1.2; break;
        }
        need = 0;
        if (c.kind == 0) FW_CHECK_STATUS(fw_dln_workspace_size(&c.d, &need), FW_OK);
        else if (c.kind == 1) FW_CHECK_STATUS(fw_dln_theory_workspace_size(&c.d, &need), FW_OK);
        else FW_CHECK_STATUS(fw_dln_lazy_workspace_size(&c.d, &need), FW_OK);
        FW_CHECK(need > 0);   /* so the run does call the allocator */
        FW_CHECK(test_nomem_runs(1, dln_nomem_run, dln_nomem_free, &c) == 1);
    }
}

static void ensembles_reserve_kernel_memory_only_when_they_record_kernels(void)
{
    /* 20,000 rows once needed two 20,000^2 kernel buffers (6.4 GB) for a run recording none. The
       workspace with record_kernels = 0 is below 100 MB for 20,000 rows at width 8, and (600 rows)
       smaller than with 1 by at least the two buffers; a net without the scratch refuses
       fw_net_kernels. */
    enum { P = 20000, D = 2 };
    static fw_real X[P * D], y[P];
    fw_data data;
    fw_ensemble_desc ed;
    fw_net_desc nd;
    fw_net net;
    fw_real k[16];
    size_t without = 0, with = 0;
    memset(&data, 0, sizeof data);
    data.P = P; data.D = D; data.X = X; data.y = y;
    memset(&ed, 0, sizeof ed);
    ed.net.input_dim = D; ed.net.width = 8; ed.lr = (fw_real)0.1; ed.steps = 1;
    FW_CHECK_STATUS(fw_ensemble_workspace_size(&ed, &data, &without), FW_OK);
    FW_CHECK(without < (size_t)100 << 20);
    data.P = 600;   /* with kernels at 20,000 rows the record itself is too long to index */
    FW_CHECK_STATUS(fw_ensemble_workspace_size(&ed, &data, &without), FW_OK);
    ed.record_kernels = 1;
    FW_CHECK_STATUS(fw_ensemble_workspace_size(&ed, &data, &with), FW_OK);
    FW_CHECK(with - without >= 2 * (size_t)600 * 600 * sizeof(fw_real));
    memset(&nd, 0, sizeof nd);
    nd.input_dim = D; nd.width = 4; nd.max_points = 2; nd.no_kernels = 1;
    FW_CHECK_STATUS(fw_net_create(&net, &nd, NULL), FW_OK);
    FW_CHECK_STATUS(fw_net_kernels(&net, 2, X, D, k, NULL, NULL), FW_ERR_ARG);
    fw_net_destroy(&net);
}

static void sizes_that_cannot_be_represented_are_size_errors(void)
{
    /* Hostile sizes: each of these once returned FW_OK with a wrapped size or overflowed a count.
       Weight count of width 46340, depth 3: 4.3e9 > 2^31 - 1 (it returned 3 MB). Ensemble record
       of P = 4096, depth 127, kernels: 2^32 values. A measuring arena that would pass SIZE_MAX. */
    fw_net_desc nd;
    fw_ensemble_desc ed;
    fw_data data;
    fw_arena ar;
    fw_real X[4], y[4];
    size_t bytes = 0;
    int nrec = 0, len = 0;
    memset(&nd, 0, sizeof nd);
    nd.width = 46340; nd.input_dim = 1; nd.depth = 3; nd.max_points = 4; nd.act = FW_ACT_TANH;
    FW_CHECK_STATUS(fw_net_workspace_size(&nd, &bytes), FW_ERR_SIZE);
    nd.width = 32768; nd.depth = 2;   /* 2^30 weights: representable, and the query's total is exact on 64-bit */
    if (sizeof(size_t) >= 8) {
        FW_CHECK_STATUS(fw_net_workspace_size(&nd, &bytes), FW_OK);
        FW_CHECK((double)bytes >= 1073741824.0 * (double)sizeof(fw_real));
    } else {
        FW_CHECK_STATUS(fw_net_workspace_size(&nd, &bytes), FW_ERR_SIZE);   /* 8 GB on a 32-bit target */
    }
    memset(&ed, 0, sizeof ed);
    memset(&data, 0, sizeof data);
    ed.net.width = 2; ed.net.input_dim = 1; ed.net.depth = 127; ed.net.act = FW_ACT_TANH;
    ed.lr = (fw_real)0.1; ed.steps = 1; ed.record_kernels = 2;
    data.P = 4096; data.D = 1; data.X = X; data.y = y;
    FW_CHECK_STATUS(fw_ensemble_shape(&ed, &data, &nrec, &len), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_ensemble_workspace_size(&ed, &data, &bytes), FW_ERR_SIZE);
    fw_arena_init(&ar, NULL, 0);
    (void)fw_arena_push(&ar, SIZE_MAX / 2);
    FW_CHECK(!ar.failed);
    (void)fw_arena_push(&ar, SIZE_MAX / 2 + 64);
    FW_CHECK(ar.failed);
}

/* ---- convolutional nets (fw_net_desc.arch = FW_ARCH_CNN) ---- */

typedef struct cnn_case { int H, W, C, N, L; fw_activation act; int ntk; } cnn_case;

/* The five shapes the CNN tests run: every activation, depth 1..3, one and several channels, the
   NTK parameterization, and 20 x 20 images (400 pixels: the library takes 2 images a chunk, so 5
   images cross chunk boundaries). */
static const cnn_case cnn_cases[5] = {
    {4, 3, 2, 3, 1, FW_ACT_RELU, 0}, {4, 3, 2, 3, 2, FW_ACT_TANH, 0}, {3, 5, 1, 4, 3, FW_ACT_ERF, 0},
    {2, 2, 3, 2, 2, FW_ACT_LINEAR, 1}, {20, 20, 1, 2, 2, FW_ACT_TANH, 0}};

static fw_net_desc cnn_desc(const cnn_case *c, int max_points)
{
    fw_net_desc d;
    memset(&d, 0, sizeof d);
    d.arch = FW_ARCH_CNN; d.image_height = c->H; d.image_width = c->W; d.image_channels = c->C;
    d.width = c->N; d.depth = c->L; d.act = c->act; d.gamma0 = (fw_real)0.8; d.ntk = c->ntk;
    d.seed = 77; d.max_points = max_points;
    return d;
}

static double act_double(fw_activation a, double x)
{
    switch (a) {
    case FW_ACT_RELU: return x > 0 ? x : 0;
    case FW_ACT_TANH: return tanh(x);
    case FW_ACT_ERF: return erf(x);
    default: return x;
    }
}

/* The convolutional net of the header comment above fw_net_desc written out as loops in double,
   from the documented parameter layout: W(l)[c][(k, c')] with k = (dy + 1) 3 + (dx + 1). */
static double cnn_loops_forward(const fw_net *net, const fw_real *x)
{
    const int H = net->desc.image_height, W = net->desc.image_width, C0 = net->desc.image_channels;
    const int N = net->desc.width, L = net->desc.depth, maxc = C0 > N ? C0 : N;
    double *in = (double *)malloc(sizeof(double) * (size_t)H * W * maxc), *out = (double *)malloc(sizeof(double) * (size_t)H * W * N);
    const fw_real *Wl = net->params;
    double f = 0;
    int l, y, xx, c, cp, dy, dx, C = C0;
    if (in == NULL || out == NULL) { free(in); free(out); return NAN; }
    for (y = 0; y < H * W * C0; ++y) in[y] = x[y];
    for (l = 0; l < L; ++l) {
        for (y = 0; y < H; ++y)
            for (xx = 0; xx < W; ++xx)
                for (c = 0; c < N; ++c) {
                    double acc = 0;
                    for (dy = -1; dy <= 1; ++dy)
                        for (dx = -1; dx <= 1; ++dx) {
                            const int yy = y + dy, xs = xx + dx, k = (dy + 1) * 3 + (dx + 1);
                            if (yy < 0 || yy >= H || xs < 0 || xs >= W) continue;
                            for (cp = 0; cp < C; ++cp) acc += (double)Wl[(size_t)c * 9 * C + (size_t)k * C + cp] * in[(yy * W + xs) * C + cp];
                        }
                    out[(y * W + xx) * N + c] = act_double(net->desc.act, acc / sqrt(9.0 * C));
                }
        Wl += (size_t)N * 9 * C;
        C = N;
        for (y = 0; y < H * W * N; ++y) in[y] = out[y];
    }
    for (c = 0; c < N; ++c) {
        double pool = 0;
        for (y = 0; y < H * W; ++y) pool += in[y * N + c];
        f += (double)Wl[c] * pool / (H * W);
    }
    free(in); free(out);
    return net->desc.ntk ? f / sqrt((double)N) : f / ((double)net->gamma0 * N);
}

static void cnn_forward_matches_explicit_loops(void)
{
    /* Rounding only: each output sums at most 9 N products per layer in a different order, and
       the terms are O(1) (unit weights and inputs, outputs |f| < 1), so the gap is a few hundred
       eps; 512 eps bounds it (double 1e-13, float 6e-5). */
    double big;
    int k, i;
    for (k = 0; k < 5; ++k) {
        const cnn_case *c = &cnn_cases[k];
        const int D = c->H * c->W * c->C, n = 5;
        fw_net_desc d = cnn_desc(c, n);
        fw_net net;
        fw_real *X = test_alloc((size_t)n * D), f[5];
        test_fill_normal(X, (size_t)n * D, 11 + (unsigned)k);
        FW_CHECK_STATUS(fw_net_create(&net, &d, NULL), FW_OK);
        FW_CHECK(net.n_params == c->N * 9 * c->C + (c->L - 1) * c->N * 9 * c->N + c->N);
        FW_CHECK_STATUS(fw_net_forward(&net, n, X, D, f), FW_OK);
        for (i = 0, big = 0; i < n; ++i) {
            const double ref = cnn_loops_forward(&net, X + (size_t)i * D);
            FW_CHECK(ref == ref);
            FW_CHECK_NEAR(f[i], ref, 512 * TEST_EPS);
            if (fabs(ref) > big) big = fabs(ref);
        }
        FW_CHECK(big > 1e-2);   /* outputs here are 0.01-0.3: the check is not on degenerate zeros */
        test_free(X);
        fw_net_destroy(&net);
    }
}

static void cnn_gradient_matches_finite_differences(void)
{
    /* As for MLPs (central differences; double h = 1e-5, 1e-6 of the largest entry; float h = 3e-3,
       1e-2). P = 3 training images and Q = 2 test images: the test images must not enter the
       gradient (the loss below sums over the training images only). */
    const int P = 3, Q = 2;
    const double h = TEST_IS_FLOAT ? 3e-3 : 1e-5, tol = TEST_IS_FLOAT ? 1e-2 : 1e-6;
    int k;
    for (k = 0; k < 5; ++k) {
        const cnn_case *c = &cnn_cases[k];
        const int D = c->H * c->W * c->C;
        fw_net_desc d = cnn_desc(c, P + Q);
        fw_net net;
        fw_real *X = test_alloc((size_t)(P + Q) * D), y[3];
        fw_data data = make_data(P, Q, D, X, y, 21 + (unsigned)k);
        FW_CHECK_STATUS(fw_net_create(&net, &d, NULL), FW_OK);
        FW_CHECK_NEAR(gradient_error(&net, &data, h), 0, tol);
        test_free(X);
        fw_net_destroy(&net);
    }
}

static void cnn_gd_step_moves_weights_by_the_scaled_gradient(void)
{
    /* theta <- theta - eta gamma0^2 N dLoss/dtheta (the MLP rule), checked to rounding (64 eps of
       the step's largest parameter), and the SGD step takes the same path without test images. */
    const cnn_case *c = &cnn_cases[1];
    const int P = 3, Q = 2, D = c->H * c->W * c->C;
    const fw_real eta = (fw_real)0.4;
    fw_net_desc d = cnn_desc(c, P + Q);
    fw_net net;
    fw_real X[5 * 24], y[3], *g, *before;
    fw_data data = make_data(P, Q, D, X, y, 31);
    double scale, pmax;
    int i;
    FW_CHECK(D == 24);
    FW_CHECK_STATUS(fw_net_create(&net, &d, NULL), FW_OK);
    g = test_alloc((size_t)net.n_params);
    before = test_alloc((size_t)net.n_params);
    memcpy(before, net.params, sizeof(fw_real) * (size_t)net.n_params);
    FW_CHECK_STATUS(fw_net_loss_gradient(&net, &data, g), FW_OK);
    FW_CHECK_STATUS(fw_net_gd_step(&net, &data, eta, NULL), FW_OK);
    scale = (double)eta * net.gamma0 * net.gamma0 * c->N;
    pmax = test_max_abs(before, (size_t)net.n_params);
    for (i = 0; i < net.n_params; ++i) FW_CHECK_NEAR(net.params[i], (double)before[i] - scale * g[i], 64 * TEST_EPS * pmax);
    test_free(g); test_free(before);
    fw_net_destroy(&net);
}

static void cnn_rejects_bad_shapes_and_kernels(void)
{
    fw_net_desc d;
    fw_net net;
    fw_ensemble_desc ed;
    fw_data data;
    fw_real X[24], y[1] = {1}, k[4];
    size_t bytes;
    memset(&ed, 0, sizeof ed);
    d = cnn_desc(&cnn_cases[1], 1);
    d.input_dim = 23;   /* must be H W C = 24 */
    FW_CHECK_STATUS(fw_net_validate(&d), FW_ERR_SIZE);
    d.input_dim = 0; d.image_height = 0;
    FW_CHECK_STATUS(fw_net_validate(&d), FW_ERR_SIZE);
    d = cnn_desc(&cnn_cases[1], 1);
    d.arch = (fw_arch)7;
    FW_CHECK_STATUS(fw_net_validate(&d), FW_ERR_ARG);
    d = cnn_desc(&cnn_cases[1], 1);
    d.image_height = 1 << 16; d.image_width = 1 << 16;   /* 2^32 pixels a channel */
    FW_CHECK_STATUS(fw_net_workspace_size(&d, &bytes), FW_ERR_SIZE);
    d = cnn_desc(&cnn_cases[1], 4096);
    d.image_height = 256; d.image_width = 256; d.width = 64;   /* activations 2 x 4096 x 65536 x 64 > 2^31 */
    FW_CHECK_STATUS(fw_net_workspace_size(&d, &bytes), FW_ERR_SIZE);
    d = cnn_desc(&cnn_cases[1], 1);
    FW_CHECK_STATUS(fw_net_create(&net, &d, NULL), FW_OK);
    test_fill_normal(X, 24, 3);
    FW_CHECK_STATUS(fw_net_kernels(&net, 1, X, 24, NULL, NULL, k), FW_ERR_ARG);   /* MLPs only */
    fw_net_destroy(&net);
    ed.net = cnn_desc(&cnn_cases[1], 1);
    ed.lr = (fw_real)0.1; ed.steps = 1; ed.record_kernels = 1;
    data.P = 1; data.Q = 0; data.D = 24; data.X = X; data.ldx = 24; data.y = y; data.y_test = NULL;
    FW_CHECK_STATUS(fw_ensemble_workspace_size(&ed, &data, &bytes), FW_ERR_ARG);
}

static void cnn_ensemble_member_is_the_trained_network(void)
{
    /* A 2-seed CNN ensemble's records are those of the same networks trained by hand (seed
       streams 0, 1): mean and variance of f after 3 steps to rounding. */
    const cnn_case *c = &cnn_cases[1];
    const int P = 3, Q = 2, n = 5, D = c->H * c->W * c->C, T = 3;
    fw_real X[5 * 24], y[3], mean[2 * 7], m2[2 * 7], f[2][5];
    fw_data data = make_data(P, Q, D, X, y, 41);
    fw_ensemble_desc ed;
    fw_stats st;
    int nrec = 0, len = 0, s, t, i;
    memset(&ed, 0, sizeof ed);
    ed.net = cnn_desc(c, n);
    ed.lr = (fw_real)0.3; ed.steps = T; ed.every = T;
    FW_CHECK_STATUS(fw_ensemble_shape(&ed, &data, &nrec, &len), FW_OK);
    FW_CHECK(nrec == 2 && len == n + 2);
    FW_CHECK_STATUS(fw_stats_init(&st, nrec * len, mean, m2), FW_OK);
    FW_CHECK_STATUS(fw_ensemble_run(&ed, &data, 0, 2, &st, NULL, NULL), FW_OK);
    for (s = 0; s < 2; ++s) {
        fw_net net;
        FW_CHECK_STATUS(fw_net_create(&net, &ed.net, NULL), FW_OK);
        FW_CHECK_STATUS(fw_net_reinit(&net, ed.net.seed, (uint64_t)s), FW_OK);
        for (t = 0; t < T; ++t) FW_CHECK_STATUS(fw_net_gd_step(&net, &data, ed.lr, NULL), FW_OK);
        FW_CHECK_STATUS(fw_net_forward(&net, n, X, D, f[s]), FW_OK);
        fw_net_destroy(&net);
    }
    for (i = 0; i < n; ++i) {
        const double m = 0.5 * ((double)f[0][i] + f[1][i]), v = 0.5 * ((double)f[0][i] - f[1][i]) * ((double)f[0][i] - f[1][i]);
        FW_CHECK_NEAR(mean[len + i], m, 64 * TEST_EPS);
        FW_CHECK_NEAR(fw_stats_var(&st, len + i), v, 64 * TEST_EPS);
    }
}

static void deep_linear_theories_refuse_a_negative_width(void)
{
    /* The proportional limit has no width (0 means none), but a negative one is an error in every
       deep linear solver, as in the simulator; the initial-function term needs a width. */
    fw_dln_desc d;
    fw_real tr[8], te[8], tre[8], tee[8];
    memset(&d, 0, sizeof d);
    d.D = 16; d.width = -5; d.depth = 2; d.gamma0 = 1; d.lr = (fw_real)0.1; d.steps = 4; d.alpha = 1;
    FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_ERR_SIZE);
    d.residual = 1;
    FW_CHECK_STATUS(fw_dln_deep_limit(&d, tr, te, tre, tee, NULL), FW_ERR_SIZE);
    d.residual = 0; d.width = 0;
    FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_OK);
    d.gamma0 = TEST_TINY_GAMMA0;   /* below the floor: the same code as every other solver */
    FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_ERR_ARG);
    FW_CHECK_STATUS(fw_dln_lazy(&d, tr, te, NULL), FW_ERR_ARG);
    d.ntk = 1; FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_OK); d.ntk = 0; d.gamma0 = 1;
    d.init_term = 1;
    FW_CHECK_STATUS(fw_dln_theory(&d, tr, te, NULL, NULL), FW_ERR_SIZE);
}

static void record_counts_survive_extreme_steps_and_intervals(void)
{
    /* every = INT_MAX: records at t = 0 and at the last step only (the count once overflowed in
       steps + every - 1 and the ensemble wrote past its buffer); steps = INT_MAX has no int
       count of time points and is refused. */
    fw_dmft_desc d;
    fw_ensemble_desc ed;
    fw_data data;
    int nrec = 0, len = 0;
    fw_real X[2] = {1, -1}, y[1] = {(fw_real)0.5};
    memset(&d, 0, sizeof d);
    d.steps = 3; d.every = 2147483647;
    FW_CHECK(fw_dmft_record_count(&d) == 2);
    FW_CHECK(fw_dmft_record_time(&d, 0) == 0 && fw_dmft_record_time(&d, 1) == 3 && fw_dmft_record_time(&d, 5) == 3);
    d.steps = 2147483646; d.every = 1;
    FW_CHECK(fw_dmft_record_count(&d) == 2147483647);
    FW_CHECK(fw_dmft_record_time(&d, 2147483647) == 2147483646);
    d.steps = 2147483647;
    FW_CHECK(fw_dmft_record_count(&d) == 0);
    memset(&ed, 0, sizeof ed);
    memset(&data, 0, sizeof data);
    ed.net.width = 4; ed.net.input_dim = 2; ed.net.act = FW_ACT_ERF; ed.lr = (fw_real)0.1;
    ed.steps = 3; ed.every = 2147483647;
    data.P = 1; data.D = 2; data.X = X; data.y = y;
    FW_CHECK_STATUS(fw_ensemble_shape(&ed, &data, &nrec, &len), FW_OK);
    FW_CHECK(nrec == 2 && len == 3);
    ed.steps = 2147483647; ed.every = 1;
    FW_CHECK_STATUS(fw_ensemble_shape(&ed, &data, &nrec, &len), FW_ERR_SIZE);
}

const fw_test_case fw_tests_net[] = {
    FW_TEST(deep_linear_solvers_fail_cleanly_without_memory),
    FW_TEST(ensembles_reserve_kernel_memory_only_when_they_record_kernels),
    FW_TEST(sizes_that_cannot_be_represented_are_size_errors),
    FW_TEST(record_counts_survive_extreme_steps_and_intervals),
    FW_TEST(deep_linear_theories_refuse_a_negative_width),
    FW_TEST(gradient_matches_finite_differences_all_activations_depths_1_to_4),
    FW_TEST(cnn_forward_matches_explicit_loops),
    FW_TEST(cnn_gradient_matches_finite_differences),
    FW_TEST(cnn_gd_step_moves_weights_by_the_scaled_gradient),
    FW_TEST(cnn_rejects_bad_shapes_and_kernels),
    FW_TEST(cnn_ensemble_member_is_the_trained_network),
    FW_TEST(two_layer_gd_step_equals_closed_form_update),
    FW_TEST(ntk_equals_jacobian_gram_and_phi0_equals_input_gram),
    FW_TEST(lazy_limit_follows_kernel_gd_with_its_initial_ntk),
    FW_TEST(sgd_step_equals_gd_step_on_the_same_batch),
    FW_TEST(deep_linear_simulator_equals_explicit_backpropagation),
    FW_TEST(deep_linear_simulator_rejects_bad_input),
    FW_TEST(deep_linear_lazy_limit_matches_its_moments_and_recursions),
    FW_TEST(deep_linear_lazy_theory_rejects_bad_input),
    FW_TEST(deep_linear_theory_reduces_to_its_limits),
    FW_TEST(deep_linear_theory_rejects_bad_input),
    FW_TEST(source_theory_is_exact_for_an_orthogonally_started_network),
    FW_TEST(source_simulator_equals_the_written_out_network),
    FW_TEST(source_lazy_limit_is_the_mode_sum_and_the_small_gamma0_theory),
    FW_TEST(source_lazy_sgd_is_linear_regression_sgd),
    FW_TEST(source_convention_rejects_what_it_does_not_cover),
    FW_TEST(centered_ntk_theories_start_from_zero),
    FW_TEST(balanced_deep_linear_theory_tends_to_the_lazy_limit_at_large_nu),
    FW_TEST(data_cavity_needs_one_mode_on_isotropic_data),
    FW_TEST(residual_deep_limit_is_the_limit_of_the_finite_depth_theory),
    FW_TEST(teacher_labels_follow_their_formulas),
    FW_TEST(linear_two_layer_initial_variance_matches_exact_value),
    FW_TEST(ensemble_is_independent_of_seed_order_and_merges),
    FW_TEST(log_callback_names_the_bad_field),
    FW_TEST(net_rejects_bad_descriptions_and_inputs),
    FW_TEST(too_large_learning_rate_reports_divergence_with_its_step),
    FW_TEST(net_and_ensemble_survive_allocation_failure_at_every_call),
    FW_TEST(stats_reject_bad_input),
    {NULL, NULL}
};
