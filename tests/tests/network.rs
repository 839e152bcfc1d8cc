//! A network of validators under faults, started the way an operator starts one
//! (`scripts/local-testnet.sh`) and used the way a user does (the `kms` command line):
//!
//! - four validators on loopback, each hosting its KMS node; a 2-of-4 policy on all four nodes;
//! - one validator killed (SIGKILL): blocks and finality go on, and the reader decrypts;
//! - a second killed: finality stalls (GRANDPA needs three of four), blocks go on, and with
//!   finality [`lag_target`] blocks behind (past the transactions' mortality) every client
//!   action still works: a transfer, and a request with its decryption;
//! - both restarted: finality passes the stalled head, the restarted nodes heartbeat and answer
//!   (a 4-of-4 policy decrypts), and all four validators agree on the finalized chain;
//! - and the basic network again on the libp2p network backend, and a validator started by hand
//!   as the README shows it.
//!
//! The script's commands run as the README writes them, with `--no-build`: the tests run from
//! the build the script would make (and a build from inside the test runner, whose environment
//! differs, would relink the node under the other tests).

use kms_e2e_tests::{free_port, node_binary, phase};
// The other test binaries' dependencies, which every test of the crate links.
use codec as _;
use hex as _;
use kms_client as _;
use serde_json::Value;
use sp_crypto_hashing as _;
use sp_maybe_compressed_blob as _;
use std::{
	net::TcpListener,
	path::{Path, PathBuf},
	process::Command,
	time::{Duration, Instant},
};
use subxt as _;
use subxt_signer as _;
use umbral_pre as _;

/// How far behind the best block finality falls while two validators are down before the
/// client is tried: 70 blocks (about four and a half minutes with half the authors), past the
/// 64-block mortality of the client's transactions, so that a transaction still anchored at
/// the finalized block would be refused (`KMS_FAULT_LAG` changes it).
fn lag_target() -> u64 {
	std::env::var("KMS_FAULT_LAG")
		.ok()
		.and_then(|lag| lag.parse().ok())
		.unwrap_or(70)
}

const PASSPHRASE: &str = "network test passphrase";

/// A local network made by `scripts/local-testnet.sh` in a directory of its own, on free ports;
/// stopped when dropped.
struct Testnet {
	dir: tempfile::TempDir,
	rpc_port: u16,
	p2p_port: u16,
	prometheus_port: u16,
}

/// `count` consecutive free loopback ports, the first of them.
fn free_ports(count: u16) -> u16 {
	for _ in 0..50 {
		let first = free_port();
		if first > u16::MAX - count {
			continue;
		}
		if (1..count).all(|i| TcpListener::bind(("127.0.0.1", first + i)).is_ok()) {
			return first;
		}
	}
	panic!("no {count} consecutive free ports");
}

impl Testnet {
	fn new() -> Testnet {
		Testnet {
			dir: tempfile::tempdir().expect("a temporary directory"),
			rpc_port: free_ports(4),
			p2p_port: free_ports(4),
			prometheus_port: free_ports(4),
		}
	}

	/// Runs the script with `args`; its output if it succeeds, a failure with it if not.
	fn script(&self, args: &[&str]) -> String {
		let root = kms_e2e_tests::workspace_root();
		// <target>/release/kms-node: the script finds the binaries under $CARGO_TARGET_DIR.
		let target = node_binary().parent().and_then(Path::parent).expect("<target>").to_owned();
		let output = self
			.env(Command::new("bash").arg(root.join("scripts/local-testnet.sh")).args(args))
			.env("CARGO_TARGET_DIR", target)
			.output()
			.expect("bash runs");
		let text = combined(&output);
		if !output.status.success() {
			panic!("local-testnet.sh {} failed:\n{text}\n{}", args.join(" "), self.logs());
		}
		text
	}

