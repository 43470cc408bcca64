import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateProblems } from '../data/synthetic/generate.js';
import { buildProgram } from './index.js';
import { runCli, type CliRun } from '../testing/cli.js';


test('make-data writes the same problems the library generates, with the difficulty flags applied', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'make-data-'));
  try {
    const out = join(dir, 'dev.jsonl');
    const r = await runMakeData(['--split', 'dev', '--count', '40', '--seed', '12', '--out', out, '--max-ops', '3', '--ops', 'add,sub,mul', '--templates', 'collection,compare']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /wrote 40 dev problems/);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; question: string; answer: string });
    const expected = generateProblems({ split: 'dev', count: 40, seed: 12, difficulty: { maxOps: 3, ops: ['add', 'sub', 'mul'], templates: ['collection', 'compare'] } });
    assert.deepEqual(lines, expected.map((p) => ({ id: p.id, question: p.question, answer: p.answer })));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('make-data refuses bad flag values with exit status 2 and names the flag', async () => {
  const out = join(tmpdir(), 'make-data-never-written.jsonl');
  const cases: [string[], RegExp][] = [
    [['--count', 'ten'], /--count must be a non-negative integer/],
    [['--count', '5', '--seed', '-3'], /--seed must be a non-negative integer/],
    [['--count', '5', '--max-digits', '9'], /--max-digits must be an integer from 1 to 4/],
    [['--count', '5', '--min-ops', '4', '--max-ops', '3'], /--max-ops must be an integer from --min-ops \(4\)/],
    [['--count', '5', '--ops', 'add,pow'], /--ops has unknown operation 'pow'/],
    [['--count', '5', '--templates', 'poems'], /--templates has unknown template 'poems'/],
  ];
  for (const [args, message] of cases) {
    const r = await runMakeData(['--split', 'train', '--out', out, ...args]);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, message);
  }
});

test('every make-data option has a help text', () => {
  const cmd = buildProgram().commands.find((c) => c.name() === 'make-data');
  assert.ok(cmd, 'make-data is registered');
  const flags = cmd.options.map((o) => o.long);
  for (const f of ['--split', '--count', '--seed', '--out', '--min-ops', '--max-ops', '--max-digits', '--max-multiplier', '--max-result', '--ops', '--templates']) {
    assert.ok(flags.includes(f), `${f} exists`);
  }
  for (const o of cmd.options) assert.ok(o.description.length > 20, `${o.long} explains itself`);
});

function runMakeData(args: string[]): Promise<CliRun> {
  return runCli(['make-data', ...args]);
}
