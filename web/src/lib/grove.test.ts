import { describe, expect, it } from 'vitest';
import { Grove } from './grove.svelte';
import type { EventHandlers, Transport } from './transport';
import type { Session } from './wire/Session';

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
  };
  const answer = (round: number, sessions: Session[]) => {
    for (const p of pending.slice(round * 3, round * 3 + 3)) {
      p.answer(p.path === '/sessions' ? sessions : p.path === '/repos' ? [{ id: 1, name: 'demo', path: '/d' }] : []);
    }
  };
  return { transport, pending, answer, open: () => handlers?.open?.() };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('Grove start-up loads', () => {
  it('loads before the events socket opens, and a late early answer never overwrites the load on open', async () => {
    const t = heldTransport();
    const grove = new Grove(t.transport);
    grove.start();
    expect(t.pending.map((p) => p.path).sort()).toEqual(['/agents', '/repos', '/sessions']);
    t.open(); // the authoritative load
    expect(t.pending).toHaveLength(6);
    t.answer(1, [session(1), session(2)]);
    await flush();
    expect(Object.keys(grove.sessions.byId)).toEqual(['1', '2']);
    t.answer(0, [session(1)]); // the early load, answered last: stale
    await flush();
    expect(Object.keys(grove.sessions.byId)).toEqual(['1', '2']);
  });

  it('shows the early answer when it comes first', async () => {
    const t = heldTransport();
    const grove = new Grove(t.transport);
    grove.start();
    t.answer(0, [session(7)]);
    await flush();
    expect(grove.sessions.selectedId).toBe(7);
  });
});
