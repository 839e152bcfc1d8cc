//! A connection to a KMS Chain node and the operations of every role.

use crate::{
	error::{chain, rpc},
	runtime::{
		self,
		runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			kms_primitives::{
				policies::{AccessDenied, Condition, EncryptedKFrag, NodeGrant, RequestStatus},
				staking::{NodeKeysProof as ChainNodeKeysProof, UmbralPublicKey, UmbralSignature},
			},
			pallet_kms_policies::types::Policy as ChainPolicy,
			pallet_kms_staking::types::{NodeInfo, StakingLedger},
			sp_runtime::MultiSignature,
		},
	},
	umbral::SealedKFrag,
	AccountId, Balance, BlockNumber, ChainConfig, Error, Keypair, PolicyId, Refusal, RequestId,
};
use std::time::Duration;
use subxt::{
	config::{DefaultExtrinsicParamsBuilder, RpcConfigFor},
	rpcs::{methods::LegacyRpcMethods, RpcClient},
	transactions::{Payload, TransactionStatus},
	OnlineClient,
};

/// A node's proof that it holds an operator key and an Umbral key and gives them to `staker`
/// (both keys' signatures over the chain's `NodeKeys` record): what `register_node` and
/// `rotate_node_key` submit. Only the node can make it: see [`prove_node_keys`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeKeysProof {
	/// The staker the keys go to.
	pub staker: AccountId,
	/// The operator account.
	pub operator: AccountId,
	/// The Umbral public key (compressed point).
	pub umbral_key: [u8; 33],
	/// The operator key's sr25519 signature.
	pub operator_signature: [u8; 64],
	/// The Umbral key's signature (umbral-pre's `Signature`, `r ‖ s`).
	pub umbral_signature: [u8; 64],
}

impl NodeKeysProof {
	/// Reads the JSON `kms_proveNodeKeys` returns.
	pub fn from_json(value: &serde_json::Value) -> Result<Self, Error> {
		let field = |name: &str| {
			value[name].as_str().ok_or_else(|| {
				Error::Protocol(format!("the node's proof has no `{name}`: {value}"))
			})
		};
		let account = |name: &str| {
			field(name)?.parse::<AccountId>().map_err(|error| {
				Error::Protocol(format!("the node's proof has a bad `{name}`: {error}"))
			})
		};
		fn bytes<const N: usize>(name: &str, text: &str) -> Result<[u8; N], Error> {
			hex::decode(text.trim_start_matches("0x"))
				.ok()
				.and_then(|bytes| <[u8; N]>::try_from(bytes).ok())
				.ok_or_else(|| {
					Error::Protocol(format!("the node's proof has a bad `{name}`: {text}"))
				})
		}
		Ok(NodeKeysProof {
			staker: account("staker")?,
			operator: account("operator")?,
			umbral_key: bytes("umbral_key", field("umbral_key")?)?,
			operator_signature: bytes("operator_signature", field("operator_signature")?)?,
			umbral_signature: bytes("umbral_signature", field("umbral_signature")?)?,
		})
	}

	/// The proof as the runtime takes it.
	fn chain(&self) -> ChainNodeKeysProof<MultiSignature> {
		ChainNodeKeysProof {
			operator: MultiSignature::Sr25519(self.operator_signature),
			umbral: UmbralSignature(self.umbral_signature),
		}
	}
}

/// Asks the node at `node_url` (its RPC, which must allow unsafe methods: by default, a local
/// connection) to prove for `staker` that it holds the operator key `operator` (default: its only
/// one) and the Umbral key `umbral_key` (default: its newest).
pub async fn prove_node_keys(
	node_url: &str,
	staker: &AccountId,
	operator: Option<&AccountId>,
	umbral_key: Option<[u8; 33]>,
) -> Result<NodeKeysProof, Error> {
	let client = RpcClient::from_insecure_url(node_url).await.map_err(rpc)?;
	let params = subxt::rpcs::rpc_params![
		staker.to_string(),
		operator.map(ToString::to_string),
		umbral_key.map(|key| format!("0x{}", hex::encode(key)))
	];
	let value: serde_json::Value =
		client.request("kms_proveNodeKeys", params).await.map_err(rpc)?;
	let proof = NodeKeysProof::from_json(&value)?;
	if proof.staker != *staker {
		return Err(Error::Protocol(format!(
			"the node proved its keys for {}, not for {staker}",
			proof.staker
		)));
	}
	Ok(proof)
}

/// A connection to a node.
///
/// Reads are made at the node's best block: what a transaction just did is visible at once,
/// and cfrags need no finality (they are verified cryptographically). Finality is reported
/// separately ([`Client::finalized_block`], [`Client::finalize`]). Every wait is bounded:
/// by [`Client::timeout`] in time (120 s unless [`Client::with_timeout`]), and waits for
/// chain events also by a block number.
#[derive(Clone)]
pub struct Client {
	pub(crate) api: OnlineClient<ChainConfig>,
	rpc: LegacyRpcMethods<RpcConfigFor<ChainConfig>>,
	timeout: Duration,
}

/// How long a wait lasts at most unless [`Client::with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// How far finality may lag behind the best block before transactions are anchored at the best
/// block instead of the finalized one (polkadot.js's rule, which takes the best block's
/// parent): a transaction's mortality counts from its anchor, whose hash it signs, so an anchor
/// too old (the finalized block during a finality stall) makes it expire or fail as a bad
/// signature, and a best block that a fork abandons invalidates it too.
pub const MAX_FINALITY_LAG: BlockNumber = 5;

/// Blocks a transaction stays valid after its anchor.
pub const MORTALITY: u64 = 64;

/// How many times a read at the best block is tried when that block vanishes under it (see
/// `Client::at_a_best_block`).
const BEST_BLOCK_ATTEMPTS: u32 = 3;

