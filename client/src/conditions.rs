//! Access conditions as people write them, and back.
//!
//! ```text
//! not-before(BLOCK)   not-after(BLOCK)   requester-is(ADDRESS)   min-balance(KMS)
//! pay-per-access(ADDRESS, KMS)   all(C, C, …)   any(C, C, …)   not(C)
//! ```
//! e.g. `any(requester-is(5FHne…), all(min-balance(100), not-after(90000)))`. Several
//! conditions given together must all hold. The chain stores the tree flat in prefix order
//! (`All { count }`/`Any { count }` followed by their `count` subtrees, `Not` by one); [`parse`] produces
//! that form and [`render`] reads it back.

use crate::{
	runtime::runtime_types::kms_primitives::policies::Condition as ChainCondition,
	units::{format_amount, parse_amount},
	AccountId, Balance, BlockNumber,
};
use std::str::FromStr;

/// A condition in the chain's form.
pub type Condition = ChainCondition<AccountId, Balance, BlockNumber>;

/// The most subtrees one `all`/`any` may have (its count is a byte on chain).
const MAX_CHILDREN: usize = u8::MAX as usize;
/// How deep the parser follows nested conditions: far more than any chain accepts (the
/// runtime's `Policies::MaxConditionDepth` decides), few enough that no input exhausts the
/// stack.
const MAX_NESTING: usize = 32;

/// Reads `expressions` (each one condition; together they must all hold) into the chain's
/// flat prefix order. The chain checks size and depth limits itself.
pub fn parse(expressions: &[String]) -> Result<Vec<Condition>, String> {
	let mut flat = Vec::new();
	if expressions.len() > 1 {
		let count = u8::try_from(expressions.len()).map_err(|_| "too many conditions")?;
		flat.push(Condition::All { count });
	}
	for expression in expressions {
		let mut parser = Parser { text: expression, at: 0, depth: 0 };
		parser.condition(&mut flat)?;
		parser.skip_space();
		if parser.at != expression.len() {
			return Err(parser.error("unexpected text after the condition"));
		}
	}
	Ok(flat)
}

struct Parser<'a> {
	text: &'a str,
	at: usize,
	/// How many conditions enclose the one being read.
	depth: usize,
}

impl Parser<'_> {
	fn error(&self, what: &str) -> String {
		const SHOWN: usize = 60;
		let mut quoted: String = self.text.chars().take(SHOWN).collect();
		if quoted.len() < self.text.len() {
			quoted.push('…');
		}
		let column = self.text[..self.at].chars().count() + 1;
		format!("condition {quoted:?}, at character {column}: {what}")
	}

	fn skip_space(&mut self) {
		let rest = &self.text[self.at..];
		self.at += rest.len() - rest.trim_start().len();
	}

	fn eat(&mut self, c: char) -> Result<(), String> {
		self.skip_space();
		if self.text[self.at..].starts_with(c) {
			self.at += c.len_utf8();
			Ok(())
		} else {
			Err(self.error(&format!("expected {c:?}")))
		}
	}

	fn peek(&mut self, c: char) -> bool {
		self.skip_space();
		self.text[self.at..].starts_with(c)
	}

	/// A word: a name or an argument (up to `(`, `)`, `,` or space).
	fn word(&mut self) -> Result<&str, String> {
		self.skip_space();
		let rest = &self.text[self.at..];
		let len = rest
			.find(|c: char| "(),".contains(c) || c.is_whitespace())
			.unwrap_or(rest.len());
		if len == 0 {
			return Err(self.error("expected a name or a value"));
		}
		self.at += len;
		Ok(&rest[..len])
	}

	fn block(&mut self) -> Result<BlockNumber, String> {
		let word = self.word()?;
		word.trim_start_matches('#')
			.parse()
			.map_err(|_| format!("{word:?} is not a block number"))
	}

	fn account(&mut self) -> Result<AccountId, String> {
		let word = self.word()?;
		AccountId::from_str(word).map_err(|_| format!("{word:?} is not an SS58 address"))
	}

	fn amount(&mut self) -> Result<Balance, String> {
		parse_amount(self.word()?)
	}

	fn condition(&mut self, out: &mut Vec<Condition>) -> Result<(), String> {
		if self.depth >= MAX_NESTING {
			return Err(self.error(&format!("conditions nested more than {MAX_NESTING} deep")));
		}
		self.depth += 1;
		let parsed = self.nested(out);
		self.depth -= 1;
		parsed
	}

	/// One condition and, for `not`, `all` and `any`, the conditions inside it.
	fn nested(&mut self, out: &mut Vec<Condition>) -> Result<(), String> {
		let name = self.word()?.to_ascii_lowercase();
		self.eat('(')?;
		match name.as_str() {
			"not-before" => out.push(Condition::NotBefore { block: self.block()? }),
			"not-after" => out.push(Condition::NotAfter { block: self.block()? }),
			"requester-is" => out.push(Condition::RequesterIs { account: self.account()? }),
			"min-balance" => out.push(Condition::MinBalance { amount: self.amount()? }),
			"pay-per-access" => {
				let to = self.account()?;
				self.eat(',')?;
				out.push(Condition::PayPerAccess { to, amount: self.amount()? });
			},
			"not" => {
				out.push(Condition::Not);
				self.condition(out)?;
			},
			"all" | "any" => {
				let at = out.len();
				out.push(Condition::All { count: 0 });
				let mut count = 0usize;
				loop {
					self.condition(out)?;
					count += 1;
					if !self.peek(',') {
						break;
					}
					self.eat(',')?;
				}
				if count > MAX_CHILDREN {
					return Err(self.error("more than 255 alternatives"));
				}
				out[at] = if name == "all" {
					Condition::All { count: count as u8 }
				} else {
					Condition::Any { count: count as u8 }
				};
			},
			other => {
				return Err(format!(
					"unknown condition {other:?}: use not-before, not-after, requester-is, \
				 min-balance, pay-per-access, all, any or not"
				))
			},
		}
		self.eat(')')
	}
}

