import { s } from '../../src/core/spec.js';
import type { ConnectorCatalog } from '../../src/core/catalog.js';

/** A stand-in for connectors/registry.ts, so these tests pin topology/ behaviour on their own. */
export const testCatalog: ConnectorCatalog = {
  sources: {
    generator: s.object({
      preset: s.enum(['loan-applications', 'device-events'] as const),
      rate: s.number({ min: 0 }),
      keys: s.number({ integer: true, min: 1 }),
      seed: s.number({ integer: true }),
      count: s.number({ integer: true, min: 0 }).optional(),
      partitions: s.number({ integer: true, min: 1 }).default(4),
      outOfOrder: s.number({ min: 0, max: 1 }).optional(),
      duplicates: s.number({ min: 0, max: 1 }).optional(),
      badRecords: s.number({ min: 0, max: 1 }).optional(),
    }),
    file: s.object({ path: s.string(), partitions: s.number({ integer: true, min: 1 }).default(1) }),
  },
  sinks: {
    file: s.object({ path: s.string() }),
    stdout: s.object({}),
    redis: s.object({ url: s.string(), password: s.string().secret().optional() }),
  },
};
