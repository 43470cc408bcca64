/**
 * The layers of src/ and the import graph that must respect them.
 *
 * Data flows downward: the CLI parses flags and calls a job, a job drives the method on a model, the
 * model runs on the engine. Each top-level folder of src/ sits in one layer (LAYERS, top first); a
 * file may import from its own folder or from a folder in a lower layer, never from a higher layer
 * or from a peer in the same layer (peers share a row because neither needs the other; an import
 * between them would silently make one the other's lower layer).
 *
 * The graph is read from the .ts sources with TypeScript's own pre-processor (ts.preProcessFile),
 * which lists `import`, `export … from` and `import()` specifiers without type-checking, so the check
 * is fast and a comment or a string that looks like an import is not counted. Type-only imports count
 * too: a type is a dependency on the folder that owns it.
 *
 * Test files (*.test.ts), src/testing/ and the per-folder testing.ts helpers are leaves that nothing in the
 * package imports; they may drive their code from any layer (an engine test may run the CLI), so the
 * layer rule does not apply to them, but production code must not import them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import ts from 'typescript';

/**
 * One folder of src/ in the layer table. `jobs` names the folder's job files when the folder holds
 * two roles: a job (typed settings, defaults, validation, the run) and the library that job and
 * others use. The guide's order is CLI → jobs → method → model → engine; the jobs live beside the
 * code they own (runEval in eval/, trainLora in train/, runSample in method/), so inside such a
 * folder the job files sit on top: no other file of the folder imports them.
 */
export interface LayerFolder {
  folder: string;
  why: string;
  jobs?: readonly string[];
}

/**
 * The layers, top first. One line of reason per folder; docs/layout.md shows the same order.
 * '(root)' is src/index.ts, the library's façade, which re-exports every job.
 */
export const LAYERS: readonly (readonly LayerFolder[])[] = [
  [
    { folder: '(root)', why: 'index.ts: the library façade, re-exports the jobs and what they need' },
    { folder: 'cli', why: 'parses flags into typed settings and calls one job per command' },
  ],
  [{ folder: 'demo', why: 'runDemo: the job that chains the other jobs (data, sample, train, eval, sft)', jobs: ['run.ts'] }],
  [
    { folder: 'eval', why: 'runEval: generation (plain or contrastive decoding) and grading of a model', jobs: ['run.ts'] },
    { folder: 'serve', why: 'lightreasoner serve: an OpenAI-compatible HTTP server over a back end', jobs: ['server.ts'] },
  ],
  [{ folder: 'baselines', why: 'runRejectionSft (on the LoRA job) and the contrastive-decoding chooser that eval uses', jobs: ['rejection-sft.ts'] }],
  [{ folder: 'train', why: 'trainLora on kept steps and runPretrain; the batches, AdamW, the loop, checkpoints they share', jobs: ['train-lora.ts', 'pretrain.ts'] }],
  [{ folder: 'method', why: 'LightReasoner stage 1: runSample on contrast (KL, plausible set, soft label) and trajectory scoring', jobs: ['sample.ts'] }],
  [{ folder: 'backends', why: 'the engine, llama.cpp and OpenAI back ends that method and eval drive' }],
  [{ folder: 'export', why: 'GGUF writer and reader (the llama.cpp back end converts through it)' }],
  [{ folder: 'model', why: 'config, safetensors, model directories, the decoder, LoRA, generation, merge' }],
  [
    { folder: 'engine', why: 'sgemm tiers, the addon loader, ops with forward and backward' },
    { folder: 'tokenizer', why: 'tokenizer.json, chat templates, the BPE trainer' },
    { folder: 'data', why: 'question files, the paper\'s prompts, answer extraction and equivalence, the synthetic world' },
    { folder: 'hub', why: 'Hugging Face Hub ids to cached files (cache layout, downloads): model/resolve.ts turns references into directories through it' },
  ],
  [{ folder: 'util', why: 'errors, JSONL, atomic files, run directories, progress, RNG: no project knowledge' }],
];

/**
 * Imports allowed against the layer rule, each with its reason. Empty today; an entry is
 * `'src/from.ts -> src/to.ts': 'why'`.
 */
export const ALLOWED_EXCEPTIONS: ReadonlyMap<string, string> = new Map<string, string>([]);

/** One import: from and to are paths relative to the repository root, with '/' separators. */
export interface ImportEdge {
  from: string;
  to: string;
}

export interface ImportGraph {
  /** Every .ts file under the source folder (relative, '/'-separated), sorted. */
  files: string[];
  /** Relative imports between those files (package imports such as 'node:fs' are left out). */
  edges: ImportEdge[];
}

const toPosix = (p: string): string => p.split(sep).join('/');

/** True for test files and test-only helpers, which nothing in the package may import. */
export function isTestOnly(file: string): boolean {
  return /\.test\.ts$/.test(file) || /(^|\/)testing(\/|\.ts$)/.test(file);
}

/** Reads every .ts file under `srcDir` (relative to `root`) and its relative imports. */
export function readImportGraph(root: string, srcDir = 'src'): ImportGraph {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(join(root, dir)).sort()) {
      const path = join(dir, name);
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) files.push(toPosix(path));
    }
  };
  walk(srcDir);
  const known = new Set(files);
  const edges: ImportEdge[] = [];
  for (const from of files) {
    const info = ts.preProcessFile(readFileSync(join(root, from), 'utf8'), true, true);
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('.')) continue;
      // NodeNext sources import './x.js' for x.ts.
      const to = posix.normalize(posix.join(posix.dirname(from), fileName)).replace(/\.js$/, '.ts');
      if (!known.has(to)) throw new Error(`${from}: import '${fileName}' resolves to ${to}, which is not a source file`);
      edges.push({ from, to });
    }
  }
  return { files, edges };
}

