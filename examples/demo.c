/* The reproduction demo (`ninja demo`): the papers' main results, theory next to simulation on
   the same axes, as SVG figures and an HTML report, with a summary table on the terminal.

     demo [--out DIR] [--quick] [--only K] [--jobs J]

   DIR defaults to build/demo and is created when missing (with its parents). --quick is a preview
   at reduced sizes (the smoke test of `ninja test`): the same figures, noisier, and the verdicts
   say "preview" (its sizes are too small for the criteria). --only K runs figure K alone (a
   partial report, for working on one figure). The figures run in J processes at once (default:
   the number of online cores; J = 1 runs them in this process); each figure's numbers do not
   depend on J. Each finished figure prints a progress line with the elapsed time and an estimate
   of the time left; the summary table gives, per figure, the largest theory-vs-simulation
   discrepancy in standard errors and the criterion behind its verdict. */
#define _POSIX_C_SOURCE 200809L   /* mkdir, fork, waitpid, sysconf, clock_gettime */
#define FINWIDTH_IMPLEMENTATION
#include "../finwidth.h"
#include "svgplot.h"
#include "cnn_study.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_REC 64

typedef struct verdict {
    int fig;
    char what[160];           /* the comparison */
    double zmax;              /* largest |theory - simulation| / combined standard error */
    char detail[320];         /* the measured numbers behind the verdict */
    int pass;
} verdict;

typedef struct demo {
    const char *out;
    int quick;
    FILE *html;               /* the running figure's part of the report */
    FILE *panels;             /* its panels as inline SVG, until the figure's section is written */
    verdict v[24];
    int nv;
} demo;

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes > 0 ? bytes : 1);
    if (p == NULL) { fprintf(stderr, "demo: out of memory\n"); exit(1); }
    return p;
}

static void die(const char *what, fw_status s)
{
    fprintf(stderr, "demo: %s: %s\n", what, fw_status_string(s));
    exit(1);
}

static void path_in(const demo *d, const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", d->out, name);
}

/* The problem of figures 1 and 2: P training and Q test points in D = 3 dimensions, x ~ N(0, I),
   targets from a fixed nonlinear teacher y = tanh(2 x.b / sqrt(D)), b = (1, -0.5, 0.25). */
typedef struct problem { int P, Q, D; fw_real X[16 * 3], y[16], yt[16]; fw_data data; } problem;

static void make_problem(problem *pb, int P, int Q)
{
    const double b[3] = {1, -0.5, 0.25};
    fw_rng rng;
    int i;
    memset(pb, 0, sizeof *pb);
    pb->P = P; pb->Q = Q; pb->D = 3;
    fw_rng_init(&rng, 2023, 0);
    fw_rng_fill_normal(&rng, pb->X, (size_t)(P + Q) * 3, 1);
    for (i = 0; i < P + Q; ++i) {
        double u = (pb->X[i * 3] * b[0] + pb->X[i * 3 + 1] * b[1] + pb->X[i * 3 + 2] * b[2]) * 2 / sqrt(3.0);
        if (i < P) pb->y[i] = (fw_real)tanh(u);
        else pb->yt[i - P] = (fw_real)tanh(u);
    }
    pb->data.P = P; pb->data.Q = Q; pb->data.D = 3; pb->data.X = pb->X; pb->data.ldx = 3;
    pb->data.y = pb->y; pb->data.y_test = pb->yt;
}

/* Top eigenvalue of the closed-form infinite-width NTK on the training points. */
static double lambda0(const problem *pb, fw_activation act)
{
    fw_real kx[16 * 16], phi[2 * 256], g[256], ntk[256], w[16], V[256];
    fw_status s;
    const int P = pb->P;
    fw_syrk(FW_NO_TRANS, P, pb->D, 1 / (fw_real)pb->D, pb->X, pb->D, 0, kx, P);
    if ((s = fw_kernels_infinite(act, 1, P, kx, P, phi, g, ntk)) != FW_OK) die("kernels", s);
    if ((s = fw_eigh(P, ntk, P, w, V, P)) != FW_OK) die("eigh", s);
    return w[P - 1];
}

/* A seed ensemble of two-layer nets; returns the stats memory (free it). */
static fw_real *ensemble(const problem *pb, fw_activation act, double gamma0, int N, int S, double eta, int T,
                         int every, int kernels, fw_stats *st, int *nrec, int *len)
{
    fw_ensemble_desc ed;
    fw_real *mem;
    fw_status s;
    memset(&ed, 0, sizeof ed);
    ed.net.input_dim = pb->D; ed.net.width = N; ed.net.act = act; ed.net.gamma0 = (fw_real)gamma0; ed.net.seed = 77;
    ed.lr = (fw_real)eta; ed.steps = T; ed.every = every; ed.record_kernels = kernels;
    if ((s = fw_ensemble_shape(&ed, &pb->data, nrec, len)) != FW_OK) die("ensemble shape", s);
    mem = (fw_real *)xmalloc(2 * (size_t)*nrec * *len * sizeof(fw_real));
    fw_stats_init(st, *nrec * *len, mem, mem + (size_t)*nrec * *len);
    if ((s = fw_ensemble_run(&ed, &pb->data, 0, (uint64_t)S, st, NULL, NULL)) != FW_OK) die("ensemble", s);
    return mem;
}

static fw_status theory(const problem *pb, fw_activation act, double gamma0, int N, double eta, int T, int every,
                        int samples, int kernels, fw_fluct_result *res)
{
    fw_fluct_desc fd;
    memset(&fd, 0, sizeof fd);
    fd.dmft.act = act; fd.dmft.gamma0 = (fw_real)gamma0; fd.dmft.lr = (fw_real)eta; fd.dmft.steps = T;
    fd.dmft.every = every; fd.dmft.sampler = FW_SAMPLER_ANTITHETIC; fd.dmft.samples = samples;
    fd.dmft.replicates = 8; fd.dmft.seed = 5; fd.width = N; fd.kernels = kernels;
    return fw_fluct_run(&fd, &pb->data, res, NULL);
}

/* z of a sample variance vs a predicted one: se_sim = v_th sqrt(2 / (S - 1)) (Gaussian fourth
   moment), se_th the theory's replicate error. */
static double z_var(double v_sim, double v_th, double se_th, int S)
{
    double se2 = v_th * v_th * 2.0 / (S - 1) + se_th * se_th;
    return fabs(v_sim - v_th) / sqrt(se2 > 0 ? se2 : 1e-300);
}

/* The figure's section: title, its panels inline (they wrap to the page width; figK.svg holds
   them side by side for use elsewhere), the caption. */
static void html_figure(demo *d, int fig, const char *file, const char *title, const char *caption)
{
    char buf[4096];
    size_t n;
    fprintf(d->html, "<section id=\"fig%d\"><h2>Figure %d. %s</h2>\n<div class=\"figure\" data-file=\"%s\">\n", fig, fig, title, file);
    if (d->panels != NULL) {
        rewind(d->panels);
        while ((n = fread(buf, 1, sizeof buf, d->panels)) > 0) fwrite(buf, 1, n, d->html);
        fclose(d->panels);
        d->panels = NULL;
    }
    fprintf(d->html, "</div>\n<p>%s</p></section>\n", caption);
}

static verdict *new_verdict(demo *d, int fig, const char *what)
{
    verdict *v = &d->v[d->nv++];
    memset(v, 0, sizeof *v);
    v->fig = fig;
    snprintf(v->what, sizeof v->what, "%s", what);
    return v;
}

/* Writes figK.svg into the output directory and keeps the panels for the report (exits on failure). */
static void write_svg(demo *d, int fig, const char *title, const svg_panel *pan, int n_panels)
{
    char name[32], file[512], id[32];
    int k;
    snprintf(name, sizeof name, "fig%d.svg", fig);
    path_in(d, name, file, sizeof file);
    if (svg_write(file, title, pan, n_panels) != 0) die("cannot write an SVG file", FW_ERR_ARG);
    if (d->panels != NULL) fclose(d->panels);
    if ((d->panels = tmpfile()) == NULL) die("cannot open a temporary file", FW_ERR_ARG);
    for (k = 0; k < n_panels; ++k) {
        snprintf(id, sizeof id, "f%d-%d", fig, k + 1);
        svg_panel_inline(d->panels, &pan[k], id);
    }
}

/* Adds figure K to the report and opens its verdict with the largest discrepancy zmax. */
static verdict *finish_figure(demo *d, int fig, const char *title, const char *caption, const char *what, double zmax)
{
    char name[32];
    verdict *v;
    snprintf(name, sizeof name, "fig%d.svg", fig);
    html_figure(d, fig, name, title, caption);
    v = new_verdict(d, fig, what);
    v->zmax = zmax;
    return v;
}

/* ---- Figure 1: N Var f(t) on a train and a test point, theory vs ensembles at three widths --- */
static void figure1(demo *d)
{
    const int P = 8, Q = 2, T = 20, every = 2, S = d->quick ? 60 : 400, n = P + Q;
    const int widths[3] = {64, 256, 1024}, nw = d->quick ? 2 : 3;
    const int pts[2] = {0, P};   /* the first train and the first test point */
    problem pb;
    fw_fluct_result th;
    fw_dmft_desc rd;
    fw_status s;
    double eta, t[MAX_REC], vth[2][MAX_REC], naive[2][MAX_REC], vsim[3][2][MAX_REC], sesim[3][2][MAX_REC];
    double zmax = 0, gap_small = 0;
    int within = 0, cells = 0, nrec, len, r, k, w, c;
    svg_panel pan[2];
    char caption[1400];
    static char names[3][24];
    verdict *v;
    memset(&rd, 0, sizeof rd);
    rd.steps = T; rd.every = every;
    make_problem(&pb, P, Q);
    eta = 1 / lambda0(&pb, FW_ACT_TANH);
    if ((s = theory(&pb, FW_ACT_TANH, 1, 1, eta, T, every, d->quick ? 4096 : 32768, 0, &th)) != FW_OK) die("fluct", s);
    for (r = 0; r < th.n_records; ++r) {
        t[r] = fw_dmft_record_time(&rd, r);
        for (k = 0; k < 2; ++k) {
            vth[k][r] = th.f_var[r * n + pts[k]];       /* width 1: N Var f at leading order */
            naive[k][r] = th.f_var_naive[r * n + pts[k]];
        }
    }
    for (w = 0; w < nw; ++w) {
        fw_stats st;
        fw_real *mem = ensemble(&pb, FW_ACT_TANH, 1, widths[w], S, eta, T, every, 0, &st, &nrec, &len);
        for (r = 0; r < nrec; ++r)
            for (k = 0; k < 2; ++k) {
                vsim[w][k][r] = widths[w] * (double)fw_stats_var(&st, r * len + pts[k]);
                sesim[w][k][r] = vsim[w][k][r] * sqrt(2.0 / (S - 1));
            }
        for (r = 0; r < nrec; ++r)
            for (c = 0; c < n; ++c) {
                double vs = widths[w] * (double)fw_stats_var(&st, r * len + c), vt = th.f_var[r * n + c];
                if (w == nw - 1) {
                    double z = z_var(vs, vt, th.f_var_se[r * n + c], S);
                    within += z < 3;
                    ++cells;
                    if (z > zmax) zmax = z;
                } else if (w == 0 && r > 0) {
                    gap_small += (vs / vt - 1) / ((nrec - 1) * n);
                }
            }
        free(mem);
    }
    for (k = 0; k < 2; ++k) {
        svg_panel_init(&pan[k], k == 0 ? "training point 1" : "test point 1", "GD step t", "N Var f(t)");
        pan[k].logy = 1;
        svg_add(&pan[k], "theory", SVG_LINE, 0, th.n_records, t, vth[k], NULL);
        svg_add(&pan[k], "naive Var psi", SVG_DASHED, 5, th.n_records, t, naive[k], NULL);
        for (w = 0; w < nw; ++w) {
            snprintf(names[w], sizeof names[w], "simulation N = %d", widths[w]);
            svg_add(&pan[k], names[w], SVG_POINTS, 1 + w, th.n_records, t, vsim[w][k], sesim[w][k]);
        }
    }
    write_svg(d, 1, "Figure 1: prediction variance along training", pan, 2);
    snprintf(caption, sizeof caption,
             "Two-layer tanh network in mean-field parameterization (gamma0 = 1), P = %d training points and "
             "Q = %d test points in D = 3 (teacher y = tanh(2 x.b/sqrt 3)), full-batch GD with eta = 1/lambda0 = %.3f "
             "for T = %d steps. Lines: the finite-width theory, N Var f = (I+J)^-1 kappa (I+J)^-T at leading order "
             "(the same for every N), and the naive single-site variance without the response term. Points: "
             "N times the variance over %d seeds of width-N networks, with error bars var sqrt(2/(S-1)). "
             "What to see: the ensembles at every width fall on the theory line, while the naive variance is "
             "off by orders of magnitude on the training point once training starts; the training-point "
             "variance collapses as the network fits the data, the test-point variance does not.",
             P, Q, eta, T, S);
    v = finish_figure(d, 1, "Prediction variance along training (Bordelon &amp; Pehlevan 2023)", caption, "N Var f(t), all points, N = 1024 (quick: 256)", zmax);
    snprintf(v->detail, sizeof v->detail, "%d/%d cells within 3 se (need >= 95%%); N = 64 mean gap %+.3f", within, cells, gap_small);
    v->pass = within >= 0.95 * cells;
    fw_fluct_result_free(&th);
}

