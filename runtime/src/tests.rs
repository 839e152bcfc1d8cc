//! Tests of the runtime's composition: genesis presets, version, metadata, integrity.

use crate::{
	genesis_config_presets::{self, ENDOWMENT},
	Balances, Grandpa, Runtime, RuntimeGenesisConfig, System, VERSION,
};
use frame_support::{genesis_builder_helper, traits::IntegrityTest};
use serde_json::Value;
use sp_genesis_builder::{PresetId, DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};
use sp_keyring::Sr25519Keyring;

/// Applies a JSON patch the way the node applies a preset to the default genesis config.
fn merge(base: &mut Value, patch: Value) {
	match (base, patch) {
		(Value::Object(base), Value::Object(patch)) => {
			for (key, value) in patch {
				merge(base.entry(key).or_insert(Value::Null), value);
			}
		},
		(base, patch) => *base = patch,
	}
}

/// The state that `preset` builds: its patch over the default genesis config, built by the
/// runtime's `GenesisBuilder`.
fn genesis_of(preset: &str) -> sp_io::TestExternalities {
	let default = genesis_builder_helper::get_preset::<RuntimeGenesisConfig>(&None, |_| None)
		.expect("the default genesis config serializes");
	let mut config: Value = serde_json::from_slice(&default).expect("default config is JSON");
	let patch = genesis_config_presets::get_preset(&PresetId::from(preset))
		.unwrap_or_else(|| panic!("preset {preset} exists"));
	merge(&mut config, serde_json::from_slice(&patch).expect("preset is JSON"));
	let mut ext = sp_io::TestExternalities::new_empty();
	ext.execute_with(|| {
		genesis_builder_helper::build_state::<RuntimeGenesisConfig>(
			serde_json::to_vec(&config).expect("JSON serializes"),
		)
		.unwrap_or_else(|e| panic!("preset {preset} builds: {e}"))
	});
	ext
}

/// Every KMS pallet's invariants hold. Built with `try-runtime`, also every pallet's `try_state`
/// and upgrade checks through the runtime's `TryRuntime` API, as `try-runtime-cli` runs them on
/// a live chain's state.
fn check_invariants() {
	pallet_kms_adjudicator::Pallet::<Runtime>::do_try_state().expect("adjudicator invariants");
	pallet_kms_policies::Pallet::<Runtime>::do_try_state().expect("policies invariants");
	pallet_kms_rewards::Pallet::<Runtime>::do_try_state().expect("rewards invariants");
	pallet_kms_staking::Pallet::<Runtime>::do_try_state().expect("staking invariants");
	#[cfg(feature = "try-runtime")]
	{
		use frame_try_runtime::{runtime_decl_for_try_runtime::TryRuntimeV1, UpgradeCheckSelect};
		let (_weight, limit) =
			<Runtime as TryRuntimeV1<crate::Block>>::on_runtime_upgrade(UpgradeCheckSelect::All);
		assert_eq!(limit, crate::configs::RuntimeBlockWeights::get().max_block);
	}
}

#[test]
fn presets_are_listed_and_unknown_ones_are_not() {
	let names = genesis_config_presets::preset_names();
	assert_eq!(
		names,
		vec![PresetId::from(DEV_RUNTIME_PRESET), PresetId::from(LOCAL_TESTNET_RUNTIME_PRESET)]
	);
	assert!(genesis_config_presets::get_preset(&PresetId::from("mainnet")).is_none());
}

#[test]
fn development_preset_has_alice_as_sole_authority_and_sudo() {
	genesis_of(DEV_RUNTIME_PRESET).execute_with(|| {
		let alice = Sr25519Keyring::Alice;
		assert_eq!(
			pallet_aura::Authorities::<Runtime>::get().into_inner(),
			vec![alice.public().into()]
		);
		assert_eq!(Grandpa::grandpa_authorities().len(), 1);
		assert_eq!(pallet_sudo::Key::<Runtime>::get(), Some(alice.to_account_id()));
		// Alice's node has its genesis stake on hold.
		assert_eq!(
			Balances::free_balance(alice.to_account_id()),
			ENDOWMENT - crate::genesis_config_presets::GENESIS_STAKE
		);
		assert_eq!(Balances::free_balance(Sr25519Keyring::Ferdie.to_account_id()), ENDOWMENT);
		// One and Two are not development accounts.
		assert_eq!(Balances::free_balance(Sr25519Keyring::One.to_account_id()), 0);
	});
}

