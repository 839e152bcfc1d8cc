/**
 * Umbral objects from other parties, read in canonical form only.
 *
 * umbral-pre reads any SEC1 point encoding (the identity, uncompressed, compact) and panics on
 * some of them; in WebAssembly a panic is a trap that leaves the module's memory in an unknown
 * state. Bytes from anyone else — a file's capsule, a node's cfrag — therefore reach umbral-pre
 * only after the same checks the chain's decoder makes (the `kms-wire` crate, `wire/src/lib.rs`): the exact
 * MessagePack layout of the object, every field a scalar (32 bytes), a compressed point (33
 * bytes, tag 2 or 3) or a signature (64 bytes), no degenerate capsule, and, once decoded, the
 * object must serialize back to the same bytes (one object, one byte string).
 *
 * @module
 */
import { Capsule, CapsuleFrag, PublicKey } from '@nucypher/umbral-pre';
import { UmbralError } from './errors.js';

/** Length of a capsule in umbral-pre's standard serialization. */
export const CAPSULE_LEN = 105;
/** Length of a kfrag in umbral-pre's standard serialization. */
export const KFRAG_LEN = 310;
/** Length of a cfrag in umbral-pre's standard serialization. */
export const CFRAG_LEN = 381;
/** Length of a compressed public key. */
export const PUBLIC_KEY_LEN = 33;
/** Length of a kfrag sealed to a node: umbral's DEM nonce, the kfrag and the tag. */
export const ENCRYPTED_KFRAG_LEN = 24 + KFRAG_LEN + 16;

/** A field's kind: scalar or raw 32 bytes, compressed point, signature; or a nested array. */
type Shape = 'scalar' | 'point' | 'signature' | Shape[];

/** `[E, V, s]`. */
const CAPSULE: Shape = ['point', 'point', 'scalar'];
/** `[E1, V1, kfrag id, precursor, [E2, V2, commitment, pok, signature, kfrag signature]]`. */
const CFRAG: Shape = [
  'point',
  'point',
  'scalar',
  'point',
  ['point', 'point', 'point', 'point', 'scalar', 'signature'],
];

const FIELD_LEN = { scalar: 32, point: 33, signature: 64 } as const;

/** Checks `bytes[at…]` against `shape`; returns the offset after it. */
function walk(bytes: Uint8Array, at: number, shape: Shape): number {
  const head = bytes[at];
  if (head === undefined) throw new UmbralError('ends inside the object');
  if (Array.isArray(shape)) {
    // A fixarray of exactly the shape's length (the only minimal header for < 16 items).
    if (head !== 0x90 + shape.length) throw new UmbralError('not the object\'s layout');
    let next = at + 1;
    for (const field of shape) next = walk(bytes, next, field);
    return next;
  }
  const len = FIELD_LEN[shape];
  // bin8 is the minimal header for every field length here.
  if (head !== 0xc4 || bytes[at + 1] !== len) {
    throw new UmbralError('not in umbral-pre\'s standard (canonical) form');
  }
  if (shape === 'point') {
    const tag = bytes[at + 2];
    if (tag !== 2 && tag !== 3) {
      throw new UmbralError('a point that is not compressed (not the canonical form)');
    }
  }
  return at + 2 + len;
}

function checkLayout(bytes: Uint8Array, len: number, shape: Shape, what: string): void {
  if (!(bytes instanceof Uint8Array)) throw new UmbralError(`${what}: not bytes`);
  if (bytes.length !== len) {
    throw new UmbralError(`${what}: ${bytes.length} bytes, a ${what} is ${len}`);
  }
  try {
    if (walk(bytes, 0, shape) !== len) throw new UmbralError('trailing bytes');
  } catch (error) {
    throw new UmbralError(`${what}: ${(error as Error).message}`);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * Whether a capsule in the canonical layout has `V = −E` (the same x, the other parity): valid
 * to umbral-pre, which panics opening it.
 */
function isDegenerate(bytes: Uint8Array): boolean {
  const e = bytes.subarray(3, 36);
  const v = bytes.subarray(38, 71);
  return sameBytes(e.subarray(1), v.subarray(1)) && e[0] !== v[0];
}

/** umbral-pre's deserialization of `bytes`, accepted only if it writes back the same bytes. */
function canonical<T extends { toBytes(): Uint8Array; free(): void }>(bytes: Uint8Array, what: string, read: (bytes: Uint8Array) => T): T {
  let object: T;
  try {
    object = read(bytes);
  } catch (error) {
    throw new UmbralError(`${what}: not a valid umbral-pre ${what} (${String(error)})`, { cause: error });
  }
  if (!sameBytes(object.toBytes(), bytes)) {
    object.free();
    throw new UmbralError(`${what}: not in umbral-pre's standard (canonical) form`);
  }
  return object;
}

/**
 * Reads a capsule from untrusted bytes: canonical form only, self-signature checked, never a
 * panic inside umbral-pre.
 */
export function decodeCapsule(bytes: Uint8Array): Capsule {
  checkLayout(bytes, CAPSULE_LEN, CAPSULE, 'capsule');
  if (isDegenerate(bytes)) {
    throw new UmbralError('capsule: a degenerate capsule (its points cancel out)');
  }
  return canonical(bytes, 'capsule', Capsule.fromBytes);
}

/** Reads a cfrag from untrusted bytes (unverified: see `verifyCfrag`), canonical form only. */
export function decodeCapsuleFrag(bytes: Uint8Array): CapsuleFrag {
  checkLayout(bytes, CFRAG_LEN, CFRAG, 'cfrag');
  return canonical(bytes, 'cfrag', CapsuleFrag.fromBytes);
}

/** Reads a public key: 33 bytes, a compressed point (tag 2 or 3) on the curve. */
export function decodePublicKey(bytes: Uint8Array): PublicKey {
  if (!(bytes instanceof Uint8Array) || bytes.length !== PUBLIC_KEY_LEN) {
    throw new UmbralError('a public key is 33 bytes (a compressed point)');
  }
  if (bytes[0] !== 2 && bytes[0] !== 3) {
    throw new UmbralError('a public key is a compressed point (tag 2 or 3)');
  }
  try {
    return PublicKey.fromCompressedBytes(bytes);
  } catch (error) {
    throw new UmbralError('a public key is not a point of the curve', { cause: error });
  }
}
