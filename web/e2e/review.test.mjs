// End-to-end: the review panel against the real server, a real session running bash in its own
// worktree, and Debian's Chromium. Files are written by commands typed into the session's
// terminal (as an agent would), and every check of the worktree uses the real git CLI.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { until } from './harness.mjs';
import { useUi } from './page.mjs';

const ui = useUi('review-final');
const { pageErrors, shot, visibleTerminal, waitForOutput, typeInTerminal, createSession } = ui;
/** @type {import('playwright-core').Page} */ let page;
/** @type {typeof ui.server} */ let server;
/** The session's worktree. */ let worktree = '';

before(async () => {
  await ui.start();
  ({ page, server } = ui);
  await page.waitForSelector('[data-testid=sidebar]');
  await page.click('[data-testid=add-repo-open]');
  await page.fill('[data-testid=repo-path]', server.repo);
  await page.click('[data-testid=add-repo-submit]');
  await page.waitForSelector('.sidebar .repo:has-text("demo")');
  await createSession('rev');
  worktree = await page.evaluate(() => window.__grove.selectedSession().worktree);
});
after(() => ui.stop());

const git = (...args) => execFileSync('git', args, { cwd: worktree, encoding: 'utf8' });
const file = (path) => `[data-testid=review-file][data-path="${path}"]`;
/** The text the diff renderer drew (it draws into an open shadow root, which locators pierce). */
const diffHas = (text) => page.locator('[data-testid=diff] [data-line]', { hasText: text }).count();

async function openFile(path) {
  await page.waitForSelector(file(path), { timeout: 15000 });
  await page.click(`${file(path)} .fname`);
  await until(`the diff of ${path}`, async () => (await page.getAttribute('[data-testid=diff]', 'data-path')) === path, 15000);
}

/** Answers the confirm dialog with its action button. */
async function confirm() {
  await page.waitForSelector('[data-testid=confirm]');
  await page.click('[data-testid=confirm-anyway]');
  await until('the dialog to close', async () => (await page.locator('[data-testid=confirm]').count()) === 0);
}

test('the panel lists a file a terminal command just wrote and shows its diff, beside a live terminal', async () => {
  const term = await visibleTerminal();
  await page.click('[data-testid=review-toggle]');
  await page.waitForSelector('[data-testid=review-panel]');
  await page.waitForSelector('[data-testid=review-empty]');
  // Written while the panel is open: the watcher's event brings it in, nobody polls.
  await typeInTerminal(`printf 'def greet():\\n    return "hi"\\n' > greet.py`);
  await openFile('greet.py');
  await until('the diff to show the new line', async () => (await diffHas('return "hi"')) > 0, 15000);
  assert.equal(await page.getAttribute(file('greet.py'), 'data-status'), 'added');
  // The sidebar's counts and uncommitted dot follow the same events.
  await until('the sidebar counts', async () => /\+2/.test((await page.textContent('[data-testid=session-changes]').catch(() => '')) ?? ''));
  await page.waitForSelector('[data-testid=uncommitted-dot]');
  // The terminal is the same pane, still mounted and streaming.
  assert.equal(await visibleTerminal(), term);
  await typeInTerminal('echo still-$((20+22))');
  await waitForOutput(/^still-42\s*$/m);
  await shot('review-01-new-file');
});

