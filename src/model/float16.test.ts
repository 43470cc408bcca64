import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBf16, decodeF16, encodeBf16, encodeF16, f16BitsToF32Bits, f32BitsToBf16Bits, f32BitsToF16Bits } from './float16.js';

// The reference below is arithmetic on doubles (powers of two, floor), independent of the
// bit manipulation under test.

const dv = new DataView(new ArrayBuffer(4));
function bitsToF32(u: number): number {
  dv.setUint32(0, u >>> 0);
  return dv.getFloat32(0);
}
function f32ToBits(x: number): number {
  dv.setFloat32(0, x);
  return dv.getUint32(0);
}

/** Value of a 16-bit float with `expBits` exponent bits: (-1)^s · 2^(e-bias) · (1 + m/2^mantBits), subnormal when e = 0. */
function refDecode(h: number, expBits: number): number {
  const mantBits = 15 - expBits;
  const bias = 2 ** (expBits - 1) - 1;
  const s = h >>> 15 ? -1 : 1;
  const e = (h >>> mantBits) & (2 ** expBits - 1);
  const m = h & (2 ** mantBits - 1);
  if (e === 2 ** expBits - 1) return m === 0 ? s * Infinity : NaN;
  if (e === 0) return s * 2 ** (1 - bias) * (m / 2 ** mantBits);
  return s * 2 ** (e - bias) * (1 + m / 2 ** mantBits);
}
const refF16 = (h: number): number => refDecode(h, 5);
const refBf16 = (h: number): number => refDecode(h, 8);

/** Round a float32 value to `mantBits` mantissa bits and exponent >= minExp, ties to even; overflow at 2^(maxExp+1). */
function refRound(x: number, mantBits: number, minExp: number, maxExp: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  let e = Math.floor(Math.log2(Math.abs(x)));
  if (2 ** e > Math.abs(x)) e--; // log2 may be off by one next to a power of two
  if (2 ** (e + 1) <= Math.abs(x)) e++;
  const ulp = 2 ** (Math.max(e, minExp) - mantBits);
  const q = Math.abs(x) / ulp;
  const f = Math.floor(q);
  const r = q - f > 0.5 || (q - f === 0.5 && f % 2 === 1) ? f + 1 : f;
  const v = r * ulp;
  return Math.sign(x) * (v >= 2 ** (maxExp + 1) ? Infinity : v);
}
const refToF16 = (x: number): number => refRound(x, 10, -14, 15);
const refToBf16 = (x: number): number => refRound(x, 7, -126, 127);

