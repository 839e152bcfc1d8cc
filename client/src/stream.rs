//! The chunked encryption format of `kms encrypt` / `kms decrypt` (format version 1).
//!
//! This module is the normative description of the format. An encrypted object is a fixed-size
//! header followed by a body of authenticated chunks. Memory use is proportional to the chunk
//! size, never to the size of the object, and truncation, reordering, tampering and trailing data
//! are all detected.
//!
//! # Keys
//!
//! Every object gets a fresh, uniformly random 32-byte *file key*. The file key is encrypted with
//! Umbral (`umbral_pre::encrypt(&delegating_pk, &file_key)`), which yields a *capsule* and a
//! *wrapped key* (the Umbral DEM ciphertext of the file key: 24-byte nonce, 32 bytes, 16-byte
//! tag, 72 bytes in all). The owner recovers the file key with `umbral_pre::decrypt_original`; a
//! reader to whom the owner delegated recovers it from capsule fragments with
//! `umbral_pre::decrypt_reencrypted`. The body is encrypted with the file key only.
//!
//! # Header
//!
//! All integers are big-endian. The header is always 194 bytes long.
//!
//! | Offset | Size | Field             | Contents                                                |
//! |-------:|-----:|-------------------|---------------------------------------------------------|
//! |      0 |    8 | `magic`           | the ASCII bytes `KMSCHAIN`                              |
//! |      8 |    1 | `version`         | `1`                                                     |
//! |      9 |    4 | `chunk_size`      | `u32`, plaintext bytes per chunk, `1..=16_777_216`      |
//! |     13 |    2 | `capsule_len`     | `u16`, must be `105`                                    |
//! |     15 |  105 | `capsule`         | the Umbral capsule, standard (MessagePack) encoding     |
//! |    120 |    2 | `wrapped_key_len` | `u16`, must be `72`                                     |
//! |    122 |   72 | `wrapped_key`     | the file key encrypted by `umbral_pre::encrypt`         |
//! |    194 |    … | body              | the chunks, see below                                   |
//!
//! A reader checks the fields in this order and rejects the file at the first violation: a magic
//! other than `KMSCHAIN` (or a file shorter than 8 bytes) means the file is not a KMS Chain file;
//! a version other than 1 is unsupported; a chunk size outside `1..=16 MiB`, a length field other
//! than the one required, a capsule that does not decode (Umbral capsules verify themselves on
//! decoding) or a file that ends inside the header is a malformed header.
//!
//! # Body
//!
//! The plaintext is cut into chunks of `chunk_size` bytes. Every chunk except the last holds
//! exactly `chunk_size` plaintext bytes; the last chunk holds `0..=chunk_size` bytes. An empty
//! plaintext is a single empty final chunk, and a plaintext whose length is a non-zero multiple
//! of `chunk_size` ends with a *full* final chunk (there is never an empty chunk after a full
//! one). Chunk `i` (counting from 0) is sealed with ChaCha20-Poly1305 (RFC 8439) under the file
//! key:
//!
//! | Item              | Value                                                                 |
//! |-------------------|-----------------------------------------------------------------------|
//! | key               | the 32-byte file key                                                  |
//! | nonce bytes 0..8  | `i` as `u64`, big-endian                                              |
//! | nonce byte 8      | `1` for the last chunk, `0` for every other chunk                     |
//! | nonce bytes 9..12 | `0, 0, 0`                                                             |
//! | associated data   | the complete 194 header bytes                                         |
//! | sealed chunk      | ciphertext (same length as the plaintext) followed by the 16-byte tag |
//!
//! The chunks are stored back to back with no framing, so the body of an `n`-byte plaintext is
//! `n + 16 * max(1, ceil(n / chunk_size))` bytes long (see [`encrypted_body_len`]). Nothing may
//! follow the last chunk.
//!
//! Because the chunk index is in the nonce, a chunk moved to another position fails to
//! authenticate. Because the last-chunk flag is in the nonce, a body cut at a chunk boundary is
//! detected (its new last chunk was sealed as non-final). Because the header is the associated
//! data, every chunk is bound to this object's chunk size, capsule and wrapped key.
//!
//! # Reading the body
//!
//! A reader takes the body `chunk_size + 16` bytes at a time and, when it got a full window,
//! reads one byte ahead to learn whether the input ends there:
//!
//! * fewer than 16 bytes where a chunk should start (including nothing at all after a non-final
//!   chunk): [`Error::Truncated`];
//! * a short window (16 bytes or more, but less than `chunk_size + 16`): the input ended, so this
//!   is the last chunk; it must open as final, else [`Error::Tampered`];
//! * a full window followed by end of input: it must open as final; if it instead opens as
//!   non-final, the body was cut at a chunk boundary ([`Error::Truncated`]), else
//!   [`Error::Tampered`];
//! * a full window followed by more bytes: it must open as non-final; if it instead opens as
//!   final, something was appended to the object ([`Error::TrailingData`]), else
//!   [`Error::Tampered`].
//!
//! Consequences of having no framing inside the body: a body cut in the middle of a chunk
//! (leaving at least 16 bytes of it) is reported as [`Error::Tampered`] for that chunk, and bytes
//! appended after a *short* final chunk are reported as [`Error::Tampered`] for that chunk; only
//! bytes appended after a full-sized final chunk can be told apart as [`Error::TrailingData`].
//! Every one of these cases is rejected.
//!
//! A chunk's plaintext is written out only once that chunk has authenticated, but the chunks
//! before a failing one have already been written: a caller must discard the output of a failed
//! decryption.

