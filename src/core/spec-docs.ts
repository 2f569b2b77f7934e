/** JSON Schema (for editors) and markdown reference docs, both derived from a Spec. */
import { durationPattern, formatDuration } from './duration.js';
import { formatSize, sizePattern } from './size.js';
import type { AnySpec, Fields, SpecDef } from './spec.js';

export interface JsonSchema {
  [keyword: string]: unknown;
}

/** Any scalar may be written as ${VAR} or ${VAR:-default}; editors must not flag those. */
const interpolation: JsonSchema = { type: 'string', pattern: '^.*\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}.*$' };

export function toJsonSchema(spec: AnySpec, opts: { title?: string; id?: string } = {}): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    ...(opts.id ? { $id: opts.id } : {}),
    ...(opts.title ? { title: opts.title } : {}),
    ...schemaOf(spec),
  };
}

function schemaOf(spec: AnySpec): JsonSchema {
  const out: JsonSchema = { ...(spec.meta.description ? { description: describeMeta(spec) } : {}), ...bodyOf(spec) };
  if (spec.meta.presence === 'defaulted' && spec.meta.defaultValue !== undefined) {
    out.default = spec.def.type === 'duration' ? formatDuration(spec.meta.defaultValue as number) : spec.def.type === 'size' ? formatSize(spec.meta.defaultValue as number) : spec.meta.defaultValue;
  }
  return out;
}

function describeMeta(spec: AnySpec): string {
  const text = spec.meta.description ?? '';
  return spec.meta.secret ? `${text} (secret: write \${ENV_VAR})`.trim() : text;
}

function fieldsSchema(fields: Fields): { properties: Record<string, JsonSchema>; required: string[] } {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [name, spec] of Object.entries(fields)) {
    properties[name] = schemaOf(spec);
    if (spec.meta.presence === 'required') required.push(name);
  }
  return { properties, required };
}

function bodyOf(spec: AnySpec): JsonSchema {
  const def = spec.def;
  if (spec.meta.secret) return interpolation;
  switch (def.type) {
    case 'string':
      return {
        type: 'string',
        ...(def.pattern ? { pattern: def.pattern } : {}),
        ...(def.minLength !== undefined ? { minLength: def.minLength } : {}),
      };
    case 'number':
      return {
        anyOf: [
          {
            type: def.integer ? 'integer' : 'number',
            ...(def.min !== undefined ? { minimum: def.min } : {}),
            ...(def.max !== undefined ? { maximum: def.max } : {}),
          },
          interpolation,
        ],
      };
    case 'boolean':
      return { anyOf: [{ type: 'boolean' }, interpolation] };
    case 'size':
      return { anyOf: [{ type: 'string', pattern: sizePattern }, { type: 'number', minimum: def.min ?? 0 }, interpolation] };
    case 'duration':
      return { anyOf: [{ type: 'string', pattern: durationPattern }, { type: 'number', minimum: def.min ?? 0 }, interpolation] };
    case 'enum':
      return { anyOf: [{ type: 'string', enum: [...def.values] }, interpolation] };
    case 'array':
      return { type: 'array', items: schemaOf(def.items), ...(def.minItems !== undefined ? { minItems: def.minItems } : {}) };
    case 'record':
      return {
        type: 'object',
        ...(def.keyPattern ? { propertyNames: { pattern: def.keyPattern } } : {}),
        additionalProperties: schemaOf(def.values),
      };
    case 'object': {
      const { properties, required } = fieldsSchema(def.fields);
      return { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false };
    }
    case 'oneOfKeys':
      return {
        type: 'object',
        oneOf: Object.entries(def.variants).map(([key, variant]) => {
          const { properties, required } = fieldsSchema({ ...def.common, [key]: variant, ...(def.siblings[key] ?? {}) });
          return { title: key, properties, required: [...new Set([key, ...required])], additionalProperties: false };
        }),
      };
    case 'union':
      return { anyOf: def.options.map(schemaOf) };
    case 'any':
      return {};
  }
}

// ---------------------------------------------------------------- markdown

interface Section {
  heading: string;
  /** Path the fields hang off (differs from heading for "spec.pipeline[] (window)"). */
  base: string;
  intro?: string;
  fields: Fields;
  /** Variant keys of a oneOfKeys mapping: exactly one of them is present. */
  variants?: readonly string[];
}

