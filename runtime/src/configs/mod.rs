//! Configuration of every pallet in the runtime. Constants a pallet's users depend on are
//! documented where they are set.

use frame_support::{
	derive_impl,
	dispatch::DispatchClass,
	parameter_types,
	traits::{ConstBool, ConstU128, ConstU32, ConstU64, ConstU8, VariantCountOf},
	weights::{
		constants::{RocksDbWeight, WEIGHT_REF_TIME_PER_SECOND},
		IdentityFee, Weight,
	},
};
use frame_system::limits::{BlockLength, BlockWeights};
use pallet_transaction_payment::{FungibleAdapter, Multiplier, TargetedFeeAdjustment};
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_runtime::{
	generic::Era,
	traits::{Bounded, One, Verify},
	transaction_validity::TransactionPriority,
	Perbill, Perquintill,
};
use sp_version::RuntimeVersion;

use super::{
	AccountId, Aura, Balance, Balances, Block, BlockNumber, Hash, Nonce, PalletInfo, Policies,
	Rewards, Runtime, RuntimeCall, RuntimeEvent, RuntimeFreezeReason, RuntimeHoldReason,
	RuntimeOrigin, RuntimeTask, Signature, Staking, System, TxExtension, UncheckedExtrinsic,
	MICRO_UNIT, MILLI_UNIT, SLOT_DURATION, UNIT, VERSION,
};

/// The share of a block that ordinary (non-operational) extrinsics may fill.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

/// The smallest balance an account may hold; below it the account is reaped.
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;

/// The most authorities Aura and GRANDPA accept.
pub const MAX_AUTHORITIES: u32 = 32;

parameter_types! {
	/// How many recent block hashes the runtime keeps (mortal transactions refer to them).
	pub const BlockHashCount: BlockNumber = 2400;
	/// The runtime's identity ([`VERSION`]).
	pub const Version: RuntimeVersion = VERSION;
	/// Two seconds of compute per block, whatever the block time.
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
		Weight::from_parts(2u64 * WEIGHT_REF_TIME_PER_SECOND, u64::MAX),
		NORMAL_DISPATCH_RATIO,
	);
	/// At most 5 MiB per block.
	pub RuntimeBlockLength: BlockLength = BlockLength::builder()
		.max_length(5 * 1024 * 1024)
		.modify_max_length_for_class(DispatchClass::Normal, |max| {
			*max = NORMAL_DISPATCH_RATIO * *max
		})
		.build();
	/// The generic Substrate SS58 prefix, so that every wallet shows our addresses as it shows
	/// any development chain's.
	pub const SS58Prefix: u8 = 42;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	type DbWeight = RocksDbWeight;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = ConstU32<16>;
}

impl pallet_aura::Config for Runtime {
	type AuthorityId = AuraId;
	type DisabledValidators = ();
	type MaxAuthorities = ConstU32<MAX_AUTHORITIES>;
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<MAX_AUTHORITIES>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	// No session pallet: equivocations are not reportable on this chain yet.
	type KeyOwnerProof = sp_core::Void;
	type EquivocationReportSystem = ();
}

impl pallet_timestamp::Config for Runtime {
	/// Milliseconds since the Unix epoch.
	type Moment = u64;
	type OnTimestampSet = Aura;
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = ();
}

impl pallet_balances::Config for Runtime {
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ();
	type ReserveIdentifier = [u8; 8];
	type Balance = Balance;
	type RuntimeEvent = RuntimeEvent;
	type DustRemoval = ();
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type DoneSlashHandler = ();
}

parameter_types! {
	/// Fees follow congestion as on Polkadot's relay chain (`TargetedFeeAdjustment`): the
	/// multiplier rises while normal-class blocks are more than a quarter full and falls back
	/// toward its floor when they are less, never below one planck per unit of weight and byte.
	pub const TargetBlockFullness: Perquintill = Perquintill::from_percent(25);
	/// How fast: about 0.0075 % per 1 % of fullness away from the target, per block.
	pub AdjustmentVariable: Multiplier = Multiplier::from_rational(75, 1_000_000);
	pub MinimumMultiplier: Multiplier = Multiplier::one();
	pub MaximumMultiplier: Multiplier = Bounded::max_value();
}

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, ()>;
	type OperationalFeeMultiplier = ConstU8<5>;
	type WeightToFee = IdentityFee<Balance>;
	type LengthToFee = IdentityFee<Balance>;
	type FeeMultiplierUpdate = TargetedFeeAdjustment<
		Self,
		TargetBlockFullness,
		AdjustmentVariable,
		MinimumMultiplier,
		MaximumMultiplier,
	>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

