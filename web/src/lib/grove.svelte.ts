// The app's state root: one `ServerGrove` per server the UI shows (its own, "local", and each
// remote its server relays; issue 21), the events socket (with reconnect and reload), and one
// selection across them. Built from one Transport; a remote's stores get the same transport
// addressed to the relay (`Transport.relay`), so nothing below opens a connection of its own.
//
// Ids are unique only per server: every store is per server, and a session is addressed as
// (server, id). A remote's events arrive on the local socket as `{type:'remote', server, event}`
// and are applied to that server's stores exactly as local events are to the local ones.

import type { Closable, Transport } from './transport';
import { RequestError, messageOf } from './transport';
import { ConnectionStore } from './stores/connection.svelte';
import { RepoStore } from './stores/repos.svelte';
import { SessionStore } from './stores/sessions.svelte';
import { TerminalStore } from './stores/terminals.svelte';
import { TrustStore } from './stores/trust.svelte';
import { ReviewStores } from './stores/review.svelte';
import { SecretStore, isVaultLocked } from './stores/secrets.svelte';
import { GithubStore } from './stores/github.svelte';
import { LOCAL, ServerStore } from './stores/servers.svelte';
import type { Event } from './wire/Event';
import type { UiState } from './wire/UiState';
import type { Session } from './wire/Session';
import { markFirstScreenUp, markOnce, whenIdle } from './startup';

const BACKOFF = [250, 500, 1000, 2000, 4000, 8000];

export interface ServerOptions {
  /** `local` or the remote's name. */
  name: string;
  /** Addressed to this server (the local transport, or its relay to the remote). */
  transport: Transport;
  /** The app's, shared by every server: one list of messages for the user. */
  connection: ConnectionStore;
  /** Whether the server can be used now (a remote: connected). */
  up?: () => boolean;
  /** Whether any server has a session selected: the first load selects one only when none is. */
  anySelected?: () => boolean;
}

/** One server's state: its repos, sessions, terminals, reviews… Components under a session get
 *  the session's server through the context (`useGrove`), so they need not know there are several. */
export class ServerGrove {
  readonly name: string;
  readonly transport: Transport;
  readonly connection: ConnectionStore;
  readonly repos: RepoStore;
  readonly sessions: SessionStore;
  readonly terminals: TerminalStore;
  readonly trust: TrustStore;
  readonly reviews: ReviewStores;
  readonly secrets: SecretStore;
  readonly github: GithubStore;
  /** Loads started so far (see `reload`). */
  #loads = 0;
  /** The repo and session events that arrived while the newest load was in flight (`null`: none
   *  is): its answer may have been made before them, so they are applied again on top of it. */
  #sinceLoad: Event[] | null = null;
  /** More arrived than are kept: the load is followed by another. */
  #sinceLoadOverflow = false;
  #anySelected: () => boolean;

  constructor(opts: ServerOptions) {
    const transport = opts.transport;
    this.name = opts.name;
    this.transport = transport;
    this.connection = opts.connection;
    this.#anySelected = opts.anySelected ?? (() => this.sessions.selectedId !== null);
    this.repos = new RepoStore(transport);
    this.sessions = new SessionStore(transport);
    this.terminals = new TerminalStore(transport, this.connection, opts.name, opts.up);
    this.trust = new TrustStore(transport);
    this.reviews = new ReviewStores(transport);
    this.secrets = new SecretStore(transport);
    this.github = new GithubStore(transport, this.sessions);
  }

  get isLocal(): boolean {
    return this.name === LOCAL;
  }

  /** How this server is named to the user in messages. */
  get label(): string {
    return this.isLocal ? 'this machine' : `server "${this.name}"`;
  }

