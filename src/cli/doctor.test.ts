import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../../bin/lightreasoner.js', import.meta.url));
const addonBuilt = existsSync(fileURLToPath(new URL('../../../build/Release/lightreasoner_native.node', import.meta.url)));

function doctor(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const e: Record<string, string | undefined> = { ...process.env, ...env };
  delete e.LIGHTREASONER_QUIET;
  return spawnSync(process.execPath, [bin, 'doctor', '--json'], { encoding: 'utf8', env: e });
}

test('without a BLAS library everything runs on the portable kernel, with exactly one warning line saying how to get the fast path', { skip: addonBuilt ? false : 'native addon not built' }, () => {
  const r = doctor({ LIGHTREASONER_BLAS: '/nonexistent/libopenblas.so.0' });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { engine: { kind: string; warning: string } };
  assert.equal(report.engine.kind, 'portable');
  const lines = r.stderr.trim().split('\n').filter(Boolean);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /no BLAS library found.*apt-get install libopenblas-dev.*npm rebuild lightreasoner/);
});

test('forcing the JavaScript kernels works and says nothing', () => {
  const r = doctor({ LIGHTREASONER_ENGINE: 'js' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { engine: { kind: string } }).engine.kind, 'js');
  assert.equal(r.stderr, '');
});

test('doctor reports the OpenBLAS kernel family and how OPENBLAS_CORETYPE was chosen', { skip: addonBuilt ? false : 'native addon not built' }, () => {
  const r = doctor({});
  const e = (JSON.parse(r.stdout) as { engine: { kind: string; coreName: string | null; coreTypeSource: string } }).engine;
  if (e.kind !== 'openblas') return; // machine without OpenBLAS: covered by the first test
  assert.ok(e.coreName && e.coreName.length > 0);
  const forced = doctor({ OPENBLAS_CORETYPE: 'Haswell' });
  const f = (JSON.parse(forced.stdout) as { engine: { coreName: string; coreTypeSource: string } }).engine;
  assert.equal(f.coreTypeSource, 'user');
  assert.equal(f.coreName, 'Haswell');
});
