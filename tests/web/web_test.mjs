// The explorer page (build/web) in headless Chromium, driven through the DevTools protocol:
//   node tests/web/web_test.mjs BUILD_DIR CHROMIUM PUPPETEER_DIR
// loads the page from file://, sets the controls, runs the theory, a 64-seed ensemble and the deep
// linear curve, and checks: the plotted values equal the command line's output for the same
// settings (build/finwidth, double build: 1e-9 relative, the CLI's 10 printed digits), no console
// error, no main-thread task over 100 ms while the ensemble trains (Long Tasks API), the module
// under 400 KB and the page under 1 MB; prints (does not assert: timing is for benches) the
// theory's time in the browser against the same call native (build/web_native) and the deep
// linear curve's (T = 200); writes a screenshot. Last line: "N passed, M failed".
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const [, , build, chromium, ptDir] = process.argv;
const require = createRequire(path.join(path.resolve(ptDir), 'node_modules', 'x.js'));
const puppeteer = require('puppeteer-core');
let pass = 0, fail = 0;
const ok = (cond, what) => { if (cond) ++pass; else { ++fail; console.log('FAIL ' + what); } };

const csvRows = (text) => text.trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
const close = (a, b, tol = 1e-9) => Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b)) + 1e-300;

const browser = await puppeteer.launch({ executablePath: chromium, headless: true,
  args: ['--no-sandbox', '--allow-file-access-from-files', '--window-size=1280,1700'] });
const page = await browser.newPage();
await page.setViewport({ width: 1280, height: 1700 });
const errors = [];
page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
page.on('pageerror', (e) => errors.push(String(e)));
await page.evaluateOnNewDocument(() => {   // main-thread tasks over 50 ms, with their start times
  window.__longTasks = [];
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push([e.startTime, e.duration]); })
    .observe({ type: 'longtask', buffered: true });
});
await page.goto('file://' + path.resolve(build, 'web', 'index.html'));
await page.evaluate(() => window.fwExplorer.ready);

// the settings, through the controls as a user would set them
const S = { act: '2', width: '256', gamma0: '1', lr: '0.2', steps: '40', samples: '512', seeds: '64', depth: '1' };
for (const [id, v] of Object.entries(S)) {
  await page.$eval('#' + id, (el, v) => { el.value = v; el.dispatchEvent(new Event('change')); }, v);
}
const data = await page.evaluate(() => window.fwExplorer.defaultData);
const tmp = mkdtempSync(path.join(tmpdir(), 'fwweb-'));
writeFileSync(path.join(tmp, 'train.csv'), data.train.map((r) => r.join(',')).join('\n') + '\n');
writeFileSync(path.join(tmp, 'test.csv'), data.test.map((r) => r.join(',')).join('\n') + '\n');
const cli = (args) => execFileSync(path.join(build, 'finwidth'), args, { encoding: 'utf8' });
const common = ['--data', path.join(tmp, 'train.csv'), '--test', path.join(tmp, 'test.csv'), '--act', 'tanh', '--width', '256',
                '--gamma0', '1', '--lr', '0.2', '--steps', '40'];
const n = data.train.length + data.test.length;

// 1. theory: mean and var of every (step, point) against `finwidth theory`
await page.evaluate(() => { window.fwExplorer.state.theory = null; });   // the page solved once on load: wait for this run
await page.click('#run-theory');
await page.waitForFunction(() => window.fwExplorer.state.theory);
const th = await page.evaluate(() => window.fwExplorer.state.theory);
const ref = csvRows(cli(['theory', ...common, '--samples', '512', '--replicates', '4', '--seed', '0']));
ok(ref.length === th.mean.length, `theory rows ${th.mean.length} vs the CLI's ${ref.length}`);
let worst = 0;
for (const [t, p, mean, v] of ref) {
  const e = t * n + p;
  if (!close(th.mean[e], mean) || !close(th.var[e], v)) worst++;
}
ok(worst === 0, `theory: ${worst} of ${ref.length} cells differ from finwidth theory beyond 1e-9`);
let best = th.ms;   // the best of three (the first call may still run baseline-compiled code)
for (let k = 0; k < 2; ++k) best = Math.min(best, (await page.evaluate(() => window.fwExplorer.runTheory())).ms);
const nativeMs = Number(execFileSync(path.join(build, 'web_native'), ['2', '256', '1', '0.2', '40', '512'], { encoding: 'utf8' }));
console.log(`web: theory (P = 8 + 2, T = 40, M = 512) ${best.toFixed(0)} ms in Chromium (target 300), ${nativeMs} ms native (ratio ${(best / nativeMs).toFixed(2)}, target 2)`);

