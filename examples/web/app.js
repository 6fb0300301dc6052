/* finwidth explorer: the page's logic. The wasm module (fw_wasm.js, built from examples/web/fw_web.c
   and finwidth.h by `ninja web`) runs in a Web Worker created from a Blob, so the page works from
   file:// and the UI never waits for a solve. window.fwExplorer is the page's API (the browser
   test drives it; so can a console). */
'use strict';

const ACT_NAMES = { 0: 'linear', 1: 'relu', 2: 'tanh', 3: 'erf' };   // fw_activation
const DEFAULT_DATA = {   // 8 training points on a circle of radius 2 (D = 2) and 2 test points inside it
  D: 2,
  train: [[2, 0, 0.8], [1.4, 1.4, 0.4], [0, 2, -0.3], [-1.4, 1.4, -0.8], [-2, 0, 0.6], [-1.4, -1.4, 0.2], [0, -2, -0.5], [1.4, -1.4, -0.9]],
  test: [[1, 0.4], [-0.6, 1.6]],
};

/* ---- the worker: owns the module; one request at a time, answers {id, ok, ...} ---- */
function workerMain() {
  let ex = null, mem = null;
  const F = () => new Float64Array(mem.buffer);
  const alloc = (n) => ex.fwweb_alloc(8 * Math.max(1, n));
  const put = (arr) => { const p = alloc(arr.length); F().set(arr, p / 8); return p; };
  const get = (p, n) => Array.from(F().subarray(p / 8, p / 8 + n));
  const message = () => {
    const p = ex.fwweb_message(), b = new Uint8Array(mem.buffer);
    let s = '';
    for (let i = p; b[i] !== 0 && i < p + 256; ++i) s += String.fromCharCode(b[i]);
    return s;
  };
  const packData = (d) => {
    const X = [], y = [];
    for (const r of d.train) { X.push(...r.slice(0, d.D)); y.push(r[d.D]); }
    for (const r of d.test) X.push(...r.slice(0, d.D));
    return { X: put(X), y: put(y), P: d.train.length, Q: d.test.length };
  };
  const handlers = {
    theory(q) {
      const d = packData(q.data), n = d.P + d.Q, R = q.steps + 1;
      const mean = alloc(R * n), v = alloc(R * n), se = alloc(R * n);
      const t0 = performance.now();
      const st = ex.fwweb_theory(d.P, d.Q, q.data.D, d.X, d.y, q.act, q.gamma0, q.lr, q.steps, q.width, q.samples, q.replicates, q.seed, mean, v, se);
      const ms = performance.now() - t0;
      const out = st === 0 ? { mean: get(mean, R * n), var: get(v, R * n), var_se: get(se, R * n), ms } : { status: st, message: message() };
      for (const p of [d.X, d.y, mean, v, se]) ex.fwweb_free(p);
      return out;
    },
    dmft(q) {
      const d = packData(q.data), n = d.P + d.Q, R = q.steps + 1;
      const mean = alloc(R * n), se = alloc(R * n);
      const t0 = performance.now();
      const st = ex.fwweb_dmft(d.P, d.Q, q.data.D, d.X, d.y, q.act, q.depth, q.gamma0, q.lr, q.steps, q.samples, q.replicates, q.seed, mean, se);
      const out = st === 0 ? { mean: get(mean, R * n), se: get(se, R * n), ms: performance.now() - t0 } : { status: st, message: message() };
      for (const p of [d.X, d.y, mean, se]) ex.fwweb_free(p);
      return out;
    },
    ensemble(q, reply) {
      const d = packData(q.data), n = d.P + d.Q, R = q.steps + 1, len = R * (n + 2);
      const mean = alloc(len), m2 = alloc(len), count = ex.fwweb_alloc(4);
      new Int32Array(mem.buffer)[count / 4] = 0;
      let st = 0;
      const t0 = performance.now();
      for (let s = 0; s < q.seeds && st === 0; s += q.chunk) {   // chunks: progress between them
        st = ex.fwweb_ensemble(d.P, d.Q, q.data.D, d.X, d.y, q.act, q.gamma0, q.lr, q.steps, q.width, q.depth, q.seed,
                               s, Math.min(q.seeds, s + q.chunk), mean, m2, count);
        reply({ progress: Math.min(q.seeds, s + q.chunk) / q.seeds });
      }
      const c = new Int32Array(mem.buffer)[count / 4];
      const out = st === 0 ? { mean: get(mean, len), m2: get(m2, len), count: c, n, ms: performance.now() - t0 } : { status: st, message: message() };
      for (const p of [d.X, d.y, mean, m2, count]) ex.fwweb_free(p);
      return out;
    },
    dln(q) {
      const R = q.steps + 1, tr = alloc(R), te = alloc(R);
      const t0 = performance.now();
      const st = ex.fwweb_dln(q.alpha, q.nu, q.depth, q.gamma0, q.ntk, q.lr, q.steps, q.residual, q.batch_ratio, q.spectrum,
                              q.task, 0, q.lazy, q.simD, q.seeds, q.dim, tr, te);
      const out = st === 0 ? { train: get(tr, R), test: get(te, R), ms: performance.now() - t0 } : { status: st, message: message() };
      ex.fwweb_free(tr); ex.fwweb_free(te);
      return out;
    },
  };
  onmessage = async (e) => {
    const q = e.data;
    if (q.module) {
      /* a minimal WASI: the module imports nothing when built with NDEBUG (ninja web); a debug
         build's assert() may write to fd 2 and exit, which this shim reports */
      const wasi = new Proxy({
        fd_write: (fd, iov, n, nw) => {
          const v = new DataView(mem.buffer); let s = '', tot = 0;
          for (let k = 0; k < n; ++k) {
            const p = v.getUint32(iov + 8 * k, true), l = v.getUint32(iov + 8 * k + 4, true);
            s += String.fromCharCode(...new Uint8Array(mem.buffer, p, l)); tot += l;
          }
          console.error(s); v.setUint32(nw, tot, true); return 0;
        },
        proc_exit: (code) => { throw new Error('the module exited with status ' + code); },
      }, { get: (t, k) => t[k] || (() => 52) });   // anything else: ENOSYS
      const inst = await WebAssembly.instantiate(q.module, { wasi_snapshot_preview1: wasi });
      ex = inst.exports; mem = ex.memory;
      ex._initialize();
      postMessage({ id: q.id, ok: true, realBytes: ex.fwweb_real_bytes() });
      return;
    }
    try {
      const out = handlers[q.kind](q, (p) => postMessage(Object.assign({ id: q.id }, p)));
      postMessage(Object.assign({ id: q.id, ok: out.status === undefined, done: true }, out));
    } catch (err) {
      postMessage({ id: q.id, ok: false, done: true, message: String(err) });
    }
  };
}

