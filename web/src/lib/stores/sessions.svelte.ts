// Sessions and their terminals' status, kept current by the events socket.

import type { Transport } from '../transport';
import type { Session } from '../wire/Session';
import type { TerminalInfo } from '../wire/TerminalInfo';
import type { Event } from '../wire/Event';
import type { CreateSessionRequest } from '../wire/CreateSessionRequest';
import type { CreateStage } from '../wire/CreateStage';
import type { Repo } from '../wire/Repo';
import type { PullStatus } from '../wire/PullStatus';

export type Badge =
  | { kind: 'attention' }
  | { kind: 'running' }
  | { kind: 'idle' }
  | { kind: 'exited'; code: number | null; signal: number | null }
  | { kind: 'ended' }
  | { kind: 'archived' }
  | { kind: 'none' };

export interface Progress {
  stage: CreateStage;
  message: string | null;
}

export interface RepoGroup {
  repo: Repo;
  sessions: Session[];
}

export class SessionStore {
  byId = $state<Record<number, Session>>({});
  selectedId = $state<number | null>(null);
  /** Selected terminal per session. */
  activeTerminal = $state<Record<number, number>>({});
  /** Sessions that asked for the user since they were last looked at. */
  attention = $state<Record<number, string | null>>({});
  /** Create requests in flight, keyed by `repo_id:name`. */
  progress = $state<Record<string, Progress>>({});
  /** Called after every selection change: with several servers, one selection across all of
   *  them (the app clears the other servers' selection). */
  onselect: ((id: number | null) => void) | null = null;
  #t: Transport;

  constructor(t: Transport) {
    this.#t = t;
  }

  get all(): Session[] {
    return Object.values(this.byId);
  }

  get selected(): Session | null {
    return this.selectedId === null ? null : (this.byId[this.selectedId] ?? null);
  }

