// The vault and its secrets as the UI sees them: the vault's state, secret names with when they
// were set and where they are exposed. Values only ever go to the server (set, unlock); the API
// has no way to send one back, so nothing here can hold one after the request is sent.

import type { Transport } from '../transport';
import { RequestError } from '../transport';
import type { VaultStatus } from '../wire/VaultStatus';
import type { SecretInfo } from '../wire/SecretInfo';
import type { SecretExposure } from '../wire/SecretExposure';
import type { UnlockVaultRequest } from '../wire/UnlockVaultRequest';
import type { SetSecretRequest } from '../wire/SetSecretRequest';
import type { ExposeSecretRequest } from '../wire/ExposeSecretRequest';

/** Whether an error is the server saying the vault must be unlocked first. */
export function isVaultLocked(e: unknown): boolean {
  return e instanceof RequestError && e.error.code === 'vault_locked';
}

export class SecretStore {
  status = $state<VaultStatus | null>(null);
  list = $state<SecretInfo[]>([]);
  /** Set when an action failed with `vault_locked`: the UI shows the unlock prompt. */
  prompt = $state(false);
  #t: Transport;

  constructor(t: Transport) {
    this.#t = t;
  }

  get unlocked(): boolean {
    return this.status?.state === 'unlocked';
  }

  /** The vault's state, and the secrets' names when it is unlocked. */
  async load(): Promise<void> {
    this.status = await this.#t.request<VaultStatus>('GET', '/vault');
    this.list = this.unlocked ? await this.#t.request<SecretInfo[]>('GET', '/secrets') : [];
  }

  /** Unlocks (or, when there is no vault yet, creates) the vault. */
  async unlock(passphrase: string): Promise<void> {
    const body: UnlockVaultRequest = { passphrase };
    this.status = await this.#t.request<VaultStatus>('POST', '/vault/unlock', body);
    this.prompt = false;
    await this.load();
  }

  async lock(): Promise<void> {
    this.status = await this.#t.request<VaultStatus>('POST', '/vault/lock');
    this.list = [];
  }

  async set(name: string, value: string): Promise<void> {
    const body: SetSecretRequest = { value };
    await this.#t.request<SecretInfo>('PUT', `/secrets/${encodeURIComponent(name)}`, body);
    await this.load();
  }

  async remove(name: string): Promise<void> {
    await this.#t.request('DELETE', `/secrets/${encodeURIComponent(name)}`);
    await this.load();
  }

  async expose(repoId: number, secret: string, variable: string | null): Promise<SecretExposure> {
    const body: ExposeSecretRequest = { repo_id: repoId, secret, var: variable };
    const e = await this.#t.request<SecretExposure>('POST', '/exposures', body);
    await this.load();
    return e;
  }

  async unexpose(repoId: number, variable: string): Promise<void> {
    await this.#t.request('DELETE', `/repos/${repoId}/exposures/${encodeURIComponent(variable)}`);
    await this.load();
  }

  /** A `vault_changed` event. */
  changed(status: VaultStatus): void {
    this.status = status;
    if (status.state !== 'unlocked') this.list = [];
  }
}

/** Something in a typed command that looks like a key (`KEY=sk-…`, `ghp_…`): worth a warning. */
export function looksLikeKey(command: string): boolean {
  return /(^|[\s;&|])[A-Za-z_][A-Za-z0-9_]*(KEY|TOKEN|SECRET)[A-Za-z0-9_]*=\S{8,}/i.test(command) ||
    /\b(sk-[A-Za-z0-9_-]{16,}|sk-ant-[A-Za-z0-9_-]{16,}|ghp_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|AIza[A-Za-z0-9_-]{30,})/.test(command);
}
