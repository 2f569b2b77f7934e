/*
 * DescribeConfigs (key 32), v0-4; flexible from v4 (Kafka 4 clients ask for v4).
 *   Request  => [resources => resource_type INT8 resource_name STRING [configuration_keys STRING] (nullable) TAG_BUFFER]
 *               include_synonyms BOOLEAN (v1+) include_documentation BOOLEAN (v3+) TAG_BUFFER
 *   Response => throttle_time_ms INT32
 *               [results => error_code INT16 error_message NULLABLE_STRING resource_type INT8 resource_name STRING
 *                 [configs => name STRING value NULLABLE_STRING read_only BOOLEAN is_default BOOLEAN (v0)
 *                   config_source INT8 (v1+) is_sensitive BOOLEAN
 *                   [synonyms => name STRING value NULLABLE_STRING source INT8 TAG_BUFFER] (v1+)
 *                   config_type INT8 (v3+) documentation NULLABLE_STRING (v3+) TAG_BUFFER] TAG_BUFFER] TAG_BUFFER
 */
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { ApiDef } from './types.js';

export const ResourceType = { TOPIC: 2, BROKER: 4 } as const;
/** config_source values (v1+). */
export const ConfigSource = { DYNAMIC_TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const;

export interface DescribeConfigsRequest {
  resources: { resourceType: number; resourceName: string; keys: string[] | null }[];
}
export interface DescribedConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  source: number;
}
export interface DescribeConfigsResponse {
  results: { errorCode: number; errorMessage: string | null; resourceType: number; resourceName: string; configs: DescribedConfig[] }[];
}

function decode(r: Reader, v: number): DescribeConfigsRequest {
  const resources = r.array((r) => {
    const resource = { resourceType: r.int8(), resourceName: r.string(), keys: r.nullableArray((r) => r.string()) };
    r.tags();
    return resource;
  });
  if (v >= 1) r.bool();
  if (v >= 3) r.bool();
  r.tags();
  return { resources };
}

function encode(w: Writer, v: number, res: DescribeConfigsResponse): void {
  w.int32(0);
  w.array(res.results, (w, x) => {
    w.int16(x.errorCode).nullableString(x.errorMessage).int8(x.resourceType).string(x.resourceName);
    w.array(x.configs, (w, c) => {
      w.string(c.name).nullableString(c.value).bool(c.readOnly);
      if (v === 0) w.bool(c.isDefault);
      else w.int8(c.source);
      w.bool(false);
      if (v >= 1) w.array([], () => {});
      // config_type UNKNOWN (0), no documentation.
      if (v >= 3) w.int8(0).nullableString(null);
      w.tags();
    });
    w.tags();
  });
  w.tags();
}

export const describeConfigsApi: ApiDef<DescribeConfigsRequest, DescribeConfigsResponse> = {
  key: 32,
  name: 'DescribeConfigs',
  minVersion: 0,
  maxVersion: 4,
  flexibleFrom: 4,
  decode,
  encode,
};
