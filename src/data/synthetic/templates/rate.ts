/**
 * Rates: "A machine makes 14 toys an hour. It runs for 6 hours on Monday and 3 hours on Tuesday.
 * How many toys does it make?" Work adds up over sessions at one rate or at different rates, a
 * book's pages run out, or a target tells how many more hours are needed.
 */
import { ProgramBuilder, type Quantity } from '../builder.js';
import { capitalize, pickPeople, type Person } from '../lexicon.js';
import type { OpKind } from '../program.js';
import type { Rng } from '../rng.js';
import { amount, between, choosePlan, small, type Template } from './template.js';

interface Worker {
  /** "A machine" or a person's name. */
  name: string;
  subj: string;
  /** "makes" / "make". */
  verb: string;
  base: string;
  /** "made", for "has made 20 so far". */
  done: string;
  unit: string;
  /** "an hour" and "hours". */
  per: string;
  periods: string;
  /** The longest plausible session, in periods. */
  longest: number;
  sessions: readonly string[];
}

const HOUR_SESSIONS = ['on Monday', 'on Tuesday', 'on Wednesday'] as const;
const MINUTE_SESSIONS = ['in the morning', 'in the afternoon', 'in the evening'] as const;
const DAY_SESSIONS = ['in May', 'in June', 'in July'] as const;
const LONGEST: Readonly<Record<string, number>> = { hours: 12, minutes: 45, days: 30 };

function worker(rng: Rng, person: Person): Worker {
  const machine = (name: string, verb: string, base: string, done: string, unit: string, per: string, periods: string, sessions: readonly string[]): Worker =>
    ({ name, subj: 'it', verb, base, done, unit, per, periods, sessions, longest: LONGEST[periods] ?? 12 });
  const human = (verb: string, base: string, done: string, unit: string, per: string, periods: string, sessions: readonly string[]): Worker =>
    ({ name: person.name, subj: person.subj, verb, base, done, unit, per, periods, sessions, longest: LONGEST[periods] ?? 12 });
  return rng.pick([
    machine('A machine', 'makes', 'make', 'made', 'toys', 'an hour', 'hours', HOUR_SESSIONS),
    machine('A printer', 'prints', 'print', 'printed', 'pages', 'a minute', 'minutes', MINUTE_SESSIONS),
    machine('A factory', 'builds', 'build', 'built', 'chairs', 'a day', 'days', DAY_SESSIONS),
    machine('A pump', 'fills', 'fill', 'filled', 'buckets', 'a minute', 'minutes', MINUTE_SESSIONS),
    human('bakes', 'bake', 'baked', 'cookies', 'an hour', 'hours', HOUR_SESSIONS),
    human('picks', 'pick', 'picked', 'apples', 'an hour', 'hours', HOUR_SESSIONS),
    human('paints', 'paint', 'painted', 'cards', 'an hour', 'hours', HOUR_SESSIONS),
    human('knits', 'knit', 'knitted', 'scarves', 'a day', 'days', DAY_SESSIONS),
  ]);
}

type Plan =
  | { shape: 'sameRate'; sessions: number }
  | { shape: 'mixedRates'; sessions: number; sold: boolean }
  | { shape: 'pagesLeft'; extra: boolean }
  | { shape: 'timeNeeded'; done: boolean };

const PLANS: { plan: Plan; kinds: OpKind[] }[] = [
  { plan: { shape: 'sameRate', sessions: 2 }, kinds: ['add', 'mul'] },
  { plan: { shape: 'sameRate', sessions: 3 }, kinds: ['add', 'add', 'mul'] },
  { plan: { shape: 'mixedRates', sessions: 2, sold: false }, kinds: ['mul', 'mul', 'add'] },
  { plan: { shape: 'mixedRates', sessions: 2, sold: true }, kinds: ['mul', 'mul', 'add', 'sub'] },
  { plan: { shape: 'mixedRates', sessions: 3, sold: false }, kinds: ['mul', 'mul', 'mul', 'add', 'add'] },
  { plan: { shape: 'pagesLeft', extra: false }, kinds: ['mul', 'sub'] },
  { plan: { shape: 'pagesLeft', extra: true }, kinds: ['mul', 'add', 'sub'] },
  { plan: { shape: 'timeNeeded', done: false }, kinds: ['div'] },
  { plan: { shape: 'timeNeeded', done: true }, kinds: ['sub', 'div'] },
];

