// One session's review: its changed files in a scope, the diff of the selected file, viewed
// marks, the comments collected for the agent, and the last revert (for Undo). Kept per session
// by `ReviewStores` so switching sessions loses no comment; it fetches only while a panel shows
// it (`open`), on `session_changes` events for its session and when opened — never by polling.

import type { Transport } from '../transport';
import { RequestError, messageOf } from '../transport';
import type { ChangeScope } from '../wire/ChangeScope';
import type { ChangedFile } from '../wire/ChangedFile';
import type { Changes } from '../wire/Changes';
import type { Diffs } from '../wire/Diffs';
import type { FileDiff } from '../wire/FileDiff';
import type { CommitRequest } from '../wire/CommitRequest';
import type { CommitResult } from '../wire/CommitResult';
import type { RevertRequest } from '../wire/RevertRequest';
import type { RevertResult } from '../wire/RevertResult';
import type { UndoResult } from '../wire/UndoResult';
import type { ReviewComment } from '../wire/ReviewComment';
import type { SentComments } from '../wire/SentComments';
import type { ErrorCode } from '../wire/ErrorCode';
import { readMarks, setViewed, isViewed, writeMarks, viewedCount, type KeyValue } from '../review/viewed';
import { groupByFolder, type FolderGroup } from '../review/tree';

export interface ReviewError {
  code: ErrorCode;
  message: string;
}

function errorOf(e: unknown): ReviewError {
  if (e instanceof RequestError) return { code: e.error.code, message: e.error.message };
  return { code: 'internal', message: messageOf(e) };
}

function storage(): KeyValue | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

export class ReviewStore {
  readonly sessionId: number;
  scope = $state<ChangeScope>('base');
  files = $state.raw<ChangedFile[]>([]);
  /** The list was loaded at least once for the current scope. */
  loaded = $state(false);
  listError = $state<string | null>(null);
  selectedPath = $state<string | null>(null);
  /** The file list's filter box. */
  filter = $state('');
  diff = $state.raw<FileDiff | null>(null);
  diffLoading = $state(false);
  diffError = $state<string | null>(null);
  /** `{path: version}` of the files marked viewed. */
  marks = $state<Record<string, string>>({});
  /** Files ticked for a partial commit (none ticked commits everything). */
  picked = $state<Record<string, boolean>>({});
  comments = $state.raw<ReviewComment[]>([]);
  /** Which side of the diff each comment's line counts on (for drawing it under that line). */
  readonly commentSide = new WeakMap<ReviewComment, 'old' | 'new'>();
  sent = $state.raw<SentComments | null>(null);
  /** The last revert, for its Undo button. */
  reverted = $state.raw<{ undoId: string; paths: string[]; what: string } | null>(null);
  commitError = $state.raw<ReviewError | null>(null);
  lastCommit = $state<string | null>(null);
  /** Panels showing this review; fetching happens only while it is above zero. */
  #open = 0;
  #t: Transport;
  #store: KeyValue | null;
  /** Sequence of list loads: an older answer never overwrites a newer one. */
  #listSeq = 0;
  #listBusy = false;
  #listAgain = false;
  #diffSeq = 0;
  /** An event or action asked for the diff again while a list load ran. */
  #diffWanted = false;
  /** After a scope switch, a selected file absent from the new list gives way to the first. */
  #reselect = false;

  constructor(t: Transport, sessionId: number, store: KeyValue | null = storage()) {
    this.#t = t;
    this.sessionId = sessionId;
    this.#store = store;
    if (store) this.marks = readMarks(store, sessionId);
  }

  get selected(): ChangedFile | null {
    return this.files.find((f) => f.path === this.selectedPath) ?? null;
  }

  /** The files the list shows (filtered), grouped by folder. */
  get groups(): FolderGroup[] {
    return groupByFolder(this.files, this.filter);
  }

  /** Selects the file `delta` places away in the list's order (wrapping around). */
  step(delta: number): void {
    const list = this.groups.flatMap((g) => g.files);
    if (list.length === 0) return;
    const i = list.findIndex((f) => f.path === this.selectedPath);
    const next = i < 0 ? (delta > 0 ? 0 : list.length - 1) : (i + delta + list.length) % list.length;
    this.select(list[next]!.path);
  }

