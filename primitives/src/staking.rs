//! What the Staking pallet offers the other protocol pallets, and the operator's key.
//!
//! See `PROTOCOL.md`, "Periods and staking".

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// A protocol period: `block_number / PeriodLength`.
pub type Period = u32;

/// The version of a node's Umbral key: 0 at registration, one more at each rotation. Policies
/// record the version their kfrags were encrypted to.
pub type KeyVersion = u32;

/// Length of a compressed secp256k1 point (SEC1), as umbral-pre serializes a `PublicKey`.
pub const UMBRAL_PUBLIC_KEY_LEN: usize = 33;

/// An Umbral public key: the 33-byte compressed point that umbral-pre's
/// `PublicKey::to_compressed_bytes` (and its Python and JavaScript bindings) produce. Only
/// keys that decompress to a curve point are ever stored.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Debug,
)]
pub struct UmbralPublicKey(pub [u8; UMBRAL_PUBLIC_KEY_LEN]);

impl UmbralPublicKey {
	/// The key's bytes, as umbral-pre reads them.
	pub fn as_bytes(&self) -> &[u8] {
		&self.0
	}

	/// The key as umbral-pre's `PublicKey`, if it is a compressed point (tag 2 or 3; SEC1's
	/// "compact" tag 5 also parses but is not the standard serialization) that decompresses.
	/// The one place every pallet and the worker turn chain keys into curve points.
	pub fn decompress(&self) -> Option<umbral_pre::PublicKey> {
		if !matches!(self.0.first(), Some(0x02 | 0x03)) {
			return None;
		}
		umbral_pre::PublicKey::try_from_compressed_bytes(&self.0)
			.ok()
			.filter(|key| key.to_compressed_bytes()[..] == self.0[..])
	}

	/// The compressed form of umbral-pre's `PublicKey`.
	pub fn of(key: &umbral_pre::PublicKey) -> Self {
		let mut bytes = [0u8; UMBRAL_PUBLIC_KEY_LEN];
		for (to, from) in bytes.iter_mut().zip(key.to_compressed_bytes().iter()) {
			*to = *from;
		}
		Self(bytes)
	}
}

impl TryFrom<&[u8]> for UmbralPublicKey {
	type Error = ();

	/// Only the length is checked here; whether the bytes are a curve point is the pallet's
	/// check (it decompresses them with umbral-pre).
	fn try_from(bytes: &[u8]) -> Result<Self, ()> {
		<[u8; UMBRAL_PUBLIC_KEY_LEN]>::try_from(bytes).map(Self).map_err(|_| ())
	}
}

/// Length of an umbral-pre `Signature`: `r ‖ s`, big endian.
pub const UMBRAL_SIGNATURE_LEN: usize = 64;

/// A signature made with umbral-pre's `Signer` (ECDSA over secp256k1, SHA-256 of the message),
/// serialized as umbral-pre's `Signature::to_be_bytes` gives it.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub struct UmbralSignature(pub [u8; UMBRAL_SIGNATURE_LEN]);

impl UmbralSignature {
	/// Whether this is `key`'s signature over `message`. Scalars out of range, a high `s` and a
	/// key that does not decompress are all just `false`.
	pub fn verify(&self, key: &UmbralPublicKey, message: &[u8]) -> bool {
		let Some(key) = key.decompress() else { return false };
		umbral_pre::Signature::try_from_be_bytes(&self.0)
			.is_ok_and(|signature| signature.verify(&key, message))
	}

	/// The bytes of umbral-pre's `Signature`.
	pub fn of(signature: &umbral_pre::Signature) -> Self {
		let mut bytes = [0u8; UMBRAL_SIGNATURE_LEN];
		for (to, from) in bytes.iter_mut().zip(signature.to_be_bytes().iter()) {
			*to = *from;
		}
		Self(bytes)
	}
}

/// What a node's keys sign to prove they are held by whoever registers them: the staker they
/// will serve, the operator account and the Umbral key. The operator key and the Umbral key
/// both sign [`NodeKeys::signing_payload`] (domain [`NODE_KEYS`], bound to the genesis hash),
/// so keys cannot be registered by anyone but the staker their holder chose, on any other
/// chain.
///
/// [`NODE_KEYS`]: crate::signing::NODE_KEYS
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct NodeKeys<AccountId> {
	/// The staker whose node the keys will be.
	pub staker: AccountId,
	/// The operator account (the operator key's account).
	pub operator: AccountId,
	/// The Umbral key kfrags will be encrypted to.
	pub umbral_key: UmbralPublicKey,
}

