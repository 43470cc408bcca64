import { test } from 'node:test';
import assert from 'node:assert/strict';
/**
 * The addon's element-wise kernels against their JavaScript references (each beside its op), and
 * the decoding-attention kernel against full causal attention.
 */
import { nativeKernels } from './native.js';
import { engineInfo, setKernelThreads } from './blas.js';
import { randomArray } from '../testing/gradcheck.js';
import { attentionForward, attentionJs, keyTileFloats, keyTileOffset, writeKeyTiles } from './ops/attention.js';
import { swigluJs } from './ops/swiglu.js';
import { rmsnormJs } from './ops/rmsnorm.js';
import { lossJs } from './ops/loss.js';
import { adamwJs } from '../train/adamw.js';
import { dropoutJs, dropoutForward } from './ops/dropout.js';
import { Rng } from '../util/rng.js';

function close(a: Float32Array, b: Float32Array, rtol: number, what: string): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i]! - b[i]!) <= rtol * (1e-6 + Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

const native = nativeKernels();
const jsKernels = { ...attentionJs, ...swigluJs, ...rmsnormJs, ...lossJs, ...adamwJs };
test('native element-wise kernels agree with the JavaScript ones to float32 precision', { skip: native ? false : 'native addon not loaded' }, () => {
  const n = 1000;
  // Wide range: exercises the exp approximation far from 0, including saturation.
  const g = randomArray(n, 1, 30), u = randomArray(n, 2, 3), da = randomArray(n, 3);
  const a1 = new Float32Array(n), a2 = new Float32Array(n);
  native!.swigluForward(g, u, a1, n);
  jsKernels.swigluForward(g, u, a2, n);
  close(a1, a2, 1e-5, 'swigluForward');
  const dg1 = new Float32Array(n), du1 = new Float32Array(n), dg2 = new Float32Array(n), du2 = new Float32Array(n);
  native!.swigluBackward(da, g, u, dg1, du1, n);
  jsKernels.swigluBackward(da, g, u, dg2, du2, n);
  close(dg1, dg2, 1e-5, 'swigluBackward dg');
  close(du1, du2, 1e-5, 'swigluBackward du');

  const rows = 7, len = 33;
  const s1 = randomArray(3 + rows * len, 4, 20), s2 = s1.slice();
  native!.softmaxRows(s1, 3, rows, len, 5);
  jsKernels.softmaxRows(s2, 3, rows, len, 5);
  close(s1, s2, 1e-5, 'softmaxRows');
  for (let i = 0; i < rows; i++) assert.equal(s1[3 + i * len + 5 + i], 0); // first masked entry of row i

  const V = 5003; // not a multiple of any vector width or of the 1024 block
  const z = randomArray(2 * V + 1, 5, 15);
  const o1 = new Float32Array(2 * V), o2 = new Float32Array(2 * V), l1 = new Float32Array(2), l2 = new Float32Array(2);
  native!.logSoftmaxRows(z, 1, 2, V, o1, 0, l1, 0);
  jsKernels.logSoftmaxRows(z, 1, 2, V, o2, 0, l2, 0);
  close(l1, l2, 1e-6, 'logsumexp');
  for (let i = 0; i < o1.length; i++) assert.ok(Math.abs(o1[i]! - o2[i]!) < 1e-4, `logSoftmax[${i}]`);

  const rows2 = 5, dim = 37;
  const x = randomArray(rows2 * dim, 6, 3), w = randomArray(dim, 7), dy = randomArray(rows2 * dim, 8);
  const y1 = new Float32Array(rows2 * dim), y2 = new Float32Array(rows2 * dim), r1 = new Float32Array(rows2), r2 = new Float32Array(rows2);
  native!.rmsnormForward(x, w, rows2, dim, 1e-6, y1, r1);
  jsKernels.rmsnormForward(x, w, rows2, dim, 1e-6, y2, r2);
  close(y1, y2, 1e-6, 'rmsnormForward');
  close(r1, r2, 1e-6, 'rmsnorm rstd');
  const dx1 = randomArray(rows2 * dim, 9), dx2 = dx1.slice(), dw1 = randomArray(dim, 10), dw2 = dw1.slice();
  native!.rmsnormBackward(dy, x, w, r1, rows2, dim, dx1, dw1);
  jsKernels.rmsnormBackward(dy, x, w, r2, rows2, dim, dx2, dw2);
  close(dx1, dx2, 1e-5, 'rmsnormBackward dx (accumulated)');
  close(dw1, dw2, 1e-5, 'rmsnormBackward dw (accumulated)');

  const e1 = new Float32Array(V), e2 = new Float32Array(V);
  native!.expShiftScale(z, 0, V, 3, 0.5, e1, 0);
  jsKernels.expShiftScale(z, 0, V, 3, 0.5, e2, 0);
  close(e1, e2, 1e-5, 'expShiftScale');
});

test('the decoding attention kernel (native and JS) equals the last row of full causal attention, for several sequences at once', () => {
  const heads = 4, kvHeads = 2, d = 5, lens = [7, 1, 12];
  const ks = lens.map((n, i) => randomArray(n * kvHeads * d, 30 + i)), vs = lens.map((n, i) => randomArray(n * kvHeads * d, 40 + i));
  const q = randomArray(5 * heads * d, 50); // rows 1, 3 and 4 hold the three queries
  const rows = Int32Array.from([1, 3, 4]);
  const want = new Float32Array(q.length);
  lens.forEach((n, s) => {
    // Full attention over a sequence of n tokens whose last query is q's row; read its last row.
    const qs = new Float32Array(n * heads * d);
    qs.set(q.subarray(rows[s]! * heads * d, (rows[s]! + 1) * heads * d), (n - 1) * heads * d);
    const out = new Float32Array(n * heads * d);
    attentionForward({ q: qs, qRow: 0, t: n, k: ks[s]!, v: vs[s]!, kvRow: 0, tk: n, past: 0, out }, { heads, kvHeads, headDim: d }, null, 0, new Float32Array(4 * n * n));
    want.set(out.subarray((n - 1) * heads * d), rows[s]! * heads * d);
  });
  const kts = tiled(ks, lens, kvHeads * d);
  for (const [name, k] of Object.entries({ js: jsKernels, ...(native ? { native } : {}) })) {
    const got = new Float32Array(q.length);
    k.attentionDecode(q, rows, kts, vs, Int32Array.from(lens), heads, kvHeads, d, got);
    close(got, want, 1e-5, `attentionDecode ${name}`);
  }
  if (native) {
    // 7 keys fill one whole tile (16 positions); 17 would need two.
    assert.throws(() => native.attentionDecode(q, rows, kts, vs, Int32Array.from([17, 1, 12]), heads, kvHeads, d, new Float32Array(q.length)), /cache shorter/);
    assert.throws(() => native.attentionDecode(q, Int32Array.from([1, 3, 9]), kts, vs, Int32Array.from(lens), heads, kvHeads, d, new Float32Array(q.length)), /row outside/);
  }
});

/** Row-layout key caches [len, kvStride] rewritten in the tiled layout decoding attention reads. */
function tiled(ks: Float32Array[], lens: number[], kvStride: number): Float32Array[] {
  return ks.map((k, s) => {
    const kt = new Float32Array(keyTileFloats(lens[s]!, kvStride));
    writeKeyTiles(k, 0, lens[s]!, kvStride, kt, 0);
    return kt;
  });
}

test('the tiled key layout puts every element of every key at its own place, and writing in pieces equals writing at once', () => {
  const kvStride = 6, n = 37;
  const k = randomArray(n * kvStride, 70);
  const whole = new Float32Array(keyTileFloats(n, kvStride)), pieces = new Float32Array(whole.length);
  writeKeyTiles(k, 0, n, kvStride, whole, 0);
  writeKeyTiles(k, 0, 20, kvStride, pieces, 0);
  writeKeyTiles(k, 20, 1, kvStride, pieces, 20);
  writeKeyTiles(k, 21, n - 21, kvStride, pieces, 21);
  assert.deepEqual(pieces, whole);
  const seen = new Set<number>();
  for (let j = 0; j < n; j++) for (let c = 0; c < kvStride; c++) {
    const o = keyTileOffset(j, c, kvStride);
    assert.equal(whole[o], k[j * kvStride + c]);
    seen.add(o);
  }
  assert.equal(seen.size, n * kvStride, 'no two elements share a place');
  assert.equal(whole.length, 48 * kvStride, '37 keys take three whole tiles');
});

test('native decoding attention gives each sequence the same bits whatever batch it is in and however the threads split it', { skip: native ? false : 'native addon not loaded' }, () => {
  // Greedy evaluation promises the same completions at any --batch-size; the kernel must not mix
  // sequences or let the thread split change a sum. Shapes of a real model (Qwen2.5-0.5B: 14 heads,
  // 2 key/value heads, head dim 64) and the bundled ones (8, 4, 32); lengths that cross tile edges.
  for (const [heads, kvHeads, d] of [[14, 2, 64], [8, 4, 32]] as const) {
    const kvStride = kvHeads * d;
    const lens = [300, 1, 16, 17, 250, 33, 129, 400];
    const ks = lens.map((n, i) => randomArray(n * kvStride, 80 + i)), vs = lens.map((n, i) => randomArray(n * kvStride, 90 + i));
    const kts = tiled(ks, lens, kvStride);
    const q = randomArray(lens.length * heads * d, 99);
    const all = new Float32Array(q.length);
    native!.attentionDecode(q, Int32Array.from(lens.keys()), kts, vs, Int32Array.from(lens), heads, kvHeads, d, all);
    for (const threads of [1, 3, 8]) {
      setKernelThreads(threads);
      const split = new Float32Array(q.length);
      try {
        native!.attentionDecode(q, Int32Array.from(lens.keys()), kts, vs, Int32Array.from(lens), heads, kvHeads, d, split);
      } finally {
        setKernelThreads(null);
      }
      assert.ok(split.every((x, i) => Object.is(x, all[i])), `${threads} thread(s) give other bits than the default split`);
    }
    lens.forEach((n, s) => {
      const one = new Float32Array(q.length);
      native!.attentionDecode(q, Int32Array.from([s]), [kts[s]!], [vs[s]!], Int32Array.from([n]), heads, kvHeads, d, one);
      const a = all.subarray(s * heads * d, (s + 1) * heads * d), b = one.subarray(s * heads * d, (s + 1) * heads * d);
      assert.ok(a.every((x, i) => Object.is(x, b[i])), `sequence ${s} (${n} keys, ${heads}/${kvHeads} heads of ${d}) differs alone and in the batch`);
    });
  }
});

test('native AdamW update and sum of squares agree with the JavaScript ones', { skip: native ? false : 'native addon not loaded' }, () => {
  const n = 1037;
  const g = randomArray(n, 60), w1 = randomArray(n, 61), m1 = randomArray(n, 62, 0.1), v1 = randomArray(n, 63, 0.1).map(Math.abs);
  const w2 = w1.slice(), m2 = m1.slice(), v2 = v1.slice();
  native!.adamwUpdate(w1, g, m1, v1, 1e-3, 0.9, 0.999, 1e-8, 0.1, 1e-3 / 0.19, Math.sqrt(0.002));
  jsKernels.adamwUpdate(w2, g, m2, v2, 1e-3, 0.9, 0.999, 1e-8, 0.1, 1e-3 / 0.19, Math.sqrt(0.002));
  // float32 arithmetic in C against float64 in JS: compare on the scale of the values (|x| ≲ 1).
  for (const [a, b, what] of [[w1, w2, 'w'], [m1, m2, 'm'], [v1, v2, 'v']] as const) {
    for (let i = 0; i < n; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-7 + 1e-5 * Math.abs(b[i]!), `adamw ${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
  assert.ok(Math.abs(native!.sumSquares(g) - jsKernels.sumSquares(g)) < 1e-5 * jsKernels.sumSquares(g));
  assert.throws(() => native!.adamwUpdate(w1, g.subarray(1), m1, v1, 1, 0.9, 0.999, 1e-8, 0, 1, 1), /differ in length/);
});

test('native kernels refuse views that run past the array', { skip: native ? false : 'native addon not loaded' }, () => {
  assert.throws(() => native!.softmaxRows(new Float32Array(10), 2, 3, 3, 1), /past the end/);
  assert.throws(() => native!.logSoftmaxRows(new Float32Array(10), 0, 2, 5, new Float32Array(9), 0, null, 0), /past the end/);
  assert.throws(() => native!.swigluForward(new Float32Array(3), new Float32Array(3), new Float32Array(2), 3), /shorter/);
  assert.throws(() => native!.rmsnormForward(new Float32Array(6), new Float32Array(3), 3, 3, 1e-6, new Float32Array(9), null), /shorter/);
  assert.throws(() => native!.rmsnormBackward(new Float32Array(9), new Float32Array(9), new Float32Array(3), new Float32Array(2), 3, 3, new Float32Array(9), null), /shorter/);
});

test('the native kernels are in use exactly when the engine is not on its JavaScript tier', () => {
  assert.equal(native === null, engineInfo().kind === 'js');
});

test('native dropout draws the Rng stream bit for bit as the JavaScript does: mask, scaled input, next state, backward', { skip: native ? false : 'native addon not loaded' }, () => {
  const n = 4099, p = 0.05, keep = 1 / (1 - p);
  const x = randomArray(n, 110);
  for (const state of [0, 12345, 0xfffffff0]) {
    const xd1 = new Float32Array(n), xd2 = new Float32Array(n), m1 = new Uint8Array(n), m2 = new Uint8Array(n);
    const s1 = native!.dropoutForward(x, p, keep, state, xd1, m1), s2 = dropoutJs.dropoutForward(x, p, keep, state, xd2, m2);
    assert.equal(s1, s2, 'the same state after n draws');
    assert.deepEqual(m1, m2);
    assert.ok(xd1.every((v, i) => Object.is(v, xd2[i])), 'the same scaled input');
    const kept = m1.reduce((a, b) => a + b, 0);
    assert.ok(kept > 0.9 * n && kept < n, `about 95% kept: ${kept}`);
    const dxd = randomArray(n, 111), dx1 = randomArray(n, 112), dx2 = dx1.slice();
    native!.dropoutBackward(dxd, m1, keep, dx1);
    dropoutJs.dropoutBackward(dxd, m2, keep, dx2);
    assert.ok(dx1.every((v, i) => Object.is(v, dx2[i])), 'the same gradient');
  }
  // The op leaves the Rng where n single draws would.
  const rng = new Rng(9), ref = new Rng(9);
  dropoutForward(x, p, rng);
  for (let i = 0; i < n; i++) ref.next();
  assert.equal(rng.state, ref.state);
});

test('native softmax backward rows equal the JavaScript bit for bit (double sums in order, four rows side by side)', { skip: native ? false : 'native addon not loaded' }, () => {
  for (const [rows, len, valid0] of [[1, 5, 5], [7, 7, 1], [13, 20, 8], [9, 9, 1]] as const) {
    // Softmax weights of the causal rows, and an upstream gradient.
    const p = randomArray(rows * len, 120 + rows).map(Math.abs);
    jsKernels.softmaxRows(p, 0, rows, len, valid0);
    const d = randomArray(3 + rows * len, 130 + rows), d2 = d.slice();
    const pPadded = new Float32Array(2 + p.length);
    pPadded.set(p, 2);
    native!.softmaxBackwardRows(pPadded, 2, d, 3, rows, len, valid0);
    jsKernels.softmaxBackwardRows(pPadded, 2, d2, 3, rows, len, valid0);
    assert.ok(d.every((v, i) => Object.is(v, d2[i])), `${rows} rows of ${len} from ${valid0}`);
    assert.ok(d.subarray(0, 3).every((v, i) => v === d2[i]), 'nothing before the offset touched');
  }
});