  /** Marks the selected file viewed and moves on to the next one not viewed yet, if any. */
  viewedAndNext(): void {
    const f = this.selected;
    if (!f) return;
    this.setViewed(f, true);
    const list = this.groups.flatMap((g) => g.files);
    const i = list.findIndex((x) => x.path === f.path);
    const rest = [...list.slice(i + 1), ...list.slice(0, i)];
    const next = rest.find((x) => !this.isViewed(x));
    if (next) this.select(next.path);
  }

  get viewedCount(): number {
    return viewedCount(this.marks, this.files);
  }

  isViewed(f: ChangedFile): boolean {
    return isViewed(this.marks, f);
  }

  /** The files a commit takes: the ticked ones still changed (empty: all). */
  get pickedPaths(): string[] {
    return this.files.filter((f) => this.picked[f.path]).map((f) => f.path);
  }

  // ---- panel lifecycle ----

  /** A panel shows this review: load it now, and on every change event until `close`. */
  open(): void {
    this.#open++;
    if (this.#open === 1) void this.refresh();
  }

  close(): void {
    this.#open = Math.max(0, this.#open - 1);
  }

  get isOpen(): boolean {
    return this.#open > 0;
  }

  /** A `session_changes` event for this session. */
  changed(paths: string[], all: boolean): void {
    if (!this.isOpen) return;
    const sel = this.selectedPath;
    void this.refresh({ diff: all || (sel !== null && paths.includes(sel)) });
  }

  setScope(scope: ChangeScope): void {
    if (scope === this.scope) return;
    this.scope = scope;
    this.#reselect = true;
    this.loaded = false;
    this.files = [];
    this.diff = null;
    void this.refresh({ diff: true });
  }

  // ---- loading ----

  /**
   * Reloads the list (one request at a time: events arriving meanwhile cause exactly one more),
   * then the selected file's diff when asked or when its version moved.
   */
  async refresh({ diff = false }: { diff?: boolean } = {}): Promise<void> {
    if (diff) this.#diffWanted = true;
    if (this.#listBusy) {
      this.#listAgain = true;
      return;
    }
    this.#listBusy = true;
    try {
      do {
        this.#listAgain = false;
        await this.#loadList();
      } while (this.#listAgain);
    } finally {
      this.#listBusy = false;
    }
    const sel = this.selected;
    const shown = this.diff?.file;
    if (this.selectedPath !== null && (this.#diffWanted || !shown || !sel || shown.version !== sel.version || shown.path !== sel.path)) {
      this.#diffWanted = false;
      await this.loadDiff();
    }
  }

  async #loadList(): Promise<void> {
    const seq = ++this.#listSeq;
    const scope = this.scope;
    try {
      const res = await this.#t.request<Changes>('GET', `/sessions/${this.sessionId}/changes?scope=${scope}`);
      if (seq !== this.#listSeq || scope !== this.scope) return;
      this.files = res.files;
      this.loaded = true;
      this.listError = null;
      // Ticks of files no longer changed go.
      const still = new Set(res.files.map((f) => f.path));
      for (const p of Object.keys(this.picked)) if (!still.has(p)) delete this.picked[p];
      const missing = this.selectedPath !== null && !still.has(this.selectedPath);
      if ((this.selectedPath === null || (this.#reselect && missing)) && res.files.length > 0) this.selectedPath = res.files[0]!.path;
      this.#reselect = false;
    } catch (e) {
      if (seq !== this.#listSeq) return;
      this.listError = `Could not list the changes: ${messageOf(e)}`;
    }
  }

  select(path: string): void {
    if (path === this.selectedPath) return;
    this.selectedPath = path;
    this.diff = null;
    void this.loadDiff();
  }

  async loadDiff(): Promise<void> {
    const path = this.selectedPath;
    const seq = ++this.#diffSeq;
    if (path === null) {
      this.diff = null;
      return;
    }
    if (!this.files.some((f) => f.path === path)) {
      // The file is no longer changed (reverted, committed in this scope, or deleted again).
      this.diff = null;
      this.diffError = null;
      return;
    }
    this.diffLoading = true;
    try {
      const q = new URLSearchParams({ path, scope: this.scope });
      const res = await this.#t.request<Diffs>('GET', `/sessions/${this.sessionId}/diff?${q.toString()}`);
      if (seq !== this.#diffSeq) return;
      this.diff = res.files[0] ?? null;
      this.diffError = null;
    } catch (e) {
      if (seq !== this.#diffSeq) return;
      this.diff = null;
      this.diffError = `Could not load the diff of ${path}: ${messageOf(e)}`;
    } finally {
      if (seq === this.#diffSeq) this.diffLoading = false;
    }
  }

  // ---- viewed ----

  setViewed(f: ChangedFile, viewed: boolean): void {
    // Marks of files gone from the list are dropped, but only against the full (base) list: the
    // uncommitted scope leaves out committed files whose marks still count.
    this.marks = setViewed(this.marks, f, viewed, this.scope === 'base' ? this.files : undefined);
    if (this.#store) writeMarks(this.#store, this.sessionId, this.marks);
  }

  // ---- comments ----

  addComment(c: ReviewComment, side: 'old' | 'new' = 'new'): void {
    this.commentSide.set(c, side);
    this.comments = [...this.comments, c];
  }

  removeComment(i: number): void {
    this.comments = this.comments.filter((_, j) => j !== i);
  }

  /** Types the collected comments into the agent's terminal; they are cleared once sent. */
  async sendComments(): Promise<SentComments> {
    const comments = this.comments;
    const res = await this.#t.request<SentComments>('POST', `/sessions/${this.sessionId}/comments`, { comments });
    this.sent = res;
    // Comments added while the request ran stay.
    this.comments = this.comments.filter((c) => !comments.includes(c));
    return res;
  }

  // ---- revert / undo ----

  async revert(path: string, hunk?: string): Promise<RevertResult> {
    // The scope whose diff is shown: the base scope reverts to the merge base, uncommitted to HEAD.
    const req: RevertRequest = hunk === undefined ? { path, scope: this.scope } : { path, scope: this.scope, hunk };
    const res = await this.#t.request<RevertResult>('POST', `/sessions/${this.sessionId}/revert`, req);
    this.reverted = { undoId: res.undo_id, paths: res.paths, what: hunk === undefined ? path : `a hunk of ${path}` };
    await this.refresh({ diff: true });
    return res;
  }

  async undo(): Promise<UndoResult> {
    const r = this.reverted;
    const res = await this.#t.request<UndoResult>('POST', `/sessions/${this.sessionId}/undo`, r ? { undo_id: r.undoId } : {});
    this.reverted = null;
    await this.refresh({ diff: true });
    return res;
  }

  // ---- commit ----

  /** Commits the ticked files (or all); a refusal lands in `commitError` and returns null. */
  async commit(message: string, amend: boolean): Promise<CommitResult | null> {
    const req: CommitRequest = { message, paths: this.pickedPaths, amend };
    this.commitError = null;
    try {
      const res = await this.#t.request<CommitResult>('POST', `/sessions/${this.sessionId}/commit`, req);
      this.lastCommit = res.commit;
      this.picked = {};
      await this.refresh({ diff: true });
      return res;
    } catch (e) {
      this.commitError = errorOf(e);
      return null;
    }
  }
}

/** The review of every session seen so far, by session id. */
export class ReviewStores {
  #t: Transport;
  #by = new Map<number, ReviewStore>();

  constructor(t: Transport) {
    this.#t = t;
  }

  of(sessionId: number): ReviewStore {
    let r = this.#by.get(sessionId);
    if (!r) this.#by.set(sessionId, (r = new ReviewStore(this.#t, sessionId)));
    return r;
  }

  /** After a reconnect or `resync`: events may have been missed, so open reviews reload. */
  refreshOpen(): void {
    for (const r of this.#by.values()) if (r.isOpen) void r.refresh({ diff: true });
  }

  changed(sessionId: number, paths: string[], all: boolean): void {
    this.#by.get(sessionId)?.changed(paths, all);
  }

  removed(sessionId: number): void {
    this.#by.delete(sessionId);
  }
}
