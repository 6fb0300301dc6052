"""Reference prototype (numpy; not part of the library, not run by CI) of the finite-width
fluctuation theory of deep nets over training with sampled single sites: docs/fluct.md
sections 11-12. It checks the derivation before the C version exists.

    ACT=tanh GAM=2 ETA=0.1 TT=3 python3 deep_fluct_sampled.py L N S M

L hidden layers, width N for the comparison, S simulated networks (numpy, cached in an .npz),
M single sites per layer. Prints N Var of Phi(l)(t,t), G(l)(t,t) and f per cell: simulation,
theory with the pair terms of the shared weights, and theory without them, with z-scores
(standard error of a sample variance); for L >= 3 also the theory without the chain terms.
ACT=linear runs the same sampled code for linear nets (compare with fw_dlfluct_run).
"""

import numpy as np, sys, time, os

act = os.environ.get('ACT', 'tanh')
if act == 'tanh':
    phi = np.tanh
    dphi = lambda x: 1 - np.tanh(x) ** 2
    ddphi = lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)
else:
    phi = lambda x: x
    dphi = lambda x: np.ones_like(x)
    ddphi = lambda x: np.zeros_like(x)

def psd_sqrt(C):
    w, V = np.linalg.eigh((C + C.T) / 2)
    w = np.clip(w, 0, None)
    return V * np.sqrt(w)

