/* finwidth: the command-line front end of finwidth.h.

     finwidth simulate --data TRAIN.csv [--test TEST.csv] [--depth L] [--act tanh|relu|erf|linear]
                       [--width N] [--gamma0 G] [--ntk] [--lr ETA] [--steps T] [--seeds S]
                       [--seed K] [--every k]

   CSV: one row per point, columns x1..xD then y (test files may omit y), no header.
   Output (stdout): "t,point,mean,var", one row per recorded step and point (train rows first,
   then test rows); mean and var are the sample mean and unbiased variance of f over the seeds.
   Errors: one line on stderr and exit status 1 (2 for usage errors). */
#define FINWIDTH_IMPLEMENTATION
#include "../finwidth.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: finwidth simulate --data TRAIN.csv [options]\n"
    "\n"
    "Trains S networks from independent seeds by full-batch gradient descent and prints the mean\n"
    "and variance over seeds of the predictions on every point at the recorded steps, as CSV\n"
    "with header t,point,mean,var (points: training rows first, then test rows).\n"
    "\n"
    "Model (mean-field / muP): h1 = W0 x/sqrt(D), h(l+1) = W(l) phi(h(l))/sqrt(N),\n"
    "f = w . phi(hL)/(gamma0 N), weights N(0,1); loss 1/2 sum (y - f)^2 over the training\n"
    "points; step eta gamma0^2 N on every weight.\n"
    "\n"
    "options:\n"
    "  --data FILE      training CSV: x1..xD,y per row, no header (required)\n"
    "  --test FILE      test CSV: x1..xD[,y] per row (optional)\n"
    "  --depth L        hidden layers, L >= 1 (default 1)\n"
    "  --act NAME       tanh, relu, erf or linear (default tanh)\n"
    "  --width N        hidden width, N >= 1 (default 256)\n"
    "  --gamma0 G       feature-learning strength, G > 0 (default 1)\n"
    "  --ntk            NTK parameterization (gamma0 = 1/sqrt(N); --gamma0 is ignored)\n"
    "  --lr ETA         learning rate eta > 0 (default 0.1)\n"
    "  --steps T        gradient steps, T >= 0 (default 100)\n"
    "  --seeds S        ensemble size, S >= 1 (default 1)\n"
    "  --seed K         base seed; member s uses RNG stream s of seed K (default 0)\n"
    "  --every k        record every k steps, k >= 1; the last step is always recorded (default 1)\n"
    "  --help           this text\n";

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

