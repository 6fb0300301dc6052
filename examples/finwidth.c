/* finwidth: the command-line front end of finwidth.h.

     finwidth simulate --data TRAIN.csv [--test TEST.csv] [--depth L] [--act tanh|relu|erf|linear]
                       [--width N] [--gamma0 G] [--ntk] [--lr ETA] [--steps T] [--seeds S]
                       [--seed K] [--every k] [--per-seed FILE.csv] [--threads K]
                       [--arch mlp|cnn [--image HxW[xC]]]
     (every command with --data: --data digits [--classes A,B] [--train-size P] [--test-size Q])
     finwidth dmft     --data TRAIN.csv [--test TEST.csv] [--depth L] [--act ...] [--gamma0 G]
                       [--ntk] [--lr ETA] [--steps T] [--seed K] [--every k] [--samples M]
                       [--replicates R] [--sampler mc|antithetic|quadrature|exact] [--kernels FILE.csv]
                       [--iterate K [--damping B]] [--control-variate] [--losses FILE.csv]
     finwidth theory   --data TRAIN.csv [--test TEST.csv] [--act ...] [--width N] [--gamma0 G] [--ntk]
                       [--lr ETA] [--steps T] [--seed K] [--every k] [--samples M] [--replicates R]
                       [--sampler mc|antithetic|quadrature] [--bias] [--kernels FILE.csv]
     finwidth dln      --alpha A --nu V --depth L --gamma0 G [--ntk | --lazy] [--balanced] --lr ETA --steps T
                       [--residual B] [--batch-ratio b | --repeat] [--spectrum a,b] [--noise s]
                       [--simulate D --seeds S [--seed K] | --dim D | --deep-limit] [--every k]
     finwidth dln      --source beta --spectrum a [--width N] [--centered] ... (capacity/source convention)

   CSV: one row per point, columns x1..xD then y (test files may omit y), no header.
   Output (stdout): simulate prints "t,point,mean,var" (mean and unbiased variance of f over the
   seeds), dmft prints "t,point,mean,stderr" (the infinite-width prediction and its Monte Carlo
   standard error), theory prints "t,point,mean,var,var_se" (the infinite-width mean and the
   predicted variance over initializations at width N: the columns of simulate, then the Monte
   Carlo standard error of var, 0 where it is exact); one row per recorded step
   and point, training rows first, then test rows. dln --simulate prints "t,train_loss,test_loss,
   train_loss_sd,test_loss_sd" (the mean over seeds and its spread), the dln theory (without
   --simulate) "t,train_loss,test_loss" (with --deep-limit also train_err,test_err).
   finwidth COMMAND --help lists that command's options with their defaults. --threads K (simulate,
   compare, dmft, theory, dln --simulate) splits the work over K threads (examples/parallel).
   Errors: one line on stderr and exit status 1 (2 for usage errors). */
#define FINWIDTH_IMPLEMENTATION
#include "../finwidth.h"
#include "svgplot.h"
#include "parallel/fw_threads.h"
#include "digits.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The help: an overview (finwidth --help) and one page per command (finwidth CMD --help) listing
   every option that command takes, with its default. */
enum { CMD_SIMULATE = 1, CMD_DMFT = 2, CMD_THEORY = 4, CMD_DLN = 8, CMD_COMPARE = 16, CMD_PLOT = 32, CMD_DATA = 23 };

static const char help_overview[] =
    "usage: finwidth simulate --data TRAIN.csv [options]   train S networks, mean and variance over seeds\n"
    "       finwidth dmft --data TRAIN.csv [options]       the infinite-width prediction (DMFT)\n"
    "       finwidth theory --data TRAIN.csv [options]     the width-N mean and variance, no training\n"
    "       finwidth dln --alpha A [options]               deep linear nets on random data\n"
    "       finwidth compare --data TRAIN.csv [options]    simulate and theory side by side, with z-scores\n"
    "       finwidth plot FILE.csv -o FIG.svg [options]    draw any of these CSV outputs as an SVG figure\n"
    "       finwidth COMMAND --help                        that command's options and their defaults\n"
    "\n"
    "simulate trains S networks from independent seeds by full-batch gradient descent and prints the\n"
    "mean and variance over seeds of the predictions on every point at the recorded steps.\n"
    "dmft solves the same training at infinite width (the DMFT of Bordelon & Pehlevan 2022).\n"
    "theory predicts, without training, what simulate measures: the infinite-width mean and the\n"
    "variance over initializations of a width-N network's predictions (the finite-width\n"
    "fluctuation theory of Bordelon & Pehlevan 2023).\n"
    "dln trains or solves deep linear networks on random data in the proportional limit (Bordelon &\n"
    "Pehlevan 2025).\n"
    "compare runs simulate and theory on the same flags and prints both with z-scores; plot draws\n"
    "a CSV with a header row (any output above) with the demo's plotter.\n"
    "\n"
    "Model (mean-field / muP; docs/model.md): h1 = W0 x/sqrt(D), h(l+1) = W(l) phi(h(l))/sqrt(N),\n"
    "f = w . phi(hL)/(gamma0 N), weights N(0,1); loss 1/2 sum (y - f)^2 over the training\n"
    "points; step eta gamma0^2 N on every weight.\n"
    "CSV input: one row per point, columns x1..xD then y (test files may omit y), no header.\n"
    "Errors: one line on stderr and exit status 1 (2 for usage errors).\n";

static const char *const help_head[] = {
    /* simulate */
    "usage: finwidth simulate --data TRAIN.csv [options]\n"
    "Trains S networks of width N from independent seeds (member s: RNG stream s of --seed) by\n"
    "full-batch gradient descent. Prints t,point,mean,var: the mean and unbiased variance over the\n"
    "seeds of f at each recorded step t on every point (training rows first, then test rows).\n",
    /* dmft */
    "usage: finwidth dmft --data TRAIN.csv [options]\n"
    "Solves the same training at infinite width (the DMFT, exact for discrete GD). Prints\n"
    "t,point,mean,stderr: the prediction and its Monte Carlo standard error (from --replicates).\n",
    /* theory */
    "usage: finwidth theory --data TRAIN.csv [options]\n"
    "Predicts, without training, what simulate measures for width N: prints\n"
    "t,point,mean,var,var_se (the infinite-width mean, the variance over initializations at width\n"
    "N, and the Monte Carlo standard error of var, 0 where it is exact). Two-layer nets: any\n"
    "activation; deep nets (--depth L >= 2): exact for linear, sampled single sites for tanh and\n"
    "erf (ReLU not yet; few points and steps: (steps + 1)^2 P (P + Q) <= 1024).\n",
    /* dln */
    "usage: finwidth dln --alpha A [options]            (the proportional-limit theory)\n"
    "       finwidth dln --alpha A --simulate D [options]  (S networks at input dimension D)\n"
    "Deep linear nets on random data (docs/model.md section 4, docs/dln.md): D inputs, width\n"
    "N = nu D, P = alpha D samples (repeated data) or a fresh batch of b D samples per step.\n"
    "The theory (D, N, P -> infinity at fixed alpha, nu) prints t,train_loss,test_loss;\n"
    "--simulate prints t,train_loss,test_loss,train_loss_sd,test_loss_sd (mean and sd over seeds).\n"
    "       finwidth dln --source beta --spectrum a [options]  (capacity/source convention)\n"
    "Power-law data with eigenvalues k^-a and source exponent beta, trained on the population loss:\n"
    "the theory is the infinite-width limit over all modes (--dim inf; depth 1 at finite gamma0, any\n"
    "depth with --lazy or --ntk); --simulate D trains width --width N networks on D modes.\n",
    /* compare */
    "usage: finwidth compare --data TRAIN.csv --seeds S [options]\n"
    "Runs simulate (S networks) and theory on the same flags and prints, per recorded step and point,\n"
    "t,point,mean_sim,mean_theory,z_mean,var_sim,var_theory,var_se_theory,z_var. z_mean divides the\n"
    "gap by sqrt(var_sim/S + the theory's Monte Carlo error^2), z_var by sqrt(var_theory^2 2/(S-1) +\n"
    "var_se_theory^2); stderr gets the share of variance cells within 3 standard errors. The theory is\n"
    "leading order in 1/N: at small widths expect O(1/N) relative gaps.\n",
    /* plot */
    "usage: finwidth plot FILE.csv -o FIG.svg [options]\n"
    "Draws a CSV file with a header row (the output of simulate, dmft, theory, compare, dln or the\n"
    "files of --kernels, --losses, --per-seed) as an SVG figure: one line per column of --y and per\n"
    "value of --by, points with error bars for --points and --err.\n",
};

typedef struct help_option { int cmds; const char *text; } help_option;
static const help_option help_options[] = {
    {CMD_PLOT, "  -o FIG.svg       the figure to write (required)\n"},
    {CMD_PLOT, "  --x COLUMN       the x axis (default t, else the first column)\n"},
    {CMD_PLOT, "  --y A[,B...]     columns drawn as lines (default: mean (or the third column) when the file\n"
               "                   has a point column, else every column but x and those ending _se, _sd, _err)\n"},
    {CMD_PLOT, "  --points COLUMN  a column drawn as points (default: none)\n"},
    {CMD_PLOT, "  --err COLUMN     error bars of the points: a standard error or, for a var_sim column of\n"
               "                   compare, any column (default: none)\n"},
    {CMD_PLOT, "  --by COLUMN      one series per value of this column (default point, when there is one)\n"},
    {CMD_PLOT, "  --logy           logarithmic y axis (default linear)\n"},
    {CMD_PLOT, "  --title TEXT     the figure's title (default: the file name)\n"},
    {CMD_DATA, "  --data FILE      training CSV: x1..xD,y per row, no header; or digits: the 8 x 8 handwritten\n"
               "                   digits (--classes, --train-size, --test-size) (required)\n"},
    {CMD_DATA, "  --test FILE      test CSV: x1..xD[,y] per row (default: none)\n"},
    {CMD_DATA, "  --digits FILE    the file of --data digits: rows of 64 pixels 0..16, then the label; bash\n"
               "                   tests/fetch_digits.sh writes it from Debian's python3-sklearn (default\n"
               "                   build/data/digits.csv)\n"},
    {CMD_DATA, "  --classes A,B    --data digits: the two digits, targets +1 (A) and -1 (B); the first images\n"
               "                   of the two in file order, pixels standardised over the file (default 0,1)\n"},
    {CMD_DATA, "  --train-size P   --data digits: training images (default 256)\n"},
    {CMD_DATA, "  --test-size Q    --data digits: test images, the next Q (default 64)\n"},
    {CMD_SIMULATE, "  --arch NAME      mlp, or cnn: every layer a 3 x 3 convolution (stride 1, zero padding) with\n"
                   "                   --width channels, fan-in 9 C, global average pooling before the readout\n"
                   "                   (default mlp)\n"},
    {CMD_SIMULATE, "  --image HxW[xC]  --arch cnn: a data row is an image of H x W pixels, C channels innermost\n"
                   "                   (default 8x8x1, the digits)\n"},
    {CMD_DATA | CMD_DLN, "  --depth L        hidden layers, L >= 1 (default 1)\n"},
    {CMD_DATA, "  --act NAME       tanh, relu, erf or linear (default tanh)\n"},
    {CMD_SIMULATE | CMD_THEORY | CMD_COMPARE, "  --width N        hidden width, N >= 1 (default 256)\n"},
    {CMD_DATA | CMD_DLN, "  --gamma0 G       feature-learning strength, G > 0 (default 1)\n"},
    {CMD_SIMULATE | CMD_THEORY | CMD_COMPARE, "  --ntk            NTK parameterization: gamma0 = 1/sqrt(N), --gamma0 ignored (default off)\n"},
    {CMD_DMFT, "  --ntk            the NTK parameterization's infinite-width limit: kernel GD with the\n"
               "                   closed-form NTK (lazy; no sampling) (default off)\n"},
    {CMD_DATA | CMD_DLN, "  --lr ETA         learning rate eta > 0 (default 0.1)\n"},
    {CMD_DATA | CMD_DLN, "  --steps T        gradient steps, T >= 0 (default 100)\n"},
    {CMD_DATA | CMD_DLN, "  --every k        record every k steps, k >= 1; the last step is always recorded (default 1)\n"},
    {CMD_SIMULATE | CMD_DLN, "  --seeds S        ensemble size, S >= 1 (default 1)\n"},
    {CMD_COMPARE, "  --seeds S        ensemble size, S >= 2 (required)\n"},
    {CMD_SIMULATE | CMD_DLN, "  --seed K         base seed; member s uses RNG stream s of seed K (default 0)\n"},
    {CMD_COMPARE, "  --seed K         base seed of the networks and seed of the theory's samples (default 0)\n"},
    {CMD_DMFT | CMD_THEORY, "  --seed K         seed of the single-site samples (default 0)\n"},
    {CMD_SIMULATE | CMD_COMPARE, "  --per-seed FILE  also write every member's predictions: seed,t,point,f (default: none)\n"},
    {CMD_DLN, "  --threads K      worker threads for --simulate, 1..256: the seeds split (the same numbers)\n"
              "                   (default 1)\n"},
    {CMD_SIMULATE | CMD_DMFT | CMD_THEORY | CMD_COMPARE, "  --threads K      worker threads, 1..256: simulate splits the seeds (the same numbers),\n"
                 "                   dmft and theory the single sites (the same numbers up to the order of\n"
                 "                   the sums) (default 1)\n"},
    {CMD_DMFT | CMD_THEORY | CMD_COMPARE, "  --samples M      single-site samples in all (theory, depth >= 2: per layer), M >= 2 R\n"
                            "                   (default 8192)\n"},
    {CMD_DMFT | CMD_THEORY | CMD_COMPARE, "  --replicates R   independent replicates for the standard errors, R >= 2 (default 8)\n"},
    {CMD_DMFT, "  --sampler NAME   mc, antithetic, quadrature (depth 1, few points) or exact (linear act)\n"
               "                   (default antithetic)\n"},
    {CMD_THEORY | CMD_COMPARE, "  --sampler NAME   mc, antithetic or quadrature (depth 1, few points) (default antithetic)\n"},
    {CMD_DMFT, "  --control-variate  subtract the same samples' lazy dynamics and add the closed-form lazy\n"
               "                   result (antithetic, or quadrature at depth 1; twice the cost; 20x smaller\n"
               "                   standard errors at gamma0 0.1, 3x at 0.5 (depth 2: 8x, 2-6x); kernel GD\n"
               "                   as gamma0 -> 0)\n"
               "                   (default off)\n"},
    {CMD_DMFT, "  --kernels FILE   also write FILE (layer,t,s,i,j,Phi,Phi_se,G,G_se: two-time kernels at the\n"
               "                   recorded steps; G empty on test points) and FILE_ntk.csv (t,i,j,NTK,NTK_se)\n"
               "                   (default: none)\n"},
    {CMD_DMFT, "  --losses FILE    also write FILE: t,train_loss,train_loss_se,test_loss,test_loss_se,\n"
               "                   sharpness,sharpness_se (the NTK's top eigenvalue on the training points;\n"
               "                   eta * sharpness -> 2 is the edge of stability) (default: none)\n"},
    {CMD_DMFT, "  --iterate K      solve by the damped fixed-point iteration over whole trajectories, at most\n"
               "                   K sweeps, instead of marching (the same solution; a cross-check) (default 0)\n"},
    {CMD_DMFT, "  --damping B      iteration step in (0, 1] (default 1)\n"},
    {CMD_THEORY, "  --kernels FILE   also write FILE (layer,t,i,j,Phi,Phi_var,Phi_var_se,G,G_var,G_var_se: the\n"
                 "                   equal-time kernels at the recorded steps and their variance at width N;\n"
                 "                   G on training points, empty for depth 1) and FILE_ntk.csv\n"
                 "                   (t,i,j,NTK,NTK_var,NTK_var_se) (default: none)\n"},
    {CMD_THEORY | CMD_COMPARE, "  --bias           add the O(1/N) correction b/N to the mean (second-order fluctuations;\n"
                 "                   depth 1) (default off)\n"},
    {CMD_DLN, "  --alpha A        samples per input dimension, P = alpha D (required without --batch-ratio)\n"},
    {CMD_DLN, "  --nu V           width per input dimension, N = nu D (default 1)\n"},
    {CMD_DLN, "  --ntk            NTK parameterization (default off: muP with --gamma0)\n"},
    {CMD_DLN, "  --repeat         full-batch GD on the same P = alpha D samples (default: on unless --batch-ratio)\n"},
    {CMD_DLN, "  --batch-ratio b  one-pass SGD: a fresh batch of b D samples per step (default: off)\n"},
    {CMD_DLN, "  --residual B     residual branches scaled B/sqrt(L) (default 0: plain)\n"},
    {CMD_DLN, "  --spectrum a,b   data eigenvalues ~ k^-a, teacher power ~ k^-b (default 0,0: isotropic)\n"},
    {CMD_DLN, "  --source beta    the capacity/source convention: eigenvalues exactly k^-a (--spectrum a),\n"
              "                   teacher power lambda_k beta*_k^2 = k^-(a beta + 1), f = beta.x, step eta gamma0^2 N\n"
              "                   on every layer, trained on the population loss (docs/dln.md section 9)\n"
              "                   (default off)\n"},
    {CMD_DLN, "  --batch B        with --source: one-pass SGD on B fresh samples per step (theory: the lazy\n"
              "                   limit, --lazy or --ntk) (default: the population loss)\n"},
    {CMD_DLN, "  --width N        network width, overrides --nu (default: nu D)\n"},
    {CMD_DLN, "  --centered       with --simulate: train and score f - f(0), removing the random initial\n"
              "                   function (default off)\n"},
    {CMD_DLN, "  --noise s        label noise standard deviation (default 0)\n"},
    {CMD_DLN, "  --simulate D     train --seeds networks at input dimension D instead of the theory\n"
              "                   (default: the theory)\n"},
    {CMD_DLN, "  --dim D          data modes of a power-law spectrum in the theory; inf: all of them, with\n"
              "                   --source (default 1024; with --source inf)\n"},
    {CMD_DLN, "  --lazy           the closed form of the lazy limit gamma0 -> 0 (default off)\n"},
    {CMD_DLN, "  --layers         add columns G1..GL: each layer's backward-kernel diagonal g_l(t).g_l(t)/N\n"
              "                   (layer L: the readout |w|^2/N) (default off)\n"},
    {CMD_DLN, "  --init-term      add the random initial function of width nu --dim (muP, repeated data; the\n"
              "                   leading finite-size term) (default off)\n"},
    {CMD_DLN, "  --deep-limit     with --residual B: the L -> infinity limit, Richardson over the theory at\n"
              "                   L..8L (--depth L), columns train_err,test_err added (default off)\n"},
    {CMD_DLN, "  --balanced       the balanced scaling: f = sqrt(D) w.h/(gamma0 N), step eta gamma0^2 N on\n"
              "                   every layer, --ntk means gamma0 = 1/sqrt(nu); the limit depends on nu\n"
              "                   (docs/dln.md section 7) (default off)\n"},
    {CMD_DATA | CMD_DLN | CMD_PLOT, "  --help           this text\n"},
};

