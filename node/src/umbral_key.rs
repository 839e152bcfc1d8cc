//! The node's Umbral identities: `kms-node umbral-key generate | list`, and loading them into
//! the offchain storage where the re-encryption worker finds them.
//!
//! Each identity is a 32-byte seed (see `kms_primitives::staking::identity`), kept in
//! `<base-path>/chains/<chain>/kms/umbral-seeds`, one hex seed per line, oldest first (mode
//! 0600, directory 0700). The node loads every seed at start into its offchain database,
//! whose directory it makes private (0700) as well; a node hosting several KMS
//! nodes keeps one seed per node, and a node that rotated its key keeps the old seed until no
//! policy granted under it lives. The seeds never go on chain; the public key, printed by
//! `generate` and `list`, is what `register_node` / `rotate_node_key` take.

use sc_cli::{CliConfiguration, SharedParams, SubstrateCli};
use std::{
	fs,
	io::Write,
	path::{Path, PathBuf},
};

/// Manage the node's Umbral identities (the keys kfrags are encrypted to).
#[derive(Debug, clap::Parser)]
pub struct UmbralKeyCmd {
	#[command(subcommand)]
	action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
	/// Create a new identity from the operating system's randomness and print its public key
	/// (register it with `register_node`, or `rotate_node_key` to replace the current one).
	/// Existing identities are kept. Takes effect when the node (re)starts.
	Generate(Args),
	/// Print the public keys of the node's identities, oldest first.
	List(Args),
}

#[derive(Debug, clap::Args)]
struct Args {
	#[allow(missing_docs)]
	#[clap(flatten)]
	shared: SharedParams,

	/// Print JSON (`{"public_key": "0x…"}`, or a list of them for `list`).
	#[arg(long)]
	json: bool,
}

impl CliConfiguration for Args {
	fn shared_params(&self) -> &SharedParams {
		&self.shared
	}
}

/// Where the node keeps its Umbral seeds: `<chain config dir>/kms/umbral-seeds`.
pub fn seeds_path(config_dir: &Path) -> PathBuf {
	config_dir.join("kms").join("umbral-seeds")
}

/// The seeds in `path` (none if the file does not exist).
pub fn read_seeds(path: &Path) -> Result<Vec<[u8; 32]>, String> {
	let text = match fs::read_to_string(path) {
		Ok(text) => text,
		Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
		Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
	};
	text.lines()
		.map(str::trim)
		.filter(|line| !line.is_empty())
		.enumerate()
		.map(|(number, line)| {
			let bytes = hex::decode(line.trim_start_matches("0x")).ok();
			bytes.and_then(|bytes| <[u8; 32]>::try_from(bytes).ok()).ok_or_else(|| {
				format!("{} line {}: not a 32-byte hex seed", path.display(), number + 1)
			})
		})
		.collect()
}

/// Makes `dir` private to the node's user (mode 0700): the offchain database the worker reads
/// its seeds from is as private as the seed file, whatever the umask made it.
pub fn make_private(dir: &Path) -> Result<(), String> {
	use std::os::unix::fs::PermissionsExt;
	fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
		.map_err(|error| format!("cannot make {} private: {error}", dir.display()))
}

fn write_seeds(path: &Path, seeds: &[[u8; 32]]) -> Result<(), String> {
	use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
	let fail = |error: std::io::Error| format!("cannot write {}: {error}", path.display());
	if let Some(dir) = path.parent() {
		fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(fail)?;
	}
	// Written beside, then renamed: a crash leaves the old file or the new one, never half.
	let partial = path.with_extension("partial");
	let mut file = fs::OpenOptions::new()
		.write(true)
		.create(true)
		.truncate(true)
		.mode(0o600)
		.open(&partial)
		.map_err(fail)?;
	for seed in seeds {
		writeln!(file, "{}", hex::encode(seed)).map_err(fail)?;
	}
	file.sync_all().map_err(fail)?;
	fs::rename(&partial, path).map_err(fail)
}

