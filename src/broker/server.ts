/**
 * TCP front end: 4-byte size framing, one request at a time per connection (as Kafka
 * does: a connection's responses come back in request order even while a Fetch
 * long-polls), and a malformed, truncated or oversized frame closes only that
 * connection, with a log line.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../core/logger.js';
import { apiName, dispatch, readHeaderPrefix } from './dispatch.js';
import type { BrokerContext } from './handlers/context.js';

/** Kafka's socket.request.max.bytes default. */
export const MAX_FRAME_BYTES = 100 * 1024 * 1024;

export interface KafkaServer {
  server: Server;
  connections(): number;
  close(): Promise<void>;
}

export function createKafkaServer(ctx: BrokerContext, logger: Logger, verbose: boolean): KafkaServer {
  const sockets = new Set<Socket>();

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const log = logger.child({ client: remote });
    let clientId = '';
    let closed = false;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const queue: Buffer[] = [];
    let busy = false;
    const conn = {
      get client() {
        return { clientId, clientHost: `/${socket.remoteAddress ?? ''}` };
      },
      closed: () => closed,
      setClientId: (id: string) => {
        clientId = id;
      },
    };

    const drop = (reason: string): void => {
      if (closed) return;
      closed = true;
      log.warn('closing connection', { reason, clientId });
      socket.destroy();
    };

    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      while (queue.length > 0 && !closed) {
        const frame = queue.shift()!;
        const started = Date.now();
        try {
          const result = await dispatch(ctx, frame, conn);
          if (verbose) {
            const h = readHeaderPrefix(frame);
            log.debug('request', { api: apiName(h.apiKey), version: h.apiVersion, clientId, ms: Date.now() - started });
          }
          if (result.kind === 'unsupported') {
            log.warn('unsupported request answered with UNSUPPORTED_VERSION', { reason: result.reason, clientId });
            socket.write(result.frame);
          }
          else if (result.kind === 'response' && !closed) socket.write(result.frame);
        } catch (err) {
          drop(`malformed request: ${(err as Error).message}`);
        }
      }
      busy = false;
    };

    socket.on('data', (chunk: Buffer) => {
      if (closed) return;
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < 4) return;
      let buf = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
      let at = 0;
      while (buf.length - at >= 4) {
        const size = buf.readInt32BE(at);
        if (size < 8 || size > MAX_FRAME_BYTES) {
          drop(`invalid frame size ${size}`);
          return;
        }
        if (buf.length - at - 4 < size) break;
        // Copy so the frame does not pin the whole socket chunk (and is ours to mutate).
        queue.push(Buffer.from(buf.subarray(at + 4, at + 4 + size)));
        at += 4 + size;
      }
      buf = buf.subarray(at);
      pending = buf.length ? [buf] : [];
      pendingBytes = buf.length;
      void pump();
    });
    socket.on('error', (err) => log.debug('socket error', { error: err.message }));
    socket.on('close', () => {
      closed = true;
      sockets.delete(socket);
      if (pendingBytes > 0) log.warn('connection closed with a truncated frame pending', { bytes: pendingBytes, clientId });
    });
  });

  return {
    server,
    connections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
