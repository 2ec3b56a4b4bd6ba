import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { BrowserTransport } from './lib/transport';
import { browserTokenEnv, takeToken } from './lib/token';
import { Grove } from './lib/grove.svelte';
import { XtermPane } from './lib/terminal/pane';
import * as desktopShell from './lib/desktop';
import { markOnce } from './lib/startup';

// Inside the desktop shell the server runs in-process and the shell hands over its address and
// token; in a browser the token comes from the URL fragment (the desktop module is a few KB and
// a browser never calls it).
const desktop = '__TAURI_INTERNALS__' in window ? desktopShell : null;
desktop?.configure();
const conn = desktop ? await desktop.connection() : null;
markOnce('connection');
const token = conn ? conn.token : takeToken(browserTokenEnv());
const grove = new Grove(desktop && conn ? desktop.transport(conn) : new BrowserTransport(token ?? ''));

// Read-only hooks for the end-to-end tests: WebGL draws to a canvas, so tests read terminals
// through xterm's buffer instead of the DOM.
(window as unknown as { __grove: unknown }).__grove = {
  terminalText: (id: number) => grove.terminals.panes.get(id)?.text() ?? null,
  visibleTerminals: () => [...grove.terminals.panes.keys()],
  selectedSession: () => grove.sessions.selected,
  sessions: () => grove.sessions.all,
  /** The xterm of a visible pane and its renderer, for the browser benchmark. */
  xterm: (id: number) => {
    const p = grove.terminals.panes.get(id);
    return p instanceof XtermPane ? p.term : null;
  },
  renderer: (id: number) => {
    const p = grove.terminals.panes.get(id);
    return p instanceof XtermPane ? p.renderer : null;
  },
};

if (!token) grove.connection.server = 'unauthorized';
else grove.start();

const target = document.getElementById('app');
if (!target) throw new Error('#app missing');
mount(App, { target, props: { grove } });
if (desktop) void desktop.attach(grove);
