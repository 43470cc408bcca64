/**
 * The safetensors format (https://github.com/huggingface/safetensors): an unsigned 64-bit
 * little-endian header length N, N bytes of JSON `{ "__metadata__": {str: str}, name: { dtype,
 * shape, data_offsets: [begin, end] } }` padded with spaces, then the raw little-endian tensor
 * bytes; offsets are relative to the end of the header.
 *
 * Weights are large (a 7B model is 15 GB in BF16), so nothing here holds two copies of them:
 * F32 bytes are read straight into each tensor's Float32Array, F16/BF16 go through one bounded
 * chunk buffer, and writing streams tensor by tensor into a temp file that is renamed into place.
 */
import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import type { TensorMap } from './tensor.js';
import { numel } from './tensor.js';
import { assertFiniteTensor } from './finite.js';
import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from './float16.js';
import { UserError, describeValue, errorMessage } from '../util/errors.js';
import { parseJsonStrict, StrictJsonError } from '../util/strict-json.js';
import { writeFileAtomicStreaming } from '../util/fsx.js';
import type { ProgressCallback } from '../util/progress.js';

/** Element bit sizes of every dtype the format defines. */
const DTYPE_BITS = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F6_E2M3: 6, F6_E3M2: 6, F4: 4,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, I64: 64, U64: 64, F64: 64,
} as const;

export type SafetensorsDtype = keyof typeof DTYPE_BITS;
/** The dtypes weights are read from and written to; everything else is refused. */
export type FloatDtype = 'F32' | 'F16' | 'BF16';

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range [begin, end) relative to the start of the data section (`dataOffset`). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  path: string;
  /** In the order of their data in the file. */
  tensors: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** File position of the data section: 8 + header length. */
  dataOffset: number;
  fileSize: number;
}

/** A header longer than this is refused, as the reference implementation does (real ones are well under 1 MB). */
export const MAX_HEADER_BYTES = 100_000_000;
/** More tensors than this in one file is refused (the largest released checkpoints hold ~10^5 in all). */
export const MAX_TENSORS = 1_000_000;
/** Dimensions a tensor may have; weights have at most 5. */
export const MAX_RANK = 16;
/** Nesting a header may have: 3 for the format, with room for extra fields other writers add. */
const MAX_HEADER_DEPTH = 16;
/** Longest array a header may hold: shapes have at most MAX_RANK items, data_offsets 2. */
const MAX_HEADER_ARRAY = 1024;
const UTF8 = new TextDecoder('utf-8', { fatal: true });
/** Bytes per read or conversion step: bounds the memory beyond the tensors themselves. */
const CHUNK_BYTES = 4 << 20;
/** F32 reads go straight into the tensor; this only caps the size of one read call. */
const MAX_READ_BYTES = 64 << 20;

let littleEndianChecked = false;
/** Tensor bytes are reinterpreted through typed arrays, which use the host's byte order. */
function assertLittleEndian(): void {
  if (littleEndianChecked) return;
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error('safetensors data is little-endian and this host is big-endian, which is not supported');
  }
  littleEndianChecked = true;
}

function isDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === 'string' && Object.hasOwn(DTYPE_BITS, s);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Fill `dst` from `position` on, or throw naming what came up short. */
function readFully(fd: number, dst: Uint8Array, position: number, path: string, what: string): void {
  let off = 0;
  while (off < dst.length) {
    let n: number;
    try {
      n = readSync(fd, dst, off, Math.min(dst.length - off, MAX_READ_BYTES), position + off);
    } catch (e) {
      throw new UserError(`could not read ${what} from ${path}: ${errorMessage(e)}`, { cause: e });
    }
    if (n === 0) {
      throw new UserError(`${path} is truncated: ${what} needs the file to be at least ${position + dst.length} bytes but it ends at ${position + off}`);
    }
    off += n;
  }
}

/**
 * The tensor entries of a parsed header, checked as the reference implementation checks them
 * (huggingface/safetensors, `Metadata::validate` and `read_metadata`): every entry is an object
 * with a known dtype, a shape of non-negative integers and data_offsets [begin, end] whose length
 * is exactly dtype × shape; sorted by offset, the tensors start at 0 and follow one another with no
 * hole and no overlap, and the last one ends exactly where the file ends. Anything else is refused
 * with a message that names the tensor and the rule, bounded in size whatever the header holds.
 */
