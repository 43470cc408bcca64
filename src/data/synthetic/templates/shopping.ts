/**
 * Buying things: "Leo buys 3 pens for $4 each and a book for $12. He pays with a $50 bill. How much
 * change does he get?" Quantities multiply by prices, costs add up, and the story ends with the
 * total, the change, the money left, or an equal split of the cost.
 */
import { ProgramBuilder, Reject, type Quantity } from '../builder.js';
import { SHOP_ITEMS, capitalize, listJoin, pickPeople, withArticle, type ShopItem } from '../lexicon.js';
import type { OpKind } from '../program.js';
import { between, choosePlan, divisorOf, small, type Template } from './template.js';

type End = 'total' | 'change' | 'left' | 'split';

interface Plan {
  /** For each item bought, whether it comes in a quantity (a multiplication) or singly. */
  many: boolean[];
  end: End;
}

const END_KINDS: Record<End, OpKind[]> = { total: [], change: ['sub'], left: ['sub'], split: ['div'] };

const PLANS: { plan: Plan; kinds: OpKind[] }[] = [];
for (let k = 1; k <= 3; k++) {
  for (let mask = 0; mask < 1 << k; mask++) {
    const many = Array.from({ length: k }, (_, i) => ((mask >> i) & 1) === 1);
    for (const end of Object.keys(END_KINDS) as End[]) {
      const kinds: OpKind[] = [...many.filter(Boolean).map((): OpKind => 'mul'), ...Array<OpKind>(k - 1).fill('add'), ...END_KINDS[end]];
      if (kinds.length > 0) PLANS.push({ plan: { many, end }, kinds });
    }
  }
}

export const shopping: Template = {
  id: 'shopping',
  summary: 'buying items at a price each, then the total, the change from a bill, the money left or an equal split',
  build(ctx) {
    const p = choosePlan(ctx, PLANS);
    if (!p) return null;
    const { rng } = ctx;
    const b = new ProgramBuilder(ctx.difficulty);
    const [hero] = pickPeople(rng, 1);
    if (!hero) throw new Error('no people');
    const S = capitalize(hero.subj);
    const items: ShopItem[] = [];
    while (items.length < p.many.length) {
      const it = rng.pick(SHOP_ITEMS);
      if (!items.includes(it)) items.push(it);
    }

    const bought = items.map((it, i) => {
      const price = b.given(between(rng, Math.min(it.lo, b.maxGiven), Math.min(it.hi, b.maxGiven)));
      const count = p.many[i] ? b.given(small(b, rng)) : null;
      return { it, price, count, label: count ? it.many : it.one };
    });
    const costs: Quantity[] = bought.map(({ it, price, count }) =>
      count ? b.step('mul', count, price, (eq) => `The ${it.many} cost ${eq} dollars.`) : price);
    let total = costs[0]!;
    for (let i = 1; i < costs.length; i++) {
      const last = i === costs.length - 1;
      const names = bought.slice(0, i + 1).map((x) => `the ${x.label}`);
      total = b.step('add', total, costs[i]!, (eq) => (last ? `In all ${hero.subj} spends ${eq} dollars.` : `${capitalize(listJoin(names))} cost ${eq} dollars.`));
    }

    const text: string[] = [];
    if (rng.chance(0.5)) {
      const parts = bought.map(({ it, price, count }) => (count ? `${count.value} ${it.many} for $${price.value} each` : `${withArticle(it.one)} for $${price.value}`));
      text.push(`${hero.name} buys ${listJoin(parts)}.`);
    } else {
      for (const { it, price, count } of bought) text.push(count ? `${capitalize(it.many)} cost $${price.value} each.` : `${capitalize(withArticle(it.one))} costs $${price.value}.`);
      text.push(`${hero.name} buys ${listJoin(bought.map(({ it, count }) => (count ? `${count.value} ${it.many}` : withArticle(it.one))))}.`);
    }

    switch (p.end) {
      case 'total':
        text.push(rng.pick([`How much does ${hero.name} spend in total?`, `How much money does ${hero.name} spend?`]));
        break;
      case 'change': {
        const bills = [5, 10, 20, 50, 100].filter((v) => v > total.value && v <= b.maxGiven);
        if (bills.length === 0) throw new Reject('no bill large enough');
        const bill = b.given(rng.pick(bills));
        text.push(`${S} pays with a $${bill.value} bill. How much change does ${hero.subj} get?`);
        b.step('sub', bill, total, (eq) => `${S} gets ${eq} dollars in change.`);
        break;
      }
      case 'left': {
        const money = b.given(between(rng, total.value + 1, b.maxGiven));
        text.unshift(`${hero.name} has $${money.value}.`);
        text.push(`How much money does ${hero.subj} have left?`);
        b.step('sub', money, total, (eq) => `${S} has ${eq} dollars left.`);
        break;
      }
      case 'split': {
        const n = b.given(divisorOf(b, rng, total.value));
        text.push(`The cost is shared equally by ${n.value} people. How much does each person pay?`);
        b.step('div', total, n, (eq) => `Each person pays ${eq} dollars.`);
        break;
      }
    }
    return b.finish('shopping', text.join(' '));
  },
};
