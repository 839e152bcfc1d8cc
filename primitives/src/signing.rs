//! What operator keys (and owners' signers) sign.
//!
//! Every signature a node's operator key makes (heartbeats, acceptances and declines of
//! policies, responses to requests, cfrags served off chain, proofs of a node's keys), and an
//! owner's signature over a policy's terms, is over [`payload`]: a domain tag
//! naming what is signed, the genesis hash of the chain it is for, then the SCALE encoding of
//! the signed record. A signature for one purpose is therefore never valid for another, and one
//! made for a testnet never replays on another chain that shares the operator key.

use alloc::vec::Vec;
use codec::Encode;

/// Domain of a heartbeat.
pub const HEARTBEAT: &[u8] = b"kms-chain/heartbeat/v1";
/// Domain of a node's decision on a policy (acceptance or decline).
pub const DECISION: &[u8] = b"kms-chain/policy-decision/v1";
/// Domain of a response to a re-encryption request.
pub const RESPONSE: &[u8] = b"kms-chain/response/v1";
/// Domain of a cfrag served off chain (the fast path).
pub const SIGNED_CFRAG: &[u8] = b"kms-chain/signed-cfrag/v1";
/// Domain of a policy's terms, signed by its owner's signer (the verifying key) at creation.
pub const GRANT: &[u8] = b"kms-chain/grant/v1";
/// Domain of a node's keys proving their possession at registration and key rotation (signed
/// by the operator key and by the Umbral key alike).
pub const NODE_KEYS: &[u8] = b"kms-chain/node-keys/v1";

/// The bytes an operator key signs for `record` in `domain` on the chain whose genesis hash is
/// `genesis`: the SCALE encoding of `(domain, genesis, record)`.
pub fn payload(domain: &[u8], genesis: &impl Encode, record: &impl Encode) -> Vec<u8> {
	(domain, genesis, record).encode()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn domains_and_chains_give_different_payloads() {
		let genesis = [1u8; 32];
		let record = (7u32, [9u8; 4]);
		let base = payload(HEARTBEAT, &genesis, &record);
		assert_ne!(base, payload(RESPONSE, &genesis, &record));
		assert_ne!(base, payload(HEARTBEAT, &[2u8; 32], &record));
		assert_eq!(base, (HEARTBEAT, genesis, record).encode());
		// The domains are distinct and none is a prefix of another's encoding.
		let domains = [HEARTBEAT, DECISION, RESPONSE, SIGNED_CFRAG, NODE_KEYS, GRANT];
		for (i, a) in domains.iter().enumerate() {
			for b in &domains[i + 1..] {
				assert_ne!(a.encode(), b.encode());
			}
		}
	}
}
