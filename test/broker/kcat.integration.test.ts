// A librdkafka-based client (kcat) against real Kafka and the dev broker: produce, consume,
// group consume and offsets by timestamp. kcat must be installed (scripts/install-kcat.sh); when it is not,
// every test fails at its first kcat call with instructions (runKcat/startKcat), never skips.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { uniqueName, waitFor } from '../helpers/broker.js';
import { describeOnBrokers } from '../helpers/kafka.js';
import { platformaticAdapter } from '../helpers/kafka-client-platformatic.js';
import type { KafkaTestClient } from '../helpers/kafka-clients.js';
import { runKcat, startKcat } from '../helpers/kcat.js';

// %p partition, %o offset, %k key, %s value, %T timestamp (ms).
const FORMAT = '%p|%o|%k|%s|%T\\n';

interface Line { partition: number; offset: bigint; key: string; value: string; timestamp: number }
function parse(lines: string[]): Line[] {
  return lines.map((l) => {
    const [p, o, k, v, t] = l.split('|');
    return { partition: Number(p), offset: BigInt(o), key: k, value: v, timestamp: Number(t) };
  });
}
const out = (stdout: string): string[] => stdout.split('\n').filter((l) => l.length > 0);

describeOnBrokers('kcat (librdkafka)', (kafka, backend) => {
  let client: KafkaTestClient;
  let broker: string;

  beforeAll(async () => {
    broker = kafka().brokers.join(',');
    client = platformaticAdapter.connect(kafka().brokers);
  });

  afterAll(async () => {
    await client?.close();
  });

  it('produces keyed records with kcat -P that @platformatic/kafka reads back in order', async () => {
    const topic = uniqueName('kcat-produce');
    await client.createTopic(topic, 1);
    const input = Array.from({ length: 20 }, (_, i) => `key${i}:value ${i}`).join('\n') + '\n';
    const res = await runKcat(['-P', '-b', broker, '-t', topic, '-K', ':', '-X', 'acks=all'], { input });
    expect(res.code, res.stderr).toBe(0);
    const got = await client.consume({ topic, from: { kind: 'earliest' }, count: 20 });
    expect(got.map((r) => [r.key, r.value])).toEqual(Array.from({ length: 20 }, (_, i) => [`key${i}`, `value ${i}`]));
  });

  it('consumes from the beginning with kcat -C -o beginning -e and exits at the end', async () => {
    const topic = uniqueName('kcat-consume');
    await client.createTopic(topic, 2);
    await client.produce(topic, Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 2 })), { acks: -1 });
    const res = await runKcat(['-C', '-b', broker, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', FORMAT]);
    expect(res.code, res.stderr).toBe(0);
    const lines = parse(out(res.stdout));
    for (const p of [0, 1]) {
      const mine = lines.filter((l) => l.partition === p);
      expect(mine.map((l) => l.offset)).toEqual([0n, 1n, 2n, 3n, 4n]);
      expect(mine.map((l) => l.value)).toEqual([0, 2, 4, 6, 8].map((i) => `v${i + p}`));
    }
  });

  // On real Kafka 4 this kcat (librdkafka 2.0.2) as a group member printed 20 of the 30 records
  // twice in one run of three and did not commit offset 10 on every partition within 10 s in
  // another: not understood yet, so it runs on the dev broker only (README "The dev broker").
  if (backend.kind === 'dev') it('consumes as a group member with kcat -G and commits its offsets (dev broker only: unsettled on real Kafka)', async () => {
    const topic = uniqueName('kcat-group');
    const group = uniqueName('kcat-g');
    await client.createTopic(topic, 3);
    await client.produce(topic, Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `g${i}`, partition: i % 3 })), { acks: -1 });
    const kcat = startKcat([
      '-b', broker, '-G', group, '-q', '-u', '-f', FORMAT, // -u: unbuffered, lines arrive while it runs
      '-X', 'auto.offset.reset=earliest', '-X', 'auto.commit.interval.ms=200', '-X', 'session.timeout.ms=6000',
      topic,
    ]);
    try {
      await waitFor(() => (kcat.lines().length >= 30 ? true : undefined), 25_000,
        () => `kcat -G printed ${kcat.lines().length} of 30 records\nstderr: ${kcat.stderr()}`);
      // Every record at least once, as a group promises: a rebalance re-delivers what was not
      // committed yet (on real Kafka kcat printed 20 of the 30 twice in one run).
      const lines = parse(kcat.lines());
      expect([...new Set(lines.map((l) => l.value))].sort()).toEqual(Array.from({ length: 30 }, (_, i) => `g${i}`).sort());
      // The group commits what it consumed: the broker reports the end of every partition.
      const committed = await waitFor(async () => {
        const m = await client.committedOffsets(group, topic);
        return [0, 1, 2].every((p) => m.get(p) === 10n) ? m : undefined;
      }, 10_000, () => 'kcat -G never committed offset 10 on all three partitions');
      expect(committed.size).toBe(3);
    } finally {
      await kcat.stop();
    }
  });

  it('starts at the first record at or after a timestamp with kcat -o s@<ms>', async () => {
    const topic = uniqueName('kcat-time');
    await client.createTopic(topic, 1);
    const t0 = Date.now() - 60_000;
    await client.produce(topic, Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, value: `t${i}`, timestamp: t0 + i * 1_000 })), { acks: -1 });
    await client.produce(topic, Array.from({ length: 4 }, (_, i) => ({ key: `k${i + 6}`, value: `t${i + 6}`, timestamp: t0 + (i + 6) * 1_000 })), { acks: -1 });
    const res = await runKcat(['-C', '-b', broker, '-t', topic, '-o', `s@${t0 + 6_500}`, '-e', '-q', '-f', FORMAT]);
    expect(res.code, res.stderr).toBe(0);
    const lines = parse(out(res.stdout));
    expect(lines.map((l) => l.value)).toEqual(['t7', 't8', 't9']);
    expect(lines.map((l) => l.offset)).toEqual([7n, 8n, 9n]);
    expect(lines[0].timestamp).toBe(t0 + 7_000);
  });
});
