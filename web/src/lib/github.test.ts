import { describe, expect, it } from 'vitest';
import { accountLine, checksBadge, isLive, pullBadge, reviewBadge, scopesToAsk, timeLeft } from './github';
import type { GithubStatus } from './wire/GithubStatus';
import type { PullStatus } from './wire/PullStatus';

function status(over: Partial<GithubStatus> = {}): GithubStatus {
  return {
    host: 'github.com', signed_in: false, login: null, scopes: [], device: null, problem: null, web_flow: false,
    requested_scopes: ['repo'], ...over,
  };
}

function pull(over: Partial<PullStatus> = {}): PullStatus {
  return {
    number: 12, url: 'https://github.com/o/r/pull/12', title: 'T', repo: 'o/r', state: 'open', review: 'none',
    checks: 'none', check_items: [], head_sha: 'abc', checked_at: 0, ...over,
  };
}

describe('the account line', () => {
  it('names host, login and scopes', () => {
    expect(accountLine(status({ signed_in: true, login: 'octocat', scopes: ['repo', 'workflow'] }))).toBe(
      'Signed in to github.com as octocat (repo, workflow)',
    );
  });
  it('says when a token has no classic scopes', () => {
    expect(accountLine(status({ signed_in: true, login: 'o' }))).toContain('fine-grained');
  });
  it('says when signed out', () => {
    expect(accountLine(status({ host: 'ghe.example' }))).toBe('Not signed in to ghe.example');
  });
});

describe('the scopes asked for', () => {
  it('adds workflow only when opted in, once', () => {
    expect(scopesToAsk(['repo'], false)).toEqual(['repo']);
    expect(scopesToAsk(['repo'], true)).toEqual(['repo', 'workflow']);
    expect(scopesToAsk(['repo', 'workflow'], true)).toEqual(['repo', 'workflow']);
    expect(scopesToAsk([], false)).toEqual(['repo']);
  });
});

describe('the device code time left', () => {
  it('rounds up to minutes and ends at zero', () => {
    expect(timeLeft(1000, 100_000)).toBe('15 min');
    expect(timeLeft(1000, 999_000)).toBe('1 min');
    expect(timeLeft(1000, 1_000_000)).toBeNull();
  });
});

describe('the pull request badge', () => {
  it('colours each state', () => {
    expect(pullBadge(pull()).tone).toBe('green');
    expect(pullBadge(pull({ state: 'draft' })).tone).toBe('dim');
    expect(pullBadge(pull({ state: 'merged' })).tone).toBe('purple');
    expect(pullBadge(pull({ state: 'closed' })).tone).toBe('red');
    expect(pullBadge(pull({ state: 'merged' })).text).toBe('#12 merged');
  });

  it('shows checks with a shape and a colour, none when there are none', () => {
    expect(checksBadge('none')).toBeNull();
    expect(checksBadge('pending')).toMatchObject({ icon: '●', tone: 'yellow' });
    expect(checksBadge('passing')).toMatchObject({ icon: '✓', tone: 'green' });
    expect(checksBadge('failing')).toMatchObject({ icon: '✗', tone: 'red' });
  });

  it('counts failing checks in the summary, with the review decision', () => {
    const p = pull({
      checks: 'failing',
      review: 'approved',
      check_items: [
        { name: 'a', state: 'failing', url: null },
        { name: 'b', state: 'passing', url: null },
        { name: 'c', state: 'pending', url: null },
      ],
    });
    expect(pullBadge(p).summary).toBe('Pull request #12: open, checks failing (1 of 3), approved');
    expect(reviewBadge('changes_requested')).toEqual({ text: 'changes requested', tone: 'red' });
    expect(reviewBadge('none')).toBeNull();
  });

  it('follows only open and draft pull requests', () => {
    expect(isLive(null)).toBe(false);
    expect(isLive(pull())).toBe(true);
    expect(isLive(pull({ state: 'draft' }))).toBe(true);
    expect(isLive(pull({ state: 'merged' }))).toBe(false);
  });
});
