import { describe, expect, it } from 'vitest';
import { terminalFontFamily } from './theme';

describe('terminalFontFamily', () => {
  const linux = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15';
  const mac = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)';
  const windows = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0';

  it('names only fonts that can exist on the platform, ending with monospace', () => {
    expect(terminalFontFamily(linux)).toBe('"JetBrains Mono", monospace');
    expect(terminalFontFamily(mac)).toBe('"JetBrains Mono", "SF Mono", Menlo, monospace');
    expect(terminalFontFamily(windows)).toBe('"JetBrains Mono", "Cascadia Mono", Consolas, monospace');
  });

  it('falls back to the short stack for an unknown platform', () => {
    expect(terminalFontFamily('')).toBe('"JetBrains Mono", monospace');
  });
});
