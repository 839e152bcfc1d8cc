//! The keyring: one local file holding a user's secrets, encrypted under a passphrase.
//!
//! Two secrets make a whole identity, whatever roles it plays:
//! - the **account**: an sr25519 secret URI (a `0x…` seed for new keyrings, or any URI such as
//!   `//Alice` when imported) that signs transactions;
//! - the **Umbral master seed**: 32 random bytes, umbral-pre's [`SecretKeyFactory`]. Every
//!   Umbral key is derived from it, so nothing else needs backing up:
//!   - the *delegating key of a label* is `make_key(label)` (`PROTOCOL.md`): a label tree
//!     (`photos/2026/…`) maps to independent keys and policies;
//!   - the *signer* (whose public key is a policy's verifying key) and the *receiving key*
//!     (what a reader gives owners) are `make_key` of `signer` and `receiving` in the
//!     sub-factory `make_factory("kms/roles")`, a derivation path no label can reach.
//!
//! # File format
//! A JSON object, written with mode `0600` (beside the target, then renamed):
//!
//! | field | meaning |
//! |---|---|
//! | `kms_keyring` | format version, `1` |
//! | `account` | the account's SS58 address (public, readable without the passphrase) |
//! | `kdf` | `{ "algorithm": "argon2id", "memory_kib", "iterations", "parallelism", "salt" }` |
//! | `cipher` | `"xchacha20poly1305"` |
//! | `nonce` | 24 bytes, hex |
//! | `ciphertext` | the sealed secrets, hex |
//!
//! The key is Argon2id (version 0x13) of the passphrase with the salt and the recorded cost;
//! the associated data is the JSON of every field but `ciphertext`, so no header field can be
//! changed without the passphrase check failing. The plaintext is the JSON object
//! `{ "account_uri": …, "umbral_seed": <hex> }`. Secrets are zeroized when dropped.

use crate::{AccountId, Error, Keypair};
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::{
	aead::{Aead, KeyInit, Payload},
	XChaCha20Poly1305, XNonce,
};
use serde::{Deserialize, Serialize};
use std::{
	fs,
	io::Write,
	os::unix::fs::{DirBuilderExt, OpenOptionsExt},
	path::Path,
};
use subxt_signer::SecretUri;
use umbral_pre::{SecretKey, SecretKeyFactory, Signer};
use zeroize::Zeroizing;

/// The format version this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Argon2id memory cost of new keyrings, in KiB (64 MiB).
pub const KDF_MEMORY_KIB: u32 = 64 * 1024;
/// Argon2id passes over memory of new keyrings.
pub const KDF_ITERATIONS: u32 = 3;
/// The sub-factory of role keys (signer, receiving key).
const ROLES: &[u8] = b"kms/roles";

/// A user's secrets, open.
pub struct Keyring {
	account_uri: Zeroizing<String>,
	account: Keypair,
	seed: Zeroizing<[u8; 32]>,
	factory: SecretKeyFactory,
}

/// The key derivation's parameters, as recorded in the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Kdf {
	algorithm: String,
	memory_kib: u32,
	iterations: u32,
	parallelism: u32,
	salt: String,
}

/// What the file holds besides the ciphertext: also the associated data.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Header {
	kms_keyring: u32,
	account: String,
	kdf: Kdf,
	cipher: String,
	nonce: String,
}

