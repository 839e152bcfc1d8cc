//! `kms grant`, `revoke`, `rotate`, `remove`, `policies`, `policy show`: the owner's commands.

use super::{
	included_json, parse_account, parse_policy_id, parse_public_key, policy_hex, Context, Exit,
	Failure, Outcome,
};
use clap::Args;
use kms_client::{
	conditions,
	keyring::Keyring,
	runtime::{self, runtime_types::kms_primitives::policies::PolicyStatus},
	umbral,
	units::{format_amount, parse_amount, parse_expiry, Expiry},
	AccountId, Balance, BlockNumber, Client, PolicyId, PolicyRecord,
};
use std::io::{BufRead, IsTerminal};

/// Which nodes hold a policy's kfrags.
#[derive(Clone, Debug)]
enum Nodes {
	/// Drawn by the chain, proportionally to stake, among nodes eligible through the end.
	Auto,
	/// These nodes (SS58 addresses).
	List(Vec<AccountId>),
}

fn parse_nodes(text: &str) -> Result<Nodes, String> {
	if text.trim() == "auto" {
		return Ok(Nodes::Auto);
	}
	text.split(',').map(parse_account).collect::<Result<_, _>>().map(Nodes::List)
}

#[derive(Debug, Args)]
pub(super) struct Grant {
	/// The label whose data the reader may decrypt (its delegating key is derived from it).
	#[arg(long)]
	label: String,
	/// The reader's receiving key (`kms keys show` prints it): 33 bytes, hex or base64.
	#[arg(long, value_parser = parse_public_key)]
	to: [u8; 33],
	/// How many nodes must answer for the reader to decrypt (M).
	#[arg(long)]
	threshold: u32,
	/// How many nodes hold a kfrag (N ≥ M).
	#[arg(long)]
	shares: u32,
	/// `auto` (drawn by stake among eligible nodes) or a comma-separated list of N node
	/// addresses.
	#[arg(long, value_parser = parse_nodes, default_value = "auto")]
	nodes: Nodes,
	/// When access ends: a duration from now (90s, 30m, 12h, 7d, 2w) or a block (#1234).
	#[arg(long, value_parser = parse_expiry)]
	expires: Expiry,
	/// The fee per node and period, in KMS; `rate × N × periods` is escrowed now and unearned
	/// fees come back on revocation or expiry.
	#[arg(long, value_parser = parse_amount)]
	rate: Balance,
	/// A condition every request must meet (repeatable; all must hold): not-before(BLOCK),
	/// not-after(BLOCK), requester-is(ADDRESS), min-balance(KMS),
	/// pay-per-access(ADDRESS, KMS), all(C, …), any(C, …), not(C).
	#[arg(long)]
	condition: Vec<String>,
	/// The policy's id (32 hex digits) [default: random].
	#[arg(long, value_parser = parse_policy_id)]
	id: Option<PolicyId>,
	/// How many blocks to wait for the nodes to check their kfrags and accept: the policy
	/// takes requests once `threshold` of them have (0: do not wait).
	#[arg(long, default_value_t = DEFAULT_ACCEPT_BLOCKS, value_name = "BLOCKS")]
	accept_within: u32,
	/// Submit without asking for confirmation.
	#[arg(long, short)]
	yes: bool,
}

/// Blocks `grant` and `rotate` wait for acceptances by default: a node's worker checks its
/// kfrag in the block after the grant and its decision lands a block or two later.
const DEFAULT_ACCEPT_BLOCKS: u32 = 20;

#[derive(Debug, Args)]
pub(super) struct Revoke {
	/// The policy's id.
	#[arg(value_parser = parse_policy_id)]
	id: PolicyId,
}

/// Remove a revoked or ended policy from the chain and get its storage deposit back: its fees
/// are settled first (nodes paid for the periods they served, the rest refunded), then the
/// policy goes; its id stays taken. The chain keeps a policy's requests for its retention period
/// after their deadlines (a day in production): until then the removal is refused, with the
/// block to try again after.
#[derive(Debug, Args)]
pub(super) struct Remove {
	/// The policy's id.
	#[arg(value_parser = parse_policy_id)]
	id: PolicyId,
}

