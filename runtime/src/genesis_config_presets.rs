//! Genesis presets: the initial state of the development chain (`--dev`, one authority) and of
//! the local testnet (`--chain local`, four authorities). Both fund the well-known development
//! accounts and make Alice the sudo key. Production chains write their own chain spec.

use crate::{
	configs::staking::{MaxLockPeriods, MinLockPeriods, PeriodLength},
	AccountId, Balance, BalancesConfig, RuntimeGenesisConfig, StakingConfig, SudoConfig, UNIT,
};
use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use kms_primitives::staking::dev::umbral_public_key;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_genesis_builder::{PresetId, DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

/// What each endowed development account starts with.
pub const ENDOWMENT: Balance = 1_000_000 * UNIT;

/// What each development node stakes at genesis.
pub const GENESIS_STAKE: Balance = 100_000 * UNIT;

/// How long development nodes are locked at genesis: 31 days (31 periods in production timing,
/// 66,960 of the fast runtime's 40-second periods), and never less than the minimum lock. So
/// grants of up to a month (`kms grant --expires 30d`) find eligible nodes from the first
/// block on.
pub fn genesis_lock_periods() -> kms_primitives::staking::Period {
	let periods = (31 * crate::DAYS).div_ceil(PeriodLength::get());
	periods.max(MinLockPeriods::get()).min(MaxLockPeriods::get())
}

/// A development node: its staker is also its operator (the keystore of a node started with
/// `--alice` holds Alice's operator key), its Umbral key derived from the same seed, locked
/// for [`genesis_lock_periods`] without wind-down: it keeps serving.
fn dev_node(
	who: Sr25519Keyring,
	seed: &str,
) -> (AccountId, AccountId, Vec<u8>, Balance, kms_primitives::staking::Period) {
	let account = who.to_account_id();
	let lock = genesis_lock_periods();
	(account.clone(), account, umbral_public_key(seed).as_bytes().to_vec(), GENESIS_STAKE, lock)
}

/// The session keys of a development authority, derived from its well-known seed (`//Alice` …):
/// sr25519 for Aura, ed25519 for GRANDPA.
fn authority_keys((aura, grandpa): (Sr25519Keyring, Ed25519Keyring)) -> (AuraId, GrandpaId) {
	(aura.public().into(), grandpa.public().into())
}

/// Where the development node serves the fast path: its default JSON-RPC address.
pub const DEV_ENDPOINT: &str = "ws://127.0.0.1:9944";

/// The genesis state of a test network with the given authorities, KMS nodes (with their
/// fast-path endpoints, if published), endowed accounts and sudo.
fn testnet_genesis(
	authorities: Vec<(AuraId, GrandpaId)>,
	nodes: Vec<(AccountId, AccountId, Vec<u8>, Balance, kms_primitives::staking::Period)>,
	endpoints: Vec<(AccountId, Vec<u8>)>,
	endowed_accounts: Vec<AccountId>,
	root: AccountId,
) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed_accounts.into_iter().map(|who| (who, ENDOWMENT)).collect::<Vec<_>>(),
		},
		aura: pallet_aura::GenesisConfig {
			authorities: authorities.iter().map(|(aura, _)| aura.clone()).collect::<Vec<_>>(),
		},
		grandpa: pallet_grandpa::GenesisConfig {
			authorities: authorities
				.iter()
				.map(|(_, grandpa)| (grandpa.clone(), 1))
				.collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(root) },
		staking: StakingConfig { stakers: nodes, endpoints },
	})
}

/// The well-known development accounts (Alice … Ferdie and their stashes).
fn dev_accounts() -> Vec<AccountId> {
	Sr25519Keyring::iter()
		.filter(|who| !matches!(who, Sr25519Keyring::One | Sr25519Keyring::Two))
		.map(|who| who.to_account_id())
		.collect()
}

/// `--dev`: Alice alone authors and finalizes.
pub fn development_config_genesis() -> Value {
	testnet_genesis(
		vec![authority_keys((Sr25519Keyring::Alice, Ed25519Keyring::Alice))],
		vec![dev_node(Sr25519Keyring::Alice, "//Alice")],
		vec![(Sr25519Keyring::Alice.to_account_id(), DEV_ENDPOINT.as_bytes().to_vec())],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// `--chain local`: Alice, Bob, Charlie and Dave author and finalize.
pub fn local_config_genesis() -> Value {
	testnet_genesis(
		[
			(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
			(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
			(Sr25519Keyring::Charlie, Ed25519Keyring::Charlie),
			(Sr25519Keyring::Dave, Ed25519Keyring::Dave),
		]
		.into_iter()
		.map(authority_keys)
		.collect(),
		[
			(Sr25519Keyring::Alice, "//Alice"),
			(Sr25519Keyring::Bob, "//Bob"),
			(Sr25519Keyring::Charlie, "//Charlie"),
			(Sr25519Keyring::Dave, "//Dave"),
		]
		.into_iter()
		.map(|(who, seed)| dev_node(who, seed))
		.collect(),
		// Four nodes on one machine listen on ports the chain spec cannot know: operators
		// publish theirs (`kms node endpoint`).
		vec![],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// The JSON patch of the preset `id`, if there is one.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		DEV_RUNTIME_PRESET => development_config_genesis(),
		LOCAL_TESTNET_RUNTIME_PRESET => local_config_genesis(),
		_ => return None,
	};
	serde_json::to_vec(&patch).ok()
}

/// The presets this runtime provides.
pub fn preset_names() -> Vec<PresetId> {
	vec![PresetId::from(DEV_RUNTIME_PRESET), PresetId::from(LOCAL_TESTNET_RUNTIME_PRESET)]
}