#[test]
fn local_preset_has_four_authorities() {
	genesis_of(LOCAL_TESTNET_RUNTIME_PRESET).execute_with(|| {
		let expected: Vec<sp_consensus_aura::sr25519::AuthorityId> = [
			Sr25519Keyring::Alice,
			Sr25519Keyring::Bob,
			Sr25519Keyring::Charlie,
			Sr25519Keyring::Dave,
		]
		.into_iter()
		.map(|who| who.public().into())
		.collect();
		assert_eq!(pallet_aura::Authorities::<Runtime>::get().into_inner(), expected);
		assert_eq!(Grandpa::grandpa_authorities().len(), 4);
		assert!(Grandpa::grandpa_authorities().iter().all(|(_, weight)| *weight == 1));
	});
}

#[test]
fn total_issuance_is_the_sum_of_endowments() {
	genesis_of(DEV_RUNTIME_PRESET).execute_with(|| {
		let endowed = frame_system::Account::<Runtime>::iter().count() as u128;
		assert!(endowed >= 12);
		assert_eq!(pallet_balances::TotalIssuance::<Runtime>::get(), endowed * ENDOWMENT);
		assert_eq!(System::block_number(), 0);
	});
}

#[test]
fn version_identifies_the_chain() {
	assert_eq!(VERSION.spec_name, "kms-chain");
	assert_eq!(VERSION.impl_name, "kms-chain");
	assert!(VERSION.spec_version >= 100);
	// Clients find the APIs they need by their ids.
	use sp_api::RuntimeApiInfo;
	for id in [
		<dyn sp_api::Core<crate::Block>>::ID,
		<dyn sp_api::Metadata<crate::Block>>::ID,
		<dyn sp_block_builder::BlockBuilder<crate::Block>>::ID,
		<dyn sp_genesis_builder::GenesisBuilder<crate::Block>>::ID,
		<dyn sp_offchain::OffchainWorkerApi<crate::Block>>::ID,
		<dyn sp_session::SessionKeys<crate::Block>>::ID,
		<dyn kms_primitives::policies::PoliciesApi<
			crate::Block,
			crate::AccountId,
			crate::Balance,
			crate::BlockNumber,
		>>::ID,
		<dyn kms_primitives::policies::DirectAccessApi<crate::Block, crate::AccountId>>::ID,
		<dyn kms_primitives::policies::GrantsApi<
			crate::Block,
			crate::AccountId,
			crate::Balance,
			crate::BlockNumber,
		>>::ID,
	] {
		assert!(VERSION.apis.iter().any(|(api, _)| *api == id), "API {id:?} is declared");
	}
}

#[test]
fn metadata_describes_every_pallet_in_every_supported_version() {
	let versions = Runtime::metadata_versions();
	for version in [14, 15, 16] {
		assert!(versions.contains(&version), "metadata v{version} is offered");
		assert!(Runtime::metadata_at_version(version).is_some());
	}
	let pallets: Vec<_> = Runtime::metadata_ir().pallets.into_iter().map(|p| p.name).collect();
	assert_eq!(
		pallets,
		vec![
			"System",
			"Timestamp",
			"Aura",
			"Grandpa",
			"Balances",
			"TransactionPayment",
			"Sudo",
			"Staking",
			"Policies",
			"Adjudicator",
			"Rewards"
		]
	);
}

#[test]
fn integrity_tests_pass() {
	genesis_of(DEV_RUNTIME_PRESET).execute_with(crate::AllPalletsWithSystem::integrity_test);
}

