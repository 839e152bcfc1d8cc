//! A connection to a KMS Chain node and the operations of every role.

use crate::{
	error::{chain, rpc},
	runtime::{
		self,
		runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			kms_primitives::{
				policies::{Condition, EncryptedKFrag, NodeGrant, RequestStatus},
				staking::UmbralPublicKey,
			},
		},
	},
	umbral::SealedKFrag,
	AccountId, Balance, BlockNumber, ChainConfig, Error, Keypair, PolicyId, RequestId,
};
use subxt::{
	config::{DefaultExtrinsicParamsBuilder, RpcConfigFor},
	rpcs::{methods::LegacyRpcMethods, RpcClient},
	transactions::{Payload, TransactionStatus},
	OnlineClient,
};

/// A connection to a node.
#[derive(Clone)]
pub struct Client {
	api: OnlineClient<ChainConfig>,
	rpc: LegacyRpcMethods<RpcConfigFor<ChainConfig>>,
}

/// A transaction in a block, with what it did.
pub struct Included {
	/// The block's number.
	pub block: BlockNumber,
	/// The block's hash.
	pub hash: subxt::utils::H256,
	/// The events of the transaction.
	pub events: subxt::extrinsics::ExtrinsicEvents<ChainConfig>,
}

/// A policy to create: the owner's keys and the sealed kfrags of its nodes.
pub struct Policy {
	/// The owner-chosen id, never reused.
	pub id: PolicyId,
	/// A label for the owner's bookkeeping.
	pub label: Vec<u8>,
	/// The owner's delegating key (compressed).
	pub delegating_key: [u8; 33],
	/// The key that signed the kfrags (compressed).
	pub verifying_key: [u8; 33],
	/// The reader's key (compressed).
	pub receiving_key: [u8; 33],
	/// How many cfrags open a capsule.
	pub threshold: u32,
	/// Each node with its key version and its sealed kfrag.
	pub nodes: Vec<(AccountId, u32, SealedKFrag)>,
	/// The last block of the policy.
	pub end: BlockNumber,
	/// The fee per node and period.
	pub fee_rate: Balance,
	/// The access conditions, flat in prefix order (empty: the reader only needs the policy).
	pub conditions: Vec<Condition<AccountId, Balance, BlockNumber>>,
}

/// The answers to a request, each node with one cfrag per capsule.
pub type Answers = Vec<(AccountId, Vec<Vec<u8>>)>;

impl Client {
	/// Connects to the node at `url` (`ws://` or `wss://`).
	pub async fn connect(url: &str) -> Result<Self, Error> {
		let rpc = RpcClient::from_insecure_url(url).await.map_err(rpc)?;
		let api = OnlineClient::<ChainConfig>::from_rpc_client(rpc.clone()).await.map_err(chain)?;
		Ok(Client { api, rpc: LegacyRpcMethods::new(rpc) })
	}

	/// The underlying subxt client.
	pub fn api(&self) -> &OnlineClient<ChainConfig> {
		&self.api
	}

	/// Signs `call` with `signer`, submits it and waits until it is in a best block. A call
	/// that fails on chain is an [`Error::Rejected`] naming the pallet error.
	///
	/// The nonce is the node's next index for the signer (its pool included), so transactions
	/// can follow each other before the previous ones are finalized.
	pub async fn submit<Call: Payload>(
		&self,
		call: &Call,
		signer: &Keypair,
	) -> Result<Included, Error> {
		let account = signer.public_key().to_account_id();
		let nonce = self.rpc.system_account_next_index(&account).await.map_err(rpc)?;
		let params = DefaultExtrinsicParamsBuilder::new().nonce(nonce).build();
		let mut progress = self
			.api
			.transactions()
			.await
			.map_err(chain)?
			.sign_and_submit_then_watch(call, signer, params)
			.await
			.map_err(chain)?;
		while let Some(status) = progress.next().await {
			let in_block = match status.map_err(chain)? {
				TransactionStatus::InBestBlock(in_block)
				| TransactionStatus::InFinalizedBlock(in_block) => in_block,
				TransactionStatus::Error { message }
				| TransactionStatus::Invalid { message }
				| TransactionStatus::Dropped { message } => return Err(Error::Refused(message)),
				_ => continue,
			};
			let events = match in_block.wait_for_success().await {
				Ok(events) => events,
				Err(subxt::error::TransactionEventsError::ExtrinsicFailed(error)) => {
					return Err(error.into())
				},
				Err(error) => return Err(chain(error)),
			};
			let at = in_block.at().await.map_err(chain)?;
			return Ok(Included {
				block: at.block_number() as BlockNumber,
				hash: in_block.block_hash(),
				events,
			});
		}
		Err(Error::Refused("the node stopped reporting on the transaction".into()))
	}

	/// The number of the latest finalized block (what queries read).
	pub async fn finalized_block(&self) -> Result<BlockNumber, Error> {
		let at = self.api.at_current_block().await.map_err(chain)?;
		Ok(at.block_number() as BlockNumber)
	}

