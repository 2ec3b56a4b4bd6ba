// The launch token: `grove serve` prints it in the URL fragment (never sent to the server). Read it
// once, keep it in memory and sessionStorage (so a reload works), and take it out of the address
// bar so it does not end up in history, bookmarks or screenshots.

const KEY = 'grove.token';

export interface TokenEnv {
  hash: string;
  storage: Pick<Storage, 'getItem' | 'setItem'> | null;
  replaceUrl(url: string): void;
  pathAndSearch: string;
}

/** Returns the token from the fragment (`#token=...`) or from session storage. */
export function takeToken(env: TokenEnv): string | null {
  const params = new URLSearchParams(env.hash.replace(/^#/, ''));
  const fromHash = params.get('token');
  if (fromHash) {
    try {
      env.storage?.setItem(KEY, fromHash);
    } catch {
      // Storage may be disabled; the token still works for this page's life.
    }
    params.delete('token');
    const rest = params.toString();
    env.replaceUrl(env.pathAndSearch + (rest ? `#${rest}` : ''));
    return fromHash;
  }
  try {
    return env.storage?.getItem(KEY) ?? null;
  } catch {
    return null;
  }
}

export function browserTokenEnv(): TokenEnv {
  let storage: Storage | null = null;
  try {
    storage = window.sessionStorage;
  } catch {
    storage = null;
  }
  return {
    hash: location.hash,
    storage,
    pathAndSearch: location.pathname + location.search,
    replaceUrl: (url) => history.replaceState(history.state, '', url),
  };
}