/// `future`, or [`Error::Timeout`] naming `what` once `timeout` passes.
async fn bounded<T>(
	timeout: Duration,
	what: String,
	future: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
	tokio::time::timeout(timeout, future).await.unwrap_or_else(|_| {
		Err(Error::Timeout(format!("{what}: no answer within {} s", timeout.as_secs())))
	})
}

/// A client at one block (its storage, runtime APIs and constants).
type AtBlock =
	subxt::client::ClientAtBlock<ChainConfig, subxt::client::OnlineClientAtBlockImpl<ChainConfig>>;

/// A transaction in a block, with what it did.
pub struct Included {
	/// The block's number.
	pub block: BlockNumber,
	/// The block's hash.
	pub hash: subxt::utils::H256,
	/// The events of the transaction.
	pub events: subxt::extrinsics::ExtrinsicEvents<ChainConfig>,
	/// Whether the block is known to be finalized (false until [`Client::finalize`] says so).
	pub finalized: bool,
}

/// Blocks a request may take to land after its price was read ([`Client::default_max_price`]).
pub const PRICE_BLOCKS: u32 = 4;

/// At least what a request price of `price` can have become `blocks` blocks later: the chain
/// raises it by at most an eighth a block (`Policies::update_request_price`). Past 64 blocks the
/// bound is far above any price a reader would pay, and stops growing.
pub fn price_bound(price: Balance, blocks: u32) -> Balance {
	(0..blocks.min(64)).fold(price, |max, _| max.saturating_add(max / 8 + 1))
}

impl Included {
	/// The transaction's first event of type `E`, which the chain must have emitted.
	pub fn event<E: subxt::events::DecodeAsEvent>(&self) -> Result<E, Error> {
		let name = core::any::type_name::<E>().rsplit("::").next().unwrap_or("an");
		self.events
			.find_first::<E>()
			.ok_or_else(|| Error::Protocol(format!("no {name} event")))?
			.map_err(chain)
	}
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
	/// The first block after the policy: it serves through `end - 1`.
	pub end: BlockNumber,
	/// The fee per node and period.
	pub fee_rate: Balance,
	/// The access conditions, flat in prefix order (empty: the reader only needs the policy).
	pub conditions: Vec<Condition<AccountId, Balance, BlockNumber>>,
}

/// A policy as the chain records it.
pub type PolicyRecord = ChainPolicy<AccountId, Balance, BlockNumber>;

/// The chain's form of a policy's grants.
fn grants(nodes: Vec<(AccountId, u32, SealedKFrag)>) -> Vec<NodeGrant<AccountId>> {
	nodes
		.into_iter()
		.map(|(node, key_version, kfrag)| NodeGrant {
			node,
			key_version,
			kfrag: EncryptedKFrag {
				capsule: BoundedVec(kfrag.capsule),
				ciphertext: BoundedVec(kfrag.ciphertext),
			},
		})
		.collect()
}

/// The host of `url` if it is plain `ws://` (or `http://`) to a host other than this machine:
/// everything sent there, signed transactions and what is read back included, crosses the
/// network unencrypted and unauthenticated, so anyone on the path can read or change it.
/// Loopback (`localhost`, `127.0.0.0/8`, `::1`) is not such a host.
pub fn insecure_remote_host(url: &str) -> Option<&str> {
	let rest = url.strip_prefix("ws://").or_else(|| url.strip_prefix("http://"))?;
	let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
	let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
	let host = match authority.strip_prefix('[') {
		Some(bracketed) => bracketed.split_once(']').map_or(bracketed, |(host, _)| host),
		None => authority.split(':').next().unwrap_or_default(),
	};
	let loopback = host.eq_ignore_ascii_case("localhost")
		|| host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
	(!loopback).then_some(host)
}

/// The answers to a request, each node with one cfrag per capsule.
pub type Answers = Vec<(AccountId, Vec<Vec<u8>>)>;

impl Client {
	/// Connects to the node at `url` (`ws://` or `wss://`). Plain `ws://` to another machine
	/// works, but see [`insecure_remote_host`].
	pub async fn connect(url: &str) -> Result<Self, Error> {
		let connecting = async {
			let rpc = RpcClient::from_insecure_url(url).await.map_err(rpc)?;
			// The node's `chain_*`, `state_*` and `author_*` methods (what polkadot.js uses), not
			// subxt's default of the `chainHead_v1_*` ones: through those, every read at a block
			// (the block's runtime version, then the read itself) answered in about 43 ms on
			// the three-validator benchmark network, through these in 1–3 ms. An on-chain
			// decrypt makes several before its request is submitted and after its answers'
			// block arrives: 0.1 s less on each side (`scripts/bench-fast-path.sh`).
			let backend = subxt::backend::LegacyBackend::builder().build(rpc.clone());
			let api = OnlineClient::<ChainConfig>::from_backend(std::sync::Arc::new(backend))
				.await
				.map_err(chain)?;
			Ok(Client { api, rpc: LegacyRpcMethods::new(rpc), timeout: DEFAULT_TIMEOUT })
		};
		bounded(DEFAULT_TIMEOUT, format!("connecting to {url}"), connecting).await
	}

	/// The same connection, with every wait bounded by `timeout`.
	pub fn with_timeout(mut self, timeout: Duration) -> Self {
		self.timeout = timeout;
		self
	}

	/// How long a wait lasts at most.
	pub fn timeout(&self) -> Duration {
		self.timeout
	}

	/// `future`, or [`Error::Timeout`] naming `what` once [`Client::timeout`] passes.
	async fn bounded<T>(
		&self,
		what: impl FnOnce() -> String,
		future: impl std::future::Future<Output = Result<T, Error>>,
	) -> Result<T, Error> {
		bounded(self.timeout, what(), future).await
	}

	/// The best block's hash and number.
	async fn best(&self) -> Result<(subxt::utils::H256, BlockNumber), Error> {
		self.at_a_best_block(|hash| async move { Ok((hash, self.number_of(hash).await?)) })
			.await
	}

