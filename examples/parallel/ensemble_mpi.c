/* ensemble_mpi: an ensemble of width-N networks over MPI ranks, combined with fw_stats_merge.

     mpirun -np K build/ensemble_mpi --data train.csv [--test test.csv] --width 256 --seeds 400 ...

   takes the options of `finwidth simulate` and prints what it prints (t,point,mean,var), up to the
   rounding of the merge. Rank k trains members S k / K .. S (k + 1) / K - 1 (member s draws from RNG
   stream s whatever the split) into its own fw_stats; rank 0 gathers the ranks' counts, means and
   squared deviations and merges them in rank order (Chan's update: the same mean and variance as
   one ensemble, the sums in another order). `finwidth_mpi simulate` instead pushes the members'
   records in seed order (bitwise the one-process output); this file shows the merge, which needs
   no record per member and suits ensembles too large to gather. Unlike simulate, a member that
   blows up ends the run with the error alone (simulate also prints the steps before it). */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <mpi.h>
#define main finwidth_cli_main
#include "../finwidth.c"
#undef main

int main(int argc, char **argv)
{
    int rank = 0, size = 1, rc = 0, nrec = 0, len = 0, r, pt, k, bad = -1, nonfinite = -1;
    options o;
    problem pb;
    fw_ensemble_desc ed;
    fw_data data;
    fw_stats st;
    fw_status s = FW_OK;
    double *mine = NULL, *all = NULL;
    fw_real *mem = NULL;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank > 0 && freopen("/dev/null", "w", stderr) == NULL) MPI_Abort(MPI_COMM_WORLD, 1);
    if ((rc = parse_options(argc - 1, argv + 1, 0, &o)) != 0 || load_problem(&o, &pb) != 0) {
        MPI_Finalize();   /* every rank parses the same arguments, so all stop here alike */
        return rc == 1 ? 0 : 1;
    }
    if (o.per_seed != NULL || o.threads > 1) {
        if (rank == 0) fail("--per-seed and --threads are for finwidth simulate; here every rank is one worker", NULL);
        free_problem(&pb);
        MPI_Finalize();
        return 1;
    }
    data = problem_data(&pb);
    memset(&ed, 0, sizeof ed);
    options_net(&o, &pb, &ed.net);
    ed.lr = (fw_real)o.lr; ed.steps = o.steps; ed.every = o.every;
    s = fw_ensemble_shape(&ed, &data, &nrec, &len);
    if (s == FW_OK && (double)nrec * len > (double)(INT_MAX / 2 - 3) / (size > 1 ? size : 1)) s = FW_ERR_SIZE;   /* MPI counts are int */
    if (s == FW_OK) {
        const size_t n = (size_t)nrec * (size_t)len;
        const uint64_t b = (uint64_t)o.seeds * (uint64_t)rank / (uint64_t)size;
        const uint64_t e = (uint64_t)o.seeds * (uint64_t)(rank + 1) / (uint64_t)size;
        mem = (fw_real *)malloc(sizeof(fw_real) * 2 * n);
        mine = (double *)malloc(sizeof(double) * (2 * n + 3));
        all = rank == 0 ? (double *)malloc(sizeof(double) * (2 * n + 3) * (size_t)size) : NULL;
        if (mem == NULL || mine == NULL || (rank == 0 && all == NULL)) MPI_Abort(MPI_COMM_WORLD, 1);
        fw_stats_init(&st, (int)n, mem, mem + n);
        if (e > b) s = fw_ensemble_run(&ed, &data, b, e, &st, &bad, NULL);
        /* this rank's statistics as doubles: count, status, the step of a blow-up, means, squared deviations */
        mine[0] = (double)st.count;
        mine[1] = (double)s;
        mine[2] = (double)bad;
        for (k = 0; k < (int)n; ++k) { mine[3 + k] = (double)st.mean[k]; mine[3 + n + k] = (double)st.m2[k]; }
        MPI_Gather(mine, (int)(2 * n + 3), MPI_DOUBLE, all, (int)(2 * n + 3), MPI_DOUBLE, 0, MPI_COMM_WORLD);
        if (rank == 0) {
            fw_stats total, part;
            fw_real *tm = (fw_real *)calloc(4 * n, sizeof(fw_real));
            if (tm == NULL) MPI_Abort(MPI_COMM_WORLD, 1);
            fw_stats_init(&total, (int)n, tm, tm + n);
            fw_stats_init(&part, (int)n, tm + 2 * n, tm + 3 * n);
            for (r = 0; r < size && s == FW_OK; ++r) {   /* in rank order; the first failure is reported */
                const double *p = all + (size_t)r * (2 * n + 3);
                if ((s = (fw_status)(int)p[1]) != FW_OK) { bad = (int)p[2]; break; }
                part.count = (long)p[0];
                for (k = 0; k < (int)n; ++k) { part.mean[k] = (fw_real)p[3 + k]; part.m2[k] = (fw_real)p[3 + n + k]; }
                if (part.count > 0) fw_stats_merge(&total, &part);
            }
            if (s == FW_OK) {   /* as simulate: the records before statistics that overflowed, then the error */
                printf("t,point,mean,var\n");
                for (r = 0; r < nrec && nonfinite < 0; ++r)
                    for (pt = 0; pt < pb.P + pb.Q; ++pt)
                        if (!isfinite((double)total.mean[(size_t)r * len + pt]) || !isfinite((double)fw_stats_var(&total, r * len + pt))) nonfinite = r;
                for (r = 0; r < (nonfinite < 0 ? nrec : nonfinite); ++r)
                    for (pt = 0; pt < pb.P + pb.Q; ++pt)
                        printf("%d,%d,%.10g,%.10g\n", fw_ensemble_record_time(&ed, r), pt,
                               (double)total.mean[(size_t)r * len + pt], (double)fw_stats_var(&total, r * len + pt));
                fflush(stdout);
                if (nonfinite >= 0) rc = stats_overflow(fw_ensemble_record_time(&ed, nonfinite), o.lr);
            }
            free(tm);
        }
    }
    if (s == FW_ERR_DIVERGED) rc = rank == 0 ? diverged(bad, o.lr) : 1;
    else if (s != FW_OK) rc = fail(fw_status_string(s), NULL);
    free(mem); free(mine); free(all);
    free_problem(&pb);
    MPI_Finalize();
    return rc;
}
