import { getContext, setContext } from 'svelte';
import type { Grove, ServerGrove } from './grove.svelte';

const APP = Symbol('grove.app');
const SERVER = Symbol('grove.server');

/** The app: every server, the selection across them (App.svelte provides it). */
export function provideApp(g: Grove): void {
  setContext(APP, g);
}

export function useApp(): Grove {
  const g = getContext<Grove | undefined>(APP);
  if (!g) throw new Error('Grove app context missing');
  return g;
}

/** The server a subtree works on: the local one at the top, a session's own below it (see
 *  ServerScope.svelte), so a session's view never needs to know which server it is on. */
export function provideGrove(g: ServerGrove): void {
  setContext(SERVER, g);
}

export function useGrove(): ServerGrove {
  const g = getContext<ServerGrove | undefined>(SERVER);
  if (!g) throw new Error('Grove context missing');
  return g;
}