#[derive(Debug, Args)]
pub(super) struct Rotate {
	/// The policy's id.
	#[arg(value_parser = parse_policy_id)]
	id: PolicyId,
	/// A new reader [default: the current one].
	#[arg(long, value_parser = parse_public_key)]
	to: Option<[u8; 33]>,
	/// A new threshold [default: the current one].
	#[arg(long)]
	threshold: Option<u32>,
	/// New nodes: `auto` or a list [default: the current nodes, with fresh kfrags].
	#[arg(long, value_parser = parse_nodes)]
	nodes: Option<Nodes>,
	/// With --nodes auto: how many [default: the current number].
	#[arg(long)]
	shares: Option<u32>,
	/// How many blocks to wait for the nodes to check their new kfrags and accept (0: do
	/// not wait); the new version takes requests once `threshold` of them have.
	#[arg(long, default_value_t = DEFAULT_ACCEPT_BLOCKS, value_name = "BLOCKS")]
	accept_within: u32,
	/// Submit without asking for confirmation.
	#[arg(long, short)]
	yes: bool,
}

#[derive(Debug, Args)]
pub(super) struct List {
	/// Whose policies [default: yours].
	#[arg(long, value_parser = parse_account)]
	owner: Option<AccountId>,
}

#[derive(Debug, clap::Subcommand)]
pub(super) enum Show {
	/// Everything the chain records about a policy.
	Show {
		/// The policy's id.
		#[arg(value_parser = parse_policy_id)]
		id: PolicyId,
	},
}

/// The nodes and their current keys, chosen as asked.
async fn choose_nodes(
	client: &Client,
	nodes: Nodes,
	count: u32,
	end: BlockNumber,
	rate: Balance,
) -> Result<Vec<(AccountId, u32, [u8; 33])>, Failure> {
	let accounts = match nodes {
		Nodes::List(accounts) => accounts,
		Nodes::Auto => {
			let mut seed = [0u8; 32];
			getrandom::getrandom(&mut seed)
				.map_err(|e| Failure::new(Exit::Failure, format!("no randomness: {e}")))?;
			let drawn = client.sample_nodes(count, end, seed).await?;
			if drawn.len() < count as usize {
				return Err(Failure::refused(format!(
					"only {} nodes are eligible through block {end}; {count} asked",
					drawn.len()
				))
				.hint("ask for fewer --shares, or an earlier --expires"));
			}
			drawn
		},
	};
	if accounts.len() != count as usize {
		return Err(Failure::usage(format!(
			"--nodes lists {} nodes but --shares is {count}",
			accounts.len()
		)));
	}
	let mut chosen = Vec::with_capacity(accounts.len());
	for node in accounts {
		if let Some(reason) = client.ineligibility(&node, end, rate).await? {
			return Err(Failure::refused(format!(
				"node {node} cannot serve this policy: {reason}"
			))
			.hint(
				"choose other --nodes (`kms node status ADDRESS` shows a node), or --nodes auto",
			));
		}
		let (version, key) = client
			.node_key(&node)
			.await?
			.ok_or_else(|| Failure::refused(format!("node {node} has no key")))?;
		chosen.push((node, version, key));
	}
	Ok(chosen)
}

/// Makes the kfrags for `nodes` and seals each to its node's key.
fn seal(
	keyring: &Keyring,
	label: &[u8],
	receiving: &[u8; 33],
	threshold: u32,
	nodes: &[(AccountId, u32, [u8; 33])],
) -> Result<Vec<(AccountId, u32, umbral::SealedKFrag)>, Failure> {
	if threshold == 0 || threshold as usize > nodes.len() {
		return Err(Failure::usage(format!(
			"--threshold {threshold} must be within 1..={} (the number of nodes)",
			nodes.len()
		)));
	}
	let keys = nodes
		.iter()
		.map(|(_, _, key)| umbral::public_key(key))
		.collect::<Result<Vec<_>, _>>()?;
	let sealed = umbral::seal_kfrags(
		&keyring.delegating_key(label),
		&keyring.signer(),
		&umbral::public_key(receiving)?,
		threshold as usize,
		&keys,
	)?;
	Ok(nodes
		.iter()
		.zip(sealed)
		.map(|((node, version, _), kfrag)| (*node, *version, kfrag))
		.collect())
}

