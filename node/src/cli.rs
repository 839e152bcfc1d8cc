//! The node's command line.

use sc_cli::RunCmd;

/// The node's command line: run a node (no subcommand) or one of the maintenance commands.
#[derive(Debug, clap::Parser)]
pub struct Cli {
	/// A maintenance command instead of running the node.
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	/// How to run the node.
	#[clap(flatten)]
	pub run: RunCmd,

	/// The fast path's limits (`kms_reencrypt`).
	#[clap(flatten)]
	pub fast_path: FastPathParams,
}

/// The limits of the fast path, `kms_reencrypt` (see `crate::fast_path`).
#[derive(Debug, Clone, clap::Args)]
pub struct FastPathParams {
	/// Fast-path requests served per second to one requester, on average (0 or more).
	#[arg(long, value_name = "COUNT", default_value_t = 20.0, value_parser = at_least::<0>)]
	pub fast_path_rate: f64,
	/// Fast-path requests one requester may have served at once after being idle (1 or more).
	#[arg(long, value_name = "COUNT", default_value_t = 40.0, value_parser = at_least::<1>)]
	pub fast_path_burst: f64,
	/// Fast-path requests worked on at once [default: twice the machine's cores]; others wait
	/// up to 2 s for their turn, then are refused as busy.
	#[arg(long, value_name = "COUNT", value_parser = count)]
	pub fast_path_concurrency: Option<usize>,
	/// Fast-path requests waiting at once for finality, the transaction pool or a block (a
	/// pay-per-access request waits for a best block that logs it) [default: 4096]; more are
	/// refused as busy, before they are relayed.
	#[arg(long, value_name = "COUNT", value_parser = count)]
	pub fast_path_max_waiting: Option<usize>,
}

/// A number of at least `MIN`, finite.
fn at_least<const MIN: u8>(text: &str) -> Result<f64, String> {
	let value: f64 = text.parse().map_err(|e| format!("not a number: {e}"))?;
	if value.is_finite() && value >= f64::from(MIN) {
		Ok(value)
	} else {
		Err(format!("must be a finite number of at least {MIN}"))
	}
}

/// A count of at least 1.
fn count(text: &str) -> Result<usize, String> {
	match text.parse::<usize>() {
		Ok(0) => Err("must be at least 1".into()),
		Ok(count) => Ok(count),
		Err(e) => Err(format!("not a count: {e}")),
	}
}

impl FastPathParams {
	/// The limits these parameters set.
	pub fn limits(&self) -> crate::fast_path::Limits {
		let defaults = crate::fast_path::Limits::default();
		crate::fast_path::Limits {
			requests_per_second: self.fast_path_rate,
			burst: self.fast_path_burst,
			concurrency: self.fast_path_concurrency.unwrap_or(defaults.concurrency),
			max_waiting: self.fast_path_max_waiting.unwrap_or(defaults.max_waiting),
			..defaults
		}
	}
}

/// The maintenance commands.
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management: generate, inspect and insert keys (e.g. session keys into the keystore).
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// The node's Umbral identities (the keys kfrags are encrypted to): generate, list.
	UmbralKey(crate::umbral_key::UmbralKeyCmd),

	/// Build a chain specification (`--raw` for the form nodes boot from).
	BuildSpec(sc_cli::BuildSpecCmd),

	/// Export the chain specification of a chain (`dev`, `local` or a file), raw or not.
	ExportChainSpec(sc_cli::ExportChainSpecCmd),

	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state of a given block into a chain spec.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Remove the whole chain.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),

	/// Benchmarks: pallet weights, blocks, storage, machine.
	#[cfg(feature = "benchmark-cli")]
	#[command(subcommand)]
	Benchmark(frame_benchmarking_cli::BenchmarkCmd),

	/// Benchmarks: not in this build (build with `--features benchmark-cli`, as
	/// `scripts/benchmark.sh` does).
	#[cfg(not(feature = "benchmark-cli"))]
	Benchmark {
		/// The benchmark's arguments, ignored.
		#[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
		args: Vec<String>,
	},

	/// Database meta columns information.
	ChainInfo(sc_cli::ChainInfoCmd),
}

#[cfg(test)]
mod tests {
	use super::Cli;
	use clap::Parser;

	fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
		Cli::try_parse_from([&["kms-node"], args].concat())
	}

	#[test]
	fn the_fast_path_limits_refuse_values_that_would_stop_or_unbound_it() {
		for bad in [
			"--fast-path-max-waiting=0",
			"--fast-path-concurrency=0",
			"--fast-path-concurrency=-1",
			"--fast-path-burst=0.5",
			"--fast-path-burst=inf",
			"--fast-path-rate=-1",
			"--fast-path-rate=NaN",
		] {
			let error = parse(&[bad]).err().unwrap_or_else(|| panic!("{bad:?} was taken"));
			assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation, "{bad:?}");
		}
		let cli = parse(&["--fast-path-max-waiting", "1", "--fast-path-rate", "0"])
			.unwrap_or_else(|e| panic!("{e}"));
		let limits = cli.fast_path.limits();
		assert_eq!((limits.max_waiting, limits.requests_per_second), (1, 0.0));
		let defaults = parse(&[]).unwrap_or_else(|e| panic!("{e}")).fast_path.limits();
		assert_eq!((defaults.requests_per_second, defaults.burst), (20.0, 40.0));
	}
}