	/// Moves `amount` from `from` to `to`, keeping `from` alive.
	pub async fn transfer(
		&self,
		from: &Keypair,
		to: &AccountId,
		amount: Balance,
	) -> Result<Included, Error> {
		let call = runtime::tx().balances().transfer_keep_alive((*to).into(), amount);
		self.submit(&call, from).await
	}

	/// Bonds `value` of the staker's balance, locked for `lock_periods` periods.
	pub async fn bond(
		&self,
		staker: &Keypair,
		value: Balance,
		lock_periods: u32,
	) -> Result<Included, Error> {
		self.submit(&runtime::tx().staking().bond(value, lock_periods), staker).await
	}

	/// Lengthens the staker's lock by `extra_periods` periods.
	pub async fn prolong(&self, staker: &Keypair, extra_periods: u32) -> Result<Included, Error> {
		self.submit(&runtime::tx().staking().prolong(extra_periods), staker).await
	}

	/// Registers the staker's node: its operator account, Umbral key and minimum fee rate.
	pub async fn register_node(
		&self,
		staker: &Keypair,
		operator: &AccountId,
		umbral_key: [u8; 33],
		min_fee_rate: Balance,
	) -> Result<Included, Error> {
		let call = runtime::tx().staking().register_node(
			*operator,
			UmbralPublicKey(umbral_key),
			min_fee_rate,
		);
		self.submit(&call, staker).await
	}

	/// The node's current Umbral key and its version, if it is registered.
	pub async fn node_key(&self, node: &AccountId) -> Result<Option<(u32, [u8; 33])>, Error> {
		let at = self.api.at_current_block().await.map_err(chain)?;
		let info = at
			.storage()
			.try_fetch(runtime::storage().staking().nodes(), (*node,))
			.await
			.map_err(chain)?;
		let Some(info) = info else { return Ok(None) };
		let info = info.decode().map_err(chain)?;
		let count = info.keys.0.len() as u32;
		Ok(info
			.keys
			.0
			.last()
			.map(|key| (info.first_key_version + count.saturating_sub(1), key.0)))
	}

	/// Blocks per protocol period.
	pub async fn period_length(&self) -> Result<BlockNumber, Error> {
		let at = self.api.at_current_block().await.map_err(chain)?;
		let length = at
			.constants()
			.entry(runtime::constants().staking().period_length())
			.map_err(chain)?;
		Ok(length.max(1))
	}

	/// Blocks a node has to answer a request (`Policies::ResponseWindow`).
	pub async fn response_window(&self) -> Result<BlockNumber, Error> {
		let at = self.api.at_current_block().await.map_err(chain)?;
		at.constants()
			.entry(runtime::constants().policies().response_window())
			.map_err(chain)
	}

	/// The current protocol period.
	pub async fn current_period(&self) -> Result<u32, Error> {
		Ok(self.finalized_block().await? / self.period_length().await?)
	}

	/// The node's service in `period`: whether it heartbeated, and how many request
	/// deadlines it missed.
	pub async fn service(&self, node: &AccountId, period: u32) -> Result<(bool, u32), Error> {
		let at = self.api.at_current_block().await.map_err(chain)?;
		let record = at
			.storage()
			.try_fetch(runtime::storage().staking().service(), (period, *node))
			.await
			.map_err(chain)?;
		Ok(match record {
			Some(record) => {
				let record = record.decode().map_err(chain)?;
				(record.heartbeat, record.missed_deadlines)
			},
			None => (false, 0),
		})
	}

	/// Creates `policy`, escrowing its fees from `owner`.
	pub async fn create_policy(&self, owner: &Keypair, policy: Policy) -> Result<Included, Error> {
		let nodes = policy
			.nodes
			.into_iter()
			.map(|(node, key_version, kfrag)| NodeGrant {
				node,
				key_version,
				kfrag: EncryptedKFrag {
					capsule: BoundedVec(kfrag.capsule),
					ciphertext: BoundedVec(kfrag.ciphertext),
				},
			})
			.collect();
		let call = runtime::tx().policies().create_policy(
			policy.id,
			BoundedVec(policy.label),
			UmbralPublicKey(policy.delegating_key),
			UmbralPublicKey(policy.verifying_key),
			UmbralPublicKey(policy.receiving_key),
			policy.threshold,
			BoundedVec(nodes),
			policy.end,
			policy.fee_rate,
			BoundedVec(policy.conditions),
		);
		self.submit(&call, owner).await
	}

	/// Revokes the owner's policy `id`: its kfrags are dropped and unused fees refunded.
	pub async fn revoke_policy(&self, owner: &Keypair, id: PolicyId) -> Result<Included, Error> {
		self.submit(&runtime::tx().policies().revoke_policy(id), owner).await
	}

