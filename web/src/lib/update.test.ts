import { describe, expect, it } from 'vitest';
import { offerOf, progressFraction, progressText, runningText, titleOf, type UpdateView } from './update';

const offer = { version: '0.2.0', notes: 'Faster panes.', date: null };
const view = (status: UpdateView['status']): UpdateView => ({
  current_version: '0.1.0',
  status,
  prompt: false,
  running_programs: 0,
  updated_from: null,
  skipped: null,
  auto_check: true,
});

describe('update texts', () => {
  it('names the version on offer and the one running', () => {
    expect(titleOf(view({ state: 'available', offer }))).toBe('Grove 0.2.0 is available');
    expect(titleOf(view({ state: 'up_to_date' }))).toBe('Grove 0.1.0 is up to date');
    expect(titleOf(view({ state: 'failed', message: 'x', offer }))).toBe('Grove 0.2.0 was not installed');
    expect(titleOf(view({ state: 'failed', message: 'x', offer: null }))).toBe('Could not check for updates');
    expect(offerOf({ state: 'downloading', offer, downloaded: 1, total: 2 })).toBe(offer);
    expect(offerOf({ state: 'checking' })).toBeNull();
  });

  it('says how many programs a restart stops and that they come back', () => {
    expect(runningText(0)).toBeNull();
    expect(runningText(1)).toMatch(/^1 program is running/);
    expect(runningText(3)).toMatch(/^3 programs are running.*come back after the restart/);
  });

  it('shows progress with and without a known size', () => {
    expect(progressText(5 * 1024 * 1024, 20 * 1024 * 1024)).toBe('5.0 of 20.0 MB (25 %)');
    expect(progressText(3 * 1024 * 1024, null)).toBe('3.0 MB');
    expect(progressFraction(5, 20)).toBe(0.25);
    expect(progressFraction(5, null)).toBeNull();
    expect(progressFraction(30, 20)).toBe(1);
  });
});
