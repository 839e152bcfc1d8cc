//! The chains this node knows by name: `dev` and `local`. Any other chain comes from a chain
//! spec file.

use kms_primitives::currency::{DECIMALS, SYMBOL};
use kms_runtime::WASM_BINARY;
use sc_service::{ChainType, Properties};

/// A chain specification of KMS Chain (its genesis is built by the runtime's presets).
pub type ChainSpec = sc_service::GenericChainSpec;

/// Token and address format, as wallets (polkadot.js) read them from the chain spec.
fn properties() -> Properties {
	let mut properties = Properties::new();
	properties.insert("tokenSymbol".into(), SYMBOL.into());
	properties.insert("tokenDecimals".into(), DECIMALS.into());
	properties.insert("ss58Format".into(), 42.into());
	properties
}

fn wasm_binary() -> Result<&'static [u8], String> {
	WASM_BINARY.ok_or_else(|| {
		"The runtime's WebAssembly blob was not built (SKIP_WASM_BUILD was set?)".to_string()
	})
}

/// `--dev`: one authority (Alice), development accounts funded, Alice is sudo.
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm_binary()?, None)
		.with_name("KMS Chain Development")
		.with_id("kms_dev")
		.with_protocol_id("kms-dev")
		.with_chain_type(ChainType::Development)
		.with_genesis_config_preset_name(sp_genesis_builder::DEV_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}

/// `--chain local`: four authorities (Alice, Bob, Charlie, Dave).
pub fn local_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm_binary()?, None)
		.with_name("KMS Chain Local Testnet")
		.with_id("kms_local")
		.with_protocol_id("kms-local")
		.with_chain_type(ChainType::Local)
		.with_genesis_config_preset_name(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}
