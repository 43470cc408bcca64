/**
 * The Hugging Face Hub cache on disk, exactly as Python's `huggingface_hub` writes it
 * (file_download.py: `repo_folder_name`, `_create_symlink`, `_cache_commit_hash_for_specific_revision`),
 * so one download serves Python and lightreasoner alike:
 *
 *   $HF_HUB_CACHE/models--ORG--NAME/
 *     blobs/<etag>                    file contents, named by git blob sha1 (small files) or sha256 (LFS)
 *     blobs/<etag>.incomplete         a download in progress, appended to when resumed
 *     snapshots/<commit>/<file>       relative symlink -> ../../blobs/<etag>
 *     refs/<revision>                 the commit hash a branch or tag pointed to (no newline)
 *
 * Where the cache is: HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE (legacy), else HF_HOME/hub, else
 * XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub (constants.py).
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';

/** A full commit hash, as file_download.py's REGEX_COMMIT_HASH. */
export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** ORG/NAME as the Hub spells repo ids: two parts of letters, digits, `-`, `_`, `.`; no `--` or `..`. */
const HUB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;

export function isHubId(ref: string): boolean {
  return HUB_ID.test(ref) && !ref.includes('--') && !ref.includes('..') && !ref.endsWith('.');
}

/**
 * The environment variables read here. Not NodeJS.ProcessEnv: hubCacheDir is exported, and the
 * shipped type files must compile without @types/node (package.slow.test.ts).
 */
export type Environment = Readonly<Record<string, string | undefined>>;

/** `~` and `$VAR` expanded, as constants.py does with expanduser/expandvars. */
function expandPath(p: string, env: Environment): string {
  const home = p === '~' || p.startsWith('~/') ? homedir() + p.slice(1) : p;
  return home.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (m, name: string) => env[name] ?? m);
}

/** The Hub cache directory the environment names (see the top comment). */
export function hubCacheDir(env: Environment = process.env): string {
  const hfHome = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
  return expandPath(env.HF_HUB_CACHE ?? env.HUGGINGFACE_HUB_CACHE ?? join(expandPath(hfHome, env), 'hub'), env);
}

/** `models--ORG--NAME`, file_download.py's repo_folder_name for a model repo. */
export function repoFolderName(id: string): string {
  return ['models', ...id.split('/')].join('--');
}

/**
 * A revision is used as a path under refs/ (a branch may hold `/`, e.g. `refs/pr/1`), so it must not
 * climb out of it.
 */
export function checkRevision(revision: string): string | null {
  if (revision === '' || revision.length > 256) return 'it is empty or too long';
  if (!/^[A-Za-z0-9._/-]+$/.test(revision)) return 'it may hold only letters, digits, ".", "_", "-" and "/"';
  if (revision.split('/').some((p) => p === '' || p === '.' || p === '..')) return 'it has an empty, "." or ".." path part';
  return null;
}

/** A file path from a repo listing, safe to join under a snapshot directory (validateRelativeFilename). */
export function checkRepoPath(path: string): boolean {
  return path.length > 0 && path.length < 1024 && !path.startsWith('/') && !path.includes('\\') && !/^[A-Za-z]:/.test(path)
    && path.split('/').every((p) => p !== '' && p !== '.' && p !== '..');
}

/** An etag names a blob file: only a git sha1 or a sha256 in hex is accepted. */
export function checkEtag(etag: string): boolean {
  return /^[0-9a-f]{40}$/.test(etag) || /^[0-9a-f]{64}$/.test(etag);
}

export class RepoCache {
  readonly storage: string;
  constructor(readonly cacheDir: string, readonly id: string) {
    this.storage = join(cacheDir, repoFolderName(id));
  }

  blobPath(etag: string): string { return join(this.storage, 'blobs', etag); }
  snapshotDir(commit: string): string { return join(this.storage, 'snapshots', commit); }
  refPath(revision: string): string { return join(this.storage, 'refs', ...revision.split('/')); }

  /** The commit a revision names locally: itself when it is a full hash, else refs/<revision>, else null. */
  commitOf(revision: string): string | null {
    if (COMMIT_HASH.test(revision)) return revision;
    const ref = this.refPath(revision);
    if (!existsSync(ref)) return null;
    const commit = readFileSync(ref, 'utf8').trim();
    return COMMIT_HASH.test(commit) ? commit : null;
  }

  /** Record revision -> commit, only when it changed (a read-only shared cache stays usable). */
  writeRef(revision: string, commit: string): void {
    if (revision === commit) return;
    const ref = this.refPath(revision);
    if (existsSync(ref) && readFileSync(ref, 'utf8') === commit) return;
    mkdirSync(dirname(ref), { recursive: true });
    writeFileSync(ref, commit);
  }

  /** Whether snapshots/<commit>/<path> resolves to a file (a dangling symlink does not count). */
  hasFile(commit: string, path: string): boolean {
    try {
      return statSync(join(this.snapshotDir(commit), path)).isFile();
    } catch {
      return false;
    }
  }

  /** Point snapshots/<commit>/<path> at blobs/<etag> with a relative symlink, replacing what was there. */
  link(commit: string, path: string, etag: string): void {
    const pointer = join(this.snapshotDir(commit), path);
    mkdirSync(dirname(pointer), { recursive: true });
    try {
      lstatSync(pointer);
      rmSync(pointer, { force: true });
    } catch { /* not there */ }
    symlinkSync(relative(dirname(pointer), this.blobPath(etag)), pointer);
  }
}
