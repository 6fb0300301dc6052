#!/usr/bin/env bash
# The README's example (section "What it is for"): its C block must be examples/purpose.c, and the
# text block after it must be exactly what that program prints (build/purpose, built by ninja).
set -u
bin=${1:-build/purpose}
readme=${2:-README.md}
pass=0
fail=0
check() { # NAME, then a command that must succeed
    local name=$1; shift
    if "$@"; then pass=$((pass + 1)); else echo "FAIL: $name"; fail=$((fail + 1)); fi
}
block() { # the first fenced block of language $1 inside "## What it is for"
    awk -v lang="$1" '/^## /{s = ($0 == "## What it is for")} s && $0 == "```" lang {c = 1; next}
                      c && /^```$/ {exit} c {print}' "$readme"
}
code=$(block c)
text=$(block text)
check "README has the example's code" test -n "$code"
check "README code block is examples/purpose.c" diff <(printf '%s\n' "$code") examples/purpose.c
# the header's manual shows the same program (indented 5, comments as //)
hdr=$(awk '/^   Twenty lines/ {s = 1; next} s && /^     It prints, per point/ {exit} s && /^     [^ ]/ && n++ >= 0 && c == 0 && /#define/ {c = 1}
           c {print}' finwidth.h | sed 's/^     //; s|// \(.*\)$|/* \1 */|')
check "the header's example is examples/purpose.c" diff <(printf '%s\n' "$hdr") examples/purpose.c
out=$("$bin")
rc=$?
check "the example exits 0" test "$rc" -eq 0
check "README output block is what the example prints" diff <(printf '%s\n' "$text") <(printf '%s\n' "$out")
# and what it prints agrees: the networks' variance of 1000 seeds has relative standard error
# sqrt(2/999) = 4.5%; every point within 4 of those plus 0.002 (the 3 printed decimals and the
# theory's own Monte Carlo error) of the theory
agree() {
    printf '%s\n' "$out" | awk 'NR > 1 { if ($4 - $5 > 4 * 0.0447 * $4 + 0.002 || $5 - $4 > 4 * 0.0447 * $4 + 0.002) bad = 1; n++ }
                                END { exit !(n == 5 && !bad) }'
}
check "the example's theory and networks agree within the seed error" agree
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
