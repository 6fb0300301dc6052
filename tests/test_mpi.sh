#!/usr/bin/env bash
# The command line on 1, 2 and 3 MPI ranks (build/finwidth_mpi) against the plain build/finwidth:
# simulate and compare split the seeds (bitwise the same output, and the same --per-seed file);
# build/ensemble_mpi merges per-rank ensembles with fw_stats_merge (the same up to rounding);
# dmft (depth 1 and 2) and theory (with the O(1/N) bias) split the single sites (the same up to the
# order of the sums, 1e-12 relative: 1e-9 at 10 printed digits), the deep propagator too. Skipped (and said so) when the build has
# no MPI. Last line: "N passed, M failed".
mpi=${1:-build/finwidth_mpi}
bin=${2:-build/finwidth}
ens=${3:-build/ensemble_mpi}
. "$(dirname "$0")/checks.sh"
"$mpi" --help >/dev/null 2>&1
if [ $? -eq 77 ]; then
    echo "mpi: skipped (build/finwidth_mpi was built without MPI: install openmpi-bin and libopenmpi-dev)"
    echo "0 passed, 0 failed"
    exit 0
fi
run() {   # run NP ARGS...: the MPI front end on NP ranks (shared memory only, oversubscribed)
    local np=$1
    shift
    OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1 timeout 300 \
        mpirun --allow-run-as-root -np "$np" "$mpi" "$@"
}
close() {   # close A B [TOL]: the same rows, numbers within TOL relative (default 1e-9)
    [ "$(wc -l <"$1")" -gt 2 ] && [ "$(wc -l <"$1")" = "$(wc -l <"$2")" ] &&
        paste -d, "$1" "$2" | awk -F, -v tol="${3:-1e-9}" 'NR == 1 { next } { h = NF / 2; for (i = 1; i <= h; ++i) {
            a = $i; b = $(i + h); d = a - b; if (d < 0) d = -d; s = a < 0 ? -a : a; if (d > tol * s + 1e-12) exit 1 } }'
}
printf '0.5,1.0,1\n-1.0,0.3,-1\n0.2,-0.7,0.5\n0.9,0.1,-0.3\n' >"$tmp/train.csv"
printf '1.0,1.0\n-0.5,0.5\n' >"$tmp/test.csv"
data=(--data "$tmp/train.csv" --test "$tmp/test.csv" --steps 8)
"$bin" simulate "${data[@]}" --width 32 --seeds 11 --per-seed "$tmp/ps" >"$tmp/sim"
"$bin" dmft "${data[@]}" --samples 4096 --replicates 4 --kernels "$tmp/k.csv" >"$tmp/dmft"
"$bin" theory "${data[@]}" --samples 4096 --replicates 4 >"$tmp/theory"
"$bin" compare "${data[@]}" --width 64 --seeds 6 --samples 2048 --replicates 4 >"$tmp/compare" 2>/dev/null
"$bin" theory --data "$tmp/train.csv" --depth 2 --steps 2 --samples 600 --replicates 2 >"$tmp/deep"
"$bin" dmft "${data[@]}" --depth 2 --lr 0.2 --steps 12 --samples 1024 --replicates 4 >"$tmp/dmft2"
"$bin" theory "${data[@]}" --samples 1024 --replicates 4 --bias >"$tmp/bias"
for np in 1 2 3; do
    run "$np" simulate "${data[@]}" --width 32 --seeds 11 --per-seed "$tmp/ps$np" >"$tmp/o" 2>"$tmp/e"
    if cmp -s "$tmp/o" "$tmp/sim" && cmp -s "$tmp/ps$np" "$tmp/ps"; then ok; else bad "simulate on $np ranks ($(head -c 200 "$tmp/e"))"; fi
    run "$np" dmft "${data[@]}" --samples 4096 --replicates 4 --kernels "$tmp/k$np.csv" >"$tmp/o" 2>"$tmp/e"
    if close "$tmp/o" "$tmp/dmft" && close "$tmp/k$np.csv" "$tmp/k.csv"; then ok; else bad "dmft on $np ranks ($(head -c 200 "$tmp/e"))"; fi
    run "$np" theory "${data[@]}" --samples 4096 --replicates 4 >"$tmp/o" 2>"$tmp/e"
    if close "$tmp/o" "$tmp/theory"; then ok; else bad "theory on $np ranks ($(head -c 200 "$tmp/e"))"; fi
    run "$np" compare "${data[@]}" --width 64 --seeds 6 --samples 2048 --replicates 4 >"$tmp/o" 2>/dev/null
    if close "$tmp/o" "$tmp/compare"; then ok; else bad "compare on $np ranks"; fi
    # an ensemble merged over ranks with fw_stats_merge: the same statistics up to the merge's rounding
    OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1 timeout 300 mpirun --allow-run-as-root -np "$np" \
        "$ens" "${data[@]}" --width 32 --seeds 11 >"$tmp/o" 2>"$tmp/e"
    if close "$tmp/o" "$tmp/sim"; then ok; else bad "ensemble_mpi on $np ranks ($(head -c 200 "$tmp/e"))"; fi
    run "$np" dmft "${data[@]}" --depth 2 --lr 0.2 --steps 12 --samples 1024 --replicates 4 >"$tmp/o" 2>"$tmp/e"
    if close "$tmp/o" "$tmp/dmft2"; then ok; else bad "dmft --depth 2 on $np ranks ($(head -c 200 "$tmp/e"))"; fi
    run "$np" theory "${data[@]}" --samples 1024 --replicates 4 --bias >"$tmp/o" 2>"$tmp/e"
    if close "$tmp/o" "$tmp/bias"; then ok; else bad "theory --bias on $np ranks ($(head -c 200 "$tmp/e"))"; fi
    # the deep propagator (its differenced means summed in fixed chunks whatever the split)
    run "$np" theory --data "$tmp/train.csv" --depth 2 --steps 2 --samples 600 --replicates 2 >"$tmp/o" 2>"$tmp/e"
    if close "$tmp/o" "$tmp/deep"; then ok; else bad "theory --depth 2 on $np ranks ($(head -c 200 "$tmp/e"))"; fi
done
# a failing command fails on every rank alike: one message, non-zero exit
run 2 dmft --data "$tmp/train.csv" --gamma0 1e-300 --steps 2 >"$tmp/o" 2>"$tmp/e"
rc=$?
if [ "$rc" -ne 0 ] && [ ! -s "$tmp/o" ] && grep -q -- "--gamma0" "$tmp/e"; then ok; else bad "a failing command on 2 ranks (exit $rc)"; fi
OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1 timeout 300 mpirun --allow-run-as-root -np 3 \
    "$ens" --data "$tmp/train.csv" --width 32 --seeds 5 --steps 30 --lr 1e6 >"$tmp/o" 2>"$tmp/e"
rc=$?
if [ "$rc" -ne 0 ] && grep -q "diverged at step" "$tmp/e"; then ok; else bad "ensemble_mpi with a blow-up (exit $rc)"; fi
summary
