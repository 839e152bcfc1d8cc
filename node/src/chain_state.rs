//! Reading the chain's state natively, with this node's runtime types: what the metrics task
//! and the fast path read of the state at a block. Values are decoded exactly; a value that does
//! not decode is a layout this node binary does not know (a runtime upgrade it has not
//! followed), never taken for something else.

use codec::Decode;
use kms_primitives::AccountId;
use kms_runtime::{opaque::Block, Runtime, RuntimeEvent};
use sc_client_api::StorageProvider;
use sp_core::storage::StorageKey;
use sp_keystore::KeystorePtr;

/// The events of a block, with the phase each was emitted in.
pub type EventRecords = Vec<frame_system::EventRecord<RuntimeEvent, kms_runtime::Hash>>;

/// The registered nodes whose operator key is in the keystore, at block `hash`.
pub fn local_nodes<C>(
	client: &C,
	keystore: &KeystorePtr,
	hash: kms_runtime::Hash,
) -> Result<Vec<AccountId>, Unread>
where
	C: StorageProvider<Block, sc_service::TFullBackend<Block>>,
{
	let mut nodes = Vec::new();
	for public in keystore.sr25519_public_keys(kms_primitives::staking::operator::KEY_TYPE) {
		let operator = AccountId::from(public);
		let key = pallet_kms_staking::Operators::<Runtime>::hashed_key_for(&operator);
		if let Some(node) = read::<AccountId, _>(client, hash, key)? {
			nodes.push(node);
		}
	}
	nodes.sort();
	nodes.dedup();
	Ok(nodes)
}

/// Why a value could not be read.
#[derive(Debug, PartialEq)]
pub enum Unread {
	/// The block's state is not available (pruned).
	StateGone,
	/// The bytes are not the value in this node's runtime types (all of them, exactly).
	Undecodable,
}

/// The value under `key` at block `hash` (`None` if there is none), decoded exactly: bytes left
/// over are a layout this node does not know, not a value.
pub fn read<T: Decode, C>(
	client: &C,
	hash: kms_runtime::Hash,
	key: Vec<u8>,
) -> Result<Option<T>, Unread>
where
	C: StorageProvider<Block, sc_service::TFullBackend<Block>>,
{
	use codec::DecodeAll;
	match client.storage(hash, &StorageKey(key)) {
		Err(_) => Err(Unread::StateGone),
		Ok(None) => Ok(None),
		Ok(Some(data)) => {
			T::decode_all(&mut &data.0[..]).map(Some).map_err(|_| Unread::Undecodable)
		},
	}
}

/// The events of block `hash`, with their phases.
pub fn read_event_records<C>(client: &C, hash: kms_runtime::Hash) -> Result<EventRecords, Unread>
where
	C: StorageProvider<Block, sc_service::TFullBackend<Block>>,
{
	use frame_support::traits::PalletInfoAccess;
	// `frame_system::Events` is not public: its key, as FRAME makes it.
	let pallet = <kms_runtime::System as PalletInfoAccess>::name();
	let key = frame_support::storage::storage_prefix(pallet.as_bytes(), b"Events").to_vec();
	Ok(read::<EventRecords, _>(client, hash, key)?.unwrap_or_default())
}

/// The events of block `hash`.
pub fn read_events<C>(client: &C, hash: kms_runtime::Hash) -> Result<Vec<RuntimeEvent>, Unread>
where
	C: StorageProvider<Block, sc_service::TFullBackend<Block>>,
{
	Ok(read_event_records(client, hash)?
		.into_iter()
		.map(|record| record.event)
		.collect())
}
