import { describe, expect, it } from 'vitest';
import { Grove } from './grove.svelte';
import { relayBase, type EventHandlers, type Method, type Transport } from './transport';
import type { LivePane } from './stores/terminals.svelte';
import { checkRemoteForm } from './remotes';
import type { Event } from './wire/Event';
import type { Remote } from './wire/Remote';
import type { Session } from './wire/Session';
import type { UiState } from './wire/UiState';

function session(id: number, name = `s${id}`): Session {
  return {
    id, repo_id: 1, name, branch: `grove/${name}`, base: 'main', worktree: `/w/${id}`, state: 'active',
    drift: { kind: 'none' }, port_base: 4000, setup_exit: null, has_setup: false, terminals: [], created_at: id, changes: null, pull: null,
  };
}

function remote(name: string, state: Remote['state'], detail: string | null = null): Remote {
  return { name, url: `https://${name}:7777`, remote_port: null, fingerprint: null, state, detail, version: '0.1.0', attention: 0 };
}

function uiState(sessions: Session[]): UiState {
  return { repos: [{ id: 1, name: 'demo', path: '/d' }], agents: [], sessions, first_pane: null };
}

/**
 * A server and its relays: answers each request from `answers` by full API path (the relay's
 * prefix included, as a browser would send it) and records every request. The answers can be
 * changed between steps, like a server whose state moves on.
 */
function fakeServer(answers: Record<string, unknown>) {
  const requests: string[] = [];
  let handlers: EventHandlers | null = null;
  const make = (base: string): Transport => ({
    request: <T>(method: Method, path: string) => {
      const full = `${method} ${base}${path}`;
      requests.push(full);
      if (!(full in answers)) return Promise.reject(new Error(`unexpected ${full}`));
      const a = answers[full];
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a as T);
    },
    events: (h) => {
      handlers = h;
      return { close() {} };
    },
    terminal: () => {
      throw new Error('no sockets here');
    },
    relay: (name) => make(relayBase(name)),
  });
  return {
    transport: make(relayBase('local')),
    requests,
    answers,
    open: () => handlers?.open(),
    send: (ev: Event) => handlers?.event(ev),
  };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
};

/** A mounted pane, as TerminalView registers it: records reconnects and disposal. */
function pane(terminalId: number, reconnecting = true) {
  const p: LivePane & { reconnects: number; disposed: boolean } = {
    terminalId,
    reconnecting,
    reconnects: 0,
    disposed: false,
    text: () => '',
    reconnectNow() {
      p.reconnects++;
    },
    detach() {},
    attach() {},
    dispose() {
      p.disposed = true;
    },
  };
  return p;
}

/** A started app with the local server and a connected remote `box`, each with session id 1. */
async function started() {
  const srv = fakeServer({
    'GET /api/v1/state': uiState([session(1, 'here')]),
    'GET /api/v1/remotes': [remote('box', 'connected')],
    'GET /api/v1/remotes/box/relay/state': uiState([session(1, 'there'), session(2, 'there-too')]),
    // Secondary loads of each server; their answers do not matter here.
    'GET /api/v1/repos/1/trust': { repo_id: 1, state: 'none' },
    'GET /api/v1/remotes/box/relay/repos/1/trust': { repo_id: 1, state: 'none' },
  });
  const grove = new Grove(srv.transport);
  grove.start();
  srv.open();
  await flush();
  // The load on open waits for an idle page; the test's page is idle once the timers ran.
  await new Promise((r) => setTimeout(r, 60));
  await flush();
  return { srv, grove };
}

