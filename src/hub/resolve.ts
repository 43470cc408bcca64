/**
 * From what a user types after --model (a directory, or a Hugging Face id `ORG/NAME`) to a local
 * directory the loaders read:
 *
 *   const dir = await resolveModelRef('Qwen/Qwen2.5-0.5B', { revision: 'main', onProgress });
 *   // ~/.cache/huggingface/hub/models--Qwen--Qwen2.5-0.5B/snapshots/<commit>
 *
 * An existing path is returned as it is. An id is looked up in the Hub cache that Python's
 * huggingface_hub shares (src/hub/cache.ts); what is missing is fetched with the official
 * `@huggingface/hub` client — only the files a model (or adapter) needs, resumable, each checked
 * against its hash — and written in that same layout. Environment, as huggingface_hub reads it:
 * HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (else the token file `huggingface-cli login`
 * wrote), HF_HUB_OFFLINE=1 (cache only), HF_HUB_CACHE / HF_HOME (where the cache is).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { UserError, errorMessage } from '../util/errors.js';
import type { ProgressCallback } from '../util/progress.js';
import { WEIGHTS_INDEX_FILE, weightsIndexShards } from './weights-index.js';
import { COMMIT_HASH, RepoCache, checkEtag, checkRepoPath, checkRevision, hubCacheDir, isHubId, type Environment } from './cache.js';

/** What the reference names, which decides the files fetched and the words of errors. */
export type ModelRefKind = 'model' | 'adapter';

export interface ResolveModelRefOptions {
  /** Branch, tag or commit hash of a Hub id (default `main`). Refused for a local path. */
  revision?: string;
  /** Download progress, one stage per repo: `download ORG/NAME`, in MiB. */
  onProgress?: ProgressCallback;
  /** Default `model`. */
  kind?: ModelRefKind;
  /** Where HF_* variables are read from (default process.env). */
  env?: Environment;
}

/** Files fetched beside the weights when the repo has them: what a tokenizer and generation read. */
const MODEL_FILES = [
  'config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json',
  'added_tokens.json', 'chat_template.jinja', 'chat_template.json',
];
const MODEL_REQUIRED = ['config.json', 'tokenizer.json'];
const WEIGHTS = 'model.safetensors';
const WEIGHTS_INDEX = WEIGHTS_INDEX_FILE;
const ADAPTER_FILES = ['adapter_config.json', 'adapter_model.safetensors'];

interface HubSettings { cacheDir: string; endpoint: string; offline: boolean; token: string | undefined; etagTimeoutS: number; downloadTimeoutS: number }

function isTrue(v: string | undefined): boolean {
  return v !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(v.toUpperCase());
}

function hubSettings(env: Environment): HubSettings {
  let token = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined;
  if (token === undefined) {
    // The file `huggingface-cli login` writes (constants.py: HF_TOKEN_PATH, default HF_HOME/token).
    const hfHome = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
    const path = env.HF_TOKEN_PATH ?? join(hfHome, 'token');
    try {
      token = readFileSync(path, 'utf8').trim() || undefined;
    } catch { /* no token file */ }
  }
  return {
    cacheDir: hubCacheDir(env),
    endpoint: (env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, ''),
    offline: isTrue(env.HF_HUB_OFFLINE) || isTrue(env.TRANSFORMERS_OFFLINE),
    token,
    etagTimeoutS: Number(env.HF_HUB_ETAG_TIMEOUT) > 0 ? Number(env.HF_HUB_ETAG_TIMEOUT) : 10,
    downloadTimeoutS: Number(env.HF_HUB_DOWNLOAD_TIMEOUT) > 0 ? Number(env.HF_HUB_DOWNLOAD_TIMEOUT) : 10,
  };
}

