//! The pallet's invariants ([`Pallet::do_try_state`]), checked after every test and by
//! try-runtime.

use crate::{
	asset, BalanceOf, Config, Endpoints, KeyOwners, Ledgers, NodeCount, Nodes, OldestServicePeriod,
	Operators, Pallet, Service, TotalActive,
};
use frame_support::{ensure, traits::Get};
use sp_runtime::traits::{Saturating, Zero};

impl<T: Config> Pallet<T> {
	/// The pallet's invariants, checked after every test and by try-runtime:
	/// - the balance held under `HoldReason::Staking` equals each ledger's `active + unlocking`;
	/// - `TotalActive` is the sum of the ledgers' active stakes;
	/// - a ledger's active stake is zero or at least `MinStake`, unless it was slashed;
	/// - locks are within `MaxLockPeriods`, unbonding chunks within `UnbondingPeriods`;
	/// - every node has a ledger, its operator maps back to it, its keys map back to it, and
	///   `NodeCount` counts the nodes (at most `MaxNodes`);
	/// - every published endpoint is a registered node's, and a valid one;
	/// - no service record is older than `OldestServicePeriod`.
	#[cfg(any(feature = "std", feature = "try-runtime"))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		let mut total = BalanceOf::<T>::zero();
		let horizon = Self::current_period().saturating_add(T::UnbondingPeriods::get());
		for (staker, ledger) in Ledgers::<T>::iter() {
			let unlocking = ledger
				.unlocking
				.iter()
				.fold(BalanceOf::<T>::zero(), |sum, chunk| sum.saturating_add(chunk.value));
			ensure!(
				asset::held::<T>(&staker) == ledger.active.saturating_add(unlocking),
				"held stake differs from the ledger"
			);
			ensure!(
				ledger.active.is_zero()
					|| ledger.active >= T::MinStake::get()
					|| !ledger.slashed.is_zero(),
				"active stake below MinStake"
			);
			ensure!(ledger.lock_periods <= T::MaxLockPeriods::get(), "lock beyond MaxLockPeriods");
			ensure!(
				ledger
					.unlocking
					.iter()
					.all(|c| c.withdrawable_at <= horizon && !c.value.is_zero()),
				"unbonding chunk out of bounds"
			);
			total.saturating_accrue(ledger.active);
		}
		ensure!(TotalActive::<T>::get() == total, "TotalActive differs from the ledgers");
		let mut nodes = 0u32;
		for (node, info) in Nodes::<T>::iter() {
			nodes.saturating_inc();
			ensure!(Ledgers::<T>::contains_key(&node), "node without a ledger");
			ensure!(Operators::<T>::get(&info.operator) == Some(node.clone()), "operator map");
			ensure!(!info.keys.is_empty(), "node without a key");
			for key in &info.keys {
				ensure!(KeyOwners::<T>::get(key) == Some(node.clone()), "key owner map");
			}
		}
		ensure!(NodeCount::<T>::get() == nodes, "NodeCount differs from the nodes");
		ensure!(nodes <= T::MaxNodes::get(), "more than MaxNodes nodes");
		ensure!(Operators::<T>::iter().count() as u32 == nodes, "stale operator");
		for (node, endpoint) in Endpoints::<T>::iter() {
			ensure!(Nodes::<T>::contains_key(&node), "endpoint of no node");
			ensure!(
				kms_primitives::staking::Endpoint::parse(endpoint.as_bytes()).as_ref()
					== Some(&endpoint),
				"invalid endpoint"
			);
		}
		let oldest = OldestServicePeriod::<T>::get();
		ensure!(Service::<T>::iter_keys().all(|(p, _)| p >= oldest), "unpruned service record");
		Ok(())
	}
}