describe('Grove with remote servers', () => {
  it('keeps sessions per server: the same id on two servers is two sessions', async () => {
    const { grove } = await started();
    const box = grove.scope('box')!;
    expect(grove.scopes.map((s) => s.name)).toEqual(['local', 'box']);
    expect(grove.local.sessions.byId[1]?.name).toBe('here');
    expect(box.sessions.byId[1]?.name).toBe('there');
    // Sidebar order: the local server first, then the remotes.
    expect(grove.ordered().map((l) => `${l.scope.name}:${l.session.name}`)).toEqual(['local:here', 'box:there', 'box:there-too']);
    // One selection across servers.
    expect(grove.selected?.scope.name).toBe('local');
    box.sessions.select(1);
    expect(grove.selected?.scope.name).toBe('box');
    expect(grove.selected?.session.name).toBe('there');
    expect(grove.local.sessions.selectedId).toBeNull();
    grove.step(1);
    expect(grove.selected?.session.name).toBe('there-too');
    grove.step(1); // wraps around to the local server
    expect(grove.selected?.scope.name).toBe('local');
    grove.selectIndex(1);
    expect(grove.selected?.scope.name).toBe('box');
  });

  it("applies a relayed event to that server's stores only", async () => {
    const { grove, srv } = await started();
    const box = grove.scope('box')!;
    srv.send({ type: 'remote', server: 'box', event: { type: 'session_updated', session: session(1, 'renamed') } });
    srv.send({ type: 'remote', server: 'box', event: { type: 'session_removed', session_id: 2 } });
    expect(box.sessions.byId[1]?.name).toBe('renamed');
    expect(box.sessions.byId[2]).toBeUndefined();
    expect(grove.local.sessions.byId[1]?.name).toBe('here');
    // Attention on the remote counts in the app's "needs you".
    srv.send({ type: 'remote', server: 'box', event: { type: 'attention', session_id: 1, terminal_id: 9, message: 'waiting' } });
    expect(box.sessions.badge(box.sessions.byId[1]!).kind).toBe('attention');
    expect(grove.needingAttention).toBe(1);
    // The local server's own events stay local; a remote nobody knows is ignored.
    srv.send({ type: 'session_updated', session: session(1, 'local-renamed') });
    srv.send({ type: 'remote', server: 'ghost', event: { type: 'session_removed', session_id: 1 } });
    expect(grove.local.sessions.byId[1]?.name).toBe('local-renamed');
    expect(box.sessions.byId[1]?.name).toBe('renamed');
  });

  it('reloads a remote that comes back and resumes its panes at once; offline panes stay out of the banner', async () => {
    const { grove, srv } = await started();
    const box = grove.scope('box')!;
    const p = pane(5);
    box.terminals.register(p);
    expect(grove.connection.reconnecting).toBe(1); // connected: a dropped pane is news

    srv.send({ type: 'remote_changed', remote: remote('box', 'offline', 'connection refused') });
    expect(grove.servers.get('box')?.state).toBe('offline');
    expect(grove.servers.connected('box')).toBe(false);
    // Its sessions stay, shown dimmed; its panes wait without the "Reconnecting terminals" banner.
    expect(box.sessions.byId[1]?.name).toBe('there');
    expect(grove.connection.reconnecting).toBe(0);
    expect(p.reconnects).toBe(0);

    // While it was away a session was made there: the events are not replayed, the state is read.
    srv.answers['GET /api/v1/remotes/box/relay/state'] = uiState([session(1, 'there'), session(3, 'made-meanwhile')]);
    const before = srv.requests.filter((r) => r === 'GET /api/v1/remotes/box/relay/state').length;
    srv.send({ type: 'remote_changed', remote: remote('box', 'connected') });
    await flush();
    expect(srv.requests.filter((r) => r === 'GET /api/v1/remotes/box/relay/state').length).toBe(before + 1);
    expect(Object.keys(box.sessions.byId)).toEqual(['1', '3']);
    expect(p.reconnects).toBe(1);
    expect(grove.connection.reconnecting).toBe(1);

    // A state change that is not a reconnect reads nothing.
    srv.send({ type: 'remote_changed', remote: { ...remote('box', 'connected'), attention: 2 } });
    await flush();
    expect(srv.requests.filter((r) => r === 'GET /api/v1/remotes/box/relay/state').length).toBe(before + 1);
  });

  it('drops a removed remote: its sessions leave, its panes close, the user is told', async () => {
    const { grove, srv } = await started();
    const box = grove.scope('box')!;
    const p = pane(5, false);
    box.terminals.register(p);
    box.sessions.select(2);
    srv.send({ type: 'remote_removed', name: 'box' });
    expect(grove.scope('box')).toBeNull();
    expect(grove.servers.list).toEqual([]);
    expect(grove.scopes.map((s) => s.name)).toEqual(['local']);
    expect(p.disposed).toBe(true);
    expect(grove.selected).toBeNull();
    expect(grove.ordered().map((l) => l.session.name)).toEqual(['here']);
    expect(grove.connection.messages.at(-1)?.text).toMatch(/"box" was removed/);
    // Late events of the removed remote go nowhere.
    srv.send({ type: 'remote', server: 'box', event: { type: 'session_updated', session: session(9) } });
    expect(grove.scope('box')).toBeNull();
  });

  it('adds a remote through the API and reads its state, and removes it', async () => {
    const { grove, srv } = await started();
    srv.answers['POST /api/v1/remotes'] = remote('vm', 'connected');
    srv.answers['GET /api/v1/remotes/vm/relay/state'] = uiState([session(1, 'on-vm')]);
    srv.answers['GET /api/v1/remotes/vm/relay/repos/1/trust'] = { repo_id: 1, state: 'none' };
    await grove.addRemote({ name: 'vm', url: 'https://vm:7777', token: 't' });
    await flush();
    expect(grove.scopes.map((s) => s.name)).toEqual(['local', 'box', 'vm']);
    expect(grove.scope('vm')?.sessions.byId[1]?.name).toBe('on-vm');
    srv.answers['DELETE /api/v1/remotes/vm'] = {};
    await grove.removeRemote('vm');
    expect(grove.scope('vm')).toBeNull();
  });

  it("keeps a remote's `connected` that arrived before the add's answer (which says `connecting`)", async () => {
    const { grove, srv } = await started();
    srv.answers['GET /api/v1/remotes/vm/relay/state'] = uiState([session(1, 'on-vm')]);
    srv.answers['GET /api/v1/remotes/vm/relay/repos/1/trust'] = { repo_id: 1, state: 'none' };
    // The server answers the add with the state of that moment; the event that it connected
    // overtakes the answer.
    let answer: (r: Remote) => void = () => {};
    const t = srv.transport as { request: Transport['request'] };
    const plain = t.request;
    t.request = (<T>(method: Method, path: string, body?: unknown) =>
      method === 'POST' && path === '/remotes'
        ? (new Promise<Remote>((res) => (answer = res)) as Promise<T>)
        : plain<T>(method, path, body)) as Transport['request'];
    const adding = grove.addRemote({ name: 'vm', url: 'https://vm:7777', token: 't' });
    srv.send({ type: 'remote_changed', remote: remote('vm', 'connected') });
    answer(remote('vm', 'connecting'));
    await adding;
    await flush();
    expect(grove.servers.get('vm')?.state).toBe('connected');
    expect(grove.scope('vm')?.sessions.byId[1]?.name).toBe('on-vm');
  });

  it('a resync of the local server reloads the remotes too', async () => {
    const { grove, srv } = await started();
    srv.answers['GET /api/v1/remotes'] = [remote('box', 'fingerprint_mismatch', 'the certificate changed')];
    srv.send({ type: 'resync' });
    await flush();
    expect(grove.servers.get('box')?.state).toBe('fingerprint_mismatch');
    // Not connected: its sessions are kept as last seen, not reloaded.
    expect(grove.scope('box')?.sessions.byId[1]?.name).toBe('there');
  });
});

