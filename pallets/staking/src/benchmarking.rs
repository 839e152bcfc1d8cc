//! Benchmarks of the Staking pallet (v2). Each bench sets up its worst case, said in its doc.

use super::*;
use crate::{ledger::Ledger, Pallet as Staking};
use frame_benchmarking::v2::*;
use frame_support::traits::{
	fungible::{Inspect, Mutate},
	Authorize,
};
use frame_system::RawOrigin;
use kms_primitives::staking::StakeLedger as _;
use sp_runtime::{
	traits::{Bounded, IdentifyAccount as _, Saturating as _},
	RuntimeAppPublic as _,
};

/// A staker funded with plenty.
fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, 0);
	let amount = T::MinStake::get().saturating_mul(1_000u32.into());
	T::Currency::set_balance(&who, amount.saturating_add(T::Currency::minimum_balance()));
	who
}

/// A valid Umbral key for index `i`, derived from a fixed seed as development nodes derive
/// theirs (no randomness in the runtime).
fn umbral_key_for(i: u32) -> UmbralPublicKey {
	kms_primitives::staking::dev::umbral_public_key(&alloc::format!("//bench-{i}"))
}

/// A bonded staker with lock `lock`.
fn bonded<T: Config>(index: u32, lock: Period) -> T::AccountId {
	let staker = funded::<T>("staker", index);
	// Enough to unbond `MinStake` into every chunk and keep `MinStake` active.
	let value =
		T::MinStake::get().saturating_mul(T::MaxUnlockingChunks::get().saturating_add(2).into());
	Staking::<T>::do_bond(&staker, value, lock).expect("bond works");
	staker
}

/// The longest endpoint a node may publish.
fn longest_endpoint() -> Endpoint {
	let mut bytes = b"wss://".to_vec();
	bytes.resize(MAX_ENDPOINT_LEN as usize, b'a');
	Endpoint::parse(&bytes).expect("a valid endpoint")
}

/// A new operator key in the benchmark keystore.
fn operator_key<T: Config>() -> T::Public {
	let key = <T::OperatorCrypto as AppCrypto<_, _>>::RuntimeAppPublic::generate_pair(None);
	let generic: <T::OperatorCrypto as AppCrypto<_, _>>::GenericPublic = key.into();
	generic.into()
}

/// The proof that `operator` and the Umbral key `umbral_key_for(i)` are `staker`'s, as a node
/// makes it: both keys sign `node_keys_payload`.
fn keys_proof<T: Config>(
	staker: &T::AccountId,
	operator: &T::Public,
	i: u32,
) -> NodeKeysProofOf<T> {
	use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
	let payload =
		crate::node_keys_payload::<T>(staker, &operator.clone().into_account(), &umbral_key_for(i));
	let seed = kms_primitives::staking::dev::umbral_seed(&alloc::format!("//bench-{i}"));
	NodeKeysProof {
		operator: <T::OperatorCrypto as AppCrypto<_, _>>::sign(&payload, operator.clone())
			.expect("the operator key is in the benchmark keystore"),
		umbral: kms_primitives::staking::identity::sign(
			&seed,
			&mut ChaCha20Rng::from_seed([7; 32]),
			&payload,
		)
		.expect("a development seed makes a key"),
	}
}

/// A bonded staker with a node whose key history is full, and its operator key.
fn node_with_full_history<T: Config>(index: u32) -> (T::AccountId, T::Public) {
	let staker = bonded::<T>(index, T::MinLockPeriods::get());
	let operator = operator_key::<T>();
	let first = index * 100;
	Staking::<T>::register_node(
		RawOrigin::Signed(staker.clone()).into(),
		operator.clone().into_account(),
		umbral_key_for(first),
		Zero::zero(),
		keys_proof::<T>(&staker, &operator, first),
	)
	.expect("register works");
	for v in 1..T::MaxKeyHistory::get() {
		Staking::<T>::rotate_node_key(
			RawOrigin::Signed(staker.clone()).into(),
			umbral_key_for(first + v),
			keys_proof::<T>(&staker, &operator, first + v),
		)
		.expect("rotate works");
	}
	(staker, operator)
}

/// An unlocked ledger with `MaxUnlockingChunks - 1` chunks.
fn unlocked_with_chunks<T: Config>(index: u32) -> T::AccountId {
	let staker = bonded::<T>(index, T::MinLockPeriods::get());
	add_chunks::<T>(&staker);
	staker
}

