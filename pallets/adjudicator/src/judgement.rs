//! Judging a challenged cfrag: the signed evidence checked first, the cfrag verified against
//! the policy's keys, the verdict recorded once per evidence, and the penalty (one per node
//! and policy version, growing with the node's history, capped by its stake) slashed and split
//! between the challenger and the treasury.

use crate::*;

impl<T: Config> Pallet<T> {
	/// Judges `node`'s cfrag for capsule `capsule_index` of `request`, as stored on chain.
	pub(crate) fn do_challenge_stored(
		challenger: T::AccountId,
		request: RequestId,
		node: T::AccountId,
		capsule_index: u32,
	) -> DispatchResult {
		let (evidence, span) = T::Records::stored_cfrag(request, &node, capsule_index)
			.ok_or(Error::<T>::UnknownCfrag)?;
		Self::judge(challenger, node, span, evidence)
	}

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
}