  /** Reloads this server's state (on connect and on `resync`), or takes `state` when given (the
   *  page's first load). An `early` load (before the events socket is open) leaves failures to
   *  the load on open, which reports them. */
  async reload({ early = false, state }: { early?: boolean; state?: UiState | Promise<UiState> } = {}): Promise<void> {
    const seq = ++this.#loads;
    const current = () => seq === this.#loads;
    this.#sinceLoad = [];
    this.#sinceLoadOverflow = false;
    try {
      // A state already at hand is applied without an await: synchronously, before this returns.
      const s =
        state === undefined
          ? await this.transport.request<UiState>('GET', '/state')
          : state instanceof Promise
            ? await state
            : state;
      if (!current()) return;
      this.repos.set(s.repos, s.agents);
      this.sessions.setAll(s.sessions);
      // The events socket and this request are separate connections: an event that arrived while
      // the answer was on its way can be newer than the answer, and setting the answer undid it
      // (a session created at that moment was never shown). They are applied again, in order.
      const missed = this.#sinceLoad ?? [];
      const overflow = this.#sinceLoadOverflow;
      this.#sinceLoad = null;
      for (const ev of missed) this.#reapply(ev);
      if (overflow) void this.reload();
      // Trust and the vault's state (names only) are not on the first screen: the page's first
      // load reads them once it is idle, so their requests and answers do not hold up the first
      // pane; later loads read them at once.
      const secondary = () => {
        void this.trust.loadAll(this.repos.list.map((r) => r.id), current).catch((e: unknown) => {
          if (!early && current()) this.connection.error(`Could not read which repos' grove.toml you approved on ${this.label}: ${messageOf(e)}`);
        });
        void this.secrets.load().catch((e: unknown) => {
          if (!early && current()) this.connection.error(`Could not read the vault's state on ${this.label}: ${messageOf(e)}`);
        });
        void this.github.load().catch((e: unknown) => {
          if (!early && current()) this.connection.error(`Could not read the GitHub sign-in on ${this.label}: ${messageOf(e)}`);
        });
      };
      if (early) whenIdle(secondary);
      else secondary();
      if (this.isLocal) markOnce('loaded');
      if (!early) this.reviews.refreshOpen();
      if (this.isLocal && !this.#anySelected()) {
        // The server names the pane it sent the screen of; otherwise the sidebar's first session.
        const pane = s.first_pane;
        const first = (pane && this.sessions.byId[pane.session_id]) || this.sessions.ordered(this.repos.list)[0];
        if (pane && first && first.id === pane.session_id) this.terminals.offerFirst(pane);
        if (first) this.sessions.select(first.id);
        // Without a pane to draw, the first screen is up with this load.
        if (!first || first.terminals.length === 0) markFirstScreenUp();
      }
    } catch (e) {
      if (current()) this.#sinceLoad = null;
      if (this.isLocal && e instanceof RequestError && e.error.code === 'unauthorized') {
        this.connection.server = 'unauthorized';
        return;
      }
      // A remote that is not connected keeps what was last seen (shown dimmed); its header says
      // why, and it is reloaded when it connects.
      if (!this.isLocal && e instanceof RequestError && REMOTE_DOWN.has(e.error.code)) return;
      if (early || !current()) return;
      this.connection.error(`Could not load the state of ${this.label}: ${messageOf(e)}`);
    }
  }

  /** Runs a user action; a failure becomes a readable message. Returns whether it succeeded. */
  async attempt(what: string, fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (e) {
      // A locked vault is not a failure to report but a question to ask: the unlock prompt.
      if (isVaultLocked(e)) this.secrets.prompt = true;
      // Likewise a GitHub action without a sign-in opens the sign-in.
      if (e instanceof RequestError && e.error.code === 'github_signed_out') this.github.prompt = true;
      this.connection.error(`${what}: ${messageOf(e)}`);
      return false;
    }
  }

  /** Lets go of everything this server showed (it was removed). */
  dispose(): void {
    this.terminals.disposeAll();
    this.connection.setReconnecting(this.name, 0);
  }

