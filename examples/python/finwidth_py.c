/* The C side of the Python bindings (examples/python/finwidth.py): finwidth.h compiled into a
   shared library (ninja shared -> build/libfinwidth.so) plus flat entry points, so that Python's
   ctypes passes only numbers, strings and double arrays (no struct layouts to mirror). Each entry
   point sets up the same descriptions as the command line (examples/finwidth.c), so the two give
   the same numbers, and writes a sentence into err (256 bytes) when it fails.
   Arrays are row-major doubles: X is (P + Q) x D (training rows first), y has P entries, outputs
   are R x (P + Q) with R = fwpy_record_count(steps, every) records at fwpy_record_times. */
#define FINWIDTH_IMPLEMENTATION
#include "../../finwidth.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#define FWPY_EXPORT __declspec(dllexport)
#else
#define FWPY_EXPORT __attribute__((visibility("default")))
#endif

static void fwpy_log(void *user, fw_status s, const char *where, const char *what)
{
    (void)s;
    snprintf((char *)user, 256, "%s: %s", where, what);
}

static int fwpy_fail(char *err, fw_status s)
{
    if (err[0] == 0) snprintf(err, 256, "%s", fw_status_string(s));
    return (int)s;
}

static fw_data fwpy_data(const double *X, const double *y, int P, int Q, int D)
{
    fw_data d;
    memset(&d, 0, sizeof d);
    d.P = P; d.Q = Q; d.D = D; d.X = X; d.ldx = D; d.y = y;
    return d;
}

static int fwpy_sampler(const char *name, fw_dmft_sampler *s)
{
    if (strcmp(name, "mc") == 0) *s = FW_SAMPLER_MC;
    else if (strcmp(name, "antithetic") == 0) *s = FW_SAMPLER_ANTITHETIC;
    else if (strcmp(name, "quadrature") == 0) *s = FW_SAMPLER_QUADRATURE;
    else if (strcmp(name, "exact") == 0) *s = FW_SAMPLER_EXACT;
    else return 0;
    return 1;
}

FWPY_EXPORT int fwpy_record_count(int steps, int every)
{
    fw_dmft_desc d;
    memset(&d, 0, sizeof d);
    d.steps = steps; d.every = every;
    return fw_dmft_record_count(&d);
}

FWPY_EXPORT void fwpy_record_times(int steps, int every, int *times)
{
    fw_dmft_desc d;
    int r, R;
    memset(&d, 0, sizeof d);
    d.steps = steps; d.every = every;
    R = fw_dmft_record_count(&d);
    for (r = 0; r < R; ++r) times[r] = fw_dmft_record_time(&d, r);
}

/* simulate: mean and var (R x n) of f over `seeds` networks (member s: stream s of seed); arch 1 a
   CNN on images of image[0] x image[1] pixels, image[2] channels. */
FWPY_EXPORT int fwpy_simulate(const double *X, const double *y, int P, int Q, int D, int depth, const char *act,
                              int width, double gamma0, int ntk, double lr, int steps, int every, int seeds,
                              long long seed, int arch, const int *image, double *mean, double *var, char *err)
{
    fw_ensemble_desc ed;
    fw_data data = fwpy_data(X, y, P, Q, D);
    fw_stats st;
    fw_real *mem;
    fw_status s;
    int nrec, len, r, p, bad = -1;
    err[0] = 0;
    memset(&ed, 0, sizeof ed);
    if (fw_act_parse(act, &ed.net.act) != FW_OK) { snprintf(err, 256, "act: unknown activation '%s'", act); return FW_ERR_ARG; }
    ed.net.input_dim = D; ed.net.width = width; ed.net.depth = depth; ed.net.gamma0 = gamma0; ed.net.ntk = ntk;
    ed.net.seed = (uint64_t)seed; ed.net.log.fn = fwpy_log; ed.net.log.user = err;
    ed.net.arch = (fw_arch)arch;
    if (arch == FW_ARCH_CNN) { ed.net.image_height = image[0]; ed.net.image_width = image[1]; ed.net.image_channels = image[2]; }
    ed.lr = lr; ed.steps = steps; ed.every = every;
    if (seeds < 1) { snprintf(err, 256, "seeds: must be >= 1"); return FW_ERR_SIZE; }
    if ((s = fw_ensemble_shape(&ed, &data, &nrec, &len)) != FW_OK) return fwpy_fail(err, s);
    if ((mem = (fw_real *)malloc(sizeof(fw_real) * 2 * (size_t)nrec * (size_t)len)) == NULL) return fwpy_fail(err, FW_ERR_NOMEM);
    fw_stats_init(&st, nrec * len, mem, mem + (size_t)nrec * len);
    s = fw_ensemble_run(&ed, &data, 0, (uint64_t)seeds, &st, &bad, NULL);
    if (s == FW_ERR_DIVERGED) snprintf(err, 256, "training diverged at step %d: learning rate %g is too large", bad, lr);
    for (r = 0; s == FW_OK && r < nrec; ++r)
        for (p = 0; p < P + Q; ++p) {
            mean[(size_t)r * (P + Q) + p] = st.mean[(size_t)r * len + p];
            var[(size_t)r * (P + Q) + p] = fw_stats_var(&st, r * len + p);
        }
    free(mem);
    return s == FW_OK ? 0 : fwpy_fail(err, s);
}

