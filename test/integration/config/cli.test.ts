// The built CLI: config errors exit 2 with one line per problem before anything listens; check-config; --help; --version.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAIN_JS, REPO_ROOT, runCli, startChildGatehouse, temporaryYamlFiles } from '../../helpers/gatehouse-process.js';
import { connectOutcome, freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';

const yaml = temporaryYamlFiles('gatehouse-cli-');
const writeYaml = yaml.write;
afterAll(yaml.remove);

const SESSION_SECRET = 's'.repeat(48);
const CLIENT_SECRET = 'client-secret-value-9f2c';

describe('gatehouse start with an invalid config', () => {
  it('exits 2 with one "gatehouse: config error" line per problem and never listens', async () => {
    const port = await freePort();
    const opsPort = await freePort();
    const path = writeYaml(
      [
        'mode: cloud',
        `listen: { host: 127.0.0.1, port: ${port}, backlog: 5 }`,
        `ops: { host: 127.0.0.1, port: ${opsPort} }`,
        'upstream: { url: http://127.0.0.1:3000, timeout_ms: soon }',
        'session: { ttl: forever }',
      ].join('\n'),
    );
    const result = await runCli(['start', '--config', path]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n').filter(Boolean).sort()).toEqual(
      [
        'gatehouse: config error: listen.backlog: unknown key',
        'gatehouse: config error: upstream.timeout_ms: Invalid input: expected number, received string',
        'gatehouse: config error: session.ttl: not a duration: "forever" (use e.g. 90s, 5m, 8h)',
        'gatehouse: config error: public_url: required in cloud mode',
        'gatehouse: config error: sso.issuer: required in cloud mode',
        'gatehouse: config error: sso.client_id: required in cloud mode',
        'gatehouse: config error: session.secrets: required in cloud mode (at least one secret of 32+ characters)',
        'gatehouse: config error: sso.client_secret: required with client_auth client_secret_basic',
      ].sort(),
    );
    expect(result.stderr.endsWith('\n')).toBe(true);
    expect(await connectOutcome(port)).toBe('ECONNREFUSED');
    expect(await connectOutcome(opsPort)).toBe('ECONNREFUSED');
  });

  it('exits 2 naming the file when it cannot be read, and the line of a YAML error', async () => {
    const missing = join(yaml.dir, 'missing.yaml');
    const unreadable = await runCli(['start', '--config', missing]);
    expect(unreadable).toEqual({ code: 2, stdout: '', stderr: `gatehouse: config error: ${missing}: cannot read the config file (ENOENT)\n` });

    const broken = writeYaml('mode: local\nupstream:\n  url: http://a\n  url: http://b\n');
    const syntax = await runCli(['start', '--config', broken]);
    expect(syntax).toEqual({ code: 2, stdout: '', stderr: `gatehouse: config error: ${broken}:4:3: YAML syntax error: Map keys must be unique\n` });
  });

  it('exits 2 for a bad environment override, naming the variable', async () => {
    const path = writeYaml('mode: local\n');
    const result = await runCli(['start', '--config', path], { GATEHOUSE_LISTEN_PORT: 'eighty' });
    expect(result).toEqual({ code: 2, stdout: '', stderr: 'gatehouse: config error: listen.port: GATEHOUSE_LISTEN_PORT="eighty" is not a valid number\n' });
  });
});

describe('gatehouse check-config', () => {
  it('prints the effective config with secrets masked and exits 0', async () => {
    const path = writeYaml(
      [
        'mode: cloud',
        'public_url: https://app.example.com',
        'upstream: { url: "${APP_URL:-http://127.0.0.1:3000}" }',
        'sso: { issuer: https://idp.example.com, client_id: app, client_secret: from-file }',
        'session: { secrets: ["${GATEHOUSE_SESSION_SECRET}", "' + 'o'.repeat(32) + '"], ttl: 90s }',
      ].join('\n'),
    );
    const result = await runCli(['check-config', '--config', path], { GATEHOUSE_SSO_CLIENT_SECRET: CLIENT_SECRET, GATEHOUSE_SESSION_SECRET: SESSION_SECRET });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.endsWith('\nconfig is valid\n')).toBe(true);
    const printed = JSON.parse(result.stdout.slice(0, -'config is valid\n'.length)) as {
      mode: string;
      mode_reason: string;
      config: {
        sso: { client_secret: string; issuer: string; timeout: string };
        session: { secrets: string[]; ttl: string; idle_timeout: string };
        upstream: { url: string };
      };
    };
    expect(printed.mode).toBe('cloud');
    expect(printed.mode_reason).toBe('mode is cloud');
    expect(printed.config.sso.client_secret).toBe('***');
    expect(printed.config.session.secrets).toEqual(['***', '***']);
    expect(printed.config.sso.issuer).toBe('https://idp.example.com');
    expect([printed.config.session.ttl, printed.config.session.idle_timeout, printed.config.sso.timeout]).toEqual(['90s', '1h', '10s']);
    expect(printed.config.upstream.url).toBe('http://127.0.0.1:3000');
    expect(result.stdout).not.toContain(CLIENT_SECRET);
    expect(result.stdout).not.toContain('from-file');
    expect(result.stdout).not.toContain(SESSION_SECRET);
    expect(result.stdout).not.toContain('o'.repeat(32));
  });

  it('refuses an http issuer that is not on loopback before anything starts (exit 2)', async () => {
    const path = writeYaml(
      [
        'mode: cloud',
        'public_url: https://app.example.com',
        'sso: { issuer: http://idp.example.com, client_id: app, client_secret: s }',
        `session: { secrets: ["${SESSION_SECRET}"] }`,
      ].join('\n'),
    );
    for (const command of [['check-config'], ['start']]) {
      const result = await runCli([...command, '--config', path]);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        'gatehouse: config error: sso.issuer: http:// is refused for idp.example.com: only https, or http on a loopback host (127.0.0.1, ::1, localhost) for development\n',
      );
    }
  });

  it('exits 2 with the same lines as start when the config is invalid', async () => {
    const path = writeYaml('mode: cloud\n');
    const result = await runCli(['check-config', '--config', path]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      [
        'gatehouse: config error: public_url: required in cloud mode',
        'gatehouse: config error: sso.issuer: required in cloud mode',
        'gatehouse: config error: sso.client_id: required in cloud mode',
        'gatehouse: config error: session.secrets: required in cloud mode (at least one secret of 32+ characters)',
        'gatehouse: config error: sso.client_secret: required with client_auth client_secret_basic',
        '',
      ].join('\n'),
    );
  });
});

