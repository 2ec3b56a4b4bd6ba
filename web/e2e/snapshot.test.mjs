// End-to-end: attaching a pane draws the server's snapshot of the screen instead of replaying the
// log, and terminal queries get exactly one answer (the server's) while a pane is attached. The
// real server, the real UI, Debian's Chromium; terminal contents are read through xterm's buffer
// (window.__grove), since WebGL paints to a canvas.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { until } from './harness.mjs';
import { useUi } from './page.mjs';

const ui = useUi('snapshot-final');
const { pageErrors, shot, termText, waitForOutput, typeInTerminal, createSession } = ui;
/** @type {import('playwright-core').Page} */ let page;
/** @type {typeof ui.server} */ let server;
before(async () => {
  await ui.start();
  ({ page, server } = ui);
});
after(() => ui.stop());

async function selectSession(name) {
  await page.click(`[data-testid=session-item][data-session="${name}"]`);
  await page.waitForSelector(`[data-testid=session-view][data-session="${name}"] [data-testid=terminal]`);
}

test('sets up a repo and a quiet session', async () => {
  await page.waitForSelector('[data-testid=sidebar]');
  await page.click('[data-testid=add-repo-open]');
  await page.fill('[data-testid=repo-path]', server.repo);
  await page.click('[data-testid=add-repo-submit]');
  await page.waitForSelector('.sidebar .repo:has-text("demo")');
  await createSession('quiet');
});

test('a reloaded page draws its first pane from the state load, and the socket continues it exactly', async () => {
  await typeInTerminal('echo before-$((40+2))');
  await waitForOutput(/^before-42$/m);
  const sockets = [];
  const onSocket = (ws) => sockets.push(ws.url());
  page.on('websocket', onSocket);
  try {
    await page.reload();
    await waitForOutput(/^before-42$/m);
    // One state load brought the screen: the pane's socket resumed at its offset instead of
    // asking for a snapshot of its own.
    const loads = await page.evaluate(() => performance.getEntriesByType('resource').map((r) => new URL(r.name).pathname + new URL(r.name).search));
    assert.ok(loads.includes('/api/v1/state?first_pane=true'), loads.join(' '));
    const terminals = sockets.filter((u) => /\/api\/v1\/terminals\/\d+/.test(u));
    assert.equal(terminals.length, 1, terminals.join(' '));
    assert.match(terminals[0], /\?from=\d+$/);
    // And that screen was parsed before the pane opened, so the pane's first frame drew it.
    const draws = await page.evaluate(() => window.__grove.visibleTerminals().map((id) => window.__grove.firstDraw(id)));
    assert.deepEqual(draws, ['inline']);
    await typeInTerminal('echo after-$((40+3))');
    const text = await waitForOutput(/^after-43$/m);
    // Nothing replayed twice, nothing lost between the screen and the live bytes.
    assert.equal(text.match(/^before-42$/gm)?.length, 1, text);
    assert.equal(text.match(/^after-43$/gm)?.length, 1, text);
    assert.deepEqual(pageErrors, []);
  } finally {
    page.off('websocket', onSocket);
  }
});

