// The desktop shell's side of the UI: the connection info, the transport, and the few things the
// shell asks of the page (focus a session from a deep link, tray or notification; open the
// new-session dialog from the tray). Used only inside Tauri (main.ts checks for `__TAURI_INTERNALS__`).

import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { DesktopTransport, type DesktopConnection } from './desktop-transport';
import { BrowserTransport, type Transport } from './transport';
import type { Grove } from './grove.svelte';
import { setDefaultRenderer, type RendererChoice } from './terminal/renderer';
import { updater } from './updater.svelte';

/** What the shell asks the page to do (the Rust `UiAction`). */
export type UiAction =
  /** `server`: the remote the session is on; absent for the local server. */
  | { type: 'focus_session'; session_id: number; server?: string }
  | { type: 'new_session' }
  | { type: 'show_update' };

export function connection(): Promise<DesktopConnection> {
  return invoke<DesktopConnection>('connection');
}

/**
 * The desktop transport: the webview's own WebSocket to the in-process server (BrowserTransport
 * with the server's address). `?transport=plugin` selects the sockets of
 * @tauri-apps/plugin-websocket instead (DesktopTransport); the shell grants that plugin's
 * permissions only then. The plugin missed the echo and flood goals by far (see the desktop
 * benchmarks): it sends bytes as JSON arrays of numbers and leaves Nagle on.
 */
export function transport(conn: DesktopConnection): Transport {
  if (new URLSearchParams(location.search).get('transport') === 'plugin') {
    return new DesktopTransport(conn);
  }
  return new BrowserTransport(conn.token, conn.url);
}

/**
 * The terminal renderer the desktop app uses unless the user chose one: the DOM renderer inside
 * WebKitGTK (Linux). Probing WebGL there loads the GL driver into the web process for good
 * (desktop_memory: +37 MB PSS with one pane, +63 MB with 20 sessions, under Mesa), and
 * WebKitGTK composites WebGL through extra copies, so it is rarely faster than the DOM renderer.
 * Elsewhere (WKWebView, WebView2) the usual probe decides.
 */
export function defaultRenderer(userAgent: string): RendererChoice | null {
  return /Linux/.test(userAgent) && !/Android/.test(userAgent) ? 'dom' : null;
}

/** Settings the page takes before its first pane. */
export function configure(): void {
  const renderer = defaultRenderer(navigator.userAgent);
  if (renderer) setDefaultRenderer(renderer);
}

function apply(grove: Grove, action: UiAction): void {
  switch (action.type) {
    case 'focus_session':
      grove.select(action.server ?? 'local', action.session_id);
      break;
    case 'new_session':
      // The same path as the keyboard shortcut (Ctrl+Shift+N), so the dialog has one owner.
      window.dispatchEvent(
        new KeyboardEvent('keydown', { key: 'N', code: 'KeyN', ctrlKey: true, shiftKey: true, bubbles: true }),
      );
      break;
    case 'show_update':
      updater.show();
      break;
  }
}

/** Listens for the shell's actions, then takes the ones queued before the page was ready. */
export async function attach(grove: Grove): Promise<void> {
  // "Sign in with GitHub" opens the system browser through the shell; the grove:// redirect is
  // handled there and reaches the page as a `github_changed` event.
  grove.github.browserSignIn = (workflow) => invoke<string>('github_sign_in', { workflow });
  await listen<UiAction>('grove:ui-action', (e) => apply(grove, e.payload));
  await updater.attach(grove.connection);
  const queued = await invoke<UiAction[]>('desktop_ready');
  for (const a of queued) apply(grove, a);
}
