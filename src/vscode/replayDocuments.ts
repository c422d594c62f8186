import { isAbsolute, posix } from 'node:path';
import * as vscode from 'vscode';
import type { ReplayCallOutcome, ReplayResult } from '../core/replay';
import { COMMIT_SHA_PATTERN } from '../core/span';
import type { GitRunner } from '../node/git';
import { isGitAnswer } from '../node/git';
import { Disposable } from './disposable';
import { replayMarkdown } from '../core/replayMarkdown';
import { withCancellation } from './cancellation';

/**
 * The read-only documents of Replay Trace:
 *
 * - `prompt-ci-replay:/replay-<name>-v<N>-<sha7>.md?id=<id>`: one replay (the rendered messages,
 *   metadata, verdict and request), and its `…recorded-output.txt` / `…replayed-output.txt` parts for
 *   the output diff. The content lives in memory ({@link ReplayStore}); a document whose replay was
 *   forgotten says so.
 * - `prompt-ci-git:/<path in the repository>?{"root":…,"commit":…}`: one file as it is at a commit,
 *   read with `git cat-file` (never a checkout). The path keeps the file's own name, so the editor
 *   picks its language (`.template.md`, `.yaml`) as for the working file.
 *
 * Both come from `TextDocumentContentProvider`s, which VS Code opens read-only.
 */

/** Scheme of replay documents. */
export const REPLAY_SCHEME = 'prompt-ci-replay';
/** Scheme of files at a commit. */
export const GIT_FILE_SCHEME = 'prompt-ci-git';

/** How many replays stay in memory; older ones are forgotten (their documents say so). */
const MAX_REPLAYS = 20;

/** One replay shown in VS Code: the result, where it came from, and the replayed call once made. */
export interface ReplaySession {
  id: string;
  /** The git top-level the prompt was read from. */
  repoRoot: string;
  result: ReplayResult;
  call?: ReplayCallOutcome;
  /** The replay document. */
  uri: vscode.Uri;
}

/** The parts of a replay that have their own document. */
export type ReplayPart = 'report' | 'recorded-output' | 'replayed-output';

/** The replays of this window, newest last, at most {@link MAX_REPLAYS}; the replay documents' content provider. */
export class ReplayStore extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly sessions = new Map<string, ReplaySession>();
  private nextId = 1;
  private readonly changed = this._register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange = this.changed.event;

  /** How many replays each base title has had, so two replays of one commit get distinct tabs. */
  private readonly titles = new Map<string, number>();

  /**
   * Keeps a new replay and returns it with the URI of its document: `replay-<name>-v<N>-<sha7>.md`,
   * with the span id when the span has one, and a counter when that title was used already.
   */
  add(repoRoot: string, result: ReplayResult): ReplaySession {
    const id = String(this.nextId++);
    const p = result.prompt;
    const spanPart = result.span.spanId ? `-span-${result.span.spanId.slice(0, 8)}` : '';
    const base = `replay-${p.name}-v${p.version}-${p.commit.sha.slice(0, 7)}${spanPart}`;
    const seen = (this.titles.get(base) ?? 0) + 1;
    this.titles.set(base, seen);
    const uri = replayUri(id, `${base}${seen > 1 ? `-${seen}` : ''}.md`);
    const session: ReplaySession = { id, repoRoot, result, uri };
    this.sessions.set(id, session);
    while (this.sessions.size > MAX_REPLAYS) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
    return session;
  }

  /** Records the replayed call and refreshes the replay document. */
  setCall(session: ReplaySession, call: ReplayCallOutcome): void {
    session.call = call;
    this.changed.fire(session.uri);
    this.changed.fire(this.partUri(session, 'replayed-output'));
  }

  /** The replay a replay document (or one of its parts) shows. */
  sessionOf(uri: vscode.Uri): ReplaySession | undefined {
    if (uri.scheme !== REPLAY_SCHEME) return undefined;
    const id = new URLSearchParams(uri.query).get('id');
    return id ? this.sessions.get(id) : undefined;
  }

  /** A replay by id. */
  get(id: string): ReplaySession | undefined {
    return this.sessions.get(id);
  }

  /** The newest replay, for commands run from the palette outside a replay document. */
  latest(): ReplaySession | undefined {
    return [...this.sessions.values()].pop();
  }

  /** The URI of one part of a replay. */
  partUri(session: ReplaySession, part: Exclude<ReplayPart, 'report'>): vscode.Uri {
    const base = session.uri.path.replace(/\.md$/, '');
    return session.uri.with({ path: `${base}-${part}.txt`, query: new URLSearchParams({ id: session.id, part }).toString() });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const session = this.sessionOf(uri);
    if (!session) {
      return '# Replay no longer available\n\nThis replay is no longer in memory (only the last 20 are kept, and none survive a reload). Run "Prompt CI: Replay Trace…" again.\n';
    }
    const part = (new URLSearchParams(uri.query).get('part') ?? 'report') as ReplayPart;
    switch (part) {
      case 'recorded-output':
        return session.result.span.recorded?.output ?? '';
      case 'replayed-output':
        return session.call?.text ?? '';
      default:
        return replayMarkdown(session.result, session.call);
    }
  }
}

