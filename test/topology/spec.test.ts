import { describe, expect, it } from 'vitest';
import { TopologyErrors } from '../../src/core/errors.js';
import { parseConfig, s, toJsonSchema, toMarkdown, validateSpec, type Infer, type ValidationContext } from '../../src/core/spec.js';
import { parseYaml } from '../../src/topology/yaml-tree.js';

function check<S extends Parameters<typeof validateSpec>[0]>(spec: S, yaml: string, env: Record<string, string> = {}) {
  const parsed = parseYaml(yaml, 'c.yaml', env);
  const ctx: ValidationContext = { file: 'c.yaml', errors: [...parsed.errors], interpolated: new Map() };
  const value = validateSpec(spec, parsed.root, ctx);
  return { value, errors: ctx.errors.map((e) => e.message), interpolated: ctx.interpolated! };
}

const redis = s.object({
  url: s.string().describe('redis://host:port'),
  password: s.string().secret().optional(),
  ttl: s.duration().default(3 * 86_400_000),
  db: s.number({ integer: true, min: 0, max: 15 }).default(0),
  tls: s.boolean().default(false),
  mode: s.enum(['standalone', 'cluster'] as const).default('standalone'),
  tags: s.array(s.string()).optional(),
  limits: s.record(s.number()).optional(),
});

