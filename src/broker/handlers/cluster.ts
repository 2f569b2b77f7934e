/** Metadata, FindCoordinator, topic administration, configs and producer ids. */
import type { CreatePartitionsRequest, CreatePartitionsResponse } from '../apis/create-partitions.js';
import type { CreateTopicsRequest, CreateTopicsResponse } from '../apis/create-topics.js';
import type { DeleteTopicsRequest, DeleteTopicsResponse } from '../apis/delete-topics.js';
import { ConfigSource, ResourceType, type DescribeConfigsRequest, type DescribeConfigsResponse, type DescribedConfig } from '../apis/describe-configs.js';
import type { FindCoordinatorRequest, FindCoordinatorResponse } from '../apis/find-coordinator.js';
import type { InitProducerIdRequest, InitProducerIdResponse } from '../apis/init-producer-id.js';
import type { MetadataRequest, MetadataResponse, MetadataTopic } from '../apis/metadata.js';
import { KafkaError } from '../protocol/error-codes.js';
import { validTopicName } from '../storage/topic-config.js';
import type { BrokerContext } from './context.js';

const TRANSACTIONS_UNSUPPORTED = 'transactions are not supported by the tributary dev broker';

function describeTopic(ctx: BrokerContext, name: string): MetadataTopic {
  const topic = ctx.store.topics.get(name);
  if (!topic) return { errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION, name, partitions: [] };
  return {
    errorCode: 0,
    name,
    partitions: topic.partitions.map((_, i) => ({ errorCode: 0, partitionIndex: i, leaderId: ctx.nodeId })),
  };
}

export function handleMetadata(ctx: BrokerContext, req: MetadataRequest): MetadataResponse {
  const names = req.topics ?? [...ctx.store.topics.keys()].sort();
  const topics = names.map((name) => {
    if (!ctx.store.topics.has(name)) {
      if (!validTopicName(name)) return { errorCode: KafkaError.INVALID_TOPIC_EXCEPTION, name, partitions: [] };
      if (ctx.autoCreateTopics && req.allowAutoTopicCreation) ctx.store.createTopic(name, ctx.defaultPartitions, {});
    }
    return describeTopic(ctx, name);
  });
  return { brokers: [{ nodeId: ctx.nodeId, host: ctx.host, port: ctx.port }], clusterId: ctx.clusterId, controllerId: ctx.nodeId, topics };
}

export function handleFindCoordinator(ctx: BrokerContext, req: FindCoordinatorRequest): FindCoordinatorResponse {
  const transaction = req.keyType === 1;
  return {
    coordinators: req.keys.map((key) => ({
      key,
      nodeId: transaction ? -1 : ctx.nodeId,
      host: transaction ? '' : ctx.host,
      port: transaction ? -1 : ctx.port,
      errorCode: transaction ? KafkaError.UNSUPPORTED_VERSION : 0,
      errorMessage: transaction ? TRANSACTIONS_UNSUPPORTED : null,
    })),
  };
}

export function handleCreateTopics(ctx: BrokerContext, req: CreateTopicsRequest): CreateTopicsResponse {
  return {
    topics: req.topics.map((t) => {
      const partitions = t.numPartitions === -1 ? ctx.defaultPartitions : t.numPartitions;
      const out = { name: t.name, topicId: undefined as Buffer | undefined, errorCode: 0, errorMessage: null as string | null, numPartitions: partitions, configs: [] as { name: string; value: string }[] };
      // Kafka's checks and messages (a client sizes its replication factor by them: min(3, brokers)).
      if (t.assignments === 0 && (t.replicationFactor === 0 || t.replicationFactor < -1)) {
        return { ...out, errorCode: KafkaError.INVALID_REPLICATION_FACTOR, errorMessage: 'Replication factor must be larger than 0, or -1 to use the default value.' };
      }
      if (t.assignments === 0 && t.replicationFactor > 1) {
        return {
          ...out,
          errorCode: KafkaError.INVALID_REPLICATION_FACTOR,
          errorMessage: `Unable to replicate the partition ${t.replicationFactor} time(s): The target replication factor of ${t.replicationFactor} cannot be reached because only 1 broker(s) are registered.`,
        };
      }
      if (t.assignments > 0 && t.numPartitions === -1) out.numPartitions = t.assignments;
      if (req.validateOnly) {
        if (ctx.store.topics.has(t.name)) return { ...out, errorCode: KafkaError.TOPIC_ALREADY_EXISTS, errorMessage: `topic '${t.name}' already exists` };
        if (!validTopicName(t.name)) return { ...out, errorCode: KafkaError.INVALID_TOPIC_EXCEPTION, errorMessage: `invalid topic name '${t.name}'` };
        return out;
      }
      const r = ctx.store.createTopic(t.name, out.numPartitions, t.configs);
      const topic = ctx.store.topics.get(t.name);
      if (r.error === 0 && topic) {
        out.topicId = topic.id;
        out.configs = Object.entries(topic.config).map(([name, value]) => ({ name, value: String(value) }));
      }
      return { ...out, errorCode: r.error, errorMessage: r.message ?? null };
    }),
  };
}

