/**
 * The base-regime world's *general* corpus (issue 13): non-math text a small base model learns
 * language and the chat frame from. Five kinds of document, drawn from a seeded stream:
 *   narrative    a short story that mentions quantities ("three cats", "12 shells") without computing
 *   dialogue     two people talking, in plain text ("Ava: ...")
 *   list         a titled list (a packing list, a shopping list, a class roster)
 *   description  a paragraph describing a place or a thing
 *   howto        instructions written step by step ("Please read each step, and put ... within ..."),
 *                so the everyday words of instructions (the evaluation's system prompt among them)
 *                are known as a base model knows them, without the prompt itself ever appearing
 *   chat         a ChatML conversation (system, user, assistant; sometimes two rounds) on a non-math
 *                topic, rendered exactly as Qwen2.5's chat template renders it, so a model trained on
 *                this text knows the frame it is evaluated in
 * No document states an equation, an answer line or a result computed from other numbers: numbers
 * appear only as counts, ages, years and times, as in ordinary prose. The same (count, seed) always
 * gives the same documents, and a shorter count a prefix of them.
 *
 *   generateGeneralDocuments({ count: 3, seed: 1 })  // [{ id: 'general-1-0', kind: 'narrative', text: '...' }, ...]
 */
import { UserError } from '../../util/errors.js';
import { fnv1a32 } from '../synthetic/hash.js';
import { CONTAINERS, COUNTABLES, PEOPLE, SHOP_ITEMS, capitalize, pickPeople, withArticle, type Person } from '../synthetic/lexicon.js';
import { createRng, pickWeighted, type Rng } from '../synthetic/rng.js';
import type { ChatMessage } from '../prompts.js';

export const GENERAL_KINDS = ['narrative', 'dialogue', 'list', 'description', 'howto', 'chat'] as const;
export type GeneralKind = (typeof GENERAL_KINDS)[number];

/** How often each kind is drawn; chat gets a quarter so the frame is well known (see the pre-registration). */
const KIND_WEIGHTS: Readonly<Record<GeneralKind, number>> = { narrative: 0.2, dialogue: 0.15, list: 0.12, description: 0.16, howto: 0.12, chat: 0.25 };

export interface CorpusDocument {
  /** "<corpus>-<seed>-<index>". */
  id: string;
  kind: string;
  text: string;
}

export interface GeneralCorpusOptions {
  count: number;
  /** Any integer from 0 to 2^32 - 1. */
  seed: number;
}

/** System prompts of the chat documents: Qwen2.5's default and a few plain ones (never the evaluation's). */
export const GENERAL_SYSTEM_PROMPTS = [
  'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.',
  'You are a helpful assistant.',
  'You are a friendly assistant. Answer briefly.',
] as const;

