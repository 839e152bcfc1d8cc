//! For the test runtimes of the KMS pallets: the transaction types that let an offchain worker
//! submit operator-signed and `#[pallet::authorize]`d transactions into a test pool, and the
//! test accounts, signatures and heartbeats every mock uses.

use crate::{Config, Heartbeat, HeartbeatOf, Pallet};
use frame_system::offchain::SigningTypes;
use kms_primitives::staking::{dev, identity, NodeKeysProof, UmbralPublicKey};
use sp_core::{sr25519, Pair};
use sp_runtime::{
	traits::{IdentifyAccount, Verify},
	AccountId32, DispatchResult, MultiSignature, MultiSigner,
};

/// The sr25519 pair of a test account, from its name (`//Alice` style).
pub fn pair(name: &str) -> sr25519::Pair {
	sr25519::Pair::from_string(&format!("//{name}"), None).expect("valid dev seed")
}

/// The account of a test name.
pub fn account(name: &str) -> AccountId32 {
	MultiSigner::from(pair(name).public()).into_account()
}

/// A signature of `payload` by `name`'s key, as the runtime verifies it.
pub fn sign(name: &str, payload: &[u8]) -> MultiSignature {
	let signature = MultiSignature::from(pair(name).sign(payload));
	debug_assert!(signature.verify(payload, &account(name)));
	signature
}

/// The Umbral key of the development identity `name` (`dev::umbral_seed(name)`).
pub fn identity_key(name: &str) -> UmbralPublicKey {
	dev::umbral_public_key(name)
}

/// The proof a node makes that the test account `operator` and the development identity
/// `identity` are `staker`'s node keys on the test chain `T`.
pub fn keys_proof<T>(
	staker: &AccountId32,
	operator: &str,
	identity: &str,
) -> NodeKeysProof<MultiSignature>
where
	T: Config + frame_system::Config<AccountId = AccountId32>,
{
	use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
	let seed = dev::umbral_seed(identity);
	let payload =
		crate::node_keys_payload::<T>(staker, &account(operator), &identity_key(identity));
	NodeKeysProof {
		operator: sign(operator, &payload),
		umbral: identity::sign(&seed, &mut ChaCha20Rng::from_seed(seed), &payload)
			.expect("a development seed makes a key"),
	}
}

/// `node` rotates its key to the development identity `identity`, proven by its operator
/// `<node>-op` and the identity.
pub fn rotate_key<T>(node: &str, identity: &str) -> DispatchResult
where
	T: Config
		+ frame_system::Config<AccountId = AccountId32>
		+ SigningTypes<Public = MultiSigner, Signature = MultiSignature>,
{
	let proof = keys_proof::<T>(&account(node), &format!("{node}-op"), identity);
	Pallet::<T>::rotate_node_key(
		frame_system::RawOrigin::Signed(account(node)).into(),
		identity_key(identity),
		proof,
	)
}

/// `node`'s heartbeat for the current period, signed by its operator `<node>-op` and sent as
/// the authorized call the block builder would include.
pub fn heartbeat<T>(node: &str) -> DispatchResult
where
	T: Config
		+ frame_system::Config<AccountId = AccountId32>
		+ SigningTypes<Public = MultiSigner, Signature = MultiSignature>,
{
	let operator = format!("{node}-op");
	let heartbeat: HeartbeatOf<T> = Heartbeat {
		node: account(node),
		period: Pallet::<T>::current_period(),
		public: MultiSigner::from(pair(&operator).public()),
	};
	let signature = sign(&operator, &crate::heartbeat_payload::<T>(&heartbeat));
	Pallet::<T>::heartbeat(frame_system::RawOrigin::Authorized.into(), heartbeat, signature)
}

/// Declares `TxExtension` (`AuthorizeCall`) and `Extrinsic` (`TestXt` of `RuntimeCall`) for the
/// test runtime `$runtime`, and implements on it the offchain traits every KMS pallet's worker
/// needs: `SigningTypes` (sr25519 `MultiSigner`/`MultiSignature`, as the operator keys),
/// `CreateTransactionBase`, `CreateTransaction` and `CreateAuthorizedTransaction`.
///
/// ```ignore
/// pallet_kms_staking::impl_test_transactions!(Test);
/// type Block = sp_runtime::generic::Block<Header, Extrinsic>;
/// ```
#[macro_export]
macro_rules! impl_test_transactions {
	($runtime:ident) => {
		type TxExtension = $crate::testing::__private::frame_system::AuthorizeCall<$runtime>;
		/// The test runtime's extrinsic, as it reaches the test transaction pool.
		pub type Extrinsic =
			$crate::testing::__private::sp_runtime::testing::TestXt<RuntimeCall, TxExtension>;

		impl $crate::testing::__private::frame_system::offchain::SigningTypes for $runtime {
			type Public = $crate::testing::__private::sp_runtime::MultiSigner;
			type Signature = $crate::testing::__private::sp_runtime::MultiSignature;
		}

		impl<LocalCall>
			$crate::testing::__private::frame_system::offchain::CreateTransactionBase<LocalCall>
			for $runtime
		where
			RuntimeCall: From<LocalCall>,
		{
			type RuntimeCall = RuntimeCall;
			type Extrinsic = Extrinsic;
		}

		impl<LocalCall>
			$crate::testing::__private::frame_system::offchain::CreateTransaction<LocalCall>
			for $runtime
		where
			RuntimeCall: From<LocalCall>,
		{
			type Extension = TxExtension;
			fn create_transaction(call: RuntimeCall, extension: TxExtension) -> Extrinsic {
				Extrinsic::new_transaction(call, extension)
			}
		}

		impl<LocalCall>
			$crate::testing::__private::frame_system::offchain::CreateAuthorizedTransaction<
				LocalCall,
			> for $runtime
		where
			RuntimeCall: From<LocalCall>,
		{
			fn create_extension() -> TxExtension {
				TxExtension::new()
			}
		}
	};
}

/// The events of one pallet (its event type `E`, converted from the runtime's) deposited since
/// the previous call for that pallet, in order: tests assert exactly what an action caused, not
/// only the last event. Where the count stands is kept in the test's own storage (an unhashed
/// key per event type: how many records were seen and the hash of the last), so tests never
/// share it; when the events were cleared since (that record is gone), it counts from the start
/// again.
pub fn events_since_last_call<T, E>() -> Vec<E>
where
	T: frame_system::Config,
	T::RuntimeEvent: TryInto<E>,
{
	use codec::Encode;
	use frame_support::storage::unhashed;
	use sp_runtime::traits::{BlakeTwo256, Hash};
	let key =
		[b":kms-test:events-seen:".as_slice(), core::any::type_name::<E>().as_bytes()].concat();
	let records = frame_system::Pallet::<T>::events();
	let hash_of =
		|index: usize| records.get(index).map(|record| BlakeTwo256::hash(&record.encode()).0);
	let from = match unhashed::get::<(u32, [u8; 32])>(&key) {
		Some((seen, last)) if seen > 0 && hash_of(seen as usize - 1) == Some(last) => seen as usize,
		_ => 0,
	};
	if let Some(last) = records.len().checked_sub(1).and_then(hash_of) {
		unhashed::put(&key, &(records.len() as u32, last));
	}
	records
		.into_iter()
		.skip(from)
		.filter_map(|record| record.event.try_into().ok())
		.collect()
}

/// The paths [`impl_test_transactions`] expands to, whatever the caller names its dependencies.
#[doc(hidden)]
pub mod __private {
	pub use frame_system;
	pub use sp_runtime;
}
