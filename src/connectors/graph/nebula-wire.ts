/**
 * A minimal NebulaGraph graph-service client: Thrift binary protocol over the framed transport
 * (what graphd 3.x speaks on 9669), with the four calls a writer needs:
 *   verifyClientVersion(1: VerifyClientVersionReq {1: binary version})  -> {1: i32 error_code, 2: binary error_msg}
 *   authenticate(1: binary username, 2: binary password)               -> AuthResponse {1: i32 error_code, 2: binary error_msg, 3: i64 session_id}
 *   execute(1: i64 session_id, 2: binary stmt)                         -> ExecutionResponse {1: i32 error_code, 2: i64 latency_us, 3: DataSet data, 5: binary error_msg}
 *   signout(1: i64 session_id)                                          oneway
 * Frame: i32 length, then message: i32 (0x80010000 | type), string name, i32 seqid, args struct.
 * Replies are decoded generically (struct = Map<field id, value>), so fields we do not read
 * (plan descriptions, comments) cost nothing to keep up with.
 *
 * Why by hand: the maintained Node client (@nebula-contrib/nebula-nodejs) compiles a native addon
 * at install (binding.gyp), which the project does not allow. NOT VERIFIED against a real graphd
 * here (none can run on this machine); the codec is unit-tested, and the graph sink's nebula test
 * file runs against a real server when NEBULA_ADDRESS is set.
 */
import { Socket } from 'node:net';

const T = { STOP: 0, BOOL: 2, BYTE: 3, DOUBLE: 4, I16: 6, I32: 8, I64: 10, STRING: 11, STRUCT: 12, MAP: 13, SET: 14, LIST: 15 } as const;
const MSG = { CALL: 1, REPLY: 2, EXCEPTION: 3, ONEWAY: 4 } as const;
const VERSION_1 = 0x80010000;

export type ThriftValue = boolean | number | bigint | Buffer | ThriftStruct | ThriftValue[] | Array<[ThriftValue, ThriftValue]>;
export type ThriftStruct = Map<number, ThriftValue>;

/** A field to write: only what our calls (and the tests' stand-in replies) send. A list's elements are fields whose ids are ignored. */
export type ArgField =
  | { id: number; type: 'i32'; value: number }
  | { id: number; type: 'i64'; value: bigint }
  | { id: number; type: 'binary'; value: string }
  | { id: number; type: 'struct'; value: ArgField[] }
  | { id: number; type: 'list'; value: ArgField[] };

const TYPE_CODE = { i32: T.I32, i64: T.I64, binary: T.STRING, struct: T.STRUCT, list: T.LIST } as const;

function writeValue(f: ArgField): Buffer {
  switch (f.type) {
    case 'i32': {
      const v = Buffer.alloc(4);
      v.writeInt32BE(f.value);
      return v;
    }
    case 'i64': {
      const v = Buffer.alloc(8);
      v.writeBigInt64BE(f.value);
      return v;
    }
    case 'binary': return lengthPrefixed(Buffer.from(f.value, 'utf8'));
    case 'struct': return writeFields(f.value);
    case 'list': {
      const head = Buffer.alloc(5);
      head[0] = f.value[0] ? TYPE_CODE[f.value[0].type] : T.STRUCT;
      head.writeInt32BE(f.value.length, 1);
      return Buffer.concat([head, ...f.value.map(writeValue)]);
    }
  }
}

function writeFields(fields: ArgField[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of fields) {
    const head = Buffer.alloc(3);
    head[0] = TYPE_CODE[f.type];
    head.writeInt16BE(f.id, 1);
    parts.push(head, writeValue(f));
  }
  parts.push(Buffer.from([T.STOP]));
  return Buffer.concat(parts);
}

function lengthPrefixed(bytes: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

/** One framed CALL (or ONEWAY) message. */
export function encodeCall(name: string, seqid: number, args: ArgField[], oneway = false): Buffer {
  return encodeMessage(oneway ? MSG.ONEWAY : MSG.CALL, name, seqid, args);
}

/** One framed REPLY carrying `result` as the success field (what graphd sends; tests' stand-in uses it). */
export function encodeReply(name: string, seqid: number, result: ArgField[]): Buffer {
  return encodeMessage(MSG.REPLY, name, seqid, [{ id: 0, type: 'struct', value: result }]);
}

function encodeMessage(type: number, name: string, seqid: number, args: ArgField[]): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE((VERSION_1 | type) >>> 0);
  const seq = Buffer.alloc(4);
  seq.writeInt32BE(seqid);
  return lengthPrefixed(Buffer.concat([head, lengthPrefixed(Buffer.from(name, 'utf8')), seq, writeFields(args)]));
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  i8(): number { return this.buf.readInt8(this.take(1)); }
  i16(): number { return this.buf.readInt16BE(this.take(2)); }
  i32(): number { return this.buf.readInt32BE(this.take(4)); }
  i64(): bigint { return this.buf.readBigInt64BE(this.take(8)); }
  double(): number { return this.buf.readDoubleBE(this.take(8)); }
  bytes(): Buffer {
    const n = this.i32();
    const at = this.take(n);
    return this.buf.subarray(at, at + n);
  }
  private take(n: number): number {
    if (n < 0 || this.at + n > this.buf.length) throw new Error('thrift: truncated message');
    const at = this.at;
    this.at += n;
    return at;
  }

  value(type: number): ThriftValue {
    switch (type) {
      case T.BOOL: return this.i8() !== 0;
      case T.BYTE: return this.i8();
      case T.I16: return this.i16();
      case T.I32: return this.i32();
      case T.I64: return this.i64();
      case T.DOUBLE: return this.double();
      case T.STRING: return this.bytes();
      case T.STRUCT: return this.struct();
      case T.LIST:
      case T.SET: {
        const et = this.i8();
        const n = this.i32();
        return Array.from({ length: n }, () => this.value(et));
      }
      case T.MAP: {
        const kt = this.i8();
        const vt = this.i8();
        const n = this.i32();
        return Array.from({ length: n }, (): [ThriftValue, ThriftValue] => [this.value(kt), this.value(vt)]);
      }
      default: throw new Error(`thrift: unknown type ${type}`);
    }
  }

  struct(): ThriftStruct {
    const fields: ThriftStruct = new Map();
    for (;;) {
      const type = this.i8();
      if (type === T.STOP) return fields;
      fields.set(this.i16(), this.value(type));
    }
  }
}

