//! `kms-node`: the KMS Chain node.
//!
//! A Substrate client around the `kms-runtime` WebAssembly blob: Aura block authoring, GRANDPA
//! finality, libp2p networking, JSON-RPC and offchain workers (which do the protocol's
//! re-encryption). Run `kms-node --help` for the commands.
#![warn(missing_docs)]

mod chain_spec;
mod chain_state;
mod cli;
mod command;
mod fast_path;
mod keys_rpc;
mod metrics;
mod rpc;
mod service;
mod umbral_key;

fn main() -> sc_cli::Result<()> {
	command::run()
}