/* ---- Figure 2: variance of the final NTK and test predictions against gamma0 ---------------- */
static void figure2(demo *d)
{
    const int P = 8, Q = 2, T = 30, N = 256, S = d->quick ? 60 : 400, n = P + Q;
    const double gam_all[5] = {0.1, 0.25, 0.5, 0.75, 1};
    const int ng = d->quick ? 3 : 5;
    problem pb;
    double eta, g[5], kth[5], kse[5], ksim[5], ksimse[5], fth[5], fse[5], fsim[5], fsimse[5], zmax = 0;
    svg_panel pan[2];
    char caption[1400];
    verdict *v;
    int i;
    make_problem(&pb, P, Q);
    eta = 1 / lambda0(&pb, FW_ACT_TANH);
    for (i = 0; i < ng; ++i) {
        fw_fluct_result th;
        fw_stats st;
        fw_real *mem;
        fw_status s;
        int nrec, len, R;
        size_t base;
        g[i] = gam_all[i];
        if ((s = theory(&pb, FW_ACT_TANH, g[i], 1, eta, T, T, d->quick ? 2048 : 16384, 1, &th)) != FW_OK) die("fluct", s);
        R = th.n_records - 1;
        kth[i] = th.ntk_var[(size_t)R * P * P];          /* K_11(T), first training point */
        kse[i] = th.ntk_var_se[(size_t)R * P * P];
        fth[i] = th.f_var[(size_t)R * n + P];            /* f on the first test point */
        fse[i] = th.f_var_se[(size_t)R * n + P];
        mem = ensemble(&pb, FW_ACT_TANH, g[i], N, S, eta, T, T, 1, &st, &nrec, &len);
        base = (size_t)(nrec - 1) * len;
        ksim[i] = N * (double)fw_stats_var(&st, (int)(base + n + 2));   /* NTK block starts after f and the losses */
        fsim[i] = N * (double)fw_stats_var(&st, (int)(base + P));
        ksimse[i] = ksim[i] * sqrt(2.0 / (S - 1));
        fsimse[i] = fsim[i] * sqrt(2.0 / (S - 1));
        zmax = fmax(zmax, fmax(z_var(ksim[i], kth[i], kse[i], S), z_var(fsim[i], fth[i], fse[i], S)));
        free(mem);
        fw_fluct_result_free(&th);
    }
    svg_panel_init(&pan[0], "final NTK entry K_11(T)", "gamma0 (feature-learning strength)", "N Var K_11(T)");
    svg_panel_init(&pan[1], "final test prediction f_test(T)", "gamma0 (feature-learning strength)", "N Var f_test(T)");
    pan[0].logx = pan[1].logx = pan[0].logy = pan[1].logy = 1;
    svg_add(&pan[0], "theory", SVG_LINE, 0, ng, g, kth, NULL);
    svg_add(&pan[0], "simulation N = 256", SVG_POINTS, 1, ng, g, ksim, ksimse);
    svg_add(&pan[1], "theory", SVG_LINE, 0, ng, g, fth, NULL);
    svg_add(&pan[1], "simulation N = 256", SVG_POINTS, 1, ng, g, fsim, fsimse);
    write_svg(d, 2, "Figure 2: final-kernel and prediction variance against gamma0", pan, 2);
    snprintf(caption, sizeof caption,
             "The problem of Figure 1 (two-layer tanh, P = %d, eta = %.3f, T = %d) at feature-learning strengths "
             "gamma0 = 0.1 ... 1. Left: N times the variance over initializations of the final NTK entry on the first "
             "training point; right: of the final prediction on the first test point. Lines: fluctuation theory; "
             "points: %d seeds at N = %d. What to see: theory and simulation agree across the lazy-to-rich range; "
             "the test-prediction variance, dominated at small gamma0 by the random initial function "
             "(Var f(0) = Phi/(gamma0^2 N)), falls as feature learning grows, while the final-kernel variance "
             "changes little. Not shown: at gamma0 = 2 and this step size the theory's estimate is dominated by "
             "rare single-site samples (its replicate error exceeds the value), a limitation of the "
             "sampled influence functions noted in docs/fluct.md.",
             P, eta, T, S, N);
    v = finish_figure(d, 2, "Final NTK and test-prediction variance against gamma0", caption, "N Var K_11(T) and N Var f_test(T) vs gamma0, N = 256", zmax);
    snprintf(v->detail, sizeof v->detail, "f_test: %.3g at gamma0 = %g -> %.3g at %g (theory)", fth[0], g[0], fth[ng - 1], g[ng - 1]);
    v->pass = zmax < 4;
}

/* ---- Figure 3: the O(1/N) shift of the mean predictions and of the train loss ---------------- */
static void figure3(demo *d)
{
    const int P = 4, Q = 2, T = 10, n = P + Q, S = d->quick ? 400 : 8000;
    const int widths[2] = {64, 128};
    const int pts[2] = {0, P};
    problem pb;
    fw_fluct_result th;
    fw_fluct_desc fd;
    fw_status s;
    double eta, t[MAX_REC], b[3][MAX_REC], sim[2][3][MAX_REC], se[2][3][MAX_REC], chi_b = 0, chi_0 = 0, zmax = 0;
    svg_panel pan[3];
    char caption[1400];
    static char names[2][32];
    verdict *v;
    int nrec, len, r, k, w, i, cells = 0;
    make_problem(&pb, P, Q);
    eta = 0.5 / lambda0(&pb, FW_ACT_TANH);
    memset(&fd, 0, sizeof fd);
    fd.dmft.act = FW_ACT_TANH; fd.dmft.gamma0 = 1; fd.dmft.lr = (fw_real)eta; fd.dmft.steps = T; fd.dmft.every = 1;
    fd.dmft.sampler = FW_SAMPLER_ANTITHETIC; fd.dmft.samples = d->quick ? 8192 : 131072; fd.dmft.replicates = 8; fd.dmft.seed = 5;
    fd.width = 1; fd.bias = 1;   /* width 1: f_bias is b itself */
    if ((s = fw_fluct_run(&fd, &pb.data, &th, NULL)) != FW_OK) die("fluct bias", s);
    for (r = 0; r < th.n_records; ++r) {
        t[r] = fw_dmft_record_time(&fd.dmft, r);
        for (k = 0; k < 2; ++k) b[k][r] = th.f_bias[r * n + pts[k]];
        b[2][r] = th.train_loss_bias[r];
    }
    for (w = 0; w < 2; ++w) {
        fw_stats st;
        fw_real *mem = ensemble(&pb, FW_ACT_TANH, 1, widths[w], S, eta, T, 1, 0, &st, &nrec, &len);
        const double N = widths[w];
        for (r = 0; r < nrec; ++r) {
            for (k = 0; k < 3; ++k) {
                const int c = k < 2 ? pts[k] : n;   /* the train loss follows f in a record */
                const double ref = k < 2 ? th.f[r * n + pts[k]] : th.train_loss[r];
                const double rse = k < 2 ? th.f_se[r * n + pts[k]] : th.train_loss_se[r];
                const double vs = fw_stats_var(&st, r * len + c);
                sim[w][k][r] = N * ((double)st.mean[r * len + c] - ref);
                se[w][k][r] = N * sqrt(vs / S + rse * rse);
            }
            for (i = 0; r > 0 && i < n; ++i) {
                const double dd = N * ((double)st.mean[r * len + i] - th.f[r * n + i]), bb = th.f_bias[r * n + i];
                const double e2 = N * N * ((double)fw_stats_var(&st, r * len + i) / S + (double)th.f_se[r * n + i] * th.f_se[r * n + i]) +
                                  (double)th.f_bias_se[r * n + i] * th.f_bias_se[r * n + i];
                chi_b += (dd - bb) * (dd - bb) / e2;
                chi_0 += dd * dd / e2;
                zmax = fmax(zmax, fabs(dd - bb) / sqrt(e2));
                ++cells;
            }
        }
        free(mem);
    }
    svg_panel_init(&pan[0], "training point 1", "GD step t", "N (E f_N - f_inf)");
    svg_panel_init(&pan[1], "test point 1", "GD step t", "N (E f_N - f_inf)");
    svg_panel_init(&pan[2], "train loss", "GD step t", "N (E L_N - L_inf)");
    for (k = 0; k < 3; ++k) {
        svg_add(&pan[k], "theory b", SVG_LINE, 0, th.n_records, t, b[k], NULL);
        for (w = 0; w < 2; ++w) {
            snprintf(names[w], sizeof names[w], "simulation N = %d", widths[w]);
            svg_add(&pan[k], names[w], SVG_POINTS, 1 + w, th.n_records, t, sim[w][k], se[w][k]);
        }
    }
    write_svg(d, 3, "Figure 3: the O(1/N) shift of the mean", pan, 3);
    snprintf(caption, sizeof caption,
             "Two-layer tanh network (gamma0 = 1), P = %d training and Q = %d test points of the Figure 1 teacher, "
             "GD with eta = 0.5/lambda0 = %.3f for T = %d steps. Points: N times the difference between the mean over "
             "%d seeds of width-N networks and the infinite-width DMFT, at N = 64 and 128; error bars combine the "
             "seed error and the DMFT's own. Line: the second-order theory b = (I+J)^-1 [-E Dpsi[u] + E D2psi[Sigma_u]/2] "
             "(docs/fluct.md section 8), the same for every N. Right: the train-loss shift, mostly Var f/2. What to "
             "see: the mean of a finite network is off the infinite-width mean by b/N, and both widths collapse "
             "onto one curve when multiplied by N.",
             P, Q, eta, T, S);
    v = finish_figure(d, 3, "The O(1/N) shift of the mean predictions and the train loss", caption, "N (E f_N - f_inf) vs b, all points, N = 64, 128", zmax);
    snprintf(v->detail, sizeof v->detail, "chi2 %.0f over %d cells with b (need <= %d), %.0f without", chi_b, cells, 2 * cells, chi_0);
    v->pass = chi_b <= 2 * cells && chi_0 >= 2 * chi_b;
    fw_fluct_result_free(&th);
}

