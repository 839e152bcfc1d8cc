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

/// Why bytes are not the umbral object they claim to be.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum WireError {
	/// The length is not the object's serialized length.
	Length,
	/// Not the object's MessagePack encoding, or a field that is not a valid point or scalar,
	/// or an object that fails its self-check (a capsule's signature).
	Malformed,
}

/// Reads a `Capsule` (and checks its self-signature, as umbral-pre does on deserialization).
pub fn decode_capsule(bytes: &[u8]) -> Result<umbral_pre::Capsule, WireError> {
	decode_exact(bytes, CAPSULE_LEN)
}

/// Reads a `KeyFrag` (unverified: `KeyFrag::verify` is the holder's check).
pub fn decode_key_frag(bytes: &[u8]) -> Result<umbral_pre::KeyFrag, WireError> {
	decode_exact(bytes, KFRAG_LEN)
}

/// Reads a `CapsuleFrag` (unverified: `CapsuleFrag::verify` is the reader's check).
pub fn decode_capsule_frag(bytes: &[u8]) -> Result<umbral_pre::CapsuleFrag, WireError> {
	decode_exact(bytes, CFRAG_LEN)
}

fn decode_exact<'de, T: de::Deserialize<'de>>(
	bytes: &'de [u8],
	len: usize,
) -> Result<T, WireError> {
	if bytes.len() != len {
		return Err(WireError::Length);
	}
	from_slice(bytes).map_err(|_| WireError::Malformed)
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
				visitor.visit_borrowed_bytes(self.take(len)?)
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
	fn reads_what_the_python_bindings_write() {
		use crate::fixtures::*;
		let key =
			|bytes: &[u8]| umbral_pre::PublicKey::try_from_compressed_bytes(bytes).expect("key");
		let capsule = decode_capsule(&CAPSULE).expect("capsule");
		let kfrag = decode_key_frag(&KFRAG).expect("kfrag");
		let cfrag = decode_capsule_frag(&CFRAG).expect("cfrag");
		kfrag
			.verify(&key(&VERIFYING_KEY), Some(&key(&DELEGATING_KEY)), Some(&key(&RECEIVING_KEY)))
			.expect("the kfrag verifies");
		cfrag
			.verify(&capsule, &key(&VERIFYING_KEY), &key(&DELEGATING_KEY), &key(&RECEIVING_KEY))
			.expect("the cfrag verifies");
		// And the Rust crate writes the same bytes back.
		assert_eq!(&capsule.to_bytes().expect("serializes")[..], &CAPSULE[..]);
		assert_eq!(
			&decode_capsule(&KFRAG_CAPSULE).expect("capsule").to_bytes().expect("ok")[..],
			&KFRAG_CAPSULE[..]
		);
		assert_eq!(KFRAG_CIPHERTEXT.len(), crate::policies::ENCRYPTED_KFRAG_LEN);
	}

	#[test]
	fn chain_keys_decompress_only_in_the_standard_form() {
		use crate::{fixtures::DELEGATING_KEY, staking::UmbralPublicKey};
		let key = UmbralPublicKey(DELEGATING_KEY);
		assert_eq!(
			key.decompress().map(|k| k.to_compressed_bytes().to_vec()),
			Some(DELEGATING_KEY.to_vec())
		);
		// SEC1's compact tag parses in k256 but is not umbral-pre's serialization.
		for tag in [0x00, 0x04, 0x05] {
			let mut other = key;
			other.0[0] = tag;
			assert!(other.decompress().is_none(), "tag {tag:#04x}");
		}
		let mut off_curve = key;
		off_curve.0[1..].fill(0xff);
		assert!(off_curve.decompress().is_none());
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
						assert_eq!(capsule, Err(WireError::Malformed), "byte {index} ^ {flip}");
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

	#[test]
	fn writes_what_umbral_writes() {
		let f = fixture();
		assert_eq!(
			to_vec(&f.capsule).expect("encodes"),
			f.capsule.to_bytes().expect("ok").to_vec()
		);
		assert_eq!(to_vec(&f.kfrag).expect("encodes"), f.kfrag.to_bytes().expect("ok").to_vec());
		assert_eq!(to_vec(&f.cfrag).expect("encodes"), f.cfrag.to_bytes().expect("ok").to_vec());
		// And what the Python bindings wrote, read and written back, byte for byte.
		use crate::fixtures::*;
		let cfrag = decode_capsule_frag(&CFRAG).expect("cfrag");
		assert_eq!(to_vec(&cfrag).expect("encodes"), CFRAG.to_vec());
		let kfrag = decode_key_frag(&KFRAG).expect("kfrag");
		assert_eq!(to_vec(&kfrag).expect("encodes"), KFRAG.to_vec());
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
