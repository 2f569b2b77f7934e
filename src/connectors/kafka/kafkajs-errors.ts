/**
 * kafkajs errors as KafkaClientError: kafkajs' own `retriable` judgement, widened to the
 * connection-level failures kafkajs reports as "retries exhausted" (the caller's backoff
 * gets another go).
 */
import { KafkaClientError } from './client.js';

/** kafkajs error classes that mean "the cluster is unreachable or busy right now". */
const TRANSIENT = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
]);

interface KafkajsErrorShape {
  name?: string;
  message?: string;
  retriable?: boolean;
  originalError?: unknown;
  cause?: unknown;
}

function isTransient(err: unknown, depth = 0): boolean {
  if (depth > 5 || err === null || typeof err !== 'object') return false;
  const e = err as KafkajsErrorShape;
  if (e.retriable === true) return true;
  if (e.name !== undefined && TRANSIENT.has(e.name)) return true;
  return isTransient(e.originalError, depth + 1) || isTransient(e.cause, depth + 1);
}

export function toClientError(what: string, err: unknown): KafkaClientError {
  if (err instanceof KafkaClientError) return err;
  const e = (err ?? {}) as KafkajsErrorShape;
  const message = e.message ?? String(err);
  return new KafkaClientError(`${what}: ${message}`, isTransient(err), { cause: err });
}

export async function wrap<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toClientError(what, err);
  }
}

