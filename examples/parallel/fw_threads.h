/* fw_threads.h: the all-reduce of fw_reduce for K POSIX threads of one process (no dependency but
   pthreads; the library itself creates no thread). Used by the command line (--threads K) and by
   examples/parallel/threads.c.

   A team of K members: member k runs the solver with reduce = {fwt_allreduce, &team->member[k], k, K}.
   Each call posts the member's partial sums, waits for all K, and every member then reads the
   same total: the K vectors are added in rank order (member 0 first), so all members get
   bit-identical sums. Three barriers per call. The team must not be used by two solves at once.

     fwt_team team;
     fwt_team_init(&team, K);             (0 on success)
     job k: desc.reduce = fwt_reduce_of(&team, k); a function running fw_dmft_run_ws(&desc, ...)
     fwt_run(K, function, jobs, sizeof jobs[0], 1);   (the K members at once)
     fwt_team_destroy(&team);
*/
#ifndef FW_THREADS_H
#define FW_THREADS_H
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "finwidth.h"

#define FWT_MAX 256

typedef struct fwt_team fwt_team;
typedef struct fwt_member { fwt_team *team; int rank; } fwt_member;

struct fwt_team {
    int K;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int waiting;
    unsigned long generation;
    double *slot[FWT_MAX];    /* each member's vector during a call */
    double *sum;              /* the totals (capacity cap) */
    int cap;
    fwt_member member[FWT_MAX];
};

/* A reusable barrier for the team's K members. */
static void fwt_barrier(fwt_team *t)
{
    unsigned long gen;
    pthread_mutex_lock(&t->mu);
    gen = t->generation;
    if (++t->waiting == t->K) {
        t->waiting = 0;
        ++t->generation;
        pthread_cond_broadcast(&t->cv);
    } else {
        while (gen == t->generation) pthread_cond_wait(&t->cv, &t->mu);
    }
    pthread_mutex_unlock(&t->mu);
}

static int fwt_team_init(fwt_team *t, int K)
{
    int k;
    if (K < 1 || K > FWT_MAX) return 1;
    memset(t, 0, sizeof *t);
    t->K = K;
    if (pthread_mutex_init(&t->mu, NULL) != 0) return 1;
    if (pthread_cond_init(&t->cv, NULL) != 0) { pthread_mutex_destroy(&t->mu); return 1; }
    for (k = 0; k < K; ++k) { t->member[k].team = t; t->member[k].rank = k; }
    return 0;
}

static void fwt_team_destroy(fwt_team *t)
{
    free(t->sum);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
}

/* fw_reduce's fn: x[0..n) <- the sum of every member's x, added in rank order. */
static void fwt_allreduce(void *user, double *x, int n)
{
    fwt_member *me = (fwt_member *)user;
    fwt_team *t = me->team;
    int i, k, lo, hi;
    t->slot[me->rank] = x;
    if (me->rank == 0 && n > t->cap) {   /* every member calls with the same n: grown before anyone sums */
        double *p = (double *)realloc(t->sum, sizeof(double) * (size_t)n);
        if (p == NULL) abort();          /* a member cannot leave the team halfway through a solve */
        t->sum = p;
        t->cap = n;
    }
    fwt_barrier(t);
    lo = (int)((long long)n * me->rank / t->K);   /* each member adds its slice of the entries */
    hi = (int)((long long)n * (me->rank + 1) / t->K);
    for (i = lo; i < hi; ++i) {
        double acc = t->slot[0][i];
        for (k = 1; k < t->K; ++k) acc += t->slot[k][i];
        t->sum[i] = acc;
    }
    fwt_barrier(t);
    memcpy(x, t->sum, sizeof(double) * (size_t)n);
    fwt_barrier(t);   /* nobody posts the next call's vector before everyone has copied this one */
}

/* Runs fn on jobs 0 .. K-1 (job k at (char *)jobs + k stride): 1 .. K-1 on new threads, 0 on the
   caller's, and joins them. The members of a team (team != 0) must all run at once, so a thread
   that cannot be created ends the program; independent jobs then run on the caller's thread. */
static void fwt_run(int K, void *(*fn)(void *), void *jobs, size_t stride, int team)
{
    pthread_t tid[FWT_MAX];
    int ok[FWT_MAX], k;
    for (k = 1; k < K && k < FWT_MAX; ++k) {
        ok[k] = pthread_create(&tid[k], NULL, fn, (char *)jobs + (size_t)k * stride) == 0;
        if (!ok[k] && team) abort();
    }
    fn(jobs);
    for (k = 1; k < K && k < FWT_MAX; ++k) {
        if (ok[k]) pthread_join(tid[k], NULL);
        else fn((char *)jobs + (size_t)k * stride);
    }
}

static fw_reduce fwt_reduce_of(fwt_team *t, int rank)
{
    fw_reduce r;
    r.fn = fwt_allreduce;
    r.user = &t->member[rank];
    r.rank = rank;
    r.ranks = t->K;
    return r;
}

#endif /* FW_THREADS_H */
