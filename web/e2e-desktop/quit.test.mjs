// Quitting the desktop app ends every process its terminals started and saves every log up to
// the last byte printed, before the process goes: the app exits right after stopping its
// in-process server, so nothing may be left to drops that come later. SIGTERM takes the same
// exit path as the tray's Quit (RunEvent::Exit), without the question.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startDesktopEnv, launchApp, fixtureRepo, until, appApi } from './harness.mjs';

/** @type {Awaited<ReturnType<typeof startDesktopEnv>>} */ let env;

after(async () => {
  await env?.stop();
});

/** Whether `pid` is a live process (a zombie counts as gone). */
function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The bytes a saved log holds (its header is 24 bytes: magic, version, start offset). */
function savedLog(dataDir, terminalId) {
  const bytes = readFileSync(join(dataDir, 'logs', `${terminalId}.log`));
  return bytes.subarray(24).toString('latin1');
}

test('SIGTERM quits: every terminal process ends and each log ends with its last words', async () => {
  env = await startDesktopEnv();
  const app = await launchApp(env);
  await app.waitFor('[data-testid=sidebar]');
  const api = (method, path, body) => appApi(env, method, path, body);
  const marks = join(env.dir, 'marks');
  mkdirSync(marks, { recursive: true });
  const repoId = (await api('POST', '/repos', { path: fixtureRepo(env.dir) })).id;
  const terminals = [];
  for (const i of [0, 1, 2]) {
    // Busy until told to stop; then it says goodbye. The third leaves a grandchild that ignores
    // SIGHUP and keeps printing.
    const busy = `trap "echo bye-${i}; exit 0" HUP TERM; n=0; while :; do n=$((n+1)); echo busy-${i}-$n; done`;
    const stubborn = `sh -c 'trap "" HUP; echo $$ > ${marks}/pid-stubborn; while :; do echo stubborn; done' & `;
    const command = `sh -c '${i === 2 ? stubborn.replaceAll("'", "'\\''") : ''}echo $$ > ${marks}/pid-${i}; ${busy}'`;
    const s = await api('POST', '/sessions', { repo_id: repoId, name: `busy-${i}`, command });
    terminals.push(s.terminals[0].id);
  }
  const pidFile = (name) => join(marks, name);
  const pids = [];
  for (const name of ['pid-0', 'pid-1', 'pid-2', 'pid-stubborn']) {
    await until(name, () => existsSync(pidFile(name)) && /^\d+\n$/.test(readFileSync(pidFile(name), 'utf8')));
    pids.push(Number(readFileSync(pidFile(name), 'utf8').trim()));
  }
  assert.ok(pids.every(alive), 'every program runs before the quit');

  const appPid = app.pid();
  process.kill(appPid, 'SIGTERM');
  await until('the app to exit', () => !alive(appPid), 20000, 50);
  for (const pid of pids) assert.ok(!alive(pid), `process ${pid} outlived the app`);
  for (const [i, id] of terminals.entries()) {
    const text = savedLog(env.env.GROVE_DATA_DIR, id).trimEnd();
    if (i < 2) {
      assert.ok(text.endsWith(`bye-${i}`), `log of busy-${i} ends with ${JSON.stringify(text.slice(-60))}`);
    } else {
      // Its grandchild printed on after the goodbye (pushing it out of the capped log) until it
      // was killed; what it printed last is saved.
      assert.ok(text.endsWith('stubborn'), JSON.stringify(text.slice(-60)));
    }
  }
  await app.quit();
});
