import { s, type Infer } from '../../core/spec.js';

export const fileSourceSpec = s.object({
  path: s.string({ minLength: 1 }).describe('JSONL file to read, one JSON object per line'),
  follow: s.boolean().default(false)
    .describe('Keep reading lines appended to the file (endless); false = stop at the end of the file'),
});
export type FileSourceConfig = Infer<typeof fileSourceSpec>;

export const fileSinkSpec = s.object({
  path: s.string({ minLength: 1 }).describe('JSONL file to write; missing directories are created'),
  append: s.boolean().default(true).describe('Append to an existing file; false = truncate it when the sink opens'),
  envelope: s.boolean().default(false)
    .describe('Write {key, timestamp, value} per line instead of the row alone'),
});
export type FileSinkConfig = Infer<typeof fileSinkSpec>;