/** The top-level folder of src/ a file belongs to ('(root)' for src/index.ts). */
export function folderOf(file: string, srcDir = 'src'): string {
  const parts = relative(srcDir, file).split(/[\\/]/);
  return parts.length > 1 ? parts[0]! : '(root)';
}

const layerRank = new Map<string, number>(LAYERS.flatMap((row, i) => row.map((l) => [l.folder, LAYERS.length - i] as const)));

export interface Violation {
  edge: ImportEdge;
  reason: string;
}

/** Imports that run up a layer, across peers, into an unlisted folder, or into test-only code. */
export function layerViolations(graph: ImportGraph, srcDir = 'src'): Violation[] {
  const out: Violation[] = [];
  for (const edge of graph.edges) {
    if (isTestOnly(edge.from)) continue;
    if (ALLOWED_EXCEPTIONS.has(`${edge.from} -> ${edge.to}`)) continue;
    if (isTestOnly(edge.to)) {
      out.push({ edge, reason: 'production code imports a test-only file' });
      continue;
    }
    const a = folderOf(edge.from, srcDir);
    const b = folderOf(edge.to, srcDir);
    if (a === b) continue;
    const ra = layerRank.get(a);
    const rb = layerRank.get(b);
    if (ra === undefined || rb === undefined) {
      out.push({ edge, reason: `folder ${ra === undefined ? a : b} is not in the layer table (tools/layers/layers.ts)` });
    } else if (rb > ra) {
      out.push({ edge, reason: `${a} imports ${b}, a higher layer` });
    } else if (rb === ra) {
      out.push({ edge, reason: `${a} imports ${b}, a peer in the same layer` });
    }
  }
  return out;
}

/** Imports inside a folder from a non-job file into one of the folder's job files (LayerFolder.jobs). */
export function jobViolations(graph: ImportGraph, srcDir = 'src'): Violation[] {
  const jobFiles = new Set(LAYERS.flat().flatMap((l) => (l.jobs ?? []).map((j) => `${srcDir}/${l.folder}/${j}`)));
  const out: Violation[] = [];
  for (const edge of graph.edges) {
    if (isTestOnly(edge.from) || jobFiles.has(edge.from) || !jobFiles.has(edge.to)) continue;
    if (ALLOWED_EXCEPTIONS.has(`${edge.from} -> ${edge.to}`)) continue;
    if (folderOf(edge.from, srcDir) !== folderOf(edge.to, srcDir)) continue; // across folders the layer rule applies
    out.push({ edge, reason: `${edge.to} is a job of ${folderOf(edge.to, srcDir)}/; the folder's other files sit below it` });
  }
  return out;
}

/**
 * The cycles of a directed graph: its strongly connected components with more than one node (or a
 * node importing itself), found with Tarjan's algorithm. Each cycle's nodes are sorted.
 */
export function cycles(nodes: readonly string[], edges: readonly { from: string; to: string }[]): string[][] {
  const next = new Map<string, string[]>(nodes.map((n) => [n, []]));
  const selfLoop = new Set<string>();
  for (const e of edges) {
    if (e.from === e.to) selfLoop.add(e.from);
    else next.get(e.from)?.push(e.to);
  }
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  // Iterative, so a long import chain cannot overflow the call stack.
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: { node: string; i: number }[] = [{ node: start, i: 0 }];
    index.set(start, counter); low.set(start, counter); counter++;
    stack.push(start); onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const succ = next.get(top.node) ?? [];
      if (top.i < succ.length) {
        const w = succ[top.i++]!;
        if (!index.has(w)) {
          index.set(w, counter); low.set(w, counter); counter++;
          stack.push(w); onStack.add(w);
          work.push({ node: w, i: 0 });
        } else if (onStack.has(w)) {
          low.set(top.node, Math.min(low.get(top.node)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]!.node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) === index.get(top.node)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== top.node);
        if (component.length > 1 || selfLoop.has(top.node)) out.push(component.sort());
      }
    }
  }
  return out.sort((x, y) => x[0]!.localeCompare(y[0]!));
}

/** The edges inside one cycle, so a failure shows which imports to cut. */
export function edgesWithin<E extends { from: string; to: string }>(cycle: readonly string[], edges: readonly E[]): E[] {
  const members = new Set(cycle);
  return edges.filter((e) => members.has(e.from) && members.has(e.to));
}

/** Edges between groups (folders or directories), with how many file imports each stands for. */
export function groupEdges(edges: readonly ImportEdge[], groupOf: (file: string) => string): { from: string; to: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const e of edges) {
    const a = groupOf(e.from);
    const b = groupOf(e.to);
    if (a === b) continue;
    const key = `${a}\u0000${b}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, count]) => {
    const [from, to] = key.split('\u0000') as [string, string];
    return { from, to, count };
  }).sort((x, y) => x.from.localeCompare(y.from) || x.to.localeCompare(y.to));
}

/** The production part of the graph: no test files, no test-only helpers. */
export function productionGraph(graph: ImportGraph): ImportGraph {
  return {
    files: graph.files.filter((f) => !isTestOnly(f)),
    edges: graph.edges.filter((e) => !isTestOnly(e.from) && !isTestOnly(e.to)),
  };
}
