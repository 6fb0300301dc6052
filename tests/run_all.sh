#!/usr/bin/env bash
# Runs every test build (ninja test calls this), as many at once as there are cores (JOBS=K
# overrides), longest first; then one summary line per build in a fixed order, and the total as
# the last line: "N passed, M failed". Exits non-zero if any build failed or crashed.
set -u
b=${1:-build}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
export OPENBLAS_NUM_THREADS=1   # the suites share the cores; OpenBLAS's own threads would oversubscribe them
mkdir -p "$b/logs"
rm -f "$b"/logs/*.log "$b"/logs/*.rc "$b"/logs/*.time
start=$(date +%s)

qemu() {
    timeout 600 qemu-system-arm -M "$1" -nographic -semihosting-config enable=on,target=native -kernel "$2"
}

# The suites, LABEL and command, longest first (measured on 2 cores: the statistical suite
# ~4 min, valgrind and the soft-double ARM run ~2 min each, the rest seconds to a minute).
labels=()
cmds=()
suite() { labels+=("$1"); shift; cmds+=("$*"); }
suite theory-vs-sim "$b/test_stat"
suite valgrind valgrind -q --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=definite,indirect "$b/test_gcc"
suite arm-m3-double qemu mps2-an385 "$b/test_arm_m3.elf"
suite arm-m4-float qemu mps2-an386 "$b/test_arm_m4.elf"
suite demo-smoke bash tests/test_demo.sh "$b/finwidth_demo"
suite cli-asan bash tests/test_cli.sh "$b/finwidth_sanitize"
suite asan+ubsan "$b/test_sanitize"
suite cli bash tests/test_cli.sh "$b/finwidth"
suite cli-m32 bash tests/test_cli.sh "$b/finwidth32"
# --single-threaded-gc: node 20 (V8 11.3) segfaults in its concurrent garbage collector after
# this module has run (found on the fluctuation bias test: exit 139 every run, after the module's
# last line; a V8 map check fails in JS code, outside wasm). Pinned down by flags: the crash stays
# with --liftoff-only, --no-liftoff, no tier-up and no concurrent compilation, and goes with
# --single-threaded or --single-threaded-gc. A host crash cannot come from the module's semantics.
suite wasm32 node --no-warnings --single-threaded-gc tests/run_wasm.mjs "$b/test.wasm"
suite clang++-c++11 "$b/test_clangxx"
suite g++-c++11 "$b/test_cxx"
suite cblas "$b/test_cblas"
suite gcc-c99 "$b/test_gcc"
suite clang-c99 "$b/test_clang"
suite float "$b/test_float"
suite gcc-m32 "$b/test_gcc32"
suite threads "$b/test_parallel"
suite threads-tsan "$b/test_parallel_tsan"
suite threads-float "$b/test_parallel_float"
suite mpi bash tests/test_mpi.sh "$b/finwidth_mpi" "$b/finwidth" "$b/ensemble_mpi"
suite web bash tests/test_web.sh "$b"
suite mcu-example bash tests/test_mcu.sh "$b"
suite readme-example bash tests/test_readme.sh "$b/purpose"
suite python python3 tests/test_python.py "$b"

# launch I: runs suite I in the background; its log, exit status and seconds go to $b/logs.
launch() {
    local label=${labels[$1]} cmd=${cmds[$1]}
    (
        t0=$(date +%s)
        eval "$cmd" >"$b/logs/$label.log" 2>&1
        echo $? >"$b/logs/$label.rc"
        echo $(($(date +%s) - t0)) >"$b/logs/$label.time"
    ) &
}

running=0
for i in "${!labels[@]}"; do
    if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
    launch "$i"
    running=$((running + 1))
done
wait

total_pass=0
total_fail=0
for label in "${labels[@]}"; do
    log="$b/logs/$label.log"
    rc=$(cat "$b/logs/$label.rc" 2>/dev/null || echo 99)
    secs=$(cat "$b/logs/$label.time" 2>/dev/null || echo '?')
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "$label: no summary line (exit $rc); last lines of $log:"
        tail -n 15 "$log" | sed 's/^/    /'
        total_fail=$((total_fail + 1))
        continue
    fi
    p=${line%% passed*}
    f=${line#*, }; f=${f%% failed*}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi      # a crash or a sanitizer/valgrind error
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    printf '%-14s %-22s %4ss%s\n' "$label:" "$line" "$secs" "$([ "$rc" -ne 0 ] && echo " (exit $rc)")"
    if [ "$f" -ne 0 ]; then grep -E 'FAIL|check failed|tolerance|ERROR|runtime error|==[0-9]+==' "$log" | head -n 20 | sed 's/^/    /'; fi
done
echo "arm code size of finwidth.h (cortex-m4, -Os, bytes):"
sed 's/^/    /' "$b/arm_size.txt"
echo "test wall time: $(($(date +%s) - start)) s on $jobs parallel jobs"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
