/* fw_web.c: the calls the explorer page (examples/web) makes, as flat functions over arrays in
   the module's memory. Built to wasm32 (a WASI reactor: no main, no stdio) by `ninja web`, and
   natively for the browser test's speed reference. Every function returns an fw_status; the last
   message the library logged is at fwweb_message(). */
#define FINWIDTH_IMPLEMENTATION
#include "../../finwidth.h"
#include <stdlib.h>
#include <string.h>

#if defined(__wasm__)
#define FWWEB_EXPORT(name) __attribute__((export_name(#name)))
#else
#define FWWEB_EXPORT(name)
#endif

static char fwweb_msg[256];   /* the module is single-threaded: one message buffer for the page */

static void fwweb_log(void *user, fw_status s, const char *where, const char *what)
{
    size_t n = strlen(where);
    (void)user; (void)s;
    if (n > 120) n = 120;
    memcpy(fwweb_msg, where, n);
    fwweb_msg[n] = ':'; fwweb_msg[n + 1] = ' ';
    strncpy(fwweb_msg + n + 2, what, sizeof fwweb_msg - n - 3);
    fwweb_msg[sizeof fwweb_msg - 1] = 0;
}

FWWEB_EXPORT(fwweb_alloc) void *fwweb_alloc(int bytes) { return bytes > 0 ? malloc((size_t)bytes) : NULL; }
FWWEB_EXPORT(fwweb_free) void fwweb_free(void *p) { free(p); }
FWWEB_EXPORT(fwweb_message) const char *fwweb_message(void) { return fwweb_msg; }
FWWEB_EXPORT(fwweb_real_bytes) int fwweb_real_bytes(void) { return (int)sizeof(fw_real); }

static fw_data fwweb_data(int P, int Q, int D, const fw_real *X, const fw_real *y)
{
    fw_data data;
    memset(&data, 0, sizeof data);
    data.P = P; data.Q = Q; data.D = D; data.X = X; data.ldx = D; data.y = y;
    return data;
}

/* The DMFT description both theory calls share (the page's controls; the messages to fwweb_msg). */
static fw_dmft_desc fwweb_dmft_desc(int act, int depth, double gamma0, double lr, int steps, int samples, int replicates, int seed)
{
    fw_dmft_desc d;
    memset(&d, 0, sizeof d);
    d.depth = depth; d.act = (fw_activation)act; d.gamma0 = (fw_real)gamma0; d.lr = (fw_real)lr; d.steps = steps;
    d.samples = samples; d.replicates = replicates; d.seed = (uint64_t)seed; d.log.fn = fwweb_log;
    return d;
}

/* The two-layer theory (fw_fluct_run; the CLI's `theory`): for t = 0..steps and the n = P + Q
   points, mean[t n + i] = f, var[t n + i] = Var f at width N, var_se its Monte Carlo error. */
FWWEB_EXPORT(fwweb_theory)
int fwweb_theory(int P, int Q, int D, const fw_real *X, const fw_real *y, int act, double gamma0, double lr, int steps,
                 int width, int samples, int replicates, int seed, fw_real *mean, fw_real *var, fw_real *var_se)
{
    fw_data data = fwweb_data(P, Q, D, X, y);
    fw_fluct_desc d;
    fw_fluct_result r;
    fw_status st;
    int i;
    fwweb_msg[0] = 0;
    memset(&d, 0, sizeof d);
    d.dmft = fwweb_dmft_desc(act, 1, gamma0, lr, steps, samples, replicates, seed);
    d.width = width;
    if ((st = fw_fluct_run(&d, &data, &r, NULL)) != FW_OK) return (int)st;
    for (i = 0; i < r.n_records * r.n_points; ++i) { mean[i] = r.f[i]; var[i] = r.f_var[i]; var_se[i] = r.f_var_se[i]; }
    fw_fluct_result_free(&r);
    return FW_OK;
}

/* The infinite-width mean alone (fw_dmft_run; the CLI's `dmft`), any depth: mean[t n + i], its
   Monte Carlo standard error se[t n + i]. */
