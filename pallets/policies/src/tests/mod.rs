//! Tests of the Policies pallet, by topic, against the real Staking pallet and real umbral-pre
//! objects. Every test runs both pallets' `do_try_state` at its end.

mod acceptance;
mod conditions;
mod create;
mod direct;
mod fees;
mod invariants;
mod offchain;
mod removal;
mod requests;
mod rotation;

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok};
use kms_primitives::policies::Condition;

/// Policy ids of the tests.
const P1: PolicyId = [1; 16];
const P2: PolicyId = [2; 16];

/// A fee rate within the range.
const RATE: Balance = 100;

/// Parameters of a policy, with defaults the tests change one at a time.
struct NewPolicy {
	id: PolicyId,
	owner: &'static str,
	threshold: u32,
	nodes: Vec<&'static str>,
	end: u64,
	rate: Balance,
	conditions: Vec<Condition<AccountId, Balance, u64>>,
}

impl Default for NewPolicy {
	fn default() -> Self {
		Self {
			id: P1,
			owner: "alice",
			threshold: 2,
			nodes: vec!["n1", "n2", "n3"],
			end: 30,
			rate: RATE,
			conditions: vec![],
		}
	}
}

impl NewPolicy {
	/// Creates the policy with fresh umbral-pre material; returns it for the test to use.
	fn create_with(self, grant: &Grant) -> DispatchResult {
		let [delegating, verifying, receiving] = grant.keys();
		let nodes =
			grant.grants(self.threshold.max(1).min(self.nodes.len() as u32) as u8, &self.nodes);
		let conditions = self.conditions.try_into().expect("few conditions");
		let signature =
			grant.sign(self.owner, self.id, self.threshold, self.end, &conditions, &nodes);
		KmsPolicies::create_policy(
			RuntimeOrigin::signed(account(self.owner)),
			self.id,
			b"photos/2026".to_vec().try_into().expect("short label"),
			delegating,
			verifying,
			receiving,
			self.threshold,
			nodes,
			self.end,
			self.rate,
			conditions,
			signature,
		)
	}

	/// Creates the policy and has every node accept it, as honest workers would.
	fn create(self) -> Grant {
		let id = self.id;
		let grant = self.create_pending();
		accept_all(id);
		grant
	}

	/// Creates the policy; its nodes stay pending.
	fn create_pending(self) -> Grant {
		let grant = Grant::new();
		assert_ok!(self.create_with(&grant));
		grant
	}
}

/// Requests re-encryption of fresh capsules of `plaintexts` under `policy` as `requester`;
/// returns the request id and the capsules with their ciphertexts.
fn request(
	grant: &Grant,
	policy: PolicyId,
	requester: &str,
	plaintexts: &[&[u8]],
) -> (RequestId, Vec<(umbral_pre::Capsule, Box<[u8]>)>) {
	let encrypted: Vec<_> = plaintexts.iter().map(|p| grant.encrypt(p)).collect();
	let capsules: Vec<CapsuleBytes> = encrypted.iter().map(|(c, _)| capsule_bytes(c)).collect();
	let id = NextRequestId::<Test>::get();
	assert_ok!(try_request(requester, policy, capsules));
	(id, encrypted)
}

/// `requester` requests re-encryption of `capsules` under `policy`. A refusal is charged only
/// the request's own benchmarked weight, never the answers and deadline it would have caused:
/// checked here for every refusal a test provokes, which then sees the error alone.
fn try_request(requester: &str, policy: PolicyId, capsules: Vec<CapsuleBytes>) -> DispatchResult {
	try_request_within(requester, policy, capsules, Balance::MAX)
}

/// The same, paying at most `max_price` for the request's slot.
fn try_request_within(
	requester: &str,
	policy: PolicyId,
	capsules: Vec<CapsuleBytes>,
	max_price: Balance,
) -> DispatchResult {
	use crate::weights::WeightInfo;
	let count = capsules.len() as u32;
	let capsules = capsules.try_into().expect("at most MaxCapsules capsules");
	let origin = RuntimeOrigin::signed(account(requester));
	KmsPolicies::request_reencryption(origin, policy, capsules, max_price)
		.map(|_| ())
		.map_err(|refused| {
			let own = <() as WeightInfo>::request_reencryption(count, MAX_CONDITIONS);
			assert_eq!(refused.post_info.actual_weight, Some(own), "a refusal's charge");
			refused.error
		})
}

/// `node` answers `request` correctly, signed by its operator account.
fn answer(node: &str, policy: PolicyId, request: RequestId) -> DispatchResult {
	let cfrags = reencrypt_as(node, policy, request);
	KmsPolicies::submit_cfrags(
		RuntimeOrigin::signed(account(&format!("{node}-op"))),
		request,
		request_hash(request),
		cfrags,
	)
}

/// The hash an answer to a retained request signs (zeroes for an unknown one).
fn request_hash(request: RequestId) -> [u8; 32] {
	KmsPolicies::answer_hash(request).unwrap_or_default()
}

/// What `who` has in escrow.
fn escrow_of(who: &str) -> Balance {
	use frame_support::traits::fungible::InspectHold;
	Balances::balance_on_hold(&RuntimeHoldReason::KmsPolicies(HoldReason::Escrow), &account(who))
}

/// `who`'s free balance.
fn free(who: &str) -> Balance {
	Balances::free_balance(account(who))
}

/// Bob checks every cfrag and decrypts each capsule's ciphertext.
fn bob_decrypts(
	grant: &Grant,
	request: RequestId,
	encrypted: &[(umbral_pre::Capsule, Box<[u8]>)],
) -> Vec<Vec<u8>> {
	let key = |k: &UmbralPublicKey| {
		umbral_pre::PublicKey::try_from_compressed_bytes(k.as_bytes()).expect("key")
	};
	let policy = Policies::<Test>::get(P1).expect("policy");
	let answers = KmsPolicies::cfrags(request);
	encrypted
		.iter()
		.enumerate()
		.map(|(i, (capsule, ciphertext))| {
			let verified: Vec<_> = answers
				.iter()
				.map(|(_, cfrags)| {
					kms_primitives::wire::decode_capsule_frag(&cfrags[i])
						.expect("decodes")
						.verify(
							capsule,
							&key(&policy.verifying_key),
							&key(&policy.delegating_key),
							&key(&policy.receiving_key),
						)
						.expect("cfrag verifies")
				})
				.collect();
			umbral_pre::decrypt_reencrypted(
				&grant.receiving,
				&grant.delegating.public_key(),
				capsule,
				verified,
				ciphertext,
			)
			.expect("decrypts")
			.to_vec()
		})
		.collect()
}