	/// `command` with this network's directory and ports in the script's environment.
	fn env<'a>(&self, command: &'a mut Command) -> &'a mut Command {
		command
			.env("KMS_LOCALNET_DIR", self.dir.path())
			.env("KMS_LOCALNET_RPC_PORT", self.rpc_port.to_string())
			.env("KMS_LOCALNET_P2P_PORT", self.p2p_port.to_string())
			.env("KMS_LOCALNET_PROMETHEUS_PORT", self.prometheus_port.to_string())
			// In this test's process group: a test killed at its time limit takes them along.
			.env("KMS_LOCALNET_ATTACH", "1")
	}

	fn logs(&self) -> String {
		["alice", "bob", "charlie", "dave"]
			.iter()
			.filter_map(|name| {
				let log =
					std::fs::read_to_string(self.dir.path().join(name).join("node.log")).ok()?;
				let tail: Vec<&str> = log.lines().rev().take(15).collect();
				Some(format!(
					"--- {name} ---\n{}",
					tail.into_iter().rev().collect::<Vec<_>>().join("\n")
				))
			})
			.collect::<Vec<_>>()
			.join("\n")
	}

	fn status(&self) -> Value {
		serde_json::from_str(&self.script(&["status", "--json"])).expect("status --json is JSON")
	}

	fn url(&self, validator: usize) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port + validator as u16)
	}

	/// Kills a validator with SIGKILL, as a crash would.
	fn kill(&self, name: &str) {
		let pid = std::fs::read_to_string(self.dir.path().join(name).join("pid"))
			.expect("the validator's pid file");
		let killed = Command::new("kill").args(["-KILL", pid.trim()]).status().expect("kill runs");
		assert!(killed.success(), "{name} was killed");
		let deadline = Instant::now() + Duration::from_secs(10);
		while self.validator(name)["state"] == "running" {
			assert!(Instant::now() < deadline, "{name} is gone within 10 s of SIGKILL");
			std::thread::sleep(Duration::from_millis(200));
		}
	}

	fn validator(&self, name: &str) -> Value {
		self.status()["validators"]
			.as_array()
			.expect("validators")
			.iter()
			.find(|v| v["name"] == name)
			.cloned()
			.unwrap_or_else(|| panic!("no validator {name}"))
	}

	/// Best and finalized block numbers as `validator` sees them.
	fn heads(&self, name: &str) -> (u64, u64) {
		let v = self.validator(name);
		(
			v["best"].as_u64().unwrap_or_else(|| panic!("{name} has no best block: {v}")),
			v["finalized"]
				.as_u64()
				.unwrap_or_else(|| panic!("{name} has no finalized block: {v}")),
		)
	}

	/// Waits until `done` holds for `name`'s heads, at most `timeout`.
	fn wait_heads(
		&self,
		name: &str,
		what: &str,
		timeout: Duration,
		done: impl Fn(u64, u64) -> bool,
	) {
		let deadline = Instant::now() + timeout;
		loop {
			let (best, finalized) = self.heads(name);
			if done(best, finalized) {
				return;
			}
			if Instant::now() > deadline {
				panic!(
					"{what}: not within {timeout:?} (best {best}, finalized {finalized})\n{}",
					self.logs()
				);
			}
			std::thread::sleep(Duration::from_secs(1));
		}
	}
}

impl Drop for Testnet {
	fn drop(&mut self) {
		let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.script(&["stop"])));
	}
}

/// The `kms` command line, as each user runs it, against one node.
struct Kms {
	binary: PathBuf,
	dir: PathBuf,
	url: String,
}

impl Kms {
	/// `kms --json ARGS` as `user`; its JSON, or a failure with what it printed.
	fn json(&self, user: &str, args: &[&str]) -> Value {
		let output = Command::new(&self.binary)
			.arg("--json")
			.args(args)
			.env("KMS_URL", &self.url)
			.env("KMS_KEYRING", self.dir.join(format!("{user}.keyring")))
			.env("KMS_PASSPHRASE", PASSPHRASE)
			.env("KMS_TIMEOUT", "120")
			.output()
			.expect("kms runs");
		let stdout = String::from_utf8_lossy(&output.stdout);
		assert!(
			output.status.success(),
			"kms {} as {user} failed ({}): {stdout}\n{}",
			args.join(" "),
			output.status,
			String::from_utf8_lossy(&output.stderr)
		);
		serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
	}
}

fn address(user: &Kms, name: &str) -> String {
	user.json(name, &["keys", "show"])["account"]
		.as_str()
		.expect("an address")
		.to_string()
}