export function handleDeleteTopics(ctx: BrokerContext, req: DeleteTopicsRequest): DeleteTopicsResponse {
  return {
    topics: req.topics.map((t) => {
      let name = t.name;
      if (name === null && t.topicId) {
        for (const topic of ctx.store.topics.values()) if (topic.id.equals(t.topicId)) name = topic.name;
      }
      const topic = name === null ? undefined : ctx.store.topics.get(name);
      if (name === null || !topic) {
        return { name, topicId: t.topicId ?? undefined, errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'unknown topic' };
      }
      const topicId = topic.id;
      const errorCode = ctx.store.deleteTopic(name);
      if (errorCode === 0) ctx.onTopicDeleted(name);
      return { name, topicId, errorCode, errorMessage: null };
    }),
  };
}

export function handleCreatePartitions(ctx: BrokerContext, req: CreatePartitionsRequest): CreatePartitionsResponse {
  return {
    results: req.topics.map((t) => {
      const topic = ctx.store.topics.get(t.name);
      if (req.validateOnly) {
        if (!topic) return { name: t.name, errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'unknown topic' };
        if (t.count <= topic.partitions.length) return { name: t.name, errorCode: KafkaError.INVALID_PARTITIONS, errorMessage: 'count must be larger' };
        return { name: t.name, errorCode: 0, errorMessage: null };
      }
      const r = ctx.store.createPartitions(t.name, t.count);
      return { name: t.name, errorCode: r.error, errorMessage: r.message ?? null };
    }),
  };
}

export function handleDescribeConfigs(ctx: BrokerContext, req: DescribeConfigsRequest): DescribeConfigsResponse {
  return {
    results: req.resources.map((res) => {
      const base = { errorCode: 0, errorMessage: null as string | null, resourceType: res.resourceType, resourceName: res.resourceName, configs: [] as DescribedConfig[] };
      if (res.resourceType === ResourceType.BROKER) {
        const broker: Record<string, string> = {
          'auto.create.topics.enable': String(ctx.autoCreateTopics),
          'num.partitions': String(ctx.defaultPartitions),
          'default.replication.factor': '1',
        };
        base.configs = Object.entries(broker)
          .filter(([k]) => !res.keys || res.keys.length === 0 || res.keys.includes(k))
          .map(([name, value]) => ({ name, value, readOnly: true, isDefault: false, source: ConfigSource.STATIC_BROKER_CONFIG }));
        return base;
      }
      if (res.resourceType !== ResourceType.TOPIC) {
        return { ...base, errorCode: KafkaError.INVALID_REQUEST, errorMessage: `unsupported resource type ${res.resourceType}` };
      }
      const topic = ctx.store.topics.get(res.resourceName);
      if (!topic) return { ...base, errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `unknown topic '${res.resourceName}'` };
      base.configs = Object.entries(topic.config)
        .filter(([k]) => !res.keys || res.keys.length === 0 || res.keys.includes(k))
        .map(([name, value]) => {
          const overridden = name in topic.overrides;
          return {
            name,
            value: String(value),
            readOnly: false,
            isDefault: !overridden,
            source: overridden ? ConfigSource.DYNAMIC_TOPIC_CONFIG : ConfigSource.DEFAULT_CONFIG,
          };
        });
      return base;
    }),
  };
}

export function handleInitProducerId(ctx: BrokerContext, req: InitProducerIdRequest): InitProducerIdResponse {
  if (req.transactionalId !== null) {
    ctx.logger.warn(TRANSACTIONS_UNSUPPORTED, { transactionalId: req.transactionalId });
    return { errorCode: KafkaError.UNSUPPORTED_VERSION, producerId: -1, producerEpoch: -1 };
  }
  // A client re-initialising its own id (v3+) gets the next epoch, which resets its sequences.
  if (req.producerId >= 0 && req.producerEpoch >= 0 && req.producerEpoch < 32767) {
    return { errorCode: 0, producerId: req.producerId, producerEpoch: req.producerEpoch + 1 };
  }
  return { errorCode: 0, producerId: ctx.producerIds.allocate(), producerEpoch: 0 };
}
