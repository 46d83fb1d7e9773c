// A request the HTTP parser could not read (malformed, headers too large, headers not received in time): answered
// on the raw socket, counted and logged like any other, without a method or path.
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { logAccess, type Listener } from './listener.js';

export function handleClientError(listener: Listener, error: NodeJS.ErrnoException, socket: Socket): void {
  const { metrics } = listener;
  // A client that hung up (mid-body included) sent nothing malformed; its request, if any, is logged as 499.
  if (error.code === 'ECONNRESET' || error.code === 'HPE_INVALID_EOF_STATE' || !socket.writable) return void socket.destroy();
  const overflow = error.code === 'HPE_HEADER_OVERFLOW';
  const stalled = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const status = overflow ? 431 : stalled ? 408 : 400;
  const requestId = randomUUID();
  if (stalled) metrics.clientTimeouts.labels('headers').inc();
  else metrics.rejectedRequests.labels(overflow ? 'header-overflow' : 'malformed').inc();
  metrics.countRequest(status, 0);
  // the request could not be parsed, so its method and path are unknown: the parser's code says why
  logAccess(listener, listener.state, { reqId: requestId, status, refused: error.code }, { remote: socket.remoteAddress });
  const reason = overflow ? 'Request Header Fields Too Large' : stalled ? 'Request Timeout' : 'Bad Request';
  const body = overflow ? 'request headers too large\n' : stalled ? 'request headers not received in time\n' : 'bad request\n';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: text/plain\r\nx-request-id: ${requestId}\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
  );
}