#[derive(Serialize, Deserialize)]
struct File {
	#[serde(flatten)]
	header: Header,
	ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Secrets {
	account_uri: String,
	umbral_seed: String,
}

fn keyring_error(message: impl Into<String>) -> Error {
	Error::Keyring(message.into())
}

fn random<const N: usize>() -> Result<[u8; N], Error> {
	let mut bytes = [0u8; N];
	getrandom::getrandom(&mut bytes)
		.map_err(|e| keyring_error(format!("no randomness from the OS: {e}")))?;
	Ok(bytes)
}

fn parse_uri(uri: &str) -> Result<Keypair, Error> {
	let parsed: SecretUri = uri
		.parse()
		.map_err(|_| keyring_error("the account is not a valid secret URI"))?;
	Keypair::from_uri(&parsed)
		.map_err(|_| keyring_error("the account is not a valid sr25519 secret URI"))
}

fn derive_key(passphrase: &str, kdf: &Kdf) -> Result<Zeroizing<[u8; 32]>, Error> {
	if kdf.algorithm != "argon2id" {
		return Err(keyring_error(format!("unsupported key derivation {:?}", kdf.algorithm)));
	}
	let params = Params::new(kdf.memory_kib, kdf.iterations, kdf.parallelism, Some(32))
		.map_err(|e| keyring_error(format!("bad key derivation parameters: {e}")))?;
	let salt = hex::decode(&kdf.salt).map_err(|_| keyring_error("the salt is not hex"))?;
	let mut key = Zeroizing::new([0u8; 32]);
	Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
		.hash_password_into(passphrase.as_bytes(), &salt, key.as_mut())
		.map_err(|e| keyring_error(format!("key derivation failed: {e}")))?;
	Ok(key)
}

fn associated_data(header: &Header) -> Result<Vec<u8>, Error> {
	serde_json::to_vec(header).map_err(|e| keyring_error(e.to_string()))
}

impl Keyring {
	/// A new identity: a fresh Umbral master seed, and the account `account_uri` (a fresh
	/// random one if `None`).
	pub fn generate(account_uri: Option<&str>) -> Result<Keyring, Error> {
		let account_uri = match account_uri {
			Some(uri) => Zeroizing::new(uri.to_string()),
			None => Zeroizing::new(format!("0x{}", hex::encode(Zeroizing::new(random::<32>()?)))),
		};
		Keyring::from_parts(account_uri, Zeroizing::new(random::<32>()?))
	}

	fn from_parts(
		account_uri: Zeroizing<String>,
		seed: Zeroizing<[u8; 32]>,
	) -> Result<Self, Error> {
		let account = parse_uri(&account_uri)?;
		let factory = SecretKeyFactory::from_secure_randomness(seed.as_ref())
			.map_err(|e| keyring_error(format!("the Umbral seed: {e}")))?;
		Ok(Keyring { account_uri, account, seed, factory })
	}

	/// The account's signing key.
	pub fn account(&self) -> Keypair {
		self.account.clone()
	}

	/// The account's address.
	pub fn account_id(&self) -> AccountId {
		self.account().public_key().to_account_id()
	}

	/// The delegating key of `label`: `make_key(label)` of the master factory.
	pub fn delegating_key(&self, label: &[u8]) -> SecretKey {
		self.factory.make_key(label)
	}

	/// The signer of kfrags; its public key is a policy's verifying key.
	pub fn signer(&self) -> Signer {
		Signer::new(self.factory.make_factory(ROLES).make_key(b"signer"))
	}

	/// The receiving key: owners grant to its public key, cfrags open with its secret.
	pub fn receiving_key(&self) -> SecretKey {
		self.factory.make_factory(ROLES).make_key(b"receiving")
	}

