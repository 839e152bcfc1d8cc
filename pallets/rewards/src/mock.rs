//! A test runtime: System, Balances, the real Staking pallet (reporting service to Rewards)
//! and Rewards, with small parameters whose figures can be worked out by hand.

use crate::{self as pallet_kms_rewards, Config};
use frame_support::{
	assert_ok, derive_impl, parameter_types,
	traits::{ConstU128, ConstU32, ConstU64, Hooks},
	weights::Weight,
};
use kms_primitives::staking::{dev, Period};
use sp_runtime::{
	traits::{BlakeTwo256, IdentityLookup},
	AccountId32, BuildStorage,
};

pub use pallet_kms_staking::testing::account;

pub type AccountId = AccountId32;
pub type Balance = u128;
type Block = sp_runtime::generic::Block<sp_runtime::generic::Header<u64, BlakeTwo256>, Extrinsic>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Staking: pallet_kms_staking,
		Rewards: pallet_kms_rewards,
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
	type ExistentialDeposit = ConstU128<1>;
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

pallet_kms_staking::impl_test_transactions!(Test);

pub const PERIOD: u64 = 10;
/// Every funded account's balance; four of them make the initial supply.
pub const FUNDS: Balance = 1_000_000;
pub const FUNDED: [&str; 4] = ["alice", "bob", "charlie", "dave"];
pub const INITIAL_SUPPLY: Balance = 4 * FUNDS;
/// `Imax`, continuous with phase 2 at the switch: `(MaxSupply − PhaseOneCap) / d`.
pub const IMAX: Balance = 6_000;
pub const PHASE_ONE_CAP: Balance = INITIAL_SUPPLY + 12_000;
pub const D: u32 = 10;
pub const K1: u32 = 2;
pub const KMAX: u32 = 4;
pub const K2: u32 = 6;
pub const CLAIM_HISTORY: Period = 6;
pub const MAX_CLAIM: u32 = 4;

parameter_types! {
	pub static MaxSupply: Balance = PHASE_ONE_CAP + IMAX * D as Balance;
}

/// No policy holds a node here.
pub struct NoPolicies;
impl kms_primitives::staking::PolicyRegistry<AccountId> for NoPolicies {
	fn has_active_policies(_: &AccountId) -> bool {
		false
	}
	fn uses_key(_: &AccountId, _: u32) -> bool {
		false
	}
}

#[derive_impl(pallet_kms_staking::config_preludes::TestDefaultConfig)]
impl pallet_kms_staking::Config for Test {
	type Currency = Balances;
	type OperatorCrypto = pallet_kms_staking::OperatorAuthId;
	type Policies = NoPolicies;
	type ServiceObserver = Rewards;
	type PeriodLength = ConstU64<PERIOD>;
	type HistoryDepth = ConstU32<84>;
}

impl Config for Test {
	type Currency = Balances;
	type Staking = Staking;
	type MaxPeriodIssuance = ConstU128<IMAX>;
	type PhaseOneCap = ConstU128<PHASE_ONE_CAP>;
	type MaxSupply = MaxSupply;
	type LockBase = ConstU32<K1>;
	type LockSaturation = ConstU32<KMAX>;
	type LockDivisor = ConstU32<K2>;
	type DecayPeriods = ConstU32<D>;
	type ClaimHistory = ConstU32<CLAIM_HISTORY>;
	type MaxClaimPeriods = ConstU32<MAX_CLAIM>;
	type WeightInfo = ();
}

#[derive(Default)]
pub struct ExtBuilder {
	stakers: Vec<(&'static str, Balance, Period)>,
}

impl ExtBuilder {
	/// A staker with a node (operator `<name>-op`) at genesis.
	pub fn with_staker(mut self, name: &'static str, stake: Balance, lock: Period) -> Self {
		self.stakers.push((name, stake, lock));
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
			stakers: self
				.stakers
				.iter()
				.map(|(name, stake, lock)| {
					let key = dev::umbral_public_key(&format!("//{name}"));
					(account(name), account(&format!("{name}-op")), key.0.to_vec(), *stake, *lock)
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
		ext.execute_with(|| System::set_block_number(1));
		ext
	}

	/// Builds, runs `test`, then checks the invariants of Rewards and Staking.
	pub fn build_and_execute(self, test: impl FnOnce()) {
		self.build().execute_with(|| {
			test();
			Rewards::do_try_state().expect("rewards invariants hold");
			Staking::do_try_state().expect("staking invariants hold");
		});
	}
}

/// `node`'s heartbeat for the current period, signed by its operator.
pub fn heartbeat(node: &str) {
	assert_ok!(pallet_kms_staking::testing::heartbeat::<Test>(node));
}

/// Runs block by block (Rewards' hooks included) to the first block of `period`; on the
/// way, `serving` nodes heartbeat at the start of each period.
pub fn run_to_period(period: Period, serving: &[&str]) {
	while Staking::current_period() < period {
		let next = System::block_number() + 1;
		Rewards::on_idle(System::block_number(), Weight::MAX);
		System::set_block_number(next);
		Rewards::on_initialize(next);
		if next.is_multiple_of(PERIOD) {
			for node in serving {
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
			RuntimeEvent::Rewards(event) => Some(event),
			_ => None,
		})
		.collect()
}
