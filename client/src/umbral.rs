//! The Umbral side of the protocol, in umbral-pre's standard serialization.
//!
//! An owner splits a delegation into kfrags ([`seal_kfrags`]): each kfrag is verified, then
//! sealed to its node's Umbral key with umbral `encrypt` (the envelope of `PROTOCOL.md`: the
//! capsule and the ciphertext of the kfrag's 310 standard bytes). A reader verifies the cfrags
//! the nodes put on chain and decrypts ([`open`]).

use crate::Error;
use kms_primitives::{staking::UmbralPublicKey, wire};
use umbral_pre::{DefaultSerialize, PublicKey, SecretKey, Signer, VerifiedCapsuleFrag};

use umbral_pre::Capsule;

/// A kfrag sealed to one node: what `create_policy` carries for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedKFrag {
	/// The capsule of the encryption to the node's key (105 bytes).
	pub capsule: Vec<u8>,
	/// The encrypted kfrag (350 bytes).
	pub ciphertext: Vec<u8>,
}

fn umbral<E: core::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> Error {
	move |error| Error::Umbral(format!("{what}: {error}"))
}

fn wire_error(what: &'static str) -> impl FnOnce(wire::WireError) -> Error {
	move |error| {
		let why = match error {
			wire::WireError::Length => "wrong length",
			wire::WireError::Malformed => "not a valid umbral-pre object",
			wire::WireError::NonCanonical => "not in umbral-pre's standard (canonical) form",
			wire::WireError::Degenerate => "a degenerate capsule (its points cancel out)",
		};
		Error::Umbral(format!("{what}: {why}"))
	}
}

/// Splits the delegation from `delegating` to `receiving` into `nodes.len()` kfrags, any
/// `threshold` of which re-encrypt, and seals kfrag `i` to `nodes[i]`. Every kfrag is checked
/// with `KeyFrag::verify` before it leaves.
pub fn seal_kfrags(
	delegating: &SecretKey,
	signer: &Signer,
	receiving: &PublicKey,
	threshold: usize,
	nodes: &[PublicKey],
) -> Result<Vec<SealedKFrag>, Error> {
	if threshold == 0 || threshold > nodes.len() {
		return Err(Error::Umbral(format!(
			"threshold {threshold} is not within 1..={} nodes",
			nodes.len()
		)));
	}
	let kfrags = umbral_pre::generate_kfrags(
		delegating,
		receiving,
		signer,
		threshold,
		nodes.len(),
		true,
		true,
	);
	let (verifying, delegating_pk) = (signer.verifying_key(), delegating.public_key());
	kfrags
		.iter()
		.zip(nodes)
		.map(|(kfrag, node)| {
			let kfrag = kfrag.clone().unverify();
			kfrag
				.clone()
				.verify(&verifying, Some(&delegating_pk), Some(receiving))
				.map_err(|(error, _)| Error::Umbral(format!("a fresh kfrag fails: {error}")))?;
			let bytes = kfrag.to_bytes().map_err(umbral("serialize a kfrag"))?;
			let (capsule, ciphertext) =
				umbral_pre::encrypt(node, &bytes).map_err(umbral("seal a kfrag"))?;
			Ok(SealedKFrag {
				capsule: capsule.to_bytes().map_err(umbral("serialize a capsule"))?.into_vec(),
				ciphertext: ciphertext.into_vec(),
			})
		})
		.collect()
}

