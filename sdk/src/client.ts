/**
 * A connection to a KMS Chain node and the operations of every role, on polkadot.js.
 *
 * Reads are made at the node's best block (cfrags are verified cryptographically, so a reader
 * needs no finality to use them); transactions resolve once they are in a best block, with
 * their events. Every bound the runtime enforces is checked before anything is submitted
 * ({@link LimitError}), and every refusal by the chain is a {@link ChainError} naming the
 * pallet's error with its documentation.
 *
 * @module
 */
import { ApiPromise, WsProvider } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Signer as InjectedSigner } from '@polkadot/types/types';
import type { DispatchError, EventRecord } from '@polkadot/types/interfaces';
import { compactToU8a, u8aToHex, hexToU8a } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto';
import type { VerifiedCapsuleFrag } from '@nucypher/umbral-pre';
import {
  AccessDeniedError,
  ChainError,
  KmsError,
  LimitError,
  RefusedError,
  RetrievalError,
  TimeoutError,
} from './errors.js';
import { bytesOf, concat, fromHex, randomBytes, toHex } from './bytes.js';
import { flatten, unflatten, type Condition } from './conditions.js';
import { FormatError } from './errors.js';
import type { Unwrap } from './format.js';
import type { UmbralIdentity } from './keys.js';
import { openReencrypted, parseSecret, sealKFrags, verifyCfrag, type PolicyKeys } from './umbral.js';
import { CAPSULE_LEN, PUBLIC_KEY_LEN, decodeCapsule, decodePublicKey } from './wire.js';

/** Who signs a transaction: a polkadot.js key pair, or an address with an injected signer (a browser extension). */
export type Account = KeyringPair | { address: string; signer: InjectedSigner };

/** A policy's id: 16 bytes. */
export type PolicyId = Uint8Array;

/** A transaction in a best block, with what it did. */
export interface Included {
  /** The block's number. */
  block: number;
  /** The block's hash. */
  blockHash: string;
  /** The transaction's events. */
  events: EventRecord[];
}

/** Every bound of the runtime a client checks before submitting (from the metadata). */
export interface Limits {
  /** `Policies.MaxNodes`: nodes of a policy. */
  maxNodes: number;
  /** `Policies.MaxLabelLen`: bytes of a policy's label. */
  maxLabelLen: number;
  /** `Policies.MaxConditionNodes`: nodes of a condition tree. */
  maxConditionNodes: number;
  /** `Policies.MaxConditionDepth`: depth of a condition tree. */
  maxConditionDepth: number;
  /** `Policies.MaxCapsules`: capsules of one request. */
  maxCapsules: number;
  /** `Policies.MinFeeRate`, `MaxFeeRate`: a policy's fee per node and period. */
  minFeeRate: bigint;
  maxFeeRate: bigint;
  /** `Policies.ResponseWindow`: blocks nodes have to answer a request. */
  responseWindow: number;
  /** `Policies.MinRequestPrice`: the floor of a request slot's price. */
  minRequestPrice: bigint;
  /** `Staking.PeriodLength`: blocks per period. */
  periodLength: number;
}

/** A node of a policy as the chain records it. */
export interface PolicyNode {
  /** The node (its staker's address). */
  node: string;
  /** The version of the node's Umbral key its kfrag is sealed to. */
  keyVersion: number;
  /** The block it accepted the policy's current version in; `undefined` while pending. */
  accepted?: number;
}

/** A policy as the chain records it. */
export interface Policy {
  id: string;
  owner: string;
  /** The label, as text (lossy if it is not UTF-8: {@link Policy.labelBytes} is exact). */
  label: string;
  labelBytes: Uint8Array;
  delegatingKey: Uint8Array;
  verifyingKey: Uint8Array;
  receivingKey: Uint8Array;
  threshold: number;
  nodes: PolicyNode[];
  start: number;
  end: number;
  feeRate: bigint;
  conditions: Condition[];
  /** `active`, or `revoked`/`expired` with the block. */
  status: { kind: 'active' } | { kind: 'revoked' | 'expired' | 'closed'; block?: number };
  version: number;
}

/** What a grant will do: check {@link GrantPlan.fee} (and the nodes) before {@link GrantPlan.submit}. */
export interface GrantPlan {
  /** The new policy's id. */
  id: PolicyId;
  /** Its last block plus one. */
  end: number;
  /** The nodes, each with its key version. */
  nodes: { node: string; keyVersion: number; umbralKey: Uint8Array }[];
  /** What `createPolicy` escrows if it lands in the next block: rate × nodes × periods. */
  fee: bigint;
  /** Periods the fee covers. */
  periods: number;
  /** Signs and submits the policy; resolves once the threshold of nodes accepted it (unless told not to wait). */
  submit(): Promise<Granted>;
}

/** A created policy. */
export interface Granted {
  /** Its id (16 bytes) and as hex. */
  id: PolicyId;
  idHex: string;
  /** Where `createPolicy` landed. */
  included: Included;
  /** What was escrowed. */
  escrowed: bigint;
  /** How the nodes stand, if the grant waited for them. */
  acceptance?: Acceptance;
}

/** How a policy's nodes stand on its current version. */
export interface Acceptance {
  /** Nodes that accepted. */
  accepted: string[];
  /** Nodes that declined, with the reason. */
  declined: { node: string; reason: string }[];
  /** Nodes that have not decided. */
  pending: string[];
  /** The best block the policy was seen usable in (finalize it for readers of finalized state). */
  block: number;
  /** That block's hash. */
  blockHash: string;
}

