//! `kms_reencrypt`: the fast path (`PROTOCOL.md`, "Re-encryption", step 5). A reader hands the
//! node a signed `Policies.request_direct_reencryption` transaction; the node answers with the
//! cfrags of every KMS node of the policy it hosts, each signed by that node's operator key as a
//! `SignedCfrag` (challengeable on chain), in milliseconds rather than blocks.
//!
//! The chain stays the authority. Before it re-encrypts anything, the node:
//! 1. bounds the request: its size, and how many are worked on at once;
//! 2. has the runtime check the transaction as its pool will (`TaggedTransactionQueue`:
//!    signature, nonce, fee), so that a forged request costs one check and nobody spends
//!    another requester's allowance; then counts it against the requester's rate;
//! 3. checks at its best block exactly what the call checks: its capsules canonical (natively,
//!    with the pallet's own code, while the chain runs the runtime version the node was built
//!    with; through the runtime otherwise), then through the runtime (`DirectAccessApi`) the
//!    policy active and accepted, conditions met, payments affordable; and that a node it hosts
//!    accepted the policy's current version, with the
//!    same part at the finalized block once finality has reached the best block (a policy
//!    version younger than finality waits for it, bounded): a fork can no longer give that
//!    version other keys, under which the node's signed answer would be judged wrong;
//! 4. reserves the request's nonce (a requester is served once per nonce until that nonce is
//!    used on chain: another request of a nonce served is refused before it is relayed, so it
//!    cannot replace the served one in the pools), then relays the transaction to the chain
//!    through its own transaction pool and waits (bounded, holding no turn) until the pool has
//!    it ready for the next block: an access is served only once it is on its way to the access
//!    log. For a policy with `PayPerAccess` conditions it waits until
//!    the transaction is in a best block and its event says access was granted and paid.
//!
//! Then it re-encrypts natively, verifies every cfrag it made (a node never signs a cfrag it has
//! not verified), and signs. What can still go wrong, and why it is accepted, is in the README's
//! threat model: a free policy's request that the reader keeps from landing (by replacing it in
//! the pools with another transaction of the same nonce) is served but not logged, once per
//! nonce, each time at the cost of the replacing transaction's fee; a paid request is served on
//! a best block, which a colluding author could still orphan.
//!
//! The method is safe: it signs only cfrags of capsules the chain's checks admit, with keys the
//! chain knows, and may be exposed publicly (`--rpc-methods safe`, `--rpc-external`, with
//! `--rpc-rate-limit` per connection on top of the limits here).

use std::{
	collections::HashMap,
	sync::{
		atomic::{AtomicU64, Ordering},
		Arc, Mutex,
	},
	time::{Duration, Instant},
};

use codec::{Decode, DecodeLimit};
use futures::StreamExt;
use jsonrpsee::{core::RpcResult, proc_macros::rpc, types::ErrorObjectOwned};
use kms_primitives::{
	policies::{CapsuleBytes, DirectService, PolicyId, PolicyVersion, SignedCfrag},
	staking::{identity, operator, operator::KEY_TYPE, UmbralPublicKey},
	AccountId,
};
use kms_runtime::{opaque::Block, Runtime, RuntimeCall, RuntimeEvent, UncheckedExtrinsic};
use pallet_kms_policies::offchain::{check_kfrag, reencrypt_checked, CheckedKFrag};
use sc_client_api::{BlockBackend, BlockchainEvents, StorageProvider};
use sc_keystore::LocalKeystore;
use sc_transaction_pool_api::{
	error::{Error as PoolError, IntoPoolError},
	TransactionPool, TransactionSource,
};
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::Pair as _;
use sp_core::{sr25519, Bytes, H256};
use sp_keystore::Keystore as _;
use sp_runtime::{
	generic::Preamble,
	traits::{BlakeTwo256, Hash as _, Header as _},
	DispatchError, MultiAddress, OpaqueExtrinsic,
};
use substrate_prometheus_endpoint::{
	register, Counter, CounterVec, Opts, PrometheusError, Registry, F64, U64,
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
	/// Requests waiting at once for finality, the pool or a block (they hold no turn
	/// meanwhile).
	pub max_waiting: usize,
	/// How long a request under a policy version younger than finality waits for it.
	pub final_wait: Duration,
	/// Requests remembered by requester and nonce (one served per nonce).
	pub max_served: usize,
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
			max_waiting: 4096,
			final_wait: Duration::from_secs(30),
			max_served: 100_000,
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
	/// The policy's version (or the node's part of it) is not final yet: a fork could still
	/// give it other keys, under which the node's signed answer would be judged wrong.
	pub const NOT_FINAL: i32 = 6009;
}

fn error(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(code, message.into(), None::<()>)
}

