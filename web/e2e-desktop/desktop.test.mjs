// End-to-end in the real window: the built grove-desktop in Xvfb, driven through tauri-driver and
// WebKitWebDriver. Adds a fixture repo, creates sessions, types into a terminal and reads the
// output back through xterm's buffer, and checks single instance and grove:// links.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startDesktopEnv, launchApp, desktopBinary, runOnce, fixtureRepo, until, RESULTS } from './harness.mjs';

/** @type {Awaited<ReturnType<typeof startDesktopEnv>>} */ let env;
/** @type {Awaited<ReturnType<typeof launchApp>>} */ let app;
let repo;
const bin = desktopBinary();

before(async () => {
  mkdirSync(RESULTS, { recursive: true });
  env = await startDesktopEnv();
  repo = fixtureRepo(env.dir);
  app = await launchApp(env);
});

after(async () => {
  if (app) await app.screenshot(join(RESULTS, 'final.png')).catch(() => {});
  await app?.quit();
  if (app && process.env.GROVE_E2E_VERBOSE) console.error(app.log());
  await env?.stop();
});

const visibleTerminal = () =>
  until('a visible terminal', () => app.exec('return window.__grove.visibleTerminals()[0] ?? null'));
const termText = (id) => app.exec('return window.__grove.terminalText(arguments[0]) ?? ""', id);
const selected = () => app.exec('const s = window.__grove.selectedSession(); return s ? { id: s.id, name: s.name } : null');

async function waitForOutput(re, timeout = 20000) {
  return until(`terminal output ${re}`, async () => {
    const text = await termText(await visibleTerminal());
    return re.test(text) ? text : null;
  }, timeout);
}

async function typeInTerminal(line) {
  await app.type('[data-testid=terminal] .xterm-helper-textarea', line + '\uE007');
}

async function createSession(name) {
  await app.click('[data-testid=new-session]');
  await app.waitFor('[data-testid=ns-name]');
  await app.type('[data-testid=ns-name]', name);
  await app.exec(`const s = document.querySelector('[data-testid=ns-agent]');
    s.value = '__custom'; s.dispatchEvent(new Event('change', { bubbles: true }));`);
  await app.waitFor('[data-testid=ns-command]');
  await app.clear('[data-testid=ns-command]');
  await app.type('[data-testid=ns-command]', 'bash');
  await app.click('[data-testid=ns-submit]');
  await app.waitFor(`[data-testid=session-view][data-session="${name}"]`, 30000);
  await until('the new-session dialog to close', () => app.exec('return document.querySelectorAll("[role=dialog]").length === 0'));
  await waitForOutput(/\$ /);
  return (await selected()).id;
}

test('the window shows the UI connected to the in-process server', async () => {
  await app.waitFor('[data-testid=sidebar]');
  await until('the server connection', () => app.exec('return !document.querySelector("[data-testid=banner]")'));
  assert.equal((await app.windowHandles()).length, 1);
});

test('the page starts with the connection the shell handed it at load, without asking', async () => {
  const marks = await app.exec(`return Object.fromEntries(performance.getEntriesByType('mark')
    .map((m) => [m.name, m.startTime]));`);
  // The connection was known before the UI's chunk ran: from the initialization script, not the
  // `connection` command (which app.ts would call only after its own mark).
  assert.ok(marks['grove:connection'] < marks['grove:app'], JSON.stringify(marks));
  // And the page took it out of the window object.
  assert.equal(await app.exec('return "__GROVE_CONNECTION__" in window'), false);
});

test('the CSP lets the page reach the local server only', async () => {
  const result = await app.execAsync(`const done = arguments[arguments.length - 1];
    let violated = false;
    document.addEventListener('securitypolicyviolation', (e) => {
      if (e.violatedDirective.startsWith('connect-src')) violated = true;
    });
    fetch('http://127.0.0.1:9/').then(() => done('fetched'), () => setTimeout(() => done(violated ? 'blocked' : 'failed'), 300));`);
  assert.equal(result, 'blocked');
});

test('adds the fixture repo through the UI', async () => {
  await app.click('[data-testid=add-repo-open]');
  await app.waitFor('[data-testid=repo-path]');
  await app.type('[data-testid=repo-path]', repo);
  await app.click('[data-testid=add-repo-submit]');
  await until('the repo in the sidebar', () =>
    app.exec('return [...document.querySelectorAll(".sidebar .repo")].some((e) => e.textContent.includes("demo"))'));
});

let first;
let second;

test('a session running bash echoes what is typed', async () => {
  first = await createSession('one');
  await typeInTerminal('echo grove-$((6*7))');
  await waitForOutput(/^grove-42\s*$/m);
  await app.screenshot(join(RESULTS, '01-session.png'));
});

test('a second launch with grove://session/<id> focuses that session in the first window', async () => {
  second = await createSession('two');
  await typeInTerminal('echo in-two');
  await waitForOutput(/^in-two\s*$/m);
  await app.click(`[data-testid=session-item][data-session="one"]`);
  await until('session one selected', async () => (await selected())?.id === first);

  const r = await runOnce(env, bin, [`grove://session/${second}`]);
  assert.equal(r.code, 0, `the second launch should hand over and exit 0:\n${r.out}`);
  await until('session two focused by the link', async () => (await selected())?.id === second);
  await waitForOutput(/^in-two\s*$/m);
  assert.equal((await app.windowHandles()).length, 1, 'no second window');
  await app.screenshot(join(RESULTS, '02-deep-link.png'));
});

test('malformed or unknown links change nothing', async () => {
  await app.click(`[data-testid=session-item][data-session="one"]`);
  await until('session one selected', async () => (await selected())?.id === first);
  for (const link of [
    'grove://session/abc',
    'grove://session/999999',
    `grove://session/${second}/extra`,
    `grove://session/${second}?x=1`,
    'grove://evil/1',
    'grove://auth/callback?code=a%20b&state=x',
  ]) {
    const r = await runOnce(env, bin, [link]);
    assert.equal(r.code, 0, `${link}: ${r.out}`);
  }
  // Give any (wrong) action time to arrive before checking nothing moved.
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await selected())?.id, first);
  assert.equal((await app.windowHandles()).length, 1);
});

test('a link given at launch is queued until the UI is ready, then focuses its session', async () => {
  await app.quit();
  app = await launchApp(env, { args: [`grove://session/${second}`] });
  await app.waitFor('[data-testid=sidebar]');
  await until('session two focused at start', async () => (await selected())?.id === second, 20000);
  await app.waitFor('[data-testid=session-view][data-session="two"]');
});

test('the tauri-plugin-websocket transport (GROVE_DESKTOP_TRANSPORT=plugin) carries a session too', async () => {
  await app.quit();
  app = await launchApp(env, { extraEnv: { GROVE_DESKTOP_TRANSPORT: 'plugin' } });
  await app.waitFor('[data-testid=sidebar]');
  assert.match(await app.exec('return location.search'), /transport=plugin/);
  await app.click(`[data-testid=session-item][data-session="one"]`);
  await until('session one selected', async () => (await selected())?.id === first);
  // The agent ended with the previous app: restart it, then type through the plugin's socket.
  await app.exec(`[...document.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Restart')?.click()`);
  await waitForOutput(/\$ \s*$/m, 20000);
  await typeInTerminal('echo plugin-$((6*7))');
  await waitForOutput(/^plugin-42\s*$/m);
});