/* dmft: mean and stderr (R x n), train/test loss and sharpness (R). */
FWPY_EXPORT int fwpy_dmft(const double *X, const double *y, int P, int Q, int D, int depth, const char *act,
                          double gamma0, double lr, int steps, int every, int samples, int replicates,
                          const char *sampler, long long seed, double *mean, double *se, double *train_loss,
                          double *test_loss, double *sharpness, char *err)
{
    fw_dmft_desc d;
    fw_dmft_result res;
    fw_data data = fwpy_data(X, y, P, Q, D);
    fw_status s;
    size_t i, nf;
    int r;
    err[0] = 0;
    memset(&d, 0, sizeof d);
    if (fw_act_parse(act, &d.act) != FW_OK) { snprintf(err, 256, "act: unknown activation '%s'", act); return FW_ERR_ARG; }
    if (!fwpy_sampler(sampler, &d.sampler)) { snprintf(err, 256, "sampler: mc, antithetic, quadrature or exact"); return FW_ERR_ARG; }
    d.depth = depth; d.gamma0 = gamma0; d.lr = lr; d.steps = steps; d.every = every; d.samples = samples;
    d.replicates = replicates; d.seed = (uint64_t)seed; d.log.fn = fwpy_log; d.log.user = err;
    if ((s = fw_dmft_run(&d, &data, &res, NULL)) != FW_OK) {
        if (s == FW_ERR_DIVERGED) snprintf(err, 256, "the infinite-width dynamics diverged at step %d: learning rate too large", res.diverged_step);
        return fwpy_fail(err, s);
    }
    nf = (size_t)res.n_records * (size_t)res.n_points;
    for (i = 0; i < nf; ++i) { mean[i] = res.f[i]; se[i] = res.f_se[i]; }
    for (r = 0; r < res.n_records; ++r) {
        train_loss[r] = res.train_loss[r]; test_loss[r] = res.test_loss[r]; sharpness[r] = res.sharpness[r];
    }
    fw_dmft_result_free(&res);
    return 0;
}

/* theory: the infinite-width mean, Var f at width N and its standard error (R x n); two-layer
   nets through fw_fluct_run, deep ones through fw_dlfluct_run, as `finwidth theory`. */