describe('the Add server form', () => {
  const base = { name: 'devbox', url: 'https://devbox:7777', token: 'tok', fingerprint: '', remotePort: '' };

  it('builds the request, with a pasted fingerprint normalized', () => {
    expect(checkRemoteForm(base)).toEqual({ request: { name: 'devbox', url: 'https://devbox:7777', token: 'tok' } });
    const fp = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0')).join(' ');
    const r = checkRemoteForm({ ...base, fingerprint: fp });
    expect('request' in r && r.request.fingerprint).toBe(Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0').toUpperCase()).join(':'));
    expect(checkRemoteForm({ ...base, url: 'ssh://me@devbox:22', remotePort: '7777' })).toEqual({
      request: { name: 'devbox', url: 'ssh://me@devbox:22', token: 'tok', remote_port: 7777 },
    });
  });

  it('names the field that is wrong', () => {
    const err = (f: Partial<typeof base>) => {
      const r = checkRemoteForm({ ...base, ...f });
      return 'error' in r ? r.error : null;
    };
    expect(err({ name: 'Dev Box' })).toMatch(/^Name:/);
    expect(err({ name: 'local' })).toMatch(/own server/);
    expect(err({ url: 'http://devbox:7777' })).toMatch(/^Address:/);
    expect(err({ token: ' ' })).toMatch(/^Token:/);
    expect(err({ url: 'ssh://devbox' })).toMatch(/^Port:/);
    expect(err({ fingerprint: 'AB:CD' })).toMatch(/^Certificate fingerprint:/);
  });
});
