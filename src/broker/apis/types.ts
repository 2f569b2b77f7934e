import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';

/**
 * One Kafka API: its key, the versions this broker serves, where flexible encoding
 * starts, and pure decode/encode functions taking the version (Reader/Writer already
 * know whether the version is flexible).
 */
export interface ApiDef<Req, Res> {
  key: number;
  name: string;
  minVersion: number;
  maxVersion: number;
  /** First flexible version; Infinity when none we serve is flexible. */
  flexibleFrom: number;
  /** False for APIs we answer (with an error) but do not advertise. */
  advertised?: boolean;
  decode(r: Reader, version: number): Req;
  encode(w: Writer, version: number, res: Res): void;
}
