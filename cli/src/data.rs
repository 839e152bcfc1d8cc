//! `kms encrypt`, `kms decrypt`, `kms secret put|get`: data in and out.

use super::{
	explain_denial, parse_policy_id, parse_public_key, policy_hex, Context, Exit, Failure, Outcome,
};
use base64::Engine as _;
use clap::{ArgGroup, Args, Subcommand};
use kms_client::{
	keyring::Keyring,
	runtime::{self, runtime_types::kms_primitives::policies::PolicyStatus},
	stream::{self, Header},
	umbral::{self, PolicyKeys},
	units::{format_amount, parse_amount},
	AccountId, Balance, PolicyId,
};
use std::{
	fs,
	io::{self, BufReader, BufWriter, Read, Write},
	path::{Path, PathBuf},
};
use umbral_pre::{PublicKey, SecretKey, VerifiedCapsuleFrag};

/// Short secrets are sealed whole with umbral `encrypt`; larger data belongs in a file.
const MAX_SECRET: usize = 64 * 1024;
/// What starts a short secret's text form.
const SECRET_PREFIX: &str = "kms-secret-1:";

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("recipient").required(true).args(["label", "to_key"])))]
pub(super) struct Encrypt {
	/// Encrypt to your own label (its delegating key is derived from your keyring).
	#[arg(long)]
	label: Option<String>,
	/// Encrypt to someone's label key instead (their `kms keys show --label L`); needs no
	/// keyring.
	#[arg(long, value_name = "KEY", value_parser = parse_public_key)]
	to_key: Option<[u8; 33]>,
	/// The file to encrypt, or `-` for stdin.
	#[arg(default_value = "-")]
	input: PathBuf,
	/// Where to write the encrypted file, or `-` for stdout.
	#[arg(long, short)]
	output: PathBuf,
	/// Plaintext bytes per chunk (memory use is about twice this).
	#[arg(long, default_value_t = stream::DEFAULT_CHUNK_SIZE)]
	chunk_size: u32,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("access").required(true).args(["policy", "label"])))]
pub(super) struct Decrypt {
	/// Decrypt as a reader, through this policy: the file's capsule is re-encrypted by the
	/// policy's nodes (a request on chain, logged), every cfrag is verified.
	#[arg(long, value_parser = parse_policy_id)]
	policy: Option<PolicyId>,
	/// Decrypt as the owner of this label, with no request to the chain.
	#[arg(long)]
	label: Option<String>,
	/// The encrypted file, or `-` for stdin.
	#[arg(default_value = "-")]
	input: PathBuf,
	/// Where to write the plaintext, or `-` for stdout. A file appears only once the whole
	/// input has authenticated; on stdout, discard the output if `kms` fails.
	#[arg(long, short)]
	output: PathBuf,
	/// Do not challenge nodes whose cfrags fail verification (a challenge slashes the node
	/// and pays you part of the penalty; it costs a deposit if the cfrag was right).
	#[arg(long)]
	no_challenge: bool,
	/// The most the request may burn for its slot in a block, e.g. `0.01` (KMS). The price
	/// rises while blocks are full (`kms status` shows it); by default, twice the current one
	/// and what it can rise in the four blocks the request may take to land.
	#[arg(long, value_parser = parse_amount)]
	max_price: Option<Balance>,
	#[command(flatten)]
	path: PathChoice,
}

/// Which way a reader asks for cfrags.
#[derive(Debug, Args, Clone, Copy)]
pub(super) struct PathChoice {
	/// Skip the fast path: request on chain and wait for the nodes' answers there (blocks, not
	/// milliseconds). By default the nodes are asked directly first (every access is still
	/// logged on chain), and the chain is used when they do not answer in time.
	#[arg(long)]
	on_chain: bool,
	/// How long the fast path waits for the nodes' answers, in milliseconds, before falling
	/// back to the chain. A policy that charges per access waits for its payment to land too:
	/// then the wait is at least --timeout.
	#[arg(long, default_value_t = 3000, value_name = "MS")]
	fast_timeout: u64,
}

