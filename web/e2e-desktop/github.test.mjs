// GitHub's browser sign-in in the desktop app, against the GitHub stand-in: "Sign in with
// GitHub" opens the authorize page with the program in GROVE_BROWSER (here a script that writes
// down the URL it was given); that page redirects to grove://auth/callback with the code and the
// state; a second launch of the app carrying that link forwards it to the running instance
// (single instance), which checks the state and exchanges the code with its PKCE verifier and
// the client secret (both checked by the stand-in). The window then shows the account.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDesktopEnv, launchApp, appApi, desktopBinary, runOnce, until, RESULTS } from './harness.mjs';
import { startStandin } from '../e2e/harness.mjs';

/** @type {Awaited<ReturnType<typeof startDesktopEnv>>} */ let env;
/** @type {Awaited<ReturnType<typeof launchApp>>} */ let app;
/** @type {Awaited<ReturnType<typeof startStandin>>} */ let standin;
let opened = '';

before(async () => {
  mkdirSync(RESULTS, { recursive: true });
  env = await startDesktopEnv();
  standin = await startStandin();
  opened = join(env.dir, 'browser-opened.txt');
  const browser = join(env.dir, 'browser.sh');
  writeFileSync(browser, `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`);
  chmodSync(browser, 0o755);
  // Everything the app and its second launch see: the stand-in's endpoints and OAuth app.
  Object.assign(env.env, standin.env, { GROVE_BROWSER: browser });
  app = await launchApp(env);
  await app.waitFor('[data-testid=sidebar]');
});

after(async () => {
  if (app) await app.screenshot(join(RESULTS, 'github-final.png')).catch(() => {});
  await app?.quit();
  await env?.stop();
  await standin?.stop();
});

test('signs in through the browser and the grove:// callback forwarded by a second launch', async () => {
  await appApi(env, 'POST', '/vault/unlock', { passphrase: 'desktop github passphrase' });
  await app.waitFor('[data-testid=github-open][data-signed-in=false]');
  await app.click('[data-testid=github-open]');
  // This build has the client secret: the browser flow is the main button, the device code the fallback.
  await app.waitFor('[role=dialog][data-testid=github] [data-testid=github-signin-device]');
  await app.click('[data-testid=github-signin]');
  const url = await until('the browser to be opened', () => existsSync(opened) && readFileSync(opened, 'utf8'), 20000);
  assert.ok(url.startsWith(`${standin.url}/login/oauth/authorize?`), url);
  const q = new URL(url).searchParams;
  assert.equal(q.get('code_challenge_method'), 'S256');
  assert.equal(q.get('redirect_uri'), 'grove://auth/callback');
  await app.waitFor('[data-testid=browser-waiting]');

  // "GitHub" signs the user in and redirects to the app's URL scheme.
  const res = await fetch(url, { redirect: 'manual', headers: { 'User-Agent': 'grove-e2e' } });
  assert.equal(res.status, 302, await res.text());
  const location = res.headers.get('location') ?? '';
  assert.match(location, /^grove:\/\/auth\/callback\?/);
  const r = await runOnce(env, desktopBinary(), [location]);
  assert.equal(r.code, 0, r.out);
  assert.ok(!r.out.includes(new URL(location).searchParams.get('code') ?? '\0'), 'the code is not logged');

  await app.waitFor('[data-testid=github-account][data-login=octocat]', 30000);
  const text = await app.exec(`return document.querySelector('[data-testid=github-account]').textContent`);
  assert.match(text, /Signed in to \S+ as octocat/);
  const status = await appApi(env, 'GET', '/github');
  assert.equal(status.login, 'octocat');
  await app.screenshot(join(RESULTS, 'github-signed-in.png'));
});
