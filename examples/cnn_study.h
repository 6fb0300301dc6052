/* cnn_study.h: the width study of convolutional nets on the handwritten digits, shared by the
   demo's Figure 11 and build/cnn_widths (`ninja validate` runs it with more seeds).

   Two 3 x 3 convolution layers of N channels (tanh, global average pooling, mean-field
   parameterization, gamma0 = 0.5) trained by full-batch GD (eta = 0.02, 40 steps) on P = 256
   digits 3 vs 8 (targets +1, -1), tested on the next Q = 32, at N = 8, 16, 32, 64, 128 with S_N
   seeds each. From every member's test predictions f_s(x_q, t):

   - N Var f: N times the variance over seeds, averaged over the test images (the variance part
     of the test loss is (1/2) mean_q Var f: the mean single-network loss minus the loss of the
     ensemble mean);
   - the bias part: the distance of each width's ensemble mean from the widest width's,
     sqrt(mean_q (m_N - m_ref)^2 - mean_q (Var_N / S_N + Var_ref / S_ref)) (the subtraction
     removes the seed noise of both means from the expectation);
   - standard errors by jackknife over the members (over both widths' for the bias), which keeps
     the correlation between test images (a member that trains slowly is small everywhere);
   - the fitted exponent of the variance part against N (weighted least squares in logs, every
     width), and that of the bias part against 1/N - 1/N_ref (the shape of an O(1/N) bias seen
     from the widest width) over the widths where the bias exceeds twice its standard error.

   A member's numbers depend on its seed only (net seed 11, stream s), so any split of the work
   gives the same results. */
#ifndef FW_CNN_STUDY_H
#define FW_CNN_STUDY_H

#include "digits.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CNN_WIDTHS 5
#define CNN_RECORDS 8

typedef struct cnn_study {
    /* the problem (cnn_study_defaults fills it) */
    int nw, widths[CNN_WIDTHS], seeds[CNN_WIDTHS], P, Q, T, every, A, B;
    double gamma0, eta;
    void (*progress)(void *user, int width, int done, int total);   /* may be NULL */
    void *user;
    /* results */
    int nrec;
    double t[CNN_RECORDS];
    double nvar[CNN_WIDTHS][CNN_RECORDS], nvar_se[CNN_WIDTHS][CNN_RECORDS];
    double vpart[CNN_WIDTHS], vpart_se[CNN_WIDTHS];       /* at t = T */
    double bias[CNN_WIDTHS], bias_se[CNN_WIDTHS];         /* at t = T; the widest width has none */
    double slope_v, slope_v_se, expo_b, expo_b_se;         /* expo_b NaN with fewer than 2 resolved widths */
    int n_resolved;
} cnn_study;

/* The study's problem with seeds S_N = scale x (96, 64, 24, 12, 8) (the demo's scale is 1: the
   narrow widths are cheap and their bias needs the seeds). */
static void cnn_study_defaults(cnn_study *c, int scale)
{
    static const int w[CNN_WIDTHS] = {8, 16, 32, 64, 128}, s[CNN_WIDTHS] = {96, 64, 24, 12, 8};
    int k;
    memset(c, 0, sizeof *c);
    c->nw = CNN_WIDTHS;
    for (k = 0; k < CNN_WIDTHS; ++k) { c->widths[k] = w[k]; c->seeds[k] = s[k] * scale; }
    c->P = 256; c->Q = 32; c->T = 40; c->every = 10; c->A = 3; c->B = 8;
    c->gamma0 = 0.5; c->eta = 0.02;
}

/* Weighted least squares y = a + b x; returns b, its standard error in *se. */
static double cnn_wls_slope(int n, const double *x, const double *y, const double *w, double *se)
{
    double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, det;
    int i;
    for (i = 0; i < n; ++i) { sw += w[i]; sx += w[i] * x[i]; sy += w[i] * y[i]; sxx += w[i] * x[i] * x[i]; sxy += w[i] * x[i] * y[i]; }
    det = sw * sxx - sx * sx;
    *se = det > 0 ? sqrt(sw / det) : NAN;
    return det > 0 ? (sw * sxy - sx * sy) / det : NAN;
}

/* mean_q Var_s f at record r from S members' records f[(s R + r) Q + q], member `skip` left out
   (-1: none). */
