/** Every Kafka client the conformance suite runs with; `describe.each(clientAdapters)`. */
import { kafkajsAdapter } from './kafka-client-kafkajs.js';
import { platformaticAdapter } from './kafka-client-platformatic.js';
import type { ClientAdapter } from './kafka-clients.js';

export const clientAdapters: ClientAdapter[] = [kafkajsAdapter, platformaticAdapter];

export function adapterByName(name: string): ClientAdapter {
  const found = clientAdapters.find((a) => a.name === name);
  if (!found) throw new Error(`unknown client adapter '${name}' (known: ${clientAdapters.map((a) => a.name).join(', ')})`);
  return found;
}