use std::io::{self, ErrorKind, Read, Write};

use chacha20poly1305::{
	aead::{Aead, KeyInit, Payload},
	ChaCha20Poly1305, Key, Nonce,
};
use umbral_pre::{Capsule, DefaultSerialize, PublicKey, SecretKey, VerifiedCapsuleFrag};
use zeroize::{Zeroize, Zeroizing};

/// Default plaintext bytes per chunk.
pub const DEFAULT_CHUNK_SIZE: u32 = 64 * 1024;
/// Largest accepted plaintext bytes per chunk (16 MiB).
pub const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;
/// The first 8 bytes of every encrypted file.
pub const MAGIC: [u8; 8] = *b"KMSCHAIN";
/// The format version this module writes and reads.
pub const VERSION: u8 = 1;
/// Length of the serialized Umbral capsule in the header.
pub const CAPSULE_LEN: usize = 105;
/// Length of the wrapped (Umbral-encrypted) file key in the header.
pub const WRAPPED_KEY_LEN: usize = 72;
/// Length of the file key.
pub const FILE_KEY_LEN: usize = 32;
/// Length of the Poly1305 tag that ends every sealed chunk.
pub const TAG_LEN: usize = 16;
/// Length of the whole header.
pub const HEADER_LEN: usize = MAGIC.len() + 1 + 4 + 2 + CAPSULE_LEN + 2 + WRAPPED_KEY_LEN;

/// Errors of encrypting or decrypting an object.
#[derive(Debug, thiserror::Error)]
pub enum Error {
	/// The input does not start with [`MAGIC`].
	#[error("not a KMS Chain encrypted file (bad magic)")]
	NotKmsFile,
	/// The header's version is not [`VERSION`].
	#[error("unsupported format version {0} (this kms reads version 1)")]
	UnsupportedVersion(u8),
	/// The header (or a chunk size passed to [`encrypt`]) is invalid; the text says what is wrong.
	#[error("malformed header: {0}")]
	Header(String),
	/// The body ends before its final chunk.
	#[error("the file is truncated: it ends before its final chunk")]
	Truncated,
	/// A chunk did not authenticate.
	#[error(
		"chunk {chunk} failed authentication: the file was tampered with, reordered, or the key is \
		 wrong"
	)]
	Tampered {
		/// Index (from 0) of the chunk that failed.
		chunk: u64,
	},
	/// Bytes follow the final chunk.
	#[error("data follows the final chunk")]
	TrailingData,
	/// The file key could not be wrapped or unwrapped.
	#[error("the file key could not be recovered: {0}")]
	Key(String),
	/// Reading the input or writing the output failed.
	#[error("I/O: {0}")]
	Io(#[from] io::Error),
}

/// A file's header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
	/// Plaintext bytes per chunk.
	pub chunk_size: u32,
	/// The serialized Umbral capsule ([`CAPSULE_LEN`] bytes).
	pub capsule: Vec<u8>,
	/// The file key encrypted by Umbral ([`WRAPPED_KEY_LEN`] bytes).
	pub wrapped_key: Vec<u8>,
}

impl Header {
	/// Encodes the header as described in the module documentation.
	///
	/// Only headers that [`Header::read`] accepts are meaningful; a field longer than 65535 bytes
	/// (never valid) has its length clamped to `u16::MAX`.
	pub fn to_bytes(&self) -> Vec<u8> {
		let mut out = Vec::with_capacity(
			HEADER_LEN
				.saturating_add(self.capsule.len())
				.saturating_add(self.wrapped_key.len())
				.saturating_sub(CAPSULE_LEN + WRAPPED_KEY_LEN),
		);
		out.extend_from_slice(&MAGIC);
		out.push(VERSION);
		out.extend_from_slice(&self.chunk_size.to_be_bytes());
		for field in [&self.capsule, &self.wrapped_key] {
			let len = u16::try_from(field.len()).unwrap_or(u16::MAX);
			out.extend_from_slice(&len.to_be_bytes());
			out.extend_from_slice(field.get(..usize::from(len)).unwrap_or(field));
		}
		out
	}

	/// Reads and checks a header from the start of `input` (consumes exactly the header).
	pub fn read(input: &mut impl Read) -> Result<Header, Error> {
		let mut magic = [0u8; MAGIC.len()];
		if fill(input, &mut magic)? < magic.len() || magic != MAGIC {
			return Err(Error::NotKmsFile);
		}
		let mut version = [0u8; 1];
		read_field(input, &mut version, "version")?;
		if version[0] != VERSION {
			return Err(Error::UnsupportedVersion(version[0]));
		}
		let mut chunk_size = [0u8; 4];
		read_field(input, &mut chunk_size, "chunk size")?;
		let chunk_size = u32::from_be_bytes(chunk_size);
		check_chunk_size(chunk_size)?;
		let capsule = read_sized_field(input, "capsule", CAPSULE_LEN)?;
		let wrapped_key = read_sized_field(input, "wrapped key", WRAPPED_KEY_LEN)?;
		let header = Header { chunk_size, capsule, wrapped_key };
		header.capsule()?;
		Ok(header)
	}