/* ---- Figure 4: online SGD, the O(1/N) slowdown --------------------------------------------- */
static void figure4(demo *d)
{
    const int D = 8, B = 4, T = d->quick ? 12 : 20, Q = 64, S = d->quick ? 200 : 2000;
    const int widths[2] = {64, 256};
    fw_real *Xb = (fw_real *)xmalloc(sizeof(fw_real) * (size_t)T * B * D), *yb = (fw_real *)xmalloc(sizeof(fw_real) * (size_t)T * B);
    fw_real Xt[64 * 8], yt[64], beta[8], f[64];
    fw_online_desc od;
    fw_online_data odata;
    fw_online_result th;
    fw_rng rng;
    fw_status s;
    double t[MAX_REC], linf[MAX_REC], lth[2][MAX_REC], lsim[2][MAX_REC], lse[2][MAX_REC], zmax = 0;
    svg_panel pan[2];
    char caption[1400];
    static char names[4][40];
    verdict *v;
    int i, k, w, r, q, step, seed;
    fw_rng_init(&rng, 2024, 0);
    fw_rng_fill_normal(&rng, beta, D, 1);
    fw_rng_fill_normal(&rng, Xb, (size_t)T * B * D, 1);
    fw_rng_fill_normal(&rng, Xt, (size_t)Q * D, 1);
    for (i = 0; i < T * B + Q; ++i) {
        const fw_real *x = i < T * B ? Xb + (size_t)i * D : Xt + (size_t)(i - T * B) * D;
        double u = 0;
        for (k = 0; k < D; ++k) u += (double)beta[k] * x[k];
        if (i < T * B) yb[i] = (fw_real)tanh(u / sqrt((double)D));
        else yt[i - T * B] = (fw_real)tanh(u / sqrt((double)D));
    }
    memset(&od, 0, sizeof od);
    od.act = FW_ACT_TANH; od.gamma0 = 1; od.lr = 1; od.steps = T; od.batch = B; od.every = 2; od.width = 1;
    od.samples = d->quick ? 4096 : 16384; od.replicates = 8; od.seed = 1;
    odata.D = D; odata.Q = Q; odata.Xb = Xb; odata.yb = yb; odata.Xt = Xt; odata.yt = yt;
    if ((s = fw_online_run(&od, &odata, &th, NULL)) != FW_OK) die("online theory", s);
    for (r = 0; r < th.n_records; ++r) {
        t[r] = fw_online_record_time(&od, r);
        linf[r] = th.test_loss[r];
        for (w = 0; w < 2; ++w) lth[w][r] = th.test_loss[r] + th.loss_shift[r] / widths[w];   /* width 1: loss_shift is c(t) */
    }
    for (w = 0; w < 2; ++w) {
        fw_net_desc nd;
        fw_net net;
        double m1[MAX_REC] = {0}, m2[MAX_REC] = {0};
        memset(&nd, 0, sizeof nd);
        nd.input_dim = D; nd.width = widths[w]; nd.act = FW_ACT_TANH; nd.gamma0 = 1; nd.max_points = Q; nd.seed = 9;
        if ((s = fw_net_create(&net, &nd, NULL)) != FW_OK) die("net", s);
        for (seed = 0; seed < S; ++seed) {
            fw_net_reinit(&net, 9, (uint64_t)seed);
            for (step = 0, r = 0; step <= T; ++step) {
                if (r < th.n_records && fw_online_record_time(&od, r) == step) {
                    double L = 0;
                    fw_net_forward(&net, Q, Xt, D, f);
                    for (q = 0; q < Q; ++q) L += ((double)yt[q] - f[q]) * ((double)yt[q] - f[q]) / (2.0 * Q);
                    m1[r] += L / S; m2[r] += L * L / S;
                    ++r;
                }
                if (step < T) {
                    fw_data bd;
                    fw_real loss;
                    memset(&bd, 0, sizeof bd);
                    bd.P = B; bd.D = D; bd.X = Xb + (size_t)step * B * D; bd.ldx = D; bd.y = yb + (size_t)step * B;
                    if ((s = fw_net_gd_step(&net, &bd, od.lr / B, &loss)) != FW_OK) die("sgd step", s);
                }
            }
        }
        fw_net_destroy(&net);
        for (r = 0; r < th.n_records; ++r) {
            const double se_sim = sqrt((m2[r] - m1[r] * m1[r]) / (S - 1));
            const double se = sqrt(se_sim * se_sim + (double)th.test_loss_se[r] * th.test_loss_se[r] +
                                   (double)th.loss_shift_se[r] * th.loss_shift_se[r] / ((double)widths[w] * widths[w]));
            lsim[w][r] = m1[r];
            lse[w][r] = se_sim;
            if (r > 0) zmax = fmax(zmax, fabs(m1[r] - lth[w][r]) / se);
        }
    }
    svg_panel_init(&pan[0], "held-out loss", "SGD step t (fresh batch of 4 each step)", "test loss");
    svg_panel_init(&pan[1], "the finite-width excess", "SGD step t", "N (E L_N - L_inf)");
    pan[0].logy = 1;
    svg_add(&pan[0], "infinite width (DMFT)", SVG_DASHED, 5, th.n_records, t, linf, NULL);
    for (w = 0; w < 2; ++w) {
        snprintf(names[w], sizeof names[w], "theory N = %d", widths[w]);
        svg_add(&pan[0], names[w], SVG_LINE, 1 + w, th.n_records, t, lth[w], NULL);
        snprintf(names[2 + w], sizeof names[2 + w], "simulation N = %d", widths[w]);
        svg_add(&pan[0], names[2 + w], SVG_POINTS, 1 + w, th.n_records, t, lsim[w], lse[w]);
    }
    {
        static double nx[2][MAX_REC], ne[2][MAX_REC];
        for (w = 0; w < 2; ++w)
            for (r = 0; r < th.n_records; ++r) {
                nx[w][r] = widths[w] * (lsim[w][r] - linf[r]);
                ne[w][r] = widths[w] * sqrt(lse[w][r] * lse[w][r] + (double)th.test_loss_se[r] * th.test_loss_se[r]);
            }
        svg_add(&pan[1], "theory c(t)", SVG_LINE, 0, th.n_records, t, th.loss_shift, NULL);
        svg_add(&pan[1], "simulation N = 64", SVG_POINTS, 1, th.n_records, t, nx[0], ne[0]);
        svg_add(&pan[1], "simulation N = 256", SVG_POINTS, 2, th.n_records, t, nx[1], ne[1]);
    }
    write_svg(d, 4, "Figure 4: online SGD and the O(1/N) slowdown", pan, 2);
    snprintf(caption, sizeof caption,
             "Online SGD: a two-layer tanh network (gamma0 = 1) learns a tanh teacher in D = %d from a fresh batch of "
             "B = %d points per step (eta = 1 on the batch loss 1/(2B) sum (y - f)^2), one fixed batch sequence; "
             "held-out loss on %d points. Left: the infinite-width loss (dashed), the theory at width N, "
             "L_inf + c(t)/N (lines), and the mean over %d seeds of width-N networks (points). Right: N times the "
             "excess loss of the finite networks against the theory's c(t), the same for every N (docs/fluct.md "
             "section 9). What to see: finite networks learn more slowly because they must also unlearn their "
             "random initial function; the excess is O(1/N) and the curves for both widths collapse onto c(t).",
             D, B, Q, S);
    v = finish_figure(d, 4, "Online learning: the O(1/N) slowdown", caption, "E L_N - L_inf vs c(t)/N, N = 64, 256, t > 0", zmax);
    snprintf(v->detail, sizeof v->detail, "c(t) %.3f at t = 0 -> %.3f at t = %d; L_inf %.4f -> %.4f", th.loss_shift[0],
             th.loss_shift[th.n_records - 1], T, linf[0], linf[th.n_records - 1]);
    v->pass = zmax < 4;
    fw_online_result_free(&th);
    free(Xb);
    free(yb);
}

/* ---- Figures 6-9: deep linear networks on random data (docs/dln.md) ---------------------- */

/* Theory (lazy closed form or fw_dln_theory) of the test loss at the records; 0 on success. */
static int dln_th(const fw_dln_desc *d, int lazy, double *te)
{
    fw_real tr[MAX_REC], t2[MAX_REC];
    const int R = fw_dln_record_count(d);
    int r;
    if (R > MAX_REC) return -1;
    if ((lazy ? fw_dln_lazy(d, tr, t2, NULL) : fw_dln_theory(d, tr, t2, NULL, NULL)) != FW_OK) {
        for (r = 0; r < R; ++r) te[r] = NAN;
        return -1;
    }
    for (r = 0; r < R; ++r) te[r] = t2[r];
    return 0;
}

/* Simulated test loss over S seeds: mean and standard error at the records; 0 on success (NaN
   when the networks blow up). */
static int dln_sim(const fw_dln_desc *d, int S, double *mean, double *se)
{
    fw_real m[2 * MAX_REC], m2[2 * MAX_REC];
    fw_stats st;
    const int R = fw_dln_record_count(d);
    int r;
    if (R > MAX_REC) return -1;
    fw_stats_init(&st, 2 * R, m, m2);
    if (fw_dln_simulate(d, 0, (uint64_t)S, &st, NULL, NULL) != FW_OK) {
        for (r = 0; r < R; ++r) mean[r] = se[r] = NAN;
        return -1;
    }
    for (r = 0; r < R; ++r) {
        mean[r] = st.mean[2 * r + 1];
        se[r] = sqrt((double)fw_stats_var(&st, 2 * r + 1) / S);
    }
    return 0;
}

static fw_dln_desc dln_base(int D, double nu, int L, double gamma0, double eta, int T, int every)
{
    fw_dln_desc d;
    memset(&d, 0, sizeof d);
    d.D = D; d.width = (int)(nu * D + 0.5); d.depth = L; d.gamma0 = (fw_real)gamma0; d.lr = (fw_real)eta;
    d.steps = T; d.every = every; d.seed = 31;
    return d;
}

/* The criterion for a point: |sim - theory| within 5% of theory (finite-size terms) plus
   4 standard errors; returns the excess in standard errors beyond the 5% (0 when within it). */
static double dln_excess(double sim, double se, double th)
{
    const double gap = fabs(sim - th) - 0.05 * fabs(th);
    if (!isfinite(sim) || !isfinite(th)) return 0;
    return gap <= 0 ? 0 : gap / (se > 0 ? se : 1e-300);
}

/* ---- Figure 5: kernel variance per layer of deep nets, at t = 0 and over training (fluct.md s.10-12) */

/* N Var / mean^2 of Phi(l)_00, Phi(l)_01 and G(l)_00, l = 1..L, over S width-N networks at
   initialization, with standard errors (of the sample variance; the means are nearly exact). */
static void kcov_sim(fw_activation act, int L, int N, int S, const fw_real *X, int n, int D, const double *mean,
                     double *rel, double *se)
{
    fw_net_desc nd;
    fw_net net;
    fw_real *phi = (fw_real *)xmalloc(sizeof(fw_real) * (size_t)(L + 1) * n * n), *g = (fw_real *)xmalloc(sizeof(fw_real) * (size_t)L * n * n);
    double *m1 = (double *)xmalloc(sizeof(double) * 3 * (size_t)L), *m2 = (double *)xmalloc(sizeof(double) * 3 * (size_t)L);
    fw_real ntk[64];
    fw_status s;
    int sd, l, k;
    memset(m1, 0, sizeof(double) * 3 * (size_t)L);
    memset(m2, 0, sizeof(double) * 3 * (size_t)L);
    memset(&nd, 0, sizeof nd);
    nd.input_dim = D; nd.width = N; nd.depth = L; nd.act = act; nd.max_points = n;
    if ((s = fw_net_create(&net, &nd, NULL)) != FW_OK) die("network", s);
    for (sd = 0; sd < S; ++sd) {
        if ((s = fw_net_reinit(&net, 11, (uint64_t)sd)) != FW_OK || (s = fw_net_kernels(&net, n, X, D, phi, g, ntk)) != FW_OK) die("kernels", s);
        for (l = 0; l < L; ++l)
            for (k = 0; k < 3; ++k) {
                const double v = k == 0 ? phi[(size_t)(l + 1) * n * n] : k == 1 ? phi[(size_t)(l + 1) * n * n + 1] : g[(size_t)l * n * n];
                m1[3 * l + k] += v; m2[3 * l + k] += v * v;
            }
    }
    fw_net_destroy(&net);
    for (k = 0; k < 3 * L; ++k) {
        const double mu = m1[k] / S, var = (m2[k] / S - mu * mu) * S / (S - 1);
        rel[k] = N * var / (mean[k] * mean[k]);
        se[k] = rel[k] * sqrt(2.0 / (S - 1));
    }
    free(phi); free(g); free(m1); free(m2);
}

/* Deep nets over training (docs/fluct.md sections 11-12): N Var / mean^2 of Phi(l)_11(t, t),
   l = 1..L, theory (fw_dlfluct_run: exact for linear nets, M sampled sites and 4 replicates
   otherwise) into th, and S width-N networks (fw_ensemble_run with kernels) into sim, se (the
   combined standard error), for t = 0..T. Returns the largest |z|. */
