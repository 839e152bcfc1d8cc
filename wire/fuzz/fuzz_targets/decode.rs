//! Every decoder of `kms-wire` on arbitrary bytes (mutations of the real objects in `seeds/`):
//! none panics, and whatever one accepts writes back to exactly the bytes it read (one object,
//! one byte string). Run it with `scripts/fuzz.sh` (cargo-fuzz, on the stable toolchain).
#![no_main]

use kms_wire::{decode_capsule, decode_capsule_frag, decode_key_frag, to_vec};

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
	if let Ok(capsule) = decode_capsule(bytes) {
		assert_eq!(to_vec(&capsule).as_deref(), Ok(bytes), "a capsule that is not canonical");
	}
	if let Ok(kfrag) = decode_key_frag(bytes) {
		assert_eq!(to_vec(&kfrag).as_deref(), Ok(bytes), "a kfrag that is not canonical");
	}
	if let Ok(cfrag) = decode_capsule_frag(bytes) {
		assert_eq!(to_vec(&cfrag).as_deref(), Ok(bytes), "a cfrag that is not canonical");
	}
});