	/// The capsule, decoded.
	pub fn capsule(&self) -> Result<Capsule, Error> {
		kms_primitives::wire::decode_capsule(&self.capsule).map_err(|e| {
			Error::Header(format!("the capsule is not a canonical umbral-pre capsule ({e:?})"))
		})
	}
}

/// The file key (zeroized on drop).
pub struct FileKey([u8; FILE_KEY_LEN]);

impl FileKey {
	/// Checks the length (32) of an unwrapped key.
	pub fn from_bytes(bytes: &[u8]) -> Result<FileKey, Error> {
		let key: [u8; FILE_KEY_LEN] = bytes.try_into().map_err(|_| {
			Error::Key(format!(
				"the unwrapped key is {} bytes long, expected {FILE_KEY_LEN}",
				bytes.len()
			))
		})?;
		Ok(FileKey(key))
	}

	/// A fresh random key from the operating system's generator.
	fn random() -> Result<FileKey, Error> {
		let mut key = FileKey([0u8; FILE_KEY_LEN]);
		getrandom::getrandom(&mut key.0)
			.map_err(|e| Error::Io(io::Error::other(format!("random generator: {e}"))))?;
		Ok(key)
	}
}

impl Drop for FileKey {
	fn drop(&mut self) {
		self.0.zeroize();
	}
}

impl std::fmt::Debug for FileKey {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str("FileKey(<redacted>)")
	}
}

/// Length of the body (everything after the header) of an object of `plaintext_len` bytes.
///
/// Equals `plaintext_len + 16 * max(1, ceil(plaintext_len / chunk_size))` (saturating; a
/// `chunk_size` of 0 is treated as 1).
pub fn encrypted_body_len(plaintext_len: u64, chunk_size: u32) -> u64 {
	let chunks = plaintext_len.div_ceil(u64::from(chunk_size.max(1))).max(1);
	plaintext_len.saturating_add(chunks.saturating_mul(TAG_LEN as u64))
}

/// Encrypts `input` to `delegating` into `output` (header then chunks). `progress` is called with
/// the number of plaintext bytes done so far after each chunk. Returns the plaintext length.
pub fn encrypt(
	delegating: &PublicKey,
	chunk_size: u32,
	input: impl Read,
	mut output: impl Write,
	mut progress: impl FnMut(u64),
) -> Result<u64, Error> {
	check_chunk_size(chunk_size)?;
	let size = chunk_len(chunk_size)?;
	let key = FileKey::random()?;
	let (capsule, wrapped_key) = umbral_pre::encrypt(delegating, &key.0)
		.map_err(|e| Error::Key(format!("wrapping the file key: {e}")))?;
	let capsule = capsule
		.to_bytes()
		.map_err(|e| Error::Header(format!("the capsule does not serialize: {e}")))?;
	let header =
		Header { chunk_size, capsule: capsule.into_vec(), wrapped_key: wrapped_key.into_vec() };
	if header.capsule.len() != CAPSULE_LEN || header.wrapped_key.len() != WRAPPED_KEY_LEN {
		return Err(Error::Header(format!(
			"umbral produced a {}-byte capsule and a {}-byte wrapped key, expected {CAPSULE_LEN} \
			 and {WRAPPED_KEY_LEN}",
			header.capsule.len(),
			header.wrapped_key.len()
		)));
	}
	let header_bytes = header.to_bytes();
	output.write_all(&header_bytes)?;
	let cipher = ChunkCipher::new(&key, header_bytes);

	let mut buf = Zeroizing::new(vec![0u8; size]);
	let mut windows = Windows { input, carry: None };
	let mut index = 0u64;
	let mut total = 0u64;
	loop {
		let (filled, last) = windows.next(&mut buf)?;
		let plain = &buf[..filled];
		output.write_all(&cipher.seal(index, last, plain)?)?;
		total = total.saturating_add(plain.len() as u64);
		progress(total);
		if last {
			break;
		}
		index = next_index(index)?;
	}
	output.flush()?;
	Ok(total)
}

