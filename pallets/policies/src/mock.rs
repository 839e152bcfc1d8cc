//! A test runtime: System, Balances, the real Staking pallet and Policies, with real sr25519
//! operator keys and real umbral-pre objects.

use crate::{self as pallet_kms_policies, Config};
use frame_support::{
	assert_ok, derive_impl,
	traits::{ConstU128, ConstU32, ConstU64, Hooks},
	BoundedVec,
};
use kms_primitives::{
	policies::{
		grant_content_hash, CapsuleBytes, CapsuleFragBytes, Decision, EncryptedKFrag, GrantTerms,
		NodeGrant, PolicyId, PolicyKeys,
	},
	staking::{Period, UmbralPublicKey, UmbralSignature},
};
use sp_core::Pair;
use sp_runtime::{
	traits::{BlakeTwo256, IdentityLookup},
	AccountId32, BuildStorage,
};
use umbral_pre::{DefaultSerialize, SecretKey, Signer};

pub use pallet_kms_staking::testing::{account, pair, sign};

pub type AccountId = AccountId32;
pub type Balance = u128;
type Block = sp_runtime::generic::Block<sp_runtime::generic::Header<u64, BlakeTwo256>, Extrinsic>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Staking: pallet_kms_staking,
		KmsPolicies: pallet_kms_policies,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type AccountId = AccountId;
	type Lookup = IdentityLookup<AccountId>;
	type AccountData = pallet_balances::AccountData<Balance>;
	type Block = Block;
	type DbWeight = frame_support::weights::constants::RocksDbWeight;
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
pub const MIN_STAKE: Balance = 1_000;
pub const PERIOD: u64 = 10;
pub const MAX_NODES: u32 = 4;
pub const HISTORY: Period = 6;
pub const MIN_RATE: Balance = 10;
pub const MAX_RATE: Balance = 1_000;
pub const WINDOW: u64 = 3;
pub const RETENTION: u64 = 20;
pub const MAX_CAPSULES: u32 = 3;
pub const MAX_CONDITIONS: u32 = 8;
pub const MAX_DEPTH: u32 = 3;
pub const MAX_REQUESTS: u32 = 4;

frame_support::parameter_types! {
	/// Requests per block: few, unless a test loads blocks as the runtime admits.
	pub static MaxRequestsPerBlock: u32 = MAX_REQUESTS;
	/// Per-requester and per-policy shares of a block: the whole block unless a test lowers
	/// them.
	pub static MaxRequestsPerRequester: u32 = MAX_REQUESTS;
	pub static MaxRequestsPerPolicy: u32 = MAX_REQUESTS;
	/// No request or policy deposit unless a test sets one: the other tests count balances
	/// exactly.
	pub static DepositPerByte: Balance = 0;
	/// No request price unless a test sets one, likewise.
	pub static MinRequestPrice: Balance = 0;
}
pub const MAX_CLAIM: u32 = 10;

#[derive_impl(pallet_kms_staking::config_preludes::TestDefaultConfig)]
impl pallet_kms_staking::Config for Test {
	type Currency = Balances;
	type OperatorCrypto = pallet_kms_staking::OperatorAuthId;
	type Policies = KmsPolicies;
	type PeriodLength = ConstU64<PERIOD>;
	type MinStake = ConstU128<MIN_STAKE>;
	type MaxNodes = ConstU32<32>;
	type HistoryDepth = ConstU32<HISTORY>;
}

impl Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Staking = Staking;
	type OperatorCrypto = pallet_kms_staking::OperatorAuthId;
	type MaxNodes = ConstU32<MAX_NODES>;
	type MaxLabelLen = ConstU32<32>;
	type MaxConditionNodes = ConstU32<MAX_CONDITIONS>;
	type MaxConditionDepth = ConstU32<MAX_DEPTH>;
	type MaxCapsules = ConstU32<MAX_CAPSULES>;
	type MaxRequestsPerBlock = MaxRequestsPerBlock;
	type MaxRequestsPerRequester = MaxRequestsPerRequester;
	type MaxRequestsPerPolicy = MaxRequestsPerPolicy;
	type MinFeeRate = ConstU128<MIN_RATE>;
	type MaxFeeRate = ConstU128<MAX_RATE>;
	type ResponseWindow = ConstU64<WINDOW>;
	type RetentionPeriod = ConstU64<RETENTION>;
	type MaxClaimPeriods = ConstU32<MAX_CLAIM>;
	type ResponsePriority = ConstU64<{ 1 << 40 }>;
	type DepositPerByte = DepositPerByte;
	type MinRequestPrice = MinRequestPrice;
	type WeightInfo = ();
}

