/**
 * Which Kafka failures are ridden out (retried with backoff up to --kafka-retry-timeout): the
 * errors a broker fault produces — leader moved, not enough in-sync replicas, coordinator moved
 * or loading, request timed out, connection lost — classified from real protocol responses
 * (platformatic's parser) and real network errors, then retried by KafkaRetrier.
 */
import { describe, expect, it } from 'vitest';
import { NetworkError, Reader, TimeoutError, produceV9 } from '@platformatic/kafka';
import { toClientError } from '../../src/kafka/platformatic/errors.js';
import { KafkaRetrier, isRetriableKafkaError } from '../../src/kafka/retry.js';

/** The error platformatic throws for a Produce v9 response whose one partition has `code`. */
function produceError(code: number): unknown {
  const b: number[] = [];
  const int = (n: number, bytes: number): void => {
    const buf = Buffer.alloc(bytes);
    if (bytes === 2) buf.writeInt16BE(n); else if (bytes === 4) buf.writeInt32BE(n); else buf.writeBigInt64BE(BigInt(n));
    b.push(...buf);
  };
  b.push(2, 2, ...Buffer.from('t')); // responses: 1 topic 't'
  b.push(2); // partition_responses: 1
  int(0, 4); int(code, 2); int(-1, 8); int(-1, 8); int(0, 8);
  b.push(1, 0, 0); // record_errors empty, error_message null, tagged fields
  b.push(0); // topic tagged fields
  int(0, 4); // throttle_time_ms
  try {
    produceV9.parseResponse(1, 0, 9, Reader.from(Buffer.from(b)));
  } catch (err) {
    return err;
  }
  throw new Error(`code ${code} parsed without an error`);
}

const RETRIABLE: Array<[string, number]> = [
  ['NOT_LEADER_OR_FOLLOWER', 6],
  ['LEADER_NOT_AVAILABLE', 5],
  ['REQUEST_TIMED_OUT', 7],
  ['COORDINATOR_LOAD_IN_PROGRESS', 14],
  ['COORDINATOR_NOT_AVAILABLE', 15],
  ['NOT_COORDINATOR', 16],
  ['NOT_ENOUGH_REPLICAS', 19],
  ['NOT_ENOUGH_REPLICAS_AFTER_APPEND', 20],
];

describe('retriable Kafka errors', () => {
  it.each(RETRIABLE)('%s (code %i) is retried', async (id, code) => {
    const err = toClientError('kafka produce to t', produceError(code));
    expect(err.message).toContain(id);
    expect(isRetriableKafkaError(err)).toBe(true);
    let calls = 0;
    const r = new KafkaRetrier({ timeoutMs: 5_000, brokers: ['b1:9092'], backoffMs: 1, maxBackoffMs: 2 });
    await expect(r.run('produce', async () => {
      if (calls++ < 2) throw err;
      return 'ok';
    })).resolves.toBe('ok');
    expect(calls).toBe(3);
  });

  it('connection loss and client-side timeouts are retried', () => {
    expect(isRetriableKafkaError(toClientError('kafka fetch', new NetworkError('Connection closed', { code: 'ECONNRESET' })))).toBe(true);
    expect(isRetriableKafkaError(toClientError('kafka fetch', new TimeoutError('Request timed out')))).toBe(true);
  });

  it('errors retrying cannot fix fail at once: a rebalance, a record too large', () => {
    const rebalance = toClientError('kafka commit', produceError(27));
    expect(rebalance.rebalance).toBe(true);
    expect(isRetriableKafkaError(rebalance)).toBe(false);
    expect(isRetriableKafkaError(toClientError('kafka produce to t', produceError(10)))).toBe(false); // MESSAGE_TOO_LARGE
  });
});
