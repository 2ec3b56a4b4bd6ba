// Notifications end to end: a real freedesktop notification server (dunst) on the test's own
// D-Bus and display, the app's window minimized (notifications are held back while it has
// focus). A terminal's bell and an agent's exit each raise one; clicking one opens its session.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { startDesktopEnv, launchApp, fixtureRepo, until, appApi } from './harness.mjs';

/** @type {Awaited<ReturnType<typeof startDesktopEnv>>} */ let env;
/** @type {Awaited<ReturnType<typeof launchApp>>} */ let app;
/** @type {import('node:child_process').ChildProcess} */ let dunst;
let repoId;

const api = (method, path, body) => appApi(env, method, path, body);

const dunstctl = (...args) =>
  execFileSync('dunstctl', args, { env: env.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const selected = () => app.exec('const s = window.__grove.selectedSession(); return s ? s.name : null');

/** Closes what is displayed and returns every notification's summary and body so far. */
function history() {
  dunstctl('close-all');
  const h = JSON.parse(dunstctl('history'));
  return h.data.flat().map((n) => `${n.summary.data} | ${n.body.data}`);
}

async function minimize() {
  await app.command('POST', '/window/minimize', {});
  await until('the window to lose focus', async () => (await app.exec('return document.hasFocus()')) === false);
}

before(async () => {
  env = await startDesktopEnv();
  dunst = spawn('dunst', [], { env: env.env, stdio: 'ignore' });
  // Asked without D-Bus activation, which would start a second dunst.
  const owned = () =>
    execFileSync('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus',
      'org.freedesktop.DBus.NameHasOwner', 'string:org.freedesktop.Notifications'], { env: env.env, encoding: 'utf8' });
  await until('dunst on the bus', () => /boolean true/.test(owned()));
  app = await launchApp(env);
  await app.waitFor('[data-testid=sidebar]');
  repoId = (await api('POST', '/repos', { path: fixtureRepo(env.dir) })).id;
  await api('POST', '/sessions', { repo_id: repoId, name: 'quiet', command: 'cat' });
  const quiet = '[data-testid=session-item][data-session="quiet"]';
  await app.waitFor(quiet);
  await app.click(quiet);
  await until('the first session selected', async () => (await selected()) === 'quiet');
});

after(async () => {
  await app?.quit();
  dunst?.kill();
  await env?.stop();
});

test('a bell in an unfocused window raises a notification; clicking it opens the session', async () => {
  await minimize();
  await api('POST', '/sessions', { repo_id: repoId, name: 'ring', command: "sleep 1; printf 'ding\\a'; exec cat" });
  await until('the notification on screen', () => dunstctl('count', 'displayed') === '1', 20000);
  dunstctl('action', '0');
  await until('the rung session selected', async () => (await selected()) === 'ring', 10000);
  assert.ok(history().some((n) => n.startsWith('ring: needs your attention | ')), 'the bell notification');
});

test("an agent's exit raises a notification with its exit code", async () => {
  await minimize();
  await api('POST', '/sessions', { repo_id: repoId, name: 'quitter', command: 'sleep 1; exit 3' });
  await until('the notification on screen', () => dunstctl('count', 'displayed') === '1', 20000);
  const all = history();
  assert.ok(all.includes('quitter: agent exited | The agent exited with code 3.'), all.join('\n'));
});
