#!/usr/bin/env node
// ONNX Runtime (onnxruntime-node) vs PyTorch parity for the Kronos graphs.
//
// usage: node models/kronos/parity/check.mjs FIXTURE_DIR
//   FIXTURE_DIR is written by `python3 -m kronos parity-fixtures --out FIXTURE_DIR`.
// exit codes: 0 all within tolerance, 1 a mismatch, 2 bad usage/fixtures,
//             77 onnxruntime-node cannot be resolved (the caller reports a skip).
//
// Besides checking, this file is a compact reference for the TypeScript runtime: the
// preprocessing (features, lookback-only normalization, UTC stamps) and the greedy
// autoregressive loop (sliding full recompute, and the in-place KV-cache path of graph contract 2)
// are written out below.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
let ort;
try {
  // CommonJS resolution from this file walks up to the workspace node_modules and honours NODE_PATH.
  ort = require('onnxruntime-node');
} catch (err) {
  console.log(
    `SKIP: onnxruntime-node cannot be resolved from ${path.dirname(new URL(import.meta.url).pathname)} ` +
      `(${err.code ?? err.message}); add it to the workspace (ONNXRUNTIME_NODE_INSTALL=skip npm install) ` +
      'or point NODE_PATH at a node_modules that has it',
  );
  process.exit(77);
}

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node check.mjs FIXTURE_DIR (written by: python3 -m kronos parity-fixtures --out DIR)');
  process.exit(2);
}
let manifest;
try {
  manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
} catch (err) {
  console.error(`cannot read ${path.join(dir, 'manifest.json')}: ${err.message}; run the fixture writer first`);
  process.exit(2);
}
const tol = manifest.tolerance;

// ---------------------------------------------------------------- tensors
function load(spec) {
  const buf = readFileSync(path.join(dir, spec.file));
  // Copy into a fresh, aligned ArrayBuffer (small Buffers share a pool at odd offsets).
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const ctor = { float32: Float32Array, float64: Float64Array, int64: BigInt64Array }[spec.dtype];
  return { dtype: spec.dtype, dims: spec.shape, data: new ctor(ab) };
}
const toOrt = (t) => new ort.Tensor(t.dtype, t.data, t.dims);
const i64 = (arr, dims) =>
  new ort.Tensor(
    'int64',
    BigInt64Array.from(arr, (v) => BigInt(v)),
    dims,
  );

function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(Number(a[i]) - Number(b[i]));
    if (!(d <= m)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return m;
}
function mismatches(a, b) {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}
const sameDims = (a, b) => a.length === b.length && a.every((v, i) => Number(v) === Number(b[i]));

// [B, L, inner] row-major helpers
function sliceSeq(data, B, L, inner, start, end, Ctor = data.constructor) {
  const n = end - start;
  const out = new Ctor(B * n * inner);
  for (let b = 0; b < B; b++) out.set(data.subarray((b * L + start) * inner, (b * L + end) * inner), b * n * inner);
  return out;
}
function argmaxRows(data, B, V) {
  const out = new Array(B);
  for (let b = 0; b < B; b++) {
    let best = 0;
    for (let v = 1; v < V; v++) if (data[b * V + v] > data[b * V + best]) best = v;
    out[b] = best;
  }
  return out;
}

// ---------------------------------------------------------------- preprocessing reference
const EPS = 1e-5;
const CLIP = 5;
function preprocess(ts, ohlcv, T) {
  // features: open, high, low, close, volume, amount = volume * mean(OHLC)
  const f = new Float64Array(T * 6);
  for (let t = 0; t < T; t++) {
    const o = ohlcv.subarray(t * 5, t * 5 + 5);
    for (let c = 0; c < 5; c++) f[t * 6 + c] = o[c];
    f[t * 6 + 5] = o[4] * ((o[0] + o[1] + o[2] + o[3]) / 4);
  }
  // statistics over the lookback (here: all T rows given), population std
  const mean = new Float64Array(6);
  const std = new Float64Array(6);
  for (let c = 0; c < 6; c++) {
    let s = 0;
    for (let t = 0; t < T; t++) s += f[t * 6 + c];
    mean[c] = s / T;
    let v = 0;
    for (let t = 0; t < T; t++) v += (f[t * 6 + c] - mean[c]) ** 2;
    std[c] = Math.sqrt(v / T);
  }
  const x = new Float32Array(T * 6);
  for (let t = 0; t < T; t++)
    for (let c = 0; c < 6; c++) x[t * 6 + c] = Math.min(CLIP, Math.max(-CLIP, (f[t * 6 + c] - mean[c]) / (std[c] + EPS)));
  // stamps: minute, hour, weekday (Mon=0), day, month (1-12), all UTC
  const stamp = new BigInt64Array(T * 5);
  for (let t = 0; t < T; t++) {
    const d = new Date(Number(ts[t]));
    const row = [d.getUTCMinutes(), d.getUTCHours(), (d.getUTCDay() + 6) % 7, d.getUTCDate(), d.getUTCMonth() + 1];
    for (let c = 0; c < 5; c++) stamp[t * 5 + c] = BigInt(row[c]);
  }
  return { x, mean, std, stamp };
}

