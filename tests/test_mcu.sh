#!/usr/bin/env bash
# The MCU example (examples/mcu/theory_mcu.c) on three targets: the host float build, Cortex-M4
# under qemu and wasm32 under node. Each must report a workspace that fits its static buffer and
# print the 25 rows of t,point,mean,var; the ARM and wasm outputs must equal the host's within
# float rounding: relative 1e-4 of each value (the three builds use different libm tanhf/expf;
# measured identical to the 6 printed digits), plus 1e-6 absolute on the means, whose t = 0 values
# are rounding noise around 0 (~1e-9). Last line: "N passed, M failed".
b=${1:-build}
. "$(dirname "$0")/checks.sh"

"$b/mcu_host" >"$tmp/host" 2>&1 || bad "host build exited non-zero: $(tail -n 2 "$tmp/host")"
timeout 300 qemu-system-arm -M mps2-an386 -nographic -semihosting-config enable=on,target=native \
    -kernel "$b/mcu_m4.elf" >"$tmp/arm" 2>&1 || bad "cortex-m4 build exited non-zero: $(tail -n 2 "$tmp/arm")"
node --no-warnings --single-threaded-gc tests/run_wasm.mjs "$b/mcu.wasm" >"$tmp/wasm" 2>&1 || bad "wasm build exited non-zero: $(tail -n 2 "$tmp/wasm")"

for t in host arm wasm; do
    if awk '/^workspace: / { need = $2; have = $5; seen = 1 }
                     END { exit !(seen && need > 0 && need <= have) }' "$tmp/$t" &&
       [ "$(grep -c '^[0-9]*,[0-9],' "$tmp/$t")" -eq 25 ] && grep -q '^t,point,mean,var$' "$tmp/$t"; then
        ok
    else
        bad "$t: workspace line and 25 rows ($(head -c 300 "$tmp/$t"))"
    fi
done
for t in arm wasm; do
    if paste -d, <(grep '^[0-9]*,[0-9],' "$tmp/host") <(grep '^[0-9]*,[0-9],' "$tmp/$t") |
       awk -F, '{ for (k = 3; k <= 4; ++k) { d = $k - $(k + 4); if (d < 0) d = -d; a = $k < 0 ? -$k : $k;
                  if (d > 1e-4 * a + (k == 3 ? 1e-6 : 1e-12) || $1 != $5 || $2 != $6) exit 1 } } END { exit NR != 25 }'; then
        ok
    else
        bad "$t output differs from the host float build"
    fi
done
summary