#[derive(Debug, Subcommand)]
pub(super) enum Secret {
	/// Encrypt a short secret (up to 64 KiB) to a label; prints one line of text
	/// (`kms-secret-1:` and the base64 of the capsule and ciphertext, umbral-pre's standard
	/// bytes) to store anywhere.
	Put {
		/// Your label.
		#[arg(long)]
		label: String,
		/// The secret, or `-` to read it from stdin.
		#[arg(default_value = "-")]
		value: String,
	},
	/// Decrypt a secret's text, through a policy (as a reader) or a label (as its owner);
	/// prints the secret.
	#[command(group(ArgGroup::new("access").required(true).args(["policy", "label"])))]
	Get {
		/// Decrypt as a reader through this policy.
		#[arg(long, value_parser = parse_policy_id)]
		policy: Option<PolicyId>,
		/// Decrypt as the owner of this label.
		#[arg(long)]
		label: Option<String>,
		/// The text `kms secret put` printed, or `-` to read it from stdin.
		#[arg(default_value = "-")]
		text: String,
		/// Do not challenge nodes whose cfrags fail verification.
		#[arg(long)]
		no_challenge: bool,
		/// The most the request may burn for its slot (KMS; by default, twice the current
		/// price and what it can rise in the four blocks the request may take to land).
		#[arg(long, value_parser = parse_amount)]
		max_price: Option<Balance>,
		#[command(flatten)]
		path: PathChoice,
	},
}

fn is_stdio(path: &Path) -> bool {
	path.as_os_str() == "-"
}

/// The input, buffered, and its length when it is a file.
fn open_input(path: &Path) -> Result<(Box<dyn Read>, Option<u64>), Failure> {
	if is_stdio(path) {
		return Ok((Box::new(BufReader::new(io::stdin().lock())), None));
	}
	let file = fs::File::open(path).map_err(|e| Failure::io(path.display(), e))?;
	let length = file.metadata().ok().map(|m| m.len());
	Ok((Box::new(BufReader::new(file)), length))
}

/// An output that appears at `path` only when committed: written beside it, renamed at the
/// end, removed if dropped uncommitted. `-` is stdout.
struct Output {
	target: Option<(PathBuf, PathBuf)>,
	writer: Box<dyn Write>,
}

impl Output {
	fn create(path: &Path) -> Result<Output, Failure> {
		if is_stdio(path) {
			return Ok(Output { target: None, writer: Box::new(BufWriter::new(io::stdout())) });
		}
		let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
		let partial = path.with_file_name(format!(".{name}.kms-partial-{}", std::process::id()));
		let file = fs::File::create(&partial).map_err(|e| Failure::io(partial.display(), e))?;
		Ok(Output {
			target: Some((partial, path.to_path_buf())),
			writer: Box::new(BufWriter::new(file)),
		})
	}

	fn commit(mut self) -> Result<(), Failure> {
		self.writer.flush().map_err(|e| Failure::io("writing the output", e))?;
		if let Some((partial, path)) = self.target.take() {
			fs::rename(&partial, &path).map_err(|e| Failure::io(path.display(), e))?;
		}
		Ok(())
	}
}

impl Drop for Output {
	fn drop(&mut self) {
		if let Some((partial, _)) = &self.target {
			let _ = fs::remove_file(partial);
		}
	}
}

/// Reports on stdout, or on stderr when stdout carries the data.
fn summary(ctx: &Context, output: &Path, text: String, json: serde_json::Value) {
	match (is_stdio(output), ctx.json) {
		(false, _) => ctx.print(text, json),
		(true, true) => eprintln!("{json}"),
		(true, false) => ctx.note(text),
	}
}

