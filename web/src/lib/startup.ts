// Start-up milestones as `performance.mark`s (`grove:connection`, `grove:events-open`,
// `grove:loaded`, `grove:pane`, `grove:terminal-hello`, `grove:pane-drawn`: the first pane has drawn
// its session's screen), each only the first time, so the timeline
// never grows. The desktop cold-start benchmark prints them (web/e2e-desktop/bench.mjs); in any
// browser they show in the devtools' performance panel.

const seen = new Set<string>();

export function markOnce(name: string): void {
  if (seen.has(name)) return;
  seen.add(name);
  performance.mark(`grove:${name}`);
}

/** Runs `fn` when the page has nothing better to do (after the first frames), or within 2 s. */
export function whenIdle(fn: () => void): void {
  const w = globalThis as { requestIdleCallback?: (cb: () => void, o?: { timeout: number }) => number };
  if (w.requestIdleCallback) w.requestIdleCallback(fn, { timeout: 2000 });
  else setTimeout(fn, 300);
}