// 2. a 64-seed ensemble in the worker: the UI thread stays free; mean and var against `finwidth simulate`
const t0 = await page.evaluate(() => performance.now());
await page.click('#run-ensemble');
await page.waitForFunction(() => window.fwExplorer.state.ensemble, { timeout: 300000 });
const t1 = await page.evaluate(() => performance.now());
const ens = await page.evaluate(() => window.fwExplorer.state.ensemble);
const longTasks = (await page.evaluate(() => window.__longTasks)).filter(([s]) => s >= t0 && s <= t1);
const longest = longTasks.reduce((m, [, d]) => Math.max(m, d), 0);
ok(longest <= 100, `a main-thread task of ${longest.toFixed(0)} ms while the ensemble trained (limit 100)`);
const sim = csvRows(cli(['simulate', ...common, '--seeds', '64', '--seed', '0']));
let bad = 0;
for (const [t, p, mean, v] of sim) {
  const e = t * (n + 2) + p;
  if (!close(ens.mean[e], mean) || !close(ens.m2[e] / (ens.count - 1), v)) {
    if (!bad) console.log(`  first difference: t ${t} point ${p}: page ${ens.mean[e]}, ${ens.m2[e] / (ens.count - 1)}; CLI ${mean}, ${v}`);
    bad++;
  }
}
ok(ens.count === 64 && sim.length === 41 * n, `ensemble: ${ens.count} members, CLI rows ${sim.length}`);
ok(bad === 0, `ensemble: ${bad} of ${sim.length} cells differ from finwidth simulate beyond 1e-9`);
console.log(`web: 64 networks of width 256 in ${(ens.ms / 1000).toFixed(1)} s; longest main-thread task meanwhile ${longest.toFixed(0)} ms`);

// 3. the deep linear panel (its defaults) against `finwidth dln`
await page.click('#run-dln');
await page.waitForFunction(() => window.fwExplorer.state.dln && window.fwExplorer.state.dln.theory);
const dl = await page.evaluate(() => window.fwExplorer.state.dln);
const dref = csvRows(cli(['dln', '--alpha', '2', '--nu', '1', '--depth', '2', '--gamma0', '1', '--lr', '0.1', '--steps', '200']));
let dbad = 0;
for (const [t, tr, te] of dref) if (!close(dl.theory.train[t], tr) || !close(dl.theory.test[t], te)) dbad++;
ok(dref.length === 201 && dbad === 0, `deep linear: ${dbad} of ${dref.length} steps differ from finwidth dln beyond 1e-9`);
console.log(`web: deep linear theory curve (T = 200) ${dl.theory.ms.toFixed(0)} ms (target 300)`);