class NL:
    def __init__(s, L, T, X, y, Q, eta, gam, M, seed=3):
        s.L, s.T, s.eta, s.gam = L, T, eta, gam
        s.X, s.y = X, y
        s.P = len(y); s.n = X.shape[0]; s.D = X.shape[1]
        s.Kx = X @ X.T / s.D
        s.tt = T + 1; s.nh = s.tt * s.n; s.nz = s.tt * s.P; s.nx = s.nh + s.nz
        rng = np.random.default_rng(seed)
        s.M = M
        s.zu = [rng.standard_normal((M, s.nh)) for _ in range(L)]
        s.zr = [rng.standard_normal((M, s.nz)) for _ in range(L)]
        s.slots = {}
        off = 0
        for l in range(1, L + 1):
            s.slots[('Phi', l)] = (off, (s.nh, s.nh)); off += s.nh * s.nh
            s.slots[('G', l)] = (off, (s.nz, s.nz)); off += s.nz * s.nz
        for l in range(1, L):
            s.slots[('A', l)] = (off, (s.nh, s.nz)); off += s.nh * s.nz
            s.slots[('B', l)] = (off, (s.nz, s.nz)); off += s.nz * s.nz
        s.slots[('f',)] = (off, (s.tt, s.n)); off += s.tt * s.n
        s.dim = off

    def get(s, q, k):
        o, sh = s.slots[k]
        return q[o:o + int(np.prod(sh))].reshape(sh)

    def kblocks(s, q, l):
        """Kh (nh x nz): h += Kh g ; Kz (nz x nz): z += Kz phi(h_train); CovU, CovR."""
        n, P, tt, nh, nz, eg = s.n, s.P, s.tt, s.nh, s.nz, s.eta * s.gam
        f = s.get(q, ('f',))
        Delta = s.y[None, :] - f[:, :P]
        if l == 1:
            CovU = np.kron(np.ones((tt, tt)), s.Kx); PhiP = CovU; Ap = np.zeros((nh, nz))
        else:
            CovU = s.get(q, ('Phi', l - 1)); PhiP = CovU; Ap = s.get(q, ('A', l - 1))
        if l == s.L:
            CovR = np.ones((nz, nz)); Bc = np.zeros((nz, nz))
        else:
            CovR = s.get(q, ('G', l + 1)); Bc = s.get(q, ('B', l))
        Kh = np.zeros((nh, nz)); Kz = np.zeros((nz, nz))
        for t in range(tt):
            for sd in range(t):
                for b in range(P):
                    for a in range(n):
                        Kh[t * n + a, sd * P + b] = Ap[t * n + a, sd * P + b] + eg * Delta[sd, b] * PhiP[sd * n + b, t * n + a]
            for sd in range(t + 1):
                for b in range(P):
                    for a in range(P):
                        v = Bc[t * P + a, sd * P + b]
                        if sd < t:
                            v += eg * Delta[sd, b] * CovR[sd * P + b, t * P + a]
                        Kz[t * P + a, sd * P + b] = v
        return Kh, Kz, CovU, CovR

    def march(s, l, Kh, Kz, u, r):
        """per sample: h (M, nh), z (M, nz), g (M, nz)"""
        n, P, tt = s.n, s.P, s.tt
        M = u.shape[0]
        h = np.zeros((M, s.nh)); z = np.zeros((M, s.nz)); g = np.zeros((M, s.nz))
        trainidx = np.array([t * n + b for t in range(tt) for b in range(P)])
        for t in range(tt):
            hs = slice(t * n, (t + 1) * n)
            h[:, hs] = u[:, hs] + g[:, :t * P] @ Kh[hs, :t * P].T
            ph_tr = phi(h[:, trainidx[:(t + 1) * P]])
            zs = slice(t * P, (t + 1) * P)
            z[:, zs] = r[:, zs] + ph_tr @ Kz[zs, :(t + 1) * P].T
            g[:, zs] = dphi(h[:, trainidx[t * P:(t + 1) * P]]) * z[:, zs]
        return h, z, g, trainidx

    def jac(s, Kh, Kz, h, z, trainidx):
        """per-sample J = dx/dS, x = (h, z): (M, nx, nx)"""
        M = h.shape[0]; nh, nz = s.nh, s.nz
        htr = h[:, trainidx]
        # psi' blocks: dg/dh_train = ddphi*z, dg/dz = dphi; dphi(h_train)/dh = dphi
        Kp = np.zeros((M, s.nx, s.nx))
        # h rows: Kh @ (ddphi(htr)*z dh_train + dphi(htr) dz)
        Kp[:, :nh, trainidx] += Kh[None, :, :] * (ddphi(htr) * z)[:, None, :]
        Kp[:, :nh, nh:] += Kh[None, :, :] * dphi(htr)[:, None, :]
        Kp[:, nh:, trainidx] += Kz[None, :, :] * dphi(htr)[:, None, :]
        return np.linalg.inv(np.eye(s.nx)[None] - Kp)

    def layer_obs(s, q, l, du=None, dr=None, need_jac=True):
        """per-sample observables of layer l: dict of arrays (M, ...)"""
        Kh, Kz, CovU, CovR = s.kblocks(q, l)
        Lu = psd_sqrt(CovU); Lr = psd_sqrt(CovR)
        u = s.zu[l - 1] @ Lu.T; r = s.zr[l - 1] @ Lr.T
        if du is not None: u = u + du
        if dr is not None: r = r + dr
        h, z, g, tr = s.march(l, Kh, Kz, u, r)
        ph = phi(h)
        out = {'ph': ph, 'g': g, 'h': h, 'z': z}
        if need_jac:
            J = s.jac(Kh, Kz, h, z, tr)
            nh = s.nh
            out['dphi_dr'] = dphi(h)[:, :, None] * J[:, :nh, nh:]            # (M, nh, nz)
            out['dphi_du'] = dphi(h)[:, :, None] * J[:, :nh, :nh]            # (M, nh, nh)
            htr = h[:, tr]
            out['dg_du'] = (ddphi(htr) * z)[:, :, None] * J[:, tr, :nh] + dphi(htr)[:, :, None] * J[:, nh:, :nh]   # (M, nz, nh)
            out['dg_dr'] = (ddphi(htr) * z)[:, :, None] * J[:, tr, nh:] + dphi(htr)[:, :, None] * J[:, nh:, nh:]   # (M, nz, nz)
        return out

    def obsvec(s, l, ob):
        """per-sample vector of the noise-bearing observables of layer l, laid out as q's slots"""
        M = ob['ph'].shape[0]
        parts = {}
        parts[('Phi', l)] = (ob['ph'][:, :, None] * ob['ph'][:, None, :]).reshape(M, -1)
        parts[('G', l)] = (ob['g'][:, :, None] * ob['g'][:, None, :]).reshape(M, -1)
        if l < s.L:
            parts[('A', l)] = ob['dphi_dr'].reshape(M, -1)
        if l >= 2:
            trcols = np.array([t * s.n + b for t in range(s.tt) for b in range(s.P)])
            parts[('B', l - 1)] = ob['dg_du'][:, :, trcols].reshape(M, -1)
        if l == s.L:
            w = ob['z'][:, [t * s.P for t in range(s.tt)]]           # (M, tt)
            parts[('f',)] = (w[:, :, None] * ob['ph'].reshape(M, s.tt, s.n) / s.gam).reshape(M, -1)
        return parts

    def F(s, q):
        out = np.zeros_like(q)
        for l in range(1, s.L + 1):
            ob = s.layer_obs(q, l)
            for k, v in s.obsvec(l, ob).items():
                o, sh = s.slots[k]
                out[o:o + v.shape[1]] = v.mean(0)
        return out

    def solve(s):
        q = np.zeros(s.dim)
        for l in range(1, s.L + 1):
            o, sh = s.slots[('Phi', l)]; q[o:o + sh[0] * sh[1]] = np.kron(np.ones((s.tt, s.tt)), s.Kx).ravel() * 0.5
            o, sh = s.slots[('G', l)]; q[o:o + sh[0] * sh[1]] = 1
        for it in range(200):
            qn = s.F(q)
            d = np.max(np.abs(qn - q)); q = qn
            if d < 1e-12: break
        s.q = q
        return q, it, d

    def layer_mean(s, q, l, Kh=None, Kz=None, du=None, dr=None):
        """mean of the obs parts of layer l with optional overridden K and source shifts (CRN)."""
        if Kh is None:
            Kh, Kz, CovU, CovR = s.kblocks(q, l)
        else:
            _, _, CovU, CovR = s.kblocks(q, l)
        Lu = psd_sqrt(CovU); Lr = psd_sqrt(CovR)
        u = s.zu[l - 1] @ Lu.T; r = s.zr[l - 1] @ Lr.T
        if du is not None: u = u + du
        if dr is not None: r = r + dr
        h, z, g, tr = s.march(l, Kh, Kz, u, r)
        J = s.jac(Kh, Kz, h, z, tr)
        nh = s.nh
        ob = {'ph': phi(h), 'g': g, 'h': h, 'z': z}
        ob['dphi_dr'] = dphi(h)[:, :, None] * J[:, :nh, nh:]
        htr = h[:, tr]
        ob['dg_du'] = (ddphi(htr) * z)[:, :, None] * J[:, tr, :nh] + dphi(htr)[:, :, None] * J[:, nh:, :nh]
        return s.obsvec(l, ob)

    def flat(s, parts):
        """(M or scalar) parts -> per-sample arrays placed in q layout (M, dim)"""
        M = next(iter(parts.values())).shape[0]
        out = np.zeros((M, s.dim))
        for k, v in parts.items():
            o, sh = s.slots[k]
            out[:, o:o + v.shape[1]] = v
        return out

    def jacobian(s, q, h=1e-4, hs=1e-3):
        D = np.zeros((s.dim, s.dim))
        for l in range(1, s.L + 1):
            Kh0, Kz0, CovU, CovR = s.kblocks(q, l)
            # drift part: every q entry, FD on K only
            for k in range(s.dim):
                e = np.zeros(s.dim); e[k] = h
                Khp, Kzp, _, _ = s.kblocks(q + e, l)
                if np.max(np.abs(Khp - Kh0)) == 0 and np.max(np.abs(Kzp - Kz0)) == 0:
                    continue
                Khm, Kzm, _, _ = s.kblocks(q - e, l)
                op = s.flat(s.layer_mean(q, l, Khp, Kzp)).mean(0)
                om = s.flat(s.layer_mean(q, l, Khm, Kzm)).mean(0)
                D[:, k] += (op - om) / (2 * h)
            # covariance part (Price): d E o / d Cov_ab = 1/2 E d2o/dS_a dS_b
            for which, nsrc, key in (('u', s.nh, ('Phi', l - 1)), ('r', s.nz, ('G', l + 1))):
                if key not in s.slots:
                    continue
                o0, sh = s.slots[key]
                for a in range(nsrc):
                    for b in range(a, nsrc):
                        vals = []
                        for sa, sb in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                            d = np.zeros(nsrc); d[a] += sa * hs; d[b] += sb * hs
                            kw = {'du': d[None, :]} if which == 'u' else {'dr': d[None, :]}
                            vals.append(s.flat(s.layer_mean(q, l, Kh0, Kz0, **kw)).mean(0))
                        d2 = (vals[0] - vals[1] - vals[2] + vals[3]) / (4 * hs * hs)
                        D[:, o0 + a * sh[1] + b] += 0.5 * d2
                        if b != a:
                            D[:, o0 + b * sh[1] + a] += 0.5 * d2
        return D

    def noise(s, q, hs=1e-4, pairs=True, chains=True):
        Ce = np.zeros((s.dim, s.dim))
        ob = {}; Ov = {}
        for l in range(1, s.L + 1):
            Kh, Kz, CovU, CovR = s.kblocks(q, l)
            ob[l] = s.layer_obs(q, l)
            Ov[l] = s.flat(s.obsvec(l, ob[l]))
            Ce += np.cov(Ov[l].T, bias=False)
        if not pairs:
            return Ce
        nh, nz = s.nh, s.nz
        # R_o(k, m) = E[d o/d r(k) phi(m)] for layers 1..L-1; S_o(m, k) = E[d o/d u(m) g(k)] for 2..L
        R, S = {}, {}
        for l in range(1, s.L + 1):
            Kh, Kz, _, _ = s.kblocks(q, l)
            if l < s.L:
                R[l] = np.zeros((s.dim, nz, nh))
                for k in range(nz):
                    d = np.zeros(nz); d[k] = hs
                    op = s.flat(s.layer_mean(q, l, Kh, Kz, dr=d[None, :])); om = s.flat(s.layer_mean(q, l, Kh, Kz, dr=-d[None, :]))
                    R[l][:, k, :] = ((op - om) / (2 * hs)).T @ ob[l]['ph'] / s.M
            if l > 1:
                S[l] = np.zeros((s.dim, nh, nz))
                for m in range(nh):
                    d = np.zeros(nh); d[m] = hs
                    op = s.flat(s.layer_mean(q, l, Kh, Kz, du=d[None, :])); om = s.flat(s.layer_mean(q, l, Kh, Kz, du=-d[None, :]))
                    S[l][:, m, :] = ((op - om) / (2 * hs)).T @ ob[l]['g'] / s.M
        for l in range(1, s.L):
            X = np.einsum('okm,pmk->op', R[l], S[l + 1])   # adjacent layers through W(l)
            Ce += X + X.T
            # exchange terms
            dgdu = ob[l + 1]['dg_du']        # (M, nz, nh)
            T4 = np.einsum('sab,scd->abcd', dgdu, dgdu) / s.M   # T4[k,m',k',m] = E[dg(k)/du(m') dg(k')/du(m)]
            Ce += np.einsum('okm,pjn,knjm->op', R[l], R[l], T4)
            dpdr = ob[l]['dphi_dr']          # (M, nh, nz)
            U4 = np.einsum('sab,scd->abcd', dpdr, dpdr) / s.M   # U4[m,k',m',k] = E[dphi(m)/dr(k') dphi(m')/dr(k)]
            Ce += np.einsum('omk,pnj,mjnk->op', S[l + 1], S[l + 1], U4)
        if chains:
            for l in range(1, s.L - 1):     # chains l -> l' >= l + 2 through the middle layers
                Rp = R[l].copy()
                for lp in range(l + 2, s.L + 1):
                    mid = ob[lp - 1]           # the middle neuron: E[dg(a1)/dr(a2) dphi(b2)/du(b1)]
                    C4 = np.einsum('sab,scd->abcd', mid['dg_dr'], mid['dphi_du']) / s.M   # [a1, a2, b2, b1]
                    Rp = np.einsum('oab,acdb->ocd', Rp, C4)
                    X = np.einsum('okm,pmk->op', Rp, S[lp])
                    Ce += X + X.T
        return Ce

