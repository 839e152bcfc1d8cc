//! # KMS Staking
//!
//! The economic security of KMS Chain (`PROTOCOL.md`, "Periods and staking"). A staker bonds
//! tokens, which go on a fungible hold so that they can always be slashed, and locks them for
//! a number of *served* periods: the lock only shrinks while wind-down is on, by one for every
//! period the staker's node served (heartbeated and missed no deadline). A staker registers
//! one node: the operator account that signs for it and the node's Umbral public key, which
//! kfrags are encrypted to. Rotating the key keeps the previous ones resolvable by version
//! for the policies granted under them.
//!
//! The node's offchain worker sends one free heartbeat per period, signed by the operator key
//! and authorized by [`Pallet::authorize_heartbeat`] (`#[pallet::authorize]`). The other
//! protocol pallets see this pallet through the roles of [`kms_primitives::staking`]: periods,
//! nodes' keys and operators, service and eligibility, stakes and slashing.
//!
//! Time is counted in periods of `PeriodLength` blocks; nothing here loops over all stakers in
//! a block hook. Service records older than `HistoryDepth` periods are pruned in bounded
//! batches when blocks have weight to spare.
//!
//! ## Code map
//!
//! [`pallet`] declares the configuration, storage, events, errors, hooks and calls; each call
//! checks its origin and hands over to the module of its concern: `bonding` (stakers' operations
//! and slashing), `nodes` (registration, keys, leaving), `service` (periods, heartbeats, missed
//! deadlines, pruning, the offchain worker). `ledger` is the only writer of ledgers, of
//! `TotalActive` and of the staking hold; `interface` implements what the other pallets see;
//! `invariants` checks the state (`try_state`).
#![cfg_attr(not(feature = "std"), no_std)]
// `expect` is left to clippy's defaults: FRAME's macros expand to it (on paths that cannot fail).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

extern crate alloc;

mod asset;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod bonding;
mod interface;
#[cfg(any(feature = "std", feature = "try-runtime"))]
mod invariants;
mod ledger;
#[cfg(test)]
mod mock;
mod nodes;
pub mod pallet;
mod service;
#[cfg(feature = "std")]
pub mod testing;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

use alloc::vec::Vec;
use frame_support::{
	pallet_prelude::*,
	traits::fungible::{self, Credit},
};
use frame_system::{
	offchain::{AppCrypto, CreateAuthorizedTransaction, SigningTypes},
	pallet_prelude::*,
};
use kms_primitives::staking::{
	Endpoint, KeyVersion, NodeKeys, NodeKeysProof, Period, PolicyRegistry, ServiceObserver,
	UmbralPublicKey, MAX_ENDPOINT_LEN,
};
use sp_runtime::{
	traits::{Verify, Zero},
	MultiSignature, MultiSigner,
};

pub use pallet::pallet::*;
pub use types::*;
pub use weights::WeightInfo;

/// Log target of this pallet.
pub const LOG_TARGET: &str = "runtime::kms-staking";

/// A balance of the staking currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;
/// What a slash takes out of a stake.
pub type CreditOf<T> = Credit<<T as frame_system::Config>::AccountId, <T as Config>::Currency>;
/// A staker's ledger, as stored.
pub type LedgerOf<T> = StakingLedger<BalanceOf<T>, <T as Config>::MaxUnlockingChunks>;
/// A node, as stored.
pub type NodeOf<T> =
	NodeInfo<<T as frame_system::Config>::AccountId, BalanceOf<T>, <T as Config>::MaxKeyHistory>;
/// The proof of a node's keys in this runtime's signature type.
pub type NodeKeysProofOf<T> = NodeKeysProof<<T as SigningTypes>::Signature>;
/// A heartbeat of this runtime.
pub type HeartbeatOf<T> =
	Heartbeat<<T as frame_system::Config>::AccountId, <T as SigningTypes>::Public>;

/// The operator key as `frame_system`'s offchain signing uses it: sr25519 keys of type `kms!`
/// ([`kms_primitives::staking::operator`]), seen by the runtime as `MultiSigner` and
/// `MultiSignature`.
pub struct OperatorAuthId;

impl AppCrypto<MultiSigner, MultiSignature> for OperatorAuthId {
	type RuntimeAppPublic = kms_primitives::staking::operator::Public;
	type GenericPublic = sp_core::sr25519::Public;
	type GenericSignature = sp_core::sr25519::Signature;
}

/// The chain's genesis hash, as `frame_system` keeps it (from block 1 on): what binds operator
/// signatures to this chain ([`kms_primitives::signing`]).
pub fn genesis_hash<T: frame_system::Config>() -> T::Hash {
	frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero())
}

/// The bytes a node's operator key and Umbral key sign to register as `staker`'s node, or to
/// become its key, on this chain.
pub fn node_keys_payload<T: Config>(
	staker: &T::AccountId,
	operator: &T::AccountId,
	umbral_key: &UmbralPublicKey,
) -> Vec<u8> {
	NodeKeys { staker, operator, umbral_key: *umbral_key }.signing_payload(&genesis_hash::<T>())
}

/// The bytes an operator signs for `heartbeat` on this chain.
pub fn heartbeat_payload<T: Config>(heartbeat: &HeartbeatOf<T>) -> Vec<u8> {
	kms_primitives::signing::payload(
		kms_primitives::signing::HEARTBEAT,
		&genesis_hash::<T>(),
		heartbeat,
	)
}