static double dlf_training(fw_activation act, int M, int L, int N, int S, int T, double eta, double gamma0,
                           double th[][8], double sim[][8], double se[][8])
{
    enum { P = 2, Q = 1, n = 3, D = 3 };
    fw_real X[n * D], y[P] = {(fw_real)0.8, (fw_real)-0.6}, f[(8) * n];
    fw_real *ph = (fw_real *)xmalloc(sizeof(fw_real) * (size_t)L * (T + 1) * n * n), *pv = (fw_real *)xmalloc(sizeof(fw_real) * (size_t)L * (T + 1) * n * n);
    fw_real *ps = (fw_real *)xmalloc(sizeof(fw_real) * (size_t)L * (T + 1) * n * n);
    fw_data data;
    fw_dlfluct_desc dd;
    fw_dlfluct_out o;
    fw_ensemble_desc ed;
    fw_stats st;
    fw_real *mem;
    fw_rng rng;
    fw_status s;
    double zmax = 0;
    int i, l, t, nrec = 0, len = 0;
    fw_rng_init(&rng, 17, 0);
    for (i = 0; i < n * D; ++i) X[i] = fw_rng_normal(&rng);
    memset(&data, 0, sizeof data);
    data.P = P; data.Q = Q; data.D = D; data.X = X; data.y = y;
    memset(&dd, 0, sizeof dd);
    memset(&o, 0, sizeof o);
    dd.depth = L; dd.width = N; dd.gamma0 = (fw_real)gamma0; dd.lr = (fw_real)eta; dd.steps = T;
    dd.act = act; dd.samples = M; dd.replicates = act == FW_ACT_LINEAR ? 0 : 4; dd.seed = 5;
    o.f = f; o.phi = ph; o.phi_var = pv; o.phi_var_se = ps;
    if ((s = fw_dlfluct_run(&dd, &data, &o, NULL)) != FW_OK) die("deep fluctuations over training", s);
    memset(&ed, 0, sizeof ed);
    ed.net.input_dim = D; ed.net.width = N; ed.net.depth = L; ed.net.act = act; ed.net.gamma0 = (fw_real)gamma0;
    ed.net.seed = 23; ed.lr = (fw_real)eta; ed.steps = T; ed.every = 1; ed.record_kernels = 1;
    fw_ensemble_shape(&ed, &data, &nrec, &len);
    mem = (fw_real *)xmalloc(sizeof(fw_real) * 2 * (size_t)nrec * len);
    fw_stats_init(&st, nrec * len, mem, mem + (size_t)nrec * len);
    if ((s = fw_ensemble_run(&ed, &data, 0, (uint64_t)S, &st, NULL, NULL)) != FW_OK) die("deep linear ensemble", s);
    for (l = 0; l < L; ++l)
        for (t = 0; t <= T; ++t) {
            const size_t e = ((size_t)l * (T + 1) + t) * n * n;
            const int k = t * len + n + 2 + (l + 2) * n * n;   /* Phi(l+1)_00 in record t */
            const double m = ph[e];
            th[l][t] = N * (double)pv[e] / (m * m);
            sim[l][t] = N * (double)fw_stats_var(&st, k) / (m * m);
            se[l][t] = sqrt(th[l][t] * th[l][t] * 2.0 / (S - 1) + pow(N * (double)ps[e] / (m * m), 2));
            zmax = fmax(zmax, fabs(sim[l][t] - th[l][t]) / se[l][t]);
        }
    free(ph); free(pv); free(ps); free(mem);
    return zmax;
}

/* A panel of 3 layers over npts steps: theory lines, simulation points with error bars; the
   series names (prefix "theory layer l", "simulation layer l") go to names (kept by svg_add). */
static void layer_panel(svg_panel *pan, const char *title, const char *prefix, char names[6][32], int npts,
                        double *tx, double th[][8], double sim[][8], double se[][8])
{
    int l;
    svg_panel_init(pan, title, "GD step t", "N Var Phi(l)_11 / mean^2");
    for (l = 0; l < 3; ++l) {
        snprintf(names[l], 32, "%stheory layer %d", prefix, l + 1);
        snprintf(names[3 + l], 32, "%ssimulation layer %d", prefix, l + 1);
        svg_add(pan, names[l], SVG_LINE, l, npts, tx, th[l], NULL);
        svg_add(pan, names[3 + l], SVG_POINTS, l, npts, tx, sim[l], se[l]);
    }
}

static void figure5(demo *d)
{
    enum { n = 3, D = 8, L = 4 };
    const int N = 256, S = d->quick ? 150 : 3000;
    const fw_activation acts[2] = {FW_ACT_TANH, FW_ACT_RELU};
    static const char *const qn[3] = {"Phi(l)_11", "Phi(l)_12", "G(l)_11"};
    static char names[2][6][40];
    fw_real X[n * D], kx[n * n], pv[L * n * n], pse[L * n * n], gv[L * n * n], gse[L * n * n];
    fw_real phi[(L + 1) * n * n], g[L * n * n], ntk[n * n];
    static double th[2][3][L], thse[2][3][L], sim[2][3][L], sims[2][3][L];   /* svg_add keeps pointers */
    static double x[L];
    static double tx[8], dth[3][8], dsim[3][8], dse[3][8], nth[3][8], nsim[3][8], nse[3][8];
    static char dnames[6][32], nnames[6][32];
    double mean[3 * L], rel[3 * L], se[3 * L], zmax = 0, zlin;
    double growth[2] = {0, 0}, znl;
    svg_panel pan[4];
    char caption[1600];
    fw_kcov_desc kd;
    fw_kcov_out o;
    fw_status s;
    fw_rng rng;
    verdict *v;
    int a, i, j, l, k;
    fw_rng_init(&rng, 3, 0);
    for (i = 0; i < n * D; ++i) X[i] = fw_rng_normal(&rng);
    for (i = 0; i < n; ++i)
        for (j = 0; j < n; ++j) {
            double acc = 0;
            for (k = 0; k < D; ++k) acc += (double)X[i * D + k] * X[j * D + k];
            kx[i * n + j] = (fw_real)(acc / D);
        }
    for (l = 0; l < L; ++l) x[l] = l + 1;
    for (a = 0; a < 2; ++a) {
        memset(&kd, 0, sizeof kd);
        memset(&o, 0, sizeof o);
        kd.act = acts[a]; kd.depth = L; kd.width = 1; kd.samples = d->quick ? 16384 : 131072; kd.seed = 9;
        o.phi_var = pv; o.phi_var_se = pse; o.g_var = gv; o.g_var_se = gse;
        if ((s = fw_kcov_init(&kd, n, kx, n, &o, NULL)) != FW_OK) die("kernel covariance", s);
        if ((s = fw_kernels_infinite(acts[a], L, n, kx, n, phi, g, ntk)) != FW_OK) die("kernels", s);
        for (l = 0; l < L; ++l) {
            const double m3[3] = {phi[(l + 1) * n * n], phi[(l + 1) * n * n + 1], g[l * n * n]};
            const double v3[3] = {pv[l * n * n], pv[l * n * n + 1], gv[l * n * n]}, s3[3] = {pse[l * n * n], pse[l * n * n + 1], gse[l * n * n]};
            for (k = 0; k < 3; ++k) {
                mean[3 * l + k] = m3[k];
                th[a][k][l] = v3[k] / (m3[k] * m3[k]);   /* width 1: N Var / mean^2 */
                thse[a][k][l] = s3[k] / (m3[k] * m3[k]);
            }
        }
        kcov_sim(acts[a], L, N, S, X, n, D, mean, rel, se);
        for (l = 0; l < L; ++l)
            for (k = 0; k < 3; ++k) {
                sim[a][k][l] = rel[3 * l + k]; sims[a][k][l] = se[3 * l + k];
                zmax = fmax(zmax, fabs(sim[a][k][l] - th[a][k][l]) / sqrt(sims[a][k][l] * sims[a][k][l] + thse[a][k][l] * thse[a][k][l]));
            }
        growth[a] = th[a][0][L - 1] / th[a][0][0];
        svg_panel_init(&pan[a], a == 0 ? "tanh, depth 4" : "ReLU, depth 4", "layer l", "N Var / mean^2 at t = 0");
        for (k = 0; k < 3; ++k) {
            snprintf(names[a][k], sizeof names[a][k], "theory %s", qn[k]);
            snprintf(names[a][3 + k], sizeof names[a][3 + k], "simulation %s", qn[k]);
            svg_add(&pan[a], names[a][k], SVG_LINE, k, L, x, th[a][k], NULL);
            svg_add(&pan[a], names[a][3 + k], SVG_POINTS, k, L, x, sim[a][k], sims[a][k]);
        }
    }
    zlin = dlf_training(FW_ACT_LINEAR, 0, 3, 256, d->quick ? 150 : 1000, 6, 0.1, 2, dth, dsim, dse);
    znl = dlf_training(FW_ACT_TANH, d->quick ? 400 : 3000, 3, 256, d->quick ? 150 : 1000, 4, 0.4, 2, nth, nsim, nse);
    for (i = 0; i <= 6; ++i) tx[i] = i;
    layer_panel(&pan[2], "linear, depth 3, over training", "", dnames, 7, tx, dth, dsim, dse);
    layer_panel(&pan[3], "tanh, depth 3, over training", "tanh ", nnames, 5, tx, nth, nsim, nse);
    zmax = fmax(zmax, fmax(zlin, znl));
    write_svg(d, 5, "Figure 5: kernel variance per layer of deep networks (at initialization, and over training)", pan, 4);
    snprintf(caption, sizeof caption,
             "Depth-4 networks (tanh, ReLU) on n = 3 random inputs (D = 8) at initialization. Lines: the relative variance "
             "N Var X / X^2 of the feature kernel Phi(l) (a diagonal and an off-diagonal entry) and of the gradient kernel "
             "G(l) at each layer l, from fw_kcov_init (each layer N i.i.d. single sites given its neighbours' kernels; "
             "the sampling noise propagates up through Phi and down through G; docs/fluct.md section 10). Points: %d "
             "networks of width N = %d. What to see: the feature-kernel variance builds up about linearly with depth "
             "(Phi_11 at layer 4 over layer 1: %.1fx for tanh, %.1fx for ReLU) while the gradient kernels are noisiest "
             "near the input. Right: a depth-3 linear network trained by GD (2 training points with targets 0.8, -0.6, "
             "one test point, gamma0 = 2, eta = 0.1) over 6 steps; lines: fw_dlfluct_run (exact: the DMFT's response "
             "plus the pairing of neurons through the initial weights adjacent layers share; docs/fluct.md section 11), "
             "points: %d networks of width 256. As features are learned the relative variance falls in every layer (layer 3: "
             "%.1f at t = 0, %.2f at t = 6): the kernels' signal-to-noise ratio improves. Far right: a depth-3 tanh network "
             "(same data, gamma0 = 2, eta = 0.4) over 4 steps; lines: fw_dlfluct_run with %d sampled single sites per "
             "layer (the same rule with Monte Carlo averages, per-site Jacobians and Price's theorem; docs/fluct.md "
             "section 12), points: %d networks of width 256, error bars the combined standard error. The relative "
             "variance falls in every layer as features are learned (layer 3: %.2f at t = 0, %.2f at t = 4).",
             S, N, growth[0], growth[1], d->quick ? 150 : 1000, dth[2][0], dth[2][6], d->quick ? 400 : 3000,
             d->quick ? 150 : 1000, nth[2][0], nth[2][4]);
    v = finish_figure(d, 5, "Kernel variance per layer", caption, "N Var / mean^2 per layer (t = 0; linear, tanh over training), N = 256", zmax);
    snprintf(v->detail, sizeof v->detail, "Phi_11 layer 4 / layer 1: %.1fx (tanh), %.1fx (ReLU); over training max |z| %.1f (linear L = 3), %.1f (tanh L = 3)", growth[0], growth[1], zlin, znl);
    v->pass = zmax < 4;
}

