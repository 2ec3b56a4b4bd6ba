// Browser benchmarks (scripts/bench-web). Each prints one JSON line per figure, in the shape of
// the Rust benches, and appends it to $GROVE_BENCH_OUT when set.
//   node bench/run.mjs pane_flood | ui_20_sessions_heap

import { appendFileSync, readFileSync, readdirSync } from 'node:fs';
import xtermHeadless from '@xterm/headless';
import { makeChunk } from './data.mjs';
import { startServer, startBrowser, until } from '../e2e/harness.mjs';

const { Terminal } = xtermHeadless;
const TOTAL = 64 * 1024 * 1024;

function report(name, value, unit, baseline, extra = {}) {
  const ratio = baseline !== 0 ? value / baseline : 0;
  const line = JSON.stringify({ name, value: +value.toFixed(3), unit, baseline: +baseline.toFixed(3), ratio: +ratio.toFixed(3), ...extra });
  console.log(line);
  if (process.env.GROVE_BENCH_OUT) appendFileSync(process.env.GROVE_BENCH_OUT, line + '\n');
}

async function api(server, method, path, body) {
  const u = new URL(server.url.replace('/#', '#'));
  const token = new URLSearchParams(u.hash.slice(1)).get('token');
  const res = await fetch(`${u.origin}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Parses TOTAL bytes with @xterm/headless in node; returns bytes/s. */
async function headlessRate(cols, rows) {
  const term = new Terminal({ cols, rows, scrollback: 5000, allowProposedApi: true });
  const chunk = makeChunk();
  const start = performance.now();
  let written = 0;
  while (written < TOTAL) {
    await new Promise((r) => term.write(chunk, r));
    written += chunk.length;
  }
  const secs = (performance.now() - start) / 1000;
  term.dispose();
  return written / secs;
}

async function paneFlood() {
  const server = await startServer();
  const chrome = await startBrowser();
  try {
    const repo = await api(server, 'POST', '/repos', { path: server.repo });
    // A quiet program, so only the benchmark writes into the pane.
    await api(server, 'POST', '/sessions', { repo_id: repo.id, name: 'flood', command: 'cat' });
    const page = chrome.context.pages()[0] ?? (await chrome.context.newPage());
    // GROVE_RENDERER=webgl|dom overrides the pane's own choice, to compare renderers.
    if (process.env.GROVE_RENDERER) {
      await page.goto(server.url);
      await page.evaluate((r) => localStorage.setItem('grove.renderer', r), process.env.GROVE_RENDERER);
      await page.reload();
    } else {
      await page.goto(server.url);
    }
    const id = await until('a visible pane', () => page.evaluate(() => window.__grove.visibleTerminals()[0]), 30000);
    await new Promise((r) => setTimeout(r, 500));
    const { rate, cols, rows, renderer } = await page.evaluate(
      async ({ id, total, src }) => {
        const makeChunk = new Function(`return (${src})`)();
        const term = window.__grove.xterm(id);
        const chunk = makeChunk();
        const start = performance.now();
        let written = 0;
        // Keep a few writes queued, as a socket would; xterm time-slices parsing and paints
        // on animation frames in between.
        let inflight = 0;
        await new Promise((resolve) => {
          const pump = () => {
            while (inflight < 4 && written < total) {
              inflight++;
              written += chunk.length;
              term.write(chunk, () => {
                inflight--;
                if (written >= total && inflight === 0) resolve(undefined);
                else pump();
              });
            }
          };
          pump();
        });
        return { rate: written / ((performance.now() - start) / 1000), cols: term.cols, rows: term.rows, renderer: window.__grove.renderer(id) };
      },
      { id, total: TOTAL, src: makeChunk.toString() },
    );
    const base = await headlessRate(cols, rows);
    report('pane_flood', rate / 1e6, 'MB/s', base / 1e6, { renderer, cols, rows, fed: 'in-page' });
  } finally {
    await chrome.stop();
    await server.stop();
  }
}

/** PSS of Chromium's renderer processes, in MB. */
function rendererPss() {
  let kb = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('chrom') || !cmd.includes('--type=renderer')) continue;
      const m = /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      // The process ended meanwhile.
    }
  }
  return kb / 1024;
}

async function measureUi(sessions) {
  const server = await startServer();
  const chrome = await startBrowser();
  try {
    if (sessions > 0) {
      const repo = await api(server, 'POST', '/repos', { path: server.repo });
      for (let i = 0; i < sessions; i++) {
        await api(server, 'POST', '/sessions', {
          repo_id: repo.id,
          name: `s${i}`,
          command: `seq 1 20000; ls -la /usr/lib | head -300; exec cat`,
        });
      }
    }
    const page = chrome.context.pages()[0] ?? (await chrome.context.newPage());
    await page.goto(server.url);
    await page.waitForSelector('[data-testid=sidebar]');
    if (sessions > 0) {
      await until('a visible pane with output', async () => {
        const id = await page.evaluate(() => window.__grove.visibleTerminals()[0]);
        return id !== undefined && /20000/.test((await page.evaluate((id) => window.__grove.terminalText(id), id)) ?? '');
      }, 30000);
      // Walk through every session once, so each has been shown and hidden again.
      for (let i = 0; i < sessions; i++) await page.click(`[data-testid=session-item] >> nth=${i}`);
      await page.click('[data-testid=session-item] >> nth=0');
    }
    await new Promise((r) => setTimeout(r, 1500));
    const cdp = await chrome.context.newCDPSession(page);
    await cdp.send('HeapProfiler.collectGarbage');
    await new Promise((r) => setTimeout(r, 500));
    const heap = await cdp.send('Runtime.getHeapUsage');
    const live = await page.evaluate(() => window.__grove.visibleTerminals().length);
    return { heapMb: heap.usedSize / 1048576, pssMb: rendererPss(), live };
  } finally {
    await chrome.stop();
    await server.stop();
  }
}

async function uiHeap() {
  const empty = await measureUi(0);
  const full = await measureUi(20);
  report('ui_20_sessions_heap', full.heapMb, 'MB', empty.heapMb, { live_panes: full.live });
  report('ui_20_sessions_renderer_pss', full.pssMb, 'MB', empty.pssMb);
}

const benches = { pane_flood: paneFlood, ui_20_sessions_heap: uiHeap };
const names = process.argv.slice(2);
for (const n of names.length ? names : Object.keys(benches)) {
  const b = benches[n];
  if (!b) {
    console.error(`bench-web: unknown benchmark '${n}'; known: ${Object.keys(benches).join(' ')}`);
    process.exit(2);
  }
  await b();
}