/// Unlocks `staker`'s ledger and unbonds `MinStake` into all but one chunk.
fn add_chunks<T: Config>(staker: &T::AccountId) {
	if let Some(mut ledger) = Ledger::<T>::get(staker) {
		ledger.set_lock_periods(0);
	}
	for period in 0..T::MaxUnlockingChunks::get().saturating_sub(1) {
		frame_system::Pallet::<T>::set_block_number(
			T::PeriodLength::get().saturating_mul(period.into()),
		);
		Staking::<T>::unbond(RawOrigin::Signed(staker.clone()).into(), T::MinStake::get())
			.expect("unbond works");
	}
}

#[benchmarks(where <T as frame_system::Config>::RuntimeCall: From<Call<T>>)]
mod benchmarks {
	use super::*;

	/// Worst case: a new ledger and a new hold.
	#[benchmark]
	fn bond() {
		let staker = funded::<T>("staker", 0);
		let value = T::MinStake::get();
		#[extrinsic_call]
		_(RawOrigin::Signed(staker.clone()), value, T::MaxLockPeriods::get());
		assert!(Ledgers::<T>::contains_key(&staker));
	}

	/// Worst case: a ledger with full unbonding chunks (the largest ledger to decode).
	#[benchmark]
	fn bond_extra() {
		let staker = unlocked_with_chunks::<T>(0);
		#[extrinsic_call]
		_(RawOrigin::Signed(staker), T::MinStake::get());
	}

	/// Worst case: the largest ledger.
	#[benchmark]
	fn prolong() {
		let staker = unlocked_with_chunks::<T>(0);
		#[extrinsic_call]
		_(RawOrigin::Signed(staker), T::MaxLockPeriods::get());
	}

	/// Worst case: the largest ledger.
	#[benchmark]
	fn set_wind_down() {
		let staker = unlocked_with_chunks::<T>(0);
		#[extrinsic_call]
		_(RawOrigin::Signed(staker), true);
	}

	/// Worst case: everything unbonded, so the node (full key history) is unregistered, and
	/// a ledger one chunk from full, a new chunk pushed after scanning them all.
	#[benchmark]
	fn unbond() {
		let (staker, _) = node_with_full_history::<T>(0);
		add_chunks::<T>(&staker);
		frame_system::Pallet::<T>::set_block_number(
			T::PeriodLength::get().saturating_mul(T::MaxUnlockingChunks::get().into()),
		);
		let active = Staking::<T>::stake_of(&staker);
		#[extrinsic_call]
		_(RawOrigin::Signed(staker.clone()), active);
		let chunks = Ledgers::<T>::get(&staker).map(|l| l.unlocking.len() as u32);
		assert_eq!(chunks, Some(T::MaxUnlockingChunks::get()));
		assert!(!Nodes::<T>::contains_key(&staker));
	}

	/// Worst case: every chunk ripe and released, the ledger removed.
	#[benchmark]
	fn withdraw_unbonded() {
		let staker = bonded::<T>(0, T::MinLockPeriods::get());
		if let Some(mut ledger) = Ledger::<T>::get(&staker) {
			ledger.set_lock_periods(0);
		}
		let chunks = T::MaxUnlockingChunks::get();
		let active = Ledgers::<T>::get(&staker).map(|l| l.active).unwrap_or_default();
		for period in 0..chunks {
			frame_system::Pallet::<T>::set_block_number(
				T::PeriodLength::get().saturating_mul(period.into()),
			);
			let value = if period + 1 == chunks {
				Ledgers::<T>::get(&staker).map(|l| l.active).unwrap_or_default()
			} else {
				T::MinStake::get()
			};
			Staking::<T>::unbond(RawOrigin::Signed(staker.clone()).into(), value)
				.expect("unbond works");
		}
		frame_system::Pallet::<T>::set_block_number(
			T::PeriodLength::get()
				.saturating_mul((chunks.saturating_add(T::UnbondingPeriods::get())).into()),
		);
		#[extrinsic_call]
		_(RawOrigin::Signed(staker.clone()));
		assert!(!Ledgers::<T>::contains_key(&staker));
		assert!(!active.is_zero());
	}

