// Pages of a lock's log as a lock holding its report key sends them
// (`lock_protocol::report::LogPage`): postcard-encoded entries and an HMAC-SHA256 over a
// label, the lock id and those bytes. The encoding is pinned by the protocol's test
// `report::tests::the_page_encoding_and_mac_are_pinned`; only the entries the web tests
// need are encoded here.

import { createHash, createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';

export const uuidBytes = (id) => Buffer.from(id.replace(/-/g, ''), 'hex');

/** postcard's unsigned varint. */
function varint(n) {
  let v = BigInt(n);
  const out = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}

// Variant indexes of the protocol's enums (declaration order).
const ACTOR_UNKNOWN_CODE = 3;
const VIA_KEYPAD = 1;
const EVENT_KEYPAD_REFUSED = 11;
const EVENT_KEYPAD_LOCKED_OUT = 12;
const REASON_WRONG_CODE = 14;

/** A wrong code typed on the keypad: `{seq, at}` (unix seconds). */
export const wrongCode = (seq, at) => ({ seq, at, event: [EVENT_KEYPAD_REFUSED, REASON_WRONG_CODE] });
/** The keypad locked out until `until` (unix seconds). */
export const lockedOut = (seq, at, until) => ({ seq, at, event: [EVENT_KEYPAD_LOCKED_OUT, until] });

/** postcard of the entries (all keypad entries of an unknown code). */
export function encodeEntries(entries) {
  const bytes = [...varint(entries.length)];
  for (const e of entries) {
    bytes.push(...varint(e.seq), ...varint(e.at), ...varint(ACTOR_UNKNOWN_CODE), ...varint(VIA_KEYPAD));
    for (const part of e.event) bytes.push(...varint(part));
  }
  return Buffer.from(bytes);
}

/** One page in the upload's JSON shape, MACed under `key` (a Buffer of 32 bytes). */
export function logPage(key, lockId, entries) {
  const body = encodeEntries(entries);
  const mac = createHmac('sha256', key)
    .update(Buffer.concat([Buffer.from('lock-protocol log page v1\0'), uuidBytes(lockId), body]))
    .digest();
  return { entries: body.toString('base64'), mac: mac.toString('base64') };
}

/**
 * The report key the server seals into the lock's door updates
 * (`access_server::service::keys::report_key`), from the organization's signing key in the
 * server's SQLite file (read with Python's standard sqlite3 module).
 */
export function reportKey(dbPath, lockId) {
  const hex = execFileSync('python3', ['-c',
    'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); '
    + 'print(c.execute("SELECT hex(o.signing_key) FROM organizations o JOIN locks l '
    + 'ON l.org_id = o.id WHERE l.id = ?", (sys.argv[2],)).fetchone()[0])', dbPath, lockId]).toString().trim();
  const root = createHash('sha256')
    .update(Buffer.concat([Buffer.from('access-server report key v1\0'), Buffer.from(hex, 'hex')])).digest();
  return createHmac('sha256', root).update(uuidBytes(lockId)).digest();
}
