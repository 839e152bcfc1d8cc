//! # KMS Chain runtime
//!
//! Composition only: the pallets of KMS Chain and their configuration (`configs`), the runtime
//! APIs clients call (`apis`) and the genesis presets of the development and local chains
//! (`genesis_config_presets`). The protocol itself lives in `pallets/`; see `PROTOCOL.md` for the
//! design of record.
//!
//! The runtime is compiled to WebAssembly by `substrate-wasm-builder` (see `build.rs`); the node
//! executes that blob. With the `fast-runtime` feature, blocks and protocol periods are short,
//! for development chains and end-to-end tests; production timing is the default.
#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime` and `impl_runtime_apis` expand to many nested items.
#![recursion_limit = "256"]
// `expect` is left to clippy's defaults: FRAME's macros expand to it (on paths that cannot fail).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]
// FRAME's macros (`#[frame_support::runtime]`, `impl_runtime_apis!`, `impl_opaque_keys!`,
// `parameter_types!`) and the wasm builder's constants expand to items without docs; everything
// written here has them.
#![allow(missing_docs)]

// `WASM_BINARY`: the blob of this feature set (see `build.rs`).
#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/", env!("KMS_RUNTIME_BLOB")));

extern crate alloc;

pub mod apis;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
pub mod configs;
pub mod genesis_config_presets;
#[cfg(test)]
mod tests;

use alloc::vec::Vec;
use sp_runtime::{generic, impl_opaque_keys, traits::BlakeTwo256, MultiAddress};
use sp_version::RuntimeVersion;

pub use kms_primitives::{
	currency::{MICRO_UNIT, MILLI_UNIT, UNIT},
	AccountId, Balance, BlockNumber, Hash, Nonce, Signature,
};
#[cfg(any(feature = "std", test))]
pub use sp_runtime::BuildStorage;

/// Opaque types, for the parts of the node that need not know the runtime's concrete types
/// (consensus, networking, the transaction pool). They keep syncing across runtime upgrades that
/// change the extrinsic format.
pub mod opaque {
	use sp_runtime::{generic, traits::BlakeTwo256};

	pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	/// Opaque block header type.
	pub type Header = generic::Header<super::BlockNumber, BlakeTwo256>;
	/// Opaque block type.
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
	/// Opaque block hash type.
	pub type Hash = super::Hash;
}

impl_opaque_keys! {
	/// The keys a validator registers: Aura for authoring, GRANDPA for finality.
	pub struct SessionKeys {
		pub aura: Aura,
		pub grandpa: Grandpa,
	}
}

/// The runtime's identity. Bump `spec_version` with every change of the runtime's logic,
/// `transaction_version` with every change of a call's index or arguments.
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("kms-chain"),
	impl_name: alloc::borrow::Cow::Borrowed("kms-chain"),
	authoring_version: 1,
	spec_version: 106,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 3,
	system_version: 1,
};

/// Block and period timing. Production: 6 s blocks. `fast-runtime`: 2 s blocks, for development
/// chains and end-to-end tests.
pub mod timing {
	use super::BlockNumber;

	/// Target block time. Aura's slot duration is derived from it (`pallet_timestamp`'s
	/// minimum period is half of it); it cannot change once a chain has started.
	#[cfg(not(feature = "fast-runtime"))]
	pub const MILLI_SECS_PER_BLOCK: u64 = 6_000;
	/// Target block time. Aura's slot duration is derived from it (`pallet_timestamp`'s
	/// minimum period is half of it); it cannot change once a chain has started.
	#[cfg(feature = "fast-runtime")]
	pub const MILLI_SECS_PER_BLOCK: u64 = 2_000;

	/// Aura slot duration: one block per slot.
	pub const SLOT_DURATION: u64 = MILLI_SECS_PER_BLOCK;

	/// Blocks in a minute.
	pub const MINUTES: BlockNumber = (60_000 / MILLI_SECS_PER_BLOCK) as BlockNumber;
	/// Blocks in an hour.
	pub const HOURS: BlockNumber = MINUTES * 60;
	/// Blocks in a day.
	pub const DAYS: BlockNumber = HOURS * 24;
}
pub use timing::*;

/// The address format: an account id or an index (no indices pallet: `()`).
pub type Address = MultiAddress<AccountId, ()>;

/// Block header type as expected by this runtime.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;

/// Block type as expected by this runtime.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;

/// The transaction extensions: what a transaction commits to and pays with. `AuthorizeCall`
/// comes first: it lets calls with `#[pallet::authorize]` (offchain workers' heartbeats and
/// responses) be valid without a signer and fee.
pub type TxExtension = (
	frame_system::AuthorizeCall<Runtime>,
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
	frame_metadata_hash_extension::CheckMetadataHash<Runtime>,
	frame_system::WeightReclaim<Runtime>,
);

/// Unchecked extrinsic type as expected by this runtime.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;

/// The payload being signed in transactions.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Migrations to run on the next runtime upgrade, besides the pallets' own.
type Migrations = ();

/// Executive: dispatches to the pallets.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;

	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;

	#[runtime::pallet_index(2)]
	pub type Aura = pallet_aura;

	#[runtime::pallet_index(3)]
	pub type Grandpa = pallet_grandpa;

	#[runtime::pallet_index(4)]
	pub type Balances = pallet_balances;

	#[runtime::pallet_index(5)]
	pub type TransactionPayment = pallet_transaction_payment;

	/// Development governance: one key may dispatch root calls.
	#[runtime::pallet_index(6)]
	pub type Sudo = pallet_sudo;

	// Indices 10.. are the KMS pallets: Staking, then Policies, Adjudicator, Rewards.
	/// Stakes, nodes, their Umbral keys and heartbeats.
	#[runtime::pallet_index(10)]
	pub type Staking = pallet_kms_staking;

	/// Policies with their escrowed fees and encrypted kfrags; requests and their cfrags.
	#[runtime::pallet_index(11)]
	pub type Policies = pallet_kms_policies;

	/// Challenges of cfrags: verification in the runtime, penalties, challenger rewards.
	#[runtime::pallet_index(12)]
	pub type Adjudicator = pallet_kms_adjudicator;

	/// Rewards minted to serving stakers, NuCypher's two-phase issuance.
	#[runtime::pallet_index(13)]
	pub type Rewards = pallet_kms_rewards;
}
