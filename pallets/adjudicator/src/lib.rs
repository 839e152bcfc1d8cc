//! # KMS Adjudicator
//!
//! What makes a node's signature on a wrong answer expensive (`PROTOCOL.md`, "Challenges").
//! Anyone may challenge a cfrag, holding a `ChallengeDeposit`: either one stored on chain by
//! the Policies pallet ([`Pallet::challenge_cfrag`]), or one the node served off chain and
//! signed with its operator key ([`Pallet::challenge_signed_cfrag`], the fast path). The
//! runtime re-runs umbral-pre's `CapsuleFrag::verify` with the policy's keys, in WebAssembly.
//!
//! - An incorrect cfrag (bad re-encryption proof, bad kfrag signature, or bytes that are not a
//!   cfrag at all) costs its node
//!   `min(BasePenalty + PenaltyHistoryCoefficient × prior_penalties, held /
//!   PercentagePenaltyCoefficient)`, slashed from its stake, where `held` is everything the
//!   node has at stake, active and unbonding: unbonding never dodges a penalty. The challenger
//!   gets `penalty / RewardCoefficient` and its deposit back; the rest goes to `OnPenalty`.
//! - A correct cfrag costs the challenger its deposit (to `OnPenalty`): challenges are not free
//!   to spam.
//!
//! **Offences combine by span.** Every incorrect cfrag is charged under the policy version
//! whose kfrag made it ([`OffenceSpan`]). The first incorrect cfrag of a node in a span is an
//! offence and is penalized; later ones in the same span are judged and recorded, the
//! challenger gets its deposit back, but they add no penalty and no offence: one defect is one
//! offence, whatever number of capsules and requests the evidence is drawn from (polkadot-sdk's
//! slashing spans keep the same proportion). A node that signs wrong answers under many policy
//! versions commits many offences, each escalating the next.
//!
//! Either way the evidence's hash is recorded: the same evidence is never judged twice.
//! Judgement never traps: untrusted bytes are decoded only in their canonical form
//! ([`kms_primitives::wire`]), and whatever else the node signed is `Undecodable`, its fault.
#![cfg_attr(not(feature = "std"), no_std)]
// `expect` is left to clippy's defaults: FRAME's macros expand to it (on paths that cannot fail).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

extern crate alloc;

mod asset;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{self, Credit},
		Imbalance, OnUnbalanced,
	},
};
use frame_system::pallet_prelude::*;
use kms_primitives::{
	policies::{CfragEvidence, OffenceSpan, ReencryptionRecords, RequestId, SignedCfrag},
	staking::{NodeStaking, UmbralPublicKey},
	wire,
};
use scale_info::TypeInfo;
use sp_runtime::traits::{IdentifyAccount, Saturating, Verify, Zero};

pub use pallet::*;
pub use weights::WeightInfo;

/// A balance of the staking currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;
/// Funds taken out of a stake or a deposit, for the runtime to route.
pub type CreditOf<T> = Credit<<T as frame_system::Config>::AccountId, <T as Config>::Currency>;
/// A signed off-chain answer of this runtime.
pub type SignedCfragOf<T> = SignedCfrag<<T as frame_system::Config>::AccountId>;

/// What a judged cfrag was.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum Verdict {
	/// It verifies: the node answered honestly.
	Correct,
	/// Its re-encryption proof fails.
	IncorrectReencryption,
	/// The kfrag signature it carries does not verify with the policy's keys.
	IncorrectKeyFragSignature,
	/// The node signed bytes that are not a cfrag.
	Undecodable,
}

impl Verdict {
	/// Whether the node is penalized.
	pub fn is_incorrect(&self) -> bool {
		!matches!(self, Self::Correct)
	}
}

