/** Topic configuration: the keys the broker honours, their defaults, and validation. */
export interface TopicConfig {
  'cleanup.policy': string;
  'retention.ms': number;
  'retention.bytes': number;
  'segment.bytes': number;
  'segment.ms': number;
  'delete.retention.ms': number;
  'min.compaction.lag.ms': number;
  'max.message.bytes': number;
  'message.timestamp.type': string;
}

export const defaultTopicConfig: TopicConfig = {
  'cleanup.policy': 'delete',
  'retention.ms': 7 * 24 * 3600 * 1000,
  'retention.bytes': -1,
  'segment.bytes': 64 * 1024 * 1024,
  'segment.ms': 7 * 24 * 3600 * 1000,
  'delete.retention.ms': 24 * 3600 * 1000,
  'min.compaction.lag.ms': 0,
  'max.message.bytes': 1048588,
  'message.timestamp.type': 'CreateTime',
};

const numeric = new Set<keyof TopicConfig>([
  'retention.ms',
  'retention.bytes',
  'segment.bytes',
  'segment.ms',
  'delete.retention.ms',
  'min.compaction.lag.ms',
  'max.message.bytes',
]);

/** Merge client-supplied config entries over defaults; returns an error message for a bad entry. */
export function parseTopicConfig(
  entries: Record<string, string | null>,
  base: TopicConfig = defaultTopicConfig,
): { config: TopicConfig } | { error: string } {
  const config: TopicConfig = { ...base };
  for (const [key, raw] of Object.entries(entries)) {
    if (raw === null) continue;
    if (!(key in defaultTopicConfig)) continue; // unknown keys are accepted and ignored, as a dev convenience
    const k = key as keyof TopicConfig;
    if (numeric.has(k)) {
      const n = Number(raw);
      if (!Number.isFinite(n)) return { error: `invalid value ${raw} for ${key}` };
      (config as unknown as Record<string, number>)[k] = n;
    } else if (k === 'cleanup.policy') {
      const parts = raw.split(',').map((p) => p.trim());
      if (parts.some((p) => p !== 'delete' && p !== 'compact')) return { error: `invalid cleanup.policy ${raw}` };
      config[k] = parts.join(',');
    } else {
      (config as unknown as Record<string, string>)[k] = raw;
    }
  }
  if (config['segment.bytes'] < 1024) return { error: 'segment.bytes must be at least 1024' };
  return { config };
}

export function isCompacted(config: TopicConfig): boolean {
  return config['cleanup.policy'].split(',').includes('compact');
}
export function isDeleteRetention(config: TopicConfig): boolean {
  return config['cleanup.policy'].split(',').includes('delete');
}

export const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
export function validTopicName(name: string): boolean {
  return TOPIC_NAME.test(name) && name !== '.' && name !== '..';
}
