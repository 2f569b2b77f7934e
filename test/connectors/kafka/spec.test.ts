import { describe, expect, it } from 'vitest';
import { parseBrokers } from '../../../src/kafka/create-client.js';
import { KafkaSink, defaultKeyBytes } from '../../../src/connectors/kafka/sink.js';
import { kafkaSinkSpec, type KafkaSinkConfig } from '../../../src/connectors/kafka/spec.js';
import { createSink } from '../../../src/connectors/registry.js';
import { validateSpec, type ValidationContext } from '../../../src/core/spec.js';
import { parseYaml } from '../../../src/topology/yaml-tree.js';

function check(yaml: string, env: Record<string, string> = {}) {
  const parsed = parseYaml(yaml, 'sink.yaml', env);
  const ctx: ValidationContext = { file: 'sink.yaml', errors: [...parsed.errors], interpolated: new Map() };
  const value = validateSpec(kafkaSinkSpec, parsed.root, ctx) as KafkaSinkConfig;
  return { value, errors: ctx.errors.map((e) => e.message) };
}

describe('kafka sink config', () => {
  it('fills defaults and takes brokers from ${KAFKA_BROKERS} as a comma list', () => {
    const { value, errors } = check('brokers: ${KAFKA_BROKERS}\ntopic: features\nkey: "{user_id}"\n', { KAFKA_BROKERS: 'a:9092, b:9093' });
    expect(errors).toEqual([]);
    expect(value).toMatchObject({ topic: 'features', key: '{user_id}', format: 'json', acks: 'all', compression: 'none' });
    expect(value.linger).toBeUndefined();
    expect(check('brokers: h:1\ntopic: t\nlinger: 5ms\n').value.linger).toBe(5);
    expect(parseBrokers(value.brokers, 'x')).toEqual(['a:9092', 'b:9093']);
  });

  it('accepts a broker list and acks: 1 as written in YAML', () => {
    const { value, errors } = check('brokers: [h1:9092, "h2:9092,h3:9092"]\ntopic: t\nacks: 1\n');
    expect(errors).toEqual([]);
    expect(value.acks).toBe('1');
    expect(parseBrokers(value.brokers, 'x')).toEqual(['h1:9092', 'h2:9092', 'h3:9092']);
  });

  it('rejects unknown fields and bad acks with the file position', () => {
    expect(check('brokers: h:1\ntopic: t\nack: all\n').errors.join('\n')).toMatch(/sink\.yaml:3:1: .*ack.*did you mean 'acks'/);
    expect(check('brokers: h:1\ntopic: t\nacks: 2\n').errors.join('\n')).toMatch(/sink\.yaml:3:7: .*write all or 1/);
  });

  it('refuses brokers that are not host:port, and malformed templates, when the sink is created', () => {
    expect(() => parseBrokers('', 'kafka sink')).toThrow(/brokers is empty/);
    expect(() => parseBrokers(['localhost'], 'kafka sink')).toThrow(/broker 'localhost' is not host:port/);
    expect(() => parseBrokers([9092], 'kafka sink')).toThrow(/must be "host:port" strings/);
    expect(parseBrokers('[::1]:9092', 'x')).toEqual(['[::1]:9092']);
    const base = { brokers: 'h:1', topic: 't', format: 'json', acks: 'all', compression: 'none' } as const;
    expect(() => new KafkaSink('s', { ...base, key: '{user_id' })).toThrow(/unclosed '\{'/);
    expect(() => new KafkaSink('s', { ...base, headers: { h: '}' } })).toThrow(/unmatched '\}'/);
  });

  it('is created from the registry without connecting', async () => {
    const sink = await createSink('out', 'kafka', { brokers: '127.0.0.1:1', topic: 't', format: 'json', acks: 'all', compression: 'none' });
    expect(sink).toBeInstanceOf(KafkaSink);
  });

  it('refuses the retired client: field (one Kafka client now) with the file position', () => {
    expect(check('brokers: h:1\ntopic: t\nclient: kafkajs\n').errors.join('\n')).toMatch(/sink\.yaml:3:1: .*unknown field 'client'/);
  });

  it('encodes the record key as text, or JSON for non-text keys', () => {
    expect(defaultKeyBytes(null)).toBeNull();
    expect(defaultKeyBytes('dev-1')!.toString()).toBe('dev-1');
    expect(defaultKeyBytes(7)!.toString()).toBe('7');
    expect(defaultKeyBytes(['u1', 3])!.toString()).toBe('["u1",3]');
  });
});