static void figure6(demo *d)
{
    const int D = d->quick ? 64 : 256, S = d->quick ? 2 : 8, T = 32, every = 4;
    const double nus[4] = {0.5, 1, 2, 4}, g0 = 0.1;
    fw_dln_desc base = dln_base(D, 1, 2, g0, 0.2, T, every);
    static double t[MAX_REC], lim[MAX_REC], th[4][MAX_REC], sim[4][MAX_REC], se[4][MAX_REC];
    static double bth[4][MAX_REC], bsim[4][MAX_REC], bse[4][MAX_REC];
    static char names[16][40];
    svg_panel pan[2];
    char caption[2400];
    double zmax = 0;
    int mono = 1;
    verdict *v;
    int k, r;
    const int R = fw_dln_record_count(&base);
    base.alpha = 1; base.noise = (fw_real)0.3;
    if (dln_th(&base, 0, lim) != 0) die("deep linear theory", FW_ERR_ARG);
    for (r = 0; r < R; ++r) t[r] = fw_dln_record_time(&base, r);
    svg_panel_init(&pan[0], "muP, alpha = 1, L = 2, gamma0 = 0.1", "GD step t", "test loss");
    pan[0].logy = 1; pan[0].legend_out = 1;
    svg_add(&pan[0], "proportional limit", SVG_DASHED, 5, R, t, lim, NULL);
    svg_panel_init(&pan[1], "balanced scaling, muP gamma0 = 1", "GD step t", "test loss");
    pan[1].logy = 1; pan[1].legend_out = 1;
    for (k = 0; k < 4; ++k) {
        fw_dln_desc dd = base;
        dd.width = (int)(nus[k] * D + 0.5);
        dd.init_term = 1;
        if (dln_th(&dd, 0, th[k]) != 0) die("deep linear theory (initial-function term)", FW_ERR_ARG);
        dln_sim(&dd, S, sim[k], se[k]);
        for (r = 0; r < R; ++r) zmax = fmax(zmax, dln_excess(sim[k][r], se[k][r], th[k][r]));
        if (k > 0 && !(th[k][R - 1] < th[k - 1][R - 1])) mono = 0;
        snprintf(names[2 * k], sizeof names[2 * k], "theory nu = %g", nus[k]);
        svg_add(&pan[0], names[2 * k], SVG_LINE, 1 + k, R, t, th[k], NULL);
        snprintf(names[2 * k + 1], sizeof names[2 * k + 1], "simulation nu = %g", nus[k]);
        svg_add(&pan[0], names[2 * k + 1], SVG_POINTS, 1 + k, R, t, sim[k], se[k]);
        /* the balanced scaling (docs/dln.md section 7): the limit itself depends on nu */
        dd.init_term = 0; dd.balanced = 1; dd.gamma0 = 1; dd.lr = (fw_real)0.1;
        if (dln_th(&dd, 0, bth[k]) != 0) die("deep linear theory (balanced)", FW_ERR_ARG);
        dln_sim(&dd, S, bsim[k], bse[k]);
        for (r = 0; r < R; ++r) zmax = fmax(zmax, dln_excess(bsim[k][r], bse[k][r], bth[k][r]));
        if (k > 0 && !(bth[k][R - 1] < bth[k - 1][R - 1])) mono = 0;
        snprintf(names[8 + 2 * k], sizeof names[8 + 2 * k], "theory nu = %g", nus[k]);
        svg_add(&pan[1], names[8 + 2 * k], SVG_LINE, 1 + k, R, t, bth[k], NULL);
        snprintf(names[9 + 2 * k], sizeof names[9 + 2 * k], "simulation nu = %g", nus[k]);
        svg_add(&pan[1], names[9 + 2 * k], SVG_POINTS, 1 + k, R, t, bsim[k], bse[k]);
    }
    write_svg(d, 6, "Figure 6: deep linear nets, width ratio nu (muP)", pan, 2);
    snprintf(caption, sizeof caption,
             "Deep linear networks (L = 2 hidden layers, muP, gamma0 = %g) trained by full-batch GD (eta = 0.2) on "
             "P = D samples of isotropic Gaussian data in D = %d dimensions with a linear teacher and label noise 0.3; "
             "test loss = population loss. Dashed: the proportional limit (docs/dln.md section 3), which under the "
             "library's step conventions (the input layer's step scaled by D) does not depend on nu. Lines: the theory "
             "with the width-N network's random initial function added (variance 1/(gamma0^2 N) per entry of the "
             "end-to-end map; section 4); points: %d seeds of networks of width N = nu D. What to see: wider is better "
             "(final test loss %.4f, %.4f, %.4f, %.4f at nu = 0.5, 1, 2, 4), and the theory says why here: the random "
             "initial function, which vanishes as N grows, not a change of the limit. Right: the balanced scaling "
             "(gamma0 scaled as 1/sqrt(D), step eta gamma0^2 N on every layer; section 7; gamma0 = 1, eta = 0.1), "
             "where the input layer's random part stays comparable to its learned part and the limit itself depends "
             "on nu (lines: fw_dln_theory with balanced = 1, no finite-size term; points: networks): wider is better "
             "in the limit (final %.4f, %.4f, %.4f, %.4f).", g0, D, S, th[0][R - 1],
             th[1][R - 1], th[2][R - 1], th[3][R - 1], bth[0][R - 1], bth[1][R - 1], bth[2][R - 1], bth[3][R - 1]);
    v = finish_figure(d, 6, "Deep linear nets on random data: wider is better (muP)", caption,
                      "test loss vs theory, nu = 0.5..4 (se beyond 5%)", zmax);
    snprintf(v->detail, sizeof v->detail, "final test loss theory %.3f (nu 0.5) -> %.3f (nu 4), sim %.3f -> %.3f; limit %.3f; "
             "balanced: theory %.3f -> %.3f, sim %.3f -> %.3f",
             th[0][R - 1], th[3][R - 1], sim[0][R - 1], sim[3][R - 1], lim[R - 1], bth[0][R - 1], bth[3][R - 1], bsim[0][R - 1], bsim[3][R - 1]);
    v->pass = zmax < 4 && mono;
}

/* The balanced-scaling half of Figure 7: final test loss (t = 32, L = 2, alpha = 1, no noise) over eta
   and nu, theory and networks; the best eta per nu of each; the largest excess beyond 5% in se on the
   stable side of each theory curve (eta up to its best: past it finite networks approach the limit
   slowly near the edge of stability, docs/dln.md section 7). */
#define F7E 6
#define F7N 5
static double figure7_balanced(demo *d, int ntk, double th[F7N][F7E], double sim[F7N][F7E], double se[F7N][F7E],
                               double bth[F7N], double bsim[F7N])
{
    static const double etas[F7E] = {0.05, 0.0707, 0.1, 0.1414, 0.2, 0.2828}, nus[F7N] = {0.5, 1, 2, 4, 8};
    const int D = d->quick ? 64 : 256, S = d->quick ? 2 : 8;
    double zmax = 0;
    int k, e;
    for (k = 0; k < F7N; ++k) {
        int bt = -1, bs = -1;
        for (e = 0; e < F7E; ++e) {
            double tt[MAX_REC], m[MAX_REC], sd[MAX_REC];
            fw_dln_desc dd = dln_base(D, nus[k], 2, 1, etas[e], 32, 32);
            dd.alpha = 1; dd.ntk = ntk; dd.balanced = 1;
            th[k][e] = dln_th(&dd, 0, tt) == 0 ? tt[1] : NAN;
            dln_sim(&dd, S, m, sd);
            sim[k][e] = m[1]; se[k][e] = sd[1];
            if (isfinite(th[k][e]) && (bt < 0 || th[k][e] < th[k][bt])) bt = e;
            if (isfinite(sim[k][e]) && (bs < 0 || sim[k][e] < sim[k][bs])) bs = e;
        }
        for (e = 0; e <= bt; ++e) zmax = fmax(zmax, dln_excess(sim[k][e], se[k][e], th[k][e]));
        bth[k] = bt >= 0 ? etas[bt] : NAN; bsim[k] = bs >= 0 ? etas[bs] : NAN;
    }
    return zmax;
}

static void figure7(demo *d)
{
    const int D = d->quick ? 64 : 256, S = d->quick ? 2 : 4, T = 16;
    const double etas[6] = {0.025, 0.05, 0.1, 0.2, 0.3, 0.4}, nus[3] = {0.5, 1, 2};
    static const double betas[F7E] = {0.05, 0.0707, 0.1, 0.1414, 0.2, 0.2828}, bnus[F7N] = {0.5, 1, 2, 4, 8};
    static double th[2][6], sim[2][3][6], se[2][3][6];
    static double bth[2][F7N][F7E], bsim[2][F7N][F7E], bse[2][F7N][F7E], best_th[2][F7N], best_sim[2][F7N];
    static char names[2][3][32], bnames[2][2 * F7N][32];
    svg_panel pan[4];
    char caption[3200], opt[2][64], bopt[2][256];
    double zmax = 0, zb;
    verdict *v;
    int p, k, e;
    for (p = 0; p < 2; ++p) {
        for (e = 0; e < 6; ++e) {
            double tt[MAX_REC], m[MAX_REC], sd[MAX_REC];
            fw_dln_desc dd = dln_base(D, 1, 2, 1, etas[e], T, T);
            dd.alpha = 1; dd.noise = (fw_real)0.3; dd.ntk = p;
            th[p][e] = dln_th(&dd, p, tt) == 0 ? tt[1] : NAN;
            for (k = 0; k < 3; ++k) {
                dd.width = (int)(nus[k] * D + 0.5);
                dln_sim(&dd, S, m, sd);
                sim[p][k][e] = m[1]; se[p][k][e] = sd[1];
                zmax = fmax(zmax, dln_excess(m[1], sd[1], th[p][e]));
            }
        }
        {   /* the best eta per nu in the simulations */
            int pos = 0;
            pos += snprintf(opt[p] + pos, sizeof opt[p] - (size_t)pos, "%s best eta:", p ? "NTK" : "muP");
            for (k = 0; k < 3 && pos < (int)sizeof opt[p]; ++k) {
                int best = 0;
                for (e = 1; e < 6; ++e)
                    if (isfinite(sim[p][k][e]) && (!isfinite(sim[p][k][best]) || sim[p][k][e] < sim[p][k][best])) best = e;
                pos += snprintf(opt[p] + pos, sizeof opt[p] - (size_t)pos, " %g", etas[best]);
            }
        }
        zb = figure7_balanced(d, p, bth[p], bsim[p], bse[p], best_th[p], best_sim[p]);
        zmax = fmax(zmax, zb);
        snprintf(bopt[p], sizeof bopt[p], "balanced %s best eta at nu = 0.5..8: theory %g %g %g %g %g, networks %g %g %g %g %g",
                 p ? "NTK" : "muP", best_th[p][0], best_th[p][1], best_th[p][2], best_th[p][3], best_th[p][4],
                 best_sim[p][0], best_sim[p][1], best_sim[p][2], best_sim[p][3], best_sim[p][4]);
    }
    svg_panel_init(&pan[0], "muP (gamma0 = 1)", "learning rate eta", "test loss at t = 16");
    svg_panel_init(&pan[1], "NTK parameterization", "learning rate eta", "test loss at t = 16");
    svg_panel_init(&pan[2], "balanced scaling, muP", "learning rate eta", "test loss at t = 32");
    svg_panel_init(&pan[3], "balanced scaling, NTK", "learning rate eta", "test loss at t = 32");
    for (p = 0; p < 2; ++p) {
        pan[p].logx = 1; pan[p].logy = 1;
        svg_add(&pan[p], p ? "theory (lazy limit)" : "theory", SVG_LINE, 0, 6, etas, th[p], NULL);
        for (k = 0; k < 3; ++k) {
            snprintf(names[p][k], sizeof names[p][k], "simulation nu = %g", nus[k]);
            svg_add(&pan[p], names[p][k], SVG_POINTS, 1 + k, 6, etas, sim[p][k], se[p][k]);
        }
        pan[2 + p].logx = 1; pan[2 + p].logy = 1; pan[2 + p].legend_out = 1;
        for (k = 0; k < F7N; ++k) {
            snprintf(bnames[p][2 * k], sizeof bnames[p][2 * k], "theory nu = %g", bnus[k]);
            svg_add(&pan[2 + p], bnames[p][2 * k], SVG_LINE, k, F7E, betas, bth[p][k], NULL);
            snprintf(bnames[p][2 * k + 1], sizeof bnames[p][2 * k + 1], "networks nu = %g", bnus[k]);
            svg_add(&pan[2 + p], bnames[p][2 * k + 1], SVG_POINTS, k, F7E, betas, bsim[p][k], bse[p][k]);
        }
    }
    write_svg(d, 7, "Figure 7: learning-rate sweeps, muP and NTK", pan, 4);
    snprintf(caption, sizeof caption,
             "Final test loss (t = 16) against the learning rate eta for deep linear networks (L = 2, alpha = 1, "
             "label noise 0.3, D = %d, %d seeds per point) of width ratio nu = 0.5, 1, 2, in muP (left) and NTK "
             "parameterization (second; the lazy limit, docs/dln.md section 2). Lines: theory; points: simulations. "
             "Under the reference step rule the limit is one curve for every nu, so the optimal eta moves with width "
             "in neither (%s; %s). Third and fourth: the balanced scaling (docs/dln.md section 7; no label noise, "
             "t = 32, nu = 0.5 .. 8, %d seeds at D = %d; lines: the limit at each nu, points: networks), where width "
             "enters the limit: muP gets better with width and its best eta settles, NTK's best eta keeps growing "
             "(%s; %s). Past each curve's best eta, at the edge of stability, finite networks approach the limit "
             "slowly and do better than it; the verdict counts the stable side.",
             D, S, opt[0], opt[1], d->quick ? 2 : 8, D, bopt[0], bopt[1]);
    v = finish_figure(d, 7, "Learning-rate sweeps in muP and NTK parameterization", caption, "final test loss vs eta, muP and NTK (se beyond 5%)", zmax);
    snprintf(v->detail, sizeof v->detail, "%s; %s; balanced best eta (networks) muP %g..%g, NTK %g -> %g", opt[0], opt[1],
             best_sim[0][1], best_sim[0][4], best_sim[1][1], best_sim[1][4]);
    v->pass = zmax < 4;
}