/// A judgement, kept under the evidence's hash.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Judgement<AccountId, Balance, BlockNumber> {
	/// The node whose cfrag it was.
	pub node: AccountId,
	/// The span the cfrag is charged under.
	pub span: OffenceSpan,
	/// The verdict.
	pub verdict: Verdict,
	/// `Some(n)`: the cfrag was the node's offence number `n` (0 for the first) and was
	/// penalized; `None`: it was correct, or incorrect in a span already penalized.
	pub offence: Option<u32>,
	/// What was slashed from the node (zero unless `offence` is `Some`).
	pub penalty: Balance,
	/// When.
	pub at: BlockNumber,
}

#[frame_support::pallet]
pub mod pallet {
	use super::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A challenger's deposit, for the length of its challenge.
		#[codec(index = 0)]
		ChallengeDeposit,
	}

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The staking currency: deposits are held in it, penalties paid in it.
		type Currency: fungible::Inspect<Self::AccountId>
			+ fungible::Mutate<Self::AccountId>
			+ fungible::Balanced<Self::AccountId>
			+ fungible::MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ fungible::hold::Balanced<Self::AccountId>;

		/// The runtime's hold reasons, of which [`HoldReason`] is one.
		type RuntimeHoldReason: From<HoldReason>;

		/// The staking side: stakes, operators, slashing.
		type Staking: NodeStaking<Self::AccountId, BalanceOf<Self>, Credit = CreditOf<Self>>;

		/// The policy side: stored cfrags and the policies' keys.
		type Records: ReencryptionRecords<Self::AccountId>;

		/// Where the rest of a penalty and forfeited deposits go (a treasury, or dropped:
		/// burnt).
		type OnPenalty: OnUnbalanced<CreditOf<Self>>;

		/// The signature of an operator over a [`SignedCfrag`].
		type OffchainSignature: Verify<Signer = Self::SigningPublicKey> + Parameter;

		/// The public key behind an operator account.
		type SigningPublicKey: IdentifyAccount<AccountId = Self::AccountId>;

		/// What a challenger holds while its challenge is judged; forfeited if the cfrag is
		/// correct. At least the existential deposit.
		#[pallet::constant]
		type ChallengeDeposit: Get<BalanceOf<Self>>;

		/// The penalty of a first offence (before the cap).
		#[pallet::constant]
		type BasePenalty: Get<BalanceOf<Self>>;

		/// What each earlier penalty of the node adds to the next.
		#[pallet::constant]
		type PenaltyHistoryCoefficient: Get<BalanceOf<Self>>;

		/// The cap: a penalty is at most `stake / PercentagePenaltyCoefficient`. At least 1.
		#[pallet::constant]
		type PercentagePenaltyCoefficient: Get<u32>;

		/// The challenger's share: `penalty / RewardCoefficient`. At least 1.
		#[pallet::constant]
		type RewardCoefficient: Get<u32>;

		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// How many times each node was penalized.
	///
	/// Blake2 hashing: the key is an account.
	#[pallet::storage]
	pub type PriorPenalties<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

	/// The spans each node was penalized in: later incorrect cfrags in them add nothing. One
	/// entry per penalty, which the penalized node paid for.
	///
	/// Blake2 hashing: an account, then an owner-chosen policy id.
	#[pallet::storage]
	pub type PenalizedSpans<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Blake2_128Concat, OffenceSpan, ()>;

	/// Every judged evidence, by the blake2-256 hash of the SCALE encoding of the node, the span
	/// and the evidence: never judged twice.
	///
	/// Identity hashing: the key is already a cryptographic hash.
	#[pallet::storage]
	pub type Judged<T: Config> =
		StorageMap<_, Identity, [u8; 32], Judgement<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// `node`'s cfrag was incorrect, its first in `span`: `penalty` was slashed, `reward`
		/// of it paid to `challenger`.
		NodePenalized {
			node: T::AccountId,
			challenger: T::AccountId,
			span: OffenceSpan,
			verdict: Verdict,
			penalty: BalanceOf<T>,
			reward: BalanceOf<T>,
			evidence: [u8; 32],
		},
		/// `node`'s cfrag was incorrect, in a `span` it was already penalized in: one offence,
		/// no further penalty; `challenger` got its deposit back.
		OffenceAlreadyPenalized {
			node: T::AccountId,
			challenger: T::AccountId,
			span: OffenceSpan,
			verdict: Verdict,
			evidence: [u8; 32],
		},
		/// `node`'s cfrag was correct: `challenger` forfeited its `deposit`.
		ChallengeFailed {
			node: T::AccountId,
			challenger: T::AccountId,
			deposit: BalanceOf<T>,
			evidence: [u8; 32],
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No retained answer of this node to this request has a cfrag at this index.
		UnknownCfrag,
		/// The policy is not active, its current version is not this one, or the node is not
		/// among its nodes that accepted it.
		UnknownPolicyVersion,
		/// The node is not registered: its signature cannot be checked.
		UnknownNode,
		/// The signature is not the node operator's over the evidence.
		BadSignature,
		/// The capsule of the evidence is not a valid capsule: there is nothing to judge.
		MalformedCapsule,
		/// A policy key is not a valid point (cannot happen for stored policies).
		MalformedKey,
		/// This evidence was judged already.
		AlreadyJudged,
		/// The challenger cannot hold the deposit.
		InsufficientDeposit,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(T::PercentagePenaltyCoefficient::get() >= 1, "the cap divides by it");
			assert!(T::RewardCoefficient::get() >= 1, "the reward divides by it");
			assert!(
				T::ChallengeDeposit::get()
					>= <T::Currency as fungible::Inspect<_>>::minimum_balance(),
				"a deposit must be holdable"
			);
			assert!(!T::BasePenalty::get().is_zero(), "a wrong answer must cost something");
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call(weight = <T as Config>::WeightInfo)]
	impl<T: Config> Pallet<T> {
		/// Challenge `node`'s stored cfrag for capsule `capsule_index` of `request`. Holds
		/// `ChallengeDeposit` from the caller while the runtime verifies the cfrag; slashes
		/// the node and rewards the caller if it is incorrect, forfeits the deposit if not.
		/// Signed by anyone. Emits `NodePenalized` or `ChallengeFailed`.
		#[pallet::call_index(0)]
		pub fn challenge_cfrag(
			origin: OriginFor<T>,
			request: RequestId,
			node: T::AccountId,
			capsule_index: u32,
		) -> DispatchResult {
			let challenger = ensure_signed(origin)?;
			let (evidence, span) = T::Records::stored_cfrag(request, &node, capsule_index)
				.ok_or(Error::<T>::UnknownCfrag)?;
			Self::judge(challenger, node, span, evidence)
		}

		/// Challenge a cfrag `node` served off chain and signed with its operator key
		/// (`signature` over [`SignedCfrag::signing_payload`] with this chain's genesis hash),
		/// under the policy's current
		/// version. The signature is checked first, then the cfrag as for
		/// `challenge_cfrag`. Signed by anyone. Emits `NodePenalized` or `ChallengeFailed`.
		#[pallet::call_index(1)]
		pub fn challenge_signed_cfrag(
			origin: OriginFor<T>,
			evidence: SignedCfragOf<T>,
			signature: T::OffchainSignature,
		) -> DispatchResult {
			let challenger = ensure_signed(origin)?;
			Self::do_challenge_signed(challenger, evidence, signature)
		}
	}
}

