import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Janus-Q: HGRM reward")


@app.cell
def _():
    import json
    from pathlib import Path

    import altair as alt
    import marimo as mo
    import polars as pl

    from janus_core.data.manifest import dataset_choices, load_dataset
    from janus_core.decide import hacking as hacking_check
    from janus_core.decide import policies, reward, training
    from janus_core.paths import WorkbenchPaths
    from janus_core.study.car import CarConfig
    from janus_core.study.labels import car_study

    return (
        hacking_check,
        CarConfig,
        Path,
        WorkbenchPaths,
        alt,
        car_study,
        dataset_choices,
        json,
        load_dataset,
        mo,
        pl,
        policies,
        reward,
        training,
    )


@app.cell
def _(mo):
    mo.md(r"""
    # The Hierarchical-Gated Reward Model (HGRM)

    Stage II of Janus-Q trains a language model with a reward that is *hierarchical and gated*:
    a wrong direction closes the gate on every profit-based term, a wrong or missing event type
    discounts the profit by **alpha**, the profit is cost-aware (**kappa**, the round-trip cost in bps / 10,000) and clipped (**rho**),
    misjudged strength is penalised asymmetrically, the predicted CAR earns a Gaussian magnitude
    reward (**sigma**), and well-formed output earns a format reward:

    $R = w_{dir} s_{dir} + w_{evt} r_{evt} + w_{fmt} r_{fmt} + g_{dir}(w_{pnl} m_{evt} r_{pnl} + w_{mag} r_{mag}) - \text{strength penalty}$,
    clipped to $[-\text{clip}, \text{clip}]$.

    The paper publishes the structure but none of the constants. Every one is a slider below; the
    reward of six baseline policies (no language model needed), the paper's ablations, and a
    reward-hacking check (what every *constant* policy would score) update as you move them.
    The lane's reference reward (`lane_scaffold`) is selectable too.

    Run headless: `python notebooks/reward.py --dataset NAME [--out DIR]`; with `--out` it writes
    every policy's scored decisions (`rewards.parquet`), `reward-summary.json`, and the SFT/GRPO
    training records of the train, validation and test splits (`training/<split>.jsonl`).
    """)
    return


@app.cell
def _(WorkbenchPaths, dataset_choices, mo):
    args = mo.cli_args()
    paths = WorkbenchPaths.from_env()
    _options, _value = dataset_choices(paths, args.get("dataset"))
    dataset_picker = mo.ui.dropdown(options=_options, value=_value, label="Dataset")
    dataset_picker
    return args, dataset_picker, paths


@app.cell
def _(CarConfig, car_study, dataset_picker, load_dataset, paths):
    ds = load_dataset(dataset_picker.value, paths)
    labelled = car_study(ds, CarConfig())
    return ds, labelled


@app.cell
def _(mo, reward):
    defaults = reward.HgrmConfig()
    #: slider ranges (start, stop, step) per float constant; switches for the ablations
    _ranges = {
        "lambda_dir": (1.05, 5.0, 0.05), "s_dir_neutral": (-1.0, 1.0, 0.05), "neutral_band": (0.0, 0.005, 0.0001),
        "lambda_evt": (0.0, 2.0, 0.05), "lambda_miss": (0.0, 2.0, 0.05), "alpha": (0.05, 0.95, 0.05),
        "round_trip_cost_bps": (0.0, 100.0, 0.5), "rho": (0.005, 0.2, 0.005), "penalty_trade_weak": (0.0, 1.0, 0.05),
        "penalty_skip_strong": (0.0, 1.0, 0.05), "sigma": (0.002, 0.1, 0.002), "fmt_ok_reward": (0.0, 2.0, 0.1),
        "fmt_fail_reward": (-2.0, 0.0, 0.1), "verbosity_penalty": (0.0, 2.0, 0.1), "w_dir": (0.0, 3.0, 0.1),
        "w_evt": (0.0, 3.0, 0.1), "w_fmt": (0.0, 3.0, 0.1), "w_pnl": (0.0, 100.0, 1.0), "w_mag": (0.0, 3.0, 0.1),
        "final_clip": (0.5, 10.0, 0.5),
        "scaffold_direction_match": (-2.0, 2.0, 0.1), "scaffold_direction_mismatch": (-2.0, 2.0, 0.1),
        "scaffold_direction_neutral": (-2.0, 2.0, 0.1), "scaffold_type_match": (0.0, 2.0, 0.1),
        "scaffold_type_mismatch": (0.0, 2.0, 0.1), "scaffold_type_unknown": (0.0, 2.0, 0.1),
        "scaffold_cost_bps": (0.0, 50.0, 0.5), "scaffold_process_bonus": (0.0, 1.0, 0.05),
    }
    constant_sliders = mo.ui.dictionary({
        _name: mo.ui.slider(_lo, _hi, step=_step, value=getattr(defaults, _name), label=_name, show_value=True)
        for _name, (_lo, _hi, _step) in _ranges.items()
    })
    max_chars = mo.ui.number(start=100, stop=100_000, step=100, value=defaults.max_completion_chars,
                             label="max_completion_chars")
    tau_override = mo.ui.slider(0.0, 0.02, step=0.0005, value=0.0, show_value=True,
                                label="tau override (0 = the labels' own strength)")
    switches = mo.ui.dictionary({
        _name: mo.ui.checkbox(value=True, label=_name)
        for _name in ("use_direction_gate", "use_event_gate", "use_pnl", "use_magnitude", "use_format",
                      "use_strength_penalty")
    })
    profile_picker = mo.ui.radio(options=list(reward.PROFILES), value=defaults.profile, label="Profile", inline=True)
    split_picker = mo.ui.dropdown(options=["all", "historical", "train", "validation", "test"], value="all",
                                  label="Events (split)")
    mo.vstack([
        mo.hstack([profile_picker, split_picker], wrap=True),
        mo.accordion({
            "HGRM constants": mo.hstack([constant_sliders[k] for k in _ranges if not k.startswith("scaffold")]
                                        + [max_chars, tau_override], wrap=True),
            "Ablation switches": mo.hstack(list(switches.values()), wrap=True),
            "Lane scaffold constants": mo.hstack([constant_sliders[k] for k in _ranges if k.startswith("scaffold")],
                                                 wrap=True),
        }),
    ])
    return (
        constant_sliders,
        defaults,
        max_chars,
        profile_picker,
        split_picker,
        switches,
        tau_override,
    )


