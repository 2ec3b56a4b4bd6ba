// The desktop end-to-end harness: the built grove-desktop binary in Xvfb with its own D-Bus
// session bus, driven through tauri-driver + WebKitWebDriver by a small WebDriver client over
// Node's fetch. Every process started here is ended by its PID.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, existsSync, rmSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fixtureRepo, until, filesContaining, ROOT, WEB } from '../e2e/harness.mjs';

export { fixtureRepo, until, filesContaining, ROOT, WEB };
export const RESULTS = join(WEB, 'test-results', 'desktop');

/** The cargo target dir, as cargo itself resolves it (CARGO_TARGET_DIR, config, or ./target). */
export function targetDir() {
  if (process.env.CARGO_TARGET_DIR) return resolve(ROOT, process.env.CARGO_TARGET_DIR);
  try {
    const meta = JSON.parse(
      execFileSync('cargo', ['metadata', '--no-deps', '--format-version', '1'], { cwd: ROOT, encoding: 'utf8' }),
    );
    return meta.target_directory;
  } catch {
    return join(ROOT, 'target');
  }
}

/** The app binary: GROVE_DESKTOP_BIN, else the debug build (built if missing). */
export function desktopBinary(name = 'grove-desktop', profile = 'debug') {
  if (process.env.GROVE_DESKTOP_BIN && name === 'grove-desktop') return process.env.GROVE_DESKTOP_BIN;
  // The empty window of the benchmarks is an example (so that bundles leave it out).
  const example = name === 'empty_window';
  const bin = join(targetDir(), profile, ...(example ? ['examples', name] : [name]));
  if (!existsSync(bin)) {
    console.error(`building ${name} (cargo build -p grove-desktop) …`);
    const args = ['build', '-q', '-p', 'grove-desktop', example ? '--example' : '--bin', name];
    if (profile !== 'debug') args.push('--profile', profile);
    execFileSync('cargo', args, { cwd: ROOT, stdio: 'inherit' });
  }
  return bin;
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (s.address());
      s.close(() => res(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Ends a child by PID (its process group when it leads one), TERM first, then KILL. */
async function stopChild(child, group = false) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const kill = (sig) => {
    try {
      process.kill(group ? -child.pid : child.pid, sig);
    } catch {
      // Already gone.
    }
  };
  kill('SIGTERM');
  const exited = new Promise((r) => child.once('exit', r));
  if ((await Promise.race([exited.then(() => true), sleep(5000).then(() => false)])) === false) kill('SIGKILL');
}

/** A display and a session bus of our own: Xvfb on a free display number, dbus-daemon. */
export async function startDesktopEnv() {
  const dir = mkdtempSync(join(tmpdir(), 'grove-desktop-e2e-'));
  const children = [];
  let display = null;
  for (let n = 90; n < 140; n++) {
    if (!existsSync(`/tmp/.X11-unix/X${n}`) && !existsSync(`/tmp/.X${n}-lock`)) {
      display = `:${n}`;
      break;
    }
  }
  if (!display) throw new Error('no free X display number in :90..:139');
  const xvfb = spawn('Xvfb', [display, '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
  children.push(xvfb);
  await until('Xvfb', () => existsSync(`/tmp/.X11-unix/X${display.slice(1)}`), 10000, 50);
  const bus = `unix:path=${join(dir, 'bus')}`;
  const dbus = spawn('dbus-daemon', ['--session', '--nofork', `--address=${bus}`], { stdio: 'ignore' });
  children.push(dbus);
  await until('the D-Bus socket', () => existsSync(join(dir, 'bus')), 10000, 50);
  const home = join(dir, 'home');
  mkdirSync(home);
  // A quiet, predictable shell for the sessions.
  writeFileSync(join(home, '.bashrc'), 'PS1="\\W\\$ "\n');
  const env = {
    ...process.env,
    DISPLAY: display,
    DBUS_SESSION_BUS_ADDRESS: bus,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    GROVE_DATA_DIR: join(dir, 'data'),
    SHELL: '/bin/bash',
    TERM: 'xterm-256color',
    GROVE_LOG: process.env.GROVE_LOG ?? 'warn,grove_desktop=info',
    // No accessibility bus: it only adds processes.
    NO_AT_BRIDGE: '1',
    // The test's private bus would start gnome-keyring, which wants to prompt for a new login
    // keyring in the virtual display; the keychain path is tested in the orchestrator's tests.
    GROVE_VAULT_KEYCHAIN: '0',
  };
  delete env.WAYLAND_DISPLAY;
  return {
    dir,
    env,
    async stop() {
      for (const c of children.reverse()) await stopChild(c);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A WebDriver session on the app, through tauri-driver (which starts WebKitWebDriver). */
export async function launchApp(envInfo, { bin = desktopBinary(), args = [], extraEnv = {} } = {}) {
  const port = await freePort();
  const nativePort = await freePort();
  const driverBin = process.env.TAURI_DRIVER ?? 'tauri-driver';
  let log = '';
  const driver = spawn(driverBin, ['--port', String(port), '--native-port', String(nativePort)], {
    env: { ...envInfo.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: WebKitWebDriver and the app end with it
  });
  driver.stdout.on('data', (d) => (log += d));
  driver.stderr.on('data', (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  await until('tauri-driver', async () => (await fetch(`${base}/status`)).ok, 15000, 100);
  const t0 = performance.now();
  const created = await wd(base, 'POST', '/session', {
    capabilities: {
      alwaysMatch: { browserName: 'wry', 'tauri:options': { application: bin, args } },
    },
  });
  const sessionUrl = `${base}/session/${created.sessionId}`;
  const app = {
    log: () => log,
    launchMs: performance.now() - t0,
    /** Runs `script` (a function body; `arguments` holds args) in the page. */
    exec: (script, ...a) => wd(sessionUrl, 'POST', '/execute/sync', { script, args: a }),
    execAsync: (script, ...a) => wd(sessionUrl, 'POST', '/execute/async', { script, args: a }),
    /** Any other WebDriver command of this session (e.g. `POST /window/minimize`). */
    command: (method, path, body) => wd(sessionUrl, method, path, body),
    async find(css) {
      const el = await wd(sessionUrl, 'POST', '/element', { using: 'css selector', value: css });
      return Object.values(el)[0];
    },
    async click(css) {
      // An element that just appeared can be covered for a moment while the page lays out around
      // it (a panel opening, a list re-rendering): WebDriver then refuses the click as
      // intercepted. A person would click again; so does this, for up to 2 s.
      for (let attempt = 0; ; attempt++) {
        const id = await app.find(css);
        try {
          await wd(sessionUrl, 'POST', `/element/${id}/click`, {});
          return;
        } catch (e) {
          if (attempt >= 20 || !/element click intercepted/.test(String(e))) throw e;
          await sleep(100);
        }
      }
    },
    async type(css, text) {
      const id = await app.find(css);
      await wd(sessionUrl, 'POST', `/element/${id}/value`, { text });
    },
    async clear(css) {
      const id = await app.find(css);
      await wd(sessionUrl, 'POST', `/element/${id}/clear`, {});
    },
    async waitFor(css, timeout = 20000) {
      return until(`element ${css}`, () => app.exec(`return !!document.querySelector(arguments[0])`, css), timeout);
    },
    windowHandles: () => wd(sessionUrl, 'GET', '/window/handles'),
    async screenshot(path) {
      const png = await wd(sessionUrl, 'GET', '/screenshot');
      writeFileSync(path, Buffer.from(png, 'base64'));
    },
    /** The app's PID: the child of WebKitWebDriver running `bin`. */
    pid() {
      const out = execFileSync('pgrep', ['-g', String(driver.pid), '-f', `^${bin}`], { encoding: 'utf8' }).trim();
      return Number(out.split('\n')[0]);
    },
    async quit() {
      let pid = null;
      try {
        pid = app.pid();
      } catch {
        // Already gone.
      }
      await wd(sessionUrl, 'DELETE', '').catch(() => {});
      await stopChild(driver, true);
      // The next launch must not meet this one (data dir lock, single-instance name).
      if (pid) {
        await until('the app to exit', () => !existsSync(`/proc/${pid}`), 10000, 50).catch(() => {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // Gone.
          }
        });
      }
    },
  };
  return app;
}

async function wd(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60000),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok || (json.value && json.value.error)) {
    throw new Error(`WebDriver ${method} ${path}: ${res.status} ${JSON.stringify(json.value ?? json).slice(0, 400)}`);
  }
  return json.value;
}

/** Runs the binary directly (a second launch); resolves with its exit code and output. */
export function runOnce(envInfo, bin, args, timeoutMs = 20000) {
  return new Promise((res, rej) => {
    const child = spawn(bin, args, { env: envInfo.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`second launch did not exit in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      res({ code, out });
    });
  });
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** The API of the app's in-process server, through the server file it leaves in the data dir. */
export async function appApi(env, method, path, body) {
  const file = join(env.env.GROVE_DATA_DIR, 'server.json');
  const { url, token } = await until('the server file', () => existsSync(file) && JSON.parse(readFileSync(file, 'utf8')));
  const res = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}
