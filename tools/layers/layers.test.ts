/**
 * The import graph of src/ keeps to the layers in layers.ts: no import runs up a layer or across
 * peers, and there is no cycle between files or between folders. A failure prints the imports
 * to cut. The rules themselves are pinned on small made-up graphs first, so the check cannot pass
 * by checking nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importsMarkdown } from './graph.js';
import {
  LAYERS, cycles, edgesWithin, jobViolations, folderOf, layerViolations, productionGraph, readImportGraph, type ImportGraph,
} from './layers.js';

// dist/tools/layers/layers.test.js → the repository root.
const root = fileURLToPath(new URL('../../../', import.meta.url));

const show = (edges: readonly { from: string; to: string }[]): string => edges.map((e) => `  ${e.from} -> ${e.to}`).join('\n');

test('an import up a layer, across peers, into a test helper or an unlisted folder is a violation', () => {
  const graph: ImportGraph = {
    files: ['src/data/a.ts', 'src/eval/b.ts', 'src/engine/c.ts', 'src/tokenizer/d.ts', 'src/cli/e.ts', 'src/nowhere/f.ts', 'src/testing/tmp.ts', 'src/util/x.test.ts'],
    edges: [
      { from: 'src/data/a.ts', to: 'src/eval/b.ts' }, // up
      { from: 'src/eval/b.ts', to: 'src/data/a.ts' }, // down: fine
      { from: 'src/engine/c.ts', to: 'src/tokenizer/d.ts' }, // peers
      { from: 'src/cli/e.ts', to: 'src/nowhere/f.ts' }, // unlisted
      { from: 'src/cli/e.ts', to: 'src/testing/tmp.ts' }, // test helper
      { from: 'src/util/x.test.ts', to: 'src/cli/e.ts' }, // a test may drive its code from above
    ],
  };
  const found = layerViolations(graph).map((v) => `${v.edge.from} -> ${v.edge.to}`);
  assert.deepEqual(found, [
    'src/data/a.ts -> src/eval/b.ts',
    'src/engine/c.ts -> src/tokenizer/d.ts',
    'src/cli/e.ts -> src/nowhere/f.ts',
    'src/cli/e.ts -> src/testing/tmp.ts',
  ]);
});

test('a file of a folder importing that folder\'s job is a violation; the job importing its folder is not', () => {
  const graph: ImportGraph = {
    files: ['src/eval/run.ts', 'src/eval/grade.ts', 'src/eval/run.test.ts'],
    edges: [
      { from: 'src/eval/run.ts', to: 'src/eval/grade.ts' },
      { from: 'src/eval/grade.ts', to: 'src/eval/run.ts' },
      { from: 'src/eval/run.test.ts', to: 'src/eval/run.ts' },
    ],
  };
  assert.deepEqual(jobViolations(graph).map((v) => `${v.edge.from} -> ${v.edge.to}`), ['src/eval/grade.ts -> src/eval/run.ts']);
});

test('cycles are found between files, including a file importing itself, and not in a chain', () => {
  const edges = [
    { from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'a' }, // a cycle of three
    { from: 'c', to: 'd' }, { from: 'd', to: 'e' }, // a chain out of it
    { from: 'f', to: 'f' },
  ];
  const found = cycles(['a', 'b', 'c', 'd', 'e', 'f'], edges);
  assert.deepEqual(found, [['a', 'b', 'c'], ['f']]);
  assert.deepEqual(edgesWithin(['a', 'b', 'c'], edges).length, 3);
  assert.deepEqual(cycles(['d', 'e'], [{ from: 'd', to: 'e' }]), []);
});

test('every folder of src/ has a layer', () => {
  const graph = readImportGraph(root);
  const listed = new Set(LAYERS.flat().map((l) => l.folder));
  const folders = new Set(productionGraph(graph).files.map((f) => folderOf(f)));
  assert.deepEqual([...folders].filter((f) => !listed.has(f)), [], 'add the folder to LAYERS in tools/layers/layers.ts');
});

test('no import in src/ runs up a layer or across peers', () => {
  const violations = layerViolations(readImportGraph(root));
  assert.equal(violations.length, 0, `imports against the layers:\n${violations.map((v) => `  ${v.edge.from} -> ${v.edge.to}  (${v.reason})`).join('\n')}`);
});

test('inside a folder that also holds a job, no other file imports the job', () => {
  const violations = jobViolations(readImportGraph(root));
  assert.equal(violations.length, 0, `imports of a job from below it:\n${violations.map((v) => `  ${v.edge.from} -> ${v.edge.to}  (${v.reason})`).join('\n')}`);
});

test('every job file named in the layer table exists', () => {
  const files = new Set(readImportGraph(root).files);
  const missing = LAYERS.flat().flatMap((l) => (l.jobs ?? []).map((j) => `src/${l.folder}/${j}`)).filter((f) => !files.has(f));
  assert.deepEqual(missing, []);
});

test('no cycle between files of src/', () => {
  const graph = productionGraph(readImportGraph(root));
  const found = cycles(graph.files, graph.edges);
  assert.equal(found.length, 0, found.map((c) => `cycle of ${c.length} files:\n${show(edgesWithin(c, graph.edges))}`).join('\n'));
});

// Folders here are the top-level folders of src/ (the layers). A subdirectory is part of its folder:
// data/synthetic/ holds both what its templates/ build on (builder, program, lexicon) and what lists
// them (difficulty, generate), a split inside one folder that the file-level check above covers.
test('no cycle between folders of src/', () => {
  const graph = productionGraph(readImportGraph(root));
  const folderEdges = graph.edges.map((e) => ({ from: folderOf(e.from), to: folderOf(e.to), file: e }))
    .filter((e) => e.from !== e.to);
  const folders = [...new Set(graph.files.map((f) => folderOf(f)))].sort();
  const found = cycles(folders, folderEdges);
  assert.equal(found.length, 0, found.map((c) => `cycle between ${c.join(', ')}:\n${show(edgesWithin(c, folderEdges).map((e) => e.file))}`).join('\n'));
});

test('docs/imports.md is the graph of today\'s sources', () => {
  const committed = readFileSync(join(root, 'docs/imports.md'), 'utf8');
  assert.ok(committed === importsMarkdown(root), 'docs/imports.md is out of date: run `npm run build && node dist/tools/layers/graph.js > docs/imports.md`');
});
