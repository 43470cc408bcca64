/**
 * IEEE binary16 (F16) and bfloat16 (BF16) to and from float32, bit-exact: subnormals, ±inf and NaN
 * survive, and narrowing rounds to nearest, ties to even (what PyTorch's `.to(torch.float16)` and
 * `.to(torch.bfloat16)` do). Conversions work on bit patterns through Uint32Array views so that
 * NaN payloads are never canonicalised by a trip through a JS number.
 *
 *   f16BitsToF32Bits(0x3c00) === 0x3f800000   // 1.0
 *   f32BitsToF16Bits(0x3f800000) === 0x3c00
 *   f32BitsToBf16Bits(0x3f808000) === 0x3f80  // 1 + 2^-8 is a tie: rounds to the even 1.0
 */

/** float32 bit pattern of the F16 value `h` (exact: every F16 is a float32). */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  let exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp === 0) {
    if (mant === 0) return sign >>> 0;
    // Subnormal m·2^-24: normalise so the leading 1 becomes float32's implicit bit.
    exp = 113;
    while ((mant & 0x400) === 0) {
      mant <<= 1;
      exp--;
    }
    return (sign | (exp << 23) | ((mant & 0x3ff) << 13)) >>> 0;
  }
  return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
}

/** F16 bit pattern nearest to the float32 with bits `u` (ties to even; overflow gives ±inf). */
export function f32BitsToF16Bits(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0); // NaN stays a (quiet) NaN
  const halfExp = exp - 112; // re-biased: float32 bias 127, F16 bias 15
  if (halfExp >= 0x1f) return sign | 0x7c00;
  if (halfExp <= 0) {
    // Below 2^-25 everything rounds to zero (2^-25 itself is the tie between 0 and 2^-24).
    if (halfExp < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - halfExp; // 14..24: places of m below F16's subnormal unit 2^-24
    let r = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (r & 1) === 1)) r++; // may carry into the smallest normal: still right
    return sign | r;
  }
  let r = (halfExp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) === 1)) r++; // a carry out of the mantissa bumps the exponent, up to inf
  return sign | r;
}

/** BF16 bit pattern nearest to the float32 with bits `u` (ties to even; BF16 is float32's top half). */
export function f32BitsToBf16Bits(u: number): number {
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x7fffff) !== 0) return ((u >>> 16) | 0x40) & 0xffff; // keep NaN a NaN
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

let f16Table: Uint32Array | null = null;

/** float32 bits of all 65536 F16 values: decoding a tensor is then one lookup per value. */
function f16ToF32Table(): Uint32Array {
  if (!f16Table) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32Bits(h);
  }
  return f16Table;
}

/** Widen F16 values `src` into `dst[dstOffset ..]`. */
export function decodeF16(src: Uint16Array, dst: Float32Array, dstOffset: number): void {
  const table = f16ToF32Table();
  const out = new Uint32Array(dst.buffer, dst.byteOffset + dstOffset * 4, src.length);
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]!]!;
}

/** Widen BF16 values `src` into `dst[dstOffset ..]`. */
export function decodeBf16(src: Uint16Array, dst: Float32Array, dstOffset: number): void {
  // An Int32Array view: `h << 16` is a small-integer store there, while a Uint32Array store of a
  // negative int32 goes through doubles and runs nearly 2x slower.
  const out = new Int32Array(dst.buffer, dst.byteOffset + dstOffset * 4, src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
}

/** Narrow `dst.length` values of `src` starting at `srcOffset` to F16. */
export function encodeF16(src: Float32Array, srcOffset: number, dst: Uint16Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset + srcOffset * 4, dst.length);
  for (let i = 0; i < dst.length; i++) dst[i] = f32BitsToF16Bits(bits[i]!);
}

/** Narrow `dst.length` values of `src` starting at `srcOffset` to BF16. */
export function encodeBf16(src: Float32Array, srcOffset: number, dst: Uint16Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset + srcOffset * 4, dst.length);
  for (let i = 0; i < dst.length; i++) dst[i] = f32BitsToBf16Bits(bits[i]!);
}