const PLACES = ['park', 'library', 'market', 'garden', 'beach', 'school', 'farm', 'museum', 'zoo', 'harbor', 'forest', 'village'] as const;
const ANIMALS = ['cat', 'dog', 'goat', 'duck', 'horse', 'rabbit', 'owl', 'fox', 'sheep', 'hen'] as const;
const COLORS = ['red', 'blue', 'green', 'yellow', 'white', 'brown', 'gray', 'orange', 'purple', 'black'] as const;
const WEATHER = ['sunny', 'windy', 'rainy', 'cold', 'warm', 'cloudy', 'quiet', 'bright'] as const;
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;
const SEASONS = ['spring', 'summer', 'autumn', 'winter'] as const;
const FEELINGS = ['happy', 'tired', 'curious', 'proud', 'calm', 'excited', 'sleepy', 'surprised'] as const;
const ACTIVITIES = ['read a book', 'paint a picture', 'play music', 'plant seeds', 'bake bread', 'fly a kite', 'write a letter', 'go for a walk', 'watch the birds', 'clean the room'] as const;
const ADJECTIVES = ['old', 'small', 'tall', 'quiet', 'busy', 'bright', 'narrow', 'wide', 'cozy', 'famous'] as const;
const FEATURES: Readonly<Record<(typeof PLACES)[number], readonly string[]>> = {
  park: ['benches', 'trees', 'paths', 'swings', 'ponds'], library: ['shelves', 'tables', 'lamps', 'rooms', 'windows'],
  market: ['stalls', 'carts', 'signs', 'tents', 'lanes'], garden: ['flower beds', 'roses', 'bushes', 'paths', 'trees'],
  beach: ['huts', 'boats', 'dunes', 'towels', 'umbrellas'], school: ['classrooms', 'desks', 'teachers', 'windows', 'doors'],
  farm: ['barns', 'fields', 'cows', 'fences', 'tractors'], museum: ['halls', 'paintings', 'statues', 'rooms', 'guides'],
  zoo: ['cages', 'ponds', 'lions', 'keepers', 'paths'], harbor: ['boats', 'docks', 'cranes', 'ships', 'lights'],
  forest: ['trails', 'oaks', 'streams', 'cabins', 'bridges'], village: ['houses', 'shops', 'wells', 'streets', 'bridges'],
};
/** Instructions, in order: the first step opens, the last one closes. */
const HOWTO_TASKS: ReadonlyArray<{ what: string; steps: readonly string[] }> = [
  { what: 'plant seeds', steps: ['Find a sunny spot in the garden.', 'Dig a small hole with your hands.', 'Put the seeds within the hole.', 'Cover them with soil.', 'Give them some water.', 'Wait and watch them grow.'] },
  { what: 'bake bread', steps: ['Wash your hands.', 'Put the flour in a big bowl.', 'Add water and mix it well.', 'Let the dough rest for a while.', 'Shape it and put it in the oven.', 'Let the bread cool before you eat it.'] },
  { what: 'pack a bag', steps: ['Make a list of what you need.', 'Put the heavy things at the bottom.', 'Fold your clothes.', 'Put small things within the side pockets.', 'Check the list again.', 'Close the bag.'] },
  { what: 'write a letter', steps: ['Think about what you want to say.', 'Write the date at the top.', 'Greet your friend by name.', 'Tell your news in a few lines.', 'Sign your name at the end.', 'Put the letter in an envelope.'] },
  { what: 'clean the room', steps: ['Open the window.', 'Pick up the toys and books.', 'Put each thing in its place.', 'Dust the shelves.', 'Sweep the floor.', 'Enjoy your clean room.'] },
  { what: 'answer a letter', steps: ['Read the letter again.', 'Note the questions your friend asked.', 'Reason about what to tell them.', 'Write your reply.', 'Put the final version within an envelope.', 'Mail it the next day.'] },
];

const NUMBER_WORDS = ['two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'] as const;

