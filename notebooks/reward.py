import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Janus-Q: HGRM reward")


@app.cell
def _():
    import marimo as mo
    import polars as pl

    from janus_core.data.manifest import load_dataset
    from janus_core.data.workspace import dataset_choices
    from janus_core.decide import hacking as hacking_check
    from janus_core.decide import reward
    from janus_core.decide.study import reward_study
    from janus_core.report import charts
    from janus_core.report.formats import display_formats
    from janus_core.study.cache import cached_car_study
    from janus_core.study.car import CarConfig


    def chart_view(chart):
        """An altair chart as marimo's chart element, without selections: it serialises the chart
        without re-validating every inline row (about ten times faster than the default display)."""
        return mo.ui.altair_chart(chart, chart_selection=False, legend_selection=False)

    return (
        CarConfig,
        cached_car_study,
        chart_view,
        charts,
        dataset_choices,
        display_formats,
        hacking_check,
        load_dataset,
        mo,
        pl,
        reward,
        reward_study,
    )


@app.cell
def _(mo):
    mo.md(r"""
    # The Hierarchical-Gated Reward Model (HGRM)

    Stage II of Janus-Q trains a language model with a reward that is *hierarchical and gated*:
    a wrong direction closes the gate on every profit-based term, a wrong or missing event type
    discounts the profit by **alpha**, the profit is cost-aware (**kappa**) and clipped (**rho**),
    misjudged strength is penalised asymmetrically, the predicted CAR earns a Gaussian magnitude
    reward (**sigma**), and well-formed output earns a format reward:

    $R = w_{dir} s_{dir} + w_{evt} r_{evt} + w_{fmt} r_{fmt} + g_{dir}(w_{pnl} m_{evt} r_{pnl} + w_{mag} r_{mag}) - \text{strength penalty}$,
    clipped to $[-\text{clip}, \text{clip}]$.

    The paper publishes the structure but none of the constants. Every one is a slider below; press
    **Score** and the reward of six baseline policies (no language model needed), the paper's
    ablations, and a reward-hacking check (what every policy that ignores the news would score) update once for
    all the settings changed. The lane's reference reward (`lane_scaffold`) is selectable too.

    Run headless: `python notebooks/reward.py --dataset NAME [--out DIR]`; with `--out` it writes
    every policy's scored decisions (`rewards.parquet`), `reward-summary.json`, and the SFT/GRPO
    training records of the train, validation and test splits (`training/<split>.jsonl`).
    """)
    return


@app.cell
def _(dataset_choices, mo):
    args = mo.cli_args()
    choices = dataset_choices(args.get("dataset"))
    if choices.problem and mo.app_meta().mode == "script":
        raise SystemExit(choices.problem)
    dataset_picker = mo.ui.dropdown(options=list(choices.options), value=choices.value, label="Dataset")
    mo.vstack([dataset_picker, mo.md(choices.note),
               mo.callout(mo.md(choices.problem), kind="warn") if choices.problem else mo.md("")])
    return args, choices, dataset_picker


@app.cell
def _(CarConfig, cached_car_study, choices, dataset_picker, load_dataset, mo):
    mo.stop(dataset_picker.value is None, mo.md("_No dataset is built yet: see above._"))
    ds = load_dataset(dataset_picker.value, choices.paths)
    labelled = cached_car_study(ds, CarConfig(), cache_dir=choices.paths.cache_dir)
    return ds, labelled


@app.cell
def _(mo, reward):
    _defaults = reward.HgrmConfig()
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
    _switches = ("use_direction_gate", "use_event_gate", "use_pnl", "use_magnitude", "use_format",
                 "use_strength_penalty")
    _elements = {
        "profile": mo.ui.radio(options=list(reward.PROFILES), value=_defaults.profile, label="Profile", inline=True),
        "split": mo.ui.dropdown(options=["all", "historical", "train", "validation", "test"], value="all",
                                label="Events (split)"),
        **{_name: mo.ui.slider(_lo, _hi, step=_step, value=getattr(_defaults, _name), label=_name, show_value=True)
           for _name, (_lo, _hi, _step) in _ranges.items()},
        "max_completion_chars": mo.ui.number(start=100, stop=100_000, step=100, value=_defaults.max_completion_chars,
                                             label="max_completion_chars"),
        "strength_tau_override": mo.ui.slider(0.0, 0.02, step=0.0005, value=0.0, show_value=True,
                            label="tau override (0 = the labels' own strength)"),
        **{_name: mo.ui.checkbox(value=True, label=_name) for _name in _switches},
    }
    _hgrm = [k for k in _ranges if not k.startswith("scaffold")] + ["max_completion_chars", "strength_tau_override"]
    def _row(names):
        return "<p>" + " ".join("{" + name + "}" for name in names) + "</p>"

    _template = "".join([
        _row(["profile", "split"]),
        "<h4>HGRM constants</h4>", _row(_hgrm),
        "<h4>Ablation switches</h4>", _row(_switches),
        "<h4>Lane scaffold constants</h4>", _row([k for k in _ranges if k.startswith("scaffold")]),
    ])
    reward_form = mo.Html(_template).batch(**_elements).form(submit_button_label="Score", bordered=False)
    reward_form
    return (reward_form,)


