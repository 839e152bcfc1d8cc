//! The fast-path benchmark: three KMS nodes, one validator process each on loopback, a 2-of-3
//! policy. Measures the latency from a reader's call to verified cfrags over the fast path
//! (`kms_reencrypt`) and over the chain, and one node's fast-path throughput with its CPU use.
//! Run by `scripts/bench-fast-path.sh` (which builds the node first and renders the plot); see
//! `--help`. The measurement itself is `fast_path/mod.rs`.

#[path = "../fast_path/mod.rs"]
mod fast_path;

use std::time::Duration;
// Dependencies of the harness and the tests, not of this program.
use codec as _;
use hex as _;
use jsonrpsee as _;
use sp_crypto_hashing as _;
use sp_maybe_compressed_blob as _;
use subxt as _;
use subxt_signer as _;

const HELP: &str = "\
Fast-path benchmark of KMS Chain.

Starts three validators of the `local` chain (`kms-node --chain local --alice|--bob|--charlie
--tmp`, the binary next to this program's target directory, or $KMS_NODE_BIN; Dave's slot
stays empty), each hosting its genesis KMS node, publishes their endpoints, and grants a
2-of-3 policy over the three to a reader. Then:

  latency     --requests fast-path decrypts one after another: from the call to the nodes to
              2 verified cfrags, every node asked at once (p50/p95/p99);
  on chain    --on-chain requests on chain, one after another: from submitting the request to
              2 verified cfrags read at the best block;
  throughput  for --seconds each, 1 and 8 capsules per request: --concurrency requests in
              flight to Alice's node alone; requests/s, capsules/s, and its CPU (% of one core):
              the whole node process's, and its requests' own work in it (as the node counts it
              in substrate_kms_fast_path_cpu_seconds_total).

The nodes run with the fast path's per-requester rate limit lifted (--fast-path-rate): one
reader makes every request.

Usage: fast_path [--requests 1000] [--on-chain 20] [--seconds 10] [--concurrency 8] [--json FILE]

Exit status: 0 when every part ran, 1 when the run failed, 2 on bad arguments.";

fn parse_args() -> Result<(fast_path::Settings, Option<String>), String> {
	let mut settings =
		fast_path::Settings { requests: 1000, on_chain: 20, seconds: 10, concurrency: 8 };
	let mut json = None;
	let mut args = std::env::args().skip(1);
	while let Some(arg) = args.next() {
		let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
		let number = |text: String, name: &str, max: usize| match text.parse::<usize>() {
			Ok(n) if (1..=max).contains(&n) => Ok(n),
			_ => Err(format!("{name} takes 1 to {max}")),
		};
		match arg.as_str() {
			"-h" | "--help" => {
				println!("{HELP}");
				std::process::exit(0);
			},
			"--requests" => settings.requests = number(value(&arg)?, &arg, 100_000)?,
			"--on-chain" => settings.on_chain = number(value(&arg)?, &arg, 1000)?,
			"--seconds" => settings.seconds = number(value(&arg)?, &arg, 600)? as u64,
			"--concurrency" => {
				settings.concurrency = number(value(&arg)?, &arg, fast_path::READERS.len())?
			},
			"--json" => json = Some(value(&arg)?),
			"--bench" => {},
			other => return Err(format!("unknown argument {other} (see --help)")),
		}
	}
	Ok((settings, json))
}

#[tokio::main]
async fn main() {
	let (settings, json) = match parse_args() {
		Ok(parsed) => parsed,
		Err(error) => {
			eprintln!("error: {error}");
			std::process::exit(2);
		},
	};
	eprintln!("starting three validators of the local chain");
	let nodes = fast_path::start_network().await;
	let result = fast_path::run(&nodes, &settings).await;
	let logs = nodes[0].log_tail(40);
	for node in nodes {
		node.stop(Duration::from_secs(30));
	}
	let measured = match result {
		Ok(measured) => measured,
		Err(error) => {
			eprintln!("error: {error}\n--- last lines of Alice's node's log ---\n{logs}");
			std::process::exit(1);
		},
	};
	print!("{}", measured.table(settings.concurrency));
	if let Some(path) = json {
		if let Err(error) = std::fs::write(&path, format!("{:#}\n", measured.to_json())) {
			eprintln!("error: cannot write {path}: {error}");
			std::process::exit(1);
		}
		eprintln!("wrote {path}");
	}
}