export const rate: Template = {
  id: 'rate',
  summary: 'work at a rate (items an hour, pages a day): totals over sessions, pages left, time still needed',
  build(ctx) {
    const p = choosePlan(ctx, PLANS);
    if (!p) return null;
    const { rng } = ctx;
    const b = new ProgramBuilder(ctx.difficulty);
    const [person] = pickPeople(rng, 1) as [Person];
    const text: string[] = [];

    switch (p.shape) {
      case 'sameRate': {
        const w = worker(rng, person);
        // One factor of rate × time must be small: either the rate or the summed time.
        const smallRate = rng.chance(0.5);
        const r = b.given(smallRate ? small(b, rng) : amount(b, rng, 10));
        const times = Array.from({ length: p.sessions }, () => b.given(smallRate ? amount(b, rng, 2, w.longest) : between(rng, 2, 4)));
        text.push(`${w.name} ${w.verb} ${r.value} ${w.unit} ${w.per}.`);
        const parts = times.map((t, i) => `${t.value} ${w.periods} ${w.sessions[i]}`);
        text.push(`${capitalize(w.subj)} works ${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}.`);
        text.push(`How many ${w.unit} does ${w.subj} ${w.base} in all?`);
        let t: Quantity = times[0]!;
        for (let i = 1; i < times.length; i++) t = b.step('add', t, times[i]!, (eq) => `${capitalize(w.subj)} works ${eq} ${w.periods}.`);
        b.step('mul', r, t, (eq) => `${capitalize(w.subj)} ${w.verb} ${eq} ${w.unit}.`);
        break;
      }
      case 'mixedRates': {
        const w = worker(rng, person);
        const parts: string[] = [];
        const made: Quantity[] = [];
        for (let i = 0; i < p.sessions; i++) {
          const r = b.given(amount(b, rng));
          const t = b.given(small(b, rng));
          parts.push(`${r.value} ${w.unit} ${w.per} for ${t.value} ${w.periods} ${w.sessions[i]}`);
          made.push(b.step('mul', r, t, (eq) => `${capitalize(w.sessions[i]!)} ${w.subj} ${w.verb} ${eq}.`));
        }
        text.push(`${w.name} ${w.verb} ${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}.`);
        let total = made[0]!;
        for (let i = 1; i < made.length; i++) {
          const final = i === made.length - 1;
          total = b.step('add', total, made[i]!, (eq) => (final ? `In all ${w.subj} ${w.verb} ${eq} ${w.unit}.` : `So far ${w.subj} ${w.verb} ${eq}.`));
        }
        if (p.sold) {
          const x = b.given(between(rng, 2, Math.min(b.maxGiven, total.value - 2)));
          text.push(`Then ${x.value} of the ${w.unit} are sold. How many ${w.unit} are left?`);
          b.step('sub', total, x, (eq) => `There are ${eq} ${w.unit} left.`);
        } else {
          text.push(`How many ${w.unit} does ${w.subj} ${w.base} in all?`);
        }
        break;
      }
      case 'pagesLeft': {
        const S = capitalize(person.subj);
        const r = b.given(amount(b, rng, 5, 40));
        const days = b.given(small(b, rng));
        const pages = b.given(between(rng, r.value * days.value + (p.extra ? 10 : 1), b.maxGiven));
        text.push(`${person.name}'s book has ${pages.value} pages. ${S} reads ${r.value} pages a day for ${days.value} days.`);
        let read = b.step('mul', r, days, (eq) => `${S} reads ${eq} pages in those days.`);
        if (p.extra) {
          const x = b.given(between(rng, 2, pages.value - read.value - 1));
          text.push(`Then ${person.subj} reads ${x.value} more pages.`);
          read = b.step('add', read, x, (eq) => `${S} reads ${eq} pages in all.`);
        }
        text.push('How many pages are left?');
        b.step('sub', pages, read, (eq) => `There are ${eq} pages left.`);
        break;
      }
      case 'timeNeeded': {
        const w = worker(rng, person);
        const r = b.given(small(b, rng));
        const t = between(rng, 2, Math.floor(b.maxGiven / r.value));
        if (p.done) {
          const doneCount = b.given(amount(b, rng));
          const goal = b.given(r.value * t + doneCount.value);
          text.push(`${w.name} must ${w.base} ${goal.value} ${w.unit} and has ${w.done} ${doneCount.value} so far.`);
          text.push(`${capitalize(w.subj)} ${w.verb} ${r.value} ${w.unit} ${w.per}. How many more ${w.periods} does ${w.subj} need?`);
          const rest = b.step('sub', goal, doneCount, (eq) => `${capitalize(w.subj)} still needs ${eq} ${w.unit}.`);
          b.step('div', rest, r, (eq) => `That takes ${eq} ${w.periods}.`);
        } else {
          const goal = b.given(r.value * t);
          text.push(`${w.name} ${w.verb} ${r.value} ${w.unit} ${w.per}. How many ${w.periods} does ${w.subj} need to ${w.base} ${goal.value} ${w.unit}?`);
          b.step('div', goal, r, (eq) => `${capitalize(w.subj)} needs ${eq} ${w.periods}.`);
        }
        break;
      }
    }
    return b.finish('rate', text.join(' '));
  },
};
