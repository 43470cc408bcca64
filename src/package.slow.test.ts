/**
 * The package as a user gets it. `npm pack` of this checkout is installed into a fresh project in a
 * temp directory, offline (`npm ci --offline` from the npm cache that `npm ci`/setup.sh filled; the
 * native addon is compiled from the shipped native/ sources by the package's install script), then:
 *   - the README's Library code blocks are written out VERBATIM and run, so the README cannot drift;
 *   - a TypeScript project without @types/node compiles against the shipped type files;
 *   - the packed file list holds no tests, test helpers or source maps, every relative import of a
 *     shipped module resolves to a shipped file, and the code stays small beside the models.
 *
 * "slow" in the file name: 15–40 s on 2 cores, a minute under heavy load (pack 37 MB, install,
 * compile the addon), so a fast run may leave it out; `npm test` runs it.
 *
 * Offline install: npm needs registry metadata to resolve versions, and the cache only holds what
 * `npm ci` fetched (tarballs by URL). So the temp project gets a package-lock.json built from this
 * repo's lockfile: the package's non-dev dependency tree at the versions this repo is tested with
 * (a registry install may pick newer transitive versions within their ranges). Optional dependencies (node-llama-cpp, hundreds of MB) are omitted; the examples
 * run on the engine back end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testTempDir } from './testing/tmp.js';
import { readSamples } from './method/samples.js';

const root = fileURLToPath(new URL('../../', import.meta.url)); // compiled to dist/src/
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string; version: string; license: string; bin: Record<string, string>; engines: Record<string, string>;
  dependencies: Record<string, string>; optionalDependencies?: Record<string, string>;
};

interface LockEntry { dev?: boolean; devOptional?: boolean; optional?: boolean; [k: string]: unknown }
interface PackFile { path: string; size: number }
interface PackResult { filename: string; size: number; unpackedSize: number; entryCount: number; files: PackFile[] }

/** The environment for nested npm/node runs: without the outer `npm test`'s package and lifecycle variables. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('npm_package_') || k.startsWith('npm_lifecycle_') || k === 'INIT_CWD' || k === 'LIGHTREASONER_SKIP_NATIVE') continue;
    env[k] = v;
  }
  env.LIGHTREASONER_QUIET = '1';
  return env;
}

function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env: childEnv(), encoding: 'utf8', maxBuffer: 64 << 20, timeout: 300_000 });
  if (r.error) throw r.error;
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what} failed (status ${r.status}):\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

/** The ```js blocks of the README's "## Library" section, verbatim. */
function libraryBlocks(readme: string): string[] {
  const start = readme.indexOf('\n## Library\n');
  assert.ok(start >= 0, 'README.md has a "## Library" section');
  const next = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, next < 0 ? undefined : next);
  return [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Relative module specifiers a compiled file imports (static and dynamic). */
function relativeImports(js: string): string[] {
  return [...js.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
}

test('the packed package installs offline, runs the README Library examples verbatim, and types without @types/node', () => {
  const t0 = performance.now();
  const tmp = testTempDir('lr-pack-');

  // ── pack: what ships ──
  const packed = JSON.parse(ok(run('npm', ['pack', '--json', '--pack-destination', tmp], root), 'npm pack')) as PackResult[];
  const p = packed[0]!;
  const paths = new Set(p.files.map((f) => f.path));
  const shouldShip = ['package.json', 'README.md', 'binding.gyp', 'scripts/build-native.mjs', 'bin/lightreasoner.js',
    'dist/src/index.js', 'dist/src/index.d.ts', 'native/addon.cc', 'models/expert/model.safetensors', 'models/amateur/tokenizer.json'];
  for (const f of shouldShip) assert.ok(paths.has(f), `${f} is in the package`);
  const notShipped = [...paths].filter((f) => /\.test\.|(^|\/)testing(\/|\.)|\.map$|^dist\/tools\/|^src\/|^fixtures\//.test(f));
  assert.deepEqual(notShipped, [], 'no tests, test helpers, source maps, sources or fixtures in the package');
  // tsc never deletes outputs: a source removed or renamed since dist/ was built would still ship.
  const stale = [...paths].filter((f) => f.startsWith('dist/') && !existsSync(join(root, f.replace(/^dist\//, '').replace(/(\.d\.ts|\.js)$/, '.ts'))));
  assert.deepEqual(stale, [], 'every compiled file in the package has its source in src/ (stale build output; run: rm -rf dist && npm run build)');
  for (const f of paths) {
    if (!f.endsWith('.js') || !f.startsWith('dist/')) continue;
    for (const spec of relativeImports(readFileSync(join(root, f), 'utf8'))) {
      const target = posix.normalize(posix.join(posix.dirname(f), spec));
      assert.ok(paths.has(target), `${f} imports ${spec}, which is not in the package (${target})`);
    }
  }
  const modelBytes = p.files.filter((f) => f.path.startsWith('models/')).reduce((a, f) => a + f.size, 0);
  const codeBytes = p.unpackedSize - modelBytes;
  assert.ok(codeBytes < 2_000_000, `everything but the models is ${codeBytes} bytes unpacked; expected under 2 MB`);

  // ── install into a fresh project, offline ──
  const consumer = join(tmp, 'consumer');
  const tarball = `file:../${p.filename}`;
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: { [pkg.name]: tarball } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version, resolved: tarball, hasInstallScript: true, license: pkg.license, bin: pkg.bin, engines: pkg.engines,
      dependencies: pkg.dependencies, ...(pkg.optionalDependencies ? { optionalDependencies: pkg.optionalDependencies } : {}),
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev) continue; // the package's own non-dev tree: dependencies and optionalDependencies
    const { devOptional, ...rest } = entry;
    packages[path] = devOptional ? { ...rest, optional: true } : rest;
  }
  const write = (rel: string, text: string): void => writeFileSync(join(consumer, rel), text);
  mkdirSync(consumer);
  write('package.json', JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { [pkg.name]: tarball } }, null, 2));
  write('package-lock.json', JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages }, null, 2));
  const install = run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--omit=optional'], consumer);
  if (install.status !== 0 && /ENOTCACHED/.test(install.stderr)) {
    assert.fail(`npm ci --offline: a dependency is not in the npm cache; run \`npm ci\` (or ./setup.sh) once to fill it:\n${install.stderr.slice(-2000)}`);
  }
  ok(install, 'npm ci --offline of the packed tarball');
  const installed = join(consumer, 'node_modules', pkg.name);
  assert.ok(!existsSync(join(consumer, 'node_modules', '@types', 'node')), '@types/node is not installed with the package');

  // ── the package entry points as a user imports them ──
  write('check-exports.mjs', `
import * as lr from '${pkg.name}';
import meta from '${pkg.name}/package.json' with { type: 'json' };
let deep = 'importable';
try { await import('${pkg.name}/dist/src/model/load.js'); } catch (e) { deep = e.code; }
const jobs = ['runSample', 'trainLora', 'mergeAdapterDir', 'runEval', 'resolveModelRef', 'startServer', 'runRejectionSft', 'contrastiveChooser', 'runPretrain', 'exportGguf', 'runDemo',
  'openModel', 'EngineBackend', 'loadModel', 'readQuestions', 'readSamples', 'bundledModel', 'cliProgressCallback'];
console.log(JSON.stringify({ version: meta.version, missing: jobs.filter((j) => typeof lr[j] !== 'function'), deep,
  expert: lr.bundledModel('expert'), addonPath: lr.engineInfo().addonPath }));
`);
  const exportsCheck = JSON.parse(ok(run(process.execPath, ['check-exports.mjs'], consumer), 'check-exports.mjs')) as {
    version: string; missing: string[]; deep: string; expert: string; addonPath: string | null;
  };
  assert.equal(exportsCheck.version, pkg.version, `${pkg.name}/package.json is importable`);
  assert.deepEqual(exportsCheck.missing, [], 'every job and what it needs is exported from the index');
  assert.equal(exportsCheck.deep, 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'internal modules are not importable by path');
  assert.equal(realpathSync(exportsCheck.expert), realpathSync(join(installed, 'models', 'expert')), 'bundledModel names the installed copy');
  if (existsSync(join(root, 'build', 'Release', 'lightreasoner_native.node'))) {
    // The addon builds here, so the install script must have built it from the shipped sources too.
    assert.ok(exportsCheck.addonPath !== null && realpathSync(exportsCheck.addonPath).startsWith(realpathSync(installed)),
      `the installed package runs its own native addon (got ${exportsCheck.addonPath})`);
  }

  // The command-line entry point the package installs.
  const version = ok(run(process.execPath, [join(consumer, 'node_modules', '.bin', 'lightreasoner'), '--version'], consumer), 'lightreasoner --version');
  assert.equal(version.trim(), pkg.version, 'the installed CLI runs');

  // ── the README's Library examples, verbatim ──
  const blocks = libraryBlocks(readFileSync(join(root, 'README.md'), 'utf8'));
  assert.equal(blocks.length, 2, 'the README Library section has its two examples (update this test when adding one)');
  blocks.forEach((b, i) => write(`example-${i + 1}.mjs`, b));

  // Example 1 prints a solution; the comment lines that end the block are its expected output.
  const expected = blocks[0]!.trimEnd().split('\n').reverse();
  const shown: string[] = [];
  for (const line of expected) { if (!line.startsWith('// ')) break; shown.unshift(line.slice(3)); }
  assert.ok(shown.length > 0 && /\\boxed\{\d+\}/.test(shown.join('\n')), 'example 1 shows its output, a boxed answer, in comments');
  const out1 = ok(run(process.execPath, ['example-1.mjs'], consumer), 'README example 1').trimEnd();
  assert.equal(out1, shown.join('\n'), 'example 1 prints what the README shows');

  // Example 2 runs Stage 1 on two questions and writes a samples file the package's reader accepts.
  const out2 = ok(run(process.execPath, ['example-2.mjs'], consumer), 'README example 2').trimEnd();
  const m = /^(\d+) of (\d+) steps kept -> (.+)$/.exec(out2);
  assert.ok(m, `example 2 prints its summary line, got: ${out2}`);
  const kept = Number(m[1]), generated = Number(m[2]);
  assert.ok(kept > 0 && kept <= generated, `some but not more than all steps kept (${kept} of ${generated})`);
  const vocabSize = (JSON.parse(readFileSync(join(installed, 'models', 'expert', 'config.json'), 'utf8')) as { vocab_size: number }).vocab_size;
  const samples = readSamples(join(consumer, m[3]!), vocabSize);
  assert.deepEqual(samples.problems, [], 'the samples file is well formed');
  assert.equal(samples.samples.length, kept, 'one record per kept step');
  assert.ok(samples.samples.every((r) => r.id?.startsWith('synth-train-1-')), 'the records come from the two questions');

  // ── the shipped types, from a TypeScript project without @types/node ──
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  write('api.ts', `import * as lr from '${pkg.name}';\nexport type Api = typeof lr;\nexport const job: lr.SampleJob | null = null;\n`);
  const base = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023'], strict: true, skipLibCheck: false, noEmit: true };
  write('tsconfig.json', JSON.stringify({ compilerOptions: { ...base, types: [] }, files: ['api.ts'] }));
  ok(run(process.execPath, [tsc, '-p', 'tsconfig.json'], consumer), 'tsc on a consumer without @types/node');
  // The README examples type-check too (with Node's types, as any Node.js script is compiled).
  blocks.forEach((b, i) => write(`example-${i + 1}.ts`, b));
  write('tsconfig.examples.json', JSON.stringify({ compilerOptions: { ...base, types: ['node'], typeRoots: [join(root, 'node_modules', '@types')] }, files: blocks.map((_, i) => `example-${i + 1}.ts`) }));
  ok(run(process.execPath, [tsc, '-p', 'tsconfig.examples.json'], consumer), 'tsc on the README examples');

  const seconds = (performance.now() - t0) / 1000;
  console.log(`package: ${(p.size / 1e6).toFixed(1)} MB packed, ${(p.unpackedSize / 1e6).toFixed(1)} MB unpacked (${(codeBytes / 1e6).toFixed(2)} MB without models), ${p.entryCount} files; pack test ${seconds.toFixed(1)} s`);
});