	/// Writes the keyring to `path`, encrypted under `passphrase`, with mode `0600` (its
	/// directory is created with mode `0700`). An existing file is replaced only if
	/// `overwrite`.
	pub fn save(&self, path: &Path, passphrase: &str, overwrite: bool) -> Result<(), Error> {
		if passphrase.is_empty() {
			return Err(keyring_error("the passphrase is empty"));
		}
		if !overwrite && path.exists() {
			return Err(keyring_error(format!(
				"{} already exists; pass --force to replace it (its keys are lost unless backed up)",
				path.display()
			)));
		}
		let kdf = Kdf {
			algorithm: "argon2id".into(),
			memory_kib: KDF_MEMORY_KIB,
			iterations: KDF_ITERATIONS,
			parallelism: 1,
			salt: hex::encode(random::<16>()?),
		};
		let key = derive_key(passphrase, &kdf)?;
		let header = Header {
			kms_keyring: FORMAT_VERSION,
			account: self.account_id().to_string(),
			kdf,
			cipher: "xchacha20poly1305".into(),
			nonce: hex::encode(random::<24>()?),
		};
		let secrets = Zeroizing::new(
			serde_json::to_vec(&Secrets {
				account_uri: self.account_uri.to_string(),
				umbral_seed: hex::encode(self.seed.as_ref()),
			})
			.map_err(|e| keyring_error(e.to_string()))?,
		);
		let nonce = hex::decode(&header.nonce).map_err(|_| keyring_error("nonce"))?;
		let aad = associated_data(&header)?;
		let ciphertext = XChaCha20Poly1305::new(key.as_ref().into())
			.encrypt(XNonce::from_slice(&nonce), Payload { msg: &secrets, aad: &aad })
			.map_err(|_| keyring_error("encryption failed"))?;
		let file = File { header, ciphertext: hex::encode(ciphertext) };
		let json = serde_json::to_vec_pretty(&file).map_err(|e| keyring_error(e.to_string()))?;

		let io = |e: std::io::Error| keyring_error(format!("{}: {e}", path.display()));
		if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
			fs::DirBuilder::new().recursive(true).mode(0o700).create(parent).map_err(io)?;
		}
		let temporary = path.with_extension("tmp");
		let mut out = fs::OpenOptions::new()
			.write(true)
			.create(true)
			.truncate(true)
			.mode(0o600)
			.open(&temporary)
			.map_err(io)?;
		out.write_all(&json).and_then(|()| out.sync_all()).map_err(io)?;
		fs::rename(&temporary, path).map_err(io)
	}

	/// Opens the keyring at `path` with `passphrase`. A wrong passphrase, or a file changed
	/// by anyone without it, is [`Error::WrongPassphrase`].
	pub fn open(path: &Path, passphrase: &str) -> Result<Keyring, Error> {
		let file = read(path)?;
		if file.header.cipher != "xchacha20poly1305" {
			return Err(keyring_error(format!("unsupported cipher {:?}", file.header.cipher)));
		}
		let key = derive_key(passphrase, &file.header.kdf)?;
		let nonce = hex::decode(&file.header.nonce)
			.ok()
			.filter(|nonce| nonce.len() == 24)
			.ok_or_else(|| keyring_error("the nonce is not 24 bytes of hex"))?;
		let ciphertext = hex::decode(&file.ciphertext)
			.map_err(|_| keyring_error("the ciphertext is not hex"))?;
		let aad = associated_data(&file.header)?;
		let plaintext = Zeroizing::new(
			XChaCha20Poly1305::new(key.as_ref().into())
				.decrypt(XNonce::from_slice(&nonce), Payload { msg: &ciphertext, aad: &aad })
				.map_err(|_| Error::WrongPassphrase)?,
		);
		let secrets: Secrets = serde_json::from_slice(&plaintext)
			.map_err(|_| keyring_error("the secrets do not decode"))?;
		let secrets = (Zeroizing::new(secrets.account_uri), Zeroizing::new(secrets.umbral_seed));
		let mut seed = Zeroizing::new([0u8; 32]);
		hex::decode_to_slice(secrets.1.as_bytes(), seed.as_mut())
			.map_err(|_| keyring_error("the Umbral seed is not 32 bytes of hex"))?;
		let keyring = Keyring::from_parts(secrets.0, seed)?;
		if keyring.account_id().to_string() != file.header.account {
			return Err(keyring_error("the recorded address is not the account's"));
		}
		Ok(keyring)
	}

	/// The address recorded in the keyring at `path`, read without the passphrase.
	pub fn address(path: &Path) -> Result<String, Error> {
		Ok(read(path)?.header.account)
	}
}