function sameValue(actual: number, expected: number, what: string): void {
  if (Number.isNaN(expected)) assert.ok(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`);
  else assert.ok(Object.is(actual, expected), `${what}: expected ${expected}, got ${actual}`);
}

test('every F16 bit pattern widens to its exact value, subnormals, ±0, ±inf and NaN included', () => {
  for (let h = 0; h < 65536; h++) sameValue(bitsToF32(f16BitsToF32Bits(h)), refF16(h), `f16 0x${h.toString(16)}`);
});

test('every non-NaN F16 value survives narrowing back to F16 unchanged, and NaN stays NaN', () => {
  for (let h = 0; h < 65536; h++) {
    const back = f32BitsToF16Bits(f16BitsToF32Bits(h));
    if (Number.isNaN(refF16(h))) assert.ok(Number.isNaN(refF16(back)), `NaN 0x${h.toString(16)} became 0x${back.toString(16)}`);
    else assert.equal(back, h);
  }
});

/** Check rounding at and next to the midpoint of every pair of adjacent non-negative values, both signs. */
function checkMidpoints(count: number, decode: (h: number) => number, encode: (bits: number) => number, overflowAt: number): void {
  for (let h = 0; h < count; h++) {
    const lo = decode(h);
    const hiBits = h + 1; // the next value up; past the largest finite value this is +inf
    const hi = hiBits === count ? overflowAt : decode(hiBits);
    const mid = (lo + hi) / 2;
    assert.equal(Math.fround(mid), mid, 'the midpoint is a float32');
    const midBits = f32ToBits(mid);
    const even = h % 2 === 0 ? h : hiBits;
    for (const sign of [0, 0x80000000]) {
      const s16 = sign ? 0x8000 : 0;
      assert.equal(encode((midBits | sign) >>> 0), even | s16, `tie between 0x${h.toString(16)} and 0x${hiBits.toString(16)} goes to even`);
      assert.equal(encode(((midBits + 1) | sign) >>> 0), hiBits | s16, `just above the midpoint of 0x${h.toString(16)}`);
      if (mid !== 0) assert.equal(encode(((midBits - 1) | sign) >>> 0), h | s16, `just below the midpoint of 0x${h.toString(16)}`);
    }
  }
}

test('narrowing to F16 rounds to nearest with ties to even across the whole range, overflowing to inf at 65520', () => {
  checkMidpoints(0x7c00, refF16, f32BitsToF16Bits, 65536);
  assert.equal(f32BitsToF16Bits(f32ToBits(65519)), 0x7bff);
  assert.equal(f32BitsToF16Bits(f32ToBits(65520)), 0x7c00);
});

test('narrowing to BF16 rounds to nearest with ties to even across the whole range, overflowing to inf past the largest BF16', () => {
  checkMidpoints(0x7f80, refBf16, f32BitsToBf16Bits, 2 ** 128);
  assert.equal(f32BitsToBf16Bits(f32ToBits(3.4028234663852886e38)), 0x7f80, 'float32 max is past the BF16 overflow point');
});

test('narrowing random float32 values matches the arithmetic reference for F16 and BF16', () => {
  let s = 12345;
  for (let i = 0; i < 200_000; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const x = bitsToF32(s);
    if (Number.isNaN(x)) continue;
    sameValue(refF16(f32BitsToF16Bits(s)), refToF16(x), `f16 of ${x}`);
    sameValue(refBf16(f32BitsToBf16Bits(s)), refToBf16(x), `bf16 of ${x}`);
  }
});

test('special values narrow as IEEE says: ±inf stay, NaN stays NaN, tiny values keep their sign as ±0', () => {
  for (const [enc, dec] of [[f32BitsToF16Bits, refF16], [f32BitsToBf16Bits, refBf16]] as const) {
    sameValue(dec(enc(f32ToBits(Infinity))), Infinity, 'inf');
    sameValue(dec(enc(f32ToBits(-Infinity))), -Infinity, '-inf');
    sameValue(dec(enc(0x7fc00000)), NaN, 'quiet NaN');
    sameValue(dec(enc(0x7f800001)), NaN, 'signalling NaN with a payload only in the low bits');
    sameValue(dec(enc(0xff800001)), NaN, 'negative NaN with a low payload');
    sameValue(dec(enc(f32ToBits(-0))), -0, '-0');
  }
  sameValue(refF16(f32BitsToF16Bits(f32ToBits(-1e-30))), -0, 'f16 underflow keeps the sign');
  sameValue(refBf16(f32BitsToBf16Bits(1)), 0, 'the smallest float32 subnormal is below half the smallest BF16 subnormal');
});

test('bulk converters write bit patterns at the given offsets and agree with the scalar ones', () => {
  const src = new Float32Array([1, -2.5, 1 + 2 ** -11, 65520, NaN, -0, 2 ** -24, 3.14159]);
  const bits = new Uint32Array(src.buffer);
  const h16 = new Uint16Array(6);
  encodeF16(src, 2, h16);
  assert.deepEqual([...h16], [...bits.subarray(2)].map(f32BitsToF16Bits));
  const b16 = new Uint16Array(6);
  encodeBf16(src, 2, b16);
  assert.deepEqual([...b16], [...bits.subarray(2)].map(f32BitsToBf16Bits));

  const out = new Float32Array(9).fill(7);
  decodeF16(h16, out, 3);
  assert.deepEqual([...out.subarray(0, 3)], [7, 7, 7]);
  [...h16].forEach((h, i) => sameValue(out[3 + i]!, refF16(h), `decoded f16 ${i}`));
  decodeBf16(b16, out, 2);
  [...b16].forEach((h, i) => sameValue(out[2 + i]!, refBf16(h), `decoded bf16 ${i}`));
  assert.equal(out[8], refF16(h16[5]!), 'values past the decoded range are untouched');
});