@app.cell
def _(
    constant_sliders,
    max_chars,
    mo,
    profile_picker,
    reward,
    switches,
    tau_override,
):
    _problem = ""
    try:
        cfg = reward.HgrmConfig(
            profile=profile_picker.value, **constant_sliders.value, **switches.value,
            max_completion_chars=int(max_chars.value), strength_tau_override=tau_override.value or None,
        )
    except ValueError as _err:
        cfg = None
        _problem = str(_err)
    mo.stop(cfg is None, mo.callout(mo.md(f"**These constants are not allowed:** {_problem}"), kind="danger"))
    mo.md(f"Reward configuration hash `{reward.reward_config_hash(cfg)[:16]}`, profile **{cfg.profile}**.")
    return (cfg,)


@app.cell
def _(labelled, pl, policies, split_picker):
    _events = labelled if split_picker.value == "all" else labelled.filter(pl.col("split") == split_picker.value)
    decisions = pl.concat([policies.make_decisions(_p, labelled) for _p in policies.POLICIES]).filter(
        pl.col("event_id").is_in(_events["event_id"].implode())
    )
    return (decisions,)


@app.cell
def _(cfg, decisions, labelled, mo, reward):
    scored = reward.score(decisions, labelled, cfg)
    summary = reward.reward_summary(scored)
    mo.vstack([mo.md("### Mean reward per policy"), mo.ui.table(summary, selection=None, page_size=10)])
    return scored, summary


@app.cell
def _(alt, reward, scored):
    _q = reward.reward_quantiles(scored)
    _y = alt.Y("strategy_id:N", title="policy", sort=alt.EncodingSortField("median", order="descending"))
    _base = alt.Chart(_q).encode(y=_y, color=alt.Color("strategy_id:N", legend=None))
    _tooltip = ["strategy_id", "n", "min", "q25", "median", "q75", "max"]
    (
        _base.mark_rule().encode(x=alt.X("min:Q", title="final reward"), x2="max:Q", tooltip=_tooltip)
        + _base.mark_bar(size=14).encode(x="q25:Q", x2="q75:Q", tooltip=_tooltip)
        + _base.mark_tick(size=18, thickness=2).encode(x="median:Q", color=alt.value("black"), tooltip=_tooltip)
    ).properties(title="Reward distribution per policy (min, quartiles, median, max)", width=560, height=220)
    return


@app.cell
def _(alt, pl, summary):
    _parts = summary.select(
        "strategy_id", "mean_direction_reward", "mean_event_reward", "mean_pnl_reward", "mean_magnitude_reward",
        "mean_process_reward", (-pl.col("mean_strength_penalty")).alias("mean_strength_penalty"),
    ).unpivot(index="strategy_id", variable_name="component", value_name="mean")
    (
        alt.Chart(_parts)
        .mark_bar()
        .encode(
            y=alt.Y("strategy_id:N", title="policy"),
            x=alt.X("mean:Q", title="mean contribution to R", stack="zero"),
            color=alt.Color("component:N", title="component"),
            tooltip=["strategy_id", "component", alt.Tooltip("mean:Q", format=".4f")],
        )
        .properties(title="Where each policy's reward comes from", width=560, height=220)
    )
    return