impl<T: Config> Pallet<T> {
	/// Checks the operator's signature over a [`SignedCfrag`], then judges it with the keys
	/// of the policy's current version.
	pub(crate) fn do_challenge_signed(
		challenger: T::AccountId,
		evidence: SignedCfragOf<T>,
		signature: T::OffchainSignature,
	) -> DispatchResult {
		let [verifying_key, delegating_key, receiving_key] =
			T::Records::policy_keys_for(evidence.policy, evidence.version, &evidence.node)
				.ok_or(Error::<T>::UnknownPolicyVersion)?;
		let operator = T::Staking::operator_of(&evidence.node).ok_or(Error::<T>::UnknownNode)?;
		let genesis = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
		ensure!(
			signature.verify(&evidence.signing_payload(&genesis)[..], &operator),
			Error::<T>::BadSignature
		);
		let SignedCfrag { policy, version, node, capsule, cfrag } = evidence;
		Self::judge(
			challenger,
			node,
			OffenceSpan { policy, version },
			CfragEvidence { capsule, cfrag, verifying_key, delegating_key, receiving_key },
		)
	}

	/// Verifies `evidence` and settles the challenge: a penalty for the first incorrect cfrag
	/// of `node` in `span`, the deposit back and nothing more for a later one, the deposit
	/// forfeited for a correct one.
	pub(crate) fn judge(
		challenger: T::AccountId,
		node: T::AccountId,
		span: OffenceSpan,
		evidence: CfragEvidence,
	) -> DispatchResult {
		// The node and span are part of what is judged: the same cfrag bytes signed by another
		// node (a sybil taking the blame) are another case, and never close this one.
		let hash = sp_io::hashing::blake2_256(&(&node, span, &evidence).encode());
		ensure!(!Judged::<T>::contains_key(hash), Error::<T>::AlreadyJudged);
		let deposit = T::ChallengeDeposit::get();
		asset::hold::<T>(&challenger, deposit).map_err(|_| Error::<T>::InsufficientDeposit)?;
		let verdict = Self::verify(&evidence)?;
		let at = frame_system::Pallet::<T>::block_number();
		let mut judgement = Judgement {
			node: node.clone(),
			span,
			verdict,
			offence: None,
			penalty: Zero::zero(),
			at,
		};
		if !verdict.is_incorrect() {
			T::OnPenalty::on_unbalanced(asset::forfeit::<T>(&challenger, deposit));
			Judged::<T>::insert(hash, judgement);
			Self::deposit_event(Event::ChallengeFailed {
				node,
				challenger,
				deposit,
				evidence: hash,
			});
			return Ok(());
		}
		asset::release::<T>(&challenger, deposit)?;
		if PenalizedSpans::<T>::contains_key(&node, span) {
			Judged::<T>::insert(hash, judgement);
			Self::deposit_event(Event::OffenceAlreadyPenalized {
				node,
				challenger,
				span,
				verdict,
				evidence: hash,
			});
			return Ok(());
		}
		let prior = PriorPenalties::<T>::get(&node);
		let credit = T::Staking::slash(&node, Self::penalty(&node, prior));
		let penalty = credit.peek();
		let (reward, rest) = credit.split(penalty / T::RewardCoefficient::get().max(1).into());
		let (reward, unpaid) = asset::pay::<T>(&challenger, reward);
		T::OnPenalty::on_unbalanced(rest.merge(unpaid));
		PriorPenalties::<T>::insert(&node, prior.saturating_add(1));
		PenalizedSpans::<T>::insert(&node, span, ());
		judgement.offence = Some(prior);
		judgement.penalty = penalty;
		Judged::<T>::insert(hash, judgement);
		Self::deposit_event(Event::NodePenalized {
			node,
			challenger,
			span,
			verdict,
			penalty,
			reward,
			evidence: hash,
		});
		Ok(())
	}