/// Signing and transaction creation for offchain workers: heartbeats are authorized
/// transactions (free, carrying the operator's signature in the call).
impl frame_system::offchain::SigningTypes for Runtime {
	type Public = <Signature as Verify>::Signer;
	type Signature = Signature;
}

impl<LocalCall> frame_system::offchain::CreateTransactionBase<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	type Extrinsic = UncheckedExtrinsic;
	type RuntimeCall = RuntimeCall;
}

impl<LocalCall> frame_system::offchain::CreateTransaction<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	type Extension = TxExtension;

	fn create_transaction(call: RuntimeCall, extension: TxExtension) -> UncheckedExtrinsic {
		UncheckedExtrinsic::new_transaction(call, extension)
	}
}

impl<LocalCall> frame_system::offchain::CreateAuthorizedTransaction<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	/// The extensions of an authorized transaction: no signer, so no nonce or fee; immortal,
	/// as the call's own authorization bounds its life.
	fn create_extension() -> TxExtension {
		(
			frame_system::AuthorizeCall::<Runtime>::new(),
			frame_system::CheckNonZeroSender::<Runtime>::new(),
			frame_system::CheckSpecVersion::<Runtime>::new(),
			frame_system::CheckTxVersion::<Runtime>::new(),
			frame_system::CheckGenesis::<Runtime>::new(),
			frame_system::CheckEra::<Runtime>::from(Era::Immortal),
			frame_system::CheckNonce::<Runtime>::from(0),
			frame_system::CheckWeight::<Runtime>::new(),
			pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(0),
			frame_metadata_hash_extension::CheckMetadataHash::<Runtime>::new(false),
			frame_system::WeightReclaim::<Runtime>::new(),
		)
	}
}

/// Protocol parameters of the Staking pallet (`PROTOCOL.md`, "Periods and staking").
pub mod staking {
	use super::*;

	/// A period is one day in production; 20 blocks (40 s) in the fast runtime.
	#[cfg(not(feature = "fast-runtime"))]
	pub const PERIOD_LENGTH: BlockNumber = crate::DAYS;
	/// A period is one day in production; 20 blocks (40 s) in the fast runtime.
	#[cfg(feature = "fast-runtime")]
	pub const PERIOD_LENGTH: BlockNumber = 20;

	parameter_types! {
		/// Blocks per period ([`PERIOD_LENGTH`]).
		pub const PeriodLength: BlockNumber = PERIOD_LENGTH;
		/// 10,000 KMS: what a node puts at stake at the least.
		pub const MinStake: Balance = 10_000 * UNIT;
		/// A month of service at the least (two periods in the fast runtime).
		pub const MinLockPeriods: u32 = if cfg!(feature = "fast-runtime") { 2 } else { 30 };
		/// Five years of service at the most (in the fast runtime, 100,000 periods: 46 days, so
		/// that development chains can lock for the month-long grants people try).
		pub const MaxLockPeriods: u32 = if cfg!(feature = "fast-runtime") { 100_000 } else { 5 * 365 };
		/// A week between unbonding and withdrawal (twelve periods, eight minutes, in the fast
		/// runtime). Longer than a request's deadline and retention together, so that a node's
		/// stored answers can be challenged (and it slashed) for as long as they are kept: it
		/// cannot withdraw before its evidence expires (`runtime/src/tests.rs` checks).
		pub const UnbondingPeriods: u32 = if cfg!(feature = "fast-runtime") { 12 } else { 7 };
		/// Twelve weeks of service records: fee and reward claims reach that far back.
		pub const HistoryDepth: u32 = 84;
		/// Heartbeats go before ordinary transactions.
		pub const HeartbeatPriority: TransactionPriority = TransactionPriority::MAX / 2;
	}
}

