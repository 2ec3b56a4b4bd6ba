// Desktop benchmarks (scripts/bench-desktop), on release builds: one JSON line per figure in the
// shape of the Rust benches (name, value, unit, baseline, ratio), appended to $GROVE_BENCH_OUT.
//   node e2e-desktop/bench.mjs desktop_memory | desktop_cold_start | desktop_size |
//                              desktop_pane_flood | desktop_echo_latency
// Baselines are measured in the same run: an empty Tauri window built the same way
// (the empty_window example) for memory, start-up and size; tauri-plugin-websocket's sockets
// (GROVE_DESKTOP_TRANSPORT=plugin) for the transport figures of the shipped webview WebSocket.

import { appendFileSync, readFileSync, readdirSync, writeFileSync, existsSync, statSync, copyFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { makeChunk } from '../bench/data.mjs';
import { startDesktopEnv, launchApp, desktopBinary, fixtureRepo, until, targetDir, appApi } from './harness.mjs';

const PROFILE = process.env.GROVE_DESKTOP_PROFILE ?? 'dist';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function report(name, value, unit, baseline, extra = {}) {
  const ratio = baseline !== 0 ? value / baseline : 0;
  const line = JSON.stringify({ name, value: +value.toFixed(3), unit, baseline: +baseline.toFixed(3), ratio: +ratio.toFixed(3), ...extra });
  console.log(line);
  if (process.env.GROVE_BENCH_OUT) appendFileSync(process.env.GROVE_BENCH_OUT, line + '\n');
}

const groveBin = () => desktopBinary('grove-desktop', PROFILE);
const emptyBin = () => desktopBinary('empty_window', PROFILE);

/** PSS (kB) of a process and all its descendants (the app and its WebKit processes). */
function treePss(root) {
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
    } catch {
      // Gone meanwhile.
    }
  }
  let total = 0;
  const stack = [root];
  const names = [];
  while (stack.length) {
    const pid = stack.pop();
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      const kb = m ? Number(m[1]) : 0;
      total += kb;
      names.push(`${readFileSync(`/proc/${pid}/comm`, 'utf8').trim()}=${(kb / 1024).toFixed(1)}`);
    } catch {
      // Gone meanwhile.
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return { kb: total, processes: names };
}

async function settledPss(pid, samples = 5) {
  await sleep(5000);
  const xs = [];
  let procs = [];
  for (let i = 0; i < samples; i++) {
    const r = treePss(pid);
    xs.push(r.kb);
    procs = r.processes;
    await sleep(1000);
  }
  return { mb: median(xs) / 1024, procs };
}

/** Epoch ms at which a process started (from /proc, 10 ms resolution). */
function processStartMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  const btime = Number(/^btime (\d+)/m.exec(readFileSync('/proc/stat', 'utf8'))[1]);
  const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  return btime * 1000 + (ticks * 1000) / hz;
}

async function createSessions(env, repoPath, n, command) {
  const repo = await appApi(env, 'POST', '/repos', { path: repoPath });
  const ids = [];
  for (let i = 0; i < n; i++) {
    const s = await appApi(env, 'POST', '/sessions', { repo_id: repo.id, name: `s${String(i).padStart(2, '0')}`, command });
    ids.push(s.id);
  }
  return ids;
}

const paneReady = (app) =>
  app.exec(`const id = window.__grove.visibleTerminals()[0];
    if (id === undefined) return null;
    const t = window.__grove.terminalText(id) ?? '';
    return t.trim().length > 0 ? Date.now() : null;`);

/** When the first pane drew its session's screen and when xterm drew it (epoch ms), once xterm
 *  has, with text in it: the preview goes in the frame that marks `pane-live` (builds from before
 *  the preview mark neither; their xterm drew the first frame). */
const paneDrawn = (app) =>
  app.exec(`const m = performance.getEntriesByName('grove:pane-drawn')[0];
    const live = performance.getEntriesByName('grove:pane-live')[0] ?? m;
    const id = window.__grove.visibleTerminals()[0];
    const text = id === undefined ? '' : (window.__grove.terminalText(id) ?? '');
    const preview = document.querySelector('[data-testid=terminal-preview]');
    return m && !preview && text.trim().length > 0 ? [performance.timeOrigin + m.startTime, performance.timeOrigin + live.startTime] : null;`);

async function desktopMemory() {
  const results = {};
  for (const [label, bin, sessions] of [
    ['empty', emptyBin(), 0],
    ['grove0', groveBin(), 0],
    ['grove1', groveBin(), 1],
    ['grove20', groveBin(), 20],
  ]) {
    const env = await startDesktopEnv();
    const app = await launchApp(env, { bin });
    try {
      if (sessions > 0) {
        const repo = fixtureRepo(env.dir);
        await createSessions(env, repo, sessions, 'seq 1 3000 && cat');
        const last = `[data-testid=session-item][data-session="s${String(sessions - 1).padStart(2, '0')}"]`;
        await app.waitFor(last, 60000);
        await app.click(last);
        await until('the visible pane shows output', () => paneReady(app), 30000);
      } else if (label !== 'empty') {
        await app.waitFor('[data-testid=sidebar]');
      }
      results[label] = await settledPss(app.pid());
      console.error(`${label}: ${results[label].mb.toFixed(1)} MB PSS (${results[label].procs.join(', ')})`);
    } finally {
      await app.quit();
      await env.stop();
    }
  }
  report('desktop_memory', results.grove20.mb, 'MB', results.empty.mb, {
    grove_0_sessions: +results.grove0.mb.toFixed(1),
    grove_1_session: +results.grove1.mb.toFixed(1),
    goal: 'grove with 20 sessions <= baseline + 100 MB',
  });
}