	/// `min(BasePenalty + PenaltyHistoryCoefficient × prior, held / PercentagePenaltyCoefficient)`,
	/// `held` being everything `node` has at stake, active and unbonding.
	pub fn penalty(node: &T::AccountId, prior: u32) -> BalanceOf<T> {
		let escalating = T::BasePenalty::get()
			.saturating_add(T::PenaltyHistoryCoefficient::get().saturating_mul(prior.into()));
		let cap =
			T::Staking::held_stake(node) / T::PercentagePenaltyCoefficient::get().max(1).into();
		escalating.min(cap)
	}

	/// Runs umbral-pre's `CapsuleFrag::verify` on the evidence. A capsule or key that does not
	/// decode is the challenger's problem (an error); a cfrag that does not is the node's.
	pub(crate) fn verify(evidence: &CfragEvidence) -> Result<Verdict, Error<T>> {
		let capsule =
			wire::decode_capsule(&evidence.capsule).map_err(|_| Error::<T>::MalformedCapsule)?;
		let key = |key: &UmbralPublicKey| key.decompress().ok_or(Error::<T>::MalformedKey);
		let (verifying, delegating, receiving) = (
			key(&evidence.verifying_key)?,
			key(&evidence.delegating_key)?,
			key(&evidence.receiving_key)?,
		);
		let Ok(cfrag) = wire::decode_capsule_frag(&evidence.cfrag) else {
			return Ok(Verdict::Undecodable);
		};
		Ok(match cfrag.verify(&capsule, &verifying, &delegating, &receiving) {
			Ok(_) => Verdict::Correct,
			Err((umbral_pre::CapsuleFragVerificationError::IncorrectKeyFragSignature, _)) => {
				Verdict::IncorrectKeyFragSignature
			},
			Err((umbral_pre::CapsuleFragVerificationError::IncorrectReencryption, _)) => {
				Verdict::IncorrectReencryption
			},
		})
	}

