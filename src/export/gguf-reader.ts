/**
 * Reading GGUF files (the layout is described in gguf-writer.ts): the header's key/value pairs and
 * tensor infos, and F32/F16 tensors as float32. Used to check a GGUF someone hands us (does its
 * vocabulary match our tokenizer?) and by tests; the header is read in bounded chunks, so a
 * multi-gigabyte file costs only its header.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { decodeF16 } from '../model/float16.js';
import { numel } from '../model/tensor.js';
import { UserError, errorMessage } from '../util/errors.js';
import { GGML_TYPE, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_VALUE_TYPE, alignUp, type GgmlTensorType } from './gguf-writer.js';

export type GgufReadValue = number | bigint | boolean | string | GgufReadValue[];

export interface GgufTensorInfo {
  name: string;
  /** PyTorch order (the on-disk dims reversed). */
  shape: number[];
  /** ggml_type id. */
  ggmlType: number;
  /** Absolute file position of the tensor's bytes. */
  fileOffset: number;
}

export interface GgufFile {
  path: string;
  version: number;
  metadata: Map<string, GgufReadValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** File position of the data section. */
  dataOffset: number;
}

const CHUNK = 1 << 20;

/** Sequential little-endian reads from a file descriptor through a refillable window. */
class FileCursor {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;

  constructor(private readonly fd: number, private readonly size: number, private readonly path: string) {}

  private need(n: number): number {
    if (this.pos + n > this.size) throw new UserError(`${this.path}: truncated GGUF header (needs byte ${this.pos + n}, file has ${this.size})`);
    const rel = this.pos - this.bufStart;
    if (rel >= 0 && rel + n <= this.buf.length) return rel;
    const len = Math.min(Math.max(n, CHUNK), this.size - this.pos);
    this.buf = Buffer.alloc(len);
    readSync(this.fd, this.buf, 0, len, this.pos);
    this.bufStart = this.pos;
    return 0;
  }
  u8(): number { const o = this.need(1); this.pos += 1; return this.buf.readUInt8(o); }
  i8(): number { const o = this.need(1); this.pos += 1; return this.buf.readInt8(o); }
  u16(): number { const o = this.need(2); this.pos += 2; return this.buf.readUInt16LE(o); }
  i16(): number { const o = this.need(2); this.pos += 2; return this.buf.readInt16LE(o); }
  u32(): number { const o = this.need(4); this.pos += 4; return this.buf.readUInt32LE(o); }
  i32(): number { const o = this.need(4); this.pos += 4; return this.buf.readInt32LE(o); }
  f32(): number { const o = this.need(4); this.pos += 4; return this.buf.readFloatLE(o); }
  f64(): number { const o = this.need(8); this.pos += 8; return this.buf.readDoubleLE(o); }
  u64(): bigint { const o = this.need(8); this.pos += 8; return this.buf.readBigUInt64LE(o); }
  i64(): bigint { const o = this.need(8); this.pos += 8; return this.buf.readBigInt64LE(o); }
  /** A u64 that must fit a JS number (counts, lengths, offsets). */
  count(what: string): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new UserError(`${this.path}: ${what} ${v} is out of range`);
    return Number(v);
  }
  str(): string {
    const n = this.count('string length');
    const o = this.need(n);
    this.pos += n;
    return this.buf.toString('utf8', o, o + n);
  }
}

function readValue(c: FileCursor, type: number, path: string, key: string): GgufReadValue {
  switch (type) {
    case GGUF_VALUE_TYPE.uint8: return c.u8();
    case GGUF_VALUE_TYPE.int8: return c.i8();
    case GGUF_VALUE_TYPE.uint16: return c.u16();
    case GGUF_VALUE_TYPE.int16: return c.i16();
    case GGUF_VALUE_TYPE.uint32: return c.u32();
    case GGUF_VALUE_TYPE.int32: return c.i32();
    case GGUF_VALUE_TYPE.float32: return c.f32();
    case GGUF_VALUE_TYPE.bool: return c.u8() !== 0;
    case GGUF_VALUE_TYPE.string: return c.str();
    case GGUF_VALUE_TYPE.uint64: return c.u64();
    case GGUF_VALUE_TYPE.int64: return c.i64();
    case GGUF_VALUE_TYPE.float64: return c.f64();
    case GGUF_VALUE_TYPE.array: {
      const itemType = c.u32();
      const n = c.count(`length of array ${key}`);
      const out: GgufReadValue[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readValue(c, itemType, path, key);
      return out;
    }
    default: throw new UserError(`${path}: key "${key}" has value type ${type}, which is not a GGUF type`);
  }
}

/** Read a GGUF file's header: metadata and tensor infos. */
export function readGgufHeader(path: string): GgufFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new UserError(`could not open GGUF file ${path}: ${errorMessage(e)}`);
  }
  try {
    const size = fstatSync(fd).size;
    const c = new FileCursor(fd, size, path);
    if (size < 24 || c.u32() !== GGUF_MAGIC) throw new UserError(`${path} is not a GGUF file (it does not start with "GGUF")`);
    const version = c.u32();
    if (version !== 2 && version !== 3) throw new UserError(`${path}: GGUF version ${version} is not supported (expected 3)`);
    const nTensors = c.count('tensor count');
    const nKv = c.count('key/value count');
    const metadata = new Map<string, GgufReadValue>();
    for (let i = 0; i < nKv; i++) {
      const key = c.str();
      metadata.set(key, readValue(c, c.u32(), path, key));
    }
    const alignmentValue = metadata.get('general.alignment');
    const alignment = typeof alignmentValue === 'number' ? alignmentValue : GGUF_DEFAULT_ALIGNMENT;
    const infos: Array<Omit<GgufTensorInfo, 'fileOffset'> & { offset: number }> = [];
    for (let i = 0; i < nTensors; i++) {
      const name = c.str();
      const nDims = c.u32();
      const dims: number[] = [];
      for (let d = 0; d < nDims; d++) dims.push(c.count(`dimension of tensor ${name}`));
      const ggmlType = c.u32();
      infos.push({ name, shape: dims.reverse(), ggmlType, offset: c.count(`offset of tensor ${name}`) });
    }
    const dataOffset = alignUp(c.pos, alignment);
    return { path, version, metadata, alignment, dataOffset, tensors: infos.map(({ offset, ...t }) => ({ ...t, fileOffset: dataOffset + offset })) };
  } finally {
    closeSync(fd);
  }
}

/** Read one F32 or F16 tensor as float32. */
export function readGgufTensor(file: GgufFile, name: string): Float32Array {
  const info = file.tensors.find((t) => t.name === name);
  if (!info) throw new UserError(`${file.path}: no tensor "${name}"`);
  const types = Object.entries(GGML_TYPE) as Array<[GgmlTensorType, number]>;
  const type = types.find(([, id]) => id === info.ggmlType)?.[0];
  if (!type) throw new UserError(`${file.path}: tensor "${name}" has ggml type ${info.ggmlType}; only F32 and F16 can be read`);
  const n = numel(info.shape);
  const fd = openSync(file.path, 'r');
  try {
    if (type === 'F32') {
      const out = new Float32Array(n);
      readSync(fd, new Uint8Array(out.buffer), 0, n * 4, info.fileOffset);
      return out;
    }
    const half = new Uint16Array(n);
    readSync(fd, new Uint8Array(half.buffer), 0, n * 2, info.fileOffset);
    const out = new Float32Array(n);
    decodeF16(half, out, 0);
    return out;
  } finally {
    closeSync(fd);
  }
}