impl Encrypt {
	pub(super) async fn run(self, ctx: &Context) -> Outcome {
		let delegating = match (&self.label, &self.to_key) {
			(_, Some(key)) => umbral::public_key(key)?,
			(Some(label), None) => {
				ctx.open_keyring()?.delegating_key(label.as_bytes()).public_key()
			},
			(None, None) => return Err(Failure::usage("--label or --to-key is required")),
		};
		let (input, length) = open_input(&self.input)?;
		let mut output = Output::create(&self.output)?;
		let bar = ctx.bytes_bar(length);
		let bytes =
			stream::encrypt(&delegating, self.chunk_size, input, &mut output.writer, |done| {
				bar.set_position(done)
			})?;
		bar.finish_and_clear();
		output.commit()?;
		summary(
			ctx,
			&self.output,
			format!("encrypted {bytes} bytes to {}", self.output.display()),
			serde_json::json!({
				"bytes": bytes,
				"output": self.output,
				"delegating_key": format!("0x{}", hex::encode(umbral::compressed(&delegating))),
			}),
		);
		Ok(())
	}
}

/// What a reader learned getting cfrags: which path served, the request (its id on chain, or
/// the direct request's transaction) and each challenge made.
struct Retrieval {
	path: &'static str,
	request: serde_json::Value,
	delegating: PublicKey,
	cfrags: Vec<VerifiedCapsuleFrag>,
	answered_by: Vec<AccountId>,
	challenges: Vec<serde_json::Value>,
}

/// How a reader asks: whether to challenge wrong cfrags, the most to pay for the slot, and
/// which path to take.
#[derive(Clone, Copy)]
struct Asking {
	no_challenge: bool,
	max_price: Option<Balance>,
	path: PathChoice,
}