	/// `read` at the best block. Between asking the node for its best block and reading at it,
	/// a sibling may be finalized and the block pruned (on a network, early blocks fork): then
	/// `read` runs again at the new best block, up to [`BEST_BLOCK_ATTEMPTS`] times in all.
	/// Errors of the connection itself are returned at once.
	async fn at_a_best_block<T, F, Fut>(&self, read: F) -> Result<T, Error>
	where
		F: Fn(subxt::utils::H256) -> Fut,
		Fut: std::future::Future<Output = Result<T, Error>>,
	{
		let mut attempt = 1;
		loop {
			let hash = self
				.rpc
				.chain_get_block_hash(None)
				.await
				.map_err(rpc)?
				.ok_or_else(|| Error::Protocol("the node has no best block".into()))?;
			match read(hash).await {
				Err(Error::Chain(_) | Error::Protocol(_)) if attempt < BEST_BLOCK_ATTEMPTS => {
					attempt += 1
				},
				result => return result,
			}
		}
	}

	/// The latest finalized block's hash and number.
	async fn finalized(&self) -> Result<(subxt::utils::H256, BlockNumber), Error> {
		let hash = self.rpc.chain_get_finalized_head().await.map_err(rpc)?;
		Ok((hash, self.number_of(hash).await?))
	}

	async fn number_of(&self, hash: subxt::utils::H256) -> Result<BlockNumber, Error> {
		let header = self.rpc.chain_get_header(Some(hash)).await.map_err(rpc)?;
		header
			.map(|header| header.number as BlockNumber)
			.ok_or_else(|| Error::Protocol(format!("the node has no header for block {hash:?}")))
	}

	/// A client at the best block.
	async fn at_best(&self) -> Result<AtBlock, Error> {
		self.at_a_best_block(|hash| async move {
			self.api.at_block(subxt::backend::BlockRef::from(hash)).await.map_err(chain)
		})
		.await
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
		let anchor = self.signing_anchor().await?;
		self.submit_at(call, signer, anchor).await
	}

	/// Where a transaction signed now is anchored: the finalized block while finality keeps up,
	/// the best block when it lags more than [`MAX_FINALITY_LAG`] blocks (a stalled finality
	/// must not stop transactions; a best block that a fork abandons invalidates them, which is
	/// why the finalized block is preferred while it is recent).
	pub(crate) async fn signing_anchor(&self) -> Result<subxt::utils::H256, Error> {
		let ((best, best_number), (finalized, finalized_number)) =
			(self.best().await?, self.finalized().await?);
		Ok(if best_number.saturating_sub(finalized_number) > MAX_FINALITY_LAG {
			best
		} else {
			finalized
		})
	}