/** The files of a snapshot that must be there for the loaders; null when they all are, else the first missing. */
function missingFile(cache: RepoCache, commit: string, kind: ModelRefKind): string | null {
  if (kind === 'adapter') return ADAPTER_FILES.find((f) => !cache.hasFile(commit, f)) ?? null;
  const required = MODEL_REQUIRED.find((f) => !cache.hasFile(commit, f));
  if (required) return required;
  if (cache.hasFile(commit, WEIGHTS)) return null;
  if (!cache.hasFile(commit, WEIGHTS_INDEX)) return WEIGHTS;
  return weightsIndexShards(join(cache.snapshotDir(commit), WEIGHTS_INDEX)).find((s) => !cache.hasFile(commit, s)) ?? null;
}


/**
 * A local directory for `ref`: the path itself when it exists, else the snapshot of the Hugging Face
 * id `ref` in the Hub cache, downloaded first when it is not there (unless HF_HUB_OFFLINE=1).
 */
/** The revision of a Hub id when none is given. */
export const DEFAULT_REVISION = 'main';

export async function resolveModelRef(ref: string, opts: ResolveModelRefOptions = {}): Promise<string> {
  const kind = opts.kind ?? 'model';
  if (existsSync(ref)) {
    if (opts.revision !== undefined) throw new UserError(`a revision (${opts.revision}) picks a version of a Hugging Face id, but ${ref} is a local path; drop the revision or name the Hub id`);
    return ref;
  }
  if (!isHubId(ref)) throw new UserError(`${kind} '${ref}' not found: no such directory`);
  const revision = opts.revision ?? DEFAULT_REVISION;
  const bad = checkRevision(revision);
  if (bad) throw new UserError(`revision ${JSON.stringify(revision.slice(0, 100))} of ${ref} is not usable: ${bad}`);
  const s = hubSettings(opts.env ?? process.env);
  const cache = new RepoCache(s.cacheDir, ref);
  const cachedCommit = cache.commitOf(revision);
  const cachedMissing = cachedCommit ? missingFile(cache, cachedCommit, kind) : 'all';
  if (s.offline) {
    if (cachedCommit && cachedMissing === null) return cache.snapshotDir(cachedCommit);
    if (cachedCommit && existsSync(cache.snapshotDir(cachedCommit))) {
      throw new UserError(`${ref}@${revision}: the cached snapshot ${cache.snapshotDir(cachedCommit)} lacks ${cachedMissing}, and HF_HUB_OFFLINE=1 forbids downloading it; unset HF_HUB_OFFLINE to complete it`);
    }
    throw new UserError(`${kind} '${ref}' not found: no such directory; as a Hugging Face id (revision ${revision}) it is not in the Hub cache ${s.cacheDir}, and HF_HUB_OFFLINE=1 forbids downloading it: unset HF_HUB_OFFLINE, or download it where there is a network (e.g. \`huggingface-cli download ${ref}\`) and set HF_HUB_CACHE to that cache`);
  }
  // A pinned commit already cached needs no network (file_download.py takes the same shortcut).
  if (COMMIT_HASH.test(revision) && cachedMissing === null) return cache.snapshotDir(revision);
  const ctx: Ctx = { id: ref, revision, kind, cache, s, lastError: null, onProgress: opts.onProgress };
  try {
    return await downloadSnapshot(ctx);
  } catch (e) {
    if (e instanceof UserError) throw e;
    // No network: what the cache has for this revision still serves, as huggingface_hub does.
    if (isNetworkError(e) && cachedCommit && cachedMissing === null) return cache.snapshotDir(cachedCommit);
    throw hubError(ctx, e);
  }
}

interface Ctx {
  id: string;
  revision: string;
  kind: ModelRefKind;
  cache: RepoCache;
  s: HubSettings;
  /** Status and X-Error-Code of the last refused request (the client's errors drop the headers). */
  lastError: { status: number; code: string | null } | null;
  onProgress: ProgressCallback | undefined;
  /** The file being fetched, for errors. */
  file?: string;
  /** Aborts the transfer of `file` when it stalls. */
  transferSignal?: AbortSignal | undefined;
}

function isNetworkError(e: unknown): boolean {
  if (e instanceof Error && e.name === 'TimeoutError') return true;
  return e instanceof TypeError && /fetch failed|network|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|terminated|socket/i.test(`${e.message} ${errorMessage((e as { cause?: unknown }).cause)}`);
}

