// Whether a request announces a body, from its framing headers alone (nothing is read).
import type { IncomingMessage } from 'node:http';

export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return length !== undefined ? length !== '0' : req.headers['transfer-encoding'] !== undefined;
}
