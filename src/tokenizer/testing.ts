/**
 * Tokenizer fixtures for tests: a small synthetic math corpus that needs no data files, a trained
 * tokenizer written to a fresh temp directory, and the GSM8K copy when the machine has one. Not used
 * at run time.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeJsonAtomic } from '../util/fsx.js';
import { testTempDir } from '../testing/tmp.js';
import { trainByteLevelBpe, type TrainedTokenizer } from './bpe-trainer.js';

/**
 * ~400 GSM8K-like lines: word problems with repeated multi-digit numbers (so a tokenizer that did not
 * split digits would learn merges such as "12"), worked answers, and a little non-ASCII text.
 */
export function tinyCorpus(): string[] {
  const names = ['Natalia', 'Weng', 'Betty', 'Julie', 'James', 'Albert', 'Mark', 'Ken'];
  const items = ['apples', 'clips', 'books', 'pages', 'cookies', 'marbles'];
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const out: string[] = [];
  for (let i = 0; i < 200; i++) {
    const name = names[rand(names.length)]!, item = items[rand(items.length)]!;
    const a = [12, 24, 48, 120, 365][rand(5)]!, b = [2, 3, 4, 12][rand(4)]!;
    out.push(`${name} has ${a} ${item}. She buys ${b} times as many ${item} in May. How many ${item} does ${name} have now?`);
    out.push(`${name} buys ${a} * ${b} = <<${a}*${b}=${a * b}>>${a * b} ${item}.\nIn total ${name} has ${a} + ${a * b} = <<${a}+${a * b}=${a + a * b}>>${a + a * b} ${item}.\n#### ${a + a * b}`);
  }
  out.push('Café prices: 3 € each, naïve résumé, 中文 数学, Ünïcödé — “quotes” and emoji 😀.');
  out.push("It's what they'll say: we're sure you've done it, I'm told, he'd agree.");
  return out;
}

export function writeTokenizerDir(dir: string, trained: TrainedTokenizer): string {
  writeJsonAtomic(join(dir, 'tokenizer.json'), trained.tokenizerJson);
  writeJsonAtomic(join(dir, 'tokenizer_config.json'), trained.tokenizerConfigJson);
  return dir;
}

/** A fresh temp directory holding a tokenizer trained on `tinyCorpus()` (vocabulary 320). */
export function tinyTokenizerDir(vocabSize = 320): { dir: string; trained: TrainedTokenizer } {
  const trained = trainByteLevelBpe(tinyCorpus(), { vocabSize });
  const dir = writeTokenizerDir(testTempDir('lr-tokenizer-'), trained);
  return { dir, trained };
}

/**
 * GSM8K's train.jsonl from the nearest `shared/data/gsm8k/` at or above the repository root
 * (`../shared/data/gsm8k/` in a checkout beside the shared folder), or null when there is none.
 */
export function findGsm8kTrain(): string | null {
  let dir = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  for (let up = 0; up < 4; up++) {
    const p = join(dir, 'shared', 'data', 'gsm8k', 'train.jsonl');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return null;
}
