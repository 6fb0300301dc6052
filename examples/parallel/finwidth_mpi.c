/* finwidth_mpi: the finwidth command line on MPI ranks (Debian: openmpi-bin, libopenmpi-dev).

     mpirun -np K build/finwidth_mpi dmft --data train.csv ...     (also theory, simulate, compare)

   prints what build/finwidth prints for the same command. dmft and theory (depth 1) split their
   single sites over the ranks (fw_reduce with MPI_Allreduce; the same numbers up to the order of
   the sums), simulate and compare split the seeds (bitwise the same). Rank 0 prints and writes
   the files; the other ranks write theirs into a private temporary directory that is removed.
   The library stays free of MPI: this file is the only place that knows it. */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#define main finwidth_cli_main
#include "../finwidth.c"
#undef main
#include <unistd.h>

/* fw_reduce's fn over MPI_COMM_WORLD. */
static void mpi_allreduce(void *user, double *x, int n)
{
    (void)user;
    MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

int main(int argc, char **argv)
{
    int rank = 0, size = 1, rc, i;
    char dir[64] = "", **args = argv;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    cli_processes.fn = mpi_allreduce;
    cli_processes.rank = rank;
    cli_processes.ranks = size;
    if (rank > 0) {   /* silent, and its output files out of the way */
        args = (char **)malloc(sizeof(char *) * (size_t)(argc + 1));
        snprintf(dir, sizeof dir, "/tmp/finwidth_mpi_XXXXXX");
        if (args == NULL || mkdtemp(dir) == NULL || freopen("/dev/null", "w", stdout) == NULL || freopen("/dev/null", "w", stderr) == NULL)
            MPI_Abort(MPI_COMM_WORLD, 1);
        for (i = 0; i < argc; ++i) {
            args[i] = argv[i];
            if (i > 0 && (strcmp(argv[i - 1], "--per-seed") == 0 || strcmp(argv[i - 1], "--kernels") == 0 ||
                          strcmp(argv[i - 1], "--losses") == 0 || strcmp(argv[i - 1], "-o") == 0)) {
                char *p = (char *)malloc(strlen(dir) + 16);
                if (p == NULL) MPI_Abort(MPI_COMM_WORLD, 1);
                sprintf(p, "%s/f%d.csv", dir, i);
                args[i] = p;
            }
        }
        args[argc] = NULL;
    }
    rc = finwidth_cli_main(argc, args);
    if (rank > 0) {
        for (i = 1; i < argc; ++i)
            if (args[i] != argv[i]) {
                char ntk[128];
                remove(args[i]);
                snprintf(ntk, sizeof ntk, "%.*s_ntk.csv", (int)strlen(args[i]) - 4, args[i]);
                remove(ntk);
                free(args[i]);
            }
        rmdir(dir);
        free(args);
    }
    MPI_Finalize();
    return rc;
}
