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
	#[cfg(feature = "runtime-benchmarks")]
	#[command(subcommand)]
	Benchmark(frame_benchmarking_cli::BenchmarkCmd),

	/// Benchmarks: not in this build (build with `--features runtime-benchmarks`, as
	/// `scripts/benchmark.sh` does).
	#[cfg(not(feature = "runtime-benchmarks"))]
	Benchmark {
		/// The benchmark's arguments, ignored.
		#[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
		args: Vec<String>,
	},

	/// Database meta columns information.
	ChainInfo(sc_cli::ChainInfoCmd),
}
