//! Harness for end-to-end tests: starts the real `kms-node` binary on free local ports and talks
//! to it over real JSON-RPC.
//!
//! The node binary is found next to the test executable (`<target>/<profile>/kms-node`), or at
//! `$KMS_NODE_BIN`. Build it first (the README's test command does, with `build_dev` of
//! `scripts/lib.sh`).
//!
//! The end-to-end tests are long scenarios; each marks its phases with [`phase`], and a failure
//! names the phase it happened in.

use jsonrpsee::{
	core::{client::ClientT, params::ArrayParams},
	http_client::{HttpClient, HttpClientBuilder},
};
use serde_json::Value;
use std::{
	fs::File,
	io::{Read, Seek, SeekFrom},
	net::TcpListener,
	path::{Path, PathBuf},
	process::{Child, Command, ExitStatus, Stdio},
	time::{Duration, Instant},
};

pub use jsonrpsee::rpc_params;
// Used by the tests in `tests/`, which link this crate's dependencies through it.
use sp_maybe_compressed_blob as _;
// The tests' own dependencies, linked into this crate's unit tests too.
#[cfg(test)]
use {codec as _, kms_client as _, subxt as _, subxt_signer as _, umbral_pre as _};

/// The phase of the scenario under way in this test process, reported if it fails.
static PHASE: std::sync::Mutex<&str> = std::sync::Mutex::new("start");

/// Enters the scenario phase `name`: prints it, and from now on a failure (a panic anywhere in
/// the process) says it happened in this phase.
pub fn phase(name: &'static str) {
	static REPORT_FAILURES: std::sync::Once = std::sync::Once::new();
	REPORT_FAILURES.call_once(|| {
		let report = std::panic::take_hook();
		std::panic::set_hook(Box::new(move |info| {
			let phase = *PHASE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
			eprintln!("\nfailed in phase: {phase}\n");
			report(info);
		}));
	});
	*PHASE.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = name;
	eprintln!("phase: {name}");
}

/// The storage key of `pallet.item` (a plain value, or the prefix of a map).
pub fn storage_prefix(pallet: &str, item: &str) -> Vec<u8> {
	let mut key = sp_crypto_hashing::twox_128(pallet.as_bytes()).to_vec();
	key.extend(sp_crypto_hashing::twox_128(item.as_bytes()));
	key
}

/// A map key part hashed with `Twox64Concat`.
pub fn twox_64_concat(data: &[u8]) -> Vec<u8> {
	let mut key = sp_crypto_hashing::twox_64(data).to_vec();
	key.extend(data);
	key
}

/// A map key part hashed with `Blake2_128Concat`.
pub fn blake2_128_concat(data: &[u8]) -> Vec<u8> {
	let mut key = sp_crypto_hashing::blake2_128(data).to_vec();
	key.extend(data);
	key
}

/// `0x`-prefixed hex, as JSON-RPC takes bytes.
pub fn to_hex(bytes: &[u8]) -> String {
	format!("0x{}", hex::encode(bytes))
}

/// Alice's account id (sr25519 public key of `//Alice`).
pub const ALICE: [u8; 32] =
	hex_literal("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d");

const fn hex_literal(text: &str) -> [u8; 32] {
	const fn digit(c: u8) -> u8 {
		match c {
			b'0'..=b'9' => c - b'0',
			b'a'..=b'f' => c - b'a' + 10,
			_ => panic!("not a lowercase hex digit"),
		}
	}
	let bytes = text.as_bytes();
	let mut out = [0u8; 32];
	let mut i = 0;
	while i < 32 {
		out[i] = digit(bytes[2 * i]) << 4 | digit(bytes[2 * i + 1]);
		i += 1;
	}
	out
}

/// The workspace's root directory: of the checkout the tests run from. Cargo and nextest set
/// `CARGO_MANIFEST_DIR` when they run a test; the value compiled in names the checkout the test
/// binary was built from, which a shared target directory may have built from another clone.
pub fn workspace_root() -> PathBuf {
	let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
		.map(PathBuf::from)
		.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
	manifest_dir.parent().map(Path::to_path_buf).unwrap_or(manifest_dir)
}