#[test]
fn wasm_blob_is_built() {
	let blob = crate::WASM_BINARY.expect("the runtime is built as WebAssembly");
	let code = sp_maybe_compressed_blob::decompress(blob, 64 << 20).expect("blob decompresses");
	assert_eq!(&code[..4], b"\0asm", "blob is a WebAssembly module");
}

#[test]
fn block_time_follows_the_build() {
	let expected: u64 = if cfg!(feature = "fast-runtime") { 2_000 } else { 6_000 };
	assert_eq!(crate::MILLI_SECS_PER_BLOCK, expected);
	// Aura's slot is twice the timestamp's minimum period: one block per slot.
	assert_eq!(crate::Aura::slot_duration(), expected);
	assert_eq!(crate::DAYS as u64 * expected, 24 * 60 * 60 * 1000);
}

#[test]
fn development_nodes_are_staked_and_registered_with_their_derived_keys() {
	use kms_primitives::staking::{dev::umbral_public_key, NodeDirectory, StakeLedger};
	genesis_of(LOCAL_TESTNET_RUNTIME_PRESET).execute_with(|| {
		for (who, seed) in [
			(Sr25519Keyring::Alice, "//Alice"),
			(Sr25519Keyring::Bob, "//Bob"),
			(Sr25519Keyring::Charlie, "//Charlie"),
			(Sr25519Keyring::Dave, "//Dave"),
		] {
			let node = who.to_account_id();
			assert_eq!(
				crate::Staking::stake_of(&node),
				crate::genesis_config_presets::GENESIS_STAKE
			);
			assert_eq!(crate::Staking::node_key(&node, 0), Some(umbral_public_key(seed)));
			assert_eq!(crate::Staking::operator_of(&node), Some(node.clone()));
			// The stake is held, not spent.
			assert_eq!(
				Balances::free_balance(&node),
				ENDOWMENT - crate::genesis_config_presets::GENESIS_STAKE
			);
		}
		check_invariants();
	});
}

