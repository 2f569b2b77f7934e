/** The Kafka client library the broker conformance suite runs with (as its users use it); `describe.each(clientAdapters)`. */
import { platformaticAdapter } from './kafka-client-platformatic.js';
import type { ClientAdapter } from './kafka-clients.js';

export const clientAdapters: ClientAdapter[] = [platformaticAdapter];

export function adapterByName(name: string): ClientAdapter {
  const found = clientAdapters.find((a) => a.name === name);
  if (!found) throw new Error(`unknown client adapter '${name}' (known: ${clientAdapters.map((a) => a.name).join(', ')})`);
  return found;
}