/// What is about to be submitted: always before a prompt, and as progress with `--yes`.
fn show_summary(ctx: &Context, yes: bool, summary: &str) {
	if yes {
		ctx.note(summary);
	} else {
		eprintln!("{summary}");
	}
}

/// Asks on the terminal, unless `yes`; without a terminal, `--yes` is required.
fn confirm(yes: bool, question: &str) -> Result<(), Failure> {
	if yes {
		return Ok(());
	}
	if !std::io::stdin().is_terminal() {
		return Err(Failure::usage("no terminal to confirm on").hint("pass --yes to submit"));
	}
	eprint!("{question} [y/N] ");
	let mut answer = String::new();
	std::io::stdin()
		.lock()
		.read_line(&mut answer)
		.map_err(|e| Failure::io("reading the answer", e))?;
	if matches!(answer.trim(), "y" | "Y" | "yes") {
		Ok(())
	} else {
		Err(Failure::usage("not confirmed; nothing was submitted"))
	}
}

fn nodes_text(nodes: &[(AccountId, u32, [u8; 33])]) -> String {
	nodes
		.iter()
		.map(|(node, version, _)| format!("{node} (key v{version})"))
		.collect::<Vec<_>>()
		.join("\n           ")
}

impl Grant {
	pub(super) async fn run(self, ctx: &Context) -> Outcome {
		let flat = conditions::parse(&self.condition).map_err(Failure::usage)?;
		let (keyring, client) = ctx.signed().await?;
		let id = match self.id {
			Some(id) => id,
			None => {
				let mut id = [0u8; 16];
				getrandom::getrandom(&mut id)
					.map_err(|e| Failure::new(Exit::Failure, format!("no randomness: {e}")))?;
				id
			},
		};
		let now = client.best_block().await?;
		let block_ms = client.block_time_ms().await?;
		let end = self.expires.block(now, block_ms);
		if end <= now.saturating_add(1) {
			return Err(Failure::usage(format!(
				"--expires is at block {end}, not after the head {now}"
			)));
		}
		let (min_rate, max_rate) = client.fee_rate_range().await?;
		if self.rate < min_rate || self.rate > max_rate {
			return Err(Failure::usage(format!(
				"--rate must be within {} and {}",
				format_amount(min_rate),
				format_amount(max_rate)
			)));
		}
		let nodes = choose_nodes(&client, self.nodes, self.shares, end, self.rate).await?;
		let grants = seal(&keyring, self.label.as_bytes(), &self.to, self.threshold, &nodes)?;

		// What `create_policy` escrows if it is in the next block.
		let period_length = client.period_length().await?;
		let first = now.saturating_add(1) / period_length;
		let last = end.saturating_sub(1) / period_length;
		let periods = Balance::from(last.saturating_sub(first).saturating_add(1));
		let fee = self.rate.saturating_mul(Balance::from(self.shares)).saturating_mul(periods);
		let summary = format!(
			"policy   {}\n  label    {:?}\n  reader   0x{}\n  access   {}-of-{}, {}\n  nodes    {}\n  \
			 ends     block {end} (the head is {now})\n  fee      {} escrowed now: {} × {} nodes \
			 × {periods} periods; unearned fees come back on revocation",
			policy_hex(&id),
			self.label,
			hex::encode(self.to),
			self.threshold,
			self.shares,
			conditions::render(&flat),
			nodes_text(&nodes),
			format_amount(fee),
			format_amount(self.rate),
			self.shares,
		);
		show_summary(ctx, self.yes, &summary);
		confirm(self.yes, "Create this policy?")?;

		let delegating = keyring.delegating_key(self.label.as_bytes()).public_key();
		let policy = kms_client::Policy {
			id,
			label: self.label.clone().into_bytes(),
			delegating_key: umbral::compressed(&delegating),
			verifying_key: umbral::compressed(&keyring.signer().verifying_key()),
			receiving_key: self.to,
			threshold: self.threshold,
			nodes: grants,
			end,
			fee_rate: self.rate,
			conditions: flat,
		};
		let mut included =
			client.create_policy(&keyring.account(), policy, &keyring.signer()).await?;
		ctx.settle(&client, &mut included).await?;
		let granted: Vec<AccountId> = nodes.iter().map(|(node, _, _)| *node).collect();
		let acceptance =
			await_acceptance(ctx, &client, id, &granted, included.block, self.accept_within)
				.await?;
		let escrowed = included
			.events
			.find_first::<runtime::policies::events::PolicyCreated>()
			.and_then(Result::ok)
			.map(|created| created.escrowed)
			.unwrap_or(fee);
		let mut json = included_json(&included);
		json["policy"] = policy_hex(&id).into();
		json["end"] = end.into();
		json["escrowed"] = escrowed.to_string().into();
		json["acceptance"] = acceptance_json(acceptance.as_ref());
		ctx.print(
			format!(
				"granted policy {} in block {} ({} escrowed); {}\nthe reader decrypts with: kms decrypt --policy {} FILE -o OUT",
				policy_hex(&id),
				included.block,
				format_amount(escrowed),
				acceptance_text(acceptance.as_ref()),
				policy_hex(&id)
			),
			json,
		);
		Ok(())
	}
}