/* cmd: 0 for the overview, else one CMD_* bit. */
static void print_help(FILE *f, int cmd)
{
    size_t i;
    int c;
    if (cmd == 0) { fputs(help_overview, f); return; }
    for (c = 0; c < 6; ++c)
        if (cmd == 1 << c) fputs(help_head[c], f);
    fputs("\noptions:\n", f);
    for (i = 0; i < sizeof help_options / sizeof help_options[0]; ++i)
        if (help_options[i].cmds & cmd) fputs(help_options[i].text, f);
}

typedef struct table { int rows, cols; double *v; } table;

static int fail(const char *msg, const char *detail)
{
    fprintf(stderr, "finwidth: %s%s%s\n", msg, detail ? ": " : "", detail ? detail : "");
    return 1;
}

/* Error exit of read_csv: closes the file, frees what was read, prints one line. */
static int csv_fail(FILE *fp, table *t, const char *msg)
{
    fclose(fp);
    free(t->v);
    t->v = NULL;
    return fail(msg, NULL);
}

/* Why column `col` of line `lineno` (at p) is not a number, in the user's terms. */
static void csv_why(const char *name, int lineno, int col, const char *p, char *msg, size_t cap)
{
    if (lineno == 1 && col == 1 && (isalpha((unsigned char)*p) || *p == '"'))
        snprintf(msg, cap, "%s:1: looks like a header row; the CSV holds numbers only, remove the header", name);
    else if (*p == ';' || *p == '\t' || *p == '|')
        snprintf(msg, cap, "%s:%d: columns separated by '%s'; separate them with commas", name, lineno, *p == '\t' ? "\\t" : *p == ';' ? ";" : "|");
    else if (*p == '\r')
        snprintf(msg, cap, "%s:%d: carriage returns inside a line (CR-only line endings?); convert the file to LF line endings", name, lineno);
    else
        snprintf(msg, cap, "%s:%d: column %d is not a finite number", name, lineno, col);
}

/* Reads a CSV of numbers from fp (named name in messages) into t and closes fp. Returns 0 or
   prints one error line and returns 1. A UTF-8 byte-order mark at the start is skipped. */
static int read_csv_stream(FILE *fp, const char *name, table *t)
{
    char line[65536], msg[512];
    int lineno = 0;
    size_t cap = 0, used = 0;
    t->rows = 0; t->cols = 0; t->v = NULL;
    while (fgets(line, sizeof line, fp) != NULL) {
        char *p = line, *end;
        int cols = 0;
        ++lineno;
        if (strchr(line, '\n') == NULL && !feof(fp)) {
            if (strlen(line) < sizeof line - 1)   /* fgets went on past a NUL byte */
                snprintf(msg, sizeof msg, "%s:%d: a NUL byte at column %d: not a text file (CSV expected)", name, lineno, (int)strlen(line) + 1);
            else
                snprintf(msg, sizeof msg, "%s:%d: line longer than %d bytes", name, lineno, (int)sizeof line - 1);
            return csv_fail(fp, t, msg);
        }
        if (lineno == 1 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF) p += 3;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') ++p;
        if (*p == '\0') continue;   /* blank line */
        if (t->rows == 2147483647) return csv_fail(fp, t, "more than 2^31 - 1 rows");
        for (;;) {
            double x;
            errno = 0;
            x = strtod(p, &end);
            if (end == p || x != x || x - x != 0) {
                csv_why(name, lineno, cols + 1, p, msg, sizeof msg);
                return csv_fail(fp, t, msg);
            }
            if (used == cap) {
                double *nv;
                if (cap > ((size_t)-1) / (2 * sizeof(double))) return csv_fail(fp, t, "out of memory reading the CSV");
                cap = cap ? 2 * cap : 1024;
                nv = (double *)realloc(t->v, cap * sizeof(double));
                if (nv == NULL) return csv_fail(fp, t, "out of memory reading the CSV");
                t->v = nv;
            }
            t->v[used++] = x;
            ++cols;
            p = end;
            if ((*p == ';' || *p == '|' || *p == '\t') && p[1 + strspn(p + 1, " \t\r\n")] != '\0') {
                csv_why(name, lineno, cols + 1, p, msg, sizeof msg);   /* another separator */
                return csv_fail(fp, t, msg);
            }
            while (*p == ' ' || *p == '\t') ++p;
            if (*p == ',') { ++p; continue; }
            while (*p == ' ' || *p == '\t' || *p == '\n' || (*p == '\r' && (p[1] == '\n' || p[1] == '\0'))) ++p;
            if (*p != '\0') {
                csv_why(name, lineno, cols + 1, p, msg, sizeof msg);
                return csv_fail(fp, t, msg);
            }
            break;
        }
        if (t->cols == 0) t->cols = cols;
        else if (cols != t->cols) {
            snprintf(msg, sizeof msg, "%s:%d: ragged row: %d columns, expected %d", name, lineno, cols, t->cols);
            return csv_fail(fp, t, msg);
        }
        ++t->rows;
    }
    if (t->rows == 0) {
        snprintf(msg, sizeof msg, "%s: no data rows", name);
        return csv_fail(fp, t, msg);
    }
    fclose(fp);
    return 0;
}

/* Reads the CSV file at path into t. Returns 0 or prints one error line and returns 1. */
static int read_csv(const char *path, table *t)
{
    FILE *fp = fopen(path, "r");
    t->rows = 0; t->cols = 0; t->v = NULL;
    if (fp == NULL) {
        char msg[512];
        snprintf(msg, sizeof msg, "cannot read %s", path);
        return fail(msg, strerror(errno));
    }
    return read_csv_stream(fp, path, t);
}

static int parse_int(const char *s, int *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0 || v < -2147483647L || v > 2147483647L) return 0;
    *out = (int)v;
    return 1;
}

static int parse_real(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || v != v || v - v != 0) return 0;
    *out = v;
    return 1;
}


/* Options of the commands; `dmft` selects which set is accepted: 0 simulate, 1 dmft, 2 theory. */
typedef struct options {
    const char *train, *test, *kernels, *per_seed, *losses, *digits;
    int depth, width, steps, seeds, every, ntk, samples, replicates, dmft, iterate, bias, control_variate, threads;
    int cnn, image[3], classes[2], train_size, test_size, digits_given;   /* --arch cnn, --image HxW[xC], --data digits */
    double gamma0, lr, damping;
    long long seed;
    fw_activation act;
    fw_dmft_sampler sampler;
} options;

/* The problem read from the CSV files: X is (P+Q) x D, training rows first. */
typedef struct problem { int P, Q, D; fw_real *X, *y, *yt; } problem;

static void free_problem(problem *pb) { free(pb->X); free(pb->y); free(pb->yt); }

/* --data digits: the handwritten digits (examples/digits.h: two classes as +1, -1 targets, the
   first P images of the two in file order train, the next Q test, pixels standardised). */
static int load_digits(const options *o, problem *pb)
{
    char err[512];
    const int P = o->train_size, Q = o->test_size, D = DIGITS_PIXELS;
    memset(pb, 0, sizeof *pb);
    if ((double)P + Q > DIGITS_ROWS) {   /* before P + Q is formed in int */
        snprintf(err, sizeof err, "--train-size %d and --test-size %d: the digits file has %d images", P, Q, DIGITS_ROWS);
        return fail(err, NULL);
    }
    pb->P = P; pb->Q = Q; pb->D = D;
    pb->X = (fw_real *)malloc(sizeof(fw_real) * (size_t)(P + Q) * (size_t)D);
    pb->y = (fw_real *)malloc(sizeof(fw_real) * (size_t)P);
    pb->yt = Q > 0 ? (fw_real *)malloc(sizeof(fw_real) * (size_t)Q) : NULL;
    if (pb->X == NULL || pb->y == NULL || (Q > 0 && pb->yt == NULL)) { free_problem(pb); return fail("out of memory", NULL); }
    if (digits_load(o->digits, o->classes[0], o->classes[1], P, Q, pb->X, pb->y, pb->yt, err, sizeof err)) {
        free_problem(pb);
        return fail(err, NULL);
    }
    return 0;
}

static int load_csv_problem(const char *train_path, const char *test_path, problem *pb)
{
    table tr, te;
    char msg[512];
    int i, r, D, P, Q = 0;
    memset(pb, 0, sizeof *pb);
    if (read_csv(train_path, &tr)) return 1;
    if (tr.cols < 2) { free(tr.v); return fail("training CSV needs at least one input column and y", train_path); }
    D = tr.cols - 1; P = tr.rows;
    te.v = NULL; te.rows = 0; te.cols = 0;
    if (test_path != NULL) {
        if (read_csv(test_path, &te)) { free(tr.v); return 1; }
        if (te.cols != D && te.cols != D + 1) {
            snprintf(msg, sizeof msg, "%s has %d columns; the training data has D = %d inputs (test rows: D or D+1 columns)", test_path, te.cols, D);
            free(tr.v); free(te.v);
            return fail(msg, NULL);
        }
        Q = te.rows;
    }
    pb->P = P; pb->Q = Q; pb->D = D;
    pb->X = (fw_real *)malloc(sizeof(fw_real) * (size_t)(P + Q) * (size_t)D);
    pb->y = (fw_real *)malloc(sizeof(fw_real) * (size_t)P);
    if (Q > 0 && te.cols == D + 1) pb->yt = (fw_real *)malloc(sizeof(fw_real) * (size_t)Q);
    if (pb->X == NULL || pb->y == NULL || (Q > 0 && te.cols == D + 1 && pb->yt == NULL)) {
        free(tr.v); free(te.v); free_problem(pb);
        return fail("out of memory", NULL);
    }
    for (i = 0; i < P; ++i) {
        for (r = 0; r < D; ++r) pb->X[(size_t)i * D + r] = (fw_real)tr.v[(size_t)i * tr.cols + r];
        pb->y[i] = (fw_real)tr.v[(size_t)i * tr.cols + D];
    }
    for (i = 0; i < Q; ++i) {
        for (r = 0; r < D; ++r) pb->X[(size_t)(P + i) * D + r] = (fw_real)te.v[(size_t)i * te.cols + r];
        if (pb->yt != NULL) pb->yt[i] = (fw_real)te.v[(size_t)i * te.cols + D];
    }
    free(tr.v); free(te.v);
    return 0;
}

