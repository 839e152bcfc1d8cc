//! Umbral objects in their standard serialization, read inside the runtime.
//!
//! umbral-pre's standard serialization (`bytes(obj)` in its Python and JavaScript bindings,
//! `to_bytes()` in Rust with `default-serialization`) is MessagePack of the objects' serde
//! form, written by `rmp-serde`: structs as arrays, curve points and scalars as `bin`
//! strings, flags as booleans. `rmp-serde` needs `std`, so the runtime reads these bytes with
//! the small decoder below: a `serde` deserializer for exactly the MessagePack subset those
//! objects use, driving umbral-pre's own `Deserialize` implementations (which decompress the
//! points and, for capsules, check the capsule's self-signature). It never panics: every read
//! is bounds-checked, nesting is limited, and trailing bytes are an error. [`to_vec`] is the
//! matching encoder, for code without `rmp-serde` (the nodes' offchain workers).
//!
//! Sizes are fixed by the format: a capsule is [`CAPSULE_LEN`] bytes, a kfrag [`KFRAG_LEN`], a
//! cfrag [`CFRAG_LEN`].
//!
//! **Only the canonical form is accepted.** umbral-pre reads any SEC1 point encoding: the
//! identity (one byte), uncompressed points (65 bytes) and the "compact" tag 5 as well as the
//! compressed form (33 bytes, tag 2 or 3) it writes, and it panics when it hashes the identity.
//! Swapping one compressed point for the identity and another for its uncompressed form keeps
//! an object's total length, so a length check alone lets such bytes through. The decoder
//! therefore lets a `bin` string reach umbral-pre only if it is a scalar (32 bytes), a
//! compressed point (33 bytes, tag 2 or 3) or a signature (64 bytes), and the `decode_*`
//! functions accept an object only if writing it back gives the same bytes (minimal
//! MessagePack headers, reduced scalars): one object, one byte string. Everything else is
//! [`WireError::NonCanonical`] or [`WireError::Malformed`], never a panic.
//!
//! The crate is `no_std`, denies the lints that could hide a panic (`unwrap`, `expect`,
//! indexing, `panic!`), and is fuzzed: `wire/fuzz` is a cargo-fuzz target that feeds every
//! decoder mutations of real objects and checks that nothing panics and that whatever is
//! accepted writes back to the same bytes (`scripts/test.sh` runs it for a bounded time).
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(
	not(test),
	deny(
		clippy::unwrap_used,
		clippy::expect_used,
		clippy::indexing_slicing,
		clippy::panic,
		clippy::unreachable,
		clippy::todo
	)
)]

extern crate alloc;

use alloc::string::{String, ToString};
use core::fmt;
use serde::{
	de::{self, DeserializeSeed, IntoDeserializer, SeqAccess, Visitor},
	ser,
};

/// Length of a serialized `Capsule`: `[E, V, s]` as `bin` strings (33 + 33 + 32 bytes).
pub const CAPSULE_LEN: usize = 105;
/// Length of a serialized `KeyFrag`.
pub const KFRAG_LEN: usize = 310;
/// Length of a serialized `CapsuleFrag`.
pub const CFRAG_LEN: usize = 381;

/// Nesting limit: umbral-pre's objects nest two levels deep (a cfrag's proof).
const MAX_DEPTH: u8 = 4;

/// Length of a scalar field (`bin`, big-endian, reduced modulo the group order).
const SCALAR_LEN: usize = 32;
/// Length of a curve point field: SEC1 compressed, tag 2 or 3.
const POINT_LEN: usize = 33;
/// Length of a signature field: `r ‖ s`.
const SIGNATURE_LEN: usize = 64;

/// Why bytes are not the umbral object they claim to be.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum WireError {
	/// The length is not the object's serialized length.
	Length,
	/// Not the object's MessagePack encoding, or a field that is not a valid point or scalar,
	/// or an object that fails its self-check (a capsule's signature).
	Malformed,
	/// The object's fields in a form umbral-pre does not write: a point that is not compressed
	/// (the identity, uncompressed, SEC1 compact), a field of another length, a non-minimal
	/// MessagePack header or an unreduced scalar.
	NonCanonical,
	/// A capsule whose two points sum to the identity (`V = −E`): nothing can be encrypted to
	/// it, and umbral-pre panics opening it.
	Degenerate,
}

/// Reads a `Capsule` (and checks its self-signature, as umbral-pre does on deserialization).
/// A capsule whose `V` is `−E` is refused ([`WireError::Degenerate`]): it is a valid capsule to
/// umbral-pre, and opening it with `decrypt_original` panics ((E + V)·sk is the identity, which
/// umbral-pre then serializes to a 1-byte array), so an owner could crash a node's worker
/// with it, and a sender the reader's client.
pub fn decode_capsule(bytes: &[u8]) -> Result<umbral_pre::Capsule, WireError> {
	if is_degenerate_capsule(bytes) {
		return Err(WireError::Degenerate);
	}
	decode_exact(bytes, CAPSULE_LEN)
}