/// Waits up to `blocks` blocks after `block` for the threshold of `granted` nodes to accept
/// policy `id` (none if `blocks` is 0), with a spinner. A policy too many nodes declined, or
/// one not accepted in time, is an error that says so: it exists, but takes no requests yet.
async fn await_acceptance(
	ctx: &Context,
	client: &Client,
	id: PolicyId,
	granted: &[AccountId],
	block: BlockNumber,
	blocks: u32,
) -> Result<Option<kms_client::Acceptance>, Failure> {
	if blocks == 0 {
		return Ok(None);
	}
	let spinner = ctx.spinner(format!(
		"waiting for the nodes to check their kfrags and accept (until block {})",
		block + blocks
	));
	let acceptance = client.wait_for_acceptance(id, granted, block, block + blocks).await;
	spinner.finish_and_clear();
	acceptance.map(Some).map_err(|error| {
		Failure::from(error).hint(format!(
			"the policy exists and its fees are escrowed: see `kms policy show {}`; \
			 `kms rotate` replaces nodes, `kms revoke` refunds",
			policy_hex(&id)
		))
	})
}

fn acceptance_text(acceptance: Option<&kms_client::Acceptance>) -> String {
	match acceptance {
		None => "not waiting for the nodes to accept".into(),
		Some(acceptance) => format!(
			"{} of {} nodes accepted (threshold {}), it takes requests",
			acceptance.accepted.len(),
			acceptance.accepted.len() + acceptance.pending.len() + acceptance.declined.len(),
			acceptance.threshold
		),
	}
}

fn acceptance_json(acceptance: Option<&kms_client::Acceptance>) -> serde_json::Value {
	match acceptance {
		None => serde_json::Value::Null,
		Some(acceptance) => serde_json::json!({
			"version": acceptance.version,
			"threshold": acceptance.threshold,
			"accepted": acceptance.accepted.iter().map(|node| node.to_string()).collect::<Vec<_>>(),
			"pending": acceptance.pending.iter().map(|node| node.to_string()).collect::<Vec<_>>(),
			"declined": acceptance
				.declined
				.iter()
				.map(|(node, reason)| serde_json::json!({"node": node.to_string(), "reason": reason}))
				.collect::<Vec<_>>(),
		}),
	}
}

/// The owner's policy `id`, in any state, or why not.
async fn owned_policy(
	client: &Client,
	keyring: &Keyring,
	id: PolicyId,
) -> Result<PolicyRecord, Failure> {
	let policy = client
		.policy(id)
		.await?
		.ok_or_else(|| Failure::refused(format!("there is no policy {}", policy_hex(&id))))?;
	if policy.owner != keyring.account_id() {
		return Err(Failure::refused(format!(
			"policy {} belongs to {}, not to you ({})",
			policy_hex(&id),
			policy.owner,
			keyring.account_id()
		)));
	}
	Ok(policy)
}