/* The problem of --data (a CSV file, or digits) and --test; with --arch cnn, checks that the
   inputs are images of the --image shape. */
static int load_problem(const options *o, problem *pb)
{
    char msg[256];
    memset(pb, 0, sizeof *pb);
    if (strcmp(o->train, "digits") == 0) {
        if (o->test != NULL) return fail("--data digits takes its test images from the same file (--test-size), not --test", NULL);
        if (load_digits(o, pb)) return 1;
    } else {
        if (o->digits_given) return fail("--train-size, --test-size, --classes and --digits go with --data digits", NULL);
        if (load_csv_problem(o->train, o->test, pb)) return 1;
    }
    if (o->cnn && (double)o->image[0] * o->image[1] * o->image[2] != (double)pb->D) {
        snprintf(msg, sizeof msg, "--image %dx%dx%d has %.0f values a row; the data has D = %d", o->image[0], o->image[1], o->image[2],
                 (double)o->image[0] * o->image[1] * o->image[2], pb->D);
        free_problem(pb);
        return fail(msg, NULL);
    }
    return 0;
}

/* The network of the options (its data dimension from the problem). */
static void options_net(const options *o, const problem *pb, fw_net_desc *nd)
{
    memset(nd, 0, sizeof *nd);
    nd->input_dim = pb->D; nd->width = o->width; nd->depth = o->depth; nd->act = o->act;
    nd->gamma0 = (fw_real)o->gamma0; nd->ntk = o->ntk; nd->seed = (uint64_t)o->seed;
    if (o->cnn) {
        nd->arch = FW_ARCH_CNN;
        nd->image_height = o->image[0]; nd->image_width = o->image[1]; nd->image_channels = o->image[2];
    }
}

static fw_data problem_data(const problem *pb)
{
    fw_data d;
    memset(&d, 0, sizeof d);
    d.P = pb->P; d.Q = pb->Q; d.D = pb->D; d.X = pb->X; d.ldx = pb->D; d.y = pb->y; d.y_test = pb->yt;
    return d;
}

/* "A,B": two digits 0..9. */
static int parse_pair(const char *v, int out[2])
{
    if (!(v[0] >= '0' && v[0] <= '9' && v[1] == ',' && v[2] >= '0' && v[2] <= '9' && v[3] == '\0')) return 0;
    out[0] = v[0] - '0'; out[1] = v[2] - '0';
    return 1;
}

/* "HxW" or "HxWxC", each >= 1. */
static int parse_image(const char *v, int out[3])
{
    char buf[64], *p, *q;
    int k = 0;
    if (strlen(v) >= sizeof buf) return 0;
    strcpy(buf, v);
    out[2] = 1;
    for (p = buf; k < 3; p = q + 1) {
        q = strchr(p, 'x');
        if (q != NULL) *q = '\0';
        if (!parse_int(p, &out[k]) || out[k] < 1) return 0;
        ++k;
        if (q == NULL) break;
    }
    return k >= 2 && q == NULL;
}

static int parse_sampler(const char *v, fw_dmft_sampler *s)
{
    if (strcmp(v, "mc") == 0) *s = FW_SAMPLER_MC;
    else if (strcmp(v, "antithetic") == 0) *s = FW_SAMPLER_ANTITHETIC;
    else if (strcmp(v, "quadrature") == 0) *s = FW_SAMPLER_QUADRATURE;
    else if (strcmp(v, "exact") == 0) *s = FW_SAMPLER_EXACT;
    else return 0;
    return 1;
}

/* Returns 0 to go on, 1 after --help, 2 on a usage error (message printed). */
static int parse_options(int argc, char **argv, int dmft, options *o)
{
    int i;
    memset(o, 0, sizeof *o);
    o->depth = 1; o->width = 256; o->steps = 100; o->seeds = 1; o->every = 1; o->gamma0 = 1; o->lr = 0.1;
    o->act = FW_ACT_TANH; o->samples = 8192; o->replicates = 8; o->sampler = FW_SAMPLER_ANTITHETIC; o->dmft = dmft;
    o->threads = 1; o->digits = "build/data/digits.csv"; o->classes[0] = 0; o->classes[1] = 1;
    o->train_size = 256; o->test_size = 64; o->image[0] = 8; o->image[1] = 8; o->image[2] = 1;
    for (i = 0; i < argc; ++i) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1, known = 1;
        if (strcmp(k, "--help") == 0) { print_help(stdout, dmft == 0 ? CMD_SIMULATE : dmft == 1 ? CMD_DMFT : dmft == 2 ? CMD_THEORY : CMD_COMPARE); return 1; }
        if (strcmp(k, "--ntk") == 0) { o->ntk = 1; continue; }
        if (dmft >= 2 && strcmp(k, "--bias") == 0) { o->bias = 1; continue; }
        if (dmft == 1 && strcmp(k, "--control-variate") == 0) { o->control_variate = 1; continue; }
        if (strcmp(k, "--data") == 0) { if (v) o->train = v; }
        else if (strcmp(k, "--test") == 0) { if (v) o->test = v; }
        else if (strcmp(k, "--digits") == 0) { if (v) o->digits = v; o->digits_given = 1; }
        else if (strcmp(k, "--train-size") == 0) { if (v) ok = parse_int(v, &o->train_size) && o->train_size >= 1; o->digits_given = 1; }
        else if (strcmp(k, "--test-size") == 0) { if (v) ok = parse_int(v, &o->test_size) && o->test_size >= 0; o->digits_given = 1; }
        else if (strcmp(k, "--classes") == 0) { if (v) ok = parse_pair(v, o->classes) && o->classes[0] != o->classes[1]; o->digits_given = 1; }
        else if ((!dmft) && strcmp(k, "--arch") == 0) { if (v) { ok = strcmp(v, "cnn") == 0 || strcmp(v, "mlp") == 0; o->cnn = strcmp(v, "cnn") == 0; } }
        else if ((!dmft) && strcmp(k, "--image") == 0) { if (v) ok = parse_image(v, o->image); }
        else if (strcmp(k, "--depth") == 0) { if (v) ok = parse_int(v, &o->depth) && o->depth >= 1; }
        else if (strcmp(k, "--act") == 0) { if (v) ok = fw_act_parse(v, &o->act) == FW_OK; }
        else if (strcmp(k, "--gamma0") == 0) { if (v) ok = parse_real(v, &o->gamma0) && o->gamma0 > 0; }
        else if (strcmp(k, "--lr") == 0) { if (v) ok = parse_real(v, &o->lr) && o->lr > 0; }
        else if (strcmp(k, "--steps") == 0) { if (v) ok = parse_int(v, &o->steps) && o->steps >= 0; }
        else if (strcmp(k, "--every") == 0) { if (v) ok = parse_int(v, &o->every) && o->every >= 1; }
        else if (strcmp(k, "--seed") == 0) { int s = 0; if (v) { ok = parse_int(v, &s) && s >= 0; o->seed = s; } }
        else if (dmft != 1 && strcmp(k, "--width") == 0) { if (v) ok = parse_int(v, &o->width) && o->width >= 1; }
        else if ((!dmft || dmft == 3) && strcmp(k, "--seeds") == 0) { if (v) ok = parse_int(v, &o->seeds) && o->seeds >= 1; }
        else if (dmft && strcmp(k, "--samples") == 0) { if (v) ok = parse_int(v, &o->samples) && o->samples >= 1; }
        else if (dmft && strcmp(k, "--replicates") == 0) { if (v) ok = parse_int(v, &o->replicates) && o->replicates >= 2; }
        else if (dmft && strcmp(k, "--sampler") == 0) { if (v) ok = parse_sampler(v, &o->sampler); }
        else if ((dmft == 1 || dmft == 2) && strcmp(k, "--kernels") == 0) { if (v) o->kernels = v; }
        else if (dmft == 1 && strcmp(k, "--losses") == 0) { if (v) o->losses = v; }
        else if ((!dmft || dmft == 3) && strcmp(k, "--per-seed") == 0) { if (v) o->per_seed = v; }
        else if (strcmp(k, "--threads") == 0) { if (v) ok = parse_int(v, &o->threads) && o->threads >= 1 && o->threads <= FWT_MAX; }
        else if (dmft == 1 && strcmp(k, "--iterate") == 0) { if (v) ok = parse_int(v, &o->iterate) && o->iterate >= 1; }
        else if (dmft == 1 && strcmp(k, "--damping") == 0) { if (v) ok = parse_real(v, &o->damping) && o->damping > 0 && o->damping <= 1; }
        else known = 0;
        if (!known) {
            fprintf(stderr, "finwidth: unknown option %s for %s (see --help)\n", k, dmft == 3 ? "compare" : dmft == 2 ? "theory" : dmft ? "dmft" : "simulate");
            return 2;
        }
        if (v == NULL) { fprintf(stderr, "finwidth: %s needs a value (see --help)\n", k); return 2; }
        if (!ok) {
            const char *want = strcmp(k, "--act") == 0 ? "tanh, relu, erf or linear"
                             : strcmp(k, "--arch") == 0 ? "mlp or cnn"
                             : strcmp(k, "--image") == 0 ? "HxW or HxWxC (height, width, channels >= 1)"
                             : strcmp(k, "--classes") == 0 ? "two different digits A,B in 0..9"
                             : strcmp(k, "--test-size") == 0 ? "an integer >= 0"
                             : strcmp(k, "--sampler") == 0 ? "mc, antithetic, quadrature or exact"
                             : strcmp(k, "--steps") == 0 || strcmp(k, "--seed") == 0 ? "an integer >= 0"
                             : strcmp(k, "--replicates") == 0 ? "an integer >= 2"
                             : strcmp(k, "--gamma0") == 0 || strcmp(k, "--lr") == 0 ? "a finite number > 0"
                             : strcmp(k, "--damping") == 0 ? "a number in (0, 1]"
                             : strcmp(k, "--threads") == 0 ? "an integer in 1..256"
                             : "an integer >= 1";
            fprintf(stderr, "finwidth: bad value '%s' for %s: expected %s\n", v, k, want);
            return 2;
        }
        ++i;
    }
    if (o->train == NULL) { fprintf(stderr, "finwidth: --data TRAIN.csv is required (see --help)\n"); return 2; }
    return 0;
}

/* The seed statistics of a finite but exploding run can overflow (a variance of 1e400): the rows
   before it are printed, then this error. */
static int stats_overflow(int step, double lr)
{
    char msg[256];
    snprintf(msg, sizeof msg, "the statistics over seeds overflow at step %d (the run is blowing up): learning rate %g is too large", step, lr);
    return fail(msg, NULL);
}

/* A run that blows up at step k still computed the steps before it: the largest recorded step
   below k (records fall on multiples of --every), where a rerun stops to print them, or -1. */
static int last_record_before(int k, int every)
{
    return k <= 0 ? -1 : (k - 1) / every * every;
}

static int diverged(int step, double lr)
{
    char msg[256];
    if (step <= 0)   /* nothing trained yet: the untrained network's outputs are already not finite */
        snprintf(msg, sizeof msg, "the network's outputs are not finite before any training step: the inputs are too large "
                                  "(rescale the data; the learning rate plays no part yet)");
    else
        snprintf(msg, sizeof msg, "training diverged at step %d (loss or outputs became NaN/Inf): learning rate %g is too large", step, lr);
    return fail(msg, NULL);
}

/* The command-line option behind a library field ("fw_dmft_desc.samples" -> "--samples"), so
   that messages speak the user's terms; NULL when the field has no option of its own. */
static const char *option_of(const char *where)
{
    static const char *const map[][2] = {
        {"samples", "--samples"}, {"replicates", "--replicates"}, {"sampler", "--sampler"}, {"gamma0", "--gamma0"},
        {"lr", "--lr"}, {"steps", "--steps"}, {"every", "--every"}, {"depth", "--depth"}, {"act", "--act"},
        {"iterations", "--iterate"}, {"damping", "--damping"}, {"control_variate", "--control-variate"},
        {"width", "--width"}, {"alpha", "--alpha"}, {"batch_ratio", "--batch-ratio"}, {"residual", "--residual"},
        {"noise", "--noise"}, {"spectrum", "--spectrum"}, {"task", "--spectrum"}, {"balanced", "--balanced"},
        {"init_term", "--init-term"}, {"D", "--simulate or --dim"}, {"ntk", "--ntk"}, {"bias", "--bias"},
        {"source", "--source"}, {"centered", "--centered"}, {"batch", "--batch"},
        {"kernels", "--kernels"}, {"seed", "--seed"}, {"y", "--data (the targets)"}, {"X", "--data"},
    };
    const char *dot = strrchr(where, '.');
    size_t k;
    if (dot == NULL) return NULL;
    for (k = 0; k < sizeof map / sizeof map[0]; ++k)
        if (strcmp(dot + 1, map[k][0]) == 0) return map[k][1];
    return NULL;
}

/* The library's log line, in the user's terms: the option it concerns (or "this problem" for a
   limit of the solver as a whole), then the library's sentence. */
static void log_to_stderr(void *user, fw_status s, const char *where, const char *what)
{
    char *buf = (char *)user;
    const char *opt = option_of(where);
    (void)s;
    if (opt != NULL) snprintf(buf, 256, "%s: %s", opt, what);
    else if (strncmp(where, "fw_data", 7) == 0) snprintf(buf, 256, "the data: %s", what);
    else snprintf(buf, 256, "this problem: %s", what);
}

