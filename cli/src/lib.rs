//! The `kms` command line: every role's operations over [`Client`], the
//! [`keyring`](kms_client::keyring) and the [`stream`](kms_client::stream) format.
//!
//! Conventions: errors go to stderr with what to do next and a meaningful [exit code](Exit);
//! `--json` makes every command print one JSON document on stdout; progress goes to stderr,
//! only when it is a terminal.

// The end-to-end test's dependencies (`tests/cli.rs`), linked into the unit tests too.
#[cfg(test)]
use {kms_e2e_tests as _, subxt as _, subxt_signer as _, tempfile as _};

mod data;
mod keys;
mod policy;
mod stake;
mod status;

use clap::{Parser, Subcommand};
use kms_client::{
	keyring::Keyring, runtime::runtime_types::kms_primitives::policies::AccessDenied, Client,
	Error, Included, PolicyId, Refusal,
};
use std::{
	fmt::Display,
	io::IsTerminal,
	path::{Path, PathBuf},
	process::ExitCode,
	time::Duration,
};
use zeroize::Zeroizing;

const AFTER_HELP: &str = "\
A session:
  kms keys new                                         # an account and Umbral keys
  kms keys show                                        # Bob: the receiving key to give owners
  kms encrypt --label docs report.pdf -o report.kms    # Alice
  kms grant --label docs --to <Bob's receiving key> --threshold 2 --shares 3 \\
      --expires 30d --rate 0.01 --condition 'requester-is(<Bob's address>)'
  kms decrypt --policy <id> report.kms -o report.pdf   # Bob
  kms revoke <id>                                      # Alice
  kms remove <id>              # Alice, after its requests are pruned: the deposit back

Exit codes:
  0  success
  1  an unexpected failure (a bug, or I/O)
  2  bad usage: arguments, or a prompt that could not be answered
  3  the chain refused: a rejected transaction, or access denied (revoked, expired, condition)
  4  bad data: not a kms file, truncated, tampered, or cfrags that do not verify
  5  keyring: missing, or a wrong passphrase
  6  the node is unreachable, or did not answer in time