test('the first pane draws its screen before xterm has loaded, in the grid xterm then draws it in, and keys typed meanwhile reach the program', async () => {
  await typeInTerminal("clear; printf '\\033[1;31mred-bold\\033[0m plain \\347\\225\\214 \\033[7minv\\033[0m \\033[38;2;1;130;250mrgb\\033[0m\\n'");
  await waitForOutput(/^red-bold plain 界 inv rgb$/m);
  // xterm's chunk is held back until the preview has been looked at (and typed into).
  let release;
  const held = new Promise((r) => (release = r));
  const route = async (r) => {
    await held;
    await r.continue();
  };
  await page.route(/\/assets\/pane-[^/]*\.js$/, route);
  // And the pane's socket, until something has been typed into xterm too.
  let releaseSocket;
  const socketHeld = new Promise((r) => (releaseSocket = r));
  await page.routeWebSocket(/\/api\/v1\/terminals\/\d+/, async (ws) => {
    await socketHeld;
    ws.connectToServer();
  });
  try {
    await page.reload();
    await page.waitForSelector('[data-testid=terminal-preview]');
    await until('the preview drawn', () => page.evaluate(() => performance.getEntriesByName('grove:pane-drawn').length > 0));
    const before = await page.evaluate(() => {
      const el = document.querySelector('[data-testid=terminal-preview]');
      const grid = el.firstElementChild;
      const rows = [...grid.children].filter((r) => r.tagName === 'DIV' && r.style.position !== 'absolute');
      const find = (text) => [...el.querySelectorAll('span')].find((s) => s.textContent === text);
      const style = (text) => {
        const cs = getComputedStyle(find(text));
        return { color: cs.color, bg: cs.backgroundColor, weight: cs.fontWeight };
      };
      const r = grid.getBoundingClientRect();
      const wide = find('界').getBoundingClientRect();
      return {
        text: rows.map((row) => row.textContent.trimEnd()),
        left: r.left,
        top: r.top,
        cellHeight: rows[0].getBoundingClientRect().height,
        cellWidth: wide.width / 2,
        red: style('red-bold'),
        inv: style('inv'),
        rgb: style('rgb'),
        focused: document.activeElement === el,
        live: performance.getEntriesByName('grove:pane-live').length,
        xterm: document.querySelectorAll('[data-testid=terminal] .xterm').length,
      };
    });
    // Drawn with no xterm on the page, styled as xterm draws it: bold red in bright red, inverse
    // swapping the theme's colours, true colour as given.
    assert.equal(before.xterm, 0);
    assert.equal(before.live, 0);
    assert.ok(before.text.includes('red-bold plain 界 inv rgb'), before.text.join('\n'));
    assert.deepEqual(before.red, { color: 'rgb(255, 147, 138)', bg: 'rgba(0, 0, 0, 0)', weight: '700' });
    assert.deepEqual(before.inv, { color: 'rgb(13, 17, 23)', bg: 'rgb(209, 215, 224)', weight: '400' });
    assert.equal(before.rgb.color, 'rgb(1, 130, 250)');
    assert.ok(before.focused, 'the preview has the focus');
    // Typed before xterm is there: kept, and sent once it is.
    await page.keyboard.type('echo typed-$((6*7))');
    await page.keyboard.press('Enter');
    release();
    await until('the preview gone', async () => (await page.locator('[data-testid=terminal-preview]').count()) === 0);
    // Typed into xterm before its socket is open: kept too, after what the preview kept.
    await page.keyboard.type('echo early-$((7*7))');
    await page.keyboard.press('Enter');
    releaseSocket();
    const text = await waitForOutput(/^early-49$/m);
    const after = await page.evaluate(() => {
      const id = window.__grove.visibleTerminals()[0];
      const term = window.__grove.xterm(id);
      const screen = document.querySelector('[data-testid=terminal] .xterm-screen').getBoundingClientRect();
      const cell = term._core._renderService.dimensions.css.cell;
      return {
        left: screen.left,
        top: screen.top,
        cell: { width: cell.width, height: cell.height },
        drawn: performance.getEntriesByName('grove:pane-drawn')[0].startTime,
        live: performance.getEntriesByName('grove:pane-live')[0].startTime,
        focused: document.activeElement === term.textarea,
      };
    });
    // The same grid: xterm's screen starts where the preview's did, with the same cells.
    assert.ok(Math.abs(after.left - before.left) < 0.5 && Math.abs(after.top - before.top) < 0.5, JSON.stringify({ before, after }));
    assert.ok(Math.abs(after.cell.width - before.cellWidth) < 0.01, JSON.stringify({ before, after }));
    assert.ok(Math.abs(after.cell.height - before.cellHeight) < 0.01, JSON.stringify({ before, after }));
    assert.ok(after.drawn < after.live, JSON.stringify(after));
    assert.ok(after.focused, 'xterm has the focus');
    // The rows the preview drew are the rows xterm drew (the typed line came after them).
    const rows = text.split('\n');
    const upTo = before.text.findIndex((l) => l.includes('red-bold'));
    assert.deepEqual(rows.slice(0, upTo + 1), before.text.slice(0, upTo + 1));
    // Both lines reach bash together once the socket opens, so the terminal can echo the second
    // while the first prints: `typed-42` need not be on a line of its own, but comes once.
    assert.equal(text.match(/typed-42/g)?.length, 1, text);
    assert.ok(text.indexOf('typed-42') < text.indexOf('early-49'), text);
    assert.deepEqual(pageErrors, []);
  } finally {
    release();
    releaseSocket();
    await page.unroute(/\/assets\/pane-[^/]*\.js$/, route);
    await page.unrouteAll();
  }
});

/** The visible pane's primed width count, and every width in xterm's cache against xterm's own
 *  measurement of it now (the DOM renderer's). */
