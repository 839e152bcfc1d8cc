//! `kms keys` and `kms transfer`.

use super::{included_json, parse_account, Context, Exit, Failure, Outcome};
use base64::Engine as _;
use clap::{Args, Subcommand};
use kms_client::{
	keyring::Keyring,
	umbral::compressed,
	units::{format_amount, parse_amount},
	AccountId, Balance,
};
use umbral_pre::PublicKey;

#[derive(Debug, Subcommand)]
pub(super) enum Keys {
	/// Create a keyring: a new account and Umbral master seed, encrypted under a passphrase
	/// (Argon2id + XChaCha20-Poly1305, file mode 0600). Back the file up with its passphrase:
	/// every key you will use is derived from it.
	New {
		/// Use this account (a secret URI such as `//Alice` or a `0x…` seed) instead of a new
		/// random one.
		#[arg(long, value_name = "URI")]
		suri: Option<String>,
		/// Replace an existing keyring (its keys are lost unless backed up).
		#[arg(long)]
		force: bool,
	},
	/// Print your public keys in umbral-pre's standard serialization (hex and base64): the
	/// account, the receiving key (give it to owners who grant you access), the verifying
	/// key of your kfrags, and the delegating key of each --label.
	Show {
		/// A label whose delegating key to show (repeatable); data encrypted to it is yours.
		#[arg(long)]
		label: Vec<String>,
	},
}

#[derive(Debug, Args)]
pub(super) struct Transfer {
	/// The recipient's SS58 address.
	#[arg(long, value_parser = parse_account)]
	to: AccountId,
	/// How much, in KMS (e.g. 10 or 0.5).
	#[arg(value_parser = parse_amount)]
	amount: Balance,
}

fn key_json(key: &PublicKey) -> serde_json::Value {
	let bytes = compressed(key);
	serde_json::json!({
		"hex": format!("0x{}", hex::encode(bytes)),
		"base64": base64::engine::general_purpose::STANDARD.encode(bytes),
	})
}

fn key_line(name: &str, key: &PublicKey) -> String {
	let bytes = compressed(key);
	format!(
		"{name:<18} 0x{}\n{:<18} {}",
		hex::encode(bytes),
		"",
		base64::engine::general_purpose::STANDARD.encode(bytes)
	)
}

impl Keys {
	pub(super) async fn run(self, ctx: &Context) -> Outcome {
		match self {
			Keys::New { suri, force } => {
				let keyring = Keyring::generate(suri.as_deref())?;
				if !force && ctx.keyring.exists() {
					return Err(Failure::new(
						Exit::Keyring,
						format!("{} already exists", ctx.keyring.display()),
					)
					.hint("pass --force to replace it (its keys are lost unless backed up)"));
				}
				let passphrase = ctx.passphrase("New keyring passphrase: ", true)?;
				keyring.save(&ctx.keyring, &passphrase, force)?;
				let account = keyring.account_id();
				let receiving = keyring.receiving_key().public_key();
				ctx.print(
					format!(
						"created {}\n{:<18} {account}\n{}",
						ctx.keyring.display(),
						"account",
						key_line("receiving key", &receiving)
					),
					serde_json::json!({
						"keyring": ctx.keyring,
						"account": account.to_string(),
						"receiving_key": key_json(&receiving),
					}),
				);
				Ok(())
			},
			Keys::Show { label } => {
				let keyring = ctx.open_keyring()?;
				let account = keyring.account_id();
				let receiving = keyring.receiving_key().public_key();
				let verifying = keyring.signer().verifying_key();
				let mut text = format!(
					"{:<18} {account}\n{}\n{}",
					"account",
					key_line("receiving key", &receiving),
					key_line("verifying key", &verifying)
				);
				let mut labels = serde_json::Map::new();
				for label in &label {
					let key = keyring.delegating_key(label.as_bytes()).public_key();
					text.push_str(&format!("\n{}", key_line(&format!("label {label}"), &key)));
					labels.insert(label.clone(), key_json(&key));
				}
				ctx.print(
					text,
					serde_json::json!({
						"account": account.to_string(),
						"receiving_key": key_json(&receiving),
						"verifying_key": key_json(&verifying),
						"delegating_keys": labels,
					}),
				);
				Ok(())
			},
		}
	}
}

impl Transfer {
	pub(super) async fn run(self, ctx: &Context) -> Outcome {
		let keyring = ctx.open_keyring()?;
		let client = ctx.connect().await?;
		let mut included = client.transfer(&keyring.account(), &self.to, self.amount).await?;
		ctx.settle(&client, &mut included).await?;
		ctx.print(
			format!(
				"sent {} to {} in block {}",
				format_amount(self.amount),
				self.to,
				included.block
			),
			included_json(&included),
		);
		Ok(())
	}
}
