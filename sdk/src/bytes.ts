/**
 * Byte helpers shared by the modules.
 *
 * @module
 * @internal
 */
import { KmsError } from './errors.js';

const encoder = new TextEncoder();

/** UTF-8 bytes of a string; bytes as they are. */
export function bytesOf(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : value;
}

/** `0x`-prefixed lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  let out = '0x';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

/** Bytes of hex (with or without `0x`), optionally of an exact length. */
export function fromHex(text: string, what: string, length?: number): Uint8Array {
  const digits = typeof text === 'string' ? text.replace(/^0x/, '') : '';
  if (digits.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(digits)) {
    throw new KmsError(`${what} is not hex`);
  }
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  if (length !== undefined && bytes.length !== length) {
    throw new KmsError(`${what} is ${bytes.length} bytes, not ${length}`);
  }
  return bytes;
}

/** Cryptographically secure random bytes (Web Crypto, in Node.js and browsers). */
export function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  globalThis.crypto.getRandomValues(bytes);
  return bytes;
}

/** The concatenation of `parts`. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Standard base64 (with padding) of bytes. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Bytes of standard base64; `undefined` if it is not base64. */
export function fromBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}
