# Sourced by the shell test scripts (test_cli.sh, test_demo.sh, test_mcu.sh): a temporary directory
# $tmp removed on exit, the pass/fail counters with ok and bad NAME, and summary, which prints the
# last line "N passed, M failed" and sets the exit status.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
summary() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; }