function parseHeaderJson(json: Record<string, unknown>, path: string, dataOffset: number, fileSize: number): { tensors: SafetensorsEntry[]; metadata: Record<string, string> } {
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsEntry[] = [];
  let count = 0;
  for (const name in json) {
    const info = json[name];
    if (name === '__metadata__') {
      if (info === null) continue; // what a writer given no metadata may put
      if (typeof info !== 'object' || Array.isArray(info)) throw new UserError(`${path}: header field "__metadata__" is ${describeValue(info)}, expected an object of strings`);
      for (const k in info as Record<string, unknown>) {
        const v = (info as Record<string, unknown>)[k];
        if (typeof v !== 'string') throw new UserError(`${path}: header "__metadata__" field ${describeValue(k)} is ${describeValue(v)}, expected a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (++count > MAX_TENSORS) throw new UserError(`${path}: the header lists more than ${MAX_TENSORS} tensors; not a weights file this program can load`);
    const tn = describeValue(name);
    if (typeof info !== 'object' || info === null || Array.isArray(info)) throw new UserError(`${path}: header entry for tensor ${tn} is ${describeValue(info)}, expected an object {dtype, shape, data_offsets}`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (!isDtype(dtype)) throw new UserError(`${path}: tensor ${tn} has unknown dtype ${describeValue(dtype)}; expected one of ${Object.keys(DTYPE_BITS).join(', ')}`);
    if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every(isNonNegInt)) {
      throw new UserError(`${path}: tensor ${tn} has shape ${describeValue(shape)}, expected an array of at most ${MAX_RANK} non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegInt) || offsets[0] > offsets[1]) {
      throw new UserError(`${path}: tensor ${tn} has data_offsets ${describeValue(offsets)}, expected [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = offsets as [number, number];
    let elements = 1;
    for (const d of shape as number[]) elements *= d;
    const bits = elements * DTYPE_BITS[dtype];
    if (!Number.isSafeInteger(bits)) throw new UserError(`${path}: tensor ${tn} (${dtype}, shape ${describeValue(shape)}) is too large: its size overflows`);
    if (bits % 8 !== 0) throw new UserError(`${path}: tensor ${tn} (${dtype}, shape ${describeValue(shape)}) holds ${bits} bits, not a whole number of bytes`);
    if (end - begin !== bits / 8) {
      throw new UserError(`${path}: tensor ${tn} (${dtype}, shape ${describeValue(shape)}) needs ${bits / 8} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    tensors.push({ name, dtype, shape: (shape as number[]).slice(), begin, end });
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataBytes = fileSize - dataOffset;
  let at = 0;
  for (let i = 0; i < tensors.length; i++) {
    const prev = tensors[i - 1], cur = tensors[i]!;
    const where = (t: SafetensorsEntry): string => `${describeValue(t.name)} (data_offsets [${t.begin}, ${t.end}])`;
    if (cur.begin < at) throw new UserError(`${path}: tensors ${where(prev!)} and ${where(cur)} overlap`);
    if (cur.begin > at) {
      throw new UserError(`${path}: bytes ${at} to ${cur.begin} of the data section belong to no tensor (a hole ${prev ? `after ${where(prev)}` : 'at the start'}, before ${where(cur)}); safetensors data must be contiguous`);
    }
    if (cur.end > dataBytes) {
      const expected = dataOffset + tensors[tensors.length - 1]!.end;
      throw new UserError(`${path} is truncated: the file is ${fileSize} bytes but its header describes ${expected}; tensor ${where(cur)} (file bytes ${dataOffset + cur.begin} to ${dataOffset + cur.end}) is cut short`);
    }
    at = cur.end;
  }
  if (at !== dataBytes) {
    throw new UserError(`${path}: the data section holds ${dataBytes} bytes but the tensors cover ${at}: ${dataBytes - at} trailing byte(s) belong to no tensor (a wrong header length, or bytes appended to the file)`);
  }
  return { tensors, metadata };
}

/** Read and check the header of a safetensors file without touching its tensor data. */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  // stat before open: opening a FIFO or a device for reading can block forever.
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `safetensors file not found: ${path}` : `could not open ${path}: ${errorMessage(e)}`, { cause: e });
  }
  if (!st.isFile()) throw new UserError(`${path} is not a regular file (${fileKind(st)}); a safetensors file must be a regular file`);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new UserError(`could not open ${path}: ${errorMessage(e)}`, { cause: e });
  }
  try {
    const fileSize = fstatSync(fd).size;
    if (fileSize < 8) throw new UserError(`${path} is not a safetensors file: it is ${fileSize} bytes long, too short for the 8-byte header length`);
    const lenBuf = Buffer.alloc(8);
    readFully(fd, lenBuf, 0, path, 'the header length');
    const n = checkHeaderLength(lenBuf.readBigUInt64LE(0), fileSize, path);
    const headerBuf = Buffer.alloc(n);
    readFully(fd, headerBuf, 8, path, 'the header');
    return parseSafetensorsHeaderBytes(headerBuf, path, fileSize);
  } finally {
    closeSync(fd);
  }
}