/// Encrypts `plaintext` to `delegating`: the capsule (standard bytes) and the ciphertext.
pub fn encrypt(delegating: &PublicKey, plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Error> {
	let (capsule, ciphertext) =
		umbral_pre::encrypt(delegating, plaintext).map_err(umbral("encrypt"))?;
	Ok((
		capsule.to_bytes().map_err(umbral("serialize a capsule"))?.into_vec(),
		ciphertext.into_vec(),
	))
}

/// The public keys a cfrag is checked against.
#[derive(Clone, Debug)]
pub struct PolicyKeys {
	/// The owner's delegating key.
	pub delegating: PublicKey,
	/// The key that signed the kfrags.
	pub verifying: PublicKey,
	/// The reader's key.
	pub receiving: PublicKey,
}

/// Checks a cfrag of `capsule` with `CapsuleFrag::verify`.
pub fn verify_cfrag(
	capsule: &Capsule,
	cfrag: &[u8],
	keys: &PolicyKeys,
) -> Result<VerifiedCapsuleFrag, Error> {
	let cfrag = wire::decode_capsule_frag(cfrag).map_err(wire_error("a cfrag does not decode"))?;
	cfrag
		.verify(capsule, &keys.verifying, &keys.delegating, &keys.receiving)
		.map_err(|(error, _)| Error::Umbral(format!("a cfrag fails verification: {error}")))
}

/// Decrypts `ciphertext` with `receiving`'s secret and verified cfrags of its capsule.
pub fn open(
	receiving: &SecretKey,
	delegating: &PublicKey,
	capsule: &Capsule,
	cfrags: Vec<VerifiedCapsuleFrag>,
	ciphertext: &[u8],
) -> Result<Vec<u8>, Error> {
	umbral_pre::decrypt_reencrypted(receiving, delegating, capsule, cfrags, ciphertext)
		.map(|plaintext| plaintext.into_vec())
		.map_err(umbral("decrypt"))
}

/// Reads a capsule in the standard serialization, canonical form only (the chain's decoder,
/// [`wire::decode_capsule`]: umbral-pre alone accepts, and may panic on, other encodings).
pub fn capsule(bytes: &[u8]) -> Result<Capsule, Error> {
	wire::decode_capsule(bytes).map_err(wire_error("a capsule does not decode"))
}

/// Reads a public key in the standard serialization: 33 bytes, a compressed point (the
/// chain's own check, [`UmbralPublicKey::decompress`]).
pub fn public_key(bytes: &[u8]) -> Result<PublicKey, Error> {
	UmbralPublicKey::try_from(bytes)
		.ok()
		.and_then(|key| key.decompress())
		.ok_or_else(|| Error::Umbral("a public key is not a 33-byte compressed point".into()))
}

/// A public key's 33 compressed bytes (the chain's form, [`UmbralPublicKey::of`]).
pub fn compressed(key: &PublicKey) -> [u8; 33] {
	UmbralPublicKey::of(key).0
}

#[cfg(test)]
mod tests {
	use super::*;
	use kms_primitives::{staking::identity, wire};
	use umbral_pre::DefaultDeserialize;

	struct World {
		delegating: SecretKey,
		signer: Signer,
		receiving: SecretKey,
		nodes: Vec<SecretKey>,
	}

	fn world(nodes: usize) -> World {
		World {
			delegating: SecretKey::random(),
			signer: Signer::new(SecretKey::random()),
			receiving: SecretKey::random(),
			nodes: (0..nodes as u8)
				.map(|i| identity::secret(&[i; 32]).expect("a node secret"))
				.collect(),
		}
	}

	impl World {
		fn keys(&self) -> PolicyKeys {
			PolicyKeys {
				delegating: self.delegating.public_key(),
				verifying: self.signer.verifying_key(),
				receiving: self.receiving.public_key(),
			}
		}

		fn seal(&self, threshold: usize) -> Result<Vec<SealedKFrag>, Error> {
			let node_keys: Vec<_> = self.nodes.iter().map(SecretKey::public_key).collect();
			seal_kfrags(
				&self.delegating,
				&self.signer,
				&self.receiving.public_key(),
				threshold,
				&node_keys,
			)
		}
	}

	/// What a node does with its envelope, with the runtime's own decoder.
	fn node_opens(node: &SecretKey, sealed: &SealedKFrag, keys: &PolicyKeys) -> Vec<u8> {
		let capsule = wire::decode_capsule(&sealed.capsule).expect("the runtime reads it");
		let plain = umbral_pre::decrypt_original(node, &capsule, &sealed.ciphertext)
			.expect("sealed to this node");
		let kfrag = wire::decode_key_frag(&plain).expect("a standard kfrag");
		let kfrag = kfrag
			.verify(&keys.verifying, Some(&keys.delegating), Some(&keys.receiving))
			.expect("the kfrag verifies");
		let (capsule, _) = encrypt(&keys.delegating, b"probe").unwrap();
		let capsule = self::capsule(&capsule).unwrap();
		umbral_pre::reencrypt(&capsule, kfrag).unverify().to_bytes().unwrap().into_vec()
	}

	#[test]
	fn non_canonical_objects_are_errors_not_panics() {
		// A capsule `[E, V, s]` whose E is the identity (one byte) and V uncompressed (65
		// bytes): the standard length, and a panic inside umbral-pre's own deserialization.
		let (capsule_bytes, _) = encrypt(&SecretKey::random().public_key(), b"x").unwrap();
		let hostile = kms_fixtures::hostile::identity_and_uncompressed(&capsule_bytes);
		let error = std::panic::catch_unwind(|| capsule(&hostile))
			.expect("no panic")
			.expect_err("refused");
		assert!(error.to_string().contains("canonical"), "{error}");
		let world = world(1);
		let error = std::panic::catch_unwind(|| {
			verify_cfrag(&self::capsule(&capsule_bytes).unwrap(), &hostile, &world.keys())
		})
		.expect("no panic")
		.expect_err("refused");
		assert!(error.to_string().contains("wrong length"), "{error}");
	}

	#[test]
	fn sealed_kfrags_open_only_for_their_node_in_the_chain_format() {
		let world = world(3);
		let sealed = world.seal(2).expect("sealed");
		assert_eq!(sealed.len(), 3);
		for (node, envelope) in world.nodes.iter().zip(&sealed) {
			assert_eq!(envelope.capsule.len(), wire::CAPSULE_LEN);
			assert_eq!(envelope.ciphertext.len(), kms_primitives::policies::ENCRYPTED_KFRAG_LEN);
			assert_eq!(node_opens(node, envelope, &world.keys()).len(), wire::CFRAG_LEN);
		}
		// Node 0's key does not open node 1's envelope.
		let capsule = wire::decode_capsule(&sealed[1].capsule).unwrap();
		assert!(
			umbral_pre::decrypt_original(&world.nodes[0], &capsule, &sealed[1].ciphertext).is_err()
		);
	}

	#[test]
	fn thresholds_outside_one_to_n_are_refused() {
		let world = world(2);
		assert!(matches!(world.seal(0), Err(Error::Umbral(_))));
		assert!(matches!(world.seal(3), Err(Error::Umbral(_))));
		assert_eq!(world.seal(2).expect("M = N").len(), 2);
	}

	#[test]
	fn the_reader_decrypts_with_threshold_cfrags_and_refuses_wrong_ones() {
		let world = world(3);
		let keys = world.keys();
		let sealed = world.seal(2).expect("sealed");
		let (capsule_bytes, ciphertext) = encrypt(&keys.delegating, b"hello, Bob").unwrap();
		let capsule = capsule(&capsule_bytes).unwrap();
		let cfrags: Vec<Vec<u8>> = world
			.nodes
			.iter()
			.zip(&sealed)
			.map(|(node, envelope)| {
				let plain = umbral_pre::decrypt_original(
					node,
					&self::capsule(&envelope.capsule).unwrap(),
					&envelope.ciphertext,
				)
				.unwrap();
				let kfrag = umbral_pre::KeyFrag::from_bytes(&plain).unwrap().skip_verification();
				umbral_pre::reencrypt(&capsule, kfrag).unverify().to_bytes().unwrap().into_vec()
			})
			.collect();
		let verified: Vec<_> = cfrags
			.iter()
			.map(|c| verify_cfrag(&capsule, c, &keys).expect("verifies"))
			.collect();
		let plaintext =
			open(&world.receiving, &keys.delegating, &capsule, verified[1..].to_vec(), &ciphertext);
		assert_eq!(plaintext.expect("two of three open it"), b"hello, Bob");
		// One cfrag short of the threshold does not decrypt.
		assert!(open(
			&world.receiving,
			&keys.delegating,
			&capsule,
			verified[..1].to_vec(),
			&ciphertext
		)
		.is_err());
		// A cfrag of another capsule, or garbage, does not verify.
		let (other, _) = encrypt(&keys.delegating, b"other").unwrap();
		assert!(verify_cfrag(&self::capsule(&other).unwrap(), &cfrags[0], &keys).is_err());
		assert!(matches!(verify_cfrag(&capsule, &[0u8; 10], &keys), Err(Error::Umbral(_))));
	}

	#[test]
	fn public_keys_round_trip_compressed() {
		let key = SecretKey::random().public_key();
		assert_eq!(public_key(&compressed(&key)).unwrap(), key);
		assert!(public_key(&[0u8; 33]).is_err());
		// SEC1's tag 5 parses in umbral-pre but is not the standard serialization.
		let mut tagged = compressed(&key);
		tagged[0] = 5;
		assert!(public_key(&tagged).is_err());
		assert!(public_key(&compressed(&key)[..32]).is_err());
	}
}
