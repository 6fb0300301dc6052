#!/usr/bin/env bash
# The explorer page in a real browser (tests/web/web_test.mjs): Debian's Chromium driven by
# puppeteer-core (installed from the npm registry into BUILD/webtest, version pinned in
# tests/web/package.json). Skipped, saying so, when Chromium is missing. Last line "N passed, M failed".
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
exec node tests/web/web_test.mjs "$build" "$chromium" "$build/webtest"
