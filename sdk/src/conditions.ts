/**
 * Access conditions: a tree built with the functions below, checked against the chain's
 * limits and flattened into the chain's form (prefix order: `All { count }` and
 * `Any { count }` followed by their `count` subtrees, `Not` by one).
 *
 * ```ts
 * import { conditions as c } from '@kms-chain/sdk';
 * const rule = c.any(c.requesterIs(bob), c.all(c.minBalance(100n * UNIT), c.notAfter(90_000)));
 * ```
 *
 * Several conditions given together must all hold (they become one `all`).
 *
 * @module
 */
import { LimitError } from './errors.js';

/** A condition on requesters; build with the functions of this module. */
export type Condition =
  | { kind: 'notBefore'; block: number }
  | { kind: 'notAfter'; block: number }
  | { kind: 'requesterIs'; account: string }
  | { kind: 'minBalance'; amount: bigint }
  | { kind: 'payPerAccess'; to: string; amount: bigint }
  | { kind: 'all'; of: Condition[] }
  | { kind: 'any'; of: Condition[] }
  | { kind: 'not'; of: Condition };

/** Holds from `block` on. */
export const notBefore = (block: number): Condition => ({ kind: 'notBefore', block });
/** Holds through `block`. */
export const notAfter = (block: number): Condition => ({ kind: 'notAfter', block });
/** Holds when the requester is `account` (SS58 address). */
export const requesterIs = (account: string): Condition => ({ kind: 'requesterIs', account });
/** Holds when the requester's free balance is at least `amount` (plancks). */
export const minBalance = (amount: bigint): Condition => ({ kind: 'minBalance', amount });
/**
 * Holds when the requester can pay `amount` (plancks) to `to`; each request pays it. Only where
 * it is certain to be evaluated: not under `any` or `not`.
 */
export const payPerAccess = (to: string, amount: bigint): Condition => ({ kind: 'payPerAccess', to, amount });
/** Holds when all of `of` hold. */
export const all = (...of: Condition[]): Condition => ({ kind: 'all', of });
/** Holds when any of `of` holds. */
export const any = (...of: Condition[]): Condition => ({ kind: 'any', of });
/** Holds when `of` does not. */
export const not = (of: Condition): Condition => ({ kind: 'not', of });

/** The chain's limits on a condition tree (`Policies.MaxConditionNodes`, `MaxConditionDepth`). */
export interface ConditionLimits {
  maxNodes: number;
  maxDepth: number;
}

/** One node of the chain's flat form, as polkadot.js takes and gives it. */
export type ChainCondition =
  | { NotBefore: { block: number } }
  | { NotAfter: { block: number } }
  | { RequesterIs: { account: string } }
  | { MinBalance: { amount: bigint } }
  | { PayPerAccess: { to: string; amount: bigint } }
  | { All: { count: number } }
  | { Any: { count: number } }
  | { Not: null };

const U32_MAX = 0xffff_ffff;
const U128_MAX = (1n << 128n) - 1n;

function block(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) {
    throw new LimitError(`${what} block`, value, 'a block number, 0..=4294967295');
  }
  return value;
}

function amount(value: bigint, what: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > U128_MAX) {
    throw new LimitError(`${what} amount`, typeof value === 'bigint' ? value : Number.NaN, 'a balance in plancks, 0..2^128 (a bigint)');
  }
  return value;
}

/**
 * The chain's flat form of `conditions` (which must all hold), checked against `limits` with
 * the chain's own rules: at most `maxNodes` nodes, at most `maxDepth` deep, every `all`/`any`
 * with 1..=255 subtrees, `payPerAccess` never under `any` or `not`. An empty list always holds.
 */
