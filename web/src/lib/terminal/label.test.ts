import { describe, expect, it } from 'vitest';
import { programName, splitWords } from './label.svelte';

describe('programName', () => {
  it('names the program, not env, assignments, shells, npx or paths', () => {
    const cases: [string, string | null][] = [
      ['codex', 'codex'],
      ['env X=1 codex', 'codex'],
      ['env HOME=/tmp/h PATH=/usr/bin codex --yolo', 'codex'],
      ['env -i -u FOO HOME=/x /usr/local/bin/claude', 'claude'],
      ['FOO=1 BAR="a b" aider --model x', 'aider'],
      ["sh -c 'npm ci && claude'", 'npm'],
      ['bash -lc "exec gemini"', 'gemini'],
      ['bash -c "exec gemini"', 'gemini'],
      ['npx -y @openai/codex@latest', 'codex'],
      ['npx opencode-ai', 'opencode-ai'],
      ['pnpm dlx @google/gemini-cli', 'gemini-cli'],
      ['/home/me/.local/bin/claude', 'claude'],
      ['nice -n 5 nohup ./run.sh', 'run.sh'],
      ['bash', 'bash'],
      ['bash --norc --noprofile', 'bash'],
      ['', null],
      ['env', null],
    ];
    for (const [cmd, want] of cases) expect(programName(cmd), cmd).toBe(want);
  });

  it('splits words like a shell for simple commands', () => {
    expect(splitWords(`a "b c" 'd e' f\\ g`)).toEqual(['a', 'b c', 'd e', 'f g']);
    expect(splitWords('a b; c')).toEqual(['a', 'b']);
    expect(splitWords('x=""')).toEqual(['x=']);
  });
});