/// The `result` label of a request in the metrics: served, or the error it was answered with
/// (by its code; `None`: served).
const OUTCOMES: [(Option<i32>, &str); 10] = [
	(None, "served"),
	(Some(code::MALFORMED), "malformed"),
	(Some(code::REFUSED), "refused"),
	(Some(code::NOT_SERVED), "not_served"),
	(Some(code::POOL_REFUSED), "pool_refused"),
	(Some(code::RATE_LIMITED), "rate_limited"),
	(Some(code::BUSY), "busy"),
	(Some(code::NOT_INCLUDED), "not_included"),
	(Some(code::NOT_FINAL), "not_final"),
	(Some(code::INTERNAL), "internal"),
];

fn outcome(refused: Option<&ErrorObjectOwned>) -> &'static str {
	let code = refused.map(ErrorObjectOwned::code);
	OUTCOMES
		.iter()
		.find(|(known, _)| *known == code)
		.map_or("internal", |(_, label)| label)
}

/// The fast path's metrics, on the node's Prometheus endpoint.
#[derive(Clone)]
pub struct Metrics {
	requests: CounterVec<U64>,
	capsules: Counter<U64>,
	cpu: Counter<F64>,
}

impl Metrics {
	/// Registers the metrics in `registry`.
	pub fn register(registry: &Registry) -> Result<Self, PrometheusError> {
		let metrics = Self {
			requests: register(
				CounterVec::new(
					Opts::new(
						"substrate_kms_fast_path_requests_total",
						"Requests to kms_reencrypt, by result: served, or why not (malformed, \
						 refused, not_served, pool_refused, rate_limited, busy, not_included, \
						 not_final, internal)",
					),
					&["result"],
				)?,
				registry,
			)?,
			capsules: register(
				Counter::new(
					"substrate_kms_fast_path_capsules_total",
					"Capsules re-encrypted by the fast path (per hosted node that answered)",
				)?,
				registry,
			)?,
			cpu: register(
				Counter::new(
					"substrate_kms_fast_path_cpu_seconds_total",
					"CPU time of the fast path's requests on the node's threads: decoding, the \
					 checks through the runtime, reading a paid request's block, \
					 re-encryption, verification and signing (not the JSON-RPC server's \
					 handling, the transaction pool's checks of the relayed transaction, nor its \
					 execution in a block, which any transaction costs)",
				)?,
				registry,
			)?,
		};
		// Every result counted from zero, so that a rate of refusals has a series to start from.
		for (_, label) in OUTCOMES {
			metrics.requests.with_label_values(&[label]);
		}
		Ok(metrics)
	}
}

/// CPU time the calling thread has used, in seconds.
fn thread_cpu() -> f64 {
	let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
	now.tv_sec as f64 + now.tv_nsec as f64 / 1e9
}

/// Runs `work` (no waiting in it: a thread's CPU clock measures it) and adds the CPU time it
/// used to `cpu`.
fn measured<T>(cpu: &mut f64, work: impl FnOnce() -> T) -> T {
	let started = thread_cpu();
	let result = work();
	*cpu += thread_cpu() - started;
	result
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
	/// chain's checks, 6003 no node of the policy here, 6004 refused by the pool (or another
	/// request of the same nonce was served), 6005 rate limited, 6006 busy, 6007 not included in
	/// time, 6008 internal, 6009 the policy's version not final yet. Safe.
	#[method(name = "kms_reencrypt")]
	async fn reencrypt(&self, transaction: Bytes) -> RpcResult<serde_json::Value>;
}

/// A decoded request: who signed it, under which policy, for which capsules.
#[derive(Debug)]
struct Request {
	requester: AccountId,
	/// The transaction's nonce: a requester is served once per nonce.
	nonce: kms_runtime::Nonce,
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
	let Preamble::Signed(MultiAddress::Id(requester), _, extension) = &xt.preamble else {
		return Err(malformed("not a transaction signed by an account (MultiAddress::Id)"));
	};
	// `CheckNonce`, the seventh of the runtime's `TxExtension`.
	let nonce = extension.6 .0;
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
		nonce,
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
	/// Whether `who` may be served now; if so, the request is counted.
	fn take(&mut self, who: &AccountId, limits: &Limits) -> bool {
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
		*bucket = (tokens - 1.0, now);
		true
	}
}

/// Whether a hosted node corrupts its cfrags (`test-tamper` builds only).
pub type Tampers = Arc<dyn Fn(&AccountId) -> bool + Send + Sync>;

/// Checked kfrags by the content hash they were checked for.
type KFragCache = Arc<Mutex<HashMap<[u8; 32], CheckedKFrag>>>;

/// What the runtime said a node serves of a policy (`DirectAccessApi::direct_service`), by the
/// block it was asked at. A block's state never changes, so an entry is right for as long as
/// it is kept: requests under the same policy within a block time (at the best block) or a
/// finality round (at the finalized one) ask the runtime once, not each twice.
type ServiceCache = Arc<Mutex<HashMap<(H256, PolicyId, AccountId), Option<DirectService>>>>;

/// Entries kept in the [`ServiceCache`] at most; past it, it starts again empty.
const MAX_SERVICES: usize = 4096;