async function cachedWidths() {
  return page.evaluate(() => {
    const id = window.__grove.visibleTerminals()[0];
    const wc = window.__grove.xterm(id)._core._renderService._renderer.value._widthCache;
    const cached = [];
    for (let cp = 0; cp < wc._flat.length; cp++) if (wc._flat[cp] > 0) cached.push([String.fromCharCode(cp), 0, wc._flat[cp]]);
    for (const [key, width] of wc._holey) {
      const m = /^(.*?)(B?)(I?)$/su.exec(key);
      cached.push([m[1], (m[2] ? 1 : 0) | (m[3] ? 2 : 0), width]);
    }
    const differ = cached.filter(([c, v, w]) => Math.abs(wc._measure(c, v) - w) > 1e-6);
    return { primed: window.__grove.primedWidths(id), chars: cached.map(([c, v]) => c + v).join(' '), differ };
  });
}

function assertWidths(result) {
  assert.ok(result.primed >= 20, `primed ${result.primed}: ${result.chars}`);
  for (const c of ['p0', 'A0', 'Q1', 'J2', 'K3', '─0', '界0']) assert.ok(result.chars.split(' ').includes(c), `${c} not cached: ${result.chars}`);
  assert.deepEqual(result.differ, []);
}

test('a screen\'s character widths are measured in one layout, and are the widths xterm measures itself', async () => {
  // Regular, bold, italic and bold italic text, box drawing and a wide character on the screen.
  await typeInTerminal("clear; printf 'plain ABC xyz\\n\\033[1mbold Qq\\033[0m \\033[3mitalic Jj\\033[0m \\033[1;3mboth Kk\\033[0m \\342\\224\\200\\342\\224\\202\\342\\224\\274 \\347\\225\\214\\n'");
  await waitForOutput(/Kk ─│┼ 界/);
  // The DOM renderer's cache (a WebGL pane has none); restored after this test.
  await page.evaluate(() => localStorage.setItem('grove.renderer', 'dom'));
  try {
    // The first pane of a page, drawn from the state load.
    await page.reload();
    await waitForOutput(/Kk ─│┼ 界/);
    assertWidths(await cachedWidths());
    // A pane opened later, drawn from its socket's snapshot.
    await createSession('widths');
    await selectSession('quiet');
    await waitForOutput(/Kk ─│┼ 界/);
    assertWidths(await cachedWidths());
    assert.deepEqual(pageErrors, []);
  } finally {
    await page.evaluate(() => localStorage.removeItem('grove.renderer'));
  }
});

test('a cursor position query gets exactly one answer while a pane is attached', async () => {
  // Raw mode, so the replies are read as they come instead of echoed; then count them. The server
  // answers from its screen model; the pane's xterm must not answer as well.
  const script = join(server.dir, 'replies.py');
  writeFileSync(
    script,
    [
      'import os, re, select, sys, termios, time, tty',
      'fd = sys.stdin.fileno()',
      'old = termios.tcgetattr(fd)',
      'tty.setraw(fd)',
      'got = b""',
      'try:',
      '    os.write(1, b"\\x1b[6n")',
      '    end = time.time() + 1.5',
      '    while time.time() < end:',
      '        r, _, _ = select.select([fd], [], [], 0.1)',
      '        if r:',
      '            got += os.read(fd, 1024)',
      'finally:',
      '    termios.tcsetattr(fd, termios.TCSADRAIN, old)',
      'n = len(re.findall(rb"\\x1b\\[\\d+;\\d+R", got))',
      'print("REPLIES=%d %r" % (n, got))',
    ].join('\n') + '\n',
  );
  await selectSession('quiet');
  await typeInTerminal(`python3 ${script}`);
  const text = await waitForOutput(/^REPLIES=\d+/m, 20000);
  const line = /^REPLIES=.*$/m.exec(text)?.[0] ?? '';
  console.log(`# ${line}`);
  assert.match(line, /^REPLIES=1 /, `expected exactly one reply: ${line}`);
});

test('a color set still reaches xterm (only color queries are swallowed)', async () => {
  await selectSession('quiet');
  await typeInTerminal(`printf '\\e]11;#123456\\a'; echo bg-$((5+5))`);
  await waitForOutput(/^bg-10\s*$/m);
  // xterm paints its new default background on the viewport's scrollable element.
  const painted = await until('the background set by OSC 11', () =>
    page.evaluate(() =>
      [...document.querySelectorAll('[data-testid=terminal] .xterm *')].some(
        (el) => el instanceof HTMLElement && el.style.backgroundColor === 'rgb(18, 52, 86)',
      ),
    ), 5000);
  assert.ok(painted);
  await typeInTerminal(`printf '\\e]111\\a'; clear`);
});