/* ---- the page ---- */
const $ = (id) => document.getElementById(id);
let worker = null, nextId = 1;
const pending = new Map();

function call(kind, q, onProgress) {
  return new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, { resolve, onProgress });
    worker.postMessage(Object.assign({ id, kind }, q));
  });
}

async function start() {
  const bin = Uint8Array.from(atob(FW_WASM_BASE64), (c) => c.charCodeAt(0));
  const module = await WebAssembly.compile(bin);
  const src = '(' + workerMain.toString() + ')();';
  worker = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
  worker.onmessage = (e) => {
    const m = e.data, p = pending.get(m.id);
    if (!p) return;
    if (m.progress !== undefined && !m.done) { if (p.onProgress) p.onProgress(m.progress); return; }
    pending.delete(m.id);
    p.resolve(m);
  };
  const id = nextId++;
  await new Promise((resolve) => { pending.set(id, { resolve }); worker.postMessage({ id, module }); });
}

const state = { data: DEFAULT_DATA, theory: null, ensemble: null, dln: null, settings: null };

function settings() {
  const v = (id) => Number($(id).value);
  return { act: v('act'), depth: v('depth'), width: v('width'), gamma0: v('gamma0'), lr: v('lr'), steps: v('steps'),
           samples: v('samples'), replicates: 4, seed: 0, seeds: v('seeds'), point: v('point') };
}

function fillPoints() {
  const sel = $('point'), d = state.data, P = d.train.length;
  sel.innerHTML = '';
  for (let i = 0; i < P + d.test.length; ++i) {
    const o = document.createElement('option');
    o.value = i; o.textContent = i < P ? 'train ' + i : 'test ' + (i - P);
    sel.appendChild(o);
  }
}