fn public_key(seed: &[u8; 32]) -> Result<String, String> {
	kms_primitives::staking::identity::public_key(seed)
		.map(|key| format!("0x{}", hex::encode(key.0)))
		.ok_or_else(|| "umbral-pre rejected a seed".to_string())
}

impl UmbralKeyCmd {
	/// Runs the command against the seeds of the chain `--chain` under `--base-path`.
	pub fn run<C: SubstrateCli>(&self, cli: &C) -> sc_cli::Result<()> {
		let (Action::Generate(args) | Action::List(args)) = &self.action;
		let spec = cli.load_spec(&args.chain_id(args.shared.is_dev())?)?;
		let base = args
			.base_path()?
			.unwrap_or_else(|| sc_service::BasePath::from_project("", "", &C::executable_name()));
		let path = seeds_path(&base.config_dir(spec.id()));
		let mut seeds = read_seeds(&path)?;
		let keys = match &self.action {
			Action::Generate(_) => {
				let mut seed = [0u8; 32];
				getrandom::getrandom(&mut seed)
					.map_err(|error| format!("no randomness from the system: {error}"))?;
				let key = public_key(&seed)?;
				seeds.push(seed);
				write_seeds(&path, &seeds)?;
				eprintln!("new Umbral identity added to {}", path.display());
				vec![key]
			},
			Action::List(_) => seeds.iter().map(public_key).collect::<Result<_, _>>()?,
		};
		if args.json {
			let entries: Vec<_> =
				keys.iter().map(|key| serde_json::json!({ "public_key": key })).collect();
			let out = match &self.action {
				Action::Generate(_) => entries.into_iter().next().unwrap_or_default(),
				Action::List(_) => serde_json::Value::Array(entries),
			};
			println!("{out}");
		} else {
			for key in keys {
				println!("{key}");
			}
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn seeds_round_trip_with_private_permissions() {
		use std::os::unix::fs::PermissionsExt;
		let dir = tempfile::tempdir().unwrap();
		let path = seeds_path(dir.path());
		assert_eq!(read_seeds(&path).unwrap(), Vec::<[u8; 32]>::new());
		let seeds = [[1u8; 32], [2u8; 32]];
		write_seeds(&path, &seeds).unwrap();
		assert_eq!(read_seeds(&path).unwrap(), seeds.to_vec());
		let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
		assert_eq!(mode, 0o600);
		let dir_mode = fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777;
		assert_eq!(dir_mode, 0o700);
	}

	#[test]
	fn a_directory_made_private_is_closed_to_others() {
		use std::os::unix::fs::PermissionsExt;
		let dir = tempfile::tempdir().unwrap();
		let db = dir.path().join("db");
		fs::create_dir(&db).unwrap();
		fs::set_permissions(&db, fs::Permissions::from_mode(0o755)).unwrap();
		make_private(&db).unwrap();
		assert_eq!(fs::metadata(&db).unwrap().permissions().mode() & 0o777, 0o700);
		assert!(make_private(&dir.path().join("absent")).unwrap_err().contains("absent"));
	}

	#[test]
	fn malformed_seed_files_are_refused_with_the_line() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("seeds");
		fs::write(&path, format!("{}\nnot-hex\n", hex::encode([7u8; 32]))).unwrap();
		assert!(read_seeds(&path).unwrap_err().contains("line 2"));
		fs::write(&path, "abcd\n").unwrap();
		assert!(read_seeds(&path).unwrap_err().contains("line 1"));
	}

	#[test]
	fn identities_derive_the_keys_umbral_pre_python_derives() {
		// `SecretKeyFactory.from_secure_randomness(bytes([7] * 32)).make_key(b"node")`, by
		// umbral-pre's Python bindings: a node's key must never change under its seed.
		assert_eq!(
			public_key(&[7; 32]).unwrap(),
			"0x036786097b774160847f0d5a61dffc5a916a6c6aac49f4cb6cdea7db17cb48cf72"
		);
	}
}
