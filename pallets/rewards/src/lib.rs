//! # KMS Rewards
//!
//! Minted rewards for serving stakers (`PROTOCOL.md`, "Rewards"), with NuCypher's two-phase
//! issuance. For a period `p`, a staker that served in it (heartbeat, no missed deadline)
//! earns
//!
//! - phase 1: `Imax · stake · (k1 + min(T, kmax)) / (total_stake · k2)`,
//! - phase 2, once `supply + Imax` would pass the phase-1 cap:
//!   `(MaxSupply − supply) · stake · (k1 + min(T, kmax)) / (total_stake · d · k2)`,
//!
//! where `stake` and `T` (the remaining lock, in periods) are the staker's at its heartbeat
//! in `p`, `total_stake` is the stake of every node serving in `p`, and `supply` counts what
//! is issued plus what earlier periods owe and have not paid yet. Because `k2 ≥ k1 + kmax`
//! (checked in `integrity_test`), a period never issues more than its base (`Imax`, or
//! `(MaxSupply − supply) / d`), and so the supply never passes `MaxSupply`.
//!
//! Nothing loops over stakers. The Staking pallet reports each node that starts serving a
//! period and each missed deadline ([`ServiceObserver`]); this pallet keeps the node's share
//! and the period's totals as they change. Two periods later, when no deadline of the period
//! can still be missed, `on_initialize` closes it (constant work): it fixes the period's base
//! from the supply and accrues what the period will pay. Stakers then `claim_rewards`
//! lazily, up to `MaxClaimPeriods` periods per call, minted through the fungible
//! `issue`/`resolve` path and, if they chose so, restaked onto their held bond. Shares older
//! than `ClaimHistory` periods are forfeited and pruned in `on_idle` within spare weight; what
//! they were owed leaves [`Accrued`], so it no longer counts towards the supply.
//!
//! ## Code map
//!
//! [`pallet`] declares the configuration, storage, events, errors, hooks and calls; `issuance`
//! computes and closes periods; `claims` pays them and hears the staking side's service
//! reports; `invariants` checks the state (`try_state`); minting goes through `asset`.
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

extern crate alloc;

mod asset;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod claims;
#[cfg(any(feature = "std", feature = "try-runtime"))]
mod invariants;
mod issuance;
#[cfg(test)]
mod mock;
pub mod pallet;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

use frame_support::{pallet_prelude::*, traits::fungible};
use frame_system::pallet_prelude::*;
use kms_primitives::{
	rewards::PendingRewards,
	staking::{MaybeStakingBenchmarks, Period, ServiceObserver, StakeLedger, StakingPeriods},
};
use sp_runtime::{
	helpers_128bit::multiply_by_rational_with_rounding,
	traits::{Saturating, UniqueSaturatedInto, Zero},
	Rounding,
};

pub use pallet::pallet::*;
pub use types::*;
pub use weights::WeightInfo;

/// The balance type of the runtime's currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;
