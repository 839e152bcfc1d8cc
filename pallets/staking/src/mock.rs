//! A test runtime: System, Balances and Staking, with real sr25519 operator keys.

use crate::{self as pallet_kms_staking, Config};
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU128, ConstU32, ConstU64},
};
use kms_primitives::staking::{Period, UmbralPublicKey};
use sp_runtime::{
	traits::{BlakeTwo256, IdentityLookup},
	AccountId32, BuildStorage,
};

pub use crate::testing::{account, pair, sign};

pub type AccountId = AccountId32;
pub type Balance = u128;
type Block = sp_runtime::generic::Block<sp_runtime::generic::Header<u64, BlakeTwo256>, Extrinsic>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Staking: pallet_kms_staking,
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

crate::impl_test_transactions!(Test);

pub const ED: Balance = 10;
pub const MIN_STAKE: Balance = 1_000;
pub const PERIOD: u64 = 10;
pub const MIN_LOCK: Period = 2;
pub const MAX_LOCK: Period = 50;
pub const UNBONDING: Period = 3;
pub const MAX_CHUNKS: u32 = 3;
pub const MAX_KEYS: u32 = 3;
pub const MAX_NODES: u32 = 4;
pub const HISTORY: Period = 6;

parameter_types! {
	/// Nodes and key versions the fake policy side says are in use.
	pub static BusyNodes: Vec<AccountId> = vec![];
	pub static BusyKeys: Vec<(AccountId, u32)> = vec![];
}

/// A stand-in for the Policies pallet: answers from [`BusyNodes`] and [`BusyKeys`].
pub struct TestPolicies;
impl kms_primitives::staking::PolicyRegistry<AccountId> for TestPolicies {
	fn has_active_policies(node: &AccountId) -> bool {
		BusyNodes::get().contains(node)
	}
	fn uses_key(node: &AccountId, version: u32) -> bool {
		BusyKeys::get().contains(&(node.clone(), version))
	}
}

#[derive_impl(crate::config_preludes::TestDefaultConfig)]
impl Config for Test {
	type Currency = Balances;
	type OperatorCrypto = crate::OperatorAuthId;
	type Policies = TestPolicies;
	type PeriodLength = ConstU64<PERIOD>;
	type MinStake = ConstU128<MIN_STAKE>;
	type MinLockPeriods = ConstU32<MIN_LOCK>;
	type MaxLockPeriods = ConstU32<MAX_LOCK>;
	type UnbondingPeriods = ConstU32<UNBONDING>;
	type MaxUnlockingChunks = ConstU32<MAX_CHUNKS>;
	type MaxKeyHistory = ConstU32<MAX_KEYS>;
	type MaxNodes = ConstU32<MAX_NODES>;
	type HistoryDepth = ConstU32<HISTORY>;
}

/// A fresh, valid Umbral public key (a real umbral-pre key).
pub fn umbral_key() -> UmbralPublicKey {
	let sk = umbral_pre::SecretKey::random();
	UmbralPublicKey::try_from(&sk.public_key().to_compressed_bytes()[..]).expect("33 bytes")
}

/// Accounts funded at genesis, each with `FUNDS`.
pub const FUNDED: [&str; 8] =
	["alice", "bob", "charlie", "dave", "eve", "ferdie", "alice-op", "bob-op"];
pub const FUNDS: Balance = 1_000_000;

#[derive(Default)]
pub struct ExtBuilder {
	stakers: Vec<(AccountId, AccountId, Vec<u8>, Balance, Period)>,
	endpoints: Vec<(AccountId, Vec<u8>)>,
}

impl ExtBuilder {
	/// A staker with a node at genesis.
	pub fn with_node(mut self, staker: &str, operator: &str, stake: Balance, lock: Period) -> Self {
		self.stakers.push((
			account(staker),
			account(operator),
			crate::testing::identity_key(staker).as_bytes().to_vec(),
			stake,
			lock,
		));
		self
	}

	/// A genesis endpoint for `staker`'s node.
	pub fn with_endpoint(mut self, staker: &str, url: &str) -> Self {
		self.endpoints.push((account(staker), url.as_bytes().to_vec()));
		self
	}

	pub fn build(self) -> sp_io::TestExternalities {
		let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
		pallet_balances::GenesisConfig::<Test> {
			balances: FUNDED.iter().map(|name| (account(name), FUNDS)).collect(),
			..Default::default()
		}
		.assimilate_storage(&mut storage)
		.unwrap();
		pallet_kms_staking::GenesisConfig::<Test> {
			stakers: self.stakers,
			endpoints: self.endpoints,
		}
		.assimilate_storage(&mut storage)
		.unwrap();
		let mut ext = sp_io::TestExternalities::new(storage);
		// An empty keystore, as the benchmarks generate and use operator keys.
		ext.register_extension(sp_keystore::KeystoreExt::new(
			sp_keystore::testing::MemoryKeystore::new(),
		));
		ext.execute_with(|| System::set_block_number(1));
		ext
	}

	/// Builds, runs `test`, then checks the pallet's invariants.
	pub fn build_and_execute(self, test: impl FnOnce()) {
		self.build().execute_with(|| {
			test();
			Staking::do_try_state().expect("invariants hold");
		});
	}
}

/// Moves to the first block of `period`.
pub fn run_to_period(period: Period) {
	System::set_block_number(period as u64 * PERIOD);
}

/// The pallet's events since the previous call of this function.
pub fn new_staking_events() -> Vec<crate::Event<Test>> {
	crate::testing::events_since_last_call::<Test, crate::Event<Test>>()
}

/// The pallet's events so far.
pub fn staking_events() -> Vec<crate::Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::Staking(event) => Some(event),
			_ => None,
		})
		.collect()
}
