// A real OpenSSH server for the browser end-to-end tests of ssh:// remotes, like the Rust
// tests' fixture (orchestrator/tests/orchestrator/support/sshd.rs): Debian's /usr/sbin/sshd on
// 127.0.0.1 and a free high port, a host key and a client key made by ssh-keygen in a temp dir,
// and a wrapper script to pass to `grove serve` as GROVE_SSH that runs `ssh -F CONFIG` (that
// key, a known_hosts holding the host key, nothing from the user's own ssh setup).
//
//   const sshd = await startSshd();
//   spawn(grove, ['serve', …], { env: { ...process.env, GROVE_SSH: sshd.sshWrapper } });
//   // remote URL: sshd.url (ssh://127.0.0.1:PORT), remote_port: the other grove's port
//   await sshd.stop();   // sshd and every connection it serves end: tunnels drop
//   await sshd.start();  // back on the same port with the same host key
//   sshd.wrapperWithKnownHosts(path) // another GROVE_SSH with another known_hosts (e.g. empty)
//   await sshd.close();  // stop and remove the temp dir

import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SSHD = '/usr/sbin/sshd';

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

function accepts(port) {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); res(true); });
    s.once('error', () => res(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Every process below `pid`, from /proc (sshd's connection processes start sessions of their own). */
export function descendants(pid) {
  const parents = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try { stat = readFileSync(`/proc/${name}/stat`, 'utf8'); } catch { continue; }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses.
    const rest = stat.slice(stat.lastIndexOf(')') + 1).trim().split(/\s+/);
    parents.push([Number(name), Number(rest[1])]);
  }
  const out = [];
  const frontier = [pid];
  while (frontier.length) {
    const parent = frontier.pop();
    for (const [p, pp] of parents) {
      if (pp === parent && !out.includes(p)) { out.push(p); frontier.push(p); }
    }
  }
  return out;
}

function clientWrapper(dir, name, knownHosts) {
  const config = join(dir, `${name}_config`);
  writeFileSync(config, [
    'Host *',
    `\tIdentityFile ${dir}/client_key`,
    '\tIdentitiesOnly yes',
    '\tIdentityAgent none',
    `\tUserKnownHostsFile ${knownHosts}`,
    '\tGlobalKnownHostsFile /dev/null',
    '\tPasswordAuthentication no',
    '\tKbdInteractiveAuthentication no',
    '\tControlMaster no',
    '\tControlPath none',
    '',
  ].join('\n'));
  const wrapper = join(dir, name);
  writeFileSync(wrapper, `#!/bin/sh\nexec ssh -F '${config}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

/**
 * Starts sshd; resolves once it accepts connections.
 * @returns {Promise<{ port: number, url: string, dir: string, sshWrapper: string, knownHosts: string,
 *   stop(): Promise<void>, start(): Promise<void>, close(): Promise<void>, log(): string,
 *   wrapperWithKnownHosts(path: string, name?: string): string }>}
 */
export async function startSshd() {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install Debian's openssh-server (scripts/test does)`);
  const dir = mkdtempSync(join(tmpdir(), 'grove-sshd-'));
  for (const key of ['host_key', 'client_key']) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', key, '-f', join(dir, key)]);
  }
  const port = await freePort();
  copyFileSync(join(dir, 'client_key.pub'), join(dir, 'authorized_keys'));
  const hostPub = readFileSync(join(dir, 'host_key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPub}\n`);
  const config = join(dir, 'sshd_config');
  writeFileSync(config, [
    'ListenAddress 127.0.0.1',
    `HostKey ${dir}/host_key`,
    `PidFile ${dir}/sshd.pid`,
    `AuthorizedKeysFile ${dir}/authorized_keys`,
    'StrictModes no',
    'UsePAM no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'AllowTcpForwarding yes',
    'ClientAliveInterval 5',
    '',
  ].join('\n'));
  // Privilege separation needs this directory when sshd runs as root.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true });
  const sshWrapper = clientWrapper(dir, 'ssh', knownHosts);
  const logFile = join(dir, 'sshd.log');
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  let child = null;

  async function start() {
    if (child) throw new Error('sshd is running already');
    const fd = openSync(logFile, 'a');
    const proc = spawn(SSHD, ['-D', '-e', '-f', config, '-p', String(port)], { stdio: ['ignore', 'ignore', fd] });
    closeSync(fd);
    let exited = null;
    proc.once('exit', (code, signal) => (exited = signal ?? code));
    child = proc;
    const deadline = Date.now() + 20000;
    while (!(await accepts(port))) {
      if (exited !== null) { child = null; throw new Error(`sshd exited (${exited}): ${log()}`); }
      if (Date.now() > deadline) throw new Error(`sshd did not start: ${log()}`);
      await sleep(20);
    }
  }

  async function stop() {
    const proc = child;
    if (!proc) return;
    child = null;
    const gone = new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', r)));
    for (const pid of [...descendants(proc.pid), proc.pid]) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    await gone;
  }

  async function close() {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }

  await start();
  return {
    port,
    url: `ssh://127.0.0.1:${port}`,
    dir,
    sshWrapper,
    knownHosts,
    start,
    stop,
    close,
    log,
    wrapperWithKnownHosts: (path, name = 'ssh_other') => clientWrapper(dir, name, path),
  };
}
