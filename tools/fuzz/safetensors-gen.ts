/**
 * Corrupt safetensors files, built from a valid layout plus one mutation. The header is assembled
 * as text, so mutations can do what no JSON serializer would: repeat a key, nest a value 10^5 deep,
 * put invalid UTF-8 in a name. Each case says what the reference implementation's rules make of it.
 */
import { Rng } from '../../src/util/rng.js';
import type { Expect } from './outcome.js';

export interface SafetensorsCase {
  mutation: string;
  bytes: Uint8Array;
  expect: Expect;
}

const DTYPES: Array<[string, number]> = [
  ['F32', 32], ['F16', 16], ['BF16', 16], ['F64', 64], ['I8', 8], ['U8', 8], ['I16', 16], ['I32', 32], ['I64', 64], ['BOOL', 8],
  ['F8_E4M3', 8], ['F8_E5M2', 8], ['U16', 16], ['U32', 32], ['U64', 64], ['C64', 64], ['F4', 4], ['F6_E2M3', 6],
];
const NAMES = ['w', 'model.embed_tokens.weight', 'model.layers.0.mlp.up_proj.weight', '__proto__', 'constructor', '0', '123', 'é', '名前', 'a"b', 'back\\slash', 'tab\t', '', ' ', 'x'.repeat(300)];

interface Entry { name: string; dtype: string; bits: number; shape: number[]; begin: number; end: number }

const pick = <T>(rng: Rng, a: readonly T[]): T => a[rng.int(a.length)]!;

function randomEntries(rng: Rng): Entry[] {
  const n = rng.next() < 0.05 ? 200 + rng.int(2000) : rng.int(7);
  const used = new Set<string>();
  const entries: Entry[] = [];
  for (let i = 0; i < n; i++) {
    let name = rng.next() < 0.6 ? pick(rng, NAMES) : `t${i}.${rng.int(1000)}`;
    if (used.has(name)) name = `${name}#${i}`;
    used.add(name);
    const [dtype, bits] = pick(rng, DTYPES);
    const rank = rng.int(4);
    const shape = Array.from({ length: rank }, () => rng.int(6));
    let numel = shape.reduce((a, b) => a * b, 1);
    // Sub-byte dtypes need whole bytes: pad the last dimension.
    while ((numel * bits) % 8 !== 0) {
      if (shape.length === 0) shape.push(1);
      shape[shape.length - 1]! += 1;
      numel = shape.reduce((a, b) => a * b, 1);
    }
    entries.push({ name, dtype, bits, shape, begin: 0, end: 0 });
  }
  // Data order differs from header order, as in real files.
  const order = entries.map((_, i) => i).sort(() => rng.next() - 0.5);
  let at = 0;
  for (const i of order) {
    const e = entries[i]!;
    e.begin = at;
    at += (e.shape.reduce((a, b) => a * b, 1) * e.bits) / 8;
    e.end = at;
  }
  return entries;
}

const str = (s: string): string => JSON.stringify(s);
const entryText = (e: Entry): string => `{"dtype":${str(e.dtype)},"shape":[${e.shape.join(',')}],"data_offsets":[${e.begin},${e.end}]}`;

interface Layout {
  pieces: string[];
  dataBytes: number;
  pad: string;
  lengthDelta: bigint;
  /** Text placed before the opening brace. */
  prefix: string;
  invalidUtf8: boolean;
}

function assemble(l: Layout, rng: Rng): Uint8Array {
  let text = `${l.prefix}{${l.pieces.join(',')}}`;
  text += l.pad === 'align' ? ' '.repeat((8 - (Buffer.byteLength(text) % 8)) % 8) : l.pad;
  let header = Buffer.from(text, 'utf8');
  if (l.invalidUtf8) {
    const at = header.indexOf(0x22) + 1; // inside the first key
    header = Buffer.concat([header.subarray(0, at), Buffer.from([0xff, 0xc0]), header.subarray(at)]);
  }
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt.asUintN(64, BigInt(header.length) + l.lengthDelta));
  const data = Buffer.alloc(Math.max(0, l.dataBytes));
  if (rng.next() < 0.5) for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return new Uint8Array(Buffer.concat([len, header, data]));
}

function deep(n: number, open: string, close: string, inner = '1'): string {
  return open.repeat(n) + inner + close.repeat(n);
}

