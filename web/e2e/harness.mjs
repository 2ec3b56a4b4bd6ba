// Shared pieces of the end-to-end suite and the browser benchmarks: a `grove serve` on a temp
// data dir with a fixture repo made with the git CLI, and Debian's Chromium driven by
// playwright-core (no browser download).

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = resolve(WEB, '..');
export const RESULTS = join(WEB, 'test-results');
export const CHROMIUM = process.env.GROVE_CHROMIUM ?? '/usr/bin/chromium';

/** The grove binary: `GROVE_BIN` if set, else the target dir's, built with cargo if missing. */
export function groveBinary() {
  if (process.env.GROVE_BIN) return resolve(process.env.GROVE_BIN);
  const target = process.env.CARGO_TARGET_DIR ? resolve(ROOT, process.env.CARGO_TARGET_DIR) : join(ROOT, 'target');
  const bin = join(target, 'debug', 'grove');
  if (!existsSync(bin)) {
    console.error('building grove (cargo build -p grove-orchestrator) …');
    execFileSync('cargo', ['build', '-q', '-p', 'grove-orchestrator'], { cwd: ROOT, stdio: 'inherit' });
  }
  return bin;
}

/** The GitHub stand-in's binary: the target dir's, built with cargo if missing. */
export function standinBinary() {
  const target = process.env.CARGO_TARGET_DIR ? resolve(ROOT, process.env.CARGO_TARGET_DIR) : join(ROOT, 'target');
  const bin = join(target, 'debug', 'github-standin');
  if (!existsSync(bin)) {
    console.error('building github-standin (cargo build -p grove-github-standin) …');
    execFileSync('cargo', ['build', '-q', '-p', 'grove-github-standin'], { cwd: ROOT, stdio: 'inherit' });
  }
  return bin;
}

/** The OAuth app the stand-in knows by default. */
export const STANDIN_CLIENT_ID = 'Ov23li-grove-standin';
export const STANDIN_CLIENT_SECRET = 'grove-standin-secret';

/**
 * Starts the GitHub stand-in (GitHub's wire format, and bare repositories served through
 * `git http-backend`) on a temp root; `admin(method, path, body)` drives its `/_standin/`
 * controls, `env` is what a Grove server needs to talk to it.
 */
export async function startStandin() {
  const root = mkdtempSync(join(tmpdir(), 'grove-standin-'));
  const child = spawn(standinBinary(), ['--root', root], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const { url, api_url } = await new Promise((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`github-standin printed nothing in 20 s; stderr:\n${stderr}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        res(JSON.parse(out.slice(0, nl)));
      }
    });
    child.on('exit', (code) => rej(new Error(`github-standin exited (${code}): ${stderr}`)));
  });
  async function admin(method, path, body) {
    const res = await fetch(`${url}/_standin${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`stand-in ${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  return {
    url,
    apiUrl: api_url,
    root,
    admin,
    env: {
      GROVE_GITHUB_URL: url,
      GROVE_GITHUB_API_URL: api_url,
      GROVE_GITHUB_CLIENT_ID: STANDIN_CLIENT_ID,
      GROVE_GITHUB_CLIENT_SECRET: STANDIN_CLIENT_SECRET,
    },
    /** A repository `owner/name` on the stand-in with `repo`'s `main`, and `origin` pointing at it. */
    async publish(repo, owner = 'octo', name = 'demo') {
      const { path, clone_url } = await admin('POST', '/repos', { owner, name });
      execFileSync('git', ['push', '-q', path, 'main'], { cwd: repo, stdio: 'pipe' });
      execFileSync('git', ['remote', 'add', 'origin', clone_url], { cwd: repo, stdio: 'pipe' });
      return { path, cloneUrl: clone_url };
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => {
          const t = setTimeout(() => {
            child.kill('SIGKILL');
            r(undefined);
          }, 5000);
          child.on('exit', () => {
            clearTimeout(t);
            r(undefined);
          });
        });
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A git repo with one commit, made with the git CLI. */
export function fixtureRepo(dir, name = 'demo') {
  const repo = join(dir, name);
  mkdirSync(repo, { recursive: true });
  const git = (...args) => execFileSync('git', args, { cwd: repo, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'test@grove.invalid');
  git('config', 'user.name', 'Grove Test');
  writeFileSync(join(repo, 'README.md'), '# demo\n\nA fixture repository for Grove tests.\n');
  writeFileSync(join(repo, 'app.py'), 'print("hello from the demo app")\n');
  git('add', '.');
  git('commit', '-q', '-m', 'Initial commit');
  return repo;
}

/**
 * Starts `grove serve`; resolves once it printed its URL. `env` adds to its environment, `args`
 * to its command line, and `prepare(repo)` runs on the fixture repo before the server starts.
 */
export async function startServer({ env = {}, args = [], prepare = null } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'grove-e2e-'));
  const data = join(dir, 'data');
  const home = join(dir, 'home');
  mkdirSync(home);
  // A quiet, predictable shell for the sessions.
  writeFileSync(join(home, '.bashrc'), 'PS1="\\W\\$ "\n');
  const repo = fixtureRepo(dir);
  if (prepare) await prepare(repo);
  const child = spawn(groveBinary(), ['serve', '--data-dir', data, ...args], {
    cwd: dir,
    env: { ...process.env, HOME: home, SHELL: '/bin/bash', TERM: 'xterm-256color', RUST_LOG: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const url = await new Promise((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`grove serve printed no URL in 30 s; stderr:\n${stderr}`)), 30000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /Grove is serving at (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        // Into a pipe grove serve prints the URL without its token; server.json has it.
        const { token } = JSON.parse(readFileSync(join(data, 'server.json'), 'utf8'));
        res(`${m[1]}/#token=${token}`);
      }
    });
    child.on('exit', (code) => rej(new Error(`grove serve exited (${code}): ${stderr}`)));
  });
  /** The server's API with its launch token (for setup steps that are not under test). */
  async function api(method, path, body) {
    const { url: base, token } = JSON.parse(readFileSync(join(data, 'server.json'), 'utf8'));
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  return {
    url,
    repo,
    dir,
    child,
    api,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => {
          const t = setTimeout(() => {
            child.kill('SIGKILL');
            r(undefined);
          }, 5000);
          child.on('exit', () => {
            clearTimeout(t);
            r(undefined);
          });
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Chromium with a fresh profile. */
export async function startBrowser(extraArgs = []) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const profile = mkdtempSync(join(tmpdir(), 'grove-chromium-'));
  // A persistent context is playwright's way to give Chromium a fresh --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...extraArgs,
    ],
  });
  return {
    context,
    profile,
    async stop() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Polls `fn` until it returns a truthy value. */
export async function until(what, fn, timeoutMs = 20000, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last).slice(0, 300)})`);
}

/** Every file under `dir` that contains `needle`; `seen` collects every path looked at. */
export function filesContaining(dir, needle, seen = []) {
  const hits = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      let st;
      try {
        st = statSync(p);
      } catch {
        continue; // gone meanwhile (sockets, lock files)
      }
      seen.push(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}
