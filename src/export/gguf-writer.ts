/**
 * The GGUF file format (version 3), as llama.cpp's gguf-py writes it, all little-endian:
 *   magic "GGUF" (u32 0x46554747), version u32 = 3, tensor count u64, key/value count u64,
 *   key/value pairs:  key (string), value type u32, value
 *   tensor infos:     name (string), n_dims u32, dims u64[n_dims] (fastest-varying first), ggml type u32,
 *                     offset u64 (from the start of the data section, a multiple of the alignment)
 *   zero padding to `general.alignment` (default 32), then each tensor's bytes, each padded to the alignment.
 * A string is a u64 byte length and UTF-8 bytes; an array is an element type u32, a u64 count and
 * the elements. Tensor shapes are given here in PyTorch order ([out, in]) and reversed on disk,
 * which is how ggml's ne[0] (the contiguous dimension) comes first.
 *
 *   writeGguf('m.gguf', [{ key: 'general.architecture', value: { type: 'string', value: 'qwen2' } }],
 *     [{ name: 'token_embd.weight', shape: [vocab, hidden], type: 'F32', data: () => embed }]);
 */
import { encodeF16 } from '../model/float16.js';
import { numel, fmtShape } from '../model/tensor.js';
import { writeFileAtomicStreaming } from '../util/fsx.js';

export const GGUF_MAGIC = 0x46554747;
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** gguf-py's GGUFValueType. */
export const GGUF_VALUE_TYPE = {
  uint8: 0, int8: 1, uint16: 2, int16: 3, uint32: 4, int32: 5, float32: 6, bool: 7, string: 8, array: 9, uint64: 10, int64: 11, float64: 12,
} as const;

/** ggml_type ids of the tensor types we write. */
export const GGML_TYPE = { F32: 0, F16: 1 } as const;
export type GgmlTensorType = keyof typeof GGML_TYPE;

export type GgufScalarType = 'uint32' | 'int32' | 'float32' | 'bool' | 'string' | 'uint64';

export type GgufValue =
  | { type: 'uint32' | 'int32' | 'float32'; value: number }
  | { type: 'uint64'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; itemType: 'string'; value: readonly string[] }
  | { type: 'array'; itemType: 'int32' | 'uint32' | 'float32'; value: ArrayLike<number> };

export interface GgufKv {
  key: string;
  value: GgufValue;
}

export interface GgufTensorSource {
  name: string;
  /** PyTorch order, e.g. [out, in] for a linear weight. */
  shape: number[];
  type: GgmlTensorType;
  /** The float32 values, row-major; called once, while the file is written (so one tensor is in memory at a time). */
  data: () => Float32Array;
}

export interface GgufWriteOptions {
  alignment?: number;
  /** Called after each tensor is written. */
  onTensor?: (index: number, total: number) => void;
}

/** A growable little-endian byte buffer for the header. */
class ByteWriter {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number): void { this.reserve(1); this.buf.writeUInt8(v, this.length); this.length += 1; }
  u32(v: number): void { this.reserve(4); this.buf.writeUInt32LE(v, this.length); this.length += 4; }
  i32(v: number): void { this.reserve(4); this.buf.writeInt32LE(v, this.length); this.length += 4; }
  f32(v: number): void { this.reserve(4); this.buf.writeFloatLE(v, this.length); this.length += 4; }
  u64(v: number | bigint): void { this.reserve(8); this.buf.writeBigUInt64LE(BigInt(v), this.length); this.length += 8; }
  str(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.reserve(bytes.length);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
  }
  zeros(n: number): void { this.reserve(n); this.buf.fill(0, this.length, this.length + n); this.length += n; }
  bytes(): Buffer { return this.buf.subarray(0, this.length); }
}

function checkUint32(key: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`GGUF key ${key}: ${v} is not a uint32`);
}

function checkInt32(key: string, v: number): void {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new RangeError(`GGUF key ${key}: ${v} is not an int32`);
}

function writeScalar(w: ByteWriter, key: string, type: 'uint32' | 'int32' | 'float32', v: number): void {
  if (type === 'uint32') { checkUint32(key, v); w.u32(v); }
  else if (type === 'int32') { checkInt32(key, v); w.i32(v); }
  else w.f32(v);
}

