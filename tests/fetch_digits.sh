#!/usr/bin/env bash
# Writes build/data/digits.csv: the 1797 handwritten digits that Debian's python3-sklearn ships
# (scikit-learn's datasets/data/digits.csv.gz: per row 64 pixels 0..16, row by row, then the label
# 0..9), without installing anything: apt-get download fetches the package into a scratch folder
# and dpkg -x unpacks it there. Uses an installed copy when there is one. Does nothing when the file
# is already there. The CLI reads it with --data digits; the unit tests do not need it.
set -eu
cd "$(dirname "$0")/.."
out=build/data/digits.csv
member=usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz
if [ -s "$out" ]; then exit 0; fi
mkdir -p build/data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src="/$member"
if [ ! -f "$src" ]; then
    if ! (cd "$tmp" && apt-get download python3-sklearn >/dev/null 2>&1); then
        # a fresh machine may have no package lists yet
        as_root=""
        if [ "$(id -u)" -ne 0 ]; then as_root="sudo"; fi
        $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        (cd "$tmp" && apt-get download python3-sklearn >/dev/null 2>&1) || {
            echo "fetch_digits: apt-get download python3-sklearn failed (no access to Debian's archive?)" >&2
            exit 1
        }
    fi
    dpkg -x "$tmp"/python3-sklearn_*.deb "$tmp/x"
    src="$tmp/x/$member"
fi
gzip -dc "$src" > "$tmp/digits.csv"
rows=$(wc -l < "$tmp/digits.csv")
cols=$(head -1 "$tmp/digits.csv" | awk -F, '{print NF}')
if [ "$rows" -ne 1797 ] || [ "$cols" -ne 65 ]; then
    echo "fetch_digits: expected 1797 rows of 65 columns, got $rows of $cols" >&2
    exit 1
fi
mv "$tmp/digits.csv" "$out"
echo "fetch_digits: wrote $out (1797 images of 8 x 8 pixels and their labels)"
