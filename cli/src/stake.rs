//! `kms stake …` and `kms node …`: the operator's commands.

use super::{included_json, parse_account, parse_public_key, Context, Exit, Failure, Outcome};
use clap::Subcommand;
use kms_client::{
	units::{format_amount, parse_amount},
	AccountId, Balance, Client, Error, Included, NodeKeysProof,
};

#[derive(Debug, Subcommand)]
pub(super) enum Stake {
	/// Bond AMOUNT of your balance (held, slashable) and lock it for --lock periods; longer
	/// locks earn larger rewards.
	Bond {
		/// How much, in KMS.
		#[arg(value_parser = parse_amount)]
		amount: Balance,
		/// Periods to lock the stake for.
		#[arg(long, value_name = "PERIODS")]
		lock: u32,
	},
	/// Add AMOUNT to your bond.
	BondExtra {
		/// How much, in KMS.
		#[arg(value_parser = parse_amount)]
		amount: Balance,
	},
	/// Lengthen your lock by PERIODS periods.
	Prolong {
		/// Extra periods.
		periods: u32,
	},
	/// Let your lock shrink by one period each period (--off to keep it constant again).
	WindDown {
		/// Stop winding down.
		#[arg(long)]
		off: bool,
	},
	/// Start unbonding AMOUNT of an unlocked stake (withdraw it after the unbonding period).
	Unbond {
		/// How much, in KMS.
		#[arg(value_parser = parse_amount)]
		amount: Balance,
	},
	/// Release every unbonded amount whose unbonding period has passed.
	Withdraw,
	/// Claim the rewards your node earned in closed periods, oldest first.
	Claim {
		/// At most this many periods [default: as many as one claim may cover, the chain's
		/// `Rewards::MaxClaimPeriods`].
		#[arg(long)]
		periods: Option<u32>,
	},
}

#[derive(Debug, Subcommand)]
pub(super) enum Node {
	/// Register your node. The node proves it holds its keys: this asks it (--node, an RPC
	/// endpoint that allows unsafe methods, as a node's own local one does) to sign its operator
	/// account (`kms-node key insert --key-type kms!`) and Umbral key (`kms-node umbral-key
	/// generate`) over to your account, and submits that proof with the lowest fee rate the node
	/// accepts. Bond first.
	Register {
		/// The node's Umbral public key (33 bytes, hex or base64) [default: its newest].
		#[arg(long, value_parser = parse_public_key)]
		key: Option<[u8; 33]>,
		/// The operator account [default: the node's only `kms!` key].
		#[arg(long, value_parser = parse_account)]
		operator: Option<AccountId>,
		/// The node holding the keys (WebSocket RPC) [default: --url].
		#[arg(long, value_name = "URL")]
		node: Option<String>,
		/// The lowest fee per period the node accepts from a policy, in KMS.
		#[arg(long, value_parser = parse_amount, default_value = "0")]
		min_rate: Balance,
	},
	/// Register a new Umbral key (after `kms-node umbral-key generate` and a restart of the
	/// node), proven by the node as for `register`; the node keeps serving kfrags sealed to its
	/// older keys.
	RotateKey {
		/// The new key (33 bytes, hex or base64) [default: the node's newest].
		#[arg(long, value_parser = parse_public_key)]
		key: Option<[u8; 33]>,
		/// The node holding the keys (WebSocket RPC) [default: --url].
		#[arg(long, value_name = "URL")]
		node: Option<String>,
	},
	/// Set the lowest fee rate your node accepts in new policies.
	SetMinRate {
		/// In KMS per period.
		#[arg(value_parser = parse_amount)]
		rate: Balance,
	},
	/// Publish where your node serves the fast path (its public JSON-RPC, which answers
	/// `kms_reencrypt`), so that readers ask it directly; `--none` withdraws it. A `ws://`,
	/// `wss://`, `http://` or `https://` URL, at most 128 bytes; readers reach it over the
	/// network, so publish `wss://` for anything but a local test.
	Endpoint {
		/// The URL, e.g. `wss://kms.example.org:443`.
		#[arg(required_unless_present = "none")]
		url: Option<String>,
		/// Withdraw the published endpoint.
		#[arg(long, conflicts_with = "url")]
		none: bool,
	},
	/// A node's stake, keys, service in the current period and pending rewards.
	Status {
		/// The node's (staker's) address [default: your account, from the keyring's address
		/// without the passphrase].
		#[arg(value_parser = parse_account)]
		node: Option<AccountId>,
	},
}