With --json, a failure also prints {\"error\": {\"exit_code\", \"message\", \"hint\"}} on stdout.
Environment: KMS_URL, KMS_KEYRING, KMS_PASSPHRASE (instead of the prompt; for scripts).";

/// KMS Chain from the command line: keys, staking and nodes, policies, encryption.
///
/// Owners (Alice) encrypt data to a label and grant readers access with policies; readers
/// (Bob) decrypt with re-encryption done by staking nodes, which never see the data;
/// operators stake and run those nodes. Keys live in a passphrase-encrypted keyring file.
#[derive(Debug, Parser)]
#[command(name = "kms", version, after_help = AFTER_HELP)]
pub struct Cli {
	/// The node's WebSocket RPC endpoint.
	#[arg(long, global = true, help_heading = "Global options", env = "KMS_URL", default_value = kms_client::DEFAULT_URL)]
	url: String,
	/// The keyring file [default: $XDG_DATA_HOME/kms/keyring.json or ~/.local/share/kms/…].
	#[arg(long, global = true, help_heading = "Global options", env = "KMS_KEYRING")]
	keyring: Option<PathBuf>,
	/// Read the keyring's passphrase from this file (first line) instead of a prompt or
	/// KMS_PASSPHRASE.
	#[arg(long, global = true, help_heading = "Global options", value_name = "FILE")]
	passphrase_file: Option<PathBuf>,
	/// Print one JSON document on stdout instead of text (on failure:
	/// `{"error": {"exit_code", "message", "hint"}}`).
	#[arg(long, global = true, help_heading = "Global options")]
	json: bool,
	/// No progress display.
	#[arg(long, short, global = true, help_heading = "Global options")]
	quiet: bool,
	/// The longest any one wait may last, in seconds: connecting, a transaction until it is in a
	/// block, a policy's acceptance, a request's answers (which also end at its deadline block),
	/// finality.
	#[arg(
		long,
		global = true,
		help_heading = "Global options",
		env = "KMS_TIMEOUT",
		default_value_t = 120,
		value_name = "SECONDS"
	)]
	timeout: u64,
	#[command(subcommand)]
	command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
	/// Create and show your keys (account, receiving key, per-label delegating keys).
	#[command(subcommand)]
	Keys(keys::Keys),
	/// Stake as a node operator: bond, lock, wind down, unbond, withdraw, claim rewards.
	#[command(subcommand)]
	Stake(stake::Stake),
	/// Register and manage your node: Umbral key, minimum fee rate, status.
	#[command(subcommand)]
	Node(stake::Node),
	/// Grant a reader access to a label through a new policy (kfrags made and sealed here).
	Grant(policy::Grant),
	/// Revoke one of your policies: nodes stop serving it, unused fees come back.
	Revoke(policy::Revoke),
	/// Replace a policy's kfrags: new nodes, threshold or reader; the old ones stop working.
	Rotate(policy::Rotate),
	/// Remove a revoked or ended policy from the chain (settling its fees first) and get its
	/// storage deposit back.
	Remove(policy::Remove),
	/// List policies (yours by default).
	Policies(policy::List),
	/// Inspect one policy.
	#[command(subcommand)]
	Policy(policy::Show),
	/// Encrypt a file or stdin to a label, in the chunked kms format.
	Encrypt(data::Encrypt),
	/// Decrypt a kms file: as a reader through a policy, or as the owner of its label.
	Decrypt(data::Decrypt),
	/// Encrypt and decrypt short secrets as one line of text.
	#[command(subcommand)]
	Secret(data::Secret),
	/// Send tokens to another account.
	Transfer(keys::Transfer),
	/// The chain's head and finality, and your account, stake, node, rewards and policies.
	Status(status::Status),
}

/// Why `kms` stopped, as its exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
	/// A bug, or I/O.
	Failure = 1,
	/// Bad arguments, or a prompt without a terminal.
	Usage = 2,
	/// The chain refused.
	Refused = 3,
	/// Bad data.
	BadData = 4,
	/// The keyring.
	Keyring = 5,
	/// The node.
	Unreachable = 6,
}

/// A failure to report: what happened, what to do, and the exit status.
#[derive(Debug)]
pub struct Failure {
	exit: Exit,
	message: String,
	hint: Option<String>,
}

impl Failure {
	fn new(exit: Exit, message: impl Display) -> Self {
		Failure { exit, message: message.to_string(), hint: None }
	}

	fn hint(mut self, hint: impl Display) -> Self {
		self.hint = Some(hint.to_string());
		self
	}

	fn usage(message: impl Display) -> Self {
		Failure::new(Exit::Usage, message)
	}

	fn data(message: impl Display) -> Self {
		Failure::new(Exit::BadData, message)
	}

	fn refused(message: impl Display) -> Self {
		Failure::new(Exit::Refused, message)
	}

	fn io(what: impl Display, error: std::io::Error) -> Self {
		Failure::new(Exit::Failure, format!("{what}: {error}"))
	}
}