	/// Asks the policy's nodes to re-encrypt `capsules` (standard bytes) for `reader`.
	/// Returns the request's id and the block it is in.
	pub async fn request_reencryption(
		&self,
		reader: &Keypair,
		policy: PolicyId,
		capsules: Vec<Vec<u8>>,
	) -> Result<(RequestId, Included), Error> {
		let capsules = BoundedVec(capsules.into_iter().map(BoundedVec).collect());
		let call = runtime::tx().policies().request_reencryption(policy, capsules);
		let included = self.submit(&call, reader).await?;
		let requested = included
			.events
			.find_first::<runtime::policies::events::ReencryptionRequested>()
			.ok_or_else(|| Error::Protocol("no ReencryptionRequested event".into()))?
			.map_err(chain)?;
		Ok((requested.request, included))
	}

	/// The state of a request while the chain retains it.
	pub async fn request_status(
		&self,
		request: RequestId,
	) -> Result<Option<RequestStatus<BlockNumber>>, Error> {
		let at = self.api.at_current_block().await.map_err(chain)?;
		at.runtime_apis()
			.call(runtime::runtime_apis().policies_api().request_status(request))
			.await
			.map_err(chain)
	}

	/// The answers on chain to a request.
	pub async fn cfrags(&self, request: RequestId) -> Result<Answers, Error> {
		let at = self.api.at_current_block().await.map_err(chain)?;
		at.runtime_apis()
			.call(runtime::runtime_apis().policies_api().cfrags(request))
			.await
			.map_err(chain)
	}

	/// Waits until at least `threshold` nodes have answered `request` (checked at each new
	/// block, for at most `blocks` blocks). Returns the answers and the block they were read at.
	pub async fn wait_for_cfrags(
		&self,
		request: RequestId,
		threshold: usize,
		blocks: u32,
	) -> Result<(Answers, BlockNumber), Error> {
		let mut stream = self.api.stream_best_blocks().await.map_err(chain)?;
		let mut seen = 0;
		while let Some(block) = stream.next().await {
			let block = block.map_err(chain)?;
			let at = block.at().await.map_err(chain)?;
			let answers = at
				.runtime_apis()
				.call(runtime::runtime_apis().policies_api().cfrags(request))
				.await
				.map_err(chain)?;
			if answers.len() >= threshold {
				return Ok((answers, block.number() as BlockNumber));
			}
			seen += 1;
			if seen > blocks {
				break;
			}
		}
		Err(Error::Timeout(format!(
			"request {request}: fewer than {threshold} answers within {blocks} blocks"
		)))
	}

	/// Waits until the finalized block (what queries read) is at least `number`.
	pub async fn wait_for_block(&self, number: BlockNumber) -> Result<BlockNumber, Error> {
		let mut stream = self.api.stream_blocks().await.map_err(chain)?;
		while let Some(block) = stream.next().await {
			let block = block.map_err(chain)?;
			if block.number() >= u64::from(number) {
				return Ok(block.number() as BlockNumber);
			}
		}
		Err(Error::Timeout(format!("the node stopped before block {number}")))
	}

	/// Challenges `node`'s cfrag for capsule `index` of `request` (the challenger's deposit
	/// is held until the verdict). A wrong cfrag slashes the node and rewards the challenger.
	pub async fn challenge_cfrag(
		&self,
		challenger: &Keypair,
		request: RequestId,
		node: &AccountId,
		index: u32,
	) -> Result<Included, Error> {
		let call = runtime::tx().adjudicator().challenge_cfrag(request, *node, index);
		self.submit(&call, challenger).await
	}

	/// What `staker` would be paid by claiming every closed period now: the amount and the
	/// periods `from..to` it covers.
	pub async fn pending_rewards(&self, staker: &AccountId) -> Result<(Balance, u32, u32), Error> {
		let at = self.api.at_current_block().await.map_err(chain)?;
		let pending = at
			.runtime_apis()
			.call(runtime::runtime_apis().rewards_api().pending_rewards(*staker))
			.await
			.map_err(chain)?;
		Ok((pending.amount, pending.from, pending.to))
	}

	/// Pays the staker's rewards for up to `up_to_periods` closed, unclaimed periods. Returns
	/// the amount paid.
	pub async fn claim_rewards(
		&self,
		staker: &Keypair,
		up_to_periods: u32,
	) -> Result<(Balance, Included), Error> {
		let included = self
			.submit(&runtime::tx().rewards().claim_rewards(up_to_periods), staker)
			.await?;
		let claimed = included
			.events
			.find_first::<runtime::rewards::events::RewardsClaimed>()
			.ok_or_else(|| Error::Protocol("no RewardsClaimed event".into()))?
			.map_err(chain)?;
		Ok((claimed.amount, included))
	}

	/// The node's active stake.
	pub async fn stake(&self, node: &AccountId) -> Result<Balance, Error> {
		let at = self.api.at_current_block().await.map_err(chain)?;
		let ledger = at
			.storage()
			.try_fetch(runtime::storage().staking().ledgers(), (*node,))
			.await
			.map_err(chain)?;
		Ok(match ledger {
			Some(ledger) => ledger.decode().map_err(chain)?.active,
			None => 0,
		})
	}
}
