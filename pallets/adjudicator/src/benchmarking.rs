//! Benchmarks of the Adjudicator (v2). The worst case of both calls is an incorrect cfrag
//! whose kfrag signature verifies and whose re-encryption proof does not: the whole of
//! `CapsuleFrag::verify` runs (in WebAssembly, when run by the node), then the slash and the
//! payouts. The objects are umbral-pre's, written by its Python bindings.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::traits::fungible::Mutate;
use frame_system::RawOrigin;
use kms_fixtures as fixtures;
use kms_primitives::staking::dev;
use kms_primitives::staking::StakingBenchmarks as _;

fn key(bytes: &[u8; 33]) -> UmbralPublicKey {
	UmbralPublicKey(*bytes)
}

/// The fixture cfrag with its proof's `E2` replaced by its `V2`: a valid point, so the cfrag
/// decodes and its kfrag signature verifies, but the re-encryption proof fails.
fn incorrect_cfrag() -> [u8; 381] {
	let mut cfrag = fixtures::CFRAG;
	let v2: [u8; 35] = cfrag[176..211].try_into().expect("35 bytes");
	cfrag[141..176].copy_from_slice(&v2);
	cfrag
}

fn evidence(cfrag: [u8; 381]) -> CfragEvidence {
	CfragEvidence {
		capsule: fixtures::CAPSULE.to_vec().try_into().expect("105 bytes"),
		cfrag: cfrag.to_vec().try_into().expect("381 bytes"),
		verifying_key: key(&fixtures::VERIFYING_KEY),
		delegating_key: key(&fixtures::DELEGATING_KEY),
		receiving_key: key(&fixtures::RECEIVING_KEY),
	}
}

fn funded<T: Config>(name: &'static str) -> T::AccountId {
	let who: T::AccountId = account(name, 0, 0);
	T::Currency::set_balance(&who, T::ChallengeDeposit::get().saturating_mul(1_000u32.into()));
	who
}

#[benchmarks(where
	T::OffchainSignature: From<sp_core::sr25519::Signature>,
	T::SigningPublicKey: From<sp_core::sr25519::Public>,
)]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn challenge_cfrag() {
		let node: T::AccountId = account("node", 0, 0);
		let operator: T::AccountId = account("operator", 0, 0);
		T::Staking::register_for_benchmark(
			&node,
			&operator,
			dev::umbral_public_key("//bench-node"),
		);
		let (_, request) = T::Records::store_for_benchmark(&node, evidence(incorrect_cfrag()));
		let challenger = funded::<T>("challenger");
		#[extrinsic_call]
		_(RawOrigin::Signed(challenger), request, node.clone(), 0);
		assert_eq!(PriorPenalties::<T>::get(&node), 1);
	}

	/// And first the operator's sr25519 signature over the evidence.
	#[benchmark]
	fn challenge_signed_cfrag() -> Result<(), BenchmarkError> {
		let node: T::AccountId = account("node", 0, 0);
		let public =
			sp_io::crypto::sr25519_generate(kms_primitives::staking::operator::KEY_TYPE, None);
		let operator = T::SigningPublicKey::from(public).into_account();
		T::Staking::register_for_benchmark(
			&node,
			&operator,
			dev::umbral_public_key("//bench-node"),
		);
		let (policy, _) = T::Records::store_for_benchmark(&node, evidence(fixtures::CFRAG));
		let signed = SignedCfrag {
			policy,
			version: 0,
			node: node.clone(),
			capsule: fixtures::CAPSULE.to_vec().try_into().map_err(|_| "capsule")?,
			cfrag: incorrect_cfrag().to_vec().try_into().map_err(|_| "cfrag")?,
		};
		let signature = sp_io::crypto::sr25519_sign(
			kms_primitives::staking::operator::KEY_TYPE,
			&public,
			&signed.signing_payload(&frame_system::Pallet::<T>::block_hash(
				frame_system::pallet_prelude::BlockNumberFor::<T>::zero(),
			)),
		)
		.ok_or("the keystore signs")?;
		let challenger = funded::<T>("challenger");
		#[extrinsic_call]
		_(RawOrigin::Signed(challenger), signed, signature.into());
		assert_eq!(PriorPenalties::<T>::get(&node), 1);
		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_bench_ext(), crate::mock::Test);
}