/* ---- --threads K: one solve split over K threads (examples/parallel/fw_threads.h) ------------ */

/* The split across processes: examples/parallel/finwidth_mpi.c sets it to its MPI all-reduce
   (ranks > 1) before running the commands; in this program it stays one process. */
static fw_reduce cli_processes = {NULL, NULL, 0, 1};

typedef struct solve_job {
    fw_dmft_desc dd;           /* the DMFT, or (fluct) the two-layer theory */
    fw_fluct_desc fd;
    int fluct;
    const fw_data *data;
    fw_dmft_result dr;
    fw_fluct_result fr;
    void *ws;
    size_t bytes;
    fw_status st;
} solve_job;

static void *solve_job_run(void *p)
{
    solve_job *j = (solve_job *)p;
    j->st = j->fluct ? fw_fluct_run_ws(&j->fd, j->data, &j->fr, j->ws, j->bytes) : fw_dmft_run_ws(&j->dd, j->data, &j->dr, j->ws, j->bytes);
    return NULL;
}

/* The DMFT (fd == NULL, into *dr) or the two-layer theory (into *fr) with its single sites split
   over K threads; the result of rank 0 is returned and owns its workspace (free it with the
   result's _free). Only rank 0 logs. K == 1: the plain allocating call. */
static fw_status solve_threaded(int K, const fw_dmft_desc *dd, const fw_fluct_desc *fd, const fw_data *data,
                                fw_dmft_result *dr, fw_fluct_result *fr)
{
    fwt_team team;
    solve_job *jobs;
    fw_status st = FW_OK;
    int k;
    if (cli_processes.ranks > 1) {   /* one worker per process (threads inside one are not combined with it) */
        fw_dmft_desc d1;
        fw_fluct_desc f1;
        if (fd != NULL) { f1 = *fd; f1.dmft.reduce = cli_processes; return fw_fluct_run(&f1, data, fr, NULL); }
        d1 = *dd; d1.reduce = cli_processes;
        return fw_dmft_run(&d1, data, dr, NULL);
    }
    if (K == 1) return fd != NULL ? fw_fluct_run(fd, data, fr, NULL) : fw_dmft_run(dd, data, dr, NULL);
    jobs = (solve_job *)calloc((size_t)K, sizeof *jobs);
    if (jobs == NULL || fwt_team_init(&team, K) != 0) { free(jobs); return FW_ERR_NOMEM; }
    for (k = 0; k < K && st == FW_OK; ++k) {   /* every workspace first: no worker may fail once the team runs */
        solve_job *j = &jobs[k];
        j->fluct = fd != NULL;
        j->data = data;
        if (j->fluct) j->fd = *fd; else j->dd = *dd;
        if (j->fluct) { j->fd.dmft.reduce = fwt_reduce_of(&team, k); if (k > 0) j->fd.dmft.log.fn = NULL; }
        else { j->dd.reduce = fwt_reduce_of(&team, k); if (k > 0) j->dd.log.fn = NULL; }
        st = j->fluct ? fw_fluct_workspace_size(&j->fd, data, &j->bytes) : fw_dmft_workspace_size(&j->dd, data, &j->bytes);
        if (st == FW_OK && (j->ws = malloc(j->bytes > 0 ? j->bytes : 1)) == NULL) st = FW_ERR_NOMEM;
    }
    if (st == FW_OK) {
        fwt_run(K, solve_job_run, jobs, sizeof jobs[0], 1);
        st = jobs[0].st;
    }
    for (k = 1; k < K; ++k) free(jobs[k].ws);
    if (fd != NULL) {
        *fr = jobs[0].fr;
        if (st == FW_OK) fr->owned = jobs[0].ws;
        else { const int bad = fr->diverged_step; memset(fr, 0, sizeof *fr); fr->diverged_step = bad; free(jobs[0].ws); }
    } else {
        *dr = jobs[0].dr;
        if (st == FW_OK) dr->owned = jobs[0].ws;
        else {
            const int bad = dr->diverged_step, used = dr->iterations_used;
            const fw_real resid = dr->residual;
            memset(dr, 0, sizeof *dr);
            dr->diverged_step = bad; dr->iterations_used = used; dr->residual = resid;
            free(jobs[0].ws);
        }
    }
    fwt_team_destroy(&team);
    free(jobs);
    return st;
}

/* ---- --threads K for the ensembles: members in parallel, pushed in seed order --------------- */

typedef struct member_job {
    fw_ensemble_desc ed;
    const fw_data *data;
    int first, count, stride, len, nrec;   /* members first, first + stride, ... (count of them in the chunk) */
    fw_real *recs;                         /* chunk x nrec x len: member i's record at (i - chunk start) */
    fw_status *st;
    int *bad;
    int chunk0;
} member_job;

static void *member_job_run(void *p)
{
    member_job *j = (member_job *)p;
    const size_t one = (size_t)j->nrec * (size_t)j->len;
    fw_real *buf = (fw_real *)malloc(sizeof(fw_real) * 2 * one);
    int i;
    for (i = j->first; i < j->chunk0 + j->count; i += j->stride) {
        const int c = i - j->chunk0;
        fw_stats st1;
        j->bad[c] = -1;
        if (buf == NULL) { j->st[c] = FW_ERR_NOMEM; continue; }
        fw_stats_init(&st1, j->nrec * j->len, buf, buf + one);
        j->st[c] = fw_ensemble_run(&j->ed, j->data, (uint64_t)i, (uint64_t)i + 1, &st1, &j->bad[c], NULL);
        if (j->st[c] == FW_OK) memcpy(j->recs + (size_t)c * one, st1.mean, sizeof(fw_real) * one);
    }
    free(buf);
    return NULL;
}

/* Members first .. first + count - 1, K at a time: their records (the means of one-member
   ensembles, as fw_ensemble_run pushes them) into recs, statuses and steps of divergence. */
static int members_threaded(int K, const fw_ensemble_desc *ed, const fw_data *data, int first, int count, int nrec, int len,
                            fw_real *recs, fw_status *st, int *bad)
{
    member_job *jobs = (member_job *)calloc((size_t)K, sizeof *jobs);
    int k;
    if (jobs == NULL) return 1;
    if (cli_processes.ranks > 1) {   /* process p runs members first + p, first + p + ranks, ...; the
                                        others' slots stay 0, so summing over the processes gathers
                                        every record exactly (x + 0 = x), with statuses and steps */
        const size_t one = (size_t)nrec * (size_t)len;
        const int P = cli_processes.ranks, p = cli_processes.rank;
        double *code = (double *)calloc(2 * (size_t)count, sizeof(double));
        double *gather = (double *)malloc(sizeof(double) * (one * (size_t)count > 0 ? one * (size_t)count : 1));
        size_t e;
        int c;
        if (code == NULL || gather == NULL) { free(code); free(gather); free(jobs); return 1; }
        memset(recs, 0, sizeof(fw_real) * one * (size_t)count);
        jobs[0].ed = *ed; jobs[0].ed.net.log.fn = NULL;
        jobs[0].data = data; jobs[0].first = first + p; jobs[0].count = count; jobs[0].stride = P; jobs[0].len = len;
        jobs[0].nrec = nrec; jobs[0].recs = recs; jobs[0].st = st; jobs[0].bad = bad; jobs[0].chunk0 = first;
        member_job_run(&jobs[0]);
        for (c = p; c < count; c += P) { code[c] = (double)st[c]; code[count + c] = (double)(bad[c] + 1); }
        for (e = 0; e < one * (size_t)count; ++e) gather[e] = (double)recs[e];
        cli_processes.fn(cli_processes.user, gather, (int)(one * (size_t)count));
        cli_processes.fn(cli_processes.user, code, 2 * count);
        for (e = 0; e < one * (size_t)count; ++e) recs[e] = (fw_real)gather[e];
        for (c = 0; c < count; ++c) { st[c] = (fw_status)(int)code[c]; bad[c] = (int)code[count + c] - 1; }
        free(code); free(gather); free(jobs);
        return 0;
    }
    for (k = 0; k < K; ++k) {
        member_job *j = &jobs[k];
        j->ed = *ed; j->ed.net.log.fn = NULL;   /* the shape was checked, with its messages, before */
        j->data = data; j->first = first + k; j->count = count; j->stride = K; j->len = len; j->nrec = nrec;
        j->recs = recs; j->st = st; j->bad = bad; j->chunk0 = first;
    }
    fwt_run(K, member_job_run, jobs, sizeof jobs[0], 0);
    free(jobs);
    return 0;
}

/* The ensemble of `simulate` (and `compare`): S networks' mean and variance of f, R x n each
   (times[r] the recorded steps; free all three). Returns 0, or the exit status after a message.
   With diverged_at != NULL a divergence at step k > 0 is not yet an error: the ensemble is rerun
   to the last recorded step before k, returned, and *diverged_at = k (the caller prints the rows,
   then the error); otherwise *diverged_at stays -1. */
static int ensemble_stats(const options *o, const problem *pb, int *R, int **times, double **mean, double **var,
                          int *diverged_at)
{
    fw_ensemble_desc ed;
    fw_data data = problem_data(pb);
    fw_stats st;
    fw_status s;
    fw_real *mem;
    const int n = pb->P + pb->Q;
    int nrec, len, r, pt, bad_step = -1;
    char why[256] = "";
    *times = NULL; *mean = *var = NULL;
    memset(&ed, 0, sizeof ed);
    options_net(o, pb, &ed.net);
    ed.lr = (fw_real)o->lr; ed.steps = o->steps; ed.every = o->every;
    ed.net.log.fn = log_to_stderr; ed.net.log.user = why;
    s = fw_ensemble_shape(&ed, &data, &nrec, &len);
    if (s == FW_ERR_SIZE) {
        char msg[256];
        snprintf(msg, sizeof msg, "the network (--width %d, --depth %d, %d inputs, %d points, %d steps) has more weights or "
                                  "recorded values than can be indexed: use a smaller --width or --depth, or fewer points",
                 o->width, o->depth, pb->D, pb->P + pb->Q, o->steps);
        return fail(msg, NULL);
    }
    if (s != FW_OK) return fail(fw_status_string(s), why[0] ? why : NULL);
    mem = (fw_real *)malloc(sizeof(fw_real) * 2 * (size_t)nrec * (size_t)len);
    if (mem == NULL) return fail("out of memory", NULL);
    fw_stats_init(&st, nrec * len, mem, mem + (size_t)nrec * len);
    if (o->per_seed == NULL && o->threads == 1 && cli_processes.ranks == 1) {
        s = fw_ensemble_run(&ed, &data, 0, (uint64_t)o->seeds, &st, &bad_step, NULL);
    } else {   /* one member at a time (--threads K: K at once): its record is the mean of a one-member
                  ensemble, pushed in seed order as fw_ensemble_run would push it (the totals are
                  bitwise the same for any K) */
        const int chunk = (o->threads > cli_processes.ranks ? o->threads : cli_processes.ranks) * 8;
        const size_t one = (size_t)nrec * (size_t)len;
        FILE *fp = o->per_seed != NULL ? fopen(o->per_seed, "w") : NULL;
        fw_real *recs = (fw_real *)malloc(sizeof(fw_real) * one * (size_t)chunk);
        fw_status *mst = (fw_status *)malloc(sizeof(fw_status) * (size_t)chunk);
        int *mbad = (int *)malloc(sizeof(int) * (size_t)chunk), m0, c;
        s = (o->per_seed != NULL && fp == NULL) || recs == NULL || mst == NULL || mbad == NULL ? FW_ERR_NOMEM : FW_OK;
        if (fp != NULL) fprintf(fp, "seed,t,point,f\n");
        for (m0 = 0; s == FW_OK && m0 < o->seeds; m0 += chunk) {
            const int cnt = o->seeds - m0 < chunk ? o->seeds - m0 : chunk;
            if (members_threaded(o->threads, &ed, &data, m0, cnt, nrec, len, recs, mst, mbad) != 0) { s = FW_ERR_NOMEM; break; }
            for (c = 0; s == FW_OK && c < cnt; ++c) {   /* in seed order: the first failure is the serial run's */
                const fw_real *rec = recs + (size_t)c * one;
                if ((s = mst[c]) != FW_OK) { bad_step = mbad[c]; break; }
                s = fw_stats_push(&st, rec);
                for (r = 0; fp != NULL && s == FW_OK && r < nrec; ++r)
                    for (pt = 0; pt < n; ++pt)
                        fprintf(fp, "%d,%d,%d,%.10g\n", m0 + c, fw_ensemble_record_time(&ed, r), pt, (double)rec[(size_t)r * len + pt]);
            }
        }
        free(recs); free(mst); free(mbad);
        if (o->per_seed != NULL && (fp == NULL || fclose(fp) != 0)) { free(mem); return fail("cannot write the per-seed file", o->per_seed); }
    }
    if (s == FW_ERR_DIVERGED && diverged_at != NULL && last_record_before(bad_step, o->every) >= 0) {
        options shorter = *o;   /* every member reaches the steps before bad_step (a rerun may find an earlier one) */
        free(mem);
        shorter.steps = last_record_before(bad_step, o->every);
        *diverged_at = bad_step;
        return ensemble_stats(&shorter, pb, R, times, mean, var, diverged_at);
    }
    if (s == FW_ERR_SIZE && why[0] == 0) {   /* the workspace's byte total: beyond size_t (a 32-bit build) */
        char msg[256];
        free(mem);
        snprintf(msg, sizeof msg, "the network (--width %d, --depth %d, %d points) needs more memory than this build can "
                                  "address (%u-bit): use a smaller --width or --depth, or fewer points",
                 o->width, o->depth, pb->P + pb->Q, (unsigned)(8 * sizeof(size_t)));
        return fail(msg, NULL);
    }
    if (s != FW_OK) {
        free(mem);
        return s == FW_ERR_DIVERGED ? diverged(bad_step, o->lr) : fail(fw_status_string(s), why[0] ? why : NULL);
    }
    *times = (int *)malloc(sizeof(int) * (size_t)nrec);
    *mean = (double *)malloc(sizeof(double) * (size_t)nrec * n);
    *var = (double *)malloc(sizeof(double) * (size_t)nrec * n);
    if (*times == NULL || *mean == NULL || *var == NULL) {
        free(mem); free(*times); free(*mean); free(*var);
        *times = NULL; *mean = *var = NULL;
        return fail("out of memory", NULL);
    }
    for (r = 0; r < nrec; ++r) {
        (*times)[r] = fw_ensemble_record_time(&ed, r);
        for (pt = 0; pt < n; ++pt) {
            (*mean)[(size_t)r * n + pt] = (double)st.mean[(size_t)r * len + pt];
            (*var)[(size_t)r * n + pt] = (double)fw_stats_var(&st, r * len + pt);
        }
    }
    free(mem);
    *R = nrec;
    return 0;
}

