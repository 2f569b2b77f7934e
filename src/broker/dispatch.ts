/**
 * The API table: which API keys and versions this broker serves, and for each the
 * decode -> handle -> encode pipeline. Also frames a response (header v0, or v1 with
 * tagged fields for flexible versions; ApiVersions always v0).
 */
import { addOffsetsToTxnApi, addPartitionsToTxnApi, endTxnApi, txnOffsetCommitApi, type TxnRequest, type TxnResponse } from './apis/transactions.js';
import { apiVersionsApi, type ApiVersionRange } from './apis/api-versions.js';
import { createPartitionsApi } from './apis/create-partitions.js';
import { createTopicsApi } from './apis/create-topics.js';
import { deleteGroupsApi } from './apis/delete-groups.js';
import { deleteTopicsApi } from './apis/delete-topics.js';
import { describeConfigsApi } from './apis/describe-configs.js';
import { describeGroupsApi } from './apis/describe-groups.js';
import { fetchApi } from './apis/fetch.js';
import { findCoordinatorApi } from './apis/find-coordinator.js';
import { heartbeatApi } from './apis/heartbeat.js';
import { initProducerIdApi } from './apis/init-producer-id.js';
import { joinGroupApi } from './apis/join-group.js';
import { leaveGroupApi } from './apis/leave-group.js';
import { listGroupsApi } from './apis/list-groups.js';
import { listOffsetsApi } from './apis/list-offsets.js';
import { metadataApi } from './apis/metadata.js';
import { offsetCommitApi } from './apis/offset-commit.js';
import { offsetFetchApi } from './apis/offset-fetch.js';
import { produceApi } from './apis/produce.js';
import { syncGroupApi } from './apis/sync-group.js';
import type { ApiDef } from './apis/types.js';
import type { BrokerContext, RequestClient } from './handlers/context.js';
import { handleCreatePartitions, handleCreateTopics, handleDeleteTopics, handleDescribeConfigs, handleFindCoordinator, handleInitProducerId, handleMetadata } from './handlers/cluster.js';
import { handleFetch, handleListOffsets, handleProduce } from './handlers/data.js';
import { handleDeleteGroups, handleDescribeGroups, handleHeartbeat, handleJoinGroup, handleLeaveGroup, handleListGroups, handleOffsetCommit, handleOffsetFetch, handleSyncGroup } from './handlers/groups.js';
import { KafkaError } from './protocol/error-codes.js';
import { ProtocolError, Reader } from './protocol/reader.js';
import { Writer } from './protocol/writer.js';

export interface Connection {
  readonly client: RequestClient;
  readonly closed: () => boolean;
}

type Encode = (w: Writer) => void;

interface Route {
  api: ApiDef<unknown, unknown>;
  run(ctx: BrokerContext, r: Reader, version: number, conn: Connection): Promise<Encode | null>;
}

function route<Req, Res>(
  api: ApiDef<Req, Res>,
  handle: (ctx: BrokerContext, req: Req, version: number, conn: Connection) => Res | null | Promise<Res | null>,
): Route {
  return {
    api: api as unknown as ApiDef<unknown, unknown>,
    async run(ctx, r, version, conn) {
      const req = api.decode(r, version);
      const res = await handle(ctx, req, version, conn);
      return res === null ? null : (w: Writer) => api.encode(w, version, res);
    },
  };
}

const unsupportedTxn = (_ctx: BrokerContext, req: TxnRequest): TxnResponse => ({ errorCode: KafkaError.UNSUPPORTED_VERSION, topics: req.topics });

const routes: Route[] = [
  route(produceApi, (ctx, req) => handleProduce(ctx, req)),
  route(fetchApi, (ctx, req, _v, conn) => handleFetch(ctx, req, conn.closed)),
  route(listOffsetsApi, (ctx, req) => handleListOffsets(ctx, req)),
  route(metadataApi, (ctx, req) => handleMetadata(ctx, req)),
  route(offsetCommitApi, (ctx, req) => handleOffsetCommit(ctx, req)),
  route(offsetFetchApi, (ctx, req) => handleOffsetFetch(ctx, req)),
  route(findCoordinatorApi, (ctx, req) => handleFindCoordinator(ctx, req)),
  route(joinGroupApi, (ctx, req, v, conn) => handleJoinGroup(ctx, req, v, conn.client)),
  route(heartbeatApi, (ctx, req) => handleHeartbeat(ctx, req)),
  route(leaveGroupApi, (ctx, req) => handleLeaveGroup(ctx, req)),
  route(syncGroupApi, (ctx, req) => handleSyncGroup(ctx, req)),
  route(describeGroupsApi, (ctx, req) => handleDescribeGroups(ctx, req)),
  route(listGroupsApi, (ctx, req) => handleListGroups(ctx, req)),
  route(deleteGroupsApi, (ctx, req) => handleDeleteGroups(ctx, req)),
  route(apiVersionsApi, () => ({ errorCode: 0, apis: advertisedVersions() })),
  route(createTopicsApi, (ctx, req) => handleCreateTopics(ctx, req)),
  route(deleteTopicsApi, (ctx, req) => handleDeleteTopics(ctx, req)),
  route(initProducerIdApi, (ctx, req) => handleInitProducerId(ctx, req)),
  route(addPartitionsToTxnApi, unsupportedTxn),
  route(addOffsetsToTxnApi, unsupportedTxn),
  route(endTxnApi, unsupportedTxn),
  route(txnOffsetCommitApi, unsupportedTxn),
  route(describeConfigsApi, (ctx, req) => handleDescribeConfigs(ctx, req)),
  route(createPartitionsApi, (ctx, req) => handleCreatePartitions(ctx, req)),
];

