#!/usr/bin/env bash
# Tests of the finwidth command line: the output contract of `simulate` and one clear stderr
# line with a non-zero exit for each kind of bad input. Last line: "N passed, M failed".
bin=${1:-build/finwidth}
. "$(dirname "$0")/checks.sh"

# expect_error NAME PATTERN ARGS...: non-zero exit, nothing on stdout, one stderr line matching PATTERN
expect_error() {
    local name=$1 pattern=$2 rc
    shift 2
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -ne 0 ] && [ ! -s "$tmp/out" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -qiE -e "$pattern" "$tmp/err"; then
        ok
    else
        bad "$name (exit $rc, stderr: $(head -c 300 "$tmp/err"), stdout bytes: $(wc -c <"$tmp/out"))"
    fi
}

# expect_rows_then_error NAME ARGS...: a run that blows up at step k prints the recorded steps
# before k (the same rows as a run stopped at the last of them), then one stderr line naming k,
# and exits non-zero.
expect_rows_then_error() {
    local name=$1 rc k last
    shift
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    k=$(grep -oE 'at step [0-9]+' "$tmp/err" | grep -oE '[0-9]+$')
    last=$(tail -n 1 "$tmp/out" | cut -d, -f1)
    if [ "$rc" -ne 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && [ -n "$k" ] && [ "$k" -gt 0 ] &&
       [ "$(wc -l <"$tmp/out")" -ge 2 ] && [ "$last" -lt "$k" ] &&
       awk -F, -v k="$k" 'NR > 1 && $1 >= k { exit 1 }' "$tmp/out" &&
       "$bin" "$@" --steps "$last" >"$tmp/out2" 2>/dev/null && cmp -s "$tmp/out" "$tmp/out2"; then
        ok
    else
        bad "$name (exit $rc, stderr: $(head -c 300 "$tmp/err"), rows: $(($(wc -l <"$tmp/out") - 1)), last t: $last)"
    fi
}

printf '0.5,1.0,1\n-1.0,0.3,-1\n0.2,-0.7,0.5\n' >"$tmp/train.csv"
printf '1.0,1.0\n-0.5,0.5\n' >"$tmp/test.csv"
printf '1.0,1.0,0.3\n' >"$tmp/test_y.csv"

# The contract: header, one row per recorded step and point, four numeric columns, var >= 0.
"$bin" simulate --data "$tmp/train.csv" --test "$tmp/test.csv" --depth 2 --act relu --width 32 \
    --gamma0 0.5 --lr 0.2 --steps 10 --every 5 --seeds 4 --seed 7 >"$tmp/out" 2>"$tmp/err"
rows=$(($(wc -l <"$tmp/out") - 1))
if [ "$(head -n 1 "$tmp/out")" = "t,point,mean,var" ] && [ "$rows" -eq 15 ] && [ ! -s "$tmp/err" ] &&
   awk -F, 'NR > 1 && (NF != 4 || $4 < 0 || $1 !~ /^(0|5|10)$/ || $2 < 0 || $2 > 4) { exit 1 }' "$tmp/out"; then
    ok
else
    bad "simulate output contract (rows $rows)"
fi

# The same seed gives the same numbers; one seed gives variance 0.
"$bin" simulate --data "$tmp/train.csv" --width 16 --steps 3 --seeds 4 --seed 7 >"$tmp/a"
"$bin" simulate --data "$tmp/train.csv" --width 16 --steps 3 --seeds 4 --seed 7 >"$tmp/b"
if cmp -s "$tmp/a" "$tmp/b"; then ok; else bad "same seed, same output"; fi
"$bin" simulate --data "$tmp/train.csv" --width 16 --steps 3 --seeds 1 --ntk >"$tmp/a"
if awk -F, 'NR > 1 && $4 != 0 { exit 1 }' "$tmp/a"; then ok; else bad "one seed has zero variance"; fi

# Test files may carry y (then D+1 columns).
if "$bin" simulate --data "$tmp/train.csv" --test "$tmp/test_y.csv" --width 8 --steps 2 >/dev/null 2>&1; then ok; else bad "test file with y"; fi

# Each command's --help lists every option it takes, each with its default (or "required"), and
# every option it lists is one the command accepts; the overview names every command.
"$bin" --help >"$tmp/help"
missing=""
for c in simulate dmft theory dln compare plot "COMMAND --help"; do grep -q -- "finwidth $c" "$tmp/help" || missing="$missing $c"; done
if [ -z "$missing" ]; then ok; else bad "--help misses commands:$missing"; fi
common="--data --test --depth --act --gamma0 --ntk --lr --steps --every --help"
declare -A want
want[simulate]="$common --width --seeds --seed --per-seed --threads"
want[dmft]="$common --seed --samples --replicates --sampler --control-variate --kernels --losses --iterate --damping --threads"
want[theory]="$common --width --seed --samples --replicates --sampler --kernels --bias --threads"
want[compare]="$common --width --seeds --seed --samples --replicates --sampler --bias --per-seed --threads"
want[plot]="--x --y --points --err --by --logy --title --help"
want[dln]="--alpha --nu --depth --gamma0 --ntk --lr --steps --every --seeds --seed --threads --repeat --batch-ratio --residual \
    --spectrum --noise --simulate --dim --lazy --layers --init-term --deep-limit --balanced --source --width --centered --batch --help"
for c in simulate dmft theory dln compare plot; do
    "$bin" $c --help >"$tmp/help_$c" 2>&1 || bad "$c --help exit status"
    missing=""
    for o in ${want[$c]}; do grep -q -- "^  $o " "$tmp/help_$c" || missing="$missing $o"; done
    if [ -z "$missing" ]; then ok; else bad "$c --help misses:$missing"; fi
    # every option line (two spaces, --name) carries a default or says required; continuation lines
    # (deeper indent) belong to the option above
    nodefault=$(awk '/^  --/ { if (o != "" && !d) printf " %s", o; split($1, a, " "); o = a[1]; d = 0 }
                     /\(default|\(required|required without/ { d = 1 }
                     END { if (o != "" && !d) printf " %s", o }' "$tmp/help_$c" | sed 's/ --help//')
    if [ -z "$nodefault" ]; then ok; else bad "$c --help: no default for$nodefault"; fi
    rejected=""
    for o in $(grep -o -- '^  --[a-z0-9-]*' "$tmp/help_$c"); do
        [ "$o" = --help ] && continue
        "$bin" $c $o 1 >/dev/null 2>"$tmp/err" </dev/null
        grep -q "unknown option $o for" "$tmp/err" && rejected="$rejected $o"
    done
    if [ -z "$rejected" ]; then ok; else bad "$c rejects options its --help lists:$rejected"; fi
done
if "$bin" simulate --alpha 1 >/dev/null 2>"$tmp/err"; then bad "simulate accepted --alpha"; else
    grep -q 'unknown option --alpha' "$tmp/err" && ok || bad "simulate --alpha: $(cat "$tmp/err")"; fi

# compare = simulate and theory on the same flags: the same numbers as the two commands, and the
# z-scores recomputed from the printed columns; plot draws it.
flags=(--data "$tmp/train.csv" --test "$tmp/test.csv" --width 64 --gamma0 1 --lr 0.3 --steps 3 --samples 2048 --replicates 4)
"$bin" compare "${flags[@]}" --seeds 40 >"$tmp/cmp" 2>"$tmp/cmp_err"
"$bin" simulate "${flags[@]:0:12}" --seeds 40 >"$tmp/cmp_sim"
"$bin" theory "${flags[@]}" >"$tmp/cmp_th"
if [ "$(head -n 1 "$tmp/cmp")" = "t,point,mean_sim,mean_theory,z_mean,var_sim,var_theory,var_se_theory,z_var" ] &&
   [ "$(cut -d, -f1,2,3,6 "$tmp/cmp" | tail -n +2)" = "$(tail -n +2 "$tmp/cmp_sim")" ] &&
   [ "$(cut -d, -f1,2,4,7,8 "$tmp/cmp" | tail -n +2)" = "$(tail -n +2 "$tmp/cmp_th")" ]; then ok; else bad "compare columns differ from simulate and theory"; fi
if awk -F, 'NR > 1 { s = sqrt($7 * $7 * 2 / 39 + $8 * $8); z = s > 0 ? ($6 - $7) / s : 0; if (z - $9 > 0.002 || $9 - z > 0.002) exit 1 }' "$tmp/cmp" &&
   grep -q 'variance cells within 3 standard errors' "$tmp/cmp_err"; then ok; else bad "compare z_var"; fi
if ! "$bin" compare "${flags[@]}" --seeds 1 >/dev/null 2>"$tmp/err" && grep -q 'seeds' "$tmp/err"; then ok; else bad "compare --seeds 1 accepted"; fi
if "$bin" plot "$tmp/cmp" -o "$tmp/cmp.svg" --y var_theory --points var_sim --err var_se_theory && xmllint --noout "$tmp/cmp.svg" &&
   [ "$(grep -c 'class="series"' "$tmp/cmp.svg")" -eq 10 ]; then ok; else bad "plot of compare output"; fi
if "$bin" plot "$tmp/cmp_th" -o "$tmp/th.svg" && [ "$(grep -c 'data-name="mean, point' "$tmp/th.svg")" -eq 5 ]; then ok; else bad "plot default series"; fi
if ! "$bin" plot "$tmp/train.csv" -o "$tmp/x.svg" 2>"$tmp/err" && grep -q 'first row must name the columns' "$tmp/err" && [ ! -e "$tmp/x.svg" ]; then ok; else bad "plot of a header-less file"; fi
if ! "$bin" plot "$tmp/cmp" -o "$tmp/x.svg" --y nosuch 2>"$tmp/err" && grep -q 'no column nosuch' "$tmp/err"; then ok; else bad "plot --y nosuch"; fi
if ! "$bin" plot "$tmp/cmp" 2>/dev/null; then ok; else bad "plot without -o"; fi

# Messages that say what is wrong: a NUL byte, a network too large to index, inputs that overflow
# before any step (not "the learning rate is too large").
printf '1,0\0,1\n0,1,-1\n' >"$tmp/nul.csv"
expect_error "NUL byte" "a NUL byte at column 4" simulate --data "$tmp/nul.csv" --steps 1
expect_error "too-large network" "more weights or recorded values than can be indexed" simulate --data "$tmp/train.csv" --steps 1 --width 1000 --depth 3000
printf '1e308,1e308,1\n-1e308,1,-1\n' >"$tmp/big.csv"
if ! "$bin" simulate --data "$tmp/big.csv" --steps 2 2>"$tmp/err" && grep -q 'before any training step' "$tmp/err" &&
   ! grep -q 'learning rate .* is too large' "$tmp/err"; then ok; else bad "step-0 overflow message: $(cat "$tmp/err")"; fi

# Library errors reach the user in option terms, never as internal struct names.
for args in "theory --depth 2 --act relu --steps 2" "dmft --depth 2 --sampler quadrature --steps 2" \
            "dmft --control-variate --sampler mc --steps 2" "theory --depth 2 --act tanh --steps 40"; do
    # shellcheck disable=SC2086
    if ! "$bin" $args --data "$tmp/train.csv" >/dev/null 2>"$tmp/err" && ! grep -q 'fw_[a-z_]*\(desc\|data\)' "$tmp/err" &&
       grep -qE '(--[a-z-]+|this problem|the data): ' "$tmp/err"; then ok; else bad "message of '$args': $(cat "$tmp/err")"; fi
done
if "$bin" theory --depth 2 --act relu --steps 2 --data "$tmp/train.csv" 2>&1 >/dev/null | grep -q -- '--act: '; then ok; else bad "the ReLU refusal names --act"; fi

# The new outputs: simulate --per-seed (the totals unchanged, each member's rows), dmft --losses,
# theory --kernels (two-layer and deep).
"$bin" simulate --data "$tmp/train.csv" --width 8 --steps 2 --seeds 3 >"$tmp/s0"
"$bin" simulate --data "$tmp/train.csv" --width 8 --steps 2 --seeds 3 --per-seed "$tmp/ps.csv" >"$tmp/s1"
if cmp -s "$tmp/s0" "$tmp/s1"; then ok; else bad "--per-seed changed the ensemble statistics"; fi
# the per-seed rows reproduce the printed mean and variance (first record, point 0)
mv=$(awk -F, 'NR > 1 && $2 == 0 && $3 == 0 { n++; s += $4; q += $4 * $4 } END { m = s / n; printf "%.6g %.6g", m, (q - n * m * m) / (n - 1) }' "$tmp/ps.csv")
pv=$(awk -F, 'NR == 2 { printf "%.6g %.6g", $3, $4 }' "$tmp/s0")
if [ "$mv" = "$pv" ]; then ok; else bad "per-seed rows give $mv, the summary $pv"; fi
if [ "$(head -n 1 "$tmp/ps.csv")" = "seed,t,point,f" ] && [ "$(wc -l <"$tmp/ps.csv")" -eq $((1 + 3 * 3 * $(wc -l <"$tmp/train.csv"))) ]; then ok; else bad "per-seed file shape"; fi
"$bin" dmft --data "$tmp/train.csv" --steps 3 --samples 512 --losses "$tmp/l.csv" >/dev/null
if [ "$(head -n 1 "$tmp/l.csv")" = "t,train_loss,train_loss_se,test_loss,test_loss_se,sharpness,sharpness_se" ] &&
   [ "$(wc -l <"$tmp/l.csv")" -eq 5 ] && awk -F, 'NR > 1 && !($6 > 0) { exit 1 }' "$tmp/l.csv"; then ok; else bad "dmft --losses file"; fi
# the loss at t = 0 is 1/(2P) sum y^2 (f(0) = 0 at infinite width)
l0=$(awk -F, '{ s += $NF * $NF; n++ } END { printf "%.6g", s / (2 * n) }' "$tmp/train.csv")
l1=$(awk -F, 'NR == 2 { printf "%.6g", $2 }' "$tmp/l.csv")
if [ "$l0" = "$l1" ]; then ok; else bad "dmft --losses t = 0: $l1, expected $l0"; fi
for depth in 1 2; do
    "$bin" theory --data "$tmp/train.csv" --test "$tmp/test.csv" --depth $depth --steps 2 --samples 800 \
        --replicates 2 --kernels "$tmp/k$depth.csv" >/dev/null 2>"$tmp/err" || bad "theory --kernels depth $depth: $(cat "$tmp/err")"
    n=$(( $(wc -l <"$tmp/train.csv") + $(wc -l <"$tmp/test.csv") )); P=$(wc -l <"$tmp/train.csv")
    if [ "$(wc -l <"$tmp/k$depth.csv")" -eq $((1 + depth * 3 * n * n)) ] && [ "$(wc -l <"$tmp/k${depth}_ntk.csv")" -eq $((1 + 3 * P * P)) ] &&
       awk -F, 'NR > 1 && !($6 > 0) { exit 1 }' "$tmp/k$depth.csv"; then ok; else bad "theory --kernels depth $depth files"; fi
done

# dmft: the same columns with stderr; the kernels files; the lazy limit (--ntk) is exact.
"$bin" dmft --data "$tmp/train.csv" --test "$tmp/test.csv" --depth 2 --act relu --gamma0 0.5 --lr 0.2 \
    --steps 10 --every 5 --samples 512 --replicates 4 --kernels "$tmp/k.csv" >"$tmp/out" 2>"$tmp/err"
rows=$(($(wc -l <"$tmp/out") - 1))
if [ "$(head -n 1 "$tmp/out")" = "t,point,mean,stderr" ] && [ "$rows" -eq 15 ] && [ ! -s "$tmp/err" ] &&
   awk -F, 'NR > 1 && (NF != 4 || $4 < 0 || $1 !~ /^(0|5|10)$/ || $2 < 0 || $2 > 4) { exit 1 }' "$tmp/out"; then
    ok
else
    bad "dmft output contract (rows $rows, stderr $(head -c 200 "$tmp/err"))"
fi
# kernels: 2 layers x 3 x 3 record pairs x 5 x 5 points; NTK: 3 records x 3 x 3 training points
if [ "$(head -n 1 "$tmp/k.csv")" = "layer,t,s,i,j,Phi,Phi_se,G,G_se" ] && [ "$(($(wc -l <"$tmp/k.csv") - 1))" -eq 450 ] &&
   [ "$(head -n 1 "$tmp/k_ntk.csv")" = "t,i,j,NTK,NTK_se" ] && [ "$(($(wc -l <"$tmp/k_ntk.csv") - 1))" -eq 27 ]; then
    ok
else
    bad "dmft --kernels files"
fi
"$bin" dmft --data "$tmp/train.csv" --ntk --steps 3 >"$tmp/a"
if [ "$(wc -l <"$tmp/a")" -eq 13 ] && awk -F, 'NR > 1 && $4 != 0 { exit 1 }' "$tmp/a"; then ok; else bad "dmft --ntk (lazy limit)"; fi
expect_error "dmft has no --width" "unknown option --width" dmft --data "$tmp/train.csv" --width 8
expect_error "dmft exact needs linear" "exact needs --act linear" dmft --data "$tmp/train.csv" --sampler exact
expect_error "dmft quadrature is two-layer" "QUADRATURE is for two-layer" dmft --data "$tmp/train.csv" --depth 2 --sampler quadrature
expect_rows_then_error "dmft divergence" dmft --data "$tmp/train.csv" --act linear --lr 100 --steps 500 --every 2 --samples 64 --replicates 2
# --iterate: the fixed-point iteration gives the marched numbers (to printing precision, 10 digits
# relative 1e-9 of values ~1) and fails with the residual when the cap is below T + 2 sweeps.
"$bin" dmft --data "$tmp/train.csv" --test "$tmp/test.csv" --depth 2 --gamma0 1.5 --lr 0.5 --steps 6 \
    --samples 256 --replicates 2 >"$tmp/a" 2>/dev/null
"$bin" dmft --data "$tmp/train.csv" --test "$tmp/test.csv" --depth 2 --gamma0 1.5 --lr 0.5 --steps 6 \
    --samples 256 --replicates 2 --iterate 20 >"$tmp/b" 2>"$tmp/err"
if paste -d, "$tmp/a" "$tmp/b" | awk -F, 'NR > 1 { d = $3 - $7; if (d < 0) d = -d; if (d > 1e-8) exit 1 }' &&
   [ "$(wc -l <"$tmp/a")" -eq 36 ] && grep -q "converged in [0-9]* sweeps" "$tmp/err"; then
    ok
else
    bad "dmft --iterate equals marching"
fi
expect_error "dmft iteration cap" "no convergence in 3 sweeps: residual [0-9.e+-]+" dmft --data "$tmp/train.csv" --steps 6 --samples 64 --replicates 2 --iterate 3
expect_error "dmft damping range" "bad value '2' for --damping" dmft --data "$tmp/train.csv" --iterate 5 --damping 2

# theory: simulate's columns and var_se (the Monte Carlo standard error of var; 0 on exact paths); at t = 0 the variance is the single-site one, the same for
# --sampler quadrature and antithetic within a few per cent; --ntk sets gamma0 = 1/sqrt(N).
"$bin" theory --data "$tmp/train.csv" --test "$tmp/test.csv" --act tanh --width 64 --lr 0.3 --steps 4 \
    --samples 2048 --replicates 4 >"$tmp/a" 2>"$tmp/err"
rows=$(awk -F, 'NR > 1 && NF == 5 && $4 > 0 && $5 > 0 && $5 < $4' "$tmp/a" | wc -l)
if [ "$(head -1 "$tmp/a")" = "t,point,mean,var,var_se" ] && [ "$rows" -eq 25 ] && [ ! -s "$tmp/err" ]; then ok; else
    bad "theory output contract (rows $rows, stderr $(head -c 200 "$tmp/err"))"
fi
"$bin" theory --data "$tmp/train.csv" --act erf --width 64 --ntk --steps 2 --sampler quadrature >"$tmp/b"
if [ "$(wc -l <"$tmp/b")" -eq 10 ]; then ok; else bad "theory --ntk --sampler quadrature"; fi
# --bias moves the mean by b/N and leaves the variance alone; at t = 0 the shift is exactly 0
"$bin" theory --data "$tmp/train.csv" --width 64 --lr 0.3 --steps 4 --every 2 --samples 2048 >"$tmp/a"
"$bin" theory --data "$tmp/train.csv" --width 64 --lr 0.3 --steps 4 --every 2 --samples 2048 --bias >"$tmp/b"
if paste -d, "$tmp/a" "$tmp/b" | awk -F, 'NR > 1 { if ($4 != $9 || ($1 == 0 && $3 != $8)) exit 1; if ($1 > 0 && $3 != $8) moved = 1 }
                                         END { exit !moved }'; then
    ok
else
    bad "theory --bias"
fi
expect_error "theory has no --seeds" "unknown option --seeds" theory --data "$tmp/train.csv" --seeds 4
# deep linear nets: the exact propagator, the same columns; its variance scales exactly as 1/N
"$bin" theory --data "$tmp/train.csv" --test "$tmp/test.csv" --depth 3 --act linear --width 64 --lr 0.2 --steps 4 --every 2 >"$tmp/a" 2>"$tmp/err"
"$bin" theory --data "$tmp/train.csv" --test "$tmp/test.csv" --depth 3 --act linear --width 128 --lr 0.2 --steps 4 --every 2 >"$tmp/b"
rows=$(awk -F, 'NR > 1 && NF == 5 && $4 > 0 && $5 == 0' "$tmp/a" | wc -l)
if [ "$(head -1 "$tmp/a")" = "t,point,mean,var,var_se" ] && [ "$rows" -eq 15 ] && [ ! -s "$tmp/err" ] &&
   paste -d, "$tmp/a" "$tmp/b" | awk -F, 'NR > 1 { r = $4 / $9; if ($3 != $8 || r < 1.999999 || r > 2.000001) exit 1 }'; then
    ok
else
    bad "theory --depth 3 --act linear (rows $rows, stderr $(head -c 200 "$tmp/err"))"
fi
# deep tanh nets: the sampled propagator, the same columns, var > 0, the same seed the same numbers
"$bin" theory --data "$tmp/train.csv" --test "$tmp/test.csv" --depth 2 --act tanh --width 64 --lr 0.2 --steps 2 --samples 400 --seed 3 >"$tmp/a" 2>"$tmp/err"
"$bin" theory --data "$tmp/train.csv" --test "$tmp/test.csv" --depth 2 --act tanh --width 64 --lr 0.2 --steps 2 --samples 400 --seed 3 >"$tmp/b"
rows=$(awk -F, 'NR > 1 && NF == 5 && $4 > 0 && $5 > 0' "$tmp/a" | wc -l)
if [ "$(head -1 "$tmp/a")" = "t,point,mean,var,var_se" ] && [ "$rows" -eq 15 ] && [ ! -s "$tmp/err" ] && cmp -s "$tmp/a" "$tmp/b"; then
    ok
else
    bad "theory --depth 2 --act tanh (rows $rows, stderr $(head -c 200 "$tmp/err"))"
fi
expect_error "theory deep relu" "ReLU is not supported yet" theory --data "$tmp/train.csv" --depth 2 --act relu
expect_error "theory deep too many steps" "too many order parameters" theory --data "$tmp/train.csv" --depth 2 --act tanh --steps 40
expect_error "theory deep linear --bias" "--bias is for two-layer nets" theory --data "$tmp/train.csv" --depth 2 --act linear --bias
# dln: the deep linear simulator's columns; sd >= 0; the same seed gives the same numbers; the
# loss falls; the theory is not there yet (a clear error); SGD and --repeat exclude each other.
"$bin" dln --alpha 2 --nu 1 --depth 2 --gamma0 1 --lr 0.05 --steps 8 --every 4 --simulate 64 --seeds 3 >"$tmp/a" 2>"$tmp/err"
"$bin" dln --alpha 2 --nu 1 --depth 2 --gamma0 1 --lr 0.05 --steps 8 --every 4 --simulate 64 --seeds 3 >"$tmp/b"
if [ "$(head -n 1 "$tmp/a")" = "t,train_loss,test_loss,train_loss_sd,test_loss_sd" ] && [ "$(wc -l <"$tmp/a")" -eq 4 ] &&
   cmp -s "$tmp/a" "$tmp/b" && [ ! -s "$tmp/err" ] &&
   awk -F, 'NR == 2 { l0 = $3 } NR > 1 && (NF != 5 || $4 < 0 || $5 < 0) { exit 1 } END { exit !($3 < l0) }' "$tmp/a"; then
    ok
else
    bad "dln --simulate output contract"
fi
if "$bin" dln --batch-ratio 0.5 --nu 0.5 --depth 3 --residual 1 --spectrum 1.5,1 --noise 0.1 --lr 0.05 --steps 4 \
    --simulate 32 --seeds 2 >/dev/null 2>&1; then ok; else bad "dln one-pass SGD, residual, power law"; fi
expect_error "dln lazy theory is repeated-isotropic" "covers isotropic inputs" dln --alpha 2 --lazy --spectrum 1.5,1 --steps 4
# repeated data on a power law (the data cavity, --dim modes): starts at (1 + s^2)/2 and falls
"$bin" dln --alpha 2 --spectrum 1.5,1.2 --dim 64 --depth 2 --gamma0 1 --lr 0.02 --steps 8 --every 4 --noise 0.3 >"$tmp/a" 2>"$tmp/err"
if [ "$(head -n 1 "$tmp/a")" = "t,train_loss,test_loss" ] && [ "$(wc -l <"$tmp/a")" -eq 4 ] &&
   awk -F, 'NR == 2 { ok = ($1 == 0 && $3 == 0.545) } NR > 2 { if ($3 >= prev || $2 <= 0) ok = 0 } NR > 1 { prev = $3 } END { exit !ok }' "$tmp/a"; then ok
else bad "dln theory, repeated power-law data ($(cat "$tmp/err"))"; fi
# the balanced scaling: the initial function of variance 1/(gamma0^2 nu) enters at t = 0: at nu = 2,
# gamma0 = 1, s = 0.3 both losses start at (1 + 0.5 + 0.09)/2 = 0.795; it excludes --lazy
"$bin" dln --alpha 1 --nu 2 --depth 2 --gamma0 1 --lr 0.1 --steps 8 --every 4 --noise 0.3 --balanced >"$tmp/a" 2>"$tmp/err"
if [ "$(head -n 1 "$tmp/a")" = "t,train_loss,test_loss" ] && [ "$(wc -l <"$tmp/a")" -eq 4 ] &&
   awk -F, 'NR == 2 { ok = ($1 == 0 && $2 == 0.795 && $3 == 0.795) } NR > 2 { if ($3 >= prev || $2 <= 0) ok = 0 } NR > 1 { prev = $3 } END { exit !ok }' "$tmp/a"; then ok
else bad "dln --balanced theory output contract ($(cat "$tmp/err"))"; fi
expect_error "dln --balanced excludes --lazy" "excludes --lazy" dln --alpha 1 --balanced --lazy --steps 4
# the rich theory: same columns; muP starts at (1 + s^2)/2 (beta_eff(0) -> 0 in the limit) = 0.545
"$bin" dln --alpha 2 --depth 2 --gamma0 1 --lr 0.3 --steps 8 --every 4 --noise 0.3 >"$tmp/a" 2>"$tmp/err"
if [ "$(head -n 1 "$tmp/a")" = "t,train_loss,test_loss" ] && [ "$(wc -l <"$tmp/a")" -eq 4 ] &&
   awk -F, 'NR == 2 { ok = ($1 == 0 && $3 == 0.545) } NR > 2 { if ($3 >= prev || $2 <= 0) ok = 0 } NR > 1 { prev = $3 } END { exit !ok }' "$tmp/a"; then ok
else bad "dln rich theory output contract ($(cat "$tmp/err"))"; fi
# the lazy theory (NTK): its columns; at t = 0 both losses are (1 + 1 + s^2)/2 (beta_eff(0) of
# variance 1 per entry under NTK, the teacher's 1, the noise), here s = 0.3: 1.045
"$bin" dln --alpha 0.5 --depth 2 --ntk --lr 0.2 --steps 8 --every 4 --noise 0.3 >"$tmp/a" 2>"$tmp/err"
if [ "$(head -n 1 "$tmp/a")" = "t,train_loss,test_loss" ] && [ "$(wc -l <"$tmp/a")" -eq 4 ] &&
   awk -F, 'NR == 2 { ok = ($1 == 0 && $2 == 1.045 && $3 == 1.045) } NR > 2 { if ($3 >= prev || $2 <= 0) ok = 0 } NR > 1 { prev = $3 } END { exit !ok }' "$tmp/a"; then ok
else bad "dln lazy theory output contract ($(cat "$tmp/err"))"; fi
if "$bin" dln --lazy --alpha 1 --simulate 8 >/dev/null 2>&1; then bad "dln --lazy with --simulate accepted"; else ok; fi
# --layers: G1..GL columns; at t = 0 under muP G_l = 1 for every plain layer (|w|^2/N = 1, norms kept)
"$bin" dln --alpha 2 --depth 3 --gamma0 1 --lr 0.2 --steps 4 --every 4 --layers >"$tmp/a" 2>"$tmp/err"
if [ "$(head -n 1 "$tmp/a")" = "t,train_loss,test_loss,G1,G2,G3" ] &&
   awk -F, 'NR == 2 { ok = ($4 == 1 && $5 == 1 && $6 == 1) } NR == 3 { if ($4 == 1) ok = 0 } END { exit !ok }' "$tmp/a"; then ok
else bad "dln --layers columns ($(cat "$tmp/err"))"; fi
# --deep-limit: the residual net at L = infinity, two error columns (>= 0); it lies below the depth-16
# curve at the last step (the finite-L curves fall towards it, docs/dln.md section 6)
"$bin" dln --alpha 2 --residual 1 --depth 2 --gamma0 1 --lr 0.1 --steps 8 --every 4 --deep-limit >"$tmp/a" 2>"$tmp/err"
"$bin" dln --alpha 2 --residual 1 --depth 16 --gamma0 1 --lr 0.1 --steps 8 --every 4 >"$tmp/b" 2>>"$tmp/err"
if [ "$(head -n 1 "$tmp/a")" = "t,train_loss,test_loss,train_err,test_err" ] && [ "$(wc -l <"$tmp/a")" -eq 4 ] &&
   awk -F, 'NR > 1 { if ($4 < 0 || $5 < 0) bad = 1 } END { exit bad }' "$tmp/a" &&
   awk -v deep="$(tail -n 1 "$tmp/b" | cut -d, -f3)" -F, 'END { exit !($3 + $5 < deep) }' "$tmp/a"; then ok
else bad "dln --deep-limit columns ($(cat "$tmp/err"))"; fi
expect_error "dln deep limit needs residual branches" "needs residual branches" dln --alpha 2 --depth 2 --steps 4 --deep-limit
expect_error "dln --deep-limit is a theory" "excludes --simulate" dln --alpha 2 --residual 1 --deep-limit --simulate 8
expect_error "dln repeat vs sgd" "exclude each other" dln --repeat --batch-ratio 1 --simulate 8
expect_error "dln spectrum" "bad value 'x' for --spectrum" dln --alpha 1 --spectrum x --simulate 8
# the capacity/source convention (docs/dln.md section 9): the all-mode theory with the readout kernel;
# its lazy curve equals the muP theory at gamma0 1e-6; networks on D modes; SGD lazy only
"$bin" dln --source 0.5 --spectrum 1.5 --gamma0 1 --lr 0.1 --steps 20 --every 10 --layers >"$tmp/a" 2>"$tmp/err"
"$bin" dln --source 0.5 --spectrum 1.5 --lr 0.1 --steps 20 --every 10 --lazy >"$tmp/b" 2>>"$tmp/err"
"$bin" dln --source 0.5 --spectrum 1.5 --gamma0 1e-6 --lr 0.1 --steps 20 --every 10 >"$tmp/c" 2>>"$tmp/err"
if [ "$(head -n 1 "$tmp/a")" = "t,train_loss,test_loss,G1" ] && [ "$(wc -l <"$tmp/a")" -eq 4 ] &&
   awk -F, 'NR > 1 && $2 == $3 && $4 >= 1 { n++ } END { exit n != 3 }' "$tmp/a" &&
   awk -F, 'NR == FNR { if (FNR > 1) v[FNR] = $3; next } FNR > 1 { d = $3 - v[FNR]; if (d < 0) d = -d; if (d > 1e-8 * $3) bad = 1 }
            END { exit bad }' "$tmp/b" "$tmp/c" &&
   awk -F, 'NR == FNR { if (FNR == 4) rich = $3; next } FNR == 4 { exit !(rich < $3) }' "$tmp/a" "$tmp/b" && [ ! -s "$tmp/err" ]
then ok; else bad "dln --source theory, lazy and the small-gamma0 limit ($(cat "$tmp/err"))"; fi
if "$bin" dln --source 0.5 --spectrum 1.5 --lr 0.1 --steps 4 --simulate 16 --width 32 --seeds 2 --centered --batch 4 >/dev/null 2>&1
then ok; else bad "dln --source networks with --batch"; fi
expect_error "dln source excludes alpha" "excludes --alpha" dln --source 0.5 --spectrum 1.5 --alpha 1
expect_error "dln source needs a spectrum" "needs --spectrum a" dln --source 0.5
expect_error "dln source rich SGD" "the lazy limit only" dln --source 0.5 --spectrum 1.5 --batch 4
expect_error "dln batch needs source" "go with --source" dln --alpha 1 --batch 4
expect_error "dln source depth 2 rich" "covers depth 1" dln --source 0.5 --spectrum 1.5 --depth 2
expect_error "theory deep, 100 steps" "must be <= 256" theory --data "$tmp/train.csv" --depth 2
expect_error "theory exact" "no single-site covariance" theory --data "$tmp/train.csv" --sampler exact
expect_rows_then_error "theory divergence" theory --data "$tmp/train.csv" --act linear --lr 100 --steps 300 --samples 64 --replicates 2

# Bad input.
printf '1,2,3\n4,5\n' >"$tmp/ragged.csv"
printf '1,2,3\n4,x,6\n' >"$tmp/word.csv"
printf '1,2,3\n4,nan,6\n' >"$tmp/nan.csv"
printf '1,2,3,4\n' >"$tmp/wide_test.csv"
printf '' >"$tmp/empty.csv"
expect_error "unreadable file" "cannot read" simulate --data "$tmp/does_not_exist.csv"
expect_error "ragged rows" "ragged" simulate --data "$tmp/ragged.csv"
expect_error "non-number" "not a finite number" simulate --data "$tmp/word.csv"
expect_error "NaN in data" "not a finite number" simulate --data "$tmp/nan.csv"
expect_error "empty file" "no data rows" simulate --data "$tmp/empty.csv"
# CSV files as spreadsheets and other systems write them: each named for what it is
printf 'x1,x2,y\n1,2,3\n' >"$tmp/header.csv"
printf '1;2;3\n4;5;6\n' >"$tmp/semicolon.csv"
printf '1\t2\t3\n' >"$tmp/tabs.csv"
printf '1,2,3\r4,5,6\r' >"$tmp/cr.csv"
expect_error "header row" "header row" simulate --data "$tmp/header.csv"
expect_error "semicolons" "separated by ';'" simulate --data "$tmp/semicolon.csv"
expect_error "tabs" "separated by" simulate --data "$tmp/tabs.csv"
expect_error "CR line endings" "CR-only line endings" simulate --data "$tmp/cr.csv"
printf '\357\273\2770.5,1.0,1\r\n-1.0,0.3,-1\r\n0.2,-0.7,0.5\r\n' >"$tmp/bom_crlf.csv"   # UTF-8 BOM, CRLF: read as is
"$bin" simulate --data "$tmp/bom_crlf.csv" --width 8 --steps 2 >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 10 ] && [ ! -s "$tmp/err" ]; then ok; else bad "BOM + CRLF file ($(head -c 200 "$tmp/err"))"; fi
expect_error "D mismatch" "D = 2" simulate --data "$tmp/train.csv" --test "$tmp/wide_test.csv"
expect_error "width 0" "--width" simulate --data "$tmp/train.csv" --width 0
expect_error "negative steps" "--steps" simulate --data "$tmp/train.csv" --steps -1
expect_error "bad activation" "--act" simulate --data "$tmp/train.csv" --act sigmoid
expect_error "missing value" "needs a value" simulate --data "$tmp/train.csv" --lr
expect_error "unknown option" "unknown option" simulate --data "$tmp/train.csv" --frobnicate 3
# Extreme record intervals and step counts: --every past the run records t = 0 and the last step
# (the record count once overflowed and corrupted the heap); --steps 2^31 - 1 is refused.
for cmd in simulate dmft; do
    extra=$([ "$cmd" = simulate ] && echo "--width 8 --seeds 2" || echo "--samples 64")
    # shellcheck disable=SC2086
    "$bin" $cmd --data "$tmp/train.csv" --act erf --steps 3 --every 2147483647 $extra >"$tmp/out" 2>"$tmp/err"
    if [ $? -eq 0 ] && [ "$(grep -c '^[03],' "$tmp/out")" -eq 6 ] && [ "$(wc -l <"$tmp/out")" -eq 7 ]; then ok
    else bad "$cmd --every 2147483647 ($(head -c 200 "$tmp/err"))"; fi
done
expect_error "dln width beyond int" "beyond 2\\^31" dln --alpha 1 --nu 1e300 --depth 1 --gamma0 1 --lr 0.1 --steps 4
# a run that blows up without a NaN in any one seed: the seed statistics overflow; the rows before
# it are printed, then one error line and exit 1 (never "inf" with exit 0)
"$bin" dln --alpha 1 --nu 1 --depth 1 --gamma0 1 --lr 64 --steps 4 --simulate 16 --seeds 2 >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 1 ] && ! grep -qi 'inf\|nan' "$tmp/out" && [ "$(wc -l <"$tmp/out")" -ge 2 ] && grep -q 'overflow at step' "$tmp/err"; then ok
else bad "dln simulate overflow ($(head -c 200 "$tmp/err"))"; fi
expect_error "steps beyond int" "size|steps" simulate --data "$tmp/train.csv" --width 8 --steps 2147483647
expect_error "dmft steps beyond int" "size|steps" dmft --data "$tmp/train.csv" --steps 2147483647
expect_error "missing --data" "--data" simulate --width 8
expect_error "unknown command" "unknown command" train
expect_rows_then_error "divergence" simulate --data "$tmp/train.csv" --act linear --width 16 --lr 100 --steps 500 --seeds 3
expect_rows_then_error "dln simulate divergence" dln --alpha 1 --lr 100 --steps 50 --every 3 --simulate 32 --seeds 2
"$bin" dln --alpha 1 --lr 100 --steps 50 >"$tmp/out" 2>"$tmp/err"   # the theory: records before the overflow, then the error
rc=$?
k=$(grep -oE 'overflow after step [0-9]+' "$tmp/err" | grep -oE '[0-9]+$')
if [ "$rc" -ne 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && [ -n "$k" ] && [ "$(tail -n 1 "$tmp/out" | cut -d, -f1)" = "$k" ] &&
   awk -F, 'NR > 1 && $3 + 0 != $3 { exit 1 }' "$tmp/out"; then ok; else bad "dln theory divergence (exit $rc, $(head -c 200 "$tmp/err"))"; fi
if [ "$(od -An -t x1 -j 4 -N 1 "$bin" | tr -d ' ')" = "01" ]; then   # a 32-bit ELF: 8 GB of weights cannot be addressed
    expect_error "32-bit address space" "more memory than this build can address \(32-bit\)" simulate --data "$tmp/train.csv" --width 32768 --depth 2 --steps 1
fi
# --threads K: simulate splits the seeds (bitwise the same output); dmft and theory split the
# single sites (the same up to the order of the sums: 1e-12 relative, so 1e-9 at 10 printed digits)
"$bin" simulate --data "$tmp/train.csv" --test "$tmp/test.csv" --width 32 --steps 6 --seeds 7 --per-seed "$tmp/ps1" >"$tmp/t1"
"$bin" simulate --data "$tmp/train.csv" --test "$tmp/test.csv" --width 32 --steps 6 --seeds 7 --per-seed "$tmp/ps3" --threads 3 >"$tmp/t3"
if cmp -s "$tmp/t1" "$tmp/t3" && cmp -s "$tmp/ps1" "$tmp/ps3"; then ok; else bad "simulate --threads 3 differs from one thread"; fi
for c in dmft theory; do
    "$bin" $c --data "$tmp/train.csv" --test "$tmp/test.csv" --steps 6 --samples 2048 --replicates 4 >"$tmp/t1"
    "$bin" $c --data "$tmp/train.csv" --test "$tmp/test.csv" --steps 6 --samples 2048 --replicates 4 --threads 2 >"$tmp/t2"
    if [ "$(wc -l <"$tmp/t1")" -gt 10 ] && paste -d, "$tmp/t1" "$tmp/t2" | awk -F, 'NR > 1 { h = NF / 2; for (i = 1; i <= h; ++i) {
           a = $i; b = $(i + h); d = a - b; if (d < 0) d = -d; s = a < 0 ? -a : a; if (d > 1e-9 * s + 1e-300) exit 1 } }'; then ok
    else bad "$c --threads 2 differs from one thread"; fi
done
"$bin" dln --alpha 1 --depth 2 --steps 12 --simulate 48 --seeds 7 >"$tmp/t1"
"$bin" dln --alpha 1 --depth 2 --steps 12 --simulate 48 --seeds 7 --threads 3 >"$tmp/t3"
if cmp -s "$tmp/t1" "$tmp/t3" && [ "$(wc -l <"$tmp/t1")" -eq 14 ]; then ok; else bad "dln --simulate --threads 3 differs from one thread"; fi
"$bin" theory --data "$tmp/train.csv" --depth 2 --act tanh --steps 2 --samples 600 --replicates 2 >"$tmp/t1"
"$bin" theory --data "$tmp/train.csv" --depth 2 --act tanh --steps 2 --samples 600 --replicates 2 --threads 3 >"$tmp/t3"
if [ "$(wc -l <"$tmp/t1")" -gt 5 ] && paste -d, "$tmp/t1" "$tmp/t3" | awk -F, 'NR > 1 { h = NF / 2; for (i = 1; i <= h; ++i) {
       a = $i; b = $(i + h); d = a - b; if (d < 0) d = -d; s = a < 0 ? -a : a; if (d > 1e-6 * s + 1e-12) exit 1 } }'; then ok