export interface Reply {
  seqid: number;
  /** The result struct's field 0 (success), or an exception's message. */
  success?: ThriftStruct;
  exception?: string;
}

export interface Message {
  type: number;
  name: string;
  seqid: number;
  body: ThriftStruct;
}

/** Decodes one message (without its frame length). */
export function decodeMessage(message: Buffer): Message {
  const r = new Reader(message);
  const head = r.i32() >>> 0;
  if ((head & 0xffff0000) >>> 0 !== VERSION_1) throw new Error('thrift: not a strict binary-protocol message');
  return { type: head & 0xff, name: r.bytes().toString('utf8'), seqid: r.i32(), body: r.struct() };
}

export function decodeReply(message: Buffer): Reply {
  const { type, seqid, body } = decodeMessage(message);
  if (type === MSG.EXCEPTION) return { seqid, exception: text(body.get(1)) || 'application exception' };
  const success = body.get(0);
  return { seqid, success: success instanceof Map ? success : undefined };
}

/** Splits complete frames off the front of `buf`; `rest` is the incomplete tail. */
export function takeFrames(buf: Buffer): { frames: Buffer[]; rest: Buffer } {
  const frames: Buffer[] = [];
  let at = 0;
  while (buf.length - at >= 4) {
    const len = buf.readInt32BE(at);
    if (buf.length - at < 4 + len) break;
    frames.push(buf.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return { frames, rest: buf.subarray(at) };
}

export function text(v: ThriftValue | undefined): string {
  return Buffer.isBuffer(v) ? v.toString('utf8') : '';
}

/** A connection to graphd: one socket, calls answered by seqid. Errors reject every pending call. */
export class ThriftConnection {
  private socket: Socket | undefined;
  private seq = 0;
  private pending = new Map<number, { resolve(r: Reply): void; reject(e: Error): void }>();
  private inbox: Buffer = Buffer.alloc(0);

  constructor(private readonly host: string, private readonly port: number, private readonly timeoutMs: number) {}

  get open(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      this.socket = socket;
      const timer = setTimeout(() => socket.destroy(new Error(`connect to ${this.host}:${this.port} timed out`)), this.timeoutMs);
      socket.once('connect', () => { clearTimeout(timer); resolve(); });
      socket.on('error', (err) => { clearTimeout(timer); this.fail(err); reject(err); });
      socket.on('close', () => this.fail(new Error('connection closed')));
      socket.on('data', (d: Buffer) => this.receive(d));
      socket.connect(this.port, this.host);
    });
  }

  call(name: string, args: ArgField[]): Promise<Reply> {
    const socket = this.socket;
    if (!socket || socket.destroyed) return Promise.reject(new Error('connection closed'));
    const seqid = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => socket.destroy(new Error(`${name}: no reply within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.pending.set(seqid, {
        resolve: (r) => { clearTimeout(timer); resolve(r); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      socket.write(encodeCall(name, seqid, args));
    });
  }

  send(name: string, args: ArgField[]): void {
    if (this.socket && !this.socket.destroyed) this.socket.write(encodeCall(name, ++this.seq, args, true));
  }

  close(): void {
    this.socket?.end();
    this.socket?.destroy();
  }

  private receive(data: Buffer): void {
    const { frames, rest } = takeFrames(Buffer.concat([this.inbox, data]));
    this.inbox = rest;
    for (const message of frames) {
      try {
        const reply = decodeReply(message);
        const waiter = this.pending.get(reply.seqid);
        this.pending.delete(reply.seqid);
        waiter?.resolve(reply);
      } catch (err) {
        this.socket?.destroy(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  private fail(err: Error): void {
    const waiters = [...this.pending.values()];
    this.pending.clear();
    for (const w of waiters) w.reject(err);
  }
}