impl<AccountId: Encode> NodeKeys<AccountId> {
	/// The bytes both keys sign on the chain whose genesis hash is `genesis`.
	pub fn signing_payload(&self, genesis: &impl Encode) -> alloc::vec::Vec<u8> {
		crate::signing::payload(crate::signing::NODE_KEYS, genesis, self)
	}
}

/// The proof that accompanies `register_node` and `rotate_node_key`: the operator key's and the
/// Umbral key's signatures over the same [`NodeKeys::signing_payload`]. A node makes it with
/// `kms_proveNodeKeys` (its RPC), from the keys it holds.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct NodeKeysProof<Signature> {
	/// The operator key's signature.
	pub operator: Signature,
	/// The Umbral key's signature (umbral-pre's `Signer`).
	pub umbral: UmbralSignature,
}

/// The longest endpoint a node may publish, in bytes.
pub const MAX_ENDPOINT_LEN: u32 = 128;

/// Where a node serves the fast path (`kms_reencrypt`, its public JSON-RPC): a URL with the
/// scheme `ws`, `wss`, `http` or `https`, in printable ASCII without spaces, at most
/// [`MAX_ENDPOINT_LEN`] bytes. Only [`Endpoint::parse`]d bytes are stored.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Endpoint(pub sp_runtime::BoundedVec<u8, sp_core::ConstU32<MAX_ENDPOINT_LEN>>);

/// The schemes an [`Endpoint`] may have, with their separator.
const ENDPOINT_SCHEMES: [&[u8]; 4] = [b"ws://", b"wss://", b"http://", b"https://"];

impl Endpoint {
	/// `bytes` as an endpoint, if they are one: a known scheme followed by at least one
	/// printable, non-space ASCII byte, and nothing longer than [`MAX_ENDPOINT_LEN`]. No more
	/// is checked: the chain cannot tell whether a host answers, and the clients that read an
	/// endpoint treat what it serves as hostile.
	pub fn parse(bytes: &[u8]) -> Option<Self> {
		let rest = ENDPOINT_SCHEMES.iter().find_map(|scheme| bytes.strip_prefix(*scheme))?;
		if rest.is_empty() || !bytes.iter().all(|byte| (0x21..=0x7e).contains(byte)) {
			return None;
		}
		sp_runtime::BoundedVec::try_from(bytes.to_vec()).ok().map(Self)
	}

	/// The endpoint's bytes.
	pub fn as_bytes(&self) -> &[u8] {
		&self.0
	}

	/// The endpoint as text (always ASCII).
	pub fn as_str(&self) -> &str {
		core::str::from_utf8(&self.0).unwrap_or_default()
	}
}

// The staking side of the protocol as the other pallets see it, in roles: each pallet asks for
// the roles it uses. A node is identified by its staker's account.

/// Protocol time: periods of `PeriodLength` blocks.
pub trait StakingPeriods<BlockNumber> {
	/// The current protocol period.
	fn current_period() -> Period;
	/// The period `block` falls in.
	fn period_of(block: BlockNumber) -> Period;
	/// The first block of `period`.
	fn period_start(period: Period) -> BlockNumber;
}

/// Who a node is: its operator, its Umbral keys and its fee floor.
pub trait NodeDirectory<AccountId, Balance> {
	/// The Umbral key of `node` at `version`, while it is kept.
	fn node_key(node: &AccountId, version: KeyVersion) -> Option<UmbralPublicKey>;
	/// The current key version of `node`.
	fn current_key_version(node: &AccountId) -> Option<KeyVersion>;
	/// The operator account that acts for `node`.
	fn operator_of(node: &AccountId) -> Option<AccountId>;
	/// The node `operator` acts for.
	fn node_of_operator(operator: &AccountId) -> Option<AccountId>;
	/// The node that holds (or held, while kept) the Umbral key `key`.
	fn node_of_key(key: &UmbralPublicKey) -> Option<AccountId>;
	/// The node's own minimum fee rate (per period).
	fn min_fee_rate(node: &AccountId) -> Option<Balance>;
}

/// Why a node may not be chosen for a new policy ([`NodeService::ineligibility`]).
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ineligibility {
	/// It is not a registered node.
	NotRegistered,
	/// Its active stake is below the minimum.
	StakeBelowMinimum,
	/// Its stake is locked through period `locked_until` only, before the policy's last period
	/// (its operator can extend the lock with `prolong`).
	LockTooShort {
		/// The last period its stake is locked through.
		locked_until: Period,
	},
	/// It did not heartbeat in this period or the last, or it missed a deadline: it may be
	/// offline.
	NotServing,
}

