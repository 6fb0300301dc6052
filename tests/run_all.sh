#!/usr/bin/env bash
# Runs every test build in turn (ninja test calls this), one summary line per build, then the
# total as the last line: "N passed, M failed". Exits non-zero if any build failed or crashed.
set -u
b=${1:-build}
mkdir -p "$b/logs"
total_pass=0
total_fail=0

# run LABEL COMMAND...: runs one build of the suite; its log goes to $b/logs/LABEL.log.
run() {
    local label=$1 log="$b/logs/$1.log" rc line p f
    shift
    "$@" >"$log" 2>&1
    rc=$?
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "$label: no summary line (exit $rc); last lines of $log:"
        tail -n 15 "$log" | sed 's/^/    /'
        total_fail=$((total_fail + 1))
        return
    fi
    p=${line%% passed*}
    f=${line#*, }; f=${f%% failed*}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi      # a crash or a sanitizer/valgrind error
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    printf '%-14s %s%s\n' "$label:" "$line" "$([ "$rc" -ne 0 ] && echo " (exit $rc)")"
    if [ "$f" -ne 0 ]; then grep -E 'FAIL|check failed|tolerance|ERROR|runtime error|==[0-9]+==' "$log" | head -n 20 | sed 's/^/    /'; fi
}

qemu() {
    timeout 600 qemu-system-arm -M "$1" -nographic -semihosting-config enable=on,target=native -kernel "$2"
}

run cli bash tests/test_cli.sh "$b/finwidth"
run cli-asan bash tests/test_cli.sh "$b/finwidth_sanitize"
run demo-smoke bash tests/test_demo.sh "$b/finwidth_demo"
run mcu-example bash tests/test_mcu.sh "$b"
run gcc-c99 "$b/test_gcc"
run clang-c99 "$b/test_clang"
run g++-c++11 "$b/test_cxx"
run clang++-c++11 "$b/test_clangxx"
run asan+ubsan "$b/test_sanitize"
run float "$b/test_float"
run cblas "$b/test_cblas"
run valgrind valgrind -q --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=definite,indirect "$b/test_gcc"
run theory-vs-sim "$b/test_stat"
# --single-threaded-gc: node 20 (V8 11.3) segfaults in its concurrent garbage collector after
# this module has run (found on the fluctuation bias test: exit 139 every run, after the module's
# last line; a V8 map check fails in JS code, outside wasm). Pinned down by flags: the crash stays
# with --liftoff-only, --no-liftoff, no tier-up and no concurrent compilation, and goes with
# --single-threaded or --single-threaded-gc. A host crash cannot come from the module's semantics.
run wasm32 node --no-warnings --single-threaded-gc tests/run_wasm.mjs "$b/test.wasm"
run arm-m4-float qemu mps2-an386 "$b/test_arm_m4.elf"
run arm-m3-double qemu mps2-an385 "$b/test_arm_m3.elf"
echo "arm code size of finwidth.h (cortex-m4, -Os, bytes):"
sed 's/^/    /' "$b/arm_size.txt"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
