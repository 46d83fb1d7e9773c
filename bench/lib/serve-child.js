// For the bench's child servers: listen on a loopback port chosen by the OS, announce `{"url": ...}` on stdout (what
// startNodeServer waits for), and close every connection on SIGTERM before exiting.

/**
 * @param {import('node:http').Server} server
 * @param {() => Promise<unknown>} [beforeExit] releases what else the child holds (a connection pool, a WebSocket server)
 * @param {number} [port] 0: any free port
 */
export function serveOnLoopback(server, beforeExit = async () => {}, port = 0) {
  server.listen(port, '127.0.0.1', () => {
    const { port: bound } = /** @type {import('node:net').AddressInfo} */ (server.address());
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${bound}` })}\n`);
  });
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => beforeExit().then(() => process.exit(0)));
  });
}
