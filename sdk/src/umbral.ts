/**
 * The Umbral side of each role, in umbral-pre's standard serialization (the bytes the chain,
 * the `kms` CLI and umbral-pre's Rust, Python and JavaScript bindings all share).
 *
 * @module
 */
import {
  decryptOriginal,
  decryptReencrypted,
  encrypt,
  generateKFrags,
  KeyFrag,
  type Capsule,
  type PublicKey,
  type SecretKey,
  type Signer,
  type VerifiedCapsuleFrag,
} from '@nucypher/umbral-pre';
import { FormatError, UmbralError } from './errors.js';
import { concat, fromBase64, toBase64 } from './bytes.js';
import { CAPSULE_LEN, ENCRYPTED_KFRAG_LEN, decodeCapsule, decodeCapsuleFrag } from './wire.js';

/** A kfrag sealed to one node: what `createPolicy` and `rotatePolicy` carry for it. */
export interface SealedKFrag {
  /** The capsule of the encryption to the node's key (105 bytes). */
  capsule: Uint8Array;
  /** The encrypted kfrag (350 bytes). */
  ciphertext: Uint8Array;
}

/**
 * Splits the delegation from `delegating` to `receiving` into `nodes.length` kfrags, any
 * `threshold` of which re-encrypt, checks each with `KeyFrag.verify`, and seals kfrag `i` to
 * `nodes[i]` (the node's Umbral public key) with umbral `encrypt`.
 */
export function sealKFrags(
  delegating: SecretKey,
  signer: Signer,
  receiving: PublicKey,
  threshold: number,
  nodes: PublicKey[],
): SealedKFrag[] {
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > nodes.length) {
    throw new UmbralError(`threshold ${threshold} is not within 1..=${nodes.length} (the number of nodes)`);
  }
  const kfrags = generateKFrags(delegating, receiving, signer, threshold, nodes.length, true, true);
  const verifying = signer.verifyingKey();
  const delegatingPk = delegating.publicKey();
  try {
    return kfrags.map((verified, i) => {
      // The kfrag as the node will read it: from its bytes, then verified.
      const bytes = verified.toBytes();
      const kfrag = KeyFrag.fromBytes(bytes);
      // `verify` takes the kfrag over, whatever its verdict.
      try {
        kfrag.verify(verifying, delegatingPk, receiving).free();
      } catch (error) {
        throw new UmbralError(`a fresh kfrag fails verification: ${String(error)}`, { cause: error });
      }
      const [capsule, ciphertext] = encrypt(nodes[i]!, bytes);
      const sealed = { capsule: capsule.toBytes(), ciphertext };
      capsule.free();
      if (sealed.capsule.length !== CAPSULE_LEN || ciphertext.length !== ENCRYPTED_KFRAG_LEN) {
        throw new UmbralError('umbral-pre sealed a kfrag to unexpected lengths');
      }
      return sealed;
    });
  } finally {
    [verifying, delegatingPk, ...kfrags].forEach((object) => object.free());
  }
}

/** The public keys a cfrag is checked against. */
export interface PolicyKeys {
  /** The owner's delegating key. */
  delegating: PublicKey;
  /** The key that signed the kfrags (the policy's verifying key). */
  verifying: PublicKey;
  /** The reader's key. */
  receiving: PublicKey;
}

/**
 * Checks a cfrag (untrusted bytes: canonical form first) of `capsule` with
 * `CapsuleFrag.verify`. Throws {@link UmbralError} for a cfrag that does not decode or verify.
 */
export function verifyCfrag(capsule: Capsule, cfrag: Uint8Array, keys: PolicyKeys): VerifiedCapsuleFrag {
  // `verify` takes the cfrag over (umbral-pre's binding moves it), whatever its verdict.
  const decoded = decodeCapsuleFrag(cfrag);
  try {
    return decoded.verify(capsule, keys.verifying, keys.delegating, keys.receiving);
  } catch (error) {
    throw new UmbralError(`a cfrag fails verification: ${String(error)}`, { cause: error });
  }
}

/** Decrypts `ciphertext` of `capsule` with the receiving secret and verified cfrags. */
export function openReencrypted(
  receiving: SecretKey,
  delegating: PublicKey,
  capsule: Capsule,
  cfrags: VerifiedCapsuleFrag[],
  ciphertext: Uint8Array,
): Uint8Array {
  try {
    return decryptReencrypted(receiving, delegating, capsule, cfrags, ciphertext);
  } catch (error) {
    throw new UmbralError(`the data does not open with these cfrags: ${String(error)}`, { cause: error });
  }
}

/** The prefix of a short secret's text. */
export const SECRET_PREFIX = 'kms-secret-1:';
/** The largest short secret (64 KiB); larger data goes in a file. */
export const MAX_SECRET = 64 * 1024;

/**
 * A short secret sealed to a delegating key, as the one line `kms secret put` prints:
 * `kms-secret-1:` and the base64 of the capsule and the ciphertext.
 */
export function sealSecret(delegating: PublicKey, secret: Uint8Array): string {
  if (secret.length > MAX_SECRET) {
    throw new FormatError('key', `the secret is ${secret.length} bytes; up to ${MAX_SECRET} fit, use a file for more`);
  }
  const [capsule, ciphertext] = encrypt(delegating, secret);
  try {
    return SECRET_PREFIX + toBase64(concat(capsule.toBytes(), ciphertext));
  } finally {
    capsule.free();
  }
}

/** A secret's text, read: its capsule (standard bytes) and ciphertext. */
export interface SealedSecret {
  capsule: Uint8Array;
  ciphertext: Uint8Array;
}

/** Reads the text {@link sealSecret} (or `kms secret put`) made. */
export function parseSecret(text: string): SealedSecret {
  const encoded = text.trim();
  // The longest text a secret makes: its capsule, and the secret with umbral's nonce and tag.
  const longest = SECRET_PREFIX.length + 4 * Math.ceil((CAPSULE_LEN + 24 + MAX_SECRET + 16) / 3);
  const body = encoded.slice(SECRET_PREFIX.length);
  const bytes = encoded.startsWith(SECRET_PREFIX) && encoded.length <= longest ? fromBase64(body) : undefined;
  // Canonical base64 only (no stray bits in the last digit), as `kms` reads it.
  if (!bytes || bytes.length <= CAPSULE_LEN || toBase64(bytes) !== body) {
    throw new FormatError('not-kms-file', `not a secret's text (it starts with ${SECRET_PREFIX})`);
  }
  const capsule = bytes.slice(0, CAPSULE_LEN);
  decodeCapsule(capsule).free();
  return { capsule, ciphertext: bytes.slice(CAPSULE_LEN) };
}

/** The owner opens its own secret with the label's delegating secret key. */
export function openSecretAsOwner(delegating: SecretKey, secret: SealedSecret): Uint8Array {
  const capsule = decodeCapsule(secret.capsule);
  try {
    return decryptOriginal(delegating, capsule, secret.ciphertext);
  } catch {
    throw new FormatError('key', 'the secret does not open with this label\'s key');
  } finally {
    capsule.free();
  }
}
