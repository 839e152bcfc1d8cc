//! The node's services: client and database, import queue (Aura + GRANDPA), transaction pool,
//! networking, RPC, offchain workers, block authoring and finality voting.

use futures::FutureExt;
use kms_runtime::{apis::RuntimeApi, opaque::Block};
use sc_client_api::{Backend, BlockBackend};
use sc_consensus_aura::{ImportQueueParams, SlotProportion, StartAuraParams};
use sc_consensus_grandpa::SharedVoterState;
use sc_service::{error::Error as ServiceError, Configuration, TaskManager, WarpSyncConfig};
use sc_telemetry::{Telemetry, TelemetryWorker};
use sc_transaction_pool_api::OffchainTransactionPoolFactory;
use sp_consensus_aura::sr25519::AuthorityPair as AuraPair;
use sp_keystore::Keystore;
use std::{sync::Arc, time::Duration};

/// The host functions the runtime's WebAssembly blob may import: Substrate's, and those of
/// FRAME's benchmarks when the runtime is built with them (the development and test builds are:
/// its blob would not instantiate without them).
#[cfg(not(feature = "runtime-benchmarks"))]
type HostFunctions = sp_io::SubstrateHostFunctions;
#[cfg(feature = "runtime-benchmarks")]
type HostFunctions =
	(sp_io::SubstrateHostFunctions, frame_benchmarking::benchmarking::HostFunctions);

/// The client: executes the runtime's WebAssembly blob with [`HostFunctions`].
pub(crate) type FullClient =
	sc_service::TFullClient<Block, RuntimeApi, sc_executor::WasmExecutor<HostFunctions>>;
type FullBackend = sc_service::TFullBackend<Block>;
type FullSelectChain = sc_consensus::LongestChain<FullBackend, Block>;

/// Every this many blocks a GRANDPA justification is stored, so that light clients and warp sync
/// can prove finality.
const GRANDPA_JUSTIFICATION_PERIOD: u32 = 512;

/// The parts of a node shared by running it and by the maintenance commands.
pub type Service = sc_service::PartialComponents<
	FullClient,
	FullBackend,
	FullSelectChain,
	sc_consensus::DefaultImportQueue<Block>,
	sc_transaction_pool::TransactionPoolHandle<Block, FullClient>,
	(
		sc_consensus_grandpa::GrandpaBlockImport<FullBackend, Block, FullClient, FullSelectChain>,
		sc_consensus_grandpa::LinkHalf<Block, FullClient, FullSelectChain>,
		Option<Telemetry>,
	),
>;

/// Aura's inherent data for a block: the timestamp and the slot it falls in.
fn aura_inherent_data(
	slot_duration: sp_consensus_aura::SlotDuration,
) -> (sp_consensus_aura::inherents::InherentDataProvider, sp_timestamp::InherentDataProvider) {
	let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
	let slot = sp_consensus_aura::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
		*timestamp,
		slot_duration,
	);
	(slot, timestamp)
}

/// Builds the client, backend, import queue and transaction pool.
pub fn new_partial(config: &Configuration) -> Result<Service, ServiceError> {
	let telemetry = config
		.telemetry_endpoints
		.clone()
		.filter(|x| !x.is_empty())
		.map(|endpoints| -> Result<_, sc_telemetry::Error> {
			let worker = TelemetryWorker::new(16)?;
			let telemetry = worker.handle().new_telemetry(endpoints);
			Ok((worker, telemetry))
		})
		.transpose()?;

	let executor = sc_service::new_wasm_executor::<HostFunctions>(&config.executor);
	let (client, backend, keystore_container, task_manager) =
		sc_service::new_full_parts::<Block, RuntimeApi, _>(
			config,
			telemetry.as_ref().map(|(_, telemetry)| telemetry.handle()),
			executor,
			Vec::new(),
		)?;
	let client = Arc::new(client);

	let telemetry = telemetry.map(|(worker, telemetry)| {
		task_manager.spawn_handle().spawn("telemetry", None, worker.run());
		telemetry
	});

	let select_chain = sc_consensus::LongestChain::new(backend.clone());

	let transaction_pool = Arc::from(
		sc_transaction_pool::Builder::new(
			task_manager.spawn_essential_handle(),
			client.clone(),
			config.role.is_authority().into(),
		)
		.with_options(config.transaction_pool.clone())
		.with_prometheus(config.prometheus_registry())
		.build(),
	);

	let (grandpa_block_import, grandpa_link) = sc_consensus_grandpa::block_import(
		client.clone(),
		GRANDPA_JUSTIFICATION_PERIOD,
		&client,
		select_chain.clone(),
		telemetry.as_ref().map(|x| x.handle()),
	)?;

	let cidp_client = client.clone();
	let import_queue =
		sc_consensus_aura::import_queue::<AuraPair, _, _, _, _, _>(ImportQueueParams {
			block_import: grandpa_block_import.clone(),
			justification_import: Some(Box::new(grandpa_block_import.clone())),
			client: client.clone(),
			create_inherent_data_providers: move |parent_hash, _| {
				let cidp_client = cidp_client.clone();
				async move {
					let slot_duration = sc_consensus_aura::standalone::slot_duration_at(
						&*cidp_client,
						parent_hash,
					)?;
					Ok(aura_inherent_data(slot_duration))
				}
			},
			spawner: &task_manager.spawn_essential_handle(),
			registry: config.prometheus_registry(),
			check_for_equivocation: Default::default(),
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			compatibility_mode: Default::default(),
		})?;

	Ok(sc_service::PartialComponents {
		client,
		backend,
		task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (grandpa_block_import, grandpa_link, telemetry),
	})
}

