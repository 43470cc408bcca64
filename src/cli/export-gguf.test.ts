import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyModelDir } from '../model/testing.js';
import { readGgufHeader } from '../export/gguf-reader.js';
import { runCli } from '../testing/cli.js';

process.env.LIGHTREASONER_QUIET = '1';
const work = mkdtempSync(join(tmpdir(), 'lr-export-gguf-'));
const dir = tinyModelDir({ architecture: 'llama' }, 4);
after(() => { for (const d of [work, dir]) rmSync(d, { recursive: true, force: true }); });


test('export-gguf writes a GGUF named by --name in --dtype and says what it wrote', async () => {
  const out = join(work, 'm.gguf');
  const r = await runCli(['export-gguf', '--model', dir, '--out', out, '--dtype', 'f16', '--name', 'tiny']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*m\.gguf: llama, \d+ tensors, f16, pre-tokenizer "qwen2"/);
  const f = readGgufHeader(out);
  assert.equal(f.metadata.get('general.name'), 'tiny');
  assert.equal(f.metadata.get('general.file_type'), 1);
});

test('export-gguf refuses an unknown --dtype and a missing model directory, writing nothing', async () => {
  const out = join(work, 'bad.gguf');
  const r1 = await runCli(['export-gguf', '--model', dir, '--out', out, '--dtype', 'q8']);
  assert.equal(r1.status, 2);
  assert.match(r1.stderr, /--dtype must be f32 or f16, got "q8"/);
  const r2 = await runCli(['export-gguf', '--model', join(work, 'nope'), '--out', out]);
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /nope/);
  assert.equal(existsSync(out), false);
});
