/**
 * The Expert and Amateur are compared id by id — the Amateur scores the Expert's own token ids and
 * KL(pE‖pA) runs over one shared vocabulary — so they must share a tokenizer: same id → token table,
 * same special tokens. This is checked up front instead of truncating to the smaller vocabulary
 * (METHOD.md, defect 5).
 */
import { createHash } from 'node:crypto';
import { UserError } from '../util/errors.js';

/** What a vocabulary comparison needs of a tokenizer (HfTokenizer has it). */
export interface Vocabulary {
  readonly vocabSize: number;
  readonly specialTokenIds: readonly number[];
  idToToken(id: number): string | undefined;
}

/**
 * A short stable name for a vocabulary, for run manifests: SHA-256 over (id, token, special?) for
 * every id below vocabSize. Equal fingerprints mean equal id → token tables; how text is split into
 * tokens (normalizer, pre-tokenizer) is not part of it.
 */
export function vocabularyFingerprint(vocab: Vocabulary): string {
  const special = new Set(vocab.specialTokenIds);
  const h = createHash('sha256');
  for (let id = 0; id < vocab.vocabSize; id++) {
    h.update(`${id}\t${JSON.stringify(vocab.idToToken(id) ?? null)}\t${special.has(id) ? 1 : 0}\n`);
  }
  return `sha256:${h.digest('hex')}`;
}

const SHOW = 5;

function spell(vocab: Vocabulary, id: number): string {
  const t = vocab.idToToken(id);
  return t === undefined ? '(no token)' : JSON.stringify(t);
}

/**
 * Throw a UserError naming both tokenizers and what differs (sizes, the first differing ids with
 * their tokens, special tokens only one side has) unless `a` and `b` have identical vocabularies.
 */
export function assertSameVocabulary(a: Vocabulary, b: Vocabulary, nameA: string, nameB: string): void {
  const problems: string[] = [];
  if (a.vocabSize !== b.vocabSize) problems.push(`vocabulary sizes differ: ${nameA} has ${a.vocabSize} ids, ${nameB} has ${b.vocabSize}`);

  const differing: number[] = [];
  let differingCount = 0;
  for (let id = 0; id < Math.max(a.vocabSize, b.vocabSize); id++) {
    if (a.idToToken(id) !== b.idToToken(id)) {
      differingCount++;
      if (differing.length < SHOW) differing.push(id);
    }
  }
  if (differingCount > 0) {
    const shown = differing.map((id) => `id ${id}: ${spell(a, id)} vs ${spell(b, id)}`).join('; ');
    problems.push(`${differingCount} id(s) map to different tokens (${nameA} vs ${nameB}), first ${differing.length}: ${shown}`);
  }

  const specialA = new Set(a.specialTokenIds), specialB = new Set(b.specialTokenIds);
  const onlyA = a.specialTokenIds.filter((id) => !specialB.has(id));
  const onlyB = b.specialTokenIds.filter((id) => !specialA.has(id));
  if (onlyA.length > 0 || onlyB.length > 0) {
    const list = (v: Vocabulary, name: string, ids: number[]): string[] => ids.length === 0 ? [] : [
      `only ${name} marks ${ids.slice(0, SHOW).map((id) => `${id} ${spell(v, id)}`).join(', ')}${ids.length > SHOW ? `, ... (${ids.length} in all)` : ''}`,
    ];
    problems.push(`special tokens differ: ${[...list(a, nameA, onlyA), ...list(b, nameB, onlyB)].join('; ')}`);
  }

  if (problems.length > 0) {
    throw new UserError(`${nameA} and ${nameB} do not share a tokenizer, but the Expert and Amateur must (their next-token distributions are compared id by id): ${problems.join('. ')}`);
  }
}
