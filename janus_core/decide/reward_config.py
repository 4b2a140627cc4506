"""The constants of the Hierarchical-Gated Reward Model (HGRM) and of the lane's reference reward:
:class:`HgrmConfig` with the reason for every default, the named profiles, and the payload and hash
that pin a configuration in the evidence. The formulas that use them are in
``janus_core.decide.reward``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from janus_core.hashing import H, decimal_str

ProfileName = Literal["hgrm", "lane_scaffold"]
PROFILES: tuple[str, ...] = ("hgrm", "lane_scaffold")


class RewardError(ValueError):
    """The labels or the reward configuration break a rule the reward relies on."""


class HgrmConfig(BaseModel):
    """Every constant of the reward. The paper (arXiv:2602.19919) publishes the HGRM's structure but
    none of its numbers; each default below is ours, with its reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    profile: ProfileName = Field("hgrm", description="Which reward: the paper's HGRM or the lane's scaffold.")

    # Direction (hard gate)
    lambda_dir: float = Field(
        2.0,
        gt=1.0,
        description=(
            "Penalty factor for the opposite direction (paper: > 1). 2.0 makes a wrong call cost twice what a "
            "right call earns: a coin-flip direction scores 0.5 - 0.5 * 2 = -0.5 per event, more than an "
            "always-trading policy collects from the gated PnL and magnitude terms on its right half plus the "
            "format credit, so always-trade does not pay (constant_policy_check; with 1.5 it did, +0.11 on the "
            "demo). The direction score alone turns positive above a 2/3 direction accuracy."
        ),
    )
    neutral_band: float = Field(
        0.0005,
        ge=0.0,
        description=(
            "A hold's predicted CAR within +/- this band expresses no direction: the label step's own "
            "neutral band (LabelConfig.neutral_band, 5 bps), so predicting the true CAR always matches."
        ),
    )
    s_dir_neutral: float = Field(
        -0.25,
        description=(
            "Direction score when exactly one of predicted/true direction is neutral, e.g. an abstention (a "
            "hold with no predicted CAR or one inside the neutral band) on an event that moved. Negative, so "
            "it also closes the direction gate: an abstention earns no PnL and no magnitude credit for a "
            "predicted 0 that happens to be near a small CAR (with 0 it did, +0.12 on the demo). -0.25: "
            "saying nothing costs less than a wrong call (-lambda_dir) but is never free; a hold that states "
            "the right direction through its predicted CAR scores +1."
        ),
    )
    # Event type (soft gate)
    lambda_evt: float = Field(
        0.5, ge=0.0, description=("Penalty for a wrong event type: half the credit of a right one, a confident error.")
    )
    lambda_miss: float = Field(
        0.25,
        ge=0.0,
        description=(
            "Penalty for no event type: smaller than lambda_evt, abstaining is better than a wrong type "
            "but still worse than answering."
        ),
    )
    alpha: float = Field(
        0.5,
        gt=0.0,
        lt=1.0,
        description=(
            "PnL multiplier m_evt when the type is wrong or missing (paper: in (0,1)); 0.5 halves profit "
            "earned without understanding the event."
        ),
    )
    # Cost-aware PnL
    round_trip_cost_bps: float = Field(
        15.0,
        ge=0.0,
        description=(
            "kappa of the paper: the round-trip trading cost, in basis points of traded value (the one "
            "cost fact of the workbench, LabelConfig.round_trip_cost_bps; the export passes the same "
            "value to labels, reward and backtest). r_pnl subtracts it as a return, / 10,000."
        ),
    )
    rho: float = Field(
        0.05,
        gt=0.0,
        description=(
            "PnL clip: twice the largest published mean |CAR| by type (risk_warning 0.0511 aside, about "
            "2x 0.025), so tail events cannot dominate a batch."
        ),
    )
    strength_tau_override: float | None = Field(
        None,
        gt=0.0,
        description=(
            "Re-derive the true strength as |c| >= this (to study the label step's tau without "
            "relabelling); None uses the labels' own ``strength`` (set by LabelConfig.tau)."
        ),
    )
    penalty_trade_weak: float = Field(
        0.2,
        ge=0.0,
        description=(
            "Penalty for trading a weak event: the larger side of the asymmetry, since such a trade loses "
            "the cost for certain."
        ),
    )
    penalty_skip_strong: float = Field(
        0.1,
        ge=0.0,
        description=(
            "Penalty for holding a strong event: half the weak-trade penalty, since a skipped trade loses "
            "only an opportunity (the forgone PnL already counts)."
        ),
    )
    # Magnitude
    sigma: float = Field(
        0.02,
        gt=0.0,
        description=(
            "Width of the Gaussian magnitude reward, about the published mean |CAR| (0.019..0.051): an "
            "error of one typical CAR keeps roughly half the credit."
        ),
    )
    # Format / process
    fmt_ok_reward: float = Field(1.0, description="Format reward for a well-formed structured output.")
    fmt_fail_reward: float = Field(
        -1.0,
        description=(
            "Format reward for a malformed output: negative, so unparseable text is worse than any well-formed answer."
        ),
    )
    max_completion_chars: int = Field(
        4000,
        gt=0,
        description=("Completions longer than this are verbose: about 1,000 tokens, ample for three short sections."),
    )
    verbosity_penalty: float = Field(0.5, ge=0.0, description="Subtracted from r_fmt for a verbose completion.")
    # Weights
    w_dir: float = Field(1.0, ge=0.0, description="Weight of s_dir: direction is the top of the hierarchy.")
    w_evt: float = Field(0.5, ge=0.0, description="Weight of r_evt: type matters, less than direction.")
    w_fmt: float = Field(0.2, ge=0.0, description="Weight of r_fmt: enough to learn the format, too small to farm.")
    w_pnl: float = Field(
        20.0,
        ge=0.0,
        description=(
            "Weight of r_pnl, which is in return units: 1/rho, so a trade at the clip earns as much as a "
            "right direction."
        ),
    )
    w_mag: float = Field(
        0.3,
        ge=0.0,
        description=(
            "Weight of r_mag (in [0,1]): a calibration bonus below the type weight; with the other weights "
            "the best possible R is exactly final_clip (1 + 0.5 + 0.2 + 1 + 0.3 = 3), so the clip is a "
            "safety bound that never flattens a perfect answer."
        ),
    )
    final_clip: float = Field(
        3.0,
        gt=0.0,
        description=(
            "Final reward clipped to [-final_clip, final_clip]: the lane's bound, keeps GRPO advantages sane."
        ),
    )
    # Ablation switches (the paper's Table 4 variants, plus format and strength)
    use_direction_gate: bool = Field(True, description="False: g_dir = 1 always (paper: w/o direction gate).")
    use_event_gate: bool = Field(True, description="False: r_evt = 0 and m_evt = 1 (paper: w/o event-type gate).")
    use_pnl: bool = Field(True, description="False: r_pnl = 0 (paper: w/o PnL).")
    use_magnitude: bool = Field(True, description="False: r_mag = 0 (paper: w/o magnitude).")
    use_format: bool = Field(True, description="False: r_fmt = 0.")
    use_strength_penalty: bool = Field(True, description="False: no strength penalty.")
    # The lane's scaffold profile (lane-contract.md)
    scaffold_direction_match: float = Field(1.0, description="Lane scaffold: direction gate value on a match.")
    scaffold_direction_mismatch: float = Field(-1.0, description="Lane scaffold: direction gate value on a mismatch.")
    scaffold_direction_neutral: float = Field(-0.5, description="Lane scaffold: direction gate value when neutral.")
    scaffold_type_match: float = Field(1.0, description="Lane scaffold: event-type gate value on a match.")
    scaffold_type_mismatch: float = Field(0.4, description="Lane scaffold: event-type gate value on a mismatch.")
    scaffold_type_unknown: float = Field(0.7, description="Lane scaffold: event-type gate value with no type.")
    scaffold_cost_bps: float = Field(5.0, ge=0.0, description="Lane scaffold: cost in basis points.")
    scaffold_process_bonus: float = Field(
        0.10, description="Lane scaffold: process reward when a rationale is present."
    )

    @property
    def kappa(self) -> float:
        """The paper's kappa in return units: ``round_trip_cost_bps / 10,000``."""
        return self.round_trip_cost_bps / 10_000.0

    @model_validator(mode="after")
    def _penalties_ordered(self) -> "HgrmConfig":
        if self.lambda_miss > self.lambda_evt:
            raise ValueError("lambda_miss must not exceed lambda_evt: a missing type cannot cost more than a wrong one")
        return self


def reward_profile(name: str) -> HgrmConfig:
    """The named reward configuration: ``hgrm`` (the defaults above) or ``lane_scaffold`` (the lane's
    reference reward, lane-contract.md)."""
    if name not in PROFILES:
        raise RewardError(f"unknown reward profile {name!r}; choose one of {', '.join(PROFILES)}")
    return HgrmConfig(profile=name)


def reward_config_payload(cfg: HgrmConfig) -> dict[str, str]:
    """Every constant as a string (numbers as plain decimals), the lane's ``reward_config`` form."""
    out: dict[str, str] = {}
    for key, value in cfg.model_dump().items():
        if isinstance(value, bool) or value is None or isinstance(value, str):
            out[key] = "none" if value is None else str(value).lower() if isinstance(value, bool) else value
        else:
            out[key] = decimal_str(value)
    return out


def reward_config_hash(cfg: HgrmConfig) -> str:
    """``H`` of :func:`reward_config_payload`: one hash pins every constant."""
    return H(reward_config_payload(cfg))
