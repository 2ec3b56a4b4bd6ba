import { describe, expect, it } from 'vitest';
import { defaultRenderer } from './desktop';

describe('defaultRenderer', () => {
  it('is the DOM renderer in WebKitGTK and the probe elsewhere', () => {
    const gtk = 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.0 Safari/605.1.15';
    const mac = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)';
    const win = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0';
    expect(defaultRenderer(gtk)).toBe('dom');
    expect(defaultRenderer(mac)).toBeNull();
    expect(defaultRenderer(win)).toBeNull();
  });
});