/// The whole policy flow inside the runtime, with objects written by umbral-pre's Python
/// bindings: the runtime accepts them, stores them and hands back bytes that umbral-pre
/// verifies against the policy's keys.
#[test]
fn a_policy_serves_and_judges_python_made_umbral_objects() {
	use frame_support::assert_ok;
	use kms_fixtures as fixtures;
	use kms_primitives::{
		policies::{EncryptedKFrag, NodeGrant, RequestStatus},
		staking::UmbralPublicKey,
	};
	use pallet_kms_staking::Heartbeat;
	use rand_chacha::rand_core::SeedableRng;
	use sp_runtime::MultiSigner;

	let key = |bytes: &[u8]| UmbralPublicKey::try_from(bytes).expect("33 bytes");
	genesis_of(DEV_RUNTIME_PRESET).execute_with(|| {
		System::set_block_number(1);
		let alice = Sr25519Keyring::Alice;
		let bob = Sr25519Keyring::Bob;
		// Alice's node heartbeats (its operator is Alice's account), so it is serving.
		let heartbeat = Heartbeat {
			node: alice.to_account_id(),
			period: crate::Staking::current_period(),
			public: MultiSigner::from(alice.public()),
		};
		let signature =
			alice.sign(&pallet_kms_staking::heartbeat_payload::<Runtime>(&heartbeat)).into();
		assert_ok!(crate::Staking::heartbeat(
			frame_system::RawOrigin::Authorized.into(),
			heartbeat,
			signature
		));
		let grant = NodeGrant {
			node: alice.to_account_id(),
			key_version: 0,
			kfrag: EncryptedKFrag {
				capsule: fixtures::KFRAG_CAPSULE.to_vec().try_into().expect("105 bytes"),
				ciphertext: fixtures::KFRAG_CIPHERTEXT.to_vec().try_into().expect("350 bytes"),
			},
		};
		let keys = kms_primitives::policies::PolicyKeys {
			verifying: key(&fixtures::VERIFYING_KEY),
			delegating: key(&fixtures::DELEGATING_KEY),
			receiving: key(&fixtures::RECEIVING_KEY),
		};
		let grants = vec![grant].try_into().expect("one node");
		// The owner's client signs the terms with the signer that made the kfrag.
		let signer = fixtures::signer();
		let terms = kms_primitives::policies::GrantTerms {
			owner: &alice.to_account_id(),
			id: [7; 16],
			keys,
			threshold: 1,
			end: 100,
			conditions: &Default::default(),
			grants: &grants,
		};
		let signature = kms_primitives::staking::UmbralSignature::of(&signer.sign_with_rng(
			&mut rand_chacha::ChaCha20Rng::from_seed([5; 32]),
			&pallet_kms_policies::grant_payload::<Runtime>(&terms),
		));
		assert_ok!(crate::Policies::create_policy(
			crate::RuntimeOrigin::signed(alice.to_account_id()),
			[7; 16],
			b"photos".to_vec().try_into().expect("short"),
			keys.delegating,
			keys.verifying,
			keys.receiving,
			1,
			grants,
			100,
			crate::configs::policies::MinFeeRate::get(),
			Default::default(),
			signature,
		));
		// The Python-made kfrag passes the worker's self-test: a re-encryption with it verifies
		// with `CapsuleFrag::verify` against the policy's keys. (Its envelope is sealed to a
		// fixture node key whose secret is not kept; opening it is the worker's own tests' part.)
		let policy = pallet_kms_policies::Policies::<Runtime>::get([7; 16]).expect("created");
		let envelope = pallet_kms_policies::KFrags::<Runtime>::get([7; 16], alice.to_account_id())
			.expect("sealed to the node");
		let keys = policy.keys();
		let kfrag = kms_primitives::wire::decode_key_frag(&fixtures::KFRAG)
			.expect("a canonical kfrag")
			.verify(
				&keys.verifying.decompress().expect("key"),
				Some(&keys.delegating.decompress().expect("key")),
				Some(&keys.receiving.decompress().expect("key")),
			)
			.expect("the kfrag verifies");
		let mut rng =
			<rand_chacha::ChaCha20Rng as rand_chacha::rand_core::SeedableRng>::from_seed([1; 32]);
		let probe = kms_primitives::wire::decode_capsule(&fixtures::CAPSULE).expect("capsule");
		pallet_kms_policies::offchain::reencrypt_checked(&mut rng, &probe, &kfrag, &keys)
			.expect("the Python-made kfrag passes the self-test");
		let decision = pallet_kms_policies::PolicyDecision {
			policy: [7; 16],
			version: 0,
			node: alice.to_account_id(),
			content: kms_primitives::policies::grant_content_hash(&policy.keys(), &envelope),
			decision: kms_primitives::policies::Decision::Accept,
			sent_at: System::block_number(),
			public: MultiSigner::from(alice.public()),
		};
		let signature =
			alice.sign(&pallet_kms_policies::decision_payload::<Runtime>(&decision)).into();
		assert_ok!(crate::Policies::decide_on_policy(
			frame_system::RawOrigin::Authorized.into(),
			decision,
			signature
		));
		assert_eq!(crate::Policies::check_access([7; 16], &bob.to_account_id()), Ok(()));
		assert_ok!(crate::Policies::request_reencryption(
			crate::RuntimeOrigin::signed(bob.to_account_id()),
			[7; 16],
			vec![fixtures::CAPSULE.to_vec().try_into().expect("105 bytes")]
				.try_into()
				.expect("one capsule"),
			crate::Policies::request_price(),
		));
		let hash = |id| crate::Policies::answer_hash(id).expect("made");
		assert_ok!(crate::Policies::submit_cfrags(
			crate::RuntimeOrigin::signed(alice.to_account_id()),
			0,
			hash(0),
			vec![fixtures::CFRAG.to_vec().try_into().expect("381 bytes")]
				.try_into()
				.expect("one cfrag"),
		));
		assert_eq!(
			crate::Policies::request_status(0),
			Some(RequestStatus::Fulfilled { answers: 1 })
		);
		let answers = crate::Policies::cfrags(0);
		assert_eq!(answers.len(), 1);
		let umbral_key =
			|bytes: &[u8]| umbral_pre::PublicKey::try_from_compressed_bytes(bytes).expect("key");
		let capsule = kms_primitives::wire::decode_capsule(&fixtures::CAPSULE).expect("capsule");
		kms_primitives::wire::decode_capsule_frag(&answers[0].1[0])
			.expect("cfrag")
			.verify(
				&capsule,
				&umbral_key(&fixtures::VERIFYING_KEY),
				&umbral_key(&fixtures::DELEGATING_KEY),
				&umbral_key(&fixtures::RECEIVING_KEY),
			)
			.expect("the stored cfrag verifies");

		// The adjudicator, in the runtime, finds the honest cfrag correct (Bob loses his
		// deposit) and one with a wrong proof point incorrect (Alice's node loses 100 KMS,
		// half of which Bob gets).
		use crate::configs::adjudicator::{BasePenalty, ChallengeDeposit};
		use kms_primitives::staking::StakeLedger;
		let bob_free = Balances::free_balance(bob.to_account_id());
		assert_ok!(crate::Adjudicator::challenge_cfrag(
			crate::RuntimeOrigin::signed(bob.to_account_id()),
			0,
			alice.to_account_id(),
			0,
		));
		assert_eq!(Balances::free_balance(bob.to_account_id()), bob_free - ChallengeDeposit::get());
		let mut wrong = fixtures::CFRAG;
		let v2: [u8; 35] = wrong[176..211].try_into().expect("35 bytes");
		wrong[141..176].copy_from_slice(&v2);
		assert_ok!(crate::Policies::request_reencryption(
			crate::RuntimeOrigin::signed(bob.to_account_id()),
			[7; 16],
			vec![fixtures::CAPSULE.to_vec().try_into().expect("105 bytes")]
				.try_into()
				.expect("one capsule"),
			crate::Policies::request_price(),
		));
		assert_ok!(crate::Policies::submit_cfrags(
			crate::RuntimeOrigin::signed(alice.to_account_id()),
			1,
			hash(1),
			vec![wrong.to_vec().try_into().expect("381 bytes")]
				.try_into()
				.expect("one cfrag"),
		));
		let stake = crate::Staking::stake_of(&alice.to_account_id());
		let bob_free = Balances::free_balance(bob.to_account_id());
		assert_ok!(crate::Adjudicator::challenge_cfrag(
			crate::RuntimeOrigin::signed(bob.to_account_id()),
			1,
			alice.to_account_id(),
			0,
		));
		assert_eq!(crate::Staking::stake_of(&alice.to_account_id()), stake - BasePenalty::get());
		assert_eq!(Balances::free_balance(bob.to_account_id()), bob_free + BasePenalty::get() / 2);

		check_invariants();
	});
}

