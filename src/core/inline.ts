/** A config value on one line, YAML flow style (`{ a: 1, b: [x, y] }`), for plans and messages. */
export function inlineValue(value: unknown): string {
  if (value === null || typeof value !== 'object') return typeof value === 'string' ? value : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(inlineValue).join(', ')}]`;
  const entries = Object.entries(value);
  return entries.length ? `{ ${entries.map(([k, v]) => `${k}: ${inlineValue(v)}`).join(', ')} }` : '{}';
}
