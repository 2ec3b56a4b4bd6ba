import { describe, expect, it } from 'vitest';
import { looksLikeKey, isVaultLocked } from './secrets.svelte';
import { RequestError } from '../transport';

describe('looksLikeKey', () => {
  it('spots keys in typed commands', () => {
    for (const cmd of [
      'OPENAI_API_KEY=sk-abcdefghijklmnopqrstuv codex',
      'env ANTHROPIC_API_KEY=sk-ant-api03-abcdefghijklmnop claude',
      'GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz123456 gh pr list',
      'aider --api-key sk-abcdefghijklmnopqrstuvwx',
      'GEMINI_API_KEY=AIzaSyA1234567890abcdefghijklmnopqrs gemini',
      'MY_SECRET=hunter2hunter2 ./run.sh',
    ]) {
      expect(looksLikeKey(cmd), cmd).toBe(true);
    }
  });

  it('leaves ordinary commands alone', () => {
    for (const cmd of ['claude', 'codex --model o3', 'bash', 'KEY=1 make', 'npm run dev -- --port 3000', 'TOKEN=$GH_TOKEN gh']) {
      expect(looksLikeKey(cmd), cmd).toBe(false);
    }
  });
});

describe('isVaultLocked', () => {
  it('is the vault_locked code only', () => {
    expect(isVaultLocked(new RequestError({ code: 'vault_locked', message: 'locked' }, 423))).toBe(true);
    expect(isVaultLocked(new RequestError({ code: 'wrong_passphrase', message: 'no' }, 422))).toBe(false);
    expect(isVaultLocked(new Error('x'))).toBe(false);
  });
});
