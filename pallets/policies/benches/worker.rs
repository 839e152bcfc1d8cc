//! The re-encryption worker's umbral-pre work, natively: what `worker_open_kfrag` and
//! `worker_reencrypt` measure in the WebAssembly runtime (`scripts/benchmark.sh policies`),
//! on the same code and material, to compare the two; and the parts of a capsule's cost, which
//! bound the fast path (`kms_reencrypt`) natively.
//!
//! With `scripts/lib.sh` sourced:
//! `cargo bench --locked --workspace --features "$KMS_DEV_FEATURES" --bench worker`

// A bench links every dependency of the package and uses few.
#![allow(unused_crate_dependencies)]

use pallet_kms_policies::offchain::WorkerMaterial;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use std::time::{Duration, Instant};

/// Runs `work` repeatedly for about `budget` and returns the mean time per run.
fn mean(budget: Duration, mut work: impl FnMut()) -> Duration {
	work(); // warm-up
	let (start, mut runs) = (Instant::now(), 0u32);
	while start.elapsed() < budget || runs < 10 {
		work();
		runs += 1;
	}
	start.elapsed() / runs
}

fn main() {
	const CAPSULES: u32 = 8;
	let material = WorkerMaterial::new([7; 32], CAPSULES).expect("benchmark material");
	let mut rng = ChaCha20Rng::from_seed([8; 32]);
	let kfrag = material.open(&mut rng).expect("the kfrag opens");
	let budget = Duration::from_secs(3);

	let open = mean(budget, || {
		material.open(&mut rng).expect("the kfrag opens");
	});
	let batch = mean(budget, || {
		material.reencrypt(&kfrag, &mut rng).expect("re-encryption");
	});
	let per_capsule = batch / CAPSULES;
	let capsule = kms_primitives::wire::decode_capsule(&material.capsules[0]).expect("a capsule");
	let reencrypt = mean(budget, || {
		umbral_pre::reencrypt_with_rng(&mut rng, &capsule, kfrag.clone());
	});
	let decode = mean(budget, || {
		kms_primitives::wire::decode_capsule(&material.capsules[0]).expect("a capsule");
	});
	let cfrag = umbral_pre::reencrypt_with_rng(&mut rng, &capsule, kfrag.clone()).unverify();
	let key = |key: &kms_primitives::staking::UmbralPublicKey| key.decompress().expect("a key");
	let (verifying, delegating, receiving) = (
		key(&material.keys.verifying),
		key(&material.keys.delegating),
		key(&material.keys.receiving),
	);
	let verify = mean(budget, || {
		cfrag
			.clone()
			.verify(&capsule, &verifying, &delegating, &receiving)
			.expect("it verifies");
	});
	println!("native (umbral-pre 0.11):");
	println!(
		"  check a kfrag (decrypt, decode, verify, self-test): {:>8.1} µs",
		open.as_secs_f64() * 1e6
	);
	println!(
		"  re-encrypt one capsule (decode, reencrypt, verify, encode): {:>8.1} µs = {:.0} re-encryptions/s",
		per_capsule.as_secs_f64() * 1e6,
		1.0 / per_capsule.as_secs_f64()
	);
	println!("  of which:");
	println!(
		"    decode the capsule (checks its signature): {:>8.1} µs",
		decode.as_secs_f64() * 1e6
	);
	println!("    umbral-pre `reencrypt`: {:>8.1} µs", reencrypt.as_secs_f64() * 1e6);
	println!("    `CapsuleFrag::verify`: {:>8.1} µs", verify.as_secs_f64() * 1e6);
}
