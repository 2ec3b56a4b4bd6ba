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

const afterFirstScreen: (() => void)[] = [];
let firstScreenUp = false;
/** Work held back longer than this runs anyway (a first screen without a pane never marks). */
const FIRST_SCREEN_WAIT_MS = 1500;

/**
 * Runs `fn` once the first screen is up (the first pane drew, or there is no pane to draw; see
 * `firstScreenUp`) and the page is idle, or within 1.5 s: work that is not needed for the first
 * frame must not compete with it.
 */
export function whenIdle(fn: () => void): void {
  if (firstScreenUp) {
    idle(fn);
    return;
  }
  afterFirstScreen.push(fn);
  setTimeout(markFirstScreenUp, FIRST_SCREEN_WAIT_MS);
}

/** The first screen is up: what `whenIdle` held back runs at the page's next idle moment. */
export function markFirstScreenUp(): void {
  firstScreenUp = true;
  for (const fn of afterFirstScreen.splice(0)) idle(fn);
}

function idle(fn: () => void): void {
  const w = globalThis as { requestIdleCallback?: (cb: () => void, o?: { timeout: number }) => number };
  if (w.requestIdleCallback) w.requestIdleCallback(fn, { timeout: 500 });
  else setTimeout(fn, 0);
}