/// Waits until every node in `nodes` serves in the current period: heartbeated, and no missed
/// deadline (a node that was down may have missed one this period: it serves from the next).
fn wait_heartbeats(kms: &Kms, nodes: &[&str], net: &Testnet) {
	let deadline = Instant::now() + Duration::from_secs(200);
	for node in nodes {
		loop {
			let service = &kms.json("alice", &["node", "status", node])["service"];
			if service["heartbeat"] == true && service["missed_deadlines"] == 0 {
				break;
			}
			if Instant::now() > deadline {
				panic!("{node} does not serve within 200 s: {service}\n{}", net.logs());
			}
			std::thread::sleep(Duration::from_secs(2));
		}
	}
}

#[test]
fn four_validators_lose_two_and_recover_while_every_client_action_works() {
	phase("four validators start");
	let net = Testnet::new();
	net.script(&["start", "--fresh", "--no-build"]);
	net.wait_heads("alice", "finality starts", Duration::from_secs(60), |_, finalized| {
		finalized >= 3
	});
	let work = tempfile::tempdir().expect("a temporary directory");
	let kms = Kms {
		binary: node_binary().with_file_name("kms"),
		dir: work.path().to_owned(),
		url: net.url(0),
	};
	for user in ["alice", "bob", "charlie", "dave", "eve"] {
		kms.json(user, &["keys", "new", "--suri", &format!("//{}", capitalized(user))]);
	}
	// The four validators' KMS nodes: their stakers' accounts.
	let nodes: Vec<String> = ["alice", "bob", "charlie", "dave"]
		.iter()
		.map(|name| address(&kms, name))
		.collect();
	let node_refs: Vec<&str> = nodes.iter().map(String::as_str).collect();
	wait_heartbeats(&kms, &node_refs, &net);

	phase("a 2-of-4 policy on the four KMS nodes");
	let bob_key = kms.json("bob", &["keys", "show"])["receiving_key"]["hex"]
		.as_str()
		.expect("a key")
		.to_string();
	let node_list = nodes.join(",");
	let grant = |threshold: &str| {
		kms.json(
			"alice",
			&[
				"grant",
				"--label",
				"docs",
				"--to",
				&bob_key,
				"--threshold",
				threshold,
				"--shares",
				"4",
				"--nodes",
				&node_list,
				"--expires",
				"1h",
				"--rate",
				"0.001",
				"--yes",
			],
		)["policy"]
			.as_str()
			.expect("a policy id")
			.to_string()
	};
	let policy = grant("2");
	let plain = work.path().join("report.txt");
	let sealed = work.path().join("report.kms");
	let content = b"the quarterly report, for Bob's eyes only\n".repeat(100);
	std::fs::write(&plain, &content).unwrap();
	kms.json(
		"alice",
		&["encrypt", "--label", "docs", plain.to_str().unwrap(), "-o", sealed.to_str().unwrap()],
	);
	let decrypt = |policy: &str, out: &str| -> Value {
		let out = work.path().join(out);
		let json = kms.json(
			"bob",
			&["decrypt", "--policy", policy, sealed.to_str().unwrap(), "-o", out.to_str().unwrap()],
		);
		assert_eq!(std::fs::read(&out).unwrap(), content, "Bob's plaintext, byte for byte");
		json
	};
	decrypt(&policy, "all-up.txt");

	phase("one validator killed: blocks, finality and decryption go on");
	net.kill("dave");
	let (_, finalized) = net.heads("alice");
	net.wait_heads(
		"alice",
		"finality goes on with three of four",
		Duration::from_secs(60),
		|_, f| f >= finalized + 3,
	);
	decrypt(&policy, "one-down.txt");

	phase("two validators killed: finality stalls, blocks go on");
	net.kill("charlie");
	let (best, stalled) = net.heads("alice");
	let lag = lag_target();
	// Two of four authors: a block every other 2 s slot on average.
	net.wait_heads(
		"alice",
		&format!("finality {lag} blocks behind"),
		Duration::from_secs(lag * 4 * 3 / 2 + 60),
		|best, finalized| best.saturating_sub(finalized) >= lag,
	);
	let (now_best, now_finalized) = net.heads("alice");
	assert!(now_best > best, "blocks go on");
	assert!(now_finalized <= stalled + 2, "finality stalled at {stalled}: now {now_finalized}");

	phase("under the lag: a transfer, a request and its decryption");
	let eve = address(&kms, "eve");
	let transfer = kms.json("alice", &["transfer", "--to", &eve, "1"]);
	assert!(transfer["block"].as_u64().expect("a block") > stalled, "{transfer}");
	let decrypted = decrypt(&policy, "two-down.txt");
	let answered: Vec<&str> = decrypted["answered_by"]
		.as_array()
		.expect("answered_by")
		.iter()
		.filter_map(Value::as_str)
		.collect();
	assert_eq!(answered.len(), 2, "{decrypted}");
	assert!(answered.iter().all(|node| *node == nodes[0] || *node == nodes[1]), "{decrypted}");
	let (lagging, finalized) = net.heads("alice");
	assert!(lagging - finalized >= lag, "still lagging: {lagging} vs {finalized}");

	phase("both restarted: finality catches up, the nodes heartbeat and answer");
	net.script(&["start", "--no-build"]);
	net.wait_heads(
		"alice",
		"finality passes the stalled head",
		Duration::from_secs(120),
		|_, f| f >= lagging,
	);
	wait_heartbeats(&kms, &node_refs[2..], &net);
	let everyone = grant("4");
	let decrypted = decrypt(&everyone, "all-back.txt");
	assert_eq!(decrypted["answered_by"].as_array().map(Vec::len), Some(4), "{decrypted}");

	phase("all four agree on the finalized chain");
	let (_, finalized) = net.heads("dave");
	let hashes: Vec<Value> = (0..4)
		.map(|validator| {
			let rpc = jsonrpsee::http_client::HttpClientBuilder::default()
				.build(format!("http://127.0.0.1:{}", net.rpc_port + validator as u16))
				.expect("an RPC client");
			let runtime = tokio::runtime::Runtime::new().expect("a runtime");
			runtime.block_on(async {
				use jsonrpsee::core::client::ClientT;
				rpc.request::<Value, _>("chain_getBlockHash", kms_e2e_tests::rpc_params![finalized])
					.await
					.expect("a block hash")
			})
		})
		.collect();
	assert!(hashes.iter().all(|hash| *hash == hashes[0]), "one chain: {hashes:?}");
}