/// Whether `bytes`, in the capsule's canonical layout `[E, V, s]`, have `V = −E`: the same x
/// coordinate with the other parity tag.
fn is_degenerate_capsule(bytes: &[u8]) -> bool {
	let field = |at: usize| bytes.get(at..at + 2 + POINT_LEN);
	match (bytes.first(), field(1), field(36)) {
		(Some(0x93), Some(e), Some(v))
			if e.starts_with(&[0xc4, 33]) && v.starts_with(&[0xc4, 33]) =>
		{
			e.get(3..) == v.get(3..) && e.get(2) != v.get(2)
		},
		_ => false,
	}
}

/// Reads a `KeyFrag` (unverified: `KeyFrag::verify` is the holder's check).
pub fn decode_key_frag(bytes: &[u8]) -> Result<umbral_pre::KeyFrag, WireError> {
	decode_exact(bytes, KFRAG_LEN)
}

/// Reads a `CapsuleFrag` (unverified: `CapsuleFrag::verify` is the reader's check).
pub fn decode_capsule_frag(bytes: &[u8]) -> Result<umbral_pre::CapsuleFrag, WireError> {
	decode_exact(bytes, CFRAG_LEN)
}

fn decode_exact<'de, T: de::Deserialize<'de> + serde::Serialize>(
	bytes: &'de [u8],
	len: usize,
) -> Result<T, WireError> {
	if bytes.len() != len {
		return Err(WireError::Length);
	}
	let value: T = from_slice(bytes).map_err(|error| match error {
		DecodeError::NonCanonical => WireError::NonCanonical,
		_ => WireError::Malformed,
	})?;
	// One object, one byte string: what umbral-pre would write for it.
	match to_vec(&value) {
		Ok(written) if written == bytes => Ok(value),
		_ => Err(WireError::NonCanonical),
	}
}

/// Deserializes one value that must use all of `bytes`.
pub fn from_slice<'de, T: de::Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, DecodeError> {
	let mut decoder = Decoder { input: bytes, depth: 0 };
	let value = T::deserialize(&mut decoder)?;
	if decoder.input.is_empty() {
		Ok(value)
	} else {
		Err(DecodeError::TrailingBytes)
	}
}

/// What the decoder rejected.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum DecodeError {
	/// The input ended inside a value.
	Eof,
	/// A MessagePack type the umbral objects do not use.
	Unsupported(u8),
	/// Arrays nested deeper than the objects are.
	TooDeep,
	/// Bytes after the value, or array elements the object does not have.
	TrailingBytes,
	/// A `bin` string that is neither a scalar, a compressed point nor a signature: kept from
	/// umbral-pre, which would accept (and may panic on) other point encodings.
	NonCanonical,
	/// Rejected by the object's own deserialization (bad point, bad length, failed check).
	Custom(String),
}

impl fmt::Display for DecodeError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			Self::Eof => f.write_str("unexpected end of input"),
			Self::Unsupported(marker) => write!(f, "unsupported MessagePack marker {marker:#04x}"),
			Self::TooDeep => f.write_str("nesting too deep"),
			Self::TrailingBytes => f.write_str("trailing data"),
			Self::NonCanonical => {
				f.write_str("a field that is not a scalar, compressed point or signature")
			},
			Self::Custom(message) => f.write_str(message),
		}
	}
}

impl core::error::Error for DecodeError {}

impl de::Error for DecodeError {
	fn custom<M: fmt::Display>(message: M) -> Self {
		Self::Custom(message.to_string())
	}
}

/// A `bin` field umbral-pre may see: a scalar, a compressed point (tag 2 or 3) or a signature.
fn canonical_field(bytes: &[u8]) -> Result<&[u8], DecodeError> {
	match (bytes.len(), bytes.first()) {
		(SCALAR_LEN | SIGNATURE_LEN, _) | (POINT_LEN, Some(0x02 | 0x03)) => Ok(bytes),
		_ => Err(DecodeError::NonCanonical),
	}
}

struct Decoder<'de> {
	input: &'de [u8],
	depth: u8,
}

impl<'de> Decoder<'de> {
	fn take(&mut self, count: usize) -> Result<&'de [u8], DecodeError> {
		let (head, rest) = self.input.split_at_checked(count).ok_or(DecodeError::Eof)?;
		self.input = rest;
		Ok(head)
	}

	fn byte(&mut self) -> Result<u8, DecodeError> {
		let (&first, rest) = self.input.split_first().ok_or(DecodeError::Eof)?;
		self.input = rest;
		Ok(first)
	}

	/// A big-endian unsigned length or integer of `width` bytes (1, 2, 4 or 8).
	fn uint(&mut self, width: usize) -> Result<u64, DecodeError> {
		Ok(self
			.take(width)?
			.iter()
			.fold(0u64, |value, byte| (value << 8) | u64::from(*byte)))
	}

	fn len(&mut self, width: usize) -> Result<usize, DecodeError> {
		usize::try_from(self.uint(width)?).map_err(|_| DecodeError::Eof)
	}

	fn seq<V: Visitor<'de>>(&mut self, count: usize, visitor: V) -> Result<V::Value, DecodeError> {
		if self.depth >= MAX_DEPTH {
			return Err(DecodeError::TooDeep);
		}
		self.depth += 1;
		let mut access = Elements { decoder: self, remaining: count };
		let value = visitor.visit_seq(&mut access)?;
		let remaining = access.remaining;
		self.depth -= 1;
		if remaining == 0 {
			Ok(value)
		} else {
			Err(DecodeError::TrailingBytes)
		}
	}
}