/// Builds and starts a full node: networking, RPC, offchain workers and, for an authority,
/// Aura authoring and the GRANDPA voter.
pub fn new_full<
	N: sc_network::NetworkBackend<Block, <Block as sp_runtime::traits::Block>::Hash>,
>(
	config: Configuration,
	fast_path_limits: crate::fast_path::Limits,
) -> Result<TaskManager, ServiceError> {
	let sc_service::PartialComponents {
		client,
		backend,
		mut task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (block_import, grandpa_link, mut telemetry),
	} = new_partial(&config)?;

	// The operator's Umbral identities (`kms-node umbral-key generate`), for the worker.
	let seeds_path =
		crate::umbral_key::seeds_path(&config.base_path.config_dir(config.chain_spec.id()));
	let mut seeds = crate::umbral_key::read_seeds(&seeds_path).map_err(ServiceError::Other)?;
	if let Some(mut storage) = backend.offchain_storage() {
		for seed in &seeds {
			provision_umbral_seed(&mut storage, *seed);
		}
	}

	// Development chains serve out of the box: a node started with `--dev` or `--alice` (and
	// friends) gets the operator key of that well-known seed, as it gets its session keys.
	if let Some(seed) = config.dev_key_seed.as_deref() {
		keystore_container
			.keystore()
			.sr25519_generate_new(kms_primitives::staking::operator::KEY_TYPE, Some(seed))
			.map_err(|e| ServiceError::Other(format!("cannot insert the operator key: {e}")))?;
		// And its Umbral identity, from the same seed: the key the genesis registers for it.
		let dev_seed = kms_primitives::staking::dev::umbral_seed(seed);
		if let Some(mut storage) = backend.offchain_storage() {
			provision_umbral_seed(&mut storage, dev_seed);
		}
		// The oldest identity: generated ones come after it.
		seeds.insert(0, dev_seed);
	}
	// The offchain database now holds the seeds: as private as the seed file.
	if !seeds.is_empty() {
		if let Some(path) = config.database.path() {
			crate::umbral_key::make_private(path).map_err(ServiceError::Other)?;
		}
	}
	// What `kms_proveNodeKeys` signs with.
	let identities = Arc::new(seeds);

	let mut net_config = sc_network::config::FullNetworkConfiguration::<
		Block,
		<Block as sp_runtime::traits::Block>::Hash,
		N,
	>::new(&config.network, config.prometheus_registry().cloned());
	let metrics = N::register_notification_metrics(config.prometheus_registry());

	let peer_store_handle = net_config.peer_store_handle();
	let genesis_hash = client
		.block_hash(0)?
		.ok_or_else(|| ServiceError::Other("the database has no genesis block".into()))?;
	let grandpa_protocol_name =
		sc_consensus_grandpa::protocol_standard_name(&genesis_hash, &config.chain_spec);
	let (grandpa_protocol_config, grandpa_notification_service) =
		sc_consensus_grandpa::grandpa_peers_set_config::<_, N>(
			grandpa_protocol_name.clone(),
			metrics.clone(),
			peer_store_handle,
		);
	net_config.add_notification_protocol(grandpa_protocol_config);

	let warp_sync = Arc::new(sc_consensus_grandpa::warp_proof::NetworkProvider::new(
		backend.clone(),
		grandpa_link.shared_authority_set().clone(),
		Vec::default(),
	));

	let (network, system_rpc_tx, tx_handler_controller, sync_service, _bitswap) =
		sc_service::build_network(sc_service::BuildNetworkParams {
			config: &config,
			net_config,
			client: client.clone(),
			transaction_pool: transaction_pool.clone(),
			spawn_handle: task_manager.spawn_handle(),
			spawn_essential_handle: task_manager.spawn_essential_handle(),
			import_queue,
			block_announce_validator_builder: None,
			warp_sync_config: Some(WarpSyncConfig::WithProvider(warp_sync)),
			block_relay: None,
			metrics,
			gap_sync_body_policy: None,
		})?;

	if config.offchain_worker.enabled {
		let offchain_workers =
			sc_offchain::OffchainWorkers::new(sc_offchain::OffchainWorkerOptions {
				runtime_api_provider: client.clone(),
				is_validator: config.role.is_authority(),
				keystore: Some(keystore_container.keystore()),
				offchain_db: backend.offchain_storage(),
				transaction_pool: Some(OffchainTransactionPoolFactory::new(
					transaction_pool.clone(),
				)),
				network_provider: Arc::new(network.clone()),
				enable_http_requests: true,
				custom_extensions: |_| vec![],
			})?;
		task_manager.spawn_handle().spawn(
			"offchain-workers-runner",
			"offchain-worker",
			offchain_workers.run(client.clone(), task_manager.spawn_handle()).boxed(),
		);
	}

	let role = config.role;
	let force_authoring = config.force_authoring;
	let name = config.network.node_name.clone();
	let enable_grandpa = !config.disable_grandpa;
	let prometheus_registry = config.prometheus_registry().cloned();

	if let Some(registry) = prometheus_registry.as_ref() {
		crate::metrics::start(
			registry,
			&task_manager.spawn_handle(),
			client.clone(),
			keystore_container.keystore(),
			backend.offchain_storage(),
		)
		.map_err(|e| ServiceError::Other(format!("cannot register the KMS metrics: {e}")))?;
	}

	let rpc_extensions_builder = {
		let client = client.clone();
		let pool = transaction_pool.clone();
		let keystore = keystore_container.keystore();
		let genesis = sp_blockchain::HeaderBackend::info(&*client).genesis_hash;
		let mut fast_path = crate::fast_path::FastPath::new(
			client.clone(),
			pool.clone(),
			keystore_container.local_keystore(),
			&identities,
			genesis,
			fast_path_limits,
			tampers(backend.offchain_storage()),
		);
		if let Some(registry) = prometheus_registry.as_ref() {
			fast_path = fast_path.with_metrics(registry).map_err(|e| {
				ServiceError::Other(format!("cannot register the fast path's metrics: {e}"))
			})?;
		}

		Box::new(move |_| {
			let keys = crate::keys_rpc::NodeKeysRpc {
				keystore: keystore.clone(),
				identities: identities.clone(),
				genesis,
			};
			let deps = crate::rpc::FullDeps {
				client: client.clone(),
				pool: pool.clone(),
				keys,
				fast_path: fast_path.clone(),
			};
			crate::rpc::create_full(deps).map_err(Into::into)
		})
	};

	let _rpc_handlers = sc_service::spawn_tasks(sc_service::SpawnTasksParams {
		network: Arc::new(network.clone()),
		client: client.clone(),
		keystore: keystore_container.keystore(),
		task_manager: &mut task_manager,
		transaction_pool: transaction_pool.clone(),
		rpc_builder: rpc_extensions_builder,
		backend,
		system_rpc_tx,
		tx_handler_controller,
		sync_service: sync_service.clone(),
		config,
		telemetry: telemetry.as_mut(),
		tracing_execute_block: None,
	})?;

	if role.is_authority() {
		let proposer_factory = sc_basic_authorship::ProposerFactory::new(
			task_manager.spawn_handle(),
			client.clone(),
			transaction_pool.clone(),
			prometheus_registry.as_ref(),
			telemetry.as_ref().map(|x| x.handle()),
		);

		let slot_duration = sc_consensus_aura::slot_duration(&*client)?;

		let aura = sc_consensus_aura::start_aura::<AuraPair, _, _, _, _, _, _, _, _, _, _>(
			StartAuraParams {
				slot_duration,
				client,
				select_chain,
				block_import,
				proposer_factory,
				create_inherent_data_providers: move |_, ()| async move {
					Ok(aura_inherent_data(slot_duration))
				},
				force_authoring,
				backoff_authoring_blocks: Option::<()>::None,
				keystore: keystore_container.keystore(),
				sync_oracle: sync_service.clone(),
				justification_sync_link: sync_service.clone(),
				block_proposal_slot_portion: SlotProportion::new(2f32 / 3f32),
				max_block_proposal_slot_portion: None,
				telemetry: telemetry.as_ref().map(|x| x.handle()),
				compatibility_mode: Default::default(),
			},
		)?;

		// Authoring is essential: if it fails, the node stops.
		task_manager
			.spawn_essential_handle()
			.spawn_blocking("aura", Some("block-authoring"), aura);
	}

	if enable_grandpa {
		// Only an authority votes, and so only an authority needs the keystore.
		let keystore = if role.is_authority() { Some(keystore_container.keystore()) } else { None };

		let grandpa_config = sc_consensus_grandpa::Config {
			gossip_duration: Duration::from_millis(333),
			justification_generation_period: GRANDPA_JUSTIFICATION_PERIOD,
			name: Some(name),
			observer_enabled: false,
			keystore,
			local_role: role,
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			protocol_name: grandpa_protocol_name,
		};

		// Every node runs the full voter: it provides better guarantees of block and vote data
		// availability than the (little tested) observer.
		let grandpa_params = sc_consensus_grandpa::GrandpaParams {
			config: grandpa_config,
			link: grandpa_link,
			network,
			sync: Arc::new(sync_service),
			notification_service: grandpa_notification_service,
			voting_rule: sc_consensus_grandpa::VotingRulesBuilder::default().build(),
			prometheus_registry,
			shared_voter_state: SharedVoterState::empty(),
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			offchain_tx_pool_factory: OffchainTransactionPoolFactory::new(transaction_pool),
		};

		// The voter is essential: if it fails, the node stops.
		task_manager.spawn_essential_handle().spawn_blocking(
			"grandpa-voter",
			None,
			sc_consensus_grandpa::run_grandpa_voter(grandpa_params)?,
		);
	}

	Ok(task_manager)
}