/** The header length field, checked against the file size and the limit before anything is allocated. */
function checkHeaderLength(headerLen: bigint, fileSize: number, path: string): number {
  if (headerLen > BigInt(fileSize - 8)) throw new UserError(`${path}: header length ${headerLen} is larger than the rest of the file (${fileSize - 8} bytes); the file is truncated or not safetensors`);
  if (headerLen > BigInt(MAX_HEADER_BYTES)) throw new UserError(`${path}: header length ${headerLen} exceeds ${MAX_HEADER_BYTES} bytes (the reference implementation's limit); not a safetensors file`);
  return Number(headerLen);
}

/**
 * readSafetensorsHeader for a whole file already in memory (`fileSize` defaults to its length;
 * give a larger one when `bytes` is only the file's beginning). Every rule is the same; the fuzz
 * suite runs hundreds of thousands of files through it without touching the disk.
 */
export function parseSafetensorsBytes(bytes: Uint8Array, path: string, fileSize = bytes.length): SafetensorsHeader {
  if (Math.min(fileSize, bytes.length) < 8) throw new UserError(`${path} is not a safetensors file: it is ${Math.min(fileSize, bytes.length)} bytes long, too short for the 8-byte header length`);
  const n = checkHeaderLength(Buffer.from(bytes.buffer, bytes.byteOffset, 8).readBigUInt64LE(0), fileSize, path);
  if (8 + n > bytes.length) throw new UserError(`${path}: only the first ${bytes.length} bytes were given, the header needs ${8 + n}`);
  return parseSafetensorsHeaderBytes(bytes.subarray(8, 8 + n), path, fileSize);
}

/**
 * Check a header's bytes (those after the 8-byte length) for a file of `fileSize` bytes.
 */