/// How nodes serve: their service per period, missed deadlines, and who may take new policies.
pub trait NodeService<AccountId, Balance> {
	/// Whether `node` was serving in `period`: it heartbeated and missed no request deadline.
	fn is_serving(node: &AccountId, period: Period) -> bool;
	/// Records that `node` let a request deadline in `period` pass without an answer.
	fn record_missed_deadline(node: &AccountId, period: Period);
	/// The last period through which `node`'s stake is guaranteed to stay locked.
	fn locked_until(node: &AccountId) -> Option<Period>;
	/// Why `node` may not be chosen for a new policy ending in `end_period`, if it may not: it
	/// must be registered, stake at least the minimum, have a lock covering `end_period`, and
	/// be serving.
	fn ineligibility(node: &AccountId, end_period: Period) -> Option<Ineligibility>;
	/// Whether `node` may be chosen for a new policy ending in `end_period`.
	fn is_eligible(node: &AccountId, end_period: Period) -> bool {
		Self::ineligibility(node, end_period).is_none()
	}
	/// Every node eligible for a policy ending in `end_period`, with its stake (the weight of
	/// stake-proportional sampling). Bounded by the pallet's maximum number of nodes.
	fn eligible_nodes(end_period: Period) -> alloc::vec::Vec<(AccountId, Balance)>;
}

/// Stakes: what a node has at stake, taking from it, adding to it.
pub trait StakeLedger<AccountId, Balance> {
	/// What slashing takes out of a stake, for the caller to route (challenger, treasury).
	type Credit;

	/// The active (bonded, not unbonding) stake of `node`; zero if none.
	fn stake_of(node: &AccountId) -> Balance;
	/// Everything `node` holds at stake, active and unbonding: what slashing can take, and
	/// what penalties cap on. Zero if none.
	fn held_stake(node: &AccountId) -> Balance;
	/// Slashes up to `amount` from `node`'s held stake; returns what was taken.
	fn slash(node: &AccountId, amount: Balance) -> Self::Credit;
	/// Adds `amount` of `staker`'s free balance to its active stake, under its current lock
	/// (what `bond_extra` does; used to restake rewards).
	fn bond_extra(staker: &AccountId, amount: Balance) -> sp_runtime::DispatchResult;
}

/// What benchmarks of other pallets need of the staking side: nodes set up without the
/// extrinsics (and their signatures) of a real registration.
#[cfg(feature = "runtime-benchmarks")]
pub trait StakingBenchmarks<AccountId> {
	/// Funds `node`, bonds ten times the minimum stake for the longest lock and registers it
	/// with `operator` and `key` (minimum fee rate zero).
	fn register_for_benchmark(node: &AccountId, operator: &AccountId, key: UmbralPublicKey);
	/// Records that `node` served in `period`.
	fn serve_for_benchmark(node: &AccountId, period: Period);
}

/// [`StakingBenchmarks`] in benchmark builds, nothing otherwise: a bound a pallet's `Config`
/// can carry in every build.
#[cfg(feature = "runtime-benchmarks")]
pub trait MaybeStakingBenchmarks<AccountId>: StakingBenchmarks<AccountId> {}
#[cfg(feature = "runtime-benchmarks")]
impl<AccountId, T: StakingBenchmarks<AccountId>> MaybeStakingBenchmarks<AccountId> for T {}
/// `StakingBenchmarks` in benchmark builds, nothing otherwise: a bound a pallet's `Config` can
/// carry in every build.
#[cfg(not(feature = "runtime-benchmarks"))]
pub trait MaybeStakingBenchmarks<AccountId> {}
#[cfg(not(feature = "runtime-benchmarks"))]
impl<AccountId, T> MaybeStakingBenchmarks<AccountId> for T {}

/// What the Staking pallet tells the rewards side about service as it happens, so that each
/// period's serving stake is known without a loop over stakers.
pub trait ServiceObserver<AccountId, Balance> {
	/// `node` heartbeated for `period` and serves in it so far, with `stake` active and
	/// `lock_periods` periods of lock remaining.
	fn served(node: &AccountId, period: Period, stake: Balance, lock_periods: Period);
	/// `node` missed a request deadline in `period`: it does not serve in it.
	fn missed(node: &AccountId, period: Period);
}

impl<AccountId, Balance> ServiceObserver<AccountId, Balance> for () {
	fn served(_: &AccountId, _: Period, _: Balance, _: Period) {}
	fn missed(_: &AccountId, _: Period) {}
}

