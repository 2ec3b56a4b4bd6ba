import { describe, expect, it } from 'vitest';
import { Grove } from './grove.svelte';
import { markFirstScreenUp } from './startup';
import type { EventHandlers, Transport } from './transport';
import type { Session } from './wire/Session';
import type { UiState } from './wire/UiState';
import type { Event } from './wire/Event';

function session(id: number): Session {
  return {
    id, repo_id: 1, name: `s${id}`, branch: `grove/s${id}`, base: 'main', worktree: `/w/${id}`, state: 'active',
    drift: { kind: 'none' }, port_base: 4000, setup_exit: null, has_setup: false, terminals: [], created_at: id, changes: null, pull: null,
  };
}

/** A transport whose GETs wait until the test answers them, in any order. */
function heldTransport() {
  const pending: { path: string; answer: (v: unknown) => void }[] = [];
  let handlers: EventHandlers | null = null;
  const transport: Transport = {
    request: <T>(_method: string, path: string) =>
      new Promise<T>((resolve) => pending.push({ path, answer: (v) => resolve(v as T) })),
    events: (h) => {
      handlers = h;
      return { close() {} };
    },
    terminal: () => {
      throw new Error('no terminals here');
    },
    relay: () => {
      throw new Error('no remotes here');
    },
  };
  /** Answers the `round`th state load (the one with the first pane is round 0 when the page
   *  did not start it already) with `sessions`. */
  const answer = (round: number, sessions: Session[], firstPane: UiState['first_pane'] = null) => {
    const loads = pending.filter((p) => p.path.startsWith('/state'));
    loads[round]?.answer({ repos: [{ id: 1, name: 'demo', path: '/d' }], agents: [], sessions, first_pane: firstPane } satisfies UiState);
  };
  return { transport, pending, answer, open: () => handlers?.open?.(), emit: (ev: Event) => handlers?.event?.(ev) };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('Grove start-up loads', () => {
  it('loads before the events socket opens, and a late early answer never overwrites the load on open', async () => {
    const t = heldTransport();
    const grove = new Grove(t.transport);
    grove.start();
    expect(t.pending.map((p) => p.path)).toEqual(['/state']);
    t.open(); // the authoritative load, held back until the first screen is up
    expect(t.pending.map((p) => p.path)).toEqual(['/state']);
    markFirstScreenUp(); // as the first pane does once it drew
    await flush();
    // The load on open also lists the remote servers.
    expect(t.pending.map((p) => p.path)).toEqual(['/state', '/state', '/remotes']);
    t.answer(1, [session(1), session(2)]);
    await flush();
    expect(Object.keys(grove.sessions.byId)).toEqual(['1', '2']);
    t.answer(0, [session(1)]); // the early load, answered last: stale
    await flush();
    expect(Object.keys(grove.sessions.byId)).toEqual(['1', '2']);
  });

  it('events that come while a load is on its way are not undone by its answer', async () => {
    const t = heldTransport();
    const grove = new Grove(t.transport);
    grove.start();
    t.open();
    markFirstScreenUp();
    await flush();
    t.answer(0, [session(1), session(2)]);
    await flush();
    // The load on open is in flight; meanwhile a session is created and another removed, and the
    // answer, made before both, arrives after them.
    t.emit({ type: 'session_updated', session: session(3) });
    t.emit({ type: 'session_removed', session_id: 2 });
    t.answer(1, [session(1), session(2)]);
    await flush();
    expect(Object.keys(grove.sessions.byId)).toEqual(['1', '3']);
    // Once the answer is set, events are only applied (nothing is kept for later).
    t.emit({ type: 'session_removed', session_id: 3 });
    expect(Object.keys(grove.sessions.byId)).toEqual(['1']);
  });

  it('shows the early answer when it comes first', async () => {
    const t = heldTransport();
    const grove = new Grove(t.transport);
    grove.start();
    t.answer(0, [session(7)]);
    await flush();
    expect(grove.sessions.selectedId).toBe(7);
  });

  it('draws the first state the page brought before the first render, and hands its pane the screen', () => {
    const t = heldTransport();
    const grove = new Grove(t.transport);
    const snapshot = { cols: 80, rows: 24, data: 'hello' };
    const view = { cols: 80, rows: 24, foreground: '#d1d7e0', background: '#0d1117', cursor_color: '#d1d7e0', lines: [[{ text: 'hello', cols: 5 }]], cursor: null };
    const s2: Session = { ...session(2), terminals: [{ id: 20, session_id: 2, kind: 'agent', command: 'bash', status: 'running', exit: null, rows: 24, cols: 80, log_end: 9, status_since: 0 }] };
    grove.start({
      repos: [{ id: 1, name: 'demo', path: '/d' }],
      agents: [],
      sessions: [session(1), s2],
      first_pane: { session_id: 2, terminal_id: 20, offset: 9, snapshot, view },
    });
    // Synchronously: no request for the state, the server's choice selected, its screen kept.
    expect(t.pending.map((p) => p.path)).not.toContain('/state');
    expect(grove.sessions.selectedId).toBe(2);
    expect(grove.terminals.takeFirst(21)).toBeNull(); // another pane: a fresh snapshot instead
    grove.terminals.offerFirst({ session_id: 2, terminal_id: 20, offset: 9, snapshot, view });
    expect(grove.terminals.takeFirst(20)?.offset).toBe(9);
    expect(grove.terminals.takeFirst(20)).toBeNull(); // once
  });
});