/* ---- an SVG line plot: series of {x[], y[], lo[], hi[], kind: 'line'|'band'|'points', color} ---- */
function plot(el, series, opt) {
  const W = 620, L = 76, R = 12, T = 26, B = 40, H = 340 + 16 * series.length;   // the legend below the axes
  const plotBottom = 340 - B;
  let xs = [], ys = [];
  for (const s of series) { xs = xs.concat(s.x); ys = ys.concat(s.y, s.lo || [], s.hi || []); }
  ys = ys.filter((v) => isFinite(v) && (!opt.logy || v > 0));
  if (!ys.length) { el.innerHTML = ''; return; }
  let x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (opt.logy) { y0 = Math.log10(y0); y1 = Math.log10(y1); }
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= 1; y1 += 1; }
  const pad = 0.06 * (y1 - y0); y0 -= pad; y1 += pad;
  const X = (x) => L + (x - x0) / (x1 - x0) * (W - L - R);
  const Y = (y) => T + (1 - ((opt.logy ? Math.log10(y) : y) - y0) / (y1 - y0)) * (plotBottom - T);
  const parts = [`<svg viewBox="0 0 ${W} ${H}" width="100%" xmlns="http://www.w3.org/2000/svg">`];
  parts.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${plotBottom - T}" fill="none" stroke="#999"/>`);
  for (let k = 0; k <= 4; ++k) {
    const yv = y0 + (y1 - y0) * k / 4, yy = T + (1 - k / 4) * (plotBottom - T);
    const label = opt.logy ? Number(Math.pow(10, yv).toPrecision(2)).toString() : Number(yv.toPrecision(3)).toString();
    parts.push(`<line x1="${L - 4}" x2="${L}" y1="${yy}" y2="${yy}" stroke="#999"/><text x="${L - 6}" y="${yy + 4}" text-anchor="end">${label}</text>`);
    const xv = x0 + (x1 - x0) * k / 4, xx = X(xv);
    parts.push(`<text x="${xx}" y="${plotBottom + 16}" text-anchor="middle">${Math.round(xv)}</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${plotBottom + 32}" text-anchor="middle">${opt.xlabel}</text>`);
  parts.push(`<text x="12" y="${(T + plotBottom) / 2}" transform="rotate(-90 12 ${(T + plotBottom) / 2})" text-anchor="middle">${opt.ylabel}</text>`);
  let legendY = plotBottom + 52;
  for (const s of series) {
    const pts = s.x.map((x, i) => [X(x), Y(s.y[i])]).filter((p) => isFinite(p[1]));
    if (s.kind === 'band') {
      const up = s.x.map((x, i) => `${X(x)},${Y(s.hi[i])}`), dn = s.x.map((x, i) => `${X(x)},${Y(s.lo[i])}`).reverse();
      parts.push(`<polygon points="${up.concat(dn).join(' ')}" fill="${s.color}" fill-opacity="0.22" stroke="none"/>`);
    } else if (s.kind === 'points') {
      s.x.forEach((x, i) => {
        if (s.lo) parts.push(`<line x1="${X(x)}" x2="${X(x)}" y1="${Y(s.lo[i])}" y2="${Y(s.hi[i])}" stroke="${s.color}"/>`);
        parts.push(`<circle cx="${X(x)}" cy="${Y(s.y[i])}" r="2.6" fill="${s.color}"/>`);
      });
    } else {
      parts.push(`<polyline points="${pts.map((p) => p.join(',')).join(' ')}" fill="none" stroke="${s.color}" stroke-width="1.8"/>`);
    }
    parts.push(`<rect x="${L}" y="${legendY - 9}" width="12" height="10" fill="${s.color}" fill-opacity="${s.kind === 'band' ? 0.3 : 1}"/>`);
    parts.push(`<text x="${L + 18}" y="${legendY}">${s.label}</text>`);
    legendY += 15;
  }
  parts.push(`<text x="${L}" y="${T - 8}">${opt.title}</text></svg>`);
  el.innerHTML = parts.join('');
}

function drawNets() {
  const s = state.settings || settings(), pt = Number($('point').value), n = state.data.train.length + state.data.test.length;
  const series = [];
  if (state.theory) {
    const th = state.theory, R = th.mean.length / n, t = [...Array(R).keys()];
    const m = t.map((i) => th.mean[i * n + pt]);
    if (th.var) {
      const sd = t.map((i) => Math.sqrt(Math.max(0, th.var[i * n + pt])));
      series.push({ kind: 'band', x: t, y: m, lo: m.map((v, i) => v - sd[i]), hi: m.map((v, i) => v + sd[i]), color: '#3a6fd8', label: 'theory: mean ± sd at width N' });
    }
    series.push({ kind: 'line', x: t, y: m, color: '#1b3f8f', label: 'infinite width (DMFT)' });
  }
  if (state.ensemble) {
    const e = state.ensemble, len = e.n + 2, R = e.mean.length / len, t = [...Array(R).keys()];
    const m = t.map((i) => e.mean[i * len + pt]), sd = t.map((i) => Math.sqrt(e.m2[i * len + pt] / Math.max(1, e.count - 1)));
    series.push({ kind: 'points', x: t, y: m, lo: m.map((v, i) => v - sd[i]), hi: m.map((v, i) => v + sd[i]), color: '#d0621b', label: e.count + ' networks: mean ± sd' });
  }
  plot($('nets-plot'), series, { xlabel: 'step t', ylabel: 'prediction f(t) at ' + $('point').selectedOptions[0].textContent,
                                  title: `${ACT_NAMES[s.act]}, width ${s.width}, γ₀ = ${s.gamma0}, η = ${s.lr}` });
}

function status(id, text, err) { $(id).textContent = text; $(id).className = 'status' + (err ? ' err' : ''); }

