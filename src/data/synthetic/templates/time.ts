/**
 * Units everyone knows: an hour is 60 minutes, a week is 7 days, a dozen is 12. "A movie lasts 2
 * hours and 15 minutes. Ava has watched 48 minutes. How many minutes are left?" The conversion factor
 * is not written as a numeral: the model has to know it (a fact operand in the program).
 */
import { ProgramBuilder, type Quantity } from '../builder.js';
import { capitalize, pickPeople, type Person } from '../lexicon.js';
import type { OpKind } from '../program.js';
import { amount, between, choosePlan, small, type Template } from './template.js';

type Plan =
  | { shape: 'movie'; watched: boolean }
  | { shape: 'trip' }
  | { shape: 'weeks'; had: boolean; spent: boolean }
  | { shape: 'dozen'; extra: boolean; second: boolean };

const PLANS: { plan: Plan; kinds: OpKind[] }[] = [
  { plan: { shape: 'movie', watched: false }, kinds: ['mul', 'add'] },
  { plan: { shape: 'movie', watched: true }, kinds: ['mul', 'add', 'sub'] },
  { plan: { shape: 'trip' }, kinds: ['mul', 'sub'] },
  { plan: { shape: 'weeks', had: false, spent: false }, kinds: ['mul', 'mul'] },
  { plan: { shape: 'weeks', had: true, spent: false }, kinds: ['mul', 'mul', 'add'] },
  { plan: { shape: 'weeks', had: false, spent: true }, kinds: ['mul', 'mul', 'sub'] },
  { plan: { shape: 'weeks', had: true, spent: true }, kinds: ['mul', 'mul', 'add', 'sub'] },
  { plan: { shape: 'dozen', extra: false, second: false }, kinds: ['mul', 'sub'] },
  { plan: { shape: 'dozen', extra: true, second: false }, kinds: ['mul', 'add', 'sub'] },
  { plan: { shape: 'dozen', extra: false, second: true }, kinds: ['mul', 'sub', 'sub'] },
  { plan: { shape: 'dozen', extra: true, second: true }, kinds: ['mul', 'add', 'sub', 'sub'] },
];

const SHOWS = ['A movie', 'A concert', 'A game', 'A play', 'A class'] as const;
const DOZENS = ['eggs', 'cookies', 'muffins', 'roses', 'pencils', 'bagels'] as const;

export const time: Template = {
  id: 'time',
  summary: 'unit facts the question does not spell out: hours to minutes (60), weeks to days (7), dozens (12)',
  build(ctx) {
    const p = choosePlan(ctx, PLANS);
    if (!p) return null;
    const { rng } = ctx;
    const b = new ProgramBuilder(ctx.difficulty);
    const [hero, other] = pickPeople(rng, 2) as [Person, Person];
    const S = capitalize(hero.subj);
    const text: string[] = [];

    switch (p.shape) {
      case 'movie': {
        const show = rng.pick(SHOWS);
        const h = b.given(small(b, rng));
        const m = b.given(amount(b, rng, 5, 59));
        text.push(`${show} lasts ${h.value} hours and ${m.value} minutes.`);
        const hm = b.step('mul', h, b.fact(60, 'hour'), (eq) => `The hours are ${eq} minutes.`);
        const total = b.step('add', hm, m, (eq) => `It lasts ${eq} minutes.`);
        if (p.watched) {
          const w = b.given(between(rng, 2, Math.min(b.maxGiven, total.value - 1)));
          text.push(`${hero.name} has watched ${w.value} minutes. How many minutes are left?`);
          b.step('sub', total, w, (eq) => `There are ${eq} minutes left.`);
        } else {
          text.push('How many minutes is that?');
        }
        break;
      }
      case 'trip': {
        const h = b.given(small(b, rng));
        const w = b.given(amount(b, rng, 10));
        text.push(`A trip takes ${h.value} hours. ${hero.name} has driven for ${w.value} minutes. How many minutes are left?`);
        const total = b.step('mul', h, b.fact(60, 'hour'), (eq) => `The trip takes ${eq} minutes.`);
        b.step('sub', total, w, (eq) => `There are ${eq} minutes left.`);
        break;
      }
      case 'weeks': {
        const w = b.given(between(rng, 2, Math.min(5, ctx.difficulty.maxMultiplier)));
        const r = b.given(small(b, rng));
        text.push(`${hero.name} saves $${r.value} a day for ${w.value} weeks.`);
        const days = b.step('mul', w, b.fact(7, 'week'), (eq) => `That is ${eq} days.`);
        let money: Quantity = b.step('mul', r, days, (eq) => `${S} saves ${eq} dollars.`);
        if (p.had) {
          const a = b.given(amount(b, rng));
          text.push(`${S} already had $${a.value}.`);
          money = b.step('add', money, a, (eq) => `${S} has ${eq} dollars.`);
        }
        if (p.spent) {
          const x = b.given(between(rng, 2, Math.min(b.maxGiven, money.value - 1)));
          text.push(`Then ${hero.subj} spends $${x.value}. How much money does ${hero.subj} have now?`);
          b.step('sub', money, x, (eq) => `${S} has ${eq} dollars left.`);
        } else {
          text.push(`How much money does ${hero.subj} have${p.had ? ' now' : ' saved'}?`);
        }
        break;
      }
      case 'dozen': {
        const thing = rng.pick(DOZENS);
        const n = b.given(small(b, rng));
        text.push(`${hero.name} buys ${n.value} dozen ${thing}.`);
        let have = b.step('mul', n, b.fact(12, 'dozen'), (eq) => `${S} buys ${eq} ${thing}.`);
        if (p.extra) {
          const x = b.given(amount(b, rng));
          text.push(`${other.name} gives ${hero.obj} ${x.value} more.`);
          have = b.step('add', have, x, (eq) => `${S} has ${eq} ${thing}.`);
        }
        const u = b.given(between(rng, 2, Math.min(b.maxGiven, have.value - 1)));
        text.push(`${S} gives ${u.value} to a friend.`);
        have = b.step('sub', have, u, (eq) => `Then ${hero.subj} has ${eq} ${thing}.`);
        if (p.second) {
          const v = b.given(between(rng, 2, Math.min(b.maxGiven, have.value - 1)));
          text.push(`${S} gives ${v.value} to ${hero.poss} class.`);
          have = b.step('sub', have, v, (eq) => `Then ${hero.subj} has ${eq} ${thing}.`);
        }
        text.push(`How many ${thing} does ${hero.name} have left?`);
        break;
      }
    }
    return b.finish('time', text.join(' '));
  },
};
