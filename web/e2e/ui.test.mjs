// End-to-end: the real server, the real UI, Debian's Chromium. Everything goes through the UI;
// terminal contents are read through xterm's buffer (window.__grove), since WebGL paints to a
// canvas.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { until, RESULTS, ROOT } from './harness.mjs';
import { useUi } from './page.mjs';

const ui = useUi('final');
const { pageErrors, shot, visibleTerminal, termText, waitForOutput, typeInTerminal, createSession } = ui;
/** @type {import('playwright-core').Page} */ let page;
/** @type {typeof ui.server} */ let server;
before(async () => {
  await ui.start();
  ({ page, server } = ui);
});
after(() => ui.stop());

async function selectSession(name) {
  await page.click(`[data-testid=session-item][data-session="${name}"]`);
  await page.waitForSelector(`[data-testid=session-view][data-session="${name}"]`);
}

test('the page loads without the token in the address bar', async () => {
  await page.waitForSelector('[data-testid=sidebar]');
  assert.ok(!page.url().includes('token='), `token still in URL: ${page.url()}`);
});

test('adds the fixture repo through the UI', async () => {
  await page.click('[data-testid=add-repo-open]');
  await page.fill('[data-testid=repo-path]', server.repo);
  await page.click('[data-testid=add-repo-submit]');
  await page.waitForSelector('.sidebar .repo:has-text("demo")');
});

test('a session running bash echoes what is typed', async () => {
  await createSession('one');
  await typeInTerminal('echo grove-$((6*7))');
  await waitForOutput(/^grove-42\s*$/m);
  await shot('01-first-session');
});

