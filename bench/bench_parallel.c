/* Work split across workers: speed-up and parallel efficiency on this machine's cores.
   1. A two-layer DMFT solve with M = 10^6 single sites (P = 16 training points, D = 16, T = 50,
      tanh; R = 2 replicates plus the pooled solve), on 1 and 2 threads (fw_reduce with
      examples/parallel/fw_threads.h) and, when build/finwidth_mpi has MPI, on 1 and 2 MPI ranks
      (the same solve through `finwidth_mpi dmft`, timed as a whole process).
   2. A 400-seed ensemble of width-1024 networks (the same data, T = 50): the seeds split over 1
      and 2 threads, the two halves merged with fw_stats_merge; and over 1 and 2 MPI ranks
      (build/ensemble_mpi, which merges the ranks' statistics the same way), timed as a whole process.
   3. The communication model: the all-reduce of the two-layer march moves n + 1 reals a step
      (plus P^2 at recorded steps); its latency (measured here for 2 threads; a table for others)
      against the compute per step, M/K sites x (time per site-step, measured in 1.), gives the
      sites per worker below which the all-reduce dominates. */
#include "bench_clock.h"
#define FINWIDTH_IMPLEMENTATION
#include "../finwidth.h"
#include "../examples/parallel/fw_threads.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { P = 16, D = 16, T = 50, M = 1000000, SEEDS = 400, WIDTH = 1024 };

typedef struct job { fw_dmft_desc d; const fw_data *data; fw_dmft_result res; fw_status st; } job;

static void *job_run(void *p)
{
    job *j = (job *)p;
    j->st = fw_dmft_run(&j->d, j->data, &j->res, NULL);
    return NULL;
}

static double dmft_threads(int K, const fw_dmft_desc *d, const fw_data *data, double *f0)
{
    fwt_team team;
    job jobs[2];
    double t0;
    int k;
    fwt_team_init(&team, K);
    for (k = 0; k < K; ++k) { jobs[k].d = *d; jobs[k].d.reduce = fwt_reduce_of(&team, k); jobs[k].data = data; }
    t0 = bench_now();
    fwt_run(K, job_run, jobs, sizeof jobs[0], 1);
    t0 = bench_now() - t0;
    if (jobs[0].st != FW_OK) { fprintf(stderr, "bench_parallel: dmft failed (%s)\n", fw_status_string(jobs[0].st)); exit(1); }
    *f0 = (double)jobs[0].res.f[(size_t)(jobs[0].res.n_records - 1) * jobs[0].res.n_points];
    for (k = 0; k < K; ++k) fw_dmft_result_free(&jobs[k].res);
    fwt_team_destroy(&team);
    return t0;
}

typedef struct ens { fw_ensemble_desc d; const fw_data *data; uint64_t b, e; fw_stats st; fw_real *mem; } ens;

static void *ens_run(void *p)
{
    ens *j = (ens *)p;
    if (fw_ensemble_run(&j->d, j->data, j->b, j->e, &j->st, NULL, NULL) != FW_OK) abort();
    return NULL;
}

static double ensemble_threads(int K, const fw_ensemble_desc *d, const fw_data *data, double *m0)
{
    ens jobs[2];
    int nrec, len, k;
    double t0;
    fw_ensemble_shape(d, data, &nrec, &len);
    for (k = 0; k < K; ++k) {
        jobs[k].d = *d; jobs[k].data = data;
        jobs[k].b = (uint64_t)(SEEDS * k / K); jobs[k].e = (uint64_t)(SEEDS * (k + 1) / K);
        jobs[k].mem = (fw_real *)malloc(sizeof(fw_real) * 2 * (size_t)nrec * len);
        fw_stats_init(&jobs[k].st, nrec * len, jobs[k].mem, jobs[k].mem + (size_t)nrec * len);
    }
    t0 = bench_now();
    fwt_run(K, ens_run, jobs, sizeof jobs[0], 0);
    if (K > 1) fw_stats_merge(&jobs[0].st, &jobs[1].st);
    t0 = bench_now() - t0;
    *m0 = (double)jobs[0].st.mean[0];
    for (k = 0; k < K; ++k) free(jobs[k].mem);
    return t0;
}

typedef struct pinger { fwt_team *team; int rank, calls; double sec; } pinger;

static void *ping(void *p)
{
    pinger *g = (pinger *)p;
    fw_reduce r = fwt_reduce_of(g->team, g->rank);
    double x[P + 1];
    int i;
    double t0 = bench_now();
    for (i = 0; i < g->calls; ++i) { memset(x, 0, sizeof x); r.fn(r.user, x, P + 1); }
    g->sec = (bench_now() - t0) / g->calls;
    return NULL;
}

/* Seconds of `finwidth_mpi dmft` on np ranks (-1 when there is no MPI build or it fails). */
static double mpi_run(int np, const char *mpi, const char *csv)
{
    char cmd[1024];
    double t0;
    int rc;
    snprintf(cmd, sizeof cmd, "OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1 mpirun --allow-run-as-root -np %d %s dmft "
             "--data %s --steps %d --every %d --samples %d --replicates 2 --act tanh --lr 0.5 >/dev/null 2>&1", np, mpi, csv, T, T, M);
    t0 = bench_now();
    rc = system(cmd);
    return rc == 0 ? bench_now() - t0 : -1;
}

/* Seconds of `ensemble_mpi` (the 400-seed ensemble) on np ranks (-1 without MPI or on failure). */
static double mpi_ensemble(int np, const char *ens, const char *csv)
{
    char cmd[1024];
    double t0;
    int rc;
    snprintf(cmd, sizeof cmd, "OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1 mpirun --allow-run-as-root -np %d %s "
             "--data %s --steps %d --every %d --width %d --seeds %d --seed 1 --act tanh --lr 0.5 >/dev/null 2>&1", np, ens, csv, T, T, WIDTH, SEEDS);
    t0 = bench_now();
    rc = system(cmd);
    return rc == 0 ? bench_now() - t0 : -1;
}