// ---------------------------------------------------------------- greedy loop (runtime reference)
// Graph contract 2. Recompute: predictor_s1 on the window, then predictor_s2 on the window's
// cross-attention keys/values (as history) with one empty, masked generated slot. KV path: the
// prefill's keys/values are the history cache; each step feeds only the token just appended to
// predictor_s1_kv with the generated-slot buffers, writes its new_k/new_v and cross_k/v into slot
// gen_len, and the s2 head reads the same caches. Here every row is its own series (G = B).
function slots(B, H, C, hd) {
  const data = new Float32Array(B * H * C * hd);
  return {
    data,
    tensor: new ort.Tensor('float32', data, [B, H, C, hd]),
    write(slot, src, offset = 0) {
      for (let r = 0; r < B * H; r++) data.set(src.subarray(offset + r * hd, offset + (r + 1) * hd), (r * C + slot) * hd);
    },
  };
}
function layers(stacked) {
  const [n, ...dims] = stacked.dims;
  const size = dims.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, (_, l) => new ort.Tensor('float32', stacked.data.slice(l * size, (l + 1) * size), dims));
}
const len = (n) => new ort.Tensor('int64', BigInt64Array.of(BigInt(n)), [1]);

async function greedy(sessions, x, stamps, B, T, P, maxCtx, useKv, d, nHeads) {
  const enc = await sessions.tokenizer_encode.run({ x: new ort.Tensor('float32', x, [B, T, 6]) });
  const total = T + P;
  const s1 = Array.from({ length: B }, (_, b) => Array.from(enc.s1.data.subarray(b * T, (b + 1) * T), Number));
  const s2 = Array.from({ length: B }, (_, b) => Array.from(enc.s2.data.subarray(b * T, (b + 1) * T), Number));
  const window = (arr, start, end) => arr.flatMap((row) => row.slice(start, end));
  const hd = d / nHeads;
  const C = Math.max(1, Math.min(P - 1, maxCtx - T));
  let cache = null; // { feeds (per-layer hist/gen), gk, gv: slot buffers per layer, ck, cv: cross slots, crossHist }
  for (let i = 0; i < P; i++) {
    const L = T + i;
    const start = Math.max(0, L - maxCtx);
    let logits;
    let ctxLast;
    let cross;
    if (useKv && L <= maxCtx && cache) {
      const o = await sessions.predictor_s1_kv.run({
        s1: i64(window(s1, L - 1, L), [B, 1]),
        s2: i64(window(s2, L - 1, L), [B, 1]),
        stamp: new ort.Tensor('int64', sliceSeq(stamps, B, total, 5, L - 1, L), [B, 1, 5]),
        gen_len: len(i - 1),
        ...cache.feeds,
      });
      const per = o.new_k.data.length / cache.gk.length;
      for (const [l, c] of cache.gk.entries()) c.write(i - 1, o.new_k.data, l * per);
      for (const [l, c] of cache.gv.entries()) c.write(i - 1, o.new_v.data, l * per);
      cache.ck.write(i - 1, o.cross_k.data);
      cache.cv.write(i - 1, o.cross_v.data);
      logits = o.s1_logits.data;
      ctxLast = o.ctx_last.data;
      cross = { hist_k: cache.crossHist[0], hist_v: cache.crossHist[1], gen_k: cache.ck.tensor, gen_v: cache.cv.tensor, gen_len: len(i) };
    } else {
      const n = L - start;
      const out = await sessions.predictor_s1.run({
        s1: i64(window(s1, start, L), [B, n]),
        s2: i64(window(s2, start, L), [B, n]),
        stamp: new ort.Tensor('int64', sliceSeq(stamps, B, total, 5, start, L), [B, n, 5]),
      });
      logits = out.s1_logits.data;
      ctxLast = out.ctx_last.data;
      const [, ch, , chd] = out.cross_k.dims;
      const empty = slots(B, ch, 1, chd).tensor;
      cross = { hist_k: out.cross_k, hist_v: out.cross_v, gen_k: empty, gen_v: empty, gen_len: len(0) };
      if (useKv && L <= maxCtx) {
        const hk = layers(out.present_k);
        const hv = layers(out.present_v);
        const gk = hk.map(() => slots(B, nHeads, C, hd));
        const gv = hk.map(() => slots(B, nHeads, C, hd));
        const feeds = {};
        hk.forEach((t, l) => {
          feeds[`hist_k_${l}`] = t;
          feeds[`hist_v_${l}`] = hv[l];
          feeds[`gen_k_${l}`] = gk[l].tensor;
          feeds[`gen_v_${l}`] = gv[l].tensor;
        });
        cache = { feeds, gk, gv, ck: slots(B, ch, C, chd), cv: slots(B, ch, C, chd), crossHist: [out.cross_k, out.cross_v] };
        cross.gen_k = cache.ck.tensor;
        cross.gen_v = cache.cv.tensor;
      }
    }
    const next1 = argmaxRows(logits, B, logits.length / B);
    const o2 = await sessions.predictor_s2.run({ ctx_last: new ort.Tensor('float32', ctxLast, [B, d]), s1: i64(next1, [B]), ...cross });
    const next2 = argmaxRows(o2.s2_logits.data, B, o2.s2_logits.data.length / B);
    for (let b = 0; b < B; b++) {
      s1[b].push(next1[b]);
      s2[b].push(next2[b]);
    }
  }
  const start = Math.max(0, total - maxCtx);
  const n = total - start;
  const dec = await sessions.tokenizer_decode.run({
    s1: i64(window(s1, start, total), [B, n]),
    s2: i64(window(s2, start, total), [B, n]),
  });
  const decoded = sliceSeq(dec.x.data, B, n, 6, n - P, n);
  return { s1: s1.flat(), s2: s2.flat(), decoded };
}

