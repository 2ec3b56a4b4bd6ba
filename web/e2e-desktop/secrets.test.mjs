// The vault in the desktop app: created with a passphrase and a secret set through the window's
// password field (WebKitGTK), then the app quits and every file it and its WebKit processes
// wrote (the data dir, and WebKit's data, cache and config under the test's own HOME) is
// searched for the value: it must be nowhere, and neither in the app's environment.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDesktopEnv, launchApp, appApi, filesContaining } from './harness.mjs';

/** @type {Awaited<ReturnType<typeof startDesktopEnv>>} */ let env;
/** @type {Awaited<ReturnType<typeof launchApp>>} */ let app;

const PASS = 'desktop e2e passphrase';
const CANARY = 'sk-desktop-canary-7f3e19a0c4d2';

before(async () => {
  env = await startDesktopEnv();
  app = await launchApp(env);
  await app.waitFor('[data-testid=sidebar]');
});

after(async () => {
  await app?.quit();
  await env?.stop();
});

test('a secret typed into the window is kept only in the vault, never in WebKit or the data dir', async () => {
  await app.click('[data-testid=secrets-open]');
  await app.waitFor('[role=dialog][data-testid=secrets]');
  await app.type('[data-testid=vault-passphrase]', PASS);
  await app.type('[data-testid=vault-passphrase-again]', PASS);
  await app.click('[data-testid=vault-unlock-submit]');
  await app.waitFor('[data-testid=secret-list]');
  await app.type('[data-testid=secret-name]', 'DESKTOP_KEY');
  await app.type('[data-testid=secret-value]', CANARY);
  await app.click('[data-testid=secret-set]');
  await app.waitFor('[data-testid=secret][data-name=DESKTOP_KEY]');
  const listed = await appApi(env, 'GET', '/secrets');
  assert.deepEqual(listed.map((s) => s.name), ['DESKTOP_KEY']);
  assert.ok(!JSON.stringify(listed).includes(CANARY), 'the API never returns the value');
  // The server's token, handed to the page at load: kept in memory only, like the secret.
  const { token } = JSON.parse(readFileSync(join(env.env.GROVE_DATA_DIR, 'server.json'), 'utf8'));
  const environ = readFileSync(`/proc/${app.pid()}/environ`);
  assert.ok(!environ.includes(CANARY), 'not in the app process environment');
  await app.quit();
  app = undefined;
  // The vault file holds it, encrypted: the search would find a plain copy anywhere else.
  const seen = [];
  const hits = filesContaining(env.dir, CANARY, seen);
  assert.deepEqual(hits, [], `the secret in plain text in ${hits.join(', ')}`);
  assert.ok(seen.some((p) => /webkit/i.test(p)), `WebKit's own files were searched too: ${seen.length} paths`);
  // The server file (removed as the app quits) is the token's only place on disk.
  const tokenHits = filesContaining(env.dir, token).filter((p) => !p.endsWith('server.json'));
  assert.deepEqual(tokenHits, [], `the server's token in ${tokenHits.join(', ')}`);
  const vault = filesContaining(env.dir, 'DESKTOP_KEY').filter((p) => p.endsWith('vault.stronghold'));
  assert.equal(vault.length, 0, 'even the secret name is encrypted in the snapshot');
});