struct Elements<'a, 'de> {
	decoder: &'a mut Decoder<'de>,
	remaining: usize,
}

impl<'de> SeqAccess<'de> for Elements<'_, 'de> {
	type Error = DecodeError;

	fn next_element_seed<S: DeserializeSeed<'de>>(
		&mut self,
		seed: S,
	) -> Result<Option<S::Value>, DecodeError> {
		if self.remaining == 0 {
			return Ok(None);
		}
		self.remaining -= 1;
		seed.deserialize(&mut *self.decoder).map(Some)
	}

	fn size_hint(&self) -> Option<usize> {
		Some(self.remaining)
	}
}

impl<'de> de::Deserializer<'de> for &mut Decoder<'de> {
	type Error = DecodeError;

	fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
		let marker = self.byte()?;
		match marker {
			0x00..=0x7f => visitor.visit_u64(u64::from(marker)),
			0xcc => visitor.visit_u64(self.uint(1)?),
			0xcd => visitor.visit_u64(self.uint(2)?),
			0xce => visitor.visit_u64(self.uint(4)?),
			0xcf => visitor.visit_u64(self.uint(8)?),
			0xc0 => visitor.visit_unit(),
			0xc2 => visitor.visit_bool(false),
			0xc3 => visitor.visit_bool(true),
			0x90..=0x9f => self.seq(usize::from(marker & 0x0f), visitor),
			0xdc => {
				let count = self.len(2)?;
				self.seq(count, visitor)
			},
			0xdd => {
				let count = self.len(4)?;
				self.seq(count, visitor)
			},
			0xc4..=0xc6 => {
				let width = 1usize << (marker - 0xc4);
				let len = self.len(width)?;
				visitor.visit_borrowed_bytes(canonical_field(self.take(len)?)?)
			},
			0xa0..=0xbf | 0xd9 => {
				let len = if marker == 0xd9 { self.len(1)? } else { usize::from(marker & 0x1f) };
				let text = core::str::from_utf8(self.take(len)?)
					.map_err(|_| DecodeError::Custom("invalid UTF-8".into()))?;
				visitor.visit_borrowed_str(text)
			},
			other => Err(DecodeError::Unsupported(other)),
		}
	}

	fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
		if self.input.first() == Some(&0xc0) {
			self.input = self.input.get(1..).unwrap_or_default();
			visitor.visit_none()
		} else {
			visitor.visit_some(self)
		}
	}

	fn deserialize_enum<V: Visitor<'de>>(
		self,
		_name: &'static str,
		_variants: &'static [&'static str],
		visitor: V,
	) -> Result<V::Value, DecodeError> {
		// Unit variants only, by index (as rmp-serde writes them); umbral's objects have none,
		// this is for completeness of the subset.
		let index = match self.byte()? {
			marker @ 0x00..=0x7f => u32::from(marker),
			other => return Err(DecodeError::Unsupported(other)),
		};
		visitor.visit_enum(index.into_deserializer())
	}

	fn is_human_readable(&self) -> bool {
		false
	}

	serde::forward_to_deserialize_any! {
		bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
		unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier ignored_any
	}
}

/// Writes `value` in umbral-pre's standard serialization: what `rmp-serde` writes with its
/// defaults (structs as arrays, byte strings as `bin`, minimal integer encodings), for the
/// subset umbral-pre's objects use. For the runtime's offchain workers, which answer requests
/// with cfrags and have no `rmp-serde`.
pub fn to_vec<S: serde::Serialize>(value: &S) -> Result<alloc::vec::Vec<u8>, EncodeError> {
	let mut encoder = Encoder { out: alloc::vec::Vec::new() };
	value.serialize(&mut encoder)?;
	Ok(encoder.out)
}

/// What the encoder cannot write (nothing umbral-pre's objects contain).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum EncodeError {
	/// A value of a kind outside the subset (floats, signed integers, maps, enums, …).
	Unsupported,
	/// A sequence of unknown length, or one too long for an array header.
	Length,
	/// Reported by the value's own serialization.
	Custom(String),
}

impl fmt::Display for EncodeError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			Self::Unsupported => f.write_str("value outside the supported MessagePack subset"),
			Self::Length => f.write_str("sequence of unknown or excessive length"),
			Self::Custom(message) => f.write_str(message),
		}
	}
}

impl core::error::Error for EncodeError {}

impl ser::Error for EncodeError {
	fn custom<M: fmt::Display>(message: M) -> Self {
		Self::Custom(message.to_string())
	}
}

struct Encoder {
	out: alloc::vec::Vec<u8>,
}

