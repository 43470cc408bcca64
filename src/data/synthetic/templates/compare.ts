/**
 * Comparisons between people: "Ana has 23 shells. Ben has 3 times as many shells as Ana. Cy has 15
 * fewer shells than Ben. How many shells do they have in total?" Each person is defined relative to
 * the one before (more, fewer, times, twice, half as many); the question asks for the last person,
 * the total, or a difference.
 */
import { ProgramBuilder, Reject, type Quantity } from '../builder.js';
import { COUNTABLES, listJoin, pickPeople } from '../lexicon.js';
import type { OpKind } from '../program.js';
import { amount, between, choosePlan, type Template } from './template.js';

type Relation = 'more' | 'fewer' | 'times' | 'twice' | 'half';
type Ask = 'last' | 'total' | 'diff';

const RELATION_KIND: Record<Relation, OpKind> = { more: 'add', fewer: 'sub', times: 'mul', twice: 'mul', half: 'div' };

interface Plan {
  relations: Relation[];
  ask: Ask;
}

const PLANS: { plan: Plan; kinds: OpKind[] }[] = [];
{
  const rels = Object.keys(RELATION_KIND) as Relation[];
  const sequences: Relation[][] = [];
  for (const a of rels) {
    sequences.push([a]);
    for (const b of rels) {
      sequences.push([a, b]);
      for (const c of rels) sequences.push([a, b, c]);
    }
  }
  for (const relations of sequences) {
    const base = relations.map((r) => RELATION_KIND[r]);
    PLANS.push({ plan: { relations, ask: 'last' }, kinds: base });
    PLANS.push({ plan: { relations, ask: 'total' }, kinds: [...base, ...Array<OpKind>(relations.length).fill('add')] });
    PLANS.push({ plan: { relations, ask: 'diff' }, kinds: [...base, 'sub'] });
  }
}

export const compare: Template = {
  id: 'compare',
  summary: 'people compared to each other (more, fewer, times as many, half as many); asks one count, the total or a difference',
  build(ctx) {
    const p = choosePlan(ctx, PLANS);
    if (!p) return null;
    const { rng } = ctx;
    const b = new ProgramBuilder(ctx.difficulty);
    const people = pickPeople(rng, p.relations.length + 1);
    const it = rng.pick(COUNTABLES);
    const noun = (): string => (rng.chance(0.5) ? ` ${it.many}` : '');
    const first = people[0]!;

    const counts: Quantity[] = [b.given(amount(b, rng, 10))];
    const text = [`${first.name} has ${counts[0]!.value} ${it.many}.`];
    p.relations.forEach((rel, i) => {
      const prev = counts[i]!;
      const a = people[i]!.name;
      const who = people[i + 1]!.name;
      const line = (eq: string): string => `${who} has ${eq} ${it.many}.`;
      let next: Quantity;
      switch (rel) {
        case 'more': {
          const x = b.given(amount(b, rng));
          text.push(`${who} has ${x.value} more${noun()} than ${a}.`);
          next = b.step('add', prev, x, line);
          break;
        }
        case 'fewer': {
          const x = b.given(between(rng, 2, Math.min(b.maxGiven, prev.value - 1)));
          text.push(`${who} has ${x.value} fewer${noun()} than ${a}.`);
          next = b.step('sub', prev, x, line);
          break;
        }
        case 'times': {
          const k = b.given(between(rng, 3, Math.min(ctx.difficulty.maxMultiplier, b.maxGiven)));
          text.push(`${who} has ${k.value} times as many${noun()} as ${a}.`);
          next = b.step('mul', k, prev, line);
          break;
        }
        case 'twice':
          text.push(`${who} has twice as many${noun()} as ${a}.`);
          next = b.step('mul', b.fact(2, 'twice'), prev, line);
          break;
        case 'half':
          text.push(`${who} has half as many${noun()} as ${a}.`);
          next = b.step('div', prev, b.fact(2, 'half'), line);
          break;
      }
      counts.push(next);
    });

    const last = people[people.length - 1]!;
    switch (p.ask) {
      case 'last':
        text.push(`How many ${it.many} does ${last.name} have?`);
        break;
      case 'total': {
        let sum = counts[0]!;
        for (let i = 1; i < counts.length; i++) {
          const names = people.slice(0, i + 1).map((x) => x.name);
          const final = i === counts.length - 1;
          sum = b.step('add', sum, counts[i]!, (eq) => (final ? `Together they have ${eq} ${it.many}.` : `${listJoin(names)} have ${eq} ${it.many}.`));
        }
        text.push(rng.pick([`How many ${it.many} do they have in total?`, `How many ${it.many} do they have together?`]));
        break;
      }
      case 'diff': {
        const a = counts[0]!;
        const z = counts[counts.length - 1]!;
        if (a.value === z.value) throw new Reject('no difference to ask about');
        const [hi, lo, hiName, loName] = z.value > a.value ? [z, a, last.name, first.name] : [a, z, first.name, last.name];
        text.push(`How many more ${it.many} does ${hiName} have than ${loName}?`);
        b.step('sub', hi, lo, (eq) => `${hiName} has ${eq} more ${it.many} than ${loName}.`);
        break;
      }
    }
    return b.finish('compare', text.join(' '));
  },
};