#[test]
fn a_serving_development_node_earns_phase_one_rewards() {
	use frame_support::traits::{fungible::Inspect, Hooks};
	use kms_primitives::staking::ServiceObserver;
	genesis_of(DEV_RUNTIME_PRESET).execute_with(|| {
		let alice: crate::AccountId = Sr25519Keyring::Alice.to_account_id();
		let ledger = pallet_kms_staking::Ledgers::<Runtime>::get(&alice).expect("Alice is bonded");
		// Alice alone serves period 0, as her heartbeat would report it.
		<crate::Rewards as ServiceObserver<_, _>>::served(
			&alice,
			0,
			ledger.active,
			ledger.lock_periods,
		);
		let period = crate::configs::staking::PERIOD_LENGTH;
		System::set_block_number(2 * period);
		crate::Rewards::on_initialize(2 * period);
		let before = Balances::balance(&alice);
		let pending = crate::Rewards::pending_rewards(&alice);
		frame_support::assert_ok!(crate::Rewards::claim_rewards(
			crate::RuntimeOrigin::signed(alice.clone()),
			1
		));
		// Alone, her part is all of Imax times her lock multiplier (365 + lock) / 730.
		let imax = crate::configs::rewards::MaxPeriodIssuance::get();
		let expected = imax * (365 + ledger.lock_periods.min(365)) as u128 / 730;
		assert_eq!(Balances::balance(&alice) - before, expected);
		assert_eq!((pending.amount, pending.from, pending.to), (expected, 0, 1));
		check_invariants();
	});
}

