//! Tests of the Staking pallet, by topic. Every test runs `do_try_state` at its end
//! (`ExtBuilder::build_and_execute`).

mod bonding;
mod heartbeat;
mod invariants;
mod nodes;
mod slashing;

use crate::{
	mock::*,
	testing::{identity_key, keys_proof, rotate_key},
	*,
};
use frame_support::{assert_noop, assert_ok};
use kms_primitives::staking::{NodeDirectory, NodeService, StakeLedger};
use sp_core::Pair;

/// The operator of `staker` in the tests: `<staker>-op`.
fn bond_and_register(
	staker: &str,
	operator: &str,
	stake: Balance,
	lock: Period,
) -> UmbralPublicKey {
	assert_ok!(Staking::bond(RuntimeOrigin::signed(account(staker)), stake, lock));
	assert_ok!(register(staker, operator, staker, 5));
	identity_key(staker)
}

/// `staker` registers the operator `operator` and the development identity `identity`, with
/// the proof they make for it.
fn register(staker: &str, operator: &str, identity: &str, min_fee_rate: Balance) -> DispatchResult {
	Staking::register_node(
		RuntimeOrigin::signed(account(staker)),
		account(operator),
		identity_key(identity),
		min_fee_rate,
		keys_proof::<Test>(&account(staker), operator, identity),
	)
}

/// The heartbeat of `node` for the current period, signed by `operator`.
fn heartbeat_of(node: &str, operator: &str) -> (HeartbeatOf<Test>, MultiSignature) {
	let heartbeat = Heartbeat {
		node: account(node),
		period: Staking::current_period(),
		public: MultiSigner::from(pair(operator).public()),
	};
	let signature = sign(operator, &heartbeat_payload::<Test>(&heartbeat));
	(heartbeat, signature)
}

/// Submits `node`'s heartbeat as the transaction pool and block builder would: authorize,
/// then dispatch with the authorized origin.
fn send_heartbeat(node: &str, operator: &str) -> DispatchResult {
	use frame_support::traits::Authorize;
	let (heartbeat, signature) = heartbeat_of(node, operator);
	let call = crate::Call::<Test>::heartbeat {
		heartbeat: heartbeat.clone(),
		signature: signature.clone(),
	};
	call.authorize(TransactionSource::External)
		.expect("heartbeat has authorize logic")
		.map_err(|_| DispatchError::Other("not authorized"))?;
	Staking::heartbeat(frame_system::RawOrigin::Authorized.into(), heartbeat, signature)
}

/// Heartbeats in every period from the current one through `last`, serving each.
fn serve_through(node: &str, operator: &str, last: Period) {
	loop {
		assert_ok!(send_heartbeat(node, operator));
		let next = Staking::current_period() + 1;
		if next > last {
			break;
		}
		run_to_period(next);
	}
}

/// Ends `who`'s lock, as if it had served all of it with wind-down on (that path is tested in
/// `bonding.rs`), so that tests of what follows need not serve every period.
fn end_lock(who: &AccountId) {
	crate::ledger::Ledger::<Test>::require(who).expect("bonded").set_lock_periods(0);
}