  /** An event again, after a load's answer was set: its effect on the repos and sessions only. */
  #reapply(ev: Event): void {
    if (ev.type === 'repo_added') this.repos.upsert(ev.repo);
    else if (ev.type === 'repo_removed') this.repos.removed(ev.repo_id);
    else this.sessions.apply(ev);
  }

  /** Applies one of this server's own events. */
  apply(ev: Event): void {
    this.#apply(ev);
  }

  #apply(ev: Event): void {
    if (this.#sinceLoad && REAPPLIED.has(ev.type)) {
      if (this.#sinceLoad.length < SINCE_LOAD_MAX) this.#sinceLoad.push(ev);
      else this.#sinceLoadOverflow = true;
    }
    switch (ev.type) {
      case 'repo_added':
        this.repos.upsert(ev.repo);
        void this.trust.load(ev.repo.id).catch((e: unknown) =>
          this.connection.error(`Could not read the trust of ${ev.repo.name}: ${messageOf(e)}`),
        );
        break;
      case 'repo_removed':
        this.repos.removed(ev.repo_id);
        this.trust.removed(ev.repo_id);
        break;
      case 'repo_trust_changed':
        this.trust.set(ev.trust);
        break;
      case 'vault_changed':
        this.secrets.changed(ev.status);
        if (ev.status.state === 'unlocked') void this.secrets.load().catch(() => {});
        // The GitHub token lives in the vault: whether Grove is signed in follows it.
        void this.github.load().catch(() => {});
        break;
      case 'secrets_changed':
        if (this.secrets.unlocked) void this.secrets.load().catch(() => {});
        break;
      case 'github_changed':
        this.github.changed(ev.status);
        break;
      case 'push_progress':
        this.github.progress(ev.session_id, ev.line);
        break;
      case 'resync':
        void this.reload();
        break;
      case 'remote_changed':
      case 'remote_removed':
      case 'remote':
        // About a remote of this server: the app's own server sends these (see `Grove`), and a
        // remote's remotes are not shown.
        break;
      case 'session_changes':
        this.sessions.apply(ev);
        this.reviews.changed(ev.session_id, ev.paths, ev.all);
        break;
      case 'session_removed':
        this.sessions.apply(ev);
        this.reviews.removed(ev.session_id);
        this.github.removed(ev.session_id);
        break;
      default:
        this.sessions.apply(ev);
    }
  }
}

/** Events whose effect a state load sets too, applied again after a load that was in flight
 *  when they came (see `ServerGrove.reload`); each sets a value, so applying one twice is once. */
const REAPPLIED = new Set<Event['type']>([
  'repo_added',
  'repo_removed',
  'session_updated',
  'session_removed',
  'terminal_updated',
  'terminal_removed',
  'session_changes',
]);
/** Events kept for that while a load is in flight; past this the load is simply followed by another. */
const SINCE_LOAD_MAX = 1000;

/** Refusals that mean "the remote is not reachable now" rather than a failed request. */
const REMOTE_DOWN = new Set<string>(['remote_offline', 'remote_unauthorized', 'fingerprint_mismatch', 'incompatible_remote', 'not_found']);

/** A session and the server it lives on. */
export interface Located {
  scope: ServerGrove;
  session: Session;
}

