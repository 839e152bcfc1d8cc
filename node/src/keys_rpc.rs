//! `kms_proveNodeKeys`: the node proves that it holds its keys, for `Staking.registerNode` and
//! `Staking.rotateNodeKey`.
//!
//! The runtime only registers an operator account and an Umbral key that both signed, over this
//! chain's genesis hash, that they are the calling staker's ([`NodeKeys`]). Only the node holds
//! both secrets (the operator key in its keystore, the Umbral seed in
//! `kms/umbral-seeds`), so the node makes the proof and the staker submits it, as
//! `author_rotateKeysWithOwner` does for session keys. The method signs with the node's keys:
//! it is unsafe, served only where unsafe RPC methods are (by default, local connections).

use std::sync::Arc;

use jsonrpsee::{core::RpcResult, proc_macros::rpc, types::ErrorObjectOwned, Extensions};
use kms_primitives::staking::{identity, operator::KEY_TYPE, NodeKeys, UmbralPublicKey};
use kms_runtime::AccountId;
use sp_core::{sr25519, Bytes, H256};
use sp_keystore::KeystorePtr;
use sp_runtime::{traits::IdentifyAccount, MultiSigner};

/// JSON-RPC error code of a request the node cannot serve with the keys it holds.
const NO_SUCH_KEY: i32 = 5001;

/// The node's keys, as the RPC sees them.
#[rpc(server)]
pub trait NodeKeysApi {
	/// The proof, for `staker`, that this node holds the operator key `operator` and the Umbral
	/// key `umbral_key`: both keys' signatures over the `NodeKeys` record (domain
	/// `kms-chain/node-keys/v1`, this chain's genesis hash). Returns `{staker, operator,
	/// umbral_key, operator_signature, umbral_signature}`, the last two hex: the operator's
	/// sr25519 signature and umbral-pre's `Signature` (`r ‖ s`). `operator` may be left out
	/// when the keystore holds exactly one `kms!` key; `umbral_key` defaults to the newest
	/// identity (`kms-node umbral-key generate`). Unsafe.
	#[method(name = "kms_proveNodeKeys", with_extensions)]
	fn prove_node_keys(
		&self,
		staker: AccountId,
		operator: Option<AccountId>,
		umbral_key: Option<Bytes>,
	) -> RpcResult<serde_json::Value>;
}

/// What the proof is made from.
pub struct NodeKeysRpc {
	/// The node's keystore, holding the operator keys.
	pub keystore: KeystorePtr,
	/// The node's Umbral identity seeds, oldest first.
	pub identities: Arc<Vec<[u8; 32]>>,
	/// The chain's genesis hash.
	pub genesis: H256,
}

fn no_such_key(message: String) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(NO_SUCH_KEY, message, None::<()>)
}

fn operator_account(public: &sr25519::Public) -> AccountId {
	MultiSigner::from(*public).into_account()
}

impl NodeKeysRpc {
	/// The operator key to sign with: the one named, or the only one.
	fn operator(&self, wanted: Option<&AccountId>) -> Result<sr25519::Public, ErrorObjectOwned> {
		let keys = self.keystore.sr25519_public_keys(KEY_TYPE);
		if let Some(wanted) = wanted {
			return keys.into_iter().find(|key| operator_account(key) == *wanted).ok_or_else(
				|| no_such_key(format!("the keystore holds no operator key (kms!) of {wanted}")),
			);
		}
		match keys.as_slice() {
			[key] => Ok(*key),
			[] => Err(no_such_key(
				"the keystore holds no operator key: insert one with `kms-node key insert \
				 --key-type 'kms!' --scheme sr25519`"
					.into(),
			)),
			several => Err(no_such_key(format!(
				"the keystore holds {} operator keys ({}): name one",
				several.len(),
				several
					.iter()
					.map(|key| operator_account(key).to_string())
					.collect::<Vec<_>>()
					.join(", ")
			))),
		}
	}

	/// The identity to sign with: the one whose key is named, or the newest.
	fn identity(
		&self,
		wanted: Option<&[u8]>,
	) -> Result<([u8; 32], UmbralPublicKey), ErrorObjectOwned> {
		let mut held = self
			.identities
			.iter()
			.filter_map(|seed| identity::public_key(seed).map(|key| (*seed, key)));
		match wanted {
			Some(wanted) => held.find(|(_, key)| key.as_bytes() == wanted).ok_or_else(|| {
				no_such_key(format!(
					"the node holds no Umbral identity with key 0x{} (`kms-node umbral-key list` \
					 shows those it holds; new ones take effect when the node restarts)",
					hex::encode(wanted)
				))
			}),
			None => held.next_back().ok_or_else(|| {
				no_such_key(
					"the node holds no Umbral identity: `kms-node umbral-key generate`, \
				             then restart it"
						.into(),
				)
			}),
		}
	}
}

impl NodeKeysApiServer for NodeKeysRpc {
	fn prove_node_keys(
		&self,
		ext: &Extensions,
		staker: AccountId,
		operator: Option<AccountId>,
		umbral_key: Option<Bytes>,
	) -> RpcResult<serde_json::Value> {
		sc_rpc_api::check_if_safe(ext)?;
		let public = self.operator(operator.as_ref())?;
		let (seed, umbral_key) = self.identity(umbral_key.as_deref())?;
		let operator = operator_account(&public);
		let payload = NodeKeys { staker: staker.clone(), operator: operator.clone(), umbral_key }
			.signing_payload(&self.genesis);
		let operator_signature = self
			.keystore
			.sr25519_sign(KEY_TYPE, &public, &payload)
			.ok()
			.flatten()
			.ok_or_else(|| no_such_key(format!("the keystore cannot sign with {operator}")))?;
		let umbral_signature = identity::sign(&seed, &mut rand_core::OsRng, &payload)
			.ok_or_else(|| no_such_key("umbral-pre rejected an identity seed".into()))?;
		Ok(serde_json::json!({
			"staker": staker.to_string(),
			"operator": operator.to_string(),
			"umbral_key": format!("0x{}", hex::encode(umbral_key.0)),
			"operator_signature": format!("0x{}", hex::encode(operator_signature.0)),
			"umbral_signature": format!("0x{}", hex::encode(umbral_signature.0)),
		}))
	}
}
