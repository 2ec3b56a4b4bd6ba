// The review panel in the desktop app (WebKitGTK, tauri://): a file written in a session's
// worktree is listed live, and its diff is syntax highlighted — the grammar is one of the
// gzip-compressed JSON assets the page fetches from its own origin and inflates with
// DecompressionStream, both of which must work inside the app's webview and its CSP.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDesktopEnv, launchApp, fixtureRepo, until, appApi } from './harness.mjs';

/** @type {Awaited<ReturnType<typeof startDesktopEnv>>} */ let env;
/** @type {Awaited<ReturnType<typeof launchApp>>} */ let app;
let worktree = '';

before(async () => {
  env = await startDesktopEnv();
  app = await launchApp(env);
  await app.waitFor('[data-testid=sidebar]');
  const repoId = (await appApi(env, 'POST', '/repos', { path: fixtureRepo(env.dir) })).id;
  const s = await appApi(env, 'POST', '/sessions', { repo_id: repoId, name: 'rev', command: 'cat' });
  worktree = s.worktree;
  const item = '[data-testid=session-item][data-session="rev"]';
  await app.waitFor(item);
  await app.click(item);
});

after(async () => {
  await app?.quit();
  await env?.stop();
});

/** The colour given to the first diff token whose text is `text`, or null. */
const tokenColour = (text) =>
  app.exec(
    `const text = arguments[0];
     const roots = [document];
     for (const el of document.querySelectorAll('[data-testid=diff] *')) if (el.shadowRoot) roots.push(el.shadowRoot);
     for (const root of roots) {
       for (const span of root.querySelectorAll('[data-line] span')) {
         if (span.textContent?.trim() !== text) continue;
         const m = span.getAttribute('style')?.match(/(?:^|;)\\s*color:\\s*([^;]+)/);
         if (m) return m[1].trim().toLowerCase();
       }
     }
     return null;`,
    text,
  );

test('a file written in the worktree is listed live and its diff is highlighted', async () => {
  await app.click('[data-testid=review-toggle]');
  await app.waitFor('[data-testid=review-panel]');
  writeFileSync(join(worktree, 'small.ts'), 'export const answer: number = 42;\n');
  const row = '[data-testid=review-file][data-path="small.ts"]';
  await app.waitFor(row);
  await app.click(`${row} .fname`);
  await until('the diff of small.ts', async () =>
    (await app.exec(`return document.querySelector('[data-testid=diff]')?.getAttribute('data-path')`)) === 'small.ts');
  let keyword = null;
  await until('a highlighted keyword', async () => (keyword = await tokenColour('const')) !== null, 20000);
  const number = await tokenColour('42');
  assert.ok(number, 'the number is coloured too');
  assert.notEqual(keyword, number, 'a keyword and a number get different colours');
});
