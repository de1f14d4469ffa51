"""The Rewards API: `POST /prod/GetRewardInfo` and `POST /prod/GetReward` (SPEC §7)."""