/// Whether a node corrupts its fast-path cfrags: with `test-tamper` (end-to-end tests only), the
/// nodes listed in offchain storage under `kms::test-tamper`, as for the worker; never otherwise.
#[cfg(feature = "test-tamper")]
fn tampers(
	storage: Option<impl sp_core::offchain::OffchainStorage + 'static>,
) -> crate::fast_path::Tampers {
	use codec::Decode;
	Arc::new(move |node| {
		let listed = storage.as_ref().and_then(|storage| {
			storage
				.get(sp_core::offchain::STORAGE_PREFIX, pallet_kms_policies::offchain::TAMPER_KEY)
		});
		listed
			.and_then(|bytes| Vec::<kms_primitives::AccountId>::decode(&mut &bytes[..]).ok())
			.is_some_and(|nodes| nodes.contains(node))
	})
}

/// Whether a node corrupts its fast-path cfrags: never, outside `test-tamper` builds.
#[cfg(not(feature = "test-tamper"))]
fn tampers<S>(_storage: Option<S>) -> crate::fast_path::Tampers {
	Arc::new(|_| false)
}

/// Adds `seed` to the node's Umbral identity seeds in its offchain storage (where the
/// re-encryption worker finds them), keeping those already there.
fn provision_umbral_seed(storage: &mut impl sp_core::offchain::OffchainStorage, seed: [u8; 32]) {
	use codec::{Decode, Encode};
	let (prefix, key) =
		(sp_core::offchain::STORAGE_PREFIX, kms_primitives::policies::UMBRAL_SEEDS_KEY);
	let mut seeds: Vec<[u8; 32]> = storage
		.get(prefix, key)
		.and_then(|stored| Decode::decode(&mut &stored[..]).ok())
		.unwrap_or_default();
	if !seeds.contains(&seed) {
		seeds.push(seed);
		storage.set(prefix, key, &seeds.encode());
	}
}
