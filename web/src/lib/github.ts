// What the UI says about GitHub: the account line, the scopes asked for, and a pull request's
// badge (state, checks, review) with its colour. Pure functions, so the words and colours are
// tested without a browser.

import type { ChecksState } from './wire/ChecksState';
import type { GithubStatus } from './wire/GithubStatus';
import type { PullState } from './wire/PullState';
import type { PullStatus } from './wire/PullStatus';
import type { ReviewDecision } from './wire/ReviewDecision';

/** A colour of the dark theme, by meaning. */
export type Tone = 'green' | 'red' | 'yellow' | 'purple' | 'dim';

/** "Signed in to github.com as octocat (repo, workflow)", or "Not signed in to github.com". */
export function accountLine(s: GithubStatus): string {
  if (!s.signed_in) return `Not signed in to ${s.host}`;
  const scopes = s.scopes.length > 0 ? s.scopes.join(', ') : 'no classic scopes: a fine-grained token?';
  return `Signed in to ${s.host} as ${s.login ?? '?'} (${scopes})`;
}

/** The scopes a sign-in asks for: the server's list, plus `workflow` when the user opted in. */
export function scopesToAsk(requested: string[], workflow: boolean): string[] {
  const base = requested.length > 0 ? requested : ['repo'];
  return workflow && !base.includes('workflow') ? [...base, 'workflow'] : [...base];
}

/** What each scope lets Grove (and its agents) do, in a few words. */
export const SCOPE_MEANING: Record<string, string> = {
  repo: 'push branches and open pull requests in your repositories',
  workflow: 'change GitHub Actions workflows (.github/workflows)',
};

/** How long a device code still works ("15 min", "1 min"), or null once it ran out. */
export function timeLeft(expiresAt: number, nowMs: number): string | null {
  const s = expiresAt - nowMs / 1000;
  if (s <= 0) return null;
  return `${Math.max(1, Math.ceil(s / 60))} min`;
}

export const STATE_LABEL: Record<PullState, string> = {
  open: 'open',
  draft: 'draft',
  merged: 'merged',
  closed: 'closed',
};

const STATE_TONE: Record<PullState, Tone> = {
  open: 'green',
  draft: 'dim',
  merged: 'purple',
  closed: 'red',
};

export interface ChecksBadge {
  state: ChecksState;
  /** A shape as well as a colour: ✓ passing, ✗ failing, ● pending. */
  icon: string;
  text: string;
  tone: Tone;
}

export function checksBadge(state: ChecksState): ChecksBadge | null {
  switch (state) {
    case 'none':
      return null;
    case 'pending':
      return { state, icon: '●', text: 'checks pending', tone: 'yellow' };
    case 'passing':
      return { state, icon: '✓', text: 'checks passing', tone: 'green' };
    case 'failing':
      return { state, icon: '✗', text: 'checks failing', tone: 'red' };
  }
}

export function reviewBadge(review: ReviewDecision): { text: string; tone: Tone } | null {
  switch (review) {
    case 'none':
      return null;
    case 'approved':
      return { text: 'approved', tone: 'green' };
    case 'changes_requested':
      return { text: 'changes requested', tone: 'red' };
  }
}

export interface PullBadge {
  /** "#12 open". */
  text: string;
  tone: Tone;
  checks: ChecksBadge | null;
  review: { text: string; tone: Tone } | null;
  /** One line for a tooltip or a screen reader: "Pull request #12: open, checks failing (1 of 3), approved". */
  summary: string;
}

export function pullBadge(p: PullStatus): PullBadge {
  const checks = checksBadge(p.checks);
  const review = reviewBadge(p.review);
  const parts = [STATE_LABEL[p.state]];
  if (checks) {
    const failing = p.check_items.filter((c) => c.state === 'failing').length;
    const n = p.check_items.length;
    parts.push(checks.state === 'failing' && n > 0 ? `${checks.text} (${failing} of ${n})` : checks.text);
  }
  if (review) parts.push(review.text);
  return {
    text: `#${p.number} ${STATE_LABEL[p.state]}`,
    tone: STATE_TONE[p.state],
    checks,
    review,
    summary: `Pull request #${p.number}: ${parts.join(', ')}`,
  };
}

/** Whether a session's pull request still needs following (an open or draft one). */
export function isLive(p: PullStatus | null): boolean {
  return p !== null && (p.state === 'open' || p.state === 'draft');
}