fn read(path: &Path) -> Result<File, Error> {
	let bytes = fs::read(path).map_err(|e| {
		if e.kind() == std::io::ErrorKind::NotFound {
			keyring_error(format!(
				"no keyring at {}; create one with `kms keys new`",
				path.display()
			))
		} else {
			keyring_error(format!("{}: {e}", path.display()))
		}
	})?;
	let file: File = serde_json::from_slice(&bytes)
		.map_err(|e| keyring_error(format!("{} is not a keyring: {e}", path.display())))?;
	if file.header.kms_keyring != FORMAT_VERSION {
		return Err(keyring_error(format!(
			"keyring format version {} (this kms reads {FORMAT_VERSION})",
			file.header.kms_keyring
		)));
	}
	Ok(file)
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::os::unix::fs::PermissionsExt;

	#[test]
	fn saved_keyring_opens_with_its_passphrase_only() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("sub/keyring.json");
		let keyring = Keyring::generate(None).unwrap();
		keyring.save(&path, "correct horse", false).unwrap();

		let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
		assert_eq!(mode, 0o600);
		let dir_mode = fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777;
		assert_eq!(dir_mode, 0o700);
		let text = fs::read_to_string(&path).unwrap();
		assert!(!text.contains(&hex::encode(keyring.seed.as_ref())), "the seed is not in clear");
		assert!(!text.contains(keyring.account_uri.as_str()), "the account is not in clear");

		let opened = Keyring::open(&path, "correct horse").unwrap();
		assert_eq!(opened.account_id(), keyring.account_id());
		assert_eq!(opened.receiving_key().public_key(), keyring.receiving_key().public_key());
		assert_eq!(Keyring::address(&path).unwrap(), keyring.account_id().to_string());
		assert!(matches!(Keyring::open(&path, "wrong horse"), Err(Error::WrongPassphrase)));
	}

	#[test]
	fn header_changes_are_detected() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("keyring.json");
		Keyring::generate(Some("//Alice")).unwrap().save(&path, "pass", false).unwrap();
		let mut file: serde_json::Value =
			serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
		// A weaker key derivation cannot be slipped in without the passphrase.
		file["kdf"]["iterations"] = 1.into();
		fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
		assert!(matches!(Keyring::open(&path, "pass"), Err(Error::WrongPassphrase)));
	}

	#[test]
	fn existing_keyring_is_kept_unless_forced() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("keyring.json");
		let first = Keyring::generate(None).unwrap();
		first.save(&path, "pass", false).unwrap();
		let second = Keyring::generate(None).unwrap();
		assert!(matches!(second.save(&path, "pass", false), Err(Error::Keyring(_))));
		assert_eq!(Keyring::open(&path, "pass").unwrap().account_id(), first.account_id());
		second.save(&path, "pass", true).unwrap();
		assert_eq!(Keyring::open(&path, "pass").unwrap().account_id(), second.account_id());
		assert!(matches!(second.save(&path, "", true), Err(Error::Keyring(_))));
	}

	#[test]
	fn keys_are_derived_per_label_and_role() {
		let keyring = Keyring::generate(Some("//Bob")).unwrap();
		assert_eq!(keyring.account_id(), crate::dev::bob().public_key().to_account_id());
		let factory = SecretKeyFactory::from_secure_randomness(keyring.seed.as_ref()).unwrap();
		// The protocol's derivation, as umbral-pre's bindings compute it.
		assert_eq!(
			keyring.delegating_key(b"photos/2026").public_key(),
			factory.make_key(b"photos/2026").public_key()
		);
		let keys = [
			keyring.delegating_key(b"photos/2026").public_key(),
			keyring.delegating_key(b"photos/2027").public_key(),
			keyring.delegating_key(b"signer").public_key(),
			keyring.signer().verifying_key(),
			keyring.receiving_key().public_key(),
		];
		for (i, a) in keys.iter().enumerate() {
			for b in &keys[i + 1..] {
				assert_ne!(a, b, "every label and role has its own key");
			}
		}
		assert!(Keyring::generate(Some("not a uri at all //")).is_err());
	}
}
