#!/usr/bin/env bash
# Mutation fuzzer over the whole command line: random commands with hostile option values and
# mutated CSV files, run against the sanitized build (ASan + UBSan). A run fails if it crashes,
# reports a sanitizer error, or exits 0 while printing a non-finite number. Runs that exceed the
# time limit (a huge but valid problem) are counted, not failed.
#   bash tests/fuzz_cli.sh [BIN] [RUNS] [SEED]     (ninja fuzz: build/finwidth_sanitize 2000 1)
set -u
bin=${1:-build/finwidth_sanitize}
runs=${2:-2000}
RANDOM=${3:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# allocator_may_return_null: a request for terabytes is answered NULL (FW_ERR_NOMEM), as in a release build
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1

values=(0 1 2 3 -1 -5 7 64 2147483647 2147483646 -2147483648 46341 1e300 1e-300 1e-400 1e6 0.5 nan inf -inf "" abc 0x10 1e 3.5 99999999999)
acts=(tanh relu erf linear sigmoid "")
samplers=(mc antithetic quadrature exact foo)
opts_net=(--width --depth --gamma0 --lr --steps --seeds --seed --every)
opts_dmft=(--depth --gamma0 --lr --steps --seed --every --samples --replicates --iterate --damping)
opts_dln=(--alpha --nu --depth --gamma0 --lr --steps --seeds --simulate --dim --noise --every --residual --batch-ratio --source --width --batch)
flags=(--ntk --bias --control-variate --lazy --balanced --layers --init-term --deep-limit --centered --help)

# base data: 4 train rows in D = 2, 2 test rows
printf '0.5,1.0,1\n-1.0,0.3,-1\n0.2,-0.7,0.5\n1.5,0.1,0.2\n' >"$tmp/base.csv"
printf '1.0,1.0\n-0.5,0.5\n' >"$tmp/test.csv"

# mutate SRC DST: a random edit of a CSV file
mutate() {
    local content
    content=$(cat "$1")
    case $((RANDOM % 9)) in
        0) content=${content/0.5/${values[RANDOM % ${#values[@]}]}} ;;
        1) content=${content:0:$((RANDOM % (${#content} + 1)))} ;;
        2) content="$content"$'\n'"1,2" ;;
        3) content=${content//,/;} ;;
        4) content=$'\xef\xbb\xbf'"$content" ;;
        5) content=${content//$'\n'/$'\r'} ;;
        6) content="x,y,z"$'\n'"$content" ;;
        7) content=${content/1.0/1e308} ;;
        *) ;;
    esac
    printf '%s\n' "$content" >"$2"
}

pass=0 fail=0 slow=0
for ((i = 0; i < runs; i++)); do
    cmd=(simulate dmft theory dln compare plot)
    c=${cmd[RANDOM % 6]}
    args=("$c")
    mutate "$tmp/base.csv" "$tmp/train.csv"
    if [ "$c" = plot ]; then
        # a mutated CSV output (header row, our columns) drawn with random columns and flags
        printf 't,point,mean,var\n0,0,0.1,0.01\n0,1,-0.2,\n1,0,0.3,0.02\n1,1,1e308,0.5\n' >"$tmp/out.csv"
        mutate "$tmp/out.csv" "$tmp/plot.csv"
        cols=(t point mean var nosuch "" ,,, mean,var)
        args+=("$tmp/plot.csv" -o "$tmp/plot.svg")
        for ((k = 0; k < RANDOM % 3; k++)); do
            p=(--x --y --points --err --by --title); args+=("${p[RANDOM % 6]}" "${cols[RANDOM % ${#cols[@]}]}")
        done
        [ $((RANDOM % 3)) -eq 0 ] && args+=(--logy)
    elif [ "$c" != dln ]; then args+=(--data "$tmp/train.csv"); [ $((RANDOM % 2)) -eq 0 ] && args+=(--test "$tmp/test.csv"); fi
    case $c in
        simulate|theory|compare|plot) pool=("${opts_net[@]}") ;;
        dmft) pool=("${opts_dmft[@]}") ;;
        *) pool=("${opts_dln[@]}") ;;
    esac
    # small sane defaults so that most runs finish, then 0-2 hostile values on top
    case $c in
        dln) if [ $((RANDOM % 2)) -eq 0 ]; then args+=(--alpha 1 --nu 1 --depth 1 --gamma0 1 --lr 0.1 --steps 4)
             else args+=(--source 0.5 --spectrum 1.5 --depth 1 --gamma0 1 --lr 0.1 --steps 4); fi
             [ $((RANDOM % 2)) -eq 0 ] && args+=(--simulate 16 --seeds 2) ;;
        dmft) args+=(--steps 3 --samples 64) ;;
        compare) args+=(--steps 3 --width 8 --seeds 3 --samples 64) ;;
        plot) ;;
        *) args+=(--steps 3 --width 8) ;;
    esac
    for ((k = 0; k < RANDOM % 3; k++)); do
        [ "$c" = plot ] && break
        args+=("${pool[RANDOM % ${#pool[@]}]}" "${values[RANDOM % ${#values[@]}]}")
    done
    [ $((RANDOM % 3)) -eq 0 ] && args+=(--act "${acts[RANDOM % ${#acts[@]}]}")
    [ "$c" = dmft ] && [ $((RANDOM % 3)) -eq 0 ] && args+=(--sampler "${samplers[RANDOM % ${#samplers[@]}]}")
    [ $((RANDOM % 4)) -eq 0 ] && args+=("${flags[RANDOM % ${#flags[@]}]}")
    # the file outputs, into the scratch folder
    if [ $((RANDOM % 4)) -eq 0 ]; then
        case $c in
            simulate) args+=(--per-seed "$tmp/per_seed.csv") ;;
            dmft) args+=(--losses "$tmp/losses.csv" --kernels "$tmp/kernels.csv") ;;
            theory) args+=(--kernels "$tmp/kernels.csv") ;;
        esac
    fi
    timeout 10 "$bin" "${args[@]}" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -eq 124 ]; then slow=$((slow + 1)); continue; fi
    if [ "$rc" -ge 128 ] || grep -qE 'runtime error|ERROR: AddressSanitizer|ERROR: LeakSanitizer' "$tmp/err" ||
       { [ "$rc" -eq 0 ] && grep -qiE '(^|,)-?(nan|inf)' "$tmp/out"; }; then
        fail=$((fail + 1))
        echo "FAIL (exit $rc): $bin ${args[*]}"
        head -n 5 "$tmp/err" | sed 's/^/    /'
        mkdir -p build/fuzz_failures && cp "$tmp/train.csv" "build/fuzz_failures/train_$i.csv"
    else
        pass=$((pass + 1))
    fi
done
echo "whole-CLI fuzz: $runs runs ($slow over the 10 s limit)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