export function generateGeneralDocuments(options: GeneralCorpusOptions): CorpusDocument[] {
  const { count, seed } = options;
  if (!Number.isInteger(count) || count < 0) throw new UserError(`count must be a non-negative integer, got ${JSON.stringify(count)}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UserError(`seed must be an integer from 0 to ${0xffffffff}, got ${JSON.stringify(seed)}`);
  const rng = createRng(fnv1a32(`lightreasoner-base-general:${seed}`));
  const out: CorpusDocument[] = [];
  for (let i = 0; i < count; i++) {
    const kind = weightedKind(rng);
    out.push({ id: `general-${seed}-${i}`, kind, text: WRITERS[kind](rng) });
  }
  return out;
}

/**
 * ChatML text exactly as Qwen2.5's chat template renders `messages` without a generation prompt
 * (the test checks it against the Jinja template itself).
 */
export function renderChatMl(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('');
}

function weightedKind(rng: Rng): GeneralKind {
  return pickWeighted(rng, GENERAL_KINDS, KIND_WEIGHTS);
}

/** A small count, as prose writes it: a word or a numeral. */
function count(rng: Rng): string {
  return rng.chance(0.5) ? rng.pick(NUMBER_WORDS) : String(rng.int(2, 40));
}

const WRITERS: Readonly<Record<GeneralKind, (rng: Rng) => string>> = {
  narrative(rng) {
    const [a, b] = pickPeople(rng, 2) as [Person, Person];
    const place = rng.pick(PLACES);
    const animal = rng.pick(ANIMALS);
    const thing = rng.pick(COUNTABLES);
    const sentences = [
      `On a ${rng.pick(WEATHER)} ${rng.pick(DAYS)} in ${rng.pick(SEASONS)}, ${a.name} went to the ${place} with ${b.name}.`,
      `${capitalize(a.subj)} had ${count(rng)} ${thing.many} in ${a.poss} ${rng.pick(CONTAINERS).one}, and ${b.name} carried ${withArticle(rng.pick(COLORS))} ${rng.pick(SHOP_ITEMS).one}.`,
      `At the ${place} they saw ${count(rng)} ${rng.pick(FEATURES[place])} and ${withArticle(animal)} that was ${rng.pick(ADJECTIVES)} and ${rng.pick(COLORS)}.`,
      `${b.name} said that ${b.subj} wanted to ${rng.pick(ACTIVITIES)} later.`,
      `${a.name} laughed, because ${a.subj} was ${rng.pick(FEELINGS)}.`,
      `They stayed until ${rng.int(1, 12)} o'clock and then walked home.`,
      `${b.name} is ${rng.int(6, 70)} years old and has lived near the ${rng.pick(PLACES)} since ${rng.int(1950, 2024)}.`,
      `That night ${a.name} wrote about the day in ${a.poss} diary.`,
    ];
    const n = rng.int(3, sentences.length);
    return [sentences[0]!, ...shuffle(rng, sentences.slice(1)).slice(0, n - 1)].join(' ');
  },

  dialogue(rng) {
    const [a, b] = pickPeople(rng, 2) as [Person, Person];
    const place = rng.pick(PLACES);
    const thing = rng.pick(COUNTABLES);
    const lines: Array<[Person, string]> = [
      [a, `Hi ${b.name}! Are you going to the ${place} today?`],
      [b, rng.chance(0.5) ? `Yes, I want to ${rng.pick(ACTIVITIES)} there.` : `Maybe. It looks ${rng.pick(WEATHER)} outside.`],
      [a, `I found ${count(rng)} ${thing.many} in the ${rng.pick(CONTAINERS).one} this morning.`],
      [b, `Really? My ${rng.pick(['sister', 'brother', 'aunt', 'uncle', 'friend'])} has ${withArticle(rng.pick(ANIMALS))} named ${rng.pick(PEOPLE).name}.`],
      [a, `That is nice. I feel ${rng.pick(FEELINGS)} today.`],
      [b, `Let's meet at ${rng.int(1, 12)} o'clock near the ${rng.pick(FEATURES[place])}.`],
      [a, `Okay, see you then!`],
    ];
    const n = rng.int(3, lines.length);
    return lines.slice(0, n).map(([p, s]) => `${p.name}: ${s}`).join('\n');
  },

  list(rng) {
    const who = rng.pick(PEOPLE);
    const style = rng.int(0, 2);
    const title = rng.pick([`${who.name}'s packing list`, `Things to buy at the market`, `Class roster`, `Animals at the ${rng.pick(PLACES)}`, `Colors for the new room`]);
    const n = rng.int(3, 7);
    const items: string[] = [];
    for (let i = 0; i < n; i++) {
      items.push(title === 'Class roster' ? rng.pick(PEOPLE).name
        : title.startsWith('Animals') ? `${count(rng)} ${rng.pick(ANIMALS)}s`
          : title.startsWith('Colors') ? rng.pick(COLORS)
            : rng.chance(0.5) ? `${count(rng)} ${rng.pick(COUNTABLES).many}` : withArticle(rng.pick(SHOP_ITEMS).one));
    }
    const body = items.map((it, i) => (style === 0 ? `- ${it}` : style === 1 ? `${i + 1}. ${it}` : `* ${it}`)).join('\n');
    return `${title}:\n${body}`;
  },

  description(rng) {
    const place = rng.pick(PLACES);
    const features = shuffle(rng, FEATURES[place]);
    const sentences = [
      `The ${place} is ${rng.pick(ADJECTIVES)} and ${rng.pick(ADJECTIVES)}.`,
      `It has ${count(rng)} ${features[0]} and ${count(rng)} ${features[1]}.`,
      `In ${rng.pick(SEASONS)} it is usually ${rng.pick(WEATHER)}, and people come to ${rng.pick(ACTIVITIES)}.`,
      `The ${features[2]} are ${rng.pick(COLORS)}, and the ${features[3]} are ${rng.pick(ADJECTIVES)}.`,
      `It opens at ${rng.int(6, 10)} in the morning and closes at ${rng.int(4, 9)} in the evening.`,
      `It was built in ${rng.int(1800, 2020)}.`,
    ];
    return shuffle(rng, sentences).slice(0, rng.int(3, sentences.length)).join(' ');
  },

  howto(rng) {
    const task = rng.pick(HOWTO_TASKS);
    // Some middle steps are left out; the order is kept.
    const all = task.steps.filter((_, i) => i === 0 || i === task.steps.length - 1 || rng.chance(0.75));
    const intro = rng.pick([`How to ${task.what}, step by step.`, `${capitalize(task.what)}: a short guide.`, `Please read each step before you ${task.what}.`]);
    const style = rng.int(0, 1);
    const body = all.map((st, i) => (style === 0 ? `Step ${i + 1}: ${st}` : `${i + 1}. ${st}`)).join('\n');
    const outro = rng.pick(['Think about why each step matters.', 'Take your time, and ask a friend if you need help.', 'The final step is the most fun.', 'Please reason about what you need before you start.', '']);
    return `${intro}\n${body}${outro ? `\n${outro}` : ''}`;
  },

  chat(rng) {
    const messages: ChatMessage[] = [{ role: 'system', content: rng.pick(GENERAL_SYSTEM_PROMPTS) }];
    const rounds = rng.chance(0.25) ? 2 : 1;
    for (let r = 0; r < rounds; r++) {
      const [question, reply] = chatTurn(rng);
      messages.push({ role: 'user', content: question }, { role: 'assistant', content: reply });
    }
    return renderChatMl(messages);
  },
};

