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
	/// Fast-path requests served per second to one requester, on average.
	#[arg(long, value_name = "COUNT", default_value_t = 20.0)]
	pub fast_path_rate: f64,
	/// Fast-path requests one requester may have served at once after being idle.
	#[arg(long, value_name = "COUNT", default_value_t = 40.0)]
	pub fast_path_burst: f64,
	/// Fast-path requests worked on at once [default: twice the machine's cores]; others wait
	/// up to 2 s for their turn, then are refused as busy.
	#[arg(long, value_name = "COUNT")]
	pub fast_path_concurrency: Option<usize>,
	/// Fast-path requests waiting at once for finality, the transaction pool or a block (a
	/// pay-per-access request waits for a best block that logs it) [default: 4096]; more are
	/// refused as busy, before they are relayed.
	#[arg(long, value_name = "COUNT")]
	pub fast_path_max_waiting: Option<usize>,
}

impl FastPathParams {
	/// The limits these parameters set.
	pub fn limits(&self) -> crate::fast_path::Limits {
		let defaults = crate::fast_path::Limits::default();
		crate::fast_path::Limits {
			requests_per_second: self.fast_path_rate.max(0.0),
			burst: self.fast_path_burst.max(1.0),
			concurrency: self.fast_path_concurrency.unwrap_or(defaults.concurrency).max(1),
			max_waiting: self.fast_path_max_waiting.unwrap_or(defaults.max_waiting).max(1),
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
