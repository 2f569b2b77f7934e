/**
 * A TCP proxy in front of one broker that turns every Produce request into a wire-level
 * retry: it forwards the request bytes twice (same producer id, epoch and sequence, as a
 * client does after a lost response) and hands the client only the first response. The
 * second response is decoded and kept so a test can check the broker acknowledged the
 * duplicate with the original offset instead of appending it again.
 *
 * With `dropAcks` it duplicates nothing and instead loses chosen Produce responses: the broker
 * appended the records, and the client sees its connection drop before the answer (an ambiguous
 * failure, which a client retries by sending the records again).
 *
 * Clients learn broker addresses from Metadata responses; the proxy rewrites the port there
 * so every connection, not only the bootstrap one, goes through it.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { FrameSplitter, WireReader, peekRequestHeader } from './kafka-wire.js';

const PRODUCE = 0;
const METADATA = 3;

export interface ProduceAck { topic: string; partition: number; errorCode: number; baseOffset: bigint }

export interface RetryProxy {
  readonly port: number;
  readonly address: string;
  /** Responses to the original Produce requests (what the client saw). */
  readonly originals: ProduceAck[];
  /** Responses to the duplicated Produce requests (swallowed by the proxy). */
  readonly duplicates: ProduceAck[];
  /** With `dropAcks`: responses the broker sent and the client never got (its connection dropped). */
  readonly dropped: ProduceAck[];
  close(): Promise<void>;
}

export interface RetryProxyOptions {
  /**
   * Lose the response of every `every`-th Produce request to a topic `topics` matches (its first
   * topic), `max` times in all: the proxy drops the client's connection instead of answering.
   */
  dropAcks?: { topics: (topic: string) => boolean; every: number; max: number };
}

interface Pending { apiKey: number; apiVersion: number; duplicate: boolean }

/** Flexible (compact) encodings start at Produce v9 and Metadata v9. */
const isFlexible = (apiKey: number, version: number): boolean =>
  (apiKey === PRODUCE || apiKey === METADATA) && version >= 9;

/** Reads acks from a Produce request payload; header v1 or v2 before the body. */
function produceAcks(payload: Buffer, version: number): number {
  const r = new WireReader(payload);
  r.offset = 8;
  r.string(); // client id: a plain nullable string in both header versions
  if (isFlexible(PRODUCE, version)) {
    r.skipTaggedFields();
    r.compactString(); // transactional id
  } else if (version >= 3) {
    r.string();
  }
  return r.int16();
}

function decodeProduceResponse(payload: Buffer, version: number): ProduceAck[] {
  const flexible = isFlexible(PRODUCE, version);
  const r = new WireReader(payload);
  r.offset = 4;
  if (flexible) r.skipTaggedFields();
  const acks: ProduceAck[] = [];
  const topics = flexible ? r.uvarint() - 1 : r.int32();
  for (let t = 0; t < topics; t++) {
    const topic = (flexible ? r.compactString() : r.string()) ?? '';
    const partitions = flexible ? r.uvarint() - 1 : r.int32();
    // Only the first partition of the first topic is decoded: the fields after base_offset
    // vary by version and the tests send one partition per request.
    if (partitions > 0) {
      const partition = r.int32();
      const errorCode = r.int16();
      const baseOffset = r.int64();
      acks.push({ topic, partition, errorCode, baseOffset });
    }
    break;
  }
  return acks;
}

/** Rewrites every advertised broker port in a Metadata response to the proxy's port, in place. */
function rewriteMetadataPorts(payload: Buffer, version: number, port: number): void {
  const flexible = isFlexible(METADATA, version);
  const r = new WireReader(payload);
  r.offset = 4;
  if (flexible) r.skipTaggedFields();
  if (version >= 3) r.int32(); // throttle_time_ms
  const brokers = flexible ? r.uvarint() - 1 : r.int32();
  for (let i = 0; i < brokers; i++) {
    r.int32(); // node id
    if (flexible) r.compactString(); else r.string();
    payload.writeInt32BE(port, r.offset);
    r.int32();
    if (version >= 1) { if (flexible) r.compactString(); else r.string(); } // rack
    if (flexible) r.skipTaggedFields();
  }
}

export async function startRetryProxy(target: { host: string; port: number }, options: RetryProxyOptions = {}): Promise<RetryProxy> {
  const originals: ProduceAck[] = [];
  const duplicates: ProduceAck[] = [];
  const dropped: ProduceAck[] = [];
  const drop = options.dropAcks;
  let matching = 0;
  const sockets = new Set<Socket>();
  let proxyPort = 0;

  const server: Server = createServer((client) => {
    const upstream = connect({ host: target.host, port: target.port });
    sockets.add(client);
    sockets.add(upstream);
    const pending: Pending[] = [];
    const fromClient = new FrameSplitter();
    const fromBroker = new FrameSplitter();
    const frame = (payload: Buffer): Buffer => {
      const size = Buffer.alloc(4);
      size.writeInt32BE(payload.length);
      return Buffer.concat([size, payload]);
    };

    client.on('data', (chunk: Buffer) => {
      for (const payload of fromClient.push(chunk)) {
        const { apiKey, apiVersion } = peekRequestHeader(payload);
        const bytes = frame(payload);
        if (apiKey === PRODUCE) {
          // acks=0 requests get no response, so there is nothing to pair or swallow.
          if (produceAcks(payload, apiVersion) === 0) { upstream.write(bytes); continue; }
          if (drop) { pending.push({ apiKey, apiVersion, duplicate: false }); upstream.write(bytes); continue; }
          pending.push({ apiKey, apiVersion, duplicate: false }, { apiKey, apiVersion, duplicate: true });
          upstream.write(bytes);
          upstream.write(bytes);
          continue;
        }
        pending.push({ apiKey, apiVersion, duplicate: false });
        upstream.write(bytes);
      }
    });

    upstream.on('data', (chunk: Buffer) => {
      for (const payload of fromBroker.push(chunk)) {
        const req = pending.shift();
        if (!req) { client.destroy(new Error('retry proxy: response without a request')); return; }
        if (req.apiKey === METADATA) rewriteMetadataPorts(payload, req.apiVersion, proxyPort);
        if (req.apiKey === PRODUCE) {
          const acks = decodeProduceResponse(payload, req.apiVersion);
          if (drop && acks[0] !== undefined && drop.topics(acks[0].topic) && ++matching % drop.every === 0 && dropped.length < drop.max) {
            dropped.push(...acks);
            client.destroy();
            upstream.destroy();
            return;
          }
          (req.duplicate ? duplicates : originals).push(...acks);
          if (req.duplicate) continue;
        }
        client.write(frame(payload));
      }
    });

    const teardown = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', teardown);
    upstream.on('close', teardown);
    client.on('error', teardown);
    upstream.on('error', teardown);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('retry proxy: no TCP address');
  proxyPort = addr.port;

  return {
    port: proxyPort,
    address: `127.0.0.1:${proxyPort}`,
    originals,
    duplicates,
    dropped,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
