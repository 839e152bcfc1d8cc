//! What can go wrong talking to the chain.

/// A client error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
	/// The chain executed the transaction and it failed: `pallet`'s error `error` (e.g.
	/// `Policies::PolicyRevoked`), with its documentation.
	#[error("{pallet}::{error}: {docs}")]
	Rejected {
		/// The pallet that failed the call.
		pallet: String,
		/// The error's name.
		error: String,
		/// What the error means.
		docs: String,
	},
	/// The chain failed the transaction with a non-pallet error (bad origin, no funds, …).
	#[error("the transaction failed: {0}")]
	Dispatch(String),
	/// The transaction pool refused the transaction; why, as the runtime or the pool says.
	#[error("the node refused the transaction: {0}")]
	Refused(Refusal),
	/// The nodes of a new policy declined it: fewer than its threshold can still accept.
	#[error("{0}")]
	Declined(String),
	/// Talking to the node failed.
	#[error("chain access failed: {0}")]
	Chain(Box<subxt::Error>),
	/// A JSON-RPC call failed (the node is unreachable, or refused the call).
	#[error("RPC failed: {0}")]
	Rpc(String),
	/// Bytes that should be an Umbral object are not one, or an Umbral operation failed.
	#[error("umbral: {0}")]
	Umbral(String),
	/// The chain's answer is not what the protocol allows (e.g. an event is missing).
	#[error("{0}")]
	Protocol(String),
	/// The keyring's passphrase is wrong, or its file was altered.
	#[error("wrong passphrase (or the keyring file was altered)")]
	WrongPassphrase,
	/// The keyring file is missing, unreadable or malformed.
	#[error("keyring: {0}")]
	Keyring(String),
	/// Waited as long as allowed.
	#[error("timed out: {0}")]
	Timeout(String),
	/// A node's fast path (`kms_reencrypt`) refused the request or answered what does not
	/// check (an answer for another node, a bad signature, a wrong count).
	#[error("fast path: {0}")]
	FastPath(String),
}

/// Why a transaction was refused before it reached a block: the runtime's verdict
/// (`TaggedTransactionQueue_validate_transaction` at the best block, asked before submitting),
/// or the pool's own words for what happened after it took it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
	/// The account cannot pay the transaction's fee (`InvalidTransaction::Payment`).
	#[error("the account cannot pay the fee")]
	Payment,
	/// Another transaction of the account took its nonce (`InvalidTransaction::Stale`).
	#[error("its nonce is taken (outdated)")]
	Stale,
	/// Its signature does not check (`InvalidTransaction::BadProof`): signed against a block the
	/// chain no longer has, or not by the account.
	#[error("bad signature")]
	BadProof,
	/// It was signed against a block older than its mortality
	/// (`InvalidTransaction::AncientBirthBlock`).
	#[error("ancient birth block")]
	AncientBirthBlock,
	/// It does not fit in a block (`InvalidTransaction::ExhaustsResources`).
	#[error("it does not fit in a block")]
	ExhaustsResources,
	/// Another verdict of the runtime, as it names it.
	#[error("{0}")]
	Invalid(String),
	/// The pool dropped it, found it invalid later, or stopped reporting, in its words.
	#[error("{0}")]
	Pool(String),
}

impl Refusal {
	/// The runtime's verdict, as subxt decodes it.
	pub(crate) fn of(invalid: subxt::transactions::TransactionInvalid) -> Self {
		use subxt::transactions::TransactionInvalid as Invalid;
		match invalid {
			Invalid::Payment => Refusal::Payment,
			Invalid::Stale => Refusal::Stale,
			Invalid::BadProof => Refusal::BadProof,
			Invalid::AncientBirthBlock => Refusal::AncientBirthBlock,
			Invalid::ExhaustsResources => Refusal::ExhaustsResources,
			other => Refusal::Invalid(format!("invalid transaction: {other:?}")),
		}
	}
}

impl Error {
	/// Whether this is the pallet error `pallet::error`.
	pub fn is(&self, pallet: &str, error: &str) -> bool {
		matches!(self, Error::Rejected { pallet: p, error: e, .. } if p == pallet && e == error)
	}
}

/// A failed JSON-RPC call.
pub(crate) fn rpc(error: subxt::rpcs::Error) -> Error {
	Error::Rpc(error.to_string())
}

/// Every subxt error type converts through `subxt::Error`.
pub(crate) fn chain<E: Into<subxt::Error>>(error: E) -> Error {
	Error::Chain(Box::new(error.into()))
}

impl From<subxt::error::DispatchError> for Error {
	fn from(error: subxt::error::DispatchError) -> Self {
		if let subxt::error::DispatchError::Module(module) = &error {
			if let Ok(details) = module.details() {
				return Error::Rejected {
					pallet: details.pallet.name().to_string(),
					error: details.variant.name.clone(),
					docs: details.variant.docs.join(" ").trim().to_string(),
				};
			}
		}
		Error::Dispatch(error.to_string())
	}
}