  /** Active sessions grouped by repo, in sidebar order. */
  groups(repos: Repo[]): RepoGroup[] {
    const sorted = [...repos].sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id);
    return sorted.map((repo) => ({
      repo,
      sessions: this.all
        .filter((s) => s.repo_id === repo.id && s.state === 'active')
        .sort((a, b) => a.created_at - b.created_at || a.id - b.id),
    }));
  }

  archived(): Session[] {
    return this.all.filter((s) => s.state === 'archived').sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Active sessions in sidebar order (what next/previous and 1–9 walk). */
  ordered(repos: Repo[]): Session[] {
    return this.groups(repos).flatMap((g) => g.sessions);
  }

  select(id: number | null): void {
    this.selectedId = id;
    if (id !== null && id in this.attention) delete this.attention[id];
    this.onselect?.(id);
  }

  /** Moves the selection by `delta` through `ordered`, wrapping around. */
  step(repos: Repo[], delta: number): void {
    const list = this.ordered(repos);
    if (list.length === 0) return;
    const i = list.findIndex((s) => s.id === this.selectedId);
    const next = i < 0 ? (delta > 0 ? 0 : list.length - 1) : (i + delta + list.length) % list.length;
    this.select(list[next]!.id);
  }

  selectIndex(repos: Repo[], index: number): void {
    const s = this.ordered(repos)[index];
    if (s) this.select(s.id);
  }

  badge(s: Session): Badge {
    if (s.state === 'archived') return { kind: 'archived' };
    if (s.id in this.attention || s.terminals.some((t) => t.status === 'needs_attention')) {
      // Looking at the session acknowledges it.
      if (s.id !== this.selectedId || s.id in this.attention) return { kind: 'attention' };
    }
    const agent = s.terminals.find((t) => t.kind === 'agent') ?? s.terminals[0];
    if (!agent) return { kind: 'none' };
    switch (agent.status) {
      case 'running':
        return { kind: 'running' };
      case 'idle':
      case 'needs_attention':
        return { kind: 'idle' };
      case 'exited':
        return { kind: 'exited', code: agent.exit?.code ?? null, signal: agent.exit?.signal ?? null };
      case 'ended_with_app':
        return { kind: 'ended' };
    }
  }

  /** How many sessions need the user (for the window title). */
  get needingAttention(): number {
    return this.all.filter((s) => this.badge(s).kind === 'attention').length;
  }

  terminalOf(s: Session): TerminalInfo | null {
    const id = this.activeTerminal[s.id];
    return s.terminals.find((t) => t.id === id) ?? s.terminals[0] ?? null;
  }

  // ---- server calls ----

  /** Replaces every session with `list` (a state load); a selection that is gone is dropped. */
  setAll(list: Session[]): void {
    const next: Record<number, Session> = {};
    for (const s of list) next[s.id] = s;
    this.byId = next;
    if (this.selectedId !== null && !(this.selectedId in next)) this.selectedId = null;
  }

  async create(req: CreateSessionRequest): Promise<Session> {
    const key = `${req.repo_id}:${req.name}`;
    this.progress[key] = { stage: 'fetching', message: null };
    try {
      const s = await this.#t.request<Session>('POST', '/sessions', req);
      this.upsert(s);
      this.select(s.id);
      return s;
    } finally {
      delete this.progress[key];
    }
  }

  async archive(id: number, force = false): Promise<void> {
    const s = await this.#t.request<Session>('POST', `/sessions/${id}/archive`, { force });
    this.upsert(s);
  }

  async restore(id: number): Promise<void> {
    const s = await this.#t.request<Session>('POST', `/sessions/${id}/restore`);
    this.upsert(s);
  }

  async delete(id: number, force = false): Promise<void> {
    await this.#t.request<unknown>('POST', `/sessions/${id}/delete`, { force });
    this.removed(id);
  }

  async newShell(sessionId: number, command?: string): Promise<TerminalInfo> {
    const t = await this.#t.request<TerminalInfo>(
      'POST',
      `/sessions/${sessionId}/terminals`,
      command ? { command } : {},
    );
    this.terminalUpdated(t);
    this.activeTerminal[sessionId] = t.id;
    return t;
  }

  async restart(terminalId: number): Promise<void> {
    const t = await this.#t.request<TerminalInfo>('POST', `/terminals/${terminalId}/restart`);
    this.terminalUpdated(t);
  }

  async closeTerminal(sessionId: number, terminalId: number): Promise<void> {
    await this.#t.request<unknown>('DELETE', `/terminals/${terminalId}`);
    this.terminalRemoved(sessionId, terminalId);
  }

  // ---- state changes (from responses and events) ----

  apply(ev: Event): void {
    switch (ev.type) {
      case 'session_updated':
        this.upsert(ev.session);
        break;
      case 'session_removed':
        this.removed(ev.session_id);
        break;
      case 'terminal_updated':
        this.terminalUpdated(ev.terminal);
        break;
      case 'terminal_removed':
        this.terminalRemoved(ev.session_id, ev.terminal_id);
        break;
      case 'attention':
        if (ev.session_id !== this.selectedId || !pageVisible()) this.attention[ev.session_id] = ev.message;
        break;
      case 'session_changes': {
        // The sidebar's counts and dot; the open review panel refetches on its own.
        const s = this.byId[ev.session_id];
        if (s) s.changes = ev.summary;
        break;
      }
      case 'session_progress': {
        const key = `${ev.repo_id}:${ev.name}`;
        if (ev.stage === 'done') delete this.progress[key];
        else this.progress[key] = { stage: ev.stage, message: ev.message };
        break;
      }
      default:
        break;
    }
  }

  upsert(s: Session): void {
    this.byId[s.id] = s;
  }

  /** A pull request status from an answer (the server also sends it with `session_updated`). */
  setPull(id: number, pull: PullStatus): void {
    const s = this.byId[id];
    if (s) s.pull = pull;
  }

  removed(id: number): void {
    delete this.byId[id];
    delete this.attention[id];
    delete this.activeTerminal[id];
    if (this.selectedId === id) this.selectedId = null;
  }

  terminalUpdated(t: TerminalInfo): void {
    const s = this.byId[t.session_id];
    if (!s) return;
    const i = s.terminals.findIndex((x) => x.id === t.id);
    if (i >= 0) s.terminals[i] = t;
    else s.terminals.push(t);
  }

  terminalRemoved(sessionId: number, terminalId: number): void {
    const s = this.byId[sessionId];
    if (!s) return;
    s.terminals = s.terminals.filter((t) => t.id !== terminalId);
    if (this.activeTerminal[sessionId] === terminalId) delete this.activeTerminal[sessionId];
  }
}

function pageVisible(): boolean {
  return typeof document === 'undefined' || document.visibilityState === 'visible';
}

/** A readable label for a badge. */
export function badgeLabel(b: Badge): string {
  switch (b.kind) {
    case 'attention':
      return 'needs you';
    case 'running':
      return 'running';
    case 'idle':
      return 'idle';
    case 'exited':
      return b.code !== null ? `exited ${b.code}` : b.signal !== null ? `killed (signal ${b.signal})` : 'exited';
    case 'ended':
      return 'stopped with Grove';
    case 'archived':
      return 'archived';
    case 'none':
      return '';
  }
}

export const STAGE_LABEL: Record<CreateStage, string> = {
  fetching: 'Fetching…',
  creating_worktree: 'Creating the worktree…',
  copying_files: 'Copying files…',
  starting_terminal: 'Starting the terminal…',
  done: 'Done',
};