/// The requests served, by requester and nonce, until the nonce is used on chain: a requester
/// is served once per nonce. A request that was served and then kept from landing (replaced in
/// the pools by another transaction of the same nonce) cannot be followed by another one of that
/// nonce, so each unlogged access costs the reader the fee of the transaction that replaced it.
struct Served {
	requests: HashMap<(AccountId, kms_runtime::Nonce), H256>,
}

impl Served {
	/// Records that `request` is served, unless another request of its requester and nonce was
	/// (the same request asked again is served again). `used` is the requester's nonce on
	/// chain: records below it are forgotten. Refused when `max` records are kept.
	fn admit(
		&mut self,
		request: &Request,
		used: kms_runtime::Nonce,
		max: usize,
	) -> Result<(), ErrorObjectOwned> {
		let requester = &request.requester;
		self.requests.retain(|(who, nonce), _| who != requester || *nonce >= used);
		let key = (requester.clone(), request.nonce);
		match self.requests.get(&key) {
			Some(hash) if *hash == request.hash => Ok(()),
			Some(_) => Err(error(
				code::POOL_REFUSED,
				format!(
					"{requester} was served a request of nonce {} already: one request per nonce",
					request.nonce
				),
			)),
			None if self.requests.len() >= max => {
				Err(error(code::BUSY, "the node is tracking as many requests as it can"))
			},
			None => {
				self.requests.insert(key, request.hash);
				Ok(())
			},
		}
	}

	/// Forgets `request`'s record (it was not relayed): its nonce may be asked for again.
	fn forget(&mut self, request: &Request) {
		let key = (request.requester.clone(), request.nonce);
		if self.requests.get(&key) == Some(&request.hash) {
			self.requests.remove(&key);
		}
	}
}

/// What the fast path works with. Clones share the limits' state (rates, turns, the cache).
pub struct FastPath<C, P> {
	/// The client (state, runtime API, blocks).
	pub client: Arc<C>,
	/// The transaction pool the requests are relayed to.
	pub pool: Arc<P>,
	/// The keystore with the operator keys.
	pub keystore: Arc<LocalKeystore>,
	/// The node's Umbral identities: each public key with its secret.
	pub identities: Arc<Vec<(UmbralPublicKey, umbral_pre::SecretKey)>>,
	/// The chain's genesis hash.
	pub genesis: H256,
	/// The limits.
	pub limits: Limits,
	/// Whether a node corrupts its cfrags (end-to-end tests of the `test-tamper` build only).
	pub tampers: Tampers,
	rates: Arc<Mutex<RateLimiter>>,
	turns: Arc<tokio::sync::Semaphore>,
	waiting: Arc<tokio::sync::Semaphore>,
	served: Arc<Mutex<Served>>,
	kfrags: KFragCache,
	services: ServiceCache,
	signers: Signers,
	/// The last runtime spec version under which the node said that it checks requests
	/// through the runtime (once per version, not per request; `u64::MAX`: not yet).
	foreign_runtime: Arc<AtomicU64>,
	metrics: Option<Metrics>,
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
			waiting: self.waiting.clone(),
			served: self.served.clone(),
			kfrags: self.kfrags.clone(),
			services: self.services.clone(),
			signers: self.signers.clone(),
			foreign_runtime: self.foreign_runtime.clone(),
			metrics: self.metrics.clone(),
		}
	}
}

/// Operator key pairs, each opened from the keystore once. The keystore opens a key by deriving
/// it from its secret phrase again (for a mnemonic or a development seed, PBKDF2 with 2,048
/// rounds: about as long as re-encrypting a capsule), which signing every cfrag through it would
/// repeat. Which keys are served is still read from the keystore for every request, so a key
/// removed from it is no longer used.
type Signers = Arc<Mutex<HashMap<sr25519::Public, sr25519::Pair>>>;

/// Operator key pairs kept open at most (a node hosts a handful of operator keys).
const MAX_SIGNERS: usize = 64;

/// What answering needs, moved to a blocking thread: the keys to sign with and the checked
/// kfrags.
#[derive(Clone)]
struct Answering {
	keystore: Arc<LocalKeystore>,
	signers: Signers,
	genesis: H256,
	kfrags: KFragCache,
	cache_size: usize,
}

impl<C, P> FastPath<C, P> {
	/// The fast path with `limits`, serving with the Umbral identities of `seeds`.
	pub fn new(
		client: Arc<C>,
		pool: Arc<P>,
		keystore: Arc<LocalKeystore>,
		seeds: &[[u8; 32]],
		genesis: H256,
		limits: Limits,
		tampers: Tampers,
	) -> Self {
		let turns = Arc::new(tokio::sync::Semaphore::new(limits.concurrency.max(1)));
		let waiting = Arc::new(tokio::sync::Semaphore::new(limits.max_waiting.max(1)));
		let identities = seeds
			.iter()
			.filter_map(identity::secret)
			.map(|secret| (UmbralPublicKey::of(&secret.public_key()), secret))
			.collect();
		Self {
			client,
			pool,
			keystore,
			identities: Arc::new(identities),
			genesis,
			limits,
			tampers,
			rates: Arc::new(Mutex::new(RateLimiter { buckets: HashMap::new() })),
			turns,
			waiting,
			served: Arc::new(Mutex::new(Served { requests: HashMap::new() })),
			kfrags: Arc::new(Mutex::new(HashMap::new())),
			services: Arc::new(Mutex::new(HashMap::new())),
			foreign_runtime: Arc::new(AtomicU64::new(u64::MAX)),
			signers: Arc::new(Mutex::new(HashMap::new())),
			metrics: None,
		}
	}

