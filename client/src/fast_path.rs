//! The fast path (`PROTOCOL.md`, "Re-encryption", step 5): cfrags straight from the nodes'
//! public JSON-RPC (`kms_reencrypt`), in milliseconds, with every access still logged on chain.
//!
//! The reader signs one `Policies.request_direct_reencryption` transaction
//! ([`Client::sign_direct_request`]) and hands the same bytes to every node of the policy that
//! published an endpoint ([`Client::fast_reencrypt`]); each node relays it to the chain before
//! it answers. Everything a node sends back is hostile until checked: an answer counts only if
//! it names a node of the policy, is signed by that node's operator key (as the chain records
//! it) over each `SignedCfrag`, and has one cfrag per capsule. Whether each cfrag is right is
//! the caller's check (`umbral::verify_cfrag`); a wrong one, being signed, is evidence for
//! [`Client::challenge_signed_cfrag`].

use crate::{
	error::{chain, rpc as rpc_error},
	runtime::{self, runtime_types::sp_runtime::MultiSignature},
	AccountId, Client, Error, Keypair, PolicyId,
};
use kms_primitives::policies::{PolicyVersion, SignedCfrag};
use std::{collections::BTreeMap, time::Duration};
use subxt::{
	config::DefaultExtrinsicParamsBuilder,
	rpcs::{client::rpc_params, RpcClient},
};

/// A signed direct request, ready to hand to the nodes.
#[derive(Clone, Debug)]
pub struct DirectRequest {
	/// The transaction's SCALE bytes.
	pub bytes: Vec<u8>,
	/// Its hash.
	pub hash: subxt::utils::H256,
	/// The nonce it uses: a transaction signed after it by the same account takes the next.
	pub nonce: u64,
	/// The policy.
	pub policy: PolicyId,
	/// The capsules (standard bytes), in order.
	pub capsules: Vec<Vec<u8>>,
}

/// A published endpoint, connected, and the nodes of the policy it serves.
struct Endpoint {
	url: String,
	hosted: Vec<AccountId>,
	rpc: RpcClient,
}

/// The nodes of a policy as the fast path reaches them ([`Client::fast_path`]).
pub struct FastPath {
	endpoints: Vec<Endpoint>,
	operators: BTreeMap<AccountId, AccountId>,
	genesis: subxt::utils::H256,
	/// Nodes of the policy without a published endpoint.
	pub unreachable: Vec<AccountId>,
	/// Endpoints that could not be reached, with why.
	pub failures: Vec<(String, Error)>,
}

impl FastPath {
	/// How many endpoints are connected.
	pub fn endpoints(&self) -> usize {
		self.endpoints.len()
	}

	/// How many of the policy's nodes a connected endpoint serves.
	pub fn reachable_nodes(&self) -> usize {
		self.endpoints.iter().map(|endpoint| endpoint.hosted.len()).sum()
	}

	/// Hands `request` to every connected endpoint at once (or only to the one at `only`, if
	/// given) and gathers the answers for `timeout` at most. Answers are kept only if they name
	/// a node the endpoint was published for and every signature is that node's operator's
	/// over the cfrag's `SignedCfrag`; the cfrags themselves are for the caller to verify.
	pub async fn reencrypt(&self, request: &DirectRequest, timeout: Duration) -> FastAnswers {
		self.reencrypt_at(request, timeout, None).await
	}