impl pallet_kms_staking::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type OperatorCrypto = pallet_kms_staking::OperatorAuthId;
	type Policies = Policies;
	type ServiceObserver = Rewards;
	type PeriodLength = staking::PeriodLength;
	type MinStake = staking::MinStake;
	type MinLockPeriods = staking::MinLockPeriods;
	type MaxLockPeriods = staking::MaxLockPeriods;
	type UnbondingPeriods = staking::UnbondingPeriods;
	type MaxUnlockingChunks = ConstU32<32>;
	type MaxKeyHistory = ConstU32<8>;
	type MaxNodes = ConstU32<1_000>;
	type HistoryDepth = staking::HistoryDepth;
	type HeartbeatPriority = staking::HeartbeatPriority;
	type WeightInfo = pallet_kms_staking::weights::SubstrateWeight<Runtime>;
}

/// Protocol parameters of the Policies pallet (`PROTOCOL.md`, "Policies" and "Re-encryption").
pub mod policies {
	use super::*;

	parameter_types! {
		/// Nodes answer within a minute (20 s in the fast runtime): well inside a period.
		pub const ResponseWindow: BlockNumber = 10;
		/// Requests and cfrags stay on chain a day (200 blocks in the fast runtime).
		pub const RetentionPeriod: BlockNumber =
			if cfg!(feature = "fast-runtime") { 200 } else { crate::DAYS };
		/// The cheapest a node's period of service may be.
		pub const MinFeeRate: Balance = MILLI_UNIT;
		/// The dearest: guards owners against a typo costing a fortune.
		pub const MaxFeeRate: Balance = 1_000 * UNIT;
		/// Responses go before ordinary transactions, as heartbeats do: their requests paid for
		/// them (`request_weight`), and a late answer costs an honest node its period.
		pub const ResponsePriority: TransactionPriority = TransactionPriority::MAX / 2;
		/// A request's or policy's storage deposit per byte it may keep: 10 µKMS, so about
		/// 0.013 KMS for a request of one capsule answered by three nodes, 0.5 KMS at most (8
		/// capsules, 16 nodes), returned when the request is pruned; about 0.03 KMS for a policy
		/// of three nodes, returned (but for 640 µKMS that keep its id retired) when the owner
		/// removes it.
		pub const DepositPerByte: Balance = 10 * MICRO_UNIT;
		/// A request slot's price at rest: 1 mKMS, burned. After a block with more than 16
		/// requests it rises by up to an eighth: holding all 32 slots block after block costs
		/// about 1 KMS a request after 60 blocks and over 1,000 KMS after 120.
		pub const MinRequestPrice: Balance = MILLI_UNIT;
	}
}

impl pallet_kms_policies::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Staking = Staking;
	type OperatorCrypto = pallet_kms_staking::OperatorAuthId;
	// N ≤ 16, and 32 requests per block: at most 512 missed deadlines to record in the block
	// after a deadline.
	type MaxNodes = ConstU32<16>;
	type MaxLabelLen = ConstU32<128>;
	type MaxConditionNodes = ConstU32<16>;
	type MaxConditionDepth = ConstU32<4>;
	type MaxCapsules = ConstU32<8>;
	// 32 requests of 8 capsules cost a node's worker 0.5 s of compute per block by its
	// benchmark, within the 1 s `integrity_test` allows; the load benchmark in the README
	// measures them answered in the next block.
	type MaxRequestsPerBlock = ConstU32<32>;
	// A quarter of a block per requester, half per policy: a block always has room for others.
	type MaxRequestsPerRequester = ConstU32<8>;
	type MaxRequestsPerPolicy = ConstU32<16>;
	type MinFeeRate = policies::MinFeeRate;
	type MaxFeeRate = policies::MaxFeeRate;
	type ResponseWindow = policies::ResponseWindow;
	type RetentionPeriod = policies::RetentionPeriod;
	// The staking pallet's history depth: a claim can always reach every period still known.
	type MaxClaimPeriods = staking::HistoryDepth;
	type ResponsePriority = policies::ResponsePriority;
	type DepositPerByte = policies::DepositPerByte;
	type MinRequestPrice = policies::MinRequestPrice;
	type WeightInfo = pallet_kms_policies::weights::SubstrateWeight<Runtime>;
}