/// The owner's active policy `id`, or why not.
async fn own_policy(
	client: &Client,
	keyring: &Keyring,
	id: PolicyId,
) -> Result<PolicyRecord, Failure> {
	let policy = owned_policy(client, keyring, id).await?;
	match policy.status {
		PolicyStatus::Active => Ok(policy),
		PolicyStatus::Revoked(block) => Err(Failure::refused(format!(
			"policy {} was revoked at block {block}",
			policy_hex(&id)
		))),
		PolicyStatus::Expired => Err(Failure::refused(format!(
			"policy {} ended at block {}",
			policy_hex(&id),
			policy.end
		))),
	}
}

impl Revoke {
	pub(super) async fn run(self, ctx: &Context) -> Outcome {
		let (keyring, client) = ctx.signed().await?;
		own_policy(&client, &keyring, self.id).await?;
		let mut included = client.revoke_policy(&keyring.account(), self.id).await?;
		ctx.settle(&client, &mut included).await?;
		let refunded = included
			.events
			.find_first::<runtime::policies::events::PolicyRevoked>()
			.and_then(Result::ok)
			.map(|revoked| revoked.refunded)
			.unwrap_or_default();
		let mut json = included_json(&included);
		json["policy"] = policy_hex(&self.id).into();
		json["refunded"] = refunded.to_string().into();
		ctx.print(
			format!(
				"revoked policy {} in block {} ({} refunded)",
				policy_hex(&self.id),
				included.block,
				format_amount(refunded)
			),
			json,
		);
		Ok(())
	}
}

/// The most settlement rounds `kms remove` sends before asking to be run again.
const MAX_SETTLE_ROUNDS: u32 = 32;

impl Remove {
	pub(super) async fn run(self, ctx: &Context) -> Outcome {
		let (keyring, client) = ctx.signed().await?;
		let hex = policy_hex(&self.id);
		let policy = owned_policy(&client, &keyring, self.id).await?;
		let window = client.response_window().await?;
		// Requests made before it closed are answered (and kept) after it.
		let closed_at = match policy.status {
			PolicyStatus::Active => {
				let now = client.best_block().await?;
				let settles_at = policy.end.saturating_add(window);
				if now < settles_at {
					return Err(Failure::refused(format!(
						"policy {hex} is active: it ends at block {} and can be removed from \
						 block {settles_at}",
						policy.end
					))
					.hint(format!("revoke it first to remove it now: kms revoke {hex}")));
				}
				policy.end
			},
			PolicyStatus::Revoked(block) => block,
			PolicyStatus::Expired => policy.end,
		};
		let owner = keyring.account();
		// Settle (and close, if it ended) only what needs it: every transaction costs a fee.
		let settled = |policy: &PolicyRecord| {
			!matches!(policy.status, PolicyStatus::Active)
				&& policy.fees.escrowed == policy.fees.paid.saturating_add(policy.fees.refunded)
		};
		if !settled(&policy) {
			let max_periods = client.max_settle_periods().await?;
			for round in 1..=MAX_SETTLE_ROUNDS {
				ctx.note(format!("settling policy {hex}'s fees (round {round})"));
				match client.settle_policy(&owner, self.id, max_periods).await {
					Ok(mut included) => ctx.settle(&client, &mut included).await?,
					// What is left is the current period's: it settles once the period is over.
					Err(error) if error.is("Policies", "NothingToSettle") => {
						return Err(owed_this_period(&client, &hex).await?)
					},
					Err(error) => return Err(error.into()),
				}
				let now = client.policy(self.id).await?;
				if now.as_ref().is_some_and(settled) {
					break;
				}
				if round == MAX_SETTLE_ROUNDS {
					return Err(Failure::refused(format!(
						"policy {hex} still has fees to settle after {MAX_SETTLE_ROUNDS} rounds"
					))
					.hint(format!("run `kms remove {hex}` again")));
				}
			}
		}
		let (released, mut included) = match client.remove_policy(&owner, self.id).await {
			Ok(removed) => removed,
			Err(error) if error.is("Policies", "PolicyUnsettled") => {
				return Err(owed_this_period(&client, &hex).await?)
			},
			Err(error) if error.is("Policies", "RequestsRetained") => {
				let retention = client.retention_period().await?;
				let after = closed_at.saturating_add(window).saturating_add(retention);
				return Err(Failure::refused(format!(
					"policy {hex} is settled, but the chain still keeps its requests"
				))
				.hint(format!(
					"requests are pruned {retention} blocks after their deadlines, in blocks' \
					 spare weight: run `kms remove {hex}` again after block {after}"
				)));
			},
			Err(error) => return Err(error.into()),
		};
		ctx.settle(&client, &mut included).await?;
		let mut json = included_json(&included);
		json["policy"] = hex.clone().into();
		json["released"] = released.to_string().into();
		ctx.print(
			format!(
				"removed policy {hex} in block {} ({} of its deposit returned)",
				included.block,
				format_amount(released)
			),
			json,
		);
		Ok(())
	}
}

