// nginx as a bench row, when it is on PATH: one process (master_process off, 1 worker), keep-alive upstream, access log on.
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../test/helpers/ports.js';
import { makeTempDir, spawnTracked, stopChild, waitForPort } from './processes.js';

function nginxBinary() {
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function nginxConfig({ dir, port, upstreamUrl }) {
  const upstream = new URL(upstreamUrl);
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  keepalive_requests 1000000;
  upstream app {
    server ${upstream.host};
    keepalive 128;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/**
 * @param {import('./targets.js').Upstream} upstream
 * @returns {import('./targets.js').Target}
 */
export function nginxTarget(upstream) {
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let child;
  return {
    name: 'nginx',
    url: '',
    pid: 0,
    note: 'nginx: one process (master_process off, worker_processes 1), keep-alive upstream (keepalive 128), access_log on to a file',
    async start() {
      const binary = nginxBinary();
      if (!binary) {
        console.error('bench: nginx is not on PATH, skipping the nginx row (apt-get install -y nginx-light)');
        this.note = 'nginx: skipped, nginx is not installed (apt-get install -y nginx-light)';
        return false;
      }
      const dir = makeTempDir('nginx');
      mkdirSync(join(dir, 'tmp'));
      const port = await freePort();
      const configFile = join(dir, 'nginx.conf');
      writeFileSync(configFile, nginxConfig({ dir, port, upstreamUrl: upstream.url }));
      child = spawnTracked(binary, ['-p', dir, '-e', join(dir, 'error.log'), '-c', configFile], { stdio: ['ignore', 'ignore', 'inherit'] });
      await waitForPort(port);
      this.url = `http://127.0.0.1:${port}`;
      this.pid = /** @type {number} */ (child.pid);
      return true;
    },
    async stop() {
      if (child) await stopChild(child);
    },
  };
}