test('split layout, the filter box, and binary or huge files said plainly', async () => {
  await typeInTerminal(`mkdir -p assets && printf '\\x89PNG\\x00\\x01\\x02' > assets/logo.png && seq 1 300000 > assets/huge.txt`);
  await page.waitForSelector(file('assets/logo.png'), { timeout: 15000 });
  await page.waitForSelector(file('assets/huge.txt'), { timeout: 15000 });
  // Grouped by folder: the root's file, then assets/.
  const folders = await page.locator('[data-testid=review-files] .folder').allTextContents();
  assert.deepEqual(folders, ['./', 'assets/']);
  await page.click(`${file('assets/logo.png')} .fname`);
  await page.waitForSelector('[data-testid=diff-binary]');
  await page.click(`${file('assets/huge.txt')} .fname`);
  assert.match((await page.textContent('[data-testid=diff-too-large]')) ?? '', /Too large to show \(1\.\d MB(, 300,000 lines)?\)/);
  await page.fill('[data-testid=review-filter]', 'ASSETS png');
  await until('the filter to leave one file', async () => (await page.locator('[data-testid=review-file]').count()) === 1);
  await page.fill('[data-testid=review-filter]', '');
  await typeInTerminal(`echo 'One more line.' >> README.md`);
  await openFile('README.md');
  await page.click('[data-testid=style-split]');
  await until('the split layout', async () => (await page.locator('[data-testid=diff] pre[data-diff-type=split]').count()) === 1);
  await page.click('[data-testid=style-unified]');
  await until('the unified layout', async () => (await page.locator('[data-testid=diff] pre[data-diff-type=single]').count()) === 1);
  // From the keyboard: the list's order is README.md, greet.py, then assets/; Up wraps around.
  await page.keyboard.press('Control+Shift+ArrowUp');
  await page.waitForSelector(`${file('assets/logo.png')}.selected`);
  await page.waitForSelector('[data-testid=diff-binary]');
  await page.keyboard.press('Control+Shift+ArrowDown');
  await page.waitForSelector(`${file('README.md')}.selected`);
  await page.keyboard.press('Control+Shift+E');
  await page.waitForSelector(`${file('greet.py')}.selected`);
  assert.ok(await page.isChecked(`${file('README.md')} [data-testid=viewed]`), 'Ctrl+Shift+E marked README.md viewed');
  await typeInTerminal('rm -r assets && git checkout -q README.md');
  await until('only greet.py left in the list', async () => (await page.locator('[data-testid=review-file]').count()) === 1, 15000);
});

test('the divider resizes the panel and the terminal refits; Ctrl+Shift+D closes and reopens it, the terminal untouched', async () => {
  const term = await visibleTerminal();
  const cols = await page.evaluate((id) => window.__grove.xterm(id).cols, term);
  const divider = await page.locator('[data-testid=review-divider]').boundingBox();
  await page.mouse.move(divider.x + 2, divider.y + 100);
  await page.mouse.down();
  await page.mouse.move(divider.x + 242, divider.y + 100, { steps: 5 });
  await page.mouse.up();
  await until('the terminal to widen', () => page.evaluate(([id, c]) => window.__grove.xterm(id).cols > c + 10, [term, cols]));
  await page.keyboard.press('Control+Shift+D');
  await until('the panel to close', async () => (await page.locator('[data-testid=review-panel]').count()) === 0);
  await page.keyboard.press('Control+Shift+D');
  await page.waitForSelector(file('greet.py'));
  assert.equal(await visibleTerminal(), term);
});

test('a viewed mark holds until the file changes again', async () => {
  await openFile('greet.py');
  await page.check(`${file('greet.py')} [data-testid=viewed]`);
  await until('1/1 viewed', async () => (await page.textContent('[data-testid=viewed-count]'))?.startsWith('1/1'));
  const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('grove.viewed.')));
  assert.equal(stored.length, 1, 'the mark is kept in localStorage');
  await typeInTerminal(`echo '# changed again' >> greet.py`);
  await until('the mark to reset', async () => !(await page.isChecked(`${file('greet.py')} [data-testid=viewed]`)), 15000);
  assert.match((await page.textContent('[data-testid=viewed-count]')) ?? '', /^0\/1/);
  await until('the diff to show the new line', async () => (await diffHas('# changed again')) > 0, 15000);
});