/// Requests re-encryption of `capsule` under policy `id` as `keyring`'s account (paying at
/// most `asking.max_price` for the slot), waits for `threshold` cfrags that verify, and
/// challenges those that do not (unless `asking.no_challenge`).
async fn retrieve(
	ctx: &Context,
	keyring: &Keyring,
	id: PolicyId,
	capsule: &[u8],
	asking: Asking,
) -> Result<Retrieval, Failure> {
	let Asking { no_challenge, max_price, path } = asking;
	let client = ctx.connect().await?;
	let hex = policy_hex(&id);
	let policy = client
		.policy(id)
		.await?
		.ok_or_else(|| Failure::refused(format!("there is no policy {hex} on this chain")))?;
	let receiving = keyring.receiving_key();
	let mine = umbral::compressed(&receiving.public_key());
	if policy.receiving_key.0 != mine {
		return Err(Failure::refused(format!(
			"policy {hex} grants access to receiving key 0x{}, not to yours (0x{})",
			hex::encode(policy.receiving_key.0),
			hex::encode(mine)
		))
		.hint("ask the owner to grant your receiving key (`kms keys show` prints it)"));
	}
	let me = keyring.account();
	if let Err(denied) = client.check_access(id, &keyring.account_id()).await? {
		return Err(explain_denial(&client, id, denied).await);
	}
	let keys = PolicyKeys {
		delegating: umbral::public_key(&policy.delegating_key.0)?,
		verifying: umbral::public_key(&policy.verifying_key.0)?,
		receiving: receiving.public_key(),
	};
	let capsule_object = umbral::capsule(capsule)?;
	let (threshold, shares) = (policy.threshold as usize, policy.nodes.0.len());
	if !path.on_chain {
		let asked = Asked { capsule, capsule_object: &capsule_object, keys: &keys, no_challenge };
		if let Some(retrieval) =
			retrieve_directly(ctx, &client, &me, id, &policy, asked, path).await?
		{
			return Ok(retrieval);
		}
	}

	let max_price = match max_price {
		Some(max) => max,
		None => client.default_max_price().await?,
	};
	let requested = client.request_reencryption_within(&me, id, vec![capsule.to_vec()], max_price);
	let (request, included) = match requested.await {
		Ok(requested) => requested,
		Err(error) if error.is("Policies", "RequestPriceAboveMax") => {
			return Err(Failure::refused(format!(
				"a request slot now costs more than {}: blocks are full of requests",
				format_amount(max_price)
			))
			.hint(
				"`kms status` shows the price, which falls as the load does; pass \
				       --max-price to pay more",
			));
		},
		// Revoked or ended between the check and the request.
		Err(error) if error.is("Policies", "PolicyRevoked") => {
			let block = match client.policy(id).await?.map(|p| p.status) {
				Some(PolicyStatus::Revoked(block)) => block.to_string(),
				_ => "?".into(),
			};
			return Err(Failure::refused(format!("policy {hex} was revoked at block {block}"))
				.hint("ask the owner for a new grant"));
		},
		Err(error) => return Err(error.into()),
	};
	ctx.note(format!(
		"requested re-encryption under policy {hex} in block {} (request {request})",
		included.block
	));
	// The chain judges answers against the keys of the policy version the request landed in: a
	// rotation between the read above and the request changes them, and a correct cfrag for
	// another reader must not be challenged (the deposit would be lost).
	let requested = included.event::<runtime::policies::events::ReencryptionRequested>()?;
	let (version, deadline) = (requested.version, requested.deadline);
	if version != policy.version {
		return Err(Failure::refused(format!(
			"policy {hex} was rotated (version {} to {version}) while the request was sent: \
			 request {request} is for its new version",
			policy.version
		))
		.hint("`kms policy show` shows the policy now; run the command again"));
	}
	let spinner = ctx.spinner(format!("waiting for {threshold} of {shares} nodes to answer"));
	let mut good: Vec<(AccountId, VerifiedCapsuleFrag)> = Vec::new();
	let mut bad: Vec<(AccountId, String)> = Vec::new();
	let mut needed = threshold;
	let mut ended = false;
	while good.len() < threshold && needed <= shares && !ended {
		let answers = match client.wait_for_cfrags(request, needed, deadline).await {
			Ok((answers, _)) => answers,
			// The deadline (or --timeout) passed: what did arrive still counts, and wrong
			// answers are still challenged.
			Err(kms_client::Error::Timeout(_)) => {
				ended = true;
				client.cfrags(request).await?
			},
			Err(error) => return Err(error.into()),
		};
		for (node, cfrags) in answers {
			if good.iter().any(|(n, _)| *n == node) || bad.iter().any(|(n, _)| *n == node) {
				continue;
			}
			let checked = cfrags
				.first()
				.ok_or_else(|| kms_client::Error::Umbral("an answer without a cfrag".into()))
				.and_then(|cfrag| umbral::verify_cfrag(&capsule_object, cfrag, &keys));
			match checked {
				Ok(verified) => good.push((node, verified)),
				Err(error) => bad.push((node, error.to_string())),
			}
		}
		spinner.set_message(format!(
			"{} of {threshold} cfrags verified{}",
			good.len().min(threshold),
			if bad.is_empty() { String::new() } else { format!(", {} wrong", bad.len()) }
		));
		needed = good.len() + bad.len() + threshold.saturating_sub(good.len());
	}
	spinner.finish_and_clear();

	let mut challenges = Vec::new();
	for (node, error) in &bad {
		let node = *node;
		if no_challenge {
			ctx.note(format!("node {node}'s cfrag fails verification ({error}); not challenged"));
			challenges.push(serde_json::json!({ "node": node.to_string(), "challenged": false }));
			continue;
		}
		ctx.note(format!("node {node}'s cfrag fails verification ({error}); challenging it"));
		let challenged = client.challenge_own_cfrag(&me, &included, request, &node, 0).await;
		let outcome = challenge_outcome(ctx, &client, node.to_string(), challenged).await;
		challenges.push(outcome);
	}
	if good.len() < threshold {
		let counts = format!("{} verified, {} wrong", good.len(), bad.len());
		return Err(if ended {
			Failure::new(
				Exit::Unreachable,
				format!(
					"fewer than {threshold} nodes answered request {request} by its deadline \
					 (block {deadline}) or --timeout: {counts}"
				),
			)
			.hint("the nodes may be offline; `kms policy show` lists them")
		} else {
			Failure::data(format!(
				"only {} of the {shares} answers to request {request} verify ({counts}); \
				 {threshold} are needed",
				good.len()
			))
		});
	}
	let (answered_by, cfrags) = good.into_iter().take(threshold).unzip();
	Ok(Retrieval {
		path: "chain",
		request: request.into(),
		delegating: keys.delegating,
		cfrags,
		answered_by,
		challenges,
	})
}