/** The Hub's refusal or a network failure, in words that name the id and say what to do. */
function hubError(ctx: Ctx, e: unknown): UserError {
  const { id, revision, s, kind } = ctx;
  const status = typeof (e as { statusCode?: unknown }).statusCode === 'number' ? (e as { statusCode: number }).statusCode : null;
  const code = ctx.lastError?.code ?? null;
  const detail = errorMessage(e).split('. URL:')[0]!.slice(0, 300);
  const where = ctx.file ? ` (fetching ${ctx.file})` : '';
  if (status === 401 || status === 403) {
    if (code === 'GatedRepo' || /gated/i.test(detail)) {
      return new UserError(`${id}: ${s.endpoint} refused access to this gated ${kind} (${status})${where}. Accept its conditions on ${s.endpoint}/${id} while logged in, then set HF_TOKEN to an access token of that account${s.token ? ' (the token given has no access to it yet)' : ''}`, { cause: e });
    }
    return new UserError(`${kind} '${id}' not found: no such directory; as a Hugging Face id, ${s.endpoint} refused it (${status})${where}: the repo does not exist, or it is private or gated and ${s.token ? 'the token given (HF_TOKEN) has no access to it' : 'needs HF_TOKEN set to an access token with access to it'}`, { cause: e });
  }
  if (status === 404) {
    if (code === 'RevisionNotFound' || (code === null && !ctx.file && revision !== 'main' && /rev/i.test(detail))) {
      return new UserError(`${id} has no revision "${revision}" on ${s.endpoint} (404): give a branch, tag or commit hash of the repo`, { cause: e });
    }
    if (ctx.file) return new UserError(`${id}@${revision}: ${ctx.file} is missing on ${s.endpoint} (404) although the repo lists it`, { cause: e });
    return new UserError(`${kind} '${id}' not found: no such directory; as a Hugging Face id, ${s.endpoint} has no ${kind} repo ${id} (404)`, { cause: e });
  }
  if (status !== null) return new UserError(`${id}@${revision}: ${s.endpoint} answered ${status}${where}: ${detail}`, { cause: e });
  if (isNetworkError(e) && ctx.file) {
    const cause = errorMessage((e as { cause?: unknown }).cause ?? e);
    return new UserError(`${id}@${revision}: the download of ${ctx.file} from ${s.endpoint} broke off (${cause}); what came is kept in the Hub cache ${s.cacheDir} and the next run resumes from there`, { cause: e });
  }
  if (isNetworkError(e)) {
    const cause = errorMessage((e as { cause?: unknown }).cause ?? e);
    return new UserError(`${kind} '${id}' not found: no such directory; as a Hugging Face id it is not (completely) in the Hub cache ${s.cacheDir}, and ${s.endpoint} could not be reached: ${cause}`, { cause: e });
  }
  return new UserError(`${id}@${revision}: download failed${where}: ${detail}`, { cause: e });
}

type HubModule = typeof import('@huggingface/hub');
interface FileEntry { path: string; etag: string; size: number }

