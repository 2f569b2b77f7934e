import { describe, expect, it } from 'vitest';
import { compileGraphPlan, rowWrites } from '../../../src/connectors/graph/model.js';
import { GraphSink } from '../../../src/connectors/graph/sink.js';
import type { GraphSinkConfig } from '../../../src/connectors/graph/spec.js';
import { T0, change, rec, relationsConfig, row } from './fixtures.js';

const contacts = (): GraphSinkConfig => relationsConfig({ url: 'bolt://127.0.0.1:1' }, {
  vertices: {
    user: { label: 'User', id: '{user_id}', onDelete: 'keep' },
    contact: { label: 'Phone', id: '{contact_phones}', forEach: 'contact_phones', onDelete: 'keep' },
  },
  edges: { lists_contact: { type: 'LISTS_CONTACT', from: 'user', to: 'contact' } },
});

function summary(config: GraphSinkConfig, record: Parameters<typeof rowWrites>[1]): string[] {
  const w = rowWrites(compileGraphPlan(config, 'test'), record);
  return [
    ...w.vertices.map((v) => `${v.props === null ? '-' : '+'}${v.plan.label}:${v.id}@${v.version}`),
    ...w.edges.map((e) => `${e.props === null ? '-' : '+'}${e.plan.type}:${e.from}->${e.to}@${e.version}`),
  ];
}

describe('graph sink model (rows -> vertex and edge writes)', () => {
  it('forEach: one vertex and one edge per list element; null elements skipped; a non-list is the row\'s error', () => {
    expect(summary(contacts(), rec({ user_id: 'u1', contact_phones: ['p1', null, 'p2'] }, T0))).toEqual([
      `+User:u1@${T0}`, `+Phone:p1@${T0}`, `+Phone:p2@${T0}`, `+LISTS_CONTACT:u1->p1@${T0}`, `+LISTS_CONTACT:u1->p2@${T0}`,
    ]);
    expect(summary(contacts(), rec({ user_id: 'u1', contact_phones: null }, T0))).toEqual([`+User:u1@${T0}`]);
    expect(() => summary(contacts(), rec({ user_id: 'u1', contact_phones: 'p1' }, T0))).toThrow(/forEach field 'contact_phones' is not a list \(got "p1"\)/);
  });

  it('an update deletes only what the after-image no longer declares', () => {
    const before = { user_id: 'u1', contact_phones: ['p1', 'p2'] };
    expect(summary({ ...contacts(), changelog: true }, change('u', before, { user_id: 'u1', contact_phones: ['p2', 'p3'] }, T0 + 1))).toEqual([
      `+User:u1@${T0 + 1}`, `+Phone:p2@${T0 + 1}`, `+Phone:p3@${T0 + 1}`,
      `+LISTS_CONTACT:u1->p2@${T0 + 1}`, `+LISTS_CONTACT:u1->p3@${T0 + 1}`, `-LISTS_CONTACT:u1->p1@${T0 + 1}`,
    ]);
  });

  it('changelog records without the image their op needs, or with an unknown op, are the row\'s error', () => {
    const config = relationsConfig({ url: 'bolt://x:1' }, { changelog: true });
    expect(() => summary(config, change('d', null, row('u1'), T0))).toThrow(/changelog op 'd' needs an object 'before' image/);
    expect(() => summary(config, rec({ op: 'x', after: row('u1') }, T0))).toThrow(/changelog row has no op c, u, d or r \(got "x"\)/);
  });

  it('refuses configurations that cannot work, when the sink is created', () => {
    const make = (over: Partial<GraphSinkConfig>): GraphSink => new GraphSink('g', relationsConfig({ url: 'bolt://x:1' }, over));
    expect(() => make({ edges: { e: { from: 'user', to: 'nobody' } } })).toThrow(/edge 'e': to 'nobody' is not a declared vertex \(declared: user, device, phone\)/);
    expect(() => make({ vertices: { user: { id: '{u}', props: ['_version'], onDelete: 'keep' } }, edges: {} })).toThrow(/property '_version' is reserved/);
    expect(() => make({ url: undefined })).toThrow(/dialect cypher needs 'url'/);
    expect(() => new GraphSink('g', relationsConfig({ dialect: 'nebula', address: 'h:1' }))).toThrow(/dialect nebula needs 'space'/);
  });
});