/// Decrypts the body that follows `header` in `input` with `key` (unwrapped by the caller from
/// `header.capsule` and `header.wrapped_key`, e.g. with `umbral_pre::decrypt_original` for the
/// owner or `decrypt_reencrypted` for a reader). Returns the plaintext length.
///
/// `progress` is called with the number of plaintext bytes written so far after each chunk. On
/// error, the output may already hold the chunks before the failing one; discard it.
pub fn decrypt(
	header: &Header,
	key: &FileKey,
	input: impl Read,
	mut output: impl Write,
	mut progress: impl FnMut(u64),
) -> Result<u64, Error> {
	check_chunk_size(header.chunk_size)?;
	let window = chunk_len(header.chunk_size)?
		.checked_add(TAG_LEN)
		.ok_or_else(|| Error::Header("chunk size too large for this platform".into()))?;
	let cipher = ChunkCipher::new(key, header.to_bytes());

	let mut buf = vec![0u8; window];
	let mut windows = Windows { input, carry: None };
	let mut index = 0u64;
	let mut total = 0u64;
	loop {
		let (filled, end) = windows.next(&mut buf)?;
		if filled < TAG_LEN {
			return Err(Error::Truncated);
		}
		let sealed = &buf[..filled];
		let tampered = Error::Tampered { chunk: index };
		let (plain, last) = if filled < window {
			// A short window means the input has ended: this must be the final chunk.
			(cipher.open(index, true, sealed).ok_or(tampered)?, true)
		} else if !end {
			// More follows a full window: this must not be the final chunk.
			match cipher.open(index, false, sealed) {
				Some(plain) => (plain, false),
				None if cipher.open(index, true, sealed).is_some() => {
					return Err(Error::TrailingData)
				},
				None => return Err(tampered),
			}
		} else {
			// A full window at the end: the final chunk, unless the body was cut after it.
			match cipher.open(index, true, sealed) {
				Some(plain) => (plain, true),
				None if cipher.open(index, false, sealed).is_some() => {
					return Err(Error::Truncated)
				},
				None => return Err(tampered),
			}
		};
		output.write_all(&plain)?;
		total = total.saturating_add(plain.len() as u64);
		progress(total);
		if last {
			break;
		}
		index = next_index(index)?;
	}
	output.flush()?;
	Ok(total)
}

/// Owner's shortcut: unwrap with the delegating secret key (umbral_pre::decrypt_original).
pub fn unwrap_as_owner(header: &Header, delegating: &SecretKey) -> Result<FileKey, Error> {
	let capsule = header.capsule()?;
	let key = umbral_pre::decrypt_original(delegating, &capsule, &header.wrapped_key)
		.map_err(|e| Error::Key(e.to_string()))?;
	FileKey::from_bytes(&Zeroizing::new(key))
}

/// Reader's shortcut: unwrap with the receiving secret key and at least `threshold` verified
/// capsule fragments of `header`'s capsule (umbral_pre::decrypt_reencrypted).
pub fn unwrap_as_reader(
	header: &Header,
	receiving: &SecretKey,
	delegating: &PublicKey,
	cfrags: impl IntoIterator<Item = VerifiedCapsuleFrag>,
) -> Result<FileKey, Error> {
	let capsule = header.capsule()?;
	let key = umbral_pre::decrypt_reencrypted(
		receiving,
		delegating,
		&capsule,
		cfrags,
		&header.wrapped_key,
	)
	.map_err(|e| Error::Key(e.to_string()))?;
	FileKey::from_bytes(&Zeroizing::new(key))
}

/// ChaCha20-Poly1305 under the file key, with the header as associated data.
struct ChunkCipher {
	aead: ChaCha20Poly1305,
	header: Vec<u8>,
}

impl ChunkCipher {
	fn new(key: &FileKey, header: Vec<u8>) -> Self {
		Self { aead: ChaCha20Poly1305::new(Key::from_slice(&key.0)), header }
	}

	fn nonce(index: u64, last: bool) -> [u8; 12] {
		let mut nonce = [0u8; 12];
		nonce[..8].copy_from_slice(&index.to_be_bytes());
		nonce[8] = u8::from(last);
		nonce
	}

	fn seal(&self, index: u64, last: bool, plain: &[u8]) -> Result<Vec<u8>, Error> {
		let nonce = Self::nonce(index, last);
		self.aead
			.encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad: &self.header })
			.map_err(|_| Error::Io(io::Error::other(format!("sealing chunk {index} failed"))))
	}

	fn open(&self, index: u64, last: bool, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
		let nonce = Self::nonce(index, last);
		self.aead
			.decrypt(Nonce::from_slice(&nonce), Payload { msg: sealed, aad: &self.header })
			.ok()
			.map(Zeroizing::new)
	}
}

fn check_chunk_size(chunk_size: u32) -> Result<(), Error> {
	if (1..=MAX_CHUNK_SIZE).contains(&chunk_size) {
		Ok(())
	} else {
		Err(Error::Header(format!(
			"chunk size {chunk_size} is outside the allowed range 1..={MAX_CHUNK_SIZE}"
		)))
	}
}

fn chunk_len(chunk_size: u32) -> Result<usize, Error> {
	usize::try_from(chunk_size)
		.map_err(|_| Error::Header("chunk size too large for this platform".into()))
}

fn next_index(index: u64) -> Result<u64, Error> {
	index
		.checked_add(1)
		.ok_or_else(|| Error::Io(io::Error::other("too many chunks")))
}

/// Reads until `buf` is full or the input ends; returns the number of bytes read.
fn fill<R: Read + ?Sized>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
	let mut filled = 0;
	while filled < buf.len() {
		match input.read(&mut buf[filled..]) {
			Ok(0) => break,
			Ok(n) => filled += n,
			Err(e) if e.kind() == ErrorKind::Interrupted => {},
			Err(e) => return Err(e),
		}
	}
	Ok(filled)
}

/// An input read in windows, one byte ahead, so that each window knows whether the input ends
/// with it.
struct Windows<R> {
	input: R,
	carry: Option<u8>,
}