async function downloadSnapshot(ctx: Ctx): Promise<string> {
  const { id, revision, cache, s } = ctx;
  // Loaded here so that commands given local directories never pay for the client.
  const hub: HubModule = await import('@huggingface/hub');
  const fetchRecording: typeof fetch = async (input, init) => {
    // Metadata requests give up after HF_HUB_ETAG_TIMEOUT seconds (default 10, as huggingface_hub);
    // file transfers are not timed, they may take hours.
    const url = input instanceof Request ? input.url : String(input);
    const probe = new Headers(init?.headers).get('Range') === 'bytes=0-0';
    const timed = (url.startsWith(`${s.endpoint}/api/`) || probe) && !init?.signal;
    const signal = timed ? AbortSignal.timeout(s.etagTimeoutS * 1000) : ctx.transferSignal;
    const resp = await fetch(input, signal && !init?.signal ? { ...init, signal } : init);
    if (!resp.ok) ctx.lastError = { status: resp.status, code: resp.headers.get('X-Error-Code') };
    return resp;
  };
  if (s.token !== undefined && !s.token.startsWith('hf_')) {
    throw new UserError(`HF_TOKEN (or the saved Hugging Face token) does not look like an access token: they start with "hf_"; make one at ${s.endpoint}/settings/tokens`);
  }
  const common = { hubUrl: s.endpoint, fetch: fetchRecording, ...(s.token ? { accessToken: s.token } : {}) };
  const repo = { type: 'model' as const, name: id };

  const info = await hub.modelInfo({ ...common, name: id, revision, additionalFields: ['sha'] });
  const commit = info.sha;
  if (typeof commit !== 'string' || !COMMIT_HASH.test(commit)) throw new UserError(`${id}@${revision}: ${s.endpoint} gave no commit hash for the revision (got ${JSON.stringify(commit)?.slice(0, 60)})`);
  cache.writeRef(revision, commit);

  const listing = new Map<string, FileEntry>();
  for await (const e of hub.listFiles({ ...common, repo, revision: commit, recursive: true })) {
    if (e.type !== 'file' || !checkRepoPath(e.path)) continue;
    // The blob name huggingface_hub uses: X-Linked-Etag (the sha256) for LFS files, else the git blob sha1.
    const etag = e.lfs?.oid ?? e.oid ?? '';
    if (!checkEtag(etag)) throw new UserError(`${id}@${revision}: ${s.endpoint} lists ${e.path} without a usable hash (got ${JSON.stringify(etag).slice(0, 80)})`);
    listing.set(e.path, { path: e.path, etag, size: e.lfs?.size ?? e.size });
  }
  const need = (path: string): FileEntry => {
    const entry = listing.get(path);
    if (!entry) throw new UserError(`${id}@${revision}: the repo has no ${path}${ctx.kind === 'model' ? ', which lightreasoner needs (config.json, tokenizer.json and safetensors weights)' : ' (a PEFT LoRA adapter has adapter_config.json and adapter_model.safetensors)'}`);
    return entry;
  };

  let files: FileEntry[];
  if (ctx.kind === 'adapter') {
    files = ADAPTER_FILES.map(need);
  } else {
    files = [...MODEL_REQUIRED.map(need), ...MODEL_FILES.filter((f) => !MODEL_REQUIRED.includes(f) && listing.has(f)).map(need)];
    if (listing.has(WEIGHTS)) {
      files.push(need(WEIGHTS)); // as transformers does, a single file wins over an index
    } else if (listing.has(WEIGHTS_INDEX)) {
      // The index says which shards there are; fetch it first.
      await fetchFile(ctx, hub, common, commit, need(WEIGHTS_INDEX), null);
      files.push(need(WEIGHTS_INDEX), ...weightsIndexShards(join(cache.snapshotDir(commit), WEIGHTS_INDEX)).map(need));
    } else {
      const other = [...listing.keys()].filter((f) => /\.(bin|pt|pth|gguf|h5|msgpack)$/.test(f)).slice(0, 4);
      throw new UserError(`${id}@${revision}: the repo has no ${WEIGHTS} or ${WEIGHTS_INDEX}${other.length ? ` (it has ${other.join(', ')})` : ''}; lightreasoner reads safetensors weights only`);
    }
  }

  const todo = files.filter((f) => !cache.hasFile(commit, f.path));
  const progress = todo.length ? new ByteProgress(`download ${id}`, todo.reduce((a, f) => a + f.size, 0), ctx.onProgress) : null;
  for (const f of todo) await fetchFile(ctx, hub, common, commit, f, progress);
  progress?.finish();
  ctx.file = undefined;
  const missing = missingFile(cache, commit, ctx.kind);
  if (missing) throw new UserError(`${id}@${revision}: ${missing} is still missing from ${cache.snapshotDir(commit)} after the download`);
  return cache.snapshotDir(commit);
}