describe('spec declarations', () => {
  it('validate, apply defaults and convert durations to ms', () => {
    const { value, errors } = check(redis, 'url: redis://localhost:6379\nttl: 1h30m\ntags: [a, b]\nlimits: { x: 1 }\n');
    expect(errors).toEqual([]);
    const expected: Infer<typeof redis> = {
      url: 'redis://localhost:6379', ttl: 5_400_000, db: 0, tls: false, mode: 'standalone', tags: ['a', 'b'], limits: { x: 1 },
    };
    expect(value).toEqual(expected);
  });

  it('reject unknown fields with the closest known name, at the key position', () => {
    const { errors } = check(redis, 'url: x\nttlx: 5s\nmdoe: cluster\nzzzzzz: 1\n');
    expect(errors).toEqual([
      "c.yaml:2:1: ttlx: unknown field 'ttlx'; did you mean 'ttl'?",
      "c.yaml:3:1: mdoe: unknown field 'mdoe'; did you mean 'mode'?",
      'c.yaml:4:1: zzzzzz: unknown field \'zzzzzz\' (known fields: url, password, ttl, db, tls, mode, tags, limits)',
    ]);
  });

  it('say what was expected, with the path, for each bad value', () => {
    const { errors } = check(redis, 'db: 16\nttl: soon\ntls: yes\nmode: clustr\ntags: x\n');
    expect(errors).toEqual([
      "c.yaml:1:1: url: missing required field 'url' (a string)",
      'c.yaml:2:6: ttl: expected a duration like "500ms", "5s", "1m", "1h", "3d" or a number of milliseconds, got "soon"',
      'c.yaml:1:5: db: expected an integer from 0 to 15, got 16',
      'c.yaml:3:6: tls: expected true or false, got "yes"',
      "c.yaml:4:7: mode: expected one of 'standalone', 'cluster', got \"clustr\"; did you mean 'cluster'?",
      'c.yaml:5:7: tags: expected a list, got "x"',
    ]);
  });

  it('coerce ${VAR} text to numbers, booleans and durations, and never echo the value', () => {
    const env = { DB: '3', TLS: 'true', TTL: '250ms', BAD: 'hunter2' };
    const ok = check(redis, 'url: ${URL:-redis://h}\ndb: ${DB}\ntls: ${TLS}\nttl: ${TTL}\n', env);
    expect(ok.errors).toEqual([]);
    expect(ok.value).toMatchObject({ url: 'redis://h', db: 3, tls: true, ttl: 250 });
    expect(ok.interpolated.get('db')).toBe('${DB}');
    const bad = check(redis, 'url: x\ndb: ${BAD}\n', env);
    expect(bad.errors).toEqual(['c.yaml:2:5: db: expected an integer from 0 to 15, got the value of ${BAD}']);
    expect(bad.errors.join()).not.toContain('hunter2');
  });

  it('keep literal strings from passing as numbers', () => {
    expect(check(redis, 'url: x\ndb: "3"\n').errors).toEqual(['c.yaml:2:5: db: expected an integer from 0 to 15, got "3"']);
  });

  it('accept secrets only from the environment', () => {
    expect(check(redis, 'url: x\npassword: ${PW}\n', { PW: 'hunter2' }).value).toMatchObject({ password: 'hunter2' });
    const { errors } = check(redis, 'url: x\npassword: hunter2\n');
    expect(errors).toEqual([
      "c.yaml:2:11: password: 'password' is a secret: write it as ${SOME_ENV_VAR} so it comes from the environment, not the file",
    ]);
  });

  it('treat `key:` and `key: {}` alike for mappings, and null as absent for optional fields', () => {
    const spec = s.object({ stdout: s.object({ pretty: s.boolean().default(false) }), tags: s.array(s.string()).optional() });
    expect(check(spec, 'stdout:\ntags:\n').value).toEqual({ stdout: { pretty: false } });
  });

  it('oneOfKeys: exactly one variant key, sibling fields only with their variant', () => {
    const step = s.oneOfKeys(
      { filter: s.string(), window: s.object({ size: s.duration() }) },
      { common: { id: s.string() }, siblings: { window: { emit: s.enum(['updates', 'final'] as const).default('updates') } }, noun: 'step kind' },
    );
    expect(check(step, 'id: a\nwindow: { size: 1m }\n').value).toEqual({ id: 'a', window: { size: 60_000 }, emit: 'updates' });
    expect(check(step, 'id: a\nfilter: x\n').value).toEqual({ id: 'a', filter: 'x' });
    expect(check(step, 'id: a\n').errors).toEqual(['c.yaml:1:1: expected exactly one step kind: filter, window']);
    expect(check(step, 'id: a\nfliter: x\n').errors).toEqual(["c.yaml:2:1: fliter: unknown field 'fliter'; did you mean 'filter'?"]);
    expect(check(step, 'id: a\nfilter: x\nwindow: { size: 1m }\n').errors).toEqual([
      "c.yaml:3:1: window: 'window' cannot be combined with 'filter': each has exactly one step kind (filter, window)",
    ]);
    expect(check(step, 'id: a\nfilter: x\nemit: final\n').errors).toEqual(["c.yaml:3:1: emit: 'emit' only goes with 'window' (this one is 'filter')"]);
  });

  it('parseConfig validates values built in code and throws every error', () => {
    expect(parseConfig(redis, { url: 'x', ttl: '5s' })).toMatchObject({ url: 'x', ttl: 5000, db: 0 });
    expect(() => parseConfig(redis, { ttl: -1 })).toThrow(TopologyErrors);
    try {
      parseConfig(redis, { ttl: -1 }, { path: 'redis' });
    } catch (err) {
      expect((err as TopologyErrors).errors.map((e) => e.location.path)).toEqual(['redis.url', 'redis.ttl']);
    }
  });
});

describe('JSON Schema and markdown from the same declaration', () => {
  it('mirror fields, required-ness, defaults and closed objects', () => {
    const schema = toJsonSchema(redis) as { properties: Record<string, Record<string, unknown>>; required: string[]; additionalProperties: boolean };
    expect(schema.required).toEqual(['url']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.ttl.default).toBe('3d');
    expect(schema.properties.url.description).toBe('redis://host:port');
    // ${VAR} must not be flagged by editors where a number is expected.
    expect(JSON.stringify(schema.properties.db)).toContain('\\\\$\\\\{');
  });

  it('render a table per mapping with type, default and description', () => {
    const md = toMarkdown(redis, { title: 'Redis' });
    expect(md).toContain('# Redis');
    expect(md).toContain('| `url` | string | required | redis://host:port |');
    expect(md).toContain('| `ttl` | duration (`500ms`, `5s`, `1m`, `1h`, `3d` or ms) | default `3d` |  |');
    expect(md).toContain('| `db` | integer (>= 0, <= 15) | default `0` |  |');
    expect(md).toContain('| `password` | string | optional | (secret: write ${ENV_VAR}) |');
  });
});