impl<R: Read> Windows<R> {
	/// Fills `buf` as far as the input goes: how many bytes, and whether the input ends there.
	fn next(&mut self, buf: &mut [u8]) -> io::Result<(usize, bool)> {
		let mut filled = 0;
		if let (Some(byte), Some(first)) = (self.carry.take(), buf.first_mut()) {
			*first = byte;
			filled = 1;
		}
		filled += fill(&mut self.input, &mut buf[filled..])?;
		if filled < buf.len() {
			return Ok((filled, true));
		}
		self.carry = read_byte(&mut self.input)?;
		Ok((filled, self.carry.is_none()))
	}
}

/// Reads one byte, or `None` at the end of the input.
fn read_byte<R: Read + ?Sized>(input: &mut R) -> io::Result<Option<u8>> {
	let mut byte = [0u8; 1];
	Ok((fill(input, &mut byte)? == 1).then_some(byte[0]))
}

fn read_field<R: Read + ?Sized>(input: &mut R, buf: &mut [u8], what: &str) -> Result<(), Error> {
	if fill(input, buf)? < buf.len() {
		return Err(Error::Header(format!("the file ends inside the header ({what})")));
	}
	Ok(())
}

fn read_sized_field<R: Read + ?Sized>(
	input: &mut R,
	what: &str,
	expected: usize,
) -> Result<Vec<u8>, Error> {
	let mut len = [0u8; 2];
	read_field(input, &mut len, &format!("{what} length"))?;
	let len = usize::from(u16::from_be_bytes(len));
	if len != expected {
		return Err(Error::Header(format!("the {what} is {len} bytes long, expected {expected}")));
	}
	let mut field = vec![0u8; len];
	read_field(input, &mut field, what)?;
	Ok(field)
}

#[cfg(test)]
mod tests {
	use std::io::Cursor;

	use umbral_pre::{generate_kfrags, reencrypt, Signer};

	use super::*;

	const CS: u32 = 64;
	const CSU: usize = CS as usize;
	const SEALED: usize = CSU + TAG_LEN;

	fn data(n: usize) -> Vec<u8> {
		(0..n).map(|i| (i.wrapping_mul(31).wrapping_add(7) % 251) as u8).collect()
	}

	/// Encrypts `plain` to a fresh owner; returns the owner's secret key and the file.
	fn seal(plain: &[u8], chunk_size: u32) -> (SecretKey, Vec<u8>) {
		let sk = SecretKey::random();
		let mut file = Vec::new();
		let n = encrypt(&sk.public_key(), chunk_size, plain, &mut file, |_| {}).unwrap();
		assert_eq!(n, plain.len() as u64);
		(sk, file)
	}

	/// Decrypts `file` as the owner `sk`; returns the result and whatever was written.
	fn open(file: &[u8], sk: &SecretKey) -> (Result<u64, Error>, Vec<u8>) {
		let mut input = Cursor::new(file);
		let header = Header::read(&mut input).unwrap();
		let key = unwrap_as_owner(&header, sk).unwrap();
		let mut out = Vec::new();
		let result = decrypt(&header, &key, input, &mut out, |_| {});
		(result, out)
	}

	fn roundtrip(plain: &[u8], chunk_size: u32) -> Vec<u8> {
		let (sk, file) = seal(plain, chunk_size);
		let (result, out) = open(&file, &sk);
		assert_eq!(result.unwrap(), plain.len() as u64);
		assert_eq!(out, plain);
		file
	}

	fn body(file: &[u8]) -> &[u8] {
		&file[HEADER_LEN..]
	}

	/// Returns one byte per call, and an `Interrupted` error before every byte.
	struct Trickle<R> {
		inner: R,
		interrupt: bool,
	}