test('a comment on a selected line is typed into the agent terminal with path:line and the quote', async () => {
  await openFile('greet.py');
  // Line 2 of the new side: click its line number.
  await page.click('[data-testid=diff] [data-gutter] [data-column-number="2"]');
  await page.waitForSelector('[data-testid=comment-form]');
  await page.fill('[data-testid=comment-text]', 'say hello instead of hi');
  await page.click('[data-testid=comment-add]');
  await until('the comment in the list', async () => (await page.locator('[data-testid=comment]').count()) === 1);
  assert.match((await page.textContent('[data-testid=comment]')) ?? '', /greet\.py:2/);
  await shot('review-02-comment');
  await page.click('[data-testid=send-comments]');
  const text = await waitForOutput(/say hello instead of hi/);
  assert.match(text, /greet\.py:2/);
  assert.match(text, /return "hi"/);
  assert.match((await page.textContent('[data-testid=comments-sent]')) ?? '', /Typed into the agent's terminal \(bash\)/);
  // The paste waits on bash's command line; drop it.
  await page.locator('[data-testid=terminal] .xterm').first().click();
  await page.keyboard.press('Control+C');
});

test('revert a file, then undo it, byte for byte', async () => {
  const original = readFileSync(join(worktree, 'app.py'), 'utf8');
  await typeInTerminal(`printf 'print("rewritten by the agent")\\r\\nno newline at the end' > app.py`);
  const changed = await until('app.py rewritten', () => {
    const t = readFileSync(join(worktree, 'app.py'), 'utf8');
    return t !== original ? t : null;
  });
  await openFile('app.py');
  await page.click('[data-testid=revert-file]');
  await confirm();
  await until('app.py back to the base', () => readFileSync(join(worktree, 'app.py'), 'utf8') === original);
  await until('app.py gone from the list', async () => (await page.locator(file('app.py')).count()) === 0);
  await page.click('[data-testid=undo]');
  await until('app.py restored by undo', () => readFileSync(join(worktree, 'app.py'), 'utf8') === changed);
  await page.waitForSelector(file('app.py'));
});

test('revert one hunk of a file, then undo it', async () => {
  // A committed file, then two far-apart edits: two hunks against HEAD.
  await typeInTerminal(`seq 1 40 > nums.txt && git add nums.txt && git commit -qm nums && sed -i 's/^5$/five/; s/^35$/thirty-five/' nums.txt`);
  await until('nums.txt edited', () => readFileSync(join(worktree, 'nums.txt'), 'utf8').includes('thirty-five'));
  await page.click('[data-testid=scope-uncommitted]');
  await openFile('nums.txt');
  await until('both hunks drawn', async () => (await diffHas('thirty-five')) > 0 && (await diffHas('five')) > 0);
  await page.click('[data-testid=diff] [data-gutter] [data-line-type=change-addition][data-column-number="35"]');
  await page.click('[data-testid=revert-hunk]');
  await confirm();
  await until('the second hunk reverted', () => {
    const t = readFileSync(join(worktree, 'nums.txt'), 'utf8');
    return t.includes('\nfive\n') && t.includes('\n35\n') && !t.includes('thirty-five');
  });
  await page.click('[data-testid=undo]');
  await until('the hunk back', () => readFileSync(join(worktree, 'nums.txt'), 'utf8').includes('thirty-five'));
});

test('a failing commit hook shows its output; the commit from the UI then leaves a clean worktree', async () => {
  // Linked worktrees share the main repository's hooks.
  const hook = join(server.repo, '.git', 'hooks', 'pre-commit');
  writeFileSync(hook, '#!/bin/sh\necho "lint: greet.py says hi, not hello" >&2\nexit 1\n');
  chmodSync(hook, 0o755);
  await page.fill('[data-testid=commit-message]', 'Greet from the review panel');
  await page.click('[data-testid=commit-submit]');
  await page.waitForSelector('[data-testid=commit-error][data-code=hook_failed]');
  assert.match((await page.textContent('[data-testid=hook-output]')) ?? '', /lint: greet\.py says hi/);
  await shot('review-03-hook-failed');
  rmSync(hook);
  await page.click('[data-testid=commit-submit]');
  await page.waitForSelector('[data-testid=commit-done]');
  assert.equal(git('status', '--porcelain'), '', 'git status shows a clean worktree');
  assert.equal(git('log', '-1', '--format=%s').trim(), 'Greet from the review panel');
  await page.waitForSelector('[data-testid=review-empty]');
  await until('the uncommitted dot to go', async () => (await page.locator('[data-testid=uncommitted-dot]').count()) === 0);
});

test('no uncaught errors in the page', () => {
  assert.deepEqual(pageErrors, []);
});