static void figure8(demo *d)
{
    const int D = d->quick ? 64 : 256, S = d->quick ? 2 : 4, T = 24, every = 4;
    const int depths[5] = {2, 4, 8, 16, 32}, simd[3] = {2, 8, 32};
    static double t[MAX_REC], th[5][MAX_REC], sim[3][MAX_REC], se[3][MAX_REC], lim[MAX_REC];
    static char names[8][32];
    svg_panel pan;
    char caption[1600];
    double zmax = 0, d01 = 0, d34 = 0, d4inf = 0, elim = 0;
    fw_real ltr[MAX_REC], lte[MAX_REC], lerr[MAX_REC];
    verdict *v;
    int k, r, R = 0;
    for (k = 0; k < 5; ++k) {
        fw_dln_desc dd = dln_base(D, 1, depths[k], 1, 0.1, T, every);
        dd.alpha = 2; dd.residual = 1;
        R = fw_dln_record_count(&dd);
        if (dln_th(&dd, 0, th[k]) != 0) die("deep linear theory (residual)", FW_ERR_ARG);
        if (k == 0) for (r = 0; r < R; ++r) t[r] = fw_dln_record_time(&dd, r);
    }
    {   /* L = infinity: Richardson over L = 4 .. 32 (fw_dln_deep_limit, docs/dln.md section 6) */
        fw_dln_desc dd = dln_base(D, 1, 2, 1, 0.1, T, every);
        dd.alpha = 2; dd.residual = 1;
        if (fw_dln_deep_limit(&dd, ltr, lte, NULL, lerr, NULL) != FW_OK) die("deep linear theory (infinite depth)", FW_ERR_ARG);
        for (r = 0; r < R; ++r) { lim[r] = lte[r]; elim = fmax(elim, lerr[r]); }
    }
    for (r = 0; r < R; ++r) {
        d01 = fmax(d01, fabs(th[1][r] - th[0][r])); d34 = fmax(d34, fabs(th[4][r] - th[3][r]));
        d4inf = fmax(d4inf, fabs(th[4][r] - lim[r]));
    }
    svg_panel_init(&pan, "residual, branches 1/sqrt(L), muP", "GD step t", "test loss");
    pan.logy = 1;
    for (k = 0; k < 5; ++k) {
        snprintf(names[k], sizeof names[k], "theory L = %d", depths[k]);
        svg_add(&pan, names[k], SVG_LINE, k, R, t, th[k], NULL);
    }
    svg_add(&pan, "theory L = infinity", SVG_DASHED, 7, R, t, lim, NULL);
    for (k = 0; k < 3; ++k) {
        fw_dln_desc dd = dln_base(D, 1, simd[k], 1, 0.1, T, every);
        const int ti = simd[k] == 2 ? 0 : simd[k] == 8 ? 2 : 4;
        dd.alpha = 2; dd.residual = 1;
        dln_sim(&dd, S, sim[k], se[k]);
        for (r = 0; r < R; ++r) zmax = fmax(zmax, dln_excess(sim[k][r], se[k][r], th[ti][r]));
        snprintf(names[5 + k], sizeof names[5 + k], "simulation L = %d", simd[k]);
        svg_add(&pan, names[5 + k], SVG_POINTS, ti, R, t, sim[k], se[k]);
    }
    write_svg(d, 8, "Figure 8: residual deep linear nets over depth", &pan, 1);
    snprintf(caption, sizeof caption,
             "Residual deep linear networks h(l+1) = h(l) + W(l) h(l)/sqrt(L N) (muP, gamma0 = 1, eta = 0.1) on alpha = 2, "
             "isotropic data without label noise. Lines: the proportional-limit theory at depth L = 2, 4, 8, 16, 32; "
             "points: simulations (D = %d, %d seeds) at L = 2, 8, 32. What to see: with 1/sqrt(L) branches the curves "
             "converge as L grows: the largest difference between L = 2 and 4 is %.4f, between L = 16 and 32 %.4f. "
             "Dashed: the infinite-depth limit (Richardson extrapolation of the theory over L = 4, 8, 16, 32 through "
             "the 1/L and 1/L^2 terms; error estimate %.1e); the L = 32 curve is within %.4f of it.",
             D, S, d01, d34, elim, d4inf);
    v = finish_figure(d, 8, "Residual deep linear nets approaching large depth", caption, "test loss vs theory, L = 2, 8, 32 (se beyond 5%)", zmax);
    snprintf(v->detail, sizeof v->detail, "max |L4 - L2| %.4f, max |L32 - L16| %.4f", d01, d34);
    v->pass = zmax < 4 && d34 < d01;
}

static void figure9(demo *d)
{
    const int D = d->quick ? 64 : 512, S = d->quick ? 2 : 8, T = 32, every = 4;
    const double alphas[3] = {0.5, 1, 4};
    static double t[MAX_REC], th[2][3][MAX_REC], sim[2][3][MAX_REC], se[2][3][MAX_REC];
    static char names[6][32];
    svg_panel pan[2];
    char caption[1400];
    double zmax = 0, gap[3];
    verdict *v;
    int k, m, r, R = 0;
    svg_panel_init(&pan[0], "repeated data (P = alpha D)", "GD step t", "test loss");
    svg_panel_init(&pan[1], "one-pass SGD (alpha D fresh per step)", "SGD step t", "test loss");
    for (m = 0; m < 2; ++m) { pan[m].logy = 1; pan[m].legend_out = 1; }
    for (k = 0; k < 3; ++k) {
        for (m = 0; m < 2; ++m) {   /* m = 0: repeated data (P = alpha D), 1: one-pass SGD (fresh alpha D per step) */
            fw_dln_desc dd = dln_base(D, 1, 2, 1, 0.15, T, every);
            dd.noise = (fw_real)0.3;
            if (m == 0) dd.alpha = (fw_real)alphas[k]; else dd.batch_ratio = (fw_real)alphas[k];
            R = fw_dln_record_count(&dd);
            if (dln_th(&dd, 0, th[m][k]) != 0) die("deep linear theory (SGD vs repeated)", FW_ERR_ARG);
            dln_sim(&dd, S, sim[m][k], se[m][k]);
            for (r = 0; r < R; ++r) {
                if (k == 0 && m == 0) t[r] = fw_dln_record_time(&dd, r);
                zmax = fmax(zmax, dln_excess(sim[m][k][r], se[m][k][r], th[m][k][r]));
            }
            snprintf(names[2 * k], sizeof names[2 * k], "theory alpha = %g", alphas[k]);
            svg_add(&pan[m], names[2 * k], SVG_LINE, k, R, t, th[m][k], NULL);
            snprintf(names[2 * k + 1], sizeof names[2 * k + 1], "simulation alpha = %g", alphas[k]);
            svg_add(&pan[m], names[2 * k + 1], SVG_POINTS, k, R, t, sim[m][k], se[m][k]);
        }
        gap[k] = th[0][k][R - 1] - th[1][k][R - 1];
    }
    write_svg(d, 9, "Figure 9: one-pass SGD vs repeated data", pan, 2);
    snprintf(caption, sizeof caption,
             "Deep linear networks (L = 2, muP, gamma0 = 1, eta = 0.15, label noise 0.3) trained either by full-batch GD "
             "on P = alpha D fixed samples (left) or by one-pass SGD on a fresh batch of alpha D samples per step "
             "(right), alpha = 0.5, 1, 4. Lines: theory; points: simulations (D = %d, %d seeds). What to see: reusing "
             "the data falls behind fresh data, and the gap at t = %d grows as alpha shrinks: %.3f, %.3f, %.3f at "
             "alpha = 4, 1, 0.5.", D, S, T, gap[2], gap[1], gap[0]);
    v = finish_figure(d, 9, "One-pass SGD vs repeated data", caption, "test loss vs theory, SGD and repeated (se beyond 5%)", zmax);
    snprintf(v->detail, sizeof v->detail, "final gap repeated - SGD: %.3f, %.3f, %.3f at alpha = 4, 1, 0.5", gap[2], gap[1], gap[0]);
    v->pass = zmax < 4 && gap[0] > gap[1] && gap[1] > gap[2];
}

/* The capacity/source theory's test loss at every step 0..T (malloc'd; NULL on failure); lazy: the
   closed form. */
static double *source_run(const fw_dln_desc *d, int lazy)
{
    const size_t n = (size_t)d->steps + 1;
    fw_real *tr = (fw_real *)malloc(sizeof(fw_real) * 2 * n);
    double *te = (double *)malloc(sizeof(double) * n);
    size_t k;
    int st = tr == NULL || te == NULL ? FW_ERR_NOMEM
             : lazy ? fw_dln_lazy(d, tr, tr + n, NULL) : fw_dln_theory(d, tr, tr + n, NULL, NULL);
    for (k = 0; st == FW_OK && k < n; ++k) te[k] = (double)tr[n + k];
    free(tr);
    if (st != FW_OK) { free(te); return NULL; }
    return te;
}

