/**
 * The chunked file format of `kms encrypt` / `kms decrypt` (version 1), byte for byte as
 * `client/src/stream.rs` describes it (the normative description):
 *
 * - a 194-byte header: magic `KMSCHAIN`, version `1`, the chunk size (`u32`, big-endian,
 *   `1..=16 MiB`), the capsule's length (`u16`, 105) and bytes, the wrapped file key's length
 *   (`u16`, 72) and bytes — the random 32-byte file key encrypted with umbral `encrypt` to the
 *   owner's delegating key;
 * - chunks of `chunkSize` plaintext bytes sealed with ChaCha20-Poly1305 under the file key,
 *   the nonce being the chunk index (`u64`, big-endian), a final-chunk flag byte and three
 *   zero bytes, the associated data the whole header. The last chunk holds `0..=chunkSize`
 *   bytes; truncation, reordering, tampering and appended bytes are all detected.
 *
 * Encryption and decryption are Web Streams ({@link encryptStream}, {@link decryptStream}):
 * memory stays at a chunk or two whatever the size. A decrypting stream has delivered the
 * chunks before a failing one: discard the output of a failed decryption.
 *
 * @module
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { decryptOriginal, encrypt, type Capsule, type PublicKey, type SecretKey } from '@nucypher/umbral-pre';
import { FormatError } from './errors.js';
import { concat, randomBytes } from './bytes.js';
import { CAPSULE_LEN, decodeCapsule } from './wire.js';

/** The first 8 bytes of every encrypted file. */
export const MAGIC = new TextEncoder().encode('KMSCHAIN');
/** The format version this module writes and reads. */
export const VERSION = 1;
/** Default plaintext bytes per chunk (64 KiB). */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
/** Largest plaintext bytes per chunk (16 MiB). */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/** Length of the wrapped (Umbral-encrypted) file key. */
export const WRAPPED_KEY_LEN = 72;
/** Length of the file key. */
export const FILE_KEY_LEN = 32;
/** Length of the Poly1305 tag ending every sealed chunk. */
export const TAG_LEN = 16;
/** Length of the header. */
export const HEADER_LEN = MAGIC.length + 1 + 4 + 2 + CAPSULE_LEN + 2 + WRAPPED_KEY_LEN;

/** A file's header. */
export interface Header {
  /** Plaintext bytes per chunk. */
  chunkSize: number;
  /** The capsule, umbral-pre's standard bytes (105). */
  capsule: Uint8Array;
  /** The file key encrypted by umbral (72 bytes). */
  wrappedKey: Uint8Array;
  /** The whole header's bytes: every chunk's associated data. */
  bytes: Uint8Array;
}

function checkChunkSize(chunkSize: number): void {
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new FormatError('header', `malformed header: chunk size ${chunkSize} is not within 1..=${MAX_CHUNK_SIZE}`);
  }
}

function encodeHeader(chunkSize: number, capsule: Uint8Array, wrappedKey: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(HEADER_LEN);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  bytes[8] = VERSION;
  view.setUint32(9, chunkSize);
  view.setUint16(13, capsule.length);
  bytes.set(capsule, 15);
  view.setUint16(15 + CAPSULE_LEN, wrappedKey.length);
  bytes.set(wrappedKey, 17 + CAPSULE_LEN);
  return bytes;
}

/**
 * Reads and checks a header from the first {@link HEADER_LEN} bytes of `bytes`, in the order
 * the format prescribes (magic, version, chunk size, lengths, capsule).
 */
export function readHeader(bytes: Uint8Array): Header {
  if (bytes.length < MAGIC.length || MAGIC.some((byte, i) => bytes[i] !== byte)) {
    throw new FormatError('not-kms-file', 'not a KMS Chain encrypted file (bad magic)');
  }
  if (bytes.length < 9) throw new FormatError('header', 'malformed header: it ends inside the version');
  if (bytes[8] !== VERSION) {
    throw new FormatError('unsupported-version', `unsupported format version ${bytes[8]} (this SDK reads version 1)`);
  }
  if (bytes.length < 13) throw new FormatError('header', 'malformed header: it ends inside the chunk size');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunkSize = view.getUint32(9);
  checkChunkSize(chunkSize);
  const field = (at: number, expected: number, name: string): Uint8Array => {
    if (bytes.length < at + 2) throw new FormatError('header', `malformed header: it ends inside the ${name}'s length`);
    const len = view.getUint16(at);
    if (len !== expected) {
      throw new FormatError('header', `malformed header: the ${name} is ${len} bytes, it must be ${expected}`);
    }
    if (bytes.length < at + 2 + len) throw new FormatError('header', `malformed header: it ends inside the ${name}`);
    return bytes.slice(at + 2, at + 2 + len);
  };
  const capsule = field(13, CAPSULE_LEN, 'capsule');
  const wrappedKey = field(15 + CAPSULE_LEN, WRAPPED_KEY_LEN, 'wrapped key');
  try {
    decodeCapsule(capsule).free();
  } catch (error) {
    throw new FormatError('header', `malformed header: the capsule is not a canonical umbral-pre capsule (${(error as Error).message})`);
  }
  return { chunkSize, capsule, wrappedKey, bytes: bytes.slice(0, HEADER_LEN) };
}

