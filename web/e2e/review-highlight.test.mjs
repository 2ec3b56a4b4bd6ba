// End-to-end: the diff view's syntax highlighting, whose grammars are gzip-compressed JSON assets
// (web/grammar-assets.ts) fetched and inflated in the page. Checks a small diff (highlighted on
// the page), a large one (highlighted in the Web Worker, with grammars the page resolved), a Vue
// file (whose grammar embeds JavaScript, CSS, HTML...), that each grammar asset is fetched once,
// and that a browser without DecompressionStream still shows the diff, without colours.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { until } from './harness.mjs';
import { useUi } from './page.mjs';

const ui = useUi('review-highlight-final');
const { pageErrors, createSession } = ui;
/** @type {import('playwright-core').Page} */ let page;
/** The session's worktree. */ let worktree = '';
/** Paths of the grammar assets the page fetched, in order. */
const grammarRequests = [];

before(async () => {
  await ui.start();
  ({ page } = ui);
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if (path.includes('/grammars/')) grammarRequests.push(path);
  });
  await page.waitForSelector('[data-testid=sidebar]');
  await page.click('[data-testid=add-repo-open]');
  await page.fill('[data-testid=repo-path]', ui.server.repo);
  await page.click('[data-testid=add-repo-submit]');
  await page.waitForSelector('.sidebar .repo:has-text("demo")');
  await createSession('hl');
  worktree = await page.evaluate(() => window.__grove.selectedSession().worktree);
  // Written before the panel opens: its first listing has them.
  writeFileSync(join(worktree, 'small.ts'), 'export const answer: number = 42;\n');
  const big = Array.from({ length: 1500 }, (_, i) => `export const value${i}: number = ${i}; // line ${i}`).join('\n');
  assert.ok(big.length > 20_000, 'the large file must exceed the main-thread limit (render.ts)');
  writeFileSync(join(worktree, 'big.ts'), `${big}\n`);
  writeFileSync(join(worktree, 'comp.vue'), '<template>\n  <p>{{ msg }}</p>\n</template>\n<script>\nconst msg = "hi";\n</script>\n');
  await page.click('[data-testid=review-toggle]');
  await page.waitForSelector('[data-testid=review-panel]');
});
after(() => ui.stop());

const file = (path) => `[data-testid=review-file][data-path="${path}"]`;

async function openFile(path) {
  await page.waitForSelector(file(path), { timeout: 15000 });
  await page.click(`${file(path)} .fname`);
  await until(`the diff of ${path}`, async () => (await page.getAttribute('[data-testid=diff]', 'data-path')) === path, 15000);
}

/** The colour the renderer gave the first token whose text (spaces aside) is `text`, once it has one. */
function tokenColour(text) {
  return until(`a coloured "${text}" token`, () =>
    page.evaluate((text) => {
      const roots = [document];
      for (const el of document.querySelectorAll('[data-testid=diff] *')) if (el.shadowRoot) roots.push(el.shadowRoot);
      for (const root of roots) {
        for (const span of root.querySelectorAll('[data-line] span')) {
          if (span.textContent?.trim() !== text) continue;
          const colour = span.getAttribute('style')?.match(/(?:^|;)\s*color:\s*([^;]+)/)?.[1];
          if (colour) return colour.trim().toLowerCase();
        }
      }
      return null;
    }, text), 20000);
}

test('a small TypeScript diff is highlighted with grammars fetched as .json.gz assets', async () => {
  await openFile('small.ts');
  const keyword = await tokenColour('const');
  const number = await tokenColour('42');
  assert.notEqual(keyword, number);
  assert.ok(grammarRequests.some((p) => /\/grammars\/typescript-[\w-]+\.json\.gz$/.test(p)), grammarRequests.join(' '));
  small.keyword = keyword;
});
const small = { keyword: '' };

test('a large diff is highlighted in the worker with the same colours', async () => {
  await openFile('big.ts');
  assert.equal(await tokenColour('const'), small.keyword);
  // The highlighter's worker is running (the small diff was highlighted on the page).
  assert.ok(page.workers().some((w) => /worker/.test(w.url())), page.workers().map((w) => w.url()).join(' '));
});

test('a Vue file highlights the JavaScript its grammar embeds; each grammar asset is fetched once', async () => {
  await openFile('comp.vue');
  assert.equal(await tokenColour('const'), small.keyword);
  for (const name of ['vue', 'html', 'css', 'javascript']) {
    assert.ok(grammarRequests.some((p) => p.includes(`/grammars/${name}-`)), `${name}: ${grammarRequests.join(' ')}`);
  }
  assert.equal(new Set(grammarRequests).size, grammarRequests.length, grammarRequests.join(' '));
});

test('without DecompressionStream the diff is still drawn, without colours', async () => {
  const plain = await page.context().newPage();
  const requests = [];
  plain.on('request', (r) => {
    if (new URL(r.url()).pathname.includes('/grammars/')) requests.push(r.url());
  });
  const errors = [];
  plain.on('pageerror', (e) => errors.push(String(e)));
  await plain.addInitScript(() => {
    delete globalThis.DecompressionStream;
  });
  try {
    await plain.goto(ui.server.url);
    await plain.click('.sidebar [data-session="hl"], .sidebar :text("hl")').catch(() => {});
    await plain.waitForSelector('[data-testid=review-toggle]');
    if ((await plain.locator('[data-testid=review-panel]').count()) === 0) await plain.click('[data-testid=review-toggle]');
    await plain.waitForSelector(file('small.ts'), { timeout: 15000 });
    await plain.click(`${file('small.ts')} .fname`);
    await until('the plain diff', async () => (await plain.locator('[data-testid=diff] [data-line]', { hasText: 'answer' }).count()) > 0, 15000);
    // Highlighting follows the plain first paint (on the main page, within ≈ 2 s of the click
    // with the grammar fetched): give it time to have happened.
    await new Promise((r) => setTimeout(r, 3000));
    // Highlighted, the line has four colours (keyword, name, number, punctuation); plain, one at most.
    const colours = await plain.evaluate(() => {
      const roots = [document];
      for (const el of document.querySelectorAll('[data-testid=diff] *')) if (el.shadowRoot) roots.push(el.shadowRoot);
      const seen = new Set();
      for (const r of roots) {
        for (const s of r.querySelectorAll('[data-line] span')) {
          const c = s.getAttribute('style')?.match(/(?:^|;)\s*color:\s*([^;]+)/)?.[1];
          if (c) seen.add(c.trim().toLowerCase());
        }
      }
      return [...seen];
    });
    assert.ok(colours.length <= 1, colours.join(' '));
    assert.deepEqual(requests, []);
    assert.deepEqual(errors, []);
  } finally {
    await plain.close();
  }
});

test('no uncaught errors in the page', () => {
  assert.deepEqual(pageErrors, []);
});