static double cnn_var(const double *f, int S, int R, int Q, int r, int skip)
{
    double acc = 0;
    int q, s;
    const int n = S - (skip >= 0);
    for (q = 0; q < Q; ++q) {
        double m = 0, v = 0;
        for (s = 0; s < S; ++s) if (s != skip) m += f[((size_t)s * R + r) * Q + q];
        m /= n;
        for (s = 0; s < S; ++s) if (s != skip) { const double e = f[((size_t)s * R + r) * Q + q] - m; v += e * e; }
        acc += v / (n - 1);
    }
    return acc / Q;
}

/* mean_q (m_a - m_b)^2 - mean_q (Var_a / S_a + Var_b / S_b) at record r (unbiased for the
   squared distance of the expectations), members skip_a of a and skip_b of b left out. */
static double cnn_dist2(const double *fa, int Sa, int skip_a, const double *fb, int Sb, int skip_b, int R, int Q, int r)
{
    double acc = 0;
    int q, s;
    const int na = Sa - (skip_a >= 0), nb = Sb - (skip_b >= 0);
    for (q = 0; q < Q; ++q) {
        double ma = 0, mb = 0, va = 0, vb = 0;
        for (s = 0; s < Sa; ++s) if (s != skip_a) ma += fa[((size_t)s * R + r) * Q + q];
        for (s = 0; s < Sb; ++s) if (s != skip_b) mb += fb[((size_t)s * R + r) * Q + q];
        ma /= na; mb /= nb;
        for (s = 0; s < Sa; ++s) if (s != skip_a) { const double e = fa[((size_t)s * R + r) * Q + q] - ma; va += e * e; }
        for (s = 0; s < Sb; ++s) if (s != skip_b) { const double e = fb[((size_t)s * R + r) * Q + q] - mb; vb += e * e; }
        acc += (ma - mb) * (ma - mb) - va / ((double)(na - 1) * na) - vb / ((double)(nb - 1) * nb);
    }
    return acc / Q;
}

/* Jackknife standard error of stat(skip) over S members (stat(-1) the estimate itself). */
#define CNN_JACKKNIFE(S, expr_of_skip, out)                                  \
    do {                                                                     \
        double m_ = 0, v_ = 0;                                               \
        int k_;                                                              \
        for (k_ = 0; k_ < (S); ++k_) { const int skip = k_; m_ += (expr_of_skip) / (S); } \
        for (k_ = 0; k_ < (S); ++k_) { const int skip = k_; const double e_ = (expr_of_skip) - m_; v_ += e_ * e_; } \
        (out) = v_ * ((S) - 1) / (S);                                        \
    } while (0)