// ---------------------------------------------------------------- main
const opts = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' };
const sessions = {};
for (const [name, file] of Object.entries(manifest.graphs)) {
  sessions[name] = await ort.InferenceSession.create(path.join(dir, file), opts);
}

const report = { ok: true, tolerance: tol, graphs: {}, preprocess: null, loops: {} };
const fail = (msg) => {
  report.ok = false;
  console.error(`FAIL ${msg}`);
};

for (const c of manifest.cases) {
  const feeds = {};
  for (const [k, spec] of Object.entries(c.inputs)) feeds[k] = toOrt(load(spec));
  const out = await sessions[c.graph].run(feeds);
  if (!report.graphs[c.graph]) report.graphs[c.graph] = { cases: 0, max_abs_err: 0, token_mismatches: 0 };
  const g = report.graphs[c.graph];
  g.cases++;
  for (const [k, spec] of Object.entries(c.outputs)) {
    const want = load(spec);
    const got = out[k];
    if (!got || !sameDims(got.dims, want.dims)) {
      fail(`${c.graph} (${c.label}) output ${k}: dims ${got?.dims} != ${want.dims}`);
      continue;
    }
    if (c.exact.includes(k)) {
      const n = mismatches(got.data, want.data);
      g.token_mismatches += n;
      if (n) fail(`${c.graph} (${c.label}) ${k}: ${n} token(s) differ`);
    } else {
      const e = maxAbsDiff(got.data, want.data);
      g.max_abs_err = Math.max(g.max_abs_err, e);
      if (!(e <= tol)) fail(`${c.graph} (${c.label}) ${k}: max abs err ${e} > ${tol}`);
    }
  }
}

{
  const p = manifest.preprocess;
  const ts = load(p.ts).data;
  const ohlcv = load(p.ohlcv).data;
  const T = p.ohlcv.shape[0];
  const got = preprocess(ts, ohlcv, T);
  const ex = maxAbsDiff(got.x, load(p.x).data);
  const st = mismatches(got.stamp, load(p.stamp).data);
  const rel = (a, b) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]) / Math.max(1, Math.abs(b[i]))));
  const em = rel(got.mean, load(p.mean).data);
  const es = rel(got.std, load(p.std).data);
  report.preprocess = { x_max_abs_err: ex, stamp_mismatches: st, mean_rel_err: em, std_rel_err: es };
  if (!(ex <= 1e-5) || st || !(em <= 1e-12) || !(es <= 1e-12)) fail(`preprocess: ${JSON.stringify(report.preprocess)}`);
}

const d = manifest.config.predictor.d_model;
const nHeads = manifest.config.predictor.n_heads;
for (const l of manifest.loops) {
  const x = load(l.x);
  const [B, T] = x.dims;
  const stamps = load(l.stamp).data;
  const got = await greedy(sessions, x.data, stamps, B, T, l.pred_len, l.max_context, l.use_kv_cache, d, nHeads);
  const m1 = mismatches(BigInt64Array.from(got.s1, BigInt), load(l.s1).data);
  const m2 = mismatches(BigInt64Array.from(got.s2, BigInt), load(l.s2).data);
  const e = maxAbsDiff(got.decoded, load(l.decoded).data);
  report.loops[l.name] = { steps: l.pred_len, batch: B, s1_mismatches: m1, s2_mismatches: m2, decoded_max_abs_err: e };
  if (m1 || m2) fail(`loop ${l.name}: tokens differ (s1 ${m1}, s2 ${m2})`);
  if (!(e <= tol)) fail(`loop ${l.name}: decoded max abs err ${e} > ${tol}`);
}

console.log(JSON.stringify(report));
process.exit(report.ok ? 0 : 1);