/// The Umbral secret of a test node: derived from its name, as dev nodes do.
pub fn node_secret(name: &str) -> SecretKey {
	kms_primitives::staking::dev::umbral_secret(name)
}

/// An Umbral public key in the chain's form.
pub fn chain_key(key: &umbral_pre::PublicKey) -> UmbralPublicKey {
	UmbralPublicKey::try_from(&key.to_compressed_bytes()[..]).expect("33 bytes")
}

/// Accounts funded at genesis, each with `FUNDS`.
pub const FUNDED: [&str; 7] = ["alice", "bob", "carol", "n1", "n2", "n3", "n4"];
pub const FUNDS: Balance = 1_000_000;
/// The nodes of the tests, in order; `<name>-op` operates `<name>`.
pub const NODES: [&str; 4] = ["n1", "n2", "n3", "n4"];
/// Each test node's stake: n1 1_000, n2 2_000, …
pub fn stake_of(index: usize) -> Balance {
	MIN_STAKE * (index as Balance + 1)
}
/// Each test node's lock, in periods.
pub const LOCK: Period = 50;

pub struct ExtBuilder;

impl ExtBuilder {
	pub fn build() -> sp_io::TestExternalities {
		let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
		pallet_balances::GenesisConfig::<Test> {
			balances: FUNDED.iter().map(|name| (account(name), FUNDS)).collect(),
			..Default::default()
		}
		.assimilate_storage(&mut storage)
		.unwrap();
		pallet_kms_staking::GenesisConfig::<Test> {
			stakers: NODES
				.iter()
				.enumerate()
				.map(|(i, name)| {
					let key = node_secret(name).public_key().to_compressed_bytes().to_vec();
					(account(name), account(&format!("{name}-op")), key, stake_of(i), LOCK)
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
			serve_all();
		});
		ext
	}

	/// Builds, runs `test`, then checks both pallets' invariants.
	pub fn build_and_execute(test: impl FnOnce()) {
		Self::build().execute_with(|| {
			test();
			KmsPolicies::do_try_state().expect("policies invariants hold");
			Staking::do_try_state().expect("staking invariants hold");
		});
	}
}

/// Sends `node`'s heartbeat for the current period as the pool and block builder would.
pub fn heartbeat(node: &str) {
	assert_ok!(pallet_kms_staking::testing::heartbeat::<Test>(node));
}

/// Every test node heartbeats in the current period (if it has not yet).
pub fn serve_all() {
	for node in NODES {
		if !pallet_kms_staking::Service::<Test>::get(Staking::current_period(), account(node))
			.heartbeat
		{
			heartbeat(node);
		}
	}
}

/// Runs blocks up to `n`, with the hooks of every pallet.
pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		KmsPolicies::on_idle(System::block_number(), frame_support::weights::Weight::MAX);
		System::set_block_number(next);
		KmsPolicies::on_initialize(next);
	}
}

/// Runs to the first block of `period`, every node heartbeating in each period on the way
/// unless listed in `silent`.
pub fn run_to_period(period: Period, silent: &[&str]) {
	while Staking::current_period() < period {
		let next = (Staking::current_period() as u64 + 1) * PERIOD;
		run_to_block(next);
		for node in NODES {
			if !silent.contains(&node) {
				heartbeat(node);
			}
		}
	}
}