function replayUri(id: string, fileName: string): vscode.Uri {
  return vscode.Uri.from({ scheme: REPLAY_SCHEME, path: `/${fileName}`, query: new URLSearchParams({ id }).toString() });
}

/** Scheme of paste documents. */
export const PASTE_SCHEME = 'prompt-ci-paste';

/**
 * The paste documents' storage: files in memory under `prompt-ci-paste:/span-<n>.json`. A document
 * of this scheme is saved into memory without a dialog, so a paste box closes without asking.
 */
export class PasteFileSystem implements vscode.FileSystemProvider {
  private readonly files = new Map<string, { data: Uint8Array; mtime: number; ctime: number }>();
  private next = 1;
  private readonly changed = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.changed.event;

  /** A new empty paste file. */
  create(): vscode.Uri {
    const uri = vscode.Uri.from({ scheme: PASTE_SCHEME, path: `/span-${this.next++}.json` });
    const now = Date.now();
    this.files.set(uri.path, { data: new Uint8Array(), mtime: now, ctime: now });
    return uri;
  }

  /** Drops a closed paste. */
  forget(uri: vscode.Uri): void {
    this.files.delete(uri.path);
  }

  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined);
  }

  stat(uri: vscode.Uri): vscode.FileStat {
    if (uri.path === '/') return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0 };
    const file = this.files.get(uri.path);
    if (!file) throw vscode.FileSystemError.FileNotFound(uri);
    return { type: vscode.FileType.File, ctime: file.ctime, mtime: file.mtime, size: file.data.byteLength };
  }

  readDirectory(): [string, vscode.FileType][] {
    return [...this.files.keys()].map((path) => [path.slice(1), vscode.FileType.File]);
  }

  createDirectory(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  readFile(uri: vscode.Uri): Uint8Array {
    const file = this.files.get(uri.path);
    if (!file) throw vscode.FileSystemError.FileNotFound(uri);
    return file.data;
  }

  writeFile(uri: vscode.Uri, content: Uint8Array): void {
    const now = Date.now();
    const file = this.files.get(uri.path);
    this.files.set(uri.path, { data: content, mtime: now, ctime: file?.ctime ?? now });
    this.changed.fire([{ type: vscode.FileChangeType.Changed, uri }]);
  }

  delete(uri: vscode.Uri): void {
    this.files.delete(uri.path);
  }

  rename(oldUri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(oldUri);
  }
}

/** Where a `prompt-ci-git:` document comes from. */
export interface GitFileRef {
  /** The git top-level. */
  root: string;
  /** Full commit SHA. */
  commit: string;
  /** Path inside the repository, `/`-separated. */
  path: string;
}

/** The URI of `path` at `commit` in the repository at `root`. */
export function gitFileUri(ref: GitFileRef): vscode.Uri {
  return vscode.Uri.from({
    scheme: GIT_FILE_SCHEME,
    path: `/${ref.path}`,
    query: JSON.stringify({ root: ref.root, commit: ref.commit }),
  });
}

/** Reads a `prompt-ci-git:` URI back, validated: a SHA, an absolute root, a relative path with no `..`. */
export function parseGitFileUri(uri: vscode.Uri): GitFileRef {
  let query: unknown;
  try {
    query = JSON.parse(uri.query);
  } catch {
    throw new Error(`${uri.toString()} is not a file at a commit (its query is not JSON)`);
  }
  const { root, commit } = (query ?? {}) as { root?: unknown; commit?: unknown };
  const path = uri.path.replace(/^\/+/, '');
  if (typeof commit !== 'string' || !COMMIT_SHA_PATTERN.test(commit)) throw new Error(`${uri.toString()} names no valid commit`);
  if (typeof root !== 'string' || !isAbsolute(root)) throw new Error(`${uri.toString()} names no repository`);
  if (!path || path.startsWith('-') || posix.normalize(path) !== path || path.split('/').includes('..')) {
    throw new Error(`${uri.toString()} names no valid path in the repository`);
  }
  return { root, commit, path };
}

/**
 * Content of `prompt-ci-git:` documents: `git cat-file blob <commit>:<path>`. Only repositories the
 * extension has read a replay from are served, so a crafted link can't point git at other folders.
 */
export class GitFileProvider implements vscode.TextDocumentContentProvider {
  constructor(
    private readonly git: GitRunner,
    private readonly knownRoots: () => Iterable<string>,
  ) {}

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    const ref = parseGitFileUri(uri);
    if (![...this.knownRoots()].includes(ref.root)) {
      throw new Error(`${ref.root} is not a repository a replay was read from in this window`);
    }
    try {
      const bytes = await withCancellation(token, (signal) => this.git(['cat-file', 'blob', `${ref.commit}:${ref.path}`], { cwd: ref.root, signal }));
      return bytes.toString('utf8');
    } catch (error) {
      if (isGitAnswer(error)) throw new Error(`${ref.path} is not in commit ${ref.commit.slice(0, 12)}`);
      throw error;
    }
  }
}
