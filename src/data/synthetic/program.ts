/**
 * The structured program a synthetic problem is made from: a chain of binary integer operations over
 * numbers written in the question, a few well-known facts ("an hour" is 60 minutes), and earlier
 * results. The worked solution is this program written out one step per line; the answer is the
 * last step's result.
 *
 *   3 boxes of 12 apples, 5 eaten:  steps [mul(given 3, given 12) = 36, sub(step 0, given 5) = 31]
 */

export type OpKind = 'add' | 'sub' | 'mul' | 'div';

export const OP_KINDS: readonly OpKind[] = ['add', 'sub', 'mul', 'div'];

export const OP_SYMBOL: Readonly<Record<OpKind, string>> = { add: '+', sub: '-', mul: '*', div: '/' };

export type Operand =
  /** A numeral written in the question. */
  | { kind: 'given'; value: number }
  /** A known quantity named by a word of the question, e.g. cue "hour" → 60, "a quarter" → 4. */
  | { kind: 'fact'; value: number; cue: string }
  /** The result of the earlier step `index`. */
  | { kind: 'step'; index: number };

export interface ProgramStep {
  op: OpKind;
  left: Operand;
  right: Operand;
  result: number;
}

export interface Program {
  steps: ProgramStep[];
}

/**
 * `a op b` when it is a non-negative integer (the only kind of number these problems use); null for
 * a negative difference or a division with a remainder.
 */
export function applyOp(op: OpKind, a: number, b: number): number | null {
  switch (op) {
    case 'add':
      return a + b;
    case 'sub':
      return a >= b ? a - b : null;
    case 'mul':
      return a * b;
    case 'div':
      return b > 0 && a % b === 0 ? a / b : null;
  }
}

/** The value an operand stands for, given the results of the steps before it. */
export function operandValue(operand: Operand, results: readonly number[]): number {
  if (operand.kind !== 'step') return operand.value;
  const v = results[operand.index];
  if (v === undefined) throw new Error(`operand refers to step ${operand.index}, which does not come before it`);
  return v;
}

/**
 * Run the program from its operands alone (ignoring the stored results) and return the final answer.
 * Throws if a step is not a non-negative integer operation or disagrees with its stored result.
 */
export function evaluateProgram(program: Program): number {
  if (program.steps.length === 0) throw new Error('program has no steps');
  const results: number[] = [];
  program.steps.forEach((s, i) => {
    const a = operandValue(s.left, results);
    const b = operandValue(s.right, results);
    const r = applyOp(s.op, a, b);
    if (r === null) throw new Error(`step ${i}: ${a} ${OP_SYMBOL[s.op]} ${b} is not a non-negative integer`);
    if (r !== s.result) throw new Error(`step ${i}: ${a} ${OP_SYMBOL[s.op]} ${b} = ${r}, but the program records ${s.result}`);
    results.push(r);
  });
  return results[results.length - 1]!;
}

/**
 * The arithmetic of a program as one expression, independent of wording, names and the order in
 * which independent steps are written: operands of + and * are sorted, facts count as their value.
 * Two problems with the same canonical expression pose the same computation.
 *
 *   3 boxes of 12, minus 5  →  "(-(*12 3) 5)"   (operands of * sorted as text)
 */
export function canonicalExpression(program: Program): string {
  const memo = new Map<number, string>();
  const expr = (o: Operand): string => (o.kind === 'step' ? stepExpr(o.index) : String(o.value));
  const stepExpr = (i: number): string => {
    const hit = memo.get(i);
    if (hit !== undefined) return hit;
    const s = program.steps[i];
    if (!s) throw new Error(`operand refers to missing step ${i}`);
    let a = expr(s.left);
    let b = expr(s.right);
    if ((s.op === 'add' || s.op === 'mul') && b < a) [a, b] = [b, a];
    const e = `(${OP_SYMBOL[s.op]}${a} ${b})`;
    memo.set(i, e);
    return e;
  };
  return stepExpr(program.steps.length - 1);
}