/** Options of {@link KmsClient.planGrant}. */
export interface GrantOptions {
  /** The owner's label: its delegating key is what the data was encrypted to. */
  label: string;
  /** The reader's receiving key (33 bytes, or hex). */
  receivingKey: Uint8Array | string;
  /** `M`: how many cfrags open a capsule. */
  threshold: number;
  /** `N`: how many nodes hold kfrags. */
  shares: number;
  /** The nodes (addresses), or `'auto'` to sample eligible ones in proportion to stake (the default). */
  nodes?: string[] | 'auto';
  /** Blocks from the best block until the policy ends (it serves through `end - 1`). */
  blocks: number;
  /** The fee per node and period, plancks. */
  feeRate: bigint;
  /** Conditions on requesters (all must hold); none by default. */
  conditions?: Condition[];
  /** The policy's id (16 bytes); random by default. */
  id?: PolicyId;
  /** Blocks to wait after creation for the threshold of nodes to accept; 20 by default, 0 not to wait. */
  acceptWithin?: number;
}

/** A reader's answers: verified cfrags, and the nodes whose cfrags were wrong. */
export interface Retrieval {
  /** The request's id. */
  request: bigint;
  /** The block the request is in. */
  block: number;
  /** The policy, as read before the request. */
  policy: Policy;
  /** `threshold` cfrags that verify. */
  cfrags: VerifiedCapsuleFrag[];
  /** The nodes whose cfrags these are. */
  answeredBy: string[];
  /** Nodes whose cfrag failed verification, and what challenging it did. */
  wrong: RetrievalError['wrong'];
}

/** Options of a reader's request. */
export interface RequestOptions {
  /** The most the request may burn for its slot (plancks); twice the current price, grown by what it can rise while blocks are not final, by default. */
  maxPrice?: bigint;
  /** Challenge nodes whose cfrags fail verification (true by default): a challenge slashes a lying node and pays the challenger. */
  challenge?: boolean;
}

/** Options of {@link KmsClient.connect} and the constructor. */
export interface ConnectOptions {
  /** Milliseconds to wait for the connection and the metadata; 30 s by default. */
  timeoutMs?: number;
  /**
   * Milliseconds any one wait may last: a transaction until it is in a block, a policy's
   * acceptance, a request's answers (which also end at a block), finality. 120 s by default.
   */
  waitMs?: number;
}

/** Options of bounded waits. */
export interface WaitOptions {
  /** Milliseconds to wait for a transaction to be in a block; 120 s by default. */
  timeoutMs?: number;
  /**
   * The block the transaction is anchored at (its mortality counts from there and it signs that
   * block's hash, so it is invalid on any chain without it); polkadot.js's choice by default.
   */
  anchor?: Pick<Included, 'block' | 'blockHash'>;
}

/** Blocks a transaction anchored with {@link WaitOptions.anchor} stays valid. */
export const MORTALITY = 64;

const GRANT_DOMAIN = bytesOf('kms-chain/grant/v1');
const POLICY_ID_LEN = 16;

function u32le(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
}

function keyBytes(key: Uint8Array | string, what: string): Uint8Array {
  const bytes = typeof key === 'string' ? fromHex(key, what, PUBLIC_KEY_LEN) : key;
  decodePublicKey(bytes).free();
  return bytes;
}