async function runTheory() {
  const s = settings();
  state.settings = s;
  status('nets-status', 'theory: solving…');
  /* depth 1: the mean and the width-N band (fw_fluct_run); deeper: the infinite-width mean
     (fw_dmft_run) only, since the deep propagator does not reach these sizes yet */
  const r = await call(s.depth === 1 ? 'theory' : 'dmft', Object.assign({ data: state.data }, s));
  if (!r.ok) { status('nets-status', 'theory failed: ' + r.message, true); return r; }
  state.theory = r;
  status('nets-status', `theory: ${r.ms.toFixed(0)} ms (M = ${s.samples} sites, 4 replicates)` +
         (s.depth === 1 ? '' : '; depth > 1: the infinite-width mean only (the width-N band needs the deep propagator, not in the page yet)'));
  drawNets();
  return r;
}

async function runEnsemble() {
  const s = settings();
  state.settings = s;
  $('ens-progress').value = 0;
  status('nets-status', `training ${s.seeds} networks…`);
  const r = await call('ensemble', Object.assign({ data: state.data, chunk: 4 }, s), (p) => { $('ens-progress').value = p; });
  if (!r.ok) { status('nets-status', 'training failed: ' + r.message, true); return r; }
  state.ensemble = r;
  $('ens-progress').value = 1;
  status('nets-status', `${r.count} networks: ${(r.ms / 1000).toFixed(1)} s`);
  drawNets();
  return r;
}

async function runDln() {
  const v = (id) => Number($(id).value);
  const q = { alpha: v('alpha'), nu: v('nu'), depth: v('dln-depth'), gamma0: v('dln-gamma0'), ntk: $('dln-ntk').checked ? 1 : 0,
              lr: v('dln-lr'), steps: v('dln-steps'), residual: v('dln-res'), batch_ratio: $('dln-sgd').checked ? 1 : 0,
              spectrum: v('dln-a'), task: v('dln-b'), seeds: 4, dim: 256, simD: 0, lazy: 0 };
  status('dln-status', 'solving…');
  const th = await call('dln', q);
  if (!th.ok) { status('dln-status', 'failed: ' + th.message, true); return th; }
  const lz = await call('dln', Object.assign({}, q, { lazy: 1 }));
  let sim = null;
  if (v('dln-D') > 0) sim = await call('dln', Object.assign({}, q, { simD: v('dln-D') }));
  state.dln = { theory: th, lazy: lz.ok ? lz : null, sim: sim && sim.ok ? sim : null, query: q };
  const t = [...Array(q.steps + 1).keys()], series = [{ kind: 'line', x: t, y: th.test, color: '#1b3f8f', label: 'proportional limit (test loss)' }];
  if (lz.ok) series.push({ kind: 'line', x: t, y: lz.test, color: '#888', label: 'lazy limit' });
  if (sim && sim.ok) series.push({ kind: 'points', x: t, y: sim.test, color: '#d0621b', label: `4 networks, D = ${v('dln-D')}` });
  plot($('dln-plot'), series, { xlabel: 'step t', ylabel: 'test loss', logy: true, title: `depth ${q.depth}, α = ${q.alpha}, ν = ${q.nu}, γ₀ = ${q.gamma0}${q.ntk ? ' (NTK)' : ''}` });
  status('dln-status', `theory ${th.ms.toFixed(0)} ms` + (sim ? (sim.ok ? `, simulation ${sim.ms.toFixed(0)} ms` : ', simulation failed: ' + sim.message) : ''));
  return state.dln;
}

function readCsv(text) {
  const rows = text.trim().split(/\r?\n/).map((l) => l.split(',').map(Number));
  const D = rows[0].length - 1;
  if (D < 1 || rows.some((r) => r.length !== D + 1 || r.some((x) => !isFinite(x)))) throw new Error('every row needs the same D + 1 numbers');
  return { D, train: rows, test: [] };
}

const ready = start().then(() => {
  fillPoints();
  $('run-theory').onclick = runTheory;
  $('run-ensemble').onclick = runEnsemble;
  $('run-dln').onclick = runDln;
  $('point').onchange = drawNets;
  const load = async (file) => {
    try { state.data = readCsv(await file.text()); state.theory = state.ensemble = null; fillPoints(); drawNets(); status('nets-status', `${state.data.train.length} points, D = ${state.data.D}`); }
    catch (err) { status('nets-status', 'CSV: ' + err.message, true); }
  };
  $('csv').onchange = (e) => load(e.target.files[0]);
  $('nets').addEventListener('dragover', (e) => e.preventDefault());   // a CSV dropped on the panel
  $('nets').addEventListener('drop', (e) => { e.preventDefault(); if (e.dataTransfer.files.length) load(e.dataTransfer.files[0]); });
  return runTheory().then(runDln);
});

window.fwExplorer = { ready, state, runTheory, runEnsemble, runDln, defaultData: DEFAULT_DATA };