test('a freshly opened pane shows the final screen of an 8 MiB flood at once, from a snapshot', async () => {
  await createSession('flood');
  const done = join(server.dir, 'flood-done');
  // Enter the alternate screen, flood it (~8.7 MiB with the PTY's CRLF), then draw a final screen.
  // The alternate-screen switch lies 8 MiB before the end of the log: only a snapshot (not a
  // replay of the log's tail) can bring it back. The flood starts after the pane is hidden.
  await typeInTerminal(
    `sleep 2; printf '\\e[?1049h\\e[H\\e[2J'; seq 1 1100000; ` +
      `printf '\\e[H\\e[2J\\e[1;32mFINAL-SCREEN-ONE\\e[0m\\n\\e[7mFINAL-SCREEN-TWO\\e[0m\\n'; touch ${done}`,
  );
  await selectSession('quiet');
  assert.equal(await page.locator('[data-testid=session-view][data-session="flood"]').count(), 0);
  // Once the file exists, the flood and the final screen were written to the PTY: all but what
  // the kernel still buffers (a few KiB) is in the log, so the pane cannot replay it.
  await until('the flood to finish', () => existsSync(done), 120000, 250);

  const sockets = [];
  const onSocket = (ws) => {
    if (!/\/api\/v1\/terminals\/\d+/.test(ws.url())) return;
    const s = { url: ws.url(), binary: 0, text: 0, hello: null };
    sockets.push(s);
    ws.on('framereceived', ({ payload }) => {
      if (typeof payload === 'string') {
        s.text += payload.length;
        if (!s.hello && payload.includes('"hello"')) s.hello = JSON.parse(payload);
      } else {
        s.binary += payload.length;
      }
    });
  };
  page.on('websocket', onSocket);
  const started = Date.now();
  await selectSession('flood');
  const id = await until('the flood pane', () =>
    page.evaluate(() => window.__grove.visibleTerminals()[0] ?? null));
  await until('the final screen', async () => /^FINAL-SCREEN-TWO\s*$/m.test(await termText(id)), 5000, 25);
  const ms = Date.now() - started;
  // Every byte of that command line has arrived once the prompt bash printed after it shows
  // below the final screen.
  await until('the prompt after the final screen', async () => /^FINAL-SCREEN-TWO\s*\n\S*\$/m.test(await termText(id)));
  page.off('websocket', onSocket);
  await shot('snapshot-flood');

  const socket = sockets.find((s) => s.url.includes(`/terminals/${id}`));
  assert.ok(socket, `no terminal socket seen for ${id}: ${JSON.stringify(sockets.map((s) => s.url))}`);
  console.log(
    `# flood: final screen after ${ms} ms; socket received ${socket.binary} live bytes and ` +
      `${socket.text} bytes of text frames (the log holds ~8.7 MiB)`,
  );
  assert.ok(!socket.url.includes('?'), `the pane attached with a query: ${socket.url}`);
  assert.ok(socket.hello?.snapshot, 'hello carried no snapshot');
  assert.ok(socket.hello.offset > 8_000_000, `hello offset ${socket.hello.offset} is not at the end of the flood`);
  assert.ok(socket.binary + socket.text < 1024 * 1024, 'the pane received more than 1 MiB: the log was replayed');

  const screen = await page.evaluate((id) => {
    const term = window.__grove.xterm(id);
    const buf = term.buffer.active;
    const find = (text) => {
      for (let y = 0; y < buf.length; y++) {
        const line = buf.getLine(y);
        if (line?.translateToString(true) === text) return line;
      }
      return null;
    };
    const one = find('FINAL-SCREEN-ONE')?.getCell(0);
    const two = find('FINAL-SCREEN-TWO')?.getCell(0);
    return {
      type: buf.type,
      oneFg: one?.getFgColor(),
      oneFgPalette: one?.isFgPalette(),
      oneBold: one?.isBold(),
      twoInverse: two?.isInverse(),
      normalText: Array.from({ length: term.buffer.normal.length }, (_, y) =>
        term.buffer.normal.getLine(y)?.translateToString(true) ?? '').join('\n'),
    };
  }, id);
  assert.equal(screen.type, 'alternate', 'the alternate screen was not restored');
  assert.deepEqual(
    { fg: screen.oneFg, palette: screen.oneFgPalette, bold: !!screen.oneBold, inverse: !!screen.twoInverse },
    { fg: 2, palette: true, bold: true, inverse: true },
    'colors and attributes of the final screen',
  );
  // The flood went to the alternate screen, which has no scrollback.
  assert.ok(!/^1099999$/m.test(screen.normalText), 'flood lines in the normal screen');

  // The pane is live after the snapshot: typing still echoes.
  await typeInTerminal('echo after-$((20+22))');
  await waitForOutput(/^after-42\s*$/m);
});

test('no uncaught errors in the page', () => {
  assert.deepEqual(pageErrors, []);
});
