// End-to-end: the vault through the UI. Created with a passphrase, a secret set in a password
// field, listed by name only, exposed to the repo's terminals (a session sees it, as a hash, in
// its environment), the unlock prompt when a locked vault holds a session back, and delete. The
// canary value is then looked for in every file of the data dir and of Chromium's profile, and
// in the server's own environment: it must be nowhere. The real server, the real UI, Chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { filesContaining, until } from './harness.mjs';
import { useUi } from './page.mjs';

const ui = useUi('secrets-final');
const { pageErrors, shot, waitForOutput, typeInTerminal } = ui;
/** @type {import('playwright-core').Page} */ let page;
/** @type {typeof ui.server} */ let server;
before(async () => {
  await ui.start();
  ({ page, server } = ui);
});
after(() => ui.stop());

const PASS = 'e2e vault passphrase';
const CANARY = 'sk-e2e-canary-51d0c7a9e3b2';
const hash16 = createHash('sha256').update(CANARY).digest('hex').slice(0, 16);

async function openSecrets() {
  await page.click('[data-testid=secrets-open]');
  await page.waitForSelector('[role=dialog][data-testid=secrets]');
}

async function closeDialogs() {
  await page.keyboard.press('Escape');
  await until('the dialogs to close', async () => (await page.locator('[role=dialog]').count()) === 0);
}

test('creates the vault, sets a secret and exposes it to the repo', async () => {
  await page.waitForSelector('[data-testid=sidebar]');
  await page.click('[data-testid=add-repo-open]');
  await page.fill('[data-testid=repo-path]', server.repo);
  await page.click('[data-testid=add-repo-submit]');
  await page.waitForSelector('[data-testid=repo][data-repo=demo]');
  await page.waitForSelector('[data-testid=secrets-open][data-vault=uninitialized]');

  await openSecrets();
  await page.fill('[data-testid=vault-passphrase]', PASS);
  await page.fill('[data-testid=vault-passphrase-again]', PASS);
  await page.click('[data-testid=vault-unlock-submit]');
  await page.waitForSelector('[data-testid=secret-list]');

  await page.fill('[data-testid=secret-name]', 'E2E_KEY');
  await page.fill('[data-testid=secret-value]', CANARY);
  await page.click('[data-testid=secret-set]');
  await page.waitForSelector('[data-testid=secret][data-name=E2E_KEY]');
  assert.equal(await page.inputValue('[data-testid=secret-value]'), '', 'the value field is cleared');
  assert.ok(!(await page.content()).includes(CANARY), 'the value is nowhere in the page');

  await page.selectOption('[data-testid=expose-secret]', 'E2E_KEY');
  await page.selectOption('[data-testid=expose-repo]', { label: 'demo' });
  await page.fill('[data-testid=expose-var]', 'MYKEY');
  await page.click('[data-testid=expose-submit]');
  await page.waitForSelector('[data-testid=exposure][data-repo=demo][data-var=MYKEY]');
  await shot('secrets-dialog');
  await closeDialogs();
});

test("a session of the repo gets the secret in its environment", async () => {
  await ui.createSession('with-key');
  await typeInTerminal('printf "%s" "$MYKEY" | sha256sum | cut -c1-16');
  await waitForOutput(new RegExp(`^${hash16}$`, 'm'));
});

test('a typed command that holds a key gets a warning', async () => {
  await page.click('[data-testid=new-session]');
  await page.selectOption('[data-testid=ns-agent]', '__custom');
  await page.fill('[data-testid=ns-command]', 'OPENAI_API_KEY=sk-abcdefghijklmnopqrstuv codex');
  await page.waitForSelector('[data-testid=ns-key-warning]');
  await page.fill('[data-testid=ns-command]', 'codex');
  await until('the warning to go', async () => (await page.locator('[data-testid=ns-key-warning]').count()) === 0);
  await closeDialogs();
});

test('locked: starting a session of the repo asks for the passphrase, then starts', async () => {
  await openSecrets();
  await page.click('[data-testid=vault-lock]');
  await page.waitForSelector('[data-testid=vault-unlock]');
  await closeDialogs();
  await page.waitForSelector('[data-testid=secrets-open][data-vault=locked]');

  await page.click('[data-testid=new-session]');
  await page.fill('[data-testid=ns-name]', 'after-unlock');
  await page.selectOption('[data-testid=ns-agent]', '__custom');
  await page.fill('[data-testid=ns-command]', 'bash');
  await page.click('[data-testid=ns-submit]');
  // The unlock prompt opens over the new-session dialog.
  await page.waitForSelector('[role=dialog][data-testid=secrets] [data-testid=vault-unlock]');
  await shot('secrets-unlock-prompt');
  await page.fill('[data-testid=vault-passphrase]', 'not the passphrase');
  await page.click('[data-testid=vault-unlock-submit]');
  await until('the wrong passphrase to be refused', async () =>
    (await page.locator('[data-testid=secrets] [data-testid=form-error]').textContent())?.includes('wrong passphrase'));
  await page.fill('[data-testid=vault-passphrase]', PASS);
  await page.click('[data-testid=vault-unlock-submit]');
  await until('the prompt to close', async () => (await page.locator('[data-testid=secrets]').count()) === 0);
  await page.click('[data-testid=ns-submit]');
  await page.waitForSelector('[data-testid=session-view][data-session="after-unlock"]', { timeout: 30000 });
  await waitForOutput(/\$ ?$/m);
  await typeInTerminal('printf "%s" "$MYKEY" | sha256sum | cut -c1-16');
  await waitForOutput(new RegExp(`^${hash16}$`, 'm'));
});

test('deletes the secret; the value is in no file, profile or server environment', async () => {
  await openSecrets();
  await page.click('[data-testid=secret][data-name=E2E_KEY] [data-testid=secret-delete]');
  await until('the secret to go', async () => (await page.locator('[data-testid=secret]').count()) === 0);
  await closeDialogs();

  const dataHits = filesContaining(join(server.dir, 'data'), CANARY);
  assert.deepEqual(dataHits, [], 'no file of the data dir holds the value');
  const profileHits = filesContaining(ui.profile, CANARY);
  assert.deepEqual(profileHits, [], "no file of Chromium's profile holds the value");
  const environ = readFileSync(`/proc/${server.child.pid}/environ`);
  assert.ok(!environ.includes(CANARY), "the server's environment does not hold the value");
  assert.ok(!server.stderr().includes(CANARY), "the server's log does not hold the value");
  assert.deepEqual(pageErrors, []);
});