FWPY_EXPORT int fwpy_theory(const double *X, const double *y, int P, int Q, int D, int depth, const char *act,
                            int width, double gamma0, int ntk, double lr, int steps, int every, int samples,
                            int replicates, const char *sampler, long long seed, double *mean, double *var,
                            double *var_se, char *err)
{
    fw_data data = fwpy_data(X, y, P, Q, D);
    fw_activation a;
    fw_status s;
    const int n = P + Q;
    int r, p;
    err[0] = 0;
    if (fw_act_parse(act, &a) != FW_OK) { snprintf(err, 256, "act: unknown activation '%s'", act); return FW_ERR_ARG; }
    if (depth <= 1) {
        fw_fluct_desc d;
        fw_fluct_result res;
        size_t i, nf;
        memset(&d, 0, sizeof d);
        if (!fwpy_sampler(sampler, &d.dmft.sampler) || d.dmft.sampler == FW_SAMPLER_EXACT) {
            snprintf(err, 256, "sampler: mc, antithetic or quadrature");
            return FW_ERR_ARG;
        }
        d.dmft.depth = 1; d.dmft.act = a; d.dmft.lr = lr; d.dmft.steps = steps;
        d.dmft.gamma0 = ntk ? 1 / sqrt((double)width) : gamma0;
        d.dmft.every = every; d.dmft.samples = samples; d.dmft.replicates = replicates;
        d.dmft.seed = (uint64_t)seed; d.dmft.log.fn = fwpy_log; d.dmft.log.user = err;
        d.width = width;
        if ((s = fw_fluct_run(&d, &data, &res, NULL)) != FW_OK) return fwpy_fail(err, s);
        nf = (size_t)res.n_records * (size_t)res.n_points;
        for (i = 0; i < nf; ++i) { mean[i] = res.f[i]; var[i] = res.f_var[i]; var_se[i] = res.f_var_se[i]; }
        fw_fluct_result_free(&res);
        return 0;
    } else {
        fw_dlfluct_desc d;
        fw_dlfluct_out out;
        fw_real *buf = (fw_real *)calloc(3 * ((size_t)steps + 1) * (size_t)n, sizeof(fw_real));
        fw_dmft_desc rd;
        if (buf == NULL) return fwpy_fail(err, FW_ERR_NOMEM);
        memset(&d, 0, sizeof d);
        memset(&out, 0, sizeof out);
        memset(&rd, 0, sizeof rd);
        d.depth = depth; d.width = width; d.gamma0 = gamma0; d.ntk = ntk; d.lr = lr; d.steps = steps;
        d.log.fn = fwpy_log; d.log.user = err; d.act = a; d.samples = samples; d.seed = (uint64_t)seed;
        if (a != FW_ACT_LINEAR) d.replicates = replicates;
        out.f = buf; out.f_var = buf + ((size_t)steps + 1) * n; out.f_var_se = out.f_var + ((size_t)steps + 1) * n;
        s = fw_dlfluct_run(&d, &data, &out, NULL);
        rd.steps = steps; rd.every = every;
        for (r = 0; s == FW_OK && r < fw_dmft_record_count(&rd); ++r) {
            const int t = fw_dmft_record_time(&rd, r);
            for (p = 0; p < n; ++p) {
                mean[(size_t)r * n + p] = out.f[(size_t)t * n + p];
                var[(size_t)r * n + p] = out.f_var[(size_t)t * n + p];
                var_se[(size_t)r * n + p] = out.f_var_se[(size_t)t * n + p];
            }
        }
        free(buf);
        return s == FW_OK ? 0 : fwpy_fail(err, s);
    }
}

/* dln: the proportional-limit theory (simulate_D == 0) or S networks at input dimension
   simulate_D: train and test loss (R), and with simulations their sd over seeds (else 0). */
FWPY_EXPORT int fwpy_dln(double alpha, double nu, int depth, double gamma0, int ntk, int balanced, double lr,
                         int steps, int every, double batch_ratio, double residual, double spectrum, double task,
                         double noise, int dim, int simulate_D, int seeds, long long seed, double *train,
                         double *test, double *train_sd, double *test_sd, char *err)
{
    fw_dln_desc d;
    fw_status s;
    int R, r, bad = -1;
    err[0] = 0;
    memset(&d, 0, sizeof d);
    d.D = simulate_D > 0 ? simulate_D : dim;
    if (!(nu > 0) || !(nu * d.D + 0.5 < 2147483647.0)) { snprintf(err, 256, "nu: must be > 0 with nu D below 2^31"); return FW_ERR_ARG; }
    d.width = (int)floor(nu * d.D + 0.5);
    if (d.width < 1) d.width = 1;
    d.depth = depth; d.gamma0 = gamma0; d.ntk = ntk; d.balanced = balanced; d.lr = lr; d.steps = steps;
    d.every = every; d.alpha = alpha; d.batch_ratio = batch_ratio; d.residual = residual; d.spectrum = spectrum;
    d.task = task; d.noise = noise; d.seed = (uint64_t)seed; d.log.fn = fwpy_log; d.log.user = err;
    R = fw_dln_record_count(&d);
    if (R < 1) return fwpy_fail(err, FW_ERR_SIZE);
    if (simulate_D <= 0) {
        s = fw_dln_theory(&d, train, test, NULL, NULL);
        for (r = 0; r < R; ++r) train_sd[r] = test_sd[r] = 0;
        return s == FW_OK ? 0 : fwpy_fail(err, s);
    } else {
        fw_real *mem = (fw_real *)malloc(sizeof(fw_real) * 4 * (size_t)R);
        fw_stats st;
        if (mem == NULL) return fwpy_fail(err, FW_ERR_NOMEM);
        fw_stats_init(&st, 2 * R, mem, mem + 2 * R);
        s = fw_dln_simulate(&d, 0, (uint64_t)seeds, &st, &bad, NULL);
        if (s == FW_ERR_DIVERGED) snprintf(err, 256, "training diverged at step %d: learning rate %g is too large", bad, lr);
        for (r = 0; s == FW_OK && r < R; ++r) {
            train[r] = st.mean[2 * r]; test[r] = st.mean[2 * r + 1];
            train_sd[r] = sqrt(fw_stats_var(&st, 2 * r)); test_sd[r] = sqrt(fw_stats_var(&st, 2 * r + 1));
        }
        free(mem);
        return s == FW_OK ? 0 : fwpy_fail(err, s);
    }
}
