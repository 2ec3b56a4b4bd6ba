// xterm.js and the pane around it, as a chunk of their own: the page's first frame draws the
// first pane's screen without them (see `Preview`), and they load right after it.

import type { XtermPane } from './pane';

let loaded: typeof XtermPane | null = null;
let loading: Promise<typeof XtermPane> | null = null;

/** The pane's class once its chunk has loaded, else `null`. */
export function loadedPane(): typeof XtermPane | null {
  return loaded;
}

/** Loads the pane's chunk (once). A failed load is tried again on the next call. */
export function loadPane(): Promise<typeof XtermPane> {
  loading ??= import('./pane').then(
    (m) => (loaded = m.XtermPane),
    (e: unknown) => {
      loading = null;
      throw e;
    },
  );
  return loading;
}