else bad "theory --depth 2 --threads 3 differs from one thread"; fi
expect_error "threads range" "--threads.*1\.\.256" dmft --data "$tmp/train.csv" --threads 0
for c in simulate dmft theory; do   # gamma0 below 10 double epsilons: the same error from every command
    expect_error "$c tiny gamma0" "--gamma0: below 2.2e-15" $c --data "$tmp/train.csv" --gamma0 1e-300 --steps 3
done

# --data digits (build/data/digits.csv, written by tests/fetch_digits.sh before the tests run): the
# loader's images are the file's rows of the two classes in file order, standardised with the
# mean and standard deviation of every pixel of the file. The same selection written by awk as
# CSV (17 significant digits: the doubles round-trip) gives the same networks bit for bit.
digits=build/data/digits.csv
if [ -s "$digits" ]; then
    awk -F, -v P=5 -v Q=3 'NR == FNR { for (i = 1; i <= 64; ++i) { s += $i; q += $i * $i; n++ } next }
        FNR == 1 { m = s / n; sd = sqrt(q / n - m * m) }
        ($65 == 3 || $65 == 8) && k < P + Q {
            line = ""; for (i = 1; i <= 64; ++i) line = line sprintf("%.17g,", ($i - m) / sd)
            if (k < P) print line ($65 == 3 ? 1 : -1) > "'"$tmp"'/dtrain.csv"
            else print line ($65 == 3 ? 1 : -1) > "'"$tmp"'/dtest.csv"
            k++ }' "$digits" "$digits"
    "$bin" simulate --data digits --classes 3,8 --train-size 5 --test-size 3 --width 8 --steps 2 --seeds 2 >"$tmp/a"
    "$bin" simulate --data "$tmp/dtrain.csv" --test "$tmp/dtest.csv" --width 8 --steps 2 --seeds 2 >"$tmp/b"
    if [ "$(wc -l <"$tmp/a")" -eq 25 ] && cmp -s "$tmp/a" "$tmp/b"; then ok; else bad "--data digits differs from the same images as CSV"; fi
    # --arch cnn on the digits: the simulate contract, the same numbers through --image 8x8 on the CSV
    "$bin" simulate --data digits --classes 3,8 --train-size 5 --test-size 3 --arch cnn --width 4 --depth 2 --gamma0 0.5 \
        --lr 0.02 --steps 4 --every 2 --seeds 3 >"$tmp/a" 2>"$tmp/err"
    "$bin" simulate --data "$tmp/dtrain.csv" --test "$tmp/dtest.csv" --arch cnn --image 8x8x1 --width 4 --depth 2 --gamma0 0.5 \
        --lr 0.02 --steps 4 --every 2 --seeds 3 >"$tmp/b"
    if [ "$(head -n 1 "$tmp/a")" = "t,point,mean,var" ] && [ "$(wc -l <"$tmp/a")" -eq 25 ] && [ ! -s "$tmp/err" ] &&
       awk -F, 'NR > 1 && (NF != 4 || $4 <= 0) { exit 1 }' "$tmp/a" && cmp -s "$tmp/a" "$tmp/b"; then ok
    else bad "simulate --arch cnn on the digits"; fi
    expect_error "digits: too many images" "have [0-9]+ images" simulate --data digits --classes 3,8 --train-size 500 --steps 1
    expect_error "digits and --test" "not --test" simulate --data digits --test "$tmp/test.csv" --steps 1
    expect_error "digits: sizes beyond int" "the digits file has 1797 images" simulate --data digits --train-size 2147483647 --test-size 2147483647 --steps 1
    expect_error "cnn: image shape" "--image 8x8x1 has 64 values a row; the data has D = 2" simulate --data "$tmp/train.csv" --arch cnn --steps 1
else
    bad "build/data/digits.csv is missing: bash tests/fetch_digits.sh (ninja test fetches it first)"
fi
expect_error "digits file missing" "cannot read $tmp/none.csv" simulate --data digits --digits "$tmp/none.csv" --steps 1
printf '1,2,3\n' >"$tmp/notdigits.csv"
expect_error "not a digits file" "row 1 is not 64 pixels" simulate --data digits --digits "$tmp/notdigits.csv" --steps 1
expect_error "digits options need digits" "go with --data digits" simulate --data "$tmp/train.csv" --classes 1,2 --steps 1
expect_error "classes are two digits" "bad value '3,3' for --classes" simulate --data digits --classes 3,3
expect_error "image shape syntax" "bad value '8x' for --image" simulate --data "$tmp/train.csv" --arch cnn --image 8x
expect_error "arch names" "bad value 'rnn' for --arch" simulate --data "$tmp/train.csv" --arch rnn
expect_error "theory has no --arch" "unknown option --arch" theory --data "$tmp/train.csv" --arch cnn

summary