@app.cell
def _(cfg, decisions, labelled, mo, reward):
    if cfg.profile == "hgrm":
        ablations = reward.ablation_table(decisions, labelled, cfg)
        _view = mo.vstack([
            mo.md("### Ablations (the paper's Table 4 variants, plus format and strength)"),
            mo.ui.table(ablations.select("variant", "strategy_id", "mean_final_reward", "mean_pnl_reward",
                                         "direction_gate_pass_ratio", "rank"), selection=None, page_size=14),
        ])
    else:
        ablations = None
        _view = mo.md("_Ablations apply to the `hgrm` profile._")
    _view
    return (ablations,)


@app.cell
def _(alt, cfg, hacking_check, labelled, mo, pl, reward):
    constants = hacking_check.constant_policy_check(labelled, cfg)
    hacking = hacking_check.hacking_verdict(constants)
    _skilled = hacking["skilled_mean_reward"]
    _best = constants.row(0, named=True)
    _callout = mo.callout(
        mo.md(
            f"**Reward hacking possible:** `{_best['strategy_id']}` ignores the news and scores "
            f"{_best['mean_final_reward']:.4f}, against {_skilled:.4f} for the skilled baseline and 0; "
            f"{hacking['flagged']} of {hacking['policies']} no-skill policies are flagged." if hacking["hackable"] else
            f"**No policy that ignores the news pays.** The best, `{_best['strategy_id']}`, scores "
            f"{_best['mean_final_reward']:.4f}: {hacking['margin_vs_skilled']:.4f} below the skilled baseline "
            f"({_skilled:.4f}: the paper's direction and type accuracy) and {hacking['margin_vs_zero']:.4f} below zero."
        ),
        kind="danger" if hacking["hackable"] else "success",
    )
    _by_action = constants.filter(pl.col("kind") == "constant").group_by("action", maintain_order=True).agg(
        pl.col("mean_final_reward").max().alias("best constant")).sort("action").with_columns(
        pl.lit(_skilled).alias("skilled baseline"), pl.lit(0.0).alias("zero"))
    _chart = (
        alt.Chart(_by_action.unpivot(index="action"))
        .mark_bar()
        .encode(y=alt.Y("action:N", title="constant action"), x=alt.X("value:Q", title="mean reward"),
                color=alt.Color("variable:N", title=None), yOffset="variable:N")
        .properties(title="Always trade or never trade, versus the skilled baseline and zero", width=560, height=200)
    )
    mo.vstack([mo.md("### Reward-hacking check: every policy that ignores the news"), _callout, _chart,
               mo.ui.table(constants.head(15), selection=None)])
    return constants, hacking


@app.cell
def _(
    Path,
    ablations,
    args,
    cfg,
    constants,
    defaults,
    ds,
    hacking,
    json,
    labelled,
    pl,
    reward,
    scored,
    split_picker,
    summary,
    training,
):
    def _r(x):
        return None if x is None else round(float(x), 4)

    reward_summary_json = {
        "dataset": ds.name,
        "profile": cfg.profile,
        "split": split_picker.value,
        "config_is_default": cfg == defaults,
        "reward_config_hash": reward.reward_config_hash(cfg),
        "decision_count": scored.height,
        "mapped_count": int(scored["mapped"].sum()),
        "clipped_count": int(scored["clipped"].fill_null(False).sum()),
        "mean_final_reward": {r["strategy_id"]: _r(r["mean_final_reward"]) for r in summary.iter_rows(named=True)},
        "direction_gate_pass_ratio": {
            r["strategy_id"]: _r(r["direction_gate_pass_ratio"]) for r in summary.iter_rows(named=True)
        },
        "ablation_mean_final_reward": None if ablations is None else {
            f"{r['variant']}/{r['strategy_id']}": _r(r["mean_final_reward"]) for r in ablations.iter_rows(named=True)
        },
        "no_skill_policy_count": constants.height,
        "best_no_skill_policy": hacking["best_policy"],
        "best_no_skill_mean_reward": _r(hacking["best_mean_reward"]),
        "skilled_mean_reward": _r(hacking["skilled_mean_reward"]),
        "hacking_margin_vs_skilled": _r(hacking["margin_vs_skilled"]),
        "hacking_margin_vs_zero": _r(hacking["margin_vs_zero"]),
        "reward_hackable": hacking["hackable"],
    }
    if args.get("out"):
        _out = Path(str(args.get("out")))
        _out.mkdir(parents=True, exist_ok=True)
        scored.sort("strategy_id", "event_id", maintain_order=True).write_parquet(_out / "rewards.parquet")
        _records = training.write_training_records(ds, labelled, _out / "training")
        reward_summary_json["training_records"] = {
            _split: sum(1 for _ in _path.open(encoding="utf-8")) for _split, _path in _records.items()
        }
        (_out / "reward-summary.json").write_text(json.dumps(reward_summary_json, sort_keys=True, indent=2) + "\n")
        print(f"reward: {scored.height:,} decisions of {summary.height} policies on {ds.name}; "
              f"outputs (rewards.parquet, reward-summary.json, training/*.jsonl) written to {_out}")
    pl.DataFrame({"key": list(reward_summary_json), "value": [str(v)[:80] for v in reward_summary_json.values()]})
    return


if __name__ == "__main__":
    app.run()
