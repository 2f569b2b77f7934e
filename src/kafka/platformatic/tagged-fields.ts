/**
 * KIP-482 tagged fields, read correctly. @platformatic/kafka 1.35's Reader.readTaggedFields reads
 * the field count as a zigzag varint and skips that many bytes. The wire format is:
 *
 *   count  UNSIGNED_VARINT
 *   count × { tag UNSIGNED_VARINT, size UNSIGNED_VARINT, data size bytes }
 *
 * The misread is harmless while a broker sends no tagged field, but Kafka (3.7+, KIP-951) answers
 * a Produce v10+ or Fetch v16+ that reached a former leader with CurrentLeader / NodeEndpoints
 * tagged fields: the parse then ends in "Out of bounds." — a non-retriable failure exactly while
 * leaders move (a broker restarting), which killed workers in the cluster fault tests.
 * Every response parser (the library's and ours in fetch.ts / produce.ts) reads through Reader,
 * so the client installs the correct reader once, before its first request.
 */
import { Reader } from '@platformatic/kafka';
import { skipTaggedFields } from './wire.js';

let installed = false;

export function installTaggedFieldsReader(): void {
  if (installed) return;
  installed = true;
  // A patch of the library's public Reader (upstream gap): the parsers we own (produce.ts, fetch.ts)
  // call skipTaggedFields directly; this makes the library's own parsers (metadata, group, offsets) right.
  Reader.prototype.readTaggedFields = function readTaggedFields(this: Reader): void {
    skipTaggedFields(this);
  };
}
