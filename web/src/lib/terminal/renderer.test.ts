import { describe, expect, it } from 'vitest';
import { isSoftwareRenderer, preferredRenderer, setDefaultRenderer } from './renderer';

describe('isSoftwareRenderer', () => {
  it('recognises software WebGL', () => {
    for (const name of [
      'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)',
      'llvmpipe (LLVM 15.0.6, 256 bits)',
      'Mesa/X.org softpipe',
      'ANGLE (Microsoft, Microsoft Basic Render Driver Direct3D11 vs_5_0 ps_5_0)',
    ]) {
      expect(isSoftwareRenderer(name), name).toBe(true);
    }
  });

  it('keeps WebGL on real GPUs', () => {
    for (const name of [
      'ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0, D3D11)',
      'Apple M2',
      'Mesa Intel(R) UHD Graphics 620 (KBL GT2)',
      'AMD Radeon Pro 5500M OpenGL Engine',
    ]) {
      expect(isSoftwareRenderer(name), name).toBe(false);
    }
  });
});

describe('setDefaultRenderer', () => {
  it('is used without probing WebGL', () => {
    // The probe finds no WebGL here and would answer 'dom'.
    setDefaultRenderer('webgl');
    expect(preferredRenderer()).toBe('webgl');
    setDefaultRenderer('dom');
    expect(preferredRenderer()).toBe('dom');
  });
});
