//! The pallets whose benchmarks `kms-node benchmark pallet` runs against this runtime.

frame_benchmarking::define_benchmarks!(
	[frame_benchmarking, BaselineBench::<Runtime>]
	[frame_system, SystemBench::<Runtime>]
	[frame_system_extensions, SystemExtensionsBench::<Runtime>]
	[pallet_balances, Balances]
	[pallet_timestamp, Timestamp]
	[pallet_sudo, Sudo]
	[pallet_kms_staking, Staking]
	[pallet_kms_policies, Policies]
	[pallet_kms_adjudicator, Adjudicator]
	[pallet_kms_rewards, Rewards]
);
