// A real app for gatehouse to forward to: a node:http server on 127.0.0.1 that records what reached it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** The request-target exactly as it arrived. */
  url: string;
  /** Flat [name, value, …] list exactly as it arrived, names in their original case. */
  rawHeaders: string[];
  req: IncomingMessage;
  res: ServerResponse;
  /** The whole body, for requests answered by the default handler; custom handlers own the body. */
  body?: Buffer;
}

/** Answers one request; it owns reading the body. Without one, the upstream reads the body and answers 200 `ok`. */
export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest) => void;

export interface RecordingUpstream {
  url: string;
  port: number;
  server: Server;
  requests: RecordedRequest[];
  /** Sockets gatehouse has open to this app right now. */
  openConnections(): number;
  /** Resolves with the n-th request (1-based) once it has arrived. */
  nthRequest(n: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

/** For handlers that answer once the whole body arrived: records it as `recorded.body`, then calls `respond`. */
export function afterBody(recorded: RecordedRequest, respond: () => void): void {
  const chunks: Buffer[] = [];
  recorded.req.on('data', (chunk: Buffer) => chunks.push(chunk));
  recorded.req.on('end', () => {
    recorded.body = Buffer.concat(chunks);
    respond();
  });
}

export async function startUpstream(handler?: UpstreamHandler): Promise<RecordingUpstream> {
  const requests: RecordedRequest[] = [];
  const waiters: Array<{ n: number; resolve: (r: RecordedRequest) => void }> = [];
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const recorded: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', rawHeaders: [...req.rawHeaders], req, res };
    requests.push(recorded);
    for (const waiter of waiters.filter((w) => w.n === requests.length)) waiter.resolve(recorded);
    if (handler) return handler(req, res, recorded);
    afterBody(recorded, () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    requests,
    openConnections: () => sockets.size,
    nthRequest: (n) => {
      const arrived = requests[n - 1];
      if (arrived) return Promise.resolve(arrived);
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Header values named `name` (any case) in a raw header list, in order. */
export function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) if ((rawHeaders[i] as string).toLowerCase() === lower) out.push(rawHeaders[i + 1] as string);
  return out;
}

/** Lower-cased header names in a raw header list. */
export function headerNames(rawHeaders: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) out.push((rawHeaders[i] as string).toLowerCase());
  return out;
}
