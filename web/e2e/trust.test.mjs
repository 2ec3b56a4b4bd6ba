// End-to-end: a repo's committed grove.toml runs nothing until the user approved that exact
// content. First use shows everything it would run and starts the session once approved; a new
// commit that changes the file shows the change as a diff; refusals (the file changed under the
// dialog, or under the new-session form) are shown plainly; the approval can be revoked. The real
// server, the real UI, Debian's Chromium, a real git repo.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { until } from './harness.mjs';
import { useUi } from './page.mjs';

const ui = useUi('trust-final');
const { pageErrors, shot, waitForOutput, typeInTerminal } = ui;
/** @type {import('playwright-core').Page} */ let page;
/** @type {typeof ui.server} */ let server;
before(async () => {
  await ui.start();
  ({ page, server } = ui);
});
after(() => ui.stop());

/** Commits `text` as the fixture repo's grove.toml. */
function commitToml(text, message) {
  writeFileSync(join(server.repo, 'grove.toml'), text);
  const git = (...args) => execFileSync('git', args, { cwd: server.repo, stdio: 'pipe' });
  git('add', 'grove.toml');
  git('commit', '-q', '-m', message);
}

const FIRST = `setup = ["echo setup-ran-$((20+22)) > setup-proof.txt"]
agent = "bash"
copy = ["*.local"]

[env]
GROVE_E2E_GREETING = "hello-from-toml"
LD_PRELOAD = "/nonexistent/grove-e2e.so"
`;

const SECOND = FIRST.replace(
  'setup = ["echo setup-ran-$((20+22)) > setup-proof.txt"]',
  'setup = ["echo setup-ran-$((20+22)) > setup-proof.txt", "echo second-step > second.txt"]',
);

const THIRD = SECOND.replace('GROVE_E2E_GREETING = "hello-from-toml"', 'GROVE_E2E_GREETING = "hello-again"');

const texts = (sel) => page.locator(sel).allTextContents();

async function openNewSession(name) {
  await page.click('[data-testid=sidebar] [data-testid=new-session]');
  await page.waitForSelector('[role=dialog][data-testid=new-session]');
  await page.fill('[data-testid=ns-name]', name);
}

async function sessionStarted(name) {
  await page.waitForSelector(`[data-testid=session-view][data-session="${name}"]`, { timeout: 30000 });
  await until('the dialogs to close', async () => (await page.locator('[role=dialog]').count()) === 0);
  await waitForOutput(/\$ ?$/m);
}

test('adds a repo whose grove.toml is not approved', async () => {
  commitToml(FIRST, 'Add grove.toml');
  await page.waitForSelector('[data-testid=sidebar]');
  await page.click('[data-testid=add-repo-open]');
  await page.fill('[data-testid=repo-path]', server.repo);
  await page.click('[data-testid=add-repo-submit]');
  await page.waitForSelector('[data-testid=repo-trust][data-state=untrusted]');
});

test('first use: the dialog shows exactly what will run; approving starts the session', async () => {
  await openNewSession('first');
  // The real default command, not a placeholder.
  await until('the default command', async () =>
    (await page.locator('[data-testid=ns-agent] option').first().textContent())?.includes('bash'));
  assert.ok(await page.locator('[data-testid=ns-trust]').isVisible());
  await page.click('[data-testid=ns-submit]');
  await page.waitForSelector('[data-testid=trust]');
  assert.deepEqual(await texts('[data-testid=trust-setup]'), ['echo setup-ran-$((20+22)) > setup-proof.txt']);
  assert.equal(await page.textContent('[data-testid=trust-agent]'), 'bash');
  assert.deepEqual(await texts('[data-testid=trust-copy]'), ['*.local']);
  const env = await texts('[data-testid=trust-env]');
  assert.ok(env.some((e) => e.includes('GROVE_E2E_GREETING=hello-from-toml')), `env shown: ${env}`);
  const preload = page.locator('[data-testid=trust-env][data-key=LD_PRELOAD]');
  assert.match((await preload.textContent()) ?? '', /LD_PRELOAD=\/nonexistent\/grove-e2e\.so.*⚠/s);
  // The dangerous key is off unless ticked.
  assert.equal(await page.locator('[data-testid=trust-allow][data-key=LD_PRELOAD]').isChecked(), false);
  assert.equal(await page.locator('[data-testid=trust-allow][data-key=GROVE_E2E_GREETING]').count(), 0);
  await shot('trust-first-use');
  await page.click('[data-testid=trust-approve]');
  await sessionStarted('first');
  await typeInTerminal('cat setup-proof.txt; echo "greet=$GROVE_E2E_GREETING preload=[$LD_PRELOAD]"');
  await waitForOutput(/^setup-ran-42\s*$/m);
  await waitForOutput(/^greet=hello-from-toml preload=\[\]\s*$/m);
  await page.waitForSelector('[data-testid=repo-trust][data-state=trusted]');
});