	/// [`FastPath::reencrypt`] through the endpoint at index `only` alone (benchmarks measure
	/// one node).
	pub async fn reencrypt_at(
		&self,
		request: &DirectRequest,
		timeout: Duration,
		only: Option<usize>,
	) -> FastAnswers {
		let mut result = FastAnswers::default();
		let hex_bytes = format!("0x{}", hex::encode(&request.bytes));
		let calls = self
			.endpoints
			.iter()
			.enumerate()
			.filter(|(index, _)| only.is_none_or(|only| only == *index))
			.map(|(_, endpoint)| {
				let hex_bytes = hex_bytes.clone();
				async move {
					let call =
						endpoint.rpc.request::<Reply>("kms_reencrypt", rpc_params![hex_bytes]);
					let reply = match tokio::time::timeout(timeout, call).await {
						Ok(Ok(reply)) => Ok(reply),
						Ok(Err(error)) => Err(Error::FastPath(error.to_string())),
						Err(_) => Err(Error::Timeout(format!(
							"{}: no answer within {} ms",
							endpoint.url,
							timeout.as_millis()
						))),
					};
					(endpoint, reply)
				}
			});
		for (endpoint, reply) in futures::future::join_all(calls).await {
			let reply = match reply {
				Ok(reply) => reply,
				Err(error) => {
					result.failures.push((endpoint.url.clone(), error));
					continue;
				},
			};
			if let Some(hash) = reply.included_in.as_deref().and_then(from_hex) {
				if hash.len() == 32 {
					result.included_in = Some(subxt::utils::H256::from_slice(&hash));
				}
			}
			for answer in reply.answers.into_iter().take(MAX_REPLY_ANSWERS) {
				let checked = check_answer(
					answer,
					reply.version,
					request,
					&endpoint.hosted,
					&self.operators,
					&self.genesis,
				);
				match checked {
					Ok(answer) if result.answers.iter().all(|a| a.node != answer.node) => {
						result.answers.push(answer)
					},
					Ok(_) => {},
					Err(why) => result.failures.push((endpoint.url.clone(), Error::FastPath(why))),
				}
			}
		}
		result
	}
}

/// One node's answer, its signatures checked.
#[derive(Clone, Debug)]
pub struct SignedAnswer {
	/// The node.
	pub node: AccountId,
	/// The policy version it answered under.
	pub version: PolicyVersion,
	/// One cfrag per capsule (standard bytes), in the request's order.
	pub cfrags: Vec<Vec<u8>>,
	/// The operator's sr25519 signature over each cfrag's `SignedCfrag`.
	pub signatures: Vec<[u8; 64]>,
}

/// What the nodes of a policy answered over the fast path.
#[derive(Debug, Default)]
pub struct FastAnswers {
	/// The answers whose signatures check, one per node at most.
	pub answers: Vec<SignedAnswer>,
	/// The block a node says logged the request, when it waited for it (paid access); as
	/// the node says it, unchecked.
	pub included_in: Option<subxt::utils::H256>,
	/// Each endpoint that did not answer usefully, with why.
	pub failures: Vec<(String, Error)>,
	/// Nodes of the policy without a published endpoint.
	pub unreachable: Vec<AccountId>,
}

/// What `kms_reencrypt` returns, as the node sends it (hex strings).
#[derive(serde::Deserialize)]
struct Reply {
	included_in: Option<String>,
	version: PolicyVersion,
	answers: Vec<ReplyAnswer>,
}

#[derive(serde::Deserialize)]
struct ReplyAnswer {
	node: String,
	cfrags: Vec<String>,
	signatures: Vec<String>,
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
	hex::decode(text.strip_prefix("0x").unwrap_or(text)).ok()
}

/// Answers of one reply looked at (a reply is bounded by the RPC client's response size
/// limit; an endpoint hosts few nodes).
const MAX_REPLY_ANSWERS: usize = 64;

impl Client {
	/// Signs (does not submit) a direct request of `reader` for `capsules` under `policy`: the
	/// transaction the nodes relay to the chain, anchored as [`Client::submit`] anchors, with
	/// the reader's next nonce.
	pub async fn sign_direct_request(
		&self,
		reader: &Keypair,
		policy: PolicyId,
		capsules: Vec<Vec<u8>>,
	) -> Result<DirectRequest, Error> {
		let mut signed = self.sign_direct_requests(reader, policy, vec![capsules]).await?;
		signed.pop().ok_or_else(|| Error::Protocol("no request was signed".into()))
	}

	/// Signs one direct request per entry of `batches` (each the capsules of one request), with
	/// consecutive nonces from the reader's next: requests made ahead of time, which the nodes
	/// may receive in any order (the pool queues a nonce until its predecessors arrive).
	pub async fn sign_direct_requests(
		&self,
		reader: &Keypair,
		policy: PolicyId,
		batches: Vec<Vec<Vec<u8>>>,
	) -> Result<Vec<DirectRequest>, Error> {
		use runtime::runtime_types::bounded_collections::bounded_vec::BoundedVec;
		let account = reader.public_key().to_account_id();
		let first = self.next_nonce(&account).await?;
		let anchor = self.signing_anchor().await?;
		let at = self.api.at_block(subxt::backend::BlockRef::from(anchor)).await.map_err(chain)?;
		let mut signed = Vec::with_capacity(batches.len());
		for (nonce, capsules) in (first..).zip(batches) {
			let call = runtime::tx().policies().request_direct_reencryption(
				policy,
				BoundedVec(capsules.iter().cloned().map(BoundedVec).collect()),
			);
			let params = DefaultExtrinsicParamsBuilder::new()
				.nonce(nonce)
				.mortal(crate::MORTALITY)
				.build();
			let transaction = at
				.transactions()
				.create_v4_signable(&call, &account, params)
				.await
				.map_err(chain)?
				.sign(reader)
				.map_err(chain)?;
			signed.push(DirectRequest {
				hash: transaction.hash(),
				bytes: transaction.into_encoded(),
				nonce,
				policy,
				capsules,
			});
		}
		Ok(signed)
	}

