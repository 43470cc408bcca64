/**
 * Are two results files the same run, completion for completion? Counts the problems (paired by id)
 * whose completion text differs, and of those the ones whose extracted answer differs. `eval
 * --compare` tests accuracy; this checks byte identity, which docs/experiments.md §5.5 uses for the
 * eval batch size (8 vs 32) and for bf16 storage of the bundled base-world models.
 *
 *   node dist/tools/experiments/same-completions.js A.jsonl B.jsonl
 */
import { readResults } from '../../src/eval/results.js';

function main(): void {
  const [a, b] = process.argv.slice(2);
  if (!a || !b) throw new Error('usage: same-completions.js A.jsonl B.jsonl');
  const byId = new Map(readResults(b).map((r) => [r.id, r]));
  let paired = 0, same = 0, differentAnswer = 0;
  for (const r of readResults(a)) {
    const o = byId.get(r.id);
    if (!o) continue;
    paired++;
    if (o.completion === r.completion) same++;
    else if (o.extracted !== r.extracted) differentAnswer++;
  }
  process.stdout.write(`${JSON.stringify({ paired, sameCompletion: same, differentCompletion: paired - same, differentAnswer })}\n`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