	/// The pallet's invariants, checked after every test and by try-runtime:
	/// - each node's penalized judgements are its offences `0, 1, …, PriorPenalties − 1`, each
	///   penalized at most `BasePenalty + PenaltyHistoryCoefficient × offence`, each in a span
	///   of its own, recorded in `PenalizedSpans`;
	/// - every other judgement carries no penalty, and an incorrect one without an offence lies
	///   in a span the node was penalized in;
	/// - `PenalizedSpans` holds exactly the spans of the penalized judgements.
	#[cfg(any(feature = "std", feature = "try-runtime"))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::{collections::btree_map::BTreeMap, vec::Vec};
		let mut offences: BTreeMap<T::AccountId, Vec<(u32, OffenceSpan)>> = BTreeMap::new();
		for judgement in Judged::<T>::iter_values() {
			match judgement.offence {
				Some(number) => {
					ensure!(judgement.verdict.is_incorrect(), "an offence for a correct cfrag");
					let uncapped = T::BasePenalty::get().saturating_add(
						T::PenaltyHistoryCoefficient::get().saturating_mul(number.into()),
					);
					ensure!(judgement.penalty <= uncapped, "penalty above the formula");
					offences.entry(judgement.node).or_default().push((number, judgement.span));
				},
				None => {
					ensure!(judgement.penalty.is_zero(), "a penalty without an offence");
					ensure!(
						!judgement.verdict.is_incorrect()
							|| PenalizedSpans::<T>::contains_key(&judgement.node, judgement.span),
						"an incorrect cfrag neither penalized nor in a penalized span"
					);
				},
			}
		}
		let mut spans = 0usize;
		for (node, mut numbered) in offences {
			numbered.sort_unstable();
			let numbers: Vec<u32> = numbered.iter().map(|(number, _)| *number).collect();
			let expected: Vec<u32> = (0..numbers.len() as u32).collect();
			ensure!(numbers == expected, "offences are not numbered 0, 1, …");
			ensure!(
				PriorPenalties::<T>::get(&node) == numbers.len() as u32,
				"PriorPenalties differs from the judgements"
			);
			for (_, span) in &numbered {
				ensure!(PenalizedSpans::<T>::contains_key(&node, span), "unrecorded span");
			}
			spans = spans.saturating_add(numbered.len());
		}
		ensure!(PenalizedSpans::<T>::iter().count() == spans, "a span penalized twice or never");
		ensure!(
			PriorPenalties::<T>::iter_values().map(u64::from).sum::<u64>() == spans as u64,
			"a node has penalties without judgements"
		);
		Ok(())
	}
}
