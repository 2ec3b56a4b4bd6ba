// Signed self-update, offline: a local HTTP server plays GitHub Releases (latest.json and the
// artifact), signed with a key pair made here; the app under test is a copy of the debug build
// (version N, its configured version) and the update is another copy with a newer version
// stamped into it (N+1: debug builds read a version stamp, see src-tauri/src/update.rs), so one
// build gives both. The app runs the way a user runs a plain binary: the update replaces that
// file and the app starts it again.
//
// - endpoint garbage or down: reported once each, however many background checks fail;
// - an older version offered: not installed, not even downloaded;
// - a tampered artifact, one signed with another key, a latest.json whose signature is for
//   another file, and one whose signed version is not the announced one: each refused with a
//   clear message, the binary untouched, N still running;
// - *Skip this version* and *Later* are written to the settings;
// - the real update: offered with its notes and the running programs, downloaded with progress,
//   verified, installed, the app restarts as N+1 and lists the sessions.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startDesktopEnv, launchApp, desktopBinary, fixtureRepo, until, readJson, WEB } from './harness.mjs';

const TAURI = join(WEB, 'node_modules', '.bin', 'tauri');
const CURRENT = '0.1.0'; // src-tauri/tauri.conf.json
const NEXT = '0.2.0';
const NOTES = 'Grove 0.2.0: panes come back faster.';
const STAMP = Buffer.from('GROVE_VERSION_STAMP=');

/** @type {Awaited<ReturnType<typeof startDesktopEnv>>} */ let env;
/** @type {import('node:http').Server} */ let server;
const stray = [];

after(async () => {
  for (const pid of stray) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
  server?.close();
  await env?.stop();
});

const sha = (buf) => createHash('sha256').update(buf).digest('hex');

/** A copy of `src` with `version` stamped in (or none: the configured version), stripped. */
function copyWithVersion(src, dest, version) {
  copyFileSync(src, dest);
  // Debug info is most of a debug build; without it the update is a tenth of the size.
  try {
    execFileSync('strip', ['--strip-debug', dest]);
  } catch {
    // No binutils: the full copy works too, only slower.
  }
  const bytes = readFileSync(dest);
  const at = bytes.indexOf(STAMP);
  assert.ok(at >= 0, 'the debug build carries a version stamp');
  assert.equal(bytes.indexOf(STAMP, at + 1), -1, 'exactly one version stamp');
  if (version) {
    const v = Buffer.from(version);
    v.copy(bytes, at + STAMP.length);
    writeFileSync(dest, bytes);
  }
  chmodSync(dest, 0o755);
  return dest;
}

function keyPair(dir, name) {
  const key = join(dir, `${name}.key`);
  execFileSync(TAURI, ['signer', 'generate', '-w', key, '-p', 'test', '--ci', '-f'], { stdio: 'ignore' });
  return { key, pub: readFileSync(`${key}.pub`, 'utf8').trim() };
}

/** The updater signature (base64 of the minisign file) of `file`, bound to `version`. */
function sign(file, key, version) {
  execFileSync(TAURI, ['signer', 'sign', '-f', key, '-p', 'test', '--app-version', version, file], { stdio: 'ignore' });
  return readFileSync(`${file}.sig`, 'utf8').trim();
}

/** What the update server answers; tests change it between steps. */
const serve = {
  latest: /** @type {(() => { status: number, body: string }) | null} */ (null),
  latestHits: 0,
  artifactHits: 0,
  /** Bytes of the artifact, and a byte to flip on the way (the tampered case). */
  artifact: Buffer.alloc(0),
  flip: -1,
};

