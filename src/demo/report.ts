/**
 * The demo's report: the before/after table (Markdown and JSON) and a chart (SVG, no
 * dependencies) of accuracy with 95% intervals and of the KL(pE ‖ pA) distribution over sampled
 * steps with the β threshold marked.
 */
import { formatShare, type FormatSummary } from '../eval/formats.js';

export interface ModelRow {
  label: string;
  /** What the row is, in a few words (e.g. "bundled Expert", "Expert + LightReasoner LoRA"). */
  description: string;
  correct: number;
  count: number;
  accuracy: number;
  wilson95: [number, number];
  /** Versus the base Expert on the same problems (absent for the Expert itself). */
  vsExpert?: { difference: number; onlyExpert: number; onlyThis: number; pValue: number };
  /** Training-side cost, for tuned rows. */
  sampledProblems?: number;
  /** What the tuning data is made of: kept steps (LightReasoner) or kept trajectories (SFT), e.g. "1203 steps". */
  trainingData?: string;
  tunedTokens?: number;
  /** Needs the Amateur at inference (contrastive decoding). */
  inferenceNote?: string;
  /** Seconds spent producing this row's model (sampling + training + merging), and evaluating it. */
  buildSeconds?: number;
  evalSeconds: number;
  /** Format shares of the row's completions (src/eval/formats.ts). */
  formats?: FormatSummary;
}

export interface DemoReport {
  title: string;
  command: string;
  machine: string;
  rows: ModelRow[];
  stages: Array<{ stage: string; seconds: number; detail?: string }>;
  totalSeconds: number;
  settings: Record<string, unknown>;
  klValues: number[];
  beta: number;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

function fmtP(p: number): string {
  if (p < 1e-4) return p.toExponential(1);
  return p < 0.01 ? p.toFixed(4) : p.toFixed(3);
}

function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '—'; // a stage an older version finished without recording its time
  return s < 60 ? `${s.toFixed(0)} s` : `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
}

export function markdownTable(r: DemoReport): string {
  const head = '| model | accuracy (95% CI) | change vs Expert | McNemar p | sampled problems | training data | tuned tokens | build time | eval time |\n|---|---|---|---|---|---|---|---|---|';
  const rows = r.rows.map((m) => [
    `${m.label}`,
    `${pct(m.accuracy)} (${pct(m.wilson95[0])}–${pct(m.wilson95[1])}), ${m.correct}/${m.count}`,
    m.vsExpert ? `${m.vsExpert.difference >= 0 ? '+' : ''}${(100 * m.vsExpert.difference).toFixed(1)} pts (+${m.vsExpert.onlyThis} / −${m.vsExpert.onlyExpert})` : '—',
    m.vsExpert ? fmtP(m.vsExpert.pValue) : '—',
    m.sampledProblems !== undefined ? String(m.sampledProblems) : '—',
    m.trainingData ?? (m.inferenceNote ?? '—'),
    m.tunedTokens !== undefined ? String(m.tunedTokens) : '—',
    m.buildSeconds !== undefined ? fmtSeconds(m.buildSeconds) : '—',
    fmtSeconds(m.evalSeconds),
  ].join(' | '));
  return `${head}\n${rows.map((x) => `| ${x} |`).join('\n')}`;
}

/** The format shares of each row (README, "Format shares"), with a blank line after; none when no row has them. */
function formatsTable(r: DemoReport): string[] {
  const rows = r.rows.filter((m) => m.formats !== undefined);
  if (rows.length === 0) return [];
  return [
    '| model | \\boxed{} answer | stops after the answer | runs on into a new problem | hits the token budget | well-formed | accuracy when well-formed | first answer correct |',
    '|---|---|---|---|---|---|---|---|',
    // A row an older version finished has no first-answer share: shown empty, as "- (0/0)".
    ...rows.map(({ label, formats: f }) => `| ${[label, ...[f!.boxed, f!.stopsAfterAnswer, f!.runsOn, f!.hitsBudget, f!.wellFormed, f!.wellFormedAccuracy, f!.firstAnswerCorrect ?? { count: 0, of: 0, share: null }].map(formatShare)].join(' | ')} |`),
    '',
  ];
}

export function markdownReport(r: DemoReport): string {
  const stages = r.stages.map((s) => `| ${s.stage} | ${fmtSeconds(s.seconds)} | ${s.detail ?? ''} |`).join('\n');
  return [
    `# ${r.title}`,
    '',
    `Command: \`${r.command}\`  `,
    `Machine: ${r.machine}  `,
    `Total wall time: ${fmtSeconds(r.totalSeconds)}`,
    '',
    markdownTable(r),
    '',
    '"change vs Expert" counts the held-out problems only this model got right (+) and only the base Expert got right (−); McNemar\'s exact test is on those discordant pairs.',
    '',
    ...formatsTable(r),
    '| stage | wall time | detail |',
    '|---|---|---|',
    stages,
    '',
    '```json',
    JSON.stringify(r.settings, null, 2),
    '```',
    '',
  ].join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Two panels: accuracy bars with 95% intervals, and a histogram of per-step KL with β marked. */
