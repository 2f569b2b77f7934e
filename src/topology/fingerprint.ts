/**
 * Fingerprints of stateful steps: sha256 of a canonical JSON of what decides the state layout.
 * Emit mode and allowed lateness change behaviour, not state, so they are left out; the key
 * expression is in, because state keyed by something else is not the same state.
 */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so equal definitions hash equally whatever the YAML order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function fingerprint(definition: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson({ format: 1, ...definition })).digest('hex');
}