	/// The fast path counting its requests, capsules and CPU time in `registry`.
	pub fn with_metrics(mut self, registry: &Registry) -> Result<Self, PrometheusError> {
		self.metrics = Some(Metrics::register(registry)?);
		Ok(self)
	}
}

/// What the fast path reads of the chain: state, blocks, new blocks and the runtime's
/// `DirectAccessApi` and `TaggedTransactionQueue`, and its runtime's version.
pub trait Chain:
	ProvideRuntimeApi<
		Block,
		Api: kms_primitives::policies::DirectAccessApi<Block, AccountId>
		         + sp_transaction_pool::runtime_api::TaggedTransactionQueue<Block>,
	> + sp_api::CallApiAt<Block>
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
	C: ProvideRuntimeApi<
			Block,
			Api: kms_primitives::policies::DirectAccessApi<Block, AccountId>
			         + sp_transaction_pool::runtime_api::TaggedTransactionQueue<Block>,
		> + sp_api::CallApiAt<Block>
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

/// What [`FastPath::check`] found.
struct Checked {
	/// The policy's current version.
	version: PolicyVersion,
	/// The request's capsules, decoded.
	decoded: Vec<umbral_pre::Capsule>,
	/// The hosted nodes that serve that version.
	hosted: Vec<Hosted>,
	/// The requester's nonce on chain.
	used: kms_runtime::Nonce,
}

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

/// The name of a chain error, as the chain's metadata gives it (`Policies::PolicyRevoked`):
/// the chain's judgement of the request as of the next block.
fn refusal(refused: DispatchError) -> ErrorObjectOwned {
	refused_as(refused, "the chain refuses the request")
}

/// The same for a request that landed and was logged as refused (`DirectReencryptionRefused`)
/// in block `block`: access that was granted when the node checked, and no longer when it
/// landed.
fn refused_in(block: H256, refused: DispatchError) -> ErrorObjectOwned {
	refused_as(refused, &format!("the chain refused the request in block {block}"))
}

fn refused_as(refused: DispatchError, what: &str) -> ErrorObjectOwned {
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
			format!("{what}: {pallet}::{name}"),
			Some(serde_json::json!({ "pallet": pallet, "error": name })),
		),
		None => error(code::REFUSED, format!("{what}: {refused:?}")),
	}
}

