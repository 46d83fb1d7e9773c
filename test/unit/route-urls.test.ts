import { describe, expect, it } from 'vitest';
import { RouteUrls } from '../../src/route-urls.js';

describe('RouteUrls', () => {
  it('builds every route under the prefix, absolute ones on public_url', () => {
    const urls = new RouteUrls('/_gh', 'https://app.example.com/');
    expect(urls.base).toBe('/_gh/');
    expect(urls.path('/login')).toBe('/_gh/login');
    expect(urls.absolute('/callback')).toBe('https://app.example.com/_gh/callback');
    expect(urls.start('/a b?c=1')).toBe('/_gh/start?rd=%2Fa%20b%3Fc%3D1');
    expect(urls.login('/a?b=1')).toBe('/_gh/login?rd=%2Fa%3Fb%3D1');
    expect(urls.login('/', true)).toBe('https://app.example.com/_gh/login?rd=%2F');
    expect(urls.start('/', true)).toBe('/_gh/start?rd=%2F&interactive=1');
  });
});
