// GitHub as the UI sees it: the sign-in state (kept current by `github_changed` events), and per
// session the push or pull request action running, its progress line (`push_progress` events)
// and how it ended. The token never reaches the page: it goes to the server (token sign-in) or
// never passes through the UI at all (device and browser flows).

import type { Transport } from '../transport';
import { RequestError, messageOf } from '../transport';
import type { ErrorCode } from '../wire/ErrorCode';
import type { GithubStatus } from '../wire/GithubStatus';
import type { PushResult } from '../wire/PushResult';
import type { PullDraft } from '../wire/PullDraft';
import type { PullCreated } from '../wire/PullCreated';
import type { PullStatus } from '../wire/PullStatus';
import type { CreatePullRequest } from '../wire/CreatePullRequest';
import type { SessionStore } from './sessions.svelte';

export interface GithubError {
  code: ErrorCode;
  message: string;
}

export function githubErrorOf(e: unknown): GithubError {
  if (e instanceof RequestError) return { code: e.error.code, message: e.error.message };
  return { code: 'internal', message: messageOf(e) };
}

/** One session's GitHub action: what runs, the push's last progress line, and how it ended. */
export interface SessionOp {
  busy: 'push' | 'pull' | 'refresh' | null;
  /** What the push is doing now ("Writing objects: 100% (3/3)"). */
  line: string | null;
  done: { text: string; url?: string } | null;
  error: (GithubError & { action: 'push' | 'force' | 'pull' | 'refresh' }) | null;
}

const IDLE: SessionOp = { busy: null, line: null, done: null, error: null };

/** Opens GitHub's authorize page in the system browser (the desktop shell's `github_sign_in`). */
export type BrowserSignIn = (workflow: boolean) => Promise<string>;

export class GithubStore {
  status = $state<GithubStatus | null>(null);
  /** Set when an action needs a sign-in: the UI opens the GitHub dialog. */
  prompt = $state(false);
  ops = $state<Record<number, SessionOp>>({});
  /** The desktop shell's browser sign-in, when the page runs inside it. */
  browserSignIn = $state.raw<BrowserSignIn | null>(null);
  #t: Transport;
  #sessions: SessionStore;

  constructor(t: Transport, sessions: SessionStore) {
    this.#t = t;
    this.#sessions = sessions;
  }

  get signedIn(): boolean {
    return this.status?.signed_in === true;
  }

  /** Whether "Sign in with GitHub" goes through the browser (desktop with a client secret). */
  get webFlow(): boolean {
    return this.browserSignIn !== null && this.status?.web_flow === true;
  }

  op(sessionId: number): SessionOp {
    return this.ops[sessionId] ?? IDLE;
  }

  async load(): Promise<void> {
    this.status = await this.#t.request<GithubStatus>('GET', '/github');
  }

  /** A `github_changed` event. */
  changed(status: GithubStatus): void {
    this.status = status;
    if (status.signed_in) this.prompt = false;
  }

  async loginDevice(workflow: boolean): Promise<void> {
    this.status = await this.#t.request<GithubStatus>('POST', '/github/login/device', { workflow });
  }

  /** The desktop's browser sign-in; its outcome arrives as a `github_changed` event. */
  async loginBrowser(workflow: boolean): Promise<string> {
    if (!this.browserSignIn) throw new Error('Browser sign-in needs the desktop app: use the device code.');
    return this.browserSignIn(workflow);
  }

  async loginToken(token: string): Promise<void> {
    this.status = await this.#t.request<GithubStatus>('POST', '/github/login/token', { token });
  }

  async logout(): Promise<void> {
    this.status = await this.#t.request<GithubStatus>('POST', '/github/logout');
  }

  // ---- a session's push and pull request ----

  #set(id: number, patch: Partial<SessionOp>): void {
    this.ops[id] = { ...this.op(id), ...patch };
  }

  /** A `push_progress` event: shown while that session's push or pull request runs. */
  progress(sessionId: number, line: string): void {
    if (this.op(sessionId).busy) this.#set(sessionId, { line });
  }

  dismiss(sessionId: number): void {
    this.#set(sessionId, { done: null, error: null });
  }

  /** Pushes the session branch; `force` is `--force-with-lease`, only when the user asked. */
  async push(sessionId: number, force = false): Promise<PushResult | null> {
    if (this.op(sessionId).busy) return null;
    this.#set(sessionId, { busy: 'push', line: null, done: null, error: null });
    try {
      const r = await this.#t.request<PushResult>('POST', `/sessions/${sessionId}/push`, { force_with_lease: force });
      const text = r.up_to_date
        ? `${r.branch} is already up to date on ${r.remote}.`
        : `Pushed ${r.branch} to ${r.remote} (${r.sha.slice(0, 10)})${force ? ' with --force-with-lease' : ''}.`;
      this.#set(sessionId, { busy: null, line: null, done: { text } });
      return r;
    } catch (e) {
      this.#set(sessionId, { busy: null, line: null, error: { ...githubErrorOf(e), action: force ? 'force' : 'push' } });
      return null;
    }
  }

  async draft(sessionId: number): Promise<PullDraft> {
    return this.#t.request<PullDraft>('GET', `/sessions/${sessionId}/pr/draft`);
  }

  /** Pushes and opens (or links) the pull request. Errors are thrown for the dialog to show. */
  async createPull(sessionId: number, req: CreatePullRequest): Promise<PullCreated> {
    this.#set(sessionId, { busy: 'pull', line: null, done: null, error: null });
    try {
      const created = await this.#t.request<PullCreated>('POST', `/sessions/${sessionId}/pr`, req);
      this.#sessions.setPull(sessionId, created.pull);
      const text = created.existed
        ? `A pull request already exists — linked #${created.pull.number}.`
        : `Opened pull request #${created.pull.number}.`;
      this.#set(sessionId, { busy: null, line: null, done: { text, url: created.pull.url } });
      return created;
    } catch (e) {
      this.#set(sessionId, { busy: null, line: null });
      throw e;
    }
  }

  /** Asks GitHub now for the pull request's state and checks. */
  async refreshPull(sessionId: number): Promise<PullStatus | null> {
    if (this.op(sessionId).busy) return null;
    this.#set(sessionId, { busy: 'refresh', error: null });
    try {
      const p = await this.#t.request<PullStatus>('GET', `/sessions/${sessionId}/pr`);
      this.#sessions.setPull(sessionId, p);
      this.#set(sessionId, { busy: null });
      return p;
    } catch (e) {
      this.#set(sessionId, { busy: null, error: { ...githubErrorOf(e), action: 'refresh' } });
      return null;
    }
  }

  removed(sessionId: number): void {
    delete this.ops[sessionId];
  }
}
