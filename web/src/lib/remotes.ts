// The "Add a server" form's checks: the same rules as the server's (REMOTES.md), said before a
// round trip, in words that name the field. The server checks again and has the last word.

import type { AddRemoteRequest } from './wire/AddRemoteRequest';

export interface RemoteForm {
  name: string;
  url: string;
  token: string;
  fingerprint: string;
  /** Text as typed; required with `ssh://`. */
  remotePort: string;
}

const NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
const FINGERPRINT = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/;

/** The request the form stands for, or what is wrong with it. */
export function checkRemoteForm(f: RemoteForm): { request: AddRemoteRequest } | { error: string } {
  const name = f.name.trim();
  const url = f.url.trim();
  const token = f.token.trim();
  if (!NAME.test(name)) {
    return { error: 'Name: lowercase letters, digits and "-", starting with a letter or digit, at most 32 (e.g. devbox).' };
  }
  if (name === 'local') return { error: 'Name: "local" is this window\'s own server; choose another name.' };
  const ssh = url.startsWith('ssh://');
  if (!ssh && !url.startsWith('https://')) {
    return { error: 'Address: https://host:port (grove serve with TLS) or ssh://[user@]host[:port].' };
  }
  if (!token) return { error: "Token: the remote's token (the file given to its --token-file)." };
  const request: AddRemoteRequest = { name, url, token };
  if (ssh) {
    const port = Number(f.remotePort.trim());
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return { error: 'Port: the port grove serve listens on there (its --port), 1–65535.' };
    }
    request.remote_port = port;
  } else if (f.fingerprint.trim()) {
    // Pasted from the remote's output: spaces, lower case and a missing colon here and there are
    // forgiven; the digits are not.
    const hex = f.fingerprint.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
    const fp = hex.match(/.{2}/g)?.join(':') ?? '';
    if (!FINGERPRINT.test(fp)) {
      return { error: 'Certificate fingerprint: 32 bytes in hex (AB:CD:…), as grove serve --tls-self-signed printed it.' };
    }
    request.fingerprint = fp;
  }
  return { request };
}
