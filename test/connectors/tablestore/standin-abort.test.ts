/** The stand-in outlives a client killed mid-request, as the crash tests' kill -9 does. */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TablestoreStandin } from '../../helpers/tablestore-standin.js';

describe('tablestore stand-in', () => {
  it('a request whose client dies mid-body leaves no unhandled rejection', async () => {
    const standin = await TablestoreStandin.start();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const port = Number(new URL(standin.endpoint).port);
      const socket = connect(port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.write('POST /BatchWriteRow HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789');
      await new Promise((r) => setTimeout(r, 100));
      socket.destroy();
      await new Promise((r) => setTimeout(r, 300));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await standin.stop();
    }
  });
});
