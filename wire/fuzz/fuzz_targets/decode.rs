//! Every decoder of `kms-wire` on arbitrary bytes (mutations of the real objects in `seeds/`),
//! and whatever a decoder accepts then used the way the chain, the nodes and the clients use
//! it: a capsule opened (`decrypt_original`, where umbral-pre panics on a degenerate capsule),
//! a kfrag verified, a cfrag verified against a real capsule. Nothing may panic. (Accepted
//! objects also write back to the same bytes: the decoders check that themselves, and the
//! assertion here keeps them honest.) Run it with `scripts/fuzz.sh` (cargo-fuzz, on the stable
//! toolchain).
#![no_main]

use kms_wire::{decode_capsule, decode_capsule_frag, decode_key_frag, to_vec};
use umbral_pre::{PublicKey, SecretKey, SecretKeyFactory};

/// A fixed secret and its public key, to use accepted objects with.
fn key() -> (SecretKey, PublicKey) {
	let factory = SecretKeyFactory::from_secure_randomness(&[7u8; 32]).expect("a seed's size");
	let secret = factory.make_key(b"fuzz");
	let public = secret.public_key();
	(secret, public)
}

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
	let (secret, public) = key();
	if let Ok(capsule) = decode_capsule(bytes) {
		assert_eq!(to_vec(&capsule).as_deref(), Ok(bytes), "a capsule that is not canonical");
		let _ = umbral_pre::decrypt_original(&secret, &capsule, [0u8; 48]);
	}
	if let Ok(kfrag) = decode_key_frag(bytes) {
		assert_eq!(to_vec(&kfrag).as_deref(), Ok(bytes), "a kfrag that is not canonical");
		let _ = kfrag.verify(&public, Some(&public), Some(&public));
	}
	if let Ok(cfrag) = decode_capsule_frag(bytes) {
		assert_eq!(to_vec(&cfrag).as_deref(), Ok(bytes), "a cfrag that is not canonical");
		let capsule = decode_capsule(include_bytes!("../seeds/capsule.bin")).expect("the seed");
		let _ = cfrag.verify(&capsule, &public, &public, &public);
	}
});
