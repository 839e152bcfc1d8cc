//! A test runtime: System, Balances, the real Staking and Policies pallets and the
//! Adjudicator, with real sr25519 operator keys and real umbral-pre objects.

use crate::{self as pallet_kms_adjudicator, Config};
use frame_support::{
	assert_ok, derive_impl, parameter_types,
	traits::{tokens::imbalance::ResolveTo, ConstU128, ConstU32, ConstU64},
	BoundedVec,
};
use kms_primitives::{
	policies::{
		grant_content_hash, CapsuleFragBytes, Decision, EncryptedKFrag, NodeGrant, OffenceSpan,
		PolicyId, RequestId,
	},
	staking::UmbralPublicKey,
};
use sp_core::Pair;
use sp_runtime::transaction_validity::TransactionSource;
use sp_runtime::{
	traits::{BlakeTwo256, IdentityLookup},
	AccountId32, BuildStorage, MultiSignature, MultiSigner,
};
use umbral_pre::{Capsule, DefaultSerialize, SecretKey, Signer, VerifiedKeyFrag};

pub use pallet_kms_staking::testing::{account, sign};

pub type AccountId = AccountId32;
pub type Balance = u128;
type Block = sp_runtime::generic::Block<sp_runtime::generic::Header<u64, BlakeTwo256>, Extrinsic>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Staking: pallet_kms_staking,
		KmsPolicies: pallet_kms_policies,
		Adjudicator: pallet_kms_adjudicator,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type AccountId = AccountId;
	type Lookup = IdentityLookup<AccountId>;
	type AccountData = pallet_balances::AccountData<Balance>;
	type Block = Block;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type ExistentialDeposit = ConstU128<ED>;
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

pallet_kms_staking::impl_test_transactions!(Test);

pub const ED: Balance = 10;
pub const MIN_STAKE: Balance = 10_000;
/// The nodes' stake: the penalty cap is an eighth of it, 12 500.
pub const STAKE: Balance = 100_000;
pub const DEPOSIT: Balance = 50;
pub const BASE: Balance = 100;
pub const HISTORY: Balance = 10;

#[derive_impl(pallet_kms_staking::config_preludes::TestDefaultConfig)]
impl pallet_kms_staking::Config for Test {
	type Currency = Balances;
	type OperatorCrypto = pallet_kms_staking::OperatorAuthId;
	type Policies = KmsPolicies;
	type MinStake = ConstU128<MIN_STAKE>;
}

impl pallet_kms_policies::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Staking = Staking;
	type OperatorCrypto = pallet_kms_staking::OperatorAuthId;
	type MaxNodes = ConstU32<4>;
	type MaxLabelLen = ConstU32<32>;
	type MaxConditionNodes = ConstU32<4>;
	type MaxConditionDepth = ConstU32<2>;
	type MaxCapsules = ConstU32<2>;
	type MaxRequestsPerBlock = ConstU32<16>;
	type MaxRequestsPerRequester = ConstU32<16>;
	type MaxRequestsPerPolicy = ConstU32<16>;
	type MinFeeRate = ConstU128<1>;
	type MaxFeeRate = ConstU128<1_000>;
	type ResponseWindow = ConstU64<5>;
	type RetentionPeriod = ConstU64<100>;
	type MaxClaimPeriods = ConstU32<10>;
	type ResponsePriority = ConstU64<{ 1 << 40 }>;
	type DepositPerByte = ConstU128<0>;
	type MinRequestPrice = ConstU128<0>;
	type WeightInfo = ();
}

parameter_types! {
	pub Treasury: AccountId = account("treasury");
}

impl Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Staking = Staking;
	type Records = KmsPolicies;
	type OnPenalty = ResolveTo<Treasury, Balances>;
	type OffchainSignature = MultiSignature;
	type SigningPublicKey = MultiSigner;
	type ChallengeDeposit = ConstU128<DEPOSIT>;
	type BasePenalty = ConstU128<BASE>;
	type PenaltyHistoryCoefficient = ConstU128<HISTORY>;
	type PercentagePenaltyCoefficient = ConstU32<8>;
	type RewardCoefficient = ConstU32<2>;
	type WeightInfo = ();
}

/// The Umbral secret of a test node.
pub fn node_secret(name: &str) -> SecretKey {
	kms_primitives::staking::dev::umbral_secret(name)
}