describe('gatehouse --help and --version', () => {
  it('--help prints the usage and exits 0', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.startsWith('gatehouse — OpenID Connect sign-in in front of an unmodified app')).toBe(true);
    for (const command of ['gatehouse [start] [--config PATH]', 'gatehouse check-config [--config PATH]', 'gatehouse --help | --version']) {
      expect(result.stdout).toContain(command);
    }
  });

  it('version and --version print the package.json version and the commit of the checkout, and exit 0', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const args of [['version'], ['--version']]) {
      const result = await runCli(args);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      // HEAD moves with every commit: the exact commit is checked by test/unit/config/version.test.ts
      expect(result.stdout).toMatch(new RegExp(`^gatehouse ${pkg.version.replaceAll('.', '\\.')} \\(commit [0-9a-f]{12}\\)\n$`));
    }
  });

  it('an unknown command exits 2 with the usage on stderr', async () => {
    const result = await runCli(['launch']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.startsWith('gatehouse: unknown command "launch"\n\ngatehouse — ')).toBe(true);
  });
});

describe('gatehouse check-config | head -1', () => {
  it('ends quietly with exit 0 when the reader has gone away (no EPIPE stack trace)', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [MAIN_JS, 'check-config', '--config', join(REPO_ROOT, 'config/local.yaml')], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stderr }));
    });
    expect(result).toEqual({ code: 0, stderr: '' });
  });
});

describe('gatehouse start in mode auto without SSO settings', () => {
  it('logs one warn line naming the mode and why', async () => {
    const gatehouse = await startChildGatehouse({ mode: 'auto' });
    try {
      await waitFor(() => gatehouse.logs.some((line) => line.level === 'warn'), { timeoutMs: 5_000 });
      const warned = gatehouse.logs.filter((line) => line.level === 'warn');
      expect(warned.map((line) => [line.mode, line.msg])).toEqual([
        [
          'local',
          'mode auto is local: no sso.* key and no GATEHOUSE_SSO_* variable is set: single sign-on is off and every request passes through to the app (set sso.issuer and sso.client_id for SSO, or mode: local to say this is meant)',
        ],
      ]);
      // and only that line says so (no second, info-level line about the same decision)
      expect(gatehouse.logs.filter((line) => String(line.msg).includes('single sign-on')).length).toBe(1);
    } finally {
      await gatehouse.dispose();
    }
  });
});