/* The first record with a non-finite mean or variance (the statistics overflowed), or -1. */
static int first_nonfinite(int R, int n, const double *a, const double *b)
{
    int r, pt;
    for (r = 0; r < R; ++r)
        for (pt = 0; pt < n; ++pt)
            if (!isfinite(a[(size_t)r * n + pt]) || !isfinite(b[(size_t)r * n + pt])) return r;
    return -1;
}

static int simulate(int argc, char **argv)
{
    options o;
    problem pb;
    double *mean, *var;
    int *times, R = 0, r, pt, rc, n, bad, diverged_at = -1;
    if ((rc = parse_options(argc, argv, 0, &o)) != 0) return rc == 1 ? 0 : rc;
    if (load_problem(&o, &pb)) return 1;
    n = pb.P + pb.Q;
    rc = ensemble_stats(&o, &pb, &R, &times, &mean, &var, &diverged_at);
    free_problem(&pb);
    if (rc != 0) return rc;
    bad = first_nonfinite(R, n, mean, var);
    printf("t,point,mean,var\n");
    for (r = 0; r < (bad < 0 ? R : bad); ++r)
        for (pt = 0; pt < n; ++pt)
            printf("%d,%d,%.10g,%.10g\n", times[r], pt, mean[(size_t)r * n + pt], var[(size_t)r * n + pt]);
    fflush(stdout);
    if (bad >= 0) rc = stats_overflow(times[bad], o.lr);
    else if (diverged_at >= 0) rc = diverged(diverged_at, o.lr);
    free(times); free(mean); free(var);
    return rc;
}

/* FILE.csv -> FILE_ntk.csv (or FILE_ntk.csv appended when FILE has no .csv ending). */
static void ntk_path(const char *kernels, char *out, size_t cap)
{
    size_t n = strlen(kernels);
    if (n >= 4 && strcmp(kernels + n - 4, ".csv") == 0) snprintf(out, cap, "%.*s_ntk.csv", (int)(n - 4), kernels);
    else snprintf(out, cap, "%s_ntk.csv", kernels);
}

static int write_kernels(const options *o, const fw_dmft_desc *d, const fw_dmft_result *res)
{
    const int R = res->n_records, n = res->n_points, P = res->P;
    char path[4096];
    FILE *fp;
    int l, a, b, i, j;
    if ((fp = fopen(o->kernels, "w")) == NULL) return fail("cannot write the kernels file", o->kernels);
    fprintf(fp, "layer,t,s,i,j,Phi,Phi_se,G,G_se\n");
    for (l = 0; l < res->depth; ++l)
        for (a = 0; a < R; ++a)
            for (b = 0; b < R; ++b)
                for (i = 0; i < n; ++i)
                    for (j = 0; j < n; ++j) {
                        size_t e = (((size_t)l * R + a) * R + b) * n * n + (size_t)i * n + j;
                        fprintf(fp, "%d,%d,%d,%d,%d,%.10g,%.10g", l + 1, fw_dmft_record_time(d, a), fw_dmft_record_time(d, b),
                                i, j, (double)res->phi[e], (double)res->phi_se[e]);
                        if (i < P && j < P) {
                            size_t eg = (((size_t)l * R + a) * R + b) * P * P + (size_t)i * P + j;
                            fprintf(fp, ",%.10g,%.10g\n", (double)res->g[eg], (double)res->g_se[eg]);
                        } else {
                            fprintf(fp, ",,\n");
                        }
                    }
    if (fclose(fp) != 0) return fail("cannot write the kernels file", o->kernels);
    ntk_path(o->kernels, path, sizeof path);
    if ((fp = fopen(path, "w")) == NULL) return fail("cannot write the NTK file", path);
    fprintf(fp, "t,i,j,NTK,NTK_se\n");
    for (a = 0; a < R; ++a)
        for (i = 0; i < P; ++i)
            for (j = 0; j < P; ++j)
                fprintf(fp, "%d,%d,%d,%.10g,%.10g\n", fw_dmft_record_time(d, a), i, j,
                        (double)res->ntk[((size_t)a * P + i) * P + j], (double)res->ntk_se[((size_t)a * P + i) * P + j]);
    if (fclose(fp) != 0) return fail("cannot write the NTK file", path);
    return 0;
}

/* dmft --losses FILE: the losses and the sharpness at the recorded steps, with standard errors. */
static int write_losses(const char *path, const fw_dmft_desc *d, const fw_dmft_result *res)
{
    FILE *fp = fopen(path, "w");
    int r;
    if (fp == NULL) return fail("cannot write the losses file", path);
    fprintf(fp, "t,train_loss,train_loss_se,test_loss,test_loss_se,sharpness,sharpness_se\n");
    for (r = 0; r < res->n_records; ++r)
        fprintf(fp, "%d,%.10g,%.3g,%.10g,%.3g,%.10g,%.3g\n", fw_dmft_record_time(d, r),
                (double)res->train_loss[r], (double)res->train_loss_se[r], (double)res->test_loss[r],
                (double)res->test_loss_se[r], (double)res->sharpness[r], (double)res->sharpness_se[r]);
    if (fclose(fp) != 0) return fail("cannot write the losses file", path);
    return 0;
}

/* theory --kernels FILE: per layer and recorded step, Phi(l) (all points) and G(l) (training
   points; absent for depth 1) with their width-N variances, and the NTK in FILE_ntk.csv.
   Arrays: phi* L x R x n x n, g* L x R x P x P (NULL: empty columns), ntk* R x P x P. */
static int write_kernel_vars(const char *path, int L, int R, const int *times, int n, int P,
                             const fw_real *phi, const fw_real *phi_var, const fw_real *phi_se,
                             const fw_real *g, const fw_real *g_var, const fw_real *g_se,
                             const fw_real *ntk, const fw_real *ntk_var, const fw_real *ntk_se)
{
    char npath[4096];
    FILE *fp = fopen(path, "w");
    int l, r, i, j;
    if (fp == NULL) return fail("cannot write the kernels file", path);
    fprintf(fp, "layer,t,i,j,Phi,Phi_var,Phi_var_se,G,G_var,G_var_se\n");
    for (l = 0; l < L; ++l)
        for (r = 0; r < R; ++r)
            for (i = 0; i < n; ++i)
                for (j = 0; j < n; ++j) {
                    size_t e = (((size_t)l * R + r) * n + i) * n + j;
                    fprintf(fp, "%d,%d,%d,%d,%.10g,%.10g,%.3g", l + 1, times[r], i, j, (double)phi[e], (double)phi_var[e], (double)phi_se[e]);
                    if (g != NULL && i < P && j < P) {
                        size_t eg = (((size_t)l * R + r) * P + i) * P + j;
                        fprintf(fp, ",%.10g,%.10g,%.3g\n", (double)g[eg], (double)g_var[eg], (double)g_se[eg]);
                    } else {
                        fprintf(fp, ",,,\n");
                    }
                }
    if (fclose(fp) != 0) return fail("cannot write the kernels file", path);
    ntk_path(path, npath, sizeof npath);
    if ((fp = fopen(npath, "w")) == NULL) return fail("cannot write the NTK file", npath);
    fprintf(fp, "t,i,j,NTK,NTK_var,NTK_var_se\n");
    for (r = 0; r < R; ++r)
        for (i = 0; i < P; ++i)
            for (j = 0; j < P; ++j) {
                size_t e = ((size_t)r * P + i) * P + j;
                fprintf(fp, "%d,%d,%d,%.10g,%.10g,%.3g\n", times[r], i, j, (double)ntk[e], (double)ntk_var[e], (double)ntk_se[e]);
            }
    if (fclose(fp) != 0) return fail("cannot write the NTK file", npath);
    return 0;
}

/* --ntk at infinite width: gamma0 = 1/sqrt(N) -> 0, the lazy limit; kernel GD, no sampling. */
static int dmft_lazy(const options *o, const problem *pb, const fw_dmft_desc *d)
{
    const int n = pb->P + pb->Q, L = o->depth, R = fw_dmft_record_count(d);
    fw_real *kx = (fw_real *)malloc(sizeof(fw_real) * (size_t)n * n);
    fw_real *phi = (fw_real *)malloc(sizeof(fw_real) * (size_t)(L + 1) * n * n);
    fw_real *g = (fw_real *)malloc(sizeof(fw_real) * (size_t)L * n * n);
    fw_real *ntk = (fw_real *)malloc(sizeof(fw_real) * (size_t)n * n);
    fw_real *f = (fw_real *)malloc(sizeof(fw_real) * (size_t)(o->steps + 1) * n);
    fw_status s = FW_ERR_NOMEM;
    int r, pt;
    if (kx && phi && g && ntk && f) {
        s = fw_syrk(FW_NO_TRANS, n, pb->D, 1 / (fw_real)pb->D, pb->X, pb->D, 0, kx, n);
        if (s == FW_OK) s = fw_kernels_infinite(o->act, L, n, kx, n, phi, g, ntk);
        if (s == FW_OK) s = fw_lazy_predict(pb->P, pb->Q, ntk, n, pb->y, (fw_real)o->lr, o->steps, f);
    }
    if (s == FW_OK) {
        printf("t,point,mean,stderr\n");
        for (r = 0; r < R; ++r)
            for (pt = 0; pt < n; ++pt)
                printf("%d,%d,%.10g,0\n", fw_dmft_record_time(d, r), pt, (double)f[(size_t)fw_dmft_record_time(d, r) * n + pt]);
    }
    free(kx); free(phi); free(g); free(ntk); free(f);
    if (s == FW_ERR_DIVERGED) return fail("kernel gradient descent diverged: eta * lambda_max(NTK) > 2", NULL);
    return s == FW_OK ? 0 : fail(fw_status_string(s), NULL);
}

static int dmft(int argc, char **argv)
{
    options o;
    problem pb;
    fw_dmft_desc d;
    fw_dmft_result res;
    fw_data data;
    fw_status s;
    char why[256] = "";
    int r, pt, rc, diverged_at = -1;
    if ((rc = parse_options(argc, argv, 1, &o)) != 0) return rc == 1 ? 0 : rc;
    if (load_problem(&o, &pb)) return 1;
    data = problem_data(&pb);
    memset(&d, 0, sizeof d);
    d.depth = o.depth; d.act = o.act; d.gamma0 = (fw_real)o.gamma0; d.lr = (fw_real)o.lr; d.steps = o.steps;
    d.every = o.every; d.sampler = o.sampler; d.samples = o.samples; d.replicates = o.replicates;
    d.two_time = o.kernels != NULL; d.seed = (uint64_t)o.seed;
    d.iterations = o.iterate; d.damping = (fw_real)o.damping; d.control_variate = o.control_variate;
    d.log.fn = log_to_stderr; d.log.user = why;
    if (d.sampler == FW_SAMPLER_EXACT && d.act != FW_ACT_LINEAR) {
        free_problem(&pb);
        return fail("--sampler exact needs --act linear", NULL);
    }
    if (o.ntk) { rc = dmft_lazy(&o, &pb, &d); free_problem(&pb); return rc; }
    s = solve_threaded(o.threads, &d, NULL, &data, &res, NULL);
    while (s == FW_ERR_DIVERGED && last_record_before(res.diverged_step, o.every) >= 0) {
        diverged_at = res.diverged_step;   /* rerun to the steps before it (the same samples: the same numbers) */
        d.steps = last_record_before(res.diverged_step, o.every);
        s = solve_threaded(o.threads, &d, NULL, &data, &res, NULL);
    }
    if (s != FW_OK) {
        free_problem(&pb);
        if (s == FW_ERR_DIVERGED) return diverged(res.diverged_step, o.lr);
        if (s == FW_ERR_NO_CONVERGENCE) {
            snprintf(why, sizeof why, "no convergence in %d sweeps: residual %.3g (raise --iterate or --damping)",
                     res.iterations_used, (double)res.residual);
            return fail(why, NULL);
        }
        return fail(fw_status_string(s), why[0] ? why : NULL);
    }
    if (o.iterate > 0) fprintf(stderr, "finwidth: fixed-point iteration converged in %d sweeps (residual %.3g)\n",
                               res.iterations_used, (double)res.residual);
    printf("t,point,mean,stderr\n");
    for (r = 0; r < res.n_records; ++r)
        for (pt = 0; pt < res.n_points; ++pt)
            printf("%d,%d,%.10g,%.10g\n", fw_dmft_record_time(&d, r), pt,
                   (double)res.f[(size_t)r * res.n_points + pt], (double)res.f_se[(size_t)r * res.n_points + pt]);
    rc = o.kernels != NULL ? write_kernels(&o, &d, &res) : 0;
    if (rc == 0 && o.losses != NULL) rc = write_losses(o.losses, &d, &res);
    fw_dmft_result_free(&res);
    free_problem(&pb);
    fflush(stdout);
    return rc == 0 && diverged_at >= 0 ? diverged(diverged_at, o.lr) : rc;
}

/* What `theory` predicts at the recorded steps: R x n tables (training points first). */
typedef struct theory_table {
    int R, n;
    int *times;
    double *mean, *mean_se, *var, *var_se;   /* mean_se: 0 where the solver gives none (deep nets) */
} theory_table;

static void theory_table_free(theory_table *t)
{
    free(t->times); free(t->mean); free(t->mean_se); free(t->var); free(t->var_se);
    memset(t, 0, sizeof *t);
}

