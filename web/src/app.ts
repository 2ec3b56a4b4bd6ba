// The UI proper, loaded by main.ts once the first state load is under way.
import { mount } from 'svelte';
import App from './App.svelte';
import { BrowserTransport } from './lib/transport';
import { Grove } from './lib/grove.svelte';
import type { XtermPane } from './lib/terminal/pane';
import * as desktopShell from './lib/desktop';
import { loadFirstState, type Boot } from './lib/boot';
import { markOnce, whenIdle } from './lib/startup';
import type { UiState } from './lib/wire/UiState';

/** How long the page waits for the first state before it shows the UI without it (it then fills
 *  in when the state arrives). Mostly the state is there before this chunk has run. */
const STATE_WAIT_MS = 300;

export async function start(boot: Boot): Promise<void> {
  markOnce('app');
  // Inside the desktop shell the server runs in-process and the shell hands over its address and
  // token (at load, else through the `connection` command); in a browser the token comes from the
  // URL fragment.
  const desktop = boot.desktop ? desktopShell : null;
  desktop?.configure();
  let conn = boot.conn;
  let state = boot.state;
  if (desktop && !conn) {
    const c = await desktop.connection();
    markOnce('connection');
    conn = c;
    state = loadFirstState(c.token, c.url);
  }
  const token = conn?.token ?? null;
  const transport =
    desktop && conn?.url && token
      ? desktop.transport({ url: conn.url, token })
      : new BrowserTransport(token ?? '', conn?.url);
  const grove = new Grove(transport);

  // Read-only hooks for the end-to-end tests: WebGL draws to a canvas, so tests read terminals
  // through xterm's buffer instead of the DOM.
  // `server`: `local` (the default) or a remote's name; ids are unique only per server.
  const terminalsOf = (server: string) => grove.scope(server)?.terminals ?? null;
  const xtermPane = (id: number) => {
    const p = grove.terminals.panes.get(id);
    return p && 'term' in p ? (p as XtermPane) : null;
  };
  (window as unknown as { __grove: unknown }).__grove = {
    terminalText: (id: number, server = 'local') => terminalsOf(server)?.panes.get(id)?.text() ?? null,
    visibleTerminals: (server = 'local') => [...(terminalsOf(server)?.panes.keys() ?? [])],
    selectedSession: () => grove.selected?.session ?? null,
    selectedServer: () => grove.selected?.scope.name ?? null,
    sessions: (server = 'local') => grove.scope(server)?.sessions.all ?? [],
    remotes: () => grove.servers.list,
    /** The xterm of a visible pane and its renderer, for the browser benchmark. */
    xterm: (id: number) => xtermPane(id)?.term ?? null,
    /** How the pane's first screen was drawn (see `XtermPane.firstDraw`). */
    firstDraw: (id: number) => xtermPane(id)?.firstDraw ?? null,
    /** How many character widths the pane's screens primed (see `XtermPane.primedWidths`). */
    primedWidths: (id: number) => xtermPane(id)?.primedWidths ?? null,
    renderer: (id: number) => xtermPane(id)?.renderer ?? null,
  };

  if (!token || !state) {
    grove.connection.server = 'unauthorized';
  } else {
    // The first screen is drawn from the state in one go when it is already here; a late state
    // fills in the UI mounted without it.
    grove.start((await settledWithin(state, STATE_WAIT_MS)) ?? state);
  }

  const target = document.getElementById('app');
  if (!target) throw new Error('#app missing');
  mount(App, { target, props: { grove } });
  // The shell's actions (deep links, the tray) are queued until the page listens: taken once the
  // first screen is up.
  if (desktop) whenIdle(() => void desktop.attach(grove));
}

/** The value of `p` if it fulfils within `ms`; `undefined` if it fails or takes longer. */
function settledWithin(p: Promise<UiState>, ms: number): Promise<UiState | undefined> {
  return Promise.race([
    p.catch(() => undefined),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), ms)),
  ]);
}