fn chain_key(key: &umbral_pre::PublicKey) -> UmbralPublicKey {
	UmbralPublicKey::try_from(&key.to_compressed_bytes()[..]).expect("33 bytes")
}

pub const FUNDED: [&str; 5] = ["alice", "bob", "carol", "n1", "n2"];
pub const FUNDS: Balance = 1_000_000;
/// The policy of the tests: Alice to Bob, 2 of n1 and n2 (with a threshold of 1 every kfrag
/// would carry the same re-encryption key).
pub const POLICY: PolicyId = [1; 16];

/// Alice's and Bob's keys, and the kfrags of the policy (n1's, n2's).
pub struct World {
	pub delegating: SecretKey,
	pub signer: Signer,
	pub receiving: SecretKey,
	pub kfrags: Vec<VerifiedKeyFrag>,
}

impl World {
	pub fn capsule(&self) -> Capsule {
		umbral_pre::encrypt(&self.delegating.public_key(), b"the secret")
			.expect("encrypts")
			.0
	}

	/// `node`'s honest cfrag of `capsule`.
	pub fn cfrag(&self, node: usize, capsule: &Capsule) -> Vec<u8> {
		umbral_pre::reencrypt(capsule, self.kfrags[node].clone())
			.unverify()
			.to_bytes()
			.expect("ok")
			.to_vec()
	}

	/// The policy's kfrags sealed to n1 and n2.
	pub fn grants(&self) -> BoundedVec<NodeGrant<AccountId>, ConstU32<4>> {
		["n1", "n2"]
			.iter()
			.zip(&self.kfrags)
			.map(|(node, kfrag)| {
				let bytes = kfrag.clone().unverify().to_bytes().expect("ok");
				let (capsule, ciphertext) =
					umbral_pre::encrypt(&node_secret(node).public_key(), &bytes).expect("ok");
				NodeGrant {
					node: account(node),
					key_version: 0,
					kfrag: EncryptedKFrag {
						capsule: capsule.to_bytes().expect("ok").to_vec().try_into().expect("105"),
						ciphertext: ciphertext.to_vec().try_into().expect("350"),
					},
				}
			})
			.collect::<Vec<_>>()
			.try_into()
			.expect("two")
	}

	/// n1 and n2 accept the policy's current version, as their workers would.
	pub fn accept(&self) {
		use frame_support::traits::Authorize;
		let policy = pallet_kms_policies::Policies::<Test>::get(POLICY).expect("policy");
		for node in ["n1", "n2"] {
			let operator = format!("{node}-op");
			let envelope =
				pallet_kms_policies::KFrags::<Test>::get(POLICY, account(node)).expect("kfrag");
			let decision = pallet_kms_policies::PolicyDecision {
				policy: POLICY,
				version: policy.version,
				node: account(node),
				content: grant_content_hash(&policy.keys(), &envelope),
				decision: Decision::Accept,
				sent_at: System::block_number(),
				public: MultiSigner::from(pallet_kms_staking::testing::pair(&operator).public()),
			};
			let signature =
				sign(&operator, &pallet_kms_policies::decision_payload::<Test>(&decision));
			let call = pallet_kms_policies::Call::<Test>::decide_on_policy {
				decision: decision.clone(),
				signature: signature.clone(),
			};
			assert!(call.authorize(TransactionSource::External).expect("authorizes").is_ok());
			assert_ok!(KmsPolicies::decide_on_policy(
				frame_system::RawOrigin::Authorized.into(),
				decision,
				signature
			));
		}
	}

	/// A new span: the owner rotates to a new version with the same kfrags (sealed anew) and
	/// both nodes accept it. Earlier evidence stays in the spans it was made in.
	pub fn next_span(&self) {
		assert_ok!(KmsPolicies::rotate_policy(
			RuntimeOrigin::signed(account("alice")),
			POLICY,
			chain_key(&self.receiving.public_key()),
			2,
			self.grants(),
		));
		self.accept();
	}

	/// The current span of the policy.
	pub fn span(&self) -> OffenceSpan {
		let version = pallet_kms_policies::Policies::<Test>::get(POLICY).expect("policy").version;
		OffenceSpan { policy: POLICY, version }
	}
}