/** Download progress in MiB (one decimal), at most ~10 events a second. */
class ByteProgress {
  private done = 0;
  private last = 0;
  constructor(private readonly stage: string, private readonly totalBytes: number, private readonly cb: ProgressCallback | undefined) {}
  add(bytes: number): void {
    this.done += bytes;
    const now = performance.now();
    if (this.cb && now - this.last > 100 && this.done < this.totalBytes) {
      this.last = now;
      this.cb({ stage: this.stage, done: mib(this.done), total: mib(this.totalBytes), unit: 'MiB' });
    }
  }
  finish(): void {
    this.cb?.({ stage: this.stage, done: mib(this.totalBytes), total: mib(this.totalBytes), unit: 'MiB' });
  }
}

function mib(bytes: number): number {
  return Math.round((bytes / 2 ** 20) * 10) / 10;
}

function fileSize(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

/** The file's hash in the form its etag takes: sha256 for LFS (64 hex), git blob sha1 otherwise (40 hex). */
async function hashOf(path: string, etag: string, size: number): Promise<string> {
  const h = createHash(etag.length === 64 ? 'sha256' : 'sha1');
  if (etag.length === 40) h.update(`blob ${size}\0`);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * One file into blobs/<etag> and snapshots/<commit>/<path>. A finished blob is never fetched again
 * (another revision or Python may have fetched it); a partial one in blobs/<etag>.incomplete is
 * continued with a range request, as huggingface_hub resumes.
 */
async function fetchFile(
  ctx: Ctx, hub: HubModule, common: { hubUrl: string; fetch: typeof fetch; accessToken?: string },
  commit: string, f: FileEntry, progress: ByteProgress | null,
): Promise<void> {
  const { cache, id } = ctx;
  ctx.file = f.path;
  const blob = cache.blobPath(f.etag);
  if (fileSize(blob) !== f.size) {
    mkdirSync(dirname(blob), { recursive: true });
    const incomplete = `${blob}.incomplete`;
    let have = fileSize(incomplete) ?? 0;
    if (have > f.size) {
      rmSync(incomplete, { force: true });
      have = 0;
    }
    progress?.add(have);
    if (f.size === 0) {
      writeFileSync(incomplete, '');
    } else if (have < f.size) {
      // A transfer that stops sending for HF_HUB_DOWNLOAD_TIMEOUT seconds is given up (and resumed next run).
      const stall = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => stall.abort(new DOMException(`no data for ${ctx.s.downloadTimeoutS} s`, 'TimeoutError')), ctx.s.downloadTimeoutS * 1000);
      };
      ctx.transferSignal = stall.signal;
      arm();
      try {
        const web = await hub.downloadFile({ ...common, repo: { type: 'model', name: id }, path: f.path, revision: commit });
        if (!web) throw new UserError(`${id}@${ctx.revision}: ${f.path} is missing on ${common.hubUrl} (404) although the repo lists it`);
        const part = have > 0 ? web.slice(have) : web;
        const source = Readable.fromWeb(part.stream() as unknown as WebReadableStream<Uint8Array>);
        await pipeline(source, async function* (chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            arm();
            progress?.add(chunk.length);
            yield chunk;
          }
        }, createWriteStream(incomplete, { flags: 'a' }));
      } catch (e) {
        throw stall.signal.aborted ? stall.signal.reason : e;
      } finally {
        clearTimeout(timer);
        ctx.transferSignal = undefined;
      }
    }
    const got = fileSize(incomplete) ?? 0;
    const hash = got === f.size ? await hashOf(incomplete, f.etag, f.size) : null;
    if (hash !== f.etag) {
      rmSync(incomplete, { force: true });
      throw new UserError(`${id}@${ctx.revision}: the download of ${f.path} came out ${got === f.size ? `with hash ${hash}, not ${f.etag}` : `${got} bytes long, not ${f.size}`}; removed it, run again to fetch it afresh`);
    }
    renameSync(incomplete, blob);
  }
  cache.link(commit, f.path, f.etag);
}
