//! Amounts and durations as people write them.

use crate::{Balance, BlockNumber};

/// Decimals of the chain's token: 1 KMS = 10¹² units.
pub const DECIMALS: u32 = 12;
/// One KMS in units.
pub const UNIT: Balance = 10u128.pow(DECIMALS);

/// Reads an amount of KMS: `10`, `0.25`, `1_000` (at most 12 decimals).
pub fn parse_amount(text: &str) -> Result<Balance, String> {
	let clean: String = text.trim().trim_end_matches("KMS").trim().replace('_', "");
	let (whole, fraction) = match clean.split_once('.') {
		Some((whole, fraction)) => (whole, Some(fraction)),
		None => (clean.as_str(), None),
	};
	let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
	if !digits(whole) || !fraction.is_none_or(digits) {
		return Err(format!("{text:?} is not an amount of KMS (e.g. 10 or 0.25)"));
	}
	let fraction = fraction.unwrap_or_default();
	if fraction.len() > DECIMALS as usize {
		return Err(format!("{text:?} has more than {DECIMALS} decimals"));
	}
	let too_large = || format!("{text:?} is too large");
	let whole: Balance = whole.parse().map_err(|_| too_large())?;
	let padded = format!("{fraction:0<width$}", width = DECIMALS as usize);
	let fraction: Balance = padded.parse().map_err(|_| too_large())?;
	whole
		.checked_mul(UNIT)
		.and_then(|w| w.checked_add(fraction))
		.ok_or_else(too_large)
}

/// Writes an amount in KMS, without trailing zeros: `1.5 KMS`.
pub fn format_amount(amount: Balance) -> String {
	let (whole, fraction) = (amount / UNIT, amount % UNIT);
	if fraction == 0 {
		return format!("{whole} KMS");
	}
	let fraction = format!("{fraction:0width$}", width = DECIMALS as usize);
	format!("{whole}.{} KMS", fraction.trim_end_matches('0'))
}

/// When something ends: a number of blocks from now, or an absolute block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
	/// This many milliseconds from now.
	In(u64),
	/// At this block.
	At(BlockNumber),
}

impl Expiry {
	/// The block this is, for a chain at block `now` making a block every `block_ms`.
	pub fn block(self, now: BlockNumber, block_ms: u64) -> BlockNumber {
		match self {
			Expiry::At(block) => block,
			Expiry::In(ms) => {
				let blocks = ms.div_ceil(block_ms.max(1));
				now.saturating_add(BlockNumber::try_from(blocks).unwrap_or(BlockNumber::MAX))
			},
		}
	}
}

/// Reads an expiry: a duration (`90s`, `30m`, `12h`, `7d`, `2w`) or a block (`#1234`).
pub fn parse_expiry(text: &str) -> Result<Expiry, String> {
	let text = text.trim();
	if let Some(block) = text.strip_prefix('#') {
		return block
			.parse()
			.map(Expiry::At)
			.map_err(|_| format!("{text:?}: a block is # and a number, e.g. #1234"));
	}
	let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
	let (number, unit) = text.split_at(split);
	let seconds: u64 = match unit {
		"s" => 1,
		"m" => 60,
		"h" => 3600,
		"d" => 86_400,
		"w" => 7 * 86_400,
		_ => 0,
	};
	match number.parse::<u64>() {
		Ok(n) if seconds > 0 && n > 0 => {
			Ok(Expiry::In(n.saturating_mul(seconds).saturating_mul(1000)))
		},
		_ => Err(format!(
			"{text:?} is neither a duration (90s, 30m, 12h, 7d, 2w) nor a block (#1234)"
		)),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn amounts_round_trip() {
		assert_eq!(parse_amount("10"), Ok(10 * UNIT));
		assert_eq!(parse_amount("0.25"), Ok(UNIT / 4));
		assert_eq!(parse_amount("1_000 KMS"), Ok(1000 * UNIT));
		assert_eq!(parse_amount("0.000000000001"), Ok(1));
		assert!(parse_amount("0.0000000000001").is_err());
		assert!(parse_amount("-1").is_err());
		assert!(parse_amount("1.").is_err());
		assert!(parse_amount("").is_err());
		assert!(parse_amount("999999999999999999999999999999").is_err());
		assert_eq!(format_amount(10 * UNIT), "10 KMS");
		assert_eq!(format_amount(UNIT + UNIT / 2), "1.5 KMS");
		assert_eq!(format_amount(1), "0.000000000001 KMS");
		for amount in [0, 1, UNIT / 1000, 123 * UNIT + 45] {
			assert_eq!(parse_amount(&format_amount(amount)), Ok(amount));
		}
	}

	#[test]
	fn expiries() {
		assert_eq!(parse_expiry("#1234"), Ok(Expiry::At(1234)));
		assert_eq!(parse_expiry("90s"), Ok(Expiry::In(90_000)));
		assert_eq!(parse_expiry("7d"), Ok(Expiry::In(7 * 86_400_000)));
		assert!(parse_expiry("7").is_err());
		assert!(parse_expiry("0h").is_err());
		assert!(parse_expiry("1y").is_err());
		assert!(parse_expiry("#x").is_err());
		// 6 s blocks: 1 h is 600 blocks; a partial block rounds up.
		assert_eq!(Expiry::In(3_600_000).block(100, 6000), 700);
		assert_eq!(Expiry::In(7_000).block(100, 6000), 102);
		assert_eq!(Expiry::At(5).block(100, 6000), 5);
	}
}