#[test]
fn four_validators_on_the_libp2p_backend_peer_and_finalize() {
	phase("four validators on libp2p");
	let net = Testnet::new();
	// `start` returns once every validator is connected to the three others.
	net.script(&["start", "--fresh", "--no-build", "--libp2p"]);
	for name in ["alice", "bob", "charlie", "dave"] {
		assert_eq!(net.validator(name)["peers"], 3, "{name} sees the three others");
	}
	net.wait_heads("alice", "finality", Duration::from_secs(60), |_, finalized| finalized >= 5);
	let log = std::fs::read_to_string(net.dir.path().join("alice/node.log")).unwrap();
	assert!(
		log.contains("Running libp2p network backend"),
		"the libp2p backend: {}",
		&log[..log.len().min(2000)]
	);
}

fn capitalized(name: &str) -> String {
	let mut chars = name.chars();
	chars
		.next()
		.map(|first| first.to_uppercase().chain(chars).collect())
		.unwrap_or_default()
}

#[test]
fn a_validator_started_by_hand_needs_only_a_node_key() {
	phase("the README's commands for a validator by hand");
	let dir = tempfile::tempdir().expect("a temporary directory");
	let key = dir.path().join("node-key");
	let generated = Command::new(node_binary())
		.args(["key", "generate-node-key", "--file"])
		.arg(&key)
		.output()
		.expect("kms-node runs");
	assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
	let peer_id = String::from_utf8_lossy(&generated.stderr).trim().to_string();
	assert!(peer_id.starts_with("12D3"), "the peer id is printed: {peer_id:?}");
	// As the README writes it, on free ports.
	let mut node = kms_e2e_tests::Node::start(&[
		"--chain",
		"local",
		"--alice",
		"--tmp",
		"--node-key-file",
		key.to_str().expect("a UTF-8 path"),
	]);
	let runtime = tokio::runtime::Runtime::new().expect("a runtime");
	runtime.block_on(node.wait_for_rpc());
	let identity = runtime.block_on(node.call("system_localPeerId", kms_e2e_tests::rpc_params![]));
	assert_eq!(identity.as_str(), Some(peer_id.as_str()), "the node runs with the generated key");
}

/// A process's output and errors, in that order.
fn combined(output: &std::process::Output) -> String {
	format!(
		"{}{}",
		String::from_utf8_lossy(&output.stdout),
		String::from_utf8_lossy(&output.stderr)
	)
}

