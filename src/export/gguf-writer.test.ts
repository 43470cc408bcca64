import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeGgufHeader, writeGguf, type GgufKv } from './gguf-writer.js';
import { readGgufHeader, readGgufTensor } from './gguf-reader.js';

const work = mkdtempSync(join(tmpdir(), 'lr-gguf-writer-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Little-endian bytes spelled out by hand, independently of the writer. */
function le(parts: Array<['u32' | 'u64' | 'f32', number] | ['str', string] | ['zeros', number]>): Buffer {
  const chunks = parts.map(([kind, v]) => {
    if (kind === 'str') {
      const s = Buffer.from(v as string, 'utf8');
      const n = Buffer.alloc(8);
      n.writeBigUInt64LE(BigInt(s.length));
      return Buffer.concat([n, s]);
    }
    if (kind === 'zeros') return Buffer.alloc(v as number);
    const b = Buffer.alloc(kind === 'u64' ? 8 : 4);
    if (kind === 'u32') b.writeUInt32LE(v as number);
    else if (kind === 'u64') b.writeBigUInt64LE(BigInt(v as number));
    else b.writeFloatLE(v as number);
    return b;
  });
  return Buffer.concat(chunks);
}

test('a one-key, one-tensor file is laid out byte for byte as GGUF v3 (magic, counts, kv, tensor info, 32-byte alignment, data)', () => {
  const path = join(work, 'min.gguf');
  const size = writeGguf(path, [{ key: 'a', value: { type: 'uint32', value: 7 } }], [{ name: 't', shape: [2], type: 'F32', data: () => Float32Array.of(1.5, -2) }]);
  const header = le([
    ['u32', 0x46554747], ['u32', 3], ['u64', 1], ['u64', 1],
    ['str', 'a'], ['u32', 4], ['u32', 7],
    ['str', 't'], ['u32', 1], ['u64', 2], ['u32', 0], ['u64', 0],
  ]);
  assert.equal(header.length, 74);
  const want = Buffer.concat([header, Buffer.alloc(96 - 74), le([['f32', 1.5], ['f32', -2]]), Buffer.alloc(24)]);
  const got = readFileSync(path);
  assert.equal(got.subarray(0, 4).toString('latin1'), 'GGUF');
  assert.deepEqual(got, want);
  assert.equal(size, want.length);
});

test('tensor dims are written fastest-varying first (PyTorch [out, in] becomes ne = [in, out]) and each tensor starts on the alignment', () => {
  const { offsets, dataBytes } = encodeGgufHeader([], [
    { name: 'w', shape: [3, 5], type: 'F32' },
    { name: 'h', shape: [3], type: 'F16' },
    { name: 'x', shape: [1], type: 'F32' },
  ]);
  assert.deepEqual(offsets, [0, 64, 96]); // 60 bytes → 64; 6 bytes → 32
  assert.equal(dataBytes, 128);
  const path = join(work, 'dims.gguf');
  writeGguf(path, [], [{ name: 'w', shape: [3, 5], type: 'F32', data: () => new Float32Array(15) }]);
  const bytes = readFileSync(path);
  // after magic, version, counts (24), name (8 + 1) and n_dims (4): dims u64 5 then 3
  assert.equal(bytes.readBigUInt64LE(37), 5n);
  assert.equal(bytes.readBigUInt64LE(45), 3n);
  assert.deepEqual(readGgufHeader(path).tensors[0]!.shape, [3, 5]);
});

test('every value type written is read back with its type, and F16 tensors are rounded to half precision', () => {
  const kvs: GgufKv[] = [
    { key: 'general.architecture', value: { type: 'string', value: 'qwen2' } },
    { key: 'n', value: { type: 'uint32', value: 4294967295 } },
    { key: 'i', value: { type: 'int32', value: -5 } },
    { key: 'f', value: { type: 'float32', value: 1e-6 } },
    { key: 'b', value: { type: 'bool', value: true } },
    { key: 'big', value: { type: 'uint64', value: 2n ** 40n } },
    { key: 'tokens', value: { type: 'array', itemType: 'string', value: ['Ġthe', '<|im_end|>', 'ü'] } },
    { key: 'types', value: { type: 'array', itemType: 'int32', value: Int32Array.of(1, 3, 5) } },
  ];
  const path = join(work, 'types.gguf');
  writeGguf(path, kvs, [
    { name: 'half', shape: [2, 2], type: 'F16', data: () => Float32Array.of(1, -0.5, 1 + 2 ** -11, 70000) },
    { name: 'full', shape: [3], type: 'F32', data: () => Float32Array.of(0.1, 0.2, 0.3) },
  ]);
  const f = readGgufHeader(path);
  assert.equal(f.version, 3);
  assert.equal(f.metadata.get('general.architecture'), 'qwen2');
  assert.equal(f.metadata.get('n'), 4294967295);
  assert.equal(f.metadata.get('i'), -5);
  assert.equal(f.metadata.get('f'), Math.fround(1e-6));
  assert.equal(f.metadata.get('b'), true);
  assert.equal(f.metadata.get('big'), 2n ** 40n);
  assert.deepEqual(f.metadata.get('tokens'), ['Ġthe', '<|im_end|>', 'ü']);
  assert.deepEqual(f.metadata.get('types'), [1, 3, 5]);
  // 1 + 2^-11 is a tie between 1 and 1 + 2^-10: ties go to even (1); 70000 overflows F16 to inf.
  assert.deepEqual(Array.from(readGgufTensor(f, 'half')), [1, -0.5, 1, Infinity]);
  assert.deepEqual(Array.from(readGgufTensor(f, 'full')), [0.1, 0.2, 0.3].map(Math.fround));
});

test('duplicate keys or tensor names, bad shapes and out-of-range integers are refused before anything is written', () => {
  const t = { name: 'x', shape: [1], type: 'F32' as const };
  assert.throws(() => encodeGgufHeader([{ key: 'k', value: { type: 'bool', value: true } }, { key: 'k', value: { type: 'bool', value: false } }], []), /key k given twice/);
  assert.throws(() => encodeGgufHeader([], [t, t]), /tensor x given twice/);
  assert.throws(() => encodeGgufHeader([], [{ ...t, shape: [2, 0] }]), /not 1 to 4 positive dimensions/);
  assert.throws(() => encodeGgufHeader([{ key: 'u', value: { type: 'uint32', value: -1 } }], []), /not a uint32/);
  assert.throws(() => writeGguf(join(work, 'bad.gguf'), [], [{ ...t, data: () => new Float32Array(2) }]), /2 values for shape \[1\]/);
});

test('a file that is not GGUF is refused with its path', () => {
  const path = join(work, 'other.gguf');
  writeFileSync(path, Buffer.concat([Buffer.from('GGML', 'latin1'), Buffer.alloc(28)]));
  assert.throws(() => readGgufHeader(path), /other\.gguf is not a GGUF file/);
});
