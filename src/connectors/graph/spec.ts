import { s, type Infer } from '../../core/spec.js';
import { upsertSpecFields } from '../upsert.js';

const identifier = { pattern: '^[A-Za-z_][A-Za-z0-9_]*$', patternHint: 'letters, digits and _, not starting with a digit' };

/** Row fields copied to properties: a list (same names) or a map property -> row field. */
const props = s.union(
  s.array(s.string({ minLength: 1 }), { minItems: 1 }),
  s.record(s.string({ minLength: 1 }), { keyPattern: identifier.pattern, keyHint: identifier.patternHint }),
);

const vertexSpec = s.object({
  label: s.string(identifier).optional()
    .describe('Neo4j label / Nebula tag. Default: the vertex name'),
  id: s.string({ minLength: 1 })
    .describe('Vertex id template: {field} from the row, e.g. "{user_id}" or "phone:{phone}". A row whose id field is missing or null skips this vertex and every edge touching it'),
  props: props.optional()
    .describe('Properties from row fields: [name, age] or { name: full_name }. A null value removes the property'),
  forEach: s.string({ minLength: 1 }).optional()
    .describe('A list field of the row (e.g. contact_phones): one vertex per element, the field standing for the element in `id` and `props` ("{contact_phones}"); edges touching this vertex fan out to every element'),
  onDelete: s.enum(['keep', 'delete'] as const).default('keep')
    .describe('What a retraction of the row does to this vertex: keep (shared entities such as a device stay; only the row\'s edges go) or delete (the vertex becomes a tombstone)'),
});

const edgeSpec = s.object({
  type: s.string(identifier).optional()
    .describe('Neo4j relationship type / Nebula edge type. Default: the edge name'),
  from: s.string(identifier).describe('Name of the source vertex (a key of `vertices`)'),
  to: s.string(identifier).describe('Name of the target vertex (a key of `vertices`)'),
  props: props.optional().describe('Properties from row fields, as for vertices'),
});

export const graphSinkSpec = s.object({
  dialect: s.enum(['cypher', 'nebula'] as const)
    .describe('cypher: Neo4j (or another Bolt/openCypher server) through neo4j-driver; nebula: NebulaGraph nGQL over its Thrift graph service'),
  url: s.string({ pattern: '^(bolt|neo4j)(\\+s|\\+ssc)?://', patternHint: 'write bolt://host:7687 or neo4j://host:7687' }).optional()
    .describe('dialect cypher: server URL'),
  database: s.string({ minLength: 1 }).optional().describe('dialect cypher: database name. Default: the server\'s default database'),
  address: s.string({ pattern: '^[^\\s:]+:\\d{1,5}$', patternHint: 'write host:port (graphd, usually 9669)' }).optional()
    .describe('dialect nebula: graphd address host:port'),
  space: s.string(identifier).optional().describe('dialect nebula: graph space (its vid_type must be FIXED_STRING)'),
  user: s.string({ minLength: 1 }).default('neo4j').describe('User name (Nebula: e.g. root)'),
  password: s.string().secret().describe('Password; write it as ${VAR}. Never logged'),
  vertices: s.record(vertexSpec, { keyPattern: identifier.pattern, keyHint: identifier.patternHint })
    .describe('Vertices each row yields, by name'),
  edges: s.record(edgeSpec, { keyPattern: identifier.pattern, keyHint: identifier.patternHint }).default({})
    .describe('Edges each row yields, by name; one edge per (type, from, to)'),
  ...upsertSpecFields,
  batchSize: s.number({ integer: true, min: 1 }).default(500).describe('Rows per transaction (cypher) / per request (nebula)'),
  linger: s.duration({ min: 0 }).default(50)
    .describe('Write once the oldest buffered row has waited this long, without waiting for batchSize rows or the checkpoint'),
});
export type GraphSinkConfig = Infer<typeof graphSinkSpec>;
export type GraphVertexConfig = GraphSinkConfig['vertices'][string];
export type GraphEdgeConfig = GraphSinkConfig['edges'][string];
