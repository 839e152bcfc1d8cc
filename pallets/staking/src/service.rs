//! Periods and service: each node's heartbeat per period (authorized, free), missed deadlines,
//! wind-down as nodes serve, pruning of old records, and the offchain worker that sends the
//! heartbeats of the operator keys in the node's keystore.

use crate::{
	heartbeat_payload, ledger::Ledger, Call, Config, Error, Event, Heartbeat, HeartbeatOf, Nodes,
	OldestServicePeriod, Operators, Pallet, Service, LOG_TARGET,
};
use codec::Encode;
use frame_support::{ensure, pallet_prelude::*};
use frame_system::{
	offchain::{AppCrypto, SubmitTransaction},
	pallet_prelude::BlockNumberFor,
};
use kms_primitives::staking::{Period, ServiceObserver as _};
use sp_runtime::{
	offchain::storage::{MutateStorageError, StorageValueRef},
	traits::{IdentifyAccount, One, Saturating, UniqueSaturatedInto, Zero},
	transaction_validity::TransactionValidityWithRefund,
	RuntimeAppPublic,
};

impl<T: Config> Pallet<T> {
	/// The current period: `block_number / PeriodLength`.
	pub fn current_period() -> Period {
		Self::period_of(frame_system::Pallet::<T>::block_number())
	}

	/// The period `block` falls in.
	pub fn period_of(block: BlockNumberFor<T>) -> Period {
		let length = T::PeriodLength::get().max(One::one());
		(block / length).unique_saturated_into()
	}

	/// Checks a heartbeat before it enters the pool or a block: the node, the period, the
	/// operator and, last because it is the expensive part, the signature. Valid heartbeats
	/// are free, provide the tag `(node, period)` and live until the period ends.
	pub fn authorize_heartbeat(
		_source: TransactionSource,
		heartbeat: &HeartbeatOf<T>,
		signature: &T::Signature,
	) -> TransactionValidityWithRefund {
		let period = Self::current_period();
		if heartbeat.period != period {
			return Err(InvalidTransaction::Stale.into());
		}
		let info = Nodes::<T>::get(&heartbeat.node).ok_or(InvalidTransaction::BadSigner)?;
		if info.operator != heartbeat.public.clone().into_account() {
			return Err(InvalidTransaction::BadSigner.into());
		}
		if Service::<T>::get(period, &heartbeat.node).heartbeat {
			return Err(InvalidTransaction::Stale.into());
		}
		let payload = heartbeat_payload::<T>(heartbeat);
		if !<T::OperatorCrypto as AppCrypto<_, _>>::verify(
			&payload,
			heartbeat.public.clone(),
			signature.clone(),
		) {
			return Err(InvalidTransaction::BadProof.into());
		}
		let next_period_start = BlockNumberFor::<T>::from(period.saturating_add(1))
			.saturating_mul(T::PeriodLength::get());
		let longevity: u64 = next_period_start
			.saturating_sub(frame_system::Pallet::<T>::block_number())
			.unique_saturated_into();
		ValidTransaction::with_tag_prefix("KmsHeartbeat")
			.priority(T::HeartbeatPriority::get())
			.and_provides((&heartbeat.node, period))
			.longevity(longevity.max(1))
			.propagate(true)
			.build()
			.map(|validity| (validity, Weight::zero()))
	}

	/// Records a heartbeat and settles the node's previous heartbeat period for wind-down.
	pub(crate) fn do_heartbeat(heartbeat: &HeartbeatOf<T>) -> DispatchResult {
		let period = Self::current_period();
		ensure!(heartbeat.period == period, Error::<T>::WrongPeriod);
		let node = &heartbeat.node;
		let mut info = Nodes::<T>::get(node).ok_or(Error::<T>::NotRegistered)?;
		ensure!(info.operator == heartbeat.public.clone().into_account(), Error::<T>::NotOperator);
		let mut record = Service::<T>::get(period, node);
		ensure!(!record.heartbeat, Error::<T>::DuplicateHeartbeat);
		record.heartbeat = true;
		Service::<T>::insert(period, node, record.clone());

		// The previous heartbeat period is over: if the node served in it, a winding-down
		// lock shrinks by one. (A deadline of that period recorded after this point still
		// costs the node its fees and rewards for it, not the lock.)
		let previous = info.last_heartbeat.replace(period);
		let (mut lock_periods, mut stake) = (0, Zero::zero());
		if let Some(mut ledger) = Ledger::<T>::get(node) {
			if let Some(previous) = previous.filter(|p| *p < period) {
				if ledger.wind_down && Service::<T>::get(previous, node).served() {
					ledger.set_lock_periods(ledger.lock_periods.saturating_sub(1));
				}
			}
			(lock_periods, stake) = (ledger.lock_periods, ledger.active);
		}
		Nodes::<T>::insert(node, info);
		if record.served() {
			T::ServiceObserver::served(node, period, stake, lock_periods);
		}
		Self::deposit_event(Event::HeartbeatReceived { node: node.clone(), period, lock_periods });
		Ok(())
	}

