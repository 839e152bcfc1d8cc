//! Weights of `pallet-kms-staking`: placeholder until the benchmarks are run.
#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use frame_support::{
	traits::Get,
	weights::{constants::RocksDbWeight, Weight},
};

/// Weight functions of `pallet_kms_staking`.
pub trait WeightInfo {
	fn bond() -> Weight;
	fn bond_extra() -> Weight;
	fn prolong() -> Weight;
	fn set_wind_down() -> Weight;
	fn unbond() -> Weight;
	fn withdraw_unbonded() -> Weight;
	fn register_node() -> Weight;
	fn rotate_node_key() -> Weight;
	fn set_min_fee_rate() -> Weight;
	fn unregister_node() -> Weight;
	fn heartbeat() -> Weight;
	fn authorize_heartbeat() -> Weight;
}

/// Weights for `pallet_kms_staking` on the reference machine.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn bond() -> Weight {
		Weight::zero()
	}
	fn bond_extra() -> Weight {
		Weight::zero()
	}
	fn prolong() -> Weight {
		Weight::zero()
	}
	fn set_wind_down() -> Weight {
		Weight::zero()
	}
	fn unbond() -> Weight {
		Weight::zero()
	}
	fn withdraw_unbonded() -> Weight {
		Weight::zero()
	}
	fn register_node() -> Weight {
		Weight::zero()
	}
	fn rotate_node_key() -> Weight {
		Weight::zero()
	}
	fn set_min_fee_rate() -> Weight {
		Weight::zero()
	}
	fn unregister_node() -> Weight {
		Weight::zero()
	}
	fn heartbeat() -> Weight {
		Weight::zero()
	}
	fn authorize_heartbeat() -> Weight {
		Weight::zero()
	}
}

impl WeightInfo for () {
	fn bond() -> Weight {
		Weight::zero()
	}
	fn bond_extra() -> Weight {
		Weight::zero()
	}
	fn prolong() -> Weight {
		Weight::zero()
	}
	fn set_wind_down() -> Weight {
		Weight::zero()
	}
	fn unbond() -> Weight {
		Weight::zero()
	}
	fn withdraw_unbonded() -> Weight {
		Weight::zero()
	}
	fn register_node() -> Weight {
		Weight::zero()
	}
	fn rotate_node_key() -> Weight {
		Weight::zero()
	}
	fn set_min_fee_rate() -> Weight {
		Weight::zero()
	}
	fn unregister_node() -> Weight {
		Weight::zero()
	}
	fn heartbeat() -> Weight {
		Weight::zero()
	}
	fn authorize_heartbeat() -> Weight {
		Weight::zero()
	}
}