/// A node's stored answers stay challengeable while its stake is still held: the shortest
/// unbonding (from the last block of a period) outlasts a request's deadline and retention,
/// so that no node can unbond and withdraw before the evidence against it expires.
#[test]
fn stake_stays_slashable_while_evidence_is_kept() {
	use crate::configs::{policies, staking};
	let shortest_unbonding =
		(staking::UnbondingPeriods::get().saturating_sub(1)) * staking::PeriodLength::get() + 1;
	let evidence_kept = policies::ResponseWindow::get() + policies::RetentionPeriod::get();
	assert!(
		shortest_unbonding > evidence_kept,
		"unbonding ({shortest_unbonding} blocks) must outlast evidence ({evidence_kept} blocks)"
	);
}

/// Fees follow congestion (`TargetedFeeAdjustment`): blocks fuller than the target raise the
/// fee multiplier, so flooding blocks gets dearer block after block; quiet blocks bring it back
/// to its floor of one, never below.
#[test]
fn fees_rise_while_blocks_are_congested_and_settle_back() {
	use frame_support::{dispatch::DispatchClass, traits::Hooks};
	use pallet_transaction_payment::{Multiplier, NextFeeMultiplier};
	use sp_runtime::traits::One;

	genesis_of(DEV_RUNTIME_PRESET).execute_with(|| {
		let full = crate::configs::RuntimeBlockWeights::get()
			.get(DispatchClass::Normal)
			.max_total
			.unwrap_or_default();
		let run_block = |consumed| {
			frame_system::Pallet::<Runtime>::set_block_consumed_resources(consumed, 0);
			pallet_transaction_payment::Pallet::<Runtime>::on_finalize(1);
		};
		assert_eq!(NextFeeMultiplier::<Runtime>::get(), Multiplier::one());
		let mut previous = Multiplier::one();
		for _ in 0..10 {
			run_block(full);
			let now = NextFeeMultiplier::<Runtime>::get();
			assert!(now > previous, "a full block raises fees: {previous:?} → {now:?}");
			previous = now;
		}
		for _ in 0..1_000 {
			run_block(frame_support::weights::Weight::zero());
		}
		assert_eq!(NextFeeMultiplier::<Runtime>::get(), Multiplier::one());
	});
}

/// The `TryRuntime` API fails, as `try-runtime-cli` needs it to, when a pallet's invariant is
/// broken: here Staking's total of active stake no longer matches its ledgers.
#[cfg(feature = "try-runtime")]
#[test]
fn try_runtime_api_fails_on_a_broken_invariant() {
	use frame_try_runtime::{runtime_decl_for_try_runtime::TryRuntimeV1, UpgradeCheckSelect};
	genesis_of(DEV_RUNTIME_PRESET).execute_with(|| {
		System::set_block_number(1);
		check_invariants();
		pallet_kms_staking::TotalActive::<Runtime>::mutate(|total| *total += 1);
		// The broken invariant is the one that fails (the API reports failures only as a panic)…
		assert_eq!(
			pallet_kms_staking::Pallet::<Runtime>::do_try_state(),
			Err(sp_runtime::TryRuntimeError::Other("TotalActive differs from the ledgers"))
		);
		// …and the API fails on it.
		let checked = std::panic::catch_unwind(|| {
			<Runtime as TryRuntimeV1<crate::Block>>::on_runtime_upgrade(
				UpgradeCheckSelect::TryState,
			)
		});
		assert!(checked.is_err(), "a broken TotalActive passed try_state");
	});
}
