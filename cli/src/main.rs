//! `kms`: the KMS Chain command line (see `kms --help`, and [`kms_cli`]).

// The dependencies are the library's; this entry point only calls it.
#![allow(unused_crate_dependencies)]

fn main() -> std::process::ExitCode {
	kms_cli::main()
}