	/// [`Client::submit`], with the transaction anchored at block `anchor`: its mortality counts
	/// from there and it signs that block's hash, so it is invalid on any chain without that
	/// block (a challenge anchored at its request's block can never land on a fork where the
	/// request id is someone else's).
	pub async fn submit_at<Call: Payload>(
		&self,
		call: &Call,
		signer: &Keypair,
		anchor: subxt::utils::H256,
	) -> Result<Included, Error> {
		let mut progress = self
			.bounded(|| "the node did not take the transaction".into(), async {
				let nonce = self.next_nonce(&signer.public_key().to_account_id()).await?;
				let at = self
					.api
					.at_block(subxt::backend::BlockRef::from(anchor))
					.await
					.map_err(chain)?;
				let params =
					DefaultExtrinsicParamsBuilder::new().nonce(nonce).mortal(MORTALITY).build();
				let signed =
					at.transactions().create_signed(call, signer, params).await.map_err(chain)?;
				self.check_validity(signed.encoded()).await?;
				signed.submit_and_watch().await.map_err(chain)
			})
			.await?;
		let hash = progress.extrinsic_hash();
		// Submitted: past this point a timeout must not invite a second, paid submission.
		let what = || {
			format!(
				"transaction {hash:?} was submitted but not seen in a block; it stays valid for \
				 {MORTALITY} blocks, so check whether it landed before submitting it again"
			)
		};
		self.bounded(what, async move {
			while let Some(status) = progress.next().await {
				let (in_block, finalized) = match status.map_err(chain)? {
					TransactionStatus::InBestBlock(in_block) => (in_block, false),
					TransactionStatus::InFinalizedBlock(in_block) => (in_block, true),
					TransactionStatus::Error { message }
					| TransactionStatus::Invalid { message }
					| TransactionStatus::Dropped { message } => {
						return Err(Error::Refused(Refusal::Pool(message)))
					},
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
					finalized,
				});
			}
			Err(Error::Refused(Refusal::Pool(
				"the node stopped reporting on the transaction".into(),
			)))
		})
		.await
	}

	/// Asks the runtime at the best block whether the pool would take `transaction`, as the
	/// pool itself asks, so that a refusal is a typed [`Refusal`] rather than the pool's words.
	/// A transaction whose nonce is ahead of the chain's (queued behind others of the account)
	/// is fine: the pool keeps it until its turn.
	async fn check_validity(&self, transaction: &[u8]) -> Result<(), Error> {
		use subxt::ext::codec::Decode;
		let (best, _) = self.best().await?;
		// `(TransactionSource::External, transaction, best)`, SCALE-encoded.
		let mut params = Vec::with_capacity(transaction.len() + 33);
		params.push(2u8);
		params.extend_from_slice(transaction);
		params.extend_from_slice(best.as_ref());
		let verdict = self
			.rpc
			.state_call("TaggedTransactionQueue_validate_transaction", Some(&params), Some(best))
			.await
			.map_err(rpc)?;
		match verdict.as_slice() {
			[0, ..] => Ok(()),
			[1, 0, rest @ ..] => {
				match subxt::transactions::TransactionInvalid::decode(&mut &rest[..]) {
					Ok(subxt::transactions::TransactionInvalid::Future) => Ok(()),
					Ok(invalid) => Err(Error::Refused(Refusal::of(invalid))),
					Err(_) => Err(Error::Refused(Refusal::Invalid(format!(
						"invalid transaction (0x{})",
						hex::encode(rest)
					)))),
				}
			},
			[1, 1, rest @ ..] => Err(Error::Refused(Refusal::Invalid(format!(
				"the runtime cannot tell whether the transaction is valid (0x{})",
				hex::encode(rest)
			)))),
			_ => Err(Error::Protocol(format!(
				"the node's verdict on a transaction is not one (0x{})",
				hex::encode(&verdict)
			))),
		}
	}

	/// The next transaction index (nonce) of `account`, counting its transactions in the
	/// node's pool: what a transaction signed now takes.
	pub async fn next_nonce(&self, account: &AccountId) -> Result<u64, Error> {
		self.rpc.system_account_next_index(account).await.map_err(rpc)
	}

	/// Waits (at most [`Client::timeout`]) until the block that included a transaction is
	/// finalized: for what must be final, such as payments. An error if another block was
	/// finalized at its height.
	pub async fn finalize(&self, included: &Included) -> Result<(), Error> {
		self.bounded(
			|| format!("block {} was not finalized (finality lags)", included.block),
			self.wait_for_block(included.block),
		)
		.await?;
		let hash = self.rpc.chain_get_block_hash(Some(included.block.into())).await.map_err(rpc)?;
		if hash != Some(included.hash) {
			return Err(Error::Protocol(format!(
				"block {} was finalized without the transaction (a fork was abandoned); check \
				 whether it went through, and submit again if not",
				included.block
			)));
		}
		Ok(())
	}

	/// The value at `address` under `key` at the best block, decoded; `None` if absent.
	pub(crate) async fn fetch<Addr: subxt::storage::Address>(
		&self,
		address: Addr,
		key: Addr::KeyParts,
	) -> Result<Option<Addr::Value>, Error> {
		let at = self.at_best().await?;
		let value = at.storage().try_fetch(address, key).await.map_err(chain)?;
		value.map(|value| value.decode().map_err(chain)).transpose()
	}

	/// Calls a runtime API at the best block.
	async fn call<Call: subxt::runtime_apis::Payload>(
		&self,
		call: Call,
	) -> Result<Call::ReturnType, Error> {
		let at = self.at_best().await?;
		at.runtime_apis().call(call).await.map_err(chain)
	}

	/// A constant of the runtime.
	async fn constant<Addr: subxt::constants::Address>(
		&self,
		address: Addr,
	) -> Result<Addr::Target, Error> {
		let at = self.at_best().await?;
		at.constants().entry(address).map_err(chain)
	}

	/// The number of the latest finalized block.
	pub async fn finalized_block(&self) -> Result<BlockNumber, Error> {
		Ok(self.finalized().await?.1)
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

	/// Adds `value` of the staker's balance to its bond.
	pub async fn bond_extra(&self, staker: &Keypair, value: Balance) -> Result<Included, Error> {
		self.submit(&runtime::tx().staking().bond_extra(value), staker).await
	}

	/// Starts (`true`) or stops winding the staker's lock down by one period per period.
	pub async fn set_wind_down(&self, staker: &Keypair, enabled: bool) -> Result<Included, Error> {
		self.submit(&runtime::tx().staking().set_wind_down(enabled), staker).await
	}

	/// Starts unbonding `value` of an unlocked stake.
	pub async fn unbond(&self, staker: &Keypair, value: Balance) -> Result<Included, Error> {
		self.submit(&runtime::tx().staking().unbond(value), staker).await
	}

	/// Releases every unbonded chunk whose unbonding period has passed.
	pub async fn withdraw_unbonded(&self, staker: &Keypair) -> Result<Included, Error> {
		self.submit(&runtime::tx().staking().withdraw_unbonded(), staker).await
	}

	/// Registers a new Umbral key for the staker's node, proven by `proof` (made for this
	/// staker by the node, [`prove_node_keys`]); kfrags of older versions stay served.
	pub async fn rotate_node_key(
		&self,
		staker: &Keypair,
		proof: &NodeKeysProof,
	) -> Result<Included, Error> {
		let call = runtime::tx()
			.staking()
			.rotate_node_key(UmbralPublicKey(proof.umbral_key), proof.chain());
		self.submit(&call, staker).await
	}

	/// Sets the lowest fee rate the staker's node accepts in new policies.
	pub async fn set_min_fee_rate(
		&self,
		staker: &Keypair,
		rate: Balance,
	) -> Result<Included, Error> {
		self.submit(&runtime::tx().staking().set_min_fee_rate(rate), staker).await
	}

	/// Lengthens the staker's lock by `extra_periods` periods.
	pub async fn prolong(&self, staker: &Keypair, extra_periods: u32) -> Result<Included, Error> {
		self.submit(&runtime::tx().staking().prolong(extra_periods), staker).await
	}

	/// Registers the staker's node with the operator account and Umbral key `proof` proves
	/// (made for this staker by the node, [`prove_node_keys`]), and its minimum fee rate.
	pub async fn register_node(
		&self,
		staker: &Keypair,
		proof: &NodeKeysProof,
		min_fee_rate: Balance,
	) -> Result<Included, Error> {
		let call = runtime::tx().staking().register_node(
			proof.operator,
			UmbralPublicKey(proof.umbral_key),
			min_fee_rate,
			proof.chain(),
		);
		self.submit(&call, staker).await
	}

	/// The node's current Umbral key and its version, if it is registered.
	pub async fn node_key(&self, node: &AccountId) -> Result<Option<(u32, [u8; 33])>, Error> {
		let Some(info) = self.node(node).await? else { return Ok(None) };
		let count = info.keys.0.len() as u32;
		Ok(info
			.keys
			.0
			.last()
			.map(|key| (info.first_key_version + count.saturating_sub(1), key.0)))
	}

	/// Why `node` cannot be granted a policy ending at block `end` (its first block after) at
	/// fee rate `rate`, in words; `None` if it can. The chain answers (`GrantsApi`, the checks
	/// `create_policy` makes: `NodeNotEligible`, `FeeRateBelowNodeMinimum`), so that a refusal
	/// names the node and the reason before anything is submitted.
	pub async fn ineligibility(
		&self,
		node: &AccountId,
		end: BlockNumber,
		rate: Balance,
	) -> Result<Option<String>, Error> {
		use runtime::runtime_types::kms_primitives::{
			policies::GrantRefusal, staking::Ineligibility,
		};
		let refusal = self
			.call(runtime::runtime_apis().grants_api().grant_refusal(*node, end, rate))
			.await?;
		let Some(refusal) = refusal else { return Ok(None) };
		Ok(Some(match refusal {
			GrantRefusal::Ineligible(Ineligibility::NotRegistered) => {
				"it is not a registered node".into()
			},
			GrantRefusal::Ineligible(Ineligibility::StakeBelowMinimum) => {
				let min_stake = self.constant(runtime::constants().staking().min_stake()).await?;
				let active = self.ledger(node).await?.map(|ledger| ledger.active).unwrap_or(0);
				format!(
					"it stakes {}, less than the minimum of {}",
					crate::units::format_amount(active),
					crate::units::format_amount(min_stake)
				)
			},
			GrantRefusal::Ineligible(Ineligibility::LockTooShort { locked_until }) => {
				let period_length = self.period_length().await?;
				format!(
					"its stake is locked through period {locked_until} (block {}), and the \
					 policy runs into period {}: its operator can extend the lock (`kms stake \
					 prolong`), or the policy can end earlier",
					(locked_until + 1).saturating_mul(period_length).saturating_sub(1),
					end.saturating_sub(1) / period_length.max(1)
				)
			},
			GrantRefusal::Ineligible(Ineligibility::NotServing) => {
				"it has not heartbeated in this period or the last, or it missed a deadline: it \
				 may be offline"
					.into()
			},
			GrantRefusal::FeeRateBelowMinimum => {
				let minimum = self.node(node).await?.map(|info| info.min_fee_rate).unwrap_or(0);
				format!(
					"it asks at least {} per period, more than the rate offered (raise --rate)",
					crate::units::format_amount(minimum)
				)
			},
		}))
	}

	/// Blocks per protocol period.
	pub async fn period_length(&self) -> Result<BlockNumber, Error> {
		Ok(self.constant(runtime::constants().staking().period_length()).await?.max(1))
	}

	/// Blocks a node has to answer a request (`Policies::ResponseWindow`).
	pub async fn response_window(&self) -> Result<BlockNumber, Error> {
		self.constant(runtime::constants().policies().response_window()).await
	}

	/// The current protocol period.
	pub async fn current_period(&self) -> Result<u32, Error> {
		Ok(self.best_block().await? / self.period_length().await?)
	}

	/// The node's service in `period`: whether it heartbeated, and how many request
	/// deadlines it missed.
	pub async fn service(&self, node: &AccountId, period: u32) -> Result<(bool, u32), Error> {
		let record = self.fetch(runtime::storage().staking().service(), (period, *node)).await?;
		Ok(record.map_or((false, 0), |record| (record.heartbeat, record.missed_deadlines)))
	}

	/// Creates `policy`, escrowing its fees from `owner`. `signer` is the signer that made the
	/// policy's kfrags (its key is `policy.verifying_key`): it signs the policy's terms, which
	/// the chain requires so that nobody else can grant the same kfrags.
	pub async fn create_policy(
		&self,
		owner: &Keypair,
		policy: Policy,
		signer: &umbral_pre::Signer,
	) -> Result<Included, Error> {
		let nodes = grants(policy.nodes);
		let owner_account = owner.public_key().to_account_id();
		// `GrantTerms` of `kms_primitives::policies`, field by field in its SCALE layout.
		let terms = (
			owner_account,
			policy.id,
			(policy.verifying_key, policy.delegating_key, policy.receiving_key),
			policy.threshold,
			policy.end,
			&policy.conditions,
			&nodes,
		);
		let payload = kms_primitives::signing::payload(
			kms_primitives::signing::GRANT,
			&self.api.genesis_hash(),
			&terms,
		);
		let signature = UmbralSignature(
			signer
				.sign(&payload)
				.to_be_bytes()
				.as_ref()
				.try_into()
				.map_err(|_| Error::Umbral("umbral-pre's signature is not 64 bytes".into()))?,
		);
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
			signature,
		);
		self.submit(&call, owner).await
	}

	/// Replaces the kfrags of the owner's policy `id` (new nodes and/or a new reader), bumping
	/// its version: the old kfrags are no longer served.
	pub async fn rotate_policy(
		&self,
		owner: &Keypair,
		id: PolicyId,
		receiving_key: [u8; 33],
		threshold: u32,
		nodes: Vec<(AccountId, u32, SealedKFrag)>,
	) -> Result<Included, Error> {
		let call = runtime::tx().policies().rotate_policy(
			id,
			UmbralPublicKey(receiving_key),
			threshold,
			BoundedVec(grants(nodes)),
		);
		self.submit(&call, owner).await
	}

	/// The policy `id` as the chain records it.
	pub async fn policy(&self, id: PolicyId) -> Result<Option<PolicyRecord>, Error> {
		self.fetch(runtime::storage().policies().policies(), (id,)).await
	}

	/// Ids of every policy `owner` created, in storage order.
	pub async fn policies_of(&self, owner: &AccountId) -> Result<Vec<PolicyId>, Error> {
		const PAGE: u32 = 100;
		let at = self.at_best().await?;
		let mut ids = Vec::new();
		loop {
			let call = runtime::runtime_apis().policies_api().policies_of(
				*owner,
				ids.last().copied(),
				PAGE,
			);
			// Every page from the same block: one consistent listing.
			let page = at.runtime_apis().call(call).await.map_err(chain)?;
			let done = page.is_empty();
			ids.extend(page);
			if done {
				return Ok(ids);
			}
		}
	}

	/// Whether `requester` may request re-encryption under `policy` now (what
	/// `request_reencryption` would check), the reason if not.
	pub async fn check_access(
		&self,
		policy: PolicyId,
		requester: &AccountId,
	) -> Result<Result<(), AccessDenied>, Error> {
		self.call(runtime::runtime_apis().policies_api().check_access(policy, *requester))
			.await
	}

	/// Up to `count` nodes eligible for a policy ending at `end` (its first block after),
	/// drawn with probability proportional to stake from `seed`.
	pub async fn sample_nodes(
		&self,
		count: u32,
		end: BlockNumber,
		seed: [u8; 32],
	) -> Result<Vec<AccountId>, Error> {
		self.call(runtime::runtime_apis().policies_api().sample_nodes(count, end, seed))
			.await
	}

	/// The range of fee rates a policy may set (`Policies::MinFeeRate`, `MaxFeeRate`).
	pub async fn fee_rate_range(&self) -> Result<(Balance, Balance), Error> {
		let constants = runtime::constants().policies();
		Ok((
			self.constant(constants.min_fee_rate()).await?,
			self.constant(constants.max_fee_rate()).await?,
		))
	}

	/// Milliseconds per block (Aura's slot duration).
	pub async fn block_time_ms(&self) -> Result<u64, Error> {
		Ok(self.call(runtime::runtime_apis().aura_api().slot_duration()).await?.0)
	}

	/// The number of the best block (the chain's head, not yet final).
	pub async fn best_block(&self) -> Result<BlockNumber, Error> {
		Ok(self.best().await?.1)
	}

	/// The account's free balance.
	pub async fn free_balance(&self, account: &AccountId) -> Result<Balance, Error> {
		let info = self.fetch(runtime::storage().system().account(), (*account,)).await?;
		Ok(info.map_or(0, |info| info.data.free))
	}

	/// The staker's ledger, if it ever bonded.
	pub async fn ledger(
		&self,
		staker: &AccountId,
	) -> Result<Option<StakingLedger<Balance>>, Error> {
		self.fetch(runtime::storage().staking().ledgers(), (*staker,)).await
	}

	/// The staker's node, if registered.
	pub async fn node(
		&self,
		node: &AccountId,
	) -> Result<Option<NodeInfo<AccountId, Balance>>, Error> {
		self.fetch(runtime::storage().staking().nodes(), (*node,)).await
	}

	/// Revokes the owner's policy `id`: its kfrags are dropped and unused fees refunded.
	pub async fn revoke_policy(&self, owner: &Keypair, id: PolicyId) -> Result<Included, Error> {
		self.submit(&runtime::tx().policies().revoke_policy(id), owner).await
	}

	/// Closes policy `id` if it ended and settles up to `max_periods` periods of each of its
	/// fee shares. Anyone may sign.
	pub async fn settle_policy(
		&self,
		signer: &Keypair,
		id: PolicyId,
		max_periods: u32,
	) -> Result<Included, Error> {
		self.submit(&runtime::tx().policies().settle_policy(id, max_periods), signer)
			.await
	}

	/// Removes the owner's closed, settled policy `id` whose requests are pruned. Returns what
	/// of its storage deposit came back.
	pub async fn remove_policy(
		&self,
		owner: &Keypair,
		id: PolicyId,
	) -> Result<(Balance, Included), Error> {
		let included = self.submit(&runtime::tx().policies().remove_policy(id), owner).await?;
		let removed = included.event::<runtime::policies::events::PolicyRemoved>()?;
		Ok((removed.released, included))
	}

	/// The most periods of a share one settlement covers (`Policies::MaxClaimPeriods`).
	pub async fn max_settle_periods(&self) -> Result<u32, Error> {
		self.constant(runtime::constants().policies().max_claim_periods()).await
	}

	/// What a request burns for its slot (`Policies::RequestPrice`, or its floor
	/// `MinRequestPrice`) at the best block: the price moves every block with the load.
	pub async fn request_price(&self) -> Result<Balance, Error> {
		let floor = self.constant(runtime::constants().policies().min_request_price()).await?;
		let stored = self.fetch(runtime::storage().policies().request_price(), ()).await?;
		Ok(stored.unwrap_or_default().max(floor))
	}

	/// What a request sent now should accept to pay for its slot: twice the current price,
	/// grown by the most the price can rise (an eighth a block) in the [`PRICE_BLOCKS`] blocks
	/// a transaction may take to land, so that full blocks do not refuse an honest reader.
	pub async fn default_max_price(&self) -> Result<Balance, Error> {
		Ok(price_bound(self.request_price().await?.saturating_mul(2), PRICE_BLOCKS))
	}

	/// The most requests a block takes (`Policies::MaxRequestsPerBlock`).
	pub async fn max_requests_per_block(&self) -> Result<u32, Error> {
		self.constant(runtime::constants().policies().max_requests_per_block()).await
	}

	/// Blocks the chain keeps a request after its deadline (`Policies::RetentionPeriod`).
	pub async fn retention_period(&self) -> Result<BlockNumber, Error> {
		self.constant(runtime::constants().policies().retention_period()).await
	}

	/// Asks the policy's nodes to re-encrypt `capsules` (standard bytes) for `reader`, paying
	/// at most [`Client::default_max_price`] for its slot. Returns the request's id and the
	/// block it is in.
	pub async fn request_reencryption(
		&self,
		reader: &Keypair,
		policy: PolicyId,
		capsules: Vec<Vec<u8>>,
	) -> Result<(RequestId, Included), Error> {
		let max_price = self.default_max_price().await?;
		self.request_reencryption_within(reader, policy, capsules, max_price).await
	}

	/// The same, paying at most `max_price` for the request's slot (refused with
	/// `Policies::RequestPriceAboveMax` if it costs more when the request lands).
	pub async fn request_reencryption_within(
		&self,
		reader: &Keypair,
		policy: PolicyId,
		capsules: Vec<Vec<u8>>,
		max_price: Balance,
	) -> Result<(RequestId, Included), Error> {
		let capsules = BoundedVec(capsules.into_iter().map(BoundedVec).collect());
		let call = runtime::tx().policies().request_reencryption(policy, capsules, max_price);
		let included = self.submit(&call, reader).await?;
		let requested = included.event::<runtime::policies::events::ReencryptionRequested>()?;
		Ok((requested.request, included))
	}

	/// The state of a request while the chain retains it.
	pub async fn request_status(
		&self,
		request: RequestId,
	) -> Result<Option<RequestStatus<BlockNumber>>, Error> {
		self.call(runtime::runtime_apis().policies_api().request_status(request)).await
	}

	/// The answers on chain to a request.
	pub async fn cfrags(&self, request: RequestId) -> Result<Answers, Error> {
		self.call(runtime::runtime_apis().policies_api().cfrags(request)).await
	}

	/// Waits until at least `threshold` nodes have answered `request`, checking each new best
	/// block; gives up once a block after `until` (e.g. the request's deadline) has not enough,
	/// or [`Client::timeout`] passes. Returns the answers and the block they were read at. After
	/// a timeout, [`Client::cfrags`] still gives what did arrive.
	pub async fn wait_for_cfrags(
		&self,
		request: RequestId,
		threshold: usize,
		until: BlockNumber,
	) -> Result<(Answers, BlockNumber), Error> {
		let what = || format!("request {request}: fewer than {threshold} answers");
		self.bounded(what, async {
			let mut stream = self.api.stream_best_blocks().await.map_err(chain)?;
			while let Some(block) = stream.next().await {
				let block = block.map_err(chain)?;
				let at = block.at().await.map_err(chain)?;
				let answers = at
					.runtime_apis()
					.call(runtime::runtime_apis().policies_api().cfrags(request))
					.await
					.map_err(chain)?;
				let number = block.number() as BlockNumber;
				if answers.len() >= threshold {
					return Ok((answers, number));
				}
				if number > until {
					return Err(Error::Timeout(format!(
						"request {request}: {} of {threshold} answers by block {until}",
						answers.len()
					)));
				}
			}
			Err(Error::Timeout(format!("the node stopped before request {request} was answered")))
		})
		.await
	}

	/// Waits until `threshold` nodes of policy `id`'s current version have accepted it (it
	/// takes requests from then on) in the best chain, checking each new best block (and at most
	/// [`Client::timeout`]). Nodes check their kfrag
	/// before they accept (a self-test included) and decline what fails; the policy can never
	/// become usable once fewer than `threshold` nodes are left. Returns how the nodes stand
	/// when it is usable; an error when it cannot become so, or when block `until` passes
	/// first. `granted` is the node list the owner submitted (declined nodes leave the policy);
	/// declines are read from the events of the blocks from `since` (the grant's block) on.
	pub async fn wait_for_acceptance(
		&self,
		id: PolicyId,
		granted: &[AccountId],
		since: BlockNumber,
		until: BlockNumber,
	) -> Result<Acceptance, Error> {
		let what = || format!("policy {} was not accepted by enough nodes", hex::encode(id));
		self.bounded(what, self.follow_acceptance(id, granted, since, until)).await
	}

	async fn follow_acceptance(
		&self,
		id: PolicyId,
		granted: &[AccountId],
		since: BlockNumber,
		until: BlockNumber,
	) -> Result<Acceptance, Error> {
		let mut reasons: Vec<(AccountId, String)> = Vec::new();
		let mut unread = since;
		let mut stream = self.api.stream_best_blocks().await.map_err(chain)?;
		while let Some(block) = stream.next().await {
			let block = block.map_err(chain)?;
			let number = block.number() as BlockNumber;
			if number < since {
				// The stream may start from a block before the grant.
				continue;
			}
			// Every block since the last one read: decisions may land before the stream starts,
			// and the stream may skip blocks.
			while unread <= number {
				let at = self.api.at_block(unread).await.map_err(chain)?;
				let events = at.events().fetch().await.map_err(chain)?;
				for declined in events.find::<runtime::policies::events::PolicyDeclined>() {
					let declined = declined.map_err(chain)?;
					if declined.id == id && !reasons.iter().any(|(node, _)| *node == declined.node)
					{
						reasons.push((declined.node, format!("{:?}", declined.reason)));
					}
				}
				unread += 1;
			}
			let at = block.at().await.map_err(chain)?;
			let policy = at
				.storage()
				.try_fetch(runtime::storage().policies().policies(), (id,))
				.await
				.map_err(chain)?
				.map(|value| value.decode().map_err(chain))
				.transpose()?
				.ok_or_else(|| {
					Error::Protocol(format!("no policy {} on chain", hex::encode(id)))
				})?;
			let acceptance = Acceptance::of(&policy, granted, &reasons);
			if acceptance.ready() {
				return Ok(acceptance);
			}
			if acceptance.hopeless() {
				return Err(Error::Declined(format!(
					"policy {}: {} of its nodes declined it ({}); only {} can still accept, \
					 fewer than its threshold of {}: rotate it to other nodes",
					hex::encode(id),
					acceptance.declined.len(),
					acceptance.declined_text(),
					acceptance.accepted.len() + acceptance.pending.len(),
					acceptance.threshold,
				)));
			}
			if number > until {
				return Err(Error::Timeout(format!(
					"policy {}: {} of {} nodes accepted by block {until} ({} pending); it takes \
					 requests once {} have",
					hex::encode(id),
					acceptance.accepted.len(),
					granted.len(),
					acceptance.pending.len(),
					acceptance.threshold,
				)));
			}
		}
		Err(Error::Timeout(format!(
			"the node stopped before policy {} was accepted",
			hex::encode(id)
		)))
	}

	/// Waits until the finalized block is at least `number` (unbounded: see
	/// [`Client::finalize`] for a bounded wait).
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

	/// Challenges `node`'s cfrag for capsule `index` of the challenger's own request, made by the
	/// transaction `requested`: only while that request is still in the best chain as the
	/// challenger's, and anchored at its block, so that the challenge can never land on a fork
	/// where `request` names someone else's request (whose correct cfrags would cost the
	/// challenger its deposit).
	pub async fn challenge_own_cfrag(
		&self,
		challenger: &Keypair,
		requested: &Included,
		request: RequestId,
		node: &AccountId,
		index: u32,
	) -> Result<Included, Error> {
		let canonical =
			self.rpc.chain_get_block_hash(Some(requested.block.into())).await.map_err(rpc)?;
		if canonical != Some(requested.hash) {
			return Err(Error::Protocol(format!(
				"block {} of request {request} left the best chain (a fork): not challenging",
				requested.block
			)));
		}
		let me = challenger.public_key().to_account_id();
		let record = self.fetch(runtime::storage().policies().requests(), (request,)).await?;
		if record.as_ref().map(|record| record.requester) != Some(me) {
			return Err(Error::Protocol(format!(
				"request {request} is not this account's on the best chain: not challenging"
			)));
		}
		let call = runtime::tx().adjudicator().challenge_cfrag(request, *node, index);
		self.submit_at(&call, challenger, requested.hash).await
	}

	/// What `staker` would be paid by claiming every closed period now: the amount and the
	/// periods `from..to` it covers.
	pub async fn pending_rewards(&self, staker: &AccountId) -> Result<(Balance, u32, u32), Error> {
		let pending = self
			.call(runtime::runtime_apis().rewards_api().pending_rewards(*staker))
			.await?;
		Ok((pending.amount, pending.from, pending.to))
	}

	/// The most closed periods one `claim_rewards` may cover (`Rewards::MaxClaimPeriods`).
	pub async fn max_claim_periods(&self) -> Result<u32, Error> {
		self.constant(runtime::constants().rewards().max_claim_periods()).await
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
		let claimed = included.event::<runtime::rewards::events::RewardsClaimed>()?;
		Ok((claimed.amount, included))
	}

	/// The node's active stake.
	pub async fn stake(&self, node: &AccountId) -> Result<Balance, Error> {
		Ok(self.ledger(node).await?.map_or(0, |ledger| ledger.active))
	}
}