/* Reads a CSV of numbers into t. Returns 0 or prints one error line and returns 1. */
static int read_csv(const char *path, table *t)
{
    FILE *fp = fopen(path, "r");
    char line[65536], msg[512];
    int lineno = 0, cap = 0;
    t->rows = 0; t->cols = 0; t->v = NULL;
    if (fp == NULL) { snprintf(msg, sizeof msg, "cannot read %s", path); return fail(msg, strerror(errno)); }
    while (fgets(line, sizeof line, fp) != NULL) {
        char *p = line, *end;
        int cols = 0;
        ++lineno;
        if (strchr(line, '\n') == NULL && !feof(fp)) {
            snprintf(msg, sizeof msg, "%s:%d: line too long", path, lineno);
            return csv_fail(fp, t, msg);
        }
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') ++p;
        if (*p == '\0') continue;   /* blank line */
        for (;;) {
            double x;
            errno = 0;
            x = strtod(p, &end);
            if (end == p || x != x || x - x != 0) {
                snprintf(msg, sizeof msg, "%s:%d: column %d is not a finite number", path, lineno, cols + 1);
                return csv_fail(fp, t, msg);
            }
            if (t->rows * (t->cols ? t->cols : 1) + cols + 1 > cap) {
                double *nv;
                cap = cap ? 2 * cap : 1024;
                nv = (double *)realloc(t->v, (size_t)cap * sizeof(double));
                if (nv == NULL) return csv_fail(fp, t, "out of memory reading the CSV");
                t->v = nv;
            }
            t->v[(size_t)t->rows * (size_t)t->cols + (size_t)cols] = x;   /* cols is 0 until row 1 ends */
            ++cols;
            p = end;
            while (*p == ' ' || *p == '\t') ++p;
            if (*p == ',') { ++p; continue; }
            while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') ++p;
            if (*p != '\0') {
                snprintf(msg, sizeof msg, "%s:%d: column %d is not a finite number", path, lineno, cols);
                return csv_fail(fp, t, msg);
            }
            break;
        }
        if (t->cols == 0) t->cols = cols;
        else if (cols != t->cols) {
            snprintf(msg, sizeof msg, "%s:%d: ragged row: %d columns, expected %d", path, lineno, cols, t->cols);
            return csv_fail(fp, t, msg);
        }
        ++t->rows;
    }
    if (t->rows == 0) {
        snprintf(msg, sizeof msg, "%s: no data rows", path);
        return csv_fail(fp, t, msg);
    }
    fclose(fp);
    return 0;
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

static int simulate(int argc, char **argv)
{
    const char *train_path = NULL, *test_path = NULL;
    int depth = 1, width = 256, steps = 100, seeds = 1, every = 1, ntk = 0, i, r, pt;
    double gamma0 = 1, lr = 0.1;
    long long seed = 0;
    fw_activation act = FW_ACT_TANH;
    table tr, te;
    fw_real *X, *y, *yt = NULL, *mem;
    fw_ensemble_desc ed;
    fw_data data;
    fw_stats st;
    fw_status s;
    int D, P, Q, nrec, len, bad_step = -1;
    char msg[256];
    for (i = 0; i < argc; ++i) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1;
        if (strcmp(o, "--help") == 0) { fputs(usage, stdout); return 0; }
        if (strcmp(o, "--ntk") == 0) { ntk = 1; continue; }
        if (v == NULL) { fprintf(stderr, "finwidth: %s needs a value (see --help)\n", o); return 2; }
        if (strcmp(o, "--data") == 0) train_path = v;
        else if (strcmp(o, "--test") == 0) test_path = v;
        else if (strcmp(o, "--depth") == 0) ok = parse_int(v, &depth) && depth >= 1;
        else if (strcmp(o, "--act") == 0) ok = fw_act_parse(v, &act) == FW_OK;
        else if (strcmp(o, "--width") == 0) ok = parse_int(v, &width) && width >= 1;
        else if (strcmp(o, "--gamma0") == 0) ok = parse_real(v, &gamma0) && gamma0 > 0;
        else if (strcmp(o, "--lr") == 0) ok = parse_real(v, &lr) && lr > 0;
        else if (strcmp(o, "--steps") == 0) ok = parse_int(v, &steps) && steps >= 0;
        else if (strcmp(o, "--seeds") == 0) ok = parse_int(v, &seeds) && seeds >= 1;
        else if (strcmp(o, "--every") == 0) ok = parse_int(v, &every) && every >= 1;
        else if (strcmp(o, "--seed") == 0) { int k; ok = parse_int(v, &k) && k >= 0; seed = k; }
        else { fprintf(stderr, "finwidth: unknown option %s (see --help)\n", o); return 2; }
        if (!ok) {
            const char *want = strcmp(o, "--act") == 0 ? "tanh, relu, erf or linear"
                             : strcmp(o, "--steps") == 0 ? "an integer >= 0"
                             : strcmp(o, "--gamma0") == 0 || strcmp(o, "--lr") == 0 ? "a finite number > 0"
                             : "an integer >= 1";
            fprintf(stderr, "finwidth: bad value '%s' for %s: expected %s\n", v, o, want);
            return 2;
        }
        ++i;
    }
    if (train_path == NULL) { fprintf(stderr, "finwidth: --data TRAIN.csv is required (see --help)\n"); return 2; }
    if (read_csv(train_path, &tr)) return 1;
    if (tr.cols < 2) { free(tr.v); return fail("training CSV needs at least one input column and y", train_path); }
    D = tr.cols - 1; P = tr.rows; Q = 0;
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
    X = (fw_real *)malloc(sizeof(fw_real) * (size_t)(P + Q) * (size_t)D);
    y = (fw_real *)malloc(sizeof(fw_real) * (size_t)P);
    if (Q > 0 && te.cols == D + 1) yt = (fw_real *)malloc(sizeof(fw_real) * (size_t)Q);
    if (X == NULL || y == NULL || (Q > 0 && te.cols == D + 1 && yt == NULL)) { free(tr.v); free(te.v); return fail("out of memory", NULL); }
    for (i = 0; i < P; ++i) {
        for (r = 0; r < D; ++r) X[(size_t)i * D + r] = (fw_real)tr.v[(size_t)i * tr.cols + r];
        y[i] = (fw_real)tr.v[(size_t)i * tr.cols + D];
    }
    for (i = 0; i < Q; ++i) {
        for (r = 0; r < D; ++r) X[(size_t)(P + i) * D + r] = (fw_real)te.v[(size_t)i * te.cols + r];
        if (yt != NULL) yt[i] = (fw_real)te.v[(size_t)i * te.cols + D];
    }
    free(tr.v); free(te.v);
    memset(&ed, 0, sizeof ed);
    ed.net.input_dim = D; ed.net.width = width; ed.net.depth = depth; ed.net.act = act;
    ed.net.gamma0 = (fw_real)gamma0; ed.net.ntk = ntk; ed.net.seed = (uint64_t)seed;
    ed.lr = (fw_real)lr; ed.steps = steps; ed.every = every;
    data.P = P; data.Q = Q; data.D = D; data.X = X; data.ldx = D; data.y = y; data.y_test = yt;
    s = fw_ensemble_shape(&ed, &data, &nrec, &len);
    if (s != FW_OK) { free(X); free(y); free(yt); return fail(fw_status_string(s), NULL); }
    mem = (fw_real *)malloc(sizeof(fw_real) * 2 * (size_t)nrec * (size_t)len);
    if (mem == NULL) { free(X); free(y); free(yt); return fail("out of memory", NULL); }
    fw_stats_init(&st, nrec * len, mem, mem + (size_t)nrec * len);
    s = fw_ensemble_run(&ed, &data, 0, (uint64_t)seeds, &st, &bad_step, NULL);
    if (s == FW_ERR_DIVERGED) {
        snprintf(msg, sizeof msg, "training diverged at step %d (loss or outputs became NaN/Inf): learning rate %g is too large", bad_step, lr);
        free(X); free(y); free(yt); free(mem);
        return fail(msg, NULL);
    }
    if (s != FW_OK) { free(X); free(y); free(yt); free(mem); return fail(fw_status_string(s), NULL); }
    printf("t,point,mean,var\n");
    for (r = 0; r < nrec; ++r)
        for (pt = 0; pt < P + Q; ++pt)
            printf("%d,%d,%.10g,%.10g\n", fw_ensemble_record_time(&ed, r), pt,
                   (double)st.mean[(size_t)r * len + pt], (double)fw_stats_var(&st, r * len + pt));
    free(X); free(y); free(yt); free(mem);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "simulate") == 0) return simulate(argc - 2, argv + 2);
    fprintf(stderr, "finwidth: unknown command '%s' (commands: simulate; see --help)\n", argv[1]);
    return 2;
}