async function desktopColdStart() {
  const RUNS = Number(process.env.GROVE_BENCH_RUNS ?? 5);
  // A data dir with one session that has output: the first pane shows it at start.
  const env = await startDesktopEnv();
  try {
    let app = await launchApp(env, { bin: groveBin() });
    // GROVE_COLD_START_COMMAND: what the session prints instead (a screen of more distinct
    // characters, say; the default's are 11).
    await createSessions(env, fixtureRepo(env.dir), 1, process.env.GROVE_COLD_START_COMMAND ?? 'seq 1 200 && cat');
    await app.waitFor('[data-testid=session-item][data-session="s00"]');
    await app.click('[data-testid=session-item][data-session="s00"]');
    await until('the pane', () => paneReady(app), 30000);
    // The app is killed when the WebDriver session ends: give the log's flusher (1 s) time to
    // write the output the restarts will show.
    await sleep(2500);
    await app.quit();
    const grove = [];
    const groveLive = [];
    const empty = [];
    for (let i = 0; i < RUNS; i++) {
      app = await launchApp(env, { bin: groveBin() });
      const start = processStartMs(app.pid());
      // Timed by the page's own mark, set in the frame that draws the first pane's screen (the
      // empty window's figure is its own loadEventEnd); polled only to know when to read it.
      await until('the first pane', () => paneDrawn(app), 30000, 10).catch(async (e) => {
        console.error(await app.exec(`return JSON.stringify({vis: window.__grove.visibleTerminals(), text: window.__grove.visibleTerminals().map((id) => window.__grove.terminalText(id)), body: document.body.innerText.slice(0, 800)})`));
        throw e;
      });
      const [ready, live] = await paneDrawn(app);
      grove.push(ready - start);
      groveLive.push(live - start);
      const nav = await app.exec(`const n = performance.getEntriesByType('navigation')[0];
        return [performance.timeOrigin, n ? n.responseEnd : 0, n ? n.domContentLoadedEventEnd : 0,
          performance.getEntriesByType('mark').map((m) => m.name + ' ' + Math.round(m.startTime)).join(', ') + ' | ' + performance.getEntriesByType('resource').map((r) => r.name.split('/').slice(3).join('/') + ' ' + Math.round(r.startTime) + '-' + Math.round(r.responseEnd)).join(', ')];`);
      console.error('  ' + nav[3]);
      console.error(`  page started ${Math.round(nav[0] - start)} ms after the process; response ${Math.round(nav[1])} ms, DOMContentLoaded ${Math.round(nav[2])} ms, pane ${Math.round(ready - nav[0])} ms after the page started`);
      await app.quit();
      app = await launchApp(env, { bin: emptyBin() });
      const estart = processStartMs(app.pid());
      const [loaded, eorigin] = await until('the empty page', () =>
        app.exec(`const n = performance.getEntriesByType('navigation')[0];
          return n && n.loadEventEnd > 0 ? [performance.timeOrigin + n.loadEventEnd, performance.timeOrigin] : null;`), 30000, 10);
      empty.push(loaded - estart);
      console.error(`  empty window: page started ${Math.round(eorigin - estart)} ms after the process, loaded ${Math.round(loaded - eorigin)} ms after that`);
      await app.quit();
    }
    console.error(`cold start ms: grove ${grove.map(Math.round).join(' ')} (xterm live ${groveLive.map(Math.round).join(' ')}); empty window ${empty.map(Math.round).join(' ')}`);
    report('desktop_cold_start', median(grove), 'ms', median(empty), {
      xterm_live_ms: Math.round(median(groveLive)),
      goal: 'first pane drawn <= baseline + 150 ms',
    });
  } finally {
    await env.stop();
  }
}

function strippedMb(bin) {
  const tmp = `${bin}.stripped`;
  copyFileSync(bin, tmp);
  execFileSync('strip', [tmp]);
  const mb = statSync(tmp).size / 1e6;
  rmSync(tmp);
  return mb;
}