	impl<R: Read> Read for Trickle<R> {
		fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
			self.interrupt = !self.interrupt;
			if self.interrupt {
				return Err(ErrorKind::Interrupted.into());
			}
			let n = buf.len().min(1);
			self.inner.read(&mut buf[..n])
		}
	}

	#[test]
	fn header_layout_and_read_consumes_exactly_the_header() {
		let (_, file) = seal(b"hello", CS);
		assert_eq!(HEADER_LEN, 194);
		assert_eq!(&file[..8], b"KMSCHAIN");
		assert_eq!(file[8], 1);
		assert_eq!(&file[9..13], &CS.to_be_bytes());
		assert_eq!(&file[13..15], &105u16.to_be_bytes());
		assert_eq!(&file[120..122], &72u16.to_be_bytes());
		let mut input = Cursor::new(&file);
		let header = Header::read(&mut input).unwrap();
		assert_eq!(input.position(), HEADER_LEN as u64);
		assert_eq!(header.chunk_size, CS);
		assert_eq!(header.capsule, &file[15..120]);
		assert_eq!(header.wrapped_key, &file[122..194]);
		assert_eq!(header.to_bytes(), &file[..HEADER_LEN]);
		header.capsule().unwrap();
	}

	#[test]
	fn roundtrip_empty_is_one_empty_chunk() {
		let file = roundtrip(b"", CS);
		assert_eq!(body(&file).len(), TAG_LEN);
	}

	#[test]
	fn roundtrip_exactly_one_chunk_is_one_final_chunk() {
		let file = roundtrip(&data(CSU), CS);
		assert_eq!(body(&file).len(), SEALED);
	}

	#[test]
	fn roundtrip_chunk_plus_one_is_two_chunks() {
		let file = roundtrip(&data(CSU + 1), CS);
		assert_eq!(body(&file).len(), SEALED + 1 + TAG_LEN);
	}

	#[test]
	fn roundtrip_several_chunks_with_progress() {
		let plain = data(5 * CSU + 13);
		let sk = SecretKey::random();
		let mut file = Vec::new();
		let mut seen = Vec::new();
		encrypt(&sk.public_key(), CS, &plain[..], &mut file, |n| seen.push(n)).unwrap();
		let expected: Vec<u64> = vec![64, 128, 192, 256, 320, 333];
		assert_eq!(seen, expected);
		assert_eq!(body(&file).len(), 5 * SEALED + 13 + TAG_LEN);

		let mut input = Cursor::new(&file);
		let header = Header::read(&mut input).unwrap();
		let key = unwrap_as_owner(&header, &sk).unwrap();
		let mut out = Vec::new();
		let mut seen = Vec::new();
		let n = decrypt(&header, &key, input, &mut out, |n| seen.push(n)).unwrap();
		assert_eq!(n, plain.len() as u64);
		assert_eq!(out, plain);
		assert_eq!(seen, expected);

		roundtrip(&data(4 * CSU), CS);
	}

	#[test]
	fn roundtrip_default_chunk_size() {
		let plain = data(3 * DEFAULT_CHUNK_SIZE as usize + 5);
		let file = roundtrip(&plain, DEFAULT_CHUNK_SIZE);
		assert_eq!(
			body(&file).len() as u64,
			encrypted_body_len(plain.len() as u64, DEFAULT_CHUNK_SIZE)
		);
	}

	#[test]
	fn roundtrip_short_and_interrupted_reads() {
		for len in [0, 1, CSU - 1, CSU, CSU + 1, 3 * CSU, 3 * CSU + 7] {
			let plain = data(len);
			let sk = SecretKey::random();
			let mut file = Vec::new();
			let reader = Trickle { inner: &plain[..], interrupt: false };
			encrypt(&sk.public_key(), CS, reader, &mut file, |_| {}).unwrap();
			assert_eq!(body(&file).len() as u64, encrypted_body_len(len as u64, CS));

			let mut input = Trickle { inner: Cursor::new(&file), interrupt: false };
			let header = Header::read(&mut input).unwrap();
			let key = unwrap_as_owner(&header, &sk).unwrap();
			let mut out = Vec::new();
			assert_eq!(decrypt(&header, &key, input, &mut out, |_| {}).unwrap(), len as u64);
			assert_eq!(out, plain);
		}
	}

	#[test]
	fn body_length_formula() {
		for len in [0usize, 1, 15, 16, 63, 64, 65, 127, 128, 129, 200, 320] {
			let (_, file) = seal(&data(len), CS);
			let chunks = if len == 0 { 1 } else { len.div_ceil(CSU) };
			assert_eq!(body(&file).len(), len + TAG_LEN * chunks, "len {len}");
			assert_eq!(encrypted_body_len(len as u64, CS), (len + TAG_LEN * chunks) as u64);
		}
		assert_eq!(encrypted_body_len(0, 1), 16);
		assert_eq!(encrypted_body_len(3, 1), 3 + 48);
	}

	#[test]
	fn truncated_at_chunk_boundary() {
		let plain = data(4 * CSU + 10);
		let (sk, file) = seal(&plain, CS);
		for kept in 1..=4 {
			let (result, out) = open(&file[..HEADER_LEN + kept * SEALED], &sk);
			assert!(matches!(result, Err(Error::Truncated)), "kept {kept}: {result:?}");
			// The last kept chunk failed as final and is not written.
			assert_eq!(out, &plain[..(kept - 1) * CSU]);
		}
		// Same when the plaintext is a multiple of the chunk size.
		let (sk, file) = seal(&data(3 * CSU), CS);
		let (result, _) = open(&file[..HEADER_LEN + 2 * SEALED], &sk);
		assert!(matches!(result, Err(Error::Truncated)), "{result:?}");
	}

	#[test]
	fn truncated_mid_chunk() {
		let plain = data(3 * CSU + 10);
		let (sk, file) = seal(&plain, CS);
		// At least 16 bytes of the cut chunk remain: it fails as a final chunk -> Tampered.
		for (cut, chunk) in [(SEALED + 40, 1), (SEALED + TAG_LEN, 1), (3 * SEALED + 20, 3)] {
			let (result, out) = open(&file[..HEADER_LEN + cut], &sk);
			assert!(
				matches!(result, Err(Error::Tampered { chunk: c }) if c == chunk),
				"{result:?}"
			);
			assert_eq!(out, &plain[..chunk as usize * CSU]);
		}
		// Fewer than 16 bytes remain: not even a tag -> Truncated.
		for cut in [SEALED + 1, SEALED + TAG_LEN - 1, 3 * SEALED + 5] {
			let (result, _) = open(&file[..HEADER_LEN + cut], &sk);
			assert!(matches!(result, Err(Error::Truncated)), "{result:?}");
		}
	}

	#[test]
	fn body_cut_to_nothing() {
		for len in [0, 10, 3 * CSU] {
			let (sk, file) = seal(&data(len), CS);
			let (result, out) = open(&file[..HEADER_LEN], &sk);
			assert!(matches!(result, Err(Error::Truncated)), "{result:?}");
			assert!(out.is_empty());
		}
	}

	#[test]
	fn swapped_chunks() {
		let plain = data(4 * CSU);
		let (sk, mut file) = seal(&plain, CS);
		let a = HEADER_LEN + SEALED;
		let b = HEADER_LEN + 2 * SEALED;
		let chunk1 = file[a..a + SEALED].to_vec();
		file.copy_within(b..b + SEALED, a);
		file[b..b + SEALED].copy_from_slice(&chunk1);
		let (result, out) = open(&file, &sk);
		assert!(matches!(result, Err(Error::Tampered { chunk: 1 })), "{result:?}");
		assert_eq!(out, &plain[..CSU]);
	}

	#[test]
	fn flipped_bit_reports_the_chunk_and_writes_only_earlier_chunks() {
		let plain = data(3 * CSU + 20);
		let (sk, file) = seal(&plain, CS);
		// Chunks 0..=2 are full, chunk 3 is the short final one; flip a ciphertext bit and a tag bit.
		for chunk in 0..4usize {
			for offset in [0, CSU.min(20) + 5, if chunk == 3 { 20 + 15 } else { SEALED - 1 }] {
				let mut bad = file.clone();
				bad[HEADER_LEN + chunk * SEALED + offset] ^= 0x10;
				let (result, out) = open(&bad, &sk);
				assert!(
					matches!(result, Err(Error::Tampered { chunk: c }) if c == chunk as u64),
					"chunk {chunk} offset {offset}: {result:?}"
				);
				assert_eq!(out, &plain[..chunk * CSU]);
			}
		}
	}

	#[test]
	fn flipped_chunk_size_in_header() {
		let plain = data(2 * CSU);
		let (sk, file) = seal(&plain, CS);
		// 64 -> 65: still a valid header, but the header is the chunks' associated data.
		let mut bad = file.clone();
		bad[12] ^= 0x01;
		let mut input = Cursor::new(&bad);
		let header = Header::read(&mut input).unwrap();
		assert_eq!(header.chunk_size, 65);
		let key = unwrap_as_owner(&header, &sk).unwrap();
		let mut out = Vec::new();
		let result = decrypt(&header, &key, input, &mut out, |_| {});
		assert!(matches!(result, Err(Error::Tampered { chunk: 0 })), "{result:?}");
		assert!(out.is_empty());
		// With a single short chunk the chunk boundaries do not move, so only the associated data
		// (the header) catches the change.
		let (sk, short) = seal(&data(10), CS);
		let mut bad = short;
		bad[12] ^= 0x01;
		let mut input = Cursor::new(&bad);
		let header = Header::read(&mut input).unwrap();
		let key = unwrap_as_owner(&header, &sk).unwrap();
		let result = decrypt(&header, &key, input, io::sink(), |_| {});
		assert!(matches!(result, Err(Error::Tampered { chunk: 0 })), "{result:?}");
		// High bit: out of range.
		let mut bad = file.clone();
		bad[9] ^= 0x80;
		assert!(matches!(Header::read(&mut &bad[..]), Err(Error::Header(_))));
		// Zero.
		let mut bad = file;
		bad[9..13].copy_from_slice(&[0; 4]);
		assert!(matches!(Header::read(&mut &bad[..]), Err(Error::Header(_))));
	}

	#[test]
	fn flipped_capsule_or_wrapped_key_in_header() {
		let (sk, file) = seal(&data(100), CS);
		for pos in [15, 20, 60, 119] {
			let mut bad = file.clone();
			bad[pos] ^= 0x04;
			match Header::read(&mut &bad[..]) {
				Err(Error::Header(_)) => {},
				Ok(header) => {
					assert_ne!(header.capsule, &file[15..120]);
					assert!(matches!(unwrap_as_owner(&header, &sk), Err(Error::Key(_))));
				},
				Err(e) => panic!("capsule byte {pos}: unexpected {e:?}"),
			}
		}
		for pos in [122, 150, 193] {
			let mut bad = file.clone();
			bad[pos] ^= 0x04;
			let header = Header::read(&mut &bad[..]).unwrap();
			assert!(matches!(unwrap_as_owner(&header, &sk), Err(Error::Key(_))));
		}
	}

	#[test]
	fn malformed_header_lengths_and_truncation() {
		let (_, file) = seal(b"x", CS);
		let mut bad = file.clone();
		bad[13..15].copy_from_slice(&104u16.to_be_bytes());
		assert!(
			matches!(Header::read(&mut &bad[..]), Err(Error::Header(m)) if m.contains("capsule"))
		);
		let mut bad = file.clone();
		bad[120..122].copy_from_slice(&73u16.to_be_bytes());
		assert!(
			matches!(Header::read(&mut &bad[..]), Err(Error::Header(m)) if m.contains("wrapped"))
		);
		for len in [8, 9, 12, 14, 100, 121, 193] {
			assert!(
				matches!(Header::read(&mut &file[..len]), Err(Error::Header(m)) if m.contains("ends")),
				"len {len}"
			);
		}
	}

	#[test]
	fn trailing_data() {
		// After a full final chunk: told apart.
		for len in [CSU, 3 * CSU] {
			let (sk, mut file) = seal(&data(len), CS);
			file.push(0);
			let (result, out) = open(&file, &sk);
			assert!(matches!(result, Err(Error::TrailingData)), "{result:?}");
			assert_eq!(out.len(), len - CSU);
			file.extend_from_slice(&[7; 200]);
			let (result, _) = open(&file, &sk);
			assert!(matches!(result, Err(Error::TrailingData)), "{result:?}");
		}
		// After a short (or empty) final chunk there is no framing to tell: Tampered, last chunk.
		for (len, last) in [(0, 0), (10, 0), (2 * CSU + 10, 2)] {
			for extra in [1, 100] {
				let (sk, mut file) = seal(&data(len), CS);
				file.extend(std::iter::repeat_n(0xAA, extra));
				let (result, _) = open(&file, &sk);
				assert!(
					matches!(result, Err(Error::Tampered { chunk }) if chunk == last),
					"len {len} extra {extra}: {result:?}"
				);
			}
		}
	}

	#[test]
	fn wrong_magic() {
		let (_, mut file) = seal(b"abc", CS);
		file[0] = b'X';
		assert!(matches!(Header::read(&mut &file[..]), Err(Error::NotKmsFile)));
		assert!(matches!(Header::read(&mut &b""[..]), Err(Error::NotKmsFile)));
		assert!(matches!(Header::read(&mut &b"KMSCH"[..]), Err(Error::NotKmsFile)));
	}

	#[test]
	fn unsupported_version() {
		let (_, mut file) = seal(b"abc", CS);
		file[8] = 2;
		assert!(matches!(Header::read(&mut &file[..]), Err(Error::UnsupportedVersion(2))));
	}

	#[test]
	fn wrong_key() {
		let (_, file) = seal(b"secret", CS);
		let header = Header::read(&mut &file[..]).unwrap();
		let other = SecretKey::random();
		assert!(matches!(unwrap_as_owner(&header, &other), Err(Error::Key(_))));
		// A wrong file key fails on the first chunk.
		let key = FileKey::from_bytes(&[9; 32]).unwrap();
		let mut out = Vec::new();
		let result = decrypt(&header, &key, body(&file), &mut out, |_| {});
		assert!(matches!(result, Err(Error::Tampered { chunk: 0 })), "{result:?}");
		assert!(out.is_empty());
	}

	#[test]
	fn file_key_length_is_checked() {
		assert!(FileKey::from_bytes(&[0; 32]).is_ok());
		assert!(matches!(FileKey::from_bytes(&[0; 31]), Err(Error::Key(_))));
		assert!(matches!(FileKey::from_bytes(&[0; 33]), Err(Error::Key(_))));
		assert_eq!(format!("{:?}", FileKey::from_bytes(&[1; 32]).unwrap()), "FileKey(<redacted>)");
	}

	#[test]
	fn chunk_size_bounds() {
		let pk = SecretKey::random().public_key();
		for bad in [0, MAX_CHUNK_SIZE + 1, u32::MAX] {
			let mut out = Vec::new();
			let result = encrypt(&pk, bad, &b"x"[..], &mut out, |_| {});
			assert!(matches!(result, Err(Error::Header(_))), "{bad}: {result:?}");
			assert!(out.is_empty());
		}
		roundtrip(b"one byte chunks", 1);
		roundtrip(&data(1000), MAX_CHUNK_SIZE);
	}

	#[test]
	fn reencryption_end_to_end() {
		let plain = data(3 * CSU + 33);
		let alice = SecretKey::random();
		let alice_pk = alice.public_key();
		let mut file = Vec::new();
		encrypt(&alice_pk, CS, &plain[..], &mut file, |_| {}).unwrap();

		let bob = SecretKey::random();
		let signer = Signer::new(SecretKey::random());
		let kfrags = generate_kfrags(&alice, &bob.public_key(), &signer, 2, 3, true, true);

		let mut input = Cursor::new(&file);
		let header = Header::read(&mut input).unwrap();
		let capsule = header.capsule().unwrap();
		let cfrags: Vec<VerifiedCapsuleFrag> =
			kfrags.iter().take(2).map(|k| reencrypt(&capsule, k.clone())).collect();
		let key_bytes = umbral_pre::decrypt_reencrypted(
			&bob,
			&alice_pk,
			&capsule,
			cfrags.clone(),
			&header.wrapped_key,
		)
		.unwrap();
		let key = FileKey::from_bytes(&key_bytes).unwrap();
		let mut out = Vec::new();
		assert_eq!(
			decrypt(&header, &key, &mut input, &mut out, |_| {}).unwrap(),
			plain.len() as u64
		);
		assert_eq!(out, plain);

		// The helper gives the same key; one cfrag is below the threshold.
		let key = unwrap_as_reader(&header, &bob, &alice_pk, cfrags.clone()).unwrap();
		let mut out = Vec::new();
		decrypt(&header, &key, body(&file), &mut out, |_| {}).unwrap();
		assert_eq!(out, plain);
		let one = cfrags.into_iter().take(1);
		assert!(matches!(unwrap_as_reader(&header, &bob, &alice_pk, one), Err(Error::Key(_))));
	}
}
