#!/usr/bin/env bash
# Smoke test of the reproduction demo: a quick run (reduced sizes) writes the report and every
# figure; each SVG is well-formed XML and holds its theory and simulation series.
# Last line: "N passed, M failed".
bin=${1:-build/finwidth_demo}
. "$(dirname "$0")/checks.sh"
out=$tmp

if "$bin" --quick --out "$out" >"$out/log" 2>&1; then ok; else bad "demo --quick exited non-zero: $(tail -n 3 "$out/log")"; fi
missing=""
for k in 1 2 3 4 5 6 7 8 9 10 11; do
    grep -q "<section id=\"fig$k\">" "$out/report.html" && grep -q "data-file=\"fig$k.svg\"" "$out/report.html" &&
        [ -s "$out/fig$k.svg" ] || missing="$missing $k"
done
if [ -s "$out/report.html" ] && [ -z "$missing" ]; then ok; else bad "report.html misses figures:$missing"; fi
# every figure's panels are inline SVG in the report (they wrap to the page width)
if [ "$(grep -c '<svg class="panel"' "$out/report.html")" -ge 22 ]; then ok; else bad "inline panels in the report"; fi
if [ "$(grep -c '^figure [0-9]* done (.*), [0-9]* s; elapsed [0-9]* s, about [0-9]* s left$' "$out/log")" -eq 11 ] &&
   grep -q '^report: ' "$out/log"; then ok; else bad "one progress line per figure (with elapsed and estimate)"; fi
# a preview says so: every verdict "preview", no z-score
if [ "$(grep -cE '^[0-9]+ .* - +preview ' "$out/log")" -ge 11 ] && ! grep -qE ' (holds|FAILS) ' "$out/log"; then ok; else bad "quick verdicts say preview"; fi
# the same figure in one process (--jobs 1, --only) as in the parallel run: identical
mkdir -p "$out/one"
if "$bin" --quick --only 3 --jobs 1 --out "$out/one" >"$out/one/log" 2>&1 && cmp -s "$out/fig3.svg" "$out/one/fig3.svg"; then ok; else bad "figure 3 differs between one process and several"; fi
if ! "$bin" --only 12 --out "$out/one" >/dev/null 2>&1; then ok; else bad "--only 12 accepted"; fi

# figure file, then the series it must hold
check_svg() {
    local f="$out/$1" missing="" name
    shift
    if ! xmllint --noout "$f" 2>"$out/xml.err"; then bad "$1 is not well-formed XML: $(head -c 200 "$out/xml.err")"; return; fi
    for name in "$@"; do
        grep -qF "data-name=\"$name\"" "$f" || missing="$missing '$name'"
    done
    if [ -z "$missing" ]; then ok; else bad "$(basename "$f") misses series:$missing"; fi
}
check_svg fig1.svg "theory" "naive Var psi" "simulation N = 64" "simulation N = 256"
check_svg fig2.svg "theory" "simulation N = 256"
check_svg fig3.svg "theory b" "simulation N = 64" "simulation N = 128"
check_svg fig4.svg "infinite width (DMFT)" "theory N = 64" "simulation N = 64" "theory c(t)" "simulation N = 256"
check_svg fig5.svg "theory Phi(l)_11" "simulation Phi(l)_11" "theory G(l)_11" "simulation G(l)_11" "theory layer 3" "simulation layer 3" "tanh theory layer 3" "tanh simulation layer 3"
check_svg fig6.svg "proportional limit" "theory nu = 0.5" "simulation nu = 0.5" "theory nu = 4" "simulation nu = 4"
check_svg fig7.svg "theory" "theory (lazy limit)" "simulation nu = 0.5" "simulation nu = 2"
check_svg fig8.svg "theory L = 2" "theory L = 32" "theory L = infinity" "simulation L = 2" "simulation L = 32"
check_svg fig10.svg "rich theory, all modes" "lazy theory, all modes" "rich asymptote t^-0.40" "lazy asymptote t^-0.25" \
    "rich, beta = 0.25" "lazy, beta = 1.5" "2 beta/(1 + beta) = 0.40"
# its network series name their D and N: match the prefixes
if grep -qF 'data-name="rich networks (D = ' "$out/fig10.svg" && grep -qF 'data-name="lazy networks (D = ' "$out/fig10.svg"
then ok; else bad "fig10.svg: the network series"; fi
check_svg fig9.svg "theory alpha = 0.5" "theory alpha = 4" "simulation alpha = 0.5" "simulation alpha = 4"
check_svg fig11.svg "N = 8 (6 seeds)" "N = 32 (6 seeds)" "variance part (1/2) Var f"

# the report's layout in a real browser (skips when chromium is missing)
if bash "$(dirname "$0")/test_report_layout.sh" "$out" >"$out/layout.log" 2>&1; then ok; else bad "report layout: $(grep -E 'FAIL|SKIP' "$out/layout.log" | head -n 5 | tr '\n' ';')"; fi
grep -q SKIPPED "$out/layout.log" && echo "report layout: SKIPPED (chromium is not installed)"

summary
