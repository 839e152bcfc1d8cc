/**
 * Every error the SDK throws is a {@link KmsError}; its subclasses say what went wrong in a form
 * a program can act on.
 *
 * @module
 */

/** The base of every error the SDK throws. */
export class KmsError extends Error {
  override name = 'KmsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A value is outside a bound the chain enforces, found before anything was submitted. (The
 * chain refuses such a transaction already in the pool, with an opaque `wasm trap`.)
 */
export class LimitError extends KmsError {
  override name = 'LimitError';
  constructor(
    /** The bound, e.g. `Policies.MaxCapsules` or `capsule length`. */
    readonly limit: string,
    /** The offending value (a count or a length). */
    readonly value: number | bigint,
    /** What the chain allows, as text (`"at most 8"`, `"exactly 105 bytes"`). */
    readonly allowed: string,
  ) {
    super(`${limit}: ${value} is outside what the chain allows (${allowed})`);
  }
}

/** The chain refused a transaction: a dispatch error, decoded from the runtime's metadata. */
export class ChainError extends KmsError {
  override name = 'ChainError';
  constructor(
    /** The pallet, e.g. `Policies`. */
    readonly pallet: string,
    /** The error's name, e.g. `PolicyRevoked`. */
    readonly error: string,
    /** The error's documentation from the runtime. */
    readonly docs: string,
  ) {
    super(`${pallet}::${error}${docs ? `: ${docs}` : ''}`);
  }

  /** Whether this is `pallet::error`. */
  is(pallet: string, error: string): boolean {
    return this.pallet === pallet && this.error === error;
  }
}

/** The transaction pool refused a transaction, or dropped it (bad nonce, cannot pay fees…). */
export class RefusedError extends KmsError {
  override name = 'RefusedError';
}

/** Umbral objects that are malformed, not canonical, or fail their verification. */
export class UmbralError extends KmsError {
  override name = 'UmbralError';
}

/** Why an encrypted file (the `kms` file format) is refused. */
export type FormatProblem =
  | 'not-kms-file'
  | 'unsupported-version'
  | 'header'
  | 'truncated'
  | 'tampered'
  | 'trailing-data'
  | 'key';

/** An encrypted file or secret that does not open: see {@link FormatProblem}. */
export class FormatError extends KmsError {
  override name = 'FormatError';
  constructor(
    readonly problem: FormatProblem,
    message: string,
    /** For `tampered`: the index (from 0) of the chunk that failed. */
    readonly chunk?: number,
  ) {
    super(message);
  }
}

/** A bounded wait ended before what it waited for happened. */
export class TimeoutError extends KmsError {
  override name = 'TimeoutError';
}

/** The keyring file does not open: wrong passphrase, or not a keyring. */
export class KeyringError extends KmsError {
  override name = 'KeyringError';
}

/** A policy the requester may not use now, with the chain's reason (`check_access`). */
export class AccessDeniedError extends KmsError {
  override name = 'AccessDeniedError';
  constructor(
    /** The reason, as `PoliciesApi.check_access` names it (`PolicyRevoked`, `TooEarly`…). */
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A reader's request that did not yield enough cfrags that verify: too few nodes answered by
 * the request's deadline (or the wait's bound), or too many answers were wrong. Wrong answers
 * were challenged all the same (unless told not to): see {@link RetrievalError.wrong}.
 */
export class RetrievalError extends KmsError {
  override name = 'RetrievalError';
  constructor(
    message: string,
    /** The request's id. */
    readonly request: bigint,
    /** `too-few-answers`: the deadline or the wait's bound passed; `too-few-valid`: too many were wrong. */
    readonly reason: 'too-few-answers' | 'too-few-valid',
    /** How many answers verified. */
    readonly verified: number,
    /** The nodes whose cfrags failed verification, and what challenging each did. */
    readonly wrong: { node: string; error: string; challenge?: 'penalized' | 'not-penalized' | 'not-challenged' | { error: string } }[],
  ) {
    super(message);
  }
}