int main(int argc, char **argv)
{
    const char *mpi = argc > 1 ? argv[1] : "build/finwidth_mpi", *ens = argc > 2 ? argv[2] : "build/ensemble_mpi";
    fw_real X[P * D], y[P];
    fw_data data;
    fw_dmft_desc d;
    fw_ensemble_desc e;
    fw_rng rng;
    double t1, t2, f1, f2, s1, s2, m1, m2, site_step;
    int i;
    fw_rng_init(&rng, 5, 0);
    fw_rng_fill_normal(&rng, X, P * D, 1);
    for (i = 0; i < P; ++i) y[i] = (fw_real)(i % 2 ? -0.8 : 0.8);
    memset(&data, 0, sizeof data);
    data.P = P; data.D = D; data.X = X; data.ldx = D; data.y = y;
    memset(&d, 0, sizeof d);
    d.act = FW_ACT_TANH; d.gamma0 = 1; d.lr = (fw_real)0.5; d.steps = T; d.every = T; d.samples = M; d.replicates = 2;
    printf("parallel: two-layer DMFT, M = %d sites, P = %d, D = %d, T = %d, tanh (2 replicates + the pooled solve)\n", M, P, D, T);
    t1 = dmft_threads(1, &d, &data, &f1);
    t2 = dmft_threads(2, &d, &data, &f2);
    printf("  threads: 1: %.2f s, 2: %.2f s; speed-up %.2f, parallel efficiency %.0f%% (f(T) %.12f vs %.12f)\n",
           t1, t2, t1 / t2, 50 * t1 / t2, f1, f2);
    site_step = t1 / (2.0 * M * (T + 1));
    {   /* the same solve as a CSV for the MPI front end */
        FILE *fp = fopen("build/bench_parallel.csv", "w");
        int a, j;
        if (fp != NULL) {
            for (a = 0; a < P; ++a) { for (j = 0; j < D; ++j) fprintf(fp, "%.17g,", (double)X[a * D + j]); fprintf(fp, "%.17g\n", (double)y[a]); }
            fclose(fp);
            s1 = mpi_run(1, mpi, "build/bench_parallel.csv");
            s2 = s1 > 0 ? mpi_run(2, mpi, "build/bench_parallel.csv") : -1;
            if (s1 > 0 && s2 > 0) printf("  MPI ranks (whole process, finwidth_mpi): 1: %.2f s, 2: %.2f s; speed-up %.2f, efficiency %.0f%%\n", s1, s2, s1 / s2, 50 * s1 / s2);
            else printf("  MPI ranks: skipped (no working %s)\n", mpi);
        }
    }
    memset(&e, 0, sizeof e);
    e.net.input_dim = D; e.net.width = WIDTH; e.net.act = FW_ACT_TANH; e.net.gamma0 = 1; e.net.seed = 1;
    e.lr = (fw_real)0.5; e.steps = T; e.every = T;
    printf("parallel: ensemble of %d networks, width %d, T = %d\n", SEEDS, WIDTH, T);
    s1 = ensemble_threads(1, &e, &data, &m1);
    s2 = ensemble_threads(2, &e, &data, &m2);
    printf("  threads: 1: %.2f s, 2: %.2f s; speed-up %.2f, parallel efficiency %.0f%% (mean f(0) %.12f vs %.12f)\n",
           s1, s2, s1 / s2, 50 * s1 / s2, m1, m2);
    s1 = mpi_ensemble(1, ens, "build/bench_parallel.csv");
    s2 = s1 > 0 ? mpi_ensemble(2, ens, "build/bench_parallel.csv") : -1;
    if (s1 > 0 && s2 > 0) printf("  MPI ranks (whole process, ensemble_mpi): 1: %.2f s, 2: %.2f s; speed-up %.2f, efficiency %.0f%%\n", s1, s2, s1 / s2, 50 * s1 / s2);
    else printf("  MPI ranks: skipped (no working %s)\n", ens);
    {   /* the all-reduce's cost against the compute per step */
        fwt_team team;
        pinger g[2];
        pthread_t tid;
        fwt_team_init(&team, 2);
        for (i = 0; i < 2; ++i) { g[i].team = &team; g[i].rank = i; g[i].calls = 20000; }
        pthread_create(&tid, NULL, ping, &g[1]);
        ping(&g[0]);
        pthread_join(tid, NULL);
        fwt_team_destroy(&team);
        printf("parallel: communication model of the two-layer march: one all-reduce of n + 1 = %d reals a step\n"
               "  (%d bytes; P^2 more at recorded steps) against (M / K) sites x %.2g s of compute per site and step\n"
               "  (measured in 1.). An all-reduce of latency L costs as much as a step's compute at L / %.2g s sites\n"
               "  per worker; measured here, 2 threads in shared memory: L = %.2g s -> %.0f sites per worker (M = %d\n"
               "  on 2 workers: the all-reduce is %.2f%% of a step). For other latencies (not measured here):\n",
               P + 1, (int)((P + 1) * sizeof(fw_real)), site_step, site_step, g[0].sec, g[0].sec / site_step, M,
               100 * g[0].sec / (site_step * M / 2));
        {
            const double lat[3] = {1e-6, 1e-5, 1e-4};
            for (i = 0; i < 3; ++i) printf("    L = %.0e s: %.0f sites per worker\n", lat[i], lat[i] / site_step);
        }
    }
    return 0;
}