function startServer() {
  return new Promise((res) => {
    server = createServer(async (req, rsp) => {
      if (req.url === '/latest.json') {
        serve.latestHits++;
        const { status, body } = serve.latest ? serve.latest() : { status: 404, body: '' };
        if (status === 0) {
          req.socket.destroy(); // the endpoint is down
          return;
        }
        rsp.writeHead(status, { 'Content-Type': 'application/json' });
        rsp.end(body);
      } else if (req.url?.startsWith('/grove-')) {
        serve.artifactHits++;
        const bytes = serve.artifact;
        rsp.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length });
        // In pieces with pauses, so that the download's progress is seen.
        const pieces = 12;
        const size = Math.ceil(bytes.length / pieces);
        for (let i = 0; i < bytes.length; i += size) {
          let piece = bytes.subarray(i, Math.min(bytes.length, i + size));
          if (serve.flip >= i && serve.flip < i + piece.length) {
            piece = Buffer.from(piece);
            piece[serve.flip - i] ^= 0x01;
          }
          if (!rsp.write(piece)) await new Promise((r) => rsp.once('drain', r));
          await new Promise((r) => setTimeout(r, 120));
        }
        rsp.end();
      } else {
        rsp.writeHead(404).end();
      }
    });
    server.listen(0, '127.0.0.1', () => res(server.address().port));
  });
}

/** latest.json as the release workflow writes it (static format, one platform). */
function latest(base, version, signature, file = `grove-${version}`) {
  return JSON.stringify({
    version,
    notes: NOTES,
    pub_date: '2026-12-01T12:00:00Z',
    platforms: { 'linux-x86_64': { signature, url: `${base}/${file}` } },
  });
}

function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

async function messages(app) {
  return app.exec(`return [...document.querySelectorAll('[data-testid=message]')].map((m) => m.textContent)`);
}

async function dialogText(app) {
  return app.exec(`return document.querySelector('[data-testid=update]')?.textContent ?? null`);
}

