/**
 * A person's collection changes event by event: "Ava has 4 jars of 15 shells. She gives 9 to Ben.
 * She finds 12 more. How many shells does Ava have now?" The workhorse template: any number of
 * steps, every operation (groups multiply, fractions and equal shares divide).
 */
import { ProgramBuilder, type Quantity } from '../builder.js';
import { CONTAINERS, COUNTABLES, FRACTIONS, capitalize, pickPeople, type Person } from '../lexicon.js';
import type { OpKind } from '../program.js';
import { allows, amount, between, divisorOf, small, type Template, type TemplateContext } from './template.js';

type Event = 'add' | 'sub' | 'addGroups' | 'subGroups' | 'fraction';

const EVENTS: Record<Event, { kinds: OpKind[]; weight: number }> = {
  add: { kinds: ['add'], weight: 3 },
  sub: { kinds: ['sub'], weight: 3 },
  addGroups: { kinds: ['mul', 'add'], weight: 1 },
  subGroups: { kinds: ['mul', 'sub'], weight: 1 },
  fraction: { kinds: ['div', 'sub'], weight: 1 },
};

interface Plan {
  groupsStart: boolean;
  events: Event[];
  share: boolean;
}

function plan(ctx: TemplateContext): Plan | null {
  const { rng } = ctx;
  for (let attempt = 0; attempt < 20; attempt++) {
    const groupsStart = allows(ctx, 'mul') && rng.chance(0.4);
    const share = allows(ctx, 'div') && rng.chance(0.3);
    let left = ctx.ops - (groupsStart ? 1 : 0) - (share ? 1 : 0);
    if (left < 1) continue;
    const events: Event[] = [];
    while (left > 0) {
      const options = (Object.keys(EVENTS) as Event[]).filter((e) => EVENTS[e].kinds.length <= left && allows(ctx, ...EVENTS[e].kinds));
      if (options.length === 0) break;
      const total = options.reduce((s, e) => s + EVENTS[e].weight, 0);
      let r = rng.next() * total;
      const e = options.find((o) => (r -= EVENTS[o].weight) < 0) ?? options[options.length - 1]!;
      events.push(e);
      left -= EVENTS[e].kinds.length;
    }
    if (left === 0) return { groupsStart, events, share };
  }
  return null;
}

export const collection: Template = {
  id: 'collection',
  summary: 'a collection that grows and shrinks event by event (buy, find, give, lose, share equally)',
  build(ctx) {
    const p = plan(ctx);
    if (!p) return null;
    const { rng } = ctx;
    const b = new ProgramBuilder(ctx.difficulty);
    const [hero, other] = pickPeople(rng, 2) as [Person, Person];
    const it = rng.pick(COUNTABLES);
    const box = rng.pick(CONTAINERS);
    const S = capitalize(hero.subj);
    const text: string[] = [];
    const then = (eq: string): string => `${b.stepCount > 0 ? `Then ${hero.subj}` : hero.name} has ${eq} ${it.many}.`;

    let cur: Quantity;
    if (p.groupsStart) {
      const c = b.given(small(b, rng));
      const s = b.given(amount(b, rng, 2, Math.floor(ctx.difficulty.maxResult / c.value)));
      text.push(rng.pick([
        `${hero.name} has ${c.value} ${box.many} of ${s.value} ${it.many}.`,
        `${hero.name} has ${c.value} ${box.many} with ${s.value} ${it.many} in each.`,
      ]));
      cur = b.step('mul', c, s, (eq) => `${hero.name} has ${eq} ${it.many}.`);
    } else {
      cur = b.given(amount(b, rng, 10));
      text.push(rng.pick([`${hero.name} has ${cur.value} ${it.many}.`, `${hero.name} starts with ${cur.value} ${it.many}.`]));
    }

    for (const e of p.events) {
      switch (e) {
        case 'add': {
          const x = b.given(amount(b, rng));
          text.push(rng.pick([
            `${S} finds ${x.value} more.`,
            `${S} buys ${x.value} more.`,
            `${other.name} gives ${hero.obj} ${x.value} more.`,
            `${S} gets ${x.value} more from ${other.name}.`,
          ]));
          cur = b.step('add', cur, x, then);
          break;
        }
        case 'sub': {
          const x = b.given(between(rng, 2, Math.min(b.maxGiven, cur.value - 1)));
          text.push(rng.pick([
            `${S} gives ${x.value} to ${other.name}.`,
            `${S} loses ${x.value}.`,
            `${S} sells ${x.value}.`,
            it.food ? `${S} eats ${x.value}.` : `${S} gives away ${x.value}.`,
          ]));
          cur = b.step('sub', cur, x, then);
          break;
        }
        case 'addGroups': {
          const c = b.given(small(b, rng));
          const s = b.given(amount(b, rng, 2, Math.floor(ctx.difficulty.maxResult / c.value)));
          text.push(`${S} buys ${c.value} more ${box.many} of ${s.value} ${it.many}.`);
          const got = b.step('mul', c, s, (eq) => `The new ${box.many} hold ${eq} ${it.many}.`);
          cur = b.step('add', cur, got, then);
          break;
        }
        case 'subGroups': {
          const c = b.given(small(b, rng));
          const s = b.given(between(rng, 2, Math.min(b.maxGiven, Math.floor((cur.value - 1) / c.value))));
          text.push(`${S} gives ${other.name} ${c.value} ${box.many} of ${s.value} ${it.many}.`);
          const gone = b.step('mul', c, s, (eq) => `${S} gives away ${eq} ${it.many}.`);
          cur = b.step('sub', cur, gone, then);
          break;
        }
        case 'fraction': {
          const fits = FRACTIONS.filter((f) => cur.value % f.divisor === 0 && f.divisor <= ctx.difficulty.maxMultiplier);
          const f = fits.length > 0 ? rng.pick(fits) : rng.pick(FRACTIONS);
          text.push(`${S} gives ${f.cue} of ${hero.poss} ${it.many} to ${other.name}.`);
          const gone = b.step('div', cur, b.fact(f.divisor, f.cue), (eq) => `${S} gives away ${eq} ${it.many}.`);
          cur = b.step('sub', cur, gone, then);
          break;
        }
      }
    }

    if (p.share) {
      const d = b.given(divisorOf(b, rng, cur.value));
      if (rng.chance(0.5)) {
        text.push(`${S} shares them equally among ${d.value} friends. How many ${it.many} does each friend get?`);
        b.step('div', cur, d, (eq) => `Each friend gets ${eq} ${it.many}.`);
      } else {
        text.push(`${S} puts them equally into ${d.value} ${box.many}. How many ${it.many} are in each ${box.one}?`);
        b.step('div', cur, d, (eq) => `Each ${box.one} has ${eq} ${it.many}.`);
      }
    } else {
      text.push(rng.pick([`How many ${it.many} does ${hero.name} have now?`, `How many ${it.many} does ${hero.name} have in the end?`]));
    }
    return b.finish('collection', text.join(' '));
  },
};