/** One random case. */
export function safetensorsCase(rng: Rng): SafetensorsCase {
  const entries = randomEntries(rng);
  const meta = rng.next() < 0.5 ? `"__metadata__":{"format":"pt"}` : null;
  const dataBytes = entries.reduce((m, e) => Math.max(m, e.end), 0);
  const l: Layout = { pieces: [], dataBytes, pad: rng.next() < 0.8 ? 'align' : ' '.repeat(rng.int(12)), lengthDelta: 0n, prefix: '', invalidUtf8: false };
  const build = (es: Entry[]): void => {
    l.pieces = es.map((e) => `${str(e.name)}:${entryText(e)}`);
    if (meta) l.pieces.splice(rng.int(l.pieces.length + 1), 0, meta);
  };
  build(entries);
  const withTensor = entries.length > 0;
  const e0 = entries[0];
  const mutations: Array<[string, () => Expect]> = [
    ['none', () => 'accept'],
    ['metadata null', () => { l.pieces.push('"__metadata__":null'); if (meta) l.pieces.splice(l.pieces.indexOf(meta), 1); return 'accept'; }],
    ['long metadata value', () => { l.pieces = l.pieces.filter((p) => p !== meta); l.pieces.push(`"__metadata__":{"note":${str('n'.repeat(100_000))}}`); return 'accept'; }],
    ['duplicate tensor key', () => { if (!withTensor) return 'accept'; l.pieces.push(`${str(e0!.name)}:${entryText(e0!)}`); return 'reject'; }],
    ['duplicate metadata key', () => { l.pieces.push('"__metadata__":{"a":"1","a":"2"}'); if (meta) l.pieces.splice(l.pieces.indexOf(meta), 1); return 'reject'; }],
    ['duplicate __metadata__', () => { l.pieces.push('"__metadata__":{}', '"__metadata__":{}'); if (meta) l.pieces.splice(l.pieces.indexOf(meta), 1); return 'reject'; }],
    ['header length short', () => { l.lengthDelta = -BigInt(1 + rng.int(8)); return 'reject'; }],
    ['header length long', () => { l.lengthDelta = BigInt(1 + rng.int(8)); return 'reject'; }],
    ['header length huge', () => { l.lengthDelta = pick(rng, [2n ** 63n, 2n ** 64n - 9n, 100_000_001n, 2n ** 32n]); return 'reject'; }],
    ['hole between tensors', () => {
      if (!withTensor) { l.dataBytes += 4; return 'reject'; }
      const cut = e0!.end;
      for (const e of entries) if (e.begin >= cut && e !== e0) { e.begin += 4; e.end += 4; }
      l.dataBytes += 4;
      build(entries);
      return 'reject'; // a hole, or 4 trailing bytes when nothing follows
    }],
    ['data starts after 0', () => { for (const e of entries) { e.begin += 2; e.end += 2; } l.dataBytes += 2; build(entries); return 'reject'; }],
    ['overlap', () => {
      const e = entries.find((x) => x.begin > 0 && x.end > x.begin);
      if (!e) return 'either';
      e.begin -= 1; e.end -= 1;
      build(entries);
      return 'reject';
    }],
    ['trailing bytes', () => { l.dataBytes += 1 + rng.int(16); return 'reject'; }],
    ['truncated data', () => { if (dataBytes === 0) return 'accept'; l.dataBytes -= 1 + rng.int(dataBytes); return 'reject'; }],
    ['size != dtype x shape', () => {
      const e = entries.find((x) => x.shape.length > 0 && x.end > x.begin);
      if (!e) return 'either';
      e.shape[0]! += 1;
      build(entries);
      return 'reject';
    }],
    ['unknown dtype', () => { if (!withTensor) return 'accept'; e0!.dtype = pick(rng, ['Q4_0', 'f32', 'float32', '', 'F32 ', 'FP8']); build(entries); return 'reject'; }],
    ['dtype not a string', () => { if (!withTensor) return 'accept'; l.pieces[l.pieces.findIndex((p) => p.startsWith(str(e0!.name)))] = `${str(e0!.name)}:${entryText(e0!).replace(`"dtype":${str(e0!.dtype)}`, `"dtype":${pick(rng, ['32', 'null', '{}', '["F32"]', 'true'])}`)}`; return 'reject'; }],
    ['bad shape', () => {
      if (!withTensor) return 'accept';
      const bad = pick(rng, ['[-1]', '[1.5]', '["2"]', '2', 'null', '{}', '[[2]]', `[${2 ** 60}]`, `[${new Array(100_000).fill(1).join(',')}]`, deep(100_000, '[', ']'), `[${new Array(17).fill(1).join(',')}]`, '[1e400]']);
      l.pieces[l.pieces.findIndex((p) => p.startsWith(str(e0!.name)))] = `${str(e0!.name)}:${entryText(e0!).replace(/"shape":\[[^\]]*\]/, `"shape":${bad}`)}`;
      return 'reject';
    }],
    ['bad data_offsets', () => {
      if (!withTensor) return 'accept';
      const bad = pick(rng, ['[0]', '[0,1,2]', '["0","4"]', '[-4,0]', `[${e0!.end},${e0!.begin}]`, '[0,18446744073709551616]', 'null', '{"0":0}', deep(50_000, '[', ']')]);
      if (bad === `[${e0!.end},${e0!.begin}]` && e0!.end === e0!.begin) return 'accept';
      l.pieces[l.pieces.findIndex((p) => p.startsWith(str(e0!.name)))] = `${str(e0!.name)}:${entryText(e0!).replace(/"data_offsets":\[[^\]]*\]/, `"data_offsets":${bad}`)}`;
      return 'reject';
    }],
    ['bad metadata', () => {
      l.pieces = l.pieces.filter((p) => p !== meta);
      l.pieces.push(`"__metadata__":${pick(rng, ['{"a":1}', '{"a":null}', '{"a":["x"]}', '"x"', '[]', '5', `{"k":${deep(100_000, '{"a":', '}')}}`, deep(200_000, '[', ']')])}`);
      return 'reject';
    }],
    ['entry not an object', () => { l.pieces.push(`"zz":${pick(rng, ['1', '"F32"', '[]', 'null', 'true'])}`); return 'reject'; }],
    ['unknown field in entry', () => { if (!withTensor) return 'accept'; l.pieces[l.pieces.findIndex((p) => p.startsWith(str(e0!.name)))] = `${str(e0!.name)}:${entryText(e0!).replace('{', '{"extra":{"x":[1,2]},')}`; return 'either'; }],
    ['root not an object', () => { l.pieces = []; l.prefix = ''; const t = pick(rng, ['[]', '"x"', '5', 'null', 'true']); l.pieces = []; l.dataBytes = 0; l.prefix = `${t}//`; return 'reject'; }],
    ['whitespace before {', () => { l.prefix = pick(rng, [' ', '\n', '\t']); return 'reject'; }],
    ['invalid UTF-8', () => { if (l.pieces.length === 0) l.pieces.push('"__metadata__":{}'); l.invalidUtf8 = true; return 'reject'; }],
    ['NUL padding', () => { l.pad = '\u0000'.repeat(1 + rng.int(7)); return 'reject'; }],
    ['truncated header text', () => { l.pieces.push(`"zz":${entryText({ name: 'zz', dtype: 'U8', bits: 8, shape: [0], begin: dataBytes, end: dataBytes }).slice(0, rng.int(20))}`); return 'reject'; }],
    ['deep nesting', () => { l.pieces.push(`"zz":${deep(1 + rng.int(300_000), '[', ']')}`); return 'reject'; }],
    ['trailing comma', () => { l.pieces.push(''); return l.pieces.length > 1 ? 'reject' : 'accept'; }],
  ];
  const [mutation, apply] = pick(rng, mutations);
  let expect = apply();
  let bytes = assemble(l, rng);
  if (rng.next() < 0.08) {
    // Random byte flips on top: anything may happen, but it must end in a UserError or a valid file.
    const b = new Uint8Array(bytes);
    for (let k = 0; k < 1 + rng.int(4); k++) b[rng.int(b.length)] = rng.int(256);
    bytes = b;
    expect = 'either';
    return { mutation: `${mutation} + byte flips`, bytes, expect };
  }
  if (rng.next() < 0.03) {
    bytes = bytes.subarray(0, rng.int(Math.min(bytes.length, 16)));
    return { mutation: 'file shorter than its header', bytes, expect: bytes.length >= 8 ? 'either' : 'reject' };
  }
  return { mutation, bytes, expect };
}