/// How long a node may take to answer its first RPC call (it compiles the runtime first).
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// The `kms-node` binary under test.
pub fn node_binary() -> PathBuf {
	if let Ok(path) = std::env::var("KMS_NODE_BIN") {
		return PathBuf::from(path);
	}
	// <target>/<profile>/deps/<test executable> → <target>/<profile>/kms-node
	let exe = std::env::current_exe().expect("the test executable has a path");
	let profile_dir = exe
		.parent()
		.and_then(|deps| deps.parent())
		.expect("the test executable lives in <target>/<profile>/deps");
	let binary = profile_dir.join("kms-node");
	assert!(
		binary.exists(),
		"{} does not exist: build it with `source scripts/lib.sh && build_dev` (the development \
		 features, `KMS_DEV_FEATURES`), or point KMS_NODE_BIN at a kms-node binary",
		binary.display()
	);
	binary
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0")
		.and_then(|listener| listener.local_addr())
		.map(|addr| addr.port())
		.expect("the OS hands out a free port")
}

/// Runs `kms-node` with `args` (a maintenance command) and returns its standard output;
/// panics with its standard error if it fails.
pub fn node_command(args: &[&str]) -> String {
	let output = Command::new(node_binary()).args(args).output().expect("kms-node runs");
	assert!(
		output.status.success(),
		"kms-node {} failed ({}): {}",
		args.join(" "),
		output.status,
		String::from_utf8_lossy(&output.stderr)
	);
	String::from_utf8(output.stdout).expect("kms-node prints UTF-8")
}

/// A new Umbral identity in `base`'s seed file, through the operator command.
pub fn generate_identity(base: &Path) -> [u8; 33] {
	let out = node_command(&[
		"umbral-key",
		"generate",
		"--chain",
		"dev",
		"--base-path",
		base.to_str().expect("a UTF-8 path"),
		"--json",
	]);
	let json: serde_json::Value = serde_json::from_str(&out).expect("JSON output");
	let key = json["public_key"].as_str().expect("a public key");
	hex::decode(key.trim_start_matches("0x"))
		.expect("hex")
		.try_into()
		.expect("33 bytes")
}

/// An operator key (`kms!`, sr25519) in `base`'s keystore, through `key insert`.
pub fn insert_operator_key(base: &Path, suri: &str) {
	node_command(&[
		"key",
		"insert",
		"--chain",
		"dev",
		"--base-path",
		base.to_str().expect("a UTF-8 path"),
		"--key-type",
		"kms!",
		"--scheme",
		"sr25519",
		"--suri",
		suri,
	]);
}

/// `GET /metrics` on the local port `port`: the body.
fn scrape(port: u16) -> std::io::Result<String> {
	use std::io::Write;
	let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
	stream.set_read_timeout(Some(Duration::from_secs(10)))?;
	stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
	let mut response = String::new();
	stream.read_to_string(&mut response)?;
	let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
	if !head.starts_with("HTTP/1.1 200") {
		return Err(std::io::Error::other(format!("the endpoint answered {head:?}")));
	}
	Ok(body.to_string())
}

/// Metrics in Prometheus's text format, as a node serves them.
pub struct Metrics(pub String);

impl Metrics {
	/// The value of the sample `name` whose labels include `labels`, if there is one.
	pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
		self.0.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
			let (sample, value) = line.rsplit_once(' ')?;
			let (sample_name, sample_labels) = match sample.split_once('{') {
				Some((sample_name, rest)) => (sample_name, rest.trim_end_matches('}')),
				None => (sample, ""),
			};
			let matches = sample_name == name
				&& labels.iter().all(|(label, wanted)| {
					sample_labels.split(',').any(|pair| pair == format!("{label}=\"{wanted}\""))
				});
			matches.then(|| value.parse().ok()).flatten()
		})
	}

	/// Whether the metric family `name` is served (any sample, with any suffix Prometheus gives
	/// histograms).
	pub fn has(&self, name: &str) -> bool {
		self.0.lines().any(|line| {
			let sample = line.split([' ', '{']).next().unwrap_or_default();
			!line.starts_with('#')
				&& [name.to_string(), format!("{name}_bucket"), format!("{name}_count")]
					.iter()
					.any(|wanted| sample == wanted)
		})
	}
}

