// DescribeConfigs on the wire: what @platformatic/kafka sends decodes here, and what the dev
// broker answers parses there. The broker serves v0-4: @platformatic/kafka 1.x's "v2" is v3's
// layout (include_documentation, config_type, documentation), so a broker stopping at v2, as the
// dev broker did, made its describeConfigs fail; v4 is what the client picks against Kafka 4.
import { describe, expect, it } from 'vitest';
import { Reader as ClientReader, describeConfigsV3, describeConfigsV4 } from '@platformatic/kafka';
import { describeConfigsApi, type DescribeConfigsResponse } from '../../../src/broker/apis/describe-configs.js';
import { Reader } from '../../../src/broker/protocol/reader.js';
import { Writer } from '../../../src/broker/protocol/writer.js';

const resources: Array<{ resourceType: 2; resourceName: string; configurationKeys: string[] }> = [{ resourceType: 2, resourceName: 'app.count.changelog', configurationKeys: ['cleanup.policy'] }, { resourceType: 2, resourceName: 'other', configurationKeys: [] }];
const response: DescribeConfigsResponse = {
  results: [
    { errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'app.count.changelog', configs: [{ name: 'cleanup.policy', value: 'compact', readOnly: false, isDefault: false, source: 1 }] },
    { errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'other', configs: [{ name: 'retention.ms', value: '604800000', readOnly: false, isDefault: true, source: 5 }] },
  ],
};

describe.each([
  { version: 3, client: describeConfigsV3 },
  { version: 4, client: describeConfigsV4 },
])('DescribeConfigs v$version', ({ version, client }) => {
  it('is served', () => expect(describeConfigsApi.maxVersion).toBeGreaterThanOrEqual(version));
  const flexible = version >= describeConfigsApi.flexibleFrom;

  it("decodes @platformatic/kafka's request", () => {
    const body = client.createRequest(resources, false, false).buffer;
    const r = new Reader(body, flexible);
    const req = describeConfigsApi.decode(r, version);
    expect(req.resources).toEqual([
      { resourceType: 2, resourceName: 'app.count.changelog', keys: ['cleanup.policy'] },
      { resourceType: 2, resourceName: 'other', keys: [] },
    ]);
  });

  it('answers what @platformatic/kafka parses', () => {
    const w = new Writer(flexible);
    describeConfigsApi.encode(w, version, response);
    const parsed = client.parseResponse(1, 32, version, ClientReader.from(w.result())) as { results: Array<{ resourceName: string; configs: Array<{ name: string; value: string | null; configSource: number }> }> };
    expect(parsed.results.map((x) => [x.resourceName, x.configs.map((c) => [c.name, c.value, c.configSource])])).toEqual([
      ['app.count.changelog', [['cleanup.policy', 'compact', 1]]],
      ['other', [['retention.ms', '604800000', 5]]],
    ]);
  });
});