/// How the nodes of a policy's current version stand: each node checks its kfrag and accepts
/// or declines it on chain before the policy binds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acceptance {
	/// The policy's current version.
	pub version: u32,
	/// The nodes that accepted it.
	pub accepted: Vec<AccountId>,
	/// The nodes that have not decided yet.
	pub pending: Vec<AccountId>,
	/// The nodes that declined it, with the reason the chain recorded (when seen).
	pub declined: Vec<(AccountId, String)>,
	/// How many nodes must accept before the policy takes requests.
	pub threshold: u32,
}

impl Acceptance {
	/// The standing of `policy`, whose owner granted `granted`; `reasons` are the declines seen.
	pub fn of(
		policy: &PolicyRecord,
		granted: &[AccountId],
		reasons: &[(AccountId, String)],
	) -> Self {
		let listed = &policy.nodes.0;
		let declined = granted
			.iter()
			.filter(|node| !listed.iter().any(|entry| entry.node == **node))
			.map(|node| {
				let reason =
					reasons.iter().find(|(who, _)| who == node).map(|(_, why)| why.clone());
				(*node, reason.unwrap_or_else(|| "declined".into()))
			})
			.collect();
		Acceptance {
			version: policy.version,
			accepted: listed.iter().filter(|e| e.accepted.is_some()).map(|e| e.node).collect(),
			pending: listed.iter().filter(|e| e.accepted.is_none()).map(|e| e.node).collect(),
			declined,
			threshold: policy.threshold,
		}
	}

