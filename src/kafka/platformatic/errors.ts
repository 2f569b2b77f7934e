/**
 * @platformatic/kafka errors as KafkaClientError. platformatic nests errors (a ResponseError
 * holds one ProtocolError per failing partition; a retry loop wraps the attempts in a
 * MultipleErrors), so the flags are read off every leaf: retriable when any leaf is a network
 * failure or a protocol error Kafka marks retriable, rebalance when any leaf says the member
 * must rejoin (the group moved on: its commit or generation no longer counts).
 */
import { KafkaClientError } from '../client.js';

interface PlatformaticErrorShape {
  code?: string;
  message?: string;
  apiId?: string;
  canRetry?: boolean;
  needsRejoin?: boolean;
  errors?: unknown[];
  cause?: unknown;
}

/** The innermost errors: protocol errors and network failures, not their wrappers. */
export function leafErrors(err: unknown, out: PlatformaticErrorShape[] = [], depth = 0): PlatformaticErrorShape[] {
  if (depth > 6 || err === null || typeof err !== 'object') return out;
  const e = err as PlatformaticErrorShape;
  const children = [...(Array.isArray(e.errors) ? e.errors : []), ...(e.cause === undefined ? [] : [e.cause])];
  if (children.length === 0 || e.apiId !== undefined) out.push(e);
  for (const c of children) leafErrors(c, out, depth + 1);
  return out;
}

const NETWORK_CODES = new Set(['PLT_KFK_NETWORK', 'PLT_KFK_TIMEOUT']);
const REJOIN_IDS = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS', 'FENCED_INSTANCE_ID', 'MEMBER_ID_REQUIRED']);
/** Node socket errors platformatic passes through without its own wrapper. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);

export function isRetriable(err: unknown): boolean {
  return leafErrors(err).some((e) => e.canRetry === true || (e.code !== undefined && (NETWORK_CODES.has(e.code) || SOCKET_CODES.has(e.code))));
}

export function needsRejoin(err: unknown): boolean {
  return leafErrors(err).some((e) => e.needsRejoin === true || (e.apiId !== undefined && REJOIN_IDS.has(e.apiId)));
}

/** The protocol error ids in an error tree, e.g. ['NOT_LEADER_OR_FOLLOWER']. */
export function protocolIds(err: unknown): string[] {
  return leafErrors(err).flatMap((e) => (e.apiId === undefined ? [] : [e.apiId]));
}

export function toClientError(what: string, err: unknown): KafkaClientError {
  if (err instanceof KafkaClientError) return err;
  const e = (err ?? {}) as PlatformaticErrorShape;
  const ids = [...new Set(protocolIds(err))];
  const detail = ids.length > 0 ? ` (${ids.join(', ')})` : leafErrors(err).filter((l) => l !== e).map((l) => `: ${l.message}`)[0] ?? '';
  const rebalance = needsRejoin(err);
  return new KafkaClientError(`${what}: ${e.message ?? String(err)}${detail}`, !rebalance && isRetriable(err), { cause: err, rebalance });
}

export async function wrap<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toClientError(what, err);
  }
}
