#!/usr/bin/env bash
# The explorer page in a real browser (tests/web/web_test.mjs): Debian's Chromium driven by
# puppeteer-core (installed from the npm registry into BUILD/webtest, version pinned in
# tests/web/package.json), from file:// and from python3 -m http.server. Skipped, saying so, when
# Chromium is missing. Last line "N passed, M failed".
set -u
build=${1:-build}
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
    echo "web: skipped (no chromium; tests/install-deps.sh installs it)"
    echo "0 passed, 0 failed"
    exit 0
fi
mkdir -p "$build/webtest"
cp tests/web/package.json "$build/webtest/package.json"
if [ ! -d "$build/webtest/node_modules/puppeteer-core" ]; then
    if ! (cd "$build/webtest" && npm install --no-audit --no-fund --silent >npm.log 2>&1); then
        echo "FAIL npm could not install puppeteer-core (see $build/webtest/npm.log)"
        echo "0 passed, 1 failed"
        exit 1
    fi
fi
# the page also from a static server (python3 -m http.server on a free port of 8600..8799)
port=$((8600 + $$ % 200))
(cd "$build" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in 1 2 3 4 5 6 7 8 9 10; do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/web/index.html')" 2>/dev/null && break
    sleep 0.3
done
FW_WEB_URL="http://127.0.0.1:$port/web/index.html" node tests/web/web_test.mjs "$build" "$chromium" "$build/webtest"
