//! The load benchmark: ramps the requests offered per block on a development node and prints
//! what it admitted and answered, how fast, what it missed, and what it cost the node. Run by
//! `scripts/bench-load.sh` (which builds the node first and renders the plot); see `--help`.

#[path = "../load/mod.rs"]
mod load;

use kms_e2e_tests::Node;
use std::time::Duration;
// Dependencies of the harness and the tests, not of this program.
use codec as _;
use hex as _;
use jsonrpsee as _;
use sp_crypto_hashing as _;
use sp_maybe_compressed_blob as _;
use tempfile as _;

const HELP: &str = "\
Load benchmark of KMS Chain's re-encryption service.

Starts a development node (`kms-node --dev --tmp`, the binary next to this program's target
directory, or $KMS_NODE_BIN), grants 4 one-of-one policies through Alice's node to 32
funded readers, then for each rate offers that many requests per block (one per reader) for
--blocks blocks and waits until every deadline has passed. Prints one table line per step:
requests and capsules offered per block, requests admitted, refused and fulfilled per block,
latency in blocks from a request's block to its fulfilment's (min/median/p95/max), missed
deadlines and failed requests, the normal class's block weight used (% of its limit, median
and max), and the node's CPU (% of one core) and resident memory.

Usage: load [--rates 1,2,4,8,16,32] [--capsules 8] [--blocks 20] [--json FILE]

  --rates LIST     requests offered per block, one step each (at most 32)
  --capsules N     capsules per request (1 to 8)
  --blocks N       blocks each step offers load for
  --json FILE      also write the steps, every latency included, as JSON (for the plot)
  -h, --help       this text

Exit status: 0 when every step ran (whatever it measured), 1 when the run failed, 2 on bad
arguments.";

fn parse_args() -> Result<(load::Settings, Option<String>), String> {
	let mut settings = load::Settings { rates: vec![1, 2, 4, 8, 16, 32], capsules: 8, blocks: 20 };
	let mut json = None;
	let mut args = std::env::args().skip(1);
	while let Some(arg) = args.next() {
		let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
		match arg.as_str() {
			"-h" | "--help" => {
				println!("{HELP}");
				std::process::exit(0);
			},
			"--rates" => {
				settings.rates = value("--rates")?
					.split(',')
					.map(|rate| match rate.trim().parse::<u32>() {
						Ok(rate @ 1..=load::MAX_PER_BLOCK) => Ok(rate),
						_ => Err(format!(
							"--rates: {rate} is not a rate from 1 to {}",
							load::MAX_PER_BLOCK
						)),
					})
					.collect::<Result<_, _>>()?;
			},
			"--capsules" => {
				settings.capsules = match value("--capsules")?.parse() {
					Ok(n @ 1..=8) => n,
					_ => return Err("--capsules takes 1 to 8".into()),
				};
			},
			"--blocks" => {
				settings.blocks = match value("--blocks")?.parse() {
					Ok(n @ 1..=1000) => n,
					_ => return Err("--blocks takes 1 to 1000".into()),
				};
			},
			"--json" => json = Some(value("--json")?),
			// `cargo bench` passes this to every bench target.
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
	eprintln!("starting a development node");
	let mut node = Node::start(&["--dev", "--tmp"]);
	node.wait_for_rpc().await;
	let pid = node.pid().expect("the node runs");
	let progress = |line: &str| eprintln!("{line}");
	let steps = match load::run(&node.ws_url(), pid, &settings, progress).await {
		Ok(steps) => steps,
		Err(error) => {
			eprintln!(
				"error: {error}\n--- last lines of the node's log ---\n{}",
				node.log_tail(40)
			);
			std::process::exit(1);
		},
	};
	node.stop(Duration::from_secs(30));
	println!("{}", load::table(&steps));
	if let Some(path) = json {
		let value = serde_json::Value::Array(steps.iter().map(load::Step::to_json).collect());
		if let Err(error) = std::fs::write(&path, format!("{value:#}\n")) {
			eprintln!("error: cannot write {path}: {error}");
			std::process::exit(1);
		}
		eprintln!("wrote {path}");
	}
}