	/// Whether the policy takes requests.
	pub fn ready(&self) -> bool {
		self.accepted.len() as u32 >= self.threshold
	}

	/// Whether it never can, at this version: too many declined.
	pub fn hopeless(&self) -> bool {
		((self.accepted.len() + self.pending.len()) as u32) < self.threshold
	}

	/// The declines, for a message.
	pub fn declined_text(&self) -> String {
		self.declined
			.iter()
			.map(|(node, why)| format!("{node}: {why}"))
			.collect::<Vec<_>>()
			.join(", ")
	}
}

#[cfg(test)]
mod tests {
	use super::{insecure_remote_host, price_bound};

	#[test]
	fn plain_ws_to_another_machine_is_insecure_and_loopback_is_not() {
		for url in [
			"ws://127.0.0.1:9944",
			"ws://127.8.0.1",
			"ws://localhost:9944/",
			"ws://LOCALHOST",
			"ws://[::1]:9944",
			"http://127.0.0.1:9933",
			"wss://node.example.com",
			"wss://10.0.0.2:443",
		] {
			assert_eq!(insecure_remote_host(url), None, "{url}");
		}
		for (url, host) in [
			("ws://10.0.0.2:9944", "10.0.0.2"),
			("ws://node.example.com", "node.example.com"),
			("ws://user@node.example.com:9944/path", "node.example.com"),
			("ws://[2001:db8::1]:9944", "2001:db8::1"),
			("ws://127.0.0.1.example.com", "127.0.0.1.example.com"),
			("http://192.168.1.4:9933", "192.168.1.4"),
		] {
			assert_eq!(insecure_remote_host(url), Some(host), "{url}");
		}
	}

	/// The bound keeps ahead of the chain's rule at its steepest (every block full: an eighth
	/// more, rounded down), from the floor of 1 mKMS and from other prices.
	#[test]
	fn the_price_bound_covers_full_blocks() {
		for start in [8u128, 1_000_000_000, 123_456_789_012_345] {
			assert_eq!(price_bound(start, 0), start);
			let mut chain = start;
			for blocks in 1..=64u32 {
				chain += chain / 8;
				assert!(price_bound(start, blocks) >= chain, "{start} after {blocks} blocks");
			}
			assert_eq!(price_bound(start, 1_000), price_bound(start, 64));
		}
	}
}
