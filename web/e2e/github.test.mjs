// End-to-end: GitHub from the UI, against the GitHub stand-in (GitHub's wire format, and a real
// bare repository behind `git http-backend` that wants the token to push). Sign in with the
// device flow in the UI, commit, open a pull request from the UI (push + create in one action),
// follow its checks pending → failing → passing on the sidebar badge, a rejected push forced with
// lease, a pull request opened on "GitHub" linked rather than duplicated, and a revoked token
// that puts the UI in its signed-out state with a Sign in button while every session stays.
// The real server, the real stand-in, the real UI, Chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStandin, until } from './harness.mjs';
import { useUi } from './page.mjs';

/** @type {Awaited<ReturnType<typeof startStandin>>} */ let standin;
let bare = '';
const ui = useUi('github-final', async () => {
  standin = await startStandin();
  return {
    env: standin.env,
    args: ['--github-poll-ms', '300'],
    prepare: async (repo) => {
      bare = (await standin.publish(repo)).path;
    },
  };
});
/** @type {import('playwright-core').Page} */ let page;
/** @type {typeof ui.server} */ let server;

const PASS = 'e2e github passphrase';
const USER_TOKEN = 'gho_e2e_user_token_3b7d21f0a9';
const OTHER_TOKEN = 'gho_e2e_website_token_c41e55';

before(async () => {
  await ui.start();
  ({ page, server } = ui);
  await server.api('POST', '/vault/unlock', { passphrase: PASS });
  await server.api('POST', '/repos', { path: server.repo });
  await page.waitForSelector('[data-testid=repo][data-repo=demo]');
});
after(async () => {
  await ui.stop();
  await standin?.stop();
});

const git = (cwd, ...args) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** The session named `name`, as the server has it. */
async function sessionNamed(name) {
  const list = await server.api('GET', '/sessions');
  const s = list.find((x) => x.name === name);
  assert.ok(s, `no session ${name}`);
  return s;
}

/** A file committed in the session's worktree (with the git CLI, like an agent would). */
async function commitIn(name, file, message) {
  const s = await sessionNamed(name);
  writeFileSync(join(s.worktree, file), `${message}\n`);
  git(s.worktree, 'add', '.');
  git(s.worktree, '-c', 'user.name=Agent', '-c', 'user.email=agent@grove.invalid', 'commit', '-q', '-m', message);
  return { ...s, head: git(s.worktree, 'rev-parse', 'HEAD') };
}

async function closeDialogs() {
  await page.keyboard.press('Escape');
  await until('the dialogs to close', async () => (await page.locator('[role=dialog][aria-modal=true]').count()) === 0);
}

const sidebarBadge = (name) => `[data-testid=session-item][data-session="${name}"] [data-testid=pull-badge]`;

