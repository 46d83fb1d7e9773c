// WebSocket through gatehouse: a ws echo app with a subprotocol and permessage-deflate, a ws client in front.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { startTestGatehouse, type TestGatehouse } from '../../helpers/gatehouse-process.js';
import { freePort } from '../../helpers/ports.js';
import { metricValue } from '../../helpers/session-requests.js';
import { headerNames, headerValues } from '../../helpers/upstream.js';

interface EchoApp {
  url: string;
  upgrades: IncomingMessage[];
  close(): Promise<void>;
}

async function startEchoApp(): Promise<EchoApp> {
  const server: Server = createServer((_req, res) => res.writeHead(426).end());
  const wss = new WebSocketServer({
    server,
    perMessageDeflate: { threshold: 0 },
    handleProtocols: (offered) => (offered.has('chat.v2') ? 'chat.v2' : false),
  });
  const upgrades: IncomingMessage[] = [];
  wss.on('connection', (socket, req) => {
    upgrades.push(req);
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    upgrades,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function nextMessage(socket: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    socket.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary }));
    socket.once('error', reject);
  });
}

describe('WebSocket upgrade through gatehouse', () => {
  let app: EchoApp;
  let gatehouse: TestGatehouse;

  beforeAll(async () => {
    app = await startEchoApp();
    gatehouse = await startTestGatehouse({ upstream: { url: app.url } });
  });

  afterAll(async () => {
    await gatehouse.shutdown();
    await app.close();
  });

  it('carries frames both ways with the chosen subprotocol and permessage-deflate intact, identity headers stripped', async () => {
    const socket = new WebSocket(`${gatehouse.url.replace('http:', 'ws:')}/live/socket?room=7`, ['chat.v1', 'chat.v2'], {
      perMessageDeflate: true,
      headers: {
        'X-Forwarded-User': 'mallory',
        x_forwarded_email: 'mallory@example.com',
        'X-Gatehouse-Assertion': 'forged',
        'X-Request-Id': 'ws-1',
        'X-App-Header': 'kept',
      },
    });
    const opened = new Promise<IncomingMessage>((resolve, reject) => {
      socket.once('upgrade', resolve);
      socket.once('error', reject);
    });
    const upgradeResponse = await opened;
    await new Promise<void>((resolve) => (socket.readyState === WebSocket.OPEN ? resolve() : socket.once('open', () => resolve())));
    try {
      expect(upgradeResponse.statusCode).toBe(101);
      expect(socket.protocol).toBe('chat.v2');
      expect(socket.extensions).toBe('permessage-deflate');
      expect(upgradeResponse.headers['sec-websocket-extensions']).toBe('permessage-deflate');

      socket.send('hello through gatehouse');
      const text = await nextMessage(socket);
      expect(text).toEqual({ data: Buffer.from('hello through gatehouse'), isBinary: false });

      const binary = Buffer.alloc(256 * 1024, 7);
      binary.write('header', 0);
      socket.send(binary);
      const echoed = await nextMessage(socket);
      expect(echoed.isBinary).toBe(true);
      expect(echoed.data.equals(binary)).toBe(true);

      expect(app.upgrades).toHaveLength(1);
      const seen = app.upgrades[0] as IncomingMessage;
      expect(seen.url).toBe('/live/socket?room=7');
      expect(headerValues(seen.rawHeaders, 'sec-websocket-protocol')).toEqual(['chat.v1,chat.v2']);
      expect(headerValues(seen.rawHeaders, 'sec-websocket-extensions')).toEqual(['permessage-deflate; client_max_window_bits']);
      expect(headerValues(seen.rawHeaders, 'x-app-header')).toEqual(['kept']);
      expect(headerValues(seen.rawHeaders, 'x-request-id')).toEqual(['ws-1']);
      const names = headerNames(seen.rawHeaders);
      expect(names.filter((name) => name.includes('forwarded-user') || name.includes('forwarded_email') || name.includes('gatehouse'))).toEqual([]);
      // counted like any request, as a 1xx answer, and logged once
      expect(await metricValue(gatehouse, 'gatehouse_http_requests_total', { status_class: '1xx' })).toBe(1);
      expect(gatehouse.logs.filter((line) => line.reqId === 'ws-1')).toMatchObject([{ msg: 'request', status: 101, upgrade: true, path: '/live/socket' }]);
    } finally {
      socket.close();
    }
  });

  it('closes the app side when the client goes away', async () => {
    const before = app.upgrades.length;
    const socket = new WebSocket(`${gatehouse.url.replace('http:', 'ws:')}/bye`, ['chat.v2']);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    expect(app.upgrades).toHaveLength(before + 1);
    const appSocket = (app.upgrades[before] as IncomingMessage).socket;
    const appClosed = new Promise<void>((resolve) => appSocket.once('close', () => resolve()));
    socket.terminate();
    await appClosed;
    expect(appSocket.destroyed).toBe(true);
  });
});

describe('WebSocket upgrade when the app is down', () => {
  it('answers the upgrade with HTTP 502', async () => {
    const gatehouse = await startTestGatehouse({ upstream: { url: `http://127.0.0.1:${await freePort()}` } });
    try {
      const socket = new WebSocket(`${gatehouse.url.replace('http:', 'ws:')}/live`, { headers: { 'X-Request-Id': 'ws-down' } });
      const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        socket.once('unexpected-response', (_req, res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        socket.once('open', () => reject(new Error('upgrade should have been refused')));
      });
      expect(refused.status).toBe(502);
      expect(JSON.parse(refused.body)).toEqual({ error: 'upstream_unreachable', request_id: 'ws-down' });
      expect(await metricValue(gatehouse, 'gatehouse_http_requests_total', { status_class: '5xx' })).toBe(1);
    } finally {
      await gatehouse.shutdown();
    }
  });
});