static int theory_table_alloc(theory_table *t, int R, int n)
{
    const size_t c = (size_t)R * (size_t)n;
    memset(t, 0, sizeof *t);
    t->R = R; t->n = n;
    t->times = (int *)malloc(sizeof(int) * (size_t)R);
    t->mean = (double *)calloc(c, sizeof(double)); t->mean_se = (double *)calloc(c, sizeof(double));
    t->var = (double *)calloc(c, sizeof(double)); t->var_se = (double *)calloc(c, sizeof(double));
    if (t->times == NULL || t->mean == NULL || t->mean_se == NULL || t->var == NULL || t->var_se == NULL) {
        theory_table_free(t);
        return fail("out of memory", NULL);
    }
    return 0;
}

static int theory_diverged(int step, double lr)
{
    char msg[256];
    if (step >= 0)
        snprintf(msg, sizeof msg, "the infinite-width dynamics or their fluctuations blew up at step %d: learning rate %g is too large", step, lr);
    else
        snprintf(msg, sizeof msg, "the infinite-width dynamics or their fluctuations blew up: learning rate %g is too large", lr);
    return fail(msg, NULL);
}

/* ---- --threads K for the deep theory: fw_dlfluct_run with its sampled sites split ------------- */

typedef struct deep_job { fw_dlfluct_desc d; const fw_data *data; fw_dlfluct_out out; fw_status st; } deep_job;

static void *deep_job_run(void *p)
{
    deep_job *j = (deep_job *)p;
    j->st = fw_dlfluct_run(&j->d, j->data, &j->out, NULL);
    return NULL;
}

/* fw_dlfluct_run on K threads (or the MPI processes) into out (rank 0's). Every worker gets outputs
   of the same shapes (scratch for ranks > 0), so that all run the same solve. */
static fw_status dlfluct_threaded(int K, const fw_dlfluct_desc *d, const fw_data *data, const fw_dlfluct_out *out)
{
    const size_t T1 = (size_t)d->steps + 1, n = (size_t)(data->P + data->Q), P = (size_t)data->P, L = (size_t)d->depth;
    fw_real *const *src[12];
    size_t len[12], total = 0, i;
    deep_job jobs[FWT_MAX];
    fwt_team team;
    fw_real *scratch;
    int k;
    fw_status st;
    if (cli_processes.ranks > 1) { fw_dlfluct_desc d1 = *d; d1.reduce = cli_processes; return fw_dlfluct_run(&d1, data, out, NULL); }
    if (K == 1) return fw_dlfluct_run(d, data, out, NULL);
    src[0] = &out->f; src[1] = &out->f_var; src[2] = &out->f_var_se; src[3] = &out->phi; src[4] = &out->phi_var;
    src[5] = &out->phi_var_se; src[6] = &out->g; src[7] = &out->g_var; src[8] = &out->g_var_se; src[9] = &out->ntk;
    src[10] = &out->ntk_var; src[11] = &out->ntk_var_se;
    for (i = 0; i < 12; ++i) {
        len[i] = i < 3 ? T1 * n : i < 6 ? L * T1 * n * n : i < 9 ? L * T1 * P * P : T1 * P * P;
        if (*src[i] != NULL) total += len[i];
    }
    scratch = (fw_real *)malloc(sizeof(fw_real) * (total * (size_t)(K - 1) + 1));
    if (scratch == NULL || fwt_team_init(&team, K) != 0) { free(scratch); return FW_ERR_NOMEM; }
    for (k = 0; k < K; ++k) {
        fw_real *p = scratch + total * (size_t)(k > 0 ? k - 1 : 0);
        fw_real **dst[12];
        jobs[k].d = *d; jobs[k].data = data; jobs[k].d.reduce = fwt_reduce_of(&team, k);
        if (k > 0) jobs[k].d.log.fn = NULL;
        jobs[k].out = *out;
        if (k == 0) continue;
        dst[0] = &jobs[k].out.f; dst[1] = &jobs[k].out.f_var; dst[2] = &jobs[k].out.f_var_se; dst[3] = &jobs[k].out.phi;
        dst[4] = &jobs[k].out.phi_var; dst[5] = &jobs[k].out.phi_var_se; dst[6] = &jobs[k].out.g; dst[7] = &jobs[k].out.g_var;
        dst[8] = &jobs[k].out.g_var_se; dst[9] = &jobs[k].out.ntk; dst[10] = &jobs[k].out.ntk_var; dst[11] = &jobs[k].out.ntk_var_se;
        for (i = 0; i < 12; ++i)
            if (*src[i] != NULL) { *dst[i] = p; p += len[i]; }
    }
    fwt_run(K, deep_job_run, jobs, sizeof jobs[0], 1);
    st = jobs[0].st;
    fwt_team_destroy(&team);
    free(scratch);
    return st;
}

/* Deep nets (--depth L >= 2): fw_dlfluct_run, exact for --act linear, the sampled deep
   propagator (--samples sites per layer) for tanh and erf. */
static int theory_deep(const options *o, const problem *pb, theory_table *tt)
{
    fw_dlfluct_desc d;
    fw_dlfluct_out out;
    fw_data data = problem_data(pb);
    fw_status s;
    fw_real *f, *fv, *fse, *kmem = NULL;
    char why[256] = "";
    int t, pt, n, rc = 0, R = 0;
    if (o->bias) return fail("--bias is for two-layer nets (--depth 1) so far", NULL);
    n = data.P + data.Q;
    memset(&d, 0, sizeof d);
    memset(&out, 0, sizeof out);
    d.depth = o->depth; d.width = o->width; d.gamma0 = (fw_real)o->gamma0; d.ntk = o->ntk; d.lr = (fw_real)o->lr;
    d.steps = o->steps; d.log.fn = log_to_stderr; d.log.user = why;
    d.act = o->act; d.samples = o->samples; d.seed = (uint64_t)o->seed;
    if (o->act != FW_ACT_LINEAR) d.replicates = o->replicates;   /* the standard error of var */
    f = (fw_real *)malloc(sizeof(fw_real) * (size_t)(o->steps + 1) * n);
    fv = (fw_real *)malloc(sizeof(fw_real) * (size_t)(o->steps + 1) * n);
    fse = (fw_real *)calloc((size_t)(o->steps + 1) * n, sizeof(fw_real));   /* stays 0 on the exact (linear) path */
    if (f == NULL || fv == NULL || fse == NULL) { free(f); free(fv); free(fse); return fail("out of memory", NULL); }
    out.f = f; out.f_var = fv; out.f_var_se = fse;
    if (o->kernels != NULL) {   /* every step t = 0..T; the recorded ones are kept below */
        const size_t T1 = (size_t)o->steps + 1, L = (size_t)o->depth, P = (size_t)data.P;
        kmem = (fw_real *)calloc(3 * L * T1 * ((size_t)n * n + P * P) + 3 * T1 * P * P, sizeof(fw_real));
        if (kmem == NULL) { free(f); free(fv); free(fse); return fail("out of memory", NULL); }
        out.phi = kmem; out.phi_var = out.phi + L * T1 * n * n; out.phi_var_se = out.phi_var + L * T1 * n * n;
        out.g = out.phi_var_se + L * T1 * n * n; out.g_var = out.g + L * T1 * P * P; out.g_var_se = out.g_var + L * T1 * P * P;
        out.ntk = out.g_var_se + L * T1 * P * P; out.ntk_var = out.ntk + T1 * P * P; out.ntk_var_se = out.ntk_var + T1 * P * P;
    }
    s = dlfluct_threaded(o->threads, &d, &data, &out);
    for (t = 0; t <= o->steps; ++t) R += t % o->every == 0 || t == o->steps;
    if (s == FW_OK && (rc = theory_table_alloc(tt, R, n)) == 0) {
        int r = 0;
        for (t = 0; t <= o->steps; ++t)
            if (t % o->every == 0 || t == o->steps) {
                tt->times[r] = t;
                for (pt = 0; pt < n; ++pt) {
                    tt->mean[(size_t)r * n + pt] = (double)f[t * n + pt];
                    tt->var[(size_t)r * n + pt] = (double)fv[t * n + pt];
                    tt->var_se[(size_t)r * n + pt] = (double)fse[t * n + pt];
                }
                ++r;
            }
    }
    if (s == FW_OK && rc == 0 && kmem != NULL) {
        /* keep the recorded steps: block (l, t) -> (l, r), in place (r <= t, increasing) */
        const int T1 = o->steps + 1, P = data.P;
        fw_real *arr[9];
        int a, l, blk[9], nl[9];
        arr[0] = out.phi; arr[1] = out.phi_var; arr[2] = out.phi_var_se; arr[3] = out.g; arr[4] = out.g_var;
        arr[5] = out.g_var_se; arr[6] = out.ntk; arr[7] = out.ntk_var; arr[8] = out.ntk_var_se;
        for (a = 0; a < 9; ++a) { blk[a] = a < 3 ? n * n : P * P; nl[a] = a < 6 ? o->depth : 1; }
        for (a = 0; a < 9; ++a)
            for (l = 0; l < nl[a]; ++l)
                for (t = 0; t < R; ++t)
                    memmove(arr[a] + ((size_t)l * R + t) * blk[a], arr[a] + ((size_t)l * T1 + tt->times[t]) * blk[a], sizeof(fw_real) * (size_t)blk[a]);
        rc = write_kernel_vars(o->kernels, o->depth, R, tt->times, n, P, out.phi, out.phi_var, out.phi_var_se,
                               out.g, out.g_var, out.g_var_se, out.ntk, out.ntk_var, out.ntk_var_se);
    }
    free(f); free(fv); free(fse); free(kmem);
    if (rc != 0) { theory_table_free(tt); return rc; }
    if (s == FW_ERR_DIVERGED) return theory_diverged(-1, o->lr);
    return s == FW_OK ? 0 : fail(fw_status_string(s), why[0] ? why : NULL);
}

/* Two-layer nets: fw_fluct_run (with --bias, the mean includes the O(1/N) shift b/N). A
   divergence at step k > 0 reruns to the steps before it and sets *diverged_at = k. */
static int theory_two_layer(const options *o, const problem *pb, theory_table *tt, int *diverged_at)
{
    fw_fluct_desc d;
    fw_fluct_result res;
    fw_data data = problem_data(pb);
    fw_status s;
    char why[256] = "";
    int r, pt, rc;
    size_t e;
    if (o->sampler == FW_SAMPLER_EXACT) return fail("--sampler exact has no single-site covariance: use mc, antithetic or quadrature", NULL);
    memset(&d, 0, sizeof d);
    d.dmft.depth = 1; d.dmft.act = o->act; d.dmft.lr = (fw_real)o->lr; d.dmft.steps = o->steps;
    d.dmft.gamma0 = o->ntk ? 1 / (fw_real)sqrt((double)o->width) : (fw_real)o->gamma0;
    d.dmft.every = o->every; d.dmft.sampler = o->sampler; d.dmft.samples = o->samples; d.dmft.replicates = o->replicates;
    d.dmft.seed = (uint64_t)o->seed; d.dmft.log.fn = log_to_stderr; d.dmft.log.user = why;
    d.width = o->width; d.bias = o->bias; d.kernels = o->kernels != NULL;
    s = solve_threaded(o->threads, NULL, &d, &data, NULL, &res);
    while (s == FW_ERR_DIVERGED && diverged_at != NULL && last_record_before(res.diverged_step, o->every) >= 0) {
        *diverged_at = res.diverged_step;   /* rerun to the steps before it */
        d.dmft.steps = last_record_before(res.diverged_step, o->every);
        s = solve_threaded(o->threads, NULL, &d, &data, NULL, &res);
    }
    if (s != FW_OK) {
        if (s == FW_ERR_DIVERGED) return theory_diverged(res.diverged_step, o->lr);
        return fail(fw_status_string(s), why[0] ? why : NULL);
    }
    if ((rc = theory_table_alloc(tt, res.n_records, res.n_points)) != 0) { fw_fluct_result_free(&res); return rc; }
    for (r = 0; r < res.n_records; ++r) {
        tt->times[r] = fw_dmft_record_time(&d.dmft, r);
        for (pt = 0; pt < res.n_points; ++pt) {
            e = (size_t)r * res.n_points + pt;
            tt->mean[e] = (double)res.f[e] + (o->bias ? (double)res.f_bias[e] : 0);
            tt->mean_se[e] = (double)res.f_se[e];
            tt->var[e] = (double)res.f_var[e];
            tt->var_se[e] = (double)res.f_var_se[e];
        }
    }
    if (o->kernels != NULL)
        rc = write_kernel_vars(o->kernels, 1, res.n_records, tt->times, res.n_points, res.P, res.phi, res.phi_var,
                               res.phi_var_se, NULL, NULL, NULL, res.ntk, res.ntk_var, res.ntk_var_se);
    fw_fluct_result_free(&res);
    if (rc != 0) theory_table_free(tt);
    return rc;
}

static int theory(int argc, char **argv)
{
    options o;
    problem pb;
    theory_table tt;
    int r, pt, rc, diverged_at = -1;
    if ((rc = parse_options(argc, argv, 2, &o)) != 0) return rc == 1 ? 0 : rc;
    if (load_problem(&o, &pb)) return 1;
    rc = o.depth != 1 ? theory_deep(&o, &pb, &tt) : theory_two_layer(&o, &pb, &tt, &diverged_at);
    free_problem(&pb);
    if (rc != 0) return rc;
    printf("t,point,mean,var,var_se\n");
    for (r = 0; r < tt.R; ++r)
        for (pt = 0; pt < tt.n; ++pt) {
            const size_t e = (size_t)r * tt.n + pt;
            printf("%d,%d,%.10g,%.10g,%.3g\n", tt.times[r], pt, tt.mean[e], tt.var[e], tt.var_se[e]);
        }
    theory_table_free(&tt);
    fflush(stdout);
    return diverged_at >= 0 ? theory_diverged(diverged_at, o.lr) : 0;
}

/* finwidth compare: simulate and theory on the same flags, side by side, with z-scores of the
   mean (sim - theory over sqrt(var_sim / S + theory se^2)) and of the variance (over
   sqrt(var_th^2 2 / (S - 1) + var_se^2): the sample variance's Gaussian standard error and the
   theory's Monte Carlo error). */