impl Encoder {
	fn array(&mut self, len: Option<usize>) -> Result<(), EncodeError> {
		match len.ok_or(EncodeError::Length)? {
			len @ 0..=15 => self.out.push(0x90 | len as u8),
			len => {
				let len = u16::try_from(len).map_err(|_| EncodeError::Length)?;
				self.out.push(0xdc);
				self.out.extend_from_slice(&len.to_be_bytes());
			},
		}
		Ok(())
	}
}

impl ser::Serializer for &mut Encoder {
	type Ok = ();
	type Error = EncodeError;
	type SerializeSeq = Self;
	type SerializeTuple = Self;
	type SerializeTupleStruct = Self;
	type SerializeTupleVariant = ser::Impossible<(), EncodeError>;
	type SerializeMap = ser::Impossible<(), EncodeError>;
	type SerializeStruct = Self;
	type SerializeStructVariant = ser::Impossible<(), EncodeError>;

	fn is_human_readable(&self) -> bool {
		false
	}

	fn serialize_bool(self, value: bool) -> Result<(), EncodeError> {
		self.out.push(if value { 0xc3 } else { 0xc2 });
		Ok(())
	}

	fn serialize_u8(self, value: u8) -> Result<(), EncodeError> {
		self.serialize_u64(value.into())
	}

	fn serialize_u16(self, value: u16) -> Result<(), EncodeError> {
		self.serialize_u64(value.into())
	}

	fn serialize_u32(self, value: u32) -> Result<(), EncodeError> {
		self.serialize_u64(value.into())
	}

	fn serialize_u64(self, value: u64) -> Result<(), EncodeError> {
		let bytes = value.to_be_bytes();
		match value {
			0..=0x7f => self.out.push(value as u8),
			0x80..=0xff => self.out.extend_from_slice(&[0xcc, value as u8]),
			0x100..=0xffff => {
				self.out.push(0xcd);
				self.out.extend_from_slice(&bytes[6..]);
			},
			0x1_0000..=0xffff_ffff => {
				self.out.push(0xce);
				self.out.extend_from_slice(&bytes[4..]);
			},
			_ => {
				self.out.push(0xcf);
				self.out.extend_from_slice(&bytes);
			},
		}
		Ok(())
	}

	fn serialize_bytes(self, value: &[u8]) -> Result<(), EncodeError> {
		match value.len() {
			len @ 0..=0xff => self.out.extend_from_slice(&[0xc4, len as u8]),
			len @ 0x100..=0xffff => {
				self.out.push(0xc5);
				self.out.extend_from_slice(&(len as u16).to_be_bytes());
			},
			len => {
				let len = u32::try_from(len).map_err(|_| EncodeError::Length)?;
				self.out.push(0xc6);
				self.out.extend_from_slice(&len.to_be_bytes());
			},
		}
		self.out.extend_from_slice(value);
		Ok(())
	}

	fn serialize_newtype_struct<V: ser::Serialize + ?Sized>(
		self,
		_name: &'static str,
		value: &V,
	) -> Result<(), EncodeError> {
		value.serialize(self)
	}

	fn serialize_seq(self, len: Option<usize>) -> Result<Self, EncodeError> {
		self.array(len)?;
		Ok(self)
	}

	fn serialize_tuple(self, len: usize) -> Result<Self, EncodeError> {
		self.array(Some(len))?;
		Ok(self)
	}

	fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Self, EncodeError> {
		self.array(Some(len))?;
		Ok(self)
	}

	fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Self, EncodeError> {
		self.array(Some(len))?;
		Ok(self)
	}

	fn serialize_i8(self, _: i8) -> Result<(), EncodeError> {
		Err(EncodeError::Unsupported)
	}
	fn serialize_i16(self, _: i16) -> Result<(), EncodeError> {
		Err(EncodeError::Unsupported)
	}
	fn serialize_i32(self, _: i32) -> Result<(), EncodeError> {
		Err(EncodeError::Unsupported)
	}
	fn serialize_i64(self, _: i64) -> Result<(), EncodeError> {
		Err(EncodeError::Unsupported)
	}
	fn serialize_f32(self, _: f32) -> Result<(), EncodeError> {
		Err(EncodeError::Unsupported)
	}
	fn serialize_f64(self, _: f64) -> Result<(), EncodeError> {
		Err(EncodeError::Unsupported)
	}
	fn serialize_char(self, _: char) -> Result<(), EncodeError> {
		Err(EncodeError::Unsupported)
	}
	fn serialize_str(self, _: &str) -> Result<(), EncodeError> {
		Err(EncodeError::Unsupported)
	}
	fn serialize_none(self) -> Result<(), EncodeError> {
		Err(EncodeError::Unsupported)
	}
	fn serialize_some<V: ser::Serialize + ?Sized>(self, _: &V) -> Result<(), EncodeError> {
		Err(EncodeError::Unsupported)
	}
	fn serialize_unit(self) -> Result<(), EncodeError> {
		Err(EncodeError::Unsupported)
	}
	fn serialize_unit_struct(self, _: &'static str) -> Result<(), EncodeError> {
		Err(EncodeError::Unsupported)
	}
	fn serialize_unit_variant(
		self,
		_: &'static str,
		_: u32,
		_: &'static str,
	) -> Result<(), EncodeError> {
		Err(EncodeError::Unsupported)
	}
	fn serialize_newtype_variant<V: ser::Serialize + ?Sized>(
		self,
		_: &'static str,
		_: u32,
		_: &'static str,
		_: &V,
	) -> Result<(), EncodeError> {
		Err(EncodeError::Unsupported)
	}
	fn serialize_tuple_variant(
		self,
		_: &'static str,
		_: u32,
		_: &'static str,
		_: usize,
	) -> Result<Self::SerializeTupleVariant, EncodeError> {
		Err(EncodeError::Unsupported)
	}
	fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, EncodeError> {
		Err(EncodeError::Unsupported)
	}
	fn serialize_struct_variant(
		self,
		_: &'static str,
		_: u32,
		_: &'static str,
		_: usize,
	) -> Result<Self::SerializeStructVariant, EncodeError> {
		Err(EncodeError::Unsupported)
	}
}