test('resizing the viewport resizes the PTY', async () => {
  await typeInTerminal('echo cols=$(tput cols)');
  const before = await waitForOutput(/^cols=\d+/m);
  const first = Number(/^cols=(\d+)/m.exec(before)?.[1]);
  const id = await visibleTerminal();
  await page.setViewportSize({ width: 900, height: 700 });
  // The pane sends its new size on the terminal socket before any key typed after it, so once
  // xterm has the smaller size, the next command sees it too.
  await until('xterm to shrink', () => page.evaluate(([id, first]) => window.__grove.xterm(id).cols < first, [id, first]));
  await typeInTerminal('echo shrunk=$(tput cols)');
  const text = await waitForOutput(/^shrunk=\d+/m);
  const now = Number(/^shrunk=(\d+)/m.exec(text)?.[1]);
  assert.ok(now > 0 && now < first, `the PTY has ${now} columns, not fewer than ${first}`);
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('three sessions; switching shows each one\'s own output', async () => {
  await createSession('two');
  await typeInTerminal('echo in-session-$((1+1))');
  await waitForOutput(/^in-session-2\s*$/m);
  await createSession('three');
  await typeInTerminal('echo in-session-$((1+2))');
  await waitForOutput(/^in-session-3\s*$/m);

  await selectSession('one');
  const one = await waitForOutput(/^grove-42\s*$/m);
  assert.ok(!/^in-session-2\s*$/m.test(one), 'session one shows session two output');
  await selectSession('two');
  await waitForOutput(/^in-session-2\s*$/m);
  // Only the visible pane holds an xterm.
  const live = await page.evaluate(() => window.__grove.visibleTerminals().length);
  assert.equal(live, 1);
  // Keyboard: next / previous session.
  await page.locator('[data-testid=session-item]').first().focus();
  await page.keyboard.press('Control+Shift+BracketRight');
  await page.waitForSelector('[data-testid=session-view][data-session="three"]');
  await page.keyboard.press('Control+Shift+Digit1');
  await page.waitForSelector('[data-testid=session-view][data-session="one"]');
  await shot('02-three-sessions');
});

test('reloading the page shows the earlier output again', async () => {
  await page.reload();
  await page.waitForSelector('[data-testid=sidebar]');
  await page.waitForSelector('[data-testid=session-item][data-session="one"]');
  await selectSession('one');
  await waitForOutput(/^grove-42\s*$/m);
});

test('while one session floods, another still echoes', async () => {
  // A second window watches the flooding session, so the flood really streams into a pane.
  const watcher = await page.context().newPage();
  await watcher.goto(server.url);
  await watcher.click('[data-testid=session-item][data-session="two"]');
  await watcher.waitForSelector('[data-testid=session-view][data-session="two"] [data-testid=terminal]');
  await selectSession('two');
  await typeInTerminal('seq 1 3000000');
  await waitForOutput(/^\d{5,}\s*$/m); // the flood is under way
  await selectSession('three');
  await waitForOutput(/^in-session-3\s*$/m);
  const started = Date.now();
  await typeInTerminal('echo alive-$((2+3))');
  await waitForOutput(/^alive-5\s*$/m, 60000);
  const echoMs = Date.now() - started;
  console.log(`# echo during flood: ${echoMs} ms`);
  // The watcher's pane keeps up and reaches the end of the flood.
  await until('the flood to finish in the watching pane', async () => {
    const id = await watcher.evaluate(() => window.__grove.visibleTerminals()[0]);
    const text = await watcher.evaluate((id) => window.__grove.terminalText(id) ?? '', id);
    return /^3000000\s*$/m.test(text);
  }, 120000, 500);
  await watcher.screenshot({ path: join(RESULTS, '03-flood-watcher.png') });
  await watcher.close();
});

test('archiving a session with an uncommitted file is refused, plainly', async () => {
  await selectSession('one');
  await typeInTerminal('echo work > notes-in-progress.txt && echo wrote-$((1+1))');
  await waitForOutput(/^wrote-2\s*$/m);
  await page.click('[data-testid=archive]');
  await page.waitForSelector('[data-testid=confirm]', { timeout: 15000 });
  const text = await page.textContent('[data-testid=refusal-text]');
  assert.match(text ?? '', /notes-in-progress\.txt/);
  await shot('04-archive-refused');
  await page.click('[data-testid=confirm] button:has-text("Cancel")');
  await until('the dialog to close', async () => (await page.locator('[data-testid=confirm]').count()) === 0);
  // Still active.
  await page.waitForSelector('[data-testid=session-view][data-session="one"] [data-testid=archive]');
});

test('a README screenshot', async () => {
  await selectSession('two');
  // What an agent might have written: a rewritten app.py and a new test file.
  const app = [
    'import sys',
    '',
    '',
    'def greet(name: str) -> str:',
    '    """Say hello to someone by name."""',
    '    return f"hello, {name}"',
    '',
    '',
    'if __name__ == "__main__":',
    '    print(greet(sys.argv[1] if len(sys.argv) > 1 else "world"))',
  ];
  const testFile = ['from app import greet', '', '', 'def test_greet():', '    assert greet("grove") == "hello, grove"'];
  const printf = (lines) => `printf '%s\\n' ${lines.map((l) => `'${l.replace(/'/g, `'\\''`)}'`).join(' ')}`;
  await typeInTerminal(`mkdir -p tests && ${printf(app)} > app.py && ${printf(testFile)} > tests/test_app.py && clear && git status --short && printf "\\e[1;32mready\\e[0m for review\\n"`);
  await waitForOutput(/ready for review/);
  await page.keyboard.press('Control+Shift+D');
  await page.waitForSelector('[data-testid=review-file][data-path="app.py"]');
  await page.click('[data-testid=review-file][data-path="app.py"] .fname');
  // Highlighted once the grammar loaded: a coloured token on the first row.
  await until('the highlighted diff', () =>
    page.evaluate(() => !!document.querySelector('[data-testid=diff][data-path="app.py"] diffs-container')?.shadowRoot?.querySelector('[data-line] span[style*="color"]')),
  );
  // A comment waiting to be sent, on the docstring line.
  await page.click('[data-testid=diff] [data-gutter] [data-line-type=change-addition][data-column-number="5"]');
  await page.fill('[data-testid=comment-text]', 'Also greet in French when LANG starts with fr.');
  await page.click('[data-testid=comment-add]');
  await page.waitForSelector('[data-testid=comment]');
  await page.click('[data-testid=review-file][data-path="app.py"] [data-testid=viewed]');
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const path = join(RESULTS, 'screenshot.png');
  await page.screenshot({ path });
  // The committed README screenshot changes only on request (GROVE_UPDATE_SCREENSHOT=1).
  if (process.env.GROVE_UPDATE_SCREENSHOT) copyFileSync(path, join(ROOT, 'docs', 'screenshot.png'));
  await page.click('[data-testid=comment-remove]');
  await page.keyboard.press('Control+Shift+D');
  await until('the panel to close', async () => (await page.locator('[data-testid=review-panel]').count()) === 0);
});

test('no uncaught errors in the page', () => {
  assert.deepEqual(pageErrors, []);
});
