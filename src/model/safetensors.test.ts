import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from './safetensors.js';
import { UserError } from '../util/errors.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'lr-safetensors-'));
}

/**
 * An independent writer: the header JSON and the little-endian bytes built by hand with DataView,
 * in an order that is neither sorted by name nor padded.
 */
function handWrittenFile(path: string): void {
  const data = new DataView(new ArrayBuffer(4 * 3 + 2 * 5 + 2 * 2 + 8 * 2));
  let o = 0;
  // "b.f16" [5] first in the file
  for (const h of [0x3c00, 0xc000, 0x0001, 0x7c00, 0x7e00]) { data.setUint16(o, h, true); o += 2; }
  // "a.f32" [3, 1]
  for (const x of [1.5, -0.25, 3e38]) { data.setFloat32(o, x, true); o += 4; }
  // "c.bf16" [2]
  for (const h of [0x4049, 0xbf80]) { data.setUint16(o, h, true); o += 2; }
  // "d.i64" [2]: not a float type
  data.setBigInt64(o, 7n, true); data.setBigInt64(o + 8, -1n, true);
  const header = JSON.stringify({
    'b.f16': { dtype: 'F16', shape: [5], data_offsets: [0, 10] },
    __metadata__: { format: 'pt', note: 'by hand' },
    'a.f32': { dtype: 'F32', shape: [3, 1], data_offsets: [10, 22] },
    'c.bf16': { dtype: 'BF16', shape: [2], data_offsets: [22, 26] },
    'd.i64': { dtype: 'I64', shape: [2], data_offsets: [26, 42] },
  });
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
  writeFileSync(path, Buffer.concat([len, Buffer.from(header), Buffer.from(data.buffer)]));
}

function rawFile(path: string, headerLen: bigint, rest: string | Buffer): void {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(headerLen);
  writeFileSync(path, Buffer.concat([len, typeof rest === 'string' ? Buffer.from(rest) : rest]));
}

