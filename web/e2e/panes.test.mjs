// End-to-end: what happens around a pane rather than in it. Closing a terminal asks first while
// its program runs (always for an agent); a hidden page lets go of its terminal streams and takes
// them up again from a snapshot; an exception in the UI's own event handling reaches the user
// instead of vanishing. The real server, the real UI, Debian's Chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { until } from './harness.mjs';
import { useUi } from './page.mjs';

const ui = useUi('panes-final');
const { pageErrors, shot, visibleTerminal, termText, waitForOutput, typeInTerminal, createSession } = ui;
/** @type {import('playwright-core').Page} */ let page;
/** @type {typeof ui.server} */ let server;
before(async () => {
  await ui.start();
  ({ page, server } = ui);
});
after(() => ui.stop());

const tabs = () => page.locator('[data-testid=terminal-tab]').count();
const dialogs = () => page.locator('[data-testid=confirm]').count();

/** A new shell tab in the selected session; returns once its prompt shows. */
async function newShell() {
  const n = await tabs();
  await page.click('[data-testid=new-terminal]');
  await until('a new tab', async () => (await tabs()) === n + 1);
  await until('the new shell\'s prompt', async () => /\$ ?$/m.test(await termText(await visibleTerminal())));
}

async function pressClose() {
  await page.locator('[data-testid=terminal] .xterm').first().click();
  await page.keyboard.press('Control+Shift+KeyW');
}

test('sets up a repo and a session', async () => {
  await page.waitForSelector('[data-testid=sidebar]');
  await page.click('[data-testid=add-repo-open]');
  await page.fill('[data-testid=repo-path]', server.repo);
  await page.click('[data-testid=add-repo-submit]');
  await page.waitForSelector('.sidebar .repo:has-text("demo")');
  await createSession('closing');
});

test('Ctrl+Shift+W on the agent asks first, and Cancel keeps it running', async () => {
  await pressClose();
  await page.waitForSelector('[data-testid=confirm]');
  // Keys go to the dialog now, not to the program behind it.
  await until('focus on Cancel', () => page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'confirm-cancel'), 5000);
  const text = await page.textContent('[data-testid=confirm]');
  assert.match(text ?? '', /agent/i);
  // No "don't ask again" for an agent.
  assert.equal(await page.locator('[data-testid=confirm-option]').count(), 0);
  await shot('panes-close-agent');
  await page.click('[data-testid=confirm-cancel]');
  await until('the dialog to close', async () => (await dialogs()) === 0);
  assert.equal(await tabs(), 1);
  await typeInTerminal('echo still-$((40+2))');
  await waitForOutput(/^still-42\s*$/m);
});

test('a running shell\'s × asks first; confirming closes it', async () => {
  await newShell();
  await page.locator('[data-testid=terminal-close]').nth(1).click();
  await page.waitForSelector('[data-testid=confirm] [data-testid=confirm-option]');
  assert.equal(await tabs(), 2, 'the shell closed before the question was answered');
  await page.click('[data-testid=confirm-anyway]');
  await until('the shell to close', async () => (await tabs()) === 1 && (await dialogs()) === 0);
});

test('"don\'t ask again for shells" closes the next running shell at once; an exited one never asks', async () => {
  await newShell();
  await pressClose();
  await page.click('[data-testid=confirm-option]');
  await page.click('[data-testid=confirm-anyway]');
  await until('the shell to close', async () => (await tabs()) === 1 && (await dialogs()) === 0);

  await newShell();
  await pressClose();
  await until('the second shell to close unasked', async () => (await tabs()) === 1);
  assert.equal(await dialogs(), 0);

  // The agent still asks.
  await pressClose();
  await page.waitForSelector('[data-testid=confirm]');
  await page.click('[data-testid=confirm-cancel]');
  await until('the dialog to close', async () => (await dialogs()) === 0);
  assert.equal(await tabs(), 1);
});