/// A running `kms-node` process, stopped (SIGKILL) when dropped if it is still running.
pub struct Node {
	child: Option<Child>,
	log_path: PathBuf,
	rpc_port: u16,
	p2p_port: u16,
	prometheus_port: Option<u16>,
	// Holds the log file (and nothing else: the chain lives in `--tmp`).
	_dir: tempfile::TempDir,
}

impl Node {
	/// Starts `kms-node` with `args` plus free local ports for RPC and p2p, no telemetry, no
	/// Prometheus and no mDNS, logging to a file.
	pub fn start(args: &[&str]) -> Node {
		Node::start_with(args, false)
	}

	/// [`Node::start`], with the Prometheus endpoint on a free local port ([`Node::scrape`]).
	pub fn start_with_metrics(args: &[&str]) -> Node {
		Node::start_with(args, true)
	}

	fn start_with(args: &[&str], metrics: bool) -> Node {
		let dir = tempfile::tempdir().expect("a temporary directory");
		let log_path = dir.path().join("node.log");
		let log = File::create(&log_path).expect("the log file is writable");
		let rpc_port = free_port();
		let p2p_port = free_port();
		let prometheus_port = metrics.then(free_port);
		let prometheus = match prometheus_port {
			Some(port) => vec!["--prometheus-port".to_string(), port.to_string()],
			None => vec!["--no-prometheus".to_string()],
		};
		let child = Command::new(node_binary())
			.args(args)
			.args(["--rpc-port", &rpc_port.to_string()])
			.args(["--listen-addr", &format!("/ip4/127.0.0.1/tcp/{p2p_port}")])
			.args(["--no-telemetry", "--no-mdns"])
			.args(prometheus)
			.stdout(Stdio::null())
			.stderr(log)
			.spawn()
			.expect("kms-node starts");
		Node { child: Some(child), log_path, rpc_port, p2p_port, prometheus_port, _dir: dir }
	}

	/// What the node's Prometheus endpoint serves now (started with
	/// [`Node::start_with_metrics`]).
	pub fn scrape(&self) -> Metrics {
		let port = self.prometheus_port.unwrap_or_else(|| self.fail("started without metrics"));
		match scrape(port) {
			Ok(text) => Metrics(text),
			Err(e) => self.fail(format!("cannot scrape the metrics: {e}")),
		}
	}

	/// The node's process id, while it runs.
	pub fn pid(&self) -> Option<u32> {
		self.child.as_ref().map(Child::id)
	}

	/// A JSON-RPC client of this node.
	pub fn rpc(&self) -> HttpClient {
		HttpClientBuilder::default()
			.request_timeout(Duration::from_secs(30))
			.build(format!("http://127.0.0.1:{}", self.rpc_port))
			.expect("a valid RPC URL")
	}

