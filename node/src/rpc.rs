//! The node's own JSON-RPC methods, on top of Substrate's standard ones (`chain_*`, `state_*`,
//! `author_*`, `system_*`): account nonces, transaction fees, the proof of the node's keys
//! ([`crate::keys_rpc`], unsafe) and the fast path ([`crate::fast_path`], safe).

use std::sync::Arc;

use jsonrpsee::RpcModule;
use kms_runtime::{opaque::Block, AccountId, Balance, Nonce};
use sp_block_builder::BlockBuilder;
use sp_blockchain::{Error as BlockChainError, HeaderMetadata};

/// What the RPC methods need.
pub struct FullDeps<C, P> {
	/// The client.
	pub client: Arc<C>,
	/// The transaction pool.
	pub pool: Arc<P>,
	/// The node's keys, for `kms_proveNodeKeys`.
	pub keys: crate::keys_rpc::NodeKeysRpc,
	/// The fast path, `kms_reencrypt`.
	pub fast_path: crate::fast_path::FastPath<C, P>,
}

/// The RPC methods of a full node.
pub fn create_full<C, P>(
	deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	C: crate::fast_path::Chain + HeaderMetadata<Block, Error = BlockChainError>,
	C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>
		+ pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>
		+ BlockBuilder<Block>,
	P: crate::fast_path::Pool,
{
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};

	let mut module = RpcModule::new(());
	let FullDeps { client, pool, keys, fast_path } = deps;

	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client).into_rpc())?;
	module.merge(crate::keys_rpc::NodeKeysApiServer::into_rpc(keys))?;
	module.merge(crate::fast_path::FastPathApiServer::into_rpc(fast_path))?;

	Ok(module)
}
