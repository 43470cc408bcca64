/**
 * Corpus documents as JSONL, one `{"id", "kind", "text"}` object per line: the form `lightreasoner
 * pretrain` and `train-tokenizer` read plain-text documents in (a record with a "text" field).
 */
import { writeFileAtomicStreaming } from '../../util/fsx.js';
import type { CorpusDocument } from './general.js';

export interface CorpusRecord {
  id: string;
  kind: string;
  text: string;
}

export function toCorpusRecord(d: CorpusDocument): CorpusRecord {
  return { id: d.id, kind: d.kind, text: d.text };
}

/** Written atomically (readers see the old file or all of the new one), streamed so large corpora fit. */
export function writeCorpusJsonl(path: string, documents: Iterable<CorpusDocument>): void {
  writeFileAtomicStreaming(path, (write) => {
    for (const d of documents) write(Buffer.from(`${JSON.stringify(toCorpusRecord(d))}\n`, 'utf8'));
  });
}
