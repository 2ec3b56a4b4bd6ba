// The UI of a test file: `grove serve` and Chromium on its page (`start` in the file's `before`,
// `stop` in its `after`), page errors collected, and helpers that read and type into the visible
// terminal through xterm's buffer (window.__grove), since WebGL paints to a canvas.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, startBrowser, until, RESULTS } from './harness.mjs';

/** The UI handle; `page` and `server` are set by `start()`, and `stop()` takes a last screenshot
 *  named `finalShot`. */
export function useUi(finalShot, serverOptions = undefined) {
  const ui = {
    /** @type {Awaited<ReturnType<typeof startServer>>} */ server: null,
    /** @type {import('playwright-core').Page} */ page: null,
    /** Chromium's profile dir (its storage), set by `start()`. */
    profile: '',
    /** Uncaught page errors and console errors (refused requests aside). */
    pageErrors: [],
    shot: (name) => ui.page.screenshot({ path: join(RESULTS, `${name}.png`) }),
    visibleTerminal: () =>
      until('a visible terminal', () => ui.page.evaluate(() => window.__grove.visibleTerminals()[0] ?? null)),
    termText: (id) => ui.page.evaluate((id) => window.__grove.terminalText(id) ?? '', id),
    waitForOutput: (re, timeout = 20000) =>
      until(`terminal output ${re}`, async () => {
        const text = await ui.termText(await ui.visibleTerminal());
        return re.test(text) ? text : null;
      }, timeout),
    async typeInTerminal(line) {
      await ui.page.locator('[data-testid=terminal] .xterm').first().click();
      await ui.page.keyboard.type(line);
      await ui.page.keyboard.press('Enter');
    },
    /** A session running bash, made through the new-session dialog; returns once its prompt shows. */
    async createSession(name) {
      const page = ui.page;
      await page.click('[data-testid=new-session]');
      await page.fill('[data-testid=ns-name]', name);
      await page.selectOption('[data-testid=ns-agent]', '__custom');
      await page.fill('[data-testid=ns-command]', 'bash');
      await page.click('[data-testid=ns-submit]');
      await page.waitForSelector(`[data-testid=session-view][data-session="${name}"]`, { timeout: 30000 });
      await until('the new-session dialog to close', async () => (await page.locator('[role=dialog]').count()) === 0);
      // The shell is up once it printed its prompt.
      await ui.waitForOutput(/\$ /);
    },
  };
  /** @type {Awaited<ReturnType<typeof startBrowser>>} */ let chrome;
  ui.start = async () => {
    mkdirSync(RESULTS, { recursive: true });
    ui.server = await startServer(typeof serverOptions === 'function' ? await serverOptions() : serverOptions);
    chrome = await startBrowser();
    ui.profile = chrome.profile;
    ui.page = chrome.context.pages()[0] ?? (await chrome.context.newPage());
    ui.page.on('pageerror', (e) => ui.pageErrors.push(String(e)));
    ui.page.on('console', (m) => {
      // Refused requests (409 on archive) are expected; the browser logs every non-2xx response.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) ui.pageErrors.push(m.text());
    });
    await ui.page.goto(ui.server.url);
  };
  ui.stop = async () => {
    if (ui.page) await ui.page.screenshot({ path: join(RESULTS, `${finalShot}.png`) }).catch(() => {});
    await chrome?.stop();
    await ui.server?.stop();
  };
  return ui;
}
