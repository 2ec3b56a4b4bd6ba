// End-to-end: the first hour of a new user, keyboard first. A suggested session name so Enter
// alone starts a session; dialogs that take focus, keep it, give it back and close on Escape;
// terminal tabs as a real tablist named for the program that runs; how long a session has been
// waiting; the F1 overlay; and axe-core over every main view.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { until, fixtureRepo } from './harness.mjs';
import { useUi } from './page.mjs';

const ui = useUi('first-hour-final');
const { pageErrors, shot, waitForOutput, typeInTerminal } = ui;
/** @type {import('playwright-core').Page} */ let page;
/** @type {typeof ui.server} */ let server;
before(async () => {
  await ui.start();
  ({ page, server } = ui);
});
after(() => ui.stop());

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Runs axe-core on the page as it is; fails on serious or critical violations. */
async function axe(view) {
  // Evaluated rather than added as a <script>: the page's CSP (script-src 'self') refuses inline
  // scripts, and the test must not loosen it.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    // @ts-ignore: injected above
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${view}: axe found ${JSON.stringify(bad, null, 2)}`);
}

const dialogs = () => page.locator('[role=dialog]').count();
/** What has focus: its test id, else a short description. */
const focused = () =>
  page.evaluate(() => {
    const e = document.activeElement;
    return e?.getAttribute('data-testid') ?? `${e?.tagName.toLowerCase()}${e?.id ? '#' + e.id : ''}`;
  });
const focusInDialog = () => page.evaluate(() => !!document.activeElement?.closest('[role=dialog]'));

/** Opens a dialog from `opener` with the keyboard (focus it, press Enter), checks focus moved in,
 *  that Tab cannot leave it and that global shortcuts wait, then closes it with Escape and checks
 *  focus went back to `opener`. */
async function dialogRoundTrip(opener, testid) {
  await page.locator(opener).focus();
  const openerId = await focused();
  await page.keyboard.press('Enter');
  await page.waitForSelector(`[role=dialog][data-testid=${testid}]`);
  await until(`focus inside the ${testid} dialog`, focusInDialog);
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press(i % 3 === 2 ? 'Shift+Tab' : 'Tab');
    assert.ok(await focusInDialog(), `Tab #${i} left the ${testid} dialog for ${await focused()}`);
  }
  // F1 would open the help: not while a dialog is open.
  await page.keyboard.press('F1');
  assert.equal(await dialogs(), 1, 'a shortcut acted behind an open dialog');
  await page.keyboard.press('Escape');
  await until(`the ${testid} dialog to close`, async () => (await dialogs()) === 0);
  assert.equal(await focused(), openerId, `focus did not return to ${opener}`);
}