impl ser::SerializeSeq for &mut Encoder {
	type Ok = ();
	type Error = EncodeError;
	fn serialize_element<V: ser::Serialize + ?Sized>(
		&mut self,
		value: &V,
	) -> Result<(), EncodeError> {
		value.serialize(&mut **self)
	}
	fn end(self) -> Result<(), EncodeError> {
		Ok(())
	}
}

impl ser::SerializeTuple for &mut Encoder {
	type Ok = ();
	type Error = EncodeError;
	fn serialize_element<V: ser::Serialize + ?Sized>(
		&mut self,
		value: &V,
	) -> Result<(), EncodeError> {
		value.serialize(&mut **self)
	}
	fn end(self) -> Result<(), EncodeError> {
		Ok(())
	}
}

impl ser::SerializeTupleStruct for &mut Encoder {
	type Ok = ();
	type Error = EncodeError;
	fn serialize_field<V: ser::Serialize + ?Sized>(
		&mut self,
		value: &V,
	) -> Result<(), EncodeError> {
		value.serialize(&mut **self)
	}
	fn end(self) -> Result<(), EncodeError> {
		Ok(())
	}
}

impl ser::SerializeStruct for &mut Encoder {
	type Ok = ();
	type Error = EncodeError;
	fn serialize_field<V: ser::Serialize + ?Sized>(
		&mut self,
		_key: &'static str,
		value: &V,
	) -> Result<(), EncodeError> {
		value.serialize(&mut **self)
	}
	fn end(self) -> Result<(), EncodeError> {
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use umbral_pre::{encrypt, generate_kfrags, reencrypt, DefaultSerialize, SecretKey, Signer};

	struct Fixture {
		capsule: umbral_pre::Capsule,
		kfrag: umbral_pre::KeyFrag,
		cfrag: umbral_pre::CapsuleFrag,
	}

	fn fixture() -> Fixture {
		let alice = SecretKey::random();
		let bob = SecretKey::random();
		let signer = Signer::new(SecretKey::random());
		let (capsule, _) = encrypt(&alice.public_key(), b"secret").expect("encrypts");
		let kfrags = generate_kfrags(&alice, &bob.public_key(), &signer, 1, 1, true, true);
		let verified = kfrags.into_vec().remove(0);
		let kfrag = verified.clone().unverify();
		let cfrag = reencrypt(&capsule, verified).unverify();
		Fixture { capsule, kfrag, cfrag }
	}

	#[test]
	fn reads_what_umbral_writes() {
		let f = fixture();
		let capsule = f.capsule.to_bytes().expect("serializes");
		let kfrag = f.kfrag.to_bytes().expect("serializes");
		let cfrag = f.cfrag.to_bytes().expect("serializes");
		assert_eq!((capsule.len(), kfrag.len(), cfrag.len()), (CAPSULE_LEN, KFRAG_LEN, CFRAG_LEN));
		assert_eq!(decode_capsule(&capsule), Ok(f.capsule));
		assert_eq!(decode_key_frag(&kfrag), Ok(f.kfrag));
		assert_eq!(decode_capsule_frag(&cfrag), Ok(f.cfrag));
	}

	#[test]
	fn rejects_wrong_lengths() {
		let capsule = fixture().capsule.to_bytes().expect("serializes");
		assert_eq!(decode_capsule(&capsule[..CAPSULE_LEN - 1]), Err(WireError::Length));
		assert_eq!(decode_capsule(&[capsule.to_vec(), vec![0]].concat()), Err(WireError::Length));
		assert_eq!(decode_capsule(&[]), Err(WireError::Length));
	}

	#[test]
	fn rejects_every_corrupted_byte_without_panicking() {
		let f = fixture();
		for bytes in [
			f.capsule.to_bytes().expect("serializes"),
			f.kfrag.to_bytes().expect("serializes"),
			f.cfrag.to_bytes().expect("serializes"),
		] {
			for index in 0..bytes.len() {
				for flip in [0x01u8, 0x80, 0xff] {
					let mut corrupted = bytes.to_vec();
					corrupted[index] ^= flip;
					// Any outcome but a panic is fine for the cfrag and kfrag (a flipped
					// scalar bit is still a scalar); a capsule's self-check catches all.
					let capsule = decode_capsule(&corrupted);
					let _ = decode_key_frag(&corrupted);
					let _ = decode_capsule_frag(&corrupted);
					if bytes.len() == CAPSULE_LEN {
						assert!(
							matches!(capsule, Err(WireError::Malformed | WireError::NonCanonical)),
							"byte {index} ^ {flip}: {capsule:?}"
						);
					}
				}
			}
		}
	}

	#[test]
	fn rejects_objects_of_the_wrong_kind() {
		let f = fixture();
		let kfrag = f.kfrag.to_bytes().expect("serializes");
		assert_eq!(decode_capsule_frag(&kfrag), Err(WireError::Length));
		// Right length, wrong content: zeroes, and a capsule padded into a cfrag's length.
		assert_eq!(decode_capsule_frag(&[0u8; CFRAG_LEN]), Err(WireError::Malformed));
		let mut padded = f.capsule.to_bytes().expect("serializes").to_vec();
		padded.resize(CFRAG_LEN, 0);
		assert_eq!(decode_capsule_frag(&padded), Err(WireError::Malformed));
	}

	#[test]
	fn rejects_trailing_elements_and_deep_nesting() {
		// A capsule array with a fourth element.
		let capsule = fixture().capsule.to_bytes().expect("serializes");
		let mut longer = capsule.to_vec();
		longer[0] = 0x94;
		longer.push(0xc0);
		assert!(from_slice::<umbral_pre::Capsule>(&longer).is_err());
		assert_eq!(
			from_slice::<de::IgnoredAny>(&[0x91; 16]),
			Err(DecodeError::TooDeep),
			"nested arrays stop at the depth limit"
		);
		assert_eq!(from_slice::<de::IgnoredAny>(&[0xc4, 0x05, 1]), Err(DecodeError::Eof));
	}

	/// The `bin` fields of a canonical object: `(offset of the marker, length)`.
	fn bin_fields(bytes: &[u8]) -> Vec<(usize, usize)> {
		let (mut fields, mut at) = (Vec::new(), 0);
		while at < bytes.len() {
			match bytes[at] {
				0x90..=0x9f | 0xc2 | 0xc3 => at += 1,
				0xc4 => {
					let len = usize::from(bytes[at + 1]);
					fields.push((at, len));
					at += 2 + len;
				},
				other => panic!("not a canonical umbral object: marker {other:#04x} at {at}"),
			}
		}
		fields
	}

	/// `bytes` with the `bin` field at `field` replaced by `with` (a whole `bin`, header too).
	fn replace_field(bytes: &[u8], (at, len): (usize, usize), with: &[u8]) -> Vec<u8> {
		[&bytes[..at], with, &bytes[at + 2 + len..]].concat()
	}

	fn bin(payload: &[u8]) -> Vec<u8> {
		[&[0xc4, payload.len() as u8][..], payload].concat()
	}

	fn uncompressed(point: &[u8]) -> Vec<u8> {
		umbral_pre::PublicKey::try_from_compressed_bytes(point)
			.expect("a point of a valid object")
			.to_uncompressed_bytes()
			.to_vec()
	}

	/// Every decoder on `bytes`, each under `catch_unwind`: a panic fails the test with the
	/// decoder's name instead of aborting it.
	fn decode_all(bytes: &[u8]) -> [Result<(), WireError>; 3] {
		let run = |name: &str, decode: &dyn Fn(&[u8]) -> Result<(), WireError>| {
			std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode(bytes)))
				.unwrap_or_else(|_| panic!("{name} panicked on {}", hex(bytes)))
		};
		[
			run("decode_capsule", &|b| decode_capsule(b).map(drop)),
			run("decode_key_frag", &|b| decode_key_frag(b).map(drop)),
			run("decode_capsule_frag", &|b| decode_capsule_frag(b).map(drop)),
		]
	}

	fn hex(bytes: &[u8]) -> String {
		bytes.iter().map(|b| format!("{b:02x}")).collect()
	}

	/// A capsule, a kfrag and a cfrag in the standard serialization (made once per test run).
	fn objects() -> &'static [Vec<u8>; 3] {
		static OBJECTS: std::sync::LazyLock<[Vec<u8>; 3]> = std::sync::LazyLock::new(|| {
			let f = fixture();
			[
				f.capsule.to_bytes().expect("serializes").to_vec(),
				f.kfrag.to_bytes().expect("serializes").to_vec(),
				f.cfrag.to_bytes().expect("serializes").to_vec(),
			]
		});
		&OBJECTS
	}

	#[test]
	fn umbral_pre_alone_panics_on_the_identity_at_the_standard_length() {
		// Why the decoder screens fields: the capsule `[E, V, s]` with E the identity (1 byte)
		// and V uncompressed (65 bytes) has the standard length, and umbral-pre's own
		// deserialization panics on it (hashing the identity in the self-check).
		let both = kms_fixtures::hostile::identity_and_uncompressed(&objects()[0]);
		assert_eq!(both.len(), CAPSULE_LEN);
		let umbral = std::panic::catch_unwind(|| {
			<umbral_pre::Capsule as umbral_pre::DefaultDeserialize>::from_bytes(&both)
		});
		assert!(umbral.is_err(), "umbral-pre no longer panics here: revisit the screening");
		assert_eq!(decode_capsule(&both), Err(WireError::NonCanonical));
	}

	#[test]
	fn refuses_every_other_point_encoding_at_the_standard_length() {
		// Each object read by its own decoder (the others refuse its length anyway).
		for (kind, object) in objects().iter().enumerate() {
			let points: Vec<_> =
				bin_fields(&object).into_iter().filter(|(_, len)| *len == 33).collect();
			assert!(points.len() >= 2, "every object has at least two points");
			// The identity in one point field and the uncompressed form of another keep the
			// length: every ordered pair of fields.
			for (i, &first) in points.iter().enumerate() {
				for (j, &second) in points.iter().enumerate() {
					if i == j {
						continue;
					}
					let point = object[second.0 + 2..][..33].to_vec();
					let (low, high) =
						if first.0 < second.0 { (first, second) } else { (second, first) };
					let (low_with, high_with) = if low == first {
						(bin(&[0x00]), bin(&uncompressed(&point)))
					} else {
						(bin(&uncompressed(&point)), bin(&[0x00]))
					};
					// Replace the later field first, so the earlier offset stays valid.
					let bytes =
						replace_field(&replace_field(&object, high, &high_with), low, &low_with);
					assert_eq!(bytes.len(), object.len());
					let result = &decode_all(&bytes)[kind];
					assert_eq!(result, &Err(WireError::NonCanonical), "fields {i}, {j}");
				}
			}
			// SEC1's compact tag, the uncompressed tag at 33 bytes, the identity tag.
			for &(at, _) in &points {
				for tag in [0x00, 0x04, 0x05] {
					let mut bytes = object.clone();
					bytes[at + 2] = tag;
					let result = &decode_all(&bytes)[kind];
					assert_eq!(result, &Err(WireError::NonCanonical), "tag {tag:#04x} at {at}");
				}
			}
		}
	}

	#[test]
	fn refuses_a_capsule_whose_points_cancel() {
		// V = −E: the same x, the other parity. (A real attacker also computes the matching
		// `s`, so that umbral-pre's own self-check passes; the screen comes before it.)
		let mut capsule = objects()[0].clone();
		let e = capsule[3..36].to_vec();
		capsule[38..71].copy_from_slice(&e);
		capsule[38] ^= 0x01;
		assert_eq!(decode_capsule(&capsule), Err(WireError::Degenerate));
		// V = E is another capsule (and fails its self-check), not this case.
		capsule[38] ^= 0x01;
		assert_eq!(decode_capsule(&capsule), Err(WireError::Malformed));
	}

	#[test]
	fn refuses_non_minimal_headers() {
		for object in objects() {
			let fields = bin_fields(&object);
			let (at, len) = fields[0];
			// The same field behind a 16-bit length: one byte longer, same object.
			let wide = [&object[..at], &[0xc5, 0, len as u8][..], &object[at + 2..]].concat();
			// The outer array behind a 16-bit count.
			let count = object[0] & 0x0f;
			let array16 = [&[0xdc, 0, count][..], &object[1..]].concat();
			for bytes in [wide, array16] {
				let capsule = decode_exact::<umbral_pre::Capsule>(&bytes, bytes.len());
				let kfrag = decode_exact::<umbral_pre::KeyFrag>(&bytes, bytes.len());
				let cfrag = decode_exact::<umbral_pre::CapsuleFrag>(&bytes, bytes.len());
				// Exactly one of the three is the right kind; it is read, and refused.
				assert_eq!(
					[capsule.is_ok(), kfrag.is_ok(), cfrag.is_ok()],
					[false; 3],
					"a non-minimal encoding was accepted"
				);
				assert!(
					[capsule.err(), kfrag.err(), cfrag.err()]
						.contains(&Some(WireError::NonCanonical)),
					"the right kind reports NonCanonical"
				);
			}
		}
	}

	mod fuzz {
		//! Bounded fuzzing of the decoders (a few thousand cases per run, in the normal test
		//! command): no input panics, and whatever is accepted is exactly what umbral-pre would
		//! write for the object read.
		use super::*;
		use proptest::prelude::*;

		/// Decodes with every decoder; whatever is accepted must write back to the same bytes.
		fn check(bytes: &[u8]) {
			let _ = decode_all(bytes);
			if let Ok(capsule) = decode_capsule(bytes) {
				assert_eq!(to_vec(&capsule).expect("encodes"), bytes);
			}
			if let Ok(kfrag) = decode_key_frag(bytes) {
				assert_eq!(to_vec(&kfrag).expect("encodes"), bytes);
			}
			if let Ok(cfrag) = decode_capsule_frag(bytes) {
				assert_eq!(to_vec(&cfrag).expect("encodes"), bytes);
			}
		}

		/// A mutation of a valid object: what a fuzzer that knows the format would try.
		#[derive(Debug, Clone)]
		enum Mutation {
			Flip {
				at: usize,
				mask: u8,
			},
			Set {
				at: usize,
				value: u8,
			},
			Truncate {
				len: usize,
			},
			Insert {
				at: usize,
				bytes: Vec<u8>,
			},
			Field {
				index: usize,
				with: Vec<u8>,
			},
			/// The identity in one point field, another point uncompressed: the same length.
			PointPair {
				first: usize,
				second: usize,
			},
		}

		fn mutation() -> impl Strategy<Value = Mutation> {
			let marker = prop_oneof![
				Just(vec![0xc4, 0x01, 0x00]),
				Just(vec![0xc0]),
				Just(vec![0xc5, 0x00, 0x21]),
				Just(vec![0xdc, 0x00, 0x03]),
				Just(vec![0x91]),
				Just(vec![0xc6, 0xff, 0xff, 0xff, 0xff]),
				prop::collection::vec(any::<u8>(), 0..70),
			];
			prop_oneof![
				(0..400usize, 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
				(0..400usize, any::<u8>()).prop_map(|(at, value)| Mutation::Set { at, value }),
				(0..400usize).prop_map(|len| Mutation::Truncate { len }),
				(0..400usize, prop::collection::vec(any::<u8>(), 1..8))
					.prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
				(0..16usize, marker).prop_map(|(index, with)| Mutation::Field { index, with }),
				(0..16usize, 0..16usize)
					.prop_map(|(first, second)| Mutation::PointPair { first, second }),
			]
		}

		fn apply(object: &[u8], mutations: &[Mutation]) -> Vec<u8> {
			let mut bytes = object.to_vec();
			for mutation in mutations {
				match mutation {
					Mutation::Flip { at, mask } if !bytes.is_empty() => {
						let at = at % bytes.len();
						bytes[at] ^= mask;
					},
					Mutation::Set { at, value } if !bytes.is_empty() => {
						let at = at % bytes.len();
						bytes[at] = *value;
					},
					Mutation::Truncate { len } => bytes.truncate(*len),
					Mutation::Insert { at, bytes: extra } => {
						let at = at % (bytes.len() + 1);
						bytes.splice(at..at, extra.iter().copied());
					},
					Mutation::PointPair { first, second } if bytes.len() == object.len() => {
						let points: Vec<_> =
							bin_fields(object).into_iter().filter(|(_, len)| *len == 33).collect();
						let (a, b) = (points[first % points.len()], points[second % points.len()]);
						if a != b {
							let point = object[b.0 + 2..][..33].to_vec();
							let (low, high) = if a.0 < b.0 { (a, b) } else { (b, a) };
							let with = |field| {
								if field == a {
									bin(&[0x00])
								} else {
									bin(&uncompressed(&point))
								}
							};
							bytes = replace_field(
								&replace_field(&bytes, high, &with(high)),
								low,
								&with(low),
							);
						}
					},
					Mutation::Field { index, with } => {
						let fields = bin_fields(object);
						let field = fields[index % fields.len()];
						if bytes.len() == object.len() {
							bytes = replace_field(&bytes, field, with);
						}
					},
					_ => {},
				}
			}
			bytes
		}

		proptest! {
			#![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

			#[test]
			fn mutated_objects(which in 0..3usize, mutations in prop::collection::vec(mutation(), 1..4)) {
				let object = &objects()[which];
				check(&apply(object, &mutations));
			}

			#[test]
			fn random_bytes(bytes in prop_oneof![
				Just(CAPSULE_LEN), Just(KFRAG_LEN), Just(CFRAG_LEN), 0..400usize,
			].prop_flat_map(|len| prop::collection::vec(any::<u8>(), len))) {
				check(&bytes);
			}
		}
	}

	#[test]
	fn writes_what_umbral_writes() {
		let f = fixture();
		assert_eq!(
			to_vec(&f.capsule).expect("encodes"),
			f.capsule.to_bytes().expect("ok").to_vec()
		);
		assert_eq!(to_vec(&f.kfrag).expect("encodes"), f.kfrag.to_bytes().expect("ok").to_vec());
		assert_eq!(to_vec(&f.cfrag).expect("encodes"), f.cfrag.to_bytes().expect("ok").to_vec());
	}

	#[test]
	fn encodes_integers_and_lengths_minimally() {
		assert_eq!(to_vec(&0x7fu64), Ok(vec![0x7f]));
		assert_eq!(to_vec(&0x80u64), Ok(vec![0xcc, 0x80]));
		assert_eq!(to_vec(&0x1234u64), Ok(vec![0xcd, 0x12, 0x34]));
		assert_eq!(to_vec(&0x1_0000u64), Ok(vec![0xce, 0, 1, 0, 0]));
		assert_eq!(to_vec(&(1u64 << 32)), Ok(vec![0xcf, 0, 0, 0, 1, 0, 0, 0, 0]));
		assert_eq!(to_vec(&vec![true; 16]).expect("encodes").get(..3), Some(&[0xdc, 0, 16][..]));
		assert_eq!(to_vec(&-1i32), Err(EncodeError::Unsupported));
	}
}