impl From<Error> for Failure {
	fn from(error: Error) -> Self {
		let exit = match &error {
			Error::Rejected { .. }
			| Error::Dispatch(_)
			| Error::Refused(_)
			| Error::Declined(_) => Exit::Refused,
			Error::Chain(_) | Error::Rpc(_) | Error::Timeout(_) | Error::FastPath(_) => {
				Exit::Unreachable
			},
			Error::Umbral(_) => Exit::BadData,
			Error::WrongPassphrase | Error::Keyring(_) => Exit::Keyring,
			Error::Protocol(_) => Exit::Failure,
		};
		let hint = match &error {
			Error::WrongPassphrase => Some("check KMS_PASSPHRASE, --passphrase-file or --keyring"),
			Error::Refused(Refusal::Payment) => Some(
				"your account cannot pay the transaction fee: fund it from another account \
				 (`kms transfer --to <your address> AMOUNT`); `kms status` shows your balance",
			),
			// Signed against a block the chain no longer has (a fork dropped it, or it is older
			// than the transaction's mortality): its signature no longer matches.
			Error::Refused(Refusal::BadProof | Refusal::AncientBirthBlock) => Some(
				"the block the transaction was signed against is gone from the chain (a fork, or \
				 a long stall): run the command again",
			),
			Error::Refused(Refusal::Stale) => Some(
				"another transaction of this account took its turn (two commands at once?): run \
				 the command again",
			),
			Error::Timeout(_) => Some(
				"the node or the chain is slow: `kms status` shows its head and finality; \
				 --timeout waits longer",
			),
			Error::Rpc(_) | Error::Chain(_) => {
				Some("is a node running at --url? `scripts/dev.sh` starts a development chain")
			},
			_ => None,
		};
		Failure { exit, message: error.to_string(), hint: hint.map(Into::into) }
	}
}

impl From<kms_client::stream::Error> for Failure {
	fn from(error: kms_client::stream::Error) -> Self {
		match error {
			kms_client::stream::Error::Io(error) => Failure::io("reading or writing", error),
			error => Failure::data(error),
		}
	}
}

type Outcome = Result<(), Failure>;

/// Runs `kms` with the process's arguments.
pub fn main() -> ExitCode {
	let cli = Cli::parse();
	let json = cli.json;
	let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
		Ok(runtime) => runtime,
		Err(error) => {
			eprintln!("error: cannot start the async runtime: {error}");
			return ExitCode::from(Exit::Failure as u8);
		},
	};
	match runtime.block_on(cli.run()) {
		Ok(()) => ExitCode::SUCCESS,
		Err(failure) => {
			eprintln!("error: {}", failure.message);
			if let Some(hint) = &failure.hint {
				eprintln!("  hint: {hint}");
			}
			if json {
				// Scripts reading stdout get the failure in the same form as a result.
				let error = serde_json::json!({
					"error": {
						"exit_code": failure.exit as u8,
						"message": failure.message,
						"hint": failure.hint,
					}
				});
				println!("{error}");
			}
			ExitCode::from(failure.exit as u8)
		},
	}
}

impl Cli {
	async fn run(self) -> Outcome {
		let ctx = Context {
			url: self.url,
			keyring: self.keyring.unwrap_or_else(default_keyring),
			passphrase_file: self.passphrase_file,
			json: self.json,
			quiet: self.quiet,
			timeout: Duration::from_secs(self.timeout.max(1)),
		};
		match self.command {
			Command::Keys(command) => command.run(&ctx).await,
			Command::Stake(command) => command.run(&ctx).await,
			Command::Node(command) => command.run(&ctx).await,
			Command::Grant(command) => command.run(&ctx).await,
			Command::Revoke(command) => command.run(&ctx).await,
			Command::Rotate(command) => command.run(&ctx).await,
			Command::Remove(command) => command.run(&ctx).await,
			Command::Policies(command) => command.run(&ctx).await,
			Command::Policy(command) => command.run(&ctx).await,
			Command::Encrypt(command) => command.run(&ctx).await,
			Command::Decrypt(command) => command.run(&ctx).await,
			Command::Secret(command) => command.run(&ctx).await,
			Command::Transfer(command) => command.run(&ctx).await,
			Command::Status(command) => command.run(&ctx).await,
		}
	}
}

fn default_keyring() -> PathBuf {
	let data = std::env::var_os("XDG_DATA_HOME")
		.map(PathBuf::from)
		.or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".local/share")))
		.unwrap_or_else(|| PathBuf::from("."));
	data.join("kms/keyring.json")
}

/// What every command shares: where the node and the keyring are, and how to print.
pub(crate) struct Context {
	url: String,
	keyring: PathBuf,
	passphrase_file: Option<PathBuf>,
	json: bool,
	quiet: bool,
	timeout: Duration,
}