test('updates: failures said once, older refused, bad signatures refused, a good update installs and restarts as N+1', async (t) => {
  env = await startDesktopEnv();
  const dir = join(env.dir, 'update');
  const appDir = join(env.dir, 'app');
  mkdirSync(dir, { recursive: true });
  mkdirSync(appDir, { recursive: true });
  const port = await startServer();
  const base = `http://127.0.0.1:${port}`;

  const built = desktopBinary();
  const appBin = copyWithVersion(built, join(appDir, 'grove-desktop'), null);
  const next = copyWithVersion(built, join(dir, `grove-${NEXT}`), NEXT);
  const nBytes = readFileSync(appBin);
  const nextBytes = readFileSync(next);
  const good = keyPair(dir, 'release');
  const other = keyPair(dir, 'other');
  const goodSig = sign(next, good.key, NEXT);
  const otherSig = sign(next, other.key, NEXT);
  // A valid signature by the right key, but of another file (version N's binary).
  const nCopy = join(dir, 'n-copy');
  copyFileSync(appBin, nCopy);
  const foreignSig = sign(nCopy, good.key, NEXT);
  // The right file signed for another version than the one announced.
  const older = join(dir, 'as-0.1.5');
  copyFileSync(next, older);
  const mislabeledSig = sign(older, good.key, '0.1.5');
  serve.artifact = nextBytes;

  // The user's settings point the updater at the mirror (plain http: debug builds only).
  const configDir = join(env.env.XDG_CONFIG_HOME, 'dev.grove.desktop');
  const settingsFile = join(configDir, 'desktop.json');
  mkdirSync(configDir, { recursive: true });
  writeFileSync(settingsFile, JSON.stringify({ updates: { endpoint: `${base}/latest.json` } }));
  const extraEnv = { GROVE_UPDATER_PUBKEY: good.pub };

  await t.test('a failing endpoint is reported once per failure; an older version is not installed', async () => {
    serve.latest = () => ({ status: 200, body: '<html>not json</html>' });
    const app = await launchApp(env, { bin: appBin, extraEnv: { ...extraEnv, GROVE_UPDATE_INTERVAL_SECS: '1' } });
    try {
      await app.waitFor('[data-testid=sidebar]');
      await until('three failed checks', () => serve.latestHits >= 3, 30000, 100);
      let said = (await messages(app)).filter((m) => m.includes('Could not check for updates'));
      assert.equal(said.length, 1, JSON.stringify(said));
      assert.match(said[0], /not a valid latest\.json/);
      assert.equal(await dialogText(app), null, 'a background failure opens no dialog');

      serve.latest = () => ({ status: 0, body: '' });
      const hits = serve.latestHits;
      await until('three more failed checks', () => serve.latestHits >= hits + 3, 30000, 100);
      said = (await messages(app)).filter((m) => m.includes('Could not check for updates'));
      if (process.env.GROVE_E2E_VERBOSE) console.error(said);
      assert.equal(said.length, 2, JSON.stringify(said));
      assert.match(said[1], /Could not reach the update server/);

      serve.latest = () => ({ status: 200, body: latest(base, '0.0.9', goodSig) });
      const before = serve.latestHits;
      await until('two checks of the older release', () => serve.latestHits >= before + 2, 30000, 100);
      assert.equal(serve.artifactHits, 0, 'an older release is never downloaded');
      assert.equal(await dialogText(app), null);
      assert.equal(sha(readFileSync(appBin)), sha(nBytes));
    } finally {
      await app.quit();
    }
  });

  await t.test('bad updates are refused with a clear message and N keeps running; the good one installs and restarts as N+1', async () => {
    serve.latest = () => ({ status: 200, body: latest(base, NEXT, goodSig) });
    serve.flip = Math.floor(nextBytes.length / 2);
    const app = await launchApp(env, { bin: appBin, extraEnv });
    let relaunched = null;
    try {
      await app.waitFor('[data-testid=sidebar]');
      const pid = app.pid();
      const api = async (method, path, body) => {
        const { url, token } = JSON.parse(readFileSync(join(env.env.GROVE_DATA_DIR, 'server.json'), 'utf8'));
        const res = await fetch(`${url}/api/v1${path}`, {
          method,
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: body ? JSON.stringify(body) : undefined,
        });
        assert.ok(res.ok, `${method} ${path}: ${res.status}`);
        return res.json();
      };
      const repo = await api('POST', '/repos', { path: fixtureRepo(env.dir) });
      const session = await api('POST', '/sessions', { repo_id: repo.id, name: 'keeps-running', command: 'sh -c "echo before-update; exec cat"' });

      // Offered by the background check, with the notes and the program a restart stops.
      await app.waitFor('[data-testid=update]', 30000);
      let text = await dialogText(app);
      assert.match(text, /Grove 0\.2\.0 is available/);
      assert.match(text, /You have Grove 0\.1\.0/);
      assert.ok(text.includes(NOTES), text);
      assert.match(text, /1 program is running in your sessions.*come back after the restart/s);

      // Skip this version: remembered; a check by hand still shows it; Later: remembered.
      await app.click('[data-testid=update-skip]');
      await until('skip saved', () => readJson(settingsFile).updates?.skipped === NEXT);
      assert.equal(await dialogText(app), null);
      await app.click('[data-testid=update-open]');
      await app.waitFor('[data-testid=update-install]');
      // The periodic check can be turned off and on from the dialog.
      await app.click('[data-testid=update-auto]');
      await until('checks off saved', () => readJson(settingsFile).updates?.check === false);
      await app.click('[data-testid=update-auto]');
      await until('checks on saved', () => readJson(settingsFile).updates?.check === true);
      await app.click('[data-testid=update-later]');
      await until('later saved', () => readJson(settingsFile).updates?.later?.version === NEXT);

      const refused = async (what, expected) => {
        await app.click('[data-testid=update-open]');
        await app.waitFor('[data-testid=update-install]');
        await app.click('[data-testid=update-install]');
        await app.waitFor('[data-testid=update-error]', 60000);
        const error = await app.exec(`return document.querySelector('[data-testid=update-error]').textContent`);
        if (process.env.GROVE_E2E_VERBOSE) console.error(`${what}: ${error}`);
        assert.match(error, expected, what);
        assert.match(error, /Grove 0\.1\.0 keeps running/, what);
        assert.ok(alive(pid), `${what}: N is still running`);
        assert.equal(sha(readFileSync(appBin)), sha(nBytes), `${what}: the binary is untouched`);
        await app.click('[data-testid=update-close]');
      };
      await refused('a flipped byte', /signature does not match Grove's signing key/);
      serve.flip = -1;
      serve.latest = () => ({ status: 200, body: latest(base, NEXT, otherSig) });
      await refused('another key', /signature does not match Grove's signing key/);
      serve.latest = () => ({ status: 200, body: latest(base, NEXT, foreignSig) });
      await refused('the signature of another file', /signature does not match Grove's signing key/);
      serve.latest = () => ({ status: 200, body: latest(base, NEXT, mislabeledSig) });
      await refused('signed for another version', /signed as version 0\.1\.5/);
      // The sessions are as they were.
      assert.equal((await api('GET', '/sessions')).filter((s) => s.id === session.id).length, 1);

      // The real one.
      serve.latest = () => ({ status: 200, body: latest(base, NEXT, goodSig) });
      const oldServer = readJson(join(env.env.GROVE_DATA_DIR, 'server.json')).url;
      await app.click('[data-testid=update-open]');
      await app.waitFor('[data-testid=update-install]');
      await app.click('[data-testid=update-install]');
      const progress = new Set();
      await until(
        'the download to finish',
        async () => {
          const p = await app
            .exec(`return document.querySelector('[data-testid=update-progress-text]')?.textContent ?? document.querySelector('[data-testid=update-installing],[data-testid=update-restarting]')?.textContent ?? null`)
            .catch(() => 'gone');
          if (p?.startsWith('Downloading')) progress.add(p);
          return p === 'gone' || (p && !p.startsWith('Downloading')) || !alive(pid);
        },
        120000,
        30,
      );
      if (process.env.GROVE_E2E_VERBOSE) console.error(`progress: ${[...progress].join(' | ')}`);
      assert.ok(progress.size >= 2, `progress shown: ${[...progress].join(' | ')}`);
      assert.ok([...progress].some((p) => / of .* MB \(\d+ %\)/.test(p)), [...progress].join(' | '));

      // N quits (saving its terminals) and N+1 starts from the same path.
      await until('N to exit', () => !alive(pid), 60000, 50);
      assert.equal(sha(readFileSync(appBin)), sha(nextBytes), 'the binary is N+1');
      relaunched = await until(
        'N+1 to run',
        () => {
          try {
            const out = execFileSync('pgrep', ['-f', `^${appBin}`], { encoding: 'utf8' }).trim();
            const pids = out.split('\n').map(Number).filter((p) => p !== pid && alive(p));
            return pids[0] ?? false;
          } catch {
            return false;
          }
        },
        30000,
        100,
      );
      stray.push(relaunched);
      // N+1 says which version it is, and that it was updated from N.
      await until('N+1 to record its version', () => readJson(settingsFile).updates?.last_version === NEXT, 60000, 100);
      await until('N+1 to serve', () => {
        const f = join(env.env.GROVE_DATA_DIR, 'server.json');
        return existsSync(f) && readJson(f).url !== oldServer;
      }, 60000, 100);
      const sessions = await api('GET', '/sessions');
      const back = sessions.find((s) => s.id === session.id);
      assert.ok(back, `the session is listed after the restart: ${JSON.stringify(sessions.map((s) => s.name))}`);
      assert.equal(back.name, 'keeps-running');
    } finally {
      if (process.env.GROVE_E2E_VERBOSE) console.error(app.log());
      await app.quit();
      if (relaunched && alive(relaunched)) {
        process.kill(relaunched, 'SIGTERM');
        await until('N+1 to exit', () => !alive(relaunched), 20000, 50).catch(() => process.kill(relaunched, 'SIGKILL'));
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
