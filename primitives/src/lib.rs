//! Types shared by the KMS Chain runtime, node and client.
//!
//! The runtime composes FRAME pallets around these; the node and the `kms` client use the same
//! definitions so that an account, a balance or a block number means one thing everywhere.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use sp_runtime::{
	traits::{IdentifyAccount, Verify},
	MultiSignature,
};

/// A signature of an extrinsic: sr25519, ed25519 or ecdsa.
pub type Signature = MultiSignature;

/// An account: the public key of the signing scheme behind [`Signature`].
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;

/// A balance, in plancks of the native token ([`UNIT`] plancks make one token).
pub type Balance = u128;

/// How many extrinsics an account has signed.
pub type Nonce = u32;

/// A block number.
pub type BlockNumber = u32;

/// A hash of block data (blake2-256).
pub type Hash = sp_core::H256;

/// The token: 12 decimals, symbol `KMS`.
pub mod currency {
	use super::Balance;

	/// Decimal places of the native token.
	pub const DECIMALS: u8 = 12;
	/// The token's symbol, as wallets show it.
	pub const SYMBOL: &str = "KMS";
	/// One token, in plancks.
	pub const UNIT: Balance = 10u128.pow(DECIMALS as u32);
	/// A thousandth of a token.
	pub const MILLI_UNIT: Balance = UNIT / 1_000;
	/// A millionth of a token.
	pub const MICRO_UNIT: Balance = UNIT / 1_000_000;
}

pub use currency::UNIT;

pub mod metrics;
pub mod policies;
pub mod rewards;
pub mod signing;
pub mod staking;
pub use kms_wire as wire;