if __name__ == '__main__':
    L = int(sys.argv[1]); N = int(sys.argv[2]); S = int(sys.argv[3]); M = int(sys.argv[4])
    T = int(os.environ.get("TT", "3")); gam = float(os.environ.get("GAM", "2")); eta = float(os.environ.get("ETA", "0.1"))
    rng = np.random.default_rng(5)
    X = rng.standard_normal((3, 3)); y = np.array([0.8, -0.6])
    m = NL(L, T, X, y, 1, eta, gam, M)
    t0 = time.time()
    q, it, d = m.solve(); print('solve', it, d, m.dim, time.time() - t0)
    # linear check of the machinery: compare with dl.py when ACT=linear
    Dj = m.jacobian(q); print('jac', time.time() - t0)
    Pi = np.linalg.inv(np.eye(m.dim) - Dj)
    covs = {}
    for pairs in (True, False):
        covs[pairs] = Pi @ m.noise(q, pairs=pairs) @ Pi.T
    if L >= 3:
        covs['nochain'] = Pi @ m.noise(q, chains=False) @ Pi.T
    print('theory', time.time() - t0)
    # simulation
    act = os.environ.get('ACT', 'tanh')
    sphi = np.tanh if act == 'tanh' else (lambda x: x)
    sdphi = (lambda x: 1 - np.tanh(x) ** 2) if act == 'tanh' else (lambda x: np.ones_like(x))
    fn = 'nlsim_%s_%d_%d_%d_%g_%g_%d.npz' % (act, L, N, S, gam, eta, T)
    if os.path.exists(fn):
        z = np.load(fn); ph, fr, gk = z['ph'], z['fr'], z['gk']
    else:
        n, P, D = 3, 2, 3
        ph = np.zeros((S, T + 1, L, n, n)); fr = np.zeros((S, T + 1, n)); gk = np.zeros((S, T + 1, L, P, P))
        rs = np.random.default_rng(11)
        ch = 100
        for c0 in range(0, S, ch):
            B = ch
            W0 = rs.standard_normal((B, N, D)); Ws = [rs.standard_normal((B, N, N)) for _ in range(L - 1)]; w = rs.standard_normal((B, N))
            for t in range(T + 1):
                hs = [np.einsum('bnd,pd->bnp', W0, X) / np.sqrt(D)]
                for l in range(L - 1):
                    hs.append(np.einsum('bij,bjp->bip', Ws[l], sphi(hs[-1])) / np.sqrt(N))
                f = np.einsum('bn,bnp->bp', w, sphi(hs[-1])) / (gam * N)
                for l in range(L):
                    ph[c0:c0 + B, t, l] = np.einsum('bip,biq->bpq', sphi(hs[l]), sphi(hs[l])) / N
                fr[c0:c0 + B, t] = f
                Dl = y[None, :] - f[:, :P]
                gs = [None] * L
                gs[L - 1] = sdphi(hs[L - 1]) * w[:, :, None]
                for l in range(L - 2, -1, -1):
                    gs[l] = sdphi(hs[l]) * (np.einsum('bji,bjp->bip', Ws[l], gs[l + 1]) / np.sqrt(N))
                for l in range(L):
                    gk[c0:c0 + B, t, l] = np.einsum('bip,biq->bpq', gs[l][:, :, :P], gs[l][:, :, :P]) / N
                if t == T: break
                wn = w + eta * gam * np.einsum('bp,bnp->bn', Dl, sphi(hs[L - 1][:, :, :P]))
                for l in range(L - 1):
                    Ws[l] = Ws[l] + eta * gam / np.sqrt(N) * np.einsum('bp,bip,bjp->bij', Dl, gs[l + 1][:, :, :P], sphi(hs[l][:, :, :P]))
                W0 = W0 + eta * gam / np.sqrt(D) * np.einsum('bp,bip,pd->bid', Dl, gs[0][:, :, :P], X[:P])
                w = wn
        np.savez(fn, ph=ph, fr=fr, gk=gk)
    print('sim', time.time() - t0)
    se = np.sqrt(2.0 / (S - 1))
    def nochain(k, vs):
        if 'nochain' not in covs:
            return ''
        vc = covs['nochain'][k, k]
        return '  nochain %.4f z %.1f' % (vc, (vs - vc) / (vc * se))
    n, P = 3, 2
    fq = m.get(q, ('f',))
    print('f mean th', fq[T], 'sim', fr[:, T].mean(0))
    zs = []
    for l in range(1, L + 1):
        o, sh = m.slots[('Phi', l)]
        for t in range(T + 1):
            for (a, b) in ((0, 0), (0, 1), (2, 2)):
                k = o + (t * n + a) * m.nh + t * n + b
                vs = ph[:, t, l - 1, a, b].var(ddof=1) * N; vt = covs[True][k, k]; vn = covs[False][k, k]
                zs.append((vs - vt) / (vt * se))
                print('Phi%d[%d%d] t=%d sim %.4f th %.4f nopair %.4f z %.1f %.1f' % (l, a, b, t, vs, vt, vn, (vs - vt) / (vt * se), (vs - vn) / (vn * se)) + nochain(k, vs))
        o, sh = m.slots[('G', l)]
        for t in range(T + 1):
            for (a, b) in ((0, 0), (0, 1)):
                k = o + (t * P + a) * m.nz + t * P + b
                vs = gk[:, t, l - 1, a, b].var(ddof=1) * N; vt = covs[True][k, k]; vn = covs[False][k, k]
                zs.append((vs - vt) / (vt * se))
                print('G%d[%d%d] t=%d sim %.4f th %.4f nopair %.4f z %.1f %.1f' % (l, a, b, t, vs, vt, vn, (vs - vt) / (vt * se), (vs - vn) / (vn * se)) + nochain(k, vs))
    o, sh = m.slots[('f',)]
    for t in range(T + 1):
        for a in range(n):
            k = o + t * n + a
            vs = fr[:, t, a].var(ddof=1) * N; vt = covs[True][k, k]; vn = covs[False][k, k]
            zs.append((vs - vt) / (vt * se))
            print('f[%d] t=%d sim %.4f th %.4f nopair %.4f z %.1f %.1f' % (a, t, vs, vt, vn, (vs - vt) / (vt * se), (vs - vn) / (vn * se)) + nochain(k, vs))
    print('max |z| full', np.max(np.abs(zs)))
