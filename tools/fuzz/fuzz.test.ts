import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CI_SIZES, runFuzz } from './run.js';

test('fuzz (CI size): every corrupt safetensors header, config, tokenizer, JSONL file and model directory ends in a named UserError or a checked acceptance', { timeout: 120_000 }, async () => {
  const r = await runFuzz(CI_SIZES);
  const report = Object.entries(r.suites).map(([name, t]) => `${t.format(name)}\n${t.failures.map((f) => `  failure: ${f}`).join('\n')}`).join('\n');
  assert.equal(r.failed, 0, report);
  const cases = Object.values(r.suites).reduce((a, t) => a + t.cases, 0);
  assert.ok(cases >= 700, `${cases} cases`);
  // The generators reach the rules they are meant to: each suite both accepts and rejects.
  for (const [name, t] of Object.entries(r.suites)) {
    assert.ok(t.counts.get('accepted'), `${name}: nothing accepted`);
    assert.ok([...t.counts.keys()].some((k) => k.startsWith('rejected')), `${name}: nothing rejected`);
  }
  const st = r.suites['safetensors headers']!;
  for (const c of ['duplicate key', 'trailing bytes', 'hole in data', 'overlapping tensors', 'header length', 'nesting too deep', 'header not UTF-8']) {
    assert.ok(st.counts.get(`rejected: ${c}`), `no safetensors case was rejected as "${c}":\n${st.format('safetensors')}`);
  }
});