export function flatten(conditions: Condition[], limits: ConditionLimits): ChainCondition[] {
  const root = conditions.length > 1 ? all(...conditions) : conditions[0];
  if (!root) return [];
  const flat: ChainCondition[] = [];
  const visit = (node: Condition, depth: number, conditional: boolean): void => {
    if (depth > limits.maxDepth) {
      throw new LimitError('Policies.MaxConditionDepth', depth, `at most ${limits.maxDepth} deep`);
    }
    if (flat.length >= limits.maxNodes) {
      throw new LimitError('Policies.MaxConditionNodes', flat.length + 1, `at most ${limits.maxNodes} nodes`);
    }
    switch (node.kind) {
      case 'notBefore':
        flat.push({ NotBefore: { block: block(node.block, 'notBefore') } });
        return;
      case 'notAfter':
        flat.push({ NotAfter: { block: block(node.block, 'notAfter') } });
        return;
      case 'requesterIs':
        flat.push({ RequesterIs: { account: node.account } });
        return;
      case 'minBalance':
        flat.push({ MinBalance: { amount: amount(node.amount, 'minBalance') } });
        return;
      case 'payPerAccess':
        if (conditional) {
          throw new LimitError('payPerAccess under any/not', 1, 'none: a payment must be certain (Policies::ConditionalPayment)');
        }
        flat.push({ PayPerAccess: { to: node.to, amount: amount(node.amount, 'payPerAccess') } });
        return;
      case 'all':
      case 'any': {
        if (node.of.length < 1 || node.of.length > 255) {
          throw new LimitError(`${node.kind}() subtrees`, node.of.length, '1..=255');
        }
        flat.push(node.kind === 'all' ? { All: { count: node.of.length } } : { Any: { count: node.of.length } });
        for (const child of node.of) visit(child, depth + 1, conditional || node.kind === 'any');
        return;
      }
      case 'not':
        flat.push({ Not: null });
        visit(node.of, depth + 1, true);
        return;
      default:
        throw new LimitError('condition kind', Number.NaN, 'one of this module\'s conditions');
    }
  };
  visit(root, 1, false);
  return flat;
}

/** Reads the chain's flat form (polkadot.js JSON of `Policy.conditions`) back into a tree. */
export function unflatten(flat: ReadonlyArray<Record<string, unknown>>): Condition[] {
  let at = 0;
  const read = (): Condition => {
    const node = flat[at++];
    if (!node) throw new LimitError('conditions', at, 'one whole tree in prefix order');
    const [name, value] = Object.entries(node)[0] ?? [];
    const field = value as Record<string, unknown> | null;
    const lower = (name ?? '').charAt(0).toLowerCase() + (name ?? '').slice(1);
    switch (lower) {
      case 'notBefore':
        return notBefore(Number(field!.block));
      case 'notAfter':
        return notAfter(Number(field!.block));
      case 'requesterIs':
        return requesterIs(String(field!.account));
      case 'minBalance':
        return minBalance(BigInt(String(field!.amount)));
      case 'payPerAccess':
        return payPerAccess(String(field!.to), BigInt(String(field!.amount)));
      case 'all':
      case 'any': {
        const count = Number(field!.count);
        const of = Array.from({ length: count }, read);
        return lower === 'all' ? all(...of) : any(...of);
      }
      case 'not':
        return not(read());
      default:
        throw new LimitError(`condition ${name}`, at, 'a condition this SDK knows');
    }
  };
  if (flat.length === 0) return [];
  const tree = read();
  return [tree];
}

/** A condition as text, in the `kms` CLI's syntax (`any(requester-is(5F…), not-after(90))`). */
export function render(condition: Condition): string {
  switch (condition.kind) {
    case 'notBefore':
      return `not-before(${condition.block})`;
    case 'notAfter':
      return `not-after(${condition.block})`;
    case 'requesterIs':
      return `requester-is(${condition.account})`;
    case 'minBalance':
      return `min-balance(${condition.amount} plancks)`;
    case 'payPerAccess':
      return `pay-per-access(${condition.to}, ${condition.amount} plancks)`;
    case 'all':
    case 'any':
      return `${condition.kind}(${condition.of.map(render).join(', ')})`;
    case 'not':
      return `not(${render(condition.of)})`;
  }
}