/// Protocol parameters of the Adjudicator (`PROTOCOL.md`, "Challenges"): NuCypher's original
/// 100 / 10 / 8 / 2 proportions, in KMS. A first offence costs 1% of the minimum stake (100
/// KMS), each earlier one adds 10 KMS, no penalty takes more than an eighth of the stake, and
/// the challenger gets half of it.
pub mod adjudicator {
	use super::*;

	parameter_types! {
		/// Held during a challenge, forfeited if the cfrag is correct.
		pub const ChallengeDeposit: Balance = 10 * UNIT;
		/// The penalty of a first offence.
		pub const BasePenalty: Balance = 100 * UNIT;
		/// What each earlier penalty adds.
		pub const PenaltyHistoryCoefficient: Balance = 10 * UNIT;
	}
}

impl pallet_kms_adjudicator::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Staking = Staking;
	type Records = Policies;
	// No treasury on this chain: what is not paid to challengers is burnt.
	type OnPenalty = ();
	type OffchainSignature = Signature;
	type SigningPublicKey = <Signature as Verify>::Signer;
	type ChallengeDeposit = adjudicator::ChallengeDeposit;
	type BasePenalty = adjudicator::BasePenalty;
	type PenaltyHistoryCoefficient = adjudicator::PenaltyHistoryCoefficient;
	type PercentagePenaltyCoefficient = ConstU32<8>;
	type RewardCoefficient = ConstU32<2>;
	type WeightInfo = pallet_kms_adjudicator::weights::SubstrateWeight<Runtime>;
}

/// Issuance parameters of the Rewards pallet (`PROTOCOL.md`, "Rewards"): NuCypher's
/// proportions on a notional initial supply of 1 000 000 000 KMS, in one-day periods (the
/// fast runtime keeps the same period counts).
///
/// - `MaxSupply` = 3 885 390 081 KMS, NuCypher's ratio of maximum to initial supply.
/// - `d` = 1053: phase 2 issues at most `(MaxSupply − supply) / d` per period, so what remains
///   halves in about `d · ln 2` ≈ 730 periods, two years.
/// - `kmax` = 365 (a lock of one year earns the full multiplier), `k1` = 365 and `k2` = `k1 +
///   kmax` = 730: a staker without lock earns `k1 / k2` = half, one locked a year or more
///   earns all of its stake's part.
/// - Phase 1 issues the initial third of `MaxSupply − initial supply`: its cap is 1 961 796 693
///   KMS, and its rate `Imax` = `(MaxSupply − cap) / d` = 1 826 774 KMS per period, the rate
///   phase 2 starts at, so issuance is continuous at the switch (about 526 periods of phase 1
///   at full multiplier).
pub mod rewards {
	use super::*;

	parameter_types! {
		/// `Imax`: phase 1's issuance per period at full multiplier.
		pub const MaxPeriodIssuance: Balance = 1_826_774 * UNIT;
		/// The supply at which phase 1 ends.
		pub const PhaseOneCap: Balance = 1_961_796_693 * UNIT;
		/// The supply issuance approaches and never passes.
		pub const MaxSupply: Balance = 3_885_390_081 * UNIT;
	}
}

impl pallet_kms_rewards::Config for Runtime {
	type Currency = Balances;
	type Staking = Staking;
	type MaxPeriodIssuance = rewards::MaxPeriodIssuance;
	type PhaseOneCap = rewards::PhaseOneCap;
	type MaxSupply = rewards::MaxSupply;
	type LockBase = ConstU32<365>;
	type LockSaturation = ConstU32<365>;
	type LockDivisor = ConstU32<730>;
	type DecayPeriods = ConstU32<1053>;
	type ClaimHistory = staking::HistoryDepth;
	type MaxClaimPeriods = staking::HistoryDepth;
	type WeightInfo = pallet_kms_rewards::weights::SubstrateWeight<Runtime>;
}