FWWEB_EXPORT(fwweb_dmft)
int fwweb_dmft(int P, int Q, int D, const fw_real *X, const fw_real *y, int act, int depth, double gamma0, double lr,
               int steps, int samples, int replicates, int seed, fw_real *mean, fw_real *se)
{
    fw_data data = fwweb_data(P, Q, D, X, y);
    fw_dmft_desc d;
    fw_dmft_result r;
    fw_status st;
    int i;
    fwweb_msg[0] = 0;
    d = fwweb_dmft_desc(act, depth, gamma0, lr, steps, samples, replicates, seed);
    if ((st = fw_dmft_run(&d, &data, &r, NULL)) != FW_OK) return (int)st;
    for (i = 0; i < r.n_records * r.n_points; ++i) { mean[i] = r.f[i]; se[i] = r.f_se[i]; }
    fw_dmft_result_free(&r);
    return FW_OK;
}

/* Members seed_begin .. seed_end - 1 of the ensemble (fw_ensemble_run; the CLI's `simulate`),
   pushed into the running statistics (mean, m2, *count) over R = steps + 1 records of n + 2
   values (f on the n points, train and test loss): calling it over consecutive seed ranges with
   the same statistics gives bitwise what one call over all of them gives. */
FWWEB_EXPORT(fwweb_ensemble)
int fwweb_ensemble(int P, int Q, int D, const fw_real *X, const fw_real *y, int act, double gamma0, double lr, int steps,
                   int width, int depth, int seed, int seed_begin, int seed_end, fw_real *mean, fw_real *m2, int *count)
{
    fw_data data = fwweb_data(P, Q, D, X, y);
    fw_ensemble_desc e;
    fw_stats st;
    fw_status s;
    int nrec, len;
    fwweb_msg[0] = 0;
    memset(&e, 0, sizeof e);
    e.net.input_dim = D; e.net.width = width; e.net.depth = depth; e.net.act = (fw_activation)act;
    e.net.gamma0 = (fw_real)gamma0; e.net.seed = (uint64_t)seed; e.net.log.fn = fwweb_log;
    e.lr = (fw_real)lr; e.steps = steps;
    if ((s = fw_ensemble_shape(&e, &data, &nrec, &len)) != FW_OK) return (int)s;
    if (*count == 0) fw_stats_init(&st, nrec * len, mean, m2);   /* the first range: zero sums */
    st.n = nrec * len; st.count = *count; st.mean = mean; st.m2 = m2;
    s = fw_ensemble_run(&e, &data, (uint64_t)seed_begin, (uint64_t)seed_end, &st, NULL, NULL);
    *count = (int)st.count;
    return (int)s;
}

/* Deep linear nets on random data: the proportional-limit theory (lazy != 0: its closed form)
   or, with sim_D > 0, S = seeds networks at input dimension sim_D (mean train and test loss).
   train, test: R = steps + 1 values. spectrum, task: 0 for isotropic. */
FWWEB_EXPORT(fwweb_dln)
int fwweb_dln(double alpha, double nu, int depth, double gamma0, int ntk, double lr, int steps, double residual,
              double batch_ratio, double spectrum, double task, double noise, int lazy, int sim_D, int seeds, int dim,
              fw_real *train, fw_real *test)
{
    fw_dln_desc d;
    fw_status s;
    fwweb_msg[0] = 0;
    memset(&d, 0, sizeof d);
    d.D = sim_D > 0 ? sim_D : dim; d.depth = depth; d.gamma0 = (fw_real)gamma0; d.ntk = ntk; d.lr = (fw_real)lr;
    d.steps = steps; d.alpha = (fw_real)alpha; d.batch_ratio = (fw_real)batch_ratio; d.residual = (fw_real)residual;
    d.spectrum = (fw_real)spectrum; d.task = (fw_real)task; d.noise = (fw_real)noise; d.log.fn = fwweb_log;
    d.width = (int)(nu * d.D + 0.5);
    if (d.width < 1) d.width = 1;
    if (sim_D == 0) return (int)(lazy ? fw_dln_lazy(&d, train, test, NULL) : fw_dln_theory(&d, train, test, NULL, NULL));
    {
        const int R = fw_dln_record_count(&d);
        fw_real *mem = (fw_real *)malloc(sizeof(fw_real) * 4 * (size_t)R);
        fw_stats st;
        int r;
        if (mem == NULL) return FW_ERR_NOMEM;
        fw_stats_init(&st, 2 * R, mem, mem + 2 * R);
        s = fw_dln_simulate(&d, 0, (uint64_t)seeds, &st, NULL, NULL);
        for (r = 0; s == FW_OK && r < R; ++r) { train[r] = st.mean[2 * r]; test[r] = st.mean[2 * r + 1]; }
        free(mem);
        return (int)s;
    }
}
