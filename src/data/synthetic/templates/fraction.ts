/**
 * Fractions and percentages that stay whole: "A farm has 84 animals. A quarter of them are cows and
 * 15 are pigs. The rest are sheep. How many sheep are there?" or "A $40 coat is 25% off." Only
 * fractions with a well-known divisor (half, a third, a quarter, a fifth; 50%, 25%, 20%), and wholes
 * chosen to divide exactly.
 */
import { ProgramBuilder, Reject } from '../builder.js';
import { FRACTIONS, PERCENTS, SHOP_ITEMS, capitalize, pickPeople, withArticle, type Fraction, type Person } from '../lexicon.js';
import type { OpKind } from '../program.js';
import { between, choosePlan, small, type Template } from './template.js';

type Plan = { shape: 'rest'; second: boolean } | { shape: 'discount'; buyMany: boolean; change: boolean };

const PLANS: { plan: Plan; kinds: OpKind[] }[] = [
  { plan: { shape: 'rest', second: false }, kinds: ['div', 'sub'] },
  { plan: { shape: 'rest', second: true }, kinds: ['div', 'add', 'sub'] },
  { plan: { shape: 'discount', buyMany: false, change: false }, kinds: ['div', 'sub'] },
  { plan: { shape: 'discount', buyMany: true, change: false }, kinds: ['div', 'sub', 'mul'] },
  { plan: { shape: 'discount', buyMany: true, change: true }, kinds: ['div', 'sub', 'mul', 'sub'] },
];

interface Scene {
  /** "A farm has" */
  holder: string;
  whole: string;
  parts: readonly [string, string, string];
}

const SCENES: readonly Scene[] = [
  { holder: 'A farm has', whole: 'animals', parts: ['cows', 'pigs', 'sheep'] },
  { holder: 'A basket has', whole: 'fruits', parts: ['apples', 'pears', 'plums'] },
  { holder: 'A garden has', whole: 'flowers', parts: ['roses', 'tulips', 'daisies'] },
  { holder: 'A shop has', whole: 'toys', parts: ['cars', 'dolls', 'balls'] },
  { holder: 'A pond has', whole: 'birds', parts: ['ducks', 'geese', 'swans'] },
  { holder: 'A zoo has', whole: 'animals', parts: ['lions', 'bears', 'zebras'] },
];

export const fraction: Template = {
  id: 'fraction',
  summary: 'whole-number fractions and percentages of a total (half, a quarter, 25% off), then the rest or a sale price',
  build(ctx) {
    const p = choosePlan(ctx, PLANS);
    if (!p) return null;
    const { rng } = ctx;
    const b = new ProgramBuilder(ctx.difficulty);
    // "50%" writes the number 50, which must respect maxDigits like every other numeral.
    const usable = (fs: readonly Fraction[]): Fraction[] =>
      fs.filter((f) => f.divisor <= ctx.difficulty.maxMultiplier && Number(/\d+/.exec(f.cue)?.[0] ?? 0) <= b.maxGiven);
    const text: string[] = [];

    if (p.shape === 'rest') {
      const scene = rng.pick(SCENES);
      const [first, second, rest] = scene.parts;
      const f = rng.pick([...usable(FRACTIONS), ...usable(PERCENTS)]);
      const total = b.given(f.divisor * between(rng, 2, Math.floor(b.maxGiven / f.divisor)));
      const part = b.step('div', total, b.fact(f.divisor, f.cue), (eq) => `There are ${eq} ${first}.`);
      let taken = part;
      if (p.second) {
        const x = b.given(between(rng, 2, Math.min(b.maxGiven, total.value - part.value - 1)));
        text.push(`${scene.holder} ${total.value} ${scene.whole}. ${capitalize(f.cue)} of them are ${first} and ${x.value} are ${second}.`);
        taken = b.step('add', part, x, (eq) => `${capitalize(first)} and ${second} make ${eq}.`);
      } else {
        text.push(`${scene.holder} ${total.value} ${scene.whole}. ${capitalize(f.cue)} of them are ${first}.`);
      }
      text.push(`The rest are ${rest}. How many ${rest} are there?`);
      b.step('sub', total, taken, (eq) => `There are ${eq} ${rest}.`);
    } else {
      const [hero] = pickPeople(rng, 1) as [Person];
      const it = rng.pick(SHOP_ITEMS);
      const f = rng.pick([...usable(PERCENTS), ...usable(FRACTIONS)]);
      const price = b.given(f.divisor * between(rng, 2, Math.floor(Math.min(b.maxGiven, it.hi * 2) / f.divisor)));
      text.push(`${capitalize(withArticle(it.one))} costs $${price.value}. It is on sale for ${f.cue} off.`);
      const off = b.step('div', price, b.fact(f.divisor, f.cue), (eq) => `The discount is ${eq} dollars.`);
      const sale = b.step('sub', price, off, (eq) => `The sale price is ${eq} dollars.`);
      if (p.buyMany) {
        const q = b.given(small(b, rng));
        text.push(`${hero.name} buys ${q.value} ${it.many} on sale.`);
        const paid = b.step('mul', q, sale, (eq) => `${capitalize(hero.subj)} pays ${eq} dollars.`);
        if (p.change) {
          const bills = [10, 20, 50, 100].filter((v) => v > paid.value && v <= b.maxGiven);
          if (bills.length === 0) throw new Reject('no bill large enough');
          const bill = b.given(rng.pick(bills));
          text.push(`${capitalize(hero.subj)} pays with a $${bill.value} bill. How much change does ${hero.subj} get?`);
          b.step('sub', bill, paid, (eq) => `${capitalize(hero.subj)} gets ${eq} dollars in change.`);
        } else {
          text.push(`How much does ${hero.subj} pay?`);
        }
      } else {
        text.push('How much does it cost on sale?');
      }
    }
    return b.finish('fraction', text.join(' '));
  },
};