test('a new commit that changes grove.toml: the dialog shows the change as a diff', async () => {
  commitToml(SECOND, 'Another setup step');
  await openNewSession('second');
  await page.waitForSelector('[data-testid=ns-trust]');
  await page.click('[data-testid=ns-submit]');
  await page.waitForSelector('[data-testid=trust-diff]');
  const added = await texts('[data-testid=trust-diff] li[data-kind=added]');
  const removed = await texts('[data-testid=trust-diff] li[data-kind=removed]');
  assert.ok(added.some((l) => l.includes('echo second-step > second.txt')), `added: ${added}`);
  assert.deepEqual(removed, []);
  await shot('trust-changed');
  await page.click('[data-testid=trust-approve]');
  await sessionStarted('second');
  await typeInTerminal('cat second.txt');
  await waitForOutput(/^second-step\s*$/m);
});

test('the file changing under the open dialog is refused plainly, and the dialog shows the new file', async () => {
  await openNewSession('third');
  // The form has read the approval (it holds), and only then the file changes.
  await until('the form to read grove.toml', async () =>
    (await page.locator('[data-testid=ns-agent] option').first().textContent())?.startsWith('Default: '));
  commitToml(THIRD, 'A new greeting');
  await page.click('[data-testid=ns-submit]');
  // The form still believed the old approval held: the server refuses, and the form says why.
  const shown = await until('a refusal or the dialog', async () => {
    if (await page.locator('[data-testid=form-error]').count()) return 'form';
    if (await page.locator('[data-testid=trust]').count()) return 'dialog';
    return null;
  });
  // (Only a server that announced the new commit first would skip the refusal.)
  if (shown === 'form') {
    assert.match((await page.textContent('[data-testid=form-error]')) ?? '', /^Refused: .*grove\.toml changed/);
    // The review opens by itself.
    await page.waitForSelector('[data-testid=trust]');
    await shot('trust-refused-create');
  }
  await page.waitForSelector('[data-testid=trust-diff]');
  // Another commit while the dialog is open: approving what is shown is refused.
  commitToml(THIRD.replace('hello-again', 'hello-third'), 'Yet another greeting');
  await page.click('[data-testid=trust-approve]');
  await page.waitForSelector('[data-testid=trust-error]');
  assert.match((await page.textContent('[data-testid=trust-error]')) ?? '', /Nothing was approved/);
  await until('the dialog to show the new file', async () =>
    (await texts('[data-testid=trust-env]')).some((e) => e.includes('hello-third')));
  await shot('trust-refused-approve');
  // Approving goes on to create the session.
  await page.click('[data-testid=trust-approve]');
  await sessionStarted('third');
  await typeInTerminal('echo "greet=$GROVE_E2E_GREETING"');
  await waitForOutput(/^greet=hello-third\s*$/m);
});

test('revoking the approval from the sidebar makes the next session ask again', async () => {
  await page.click('[data-testid=repo-trust]');
  await page.waitForSelector('[data-testid=trust-revoke]');
  await page.click('[data-testid=trust-revoke]');
  await page.waitForSelector('[data-testid=trust-approve]');
  await page.click('[data-testid=trust-cancel]');
  await page.waitForSelector('[data-testid=repo-trust][data-state=untrusted]');
  await openNewSession('fourth');
  await page.waitForSelector('[data-testid=ns-trust]');
  await page.click('[data-testid=ns-submit]');
  await page.waitForSelector('[data-testid=trust]');
  await page.click('[data-testid=trust-cancel]');
  await page.click('[role=dialog][data-testid=new-session] button:has-text("Cancel")');
  await until('no dialog', async () => (await page.locator('[role=dialog]').count()) === 0);
  assert.equal(await page.locator('[data-testid=session-item][data-session="fourth"]').count(), 0);
});

test('no uncaught errors in the page', () => {
  assert.deepEqual(pageErrors, []);
});