/// The pallet's events since the previous call of this function (exactly what the steps in
/// between caused).
pub fn new_events() -> Vec<crate::Event<Test>> {
	pallet_kms_staking::testing::events_since_last_call::<Test, crate::Event<Test>>()
}

/// The pallet's events so far.
pub fn events() -> Vec<crate::Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::KmsPolicies(event) => Some(event),
			_ => None,
		})
		.collect()
}

/// Alice's keys and a policy's cryptographic material, all real umbral-pre objects.
pub struct Grant {
	pub delegating: SecretKey,
	pub signer: Signer,
	pub receiving: SecretKey,
}

impl Grant {
	pub fn new() -> Self {
		Self {
			delegating: SecretKey::random(),
			signer: Signer::new(SecretKey::random()),
			receiving: SecretKey::random(),
		}
	}

	/// The three keys in the chain's form: delegating, verifying, receiving.
	pub fn keys(&self) -> [UmbralPublicKey; 3] {
		[
			chain_key(&self.delegating.public_key()),
			chain_key(&self.signer.verifying_key()),
			chain_key(&self.receiving.public_key()),
		]
	}

	/// `threshold`-of-`nodes.len()` kfrags, each encrypted to its node's key (version 0).
	pub fn grants(
		&self,
		threshold: u8,
		nodes: &[&str],
	) -> BoundedVec<NodeGrant<AccountId>, ConstU32<MAX_NODES>> {
		let kfrags = umbral_pre::generate_kfrags(
			&self.delegating,
			&self.receiving.public_key(),
			&self.signer,
			threshold as usize,
			nodes.len(),
			true,
			true,
		);
		nodes
			.iter()
			.zip(kfrags.iter())
			.map(|(node, kfrag)| NodeGrant {
				node: account(node),
				key_version: 0,
				kfrag: encrypt_kfrag(&node_secret(node).public_key(), &kfrag.clone().unverify()),
			})
			.collect::<Vec<_>>()
			.try_into()
			.expect("at most MAX_NODES")
	}

	/// The owner's signature over a policy's terms under these keys, as its client makes it.
	pub fn sign(
		&self,
		owner: &str,
		id: PolicyId,
		threshold: u32,
		end: u64,
		conditions: &crate::ConditionsOf<Test>,
		grants: &crate::GrantsOf<Test>,
	) -> UmbralSignature {
		let [delegating, verifying, receiving] = self.keys();
		let terms = GrantTerms {
			owner: &account(owner),
			id,
			keys: PolicyKeys { verifying, delegating, receiving },
			threshold,
			end,
			conditions,
			grants,
		};
		UmbralSignature::of(&self.signer.sign(&crate::grant_payload::<Test>(&terms)))
	}

	/// A capsule of `plaintext` encrypted to the delegating key, and the ciphertext.
	pub fn encrypt(&self, plaintext: &[u8]) -> (umbral_pre::Capsule, Box<[u8]>) {
		umbral_pre::encrypt(&self.delegating.public_key(), plaintext).expect("encrypts")
	}
}

/// A kfrag in the chain's envelope, encrypted to `node_key`.
pub fn encrypt_kfrag(
	node_key: &umbral_pre::PublicKey,
	kfrag: &umbral_pre::KeyFrag,
) -> EncryptedKFrag {
	let bytes = kfrag.to_bytes().expect("serializes");
	let (capsule, ciphertext) = umbral_pre::encrypt(node_key, &bytes).expect("encrypts");
	EncryptedKFrag {
		capsule: capsule.to_bytes().expect("serializes").to_vec().try_into().expect("105 bytes"),
		ciphertext: ciphertext.to_vec().try_into().expect("350 bytes"),
	}
}

/// A capsule in the chain's form.
pub fn capsule_bytes(capsule: &umbral_pre::Capsule) -> CapsuleBytes {
	capsule.to_bytes().expect("serializes").to_vec().try_into().expect("105 bytes")
}

