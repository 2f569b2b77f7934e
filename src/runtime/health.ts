/**
 * HTTP probes and metrics for Kubernetes: /healthz (the process runs its loop), /readyz (every
 * assigned task is restored and running; 503 while restoring), /metrics (the worker's
 * prom-client registry, runtime/metrics.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Engine } from './engine.js';

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/** `current`: the engine once it has opened; before that (waiting for Kafka, joining) /readyz and /metrics say 503. */
export async function startHealthServer(current: () => Engine | undefined, port: number, host = '0.0.0.0'): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = req.url ?? '/';
      const engine = current();
      if (engine === undefined && !url.startsWith('/healthz')) {
        res.writeHead(url.startsWith('/readyz') || url.startsWith('/metrics') ? 503 : 404, { 'content-type': 'application/json' }).end(JSON.stringify({ ready: false, starting: true }) + '\n');
        return;
      }
      const tasks = engine?.inputs;
      if (url.startsWith('/healthz') || engine === undefined) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (url.startsWith('/readyz')) {
        const ready = tasks?.ready ?? true;
        const body = JSON.stringify({ ready, partitions: engine.ownedPartitions(), tasks: tasks?.tasks() ?? [] });
        res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(body + '\n');
      } else if (url.startsWith('/metrics')) {
        const { contentType, body } = await engine.metrics.text();
        res.writeHead(200, { 'content-type': contentType }).end(body);
      } else {
        res.writeHead(404).end();
      }
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