/// What became of a challenge of `node`'s cfrag, told to the user and as JSON.
async fn challenge_outcome(
	ctx: &Context,
	client: &kms_client::Client,
	node: String,
	challenged: Result<kms_client::Included, kms_client::Error>,
) -> serde_json::Value {
	let mut included = match challenged {
		Ok(included) => included,
		Err(error) => {
			ctx.note(format!("  the challenge failed: {error}"));
			return serde_json::json!({
				"node": node, "challenged": true, "error": error.to_string(),
			});
		},
	};
	if let Err(failure) = ctx.settle(client, &mut included).await {
		ctx.note(format!("  {}", failure.message));
	}
	let penalized = included
		.events
		.find_first::<runtime::adjudicator::events::NodePenalized>()
		.and_then(Result::ok);
	match penalized {
		Some(event) => {
			ctx.note(format!(
				"  node {node} was slashed {}; you received {}",
				format_amount(event.penalty),
				format_amount(event.reward)
			));
			serde_json::json!({
				"node": node, "challenged": true, "penalized": true,
				"penalty": event.penalty.to_string(), "reward": event.reward.to_string(),
			})
		},
		None => serde_json::json!({ "node": node, "challenged": true, "penalized": false }),
	}
}

/// What the fast path asks about: the capsule, its keys, and whether to challenge.
struct Asked<'a> {
	capsule: &'a [u8],
	capsule_object: &'a umbral_pre::Capsule,
	keys: &'a PolicyKeys,
	no_challenge: bool,
}

/// The fast path: hands one signed direct request to every node of the policy with an endpoint,
/// verifies every cfrag, challenges the wrong ones (signed, so slashable), and returns the
/// retrieval once `threshold` cfrags verify; `None` when they do not, to fall back to the chain.
async fn retrieve_directly(
	ctx: &Context,
	client: &kms_client::Client,
	me: &kms_client::Keypair,
	id: PolicyId,
	policy: &kms_client::PolicyRecord,
	asked: Asked<'_>,
	path: PathChoice,
) -> Result<Option<Retrieval>, Failure> {
	let threshold = policy.threshold as usize;
	let nodes: Vec<AccountId> = policy.nodes.0.iter().map(|entry| entry.node).collect();
	let paid = policy.conditions.0.iter().any(|condition| {
		matches!(
			condition,
			runtime::runtime_types::kms_primitives::policies::Condition::PayPerAccess { .. }
		)
	});
	let mut wait = std::time::Duration::from_millis(path.fast_timeout.max(1));
	if paid {
		wait = wait.max(client.timeout());
	}
	let started = std::time::Instant::now();
	let reach = client.fast_path(&nodes, wait).await?;
	for (endpoint, error) in &reach.failures {
		ctx.note(format!("fast path: {endpoint}: {error}"));
	}
	// Fewer reachable nodes than the threshold cannot serve: nothing is asked (a paid policy
	// would charge for an access that then goes on chain, and is charged again there).
	if reach.reachable_nodes() < threshold {
		ctx.note(format!(
			"fast path: {} of the policy's nodes reachable, {threshold} needed; asking on chain",
			reach.reachable_nodes()
		));
		return Ok(None);
	}
	let request = client.sign_direct_request(me, id, vec![asked.capsule.to_vec()]).await?;
	let spinner = ctx.spinner(format!("asking the {} nodes directly", nodes.len()));
	let mut fast = reach.reencrypt(&request, wait.saturating_sub(started.elapsed())).await;
	spinner.finish_and_clear();
	for (endpoint, error) in &fast.failures {
		ctx.note(format!("fast path: {endpoint}: {error}"));
	}
	// Answers under another version than the policy's (a rotation in between, or a node
	// signing for a version that does not exist) are neither used nor challengeable.
	fast.answers.retain(|answer| {
		let current = answer.version == policy.version;
		if !current {
			ctx.note(format!(
				"fast path: node {} answered under version {}, not {}: not used",
				answer.node, answer.version, policy.version
			));
		}
		current
	});
	let mut good: Vec<(AccountId, VerifiedCapsuleFrag)> = Vec::new();
	let mut challenges = Vec::new();
	for answer in &fast.answers {
		let checked = answer
			.cfrags
			.first()
			.ok_or_else(|| kms_client::Error::FastPath("an answer without a cfrag".into()))
			.and_then(|cfrag| umbral::verify_cfrag(asked.capsule_object, cfrag, asked.keys));
		let error = match checked {
			Ok(verified) => {
				good.push((answer.node, verified));
				continue;
			},
			Err(error) => error,
		};
		let node = answer.node.to_string();
		if asked.no_challenge {
			ctx.note(format!(
				"node {node}'s signed cfrag fails verification ({error}); not challenged"
			));
			challenges.push(serde_json::json!({ "node": node, "challenged": false }));
			continue;
		}
		ctx.note(format!(
			"node {node}'s signed cfrag fails verification ({error}); challenging it"
		));
		let challenged = client.challenge_signed_cfrag(me, &request, answer, 0).await;
		let outcome = challenge_outcome(ctx, client, node, challenged).await;
		challenges.push(outcome);
	}
	if good.len() < threshold {
		ctx.note(format!(
			"fast path: {} of {threshold} cfrags verified within {} ms; asking on chain",
			good.len(),
			wait.as_millis()
		));
		// A node that answered relayed the direct request: the request on chain takes the next
		// nonce once the reader's node has seen it.
		if !fast.answers.is_empty() {
			client.await_nonce(me, request.nonce + 1).await?;
		}
		return Ok(None);
	}
	let (answered_by, cfrags) = good.into_iter().take(threshold).unzip();
	Ok(Some(Retrieval {
		path: "fast",
		request: serde_json::json!({
			"transaction": format!("{:?}", request.hash),
			"included_in": fast.included_in.map(|hash| format!("{hash:?}")),
		}),
		delegating: asked.keys.delegating,
		cfrags,
		answered_by,
		challenges,
	}))
}

