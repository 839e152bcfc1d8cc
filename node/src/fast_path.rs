//! `kms_reencrypt`: the fast path (`PROTOCOL.md`, "Re-encryption", step 5). A reader hands the
//! node a signed `Policies.request_direct_reencryption` transaction; the node answers with the
//! cfrags of every KMS node of the policy it hosts, each signed by that node's operator key as a
//! `SignedCfrag` (challengeable on chain), in milliseconds rather than blocks.
//!
//! The chain stays the authority. Before it re-encrypts anything, the node:
//! 1. bounds the request: its size, the requester's rate, and how many are served at once;
//! 2. checks at its best block, through the runtime (`DirectAccessApi`), exactly what the call
//!    checks (capsules canonical, policy active and accepted, conditions met, payments
//!    affordable), and that a node it hosts accepted the policy's current version;
//! 3. relays the transaction to the chain through its own transaction pool, which checks the
//!    requester's signature, nonce and fee: an access is served only once it is on its way to the
//!    access log. For a policy with `PayPerAccess` conditions it waits until the transaction is
//!    in a best block and its event says access was granted, so the payment is real.
//!
//! Then it re-encrypts natively, verifies every cfrag it made (a node never signs a cfrag it has
//! not verified), and signs. What can still go wrong, and why it is accepted, is in the README's
//! threat model: a free policy's request that the reader keeps from landing (by replacing it in
//! the pools with another transaction of the same nonce) is served but not logged.
//!
//! The method is safe: it signs only cfrags of capsules the chain admitted, with keys the chain
//! knows, and may be exposed publicly (`--rpc-methods safe`, `--rpc-external`, with
//! `--rpc-rate-limit` per connection on top of the limits here).