/// What a node does: decrypt its kfrag from the chain, verify it, re-encrypt the request's
/// capsules.
pub fn reencrypt_as(
	node: &str,
	policy: PolicyId,
	request: u64,
) -> BoundedVec<CapsuleFragBytes, ConstU32<MAX_CAPSULES>> {
	let stored = crate::KFrags::<Test>::get(policy, account(node)).expect("kfrag on chain");
	let record = crate::Policies::<Test>::get(policy).expect("policy");
	let capsule = kms_primitives::wire::decode_capsule(&stored.capsule).expect("capsule");
	let plain = umbral_pre::decrypt_original(&node_secret(node), &capsule, &stored.ciphertext)
		.expect("the node's key opens its kfrag");
	let kfrag = kms_primitives::wire::decode_key_frag(&plain).expect("kfrag");
	let key = |k: &UmbralPublicKey| {
		umbral_pre::PublicKey::try_from_compressed_bytes(k.as_bytes()).expect("key")
	};
	let verified = kfrag
		.verify(
			&key(&record.verifying_key),
			Some(&key(&record.delegating_key)),
			Some(&key(&record.receiving_key)),
		)
		.expect("kfrag verifies");
	let request = crate::Requests::<Test>::get(request).expect("request");
	request
		.capsules
		.iter()
		.map(|bytes| {
			let capsule = kms_primitives::wire::decode_capsule(bytes).expect("capsule");
			let cfrag = umbral_pre::reencrypt(&capsule, verified.clone()).unverify();
			cfrag.to_bytes().expect("serializes").to_vec().try_into().expect("381 bytes")
		})
		.collect::<Vec<_>>()
		.try_into()
		.expect("at most MAX_CAPSULES")
}

/// `node`'s decision on the current version of `policy`, signed by its operator `<node>-op`
/// over exactly what the chain holds for it, as its worker would make it.
pub fn decision_of(
	node: &str,
	policy: PolicyId,
	decision: Decision,
) -> crate::PolicyDecisionOf<Test> {
	let record = crate::Policies::<Test>::get(policy).expect("policy");
	let envelope = crate::KFrags::<Test>::get(policy, account(node)).expect("kfrag on chain");
	crate::PolicyDecision {
		policy,
		version: record.version,
		node: account(node),
		content: grant_content_hash(&record.keys(), &envelope),
		decision,
		sent_at: frame_system::Pallet::<Test>::block_number(),
		public: sp_runtime::MultiSigner::from(pair(&format!("{node}-op")).public()),
	}
}

/// Sends `decision` as the pool and block builder would: authorized (signature checked),
/// then dispatched with the authorized origin; returns the dispatch's result (the specific
/// error, for what the pool refuses too).
pub fn send_decision(
	decision: crate::PolicyDecisionOf<Test>,
) -> frame_support::dispatch::DispatchResult {
	use frame_support::traits::Authorize;
	let node = decision.node.clone();
	let operator = ["n1", "n2", "n3", "n4"]
		.into_iter()
		.find(|name| account(name) == node)
		.map(|name| format!("{name}-op"))
		.unwrap_or_else(|| "nobody".into());
	let signature = sign(&operator, &crate::decision_payload::<Test>(&decision));
	let call = crate::Call::<Test>::decide_on_policy {
		decision: decision.clone(),
		signature: signature.clone(),
	};
	let pool = call
		.authorize(sp_runtime::transaction_validity::TransactionSource::External)
		.expect("decisions have authorize logic");
	let dispatched = KmsPolicies::decide_on_policy(
		frame_system::RawOrigin::Authorized.into(),
		decision,
		signature,
	);
	// What the pool refuses never reaches a block; it must fail in a block all the same.
	assert!(pool.is_ok() || dispatched.is_err(), "the pool refused a decision the block takes");
	dispatched
}

/// Every pending node of `policy` accepts its current version.
pub fn accept_all(policy: PolicyId) {
	let record = crate::Policies::<Test>::get(policy).expect("policy");
	for entry in record.nodes.iter().filter(|entry| entry.accepted.is_none()) {
		let name = NODES.into_iter().find(|name| account(name) == entry.node).expect("a test node");
		assert_ok!(send_decision(decision_of(name, policy, Decision::Accept)));
	}
}