export function svgChart(r: DemoReport): string {
  const W = 1040, H = 400;
  const left = { x: 60, y: 50, w: 520, h: 250 };
  const right = { x: 660, y: 50, w: 350, h: 250 };
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${left.x}" y="24" font-size="14" font-weight="bold">Held-out accuracy (greedy pass@1, 95% Wilson interval)</text>`);
  const colors = ['#9aa5b1', '#3b6ea5', '#8e6bb0', '#5a9e6f', '#d9822b'];
  const n = r.rows.length;
  const bw = (left.w / Math.max(1, n)) * 0.55;
  // Axis up to the highest interval end, in steps of 10 points, so small accuracies stay readable.
  const top = Math.min(1, Math.max(0.1, Math.ceil((Math.max(...r.rows.map((m) => m.wilson95[1])) * 10) + 0.001) / 10));
  const y = (v: number): number => left.y + left.h * (1 - v / top);
  const ticks = Math.round(top * 10);
  for (let t = 0; t <= ticks; t++) {
    const v = t / 10;
    parts.push(`<line x1="${left.x}" x2="${left.x + left.w}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${left.x - 6}" y="${y(v) + 4}" text-anchor="end">${t * 10}%</text>`);
  }
  r.rows.forEach((m, i) => {
    const cx = left.x + (left.w / n) * (i + 0.5);
    parts.push(`<rect x="${cx - bw / 2}" y="${y(m.accuracy)}" width="${bw}" height="${left.y + left.h - y(m.accuracy)}" fill="${colors[i % colors.length]}"/>`);
    parts.push(`<line x1="${cx}" x2="${cx}" y1="${y(m.wilson95[0])}" y2="${y(m.wilson95[1])}" stroke="black"/>`);
    for (const v of m.wilson95) parts.push(`<line x1="${cx - 6}" x2="${cx + 6}" y1="${y(v)}" y2="${y(v)}" stroke="black"/>`);
    parts.push(`<text x="${cx}" y="${y(m.wilson95[1]) - 6}" text-anchor="middle">${pct(m.accuracy)}</text>`);
    // Labels on two lines ("Expert +" / "LightReasoner") so neighbours never overlap.
    const [first, ...rest] = m.label.split(' + ');
    parts.push(`<text x="${cx}" y="${left.y + left.h + 16}" text-anchor="middle">${esc(first!)}${rest.length ? ' +' : ''}</text>`);
    if (rest.length) parts.push(`<text x="${cx}" y="${left.y + left.h + 30}" text-anchor="middle">${esc(rest.join(' + '))}</text>`);
  });
  parts.push(`<text x="${right.x}" y="24" font-size="14" font-weight="bold">KL(pE‖pA) per generated step</text>`);
  const kls = [...r.klValues].sort((a, b) => a - b);
  if (kls.length > 0) {
    // Linear bins up to the 99th percentile (log bins would hide β); the tail pools in the last bin.
    const hi = Math.max(r.beta * 2, kls[Math.floor(0.99 * (kls.length - 1))]!);
    const bins = 30;
    const counts = new Array<number>(bins).fill(0);
    for (const k of kls) counts[Math.min(bins - 1, Math.floor((k / hi) * bins))]!++;
    const maxC = Math.max(...counts);
    const bx = right.w / bins;
    // Square-root heights: the mass near 0 would otherwise flatten every other bin.
    counts.forEach((c, i) => {
      const h = right.h * Math.sqrt(c / maxC);
      const x0 = (i * hi) / bins;
      parts.push(`<rect x="${right.x + i * bx}" y="${right.y + right.h - h}" width="${bx - 1}" height="${h}" fill="${x0 >= r.beta ? '#d9822b' : '#9aa5b1'}"/>`);
    });
    const bxPos = right.x + (r.beta / hi) * right.w;
    parts.push(`<line x1="${bxPos}" x2="${bxPos}" y1="${right.y}" y2="${right.y + right.h}" stroke="black" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${bxPos + 4}" y="${right.y + 12}">β = ${r.beta}: kept →</text>`);
    const kept = kls.filter((k) => k >= r.beta).length;
    parts.push(`<text x="${right.x}" y="${right.y + right.h + 16}">0</text>`);
    parts.push(`<text x="${right.x + right.w}" y="${right.y + right.h + 16}" text-anchor="end">${hi.toFixed(2)} nats</text>`);
    parts.push(`<text x="${right.x}" y="${right.y + right.h + 36}">${kls.length} steps, ${kept} kept (${pct(kept / kls.length)}).</text>`);
    parts.push(`<text x="${right.x}" y="${right.y + right.h + 52}">Bar height ∝ √count; the last bin pools the top 1%.</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}