test('the welcome page says what to do first and links the remote-host docs; axe passes', async () => {
  await page.waitForSelector('[data-testid=first-step]');
  const href = await page.getAttribute('.welcome a', 'href');
  assert.match(href ?? '', /README|#on-a-remote-host$/);
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  assert.match(readme, /^## On a remote host$/m, 'the README section the welcome page links to');
  await axe('welcome');
});

test('the add-repo dialog takes focus, keeps it, closes on Escape and gives focus back', async () => {
  await dialogRoundTrip('[data-testid=welcome-add-repo]', 'add-repo');
  // Then add the repo with the keyboard only.
  await page.locator('[data-testid=add-repo-open]').focus();
  await page.keyboard.press('Enter');
  await until('focus in the path field', async () => (await focused()) === 'repo-path');
  await page.keyboard.type(server.repo);
  await page.keyboard.press('Enter');
  await page.waitForSelector('.sidebar .repo:has-text("demo")');
  await axe('no session selected');
});

test('a session starts from the keyboard alone with a suggested name', async () => {
  await page.locator('.sidebar [data-testid=new-session]').focus();
  await page.keyboard.press('Control+Shift+N');
  await page.waitForSelector('[data-testid=new-session][role=dialog]');
  await until('focus in the name field', async () => (await focused()) === 'ns-name');
  // Suggested in the empty field (a placeholder, so it never mixes with typing).
  const name = await until('a suggested name', async () => {
    const v = await page.getAttribute('[data-testid=ns-name]', 'placeholder');
    return /^main-[a-z]+$/.test(v ?? '') ? v : null;
  });
  assert.equal(await page.inputValue('[data-testid=ns-name]'), '');
  await axe('new-session dialog');
  await page.keyboard.press('Enter');
  await page.waitForSelector(`[data-testid=session-view][data-session="${name}"]`, { timeout: 30000 });
  await until('the dialog to close', async () => (await dialogs()) === 0);
  await waitForOutput(/\$ /);
  await shot('first-hour-suggested');
});

test('every dialog: focus in, Tab trapped, shortcuts paused, Escape closes, focus back', async () => {
  await dialogRoundTrip('.sidebar [data-testid=new-session]', 'new-session');
  await dialogRoundTrip('[data-testid=add-repo-open]', 'add-repo');
  await dialogRoundTrip('[data-testid=delete]', 'confirm');
  // Help opens with F1 rather than a button; Escape still gives focus back.
  await page.locator('[data-testid=archive]').focus();
  await page.keyboard.press('F1');
  await page.waitForSelector('[role=dialog][data-testid=help]');
  await until('focus inside the help', focusInDialog);
  await axe('help overlay');
  const sections = await page.locator('[data-testid=help] caption').allTextContents();
  assert.ok(sections.some((s) => /tabs/i.test(s)) && sections.some((s) => /dialogs/i.test(s)), `${sections}`);
  await page.keyboard.press('Escape');
  await until('the help to close', async () => (await dialogs()) === 0);
  assert.equal(await focused(), 'archive');
  // Escape closes a dialog even when focus is not in it (the dialog itself holds it here).
  await page.keyboard.press('F1');
  await page.waitForSelector('[role=dialog][data-testid=help]');
  await page.evaluate(() => /** @type {HTMLElement} */ (document.activeElement)?.blur());
  await page.keyboard.press('Escape');
  await until('the help to close from the body', async () => (await dialogs()) === 0);
});

test('the trust dialog (a repo with grove.toml) closes on Escape and gives focus back', async () => {
  const repo = fixtureRepo(server.dir, 'withtoml');
  writeFileSync(join(repo, 'grove.toml'), 'setup = ["echo set-up"]\n');
  execFileSync('git', ['add', '.'], { cwd: repo });
  execFileSync('git', ['commit', '-q', '-m', 'grove.toml'], { cwd: repo });
  await page.click('[data-testid=add-repo-open]');
  await page.fill('[data-testid=repo-path]', repo);
  await page.click('[data-testid=add-repo-submit]');
  await page.waitForSelector('[data-repo=withtoml] [data-testid=repo-trust]');
  await dialogRoundTrip('[data-repo=withtoml] [data-testid=repo-trust]', 'trust');
  await page.click('[data-repo=withtoml] [data-testid=repo-trust]');
  await page.waitForSelector('[role=dialog][data-testid=trust] [data-testid=trust-approve]');
  await axe('trust dialog');
  await page.keyboard.press('Escape');
  await until('the trust dialog to close', async () => (await dialogs()) === 0);
});

/** The tabs of the visible session: label, selected, status. */
const tabState = () =>
  page.$$eval('[role=tab]', (tabs) =>
    tabs.map((t) => ({ label: t.childNodes[1]?.textContent ?? '', selected: t.getAttribute('aria-selected') === 'true', id: t.id })),
  );

test('terminal tabs are a tablist: arrow keys, Home and End; the panel is labelled by its tab', async () => {
  await page.click('[data-testid=new-terminal]');
  await page.click('[data-testid=new-terminal]');
  await until('three tabs', async () => (await tabState()).length === 3);
  const tabs = page.locator('[role=tab]');
  await tabs.nth(2).click();
  await until('tab 3 selected', async () => (await tabState())[2]?.selected);
  await tabs.nth(2).focus();
  const selectedIndex = async () => (await tabState()).findIndex((t) => t.selected);
  const step = async (key, want) => {
    await page.keyboard.press(key);
    await until(`${key} to select tab ${want}`, async () => (await selectedIndex()) === want);
    const f = await page.evaluate(() => document.activeElement?.getAttribute('role'));
    assert.equal(f, 'tab', `focus left the tabs after ${key}`);
  };
  await step('ArrowRight', 0); // wraps
  await step('ArrowRight', 1);
  await step('End', 2);
  await step('Home', 0);
  await step('ArrowLeft', 2); // wraps back
  // One tab in the Tab order; the panel names its tab.
  const tabindexes = await page.$$eval('[role=tab]', (ts) => ts.map((t) => t.getAttribute('tabindex')));
  assert.deepEqual(tabindexes, ['-1', '-1', '0']);
  const st = await tabState();
  // The tablist owns every tab, and nothing else (the × buttons sit beside the tabs).
  const owns = await page.getAttribute('[role=tablist]', 'aria-owns');
  assert.deepEqual(owns?.split(' '), st.map((t) => t.id));
  const labelledBy = await page.getAttribute('[role=tabpanel]', 'aria-labelledby');
  assert.equal(labelledBy, st[2]?.id);
  // The status is in words as well as a colour; the × says what it closes.
  const text = await tabs.nth(0).textContent();
  assert.match(text ?? '', /running|idle/);
  const closeName = await page.locator('[data-testid=terminal-close]').nth(2).getAttribute('aria-label');
  assert.match(closeName ?? '', /^Close terminal shell 2$/);
  await axe('session view with tabs');
  // Delete on a tab closes it (a running shell asks first).
  await page.keyboard.press('Delete');
  await page.waitForSelector('[data-testid=confirm]');
  await page.click('[data-testid=confirm-anyway]');
  await until('two tabs', async () => (await tabState()).length === 2);
});

test('a tab is named for the program that runs ("codex" for env X=1 codex), and can be renamed', async () => {
  await page.click('.sidebar [data-testid=new-session]');
  await page.fill('[data-testid=ns-name]', 'codexy');
  await page.selectOption('[data-testid=ns-agent]', '__custom');
  await page.fill('[data-testid=ns-command]', 'env X=1 codex');
  await page.click('[data-testid=ns-submit]');
  await page.waitForSelector('[data-testid=session-view][data-session="codexy"]', { timeout: 30000 });
  await until('the tab labelled codex', async () => (await tabState())[0]?.label === 'codex');
  // F2 renames; the name survives a reload (this browser keeps it).
  await page.locator('[role=tab]').first().focus();
  await page.keyboard.press('F2');
  await until('the rename field', async () => (await focused()) === 'tab-rename');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('reviewer');
  await page.keyboard.press('Enter');
  await until('the renamed tab', async () => (await tabState())[0]?.label === 'reviewer');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('role')), 'tab');
  await page.reload();
  await page.click('[data-testid=session-item][data-session="codexy"]');
  await until('the name after a reload', async () => (await tabState())[0]?.label === 'reviewer');
  // Emptied: back to the program's name.
  await page.locator('[role=tab]').first().dblclick();
  await page.fill('[data-testid=tab-rename]', '');
  await page.keyboard.press('Enter');
  await until('codex again', async () => (await tabState())[0]?.label === 'codex');
});

test('the sidebar says how long a session has waited; the title counts sessions that need you', async () => {
  const first = await page.locator('[data-testid=session-item]').first().getAttribute('data-session');
  await page.click(`[data-testid=session-item][data-session="${first}"]`);
  await page.waitForSelector(`[data-testid=session-view][data-session="${first}"] [data-testid=terminal]`);
  await typeInTerminal("sleep 1; printf 'waiting\\a\\n'");
  // Look elsewhere, so the bell is not acknowledged by looking at it.
  await page.click('[data-testid=session-item][data-session="codexy"]');
  const badge = page.locator(`[data-testid=session-item][data-session="${first}"] [data-testid=badge]`);
  await until('needs you · <1 m', async () => /^needs you · <1 m$/.test((await badge.textContent()) ?? ''));
  assert.match(await page.title(), /^\(1\) /);
  await shot('first-hour-waiting');
});

test('no uncaught errors in the page', () => {
  assert.deepEqual(pageErrors, []);
});
