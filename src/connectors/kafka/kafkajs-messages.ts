/**
 * Small pieces both kafkajs consumers share: kafkajs messages as ConsumedMessage, and the wait
 * a pull-style fetch() does while kafkajs' push loop has delivered nothing yet.
 */
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { ConsumedMessage, KafkaHeaders } from './client.js';

export function toHeaders(headers: IHeaders | undefined): KafkaHeaders {
  const out: KafkaHeaders = {};
  for (const [name, v] of Object.entries(headers ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[name] = Buffer.isBuffer(first) ? first : Buffer.from(first);
  }
  return out;
}

export function toConsumed(topic: string, partition: number, m: KafkaMessage): ConsumedMessage {
  return {
    topic,
    partition,
    offset: BigInt(m.offset),
    key: m.key,
    value: m.value,
    headers: toHeaders(m.headers),
    timestamp: Number(m.timestamp),
  };
}

/**
 * Resolves after `ms`, when `signal` aborts, or when the function handed to `setWake` is
 * called, whichever comes first. The caller keeps that function to wake the waiter early.
 */
export function waitForWake(ms: number, signal: AbortSignal | undefined, setWake: (wake: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    setWake(done);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
