/**
 * A wire-level stand-in for NebulaGraph's graphd, for the nebula dialect's tests on machines
 * where NebulaGraph cannot run. It speaks the graph service's Thrift (binary protocol, framed):
 * verifyClientVersion, authenticate (checks the password), execute and signout. It does NOT
 * execute nGQL: it records every statement, answers DESCRIBE TAG/EDGE from a given schema, and
 * refuses statements matching `refuse` with E_EXECUTION_ERROR (-1005) as graphd does for a value
 * its schema rejects. Everything else succeeds.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { decodeMessage, encodeReply, takeFrames, text, type ArgField } from '../../src/connectors/graph/nebula-wire.js';
import { freePort } from './redis.js';

export interface StandInGraphd {
  readonly address: string;
  /** Each execute request's statement text, in arrival order. */
  readonly requests: string[];
  /** Statements (split on ';') of the requests that succeeded. */
  readonly applied: string[];
  refuse: RegExp | undefined;
  /** Stop listening and drop every connection (graphd down); start() listens on the same port again. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** schema: tag or edge name -> property names. */
export async function startStandInGraphd(password: string, schema: Record<string, string[]>): Promise<StandInGraphd> {
  const port = await freePort();
  const requests: string[] = [];
  const applied: string[] = [];
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let refuse: RegExp | undefined;

  const execute = (stmt: string): ArgField[] => {
    requests.push(stmt);
    const statements = stmt.split(/;\n|; /);
    const describe = /^DESCRIBE (?:TAG|EDGE) `([^`]+)`$/.exec(statements.at(-1) ?? '');
    if (describe) {
      const props = schema[describe[1]!];
      if (!props) return [{ id: 1, type: 'i32', value: -1005 }, { id: 5, type: 'binary', value: `${describe[1]} not found` }];
      const rows = props.map((p): ArgField => ({ id: 0, type: 'struct', value: [{ id: 1, type: 'list', value: [{ id: 0, type: 'struct', value: [{ id: 5, type: 'binary', value: p }] }] }] }));
      return [{ id: 1, type: 'i32', value: 0 }, { id: 2, type: 'i64', value: 1n },
        { id: 3, type: 'struct', value: [{ id: 1, type: 'list', value: [{ id: 0, type: 'binary', value: 'Field' }] }, { id: 2, type: 'list', value: rows }] }];
    }
    const bad = refuse ? statements.find((s) => refuse!.test(s)) : undefined;
    if (bad !== undefined) {
      // graphd stops at the failing statement: the ones before it are applied.
      applied.push(...statements.slice(0, statements.indexOf(bad)));
      return [{ id: 1, type: 'i32', value: -1005 }, { id: 2, type: 'i64', value: 1n }, { id: 5, type: 'binary', value: 'Storage Error: The data type does not meet the requirements. Use the correct type of data.' }];
    }
    applied.push(...statements);
    return [{ id: 1, type: 'i32', value: 0 }, { id: 2, type: 'i64', value: 1n }];
  };

  const handle = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let inbox: Buffer = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      const { frames, rest } = takeFrames(Buffer.concat([inbox, d]));
      inbox = rest;
      for (const frame of frames) {
        const { name, seqid, body } = decodeMessage(frame);
        if (name === 'signout') continue;
        let result: ArgField[];
        if (name === 'verifyClientVersion') result = [{ id: 1, type: 'i32', value: 0 }];
        else if (name === 'authenticate') {
          result = text(body.get(2)) === password
            ? [{ id: 1, type: 'i32', value: 0 }, { id: 3, type: 'i64', value: 7n }]
            : [{ id: 1, type: 'i32', value: -1001 }, { id: 2, type: 'binary', value: 'Invalid password' }];
        } else result = execute(text(body.get(2)));
        socket.write(encodeReply(name, seqid, result));
      }
    });
  };

  const start = (): Promise<void> => new Promise((resolve, reject) => {
    const s = createServer(handle);
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => { server = s; resolve(); });
  });
  const stop = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await start();
  return {
    address: `127.0.0.1:${port}`,
    requests,
    applied,
    get refuse() { return refuse; },
    set refuse(r) { refuse = r; },
    stop,
    start,
    close: stop,
  };
}