@app.cell
def _(mo, reward, reward_form):
    _v = dict(reward_form.value if reward_form.value is not None else reward_form.element.value)
    split = _v.pop("split")
    _problem = ""
    try:
        cfg = reward.HgrmConfig(**{**_v, "max_completion_chars": int(_v["max_completion_chars"]),
                                   "strength_tau_override": _v["strength_tau_override"] or None})
    except ValueError as _err:
        cfg = None
        _problem = str(_err)
    mo.stop(cfg is None, mo.callout(mo.md(f"**These constants are not allowed:** {_problem}"), kind="danger"))
    mo.md(f"Reward configuration hash `{reward.reward_config_hash(cfg)[:16]}`, profile **{cfg.profile}**.")
    return cfg, split


@app.cell
def _(cfg, ds, labelled, reward_study, split):
    study = reward_study(ds, labelled, cfg, split)
    return (study,)


@app.cell
def _(chart_view, charts, display_formats, mo, pl, reward, study):
    _parts = study.table.select(
        "strategy_id", "mean_direction_reward", "mean_event_reward", "mean_pnl_reward", "mean_magnitude_reward",
        "mean_process_reward", (-pl.col("mean_strength_penalty")).alias("mean_strength_penalty"),
    ).unpivot(index="strategy_id", variable_name="component", value_name="mean")
    mo.vstack([
        mo.md("### Mean reward per policy"),
        mo.ui.table(study.table, selection=None, page_size=10, format_mapping=display_formats(study.table)),
        mo.md("### Reward distribution per policy (min, quartiles, median, max)"),
        chart_view(charts.box_chart(reward.reward_quantiles(study.scored), "strategy_id", x_title="final reward")),
        mo.md("### Where each policy's reward comes from"),
        chart_view(charts.stacked_bar_chart(_parts, "strategy_id", "mean", "component",
                                            x_title="mean contribution to R")),
    ])
    return


@app.cell
def _(display_formats, mo, study):
    if study.ablations is None:
        _view = mo.md("_Ablations apply to the `hgrm` profile._")
    else:
        _shown = study.ablations.select("variant", "strategy_id", "mean_final_reward", "mean_pnl_reward",
                                        "direction_gate_pass_ratio", "rank")
        _view = mo.vstack([
            mo.md("### Ablations (the paper's Table 4 variants, plus format and strength)"),
            mo.ui.table(_shown, selection=None, page_size=14, format_mapping=display_formats(_shown)),
        ])
    _view
    return


@app.cell
def _(chart_view, charts, display_formats, hacking_check, mo, pl, study):
    _constants = study.constants
    _verdict = hacking_check.hacking_verdict(_constants)
    _skilled = _verdict["skilled_mean_reward"]
    _best = _constants.row(0, named=True)
    _hacked = _verdict["hackable"]
    _callout = mo.callout(
        mo.md(
            f"**Reward hacking possible:** `{_best['strategy_id']}` ignores the news and scores "
            f"{_best['mean_final_reward']:.4f}, against {_skilled:.4f} for the skilled baseline and 0; "
            f"{_verdict['flagged']} of {_verdict['policies']} no-skill policies are flagged." if _hacked else
            f"**No policy that ignores the news pays.** The best, `{_best['strategy_id']}`, scores "
            f"{_best['mean_final_reward']:.4f}: {_verdict['margin_vs_skilled']:.4f} below the skilled baseline "
            f"({_skilled:.4f}: the paper's direction and type accuracy) and {_verdict['margin_vs_zero']:.4f} below zero."
        ),
        kind="danger" if _hacked else "success",
    )
    _by_action = _constants.filter(pl.col("action").is_not_null()).group_by("action", maintain_order=True).agg(
        pl.col("mean_final_reward").max().alias("best no-skill")).sort("action").with_columns(
        pl.lit(_skilled).alias("skilled baseline"), pl.lit(0.0).alias("zero")).unpivot(index="action")
    _top = _constants.head(15)
    mo.vstack([
        mo.md("### Reward-hacking check: every policy that ignores the news"),
        _callout,
        chart_view(charts.grouped_bar_chart(_by_action, "action", "value", "variable", x_title="mean reward")),
        mo.ui.table(_top, selection=None, format_mapping=display_formats(_top)),
    ])
    return


@app.cell
def _(args, study):
    if args.get("out"):
        _summary = study.write(str(args.get("out")))
        print(f"reward: {_summary['decision_count']:,} decisions of {study.table.height} policies on "
              f"{_summary['dataset']}; outputs (rewards.parquet, reward-summary.json, training/*.jsonl) "
              f"written to {args.get('out')}")
    return


if __name__ == "__main__":
    app.run()