/* Trains every member, then the statistics. Returns 0, or 1 with a sentence in err. */
static int cnn_study_run(cnn_study *c, const char *digits_path, char *err, size_t cap)
{
    const int P = c->P, Q = c->Q, ref = c->nw - 1;
    fw_real *X = (fw_real *)malloc(sizeof(fw_real) * (size_t)(P + Q) * DIGITS_PIXELS);
    fw_real *y = (fw_real *)malloc(sizeof(fw_real) * (size_t)P), *yt = (fw_real *)malloc(sizeof(fw_real) * (size_t)Q);
    double *f[CNN_WIDTHS] = {NULL, NULL, NULL, NULL, NULL}, lx[CNN_WIDTHS], ly[CNN_WIDTHS], wt[CNN_WIDTHS];
    fw_data data;
    int w, r, s, q, rc = 1, len = 0, nb = 0, total = 0, done = 0;
    if (X == NULL || y == NULL || yt == NULL) { snprintf(err, cap, "out of memory"); goto out; }
    if (c->nw < 2 || c->nw > CNN_WIDTHS) { snprintf(err, cap, "2 to %d widths", CNN_WIDTHS); goto out; }
    if (digits_load(digits_path, c->A, c->B, P, Q, X, y, yt, err, cap)) goto out;
    data.P = P; data.Q = Q; data.D = DIGITS_PIXELS; data.X = X; data.ldx = DIGITS_PIXELS; data.y = y; data.y_test = yt;
    for (w = 0; w < c->nw; ++w) total += c->seeds[w];
    for (w = 0; w < c->nw; ++w) {
        fw_ensemble_desc ed;
        fw_stats st;
        fw_real *mem;
        fw_status fs;
        const int S = c->seeds[w];
        if (S < 3) { snprintf(err, cap, "width %d: at least 3 seeds (jackknife)", c->widths[w]); goto out; }
        memset(&ed, 0, sizeof ed);
        ed.net.arch = FW_ARCH_CNN; ed.net.image_height = 8; ed.net.image_width = 8; ed.net.image_channels = 1;
        ed.net.width = c->widths[w]; ed.net.depth = 2; ed.net.act = FW_ACT_TANH; ed.net.gamma0 = (fw_real)c->gamma0;
        ed.net.seed = 11; ed.lr = (fw_real)c->eta; ed.steps = c->T; ed.every = c->every;
        if ((fs = fw_ensemble_shape(&ed, &data, &c->nrec, &len)) != FW_OK || c->nrec > CNN_RECORDS) {
            snprintf(err, cap, "ensemble shape: %s", fw_status_string(fs != FW_OK ? fs : FW_ERR_SIZE));
            goto out;
        }
        mem = (fw_real *)malloc(2 * sizeof(fw_real) * (size_t)c->nrec * len);
        f[w] = (double *)malloc(sizeof(double) * (size_t)S * c->nrec * Q);
        if (mem == NULL || f[w] == NULL) { free(mem); snprintf(err, cap, "out of memory"); goto out; }
        for (s = 0; s < S; ++s) {   /* member by member: its records are a one-member ensemble's mean */
            fw_stats_init(&st, c->nrec * len, mem, mem + (size_t)c->nrec * len);
            if ((fs = fw_ensemble_run(&ed, &data, (uint64_t)s, (uint64_t)s + 1, &st, NULL, NULL)) != FW_OK) {
                snprintf(err, cap, "CNN width %d, seed %d: %s", c->widths[w], s, fw_status_string(fs));
                free(mem);
                goto out;
            }
            for (r = 0; r < c->nrec; ++r)
                for (q = 0; q < Q; ++q) f[w][((size_t)s * c->nrec + r) * Q + q] = (double)st.mean[(size_t)r * len + P + q];
            if (c->progress != NULL) c->progress(c->user, c->widths[w], ++done, total);
        }
        free(mem);
        for (r = 0; r < c->nrec; ++r) {
            double v2;
            c->t[r] = fw_ensemble_record_time(&ed, r);
            c->nvar[w][r] = c->widths[w] * cnn_var(f[w], S, c->nrec, Q, r, -1);
            CNN_JACKKNIFE(S, c->widths[w] * cnn_var(f[w], S, c->nrec, Q, r, skip), v2);
            c->nvar_se[w][r] = sqrt(v2);
        }
        c->vpart[w] = 0.5 * c->nvar[w][c->nrec - 1] / c->widths[w];
        c->vpart_se[w] = 0.5 * c->nvar_se[w][c->nrec - 1] / c->widths[w];
    }
    for (w = 0; w < ref; ++w) {
        const int R = c->nrec, Sa = c->seeds[w], Sb = c->seeds[ref];
        const double d2 = cnn_dist2(f[w], Sa, -1, f[ref], Sb, -1, R, Q, R - 1);
        double va, vb;
        CNN_JACKKNIFE(Sa, cnn_dist2(f[w], Sa, skip, f[ref], Sb, -1, R, Q, R - 1), va);
        CNN_JACKKNIFE(Sb, cnn_dist2(f[w], Sa, -1, f[ref], Sb, skip, R, Q, R - 1), vb);
        c->bias[w] = sqrt(d2 > 0 ? d2 : 0);
        c->bias_se[w] = c->bias[w] > 0 ? sqrt(va + vb) / (2 * c->bias[w]) : sqrt(sqrt(va + vb));   /* delta method; at 0 the scale of sqrt(se(d2)) */
    }
    for (w = 0; w < c->nw; ++w) {
        lx[w] = log((double)c->widths[w]); ly[w] = log(c->vpart[w]);
        wt[w] = c->vpart[w] * c->vpart[w] / (c->vpart_se[w] * c->vpart_se[w]);
    }
    c->slope_v = cnn_wls_slope(c->nw, lx, ly, wt, &c->slope_v_se);
    for (w = 0; w < ref; ++w)
        if (c->bias[w] > 2 * c->bias_se[w]) {
            lx[nb] = log(1.0 / c->widths[w] - 1.0 / c->widths[ref]); ly[nb] = log(c->bias[w]);
            wt[nb] = c->bias[w] * c->bias[w] / (c->bias_se[w] * c->bias_se[w]);
            ++nb;
        }
    c->n_resolved = nb;
    c->expo_b = NAN; c->expo_b_se = NAN;
    if (nb >= 2) c->expo_b = cnn_wls_slope(nb, lx, ly, wt, &c->expo_b_se);
    rc = 0;
out:
    for (w = 0; w < CNN_WIDTHS; ++w) free(f[w]);
    free(X); free(y); free(yt);
    return rc;
}

#endif