/** A markdown reference: one table per mapping, headed by its YAML path. */
export function toMarkdown(spec: AnySpec, opts: { title?: string; intro?: string; root?: string } = {}): string {
  const sections: Section[] = [];
  collectSections(spec, opts.root ?? '', sections);
  const parts: string[] = [];
  if (opts.title) parts.push(`# ${opts.title}\n`);
  if (opts.intro) parts.push(`${opts.intro.trim()}\n`);
  for (const sec of sections) {
    parts.push(sec.heading ? `## \`${sec.heading}\`\n` : '## Top level\n');
    if (sec.intro) parts.push(`${sec.intro}\n`);
    if (Object.keys(sec.fields).length === 0) {
      parts.push('No fields: write `{}`.\n');
      continue;
    }
    const rows = Object.entries(sec.fields).map(([name, f]) => {
      const req = sec.variants?.includes(name) ? 'exactly one of these' : presence(f);
      return `| \`${name}\` | ${cell(typeName(f.def, sub(sec.base, name)))} | ${cell(req)} | ${cell(describeMeta(f))} |`;
    });
    parts.push(['| Field | Type | Required / default | Description |', '|---|---|---|---|', ...rows].join('\n') + '\n');
  }
  return parts.join('\n');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function presence(spec: AnySpec): string {
  if (spec.meta.presence === 'required') return 'required';
  if (spec.meta.presence === 'optional') return 'optional';
  // A mapping's default is its fields' defaults, listed in its own section.
  if (spec.def.type === 'object') return 'optional';
  const v = spec.meta.defaultValue;
  const shown = spec.def.type === 'duration' && typeof v === 'number' ? formatDuration(v) : spec.def.type === 'size' && typeof v === 'number' ? formatSize(v) : JSON.stringify(v);
  return `default \`${shown}\``;
}

function typeName(def: SpecDef, path: string): string {
  switch (def.type) {
    case 'number': {
      const bounds = [def.min !== undefined ? `>= ${def.min}` : '', def.max !== undefined ? `<= ${def.max}` : ''].filter(Boolean);
      return `${def.integer ? 'integer' : 'number'}${bounds.length ? ` (${bounds.join(', ')})` : ''}`;
    }
    case 'duration':
      return 'duration (`500ms`, `5s`, `1m`, `1h`, `3d` or ms)';
    case 'size':
      return 'size (`512KB`, `64MB`, `1GB` or bytes)';
    case 'enum':
      return def.values.map((v) => `\`${v}\``).join(' | ');
    case 'array':
      return `list of ${typeName(def.items.def, `${path}[]`)}`;
    case 'record':
      return `map of name → ${typeName(def.values.def, sub(path, '<name>'))}`;
    case 'object':
      return `mapping (see \`${path}\`)`;
    case 'oneOfKeys':
      return `mapping with one of ${Object.keys(def.variants).map((k) => `\`${k}\``).join(', ')} (see \`${path}\`)`;
    case 'union':
      return def.options.map((o) => typeName(o.def, path)).join(' or ');
    case 'any':
      return 'any value';
    default:
      return def.type;
  }
}

function sub(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function collectSections(spec: AnySpec, path: string, out: Section[]): void {
  const def = spec.def;
  switch (def.type) {
    case 'array':
      collectSections(def.items, `${path}[]`, out);
      return;
    case 'record':
      collectSections(def.values, sub(path, '<name>'), out);
      return;
    case 'object':
      out.push({ heading: path, base: path, intro: spec.meta.description, fields: def.fields });
      for (const [name, f] of Object.entries(def.fields)) collectSections(f, sub(path, name), out);
      return;
    case 'oneOfKeys': {
      const kinds = Object.keys(def.variants).map((k) => `\`${k}\``).join(', ');
      out.push({
        heading: path,
        base: path,
        intro: `${spec.meta.description ? `${spec.meta.description}\n\n` : ''}Exactly one ${def.noun}: ${kinds}.`,
        fields: { ...def.common, ...def.variants },
        variants: Object.keys(def.variants),
      });
      for (const [name, f] of Object.entries(def.common)) collectSections(f, sub(path, name), out);
      for (const [key, variant] of Object.entries(def.variants)) {
        const siblings = def.siblings[key];
        if (siblings && Object.keys(siblings).length > 0) {
          out.push({ heading: `${path} (${key})`, base: path, intro: `Fields that go with \`${key}\`.`, fields: { [key]: variant, ...siblings } });
          for (const [name, f] of Object.entries(siblings)) collectSections(f, sub(path, name), out);
        }
        collectSections(variant, sub(path, key), out);
      }
      return;
    }
    case 'union':
      for (const option of def.options) collectSections(option, path, out);
      return;
    default:
      return;
  }
}