impl Context {
	async fn connect(&self) -> Result<Client, Failure> {
		if let Some(host) = kms_client::insecure_remote_host(&self.url) {
			eprintln!(
				"warning: {} is plain ws:// to {host}, not this machine: what is sent and read \
				 crosses the network unencrypted; use wss:// across networks you do not control",
				self.url
			);
		}
		let client = Client::connect(&self.url).await.map_err(|error| {
			Failure::new(Exit::Unreachable, format!("cannot reach a node at {}: {error}", self.url))
				.hint("start one with `scripts/dev.sh`, or pass --url ws://host:port")
		})?;
		Ok(client.with_timeout(self.timeout))
	}

	/// The passphrase: from --passphrase-file, KMS_PASSPHRASE, or a prompt on the terminal.
	fn passphrase(&self, prompt: &str, confirm: bool) -> Result<Zeroizing<String>, Failure> {
		if let Some(file) = &self.passphrase_file {
			let text = Zeroizing::new(
				std::fs::read_to_string(file).map_err(|e| Failure::io(file.display(), e))?,
			);
			return Ok(Zeroizing::new(text.lines().next().unwrap_or_default().to_string()));
		}
		if let Ok(passphrase) = std::env::var("KMS_PASSPHRASE") {
			return Ok(Zeroizing::new(passphrase));
		}
		let no_terminal = || {
			Failure::new(Exit::Keyring, "no passphrase, and no terminal to ask for one")
				.hint("set KMS_PASSPHRASE or pass --passphrase-file")
		};
		let first = Zeroizing::new(rpassword::prompt_password(prompt).map_err(|_| no_terminal())?);
		if confirm {
			let again = Zeroizing::new(
				rpassword::prompt_password("Repeat the passphrase: ").map_err(|_| no_terminal())?,
			);
			if first != again {
				return Err(Failure::new(Exit::Keyring, "the passphrases differ"));
			}
		}
		Ok(first)
	}

	fn open_keyring(&self) -> Result<Keyring, Failure> {
		Keyring::address(&self.keyring)?;
		let passphrase =
			self.passphrase(&format!("Passphrase of {}: ", self.keyring.display()), false)?;
		Ok(Keyring::open(&self.keyring, &passphrase)?)
	}

	/// The keyring, open, and a connection: what a command that signs needs.
	async fn signed(&self) -> Result<(Keyring, Client), Failure> {
		let keyring = self.open_keyring()?;
		Ok((keyring, self.connect().await?))
	}

	/// Waits for the transaction's block to be final while finality keeps up (at most
	/// [`kms_client::MAX_FINALITY_LAG`] blocks behind, and for at most `--timeout`). When finality
	/// lags, the command goes on: the block is in the best chain, where every query reads, and
	/// a note says that it is not final yet. An error only if another block was finalized at
	/// its height (a fork dropped it).
	async fn settle(&self, client: &Client, included: &mut Included) -> Result<(), Failure> {
		let lag = client.best_block().await?.saturating_sub(client.finalized_block().await?);
		if lag > kms_client::MAX_FINALITY_LAG {
			self.note(format!(
				"in block {}; finality lags {lag} blocks behind the best block, so it is not final \
				 yet (its effects are in the best chain)",
				included.block
			));
			return Ok(());
		}
		let spinner = self.spinner(format!("in block {}, waiting for finality", included.block));
		let settled = client.finalize(included).await;
		spinner.finish_and_clear();
		included.finalized = settled.is_ok();
		match settled {
			Err(kms_client::Error::Timeout(_)) => {
				self.note(format!(
					"block {} is not final after {} s (finality lags); its effects are in the \
					 best chain",
					included.block,
					self.timeout.as_secs()
				));
				Ok(())
			},
			settled => Ok(settled?),
		}
	}

