/**
 * Keys, derived exactly as the `kms` command line derives them, so that the SDK and the CLI
 * are one identity: an sr25519 account that signs transactions, and a 32-byte Umbral master
 * seed (umbral-pre's `SecretKeyFactory`) from which every Umbral key follows.
 *
 * - the delegating key of a label is `makeKey(label)` of the master factory;
 * - the signer (a policy's verifying key) and the receiving key (what a reader gives owners)
 *   are `makeKey("signer")` and `makeKey("receiving")` of the sub-factory
 *   `makeFactory("kms/roles")`, which no label reaches.
 *
 * {@link openKeyring} opens the keyring file `kms keys new` writes (Argon2id and
 * XChaCha20-Poly1305; `client/src/keyring.rs` describes it).
 *
 * @module
 */
import { SecretKey, SecretKeyFactory, Signer } from '@nucypher/umbral-pre';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { argon2idAsync } from '@noble/hashes/argon2.js';
import { KeyringError } from './errors.js';
import { bytesOf, fromHex, randomBytes, toHex } from './bytes.js';

const ROLES = bytesOf('kms/roles');

/** The compressed public key of `secret`, which is freed. */
function compressedPublic(secret: SecretKey): Uint8Array {
  const key = secret.publicKey();
  try {
    return key.toCompressedBytes();
  } finally {
    key.free();
    secret.free();
  }
}

/** An identity's Umbral keys, from its 32-byte master seed. */
export class UmbralIdentity {
  readonly #factory: SecretKeyFactory;
  readonly #roles: SecretKeyFactory;

  private constructor(seed: Uint8Array) {
    if (!(seed instanceof Uint8Array) || seed.length !== SecretKeyFactory.seedSize()) {
      throw new KeyringError(`an Umbral master seed is ${SecretKeyFactory.seedSize()} bytes`);
    }
    this.#factory = SecretKeyFactory.fromSecureRandomness(seed);
    this.#roles = this.#factory.makeFactory(ROLES);
  }

  /** The identity of a master seed (32 bytes; keep it secret). */
  static fromSeed(seed: Uint8Array): UmbralIdentity {
    return new UmbralIdentity(seed);
  }

  /** A new identity with a random seed, and the seed to keep. */
  static generate(): { identity: UmbralIdentity; seed: Uint8Array } {
    const seed = randomBytes(SecretKeyFactory.seedSize());
    return { identity: new UmbralIdentity(seed), seed };
  }

  /** The delegating key of `label`: data encrypted to a label is granted through it. */
  delegatingKey(label: string | Uint8Array): SecretKey {
    return this.#factory.makeKey(bytesOf(label));
  }

  /** The delegating public key of `label`, compressed (33 bytes). */
  delegatingPublicKey(label: string | Uint8Array): Uint8Array {
    return compressedPublic(this.delegatingKey(label));
  }