impl<C: Chain, P: Pool> FastPath<C, P> {
	/// The nodes of `policy` this node hosts (operator key in the keystore) that accepted its
	/// current version, with the secret of the key their kfrag is sealed to.
	fn hosted(&self, at: H256, policy: PolicyId) -> Result<Vec<Hosted>, ErrorObjectOwned> {
		let internal = |why: String| error(code::INTERNAL, why);
		let mut hosted = Vec::new();
		let operators = self.keystore.sr25519_public_keys(KEY_TYPE);
		// A key removed from the keystore is no longer kept open either.
		if let Ok(mut open) = self.signers.lock() {
			open.retain(|operator, _| operators.contains(operator));
		}
		for operator in operators {
			let key =
				pallet_kms_staking::Operators::<Runtime>::hashed_key_for(AccountId::from(operator));
			let node = read::<AccountId, _>(&*self.client, at, key)
				.map_err(|e| internal(format!("the best block's state: {e:?}")))?;
			let Some(node) = node else { continue };
			let Some(service) = self.direct_service(at, policy, &node)? else { continue };
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

	/// A turn to work (bounded concurrency), waited for at most `queue_wait`.
	async fn turn(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ErrorObjectOwned> {
		tokio::time::timeout(self.limits.queue_wait, self.turns.clone().acquire_owned())
			.await
			.ok()
			.and_then(Result::ok)
			.ok_or_else(|| error(code::BUSY, "the node is serving as many requests as it can"))
	}

	/// The hosted nodes of `policy` that accepted its `version`, at block `at`.
	fn hosted_at(
		&self,
		at: H256,
		policy: PolicyId,
		version: PolicyVersion,
	) -> Result<Vec<Hosted>, ErrorObjectOwned> {
		let hosted: Vec<Hosted> = self
			.hosted(at, policy)?
			.into_iter()
			.filter(|hosted| hosted.service.version == version)
			.collect();
		if hosted.is_empty() {
			return Err(error(
				code::NOT_SERVED,
				format!(
					"no KMS node of policy 0x{} that accepted its version {version} is hosted here",
					hex::encode(policy)
				),
			));
		}
		Ok(hosted)
	}

	/// Those of `hosted` (read at block `best`) whose part is the same at the finalized block:
	/// the keys a signed answer is judged by can then no longer change with a fork. When none is
	/// yet (a policy version younger than finality), waits until the finalized block reaches
	/// `best`'s height (at most `final_wait`) and looks again.
	async fn final_parts(
		&self,
		best: H256,
		policy: PolicyId,
		hosted: Vec<Hosted>,
		cpu: &mut f64,
	) -> Result<Vec<Hosted>, ErrorObjectOwned> {
		let hosted = match measured(cpu, || self.same_at_finalized(policy, hosted))? {
			(final_parts, _) if !final_parts.is_empty() => return Ok(final_parts),
			(_, younger) => younger,
		};
		let not_final = || {
			error(
				code::NOT_FINAL,
				format!(
					"the policy's version is not final within {} s: ask on chain",
					self.limits.final_wait.as_secs()
				),
			)
		};
		let height = self
			.client
			.header(best)
			.ok()
			.flatten()
			.map(|header| *header.number())
			.ok_or_else(|| error(code::INTERNAL, "the best block's header"))?;
		log::debug!(
			target: LOG_TARGET,
			"policy 0x{}: the version at block #{height} is not final yet (finalized #{}): waiting",
			hex::encode(policy),
			self.client.info().finalized_number
		);
		let mut finalized = self.client.finality_notification_stream();
		let deadline = tokio::time::Instant::now() + self.limits.final_wait;
		while self.client.info().finalized_number < height {
			match tokio::time::timeout_at(deadline, finalized.next()).await {
				Ok(Some(_)) => continue,
				Ok(None) | Err(_) => return Err(not_final()),
			}
		}
		let (final_parts, _) = measured(cpu, || self.same_at_finalized(policy, hosted))?;
		if final_parts.is_empty() {
			return Err(not_final());
		}
		Ok(final_parts)
	}

	/// `hosted` split into the parts that are the same at the finalized block and the others.
	fn same_at_finalized(
		&self,
		policy: PolicyId,
		hosted: Vec<Hosted>,
	) -> Result<(Vec<Hosted>, Vec<Hosted>), ErrorObjectOwned> {
		let at = self.client.info().finalized_hash;
		let (mut same, mut younger) = (Vec::new(), Vec::new());
		for hosted in hosted {
			let part = self.direct_service(at, policy, &hosted.node)?;
			if part.as_ref() == Some(&hosted.service) {
				same.push(hosted);
			} else {
				younger.push(hosted);
			}
		}
		Ok((same, younger))
	}

	/// What `node` serves of `policy` as of block `at` (`DirectAccessApi::direct_service`):
	/// from the cache, or asked of the runtime and kept.
	fn direct_service(
		&self,
		at: H256,
		policy: PolicyId,
		node: &AccountId,
	) -> Result<Option<DirectService>, ErrorObjectOwned> {
		use kms_primitives::policies::DirectAccessApi;
		let key = (at, policy, node.clone());
		let cache = || {
			self.services
				.lock()
				.map_err(|_| error(code::INTERNAL, "the policies' services"))
		};
		if let Some(service) = cache()?.get(&key) {
			return Ok(service.clone());
		}
		let service = self
			.client
			.runtime_api()
			.direct_service(at, policy, node.clone())
			.map_err(|e| error(code::INTERNAL, format!("the runtime: {e}")))?;
		let mut cache = cache()?;
		if cache.len() >= MAX_SERVICES {
			cache.clear();
		}
		cache.insert(key, service.clone());
		Ok(service)
	}

	/// `who`'s nonce on chain at block `at`: the next transaction it may have included.
	fn account_nonce(
		&self,
		at: H256,
		who: &AccountId,
	) -> Result<kms_runtime::Nonce, ErrorObjectOwned> {
		type Info = frame_system::AccountInfo<
			kms_runtime::Nonce,
			<Runtime as frame_system::Config>::AccountData,
		>;
		let key = frame_system::Account::<Runtime>::hashed_key_for(who);
		read::<Info, _>(&*self.client, at, key)
			.map(|info| info.map_or(0, |info| info.nonce))
			.map_err(|e| error(code::INTERNAL, format!("the best block's state: {e:?}")))
	}

	fn secret_of(&self, key: &UmbralPublicKey) -> Option<umbral_pre::SecretKey> {
		self.identities
			.iter()
			.find(|(public, _)| public == key)
			.map(|(_, secret)| secret.clone())
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
	async fn included(&self, request: &Request, cpu: &mut f64) -> Result<H256, ErrorObjectOwned> {
		let mut imported = self.client.import_notification_stream();
		let deadline = tokio::time::Instant::now() + self.limits.inclusion_timeout;
		// It may have landed before this node was asked.
		let mut hash = self.client.info().best_hash;
		for _ in 0..self.limits.lookback {
			if let Some(found) = measured(cpu, || self.logged(hash, request))? {
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
			if let Some(found) = measured(cpu, || self.logged(notification.hash, request))? {
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
					return Ok(Some(Err(refused_in(hash, refused.into()))));
				},
				_ => {},
			}
		}
		Ok(Some(Err(error(code::REFUSED, format!("the request failed in block {hash}")))))
	}
}

impl Answering {
	/// The key pair of `operator`: kept open, or opened from the keystore.
	fn signer(&self, operator: &sr25519::Public) -> Result<sr25519::Pair, ErrorObjectOwned> {
		let internal = |why: String| error(code::INTERNAL, why);
		let open = || self.signers.lock().map_err(|_| internal("the operator keys".into()));
		if let Some(pair) = open()?.get(operator) {
			return Ok(pair.clone());
		}
		let pair = self
			.keystore
			.key_pair::<operator::Pair>(&operator::Public::from(*operator))
			.map_err(|e| internal(format!("the keystore: {e}")))?
			.ok_or_else(|| internal(format!("the keystore has no operator key {operator}")))?
			.into_inner();
		let mut open = open()?;
		if open.len() >= MAX_SIGNERS {
			open.clear();
		}
		open.insert(*operator, pair.clone());
		Ok(pair)
	}

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

	/// Re-encrypts `capsules` (and `decoded`, the same decoded) for `hosted`, checks every cfrag,
	/// and signs each as a `SignedCfrag`. With `test-tamper`, a node listed to tamper answers
	/// wrong cfrags instead.
	fn answer(
		&self,
		hosted: &Hosted,
		policy: PolicyId,
		capsules: &[CapsuleBytes],
		decoded: &[umbral_pre::Capsule],
		#[cfg_attr(not(feature = "test-tamper"), allow(unused_variables))] tampers: bool,
	) -> Result<serde_json::Value, ErrorObjectOwned> {
		let internal = |why: String| error(code::INTERNAL, why);
		let mut rng = rand_core::OsRng;
		let keys = hosted.service.keys;
		let kfrag = self.kfrag(hosted)?;
		let signer = self.signer(&hosted.operator)?;
		let mut cfrags = Vec::with_capacity(capsules.len());
		let mut signatures = Vec::with_capacity(capsules.len());
		for (capsule, decoded) in capsules.iter().zip(decoded) {
			#[cfg(feature = "test-tamper")]
			let cfrag = if tampers {
				tampered_cfrag(&keys, &kfrag, &mut rng)?
			} else {
				reencrypt_checked(&mut rng, decoded, &kfrag, &keys)
					.map_err(|why| internal(format!("{}: {why}", hosted.node)))?
			};
			#[cfg(not(feature = "test-tamper"))]
			let cfrag = reencrypt_checked(&mut rng, decoded, &kfrag, &keys)
				.map_err(|why| internal(format!("{}: {why}", hosted.node)))?;
			let signed = SignedCfrag {
				policy,
				version: hosted.service.version,
				node: hosted.node.clone(),
				capsule: capsule.clone(),
				cfrag: cfrag.clone().try_into().map_err(|_| internal("a cfrag's length".into()))?,
			};
			let signature = signer.sign(&signed.signing_payload(&self.genesis));
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
	kms_primitives::wire::to_vec(&cfrag).map_err(|_| internal("a cfrag does not encode"))
}

impl<C: Chain, P: Pool> FastPath<C, P> {
	/// Serves `transaction` (see `kms_reencrypt`): the answer, and how many capsules were
	/// re-encrypted (per hosted node). Adds the CPU time the request's own work used on this
	/// node's threads to `cpu`.
	async fn serve(
		&self,
		transaction: &[u8],
		cpu: &mut f64,
	) -> Result<(serde_json::Value, usize), ErrorObjectOwned> {
		let started = Instant::now();
		let request = measured(cpu, || parse(transaction, &self.limits))?;
		let best = self.client.info().best_hash;
		let turn = self.turn().await?;
		let Checked { version, decoded, hosted, used } =
			measured(cpu, || self.check(&request, best))?;
		drop(turn);
		// Waiting (for finality, the pool, a block) holds no turn, but a bounded place.
		let waiting =
			self.waiting.clone().try_acquire_owned().map_err(|_| {
				error(code::BUSY, "the node is waiting on as many requests as it can")
			})?;
		let hosted = self.final_parts(best, request.policy, hosted, cpu).await?;
		// The nonce is reserved before the transaction is relayed: another request of a nonce
		// already served must not reach the pool, where it would replace the served one.
		let served =
			|| self.served.lock().map_err(|_| error(code::INTERNAL, "the served requests"));
		served()?.admit(&request, used, self.limits.max_served)?;
		if let Err(refused) = self.relay(best, &request).await {
			served()?.forget(&request);
			return Err(refused);
		}
		let paid = hosted.iter().any(|hosted| hosted.service.pays_per_access);
		let included_in = if paid { Some(self.included(&request, cpu).await?) } else { None };
		drop(waiting);
		let _turn = self.turn().await?;
		let answering = Answering {
			keystore: self.keystore.clone(),
			signers: self.signers.clone(),
			genesis: self.genesis,
			kfrags: self.kfrags.clone(),
			cache_size: self.limits.kfrag_cache,
		};
		let (policy, capsules) = (request.policy, request.capsules.clone());
		let tampers: Vec<bool> = hosted.iter().map(|hosted| (self.tampers)(&hosted.node)).collect();
		let (answers, answering_cpu) = tokio::task::spawn_blocking(move || {
			let mut cpu = 0.0;
			let answers = measured(&mut cpu, || {
				hosted
					.iter()
					.zip(tampers)
					.map(|(hosted, tampers)| {
						answering.answer(hosted, policy, &capsules, &decoded, tampers)
					})
					.collect::<Result<Vec<_>, _>>()
			});
			(answers, cpu)
		})
		.await
		.map_err(|e| error(code::INTERNAL, format!("re-encryption: {e}")))?;
		*cpu += answering_cpu;
		let answers = answers?;
		log::debug!(
			target: LOG_TARGET,
			"served {} capsules of policy 0x{} to {} in {} µs",
			request.capsules.len(),
			hex::encode(request.policy),
			request.requester,
			started.elapsed().as_micros()
		);
		let capsules = request.capsules.len() * answers.len();
		let answer = serde_json::json!({
			"transaction": format!("{:?}", request.hash),
			"included_in": included_in.map(|hash| format!("{hash:?}")),
			"policy": format!("0x{}", hex::encode(request.policy)),
			"version": version,
			"answers": answers,
		});
		Ok((answer, capsules))
	}

	/// What is checked at block `best` before anything else: who signed the request, first
	/// (the runtime checks signature, nonce and fee as the pool will, so that a forged request
	/// costs the node one check and nobody spends another requester's allowance), then the
	/// requester's rate, then the request as the chain will check it.
	fn check(&self, request: &Request, best: H256) -> Result<Checked, ErrorObjectOwned> {
		use kms_primitives::policies::DirectAccessApi;
		use sp_api::ApiExt;
		use sp_transaction_pool::runtime_api::TaggedTransactionQueue;
		let internal = |e: sp_api::ApiError| error(code::INTERNAL, format!("the runtime: {e}"));
		self.client
			.runtime_api()
			.validate_transaction(
				best,
				TransactionSource::External,
				request.extrinsic.clone(),
				best,
			)
			.map_err(internal)?
			.map_err(|invalid| {
				error(
					code::POOL_REFUSED,
					format!("the runtime refuses the transaction: {invalid:?}"),
				)
			})?;
		let allowed = self
			.rates
			.lock()
			.map(|mut rates| rates.take(&request.requester, &self.limits))
			.unwrap_or(false);
		if !allowed {
			return Err(error(
				code::RATE_LIMITED,
				format!(
					"{} asks more often than this node serves one requester ({}/s)",
					request.requester, self.limits.requests_per_second
				),
			));
		}
		// The capsules natively, with the pallet's own code, while the chain runs the runtime
		// this node was built with: decoding checks each capsule's self-signature, which in
		// the runtime would cost more than everything else checked. Under another runtime
		// version (an upgrade may change what a well-formed capsule is) the runtime decodes
		// them, and the node again for re-encryption.
		let api = self.client.runtime_api();
		let (requester, policy, capsules) =
			(request.requester.clone(), request.policy, request.capsules.clone());
		let runtime = sp_api::CallApiAt::runtime_version_at(
			&*self.client,
			best,
			sp_api::CallContext::Offchain,
		)
		.map_err(internal)?;
		let natively = runtime.spec_name == kms_runtime::VERSION.spec_name
			&& runtime.spec_version == kms_runtime::VERSION.spec_version
			&& api
				.api_version::<dyn DirectAccessApi<Block, AccountId>>(best)
				.map_err(internal)?
				.is_some_and(|version| version >= 2);
		let (version, decoded) = if natively {
			let decoded =
				pallet_kms_policies::Pallet::<Runtime>::check_direct_capsules(&request.capsules)
					.map_err(|malformed| refusal(malformed.into()))?;
			let checked = api.check_direct_access(best, requester, policy, capsules);
			(checked.map_err(internal)?.map_err(refusal)?, decoded)
		} else {
			let spec_version = u64::from(runtime.spec_version);
			if self.foreign_runtime.swap(spec_version, Ordering::Relaxed) != spec_version {
				log::warn!(
					target: LOG_TARGET,
					"the chain runs runtime {} {}, this node was built with {} {}: the fast path \
					 checks requests through the runtime (slower) while they differ",
					runtime.spec_name,
					runtime.spec_version,
					kms_runtime::VERSION.spec_name,
					kms_runtime::VERSION.spec_version,
				);
			}
			let checked = api.check_direct_request(best, requester, policy, capsules);
			let version = checked.map_err(internal)?.map_err(refusal)?;
			let decoded = request
				.capsules
				.iter()
				.map(|capsule| kms_primitives::wire::decode_capsule(capsule))
				.collect::<Result<Vec<_>, _>>()
				.map_err(|_| {
					error(code::INTERNAL, "a capsule the chain admitted does not decode")
				})?;
			(version, decoded)
		};
		let hosted = self.hosted_at(best, request.policy, version)?;
		let used = self.account_nonce(best, &request.requester)?;
		Ok(Checked { version, decoded, hosted, used })
	}
}

#[jsonrpsee::core::async_trait]
impl<C: Chain, P: Pool> FastPathApiServer for FastPath<C, P> {
	async fn reencrypt(&self, transaction: Bytes) -> RpcResult<serde_json::Value> {
		let mut cpu = 0.0;
		let served = self.serve(&transaction, &mut cpu).await;
		if let Some(metrics) = &self.metrics {
			let (result, capsules) = match &served {
				Ok((_, capsules)) => (outcome(None), *capsules),
				Err(refused) => (outcome(Some(refused)), 0),
			};
			metrics.requests.with_label_values(&[result]).inc();
			metrics.capsules.inc_by(capsules as u64);
			metrics.cpu.inc_by(cpu);
		}
		Ok(served.map(|(answer, _)| answer)?)
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
		// A burst of two, then nothing until the bucket refills.
		assert!(rates.take(&alice, &limits));
		assert!(rates.take(&alice, &limits));
		assert!(!rates.take(&alice, &limits));
		assert!(rates.take(&bob, &limits));
		// Two busy requesters tracked: a third waits rather than erasing their history.
		assert!(!rates.take(&carol, &limits));
		// An idle requester (full bucket) is forgotten to make room.
		let mut rates = RateLimiter { buckets: HashMap::new() };
		rates.buckets.insert(alice.clone(), (limits.burst, Instant::now()));
		assert!(rates.take(&bob, &limits));
		assert!(rates.take(&carol, &limits));
		assert!(!rates.buckets.contains_key(&alice));
	}

	fn request(requester: u8, nonce: kms_runtime::Nonce, hash: u8) -> Request {
		Request {
			requester: AccountId::from([requester; 32]),
			nonce,
			policy: [0; 16],
			capsules: Vec::new(),
			extrinsic: OpaqueExtrinsic::default(),
			hash: H256::repeat_byte(hash),
		}
	}

	/// A reader who was served and then replaced its request in the pools (same nonce, higher
	/// tip) is not served again for that nonce: each unlogged access costs it a fee.
	#[test]
	fn a_requester_is_served_once_per_nonce_until_the_nonce_is_used() {
		let mut served = Served { requests: HashMap::new() };
		assert!(served.admit(&request(1, 5, 1), 5, 10).is_ok());
		// The same request again (a retry) is fine; another of the same nonce is not.
		assert!(served.admit(&request(1, 5, 1), 5, 10).is_ok());
		assert_eq!(
			served.admit(&request(1, 5, 2), 5, 10).map_err(|e| e.code()),
			Err(code::POOL_REFUSED)
		);
		// Another requester, or the next nonce, is another request.
		assert!(served.admit(&request(2, 5, 2), 0, 10).is_ok());
		assert!(served.admit(&request(1, 6, 3), 5, 10).is_ok());
		// Once nonce 5 is used on chain its record goes (and a request of it could not land).
		assert!(served.admit(&request(1, 7, 4), 6, 10).is_ok());
		assert!(!served.requests.contains_key(&(AccountId::from([1; 32]), 5)));
		assert!(served.requests.contains_key(&(AccountId::from([2; 32]), 5)));
		// A request that was not relayed after all frees its nonce; only its own record goes.
		served.forget(&request(2, 5, 9));
		assert!(served.requests.contains_key(&(AccountId::from([2; 32]), 5)));
		served.forget(&request(2, 5, 2));
		assert!(served.admit(&request(2, 5, 6), 0, 10).is_ok());
		// A bounded record: full, a new request waits.
		assert_eq!(served.admit(&request(3, 0, 5), 0, 3).map_err(|e| e.code()), Err(code::BUSY));
	}

	#[test]
	fn each_result_is_counted_under_a_label_of_its_own() {
		let labels: std::collections::HashSet<_> = OUTCOMES.iter().map(|(_, l)| l).collect();
		assert_eq!(labels.len(), OUTCOMES.len());
		assert_eq!(outcome(None), "served");
		assert_eq!(outcome(Some(&error(code::RATE_LIMITED, "slow down"))), "rate_limited");
		assert_eq!(outcome(Some(&error(code::NOT_FINAL, "wait"))), "not_final");
		// An error of the RPC server itself (not one of ours) is internal.
		assert_eq!(outcome(Some(&error(-32603, "?"))), "internal");
	}

	#[test]
	fn the_cpu_time_of_work_is_counted_and_of_none_nothing() {
		let mut cpu = 0.0;
		let work = || {
			(0..std::hint::black_box(2_000_000u64))
				.fold(0u64, |a, b| std::hint::black_box(a ^ b.wrapping_mul(b)))
		};
		std::hint::black_box(measured(&mut cpu, work));
		assert!(cpu > 0.0, "work on this thread took CPU time: {cpu}");
		let counted = cpu;
		measured(&mut cpu, || ());
		assert!(cpu - counted < 0.001, "nothing done costs next to nothing: {}", cpu - counted);
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