async fn done(
	ctx: &Context,
	client: &Client,
	what: String,
	included: Result<Included, Error>,
) -> Outcome {
	let mut included = included?;
	ctx.settle(client, &mut included).await?;
	ctx.print(format!("{what} (block {})", included.block), included_json(&included));
	Ok(())
}

impl Context {
	/// The node's proof of its keys for `staker`, from the node at `node` (default: --url).
	async fn prove_node_keys(
		&self,
		node: Option<String>,
		staker: &AccountId,
		operator: Option<AccountId>,
		key: Option<[u8; 33]>,
	) -> Result<NodeKeysProof, Failure> {
		let node = node.unwrap_or_else(|| self.url.clone());
		self.note(format!("asking the node at {node} to prove its keys"));
		kms_client::prove_node_keys(&node, staker, operator.as_ref(), key)
			.await
			.map_err(|error| {
				Failure::from(error).hint(
				"--node must be the node holding the keys, over an RPC port that allows unsafe \
				 methods (a node's default for local connections; `--rpc-methods unsafe` \
				 otherwise)",
			)
			})
	}
}

impl Stake {
	pub(super) async fn run(self, ctx: &Context) -> Outcome {
		let (keyring, client) = ctx.signed().await?;
		let me = keyring.account();
		match self {
			Stake::Bond { amount, lock } => {
				let what = format!("bonded {}, locked for {lock} periods", format_amount(amount));
				done(ctx, &client, what, client.bond(&me, amount, lock).await).await
			},
			Stake::BondExtra { amount } => {
				let what = format!("bonded {} more", format_amount(amount));
				done(ctx, &client, what, client.bond_extra(&me, amount).await).await
			},
			Stake::Prolong { periods } => {
				let what = format!("lock lengthened by {periods} periods");
				done(ctx, &client, what, client.prolong(&me, periods).await).await
			},
			Stake::WindDown { off } => {
				let what = if off { "wind-down stopped" } else { "winding down" }.to_string();
				done(ctx, &client, what, client.set_wind_down(&me, !off).await).await
			},
			Stake::Unbond { amount } => {
				let what = format!("unbonding {}", format_amount(amount));
				done(ctx, &client, what, client.unbond(&me, amount).await).await
			},
			Stake::Withdraw => {
				done(ctx, &client, "withdrawn".into(), client.withdraw_unbonded(&me).await).await
			},
			Stake::Claim { periods } => {
				let periods = match periods {
					Some(periods) => periods,
					None => client.max_claim_periods().await?,
				};
				let (amount, mut included) = client.claim_rewards(&me, periods).await?;
				ctx.settle(&client, &mut included).await?;
				let mut json = included_json(&included);
				json["claimed"] = amount.to_string().into();
				ctx.print(
					format!("claimed {} (block {})", format_amount(amount), included.block),
					json,
				);
				Ok(())
			},
		}
	}
}

impl Node {
	pub(super) async fn run(self, ctx: &Context) -> Outcome {
		match self {
			Node::Register { key, operator, node, min_rate } => {
				let (keyring, client) = ctx.signed().await?;
				let proof = ctx.prove_node_keys(node, &keyring.account_id(), operator, key).await?;
				let what = format!(
					"node registered, operator {}, Umbral key 0x{}",
					proof.operator,
					hex::encode(proof.umbral_key)
				);
				let included = client.register_node(&keyring.account(), &proof, min_rate).await;
				done(ctx, &client, what, included).await
			},
			Node::RotateKey { key, node } => {
				let (keyring, client) = ctx.signed().await?;
				let me = keyring.account_id();
				let operator = client.node(&me).await?.map(|info| info.operator);
				let Some(operator) = operator else {
					return Err(Failure::new(Exit::Refused, "your account has no node")
						.hint("`kms node register` first"));
				};
				let proof = ctx.prove_node_keys(node, &me, Some(operator), key).await?;
				let what = format!("node key rotated to 0x{}", hex::encode(proof.umbral_key));
				done(ctx, &client, what, client.rotate_node_key(&keyring.account(), &proof).await)
					.await
			},
			Node::SetMinRate { rate } => {
				let (keyring, client) = ctx.signed().await?;
				let what = format!("minimum fee rate set to {} per period", format_amount(rate));
				done(ctx, &client, what, client.set_min_fee_rate(&keyring.account(), rate).await)
					.await
			},
			Node::Endpoint { url, none: _ } => {
				if let Some(url) = &url {
					if kms_client::Endpoint::parse(url.as_bytes()).is_none() {
						return Err(Failure::usage(format!(
							"{url:?} is not an endpoint: a ws://, wss://, http:// or https:// URL \
							 in printable ASCII, at most {} bytes",
							kms_client::MAX_ENDPOINT_LEN
						)));
					}
				}
				let (keyring, client) = ctx.signed().await?;
				let what = match &url {
					Some(url) => format!("endpoint {url} published"),
					None => "endpoint withdrawn".to_string(),
				};
				let set = client.set_endpoint(&keyring.account(), url.as_deref()).await;
				done(ctx, &client, what, set).await
			},
			Node::Status { node } => {
				let node = match node {
					Some(node) => node,
					None => ctx.my_address()?,
				};
				let client = ctx.connect().await?;
				let (text, json) = node_status(&client, &node).await?;
				ctx.print(text, json);
				Ok(())
			},
		}
	}
}

