#!/usr/bin/env bash
# The demo report's layout in a real browser (Debian's chromium, headless, 1280 px wide): every
# figure panel at least 420 px wide and inside the page, no SVG text overlapping another or
# leaving its panel, every data point inside its frame; a screenshot of the page is kept as
# DIR/report_1280.png. Usage: test_report_layout.sh DIR (a demo output folder with report.html).
# Skips with a message (and passes) when chromium is not installed.
. "$(dirname "$0")/checks.sh"
dir=${1:?usage: test_report_layout.sh DEMO_OUTPUT_DIR}
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "report layout: SKIPPED (chromium is not installed; tests/install-deps.sh installs it)"
    summary
    exit $?
fi
# --no-sandbox: chromium refuses to run as root with its sandbox, and containers often lack the
# user namespaces it needs otherwise; the page is our own local file
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --disable-dev-shm-usage --window-size=1280,900)
page="$dir/layout_check.html"
sed '/<\/body>/d; /<\/html>/d' "$dir/report.html" >"$page"
{ echo '<script>'; cat "$(dirname "$0")/report_layout.js"; echo '</script></body></html>'; } >>"$page"
timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$(cd "$dir" && pwd)/layout_check.html" >"$tmp/dom" 2>"$tmp/err"
result=$(sed -n '/<pre id="layout-result">/,/LAYOUT DONE/p' "$tmp/dom" | sed 's/.*<pre id="layout-result">//; s/&quot;/"/g; s/&amp;/\&/g')
if echo "$result" | grep -q 'LAYOUT DONE'; then ok; else bad "chromium did not run the layout check: $(tail -n 3 "$tmp/err")"; fi
n_panels=$(echo "$result" | sed -n 's/^PANELS \([0-9]*\).*/\1/p')
if [ "${n_panels:-0}" -ge 10 ]; then ok; else bad "the report shows ${n_panels:-no} panels"; fi
for kind in NARROW CUT OVERLAP 'TEXT OUTSIDE' 'POINT OUTSIDE'; do
    found=$(echo "$result" | grep "^$kind" || true)
    if [ -z "$found" ]; then ok; else bad "$kind: $(echo "$found" | head -n 5 | tr '\n' ';') ($(echo "$found" | wc -l) in all)"; fi
done
echo "$result" | grep '^PANELS'
rm -f "$page"
timeout 120 "$browser" "${flags[@]}" --window-size=1280,2000 --screenshot="$dir/report_1280.png" \
    "file://$(cd "$dir" && pwd)/report.html" >/dev/null 2>&1
if [ -s "$dir/report_1280.png" ]; then ok; else bad "no screenshot"; fi
summary