/// Why a closed policy cannot be removed yet: its nodes' shares of the current period settle
/// once the period is over.
async fn owed_this_period(client: &Client, hex: &str) -> Result<Failure, Failure> {
	let length = client.period_length().await?;
	let from = (client.best_block().await? / length).saturating_add(1).saturating_mul(length);
	Ok(Failure::refused(format!("policy {hex}'s nodes are owed fees for the current period")).hint(
		format!(
			"they settle when the period is over: run `kms remove {hex}` again from block {from}"
		),
	))
}

impl Rotate {
	pub(super) async fn run(self, ctx: &Context) -> Outcome {
		let (keyring, client) = ctx.signed().await?;
		let policy = own_policy(&client, &keyring, self.id).await?;
		let receiving = self.to.unwrap_or(policy.receiving_key.0);
		let threshold = self.threshold.unwrap_or(policy.threshold);
		let current: Vec<AccountId> = policy.nodes.0.iter().map(|n| n.node).collect();
		let count = self.shares.unwrap_or(current.len() as u32);
		let nodes = self.nodes.unwrap_or(Nodes::List(current));
		let nodes = choose_nodes(&client, nodes, count, policy.end, policy.fee_rate).await?;
		let grants = seal(&keyring, &policy.label.0, &receiving, threshold, &nodes)?;
		let summary = format!(
			"rotate   {} to version {}\n  reader   0x{}\n  access   {threshold}-of-{}\n  nodes    {}\n  \
			 fees     for added nodes are escrowed, for removed ones refunded",
			policy_hex(&self.id),
			policy.version + 1,
			hex::encode(receiving),
			nodes.len(),
			nodes_text(&nodes),
		);
		show_summary(ctx, self.yes, &summary);
		confirm(self.yes, "Rotate this policy?")?;
		let mut included = client
			.rotate_policy(&keyring.account(), self.id, receiving, threshold, grants)
			.await?;
		ctx.settle(&client, &mut included).await?;
		let granted: Vec<AccountId> = nodes.iter().map(|(node, _, _)| *node).collect();
		let acceptance =
			await_acceptance(ctx, &client, self.id, &granted, included.block, self.accept_within)
				.await?;
		let mut json = included_json(&included);
		json["policy"] = policy_hex(&self.id).into();
		json["version"] = (policy.version + 1).into();
		json["acceptance"] = acceptance_json(acceptance.as_ref());
		ctx.print(
			format!(
				"rotated policy {} to version {} in block {}; {}",
				policy_hex(&self.id),
				policy.version + 1,
				included.block,
				acceptance_text(acceptance.as_ref()),
			),
			json,
		);
		Ok(())
	}
}

/// A policy's status as of block `now`: an active policy past its end is `ended` until its
/// fees are settled (the chain marks it expired then).
pub(super) fn status_text(policy: &PolicyRecord, now: BlockNumber) -> String {
	match &policy.status {
		PolicyStatus::Active if policy.end <= now => format!("ended at block {}", policy.end),
		PolicyStatus::Active => "active".into(),
		PolicyStatus::Revoked(block) => format!("revoked at block {block}"),
		PolicyStatus::Expired => "expired".into(),
	}
}