async function desktopSize() {
  const grove = strippedMb(groveBin());
  const empty = strippedMb(emptyBin());
  report('desktop_size', grove, 'MB', empty, { goal: 'stripped binary < 12 MB', what: 'stripped dist-profile binary vs the empty Tauri window built the same way' });
  const debDir = join(targetDir(), PROFILE, 'bundle', 'deb');
  const debs = existsSync(debDir) ? readdirSync(debDir).filter((f) => f.endsWith('.deb')) : [];
  if (debs.length === 0) {
    console.error(`no .deb in ${debDir}: run scripts/build first`);
    return;
  }
  const deb = debs.map((f) => join(debDir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  report('desktop_deb_size', statSync(deb).size / 1e6, 'MB', grove, { goal: '< 10 MB', what: '.deb vs the stripped binary it holds' });
}

/** Launches the app with one bash session visible, on the given transport. */
async function withBashPane(transport, fn) {
  const env = await startDesktopEnv();
  const app = await launchApp(env, { bin: groveBin(), extraEnv: { GROVE_DESKTOP_TRANSPORT: transport } });
  try {
    await createSessions(env, fixtureRepo(env.dir), 1, 'bash');
    await until('the pane', () => paneReady(app), 30000);
    await until('the prompt', () => app.exec(`return /\\$ $/m.test(window.__grove.terminalText(window.__grove.visibleTerminals()[0]) ?? '')`));
    return await fn(app, env);
  } finally {
    await app.quit();
    await env.stop();
  }
}

async function desktopPaneFlood() {
  const MB = Number(process.env.GROVE_FLOOD_MB ?? 16);
  const rates = {};
  for (const transport of ['webview', 'plugin']) {
    rates[transport] = await withBashPane(transport, async (app, env) => {
      const chunk = makeChunk();
      const file = join(env.dir, 'flood.txt');
      const parts = [];
      for (let n = 0; n < MB * 1024 * 1024; n += chunk.length) parts.push(chunk);
      writeFileSync(file, Buffer.concat(parts.map((c) => Buffer.from(c))));
      const size = statSync(file).size;
      const runs = [];
      for (let i = 0; i < 3; i++) {
        const ms = await app.execAsync(`const done = arguments[arguments.length - 1];
          const id = window.__grove.visibleTerminals()[0];
          const term = window.__grove.xterm(id);
          const marker = 'FLOOD-' + (${i} * 1000 + 42) + '-DONE';
          const t0 = performance.now();
          const sub = term.onWriteParsed(() => {
            const b = term.buffer.active;
            for (let y = Math.max(0, b.baseY + b.cursorY - 3); y <= b.baseY + b.cursorY; y++) {
              if ((b.getLine(y)?.translateToString() ?? '').includes(marker)) {
                sub.dispose();
                done(performance.now() - t0);
                return;
              }
            }
          });
          term.input('cat ' + arguments[0] + '; echo FLOOD-$((${i} * 1000 + 42))-DONE\\r', true);`, file);
        runs.push(size / 1e6 / (ms / 1000));
      }
      console.error(`${transport}: ${runs.map((r) => r.toFixed(1)).join(' ')} MB/s`);
      return median(runs);
    });
  }
  report('desktop_pane_flood', rates.webview, 'MB/s', rates.plugin, {
    mb: MB,
    what: 'cat of mixed text + ANSI into a visible pane: the webview WebSocket (shipped) vs tauri-plugin-websocket',
  });
}

async function desktopEchoLatency() {
  const N = Number(process.env.GROVE_ECHO_N ?? 200);
  const lat = {};
  for (const transport of ['webview', 'plugin']) {
    lat[transport] = await withBashPane(transport, (app) =>
      app.execAsync(`const done = arguments[arguments.length - 1];
        const term = window.__grove.xterm(window.__grove.visibleTerminals()[0]);
        const next = () => new Promise((r) => { const d = term.onWriteParsed(() => { d.dispose(); r(); }); });
        (async () => {
          const times = [];
          for (let i = 0; i < ${N}; i++) {
            const echoed = next();
            const t0 = performance.now();
            term.input('x', true);
            await echoed;
            times.push(performance.now() - t0);
            const erased = next();
            term.input('\\x7f', true);
            await erased;
          }
          times.sort((a, b) => a - b);
          done([times[Math.floor(times.length / 2)], times[Math.min(times.length - 1, Math.floor(times.length * 0.99))]]);
        })();`),
    );
    console.error(`${transport}: median ${lat[transport][0].toFixed(2)} ms, p99 ${lat[transport][1].toFixed(2)} ms`);
  }
  report('desktop_echo_latency', lat.webview[0], 'ms', lat.plugin[0], {
    n: N,
    p99: +lat.webview[1].toFixed(2),
    plugin_p99: +lat.plugin[1].toFixed(2),
    goal: 'p99 < 5 ms',
    what: 'keystroke to echo parsed in the pane, median: the webview WebSocket (shipped) vs tauri-plugin-websocket',
  });
}

const benches = {
  desktop_memory: desktopMemory,
  desktop_cold_start: desktopColdStart,
  desktop_size: desktopSize,
  desktop_pane_flood: desktopPaneFlood,
  desktop_echo_latency: desktopEchoLatency,
};
const names = process.argv.slice(2);
for (const n of names.length ? names : Object.keys(benches)) {
  if (!benches[n]) {
    console.error(`unknown desktop benchmark ${n}; known: ${Object.keys(benches).join(' ')}`);
    process.exit(2);
  }
  await benches[n]();
}