	/// The keyring's account, read without the passphrase.
	fn my_address(&self) -> Result<kms_client::AccountId, Failure> {
		parse_account(&Keyring::address(&self.keyring)?).map_err(Failure::data)
	}

	/// Prints `text` (or `json` with `--json`) on stdout.
	fn print(&self, text: impl Display, json: serde_json::Value) {
		if self.json {
			println!("{json}");
		} else {
			println!("{text}");
		}
	}

	/// A progress line on stderr, when it is a terminal and not `--quiet`.
	fn note(&self, text: impl Display) {
		if !self.quiet && !self.json {
			eprintln!("{text}");
		}
	}

	/// A spinner on a terminal; elsewhere (a log, a pipe) the message once, as a plain line.
	fn spinner(&self, message: impl Into<String>) -> indicatif::ProgressBar {
		if self.quiet {
			return indicatif::ProgressBar::hidden();
		}
		if !std::io::stderr().is_terminal() {
			self.note(format!("{}…", message.into()));
			return indicatif::ProgressBar::hidden();
		}
		let bar = indicatif::ProgressBar::new_spinner().with_message(message.into());
		bar.enable_steady_tick(Duration::from_millis(120));
		bar
	}

	fn bytes_bar(&self, total: Option<u64>) -> indicatif::ProgressBar {
		if self.quiet || !std::io::stderr().is_terminal() {
			return indicatif::ProgressBar::hidden();
		}
		let (bar, template) = match total {
			Some(total) => (
				indicatif::ProgressBar::new(total),
				"{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
			),
			None => (indicatif::ProgressBar::new_spinner(), "{spinner} {bytes} {bytes_per_sec}"),
		};
		if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
			bar.set_style(style);
		}
		bar
	}
}

/// What a transaction's inclusion looks like in JSON.
/// Where a transaction landed, and whether that block is final (`kms` goes on without finality
/// when it lags: see `Context::settle`).
fn included_json(included: &Included) -> serde_json::Value {
	serde_json::json!({
		"block": included.block,
		"hash": format!("{:?}", included.hash),
		"finalized": included.finalized,
	})
}

/// Reads a policy id: 32 hex digits, `0x` optional.
fn parse_policy_id(text: &str) -> Result<PolicyId, String> {
	let bytes = hex::decode(text.trim().trim_start_matches("0x"))
		.map_err(|_| format!("{text:?} is not a policy id (32 hex digits)"))?;
	bytes
		.try_into()
		.map_err(|_| format!("{text:?} is not a policy id (32 hex digits)"))
}

fn policy_hex(id: &PolicyId) -> String {
	format!("0x{}", hex::encode(id))
}

/// Reads an account: an SS58 address.
fn parse_account(text: &str) -> Result<kms_client::AccountId, String> {
	text.trim().parse().map_err(|_| format!("{text:?} is not an SS58 address"))
}

/// Reads a public key in the standard serialization: 33 bytes as hex (`0x` optional) or
/// base64.
fn parse_public_key(text: &str) -> Result<[u8; 33], String> {
	use base64::Engine as _;
	let text = text.trim();
	let bytes = hex::decode(text.trim_start_matches("0x"))
		.or_else(|_| base64::engine::general_purpose::STANDARD.decode(text))
		.map_err(|_| format!("{text:?} is neither hex nor base64"))?;
	let key: [u8; 33] = bytes
		.try_into()
		.map_err(|_| format!("{text:?} is not a 33-byte compressed public key"))?;
	kms_client::umbral::public_key(&key).map_err(|e| format!("{text:?}: {e}"))?;
	Ok(key)
}