static int compare(int argc, char **argv)
{
    options o;
    problem pb;
    theory_table tt;
    double *mean, *var, worst_m = 0, worst_v = 0;
    int *times, R = 0, r, pt, rc, n, within = 0, cells = 0;
    if ((rc = parse_options(argc, argv, 3, &o)) != 0) return rc == 1 ? 0 : rc;
    if (o.seeds < 2) return fail("compare needs --seeds S >= 2 (the ensemble's variance)", NULL);
    if (load_problem(&o, &pb)) return 1;
    n = pb.P + pb.Q;
    rc = o.depth != 1 ? theory_deep(&o, &pb, &tt) : theory_two_layer(&o, &pb, &tt, NULL);
    if (rc == 0) {
        rc = ensemble_stats(&o, &pb, &R, &times, &mean, &var, NULL);
        if (rc != 0) theory_table_free(&tt);
    }
    free_problem(&pb);
    if (rc != 0) return rc;
    if (R != tt.R || first_nonfinite(R, n, mean, var) >= 0) {
        theory_table_free(&tt); free(times); free(mean); free(var);
        return fail("the ensemble's statistics overflowed (the networks diverge): lower --lr", NULL);
    }
    printf("t,point,mean_sim,mean_theory,z_mean,var_sim,var_theory,var_se_theory,z_var\n");
    for (r = 0; r < R; ++r)
        for (pt = 0; pt < n; ++pt) {
            const size_t e = (size_t)r * n + pt;
            const double sm = sqrt(var[e] / o.seeds + tt.mean_se[e] * tt.mean_se[e]);
            const double sv = sqrt(tt.var[e] * tt.var[e] * 2.0 / (o.seeds - 1) + tt.var_se[e] * tt.var_se[e]);
            const double zm = sm > 0 ? (mean[e] - tt.mean[e]) / sm : 0, zv = sv > 0 ? (var[e] - tt.var[e]) / sv : 0;
            printf("%d,%d,%.10g,%.10g,%.3f,%.10g,%.10g,%.3g,%.3f\n", times[r], pt, mean[e], tt.mean[e], zm, var[e], tt.var[e],
                   tt.var_se[e], zv);
            if (r > 0 || tt.var[e] > 0) { ++cells; within += fabs(zv) <= 3; }
            worst_m = fmax(worst_m, fabs(zm)); worst_v = fmax(worst_v, fabs(zv));
        }
    fprintf(stderr, "finwidth compare: %d of %d variance cells within 3 standard errors; max |z| mean %.2f, variance %.2f "
                    "(leading order in 1/N: expect gaps of O(1/N) relative at small widths)\n", within, cells, worst_m, worst_v);
    theory_table_free(&tt); free(times); free(mean); free(var);
    return 0;
}

/* ---- dln --simulate --threads K: members in parallel, pushed in seed order (bitwise the serial run) */

typedef struct dln_job { const fw_dln_desc *d; int first, end, stride, n; fw_real *recs; fw_status *st; int *bad; } dln_job;

static void *dln_job_run(void *p)
{
    dln_job *j = (dln_job *)p;
    fw_real *buf = (fw_real *)malloc(sizeof(fw_real) * 2 * (size_t)j->n);
    fw_dln_desc d = *j->d;
    int m;
    d.log.fn = NULL;   /* the description was checked, with its messages, by the caller's first call */
    for (m = j->first; m < j->end; m += j->stride) {
        fw_stats one;
        j->bad[m] = -1;
        if (buf == NULL) { j->st[m] = FW_ERR_NOMEM; continue; }
        fw_stats_init(&one, j->n, buf, buf + j->n);
        j->st[m] = fw_dln_simulate(&d, (uint64_t)m, (uint64_t)m + 1, &one, &j->bad[m], NULL);
        if (j->st[m] == FW_OK) memcpy(j->recs + (size_t)m * j->n, one.mean, sizeof(fw_real) * (size_t)j->n);
    }
    free(buf);
    return NULL;
}

/* fw_dln_simulate over seeds 0 .. seeds - 1 into st (st->n values a member), on K threads. */
static fw_status dln_simulate(const fw_dln_desc *d, int seeds, int K, fw_stats *st, int *bad)
{
    dln_job jobs[FWT_MAX];
    fw_real *recs;
    fw_status *sts, s = FW_OK;
    int *bads, k, m;
    if (K == 1) return fw_dln_simulate(d, 0, (uint64_t)seeds, st, bad, NULL);
    if ((s = fw_dln_simulate(d, 0, 0, st, bad, NULL)) != FW_OK) return s;   /* checks the description (no member) */
    recs = (fw_real *)malloc(sizeof(fw_real) * (size_t)seeds * (size_t)st->n);
    sts = (fw_status *)malloc(sizeof(fw_status) * (size_t)seeds);
    bads = (int *)malloc(sizeof(int) * (size_t)seeds);
    if (recs == NULL || sts == NULL || bads == NULL) { free(recs); free(sts); free(bads); return FW_ERR_NOMEM; }
    for (k = 0; k < K; ++k) {
        jobs[k].d = d; jobs[k].first = k; jobs[k].end = seeds; jobs[k].stride = K; jobs[k].n = st->n;
        jobs[k].recs = recs; jobs[k].st = sts; jobs[k].bad = bads;
    }
    fwt_run(K, dln_job_run, jobs, sizeof jobs[0], 0);
    for (m = 0; m < seeds && s == FW_OK; ++m) {   /* in seed order: the first failure is the serial run's */
        if ((s = sts[m]) != FW_OK) { *bad = bads[m]; break; }
        s = fw_stats_push(st, recs + (size_t)m * st->n);
    }
    free(recs); free(sts); free(bads);
    return s;
}

/* finwidth dln: the deep linear network theory (the proportional limit, or its lazy closed form
   with --lazy) or, with --simulate, the simulator. */
static int dln(int argc, char **argv)
{
    fw_dln_desc d;
    fw_stats st;
    fw_real *mem;
    double alpha = 0, nu = 1, gamma0 = 1, lr = 0.1, residual = 0, br = 0, sa = 0, sb = 0, noise = 0, source = 0;
    int i, depth = 1, steps = 100, every = 1, Dsim = 0, seeds = 1, seed = 0, ntk = 0, repeat = 0, lazy = 0, layers = 0, initterm = 0, deeplim = 0, balanced = 0, dim = -1, nrec, r, l, bad = -1, diverged_at = -1, threads = 1;
    int width = 0, centered = 0, batch = 0;
    char why[256] = "";
    fw_status s;
    for (i = 0; i < argc; ++i) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1;
        if (strcmp(k, "--help") == 0) { print_help(stdout, CMD_DLN); return 0; }
        if (strcmp(k, "--ntk") == 0) { ntk = 1; continue; }
        if (strcmp(k, "--repeat") == 0) { repeat = 1; continue; }
        if (strcmp(k, "--lazy") == 0) { lazy = 1; continue; }
        if (strcmp(k, "--layers") == 0) { layers = 1; continue; }
        if (strcmp(k, "--init-term") == 0) { initterm = 1; continue; }
        if (strcmp(k, "--deep-limit") == 0) { deeplim = 1; continue; }
        if (strcmp(k, "--balanced") == 0) { balanced = 1; continue; }
        if (strcmp(k, "--centered") == 0) { centered = 1; continue; }
        if (v == NULL) { fprintf(stderr, "finwidth: %s needs a value (see --help)\n", k); return 2; }
        if (strcmp(k, "--alpha") == 0) ok = parse_real(v, &alpha) && alpha > 0;
        else if (strcmp(k, "--source") == 0) ok = parse_real(v, &source) && source > 0;
        else if (strcmp(k, "--width") == 0) ok = parse_int(v, &width) && width >= 1;
        else if (strcmp(k, "--batch") == 0) ok = parse_int(v, &batch) && batch >= 1;
        else if (strcmp(k, "--nu") == 0) ok = parse_real(v, &nu) && nu > 0;
        else if (strcmp(k, "--depth") == 0) ok = parse_int(v, &depth) && depth >= 1;
        else if (strcmp(k, "--gamma0") == 0) ok = parse_real(v, &gamma0) && gamma0 > 0;
        else if (strcmp(k, "--lr") == 0) ok = parse_real(v, &lr) && lr > 0;
        else if (strcmp(k, "--steps") == 0) ok = parse_int(v, &steps) && steps >= 0;
        else if (strcmp(k, "--every") == 0) ok = parse_int(v, &every) && every >= 1;
        else if (strcmp(k, "--residual") == 0) ok = parse_real(v, &residual) && residual >= 0;
        else if (strcmp(k, "--batch-ratio") == 0) ok = parse_real(v, &br) && br > 0;
        else if (strcmp(k, "--noise") == 0) ok = parse_real(v, &noise) && noise >= 0;
        else if (strcmp(k, "--simulate") == 0) ok = parse_int(v, &Dsim) && Dsim >= 1;
        else if (strcmp(k, "--seeds") == 0) ok = parse_int(v, &seeds) && seeds >= 1;
        else if (strcmp(k, "--threads") == 0) ok = parse_int(v, &threads) && threads >= 1 && threads <= FWT_MAX;
        else if (strcmp(k, "--dim") == 0) {
            if (strcmp(v, "inf") == 0) dim = 0;
            else ok = parse_int(v, &dim) && dim >= 1;
        }
        else if (strcmp(k, "--seed") == 0) ok = parse_int(v, &seed) && seed >= 0;
        else if (strcmp(k, "--spectrum") == 0) {
            char a[64], b[64];
            const char *comma = strchr(v, ',');
            if (comma == NULL) ok = parse_real(v, &sa) && sa >= 0;   /* a alone: the teacher is set by --source or isotropic */
            else ok = (size_t)(comma - v) < sizeof a && strlen(comma + 1) < sizeof b;
            if (ok && comma != NULL) {
                memcpy(a, v, (size_t)(comma - v)); a[comma - v] = 0;
                strcpy(b, comma + 1);
                ok = parse_real(a, &sa) && parse_real(b, &sb) && sa >= 0 && sb >= 0;
            }
        } else {
            fprintf(stderr, "finwidth: unknown option %s for dln (see --help)\n", k);
            return 2;
        }
        if (!ok) { fprintf(stderr, "finwidth: bad value '%s' for %s (see --help)\n", v, k); return 2; }
        ++i;
    }
    if (repeat && br > 0) { fprintf(stderr, "finwidth: --repeat and --batch-ratio exclude each other\n"); return 2; }
    if (source > 0 && (alpha > 0 || br > 0 || repeat)) {
        fprintf(stderr, "finwidth: --source trains on the population loss; it excludes --alpha, --batch-ratio and --repeat\n");
        return 2;
    }
    if (source > 0 && (sa <= 0 || sb != 0)) { fprintf(stderr, "finwidth: --source needs --spectrum a (a > 0, no teacher exponent: the source sets it)\n"); return 2; }
    if (source > 0 && (balanced || initterm || deeplim)) { fprintf(stderr, "finwidth: --source excludes --balanced, --init-term and --deep-limit\n"); return 2; }
    if (source == 0 && (dim == 0 || centered || batch > 0)) { fprintf(stderr, "finwidth: --dim inf, --centered and --batch go with --source\n"); return 2; }
    if (source == 0 && br == 0 && alpha <= 0) { fprintf(stderr, "finwidth: dln needs --alpha A (repeated data), --batch-ratio b or --source beta\n"); return 2; }
    if (dim < 0) dim = source > 0 ? 0 : 1024;   /* the capacity/source theory: infinitely many modes by default */
    if (balanced && (lazy || initterm)) { fprintf(stderr, "finwidth: --balanced excludes --lazy and --init-term (its limit keeps the initial function)\n"); return 2; }
    if (Dsim > 0 && lazy) { fprintf(stderr, "finwidth: --lazy is a theory; it excludes --simulate\n"); return 2; }
    if (deeplim && (Dsim > 0 || lazy || layers)) { fprintf(stderr, "finwidth: --deep-limit is a theory of its own; it excludes --simulate, --lazy and --layers\n"); return 2; }
    memset(&d, 0, sizeof d);
    /* the theory uses D only as the number of modes of a power-law spectrum (isotropic: any D) */
    d.D = Dsim > 0 ? Dsim : dim;
    if (width == 0 && !(nu * d.D + 0.5 < 2147483647.0)) {
        fprintf(stderr, "finwidth: --nu %g times D = %d gives a width beyond 2^31 - 1\n", nu, d.D);
        return 2;
    }
    d.width = width > 0 ? width : (int)floor(nu * d.D + 0.5); d.depth = depth; d.gamma0 = (fw_real)gamma0; d.ntk = ntk;
    d.source = (fw_real)source; d.centered = centered; d.batch = batch;
    d.lr = (fw_real)lr; d.steps = steps; d.every = every; d.alpha = (fw_real)alpha; d.batch_ratio = (fw_real)br;
    d.residual = (fw_real)residual; d.spectrum = (fw_real)sa; d.task = (fw_real)sb; d.noise = (fw_real)noise;
    d.seed = (uint64_t)seed; d.log.fn = log_to_stderr; d.log.user = why; d.init_term = initterm;
    d.balanced = balanced;
    if (d.width < 1) d.width = 1;
    nrec = fw_dln_record_count(&d);
    if ((mem = (fw_real *)malloc(sizeof(fw_real) * 4 * (size_t)(nrec > 0 ? nrec : 1))) == NULL) return fail("out of memory", NULL);
    if (Dsim == 0) {   /* the theory: t,train_loss,test_loss[,G1..GL] */
        fw_real *gk = layers && !lazy ? (fw_real *)malloc(sizeof(fw_real) * (size_t)(nrec > 0 ? nrec : 1) * (size_t)depth) : NULL;
        if (layers && !lazy && gk == NULL) { free(mem); return fail("out of memory", NULL); }
        int done = nrec;
        for (r = 0; r < 4 * nrec; ++r) mem[r] = (fw_real)NAN;   /* a run that blows up leaves its later records unwritten */
        s = lazy ? fw_dln_lazy(&d, mem, mem + nrec, NULL)
            : deeplim ? fw_dln_deep_limit(&d, mem, mem + nrec, mem + 2 * nrec, mem + 3 * nrec, NULL)
            : fw_dln_theory(&d, mem, mem + nrec, gk, NULL);
        if (s == FW_ERR_DIVERGED && !deeplim)   /* the records written before it are printed, then the error */
            for (done = 0; done < nrec && isfinite((double)mem[done]) && isfinite((double)mem[nrec + done]); ++done) {}
        if (s == FW_OK || (s == FW_ERR_DIVERGED && !deeplim && done > 0)) {
            printf("t,train_loss,test_loss%s", deeplim ? ",train_err,test_err" : "");
            for (l = 1; gk != NULL && l <= depth; ++l) printf(",G%d", l);
            printf("\n");
            for (r = 0; r < done; ++r) {
                printf("%d,%.10g,%.10g", fw_dln_record_time(&d, r), (double)mem[r], (double)mem[nrec + r]);
                if (deeplim) printf(",%.3g,%.3g", (double)mem[2 * nrec + r], (double)mem[3 * nrec + r]);
                for (l = 0; gk != NULL && l < depth; ++l) printf(",%.10g", (double)gk[(size_t)r * depth + l]);
                printf("\n");
            }
        }
        free(gk);
        fflush(stdout);
        if (s == FW_ERR_DIVERGED && !deeplim && done < nrec) {
            char msg[256];
            snprintf(msg, sizeof msg, "the theory's losses or kernels overflow %s step %d: learning rate %g is too large",
                     done > 0 ? "after" : "by", fw_dln_record_time(&d, done > 0 ? done - 1 : 0), lr);
            free(mem);
            return fail(msg, NULL);
        }
        free(mem);
        return s == FW_OK ? 0 : fail(fw_status_string(s), why[0] ? why : NULL);
    }
    fw_stats_init(&st, 2 * nrec, mem, mem + 2 * nrec);
    s = dln_simulate(&d, seeds, threads, &st, &bad);
    while (s == FW_ERR_DIVERGED && last_record_before(bad, d.every > 0 ? d.every : 1) >= 0) {
        diverged_at = bad;   /* every member reaches the steps before it: rerun to the last record there */
        d.steps = last_record_before(bad, d.every > 0 ? d.every : 1);
        nrec = fw_dln_record_count(&d);
        fw_stats_init(&st, 2 * nrec, mem, mem + 2 * nrec);
        s = dln_simulate(&d, seeds, threads, &st, &bad);
    }
    if (s != FW_OK) {
        free(mem);
        if (s == FW_ERR_DIVERGED) return diverged(bad, lr);
        return fail(fw_status_string(s), why[0] ? why : NULL);
    }
    printf("t,train_loss,test_loss,train_loss_sd,test_loss_sd\n");
    for (r = 0; r < nrec; ++r) {
        const double v[4] = {(double)st.mean[2 * r], (double)st.mean[2 * r + 1], sqrt((double)fw_stats_var(&st, 2 * r)),
                             sqrt((double)fw_stats_var(&st, 2 * r + 1))};
        if (!isfinite(v[0]) || !isfinite(v[1]) || !isfinite(v[2]) || !isfinite(v[3])) {
            fflush(stdout);
            free(mem);
            return stats_overflow(fw_dln_record_time(&d, r), lr);
        }
        printf("%d,%.10g,%.10g,%.10g,%.10g\n", fw_dln_record_time(&d, r), v[0], v[1], v[2], v[3]);
    }
    free(mem);
    fflush(stdout);
    return diverged_at >= 0 ? diverged(diverged_at, lr) : 0;
}