  /** The signer of kfrags and of policies' terms; its key is a policy's verifying key. */
  signer(): Signer {
    return new Signer(this.#roles.makeKey(bytesOf('signer')));
  }

  /** The receiving key: owners grant to its public key, cfrags open with its secret. */
  receivingKey(): SecretKey {
    return this.#roles.makeKey(bytesOf('receiving'));
  }

  /** The receiving public key, compressed (33 bytes): what a reader gives owners. */
  receivingPublicKey(): Uint8Array {
    return compressedPublic(this.receivingKey());
  }

  /** The verifying key of this identity's policies, compressed (33 bytes). */
  verifyingKey(): Uint8Array {
    const signer = this.signer();
    const key = signer.verifyingKey();
    try {
      return key.toCompressedBytes();
    } finally {
      key.free();
      signer.free();
    }
  }

  /** Frees the secret factories in umbral-pre's WebAssembly memory; the identity is unusable after. */
  free(): void {
    this.#roles.free();
    this.#factory.free();
  }
}

/** A keyring file's content once opened: the account's secret URI and the Umbral identity. */
export interface OpenedKeyring {
  /** The account's SS58 address as the file records it. */
  address: string;
  /**
   * The account's secret URI (`0x…` seed, `//Alice`, a phrase): give it to polkadot.js's
   * `Keyring.addFromUri` with type `sr25519`.
   */
  accountUri: string;
  /** The Umbral keys. */
  identity: UmbralIdentity;
}

/** The keyring file format version this SDK reads. */
export const KEYRING_FORMAT_VERSION = 1;

interface KeyringFile {
  kms_keyring: number;
  account: string;
  kdf: {
    algorithm: string;
    memory_kib: number;
    iterations: number;
    parallelism: number;
    salt: string;
  };
  cipher: string;
  nonce: string;
  ciphertext: string;
}

/**
 * The largest Argon2id cost a keyring may ask for before it is authenticated (256 MiB, 8 passes,
 * 4 lanes; `kms` writes 64 MiB, 3 passes, 1 lane): a hostile file cannot make the SDK allocate
 * gigabytes or run for minutes.
 */
export const MAX_KDF = { memory_kib: 256 * 1024, iterations: 8, parallelism: 4 };

/** Hex as `kms` writes it in a keyring: lowercase or uppercase digits, no `0x`. */
function keyringHex(text: unknown, what: string, length?: number): Uint8Array {
  if (typeof text !== 'string' || text.startsWith('0x')) throw new KeyringError(`${what} is not hex`);
  try {
    return fromHex(text, what, length);
  } catch (error) {
    throw new KeyringError((error as Error).message, { cause: error });
  }
}

/**
 * Opens a keyring file written by `kms keys new` with its passphrase. Throws
 * {@link KeyringError} for a wrong passphrase, a file changed without it, or a file that is
 * not a keyring. Argon2id runs in JavaScript, yielding to the event loop: about a second for
 * `kms`'s cost (64 MiB), at most {@link MAX_KDF}.
 */
export async function openKeyring(json: string, passphrase: string): Promise<OpenedKeyring> {
  let file: KeyringFile;
  try {
    file = JSON.parse(json) as KeyringFile;
  } catch (error) {
    throw new KeyringError('not a keyring: not JSON', { cause: error });
  }
  if (file?.kms_keyring !== KEYRING_FORMAT_VERSION) {
    throw new KeyringError(
      `keyring format version ${String(file?.kms_keyring)} (this SDK reads ${KEYRING_FORMAT_VERSION})`,
    );
  }
  const { kdf } = file;
  if (kdf?.algorithm !== 'argon2id') {
    throw new KeyringError(`unsupported key derivation ${JSON.stringify(kdf?.algorithm)}`);
  }
  if (file.cipher !== 'xchacha20poly1305') {
    throw new KeyringError(`unsupported cipher ${JSON.stringify(file.cipher)}`);
  }
  for (const [name, max] of Object.entries(MAX_KDF)) {
    const value = kdf[name as keyof typeof MAX_KDF];
    if (!Number.isSafeInteger(value) || value < 1 || value > max) {
      throw new KeyringError(`the key derivation's ${name} (${value}) is not within 1..=${max}`);
    }
  }
  if (kdf.memory_kib < 8 * kdf.parallelism) {
    throw new KeyringError('the key derivation\'s memory is below 8 KiB per lane');
  }
  const nonce = keyringHex(file.nonce, 'the nonce', 24);
  const ciphertext = keyringHex(file.ciphertext, 'the ciphertext');
  const salt = keyringHex(kdf.salt, 'the salt');
  if (salt.length < 8) throw new KeyringError('the salt is shorter than 8 bytes');
  // The associated data: the header as `kms` serializes it (every field but the ciphertext,
  // in this order), so no header field changes without the passphrase check failing.
  const header = {
    kms_keyring: file.kms_keyring,
    account: file.account,
    kdf: {
      algorithm: kdf.algorithm,
      memory_kib: kdf.memory_kib,
      iterations: kdf.iterations,
      parallelism: kdf.parallelism,
      salt: kdf.salt,
    },
    cipher: file.cipher,
    nonce: file.nonce,
  };
  const key = await argon2idAsync(bytesOf(passphrase), salt, {
    t: kdf.iterations,
    m: kdf.memory_kib,
    p: kdf.parallelism,
    dkLen: 32,
  });
  let plaintext: Uint8Array;
  try {
    plaintext = xchacha20poly1305(key, nonce, bytesOf(JSON.stringify(header))).decrypt(ciphertext);
  } catch (error) {
    throw new KeyringError('wrong passphrase (or the keyring was changed)', { cause: error });
  } finally {
    key.fill(0);
  }
  let secrets: { account_uri?: unknown; umbral_seed?: unknown };
  try {
    secrets = JSON.parse(new TextDecoder().decode(plaintext));
  } catch (error) {
    throw new KeyringError('the keyring\'s secrets do not decode', { cause: error });
  } finally {
    plaintext.fill(0);
  }
  if (typeof secrets.account_uri !== 'string' || typeof secrets.umbral_seed !== 'string') {
    throw new KeyringError('the keyring\'s secrets do not decode');
  }
  const seed = keyringHex(secrets.umbral_seed, 'the Umbral seed', 32);
  // The address the file records is the account's (as `kms` checks).
  await cryptoWaitReady();
  let address: string;
  try {
    address = new Keyring({ type: 'sr25519' }).addFromUri(secrets.account_uri).address;
  } catch (error) {
    throw new KeyringError('the account is not a valid sr25519 secret URI', { cause: error });
  }
  if (address !== file.account) throw new KeyringError('the recorded address is not the account\'s');
  try {
    return {
      address: file.account,
      accountUri: secrets.account_uri,
      identity: UmbralIdentity.fromSeed(seed),
    };
  } finally {
    seed.fill(0);
  }
}

export { toHex };
