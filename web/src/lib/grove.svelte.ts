// The app's state root: the stores, the events socket (with reconnect and reload), and the set of
// live terminal panes. Built from one Transport; nothing below opens a connection of its own.

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
import type { Event } from './wire/Event';
import type { UiState } from './wire/UiState';
import { markFirstScreenUp, markOnce, whenIdle } from './startup';

const BACKOFF = [250, 500, 1000, 2000, 4000, 8000];

export class Grove {
  readonly transport: Transport;
  readonly connection = new ConnectionStore();
  readonly repos: RepoStore;
  readonly sessions: SessionStore;
  readonly terminals: TerminalStore;
  readonly trust: TrustStore;
  readonly reviews: ReviewStores;
  readonly secrets: SecretStore;
  readonly github: GithubStore;
  #events: Closable | null = null;
  #attempt = 0;
  /** The events socket has been open before. */
  #opened = false;
  #stopped = false;
  /** Loads started so far (see `reload`). */
  #loads = 0;
  #onVisibility = () => this.terminals.setHidden(document.visibilityState === 'hidden');

  constructor(transport: Transport) {
    this.transport = transport;
    this.repos = new RepoStore(transport);
    this.sessions = new SessionStore(transport);
    this.terminals = new TerminalStore(transport, this.connection);
    this.trust = new TrustStore(transport);
    this.reviews = new ReviewStores(transport);
    this.secrets = new SecretStore(transport);
    this.github = new GithubStore(transport, this.sessions);
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
    this.terminals.disposeAll();
  }

  /** Reloads everything from the server (on connect and on `resync`), or takes `state` when
   *  given (the page's first load). An `early` load (before the events socket is open) leaves
   *  failures to the load on open, which reports them. */
  async reload({ early = false, state }: { early?: boolean; state?: UiState | Promise<UiState> } = {}): Promise<void> {
    const seq = ++this.#loads;
    const current = () => seq === this.#loads;
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
      // Trust and the vault's state (names only) are not on the first screen: the page's first
      // load reads them once it is idle, so their requests and answers do not hold up the first
      // pane; later loads read them at once.
      const secondary = () => {
        void this.trust.loadAll(this.repos.list.map((r) => r.id), current).catch((e: unknown) => {
          if (!early && current()) this.connection.error(`Could not read which repos' grove.toml you approved: ${messageOf(e)}`);
        });
        void this.secrets.load().catch((e: unknown) => {
          if (!early && current()) this.connection.error(`Could not read the vault's state: ${messageOf(e)}`);
        });
        void this.github.load().catch((e: unknown) => {
          if (!early && current()) this.connection.error(`Could not read the GitHub sign-in: ${messageOf(e)}`);
        });
      };
      if (early) whenIdle(secondary);
      else secondary();
      markOnce('loaded');
      if (!early) this.reviews.refreshOpen();
      if (this.sessions.selectedId === null) {
        // The server names the pane it sent the screen of; otherwise the sidebar's first session.
        const pane = s.first_pane;
        const first = (pane && this.sessions.byId[pane.session_id]) || this.sessions.ordered(this.repos.list)[0];
        if (pane && first && first.id === pane.session_id) this.terminals.offerFirst(pane);
        if (first) this.sessions.select(first.id);
        // Without a pane to draw, the first screen is up with this load.
        if (!first || first.terminals.length === 0) markFirstScreenUp();
      }
    } catch (e) {
      if (e instanceof RequestError && e.error.code === 'unauthorized') {
        this.connection.server = 'unauthorized';
        return;
      }
      if (early || !current()) return;
      this.connection.error(`Could not load the state: ${messageOf(e)}`);
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
        if (wasDown) this.terminals.reconnectAll();
      },
      event: (ev) => this.#apply(ev),
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

  #apply(ev: Event): void {
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
