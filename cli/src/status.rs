//! `kms status`: the chain and everything of yours on it.

use super::{parse_account, policy_hex, stake::node_status, Context, Outcome};
use clap::Args;
use kms_client::{units::format_amount, AccountId};

#[derive(Debug, Args)]
pub(super) struct Status {
	/// Whose status [default: your account, read from the keyring without the passphrase].
	#[arg(long, value_parser = parse_account)]
	account: Option<AccountId>,
}

impl Status {
	pub(super) async fn run(self, ctx: &Context) -> Outcome {
		let account = match self.account {
			Some(account) => account,
			None => ctx.my_address()?,
		};
		let client = ctx.connect().await?;
		let best = client.best_block().await?;
		let finalized = client.finalized_block().await?;
		let period_length = client.period_length().await?;
		let request_price = client.request_price().await?;
		let balance = client.free_balance(&account).await?;
		let (node_text, node_json) = node_status(&client, &account).await?;
		let ids = client.policies_of(&account).await?;
		let mut policies = Vec::new();
		let mut active = 0;
		for id in &ids {
			if let Some(policy) = client.policy(*id).await? {
				let status = super::policy::status_text(&policy, best);
				let is_active = status == "active";
				active += usize::from(is_active);
				policies.push(serde_json::json!({
					"id": policy_hex(id),
					"label": String::from_utf8_lossy(&policy.label.0),
					"status": status,
					"end": policy.end,
				}));
			}
		}
		let text = format!(
			"chain    {} head {best}, finalized {finalized}{}, period {} ({period_length} blocks), \
			 a request slot costs {}\n\
			 account  {account}, {} free\n{node_text}\npolicies {} owned, {active} active (`kms policies`)",
			ctx.url,
			if best.saturating_sub(finalized) > kms_client::MAX_FINALITY_LAG {
				format!(" (finality lags {} blocks)", best - finalized)
			} else {
				String::new()
			},
			best / period_length,
			format_amount(request_price),
			format_amount(balance),
			ids.len(),
		);
		ctx.print(
			text,
			serde_json::json!({
				"chain": {
					"url": ctx.url,
					"best": best,
					"finalized": finalized,
					"period": best / period_length,
					"period_length": period_length,
					"request_price": request_price.to_string(),
				},
				"account": account.to_string(),
				"free_balance": balance.to_string(),
				"staking": node_json,
				"policies": policies,
			}),
		);
		Ok(())
	}
}