	/// Whether `node` counts as serving now: in the current period, or, before its heartbeat
	/// for this period has landed, in the previous one.
	pub(crate) fn serving_now(node: &T::AccountId) -> bool {
		let period = Self::current_period();
		let current = Service::<T>::get(period, node);
		if current.heartbeat {
			return current.served();
		}
		current.missed_deadlines == 0
			&& period
				.checked_sub(1)
				.is_some_and(|previous| Service::<T>::get(previous, node).served())
	}

	/// Removes service records older than `HistoryDepth` periods, within `budget`.
	pub(crate) fn prune_service(budget: Weight) -> Weight {
		let mut used = T::DbWeight::get().reads(1);
		let per_item = T::DbWeight::get().reads_writes(1, 1);
		// Not even one record and the cursor's update fit: leave it to a later block.
		if !budget
			.all_gte(used.saturating_add(per_item).saturating_add(T::DbWeight::get().writes(1)))
		{
			return Weight::zero();
		}
		let horizon = Self::current_period().saturating_sub(T::HistoryDepth::get());
		let mut oldest = OldestServicePeriod::<T>::get();
		while oldest < horizon {
			let Some(left) = budget.checked_sub(&used) else { break };
			let limit = left.checked_div_per_component(&per_item).unwrap_or(0).min(64) as u32;
			if limit == 0 {
				break;
			}
			let result = Service::<T>::clear_prefix(oldest, limit, None);
			used.saturating_accrue(per_item.saturating_mul(result.backend.into()));
			if result.maybe_cursor.is_some() {
				break;
			}
			oldest = oldest.saturating_add(1);
			OldestServicePeriod::<T>::put(oldest);
			used.saturating_accrue(T::DbWeight::get().writes(1));
		}
		used
	}

	/// The offchain worker's part: a heartbeat for every node whose operator key is in this
	/// node's keystore and that has not heartbeated in the current period yet. A local-storage
	/// entry per node remembers the last period sent, so that each period's heartbeat is sent
	/// once; it is sent again only if it has not landed after a quarter of the period.
	pub(crate) fn offchain_heartbeats(now: BlockNumberFor<T>) {
		let period = Self::current_period();
		let resend_after = (T::PeriodLength::get() / 4u32.into()).max(One::one());
		for key in <T::OperatorCrypto as AppCrypto<_, _>>::RuntimeAppPublic::all() {
			let generic: <T::OperatorCrypto as AppCrypto<_, _>>::GenericPublic = key.into();
			let public: T::Public = generic.into();
			let operator = public.clone().into_account();
			let Some(node) = Operators::<T>::get(&operator) else { continue };
			if Service::<T>::get(period, &node).heartbeat {
				continue;
			}
			let storage_key = (b"kms-staking/heartbeat", &node).encode();
			let sent = StorageValueRef::persistent(&storage_key).mutate(
				|last: Result<Option<(Period, BlockNumberFor<T>)>, _>| match last {
					Ok(Some((p, at))) if p == period && now < at.saturating_add(resend_after) => {
						Err(())
					},
					_ => Ok((period, now)),
				},
			);
			match sent {
				Ok(_) => {},
				Err(MutateStorageError::ValueFunctionFailed(())) => continue,
				Err(MutateStorageError::ConcurrentModification(_)) => continue,
			}
			let heartbeat = Heartbeat { node: node.clone(), period, public: public.clone() };
			let payload = heartbeat_payload::<T>(&heartbeat);
			let Some(signature) = <T::OperatorCrypto as AppCrypto<_, _>>::sign(&payload, public)
			else {
				log::warn!(target: LOG_TARGET, "cannot sign the heartbeat of {node:?}");
				continue;
			};
			let call = Call::heartbeat { heartbeat, signature };
			let xt = T::create_authorized_transaction(call.into());
			match SubmitTransaction::<T, Call<T>>::submit_transaction(xt) {
				Ok(()) => {
					log::info!(target: LOG_TARGET, "heartbeat of {node:?} for period {period} sent");
					kms_primitives::metrics::count(|counters| {
						counters.heartbeats_sent.saturating_inc()
					});
				},
				Err(()) => {
					log::warn!(target: LOG_TARGET, "heartbeat of {node:?} rejected by the pool")
				},
			}
		}
	}
}