pub fn new_test_ext(stakes: [Balance; 2], test: impl FnOnce(&World)) {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: FUNDED.iter().map(|name| (account(name), FUNDS)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	pallet_kms_staking::GenesisConfig::<Test> {
		stakers: ["n1", "n2"]
			.iter()
			.zip(stakes)
			.map(|(name, stake)| {
				let key = node_secret(name).public_key().to_compressed_bytes().to_vec();
				(account(name), account(&format!("{name}-op")), key, stake, 50)
			})
			.collect(),
		endpoints: vec![],
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.register_extension(sp_keystore::KeystoreExt::new(
		sp_keystore::testing::MemoryKeystore::new(),
	));
	ext.execute_with(|| {
		System::set_block_number(1);
		for node in ["n1", "n2"] {
			assert_ok!(pallet_kms_staking::testing::heartbeat::<Test>(node));
		}
		let world = World {
			delegating: SecretKey::random(),
			signer: Signer::new(SecretKey::random()),
			receiving: SecretKey::random(),
			kfrags: Vec::new(),
		};
		let kfrags = umbral_pre::generate_kfrags(
			&world.delegating,
			&world.receiving.public_key(),
			&world.signer,
			2,
			2,
			true,
			true,
		)
		.to_vec();
		let world = World { kfrags, ..world };
		let keys = kms_primitives::policies::PolicyKeys {
			verifying: chain_key(&world.signer.verifying_key()),
			delegating: chain_key(&world.delegating.public_key()),
			receiving: chain_key(&world.receiving.public_key()),
		};
		let grants = world.grants();
		let terms = kms_primitives::policies::GrantTerms {
			owner: &account("alice"),
			id: POLICY,
			keys,
			threshold: 2,
			end: 100,
			conditions: &Default::default(),
			grants: &grants,
		};
		let signature = kms_primitives::staking::UmbralSignature::of(
			&world.signer.sign(&pallet_kms_policies::grant_payload::<Test>(&terms)),
		);
		assert_ok!(KmsPolicies::create_policy(
			RuntimeOrigin::signed(account("alice")),
			POLICY,
			Default::default(),
			keys.delegating,
			keys.verifying,
			keys.receiving,
			2,
			grants,
			100,
			1,
			Default::default(),
			signature,
		));
		world.accept();
		test(&world);
		crate::Pallet::<Test>::do_try_state().expect("adjudicator invariants hold");
		pallet_kms_policies::Pallet::<Test>::do_try_state().expect("policies invariants hold");
		pallet_kms_staking::Pallet::<Test>::do_try_state().expect("staking invariants hold");
	});
}

/// Bob requests re-encryption of `capsule`; `node` answers with `cfrag` (whatever it is).
/// Returns the request.
pub fn stored_answer(node: &str, capsule: &Capsule, cfrag: Vec<u8>) -> RequestId {
	let request = pallet_kms_policies::NextRequestId::<Test>::get();
	assert_ok!(KmsPolicies::request_reencryption(
		RuntimeOrigin::signed(account("bob")),
		POLICY,
		vec![capsule.to_bytes().expect("ok").to_vec().try_into().expect("105")]
			.try_into()
			.expect("one"),
		Balance::MAX,
	));
	let cfrag: CapsuleFragBytes = cfrag.try_into().expect("381 bytes");
	let hash = KmsPolicies::answer_hash(request).expect("made");
	assert_ok!(KmsPolicies::submit_cfrags(
		RuntimeOrigin::signed(account(&format!("{node}-op"))),
		request,
		hash,
		BoundedVec::try_from(vec![cfrag]).expect("one"),
	));
	request
}

/// The adjudicator's events since the previous call of this function (exactly what the steps
/// in between caused).
pub fn new_events() -> Vec<crate::Event<Test>> {
	pallet_kms_staking::testing::events_since_last_call::<Test, crate::Event<Test>>()
}

/// The adjudicator's events so far.
pub fn events() -> Vec<crate::Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::Adjudicator(event) => Some(event),
			_ => None,
		})
		.collect()
}

/// Funded accounts and an empty keystore, for the benchmarks (which set up the rest).
#[cfg(feature = "runtime-benchmarks")]
pub fn new_bench_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: FUNDED.iter().map(|name| (account(name), FUNDS)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.register_extension(sp_keystore::KeystoreExt::new(
		sp_keystore::testing::MemoryKeystore::new(),
	));
	ext.execute_with(|| System::set_block_number(1));
	ext
}
