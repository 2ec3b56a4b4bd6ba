import type { Transport } from '../transport';
import type { Repo } from '../wire/Repo';
import type { Branch } from '../wire/Branch';
import type { AgentPreset } from '../wire/AgentPreset';
import type { SuggestedName } from '../wire/SuggestedName';

export class RepoStore {
  list = $state<Repo[]>([]);
  agents = $state<AgentPreset[]>([]);
  #t: Transport;

  constructor(t: Transport) {
    this.#t = t;
  }

  get sorted(): Repo[] {
    return [...this.list].sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id);
  }

  byId(id: number): Repo | undefined {
    return this.list.find((r) => r.id === id);
  }

  /** Takes the repos and agent presets of a state load. */
  set(repos: Repo[], agents: AgentPreset[]): void {
    this.list = repos;
    this.agents = agents;
  }

  async add(path: string): Promise<Repo> {
    const repo = await this.#t.request<Repo>('POST', '/repos', { path });
    this.upsert(repo);
    return repo;
  }

  async remove(id: number): Promise<void> {
    await this.#t.request<unknown>('DELETE', `/repos/${id}`);
    this.removed(id);
  }

  branches(id: number): Promise<Branch[]> {
    return this.#t.request<Branch[]>('GET', `/repos/${id}/branches`);
  }

  /** A free session name from the base branch and a word (what an empty name would get). */
  async suggestName(id: number, base: string): Promise<string> {
    const q = base ? `?base=${encodeURIComponent(base)}` : '';
    return (await this.#t.request<SuggestedName>('GET', `/repos/${id}/suggest-name${q}`)).name;
  }

  upsert(repo: Repo): void {
    const i = this.list.findIndex((r) => r.id === repo.id);
    if (i >= 0) this.list[i] = repo;
    else this.list.push(repo);
  }

  removed(id: number): void {
    this.list = this.list.filter((r) => r.id !== id);
  }
}