const byKey = new Map(routes.map((r) => [r.api.key, r]));

/** The ApiVersions table: every advertised API with its version range. */
export function advertisedVersions(): ApiVersionRange[] {
  return routes
    .filter((r) => r.api.advertised !== false)
    .map((r) => ({ key: r.api.key, min: r.api.minVersion, max: r.api.maxVersion }))
    .sort((a, b) => a.key - b.key);
}

export function apiName(key: number): string {
  return byKey.get(key)?.api.name ?? `api#${key}`;
}

export type DispatchResult =
  | { kind: 'response'; frame: Buffer }
  | { kind: 'none' }
  | { kind: 'unsupported'; reason: string; frame: Buffer };

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
}

export function readHeaderPrefix(frame: Buffer): RequestHeader {
  if (frame.length < 8) throw new ProtocolError(`frame of ${frame.length} bytes is shorter than a request header`);
  return { apiKey: frame.readInt16BE(0), apiVersion: frame.readInt16BE(2), correlationId: frame.readInt32BE(4) };
}

function frameResponse(correlationId: number, flexibleHeader: boolean, flexibleBody: boolean, body: Encode): Buffer {
  const w = new Writer(false, 512);
  const size = w.reserve32();
  w.int32(correlationId);
  if (flexibleHeader) w.uvarint(0);
  w.flexible = flexibleBody;
  body(w);
  w.patch32(size, w.pos - 4);
  return w.result();
}

/** ApiVersions of a version we do not know: error 35 + our ranges, in the v0 format. */
export function apiVersionsFallback(correlationId: number): Buffer {
  return frameResponse(correlationId, false, false, (w) =>
    apiVersionsApi.encode(w, 0, { errorCode: KafkaError.UNSUPPORTED_VERSION, apis: advertisedVersions() }),
  );
}

/**
 * An API or version we do not serve: we cannot speak that response's grammar, so the
 * answer is the correlation id and error 35 (UNSUPPORTED_VERSION), the prefix most
 * Kafka error responses share; the client fails fast instead of waiting forever.
 */
function unsupportedAnswer(correlationId: number): Buffer {
  return frameResponse(correlationId, false, false, (w) => w.int16(KafkaError.UNSUPPORTED_VERSION));
}

/** Decode, handle and encode one request frame (without its 4-byte size). */
export async function dispatch(ctx: BrokerContext, frame: Buffer, conn: Connection & { setClientId(id: string): void }): Promise<DispatchResult> {
  const h = readHeaderPrefix(frame);
  const rt = byKey.get(h.apiKey);
  if (!rt || h.apiVersion < rt.api.minVersion || h.apiVersion > rt.api.maxVersion) {
    if (h.apiKey === apiVersionsApi.key) return { kind: 'response', frame: apiVersionsFallback(h.correlationId) };
    const reason = rt
      ? `unsupported version ${h.apiVersion} of ${rt.api.name} (supported ${rt.api.minVersion}-${rt.api.maxVersion})`
      : `unknown API key ${h.apiKey}`;
    return { kind: 'unsupported', reason, frame: unsupportedAnswer(h.correlationId) };
  }
  const flexible = h.apiVersion >= rt.api.flexibleFrom;
  const r = new Reader(frame, false, 8);
  const clientId = r.classicNullableString();
  if (clientId) conn.setClientId(clientId);
  if (flexible) {
    r.flexible = true;
    r.tags();
  }
  const encode = await rt.run(ctx, r, h.apiVersion, conn);
  if (!encode) return { kind: 'none' };
  const flexibleHeader = flexible && h.apiKey !== apiVersionsApi.key;
  return { kind: 'response', frame: frameResponse(h.correlationId, flexibleHeader, flexible, encode) };
}
