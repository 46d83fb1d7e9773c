// What check-config prints: secrets masked (credentials inside any URL too, whether or not it parses) and
// durations as written by people.
import { describe, expect, it } from 'vitest';
import { maskUrlCredentials } from '../../../src/config/checks.js';
import { validateConfig } from '../../../src/config/load.js';
import { printableConfig } from '../../../src/config/print.js';

describe('maskUrlCredentials', () => {
  it('masks the credentials of a URL that parses, up to the last @ of the authority only', () => {
    expect(maskUrlCredentials('redis://user:hunter2@redis:6379/0')).toBe('redis://***@redis:6379/0');
    expect(maskUrlCredentials('redis://:a+b=c@d@redis:6379')).toBe('redis://***@redis:6379');
    expect(maskUrlCredentials('https://u:p@host/a@b')).toBe('https://***@host/a@b');
    expect(maskUrlCredentials('https://host/users/@me')).toBe('https://host/users/@me');
  });

  it('masks everything up to the last @ of a URL that does not parse (a password with / or #)', () => {
    expect(maskUrlCredentials('redis://:pa/ss@redis:6379')).toBe('redis://***@redis:6379');
    expect(maskUrlCredentials('redis://:p#a?s@s@redis:6379')).toBe('redis://***@redis:6379');
    expect(maskUrlCredentials('not a url')).toBe('not a url');
  });
});

describe('printableConfig', () => {
  it('prints durations as 8h / 90s / 500ms and masks credentials in every URL', () => {
    const printed = printableConfig(
      validateConfig({
        mode: 'local',
        upstream: { url: 'http://app:s3cret@127.0.0.1:3000' },
        session: { ttl: 90, idle_timeout: '1h30m', redis: { url: 'redis://:pw@redis:6379' } },
        shutdown: { drain_timeout: '500ms' },
      }),
    ) as {
      upstream: { url: string };
      session: { ttl: string; idle_timeout: string; refresh_interval: string; redis: { url: string; cache_ttl: string } };
      shutdown: { drain_timeout: string };
    };
    expect(printed.upstream.url).toBe('http://***@127.0.0.1:3000');
    expect(printed.session).toMatchObject({
      ttl: '90s',
      idle_timeout: '90m',
      refresh_interval: '5m',
      redis: { url: 'redis://***@redis:6379', cache_ttl: '5s' },
    });
    expect(printed.shutdown.drain_timeout).toBe('500ms');
  });
});