	/// Worst case: key decompression, both signatures of the proof verified, four storage
	/// writes.
	#[benchmark]
	fn register_node() {
		let staker = bonded::<T>(0, T::MinLockPeriods::get());
		let operator = operator_key::<T>();
		let proof = keys_proof::<T>(&staker, &operator, 7);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(staker.clone()),
			operator.into_account(),
			umbral_key_for(7),
			Zero::zero(),
			proof,
		);
		assert!(Nodes::<T>::contains_key(&staker));
	}

	/// Worst case: both signatures of the proof verified, and a full key history, so the
	/// oldest key is dropped (after asking the policy side) before the new one is pushed.
	#[benchmark]
	fn rotate_node_key() {
		let (staker, operator) = node_with_full_history::<T>(1);
		let proof = keys_proof::<T>(&staker, &operator, 999);
		#[extrinsic_call]
		_(RawOrigin::Signed(staker.clone()), umbral_key_for(999), proof);
		assert_eq!(
			Nodes::<T>::get(&staker).expect("registered").keys.last(),
			Some(&umbral_key_for(999))
		);
	}

	/// Worst case: the largest node record.
	#[benchmark]
	fn set_min_fee_rate() {
		let (staker, _) = node_with_full_history::<T>(1);
		#[extrinsic_call]
		_(RawOrigin::Signed(staker), BalanceOf::<T>::max_value());
	}

	/// Worst case: the longest endpoint, parsed and written over an earlier one.
	#[benchmark]
	fn set_endpoint() {
		let (staker, _) = node_with_full_history::<T>(1);
		let endpoint = longest_endpoint();
		Endpoints::<T>::insert(&staker, &endpoint);
		#[extrinsic_call]
		_(RawOrigin::Signed(staker.clone()), Some(endpoint.0.clone()));
		assert_eq!(Endpoints::<T>::get(&staker), Some(endpoint));
	}

	/// Worst case: a full key history and an endpoint to forget.
	#[benchmark]
	fn unregister_node() {
		let (staker, _) = node_with_full_history::<T>(1);
		Endpoints::<T>::insert(&staker, longest_endpoint());
		#[extrinsic_call]
		_(RawOrigin::Signed(staker.clone()));
		assert!(!Nodes::<T>::contains_key(&staker));
	}

	/// Worst case: a slashed node below `MinStake` with a full key history and an endpoint to
	/// forget.
	#[benchmark]
	fn chill_other() {
		let (node, _) = node_with_full_history::<T>(1);
		Endpoints::<T>::insert(&node, longest_endpoint());
		let active = Staking::<T>::stake_of(&node);
		let minimum = T::MinStake::get();
		drop(Staking::<T>::do_slash(
			&node,
			active.saturating_sub(minimum).saturating_add(One::one()),
		));
		let caller = funded::<T>("caller", 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), node.clone());
		assert!(!Nodes::<T>::contains_key(&node));
	}

	/// Worst case: a winding-down ledger whose previous served period is settled.
	#[benchmark]
	fn heartbeat() {
		let (beat, signature) = signed_heartbeat::<T>();
		let node = beat.node.clone();
		let previous = Staking::<T>::current_period().saturating_sub(1);
		Service::<T>::insert(
			previous,
			&node,
			ServiceRecord { heartbeat: true, missed_deadlines: 0 },
		);
		Nodes::<T>::mutate(&node, |info| {
			if let Some(info) = info.as_mut() {
				info.last_heartbeat = Some(previous);
			}
		});
		#[extrinsic_call]
		_(RawOrigin::Authorized, beat, signature);
		assert!(Service::<T>::get(Staking::<T>::current_period(), &node).heartbeat);
	}

	/// Worst case: every check passes, the signature is verified.
	#[benchmark]
	fn authorize_heartbeat() -> Result<(), BenchmarkError> {
		let (beat, signature) = signed_heartbeat::<T>();
		let call: <T as frame_system::Config>::RuntimeCall =
			Call::<T>::heartbeat { heartbeat: beat, signature }.into();
		#[block]
		{
			call.authorize(TransactionSource::External)
				.ok_or("no authorize logic")?
				.map_err(|_| "authorize failed")?;
		}
		Ok(())
	}

	/// A node whose operator key is in the benchmark keystore, with a signed heartbeat for the
	/// current period.
	fn signed_heartbeat<T: Config>() -> (HeartbeatOf<T>, T::Signature) {
		let staker = bonded::<T>(0, T::MaxLockPeriods::get());
		if let Some(mut ledger) = Ledger::<T>::get(&staker) {
			ledger.set_wind_down(true);
		}
		let public = operator_key::<T>();
		let operator = public.clone().into_account();
		Staking::<T>::do_register_node(&staker, operator, umbral_key_for(3), Zero::zero(), None)
			.expect("register works");
		frame_system::Pallet::<T>::set_block_number(
			T::PeriodLength::get().saturating_mul(5u32.into()),
		);
		let beat = Heartbeat {
			node: staker,
			period: Staking::<T>::current_period(),
			public: public.clone(),
		};
		let signature = <T::OperatorCrypto as AppCrypto<_, _>>::sign(
			&crate::heartbeat_payload::<T>(&beat),
			public,
		)
		.expect("the key is local");
		(beat, signature)
	}

	impl_benchmark_test_suite!(
		Staking,
		crate::mock::ExtBuilder::default().build(),
		crate::mock::Test
	);
}