function parseSafetensorsHeaderBytes(headerBuf: Uint8Array, path: string, fileSize: number): SafetensorsHeader {
  const n = headerBuf.length;
  let text: string;
  try {
    text = UTF8.decode(headerBuf);
  } catch {
    throw new UserError(`${path}: the header is not valid UTF-8; the file is damaged or not safetensors`);
  }
  if (!text.startsWith('{')) throw new UserError(`${path}: the header does not start with "{" (it starts ${describeValue(text.slice(0, 16))}); the file is damaged, not safetensors, or its header length is wrong`);
  let json: unknown;
  try {
    json = parseJsonStrict(text, { maxDepth: MAX_HEADER_DEPTH, maxArrayItems: MAX_HEADER_ARRAY });
  } catch (e) {
    const kind = e instanceof StrictJsonError ? e.kind : 'syntax';
    if (kind === 'duplicate') throw new UserError(`${path}: in the header, ${errorMessage(e)}; safetensors keys must be unique (readers disagree on which copy wins)`);
    if (kind === 'limit') throw new UserError(`${path}: the header holds ${errorMessage(e)}; a safetensors header has nothing like it (shapes are short arrays, entries 3 levels deep)`);
    throw new UserError(`${path}: header is not valid JSON (${errorMessage(e)}); the file is damaged or not safetensors`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UserError(`${path}: header is not a JSON object`);
  const dataOffset = 8 + n;
  return { path, ...parseHeaderJson(json as Record<string, unknown>, path, dataOffset, fileSize), dataOffset, fileSize };
}

function fileKind(st: Stats): string {
  return st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : 'not a file';
}

export interface ReadSafetensorsOptions {
  /** Read only the tensors it accepts; the others are neither read nor dtype-checked. */
  filter?: (name: string) => boolean;
  onProgress?: ProgressCallback;
  /** Refuse a tensor holding NaN or ±Inf, naming it (model and adapter weights). */
  requireFinite?: boolean;
}

/** Read tensors (F32, F16 or BF16 in the file) as float32, in file order. */
export function readSafetensors(path: string, opts: ReadSafetensorsOptions = {}): TensorMap {
  return readSafetensorsWithHeader(readSafetensorsHeader(path), opts);
}

/** readSafetensors for a header already read (to check shapes before loading gigabytes). */
export function readSafetensorsWithHeader(header: SafetensorsHeader, opts: ReadSafetensorsOptions = {}): TensorMap {
  assertLittleEndian();
  const { path } = header;
  const chosen = opts.filter ? header.tensors.filter((t) => opts.filter!(t.name)) : header.tensors;
  for (const t of chosen) {
    if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') {
      throw new UserError(`${path}: tensor "${t.name}" has dtype ${t.dtype}; only F32, F16 and BF16 tensors can be loaded`);
    }
  }
  const totalMiB = chosen.reduce((s, t) => s + (t.end - t.begin), 0) / 2 ** 20;
  let doneBytes = 0;
  const out: TensorMap = new Map();
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new UserError(`could not open ${path}: ${errorMessage(e)}`, { cause: e });
  }
  try {
    // The file must still be the one whose header we checked.
    const size = fstatSync(fd).size;
    if (size < header.fileSize) throw new UserError(`${path} shrank from ${header.fileSize} to ${size} bytes since its header was read`);
    let chunk: Uint16Array | null = null;
    for (const t of chosen) {
      const n = numel(t.shape);
      const data = new Float32Array(n);
      const pos = header.dataOffset + t.begin;
      if (t.dtype === 'F32') {
        readFully(fd, new Uint8Array(data.buffer), pos, path, `tensor "${t.name}"`);
      } else {
        chunk ??= new Uint16Array(CHUNK_BYTES / 2);
        const decode = t.dtype === 'F16' ? decodeF16 : decodeBf16;
        for (let i = 0; i < n; i += chunk.length) {
          const m = Math.min(chunk.length, n - i);
          const part = chunk.subarray(0, m);
          readFully(fd, new Uint8Array(part.buffer, 0, m * 2), pos + i * 2, path, `tensor "${t.name}"`);
          decode(part, data, i);
        }
      }
      if (opts.requireFinite) assertFiniteTensor(data, t.shape, t.name, path);
      out.set(t.name, { data, shape: t.shape.slice() });
      doneBytes += t.end - t.begin;
      opts.onProgress?.({ stage: 'load', done: Math.round((doneBytes / 2 ** 20) * 10) / 10, total: Math.round(totalMiB * 10) / 10, unit: 'MiB' });
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

export interface WriteTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface WriteSafetensorsOptions {
  /** How the tensors are stored; float32 values are rounded to nearest, ties to even. */
  dtype: FloatDtype;
  /** Written as "__metadata__"; transformers expects { format: 'pt' } in model files. */
  metadata?: Record<string, string>;
}

/**
 * Write tensors to `path` atomically (temp file, fsync, rename), one tensor at a time. Tensors are
 * laid out sorted by name, as the Hugging Face writer does for tensors of one dtype, so a file
 * written twice from the same tensors is byte-identical whatever order they were given in.
 * Returns the file size in bytes.
 */
export function writeSafetensors(path: string, tensors: WriteTensor[], opts: WriteSafetensorsOptions): number {
  assertLittleEndian();
  const itemBytes = opts.dtype === 'F32' ? 4 : 2;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '' || t.name === '__metadata__') throw new UserError(`${path}: cannot write a tensor named ${describeValue(t.name)}`);
    if (seen.has(t.name)) throw new UserError(`${path}: tensor "${t.name}" is given twice`);
    seen.add(t.name);
    if (!t.shape.every(isNonNegInt)) throw new UserError(`${path}: tensor "${t.name}" has shape ${describeValue(t.shape)}, expected non-negative integers`);
    if (t.data.length !== numel(t.shape)) throw new UserError(`${path}: tensor "${t.name}" holds ${t.data.length} values but its shape [${t.shape.join(', ')}] needs ${numel(t.shape)}`);
  }
  const sorted = tensors.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Built by hand rather than from an object: JS would move integer-like names to the front.
  const entries: string[] = [];
  if (opts.metadata) entries.push(`"__metadata__":${JSON.stringify(opts.metadata)}`);
  let offset = 0;
  for (const t of sorted) {
    const bytes = t.data.length * itemBytes;
    entries.push(`${JSON.stringify(t.name)}:${JSON.stringify({ dtype: opts.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] })}`);
    offset += bytes;
  }
  let header = `{${entries.join(',')}}`;
  const headerLen = Buffer.byteLength(header, 'utf8');
  header += ' '.repeat((8 - (headerLen % 8)) % 8); // the data section starts 8-byte aligned
  const headerBuf = Buffer.from(header, 'utf8');
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(headerBuf.length));

  writeFileAtomicStreaming(path, (write) => {
    write(lenBuf);
    write(headerBuf);
    const chunk = opts.dtype === 'F32' ? null : new Uint16Array(CHUNK_BYTES / 2);
    const encode = opts.dtype === 'F16' ? encodeF16 : encodeBf16;
    for (const t of sorted) {
      if (!chunk) {
        write(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
        continue;
      }
      for (let i = 0; i < t.data.length; i += chunk.length) {
        const part = chunk.subarray(0, Math.min(chunk.length, t.data.length - i));
        encode(t.data, i, part);
        write(new Uint8Array(part.buffer, 0, part.length * 2));
      }
    }
  });
  return 8 + headerBuf.length + offset;
}