	/// The fast-path endpoint `node` published, if any.
	pub async fn endpoint(&self, node: &AccountId) -> Result<Option<String>, Error> {
		let endpoint = self.fetch(runtime::storage().staking().endpoints(), (*node,)).await?;
		Ok(endpoint.map(|endpoint| String::from_utf8_lossy(&endpoint.0 .0).into_owned()))
	}

	/// Publishes (or with `None` withdraws) the fast-path endpoint of `staker`'s node.
	pub async fn set_endpoint(
		&self,
		staker: &Keypair,
		endpoint: Option<&str>,
	) -> Result<crate::Included, Error> {
		use runtime::runtime_types::bounded_collections::bounded_vec::BoundedVec;
		let endpoint = endpoint.map(|url| BoundedVec(url.as_bytes().to_vec()));
		self.submit(&runtime::tx().staking().set_endpoint(endpoint), staker).await
	}

	/// The nodes of a policy as the fast path reaches them: each published endpoint (one
	/// connection each, kept for every request made through them) with the nodes it serves,
	/// and each node's operator, whose signatures its answers must carry. Endpoints that do not
	/// connect within `timeout` are left out, with why.
	pub async fn fast_path(
		&self,
		nodes: &[AccountId],
		timeout: Duration,
	) -> Result<FastPath, Error> {
		let mut grouped: BTreeMap<String, Vec<AccountId>> = BTreeMap::new();
		let mut fast = FastPath {
			endpoints: Vec::new(),
			operators: BTreeMap::new(),
			unreachable: Vec::new(),
			failures: Vec::new(),
			genesis: self.api.genesis_hash(),
		};
		for node in nodes {
			let Some(info) = self.node(node).await? else { continue };
			fast.operators.insert(*node, info.operator);
			match self.endpoint(node).await? {
				Some(url) => grouped.entry(url).or_default().push(*node),
				None => fast.unreachable.push(*node),
			}
		}
		let connections = grouped.into_iter().map(|(url, hosted)| async move {
			let connected = tokio::time::timeout(timeout, RpcClient::from_insecure_url(&url)).await;
			let connected = match connected {
				Ok(Ok(rpc)) => Ok(rpc),
				Ok(Err(error)) => Err(rpc_error(error)),
				Err(_) => Err(Error::Timeout(format!(
					"{url}: no connection within {} ms",
					timeout.as_millis()
				))),
			};
			(url, hosted, connected)
		});
		for (url, hosted, connected) in futures::future::join_all(connections).await {
			match connected {
				Ok(rpc) => fast.endpoints.push(Endpoint { url, hosted, rpc }),
				Err(error) => fast.failures.push((url, error)),
			}
		}
		Ok(fast)
	}

	/// Hands `request` to every node of its policy that published an endpoint, all at once, and
	/// gathers their answers for `timeout` at most: [`Client::fast_path`] then
	/// [`FastPath::reencrypt`].
	pub async fn fast_reencrypt(
		&self,
		request: &DirectRequest,
		nodes: &[AccountId],
		timeout: Duration,
	) -> Result<FastAnswers, Error> {
		let started = std::time::Instant::now();
		let fast = self.fast_path(nodes, timeout).await?;
		let mut answers = fast.reencrypt(request, timeout.saturating_sub(started.elapsed())).await;
		let FastPath { failures, unreachable, .. } = fast;
		answers.failures.extend(failures);
		answers.unreachable = unreachable;
		Ok(answers)
	}

	/// Waits (a few seconds at most) until the node counts `nonce` as taken for `reader` (a
	/// transaction of it relayed by another node reached this node's pool): the next
	/// transaction then gets the next nonce, not the relayed one's.
	pub async fn await_nonce(&self, reader: &Keypair, nonce: u64) -> Result<(), Error> {
		let account = reader.public_key().to_account_id();
		for _ in 0..30 {
			if self.next_nonce(&account).await? >= nonce {
				return Ok(());
			}
			tokio::time::sleep(Duration::from_millis(100)).await;
		}
		Ok(())
	}

