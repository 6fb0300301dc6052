"""finwidth from Python: simulate, dmft, theory and dln, with the standard library only.

Build the shared library first (`ninja shared` -> build/libfinwidth.so), then:

    import finwidth
    X = [[1, 0], [0, 1], [-1, 0.5], [0.5, -1]]; y = [1, -1, 0.5, -0.5]
    th = finwidth.theory(X, y, X_test=[[0.7, 0.7]], act="tanh", width=256, gamma0=1, lr=0.5, steps=20)
    th["t"], th["mean"], th["var"], th["var_se"]      # records; rows: t, columns: points

Every function takes the options of the command of the same name (`build/finwidth CMD --help`),
with the same defaults, and returns a dict of lists (numpy arrays when numpy is installed): "t"
(the recorded steps) and, per command, rows of R records x n points (training points first, then
the X_test rows) or R values. The numbers are those the command line prints for the same inputs.
Errors raise FinwidthError with the library's sentence. Set FINWIDTH_LIB to the library's path
to load it from elsewhere.
"""
import ctypes
import os

try:
    import numpy as _np
except ImportError:  # the module works without numpy
    _np = None

__all__ = ["simulate", "dmft", "theory", "dln", "FinwidthError"]


class FinwidthError(RuntimeError):
    """A finwidth call failed; the message is the library's."""


def _load():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.environ.get("FINWIDTH_LIB") or os.path.join(here, "..", "..", "build", "libfinwidth.so")
    lib = ctypes.CDLL(path)
    D, I, LL, S = ctypes.c_double, ctypes.c_int, ctypes.c_longlong, ctypes.c_char_p
    PD, PI = ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_int)
    lib.fwpy_record_count.argtypes = [I, I]
    lib.fwpy_record_count.restype = I
    lib.fwpy_record_times.argtypes = [I, I, PI]
    lib.fwpy_record_times.restype = None
    lib.fwpy_simulate.argtypes = [PD, PD, I, I, I, I, S, I, D, I, D, I, I, I, LL, I, PI, PD, PD, S]
    lib.fwpy_dmft.argtypes = [PD, PD, I, I, I, I, S, D, D, I, I, I, I, S, LL, PD, PD, PD, PD, PD, S]
    lib.fwpy_theory.argtypes = [PD, PD, I, I, I, I, S, I, D, I, D, I, I, I, I, S, LL, PD, PD, PD, S]
    lib.fwpy_dln.argtypes = [D, D, I, D, I, I, D, I, I, D, D, D, D, D, I, I, I, LL, PD, PD, PD, PD, S]
    for f in (lib.fwpy_simulate, lib.fwpy_dmft, lib.fwpy_theory, lib.fwpy_dln):
        f.restype = I
    return lib


_lib = None


def _L():
    global _lib
    if _lib is None:
        _lib = _load()
    return _lib


def _doubles(values):
    values = [float(v) for v in values]
    return (ctypes.c_double * max(1, len(values)))(*values)


def _problem(X, y, X_test):
    rows = [list(r) for r in X]
    test = [list(r) for r in (X_test if X_test is not None else [])]
    if not rows or len(rows) != len(list(y)):
        raise FinwidthError("X needs one row per target in y (P >= 1)")
    D = len(rows[0])
    if any(len(r) != D for r in rows + test):
        raise FinwidthError("every row of X and X_test needs the same number of inputs D")
    flat = [v for r in rows + test for v in r]
    return _doubles(flat), _doubles(y), len(rows), len(test), D


def _times(steps, every):
    R = _L().fwpy_record_count(steps, every)
    if R < 1:
        raise FinwidthError("steps must be >= 0 and every >= 1")
    t = (ctypes.c_int * R)()
    _L().fwpy_record_times(steps, every, t)
    return list(t), R


def _out(arr, R, n=None):
    vals = list(arr)
    if n is None:
        rows = vals[:R]
    else:
        rows = [vals[r * n:(r + 1) * n] for r in range(R)]
    return _np.array(rows) if _np is not None else rows


def _check(rc, err):
    if rc != 0:
        raise FinwidthError(err.value.decode("utf-8", "replace") or "finwidth error %d" % rc)