/** The app: every server's state, the events socket, and one selection across the servers. */
export class Grove {
  readonly transport: Transport;
  readonly connection = new ConnectionStore();
  readonly servers: ServerStore;
  /** The UI's own server. */
  readonly local: ServerGrove;
  /** Each remote's state, by name (kept while the remote is listed). */
  remotes = $state<Record<string, ServerGrove>>({});
  #events: Closable | null = null;
  #attempt = 0;
  /** The events socket has been open before. */
  #opened = false;
  #stopped = false;
  /** Remote list loads started so far. */
  #remoteLoads = 0;
  #onVisibility = () => {
    const hidden = document.visibilityState === 'hidden';
    for (const s of this.scopes) s.terminals.setHidden(hidden);
  };

  constructor(transport: Transport) {
    this.transport = transport;
    this.servers = new ServerStore(transport);
    this.local = this.#scope(LOCAL, transport);
  }

  // The local server's stores, as before there were several servers (the desktop shell, tests).
  get repos(): RepoStore {
    return this.local.repos;
  }
  get sessions(): SessionStore {
    return this.local.sessions;
  }
  get terminals(): TerminalStore {
    return this.local.terminals;
  }
  get trust(): TrustStore {
    return this.local.trust;
  }
  get reviews(): ReviewStores {
    return this.local.reviews;
  }
  get secrets(): SecretStore {
    return this.local.secrets;
  }
  get github(): GithubStore {
    return this.local.github;
  }

  /** Every server shown, the local one first, then the remotes by name. */
  get scopes(): ServerGrove[] {
    const list = [this.local];
    for (const r of this.servers.sorted) {
      const s = this.remotes[r.name];
      if (s) list.push(s);
    }
    return list;
  }

  /** A server's state by name (`local` or a remote's). */
  scope(name: string): ServerGrove | null {
    return name === LOCAL ? this.local : (this.remotes[name] ?? null);
  }

  /** The selected session and its server. */
  get selected(): Located | null {
    for (const scope of this.scopes) {
      const session = scope.sessions.selected;
      if (session) return { scope, session };
    }
    return null;
  }

  select(server: string, id: number | null): void {
    const scope = this.scope(server);
    if (scope) scope.sessions.select(id);
  }

  /** Active sessions of every server in sidebar order (what next/previous and 1–9 walk). */
  ordered(): Located[] {
    return this.scopes.flatMap((scope) => scope.sessions.ordered(scope.repos.list).map((session) => ({ scope, session })));
  }

  /** Moves the selection by `delta` through `ordered`, wrapping around. */
  step(delta: number): void {
    const list = this.ordered();
    if (list.length === 0) return;
    const cur = this.selected;
    const i = cur ? list.findIndex((l) => l.scope === cur.scope && l.session.id === cur.session.id) : -1;
    const next = i < 0 ? (delta > 0 ? 0 : list.length - 1) : (i + delta + list.length) % list.length;
    const l = list[next]!;
    l.scope.sessions.select(l.session.id);
  }

  selectIndex(index: number): void {
    const l = this.ordered()[index];
    if (l) l.scope.sessions.select(l.session.id);
  }

  /** How many sessions need the user, on every server (the window title, the sidebar). */
  get needingAttention(): number {
    let n = 0;
    for (const s of this.scopes) n += s.sessions.needingAttention;
    return n;
  }

  /**
   * Loads the state and opens the events socket. `initial` is the first state load when the page
   * started it already (see boot.ts): a value is shown at once, before this returns, so the first
   * render has it; a promise is awaited like any load.
   */
  start(initial?: UiState | Promise<UiState>): void {
    // The first paint does not wait for the events socket: this load runs while it connects.
    // The load on open follows and is the one that cannot miss an event; whichever load started
    // last wins, so an early answer never overwrites a later one.
    void this.reload({ early: true, state: initial });
    this.#openEvents();
    if (typeof document !== 'undefined') {
      document.addEventListener('visibilitychange', this.#onVisibility);
      this.#onVisibility();
    }
  }

  stop(): void {
    this.#stopped = true;
    if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', this.#onVisibility);
    this.#events?.close();
    for (const s of this.scopes) s.terminals.disposeAll();
  }

  /** Reloads everything: the local state (or takes `state`, the page's first load) and, except
   *  for the `early` load, the list of remotes and the state of each connected one. */
  async reload(opts: { early?: boolean; state?: UiState | Promise<UiState> } = {}): Promise<void> {
    const local = this.local.reload(opts);
    if (!opts.early) await Promise.all([local, this.#loadRemotes()]);
    else await local;
  }

  /** Runs a user action on the local server; see `ServerGrove.attempt`. */
  attempt(what: string, fn: () => Promise<unknown>): Promise<boolean> {
    return this.local.attempt(what, fn);
  }

  /** Adds a remote through the local server (the form's errors are the API's). */
  async addRemote(req: Parameters<ServerStore['add']>[0]) {
    const r = await this.servers.add(req);
    this.#remoteChanged(r, null);
    return r;
  }

  async removeRemote(name: string): Promise<void> {
    await this.servers.remove(name);
    this.#drop(name);
  }

  async #loadRemotes(): Promise<void> {
    const seq = ++this.#remoteLoads;
    let list;
    try {
      list = await this.servers.load();
    } catch (e) {
      // A server from before remotes has no such route: it simply has none.
      if (e instanceof RequestError && (e.error.code === 'not_found' || e.status === 404)) return;
      if (e instanceof RequestError && e.error.code === 'unauthorized') return;
      this.connection.error(`Could not list the remote servers: ${messageOf(e)}`);
      return;
    }
    if (seq !== this.#remoteLoads) return;
    const names = new Set(list.map((r) => r.name));
    for (const name of Object.keys(this.remotes)) if (!names.has(name)) this.#drop(name);
    await Promise.all(
      list.map((r) => {
        const scope = this.#ensure(r.name);
        scope.terminals.refreshReconnecting();
        if (r.state !== 'connected') return Promise.resolve();
        scope.terminals.reconnectAll();
        return scope.reload();
      }),
    );
  }

  #scope(name: string, transport: Transport): ServerGrove {
    const scope: ServerGrove = new ServerGrove({
      name,
      transport,
      connection: this.connection,
      up: () => this.servers.connected(name),
      anySelected: () => this.selected !== null,
    });
    // One selection across the servers: selecting here clears it everywhere else.
    scope.sessions.onselect = (id) => {
      if (id === null) return;
      for (const other of this.scopes) if (other !== scope && other.sessions.selectedId !== null) other.sessions.selectedId = null;
    };
    return scope;
  }

  #ensure(name: string): ServerGrove {
    let scope = this.remotes[name];
    if (!scope) {
      scope = this.#scope(name, this.transport.relay(name));
      if (typeof document !== 'undefined' && document.visibilityState === 'hidden') scope.terminals.setHidden(true);
      this.remotes[name] = scope;
    }
    return scope;
  }

  /** A remote's state changed (an event, or the answer to adding it). */
  #remoteChanged(r: Parameters<ServerStore['upsert']>[0], before: string | null): void {
    const scope = this.#ensure(r.name);
    scope.terminals.refreshReconnecting();
    if (r.state === 'connected' && before !== 'connected') {
      // Events it sent while it was away are not replayed: read its state afresh, and let its
      // panes resume from their offsets now rather than at their next backoff.
      void scope.reload();
      scope.terminals.reconnectAll();
    }
  }

  /** A remote is gone: its sessions leave the sidebar and its panes close. */
  #drop(name: string): void {
    const scope = this.remotes[name];
    if (!scope) return;
    const had = scope.sessions.selectedId !== null;
    scope.sessions.select(null);
    scope.dispose();
    delete this.remotes[name];
    if (had) this.connection.info(`Server "${name}" was removed: its sessions are no longer shown and their panes were closed.`);
  }

  #openEvents(): void {
    if (this.#stopped) return;
    this.#events = this.transport.events({
      open: () => {
        const wasDown = this.connection.server === 'down';
        this.#attempt = 0;
        this.connection.server = 'up';
        markOnce('events-open');
        // The first open's load (the one that cannot miss an event) waits until the page is idle,
        // so it does not compete with the first pane; events that arrive meanwhile apply as usual.
        if (this.#opened) void this.reload();
        else whenIdle(() => void this.reload());
        this.#opened = true;
        // Visible panes resume from their offsets right away rather than waiting for a backoff.
        if (wasDown) for (const s of this.scopes) s.terminals.reconnectAll();
      },
      event: (ev) => this.#dispatch(ev),
      // A store that throws on an event is a bug in the UI: the user sees it, with what to do.
      failed: (e) =>
        this.connection.error(`The UI failed on a server event (${messageOf(e)}). Reload the page if it looks wrong.`),
      closed: () => {
        if (this.#stopped) return;
        if (this.connection.server !== 'unauthorized') this.connection.server = 'down';
        const delay = BACKOFF[Math.min(this.#attempt, BACKOFF.length - 1)] ?? 8000;
        this.#attempt++;
        setTimeout(() => {
          void this.#probe().then(() => this.#openEvents());
        }, delay);
      },
    });
  }

  /** A WebSocket cannot tell a wrong token from a dead server; a request can. */
  async #probe(): Promise<void> {
    try {
      await this.transport.request('GET', '/health');
    } catch (e) {
      if (e instanceof RequestError && e.error.code === 'unauthorized') this.connection.server = 'unauthorized';
    }
  }

  /** An event of the local events socket: the local server's own, or about / from a remote. */
  #dispatch(ev: Event): void {
    switch (ev.type) {
      case 'remote_changed': {
        const before = this.servers.upsert(ev.remote);
        this.#remoteChanged(ev.remote, before);
        break;
      }
      case 'remote_removed':
        this.servers.removed(ev.name);
        this.#drop(ev.name);
        break;
      case 'remote':
        // Before the remote is listed (an add in flight) its events have nowhere to go; the
        // load that follows `remote_changed` reads its state.
        this.remotes[ev.server]?.apply(ev.event);
        break;
      case 'resync':
        void this.reload();
        break;
      default:
        this.local.apply(ev);
    }
  }
}