/** The header's capsule, decoded (canonical form checked). Free it when done. */
export function headerCapsule(header: Header): Capsule {
  return decodeCapsule(header.capsule);
}

/** Length of the body of a `plaintextLength`-byte object: each chunk adds a 16-byte tag. */
export function encryptedBodyLength(plaintextLength: number, chunkSize = DEFAULT_CHUNK_SIZE): number {
  const chunks = Math.max(1, Math.ceil(plaintextLength / Math.max(1, chunkSize)));
  return plaintextLength + chunks * TAG_LEN;
}

function nonce(index: number, last: boolean): Uint8Array {
  const bytes = new Uint8Array(12);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(index));
  bytes[8] = last ? 1 : 0;
  return bytes;
}

class ChunkCipher {
  constructor(
    private readonly key: Uint8Array,
    private readonly header: Uint8Array,
  ) {}

  seal(index: number, last: boolean, plain: Uint8Array): Uint8Array {
    return chacha20poly1305(this.key, nonce(index, last), this.header).encrypt(plain);
  }

  open(index: number, last: boolean, sealed: Uint8Array): Uint8Array | undefined {
    try {
      return chacha20poly1305(this.key, nonce(index, last), this.header).decrypt(sealed);
    } catch {
      return undefined;
    }
  }
}

/** Options of {@link encryptStream}. */
export interface EncryptOptions {
  /** Plaintext bytes per chunk, `1..=16 MiB`; 64 KiB by default. */
  chunkSize?: number;
  /** Called with the plaintext bytes done so far, after each chunk. */
  onProgress?: (bytes: number) => void;
}

/** A growable byte queue: appends without copying what is already queued more than once. */
class Queue {
  private parts: Uint8Array[] = [];
  length = 0;

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    // A copy: the producer may reuse its buffer.
    this.parts.push(bytes.slice());
    this.length += bytes.length;
  }

  /** Removes and returns the first `n` bytes (`n <= length`). */
  take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const part = this.parts[0]!;
      const used = Math.min(part.length, n - at);
      out.set(part.subarray(0, used), at);
      at += used;
      if (used === part.length) this.parts.shift();
      else this.parts[0] = part.subarray(used);
    }
    this.length -= n;
    return out;
  }
}

/**
 * A stream that encrypts what is written to it to `delegating` (an owner's delegating public
 * key: the owner opens it, and readers it grants through a policy).
 */
export function encryptStream(
  delegating: PublicKey,
  options: EncryptOptions = {},
): TransformStream<Uint8Array, Uint8Array> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  checkChunkSize(chunkSize);
  const fileKey = randomBytes(FILE_KEY_LEN);
  const [capsule, wrappedKey] = encrypt(delegating, fileKey);
  const capsuleBytes = capsule.toBytes();
  capsule.free();
  if (capsuleBytes.length !== CAPSULE_LEN || wrappedKey.length !== WRAPPED_KEY_LEN) {
    throw new FormatError('header', `umbral produced a ${capsuleBytes.length}-byte capsule and a ${wrappedKey.length}-byte wrapped key`);
  }
  const header = encodeHeader(chunkSize, capsuleBytes, wrappedKey);
  const cipher = new ChunkCipher(fileKey, header);
  const queue = new Queue();
  let index = 0;
  let done = 0;
  const emit = (controller: TransformStreamDefaultController<Uint8Array>, plain: Uint8Array, last: boolean) => {
    controller.enqueue(cipher.seal(index, last, plain));
    index += 1;
    done += plain.length;
    options.onProgress?.(done);
  };
  return new TransformStream({
    start(controller) {
      controller.enqueue(header);
    },
    transform(bytes, controller) {
      queue.push(bytes);
      // A full chunk is non-final only if more bytes follow it.
      while (queue.length > chunkSize) emit(controller, queue.take(chunkSize), false);
    },
    flush(controller) {
      try {
        emit(controller, queue.take(queue.length), true);
      } finally {
        fileKey.fill(0);
      }
    },
  });
}

/** Recovers a file's key from its header: see {@link ownerKey} and `KmsClient.readerKey`. */
export type Unwrap = (header: Header) => Promise<Uint8Array> | Uint8Array;