static void figure10(demo *d)
{
    enum { NQ = 49, NB = 3 };
    const int T = 10000, every = 200, D = d->quick ? 128 : 512, N = d->quick ? 128 : 512, S = 2;
    const double a = 1.5, betas[NB] = {0.25, 0.5, 1.5}, g0 = 4, eta = 0.005;
    static double tq[NQ], inf[2][NQ], atD[2][NQ], asym[2][NQ], slope[2][NB][NQ], sl_asym[2][NQ], ts[MAX_REC];
    static double sim[2][MAX_REC], se[2][MAX_REC], thD[2][MAX_REC];
    static char names[16][64];
    double ex[2][NB], zmax = 0, worst = 0;
    svg_panel pan[2];
    char caption[2000];
    verdict *v;
    int m, b, k, r, R = 0, nm = 0;
    for (k = 0; k < NQ; ++k) tq[k] = floor(pow((double)T, k / (NQ - 1.0)) + 0.5);   /* 1 .. T, even in ln t */
    svg_panel_init(&pan[0], "hard task (beta = 0.25): loss", "step t", "test loss");
    svg_panel_init(&pan[1], "local exponent -dln L/dln t", "step t", "local exponent");
    pan[0].logx = pan[0].logy = 1; pan[1].logx = 1;
    for (m = 0; m < 2; ++m) {   /* 0: rich (muP, gamma0 = 4), 1: lazy (its limit; networks: NTK, centered) */
        for (b = 0; b < NB; ++b) {
            fw_dln_desc dd;
            double *L, curve[NQ];
            memset(&dd, 0, sizeof dd);
            dd.D = 0; dd.depth = 1; dd.gamma0 = (fw_real)g0; dd.lr = (fw_real)eta; dd.steps = T; dd.every = 1;
            dd.spectrum = (fw_real)a; dd.source = (fw_real)betas[b];
            if ((L = source_run(&dd, m)) == NULL) die("capacity/source theory", FW_ERR_ARG);
            for (k = 0; k < NQ; ++k) {   /* the curve, and its local slope over [t 2^-1/4, t 2^1/4] */
                const int lo = (int)floor(tq[k] * 0.8409 + 0.5), hi = (int)fmin(T, floor(tq[k] * 1.1892 + 0.5));
                curve[k] = L[(int)tq[k]];
                slope[m][b][k] = hi > lo && lo > 0 ? log(L[lo] / L[hi]) / log((double)hi / lo) : NAN;
            }
            {   /* least squares of -ln L against ln t over [T/16, T], 33 points even in ln t */
                const int n = 33;
                double sx = 0, sy = 0, sxx = 0, sxy = 0;
                for (k = 0; k < n; ++k) {
                    const int t = (int)floor(T / 16.0 * pow(16.0, k / (n - 1.0)) + 0.5);
                    const double x = log((double)t), y = -log(L[t]);
                    sx += x; sy += y; sxx += x * x; sxy += x * y;
                }
                ex[m][b] = (n * sxy - sx * sy) / (n * sxx - sx * sx);
            }
            free(L);
            {
                const double want = m == 0 && betas[b] < 1 ? 2 * betas[b] / (1 + betas[b]) : betas[b];
                worst = fmax(worst, fabs(ex[m][b] - want) / want);
            }
            if (b == 0) {
                memcpy(inf[m], curve, sizeof curve);
                for (k = 0; k < NQ; ++k)   /* the asymptotic slope through the curve's last point, t >= 100 */
                    asym[m][k] = tq[k] < 100 ? NAN : curve[NQ - 1] * pow(tq[k] / T, -(m == 0 ? 2 * betas[0] / (1 + betas[0]) : betas[0]));
                dd.D = D;
                if ((L = source_run(&dd, m)) == NULL) die("capacity/source theory", FW_ERR_ARG);
                for (k = 0; k < NQ; ++k) atD[m][k] = L[(int)tq[k]];
                free(L);
                /* networks at D modes, width N: muP gamma0 = 4, or NTK (lazy); both centered */
                dd.width = N; dd.every = every; dd.centered = 1; dd.seed = 41; dd.ntk = m;
                R = fw_dln_record_count(&dd);
                if (dln_sim(&dd, S, sim[m], se[m]) != 0) die("capacity/source simulation", FW_ERR_DIVERGED);
                if (dln_th(&dd, m, thD[m]) != 0) die("capacity/source theory", FW_ERR_ARG);
                for (r = 0; r < R; ++r) {
                    ts[r] = fw_dln_record_time(&dd, r);
                    zmax = fmax(zmax, dln_excess(sim[m][r], se[m][r], thD[m][r]));
                }
            }
        }
    }
    for (b = 0; b < 2; ++b)
        for (k = 0; k < NQ; ++k) sl_asym[b][k] = 2 * betas[b] / (1 + betas[b]);
    for (m = 0; m < 2; ++m) {
        const char *rg = m ? "lazy" : "rich";
        snprintf(names[nm], 64, "%s theory, all modes", rg);
        svg_add(&pan[0], names[nm++], SVG_LINE, m, NQ, tq, inf[m], NULL);
        snprintf(names[nm], 64, "%s asymptote t^-%.2f", rg, m ? betas[0] : 2 * betas[0] / (1 + betas[0]));
        svg_add(&pan[0], names[nm++], SVG_DASHED, m, NQ, tq, asym[m], NULL);
        snprintf(names[nm], 64, "%s theory, D = %d modes", rg, D);
        svg_add(&pan[0], names[nm++], SVG_LINE, 2 + m, NQ, tq, atD[m], NULL);
        snprintf(names[nm], 64, "%s networks (D = %d, N = %d)", rg, D, N);
        svg_add(&pan[0], names[nm++], SVG_POINTS, 2 + m, R, ts, sim[m], se[m]);
    }
    for (b = 0; b < NB; ++b) {
        snprintf(names[nm], 64, "rich, beta = %g", betas[b]);
        svg_add(&pan[1], names[nm++], SVG_LINE, 4 + b, NQ, tq, slope[0][b], NULL);
        snprintf(names[nm], 64, "lazy, beta = %g", betas[b]);
        svg_add(&pan[1], names[nm++], SVG_POINTS, 4 + b, NQ, tq, slope[1][b], NULL);
    }
    for (b = 0; b < 2; ++b) {
        snprintf(names[nm], 64, "2 beta/(1 + beta) = %.2f", 2 * betas[b] / (1 + betas[b]));
        svg_add(&pan[1], names[nm++], SVG_DASHED, 4 + b, NQ, tq, sl_asym[b], NULL);
    }
    write_svg(d, 10, "Figure 10: power-law data, rich vs lazy exponents", pan, 2);
    snprintf(caption, sizeof caption,
             "A linear network with one hidden layer on power-law data in the capacity/source convention (docs/dln.md "
             "section 9): eigenvalues lambda_k = k^-1.5, teacher lambda_k beta*_k^2 = k^-(1.5 beta + 1), gradient "
             "descent on the population loss, eta = %g. Rich: muP with gamma0 = %g; lazy: the gamma0 -> 0 limit "
             "(networks: NTK parameterization). Left, beta = 0.25: the infinite-width theory over all modes (lines), "
             "its asymptotic slopes (dashed), the same theory truncated to the networks' D = %d modes, and networks of "
             "width %d on those modes (points, %d seeds, trained and scored as f - f(0)). Right: the local exponent of "
             "the all-mode theory. What to see: the rich network's exponent climbs to 2 beta/(1 + beta) on hard tasks "
             "(fits over t = %d..%d: rich %.3f, %.3f, %.3f; lazy %.3f, %.3f, %.3f for beta = 0.25, 0.5, 1.5) while the "
             "lazy one stays at beta; on the easy task (beta = 1.5) both end at beta. A finite D truncates the power "
             "law: the networks follow the D-mode theory, which learns out its %d modes.",
             eta, g0, D, N, S, T / 16, T, ex[0][0], ex[0][1], ex[0][2], ex[1][0], ex[1][1], ex[1][2], D);
    v = finish_figure(d, 10, "Power-law data: rich vs lazy exponents", caption, "networks vs D-mode theory, rich and lazy (se beyond 5%)", zmax);
    snprintf(v->detail, sizeof v->detail, "exponents rich %.3f, %.3f, %.3f, lazy %.3f, %.3f, %.3f (beta 0.25, 0.5, 1.5); worst miss of the asymptote %.1f%%",
             ex[0][0], ex[0][1], ex[0][2], ex[1][0], ex[1][1], ex[1][2], 100 * worst);
    v->pass = zmax < 4 && worst < 0.05 && ex[0][0] > ex[1][0] + 0.1;
}

/* ---- Figure 11: convolutional nets on handwritten digits: variance and bias over width ------- */
static void figure11(demo *d)
{
    cnn_study c;
    double N[CNN_WIDTHS], invN[CNN_WIDTHS], fit_v[CNN_WIDTHS], fit_b[CNN_WIDTHS], ratio, zmax, cb = 0;
    char err[512], caption[2200];
    static char names[CNN_WIDTHS + 4][48];
    svg_panel pan[2];
    verdict *v;
    int w, ref, nb = 0;
    cnn_study_defaults(&c, 1);
    if (d->quick) {   /* a preview: three widths, small ensembles, a shorter run on fewer images */
        c.nw = 3; c.P = 64; c.T = 20; c.seeds[0] = c.seeds[1] = c.seeds[2] = 6;
    }
    ref = c.nw - 1;
    if (cnn_study_run(&c, "build/data/digits.csv", err, sizeof err)) { fprintf(stderr, "demo: figure 11: %s\n", err); exit(1); }
    for (w = 0; w < c.nw; ++w) N[w] = c.widths[w];
    for (w = 0; w < c.nw; ++w) {
        fit_v[w] = c.vpart[0] * pow(N[w] / N[0], c.slope_v);
        if (w < ref && c.bias[w] > 2 * c.bias_se[w]) { cb += log(c.bias[w] / (1 / N[w] - 1 / N[ref])); ++nb; }
    }
    cb = nb > 0 ? exp(cb / nb) : 0;   /* the O(1/N) line through the resolved points (geometric mean) */
    for (w = 0; w < ref; ++w) fit_b[w] = cb * (1 / N[w] - 1 / N[ref]);
    for (w = 0; w < c.nw; ++w) invN[w] = 1 / N[w];   /* the right panel's axis: 1/N */
    ratio = c.bias[1] > 0 ? c.bias[0] / c.bias[1] : NAN;
    svg_panel_init(&pan[0], "N Var f over seeds, mean over the test images", "GD step t", "N Var f");
    for (w = 0; w < c.nw; ++w) {
        snprintf(names[w], sizeof names[w], "N = %d (%d seeds)", c.widths[w], c.seeds[w]);
        svg_add(&pan[0], names[w], SVG_POINTS, w, c.nrec, c.t, c.nvar[w], c.nvar_se[w]);
    }
    svg_panel_init(&pan[1], "variance part and bias part at t = T", "1/N", "loss or distance");
    pan[1].logx = 1; pan[1].logy = 1; pan[1].legend_out = 1;
    snprintf(names[CNN_WIDTHS], sizeof names[0], "variance part (1/2) Var f");
    svg_add(&pan[1], names[CNN_WIDTHS], SVG_POINTS, 0, c.nw, invN, c.vpart, c.vpart_se);
    snprintf(names[CNN_WIDTHS + 1], sizeof names[0], "fit: (1/N)^%.2f", -c.slope_v);
    svg_add(&pan[1], names[CNN_WIDTHS + 1], SVG_DASHED, 0, c.nw, invN, fit_v, NULL);
    snprintf(names[CNN_WIDTHS + 2], sizeof names[0], "bias: |E f_N - E f_%d|", c.widths[ref]);
    svg_add(&pan[1], names[CNN_WIDTHS + 2], SVG_POINTS, 1, ref, invN, c.bias, c.bias_se);
    if (nb > 0) {
        snprintf(names[CNN_WIDTHS + 3], sizeof names[0], "O(1/N): c (1/N - 1/%d)", c.widths[ref]);
        svg_add(&pan[1], names[CNN_WIDTHS + 3], SVG_DASHED, 1, ref, invN, fit_b, NULL);
    }
    write_svg(d, 11, "Figure 11: convolutional nets on handwritten digits, variance and bias over width", pan, 2);
    snprintf(caption, sizeof caption,
             "Convolutional nets (two 3 x 3 convolution layers with N channels, stride 1, zero padding, tanh, global "
             "average pooling, readout 1/(gamma0 N); mean-field parameterization, gamma0 = %.1f) trained by full-batch GD "
             "(eta = %.2f, %d steps) on %d handwritten digits %d vs %d (targets +1, -1; the 8 x 8 images of Debian's "
             "python3-sklearn), tested on the next %d. Left: N times the variance over seeds of the test predictions, "
             "averaged over the test images (error bars: jackknife over seeds). Right, at t = %d and against 1/N: the variance part of "
             "the test loss, (1/2) mean Var f (the mean single-network loss minus the loss of the ensemble mean), and the "
             "bias part, the RMS distance of the ensemble mean from the widest width's (corrected for the seed noise of "
             "both means; points where it exceeds twice its standard error set the O(1/N) line; where the seed noise hides it, "
             "the point is left out of the log scale). What to see: N Var f is "
             "nearly the same at every width, so the variance falls like 1/N (fitted N^%.2f +- %.2f); the ensemble mean "
             "itself moves with width (the narrow nets' predictions are smaller in magnitude), as the fluctuation paper "
             "found for CNNs on CIFAR-10: finite width changes the mean, not only the spread. These ensembles resolve the "
             "bias at the smallest widths only; build/cnn_widths --scale 4 (ninja validate) measures its 1/N law.",
             c.gamma0, c.eta, c.T, c.P, c.A, c.B, c.Q, c.T, c.slope_v, c.slope_v_se);
    zmax = fabs(c.slope_v + 1) / c.slope_v_se;
    v = finish_figure(d, 11, "Convolutional nets on handwritten digits: variance and bias over width", caption,
                      "CNN on digits: Var f ~ N^-1 (slope vs -1, in se)", zmax);
    snprintf(v->detail, sizeof v->detail, "Var slope %.2f +- %.2f (need -1 +- 0.2); bias at N = %d: %.3f +- %.3f, N = %d: %.3f +- %.3f "
             "(ratio %.2f)", c.slope_v, c.slope_v_se, c.widths[0], c.bias[0], c.bias_se[0], c.widths[1], c.bias[1], c.bias_se[1], ratio);
    v->pass = fabs(c.slope_v + 1) <= 0.2 && c.bias[0] > 2 * c.bias_se[0];
}

