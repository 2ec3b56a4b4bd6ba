// Whether each repo's committed grove.toml is approved: loaded with the repos, kept current by
// `repo_trust_changed` events, changed only by the user (approve, revoke).

import type { Transport } from '../transport';
import type { RepoTrust } from '../wire/RepoTrust';
import type { TrustRequest } from '../wire/TrustRequest';

export class TrustStore {
  byRepo = $state<Record<number, RepoTrust>>({});
  #t: Transport;

  constructor(t: Transport) {
    this.#t = t;
  }

  /** Loads the trust of each repo; `current` says whether the result is still wanted. */
  async loadAll(repoIds: number[], current: () => boolean = () => true): Promise<void> {
    const list = await Promise.all(repoIds.map((id) => this.#t.request<RepoTrust>('GET', `/repos/${id}/trust`)));
    if (!current()) return;
    const next: Record<number, RepoTrust> = {};
    for (const t of list) next[t.repo_id] = t;
    this.byRepo = next;
  }

  async load(repoId: number): Promise<RepoTrust> {
    const t = await this.#t.request<RepoTrust>('GET', `/repos/${repoId}/trust`);
    this.set(t);
    return t;
  }

  /** Approves exactly the content shown (its `hash`); dangerous env keys only as listed. */
  async approve(repoId: number, hash: string, allowEnv: string[]): Promise<RepoTrust> {
    const body: TrustRequest = { hash, allow_env: allowEnv };
    const t = await this.#t.request<RepoTrust>('PUT', `/repos/${repoId}/trust`, body);
    this.set(t);
    return t;
  }

  async revoke(repoId: number): Promise<RepoTrust> {
    const t = await this.#t.request<RepoTrust>('DELETE', `/repos/${repoId}/trust`);
    this.set(t);
    return t;
  }

  set(t: RepoTrust): void {
    this.byRepo[t.repo_id] = t;
  }

  removed(repoId: number): void {
    delete this.byRepo[repoId];
  }
}
