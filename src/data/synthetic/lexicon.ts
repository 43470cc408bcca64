/**
 * The words the templates draw from: people, countable things, containers, shop items and the
 * fractions with a well-known divisor. Short, common words, so that a small byte-level BPE
 * vocabulary gives most of them one token and the budget goes to the numbers.
 */
import type { Rng } from './rng.js';

export interface Person {
  name: string;
  /** Subject, object and possessive pronouns: "she / her / her". */
  subj: string;
  obj: string;
  poss: string;
}

const she = (name: string): Person => ({ name, subj: 'she', obj: 'her', poss: 'her' });
const he = (name: string): Person => ({ name, subj: 'he', obj: 'him', poss: 'his' });

export const PEOPLE: readonly Person[] = [
  she('Ava'), he('Ben'), she('Mia'), he('Leo'), she('Zoe'), he('Sam'), she('Lily'), he('Max'),
  she('Emma'), he('Noah'), she('Ella'), he('Omar'), she('Nina'), he('Jack'), she('Ruby'), he('Liam'),
  she('Sara'), he('Tom'), she('Ivy'), he('Dan'), she('Amy'), he('Raj'), she('Kim'), he('Carl'),
  she('Lucy'), he('Hugo'), she('Rosa'), he('Finn'), she('Maya'), he('Eli'),
];

export interface Countable {
  one: string;
  many: string;
  /** Food can be eaten, baked and picked; other things cannot. */
  food: boolean;
}

const thing = (one: string, many = `${one}s`): Countable => ({ one, many, food: false });
const food = (one: string, many = `${one}s`): Countable => ({ one, many, food: true });

export const COUNTABLES: readonly Countable[] = [
  thing('marble'), thing('sticker'), thing('card'), thing('shell'), thing('stamp'), thing('coin'),
  thing('bead'), thing('pencil'), thing('book'), thing('button'), thing('rock'), thing('badge'),
  thing('balloon'), thing('crayon'), thing('toy'),
  food('apple'), food('cookie'), food('egg'), food('orange'), food('cupcake'), food('muffin'),
  food('lemon'), food('candy', 'candies'), food('peach', 'peaches'), food('carrot'),
];

export interface Container {
  one: string;
  many: string;
}

export const CONTAINERS: readonly Container[] = [
  { one: 'box', many: 'boxes' }, { one: 'bag', many: 'bags' }, { one: 'pack', many: 'packs' },
  { one: 'jar', many: 'jars' }, { one: 'basket', many: 'baskets' }, { one: 'crate', many: 'crates' },
  { one: 'tray', many: 'trays' }, { one: 'tin', many: 'tins' }, { one: 'bucket', many: 'buckets' },
];

export interface ShopItem {
  one: string;
  many: string;
  /** A plausible price range in dollars (clipped to the difficulty's largest number). */
  lo: number;
  hi: number;
}

const item = (one: string, lo: number, hi: number, many = `${one}s`): ShopItem => ({ one, many, lo, hi });

export const SHOP_ITEMS: readonly ShopItem[] = [
  item('pen', 2, 6), item('pencil', 2, 4), item('notebook', 2, 9), item('ruler', 2, 5),
  item('ball', 3, 15), item('kite', 5, 20), item('book', 5, 25), item('cap', 5, 20),
  item('shirt', 8, 30), item('mug', 3, 12), item('ticket', 4, 20), item('sandwich', 3, 9, 'sandwiches'),
  item('juice', 2, 5, 'juices'), item('lamp', 10, 40), item('plant', 4, 15), item('game', 10, 60),
  item('puzzle', 6, 25), item('scarf', 6, 20, 'scarves'), item('bowl', 3, 10), item('candle', 2, 8),
];

/** A fraction of a whole named in words, and the number that whole is divided by. */
export interface Fraction {
  cue: string;
  divisor: number;
}

export const FRACTIONS: readonly Fraction[] = [
  { cue: 'half', divisor: 2 }, { cue: 'a third', divisor: 3 }, { cue: 'a quarter', divisor: 4 }, { cue: 'a fifth', divisor: 5 },
];

export const PERCENTS: readonly Fraction[] = [
  { cue: '50%', divisor: 2 }, { cue: '25%', divisor: 4 }, { cue: '20%', divisor: 5 },
];

/** `n` different people. */
export function pickPeople(rng: Rng, n: number): Person[] {
  const out: Person[] = [];
  while (out.length < n) {
    const p = rng.pick(PEOPLE);
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

export function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** "a, b and c". */
export function listJoin(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** "a pen", "an apple". */
export function withArticle(noun: string): string {
  return `${/^[aeiou]/i.test(noun) ? 'an' : 'a'} ${noun}`;
}
