// One of gatehouse's route handlers behind a real HTTP listener on 127.0.0.1, for the unit tests of the handlers
// (sign-in, forward-auth, back-channel logout) without a provider, an upstream or the rest of gatehouse.
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'cookie';
import type { RequestContext } from '../../src/authorize/access.js';

export interface RouteAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  setCookies: string[];
  body: string;
}

export interface RouteServer {
  url: string;
  send(target: string, options?: { method?: string; headers?: Record<string, string>; body?: string }): Promise<RouteAnswer>;
  close(): Promise<void>;
}

export async function serveRoute(handler: (ctx: RequestContext, query: URLSearchParams) => Promise<void> | void): Promise<RouteServer> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://route.invalid');
    const ctx: RequestContext = { req, res, requestId: 'unit-test', path: url.pathname, cookies: () => parse(req.headers.cookie ?? '') };
    Promise.resolve(handler(ctx, url.searchParams)).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(error instanceof Error ? error.message : String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const send: RouteServer['send'] = (target, options = {}) =>
    new Promise((resolve, reject) => {
      const req = request(`${url}${target}`, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('error', reject);
        res.once('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, setCookies: res.headers['set-cookie'] ?? [], body: Buffer.concat(chunks).toString() }),
        );
      });
      req.once('error', reject);
      req.end(options.body);
    });
  const close = (): Promise<void> => new Promise((resolve) => server.close(() => resolve()));
  return { url, send, close };
}