/// Writes the chain's flat conditions as one expression (`anyone` when empty).
pub fn render(flat: &[Condition]) -> String {
	if flat.is_empty() {
		return "anyone".into();
	}
	let mut at = 0;
	let mut out = String::new();
	render_one(flat, &mut at, &mut out);
	if at < flat.len() {
		out.push_str(" …");
	}
	out
}

fn render_one(flat: &[Condition], at: &mut usize, out: &mut String) {
	let Some(condition) = flat.get(*at) else {
		out.push('?');
		return;
	};
	*at += 1;
	match condition {
		Condition::NotBefore { block } => out.push_str(&format!("not-before({block})")),
		Condition::NotAfter { block } => out.push_str(&format!("not-after({block})")),
		Condition::RequesterIs { account: who } => out.push_str(&format!("requester-is({who})")),
		Condition::MinBalance { amount } => out
			.push_str(&format!("min-balance({})", format_amount(*amount).trim_end_matches(" KMS"))),
		Condition::PayPerAccess { to, amount } => out.push_str(&format!(
			"pay-per-access({to}, {})",
			format_amount(*amount).trim_end_matches(" KMS")
		)),
		Condition::Not => {
			out.push_str("not(");
			render_one(flat, at, out);
			out.push(')');
		},
		Condition::All { count: n } | Condition::Any { count: n } => {
			out.push_str(if matches!(condition, Condition::All { .. }) { "all(" } else { "any(" });
			for i in 0..*n {
				if i > 0 {
					out.push_str(", ");
				}
				render_one(flat, at, out);
			}
			out.push(')');
		},
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::units::UNIT;

	fn alice() -> AccountId {
		crate::dev::alice().public_key().to_account_id()
	}

	#[test]
	fn expressions_become_prefix_order() {
		let a = alice();
		let flat = parse(&[
			format!("any(requester-is({a}), all(min-balance(100), not(not-after(#90))))"),
			"not-before(5)".into(),
		])
		.unwrap();
		assert_eq!(
			flat,
			vec![
				Condition::All { count: 2 },
				Condition::Any { count: 2 },
				Condition::RequesterIs { account: a },
				Condition::All { count: 2 },
				Condition::MinBalance { amount: 100 * UNIT },
				Condition::Not,
				Condition::NotAfter { block: 90 },
				Condition::NotBefore { block: 5 },
			]
		);
		let text = render(&flat);
		assert_eq!(
			text,
			format!(
				"all(any(requester-is({a}), all(min-balance(100), not(not-after(90)))), \
				 not-before(5))"
			)
		);
		assert_eq!(parse(&[text]).unwrap(), flat, "rendering reads back");
		assert_eq!(render(&[]), "anyone");
		assert_eq!(parse(&[]).unwrap(), vec![]);
	}

	#[test]
	fn payment_takes_an_account_and_an_amount() {
		let a = alice();
		assert_eq!(
			parse(&[format!("pay-per-access({a}, 0.5)")]).unwrap(),
			vec![Condition::PayPerAccess { to: a, amount: UNIT / 2 }]
		);
	}

	#[test]
	fn mistakes_are_explained() {
		// Deep enough to exhaust the stack of a parser without a limit.
		let deep = "not(".repeat(100_000);
		for (text, says) in [
			("requester-is(nobody)", "not an SS58 address"),
			("not-after(soon)", "not a block number"),
			("sometimes(1)", "unknown condition"),
			("all()", "expected a name"),
			("not-before(5", "expected ')'"),
			("not-before(5) extra", "unexpected text"),
			("min-balance(1.2.3)", "not an amount"),
			(deep.as_str(), "nested more than 32 deep"),
		] {
			let error = parse(&[text.to_string()]).unwrap_err();
			assert!(error.contains(says), "{error}");
			assert!(error.len() < 200, "the message quotes a long condition short: {error}");
		}
		let error = parse(&["ü not-before(1)".to_string()]).unwrap_err();
		assert!(
			error.ends_with("at character 3: expected '('"),
			"columns count characters: {error}"
		);
	}
}