function throwsUser(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    for (const p of parts) assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} should mention ${JSON.stringify(p)}`);
    return true;
  });
}

test('reads a file from an independent writer: F32, F16 (subnormal, inf, NaN) and BF16 as float32, metadata and offsets', () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'hand.safetensors');
    handWrittenFile(path);
    const h = readSafetensorsHeader(path);
    assert.deepEqual(h.metadata, { format: 'pt', note: 'by hand' });
    assert.deepEqual(h.tensors.map((t) => [t.name, t.dtype, t.shape, t.begin, t.end]), [
      ['b.f16', 'F16', [5], 0, 10], ['a.f32', 'F32', [3, 1], 10, 22], ['c.bf16', 'BF16', [2], 22, 26], ['d.i64', 'I64', [2], 26, 42],
    ]);
    assert.equal(h.fileSize, h.dataOffset + 42);

    const m = readSafetensors(path, { filter: (n) => n !== 'd.i64' });
    assert.deepEqual([...m.keys()], ['b.f16', 'a.f32', 'c.bf16']);
    const f16 = m.get('b.f16')!;
    assert.deepEqual(f16.shape, [5]);
    assert.deepEqual([...f16.data.subarray(0, 4)], [1, -2, 2 ** -24, Infinity]);
    assert.ok(Number.isNaN(f16.data[4]));
    assert.deepEqual(m.get('a.f32')!.shape, [3, 1]);
    assert.deepEqual([...m.get('a.f32')!.data], [1.5, -0.25, Math.fround(3e38)]);
    assert.deepEqual([...m.get('c.bf16')!.data], [201 / 64, -1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unsupported dtype is refused naming the tensor and dtype, unless filtered out', () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'hand.safetensors');
    handWrittenFile(path);
    throwsUser(() => readSafetensors(path), path, '"d.i64"', 'I64');
    assert.equal(readSafetensors(path, { filter: (n) => n === 'a.f32' }).size, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('float32 round trip is bit-exact, NaN, -0, subnormals and extremes included', () => {
  const dir = tempDir();
  try {
    const special = [NaN, -0, 0, Infinity, -Infinity, 1e-45, -1.17549435e-38, 3.4028234663852886e38, 0.1, -7.25];
    const a = new Float32Array(1000);
    a.set(special);
    for (let i = special.length; i < a.length; i++) a[i] = Math.sin(i * 12.9898) * 43758.5453;
    const b = new Float32Array([1, 2, 3, 4, 5, 6]);
    const path = join(dir, 'f32.safetensors');
    writeSafetensors(path, [{ name: 'w', shape: [10, 100], data: a }, { name: 'b', shape: [2, 3], data: b }], { dtype: 'F32' });
    const m = readSafetensors(path);
    assert.deepEqual(new Uint32Array(m.get('w')!.data.buffer), new Uint32Array(a.buffer));
    assert.deepEqual(m.get('w')!.shape, [10, 100]);
    assert.deepEqual([...m.get('b')!.data], [1, 2, 3, 4, 5, 6]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// [value, its F16 rounding, its BF16 rounding], worked out by hand from the formats' ulps.
const ROUNDING_CASES: Array<[number, number, number]> = [
  [1, 1, 1],
  [1 + 2 ** -11, 1, 1], // F16 tie between 1 and 1+2^-10: even is 1
  [1 + 3 * 2 ** -11, 1 + 2 ** -9, 1], // F16 tie: 1+2^-9 has the even mantissa
  [1 + 2 ** -11 + 2 ** -20, 1 + 2 ** -10, 1],
  [1 + 2 ** -8, 1 + 2 ** -8, 1], // BF16 tie between 1 and 1+2^-7: even is 1
  [1 + 3 * 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -6], // BF16 tie to the even 1+2^-6
  [-(1 + 2 ** -8 + 2 ** -20), -(1 + 2 ** -8), -(1 + 2 ** -7)],
  [Math.fround(Math.PI), 3.140625, 3.140625], // F16 ulp 2^-9 and BF16 ulp 2^-6 both land on 201/64
  [65504, 65504, 65536], // largest F16
  [65519, 65504, 65536],
  [65520, Infinity, 65536], // F16 tie between 65504 (odd) and 2^16 (overflow): inf
  [-1e6, -Infinity, -999424],
  [2 ** -24, 2 ** -24, 2 ** -24], // smallest F16 subnormal
  [2 ** -25, 0, 2 ** -25], // F16 tie between 0 and 2^-24: even is 0
  [2 ** -25 + 2 ** -35, 2 ** -24, 2 ** -25],
  [3 * 2 ** -25, 2 ** -23, 3 * 2 ** -25], // F16 tie between 1·2^-24 and 2·2^-24
  [2 ** -14 - 2 ** -25, 2 ** -14, 2 ** -14], // F16 tie between the largest subnormal and the smallest normal
  [-1e-30, -0, -162 * 2 ** -107], // F16 underflow keeps the sign; 1e-30 = 1.2677·2^-100 and 1.2677·128 rounds to 162
  [2 ** -133, 0, 2 ** -133], // smallest BF16 subnormal
  [2 ** -134, 0, 0], // BF16 tie between 0 and 2^-133
  [3.4028234663852886e38, Infinity, Infinity],
  [-0, -0, -0],
  [Infinity, Infinity, Infinity],
  [-Infinity, -Infinity, -Infinity],
  [NaN, NaN, NaN],
];

for (const [dtype, col] of [['F16', 1], ['BF16', 2]] as const) {
  test(`${dtype} round trip rounds to nearest, ties to even, with subnormals, overflow, ±0, ±inf and NaN`, () => {
    const dir = tempDir();
    try {
      const path = join(dir, `${dtype}.safetensors`);
      const data = new Float32Array(ROUNDING_CASES.map((c) => c[0]));
      writeSafetensors(path, [{ name: 'x', shape: [data.length], data }], { dtype });
      const got = readSafetensors(path).get('x')!.data;
      ROUNDING_CASES.forEach((c, i) => {
        const want = c[col];
        if (Number.isNaN(want)) assert.ok(Number.isNaN(got[i]), `${c[0]} → NaN`);
        else assert.ok(Object.is(got[i], want), `${c[0]} → ${got[i]}, expected ${want}`);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('tensors larger than one conversion chunk round-trip through F16 and BF16', () => {
  const dir = tempDir();
  try {
    const n = (4 << 20) / 2 + 12345; // one 4 MiB chunk of 16-bit values plus a partial one
    const data = new Float32Array(n);
    // Integers below 2^8 are exact in both formats; a prime period shows any misplaced chunk.
    for (let i = 0; i < n; i++) data[i] = (i % 251) - 125;
    for (const dtype of ['F16', 'BF16'] as const) {
      const path = join(dir, `${dtype}.safetensors`);
      writeSafetensors(path, [{ name: 'big', shape: [n], data }], { dtype });
      const got = readSafetensors(path).get('big')!.data;
      assert.equal(got.length, n);
      const bad = got.findIndex((v, i) => v !== data[i]);
      assert.equal(bad, -1, `${dtype}: value ${bad} is ${got[bad]}, expected ${data[bad]}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the written file follows the format: space-padded 8-byte-aligned header, tensors sorted by name, contiguous offsets', () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'w.safetensors');
    const t = (name: string, n: number): { name: string; shape: number[]; data: Float32Array } => ({ name, shape: [n], data: new Float32Array(n).fill(n) });
    writeSafetensors(path, [t('layers.10.w', 3), t('layers.2.w', 1), t('7', 2), t('a', 0)], { dtype: 'BF16', metadata: { format: 'pt' } });
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0);
    const text = bytes.subarray(8, 8 + n).toString('utf8');
    assert.match(text, /^\{.*\} *$/);
    const json = JSON.parse(text) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    assert.deepEqual(json.__metadata__, { format: 'pt' });
    // Integer-like name "7" must keep its place in the header text, not jump to the front.
    const order = [...text.matchAll(/"([^"]+)":\{"dtype"/g)].map((mm) => mm[1]);
    assert.deepEqual(order, ['7', 'a', 'layers.10.w', 'layers.2.w']);
    assert.deepEqual(json['7']!.data_offsets, [0, 4]);
    assert.deepEqual(json.a!.data_offsets, [4, 4]);
    assert.deepEqual(json['layers.10.w']!.data_offsets, [4, 10]);
    assert.deepEqual(json['layers.2.w']!.data_offsets, [10, 12]);
    assert.equal(bytes.length, 8 + n + 12);
    assert.equal(bytes.readUInt16LE(8 + n), 0x4000, 'BF16 of 2 stored little-endian');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('damaged files are refused with the file named: missing, too short, header longer than the file, bad JSON, bad offsets', () => {
  const dir = tempDir();
  try {
    const p = (name: string): string => join(dir, name);
    throwsUser(() => readSafetensorsHeader(p('nope.safetensors')), 'not found', p('nope.safetensors'));
    writeFileSync(p('short'), Buffer.from([1, 2, 3]));
    throwsUser(() => readSafetensorsHeader(p('short')), p('short'), '3 bytes');
    rawFile(p('long-header'), 1000n, '{}');
    throwsUser(() => readSafetensorsHeader(p('long-header')), p('long-header'), 'header length 1000', 'larger than');
    rawFile(p('huge-header'), 2n ** 63n, '{}');
    throwsUser(() => readSafetensorsHeader(p('huge-header')), p('huge-header'), 'header length');
    rawFile(p('bad-json'), 9n, '{"a": [1,');
    throwsUser(() => readSafetensorsHeader(p('bad-json')), p('bad-json'), 'not valid JSON');
    const entry = (info: unknown): string => JSON.stringify({ w: info });
    const bad = entry({ dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] });
    rawFile(p('bad-size'), BigInt(bad.length), Buffer.concat([Buffer.from(bad), Buffer.alloc(16)]));
    throwsUser(() => readSafetensorsHeader(p('bad-size')), p('bad-size'), '"w"', 'needs 16 bytes', 'span 12');
    const unk = entry({ dtype: 'Q4', shape: [1], data_offsets: [0, 1] });
    rawFile(p('unknown-dtype'), BigInt(unk.length), Buffer.concat([Buffer.from(unk), Buffer.alloc(1)]));
    throwsUser(() => readSafetensorsHeader(p('unknown-dtype')), p('unknown-dtype'), '"w"', 'unknown dtype "Q4"');
    const overlap = JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } });
    rawFile(p('overlap'), BigInt(overlap.length), Buffer.concat([Buffer.from(overlap), Buffer.alloc(8)]));
    throwsUser(() => readSafetensorsHeader(p('overlap')), p('overlap'), 'overlap');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a truncated file names the file, the tensor cut short, and the expected and actual sizes', () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'cut.safetensors');
    const size = writeSafetensors(path, [
      { name: 'first', shape: [4], data: new Float32Array(4) },
      { name: 'second', shape: [8], data: new Float32Array(8) },
    ], { dtype: 'F32' });
    assert.equal(readFileSync(path).length, size);
    truncateSync(path, size - 5);
    throwsUser(() => readSafetensors(path), path, '"second"', `${size - 5} bytes`, `describes ${size}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed write leaves nothing at the destination and no temp file; bad tensors are refused before writing', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'afile'), 'x');
    const dest = join(dir, 'afile', 'model.safetensors');
    throwsUser(() => writeSafetensors(dest, [{ name: 'w', shape: [1], data: new Float32Array(1) }], { dtype: 'F32' }), dest);
    assert.ok(!existsSync(dest));
    assert.deepEqual(readdirSync(dir), ['afile']);

    const ok = join(dir, 'ok.safetensors');
    throwsUser(() => writeSafetensors(ok, [{ name: 'w', shape: [2, 2], data: new Float32Array(3) }], { dtype: 'F16' }), ok, '"w"', '3 values');
    throwsUser(() => writeSafetensors(ok, [{ name: 'w', shape: [1], data: new Float32Array(1) }, { name: 'w', shape: [1], data: new Float32Array(1) }], { dtype: 'F32' }), '"w"', 'twice');
    assert.deepEqual(readdirSync(dir), ['afile']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loading a 200 MB F32 file peaks at about one copy of the weights in memory', { skip: !existsSync('/proc/self/status') && 'needs /proc/self/status (Linux) for peak memory' }, () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'big.safetensors');
    const moduleUrl = pathToFileURL(join(import.meta.dirname, 'safetensors.js')).href;
    // A fresh process: its peak RSS (VmHWM) is not polluted by other tests. The file is written
    // in 4 MiB pieces so that writing it does not itself raise the peak.
    const script = `
      import { openSync, writeSync, closeSync, readFileSync } from 'node:fs';
      import { readSafetensors } from ${JSON.stringify(moduleUrl)};
      const tensors = 4, n = 50 * 2 ** 20 / tensors; // 200 MiB of float32 in all
      let header = '{' + Array.from({ length: tensors }, (_, i) => JSON.stringify('t' + i) + ':' + JSON.stringify({ dtype: 'F32', shape: [n], data_offsets: [i * n * 4, (i + 1) * n * 4] })).join(',') + '}';
      header += ' '.repeat((8 - header.length % 8) % 8);
      const fd = openSync(${JSON.stringify(path)}, 'w');
      const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(header.length));
      writeSync(fd, len); writeSync(fd, Buffer.from(header));
      const piece = new Float32Array(2 ** 20).fill(0.5);
      for (let i = 0; i < tensors * n / piece.length; i++) writeSync(fd, new Uint8Array(piece.buffer));
      closeSync(fd);
      const kb = (k) => Number(readFileSync('/proc/self/status', 'utf8').match(new RegExp(k + ':\\\\s+(\\\\d+)'))[1]) * 1024;
      const before = kb('VmRSS');
      const m = readSafetensors(${JSON.stringify(path)});
      const peak = kb('VmHWM');
      let sum = 0; for (const t of m.values()) sum += t.data[t.data.length - 1];
      console.log(JSON.stringify({ before, peak, weights: tensors * n * 4, sum }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { before, peak, weights, sum } = JSON.parse(r.stdout) as { before: number; peak: number; weights: number; sum: number };
    assert.equal(sum, 2, 'the data was really read');
    const growth = peak - before;
    assert.ok(growth < 1.3 * weights, `peak memory grew by ${(growth / 2 ** 20).toFixed(0)} MiB for ${(weights / 2 ** 20).toFixed(0)} MiB of weights`);
    assert.ok(growth > 0.9 * weights, `peak growth ${(growth / 2 ** 20).toFixed(0)} MiB is less than the weights: the measurement is broken`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A file from a header object and a data section, the header built by hand (so keys may repeat). */
function headerFile(path: string, header: string, dataBytes: number, opts: { lengthDelta?: number; pad?: boolean } = {}): void {
  let h = header;
  if (opts.pad !== false) h += ' '.repeat((8 - (Buffer.byteLength(h) % 8)) % 8);
  rawFile(path, BigInt(Buffer.byteLength(h) + (opts.lengthDelta ?? 0)), Buffer.concat([Buffer.from(h), Buffer.alloc(dataBytes)]));
}

const ENTRY = (begin: number, end: number, shape = [(end - begin) / 4]): string => JSON.stringify({ dtype: 'F32', shape, data_offsets: [begin, end] });

test('strict format: duplicate keys, a wrong header length, holes, trailing bytes and a start past 0 are refused, each with its own message', () => {
  const dir = tempDir();
  try {
    const p = (name: string): string => join(dir, name);
    headerFile(p('dup'), `{"w":${ENTRY(0, 8)},"w":${ENTRY(0, 8)}}`, 8);
    throwsUser(() => readSafetensorsHeader(p('dup')), p('dup'), '"w"', 'appears twice');
    headerFile(p('dup-meta'), `{"__metadata__":{"a":"1","a":"2"},"w":${ENTRY(0, 8)}}`, 8);
    throwsUser(() => readSafetensorsHeader(p('dup-meta')), '"a"', 'appears twice');
    // One byte short: the JSON still parses (a padding space is lost) but every tensor would be read one byte early.
    headerFile(p('short-len'), `{"w":${ENTRY(0, 8)}}  `, 8, { pad: false, lengthDelta: -1 });
    throwsUser(() => readSafetensorsHeader(p('short-len')), p('short-len'), '1 trailing byte', 'wrong header length');
    headerFile(p('hole'), `{"a":${ENTRY(0, 8)},"b":${ENTRY(12, 16)}}`, 16);
    throwsUser(() => readSafetensorsHeader(p('hole')), p('hole'), 'bytes 8 to 12', 'hole', '"a"', '"b"', 'contiguous');
    headerFile(p('late-start'), `{"a":${ENTRY(4, 12)}}`, 12);
    throwsUser(() => readSafetensorsHeader(p('late-start')), 'bytes 0 to 4', 'at the start');
    headerFile(p('trailing'), `{"a":${ENTRY(0, 8)}}`, 9);
    throwsUser(() => readSafetensorsHeader(p('trailing')), p('trailing'), '1 trailing byte');
    headerFile(p('not-utf8'), '{"a\xff":1}', 0);
    writeFileSync(p('not-utf8'), Buffer.concat([Buffer.from([16, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a'), Buffer.from([0xff]), Buffer.from('": 1}       ')]));
    throwsUser(() => readSafetensorsHeader(p('not-utf8')), 'not valid UTF-8');
    headerFile(p('not-object-start'), ` {"a":${ENTRY(0, 8)}}`, 8);
    throwsUser(() => readSafetensorsHeader(p('not-object-start')), 'does not start with "{"');
    // The writer's own files pass every rule.
    writeSafetensors(p('ours'), [{ name: 'x', shape: [3], data: new Float32Array(3) }, { name: 'e', shape: [0], data: new Float32Array(0) }], { dtype: 'BF16', metadata: { format: 'pt' } });
    assert.deepEqual(readSafetensorsHeader(p('ours')).tensors.map((t) => t.name), ['e', 'x']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hostile headers end in a short UserError: deep nesting, a 50M-element shape, a huge metadata value, a FIFO', () => {
  const dir = tempDir();
  try {
    const p = (name: string): string => join(dir, name);
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    for (const [name, header] of [
      ['deep-meta', `{"__metadata__":${deep}}`],
      ['deep-shape', `{"w":{"dtype":"F32","shape":${deep},"data_offsets":[0,4]}}`],
      ['deep-offsets', `{"w":{"dtype":"F32","shape":[1],"data_offsets":${deep}}}`],
      ['deep-meta-value', `{"__metadata__":{"k":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}}`],
    ] as const) {
      headerFile(p(name), header, 4);
      assert.throws(() => readSafetensorsHeader(p(name)), (e: unknown) => e instanceof UserError && e.message.length < 500 && /nesting deeper|expected/.test(e.message), name);
    }
    headerFile(p('huge-shape'), `{"w":{"dtype":"F32","shape":[${new Array(25_000_000).fill(1).join(',')}],"data_offsets":[0,4]}}`, 4);
    const t0 = Date.now();
    assert.throws(() => readSafetensorsHeader(p('huge-shape')), (e: unknown) => e instanceof UserError && e.message.length < 500 && e.message.includes('an array longer than 1024 items'));
    assert.ok(Date.now() - t0 < 5_000, `a 50 MB header took ${Date.now() - t0} ms`);
    headerFile(p('meta-array'), `{"__metadata__":{"k":[${new Array(100_000).fill('"x"').join(',')}]}}`, 0);
    assert.throws(() => readSafetensorsHeader(p('meta-array')), (e: unknown) => e instanceof UserError && e.message.length < 500 && e.message.includes('an array longer than 1024 items'));
    headerFile(p('meta-short-array'), `{"__metadata__":{"k":["x"]}}`, 0);
    throwsUser(() => readSafetensorsHeader(p('meta-short-array')), '"__metadata__" field "k" is ["x"], expected a string');
    const fifo = p('model.safetensors');
    if (spawnSync('mkfifo', [fifo]).status === 0) throwsUser(() => readSafetensorsHeader(fifo), fifo, 'not a regular file', 'FIFO');
    throwsUser(() => readSafetensorsHeader(dir), 'not a regular file', 'a directory');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