/// What the Staking pallet asks the policy side before letting a node go or forget a key.
pub trait PolicyRegistry<AccountId> {
	/// Whether any active policy still has `node` among its nodes.
	fn has_active_policies(node: &AccountId) -> bool;
	/// Whether any active policy still uses `node`'s key of `version`.
	fn uses_key(node: &AccountId, version: KeyVersion) -> bool;
}

/// The operator's key: sr25519, key type `kms!`, kept in the node's keystore. The operator
/// account is this key's public key; heartbeats (and, later, responses) are signed with it.
pub mod operator {
	/// Key type of operator keys in the keystore (`author_insertKey` with `kms!`).
	pub const KEY_TYPE: sp_core::crypto::KeyTypeId = sp_core::crypto::KeyTypeId(*b"kms!");

	use sp_application_crypto::sr25519;
	sp_application_crypto::app_crypto!(sr25519, KEY_TYPE);
}

/// Node identities of development chains, derived from the well-known development seeds
/// (`//Alice`, …) so that `--dev` and `--chain local` serve out of the box. Never use these on
/// a chain with value: anyone can derive the secrets.
pub mod dev {
	use super::UmbralPublicKey;

	/// The Umbral identity seed of the development node whose seed is `seed` (e.g.
	/// `"//Alice"`): `blake2_256("kms-dev-umbral" ++ seed)`.
	pub fn umbral_seed(seed: &str) -> [u8; 32] {
		let mut material = b"kms-dev-umbral".to_vec();
		material.extend_from_slice(seed.as_bytes());
		<sp_runtime::traits::BlakeTwo256 as sp_runtime::traits::Hash>::hash(&material).0
	}

	/// The Umbral secret of the development node whose seed is `seed` (see [`identity`]).
	///
	/// [`identity`]: super::identity
	pub fn umbral_secret(seed: &str) -> umbral_pre::SecretKey {
		match super::identity::secret(&umbral_seed(seed)) {
			Some(secret) => secret,
			// The factory's seed is 32 bytes, as blake2-256's output.
			None => unreachable!("blake2-256 output has the factory's seed size"),
		}
	}

	/// The Umbral public key of the development node whose seed is `seed`.
	pub fn umbral_public_key(seed: &str) -> UmbralPublicKey {
		UmbralPublicKey::of(&umbral_secret(seed).public_key())
	}
}

/// A node's Umbral identity: a 32-byte seed the node keeps to itself (its offchain storage,
/// never the chain), from which umbral-pre's key factory derives the secret (key label
/// `"node"`). Nodes keep every seed whose key a live policy may still use.
pub mod identity {
	use super::UmbralPublicKey;

	/// The Umbral secret of an identity seed (`None` only if umbral-pre rejected the seed).
	pub fn secret(seed: &[u8; 32]) -> Option<umbral_pre::SecretKey> {
		umbral_pre::SecretKeyFactory::from_secure_randomness(seed)
			.ok()
			.map(|factory| factory.make_key(b"node"))
	}

	/// The Umbral public key of an identity seed.
	pub fn public_key(seed: &[u8; 32]) -> Option<UmbralPublicKey> {
		secret(seed).map(|secret| UmbralPublicKey::of(&secret.public_key()))
	}

	/// The identity's signature over `message` with umbral-pre's `Signer` (the nonce drawn
	/// from `rng`).
	pub fn sign(
		seed: &[u8; 32],
		rng: &mut (impl rand_core::CryptoRng + rand_core::RngCore),
		message: &[u8],
	) -> Option<super::UmbralSignature> {
		let signer = umbral_pre::Signer::new(secret(seed)?);
		Some(super::UmbralSignature::of(&signer.sign_with_rng(rng, message)))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn endpoints_are_urls_of_known_schemes_in_printable_ascii() {
		for good in
			["ws://127.0.0.1:9944", "wss://kms.example.org/rpc", "http://[::1]:9944", "https://a"]
		{
			let endpoint = Endpoint::parse(good.as_bytes()).expect(good);
			assert_eq!(endpoint.as_str(), good);
		}
		let longest = alloc::format!("wss://{}", "a".repeat(MAX_ENDPOINT_LEN as usize - 6));
		assert!(Endpoint::parse(longest.as_bytes()).is_some());
		let too_long = alloc::format!("{longest}a");
		for bad in [
			"",
			"wss://",
			"ftp://host",
			"kms.example.org:9944",
			"ws://host name",
			"ws://host\n",
			"ws://hóst",
			"WS://host",
			too_long.as_str(),
		] {
			assert_eq!(Endpoint::parse(bad.as_bytes()), None, "{bad:?}");
		}
		assert_eq!(Endpoint::parse(b"ws://host\x00"), None);
	}
}