use std::{
	collections::HashMap,
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

use codec::{Decode, DecodeLimit};
use futures::StreamExt;
use jsonrpsee::{core::RpcResult, proc_macros::rpc, types::ErrorObjectOwned};
use kms_primitives::{
	policies::{CapsuleBytes, DirectService, PolicyId, PolicyVersion, SignedCfrag},
	staking::{identity, operator::KEY_TYPE, UmbralPublicKey},
	wire, AccountId,
};
use kms_runtime::{opaque::Block, Runtime, RuntimeCall, RuntimeEvent, UncheckedExtrinsic};
use pallet_kms_policies::offchain::{check_kfrag, reencrypt_checked, CheckedKFrag};
use sc_client_api::{BlockBackend, BlockchainEvents, StorageProvider};
use sc_transaction_pool_api::{
	error::{Error as PoolError, IntoPoolError},
	TransactionPool, TransactionSource,
};
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::{sr25519, Bytes, H256};
use sp_keystore::KeystorePtr;
use sp_runtime::{
	generic::Preamble,
	traits::{BlakeTwo256, Hash as _, Header as _},
	DispatchError, MultiAddress, OpaqueExtrinsic,
};

use crate::chain_state::{read, read_event_records};

/// Log target of the fast path.
const LOG_TARGET: &str = "kms::fast-path";

/// The limits of the fast path. The defaults are what `kms-node` runs with.
#[derive(Clone, Debug)]
pub struct Limits {
	/// The largest transaction taken, in bytes (a request of the most capsules the chain takes
	/// is about 1 KiB).
	pub max_transaction_bytes: usize,
	/// Requests one requester may have served per second, on average.
	pub requests_per_second: f64,
	/// Requests one requester may have served at once after being idle.
	pub burst: f64,
	/// Requesters whose rate is tracked at once; past it, the idle ones are forgotten, and if
	/// none is idle, new requesters wait.
	pub max_requesters: usize,
	/// Requests worked on at once (the rest wait for their turn, up to `queue_wait`).
	pub concurrency: usize,
	/// How long a request waits for its turn before it is refused as busy.
	pub queue_wait: Duration,
	/// How long a relayed request may take to be ready for the next block (its predecessors
	/// from the same account arriving) before it is refused.
	pub ready_wait: Duration,
	/// How long a paid request waits to be in a best block.
	pub inclusion_timeout: Duration,
	/// Blocks looked back for a paid request that landed before the node was asked.
	pub lookback: u32,
	/// Checked kfrags kept in memory.
	pub kfrag_cache: usize,
}

impl Default for Limits {
	fn default() -> Self {
		let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
		Self {
			max_transaction_bytes: 16 * 1024,
			requests_per_second: 20.0,
			burst: 40.0,
			max_requesters: 10_000,
			concurrency: 2 * cores,
			queue_wait: Duration::from_secs(2),
			ready_wait: Duration::from_secs(2),
			inclusion_timeout: Duration::from_secs(60),
			lookback: 8,
			kfrag_cache: 4096,
		}
	}
}

/// JSON-RPC error codes of `kms_reencrypt`.
pub mod code {
	/// The bytes are not a signed `request_direct_reencryption` transaction within the limits.
	pub const MALFORMED: i32 = 6001;
	/// The chain would refuse the request; `data` names the error as the chain gives it.
	pub const REFUSED: i32 = 6002;
	/// No KMS node of the policy (that accepted its current version) is hosted here.
	pub const NOT_SERVED: i32 = 6003;
	/// The transaction pool refused the transaction (bad signature, nonce, fee).
	pub const POOL_REFUSED: i32 = 6004;
	/// The requester asked more often than the node serves one requester.
	pub const RATE_LIMITED: i32 = 6005;
	/// The node is serving as many requests as it serves at once.
	pub const BUSY: i32 = 6006;
	/// A paid request did not land in time; nothing was served.
	pub const NOT_INCLUDED: i32 = 6007;
	/// The node failed (its keys, its state): nothing was served.
	pub const INTERNAL: i32 = 6008;
}

fn error(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(code, message.into(), None::<()>)
}

/// The fast path, as the RPC sees it.
#[rpc(server)]
pub trait FastPathApi {
	/// Re-encrypts under a policy for the reader who signed `transaction`, a
	/// `Policies.request_direct_reencryption(policy, capsules)` transaction (SCALE bytes, as
	/// `author_submitExtrinsic` takes them), which the node relays to the chain first. Returns
	/// `{transaction, included_in, policy, version, answers: [{node, operator, cfrags,
	/// signatures}]}`: one answer per KMS node of the policy hosted here, with one cfrag per
	/// capsule (umbral-pre's standard serialization, hex) and the node operator's sr25519
	/// signature over each `SignedCfrag` (domain `kms-chain/signed-cfrag/v1`, this chain's
	/// genesis hash). `included_in` is the block that logged a paid request. Errors (code,
	/// message, and for a refusal `data: {pallet, error}`): 6001 malformed, 6002 refused by the
	/// chain's checks, 6003 no node of the policy here, 6004 refused by the pool, 6005 rate
	/// limited, 6006 busy, 6007 not included in time, 6008 internal. Safe.
	#[method(name = "kms_reencrypt")]
	async fn reencrypt(&self, transaction: Bytes) -> RpcResult<serde_json::Value>;
}

/// A decoded request: who signed it, under which policy, for which capsules.
#[derive(Debug)]
struct Request {
	requester: AccountId,
	policy: PolicyId,
	capsules: Vec<CapsuleBytes>,
	extrinsic: OpaqueExtrinsic,
	hash: H256,
}

/// Decodes `bytes` as a signed direct request within `limits`.
fn parse(bytes: &[u8], limits: &Limits) -> Result<Request, ErrorObjectOwned> {
	let malformed = |why: &str| error(code::MALFORMED, why);
	if bytes.len() > limits.max_transaction_bytes {
		return Err(malformed(&format!(
			"the transaction has {} bytes, more than the {} taken",
			bytes.len(),
			limits.max_transaction_bytes
		)));
	}
	let xt = UncheckedExtrinsic::decode_all_with_depth_limit(
		frame_support::MAX_EXTRINSIC_DEPTH,
		&mut &bytes[..],
	)
	.map_err(|_| malformed("not a transaction of this chain"))?;
	let Preamble::Signed(MultiAddress::Id(requester), ..) = &xt.preamble else {
		return Err(malformed("not a transaction signed by an account (MultiAddress::Id)"));
	};
	let RuntimeCall::Policies(pallet_kms_policies::Call::request_direct_reencryption {
		policy,
		capsules,
	}) = &xt.function
	else {
		return Err(malformed("not a Policies.request_direct_reencryption call"));
	};
	let extrinsic =
		OpaqueExtrinsic::decode(&mut &bytes[..]).map_err(|_| malformed("not an extrinsic"))?;
	Ok(Request {
		requester: requester.clone(),
		policy: *policy,
		capsules: capsules.to_vec(),
		hash: BlakeTwo256::hash_of(&extrinsic),
		extrinsic,
	})
}

/// Per-requester token buckets, bounded in number.
struct RateLimiter {
	buckets: HashMap<AccountId, (f64, Instant)>,
}

impl RateLimiter {
	/// Whether `who` may be served now; if `take`, the request is counted.
	fn allow(&mut self, who: &AccountId, limits: &Limits, take: bool) -> bool {
		let now = Instant::now();
		let refill = |(tokens, at): (f64, Instant)| {
			(tokens + now.duration_since(at).as_secs_f64() * limits.requests_per_second)
				.min(limits.burst)
		};
		if !self.buckets.contains_key(who) && self.buckets.len() >= limits.max_requesters {
			self.buckets.retain(|_, bucket| refill(*bucket) < limits.burst);
			if self.buckets.len() >= limits.max_requesters {
				return false;
			}
		}
		let bucket = self.buckets.entry(who.clone()).or_insert((limits.burst, now));
		let tokens = refill(*bucket);
		if tokens < 1.0 {
			return false;
		}
		*bucket = (if take { tokens - 1.0 } else { tokens }, now);
		true
	}
}

/// What the fast path works with. Clones share the limits' state (rates, turns, the cache).
pub struct FastPath<C, P> {
	/// The client (state, runtime API, blocks).
	pub client: Arc<C>,
	/// The transaction pool the requests are relayed to.
	pub pool: Arc<P>,
	/// The keystore with the operator keys.
	pub keystore: KeystorePtr,
	/// The node's Umbral identity seeds.
	pub identities: Arc<Vec<[u8; 32]>>,
	/// The chain's genesis hash.
	pub genesis: H256,
	/// The limits.
	pub limits: Limits,
	/// Whether a node corrupts its cfrags (end-to-end tests of the `test-tamper` build only).
	pub tampers: Arc<dyn Fn(&AccountId) -> bool + Send + Sync>,
	rates: Arc<Mutex<RateLimiter>>,
	turns: Arc<tokio::sync::Semaphore>,
	kfrags: Arc<Mutex<HashMap<[u8; 32], CheckedKFrag>>>,
}

impl<C, P> Clone for FastPath<C, P> {
	fn clone(&self) -> Self {
		Self {
			client: self.client.clone(),
			pool: self.pool.clone(),
			keystore: self.keystore.clone(),
			identities: self.identities.clone(),
			genesis: self.genesis,
			limits: self.limits.clone(),
			tampers: self.tampers.clone(),
			rates: self.rates.clone(),
			turns: self.turns.clone(),
			kfrags: self.kfrags.clone(),
		}
	}
}

/// What answering needs, moved to a blocking thread: the keys to sign with and the checked
/// kfrags.
#[derive(Clone)]
struct Answering {
	keystore: KeystorePtr,
	genesis: H256,
	kfrags: Arc<Mutex<HashMap<[u8; 32], CheckedKFrag>>>,
	cache_size: usize,
}

impl<C, P> FastPath<C, P> {
	/// The fast path with `limits`.
	pub fn new(
		client: Arc<C>,
		pool: Arc<P>,
		keystore: KeystorePtr,
		identities: Arc<Vec<[u8; 32]>>,
		genesis: H256,
		limits: Limits,
		tampers: Arc<dyn Fn(&AccountId) -> bool + Send + Sync>,
	) -> Self {
		let turns = Arc::new(tokio::sync::Semaphore::new(limits.concurrency.max(1)));
		Self {
			client,
			pool,
			keystore,
			identities,
			genesis,
			limits,
			tampers,
			rates: Arc::new(Mutex::new(RateLimiter { buckets: HashMap::new() })),
			turns,
			kfrags: Arc::new(Mutex::new(HashMap::new())),
		}
	}
}

/// What the fast path reads of the chain: state, blocks, new blocks and the runtime's
/// `DirectAccessApi`.
pub trait Chain:
	ProvideRuntimeApi<Block, Api: kms_primitives::policies::DirectAccessApi<Block, AccountId>>
	+ HeaderBackend<Block>
	+ BlockBackend<Block>
	+ BlockchainEvents<Block>
	+ StorageProvider<Block, sc_service::TFullBackend<Block>>
	+ Send
	+ Sync
	+ 'static
{
}

impl<C> Chain for C where
	C: ProvideRuntimeApi<Block, Api: kms_primitives::policies::DirectAccessApi<Block, AccountId>>
		+ HeaderBackend<Block>
		+ BlockBackend<Block>
		+ BlockchainEvents<Block>
		+ StorageProvider<Block, sc_service::TFullBackend<Block>>
		+ Send
		+ Sync
		+ 'static
{
}

/// The transaction pool the fast path relays requests to.
pub trait Pool: TransactionPool<Block = Block, Hash = H256> + 'static {}

impl<P: TransactionPool<Block = Block, Hash = H256> + 'static> Pool for P {}

/// One hosted node's part of a policy: the node, its operator key, what it serves with.
struct Hosted {
	node: AccountId,
	operator: sr25519::Public,
	service: DirectService,
	secret: umbral_pre::SecretKey,
}

/// The pool's refusal, as the reader sees it.
fn pool_refusal(refused: PoolError) -> ErrorObjectOwned {
	match refused {
		PoolError::InvalidTransaction(invalid) => {
			error(code::POOL_REFUSED, format!("the pool refuses the transaction: {invalid:?}"))
		},
		other => error(code::POOL_REFUSED, format!("the pool refuses the transaction: {other}")),
	}
}

/// The name of a chain error, as the chain's metadata gives it (`Policies::PolicyRevoked`).
fn refusal(refused: DispatchError) -> ErrorObjectOwned {
	use frame_support::traits::PalletInfoAccess;
	let named = match refused {
		DispatchError::Module(module)
			if module.index as usize == <kms_runtime::Policies as PalletInfoAccess>::index() =>
		{
			pallet_kms_policies::Error::<Runtime>::decode(&mut &module.error[..])
				.ok()
				.map(|error| ("Policies", <&'static str>::from(error)))
		},
		_ => None,
	};
	match named {
		Some((pallet, name)) => ErrorObjectOwned::owned(
			code::REFUSED,
			format!("the chain refuses the request: {pallet}::{name}"),
			Some(serde_json::json!({ "pallet": pallet, "error": name })),
		),
		None => error(code::REFUSED, format!("the chain refuses the request: {refused:?}")),
	}
}

impl<C: Chain, P: Pool> FastPath<C, P> {
	/// The nodes of `policy` this node hosts (operator key in the keystore) that accepted its
	/// current version, with the secret of the key their kfrag is sealed to.
	fn hosted(&self, at: H256, policy: PolicyId) -> Result<Vec<Hosted>, ErrorObjectOwned> {
		use kms_primitives::policies::DirectAccessApi;
		let internal = |why: String| error(code::INTERNAL, why);
		let api = self.client.runtime_api();
		let mut hosted = Vec::new();
		for operator in self.keystore.sr25519_public_keys(KEY_TYPE) {
			let key =
				pallet_kms_staking::Operators::<Runtime>::hashed_key_for(AccountId::from(operator));
			let node = read::<AccountId, _>(&*self.client, at, key)
				.map_err(|e| internal(format!("the best block's state: {e:?}")))?;
			let Some(node) = node else { continue };
			let service = api
				.direct_service(at, policy, node.clone())
				.map_err(|e| internal(format!("the runtime: {e}")))?;
			let Some(service) = service else { continue };
			let info = read::<pallet_kms_staking::NodeOf<Runtime>, _>(
				&*self.client,
				at,
				pallet_kms_staking::Nodes::<Runtime>::hashed_key_for(&node),
			)
			.map_err(|e| internal(format!("the best block's state: {e:?}")))?;
			let Some(key) = info.and_then(|info| info.key(service.key_version)) else { continue };
			let Some(secret) = self.secret_of(&key) else {
				log::warn!(
					target: LOG_TARGET,
					"no Umbral identity of {node}'s key version {}: not serving it",
					service.key_version
				);
				continue;
			};
			hosted.push(Hosted { node, operator, service, secret });
		}
		Ok(hosted)
	}

	fn secret_of(&self, key: &UmbralPublicKey) -> Option<umbral_pre::SecretKey> {
		self.identities
			.iter()
			.find(|seed| identity::public_key(seed).as_ref() == Some(key))
			.and_then(identity::secret)
	}

	/// Relays the request to the pool and waits (up to `ready_wait`) until it is ready to go
	/// into the next block. One already there (sent to this node's peers first and gossiped
	/// here) counts as relayed. One whose nonce stays ahead of the account's is refused: it may
	/// never land.
	async fn relay(&self, at: H256, request: &Request) -> Result<(), ErrorObjectOwned> {
		use sc_transaction_pool_api::TransactionStatus;
		let deadline = tokio::time::Instant::now() + self.limits.ready_wait;
		let not_ready = || {
			error(
				code::POOL_REFUSED,
				format!(
					"the transaction was not ready for the next block within {} ms (its nonce is \
					 ahead of the account's): a request that may never land is not served",
					self.limits.ready_wait.as_millis()
				),
			)
		};
		let xt = request.extrinsic.clone();
		let mut watched =
			match self.pool.submit_and_watch(at, TransactionSource::External, xt).await {
				Ok(watched) => watched,
				Err(refused) => match refused.into_pool_error() {
					// Already in the pool: ready, or becoming so while its predecessors arrive.
					Ok(PoolError::AlreadyImported(_)) => loop {
						if self.pool.ready_transaction(&request.hash).is_some() {
							return Ok(());
						}
						if tokio::time::Instant::now() >= deadline {
							return Err(not_ready());
						}
						tokio::time::sleep(Duration::from_millis(20)).await;
					},
					Ok(refused) => return Err(pool_refusal(refused)),
					Err(other) => {
						return Err(error(
							code::POOL_REFUSED,
							format!("the pool refuses the transaction: {other}"),
						))
					},
				},
			};
		loop {
			match tokio::time::timeout_at(deadline, watched.next()).await {
				Ok(Some(TransactionStatus::Future)) => continue,
				Ok(Some(
					TransactionStatus::Ready
					| TransactionStatus::Broadcast(_)
					| TransactionStatus::InBlock(_)
					| TransactionStatus::Finalized(_),
				)) => return Ok(()),
				Ok(Some(status)) => {
					return Err(error(
						code::POOL_REFUSED,
						format!("the pool let the transaction go: {status:?}"),
					))
				},
				Ok(None) | Err(_) => return Err(not_ready()),
			}
		}
	}

	/// Waits until `request` is in a best block and returns that block, if its event says access
	/// was granted: a paid request is served only once paid.
	async fn included(&self, request: &Request) -> Result<H256, ErrorObjectOwned> {
		let mut imported = self.client.import_notification_stream();
		let deadline = tokio::time::Instant::now() + self.limits.inclusion_timeout;
		// It may have landed before this node was asked.
		let mut hash = self.client.info().best_hash;
		for _ in 0..self.limits.lookback {
			if let Some(found) = self.logged(hash, request)? {
				return found.map(|()| hash);
			}
			match self.client.header(hash) {
				Ok(Some(header)) if !header.number().eq(&0) => hash = *header.parent_hash(),
				_ => break,
			}
		}
		loop {
			let next = tokio::time::timeout_at(deadline, imported.next()).await;
			let Ok(Some(notification)) = next else {
				return Err(error(
					code::NOT_INCLUDED,
					format!(
						"the request did not land within {} s; nothing was served",
						self.limits.inclusion_timeout.as_secs()
					),
				));
			};
			if !notification.is_new_best {
				continue;
			}
			if let Some(found) = self.logged(notification.hash, request)? {
				return found.map(|()| notification.hash);
			}
		}
	}

	/// Whether block `hash` holds `request`, and if so whether it logged access as granted.
	fn logged(
		&self,
		hash: H256,
		request: &Request,
	) -> Result<Option<Result<(), ErrorObjectOwned>>, ErrorObjectOwned> {
		let body = self
			.client
			.block_body(hash)
			.map_err(|e| error(code::INTERNAL, format!("block {hash}: {e}")))?
			.unwrap_or_default();
		let Some(index) = body.iter().position(|xt| BlakeTwo256::hash_of(xt) == request.hash)
		else {
			return Ok(None);
		};
		let records = read_event_records(&*self.client, hash)
			.map_err(|e| error(code::INTERNAL, format!("the events of block {hash}: {e:?}")))?;
		let phase = frame_system::Phase::ApplyExtrinsic(index as u32);
		for record in records.iter().filter(|record| record.phase == phase) {
			match &record.event {
				RuntimeEvent::Policies(
					pallet_kms_policies::Event::DirectReencryptionRequested { .. },
				) => return Ok(Some(Ok(()))),
				RuntimeEvent::Policies(pallet_kms_policies::Event::DirectReencryptionRefused {
					reason,
					..
				}) => {
					let refused = pallet_kms_policies::Error::<Runtime>::from(reason.clone());
					return Ok(Some(Err(refusal(refused.into()))));
				},
				_ => {},
			}
		}
		Ok(Some(Err(error(code::REFUSED, format!("the request failed in block {hash}")))))
	}
}

impl Answering {
	/// `hosted`'s checked kfrag: from the cache (keyed by the content it was checked for), or
	/// opened and checked completely as the worker does.
	fn kfrag(&self, hosted: &Hosted) -> Result<CheckedKFrag, ErrorObjectOwned> {
		let internal = |why: String| error(code::INTERNAL, why);
		let keys = hosted.service.keys;
		let content = kms_primitives::policies::grant_content_hash(&keys, &hosted.service.kfrag);
		let cache = || self.kfrags.lock().map_err(|_| internal("the kfrag cache".into()));
		if let Some(kfrag) = cache()?.get(&content) {
			return Ok(kfrag.clone());
		}
		let (kfrag, _) =
			check_kfrag(&mut rand_core::OsRng, &hosted.secret, &hosted.service.kfrag, &keys)
				.map_err(|reason| internal(format!("{}'s kfrag: {reason:?}", hosted.node)))?;
		let mut cache = cache()?;
		if cache.len() >= self.cache_size {
			cache.clear();
		}
		cache.insert(content, kfrag.clone());
		Ok(kfrag)
	}

	/// Re-encrypts `capsules` for `hosted`, checks every cfrag, and signs each as a
	/// `SignedCfrag`. With `test-tamper`, a node listed to tamper answers wrong cfrags instead.
	fn answer(
		&self,
		hosted: &Hosted,
		policy: PolicyId,
		capsules: &[CapsuleBytes],
		#[cfg_attr(not(feature = "test-tamper"), allow(unused_variables))] tampers: bool,
	) -> Result<serde_json::Value, ErrorObjectOwned> {
		let internal = |why: String| error(code::INTERNAL, why);
		let mut rng = rand_core::OsRng;
		let keys = hosted.service.keys;
		let kfrag = self.kfrag(hosted)?;
		let mut cfrags = Vec::with_capacity(capsules.len());
		let mut signatures = Vec::with_capacity(capsules.len());
		for capsule in capsules {
			let decoded = wire::decode_capsule(capsule)
				.map_err(|_| internal("a capsule the chain admitted does not decode".into()))?;
			#[cfg(feature = "test-tamper")]
			let cfrag = if tampers {
				tampered_cfrag(&keys, &kfrag, &mut rng)?
			} else {
				reencrypt_checked(&mut rng, &decoded, &kfrag, &keys)
					.map_err(|why| internal(format!("{}: {why}", hosted.node)))?
			};
			#[cfg(not(feature = "test-tamper"))]
			let cfrag = reencrypt_checked(&mut rng, &decoded, &kfrag, &keys)
				.map_err(|why| internal(format!("{}: {why}", hosted.node)))?;
			let signed = SignedCfrag {
				policy,
				version: hosted.service.version,
				node: hosted.node.clone(),
				capsule: capsule.clone(),
				cfrag: cfrag.clone().try_into().map_err(|_| internal("a cfrag's length".into()))?,
			};
			let signature = self
				.keystore
				.sr25519_sign(KEY_TYPE, &hosted.operator, &signed.signing_payload(&self.genesis))
				.ok()
				.flatten()
				.ok_or_else(|| {
					internal(format!("the keystore did not sign for {}", hosted.node))
				})?;
			cfrags.push(format!("0x{}", hex::encode(&cfrag)));
			signatures.push(format!("0x{}", hex::encode(signature.0)));
		}
		Ok(serde_json::json!({
			"node": hosted.node.to_string(),
			"operator": AccountId::from(hosted.operator).to_string(),
			"cfrags": cfrags,
			"signatures": signatures,
		}))
	}
}

/// With `test-tamper`: a cfrag of another capsule, well formed and wrong; never checked.
#[cfg(feature = "test-tamper")]
fn tampered_cfrag(
	keys: &kms_primitives::policies::PolicyKeys,
	kfrag: &CheckedKFrag,
	rng: &mut rand_core::OsRng,
) -> Result<Vec<u8>, ErrorObjectOwned> {
	let internal = |why: &str| error(code::INTERNAL, why);
	let delegating = keys.delegating.decompress().ok_or_else(|| internal("delegating key"))?;
	let (capsule, _) =
		umbral_pre::encrypt_with_rng(rng, &delegating, b"").map_err(|_| internal("encryption"))?;
	log::warn!(target: LOG_TARGET, "test-tamper: corrupting a cfrag");
	let cfrag = umbral_pre::reencrypt_with_rng(rng, &capsule, kfrag.clone()).unverify();
	wire::to_vec(&cfrag).map_err(|_| internal("a cfrag does not encode"))
}

#[jsonrpsee::core::async_trait]
impl<C: Chain, P: Pool> FastPathApiServer for FastPath<C, P> {
	async fn reencrypt(&self, transaction: Bytes) -> RpcResult<serde_json::Value> {
		use kms_primitives::policies::DirectAccessApi;
		let started = Instant::now();
		let request = parse(&transaction, &self.limits)?;
		let limited = |rates: &Mutex<RateLimiter>, take: bool| {
			let allowed = rates
				.lock()
				.map(|mut rates| rates.allow(&request.requester, &self.limits, take))
				.unwrap_or(false);
			if allowed {
				Ok(())
			} else {
				Err(error(
					code::RATE_LIMITED,
					format!(
						"{} asks more often than this node serves one requester ({}/s)",
						request.requester, self.limits.requests_per_second
					),
				))
			}
		};
		// Refused early when over the rate; counted only once the pool has checked the
		// signature, so nobody spends another requester's allowance.
		limited(&self.rates, false)?;
		let _turn =
			tokio::time::timeout(self.limits.queue_wait, self.turns.clone().acquire_owned())
				.await
				.ok()
				.and_then(Result::ok)
				.ok_or_else(|| {
					error(code::BUSY, "the node is serving as many requests as it can")
				})?;
		let best = self.client.info().best_hash;
		let version: PolicyVersion = self
			.client
			.runtime_api()
			.check_direct_request(
				best,
				request.requester.clone(),
				request.policy,
				request.capsules.clone(),
			)
			.map_err(|e| error(code::INTERNAL, format!("the runtime: {e}")))?
			.map_err(refusal)?;
		let hosted: Vec<Hosted> = self
			.hosted(best, request.policy)?
			.into_iter()
			.filter(|hosted| hosted.service.version == version)
			.collect();
		if hosted.is_empty() {
			return Err(error(
				code::NOT_SERVED,
				format!(
					"no KMS node of policy 0x{} that accepted its version {version} is hosted here",
					hex::encode(request.policy)
				),
			));
		}
		self.relay(best, &request).await?;
		limited(&self.rates, true)?;
		let paid = hosted.iter().any(|hosted| hosted.service.pays_per_access);
		let included_in = if paid { Some(self.included(&request).await?) } else { None };
		let answering = Answering {
			keystore: self.keystore.clone(),
			genesis: self.genesis,
			kfrags: self.kfrags.clone(),
			cache_size: self.limits.kfrag_cache,
		};
		let (policy, capsules) = (request.policy, request.capsules.clone());
		let tampers: Vec<bool> = hosted.iter().map(|hosted| (self.tampers)(&hosted.node)).collect();
		let answers = tokio::task::spawn_blocking(move || {
			hosted
				.iter()
				.zip(tampers)
				.map(|(hosted, tampers)| answering.answer(hosted, policy, &capsules, tampers))
				.collect::<Result<Vec<_>, _>>()
		})
		.await
		.map_err(|e| error(code::INTERNAL, format!("re-encryption: {e}")))??;
		log::debug!(
			target: LOG_TARGET,
			"served {} capsules of policy 0x{} to {} in {} µs",
			request.capsules.len(),
			hex::encode(request.policy),
			request.requester,
			started.elapsed().as_micros()
		);
		Ok(serde_json::json!({
			"transaction": format!("{:?}", request.hash),
			"included_in": included_in.map(|hash| format!("{hash:?}")),
			"policy": format!("0x{}", hex::encode(request.policy)),
			"version": version,
			"answers": answers,
		}))
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use codec::Encode;

	#[test]
	fn a_requester_is_served_at_its_rate_and_idle_requesters_are_forgotten() {
		let limits = Limits {
			requests_per_second: 0.001,
			burst: 2.0,
			max_requesters: 2,
			..Limits::default()
		};
		let mut rates = RateLimiter { buckets: HashMap::new() };
		let [alice, bob, carol] = [[1u8; 32], [2; 32], [3; 32]].map(AccountId::from);
		// Looking does not spend.
		assert!(rates.allow(&alice, &limits, false));
		assert!(rates.allow(&alice, &limits, false));
		assert!(rates.allow(&alice, &limits, true));
		assert!(rates.allow(&alice, &limits, true));
		assert!(!rates.allow(&alice, &limits, false));
		assert!(rates.allow(&bob, &limits, true));
		// Two busy requesters tracked: a third waits rather than erasing their history.
		assert!(!rates.allow(&carol, &limits, true));
		// An idle requester (full bucket) is forgotten to make room.
		let mut rates = RateLimiter { buckets: HashMap::new() };
		assert!(rates.allow(&alice, &limits, false));
		assert!(rates.allow(&bob, &limits, true));
		assert!(rates.allow(&carol, &limits, true));
		assert!(!rates.buckets.contains_key(&alice));
	}

	#[test]
	fn only_signed_direct_requests_within_the_size_limit_are_taken() {
		let limits = Limits { max_transaction_bytes: 64, ..Limits::default() };
		let refused = |bytes: &[u8]| parse(bytes, &limits).map(|_| ()).unwrap_err().code();
		assert_eq!(refused(&[0u8; 65]), code::MALFORMED);
		assert_eq!(refused(&[]), code::MALFORMED);
		assert_eq!(refused(&[4, 0x04, 0, 0]), code::MALFORMED);
		// An unsigned (bare) call of the right kind is refused too.
		let call = RuntimeCall::Policies(pallet_kms_policies::Call::request_direct_reencryption {
			policy: [1; 16],
			capsules: Default::default(),
		});
		let bare = UncheckedExtrinsic::new_bare(call).encode();
		let limits = Limits::default();
		assert_eq!(parse(&bare, &limits).map(|_| ()).unwrap_err().code(), code::MALFORMED);
	}
}