def simulate(X, y, X_test=None, depth=1, act="tanh", width=256, gamma0=1.0, ntk=False, lr=0.1, steps=100,
             every=1, seeds=1, seed=0, arch="mlp", image=(8, 8, 1)):
    """Trains `seeds` networks; returns t, mean and var (over seeds) of f on every point.
    arch="cnn": every row of X is an image of image = (height, width[, channels]) pixels, channels
    innermost (3 x 3 convolutions with `width` channels, global average pooling)."""
    Xc, yc, P, Q, D = _problem(X, y, X_test)
    t, R = _times(steps, every)
    if arch not in ("mlp", "cnn"):
        raise FinwidthError("arch: mlp or cnn, not %r" % (arch,))
    img = list(image) + [1] * (3 - len(image))
    if len(img) != 3 or any(int(v) < 1 for v in img):
        raise FinwidthError("image: (height, width[, channels]) of integers >= 1, not %r" % (image,))
    if arch == "cnn" and img[0] * img[1] * img[2] != D:
        raise FinwidthError("image %dx%dx%d has %d values a row; X has %d" % (img[0], img[1], img[2], img[0] * img[1] * img[2], D))
    mean, var = (ctypes.c_double * (R * (P + Q)))(), (ctypes.c_double * (R * (P + Q)))()
    err = ctypes.create_string_buffer(256)
    _check(_L().fwpy_simulate(Xc, yc, P, Q, D, depth, act.encode(), width, gamma0, int(ntk), lr, steps, every,
                              seeds, seed, int(arch == "cnn"), (ctypes.c_int * 3)(*[int(v) for v in img]), mean, var,
                              err), err)
    return {"t": t, "mean": _out(mean, R, P + Q), "var": _out(var, R, P + Q)}


def dmft(X, y, X_test=None, depth=1, act="tanh", gamma0=1.0, lr=0.1, steps=100, every=1, samples=8192,
         replicates=8, sampler="antithetic", seed=0):
    """The infinite-width solution: t, mean and stderr of f; train_loss, test_loss and sharpness."""
    Xc, yc, P, Q, D = _problem(X, y, X_test)
    t, R = _times(steps, every)
    n = P + Q
    mean, se = (ctypes.c_double * (R * n))(), (ctypes.c_double * (R * n))()
    tl, vl, sh = (ctypes.c_double * R)(), (ctypes.c_double * R)(), (ctypes.c_double * R)()
    err = ctypes.create_string_buffer(256)
    _check(_L().fwpy_dmft(Xc, yc, P, Q, D, depth, act.encode(), gamma0, lr, steps, every, samples, replicates,
                          sampler.encode(), seed, mean, se, tl, vl, sh, err), err)
    return {"t": t, "mean": _out(mean, R, n), "stderr": _out(se, R, n), "train_loss": _out(tl, R),
            "test_loss": _out(vl, R), "sharpness": _out(sh, R)}


def theory(X, y, X_test=None, depth=1, act="tanh", width=256, gamma0=1.0, ntk=False, lr=0.1, steps=100,
           every=1, samples=8192, replicates=8, sampler="antithetic", seed=0):
    """Without training: t, the infinite-width mean, Var f at width N and its standard error."""
    Xc, yc, P, Q, D = _problem(X, y, X_test)
    t, R = _times(steps, every)
    n = P + Q
    mean, var, vse = (ctypes.c_double * (R * n))(), (ctypes.c_double * (R * n))(), (ctypes.c_double * (R * n))()
    err = ctypes.create_string_buffer(256)
    _check(_L().fwpy_theory(Xc, yc, P, Q, D, depth, act.encode(), width, gamma0, int(ntk), lr, steps, every,
                            samples, replicates, sampler.encode(), seed, mean, var, vse, err), err)
    return {"t": t, "mean": _out(mean, R, n), "var": _out(var, R, n), "var_se": _out(vse, R, n)}


def dln(alpha=0.0, nu=1.0, depth=1, gamma0=1.0, ntk=False, balanced=False, lr=0.1, steps=100, every=1,
        batch_ratio=0.0, residual=0.0, spectrum=(0.0, 0.0), noise=0.0, dim=1024, simulate=0, seeds=1, seed=0):
    """Deep linear nets on random data: the theory (simulate=0) or `seeds` networks at input
    dimension `simulate`; t, train_loss, test_loss (and their sd over seeds when simulated)."""
    t, R = _times(steps, every)
    tr, te, trs, tes = [(ctypes.c_double * R)() for _ in range(4)]
    err = ctypes.create_string_buffer(256)
    _check(_L().fwpy_dln(alpha, nu, depth, gamma0, int(ntk), int(balanced), lr, steps, every, batch_ratio, residual,
                         spectrum[0], spectrum[1], noise, dim, simulate, seeds, seed, tr, te, trs, tes, err), err)
    out = {"t": t, "train_loss": _out(tr, R), "test_loss": _out(te, R)}
    if simulate:
        out["train_loss_sd"], out["test_loss_sd"] = _out(trs, R), _out(tes, R)
    return out