	/// The direct requests logged as granted in block `number` of the best chain (the fast
	/// path's access log).
	pub async fn direct_requests_in(
		&self,
		number: crate::BlockNumber,
	) -> Result<Vec<runtime::policies::events::DirectReencryptionRequested>, Error> {
		let at = self.api.at_block(number).await.map_err(chain)?;
		let events = at.events().fetch().await.map_err(chain)?;
		events
			.find::<runtime::policies::events::DirectReencryptionRequested>()
			.map(|event| event.map_err(chain))
			.collect()
	}

	/// Challenges a cfrag `answer`'s node signed for capsule `index` of `request` (the
	/// challenger's deposit is held until the verdict): a wrong cfrag slashes the node and
	/// rewards the challenger.
	pub async fn challenge_signed_cfrag(
		&self,
		challenger: &Keypair,
		request: &DirectRequest,
		answer: &SignedAnswer,
		index: usize,
	) -> Result<crate::Included, Error> {
		use runtime::runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			kms_primitives::policies::SignedCfrag as ChainSignedCfrag,
		};
		let missing = || Error::Protocol(format!("no capsule {index} in the request"));
		let evidence = ChainSignedCfrag {
			policy: request.policy,
			version: answer.version,
			node: answer.node,
			capsule: BoundedVec(request.capsules.get(index).ok_or_else(missing)?.clone()),
			cfrag: BoundedVec(answer.cfrags.get(index).ok_or_else(missing)?.clone()),
		};
		let signature = answer.signatures.get(index).ok_or_else(missing)?;
		let signature = MultiSignature::Sr25519(*signature);
		let call = runtime::tx().adjudicator().challenge_signed_cfrag(evidence, signature);
		self.submit(&call, challenger).await
	}
}

/// `answer` as a [`SignedAnswer`] if it is one of `hosted` (the nodes the endpoint was
/// published for), with one cfrag per capsule, each signed by the node's operator.
fn check_answer(
	answer: ReplyAnswer,
	version: PolicyVersion,
	request: &DirectRequest,
	hosted: &[AccountId],
	operators: &BTreeMap<AccountId, AccountId>,
	genesis: &subxt::utils::H256,
) -> Result<SignedAnswer, String> {
	let node: AccountId = answer
		.node
		.parse()
		.map_err(|_| format!("an answer names no account: {}", answer.node))?;
	if !hosted.contains(&node) {
		return Err(format!("an answer for {node}, which did not publish this endpoint"));
	}
	let operator = operators.get(&node).ok_or_else(|| format!("{node} is no registered node"))?;
	let count = request.capsules.len();
	if answer.cfrags.len() != count || answer.signatures.len() != count {
		return Err(format!("{node} answered {} cfrags for {count} capsules", answer.cfrags.len()));
	}
	let public = subxt_signer::sr25519::PublicKey(operator.0);
	let mut cfrags = Vec::with_capacity(count);
	let mut signatures = Vec::with_capacity(count);
	for ((cfrag, signature), capsule) in
		answer.cfrags.iter().zip(&answer.signatures).zip(&request.capsules)
	{
		let cfrag = from_hex(cfrag).ok_or_else(|| format!("{node}: a cfrag is not hex"))?;
		let signature: [u8; 64] = from_hex(signature)
			.and_then(|bytes| bytes.try_into().ok())
			.ok_or_else(|| format!("{node}: a signature is not 64 bytes of hex"))?;
		let signed = SignedCfrag {
			policy: request.policy,
			version,
			node: node.0,
			capsule: capsule.clone().try_into().map_err(|_| "a capsule's length".to_string())?,
			cfrag: cfrag
				.clone()
				.try_into()
				.map_err(|_| format!("{node}: a cfrag of the wrong length"))?,
		};
		let payload = signed.signing_payload(genesis);
		if !subxt_signer::sr25519::verify(
			&subxt_signer::sr25519::Signature(signature),
			&payload,
			&public,
		) {
			return Err(format!("{node}: a cfrag not signed by its operator {operator}"));
		}
		cfrags.push(cfrag);
		signatures.push(signature);
	}
	Ok(SignedAnswer { node, version, cfrags, signatures })
}
