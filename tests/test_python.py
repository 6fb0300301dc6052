#!/usr/bin/env python3
"""The Python bindings (examples/python/finwidth.py over build/libfinwidth.so) against the command
line (build/finwidth) on the same inputs: every number equal to the CLI's printed 10 digits
(relative 1e-9), errors raised as FinwidthError. Usage: test_python.py BUILD_DIR."""
import csv
import io
import os
import subprocess
import sys
import tempfile

build = sys.argv[1] if len(sys.argv) > 1 else "build"
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "examples", "python"))
os.environ["FINWIDTH_LIB"] = os.path.join(build, "libfinwidth.so")
import finwidth  # noqa: E402

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s %s" % (name, detail))


def cli(*args):
    out = subprocess.run([os.path.join(build, "finwidth")] + [str(a) for a in args], check=True,
                         capture_output=True, text=True).stdout
    return list(csv.DictReader(io.StringIO(out)))


def close(a, b, rel=1e-9):
    return abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-300


def rows_match(name, rows, res, cols, n):
    """rows: the CLI's t,point,... rows; res: the binding's dict of R x n tables."""
    bad = 0
    for row in rows:
        r = res["t"].index(int(row["t"]))
        p = int(row["point"])
        for key, col in cols:
            if not close(float(row[col]), float(res[key][r][p])):
                bad += 1
                if bad <= 3:
                    print("  %s t=%s point=%d %s: cli %s, python %r" % (name, row["t"], p, key, row[col], res[key][r][p]))
    check(name + " equals the CLI", bad == 0 and len(rows) == len(res["t"]) * n, "(%d mismatches)" % bad)


X = [[0.5, 1.0], [-1.0, 0.3], [0.2, -0.7], [0.9, 0.4]]
y = [1.0, -1.0, 0.5, -0.3]
Xt = [[1.0, 1.0], [-0.5, 0.5]]
tmp = tempfile.mkdtemp()
train, test = os.path.join(tmp, "train.csv"), os.path.join(tmp, "test.csv")
with open(train, "w") as f:
    f.writelines("%r,%r,%r\n" % (a, b, c) for (a, b), c in zip(X, y))
with open(test, "w") as f:
    f.writelines("%r,%r\n" % (a, b) for a, b in Xt)
data = ["--data", train, "--test", test]

res = finwidth.simulate(X, y, Xt, depth=2, act="relu", width=32, gamma0=0.5, lr=0.2, steps=6, every=2, seeds=5, seed=3)
rows = cli("simulate", *data, "--depth", 2, "--act", "relu", "--width", 32, "--gamma0", 0.5, "--lr", 0.2,
           "--steps", 6, "--every", 2, "--seeds", 5, "--seed", 3)
rows_match("simulate", rows, res, [("mean", "mean"), ("var", "var")], 6)
check("simulate records", res["t"] == [0, 2, 4, 6], str(res["t"]))

# a CNN on 2 x 2 two-channel images (the rows of Xi, channels innermost)
Xi = [[0.5, 1.0, -0.2, 0.3, 0.1, -0.8, 0.7, 0.2], [-1.0, 0.3, 0.4, -0.6, 0.9, 0.1, -0.3, 0.5],
      [0.2, -0.7, 0.6, 0.8, -0.4, 0.3, 0.2, -0.9]]
yi = [1.0, -1.0, 0.5]
imgs = os.path.join(tmp, "images.csv")
with open(imgs, "w") as f:
    f.writelines(",".join("%r" % v for v in row + [c]) + "\n" for row, c in zip(Xi, yi))
res = finwidth.simulate(Xi, yi, arch="cnn", image=(2, 2, 2), depth=2, width=4, gamma0=0.5, lr=0.1, steps=4, every=2, seeds=3)
rows = cli("simulate", "--data", imgs, "--arch", "cnn", "--image", "2x2x2", "--depth", 2, "--width", 4, "--gamma0", 0.5,
           "--lr", 0.1, "--steps", 4, "--every", 2, "--seeds", 3)