/** One user question on a non-math topic and the assistant's reply, built from the other writers. */
function chatTurn(rng: Rng): [string, string] {
  const place = rng.pick(PLACES);
  const person = rng.pick(PEOPLE);
  switch (rng.int(0, 5)) {
    case 0:
      return [`Can you describe a ${place}?`, `Sure. ${WRITERS.description(rng)}`];
    case 1:
      return [`Tell me a short story about ${person.name}.`, WRITERS.narrative(rng)];
    case 2:
      return [`Write a short dialogue between two friends.`, WRITERS.dialogue(rng)];
    case 3:
      return [`Make me a list.`, `Here is one.\n${WRITERS.list(rng)}`];
    case 4: {
      const animal = rng.pick(ANIMALS);
      return [`What is ${withArticle(animal)}?`, `${capitalize(withArticle(animal))} is an animal. Many people see one at the ${rng.pick(['farm', 'zoo', 'park', 'forest'])}. It can be ${rng.pick(COLORS)} or ${rng.pick(COLORS)}.`];
    }
    default: {
      const activity = rng.pick(ACTIVITIES);
      return [`What should I do on a ${rng.pick(WEATHER)} ${rng.pick(DAYS)}?`, `You could ${activity}, or visit the ${place}. If you feel ${rng.pick(FEELINGS)}, ${rng.pick(ACTIVITIES)} at home.`];
    }
  }
}

function shuffle<T>(rng: Rng, items: readonly T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
