/**
 * Division stories: "Mia picks 8 baskets of 12 apples. She keeps 6 and packs the rest into bags of
 * 9. How many bags does she fill?" Both kinds of division: how many groups of a size (packing) and
 * how big each of n equal groups is (sharing). Numbers are chosen so the division comes out exact.
 */
import { ProgramBuilder, Reject, type Quantity } from '../builder.js';
import { CONTAINERS, COUNTABLES, capitalize, pickPeople, type Person } from '../lexicon.js';
import type { OpKind } from '../program.js';
import type { Rng } from '../rng.js';
import { amount, between, choosePlan, divisorOf, small, type Template } from './template.js';

type Adjust = 'keep' | 'more';

interface Plan {
  groupsStart: boolean;
  adjusts: Adjust[];
}

const PLANS: { plan: Plan; kinds: OpKind[] }[] = [];
for (const groupsStart of [false, true]) {
  for (const adjusts of [[], ['keep'], ['more'], ['keep', 'more'], ['more', 'keep'], ['keep', 'keep']] as Adjust[][]) {
    const kinds: OpKind[] = [...(groupsStart ? ['mul' as const] : []), ...adjusts.map((a): OpKind => (a === 'keep' ? 'sub' : 'add')), 'div'];
    PLANS.push({ plan: { groupsStart, adjusts }, kinds });
  }
}

/** An amount in 2..min(hi, maxGiven) that is congruent to `residue` mod `d`. */
function congruent(rng: Rng, residue: number, d: number, hi: number): number {
  const jLo = Math.max(0, Math.ceil((2 - residue) / d));
  const jHi = Math.floor((hi - residue) / d);
  if (jHi < jLo) throw new Reject(`no amount ≡ ${residue} mod ${d} below ${hi}`);
  return residue + d * rng.int(jLo, jHi);
}

export const sharing: Template = {
  id: 'sharing',
  summary: 'packing into groups of a size or sharing equally among people, after keeping some or adding more',
  build(ctx) {
    const p = choosePlan(ctx, PLANS);
    if (!p) return null;
    const { rng } = ctx;
    const b = new ProgramBuilder(ctx.difficulty);
    const [hero, other] = pickPeople(rng, 2) as [Person, Person];
    const S = capitalize(hero.subj);
    const it = rng.pick(COUNTABLES);
    const box = rng.pick(CONTAINERS);
    const packBox = rng.pick(CONTAINERS.filter((c) => c !== box));
    const text: string[] = [];
    const pack = rng.chance(0.5);

    let cur: Quantity;
    if (p.groupsStart) {
      const c = b.given(small(b, rng));
      const s = b.given(amount(b, rng, 2, Math.floor(ctx.difficulty.maxResult / c.value)));
      text.push(`${hero.name} has ${c.value} ${box.many} of ${s.value} ${it.many}.`);
      cur = b.step('mul', c, s, (eq) => `${hero.name} has ${eq} ${it.many}.`);
    } else {
      cur = b.given(amount(b, rng, 10));
      text.push(`${hero.name} ${it.food ? 'picks' : 'collects'} ${cur.value} ${it.many}.`);
    }

    // The divisor comes first; the last adjustment is then chosen to make the division exact.
    const d = b.given(p.adjusts.length === 0 ? divisorOf(b, rng, cur.value) : small(b, rng));
    p.adjusts.forEach((a, i) => {
      const last = i === p.adjusts.length - 1;
      if (a === 'keep') {
        const hi = Math.min(b.maxGiven, cur.value - 1);
        const k = b.given(last ? congruent(rng, cur.value % d.value, d.value, hi) : between(rng, 2, hi));
        text.push(rng.pick([`${S} keeps ${k.value} for later.`, it.food ? `${S} eats ${k.value}.` : `${S} gives ${k.value} to ${other.name}.`]));
        cur = b.step('sub', cur, k, (eq) => `${S} has ${eq} ${it.many} left.`);
      } else {
        const k = b.given(last ? congruent(rng, (d.value - (cur.value % d.value)) % d.value, d.value, b.maxGiven) : amount(b, rng));
        text.push(rng.pick([`${other.name} gives ${hero.obj} ${k.value} more.`, `${S} finds ${k.value} more.`]));
        cur = b.step('add', cur, k, (eq) => `${S} has ${eq} ${it.many}.`);
      }
    });

    const them = p.adjusts[p.adjusts.length - 1] === 'keep' ? 'the rest' : 'them';
    if (pack) {
      text.push(`${S} packs ${them} into ${packBox.many} of ${d.value}. How many ${packBox.many} does ${hero.subj} fill?`);
      b.step('div', cur, d, (eq) => `${S} fills ${eq} ${packBox.many}.`);
    } else {
      text.push(`${S} shares ${them} equally among ${d.value} friends. How many ${it.many} does each friend get?`);
      b.step('div', cur, d, (eq) => `Each friend gets ${eq} ${it.many}.`);
    }
    return b.finish('sharing', text.join(' '));
  },
};