/* finwidth plot: a CSV with a header row as an SVG figure (svgplot.h, the demo's plotter). */
typedef struct csv_table { int rows, cols; char **names; double *v; } csv_table;   /* v: rows x cols */

static void csv_table_free(csv_table *t)
{
    int c;
    for (c = 0; c < t->cols && t->names != NULL; ++c) free(t->names[c]);
    free(t->names); free(t->v);
    memset(t, 0, sizeof *t);
}

/* Splits line (modified) at commas into at most cap fields; returns the count. */
static int split_commas(char *line, char **f, int cap)
{
    int n = 0;
    char *p = line;
    line[strcspn(line, "\r\n")] = 0;
    while (n < cap) {
        f[n++] = p;
        p = strchr(p, ',');
        if (p == NULL) break;
        *p++ = 0;
    }
    return n;
}

/* Reads a CSV with a header row from fp (closed here); path names it in messages. */
static int read_csv_header_stream(FILE *fp, const char *path, csv_table *t)
{
    enum { MAXC = 64 };
    char line[8192], *f[MAXC], msg[512];
    int c, n, lineno = 1;
    size_t cap = 0;
    memset(t, 0, sizeof *t);
    if (fgets(line, sizeof line, fp) == NULL) { fclose(fp); return fail("empty file", path); }
    t->cols = split_commas(line, f, MAXC);
    t->names = (char **)calloc((size_t)t->cols, sizeof(char *));
    if (t->names == NULL) { fclose(fp); return fail("out of memory", NULL); }
    for (c = 0; c < t->cols; ++c) {
        if ((t->names[c] = (char *)malloc(strlen(f[c]) + 1)) == NULL) { fclose(fp); csv_table_free(t); return fail("out of memory", NULL); }
        strcpy(t->names[c], f[c]);
        if (f[c][0] == 0 || isdigit((unsigned char)f[c][0]) || f[c][0] == '-' || f[c][0] == '.') {
            snprintf(msg, sizeof msg, "%s: the first row must name the columns (found '%s'; plot reads the CSV outputs of finwidth)", path, f[c]);
            fclose(fp); csv_table_free(t);
            return fail(msg, NULL);
        }
    }
    while (fgets(line, sizeof line, fp) != NULL) {
        ++lineno;
        if (line[strspn(line, " \t\r\n")] == 0) continue;
        n = split_commas(line, f, MAXC);
        if (n != t->cols) {
            snprintf(msg, sizeof msg, "%s line %d: %d fields, the header has %d", path, lineno, n, t->cols);
            fclose(fp); csv_table_free(t);
            return fail(msg, NULL);
        }
        if ((size_t)(t->rows + 1) * (size_t)t->cols > cap) {
            double *nv;
            cap = cap ? 2 * cap : 1024 * (size_t)t->cols;
            if ((nv = (double *)realloc(t->v, cap * sizeof(double))) == NULL) { fclose(fp); csv_table_free(t); return fail("out of memory", NULL); }
            t->v = nv;
        }
        for (c = 0; c < n; ++c) {
            char *end;
            double x = f[c][0] ? strtod(f[c], &end) : NAN;
            if (f[c][0] && (end == f[c] || *end != 0)) {
                snprintf(msg, sizeof msg, "%s line %d, column %s: '%.40s' is not a number", path, lineno, t->names[c], f[c]);
                fclose(fp); csv_table_free(t);
                return fail(msg, NULL);
            }
            t->v[(size_t)t->rows * t->cols + c] = x;
        }
        t->rows++;
    }
    fclose(fp);
    if (t->rows == 0) { csv_table_free(t); return fail("no data rows", path); }
    return 0;
}

static int read_csv_header(const char *path, csv_table *t)
{
    FILE *fp = fopen(path, "r");
    memset(t, 0, sizeof *t);
    if (fp == NULL) return fail("cannot open", path);
    return read_csv_header_stream(fp, path, t);
}

static int csv_col(const csv_table *t, const char *name)
{
    int c;
    for (c = 0; c < t->cols; ++c) if (strcmp(t->names[c], name) == 0) return c;
    return -1;
}

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

static int plot(int argc, char **argv)
{
    enum { MAXS = SVG_MAX_SERIES };
    const char *path = NULL, *outp = NULL, *xs = NULL, *ys = NULL, *ps = NULL, *es = NULL, *bys = NULL, *title = NULL;
    csv_table t;
    svg_panel pan;
    char ycols_buf[1024], *ycol[32], names[MAXS][96], msg[256];
    double *sx[MAXS], *sy[MAXS], *se[MAXS], groups[MAXS];
    int i, cx, cby, cp = -1, ce = -1, ny = 0, ng = 0, logy = 0, ns = 0, dropped = 0, r, g, k;
    for (i = 0; i < argc; ++i) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) { print_help(stdout, CMD_PLOT); return 0; }
        if (strcmp(a, "--logy") == 0) { logy = 1; continue; }
        if (a[0] != '-' && path == NULL) { path = a; continue; }
        if (v == NULL) { fprintf(stderr, "finwidth: %s needs a value (see plot --help)\n", a); return 2; }
        if (strcmp(a, "-o") == 0) outp = v;
        else if (strcmp(a, "--x") == 0) xs = v;
        else if (strcmp(a, "--y") == 0) ys = v;
        else if (strcmp(a, "--points") == 0) ps = v;
        else if (strcmp(a, "--err") == 0) es = v;
        else if (strcmp(a, "--by") == 0) bys = v;
        else if (strcmp(a, "--title") == 0) title = v;
        else { fprintf(stderr, "finwidth: unknown option %s for plot (see --help)\n", a); return 2; }
        ++i;
    }
    if (path == NULL || outp == NULL) { fprintf(stderr, "finwidth: plot needs FILE.csv and -o FIG.svg (see plot --help)\n"); return 2; }
    if (read_csv_header(path, &t)) return 1;
    cx = xs ? csv_col(&t, xs) : csv_col(&t, "t") >= 0 ? csv_col(&t, "t") : 0;
    cby = bys ? csv_col(&t, bys) : csv_col(&t, "point");
    if (ps) cp = csv_col(&t, ps);
    if (es) ce = csv_col(&t, es);
    if (cx < 0 || (bys && cby < 0) || (ps && cp < 0) || (es && ce < 0)) {
        snprintf(msg, sizeof msg, "no column %s in the header", cx < 0 ? xs : bys && cby < 0 ? bys : ps && cp < 0 ? ps : es);
        csv_table_free(&t);
        return fail(msg, path);
    }
    /* the line columns */
    if (ys) {
        snprintf(ycols_buf, sizeof ycols_buf, "%s", ys);
        ny = split_commas(ycols_buf, ycol, 32);
    } else if (cp < 0) {
        if (cby >= 0) ycol[ny++] = csv_col(&t, "mean") >= 0 ? (char *)"mean" : t.names[t.cols > 2 ? 2 : t.cols - 1];
        else
            for (i = 0; i < t.cols && ny < 32; ++i)
                if (i != cx && !ends_with(t.names[i], "_se") && !ends_with(t.names[i], "_sd") && !ends_with(t.names[i], "_err"))
                    ycol[ny++] = t.names[i];
    }
    for (k = 0; k < ny; ++k)
        if (csv_col(&t, ycol[k]) < 0) { snprintf(msg, sizeof msg, "no column %s in the header", ycol[k]); csv_table_free(&t); return fail(msg, path); }
    /* the groups (values of --by, in order of appearance) */
    if (cby < 0) { ng = 1; groups[0] = 0; }
    else
        for (r = 0; r < t.rows; ++r) {
            const double gv = t.v[(size_t)r * t.cols + cby];
            for (g = 0; g < ng && groups[g] != gv; ++g) {}
            if (g == ng) { if (ng < MAXS) groups[ng++] = gv; else dropped = 1; }
        }
    svg_panel_init(&pan, title ? title : path, t.names[cx], ny == 1 && cp < 0 ? ycol[0] : ny == 0 && cp >= 0 ? t.names[cp] : "value");
    pan.logy = logy;
    for (k = 0; k <= ny && !dropped; ++k) {
        const int cy = k < ny ? csv_col(&t, ycol[k]) : cp;
        if (cy < 0) continue;
        for (g = 0; g < ng; ++g) {
            int m = 0;
            if (ns == MAXS) { dropped = 1; break; }
            sx[ns] = (double *)malloc(sizeof(double) * (size_t)t.rows);
            sy[ns] = (double *)malloc(sizeof(double) * (size_t)t.rows);
            se[ns] = (double *)malloc(sizeof(double) * (size_t)t.rows);
            if (sx[ns] == NULL || sy[ns] == NULL || se[ns] == NULL) {
                free(sx[ns]); free(sy[ns]); free(se[ns]);
                for (i = 0; i < ns; ++i) { free(sx[i]); free(sy[i]); free(se[i]); }
                csv_table_free(&t);
                return fail("out of memory", NULL);
            }
            for (r = 0; r < t.rows; ++r) {
                const double *row = t.v + (size_t)r * t.cols;
                if (cby >= 0 && row[cby] != groups[g]) continue;
                sx[ns][m] = row[cx]; sy[ns][m] = row[cy]; se[ns][m] = ce >= 0 ? row[ce] : 0;
                ++m;
            }
            if (cby >= 0) snprintf(names[ns], sizeof names[ns], "%s, %s %g", t.names[cy], t.names[cby], groups[g]);
            else snprintf(names[ns], sizeof names[ns], "%s", t.names[cy]);
            svg_add(&pan, names[ns], k < ny ? SVG_LINE : SVG_POINTS, ng > 1 ? g : k, m, sx[ns], sy[ns], k < ny || ce < 0 ? NULL : se[ns]);
            ++ns;
        }
    }
    if (dropped) fprintf(stderr, "finwidth: plot draws at most %d series; the rest are left out (choose with --y, --by)\n", MAXS);
    i = ns > 0 ? svg_write(outp, title ? title : path, &pan, 1) : 0;
    for (k = 0; k < ns; ++k) { free(sx[k]); free(sy[k]); free(se[k]); }
    csv_table_free(&t);
    if (ns == 0) return fail("nothing to draw: name the columns with --y or --points", NULL);
    return i == 0 ? 0 : fail("cannot write", outp);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        print_help(argc < 2 ? stderr : stdout, 0);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "simulate") == 0) return simulate(argc - 2, argv + 2);
    if (strcmp(argv[1], "dmft") == 0) return dmft(argc - 2, argv + 2);
    if (strcmp(argv[1], "theory") == 0) return theory(argc - 2, argv + 2);
    if (strcmp(argv[1], "dln") == 0) return dln(argc - 2, argv + 2);
    if (strcmp(argv[1], "compare") == 0) return compare(argc - 2, argv + 2);
    if (strcmp(argv[1], "plot") == 0) return plot(argc - 2, argv + 2);
    fprintf(stderr, "finwidth: unknown command '%s' (commands: simulate, dmft, theory, dln, compare, plot; see --help)\n", argv[1]);
    return 2;
}
