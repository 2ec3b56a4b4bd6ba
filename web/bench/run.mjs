// Browser benchmarks (scripts/bench-web). Each prints one JSON line per figure, in the shape of
// the Rust benches, and appends it to $GROVE_BENCH_OUT when set.
//   node bench/run.mjs pane_flood | ui_20_sessions_heap | diff_render | web_cold_start

import { appendFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:http';
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


const DIFF_LINES = 5000;
const DIFF_RUNS = Number(process.env.GROVE_DIFF_RUNS ?? 5);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A TypeScript file of `n` lines, varied enough for the highlighter to work for its colours. */
function bigSource(n) {
  const out = [];
  for (let i = 1; i <= n; i++) {
    if (i % 10 === 1) out.push(`// section ${i}: values computed from the index`);
    else if (i % 10 === 5) out.push(`export function f${i}(x: number): string { return \`v\${x * ${i}}\`; }`);
    else out.push(`export const value${i} = compute(${i}, "string ${i}", { flag: ${i % 2 === 0} });`);
  }
  return out.join('\n') + '\n';
}

/**
 * In the page: time from clicking a file in the review panel to the first painted frame with
 * diff lines, then from jumping to the end of the diff to the frame that shows its last line.
 * Both through the real UI path (request, lazy renderer, highlighting, layout). `plain` instead
 * fetches the same diff and draws it as bare <div> lines into the same scroller: the floor any
 * diff renderer is measured against.
 */
async function timeDiff(page, { plain, token, sessionId, path, lastLine }) {
  return page.evaluate(
    async ({ plain, token, sessionId, path, lastLine }) => {
      const frame = () => new Promise((r) => requestAnimationFrame(() => r(undefined)));
      const painted = async (ok) => {
        for (;;) {
          if (ok()) {
            // The next frame is the one that paints what is in the DOM now.
            await frame();
            return performance.now();
          }
          await frame();
        }
      };
      // The longest main-thread task meanwhile: while it runs, nothing else on the page (the
      // terminal beside the diff) is drawn.
      let longest = 0;
      const obs = new PerformanceObserver((l) => {
        for (const e of l.getEntries()) longest = Math.max(longest, e.duration);
      });
      obs.observe({ type: 'longtask' });
      const t0 = performance.now();
      let scroller;
      let lineEl;
      if (plain) {
        // A scroller of the diff column's size, on a page where no panel is open.
        scroller = document.createElement('div');
        scroller.className = 'dbody';
        scroller.style.cssText = 'position:fixed;top:110px;right:0;bottom:0;width:620px;overflow:auto;background:#0d1117;z-index:50';
        document.body.appendChild(scroller);
        const res = await fetch(`/api/v1/sessions/${sessionId}/diff?path=${encodeURIComponent(path)}&scope=base`, { headers: { Authorization: `Bearer ${token}` } });
        const json = await res.json();
        const patch = json.files[0].content.patch;
        const host = document.createElement('pre');
        host.style.cssText = 'margin:0;font:12px/18px monospace';
        let n = 0;
        for (const l of patch.split('\n')) {
          const d = document.createElement('div');
          if (l.startsWith('+') && !l.startsWith('+++')) {
            n++;
            d.dataset.plainLine = String(n);
            d.style.background = '#12261e';
          }
          d.textContent = l;
          host.appendChild(d);
        }
        scroller.replaceChildren(host);
        lineEl = (n) => host.querySelector(`[data-plain-line="${n}"]`);
      } else {
        document.querySelector(`[data-testid=review-file][data-path="${path}"] .fname`).click();
        lineEl = (n) => {
          const root = document.querySelector(`[data-testid=diff][data-path="${path}"] diffs-container`)?.shadowRoot;
          return root?.querySelector(`[data-content] [data-line="${n}"]`) ?? null;
        };
      }
      const first = (await painted(() => !!lineEl(1))) - t0;
      // When the highlighter's colours are on the first line (the plain floor has none).
      const colored = plain ? first : (await painted(() => !!lineEl(1)?.querySelector('span[style*="color"]'))) - t0;
      scroller = document.querySelector('.dbody');
      const t1 = performance.now();
      scroller.scrollTop = scroller.scrollHeight;
      const visible = () => {
        const el = lineEl(lastLine);
        if (!el) {
          // A renderer that draws rows as they come into view may need the jump repeated.
          scroller.scrollTop = scroller.scrollHeight;
          return false;
        }
        const a = el.getBoundingClientRect();
        const b = scroller.getBoundingClientRect();
        return a.bottom > b.top && a.top < b.bottom;
      };
      const end = (await painted(visible)) - t1;
      // Tasks still queued report on the next frames.
      await frame();
      await frame();
      obs.disconnect();
      return { first, colored, end, longest };
    },
    { plain, token, sessionId, path, lastLine },
  );
}

async function diffRender() {
  const server = await startServer();
  const chrome = await startBrowser();
  try {
    const token = new URLSearchParams(new URL(server.url.replace('/#', '#')).hash.slice(1)).get('token');
    const repo = await api(server, 'POST', '/repos', { path: server.repo });
    const s = await api(server, 'POST', '/sessions', { repo_id: repo.id, name: 'diff', command: 'cat' });
    const path = 'big.ts';
    writeFileSync(join(s.worktree, path), bigSource(DIFF_LINES));
    writeFileSync(join(s.worktree, 'a.txt'), 'a small file shown first\n');
    const page = chrome.context.pages()[0] ?? (await chrome.context.newPage());
    const variants = ['virtual', 'full'];
    const runs = Object.fromEntries(variants.map((v) => [v, { first: [], colored: [], end: [], longest: [] }]));
    const floor = { first: [], end: [], longest: [] };
    const fresh = async () => {
      // (Through about:blank: a goto that differs only in the fragment would not reload.)
      await page.goto('about:blank');
      await page.goto(server.url);
      await page.waitForSelector('[data-testid=review-toggle]', { timeout: 30000 });
    };
    for (let i = 0; i < DIFF_RUNS; i++) {
      for (const v of variants) {
        // A fresh page each run. The panel opens on the first file (a small one), which loads
        // the renderer; the timed click then shows the big one (its grammar still to load).
        await fresh();
        await page.evaluate((v) => localStorage.setItem('grove.diffRenderer', v), v);
        await page.click('[data-testid=review-toggle]');
        await page.waitForSelector('[data-testid=diff][data-path="a.txt"]', { timeout: 30000 });
        await until('the small diff drawn', () =>
          page.evaluate(() => !!document.querySelector('[data-testid=diff] diffs-container')?.shadowRoot?.querySelector('[data-line]')),
        );
        const r = await timeDiff(page, { plain: false, token, sessionId: s.id, path, lastLine: DIFF_LINES });
        runs[v].first.push(r.first);
        runs[v].colored.push(r.colored);
        runs[v].end.push(r.end);
        runs[v].longest.push(r.longest);
      }
      // The floor on a fresh page, nothing else running.
      await fresh();
      const b = await timeDiff(page, { plain: true, token, sessionId: s.id, path, lastLine: DIFF_LINES });
      floor.first.push(b.first);
      floor.end.push(b.end);
      floor.longest.push(b.longest);
    }
    for (const v of variants) {
      const suffix = v === 'virtual' ? '' : '_full';
      const extra = {
        lines: DIFF_LINES,
        runs: DIFF_RUNS,
        renderer: v === 'virtual' ? '@pierre/diffs VirtualizedFileDiff + shiki (lazy)' : '@pierre/diffs FileDiff, every row drawn + shiki (lazy)',
        baseline_is: 'the same diff fetched and drawn as plain <div> lines',
      };
      report(`diff_render_first_paint${suffix}`, median(runs[v].first), 'ms', median(floor.first), extra);
      report(`diff_render_highlighted${suffix}`, median(runs[v].colored), 'ms', median(floor.first), extra);
      report(`diff_render_scroll_end${suffix}`, median(runs[v].end), 'ms', median(floor.end), extra);
      report(`diff_render_longest_task${suffix}`, median(runs[v].longest), 'ms', median(floor.longest), extra);
    }
  } finally {
    await chrome.stop();
    await server.stop();
  }
}

/**
 * Page navigation to the first pane drawn (the page's `grove:pane-drawn` mark, set in the frame
 * that draws the first pane's screen), on fresh pages of one browser (its HTTP cache warm, as on
 * a reload), vs navigation to the load event of an empty page served over loopback in the same
 * run. Prints the page's `grove:*` marks of each run.
 */
async function webColdStart() {
  const RUNS = Number(process.env.GROVE_BENCH_RUNS ?? 7);
  const server = await startServer();
  const chrome = await startBrowser();
  const empty = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>empty</title></head><body></body></html>');
  });
  await new Promise((r) => empty.listen(0, '127.0.0.1', r));
  const emptyUrl = `http://127.0.0.1:${empty.address().port}/`;
  try {
    const repo = await api(server, 'POST', '/repos', { path: server.repo });
    const s = await api(server, 'POST', '/sessions', { repo_id: repo.id, name: 'start', command: 'seq 1 200 && cat' });
    const tid = s.terminals[0].id;
    await until('the output', async () => (await api(server, 'GET', `/sessions/${s.id}`)).terminals[0].log_end > 600, 30000);
    const grove = [];
    const groveLive = [];
    const baseline = [];
    // One page first, not counted: the browser's cache then holds the assets, as it does for a
    // user who comes back.
    for (let i = -1; i < RUNS; i++) {
      const page = await chrome.context.newPage();
      await page.goto(server.url);
      // Read once xterm drew it too (the preview goes in that frame; see web/e2e-desktop/bench.mjs).
      const [drawn, live] = await until(
        'the first pane drawn',
        () => page.evaluate((id) => {
          const m = performance.getEntriesByName('grove:pane-drawn')[0];
          const live = performance.getEntriesByName('grove:pane-live')[0] ?? m;
          const text = window.__grove?.terminalText(id) ?? '';
          const preview = document.querySelector('[data-testid=terminal-preview]');
          return m && !preview && text.includes('200') ? [m.startTime, live.startTime] : null;
        }, tid),
        30000,
        10,
      );
      const marks = await page.evaluate(() =>
        performance.getEntriesByType('mark').map((m) => `${m.name.replace('grove:', '')} ${Math.round(m.startTime)}`).join(', '),
      );
      await page.close();
      const epage = await chrome.context.newPage();
      await epage.goto(emptyUrl);
      const loaded = await until('the empty page', () =>
        epage.evaluate(() => {
          const n = performance.getEntriesByType('navigation')[0];
          return n && n.loadEventEnd > 0 ? n.loadEventEnd : null;
        }), 10000, 10);
      await epage.close();
      if (i < 0) continue;
      grove.push(drawn);
      groveLive.push(live);
      baseline.push(loaded);
      console.error(`  ${marks} | empty page loaded ${Math.round(loaded)}`);
    }
    console.error(`web cold start ms: grove ${grove.map(Math.round).join(' ')} (xterm live ${groveLive.map(Math.round).join(' ')}); empty page ${baseline.map(Math.round).join(' ')}`);
    report('web_cold_start', median(grove), 'ms', median(baseline), {
      runs: RUNS,
      xterm_live_ms: Math.round(median(groveLive)),
      what: 'navigation to the first pane drawn (warm HTTP cache) vs navigation to an empty page\'s load',
    });
  } finally {
    empty.close();
    await chrome.stop();
    await server.stop();
  }
}

const benches = { pane_flood: paneFlood, ui_20_sessions_heap: uiHeap, diff_render: diffRender, web_cold_start: webColdStart };
const names = process.argv.slice(2);
for (const n of names.length ? names : Object.keys(benches)) {
  const b = benches[n];
  if (!b) {
    console.error(`bench-web: unknown benchmark '${n}'; known: ${Object.keys(benches).join(' ')}`);
    process.exit(2);
  }
  await b();
}