rows_match("simulate --arch cnn", rows, res, [("mean", "mean"), ("var", "var")], 3)

res = finwidth.dmft(X, y, Xt, act="tanh", gamma0=1, lr=0.3, steps=5, samples=1024, replicates=4)
rows = cli("dmft", *data, "--act", "tanh", "--gamma0", 1, "--lr", 0.3, "--steps", 5, "--samples", 1024,
           "--replicates", 4, "--losses", os.path.join(tmp, "l.csv"))
rows_match("dmft", rows, res, [("mean", "mean"), ("stderr", "stderr")], 6)
with open(os.path.join(tmp, "l.csv")) as f:
    lrows = list(csv.DictReader(f))
check("dmft losses and sharpness equal the CLI's --losses",
      all(close(float(r["train_loss"]), float(res["train_loss"][i])) and close(float(r["sharpness"]), float(res["sharpness"][i]))
          for i, r in enumerate(lrows)) and len(lrows) == 6)

res = finwidth.theory(X, y, Xt, act="erf", width=128, gamma0=0.8, lr=0.4, steps=4, samples=2048, replicates=4)
rows = cli("theory", *data, "--act", "erf", "--width", 128, "--gamma0", 0.8, "--lr", 0.4, "--steps", 4,
           "--samples", 2048, "--replicates", 4)
rows_match("theory (two-layer)", rows, res, [("mean", "mean"), ("var", "var")], 6)

res = finwidth.theory(X[:2], y[:2], Xt[:1], depth=2, act="linear", width=64, gamma0=1.5, lr=0.2, steps=3)
# the deep path on a two-point problem of its own files
with open(train + "2", "w") as f:
    f.writelines("%r,%r,%r\n" % (a, b, c) for (a, b), c in zip(X[:2], y[:2]))
with open(test + "2", "w") as f:
    f.write("%r,%r\n" % tuple(Xt[0]))
rows = cli("theory", "--data", train + "2", "--test", test + "2", "--depth", 2, "--act", "linear", "--width", 64,
           "--gamma0", 1.5, "--lr", 0.2, "--steps", 3)
rows_match("theory (deep linear, exact)", rows, res, [("mean", "mean"), ("var", "var")], 3)

res = finwidth.dln(alpha=0.5, depth=2, gamma0=1, lr=0.15, steps=16, every=4, noise=0.3)
rows = cli("dln", "--alpha", 0.5, "--depth", 2, "--gamma0", 1, "--lr", 0.15, "--steps", 16, "--every", 4, "--noise", 0.3)
check("dln theory equals the CLI", len(rows) == 5 and all(
    int(r["t"]) == res["t"][i] and close(float(r["test_loss"]), float(res["test_loss"][i])) for i, r in enumerate(rows)))
res = finwidth.dln(alpha=1, nu=1, depth=1, lr=0.1, steps=4, simulate=32, seeds=3)
rows = cli("dln", "--alpha", 1, "--nu", 1, "--depth", 1, "--lr", 0.1, "--steps", 4, "--simulate", 32, "--seeds", 3)
check("dln simulate equals the CLI", len(rows) == 5 and all(
    close(float(r["test_loss"]), float(res["test_loss"][i])) and close(float(r["test_loss_sd"]), float(res["test_loss_sd"][i]))
    for i, r in enumerate(rows)))

# errors come back as FinwidthError with the library's sentence
for name, call in [("unknown activation", lambda: finwidth.theory(X, y, act="softplus")),
                   ("ragged rows", lambda: finwidth.simulate([[1, 2], [3]], [1, 2])),
                   ("divergence", lambda: finwidth.simulate(X, y, lr=1e6, steps=50, width=16)),
                   ("bad width", lambda: finwidth.simulate(X, y, width=0, steps=1)),
                   ("image shape", lambda: finwidth.simulate(X, y, arch="cnn", image=(3, 3), steps=1))]:
    try:
        call()
        check(name + " raises", False)
    except finwidth.FinwidthError as e:
        check(name + " raises FinwidthError with a message", len(str(e)) > 5, str(e))

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