fn wrong_label(id: Option<&PolicyId>) -> Failure {
	match id {
		Some(id) => Failure::data(format!(
			"the data does not open with policy {}'s key: it was encrypted to another label or owner",
			policy_hex(id)
		)),
		None => Failure::data("the data does not open with this label's key")
			.hint("was it encrypted to another --label?"),
	}
}

impl Decrypt {
	pub(super) async fn run(self, ctx: &Context) -> Outcome {
		let (mut input, length) = open_input(&self.input)?;
		let header = Header::read(&mut input)?;
		let keyring = ctx.open_keyring()?;
		let asking =
			Asking { no_challenge: self.no_challenge, max_price: self.max_price, path: self.path };
		let (key, retrieval) = match (&self.policy, &self.label) {
			(Some(id), _) => {
				let retrieval = retrieve(ctx, &keyring, *id, &header.capsule, asking).await?;
				let key = stream::unwrap_as_reader(
					&header,
					&keyring.receiving_key(),
					&retrieval.delegating,
					retrieval.cfrags.clone(),
				)
				.map_err(|_| wrong_label(Some(id)))?;
				(key, Some(retrieval))
			},
			(None, Some(label)) => (
				stream::unwrap_as_owner(&header, &keyring.delegating_key(label.as_bytes()))
					.map_err(|_| wrong_label(None))?,
				None,
			),
			(None, None) => return Err(Failure::usage("--policy or --label is required")),
		};
		let mut output = Output::create(&self.output)?;
		let body = length.map(|l| l.saturating_sub(stream::HEADER_LEN as u64));
		let bar = ctx.bytes_bar(body);
		let bytes = stream::decrypt(&header, &key, input, &mut output.writer, |done| {
			bar.set_position(done)
		});
		bar.finish_and_clear();
		let bytes = bytes?;
		output.commit()?;
		let mut json = serde_json::json!({ "bytes": bytes, "output": self.output });
		if let Some(retrieval) = retrieval {
			json["path"] = retrieval.path.into();
			json["request"] = retrieval.request;
			json["answered_by"] =
				retrieval.answered_by.iter().map(|n| n.to_string()).collect::<Vec<_>>().into();
			json["challenges"] = retrieval.challenges.into();
		}
		summary(
			ctx,
			&self.output,
			format!("decrypted {bytes} bytes to {}", self.output.display()),
			json,
		);
		Ok(())
	}
}