function writeKv(w: ByteWriter, { key, value }: GgufKv): void {
  w.str(key);
  switch (value.type) {
    case 'uint32': case 'int32': case 'float32':
      w.u32(GGUF_VALUE_TYPE[value.type]);
      writeScalar(w, key, value.type, value.value);
      return;
    case 'uint64': w.u32(GGUF_VALUE_TYPE.uint64); w.u64(value.value); return;
    case 'bool': w.u32(GGUF_VALUE_TYPE.bool); w.u8(value.value ? 1 : 0); return;
    case 'string': w.u32(GGUF_VALUE_TYPE.string); w.str(value.value); return;
    case 'array': {
      w.u32(GGUF_VALUE_TYPE.array);
      w.u32(GGUF_VALUE_TYPE[value.itemType]);
      w.u64(value.value.length);
      if (value.itemType === 'string') for (const s of value.value as readonly string[]) w.str(s);
      else {
        const nums = value.value as ArrayLike<number>;
        for (let i = 0; i < nums.length; i++) writeScalar(w, key, value.itemType, nums[i]!);
      }
    }
  }
}

const BYTES_PER_ELEMENT: Record<GgmlTensorType, number> = { F32: 4, F16: 2 };

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/**
 * The header (everything before the tensor data, padding included) and each tensor's offset in
 * the data section. Kept separate from the file writing so it can be checked byte for byte.
 */
export function encodeGgufHeader(kvs: readonly GgufKv[], tensors: ReadonlyArray<Omit<GgufTensorSource, 'data'>>, alignment = GGUF_DEFAULT_ALIGNMENT): { header: Uint8Array; offsets: number[]; dataBytes: number } {
  if (alignment <= 0 || (alignment & (alignment - 1)) !== 0) throw new RangeError(`GGUF alignment must be a power of two, got ${alignment}`);
  const keys = new Set<string>();
  for (const { key } of kvs) {
    if (keys.has(key)) throw new Error(`GGUF key ${key} given twice`);
    keys.add(key);
  }
  const names = new Set<string>();
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(GGUF_VERSION);
  w.u64(tensors.length);
  w.u64(kvs.length);
  for (const kv of kvs) writeKv(w, kv);
  const offsets: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`GGUF tensor ${t.name} given twice`);
    names.add(t.name);
    if (t.shape.length === 0 || t.shape.length > 4 || t.shape.some((d) => !Number.isInteger(d) || d <= 0)) {
      throw new RangeError(`GGUF tensor ${t.name}: shape ${fmtShape(t.shape)} is not 1 to 4 positive dimensions`);
    }
    w.str(t.name);
    w.u32(t.shape.length);
    for (let d = t.shape.length - 1; d >= 0; d--) w.u64(t.shape[d]!);
    w.u32(GGML_TYPE[t.type]);
    w.u64(offset);
    offsets.push(offset);
    offset = alignUp(offset + numel(t.shape) * BYTES_PER_ELEMENT[t.type], alignment);
  }
  w.zeros(alignUp(w.length, alignment) - w.length);
  return { header: w.bytes(), offsets, dataBytes: offset };
}

/** Bytes of one tensor as stored (F32 as is, F16 rounded to nearest even). */
function tensorBytes(t: GgufTensorSource): Uint8Array {
  const data = t.data();
  const n = numel(t.shape);
  if (data.length !== n) throw new Error(`GGUF tensor ${t.name}: ${data.length} values for shape ${fmtShape(t.shape)} (${n} expected)`);
  if (t.type === 'F32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const half = new Uint16Array(n);
  encodeF16(data, 0, half);
  return new Uint8Array(half.buffer);
}

/**
 * Write a GGUF file atomically (temp file, then rename), streaming tensor by tensor. Returns the
 * file size in bytes.
 */
export function writeGguf(path: string, kvs: readonly GgufKv[], tensors: readonly GgufTensorSource[], opts: GgufWriteOptions = {}): number {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('GGUF files are little-endian and this host is big-endian, which is not supported');
  const alignment = opts.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  const all = alignment === GGUF_DEFAULT_ALIGNMENT ? kvs : [...kvs, { key: 'general.alignment', value: { type: 'uint32', value: alignment } } as GgufKv];
  const { header, offsets, dataBytes } = encodeGgufHeader(all, tensors, alignment);
  writeFileAtomicStreaming(path, (write) => {
    write(header);
    let pos = 0;
    tensors.forEach((t, i) => {
      if (offsets[i]! > pos) write(new Uint8Array(offsets[i]! - pos));
      const bytes = tensorBytes(t);
      write(bytes);
      pos = offsets[i]! + bytes.length;
      opts.onTensor?.(i, tensors.length);
    });
    if (dataBytes > pos) write(new Uint8Array(dataBytes - pos));
  });
  return header.length + dataBytes;
}