/// The `sh` blocks of `docs/operators.md`, in order, with each block's info-string tag (`sh
/// build` → `"build"`).
fn guide_blocks(guide: &str) -> Vec<(String, String)> {
	let mut blocks = Vec::new();
	let mut lines = guide.lines();
	while let Some(line) = lines.next() {
		let Some(info) = line.strip_prefix("```") else { continue };
		let text: Vec<&str> = lines.by_ref().take_while(|line| *line != "```").collect();
		let mut words = info.split_whitespace();
		if words.next() == Some("sh") {
			blocks.push((words.next().unwrap_or_default().to_string(), text.join("\n")));
		}
	}
	blocks
}

/// Stops the node the guide started, however the test ends (its network stops as a
/// [`Testnet`] does).
struct GuideNode {
	base: PathBuf,
}

impl Drop for GuideNode {
	fn drop(&mut self) {
		if let Ok(pid) = std::fs::read_to_string(self.base.join("node.pid")) {
			let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
		}
	}
}

#[test]
fn an_operator_follows_the_guide_word_for_word() {
	phase("docs/operators.md, every sh block in order");
	let root = kms_e2e_tests::workspace_root();
	let guide = std::fs::read_to_string(root.join("docs/operators.md")).expect("the guide");
	let blocks = guide_blocks(&guide);
	let (build, run): (Vec<_>, Vec<_>) = blocks.into_iter().partition(|(tag, _)| tag == "build");
	// The build is the one block not run: the test runs from the build already made.
	assert_eq!(build.len(), 1, "one build block");
	assert!(run.len() >= 10, "the guide's commands: {run:?}");
	assert!(run.iter().all(|(tag, _)| tag.is_empty()), "unknown block tags");
	let mut script = String::from("set -euo pipefail\n");
	for (_, text) in &run {
		script.push_str(text);
		script.push('\n');
	}
	let start = "scripts/local-testnet.sh start -n 1";
	assert_eq!(script.matches(start).count(), 1, "the guide starts a network to join");
	let script = script.replace(start, &format!("{start} --no-build"));
	// The service manager's unit runs the script the guide writes.
	assert!(guide.contains("ExecStart=/home/kms/kms-node/run-node.sh"));

	let home = tempfile::tempdir().expect("a temporary directory");
	let base = home.path().join("kms-node");
	let testnet = Testnet::new();
	let target = node_binary().parent().expect("<target>/release").to_owned();
	let path = format!("{}:{}", target.display(), std::env::var("PATH").unwrap_or_default());
	let _node = GuideNode { base: base.clone() };
	let output = testnet
		.env(Command::new("timeout").args(["600", "bash", "-c", &script]))
		.current_dir(root)
		.env("PATH", path)
		.env("HOME", home.path())
		.env("CARGO_TARGET_DIR", target.parent().expect("<target>"))
		.env("KMS_BASE", &base)
		.env("KMS_P2P_ADDR", format!("/ip4/127.0.0.1/tcp/{}", free_port()))
		.env("KMS_RPC_PORT", free_port().to_string())
		.env("KMS_PROMETHEUS_PORT", free_port().to_string())
		.env("KMS_PASSPHRASE", PASSPHRASE)
		.env_remove("KMS_URL")
		.env_remove("KMS_KEYRING")
		.output()
		.expect("bash runs");
	let text = combined(&output);
	let node_log = std::fs::read_to_string(base.join("node.log")).unwrap_or_default();
	let node_tail: Vec<&str> = node_log.lines().rev().take(30).collect();
	let node_tail = node_tail.into_iter().rev().collect::<Vec<_>>().join("\n");
	assert!(
		output.status.success(),
		"the guide's commands failed ({}):\n{text}\n--- the guide's node ---\n{node_tail}\n{}",
		output.status,
		testnet.logs()
	);
	// What the guide's own commands showed: the node serves, monitored, with its keys backed up.
	for shown in [
		"substrate_kms_local_nodes{chain=\"kms_local\"} 1",
		"substrate_kms_worker_heartbeats_sent_total",
		"kms/umbral-seeds",
		"keystore/",
		"\"specVersion\":",
	] {
		assert!(text.contains(shown), "the guide's output shows {shown:?}:\n{text}");
	}
}