/// Reads `value`, or stdin if it is `-`.
fn argument_or_stdin(value: String) -> Result<Vec<u8>, Failure> {
	if value != "-" {
		return Ok(value.into_bytes());
	}
	let mut bytes = Vec::new();
	io::stdin()
		.lock()
		.take(MAX_SECRET as u64 * 2 + 1024)
		.read_to_end(&mut bytes)
		.map_err(|e| Failure::io("reading stdin", e))?;
	Ok(bytes)
}

impl Secret {
	pub(super) async fn run(self, ctx: &Context) -> Outcome {
		match self {
			Secret::Put { label, value } => {
				let value = zeroize::Zeroizing::new(argument_or_stdin(value)?);
				if value.len() > MAX_SECRET {
					return Err(Failure::usage(format!(
						"the secret is {} bytes; up to {MAX_SECRET} fit, use `kms encrypt` for more",
						value.len()
					)));
				}
				let keyring = ctx.open_keyring()?;
				let delegating = keyring.delegating_key(label.as_bytes()).public_key();
				let (capsule, ciphertext) = umbral::encrypt(&delegating, &value)?;
				let text = format!(
					"{SECRET_PREFIX}{}",
					base64::engine::general_purpose::STANDARD
						.encode([capsule.clone(), ciphertext.clone()].concat())
				);
				ctx.print(
					&text,
					serde_json::json!({
						"secret": text,
						"capsule": format!("0x{}", hex::encode(&capsule)),
						"ciphertext": format!("0x{}", hex::encode(&ciphertext)),
					}),
				);
				Ok(())
			},
			Secret::Get { policy, label, text, no_challenge, max_price, path } => {
				let asking = Asking { no_challenge, max_price, path };
				let text = String::from_utf8(argument_or_stdin(text)?)
					.map_err(|_| Failure::data("the secret's text is not UTF-8"))?;
				let sealed = text
					.trim()
					.strip_prefix(SECRET_PREFIX)
					.and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
					.filter(|bytes| bytes.len() > stream::CAPSULE_LEN)
					.ok_or_else(|| {
						Failure::data(format!(
							"not a secret's text (it starts with {SECRET_PREFIX})"
						))
					})?;
				let (capsule, ciphertext) = sealed.split_at(stream::CAPSULE_LEN);
				let keyring = ctx.open_keyring()?;
				let plaintext = match (policy, label) {
					(Some(id), _) => {
						let retrieval = retrieve(ctx, &keyring, id, capsule, asking).await?;
						umbral::open(
							&keyring.receiving_key(),
							&retrieval.delegating,
							&umbral::capsule(capsule)?,
							retrieval.cfrags,
							ciphertext,
						)
						.map_err(|_| wrong_label(Some(&id)))?
					},
					(None, Some(label)) => open_as_owner(
						&keyring.delegating_key(label.as_bytes()),
						capsule,
						ciphertext,
					)?,
					(None, None) => return Err(Failure::usage("--policy or --label is required")),
				};
				let plaintext = zeroize::Zeroizing::new(plaintext);
				if ctx.json {
					let value = std::str::from_utf8(&plaintext).ok();
					println!(
						"{}",
						serde_json::json!({
							"value": value,
							"base64": base64::engine::general_purpose::STANDARD.encode(&*plaintext),
						})
					);
				} else {
					let mut stdout = io::stdout().lock();
					stdout
						.write_all(&plaintext)
						.and_then(|()| stdout.flush())
						.map_err(|e| Failure::io("writing the secret", e))?;
				}
				Ok(())
			},
		}
	}
}

fn open_as_owner(
	delegating: &SecretKey,
	capsule: &[u8],
	ciphertext: &[u8],
) -> Result<Vec<u8>, Failure> {
	umbral_pre::decrypt_original(delegating, &umbral::capsule(capsule)?, ciphertext)
		.map(|plaintext| plaintext.into_vec())
		.map_err(|_| wrong_label(None))
}
