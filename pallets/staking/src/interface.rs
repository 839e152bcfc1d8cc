//! What the other protocol pallets see of staking, in roles
//! ([`kms_primitives::staking`]): [`StakingPeriods`], [`NodeDirectory`], [`NodeService`],
//! [`StakeLedger`] and, for their benchmarks, `StakingBenchmarks`.

use crate::{
	BalanceOf, Config, CreditOf, Event, KeyOwners, Ledgers, Nodes, OldestServicePeriod, Operators,
	Pallet, Service,
};
use alloc::vec::Vec;
use frame_support::traits::Get;
use frame_system::pallet_prelude::BlockNumberFor;
use kms_primitives::staking::{
	Ineligibility, KeyVersion, NodeDirectory, NodeService, Period, ServiceObserver as _,
	StakeLedger, StakingPeriods, UmbralPublicKey,
};
use sp_runtime::{traits::Saturating, DispatchResult};

impl<T: Config> StakingPeriods<BlockNumberFor<T>> for Pallet<T> {
	fn current_period() -> Period {
		Pallet::<T>::current_period()
	}

	fn period_of(block: BlockNumberFor<T>) -> Period {
		Pallet::<T>::period_of(block)
	}

	fn period_start(period: Period) -> BlockNumberFor<T> {
		BlockNumberFor::<T>::from(period).saturating_mul(T::PeriodLength::get())
	}
}

impl<T: Config> NodeDirectory<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn node_key(node: &T::AccountId, version: KeyVersion) -> Option<UmbralPublicKey> {
		Nodes::<T>::get(node)?.key(version)
	}

	fn current_key_version(node: &T::AccountId) -> Option<KeyVersion> {
		Nodes::<T>::get(node).map(|info| info.current_key_version())
	}

	fn operator_of(node: &T::AccountId) -> Option<T::AccountId> {
		Nodes::<T>::get(node).map(|info| info.operator)
	}

	fn node_of_operator(operator: &T::AccountId) -> Option<T::AccountId> {
		Operators::<T>::get(operator)
	}

	fn node_of_key(key: &UmbralPublicKey) -> Option<T::AccountId> {
		KeyOwners::<T>::get(key)
	}

	fn min_fee_rate(node: &T::AccountId) -> Option<BalanceOf<T>> {
		Nodes::<T>::get(node).map(|info| info.min_fee_rate)
	}
}

impl<T: Config> NodeService<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn is_serving(node: &T::AccountId, period: Period) -> bool {
		Service::<T>::get(period, node).served()
	}

	fn record_missed_deadline(node: &T::AccountId, period: Period) {
		if period < OldestServicePeriod::<T>::get() {
			return;
		}
		Service::<T>::mutate(period, node, |record| {
			record.missed_deadlines.saturating_inc();
		});
		T::ServiceObserver::missed(node, period);
		Self::deposit_event(Event::DeadlineMissed { node: node.clone(), period });
	}

	fn locked_until(node: &T::AccountId) -> Option<Period> {
		Ledgers::<T>::get(node)
			.map(|ledger| Self::current_period().saturating_add(ledger.lock_periods))
	}

	fn ineligibility(node: &T::AccountId, end_period: Period) -> Option<Ineligibility> {
		if !Nodes::<T>::contains_key(node) {
			return Some(Ineligibility::NotRegistered);
		}
		if Self::stake_of(node) < T::MinStake::get() {
			return Some(Ineligibility::StakeBelowMinimum);
		}
		match Self::locked_until(node) {
			Some(until) if until >= end_period => {},
			until => return Some(Ineligibility::LockTooShort { locked_until: until.unwrap_or(0) }),
		}
		(!Self::serving_now(node)).then_some(Ineligibility::NotServing)
	}

	fn eligible_nodes(end_period: Period) -> Vec<(T::AccountId, BalanceOf<T>)> {
		Nodes::<T>::iter_keys()
			.take(T::MaxNodes::get() as usize)
			.filter(|node| Self::is_eligible(node, end_period))
			.map(|node| {
				let stake = Self::stake_of(&node);
				(node, stake)
			})
			.collect()
	}
}

impl<T: Config> StakeLedger<T::AccountId, BalanceOf<T>> for Pallet<T> {
	type Credit = CreditOf<T>;

	fn stake_of(node: &T::AccountId) -> BalanceOf<T> {
		Ledgers::<T>::get(node).map(|ledger| ledger.active).unwrap_or_default()
	}

	fn held_stake(node: &T::AccountId) -> BalanceOf<T> {
		Ledgers::<T>::get(node).map(|ledger| ledger.held()).unwrap_or_default()
	}

	fn slash(node: &T::AccountId, amount: BalanceOf<T>) -> CreditOf<T> {
		Self::do_slash(node, amount)
	}

	fn bond_extra(staker: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		Self::do_bond_extra(staker, amount)
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl<T: Config> kms_primitives::staking::StakingBenchmarks<T::AccountId> for Pallet<T> {
	fn register_for_benchmark(node: &T::AccountId, operator: &T::AccountId, key: UmbralPublicKey) {
		use frame_support::traits::fungible::{Inspect as _, Mutate as _};
		let stake = T::MinStake::get().saturating_mul(10u32.into());
		T::Currency::set_balance(
			node,
			stake.saturating_mul(2u32.into()).saturating_add(T::Currency::minimum_balance()),
		);
		if let Err(error) = Self::do_bond(node, stake, T::MaxLockPeriods::get())
			.and_then(|()| Self::do_register_node(node, operator.clone(), key, 0u32.into(), None))
		{
			frame_support::defensive!("benchmark node registration fails", error);
		}
	}

	fn serve_for_benchmark(node: &T::AccountId, period: Period) {
		Service::<T>::insert(
			period,
			node,
			crate::ServiceRecord { heartbeat: true, missed_deadlines: 0 },
		);
		if let Some(ledger) = Ledgers::<T>::get(node) {
			T::ServiceObserver::served(node, period, ledger.active, ledger.lock_periods);
		}
	}
}
