/**
 * The graph sink's entry for `npm run bench -- sinks` (bench/sinks.bench.ts): a real Neo4j
 * Community server from the test harness (test/helpers/neo4j.ts), the sink in the cypher
 * dialect. Each bench row ({id, user_id, amount, status, applied_at}) becomes a new Application
 * vertex, its User vertex (5000 users, so most rows find theirs) and an APPLIED edge: three
 * guarded MERGEs per row. Every measurement writes to labels of its own, so it starts empty.
 */
import { GraphSink } from '../src/connectors/graph/sink.js';
import type { GraphSinkConfig } from '../src/connectors/graph/spec.js';
import type { Sink } from '../src/connectors/types.js';
import { startNeo4j } from '../test/helpers/neo4j.js';

export interface SinkBenchServer {
  /** A fresh, empty sink target for one measurement. */
  makeSink(batchSize: number): Promise<Sink>;
  close(): Promise<void>;
}

export const graphTarget = {
  name: 'graph-neo4j',
  async start(): Promise<SinkBenchServer> {
    const neo = await startNeo4j();
    let n = 0;
    return {
      async makeSink(batchSize) {
        const run = ++n;
        const config: GraphSinkConfig = {
          dialect: 'cypher', url: neo.url, user: neo.user, password: neo.password, changelog: false, batchSize, linger: 0,
          vertices: {
            application: { label: `Application${run}`, id: '{id}', props: ['amount', 'status', 'applied_at'], onDelete: 'delete' },
            user: { label: `User${run}`, id: '{user_id}', onDelete: 'keep' },
          },
          edges: { applied: { type: 'APPLIED', from: 'user', to: 'application' } },
        };
        return new GraphSink('bench', config, { lingerMs: undefined });
      },
      close: () => neo.close(),
    };
  },
};