/// Why the chain would refuse `requester`'s request under policy `id`, said so the user knows
/// what to do.
async fn explain_denial(client: &Client, id: PolicyId, denied: AccessDenied) -> Failure {
	use kms_client::runtime::runtime_types::kms_primitives::policies::PolicyStatus;
	let policy = client.policy(id).await.ok().flatten();
	let hex = policy_hex(&id);
	let message = match (&denied, policy.as_ref().map(|p| &p.status)) {
		(AccessDenied::UnknownPolicy, _) => format!("there is no policy {hex} on this chain"),
		(AccessDenied::Revoked, Some(PolicyStatus::Revoked(block))) => {
			format!("policy {hex} was revoked at block {block}")
		},
		(AccessDenied::Revoked, _) => format!("policy {hex} was revoked"),
		(AccessDenied::Expired, _) => format!(
			"policy {hex} ended at block {}",
			policy.as_ref().map(|p| p.end.to_string()).unwrap_or_else(|| "?".into())
		),
		(AccessDenied::TooEarly, _) => format!("policy {hex} does not serve requests yet"),
		(AccessDenied::TooLate, _) => format!("policy {hex} no longer serves requests"),
		(AccessDenied::WrongRequester, _) => format!("policy {hex} serves another account"),
		(AccessDenied::BalanceTooLow, _) => {
			format!("your balance is below the minimum policy {hex} requires")
		},
		(AccessDenied::CannotPay, _) => {
			format!("you cannot pay the per-access fee policy {hex} charges")
		},
		(AccessDenied::AwaitingAcceptance, _) => format!(
			"policy {hex} does not take requests yet: fewer of its nodes than its threshold have \
			 accepted it"
		),
		(AccessDenied::NoAlternativeHolds, _) | (AccessDenied::NegationHolds, _) => {
			format!("you do not meet policy {hex}'s conditions")
		},
	};
	let conditions = policy
		.map(|p| kms_client::conditions::render(&p.conditions.0))
		.unwrap_or_else(|| "unknown".into());
	let hint = match denied {
		AccessDenied::UnknownPolicy => "check the id, and --url".to_string(),
		AccessDenied::Revoked | AccessDenied::Expired => {
			"ask the owner for a new grant".to_string()
		},
		AccessDenied::AwaitingAcceptance => {
			"each node checks its kfrag before it accepts: try again in a few blocks; if some \
			 declined, the owner rotates the policy to other nodes"
				.to_string()
		},
		_ => format!("its conditions: {conditions}"),
	};
	Failure::refused(message).hint(hint)
}

#[cfg(test)]
mod tests {
	use super::*;
	use clap::CommandFactory;

	#[test]
	fn the_command_line_is_well_formed() {
		Cli::command().debug_assert();
	}

	#[test]
	fn an_unfunded_account_is_told_to_get_funds() {
		let failure = Failure::from(Error::Refused(Refusal::Payment));
		assert_eq!(failure.exit, Exit::Refused);
		assert!(failure.hint.is_some_and(|hint| hint.contains("kms transfer")));
		let hint = |refusal: Refusal| Failure::from(Error::Refused(refusal)).hint;
		assert!(hint(Refusal::Stale).is_some_and(|hint| hint.contains("took its turn")));
		assert!(hint(Refusal::BadProof).is_some_and(|hint| hint.contains("gone")));
		assert!(hint(Refusal::AncientBirthBlock).is_some_and(|hint| hint.contains("gone")));
		assert_eq!(hint(Refusal::Pool("usurped".into())), None);
	}

	#[test]
	fn ids_and_keys_read_back() {
		assert_eq!(parse_policy_id(&policy_hex(&[7; 16])), Ok([7; 16]));
		assert!(parse_policy_id("0x1234").is_err());
		let key = kms_client::umbral::compressed(&umbral_pre::SecretKey::random().public_key());
		use base64::Engine as _;
		let base64 = base64::engine::general_purpose::STANDARD.encode(key);
		assert_eq!(parse_public_key(&hex::encode(key)), Ok(key));
		assert_eq!(parse_public_key(&format!("0x{}", hex::encode(key))), Ok(key));
		assert_eq!(parse_public_key(&base64), Ok(key));
		let mut not_a_point = key;
		not_a_point[0] = 5;
		assert!(parse_public_key(&hex::encode(not_a_point)).is_err());
	}
}
