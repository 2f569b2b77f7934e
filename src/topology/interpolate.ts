/**
 * ${VAR} and ${VAR:-default} inside string scalars; `$${` writes a literal `${`.
 * A variable that is unset or empty takes the default (shell `:-` semantics).
 */

export type Env = Readonly<Record<string, string | undefined>>;

export interface Interpolation {
  value: string;
  /** True when at least one ${...} was substituted. */
  substituted: boolean;
  /** For each char of `value` (and one past the end), the offset in the written text. */
  offsets: number[];
  problems: Array<{ offset: number; message: string }>;
}

const ref = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/;

export function interpolate(text: string, env: Env): Interpolation {
  let value = '';
  const offsets: number[] = [];
  const problems: Interpolation['problems'] = [];
  let substituted = false;
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      value += '${';
      offsets.push(i, i + 1);
      i += 3;
      continue;
    }
    if (text.startsWith('${', i)) {
      const m = ref.exec(text.slice(i));
      if (!m) {
        problems.push({ offset: i, message: 'malformed ${...}: write ${NAME} or ${NAME:-default} (or $${ for a literal ${)' });
        value += '${';
        offsets.push(i, i + 1);
        i += 2;
        continue;
      }
      const [whole, name, fallback] = m;
      const set = env[name];
      let replacement: string;
      if (set !== undefined && set !== '') replacement = set;
      else if (fallback !== undefined) replacement = fallback;
      else {
        problems.push({ offset: i, message: `environment variable ${name} is not set and has no default; set it or write \${${name}:-default}` });
        replacement = '';
      }
      substituted = true;
      value += replacement;
      for (let k = 0; k < replacement.length; k++) offsets.push(i);
      i += whole.length;
      continue;
    }
    value += text[i];
    offsets.push(i);
    i++;
  }
  offsets.push(text.length);
  return { value, substituted, offsets, problems };
}
