import { describe, expect, it } from 'vitest';
import { terminalQuery } from './transport';

describe('terminalQuery', () => {
  it('asks for a snapshot with no query at all', () => {
    expect(terminalQuery({ snapshot: true })).toBe('');
  });

  it('resumes from an exact offset, with whole non-negative numbers', () => {
    expect(terminalQuery({ from: 1300 })).toBe('?from=1300');
    expect(terminalQuery({ from: 12.7 })).toBe('?from=12');
  });
});
