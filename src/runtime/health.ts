/**
 * HTTP probes and metrics for Kubernetes: /healthz (the process runs its loop), /readyz (every
 * assigned task is restored and running; 503 while restoring), /metrics (Prometheus text:
 * counters, per-partition consumer lag, restore progress).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Engine } from './engine.js';

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHealthServer(engine: Engine, port: number, host = '0.0.0.0'): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = req.url ?? '/';
      const tasks = engine.kafkaTasks;
      if (url.startsWith('/healthz')) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (url.startsWith('/readyz')) {
        const ready = tasks ? tasks.ready : true;
        const body = JSON.stringify({ ready, partitions: engine.ownedPartitions(), tasks: tasks?.tasks() ?? [] });
        res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(body + '\n');
      } else if (url.startsWith('/metrics')) {
        const lines: string[] = [];
        const name = engine.plan.name;
        lines.push('# TYPE tributary_records_in_total counter');
        lines.push(`tributary_records_in_total{topology="${name}"} ${engine.counters.get('in')}`);
        lines.push('# TYPE tributary_records_late_total counter');
        lines.push(`tributary_records_late_total{topology="${name}"} ${engine.counters.get('late')}`);
        lines.push('# TYPE tributary_records_dead_lettered_total counter');
        lines.push(`tributary_records_dead_lettered_total{topology="${name}"} ${engine.counters.get('deadLettered')}`);
        lines.push('# TYPE tributary_checkpoints_total counter');
        lines.push(`tributary_checkpoints_total{topology="${name}"} ${engine.checkpointCount}`);
        if (tasks) {
          lines.push('# TYPE tributary_consumer_lag gauge');
          try {
            for (const l of await tasks.lag()) lines.push(`tributary_consumer_lag{topology="${name}",topic="${l.topic}",partition="${l.partition}"} ${l.lag}`);
          } catch {
            // lag needs the cluster; the probe still answers
          }
          lines.push('# TYPE tributary_restore_records gauge');
          for (const t of tasks.tasks()) {
            lines.push(`tributary_restore_records{topology="${name}",partition="${t.partition}",kind="restored"} ${t.restored}`);
            lines.push(`tributary_restore_records{topology="${name}",partition="${t.partition}",kind="total"} ${t.toRestore}`);
          }
        }
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(lines.join('\n') + '\n');
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