/// A node's (or any staker's) state, as text and JSON.
pub(super) async fn node_status(
	client: &Client,
	node: &AccountId,
) -> Result<(String, serde_json::Value), Error> {
	let period = client.current_period().await?;
	let ledger = client.ledger(node).await?;
	let info = client.node(node).await?;
	let key = client.node_key(node).await?;
	let (heartbeat, missed) = client.service(node, period).await?;
	let (pending, from, to) = client.pending_rewards(node).await?;
	let endpoint = client.endpoint(node).await?;

	let mut text = format!("node {node}, period {period}\n");
	let stake = ledger.as_ref().map(|ledger| {
		text.push_str(&format!(
			"  stake        {} active, locked {} periods{}, {} unlocking, {} slashed\n",
			format_amount(ledger.active),
			ledger.lock_periods,
			if ledger.wind_down { " (winding down)" } else { "" },
			format_amount(ledger.unlocking.0.iter().map(|c| c.value).sum()),
			format_amount(ledger.slashed),
		));
		serde_json::json!({
			"active": ledger.active.to_string(),
			"lock_periods": ledger.lock_periods,
			"wind_down": ledger.wind_down,
			"unlocking": ledger.unlocking.0.iter().map(|chunk| serde_json::json!({
				"value": chunk.value.to_string(),
				"withdrawable_at": chunk.withdrawable_at,
			})).collect::<Vec<_>>(),
			"slashed": ledger.slashed.to_string(),
		})
	});
	if stake.is_none() {
		text.push_str("  stake        none\n");
	}
	let registered = info.as_ref().map(|info| {
		let (version, key) = key.unwrap_or((0, [0; 33]));
		text.push_str(&format!(
			"  node         key 0x{} (version {version}), operator {}, min rate {}\n",
			hex::encode(key),
			info.operator,
			format_amount(info.min_fee_rate),
		));
		text.push_str(&format!(
			"  endpoint     {}\n",
			endpoint.as_deref().unwrap_or("none published (`kms node endpoint`)")
		));
		text.push_str(&format!(
			"  service      {} this period, {missed} missed deadlines; last heartbeat {}\n",
			if heartbeat { "serving" } else { "no heartbeat yet" },
			info.last_heartbeat
				.map(|p| format!("period {p}"))
				.unwrap_or_else(|| "never".into()),
		));
		serde_json::json!({
			"key": format!("0x{}", hex::encode(key)),
			"key_version": version,
			"operator": info.operator.to_string(),
			"min_fee_rate": info.min_fee_rate.to_string(),
			"last_heartbeat": info.last_heartbeat,
			"endpoint": endpoint,
		})
	});
	if registered.is_none() {
		text.push_str("  node         not registered (`kms node register`)\n");
	}
	text.push_str(&format!(
		"  rewards      {} pending{}",
		format_amount(pending),
		if pending > 0 { format!(" (periods {from}..{to}; `kms stake claim`)") } else { "".into() }
	));
	let json = serde_json::json!({
		"account": node.to_string(),
		"period": period,
		"stake": stake,
		"node": registered,
		"service": { "heartbeat": heartbeat, "missed_deadlines": missed },
		"pending_rewards": { "amount": pending.to_string(), "from": from, "to": to },
	});
	Ok((text, json))
}