// 3b. depth 2: the infinite-width mean against `finwidth dmft --depth 2`. wasi-libc's tanh, log,
// cos and sin differ from glibc's in the last bit now and then, so the random normals and the
// fields differ at 1e-16; the deep solver carries that forward (its sampled kernels' factors come
// from the samples, docs/dmft.md section 6; from the kernels, they amplified it to 1.2e-5).
// Measured, relative to the largest value of each: the mean 5.2e-10, its standard error (the spread
// of 4 replicates of 128 sites, fewer than the 328 time-point columns) 2.2e-8. So 1e-9 and 1e-6.
await page.$eval('#depth', (el) => { el.value = '2'; });
await page.evaluate(() => { window.fwExplorer.state.theory = null; });
await page.click('#run-theory');
await page.waitForFunction(() => window.fwExplorer.state.theory);
const deep = await page.evaluate(() => window.fwExplorer.state.theory);
const dmref = csvRows(cli(['dmft', ...common.filter((x, i, a) => x !== '--width' && a[i - 1] !== '--width'), '--depth', '2', '--samples', '512', '--replicates', '4']));
const mscale = dmref.reduce((m, r) => Math.max(m, Math.abs(r[2])), 0), sscale = dmref.reduce((m, r) => Math.max(m, Math.abs(r[3])), 0);
let mworst = 0, sworst = 0;
for (const [t, p, mean, se] of dmref) {
  mworst = Math.max(mworst, Math.abs(deep.mean[t * n + p] - mean) / mscale);
  sworst = Math.max(sworst, Math.abs(deep.se[t * n + p] - se) / sscale);
}
const mbad = mworst > 1e-9 || sworst > 1e-6 ? 1 : 0;
console.log(`web: depth 2, largest difference from the CLI: mean ${mworst.toExponential(2)}, standard error ${sworst.toExponential(2)} (of their largest values)`);
ok(dmref.length === 41 * n && mbad === 0, `depth 2: the mean or its standard error differs from finwidth dmft beyond 1e-9 (1e-6) of its largest value`);
await page.$eval('#depth', (el) => { el.value = '1'; });
await page.click('#run-theory');
await page.waitForFunction(() => window.fwExplorer.state.theory && window.fwExplorer.state.theory.var);

// 4. what a user sees: both plots drawn, no console error; sizes; a screenshot
ok(await page.$eval('#nets-plot', (el) => el.querySelectorAll('polygon, circle').length > 40), 'the networks panel shows no band or points');
ok(await page.$eval('#dln-plot', (el) => el.querySelectorAll('polyline').length >= 2), 'the deep linear panel shows no curves');
ok(errors.length === 0, 'console errors: ' + errors.join(' | '));
const wasmBytes = statSync(path.join(build, 'web', 'fw_web.wasm')).size;
const pageBytes = ['index.html', 'app.js', 'fw_wasm.js'].reduce((s, f) => s + statSync(path.join(build, 'web', f)).size, 0);
ok(wasmBytes < 400 * 1024, `the module is ${wasmBytes} bytes (limit 400 KB)`);
ok(pageBytes < 1024 * 1024, `the page is ${pageBytes} bytes (limit 1 MB)`);
console.log(`web: module ${(wasmBytes / 1024).toFixed(0)} KB, page ${(pageBytes / 1024).toFixed(0)} KB in all`);
await page.screenshot({ path: path.join(build, 'web', 'screenshot.png'), fullPage: true });

// 5. the same page from a static server (python3 -m http.server, started by tests/test_web.sh)
if (process.env.FW_WEB_URL) {
  const p2 = await browser.newPage(), errs = [];
  p2.on('console', (m) => { if (m.type() === 'error') errs.push(m.text()); });
  p2.on('pageerror', (e) => errs.push(String(e)));
  await p2.goto(process.env.FW_WEB_URL);
  await p2.evaluate(() => window.fwExplorer.ready);
  const t2 = await p2.evaluate(() => window.fwExplorer.state.theory);
  const t1 = await page.evaluate(() => { window.fwExplorer.state.theory = null; return window.fwExplorer.runTheory(); });
  ok(errs.length === 0 && t2 && t1 && t2.mean.length === t1.mean.length && t2.mean.every((v, i) => v === t1.mean[i]),
     'over http: ' + (errs.join(' | ') || 'the theory differs from the file:// page\'s'));
}
await browser.close();
console.log(`${pass} passed, ${fail} failed`);
process.exitCode = fail ? 1 : 0;