	/// The node's WebSocket RPC address (the RPC server serves HTTP and WebSocket).
	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// The node's libp2p address, for another node's `--bootnodes`.
	pub async fn p2p_address(&self) -> String {
		let peer_id = self.call("system_localPeerId", rpc_params![]).await;
		let peer_id = peer_id.as_str().unwrap_or_else(|| self.fail("no local peer id"));
		format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer_id}", self.p2p_port)
	}

	/// The last `lines` lines of the node's log.
	pub fn log_tail(&self, lines: usize) -> String {
		let mut text = String::new();
		if let Ok(mut file) = File::open(&self.log_path) {
			let len = file.metadata().map(|m| m.len()).unwrap_or(0);
			let _ = file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
			let _ = file.read_to_string(&mut text);
		}
		let all: Vec<&str> = text.lines().collect();
		all[all.len().saturating_sub(lines)..].join("\n")
	}

	/// Panics with `message` and the tail of the node's log.
	pub fn fail(&self, message: impl std::fmt::Display) -> ! {
		panic!("{message}\n--- last lines of the kms-node log ---\n{}", self.log_tail(60))
	}

	/// Calls `method` and returns its result, or fails the test with the node's log.
	pub async fn call(&self, method: &str, params: ArrayParams) -> Value {
		match self.rpc().request::<Value, _>(method, params).await {
			Ok(value) => value,
			Err(e) => self.fail(format!("RPC {method} failed: {e}")),
		}
	}

	/// Waits until the node answers RPC calls; fails if it exits or does not come up in time.
	pub async fn wait_for_rpc(&mut self) {
		let deadline = Instant::now() + STARTUP_TIMEOUT;
		loop {
			if let Some(status) = self.try_exit_status() {
				self.fail(format!("kms-node exited during startup with {status}"));
			}
			if self.rpc().request::<Value, _>("system_health", rpc_params![]).await.is_ok() {
				return;
			}
			if Instant::now() > deadline {
				self.fail(format!("kms-node did not answer RPC within {STARTUP_TIMEOUT:?}"));
			}
			tokio::time::sleep(Duration::from_millis(250)).await;
		}
	}

	/// Polls `probe` every 500 ms until it returns `Some`, failing after `timeout`.
	pub async fn wait_until<T, F, Fut>(&mut self, what: &str, timeout: Duration, mut probe: F) -> T
	where
		F: FnMut(HttpClient) -> Fut,
		Fut: std::future::Future<Output = Option<T>>,
	{
		let deadline = Instant::now() + timeout;
		loop {
			if let Some(status) = self.try_exit_status() {
				self.fail(format!("kms-node exited with {status} while waiting for {what}"));
			}
			if let Some(value) = probe(self.rpc()).await {
				return value;
			}
			if Instant::now() > deadline {
				self.fail(format!("timed out after {timeout:?} waiting for {what}"));
			}
			tokio::time::sleep(Duration::from_millis(500)).await;
		}
	}

	fn try_exit_status(&mut self) -> Option<ExitStatus> {
		self.child.as_mut().and_then(|child| child.try_wait().ok().flatten())
	}

	/// Stops the node with SIGTERM, as an operator would, and returns its exit status.
	pub fn stop(mut self, timeout: Duration) -> ExitStatus {
		let mut child = self.child.take().expect("the node is running");
		let terminated = Command::new("kill")
			.args(["-TERM", &child.id().to_string()])
			.status()
			.map(|status| status.success())
			.unwrap_or(false);
		if !terminated {
			self.fail("could not send SIGTERM to kms-node");
		}
		let deadline = Instant::now() + timeout;
		loop {
			match child.try_wait() {
				Ok(Some(status)) => return status,
				Ok(None) if Instant::now() < deadline => {
					std::thread::sleep(Duration::from_millis(100))
				},
				_ => {
					let _ = child.kill();
					let _ = child.wait();
					self.fail(format!("kms-node did not stop within {timeout:?} of SIGTERM"));
				},
			}
		}
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		if let Some(mut child) = self.child.take() {
			let _ = child.kill();
			let _ = child.wait();
		}
	}
}

/// Parses a JSON-RPC hex quantity or byte string (`"0x…"`).
pub fn hex_bytes(value: &Value) -> Vec<u8> {
	let text = value.as_str().unwrap_or_else(|| panic!("expected a hex string, got {value}"));
	hex::decode(text.trim_start_matches("0x")).unwrap_or_else(|e| panic!("bad hex {text}: {e}"))
}

/// Parses a block number as the RPC returns it in headers (`"0x1a"`).
pub fn block_number(header: &Value) -> u64 {
	let number = header["number"].as_str().unwrap_or_else(|| panic!("no number in {header}"));
	u64::from_str_radix(number.trim_start_matches("0x"), 16)
		.unwrap_or_else(|e| panic!("bad block number {number}: {e}"))
}
