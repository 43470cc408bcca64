/**
 * What every template writes a problem with: it declares the numbers the question states and the
 * steps that combine them, and the builder keeps the program, the solution lines and the difficulty
 * limits in step. A random draw that breaks a limit (a remainder, a negative or zero difference, a
 * result too large) throws `Reject`, and the generator simply draws again.
 *
 *   const b = new ProgramBuilder(difficulty);
 *   const boxes = b.given(3), per = b.given(12);
 *   const total = b.step('mul', boxes, per, (eq) => `Tom has ${eq} apples.`);  // "Tom has 3 * 12 = 36 apples."
 */
import { applyOp, OP_SYMBOL, type OpKind, type Operand, type Program, type ProgramStep } from './program.js';

/**
 * The limits every number and step of a problem keeps: the part of `Difficulty` (difficulty.ts) that
 * the builder and the templates read. It lives here, below the templates, so that difficulty.ts can
 * list the template registry for its defaults without an import cycle.
 */
export interface NumberLimits {
  /**
   * Every number written in the question is below 10^maxDigits, and so is the larger factor of every
   * product and the quotient of every division.
   */
  maxDigits: number;
  /** The smaller factor of every product, and every divisor, is at most this. */
  maxMultiplier: number;
  /** Every intermediate and final result is at most this. */
  maxResult: number;
  /** The operations problems may use. */
  ops: OpKind[];
}

/** A random draw broke a constraint; not an error, the caller draws again. */
export class Reject extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'Reject';
  }
}

export interface Quantity {
  readonly value: number;
  readonly operand: Operand;
}

/** A finished problem before it is given an id and a split. */
export interface Draft {
  template: string;
  question: string;
  /** The worked solution, one line per program step (without the final "#### N"). */
  lines: string[];
  program: Program;
}

export class ProgramBuilder {
  private readonly steps: ProgramStep[] = [];
  private readonly lines: string[] = [];

  constructor(readonly difficulty: NumberLimits) {}

  /** The largest number a question may state. */
  get maxGiven(): number {
    return 10 ** this.difficulty.maxDigits - 1;
  }

  /** A number the question states (at least 2, so no "1 apples"). */
  given(value: number): Quantity {
    if (!Number.isInteger(value) || value < 2 || value > this.maxGiven) throw new Reject(`given ${value} out of range`);
    return { value, operand: { kind: 'given', value } };
  }

  /** A number the question names by a word (`cue`), e.g. fact(60, 'hour'). */
  fact(value: number, cue: string): Quantity {
    return { value, operand: { kind: 'fact', value, cue } };
  }

  /** One solution step `left op right`; `line` turns the equation "a op b = c" into its sentence. */
  step(op: OpKind, left: Quantity, right: Quantity, line: (equation: string) => string): Quantity {
    const d = this.difficulty;
    if (!d.ops.includes(op)) throw new Reject(`operation ${op} not allowed`);
    const r = applyOp(op, left.value, right.value);
    if (r === null) throw new Reject(`${left.value} ${OP_SYMBOL[op]} ${right.value} is not a non-negative integer`);
    if (r > d.maxResult) throw new Reject(`result ${r} above maxResult`);
    // Like givens, results are at least 2: "0 apples left" is a degenerate story, "1 apples" bad grammar.
    if (r < 2) throw new Reject(`result ${r} below 2`);
    // Products are small × (at most maxDigits digits), and divisions their inverses.
    if (op === 'mul' && (Math.min(left.value, right.value) > d.maxMultiplier || Math.max(left.value, right.value) > this.maxGiven)) {
      throw new Reject('factors out of range');
    }
    if (op === 'div' && (right.value < 2 || right.value > d.maxMultiplier || r > this.maxGiven)) throw new Reject('divisor or quotient out of range');
    const index = this.steps.length;
    // The sentence is written before the step is recorded, so it sees stepCount as the steps before it.
    this.lines.push(line(`${left.value} ${OP_SYMBOL[op]} ${right.value} = ${r}`));
    this.steps.push({ op, left: left.operand, right: right.operand, result: r });
    return { value: r, operand: { kind: 'step', index } };
  }

  get stepCount(): number {
    return this.steps.length;
  }

  finish(template: string, question: string): Draft {
    if (this.steps.length === 0) throw new Error(`template ${template} made a problem with no steps`);
    // Every step but the last must feed a later one, or the solution would contain a dead end.
    const used = new Set<number>();
    for (const s of this.steps) for (const o of [s.left, s.right]) if (o.kind === 'step') used.add(o.index);
    for (let i = 0; i < this.steps.length - 1; i++) {
      if (!used.has(i)) throw new Error(`template ${template}: step ${i} is never used`);
    }
    return { template, question, lines: [...this.lines], program: { steps: this.steps.map((s) => ({ ...s })) } };
  }
}
