// Start-up milestones as `performance.mark`s, each only the first time, so the timeline never
// grows: `grove:connection` (the server's address and token known; the first state load starts),
// `grove:state` (its answer arrived), `grove:app` (the UI's chunk has run), `grove:loaded` (the first state applied), `grove:pane`,
// `grove:events-open`, `grove:terminal-hello` (the first pane's socket answered) and
// `grove:pane-drawn` (the first pane has drawn its session's screen). The cold-start benchmarks
// print them (web/e2e-desktop/bench.mjs, web/bench/run.mjs); in any browser they show in the
// devtools' performance panel.

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
