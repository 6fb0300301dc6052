#!/usr/bin/env bash
# Smoke test of the reproduction demo: a quick run (reduced sizes) writes the report and every
# figure; each SVG is well-formed XML and holds its theory and simulation series.
# Last line: "N passed, M failed".
bin=${1:-build/finwidth_demo}
. "$(dirname "$0")/checks.sh"
out=$tmp

if "$bin" --quick --out "$out" >"$out/log" 2>&1; then ok; else bad "demo --quick exited non-zero: $(tail -n 3 "$out/log")"; fi
if [ -s "$out/report.html" ] && grep -q '<img src="fig1.svg"' "$out/report.html" && grep -q '<img src="fig2.svg"' "$out/report.html" &&
   grep -q '<img src="fig3.svg"' "$out/report.html" && grep -q '<img src="fig4.svg"' "$out/report.html" &&
   grep -q '<img src="fig5.svg"' "$out/report.html" &&
   grep -q '<img src="fig6.svg"' "$out/report.html" && grep -q '<img src="fig7.svg"' "$out/report.html" &&
   grep -q '<img src="fig8.svg"' "$out/report.html" && grep -q '<img src="fig9.svg"' "$out/report.html" &&
   grep -q '<img src="fig10.svg"' "$out/report.html"; then
    ok
else
    bad "report.html with every figure"
fi
if [ "$(grep -c '^figure [0-9]* done' "$out/log")" -eq 10 ] && grep -q '^report: ' "$out/log"; then ok; else bad "one progress line per figure"; fi

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
# figure 10's series names carry the fitted exponents: match their prefixes
if xmllint --noout "$out/fig10.svg" 2>/dev/null && grep -qF 'data-name="rich (muP) theory, t^-' "$out/fig10.svg" &&
   grep -qF 'data-name="rich (muP) simulation, t^-' "$out/fig10.svg" && grep -qF 'data-name="lazy (NTK) theory, t^-' "$out/fig10.svg" &&
   grep -qF 'data-name="lazy (NTK) simulation, t^-' "$out/fig10.svg"; then ok; else bad "fig10.svg: XML and the four series"; fi
check_svg fig9.svg "theory alpha = 0.5" "theory alpha = 4" "simulation alpha = 0.5" "simulation alpha = 4"

summary