/* cost, quick: seconds of the full-size and of the quick figure on one core (measured), for the
   order in which the processes start (longest first) and the estimate of the time left. */
static const struct { int fig; void (*run)(demo *); const char *what; double cost, quick; } figures[] = {
    {1, figure1, "prediction variance along training", 9, 1},
    {2, figure2, "final NTK and test variance vs gamma0", 29, 3},
    {3, figure3, "the O(1/N) shift of the mean", 25, 2},
    {4, figure4, "online SGD slowdown", 51, 4},
    {5, figure5, "deep nets: kernel variance per layer, t = 0 and training", 93, 10},
    {6, figure6, "deep linear nets: width ratio", 3, 0.3},
    {7, figure7, "learning-rate sweeps, muP and NTK", 63, 1},
    {8, figure8, "residual nets over depth", 1, 0.3},
    {9, figure9, "one-pass SGD vs repeated data", 15, 0.3},
    {10, figure10, "power-law data, rich vs lazy", 19, 2},
    {11, figure11, "CNNs on digits: variance and bias over width", 320, 4},
};
#define FIGURE_COST(i) (d.quick ? figures[i].quick : figures[i].cost)
#define N_FIGURES ((int)(sizeof figures / sizeof figures[0]))

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs figure i: its report section goes to figK.part.html, its verdicts and its own time to
   figK.part.txt (one line per verdict: fig, pass, zmax, seconds, what, detail; tab-separated).
   Returns 0 on success. The same in a child process and in this one. */
static int run_figure(demo *d, int i)
{
    char name[48], file[512];
    FILE *fp;
    double t0 = wall_seconds();
    int k;
    snprintf(name, sizeof name, "fig%d.part.html", figures[i].fig);
    path_in(d, name, file, sizeof file);
    if ((d->html = fopen(file, "w")) == NULL) return 1;
    d->nv = 0;
    figures[i].run(d);
    if (fclose(d->html) != 0) return 1;
    d->html = NULL;
    snprintf(name, sizeof name, "fig%d.part.txt", figures[i].fig);
    path_in(d, name, file, sizeof file);
    if ((fp = fopen(file, "w")) == NULL) return 1;
    for (k = 0; k < d->nv; ++k)
        fprintf(fp, "%d\t%d\t%.17g\t%.3f\t%s\t%s\n", d->v[k].fig, d->v[k].pass, d->v[k].zmax, wall_seconds() - t0,
                d->v[k].what, d->v[k].detail);
    return fclose(fp) != 0;
}

/* Reads figure K's verdicts back into d->v (appending); returns its seconds, or -1. */
static double read_figure(demo *d, int fig)
{
    char name[48], file[512], line[1024];
    FILE *fp;
    double secs = -1;
    snprintf(name, sizeof name, "fig%d.part.txt", fig);
    path_in(d, name, file, sizeof file);
    if ((fp = fopen(file, "r")) == NULL) return -1;
    while (fgets(line, sizeof line, fp) != NULL && d->nv < (int)(sizeof d->v / sizeof d->v[0])) {
        verdict *v = &d->v[d->nv];
        char *f[6], *p = line;
        int k;
        line[strcspn(line, "\n")] = 0;
        for (k = 0; k < 6; ++k) { f[k] = p; p = k < 5 ? strchr(p, '\t') : NULL; if (k < 5) { if (p == NULL) break; *p++ = 0; } }
        if (k < 6) continue;
        memset(v, 0, sizeof *v);
        v->fig = atoi(f[0]); v->pass = atoi(f[1]); v->zmax = strtod(f[2], NULL); secs = strtod(f[3], NULL);
        snprintf(v->what, sizeof v->what, "%s", f[4]);
        snprintf(v->detail, sizeof v->detail, "%s", f[5]);
        d->nv++;
    }
    fclose(fp);
    remove(file);
    return secs;
}

/* Copies figure K's section into the report and removes the part. */
static int append_figure(demo *d, FILE *html, int fig)
{
    char name[48], file[512], buf[4096];
    FILE *fp;
    size_t n;
    snprintf(name, sizeof name, "fig%d.part.html", fig);
    path_in(d, name, file, sizeof file);
    if ((fp = fopen(file, "r")) == NULL) return 1;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0) fwrite(buf, 1, n, html);
    fclose(fp);
    remove(file);
    return 0;
}

/* mkdir -p: creates dir and its missing parents; 0 on success or when it exists. */
static int make_dirs(const char *dir)
{
    char p[512];
    size_t i, n = strlen(dir);
    if (n == 0 || n >= sizeof p) return -1;
    memcpy(p, dir, n + 1);
    for (i = 1; i <= n; ++i)
        if (p[i] == '/' || p[i] == '\0') {
            const char c = p[i];
            p[i] = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) return -1;
            p[i] = c;
        }
    return 0;
}

int main(int argc, char **argv)
{
    demo d;
    char file[512];
    const double t0 = wall_seconds();
    double cost_all = 0, cost_done = 0, fig_seconds = 0;
    int i, failed = 0, only = 0, jobs = 0, order[N_FIGURES], n_run = 0, running = 0, next = 0, done = 0;
    pid_t pid_of[N_FIGURES];
    FILE *html;
    memset(&d, 0, sizeof d);
    d.out = "build/demo";
    for (i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--quick") == 0) d.quick = 1;
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) d.out = argv[++i];
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc && (only = atoi(argv[++i])) >= 1) continue;
        else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc && (jobs = atoi(argv[++i])) >= 1) continue;
        else { fprintf(stderr, "usage: demo [--out DIR] [--quick] [--only K] [--jobs J]\n"); return 2; }
    }
    if (jobs == 0) { long c = sysconf(_SC_NPROCESSORS_ONLN); jobs = c >= 1 && c <= 64 ? (int)c : 1; }
    if (make_dirs(d.out) != 0) {
        fprintf(stderr, "demo: cannot create the output directory %s: %s\n", d.out, strerror(errno));
        return 1;
    }
    /* the figures to run, longest first */
    for (i = 0; i < N_FIGURES; ++i)
        if (only == 0 || figures[i].fig == only) { order[n_run++] = i; cost_all += FIGURE_COST(i); }
    for (i = 1; i < n_run; ++i) {
        int k = i, x = order[i];
        while (k > 0 && FIGURE_COST(order[k - 1]) < FIGURE_COST(x)) { order[k] = order[k - 1]; --k; }
        order[k] = x;
    }
    if (n_run == 0) { fprintf(stderr, "demo: no figure %d (figures 1..%d)\n", only, N_FIGURES); return 2; }
    if (jobs > n_run) jobs = n_run;
    printf("finwidth demo: writing %s/ (%s, %d figure%s, %d process%s)\n", d.out, d.quick ? "quick preview, reduced sizes" : "full sizes",
           n_run, n_run > 1 ? "s" : "", jobs, jobs > 1 ? "es" : "");
    fflush(stdout);
    for (i = 0; i < N_FIGURES; ++i) pid_of[i] = 0;
    while (done < n_run) {
        int fi = -1, status = 0;
        double secs;
        if (jobs == 1) {
            demo w = d;   /* the figure's own verdicts; this process keeps those read back */
            fi = order[next++];
            status = run_figure(&w, fi) == 0 ? 0 : 1;
        } else {
            pid_t pid;
            while (running < jobs && next < n_run) {
                const int k = order[next++];
                fflush(stdout);
                if ((pid = fork()) < 0) { fprintf(stderr, "demo: fork failed: %s\n", strerror(errno)); return 1; }
                if (pid == 0) _exit(run_figure(&d, k) == 0 ? 0 : 1);
                pid_of[k] = pid;
                ++running;
            }
            if ((pid = wait(&status)) < 0) { fprintf(stderr, "demo: wait failed: %s\n", strerror(errno)); return 1; }
            for (i = 0; i < N_FIGURES; ++i) if (pid_of[i] == pid) fi = i;
            if (fi < 0) continue;
            --running;
            status = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        }
        ++done;
        cost_done += FIGURE_COST(fi);
        if (status != 0) { fprintf(stderr, "demo: figure %d failed\n", figures[fi].fig); return 1; }
        secs = read_figure(&d, figures[fi].fig);
        if (secs > 0) fig_seconds += secs;
        {
            const double el = wall_seconds() - t0, left = el * (cost_all - cost_done) / cost_done;
            printf("figure %d done (%s), %.0f s; elapsed %.0f s, about %.0f s left\n", figures[fi].fig, figures[fi].what,
                   secs, el, left);
        }
        fflush(stdout);
    }
    path_in(&d, "report.html", file, sizeof file);
    if ((html = fopen(file, "w")) == NULL) {
        fprintf(stderr, "demo: cannot write %s: %s\n", file, strerror(errno));
        return 1;
    }
    fprintf(html, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>finwidth: reproduction report</title>\n"
                  "<style>body{font-family:sans-serif;max-width:1440px;margin:2em auto;padding:0 1em;color:#222}"
                  "p{max-width:60em}.figure{display:flex;flex-wrap:wrap;gap:8px}"
                  ".figure svg{flex:0 0 auto;border:1px solid #ddd}"
                  "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}</style></head><body>\n"
                  "<h1>finwidth: reproduction report%s</h1>\n<p>Every figure puts the theory (lines) next to simulated finite "
                  "networks (points with standard errors) on the same problem. Regenerate with <code>ninja demo</code>.</p>\n",
            d.quick ? " (quick preview: reduced sizes, verdicts not meaningful)" : "");
    for (i = 0; i < N_FIGURES; ++i) {
        int k, ran = 0;
        for (k = 0; k < n_run; ++k) ran |= order[k] == i;
        if (ran && append_figure(&d, html, figures[i].fig) != 0) { fprintf(stderr, "demo: figure %d left no report part\n", figures[i].fig); return 1; }
    }
    /* verdicts in figure order */
    for (i = 1; i < d.nv; ++i) {
        verdict x = d.v[i];
        int k = i;
        while (k > 0 && d.v[k - 1].fig > x.fig) { d.v[k] = d.v[k - 1]; --k; }
        d.v[k] = x;
    }
    fprintf(html, "<h2>Summary</h2><table><tr><th>figure</th><th>comparison</th><th>max |z|</th><th>detail</th><th>verdict</th></tr>\n");
    printf("\n%-6s %-56s %8s  %-7s %s\n", "figure", "comparison", "max |z|", "verdict", "detail");
    for (i = 0; i < d.nv; ++i) {
        const verdict *v = &d.v[i];
        const char *vd = d.quick ? "preview" : v->pass ? "holds" : "FAILS";
        failed += !d.quick && !v->pass;
        char z[32];
        if (d.quick) snprintf(z, sizeof z, "-");   /* preview sizes: the z-scores mean nothing */
        else snprintf(z, sizeof z, "%.2f", v->zmax);
        printf("%-6d %-56s %8s  %-7s %s\n", v->fig, v->what, z, vd, v->detail);
        fprintf(html, "<tr><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", v->fig, v->what, z, v->detail, vd);
    }
    fprintf(html, "</table>\n</body></html>\n");
    if (fclose(html) != 0) { fprintf(stderr, "demo: cannot write the report\n"); return 1; }
    printf("report: %s (%d figures, %.0f s on %d process%s; %.0f s of figure time in all, the time on one core)\n", file, n_run,
           wall_seconds() - t0, jobs, jobs > 1 ? "es" : "", fig_seconds);
    return failed > 0;
}
