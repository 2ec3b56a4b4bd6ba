import { describe, expect, it } from 'vitest';
import { SessionStore, badgeLabel } from './sessions.svelte';
import type { Transport } from '../transport';
import type { Session } from '../wire/Session';
import type { Repo } from '../wire/Repo';
import type { TerminalInfo } from '../wire/TerminalInfo';

const noTransport: Transport = {
  request: () => Promise.reject(new Error('offline')),
  events: () => ({ close() {} }),
  terminal: () => {
    throw new Error('offline');
  },
  relay: () => noTransport,
};

const repos: Repo[] = [
  { id: 2, name: 'zeta', path: '/z' },
  { id: 1, name: 'alpha', path: '/a' },
];

function term(id: number, session_id: number, over: Partial<TerminalInfo> = {}): TerminalInfo {
  return { id, session_id, kind: 'agent', command: 'bash', status: 'running', exit: null, rows: 24, cols: 80, log_end: 0, status_since: 0, ...over };
}

function session(id: number, repo_id: number, created_at: number, over: Partial<Session> = {}): Session {
  return {
    id, repo_id, name: `s${id}`, branch: `grove/s${id}`, base: 'main', worktree: `/w/${id}`, state: 'active',
    drift: { kind: 'none' }, port_base: 4000, setup_exit: null, has_setup: false, terminals: [term(id * 10, id)], created_at, changes: null, pull: null, ...over,
  };
}

function store(list: Session[]) {
  const s = new SessionStore(noTransport);
  for (const x of list) s.upsert(x);
  return s;
}

describe('SessionStore', () => {
  it('groups by repo name and orders by creation; next/previous wrap', () => {
    const s = store([session(1, 2, 5), session(2, 1, 9), session(3, 1, 3), session(4, 1, 1, { state: 'archived' })]);
    expect(s.ordered(repos).map((x) => x.id)).toEqual([3, 2, 1]);
    s.step(repos, 1);
    expect(s.selectedId).toBe(3);
    s.step(repos, -1);
    expect(s.selectedId).toBe(1);
    s.step(repos, 1);
    expect(s.selectedId).toBe(3);
    s.selectIndex(repos, 1);
    expect(s.selectedId).toBe(2);
    expect(s.archived().map((x) => x.id)).toEqual([4]);
  });

  it('applies terminal events and exits into badges', () => {
    const s = store([session(1, 1, 1)]);
    expect(s.badge(s.byId[1]!)).toEqual({ kind: 'running' });
    s.apply({ type: 'terminal_updated', terminal: term(10, 1, { status: 'exited', exit: { code: 3, signal: null } }) });
    const b = s.badge(s.byId[1]!);
    expect(b).toEqual({ kind: 'exited', code: 3, signal: null });
    expect(badgeLabel(b)).toBe('exited 3');
    s.apply({ type: 'terminal_updated', terminal: term(11, 1, { kind: 'shell' }) });
    expect(s.byId[1]!.terminals.map((t) => t.id)).toEqual([10, 11]);
    s.apply({ type: 'terminal_removed', session_id: 1, terminal_id: 11 });
    expect(s.byId[1]!.terminals.map((t) => t.id)).toEqual([10]);
  });

  it('marks attention until the session is looked at', () => {
    const s = store([session(1, 1, 1), session(2, 1, 2)]);
    s.select(1);
    s.apply({ type: 'attention', session_id: 2, terminal_id: 20, message: 'done' });
    expect(s.badge(s.byId[2]!).kind).toBe('attention');
    expect(s.needingAttention).toBe(1);
    s.select(2);
    expect(s.needingAttention).toBe(0);
  });

  it('tracks create progress by repo and name, and forgets removed sessions', () => {
    const s = store([session(1, 1, 1)]);
    s.apply({ type: 'session_progress', repo_id: 1, name: 'new', stage: 'creating_worktree', message: null });
    expect(s.progress['1:new']?.stage).toBe('creating_worktree');
    s.apply({ type: 'session_progress', repo_id: 1, name: 'new', stage: 'done', message: null });
    expect(s.progress['1:new']).toBeUndefined();
    s.select(1);
    s.apply({ type: 'session_removed', session_id: 1 });
    expect(s.selectedId).toBeNull();
    expect(s.all).toEqual([]);
  });
});

describe('session_changes', () => {
  it('patches the session\'s summary (the sidebar\'s +/- and dot) and ignores unknown sessions', () => {
    const s = store([session(1, 1, 1)]);
    const summary = { files: 2, additions: 10, deletions: 3, uncommitted: 1 };
    s.apply({ type: 'session_changes', session_id: 1, summary, paths: ['a.ts'], all: false });
    expect(s.byId[1]!.changes).toEqual(summary);
    s.apply({ type: 'session_changes', session_id: 9, summary, paths: [], all: true });
    expect(s.byId[9]).toBeUndefined();
  });
});
