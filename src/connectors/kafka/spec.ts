import { writeFormatSpec } from '../../formats/spec.js';
import { s, type Infer } from '../../core/spec.js';

const brokersSpec = s.any().describe(
  'Bootstrap brokers: a list of "host:port", or one comma-separated string (e.g. ${KAFKA_BROKERS})',
);

export const kafkaSinkSpec = s.object({
  brokers: brokersSpec,
  topic: s.string({ minLength: 1 }).describe('Topic to write to; it must exist, except the topic of a sink reading `dlq` on the sources\' cluster, which Kafka mode creates (spec.kafka.internalTopics.dlq)'),
  key: s.string().optional()
    .describe('Record key template: {field} from the row, {key} the record key, e.g. "{user_id}:{window_start}". Default: the record key'),
  format: writeFormatSpec,
  headers: s.record(s.string()).optional().describe('Header name → template (as for key)'),
  acks: s.string({ pattern: '^(all|1)$', patternHint: "write all or 1" }).default('all')
    .describe('all = every in-sync replica has the batch before a flush succeeds; 1 = the leader only'),
  clientId: s.string({ minLength: 1 }).optional().describe('Client id the broker sees; default tributary-<sink id>'),
  compression: s.enum(['none', 'gzip'] as const).default('none').describe('Batch compression'),
  linger: s.duration({ min: 0 }).optional()
    .describe("Produce once the oldest buffered record has waited this long (like the producer's linger.ms), e.g. \"5ms\". Default: none: a produce starts when a batch is full or at the checkpoint"),
});
export type KafkaSinkConfig = Infer<typeof kafkaSinkSpec>;

export const kafkaSourceSpec = s.object({
  brokers: brokersSpec,
  topic: s.string({ minLength: 1 }).describe('Topic to read; every topic a topology reads from Kafka must have the same partition count (tasks are partition numbers)'),
  clientId: s.string({ minLength: 1 }).optional().describe('Client id the broker sees; default tributary-<app id>'),
  startFrom: s.enum(['committed', 'earliest', 'latest'] as const).default('committed')
    .describe("Where a partition starts: the group's committed offset (else autoOffsetReset), or always earliest/latest. Replays use run --from-timestamp / --from-offsets"),
  autoOffsetReset: s.enum(['earliest', 'latest'] as const).default('earliest')
    .describe('Where a partition the group never committed starts'),
  partitionKey: s.string({ minLength: 1 }).optional()
    .describe("The expression the topic is keyed by (murmur2 of its bytes, like the Java client): a keyBy with exactly this expression needs no repartition topic"),
  sessionTimeout: s.duration({ min: 1000 }).default(10_000).describe("How long until a dead worker's partitions move to another"),
});
export type KafkaSourceConfig = Infer<typeof kafkaSourceSpec>;
