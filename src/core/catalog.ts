import type { AnySpec } from './spec.js';

/**
 * The connectors a topology may name, each with the spec of its config. The real catalog is
 * `connectorCatalog` in connectors/registry.ts; compile takes it as a parameter so topology/
 * never imports connectors.
 */
export interface ConnectorCatalog {
  sources: Record<string, AnySpec>;
  sinks: Record<string, AnySpec>;
}
