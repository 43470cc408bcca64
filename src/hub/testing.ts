/**
 * A Hugging Face Hub on 127.0.0.1 for tests: the endpoints `@huggingface/hub` calls to download a
 * model, with the headers the real Hub sends. Not used at run time.
 *
 *   GET /api/models/ORG/NAME/revision/REV     {_id, id, sha, ...}      404 X-Error-Code: RevisionNotFound
 *   GET /api/models/ORG/NAME/tree/REV         [{type, path, size, oid, lfs?: {oid, size, pointerSize}}]
 *   GET /ORG/NAME/resolve/REV/FILE            the bytes; Range → 206 + Content-Range; ETag, X-Repo-Commit,
 *                                             and for LFS files X-Linked-Etag (sha256) and X-Linked-Size
 *   unknown repo: 404 RepoNotFound; gated repo without the token: 401 GatedRepo; missing file: 404 EntryNotFound
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRepo {
  id: string;
  files: Map<string, Buffer>;
  /** Branches and tags besides `main`, each pointing at the one commit this repo has. */
  tags?: string[];
  /** Only requests with `Authorization: Bearer <token>` get in. */
  gatedToken?: string;
  /** The API never answers (a hung Hub). */
  stallApi?: boolean;
}

export interface HubRequest { method: string; path: string; range: string | null; auth: string | null }

export interface FakeHub {
  url: string;
  requests: HubRequest[];
  /** Commit hash of a repo (sha1 of its id and contents). */
  commit(id: string): string;
  /** The next full GET of this file (repo id + path) sends this many bytes, then drops the connection. */
  cutAfter: Map<string, number>;
  /** The next full GET of this file sends this many bytes, then nothing more (the connection stays open). */
  stallAfter: Map<string, number>;
  close(): Promise<void>;
}

export const isLfs = (path: string): boolean => path.endsWith('.safetensors');
export const gitBlobSha1 = (b: Buffer): string => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
export const etagOf = (path: string, b: Buffer): string => (isLfs(path) ? sha256(b) : gitBlobSha1(b));

export async function startFakeHub(repos: FakeRepo[]): Promise<FakeHub> {
  const commits = new Map(repos.map((r) => {
    const h = createHash('sha1').update(r.id);
    for (const [p, b] of [...r.files].sort(([a], [b2]) => a.localeCompare(b2))) h.update(p).update(b);
    return [r.id, h.digest('hex')];
  }));
  const requests: HubRequest[] = [];
  const cutAfter = new Map<string, number>();
  const stallAfter = new Map<string, number>();

  const fail = (res: ServerResponse, status: number, code: string, error: string): void => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'X-Error-Code': code });
    res.end(JSON.stringify({ error }));
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = decodeURIComponent(url.pathname);
    requests.push({ method: req.method ?? 'GET', path, range: req.headers.range ?? null, auth: req.headers.authorization ?? null });
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/(revision|tree)\/(.+)$/.exec(path);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const id = api?.[1] ?? resolve?.[1];
    const repo = repos.find((r) => r.id === id);
    if (!repo || !id) return fail(res, 404, 'RepoNotFound', 'Repository not found');
    if (repo.gatedToken && req.headers.authorization !== `Bearer ${repo.gatedToken}`) {
      return fail(res, 401, 'GatedRepo', `Access to model ${id} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
    }
    if (repo.stallApi && api) return;
    const commit = commits.get(id)!;
    const rev = (api?.[3] ?? resolve?.[2])!;
    if (rev !== 'main' && rev !== commit && !(repo.tags ?? []).includes(rev)) return fail(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
    const json = (v: unknown): void => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(v));
    };
    if (api?.[2] === 'revision') {
      return json({
        _id: `id-${commit.slice(0, 24)}`, id, sha: commit, private: false, gated: repo.gatedToken ? 'manual' : false, downloads: 0, likes: 0,
        lastModified: '2025-01-01T00:00:00.000Z', pipeline_tag: 'text-generation', siblings: [...repo.files.keys()].map((rfilename) => ({ rfilename })),
      });
    }
    if (api?.[2] === 'tree') {
      return json([...repo.files].map(([p, b]) => ({
        type: 'file', path: p, size: b.length, oid: gitBlobSha1(isLfs(p) ? Buffer.from(`lfs pointer ${sha256(b)}`) : b),
        ...(isLfs(p) ? { lfs: { oid: sha256(b), size: b.length, pointerSize: 134 } } : {}),
      })));
    }
    const file = resolve![3]!;
    const body = repo.files.get(file);
    if (!body) return fail(res, 404, 'EntryNotFound', `${file} does not exist on "${rev}"`);
    const headers: Record<string, string | number> = {
      'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream', 'X-Repo-Commit': commit,
      ETag: `"${etagOf(file, body)}"`, ...(isLfs(file) ? { 'X-Linked-Etag': `"${sha256(body)}"`, 'X-Linked-Size': body.length } : {}),
    };
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m) {
      const start = Number(m[1]), end = Math.min(m[2] ? Number(m[2]) : body.length - 1, body.length - 1);
      if (start >= body.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${body.length}` });
        return void res.end();
      }
      res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${body.length}`, 'Content-Length': end - start + 1 });
      return void res.end(body.subarray(start, end + 1));
    }
    const stalled = stallAfter.get(`${id}/${file}`);
    if (stalled !== undefined) {
      stallAfter.delete(`${id}/${file}`);
      res.writeHead(200, { ...headers, 'Content-Length': body.length });
      res.write(body.subarray(0, stalled));
      return;
    }
    const cut = cutAfter.get(`${id}/${file}`);
    res.writeHead(200, { ...headers, 'Content-Length': body.length });
    if (cut !== undefined) {
      cutAfter.delete(`${id}/${file}`);
      // Let the client store what it got before the connection drops.
      res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 300));
      return;
    }
    res.end(body);
  };

  const server = createServer(handle);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    commit: (id) => commits.get(id)!,
    cutAfter,
    stallAfter,
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}