/// A policy in JSON: every field the chain records (amounts as decimal strings).
fn policy_json(id: &PolicyId, policy: &PolicyRecord, now: BlockNumber) -> serde_json::Value {
	let key = |key: &[u8; 33]| format!("0x{}", hex::encode(key));
	serde_json::json!({
		"id": policy_hex(id),
		"owner": policy.owner.to_string(),
		"label": String::from_utf8_lossy(&policy.label.0),
		"delegating_key": key(&policy.delegating_key.0),
		"verifying_key": key(&policy.verifying_key.0),
		"receiving_key": key(&policy.receiving_key.0),
		"threshold": policy.threshold,
		"nodes": policy.nodes.0.iter().map(|n| serde_json::json!({
			"node": n.node.to_string(),
			"key_version": n.key_version,
			"accepted": n.accepted,
		})).collect::<Vec<_>>(),
		"start": policy.start,
		"end": policy.end,
		"fee_rate": policy.fee_rate.to_string(),
		"fees": {
			"escrowed": policy.fees.escrowed.to_string(),
			"paid": policy.fees.paid.to_string(),
			"refunded": policy.fees.refunded.to_string(),
		},
		"conditions": conditions::render(&policy.conditions.0),
		"status": status_text(policy, now),
		"version": policy.version,
	})
}

impl List {
	pub(super) async fn run(self, ctx: &Context) -> Outcome {
		let owner = match self.owner {
			Some(owner) => owner,
			None => ctx.my_address()?,
		};
		let client = ctx.connect().await?;
		let now = client.best_block().await?;
		let mut text = format!("policies of {owner}:");
		let mut json = Vec::new();
		for id in client.policies_of(&owner).await? {
			let Some(policy) = client.policy(id).await? else { continue };
			text.push_str(&format!(
				"\n  {}  {:<16} {}-of-{}  ends {:<8} {}",
				policy_hex(&id),
				String::from_utf8_lossy(&policy.label.0),
				policy.threshold,
				policy.nodes.0.len(),
				policy.end,
				status_text(&policy, now)
			));
			json.push(policy_json(&id, &policy, now));
		}
		if json.is_empty() {
			text.push_str(" none");
		}
		ctx.print(text, serde_json::Value::Array(json));
		Ok(())
	}
}

impl Show {
	pub(super) async fn run(self, ctx: &Context) -> Outcome {
		let Show::Show { id } = self;
		let client = ctx.connect().await?;
		let policy = client
			.policy(id)
			.await?
			.ok_or_else(|| Failure::refused(format!("there is no policy {}", policy_hex(&id))))?;
		let json = policy_json(&id, &policy, client.best_block().await?);
		let text = format!(
			"policy {}\n  status     {} (version {})\n  owner      {}\n  label      {}\n  \
			 access     {}-of-{}, {}\n  reader     {}\n  delegating {}\n  verifying  {}\n  \
			 nodes      {}\n  blocks     {}..{}\n  fees       {} per node and period; {} escrowed, {} paid, {} refunded",
			policy_hex(&id),
			json["status"].as_str().unwrap_or_default(),
			policy.version,
			policy.owner,
			String::from_utf8_lossy(&policy.label.0),
			policy.threshold,
			policy.nodes.0.len(),
			json["conditions"].as_str().unwrap_or_default(),
			json["receiving_key"].as_str().unwrap_or_default(),
			json["delegating_key"].as_str().unwrap_or_default(),
			json["verifying_key"].as_str().unwrap_or_default(),
			policy
				.nodes
				.0
				.iter()
				.map(|n| match n.accepted {
					Some(block) => {
						format!("{} (key v{}, accepted in block {block})", n.node, n.key_version)
					},
					None => format!("{} (key v{}, pending)", n.node, n.key_version),
				})
				.collect::<Vec<_>>()
				.join("\n             "),
			policy.start,
			policy.end,
			format_amount(policy.fee_rate),
			format_amount(policy.fees.escrowed),
			format_amount(policy.fees.paid),
			format_amount(policy.fees.refunded),
		);
		ctx.print(text, json);
		Ok(())
	}
}