test('a shell whose program ended closes without a question', async () => {
  // Shells ask again (the choice above is this browser's), so only the ended state skips it.
  await page.evaluate(() => localStorage.removeItem('grove.askBeforeClosingShells'));
  await page.reload();
  await page.waitForSelector('[data-testid=session-view][data-session="closing"] [data-testid=terminal]');
  await newShell();
  await typeInTerminal('exit');
  await page.waitForSelector('[data-testid=exit-text]');
  await pressClose();
  await until('the ended shell to close', async () => (await tabs()) === 1);
  assert.equal(await dialogs(), 0);
});

test('a hidden page lets go of its terminal stream and shows what ran meanwhile when visible again', async () => {
  const sockets = [];
  page.on('websocket', (ws) => {
    if (!/\/api\/v1\/terminals\/\d+/.test(ws.url())) return;
    const s = { url: ws.url(), closed: false };
    ws.on('close', () => (s.closed = true));
    sockets.push(s);
  });
  // A fresh pane, whose socket this test sees open.
  await page.reload();
  const id = await until('the pane', async () => {
    const id = await page.evaluate(() => window.__grove.visibleTerminals()[0] ?? null);
    return id !== null && sockets.some((s) => s.url.includes(`/terminals/${id}`) && !s.closed) ? id : null;
  });
  const done = join(server.dir, 'hidden-done');
  await typeInTerminal(`sleep 1; seq 1 300000; echo HIDDEN-$((6*7)); touch ${done}`);
  // Headless Chromium keeps every page visible (another tab in front, a minimized window), so the
  // test flips the page's visibility itself: what the UI reacts to is this event.
  const setVisibility = (state) =>
    page.evaluate((state) => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => state === 'hidden' });
      document.dispatchEvent(new Event('visibilitychange'));
    }, state);
  await setVisibility('hidden');
  await until('the terminal socket to close', () => sockets.every((s) => s.closed), 5000);
  await until('the program to finish while hidden', () => existsSync(done), 60000, 100);
  const seen = sockets.length;
  await setVisibility('visible');
  await until('a new terminal socket', () => sockets.length > seen && !sockets.at(-1).closed, 5000);
  assert.ok(!sockets.at(-1).url.includes('?'), `re-attached with a query instead of a snapshot: ${sockets.at(-1).url}`);
  await until('the output made while hidden', async () => /^HIDDEN-42\s*$/m.test(await termText(id)));
  // And the pane is live again.
  await typeInTerminal('echo back-$((1+1))');
  await waitForOutput(/^back-2\s*$/m);
});

test('an exception in the UI\'s event handling reaches the error banner; a frame that is not JSON does not', async () => {
  // The events socket, routed through the test so it can add frames the server never sends.
  let route = null;
  await page.routeWebSocket(/\/api\/v1\/events$/, (ws) => {
    ws.connectToServer();
    route = ws;
  });
  await page.reload();
  await page.waitForSelector('[data-testid=session-view][data-session="closing"]');
  await until('the routed events socket', () => route);
  const messages = () => page.locator('[data-testid=message]').allTextContents();
  const warnings = [];
  page.on('console', (m) => {
    if (m.type() === 'warning') warnings.push(m.text());
  });
  route.send('this is not json{');
  await until('the skipped frame\'s console warning', () => warnings.some((w) => /not JSON/.test(w)), 5000);
  assert.deepEqual(await messages(), []);
  // Valid JSON the store cannot take: `terminal_updated` without a terminal.
  route.send(JSON.stringify({ type: 'terminal_updated', terminal: null }));
  const shown = await until('the failure in the banner', async () => (await messages()).find((m) => /failed on a server event/.test(m)), 5000);
  assert.match(shown, /session_id|null/);
  await shot('panes-handler-error');
  // The page stays connected and working.
  await typeInTerminal('echo alive-$((3+4))');
  await waitForOutput(/^alive-7\s*$/m);
});

test('no uncaught errors in the page', () => {
  assert.deepEqual(pageErrors, []);
});
