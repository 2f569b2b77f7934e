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


/** Kafka error types that say this member's generation is gone: it was fenced or timed out. */
const FENCED = new Set(['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID']);

function errorType(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const type = (err as { type?: unknown }).type;
  return typeof type === 'string' ? type : undefined;
}

/** The coordinator no longer knows this member in the generation it used. */
export function isFenced(err: unknown): boolean {
  const type = errorType(err);
  return type !== undefined && FENCED.has(type);
}

/** A group request failed because the group moved on (fenced) or is moving (rebalancing). */
export function isRebalance(err: unknown): boolean {
  return isFenced(err) || errorType(err) === 'REBALANCE_IN_PROGRESS';
}

/** As toClientError, but a rebalance or fencing error becomes `rebalance: true, retriable: false`. */
export function toGroupError(what: string, err: unknown): KafkaClientError {
  if (err instanceof KafkaClientError) return err;
  if (!isRebalance(err)) return toClientError(what, err);
  const message = (err as KafkajsErrorShape).message ?? String(err);
  return new KafkaClientError(`${what}: ${message}`, false, { cause: err, rebalance: true });
}