test('signs in with the device flow from the UI', async () => {
  await page.waitForSelector('[data-testid=github-open][data-signed-in=false]');
  await page.click('[data-testid=github-open]');
  await page.waitForSelector('[role=dialog][data-testid=github]');
  // The scopes asked for are shown before sign-in; opting in to workflows adds one.
  assert.match(await page.textContent('[data-testid=github-scopes]'), /repo/);
  assert.doesNotMatch(await page.textContent('[data-testid=github-scopes]'), /workflow/);
  await page.check('[data-testid=github-workflow]');
  assert.match(await page.textContent('[data-testid=github-scopes]'), /workflow/);
  await page.uncheck('[data-testid=github-workflow]');

  await page.click('[data-testid=github-signin]');
  const code = (await (await page.waitForSelector('[data-testid=device-code]')).textContent()).trim();
  assert.match(code, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
  assert.equal(await page.getAttribute('[data-testid=device-url]', 'href'), `${standin.url}/login/device`);
  // The code's lifetime, in minutes (the server's `expires_at` is in Unix seconds).
  assert.match(await page.textContent('[data-testid=device-waiting]'), /works for \d{1,2} min more/);
  await ui.shot('github-device-code');
  // The user types the code at GitHub and approves.
  assert.deepEqual(await standin.admin('GET', '/device/pending'), [code]);
  await standin.admin('POST', '/device/approve', { user_code: code, login: 'octo', scopes: ['repo'] });
  const account = await page.waitForSelector('[data-testid=github-account][data-login=octo]', { timeout: 20000 });
  assert.match(await account.textContent(), /^Signed in to \S+ as octo \(repo\)$/);
  await closeDialogs();
  await page.waitForSelector('[data-testid=github-open][data-signed-in=true]');
});

test('creates a pull request from the UI: push and create in one action', async () => {
  await ui.createSession('feature');
  const s = await commitIn('feature', 'feature.txt', 'Add the feature');
  await page.click('[data-testid=create-pull]');
  await page.waitForSelector('[role=dialog][data-testid=pull-dialog]');
  // Prefilled from the one commit; the base is the session's.
  await until('the prefilled title', async () => (await page.inputValue('[data-testid=pull-title]')) === 'Add the feature');
  assert.equal(await page.inputValue('[data-testid=pull-base]'), 'main');
  await page.fill('[data-testid=pull-body]', 'Made by an agent in Grove.');
  await ui.shot('github-pull-dialog');
  await page.click('[data-testid=pull-submit]');
  await until('the dialog to close', async () => (await page.locator('[data-testid=pull-dialog]').count()) === 0, 30000);
  assert.match(await page.textContent('[data-testid=push-done]'), /Opened pull request #1/);
  // The branch is on "GitHub", at the session's commit.
  assert.equal(git(bare, 'rev-parse', `refs/heads/${s.branch}`), s.head);
  await page.waitForSelector('[data-testid=session-view] [data-testid=pull-badge][data-state=open]');
  await page.waitForSelector(`${sidebarBadge('feature')}[data-state=open][data-checks=none]`);
});

test('checks pending → failing → passing on the sidebar badge, with links in the header', async () => {
  const s = await sessionNamed('feature');
  const head = git(s.worktree, 'rev-parse', 'HEAD');
  for (const [state, shown] of [['pending', 'pending'], ['failure', 'failing'], ['success', 'passing']]) {
    await standin.admin('POST', '/status', {
      owner: 'octo', repo: 'demo', sha: head, context: 'ci/test', state, target_url: 'https://ci.example/run/1',
    });
    await page.waitForSelector(`${sidebarBadge('feature')}[data-checks=${shown}]`, { timeout: 20000 });
    if (shown === 'failing') await ui.shot('github-checks-failing');
  }
  await page.click('[data-testid=pull-open]');
  const check = await page.waitForSelector('[data-testid=pull-check][data-state=passing]');
  assert.equal(await (await check.$('a')).getAttribute('href'), 'https://ci.example/run/1');
  assert.match(await page.getAttribute('[data-testid=pull-link]', 'href'), /\/octo\/demo\/pull\/1$/);
  await ui.shot('github-checks-popover');
  await page.keyboard.press('Escape');
  await until('the popover to close', async () => (await page.locator('[data-testid=pull-popover]').count()) === 0);
});

test('a rejected push offers force with lease; a pull request opened on GitHub is linked, not duplicated', async () => {
  await ui.createSession('second');
  const first = await commitIn('second', 'second.txt', 'Second change');
  await page.click('[data-testid=push]');
  await until('the push', async () => /Pushed/.test((await page.textContent('[data-testid=push-done]').catch(() => '')) ?? ''), 30000);
  assert.equal(git(bare, 'rev-parse', `refs/heads/${first.branch}`), first.head);

  // Rewritten history: the push is refused, and forcing is an explicit second step.
  git(first.worktree, '-c', 'user.name=Agent', '-c', 'user.email=agent@grove.invalid', 'commit', '-q', '--amend', '-m', 'Second change, reworded');
  const amended = git(first.worktree, 'rev-parse', 'HEAD');
  await page.click('[data-testid=push]');
  await page.waitForSelector('[data-testid=push-error][data-code=push_rejected]', { timeout: 30000 });
  assert.equal(git(bare, 'rev-parse', `refs/heads/${first.branch}`), first.head, 'nothing forced yet');
  await ui.shot('github-push-rejected');
  await page.click('[data-testid=push-force]');
  await until('the forced push', async () => /force-with-lease/.test((await page.textContent('[data-testid=push-done]').catch(() => '')) ?? ''), 30000);
  assert.equal(git(bare, 'rev-parse', `refs/heads/${first.branch}`), amended);

  // Someone opens the pull request on the GitHub website; Grove does not know it yet.
  await standin.admin('POST', '/tokens', { token: OTHER_TOKEN, login: 'octo', scopes: ['repo'] });
  const res = await fetch(`${standin.apiUrl}/repos/octo/demo/pulls`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${OTHER_TOKEN}`, 'User-Agent': 'e2e', 'Content-Type': 'application/json', Accept: 'application/vnd.github+json' },
    body: JSON.stringify({ title: 'Opened on the website', head: first.branch, base: 'main' }),
  });
  const answer = await res.text();
  assert.equal(res.status, 201, answer);
  const made = JSON.parse(answer);
  await page.click('[data-testid=create-pull]');
  await until('the prefilled title', async () => (await page.inputValue('[data-testid=pull-title]')) === 'Second change, reworded');
  await page.click('[data-testid=pull-submit]');
  await until('the dialog to close', async () => (await page.locator('[data-testid=pull-dialog]').count()) === 0, 30000);
  assert.match(await page.textContent('[data-testid=push-done]'), new RegExp(`A pull request already exists — linked #${made.number}`));
  await page.waitForSelector(`${sidebarBadge('second')}[data-state=open]`);
  const pulls = await (await fetch(`${standin.apiUrl}/repos/octo/demo/pulls?state=all`, {
    headers: { Authorization: `Bearer ${OTHER_TOKEN}`, 'User-Agent': 'e2e' },
  })).json();
  assert.equal(pulls.length, 2, 'no duplicate pull request');
});

test('a revoked token signs the UI out with a Sign in button; the sessions stay', async () => {
  // Switch to a token the test knows (pasted in the dialog), so it can revoke it on "GitHub".
  await standin.admin('POST', '/tokens', { token: USER_TOKEN, login: 'octo', scopes: ['repo'] });
  await page.click('[data-testid=github-open]');
  await page.click('[data-testid=github-signout]');
  await page.waitForSelector('[data-testid=github-signin]');
  await page.click('[data-testid=github-token-toggle]');
  await page.fill('[data-testid=github-token]', USER_TOKEN);
  await page.click('[data-testid=github-token-submit]');
  await page.waitForSelector('[data-testid=github-account][data-login=octo]');
  assert.equal(await page.locator('[data-testid=github-token]').count(), 0, 'the token field is gone once signed in');
  assert.ok(!(await page.content()).includes(USER_TOKEN), 'the token is nowhere in the page');
  await closeDialogs();

  await standin.admin('DELETE', `/tokens/${USER_TOKEN}`);
  // The next check of the open pull requests gets 401: signed out, said once, nothing lost.
  await page.waitForSelector('[data-testid=github-open][data-signed-in=false]', { timeout: 20000 });
  assert.equal((await page.textContent('[data-testid=github-open]')).trim(), 'Sign in to GitHub');
  await page.click('[data-testid=github-open]');
  assert.match(await page.textContent('[data-testid=github-problem]'), /rejected the token/);
  await page.waitForSelector('[data-testid=github-signin]');
  await ui.shot('github-signed-out');
  await closeDialogs();
  for (const name of ['feature', 'second']) {
    await page.waitForSelector(`[data-testid=session-item][data-session="${name}"]`);
    await page.waitForSelector(sidebarBadge(name));
  }
  // A GitHub action now says to sign in, and offers it.
  await page.click('[data-testid=session-item][data-session=feature]');
  await page.click('[data-testid=push]');
  await page.waitForSelector('[data-testid=push-error][data-code=github_signed_out]', { timeout: 30000 });
  await page.click('[data-testid=push-signin]');
  await page.waitForSelector('[role=dialog][data-testid=github] [data-testid=github-signin]');
  await closeDialogs();
  assert.deepEqual(ui.pageErrors, []);
});
