/**
 * The KMS Chain SDK: grant, request, verify and decrypt on KMS Chain from TypeScript, in
 * Node.js and browsers, interoperable byte for byte with the `kms` command line.
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './wire.js';
export * from './keys.js';
export * from './umbral.js';
export * from './format.js';
export * as conditions from './conditions.js';
export type { Condition, ChainCondition, ConditionLimits } from './conditions.js';
export * from './client.js';
export { toHex, fromHex } from './bytes.js';
/** umbral-pre's JavaScript bindings, the same module instance the SDK uses. */
export * as umbral from '@nucypher/umbral-pre';
