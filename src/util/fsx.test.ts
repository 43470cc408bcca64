import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeFileAtomicStreaming } from './fsx.js';
import { UserError } from './errors.js';

test('a streamed write that fails half way keeps the old file and leaves no temp file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lr-fsx-'));
  try {
    const path = join(dir, 'f.bin');
    writeFileSync(path, 'old');
    assert.throws(() => writeFileAtomicStreaming(path, (write) => {
      write(Buffer.from('new start'));
      throw new Error('disk full');
    }), (e: unknown) => e instanceof UserError && e.message.includes(path) && e.message.includes('disk full'));
    assert.equal(readFileSync(path, 'utf8'), 'old');
    assert.deepEqual(readdirSync(dir), ['f.bin']);

    writeFileAtomicStreaming(path, (write) => {
      write(Buffer.from('ab'));
      write(new Uint8Array(0));
      write(Buffer.from('cd'));
    });
    assert.equal(readFileSync(path, 'utf8'), 'abcd');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writing below a path that is a file throws a UserError naming the destination', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lr-fsx-'));
  try {
    writeFileSync(join(dir, 'file'), 'x');
    const dest = join(dir, 'file', 'sub', 'out.json');
    assert.throws(() => writeFileAtomic(dest, '{}'), (e: unknown) => e instanceof UserError && e.message.includes(dest));
    assert.ok(!existsSync(dest));
    assert.deepEqual(readdirSync(dir), ['file']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