/** Options of {@link decryptStream}. */
export interface DecryptOptions {
  /** Called with the plaintext bytes written so far, after each chunk. */
  onProgress?: (bytes: number) => void;
  /** Called with the header once it is read and checked, before `unwrap`. */
  onHeader?: (header: Header) => void;
}

/**
 * A stream that decrypts a file written to it. Once the header is read, `unwrap` recovers the
 * file key (the owner with its delegating key, a reader with cfrags from the nodes); every
 * chunk is authenticated before it is passed on. Errors are {@link FormatError}s, or what
 * `unwrap` throws (a reader's request refused, for example). The file key is zeroed when the
 * stream ends, whether it succeeded or not.
 */
export function decryptStream(unwrap: Unwrap, options: DecryptOptions = {}): TransformStream<Uint8Array, Uint8Array> {
  const queue = new Queue();
  let cipher: ChunkCipher | undefined;
  let header: Header | undefined;
  let index = 0;
  let done = 0;
  let key: Uint8Array | undefined;
  const start = async () => {
    header = readHeader(queue.take(HEADER_LEN));
    options.onHeader?.(header);
    key = await unwrap(header);
    if (key.length !== FILE_KEY_LEN) {
      throw new FormatError('key', `the unwrapped key is ${key.length} bytes long, expected ${FILE_KEY_LEN}`);
    }
    cipher = new ChunkCipher(key, header.bytes);
  };
  // Runs `step`, zeroing the file key if it fails (the stream is then errored) or `last`.
  const guarded = async (step: () => Promise<void> | void, last = false) => {
    try {
      await step();
    } catch (error) {
      key?.fill(0);
      throw error;
    }
    if (last) key?.fill(0);
  };
  const chunk = (controller: TransformStreamDefaultController<Uint8Array>, sealed: Uint8Array, end: boolean) => {
    const window = header!.chunkSize + TAG_LEN;
    if (sealed.length < TAG_LEN) throw new FormatError('truncated', 'the file is truncated: it ends before its final chunk');
    const tampered = () => new FormatError('tampered', `chunk ${index} failed authentication: the file was tampered with, reordered, or the key is wrong`, index);
    let plain: Uint8Array | undefined;
    if (sealed.length < window) {
      // A short window means the input ended: the final chunk.
      plain = cipher!.open(index, true, sealed);
      if (!plain) throw tampered();
    } else if (!end) {
      plain = cipher!.open(index, false, sealed);
      if (!plain) {
        if (cipher!.open(index, true, sealed)) throw new FormatError('trailing-data', 'data follows the final chunk');
        throw tampered();
      }
    } else {
      plain = cipher!.open(index, true, sealed);
      if (!plain) {
        if (cipher!.open(index, false, sealed)) throw new FormatError('truncated', 'the file is truncated: it ends before its final chunk');
        throw tampered();
      }
    }
    controller.enqueue(plain);
    index += 1;
    done += plain.length;
    options.onProgress?.(done);
  };
  return new TransformStream({
    transform(bytes, controller) {
      return guarded(async () => {
        queue.push(bytes);
        if (!cipher) {
          if (queue.length < HEADER_LEN) return;
          await start();
        }
        const window = header!.chunkSize + TAG_LEN;
        // A full window is a non-final chunk only if more bytes follow it.
        while (queue.length > window) chunk(controller, queue.take(window), false);
      });
    },
    flush(controller) {
      return guarded(() => {
        if (!cipher) {
          // The input ended inside the header: say where.
          readHeader(queue.take(queue.length));
          throw new FormatError('header', 'malformed header: the file ends inside it');
        }
        chunk(controller, queue.take(queue.length), true);
      }, true);
    },
  });
}

/** The owner's {@link Unwrap}: the file key with the label's delegating secret key. */
export function ownerKey(delegating: SecretKey): Unwrap {
  return (header) => {
    const capsule = headerCapsule(header);
    try {
      return decryptOriginal(delegating, capsule, header.wrappedKey);
    } catch {
      throw new FormatError('key', 'the file does not open with this key: it was encrypted to another label or owner');
    } finally {
      capsule.free();
    }
  };
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return concat(...parts);
    parts.push(value);
  }
}

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

/** Encrypts bytes in memory (see {@link encryptStream} for large data). */
export function encryptBytes(delegating: PublicKey, plaintext: Uint8Array, options: EncryptOptions = {}): Promise<Uint8Array> {
  return collect(streamOf(plaintext).pipeThrough(encryptStream(delegating, options)));
}

/** Decrypts a file in memory (see {@link decryptStream} for large data). */
export function decryptBytes(file: Uint8Array, unwrap: Unwrap, options: DecryptOptions = {}): Promise<Uint8Array> {
  return collect(streamOf(file).pipeThrough(decryptStream(unwrap, options)));
}