/** What the chain can have raised a request price `price` to, `blocks` blocks later (an eighth a block, at most 64 blocks counted). */
export function priceBound(price: bigint, blocks: number): bigint {
  let max = price;
  for (let i = 0; i < Math.min(blocks, 64); i++) max += max / 8n + 1n;
  return max;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A KMS Chain client. */
export class KmsClient {
  #limits?: Limits;
  /** How long any one wait lasts at most (milliseconds). */
  readonly waitMs: number;

  /** Wraps an `ApiPromise` a dApp already has (connected to a KMS Chain node). */
  constructor(
    readonly api: ApiPromise,
    options: Pick<ConnectOptions, 'waitMs'> = {},
  ) {
    this.waitMs = options.waitMs ?? 120_000;
  }

  /** Connects to the node at `url` (`ws://` or `wss://`). */
  static async connect(url: string, options: ConnectOptions = {}): Promise<KmsClient> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    // Reconnects by itself after a drop (subscriptions resume); every wait is bounded anyway.
    const provider = new WsProvider(url, 2_500);
    try {
      const api = await withTimeout(ApiPromise.create({ provider, noInitWarn: true }), timeoutMs, `connecting to ${url} and reading its metadata`);
      return new KmsClient(api, options);
    } catch (error) {
      await provider.disconnect().catch(() => undefined);
      if (error instanceof KmsError) throw error;
      throw new KmsError(`cannot connect to ${url}: ${(error as Error).message ?? String(error)}`, { cause: error });
    }
  }

  /** Closes the connection. */
  disconnect(): Promise<void> {
    return this.api.disconnect();
  }

  /** The runtime's bounds, from its metadata. */
  limits(): Limits {
    if (!this.#limits) {
      const policies = this.api.consts.policies!;
      const number = (value: unknown) => Number((value as { toString(): string }).toString());
      const big = (value: unknown) => BigInt((value as { toString(): string }).toString());
      this.#limits = {
        maxNodes: number(policies.maxNodes),
        maxLabelLen: number(policies.maxLabelLen),
        maxConditionNodes: number(policies.maxConditionNodes),
        maxConditionDepth: number(policies.maxConditionDepth),
        maxCapsules: number(policies.maxCapsules),
        minFeeRate: big(policies.minFeeRate),
        maxFeeRate: big(policies.maxFeeRate),
        responseWindow: number(policies.responseWindow),
        minRequestPrice: big(policies.minRequestPrice),
        periodLength: Math.max(1, number(this.api.consts.staking!.periodLength)),
      };
    }
    return this.#limits;
  }

  /** The chain's genesis hash. */
  genesisHash(): Uint8Array {
    return this.api.genesisHash.toU8a();
  }

  /** The number of the best block. */
  async bestBlock(): Promise<number> {
    return (await this.api.rpc.chain.getHeader()).number.toNumber();
  }

  /** The number of the latest finalized block. */
  async finalizedBlock(): Promise<number> {
    const hash = await this.api.rpc.chain.getFinalizedHead();
    return (await this.api.rpc.chain.getHeader(hash)).number.toNumber();
  }

  /** Milliseconds per block. */
  async blockTimeMs(): Promise<number> {
    return Number((await this.api.call.auraApi!.slotDuration!()).toString());
  }

  // --- Transactions ---------------------------------------------------------------------------

  /**
   * Signs `tx` as `account`, submits it and resolves once it is in a best block. A transaction
   * the chain refuses is a {@link ChainError}; one the pool refuses or drops a
   * {@link RefusedError}; no block within the timeout a {@link TimeoutError}.
   */
  async submit(tx: SubmittableExtrinsic<'promise'>, account: Account, options: WaitOptions = {}): Promise<Included> {
    const timeoutMs = options.timeoutMs ?? this.waitMs;
    // Signed first: a person approving in a browser extension takes the time they need, and a
    // transaction is never sent after its wait was given up.
    const injected = 'signer' in account && !('sign' in account);
    const anchored = options.anchor
      ? { blockHash: options.anchor.blockHash, era: this.api.createType('ExtrinsicEra', { current: options.anchor.block, period: MORTALITY }) }
      : {};
    try {
      if (injected) await tx.signAsync(account.address, { nonce: -1, signer: account.signer, ...anchored });
      else await tx.signAsync(account as KeyringPair, { nonce: -1, ...anchored });
    } catch (error) {
      throw new KmsError(`the transaction was not signed: ${(error as Error).message ?? String(error)}`, { cause: error });
    }
    let settled = false;
    let stop: (() => void) | undefined;
    const included = new Promise<Included>((resolve, reject) => {
      tx.send((result) => {
        const { status, dispatchError, events } = result;
        if (status.isInBlock || status.isFinalized) {
          settled = true;
          const blockHash = (status.isInBlock ? status.asInBlock : status.asFinalized).toHex();
          if (dispatchError) {
            reject(this.chainError(dispatchError));
            return;
          }
          this.api.rpc.chain
            .getHeader(blockHash)
            .then((header) => resolve({ block: header.number.toNumber(), blockHash, events }))
            .catch(reject);
        } else if (status.isInvalid || status.isDropped || status.isUsurped) {
          settled = true;
          reject(new RefusedError(`the transaction pool reports the transaction ${status.type.toLowerCase()}`));
        }
      })
        .then((unsubscribe) => {
          stop = unsubscribe;
          if (settled) unsubscribe();
        })
        .catch((error: Error) => reject(new RefusedError(`the node refused the transaction: ${error.message}`, { cause: error })));
    });
    try {
      return await withTimeout(included, timeoutMs, 'waiting for the transaction to be in a block');
    } finally {
      settled = true;
      stop?.();
    }
  }

  /**
   * Waits until the block that included a transaction is finalized (120 s at most by default),
   * for what must be final: payments, or a reader of finalized state such as the `kms` CLI.
   * Rejects if another block was finalized at its height (the fork that had it was abandoned:
   * check whether the transaction went through, and submit again if not).
   */
  async finalize(included: Pick<Included, 'block' | 'blockHash'>, options: WaitOptions = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? this.waitMs);
    while ((await this.finalizedBlock()) < included.block) {
      if (Date.now() > deadline) throw new TimeoutError(`block ${included.block} was not finalized in time (finality lags)`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const hash = (await this.api.rpc.chain.getBlockHash(included.block)).toHex();
    if (hash !== included.blockHash) {
      throw new KmsError(`block ${included.block} was finalized without the transaction (a fork was abandoned); check whether it went through, and submit again if not`);
    }
  }

  /** A dispatch error as a {@link ChainError}, named from the metadata. */
  chainError(error: DispatchError): ChainError {
    if (error.isModule) {
      const module = error.asModule;
      const meta = this.api.registry.findMetaError(module);
      const pallet = this.api.registry.metadata.pallets.find((p) => p.index.eq(module.index));
      return new ChainError(pallet?.name.toString() ?? meta.section, meta.name, meta.docs.join(' ').trim());
    }
    const inner = (error as unknown as { inner?: { toString(): string } }).inner;
    return new ChainError(error.type, inner?.toString() ?? error.type, '');
  }

  // --- Nodes and policies -----------------------------------------------------------------------

  /** A node's current Umbral key and its version; `undefined` if it is not registered. */
  async nodeKey(node: string): Promise<{ keyVersion: number; umbralKey: Uint8Array; minFeeRate: bigint } | undefined> {
    const info = await this.api.query.staking!.nodes!(node);
    if ((info as unknown as { isNone: boolean }).isNone) return undefined;
    // polkadot.js names the `keys` field `keys_` (it would hide `Struct.keys`): read the JSON.
    const json = (info as unknown as { unwrap(): { toJSON(): Record<string, unknown> } }).unwrap().toJSON();
    const keys = (json.keys ?? json.keys_) as string[];
    const first = Number(json.firstKeyVersion);
    const last = keys[keys.length - 1];
    if (!last) return undefined;
    return { keyVersion: first + keys.length - 1, umbralKey: hexToU8a(last), minFeeRate: BigInt(String(json.minFeeRate)) };
  }

  /** Up to `count` nodes eligible for a policy ending at `end`, drawn in proportion to stake. */
  async sampleNodes(count: number, end: number, seed: Uint8Array = randomBytes(32)): Promise<string[]> {
    const drawn = await this.api.call.policiesApi!.sampleNodes!(count, end, seed);
    return (drawn as unknown as { toString(): string }[]).map((account) => account.toString());
  }

  /** The current keys of `accounts`, each a registered node asking at most `feeRate`. */
  async #chooseNodes(accounts: string[], feeRate: bigint): Promise<GrantPlan['nodes']> {
    const nodes: GrantPlan['nodes'] = [];
    for (const node of accounts) {
      const key = await this.nodeKey(node);
      if (!key) throw new AccessDeniedError('NotANode', `${node} is not a registered node with a key`);
      if (key.minFeeRate > feeRate) {
        throw new AccessDeniedError('FeeRateTooLow', `node ${node} asks at least ${key.minFeeRate} plancks per period`);
      }
      decodePublicKey(key.umbralKey).free();
      nodes.push({ node, keyVersion: key.keyVersion, umbralKey: key.umbralKey });
    }
    return nodes;
  }

  /**
   * Kfrags of `identity`'s delegation for `label` to `receiving`, sealed to `nodes`, as the
   * chain's grants; with the policy's delegating and verifying keys.
   */
  #sealGrants(identity: UmbralIdentity, label: Uint8Array | string, receiving: Uint8Array, threshold: number, nodes: GrantPlan['nodes']) {
    const delegating = identity.delegatingKey(label);
    const signer = identity.signer();
    const delegatingPk = delegating.publicKey();
    const verifyingPk = signer.verifyingKey();
    const owned: { free(): void }[] = [delegating, signer, delegatingPk, verifyingPk];
    try {
      const receivingPk = decodePublicKey(receiving);
      owned.push(receivingPk);
      const nodeKeys = nodes.map((n) => {
        const key = decodePublicKey(n.umbralKey);
        owned.push(key);
        return key;
      });
      const sealed = sealKFrags(delegating, signer, receivingPk, threshold, nodeKeys);
      const grants = nodes.map((n, i) => ({
        node: n.node,
        keyVersion: n.keyVersion,
        kfrag: { capsule: u8aToHex(sealed[i]!.capsule), ciphertext: u8aToHex(sealed[i]!.ciphertext) },
      }));
      return { grants, delegatingKey: delegatingPk.toCompressedBytes(), verifyingKey: verifyingPk.toCompressedBytes() };
    } finally {
      owned.forEach((object) => object.free());
    }
  }

  /**
   * Prepares a policy granting `options.receivingKey` `threshold`-of-`shares` access to what was
   * encrypted to `options.label`: nodes chosen and checked, kfrags made, verified and sealed to
   * each node here. Nothing is submitted until {@link GrantPlan.submit}.
   */
  async planGrant(owner: Account, identity: UmbralIdentity, options: GrantOptions): Promise<GrantPlan> {
    const limits = this.limits();
    const { threshold, shares, feeRate } = options;
    if (!Number.isInteger(shares) || shares < 1 || shares > limits.maxNodes) {
      throw new LimitError('Policies.MaxNodes', shares, `1..=${limits.maxNodes} nodes`);
    }
    if (!Number.isInteger(threshold) || threshold < 1 || threshold > shares) {
      throw new LimitError('threshold', threshold, `1..=${shares} (the number of nodes)`);
    }
    const label = bytesOf(options.label);
    if (label.length > limits.maxLabelLen) {
      throw new LimitError('Policies.MaxLabelLen', label.length, `at most ${limits.maxLabelLen} bytes`);
    }
    if (feeRate < limits.minFeeRate || feeRate > limits.maxFeeRate) {
      throw new LimitError('Policies.MinFeeRate..MaxFeeRate', feeRate, `${limits.minFeeRate}..=${limits.maxFeeRate} plancks`);
    }
    if (!Number.isInteger(options.blocks) || options.blocks < 2) {
      throw new LimitError('blocks', options.blocks, 'at least 2 blocks from now');
    }
    const conditions = flatten(options.conditions ?? [], { maxNodes: limits.maxConditionNodes, maxDepth: limits.maxConditionDepth });
    const receiving = keyBytes(options.receivingKey, 'the receiving key');
    const id = options.id ?? randomBytes(POLICY_ID_LEN);
    if (id.length !== POLICY_ID_LEN) throw new LimitError('policy id', id.length, 'exactly 16 bytes');

    const now = await this.bestBlock();
    const end = now + options.blocks;
    let accounts: string[];
    if (options.nodes === undefined || options.nodes === 'auto') {
      accounts = await this.sampleNodes(shares, end);
      if (accounts.length < shares) {
        throw new AccessDeniedError('NotEnoughNodes', `only ${accounts.length} nodes are eligible through block ${end}; ${shares} asked (ask for fewer shares or an earlier end)`);
      }
    } else {
      accounts = options.nodes;
      if (accounts.length !== shares) throw new LimitError('nodes', accounts.length, `exactly ${shares} (the shares)`);
    }
    const nodes = await this.#chooseNodes(accounts, feeRate);
    const first = Math.floor((now + 1) / limits.periodLength);
    const last = Math.floor((end - 1) / limits.periodLength);
    const periods = last - first + 1;
    const fee = feeRate * BigInt(shares) * BigInt(periods);

    const submit = async (): Promise<Granted> => {
      const { grants, delegatingKey, verifyingKey } = this.#sealGrants(identity, label, receiving, threshold, nodes);
      const call = (signature: Uint8Array) =>
        this.api.tx.policies!.createPolicy!(u8aToHex(id), u8aToHex(label), u8aToHex(delegatingKey), u8aToHex(verifyingKey), u8aToHex(receiving), threshold, grants, end, feeRate, conditions, u8aToHex(signature));
      // `GrantTerms` (kms_primitives::policies), field by field in its SCALE layout, with the
      // conditions and grants encoded by the call itself: what the chain checks the signature over.
      const unsigned = call(new Uint8Array(64));
      const args = unsigned.method.args;
      const terms = concat(
        decodeAddress(owner.address),
        id,
        verifyingKey,
        delegatingKey,
        receiving,
        u32le(threshold),
        u32le(end),
        args[9]!.toU8a(),
        args[6]!.toU8a(),
      );
      const payload = concat(compactToU8a(GRANT_DOMAIN.length), GRANT_DOMAIN, this.genesisHash(), terms);
      const signer = identity.signer();
      const signature = signer.sign(payload);
      const signatureBytes = signature.toBEBytes();
      [signature, signer].forEach((object) => object.free());
      const included = await this.submit(call(signatureBytes), owner);
      const created = findEvent(included.events, 'policies', 'PolicyCreated');
      if (!created) throw new KmsError('the policy was created without a PolicyCreated event');
      const escrowed = BigInt(String(eventFields(created).escrowed));
      const acceptWithin = options.acceptWithin ?? 20;
      const acceptance =
        acceptWithin > 0 ? await this.waitForAcceptance(id, threshold, included.block, included.block + acceptWithin) : undefined;
      return { id, idHex: toHex(id), included, escrowed, acceptance };
    };
    return { id, end, nodes, fee, periods, submit };
  }

  /**
   * Waits until `threshold` nodes accepted policy `id`'s current version (it takes requests from
   * then on), checking each new best block until block `until`. Rejects with a
   * {@link TimeoutError} when `until` passes first, and with an {@link AccessDeniedError}
   * (`TooManyDeclines`) naming the reasons when too many nodes declined.
   */
  async waitForAcceptance(id: PolicyId, threshold: number, since: number, until: number): Promise<Acceptance> {
    const declined: { node: string; reason: string }[] = [];
    let unread = since;
    return this.#eachBestBlock(`policy ${toHex(id)}'s acceptance`, until, async (number, hash) => {
      const at = await this.api.at(hash);
      for (; unread <= number; unread++) {
        const blockHash = unread === number ? hash : (await this.api.rpc.chain.getBlockHash(unread)).toHex();
        const events = (await (await this.api.at(blockHash)).query.system!.events!()) as unknown as EventRecord[];
        for (const { event } of events) {
          if (this.api.events.policies!.PolicyDeclined!.is(event)) {
            const { id: eventId, node, reason } = eventFields(event);
            if (eventId === toHex(id)) declined.push({ node: String(node), reason: String(reason) });
          }
        }
      }
      const policy = await this.#policyAt(at, id);
      if (!policy) throw new KmsError(`there is no policy ${toHex(id)}`);
      const accepted = policy.nodes.filter((n) => n.accepted !== undefined).map((n) => n.node);
      const pending = policy.nodes.filter((n) => n.accepted === undefined).map((n) => n.node);
      if (accepted.length >= threshold) return { accepted, declined, pending, block: number, blockHash: hash };
      if (policy.nodes.length < threshold) {
        const reasons = declined.map((d) => `${d.node}: ${d.reason}`).join('; ');
        throw new AccessDeniedError('TooManyDeclines', `policy ${toHex(id)} cannot become usable: ${declined.length} nodes declined (${reasons}); rotate it to other nodes`);
      }
      return undefined;
    });
  }

  /**
   * Calls `step` for each new best block (from the current one) until it returns a value; fails
   * once a block after `until` has not, or after {@link KmsClient.waitMs}.
   */
  #eachBestBlock<T>(what: string, until: number, step: (number: number, hash: string) => Promise<T | undefined>): Promise<T> {
    let stop: (() => void) | undefined;
    let finished = false;
    const followed = new Promise<T>((resolve, reject) => {
      let busy = false;
      const finish = (outcome: () => void) => {
        if (finished) return;
        finished = true;
        stop?.();
        outcome();
      };
      this.api.rpc.chain
        .subscribeNewHeads(async (header) => {
          if (busy || finished) return;
          busy = true;
          try {
            const number = header.number.toNumber();
            const value = await step(number, header.hash.toHex());
            if (value !== undefined) finish(() => resolve(value));
            else if (number > until) finish(() => reject(new TimeoutError(`${what}: not by block ${until}`)));
          } catch (error) {
            finish(() => reject(error));
          } finally {
            busy = false;
          }
        })
        .then((unsubscribe) => {
          stop = unsubscribe;
          if (finished) unsubscribe();
        })
        .catch(reject);
    });
    return withTimeout(followed, this.waitMs, what).finally(() => {
      finished = true;
      stop?.();
    });
  }

  /** The policy `id` at the best block; `undefined` if there is none. */
  async policy(id: PolicyId | string): Promise<Policy | undefined> {
    const bytes = typeof id === 'string' ? fromHex(id, 'a policy id', POLICY_ID_LEN) : id;
    return this.#policyAt(this.api, bytes);
  }

  async #policyAt(at: { query: ApiPromise['query'] }, id: PolicyId): Promise<Policy | undefined> {
    const stored = await at.query.policies!.policies!(u8aToHex(id));
    if ((stored as unknown as { isNone: boolean }).isNone) return undefined;
    const json = (stored as unknown as { unwrap(): { toJSON(): Record<string, unknown> } }).unwrap().toJSON();
    const status = json.status as Record<string, unknown> | string;
    const statusName = typeof status === 'string' ? status : Object.keys(status)[0]!;
    const kind = statusName.charAt(0).toLowerCase() + statusName.slice(1);
    const statusBlock = typeof status === 'string' ? undefined : (Object.values(status)[0] as number | null) ?? undefined;
    return {
      id: toHex(id),
      owner: String(json.owner),
      label: new TextDecoder().decode(hexToU8a(String(json.label))),
      labelBytes: hexToU8a(String(json.label)),
      delegatingKey: hexToU8a(String(json.delegatingKey)),
      verifyingKey: hexToU8a(String(json.verifyingKey)),
      receivingKey: hexToU8a(String(json.receivingKey)),
      threshold: Number(json.threshold),
      nodes: (json.nodes as Record<string, unknown>[]).map((n) => ({
        node: String(n.node),
        keyVersion: Number(n.keyVersion),
        accepted: n.accepted === null || n.accepted === undefined ? undefined : Number(n.accepted),
      })),
      start: Number(json.start),
      end: Number(json.end),
      feeRate: BigInt(String(json.feeRate)),
      conditions: unflatten(json.conditions as Record<string, unknown>[]),
      status: kind === 'active' ? { kind: 'active' } : { kind: kind as 'revoked' | 'expired' | 'closed', block: statusBlock === undefined ? undefined : Number(statusBlock) },
      version: Number(json.version),
    };
  }

  /** Ids of every policy `owner` created (hex), in storage order, all read at one block. */
  async policiesOf(owner: string): Promise<string[]> {
    const at = await this.api.at(await this.api.rpc.chain.getBlockHash());
    const ids: string[] = [];
    for (;;) {
      const page = (await at.call.policiesApi!.policiesOf!(owner, ids.length ? ids[ids.length - 1] : null, 100)) as unknown as { toHex(): string }[];
      if (page.length === 0) return ids;
      ids.push(...page.map((id) => id.toHex()));
    }
  }

  /** Whether `requester` may request re-encryption under `policy` now; throws {@link AccessDeniedError} with the chain's reason if not. */
  async checkAccess(policy: PolicyId, requester: string): Promise<void> {
    const verdict = (await this.api.call.policiesApi!.checkAccess!(u8aToHex(policy), requester)) as unknown as {
      isErr: boolean;
      asErr: { toString(): string };
    };
    if (verdict.isErr) {
      const reason = verdict.asErr.toString();
      throw new AccessDeniedError(reason, `policy ${toHex(policy)} refuses ${requester} now: ${reason}`);
    }
  }

  /** Revokes the owner's policy: its kfrags are dropped and unused fees refunded. */
  revoke(owner: Account, id: PolicyId): Promise<Included> {
    return this.submit(this.api.tx.policies!.revokePolicy!(u8aToHex(id)), owner);
  }

  /**
   * Rotates the owner's policy to new nodes and/or a new reader and threshold: new kfrags made,
   * verified and sealed here; the old ones are no longer served. Waits for acceptance as a grant does.
   */
  async rotate(
    owner: Account,
    identity: UmbralIdentity,
    id: PolicyId,
    options: { receivingKey: Uint8Array | string; threshold: number; nodes: string[]; acceptWithin?: number },
  ): Promise<{ included: Included; acceptance?: Acceptance }> {
    const limits = this.limits();
    const policy = await this.policy(id);
    if (!policy) throw new AccessDeniedError('UnknownPolicy', `there is no policy ${toHex(id)}`);
    const { threshold, nodes } = options;
    if (nodes.length < 1 || nodes.length > limits.maxNodes) throw new LimitError('Policies.MaxNodes', nodes.length, `1..=${limits.maxNodes} nodes`);
    if (!Number.isInteger(threshold) || threshold < 1 || threshold > nodes.length) throw new LimitError('threshold', threshold, `1..=${nodes.length}`);
    const receiving = keyBytes(options.receivingKey, 'the receiving key');
    // Kfrags of other keys than the policy's would be declined by every node, after paying.
    if (toHex(identity.delegatingPublicKey(policy.labelBytes)) !== toHex(policy.delegatingKey) || toHex(identity.verifyingKey()) !== toHex(policy.verifyingKey)) {
      throw new AccessDeniedError('NotTheOwnersKeys', `policy ${toHex(id)}'s delegating and verifying keys are not this identity's for its label: rotate it with the identity that granted it`);
    }
    const chosen = await this.#chooseNodes(nodes, policy.feeRate);
    const { grants } = this.#sealGrants(identity, policy.labelBytes, receiving, threshold, chosen);
    const included = await this.submit(this.api.tx.policies!.rotatePolicy!(u8aToHex(id), u8aToHex(receiving), threshold, grants), owner);
    const acceptWithin = options.acceptWithin ?? 20;
    const acceptance = acceptWithin > 0 ? await this.waitForAcceptance(id, threshold, included.block, included.block + acceptWithin) : undefined;
    return { included, acceptance };
  }

  // --- Readers ------------------------------------------------------------------------------------

  /** What a request slot costs now (`Policies.RequestPrice`, at least its floor). */
  async requestPrice(): Promise<bigint> {
    const stored = BigInt(String(await this.api.query.policies!.requestPrice!()));
    const floor = this.limits().minRequestPrice;
    return stored > floor ? stored : floor;
  }

  /** What a request sent now should accept to pay: twice the price, grown by what it can rise in the blocks not yet final. */
  async defaultMaxPrice(): Promise<bigint> {
    const [best, finalized, price] = await Promise.all([this.bestBlock(), this.finalizedBlock(), this.requestPrice()]);
    return priceBound(price * 2n, Math.max(0, best - finalized));
  }

  /**
   * Asks policy `policy`'s nodes to re-encrypt `capsules` (standard bytes, 105 each) for
   * `reader`. Every capsule is checked (count, length, canonical form) first.
   */
  async request(reader: Account, policy: PolicyId, capsules: Uint8Array[], options: RequestOptions = {}): Promise<{ request: bigint; included: Included }> {
    const limits = this.limits();
    if (capsules.length < 1 || capsules.length > limits.maxCapsules) {
      throw new LimitError('Policies.MaxCapsules', capsules.length, `1..=${limits.maxCapsules} capsules`);
    }
    for (const capsule of capsules) {
      if (capsule.length !== CAPSULE_LEN) throw new LimitError('capsule length', capsule.length, `exactly ${CAPSULE_LEN} bytes`);
      decodeCapsule(capsule).free();
    }
    const maxPrice = options.maxPrice ?? (await this.defaultMaxPrice());
    const tx = this.api.tx.policies!.requestReencryption!(u8aToHex(policy), capsules.map((c) => u8aToHex(c)), maxPrice);
    const included = await this.submit(tx, reader);
    const requested = findEvent(included.events, 'policies', 'ReencryptionRequested');
    if (!requested) throw new KmsError('the request landed without a ReencryptionRequested event');
    const request = BigInt(String(eventFields(requested).request));
    return { request, included };
  }

  /** The answers on chain to `request` at the best block: each node with one cfrag per capsule. */
  async cfrags(request: bigint, at?: string): Promise<{ node: string; cfrags: Uint8Array[] }[]> {
    const api = at ? await this.api.at(at) : this.api;
    const answers = (await api.call.policiesApi!.cfrags!(request)) as unknown as [{ toString(): string }, { toU8a(raw: boolean): Uint8Array }[]][];
    return answers.map(([node, cfrags]) => ({ node: node.toString(), cfrags: cfrags.map((c) => c.toU8a(true)) }));
  }

  /** Waits until at least `count` nodes answered `request`, checking each new best block; a {@link TimeoutError} once a block after `until` has fewer. */
  waitForCfrags(request: bigint, count: number, until: number): Promise<{ node: string; cfrags: Uint8Array[] }[]> {
    return this.#eachBestBlock(`request ${request}: ${count} answers`, until, async (_, hash) => {
      const answers = await this.cfrags(request, hash);
      return answers.length >= count ? answers : undefined;
    });
  }

  /**
   * Challenges node `node`'s cfrag `capsuleIndex` of `request`: the chain judges it and slashes a
   * wrong one (a right one costs the challenger its deposit). With `requested` (the inclusion of
   * the challenger's own request), only while that request is still in the best chain as the
   * challenger's, and anchored at its block: the challenge can never land on a fork where the
   * id names someone else's request.
   */
  async challenge(challenger: Account, request: bigint, node: string, capsuleIndex = 0, requested?: Included): Promise<Included> {
    const tx = this.api.tx.adjudicator!.challengeCfrag!(request, node, capsuleIndex);
    if (!requested) return this.submit(tx, challenger);
    const canonical = (await this.api.rpc.chain.getBlockHash(requested.block)).toHex();
    if (canonical !== requested.blockHash) {
      throw new KmsError(`block ${requested.block} of request ${request} left the best chain (a fork): not challenging`);
    }
    const record = await this.api.query.policies!.requests!(request);
    const requester = (record as unknown as { isSome: boolean; unwrap(): { toJSON(): Record<string, unknown> } }).isSome
      ? String((record as unknown as { unwrap(): { toJSON(): Record<string, unknown> } }).unwrap().toJSON().requester)
      : undefined;
    if (requester !== challenger.address) {
      throw new KmsError(`request ${request} is not this account's on the best chain: not challenging`);
    }
    return this.submit(tx, challenger, { anchor: requested });
  }

  /**
   * A reader's request for one capsule: checks the policy is the reader's and open to it,
   * requests, waits for `threshold` cfrags that verify (until the request's deadline, and
   * {@link KmsClient.waitMs}), and challenges every wrong one, also when the request fails
   * ({@link RetrievalError} then says what arrived). The caller frees the returned cfrags.
   */
  async retrieve(reader: Account, identity: UmbralIdentity, policyId: PolicyId, capsuleBytes: Uint8Array, options: RequestOptions = {}): Promise<Retrieval> {
    const policy = await this.policy(policyId);
    if (!policy) throw new AccessDeniedError('UnknownPolicy', `there is no policy ${toHex(policyId)} on this chain`);
    const mine = identity.receivingPublicKey();
    if (toHex(policy.receivingKey) !== toHex(mine)) {
      throw new AccessDeniedError('NotTheReader', `policy ${toHex(policyId)} grants access to receiving key ${toHex(policy.receivingKey)}, not to yours (${toHex(mine)})`);
    }
    await this.checkAccess(policyId, reader.address);
    const owned: { free(): void }[] = [];
    const good: { node: string; cfrag: VerifiedCapsuleFrag }[] = [];
    let delivered = false;
    try {
      const capsule = decodeCapsule(capsuleBytes);
      owned.push(capsule);
      const keys: PolicyKeys = { delegating: decodePublicKey(policy.delegatingKey), verifying: decodePublicKey(policy.verifyingKey), receiving: decodePublicKey(mine) };
      owned.push(keys.delegating, keys.verifying, keys.receiving);
      const { request, included } = await this.request(reader, policyId, [capsuleBytes], options);
      // The chain judges answers with the keys of the version the request landed in: after a
      // rotation in between, a correct cfrag for another reader must not be challenged.
      const requested = eventFields(findEvent(included.events, 'policies', 'ReencryptionRequested')!);
      if (Number(requested.version) !== policy.version) {
        throw new AccessDeniedError('PolicyRotated', `policy ${toHex(policyId)} was rotated while the request was sent (request ${request} is for version ${requested.version}); try again`);
      }
      const deadline = Number(requested.deadline);
      const { threshold } = policy;
      const shares = policy.nodes.length;
      const wrong: Retrieval['wrong'] = [];
      let needed = threshold;
      let ended = false;
      while (good.length < threshold && needed <= shares && !ended) {
        let answers;
        try {
          answers = await this.waitForCfrags(request, needed, deadline);
        } catch (error) {
          if (!(error instanceof TimeoutError)) throw error;
          // The deadline (or the wait's bound) passed: what did arrive still counts.
          ended = true;
          answers = await this.cfrags(request);
        }
        for (const { node, cfrags } of answers) {
          if (good.some((g) => g.node === node) || wrong.some((w) => w.node === node)) continue;
          try {
            const cfrag = cfrags[0];
            if (!cfrag) throw new KmsError('an answer without a cfrag');
            good.push({ node, cfrag: verifyCfrag(capsule, cfrag, keys) });
          } catch (error) {
            wrong.push({ node, error: (error as Error).message });
          }
        }
        needed = good.length + wrong.length + Math.max(0, threshold - good.length);
      }
      for (const entry of wrong) {
        if (options.challenge === false) {
          entry.challenge = 'not-challenged';
          continue;
        }
        try {
          const judged = await this.challenge(reader, request, entry.node, 0, included);
          entry.challenge = findEvent(judged.events, 'adjudicator', 'NodePenalized') ? 'penalized' : 'not-penalized';
        } catch (error) {
          entry.challenge = { error: (error as Error).message };
        }
      }
      if (good.length < threshold) {
        const counts = `${good.length} verified, ${wrong.length} wrong`;
        throw ended
          ? new RetrievalError(`fewer than ${threshold} nodes answered request ${request} by its deadline (block ${deadline}): ${counts}`, request, 'too-few-answers', good.length, wrong)
          : new RetrievalError(`only ${good.length} of the ${shares} answers to request ${request} verify (${counts}); ${threshold} are needed`, request, 'too-few-valid', good.length, wrong);
      }
      const chosen = good.slice(0, threshold);
      delivered = true;
      good.slice(threshold).forEach((g) => g.cfrag.free());
      return { request, block: included.block, policy, cfrags: chosen.map((g) => g.cfrag), answeredBy: chosen.map((g) => g.node), wrong };
    } finally {
      owned.forEach((object) => object.free());
      if (!delivered) good.forEach((g) => g.cfrag.free());
    }
  }

  /**
   * Decrypts `ciphertext` of `capsuleBytes` (what umbral `encrypt` made for the policy's
   * delegating key) as the policy's reader: {@link retrieve}, then open with the cfrags (the
   * retrieval it returns has none left: they were used and freed).
   */
  async open(
    reader: Account,
    identity: UmbralIdentity,
    policyId: PolicyId,
    capsuleBytes: Uint8Array,
    ciphertext: Uint8Array,
    options: RequestOptions = {},
  ): Promise<{ plaintext: Uint8Array; retrieval: Retrieval }> {
    const retrieval = await this.retrieve(reader, identity, policyId, capsuleBytes, options);
    const capsule = decodeCapsule(capsuleBytes);
    const delegating = decodePublicKey(retrieval.policy.delegatingKey);
    const receiving = identity.receivingKey();
    try {
      return { plaintext: openReencrypted(receiving, delegating, capsule, retrieval.cfrags, ciphertext), retrieval };
    } catch {
      throw new FormatError('key', `the data does not open with policy ${toHex(policyId)}'s key: it was encrypted to another label or owner`);
    } finally {
      [capsule, delegating, receiving, ...retrieval.cfrags].forEach((object) => object.free());
      // Used and freed: the retrieval returned keeps the rest of what it says.
      retrieval.cfrags = [];
    }
  }

  /**
   * The reader's {@link Unwrap} for `decryptStream`/`decryptBytes`: requests re-encryption of the
   * file's capsule under `policyId` and opens the file key with verified cfrags.
   * `onRetrieval` sees what the request did (which nodes answered, which were challenged).
   */
  readerKey(reader: Account, identity: UmbralIdentity, policyId: PolicyId, options: RequestOptions & { onRetrieval?: (retrieval: Retrieval) => void } = {}): Unwrap {
    return async (header) => {
      const { plaintext, retrieval } = await this.open(reader, identity, policyId, header.capsule, header.wrappedKey, options);
      options.onRetrieval?.(retrieval);
      return plaintext;
    };
  }

  /** A short secret's plaintext (the text `sealSecret` or `kms secret put` made), through policy `policyId`. */
  async openSecret(reader: Account, identity: UmbralIdentity, policyId: PolicyId, text: string, options: RequestOptions = {}): Promise<Uint8Array> {
    const { capsule, ciphertext } = parseSecret(text);
    return (await this.open(reader, identity, policyId, capsule, ciphertext, options)).plaintext;
  }
}

/** The first event `pallet.name` among `events` (pallet in polkadot.js's camelCase). */
export function findEvent(events: EventRecord[], pallet: string, name: string) {
  return events.find(({ event }) => event.section === pallet && event.method === name)?.event;
}

/** An event's fields by their names in the metadata (`request`, `deadline`…), as JSON values. */
export function eventFields(event: EventRecord['event']): Record<string, unknown> {
  const values = event.data.toJSON() as unknown[];
  const names = (event.data as unknown as { names?: string[] | null }).names ?? [];
  return Object.fromEntries(names.map((name, i) => [name, values[i]]));
}

