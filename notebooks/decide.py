import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Janus-Q: decisions from models")


@app.cell
def _():
    import json
    from pathlib import Path

    import marimo as mo
    import polars as pl

    from janus_core import research
    from janus_core.backtest import config, metrics, studies
    from janus_core.backtest import engine as backtest
    from janus_core.data.workspace import dataset_choices
    from janus_core.decide import models, policies
    from janus_core.decide.lineage import write_decisions
    from janus_core.report.charts import interval_chart, line_chart

    return (
        Path,
        backtest,
        config,
        dataset_choices,
        interval_chart,
        json,
        line_chart,
        metrics,
        mo,
        models,
        pl,
        policies,
        research,
        studies,
        write_decisions,
    )


@app.cell
def _(mo):
    mo.md(r"""
    # Decisions from models

    Janus-Q's subject is a model that reads a news event and decides: long, short or hold, with the
    event's type, its strength and the expected abnormal return. Here a model decides on a dataset's
    events, from prompts built only with what was known before the decision day's open (the
    versioned template `janus_core/templates/decision-v1.txt`), and its decisions are scored and
    backtested against the rule policies.

    Model spec: `text-baseline` (TF-IDF + logistic regression, fitted here on the train split),
    `text-baseline:PATH` (a saved one), `openai:MODEL@URL` (any OpenAI-compatible endpoint; key
    from `OPENAI_API_KEY`; completions cached in the research store) or `module:function`.
    Endpoint models run when you press *Decide*; the text baseline runs at once.

    Run headless: `python notebooks/decide.py --dataset NAME --out DIR [--model SPEC] [--split test]
    [--limit N]` writes `DIR/decisions.parquet` (with its lineage), the fitted text baseline and
    `DIR/decide-summary.json`. The same run from the command line: `janus decide`.
    """)
    return


@app.cell
def _(dataset_choices, mo):
    args = mo.cli_args()
    headless = bool(args.get("out"))
    _choices = dataset_choices(args.get("dataset"))
    if _choices.problem and mo.app_meta().mode == "script":
        raise SystemExit(_choices.problem)
    paths = _choices.paths
    dataset_picker = mo.ui.dropdown(options=list(_choices.options), value=_choices.value, label="Dataset")
    model_input = mo.ui.text(value=str(args.get("model") or "text-baseline"), label="Model spec", full_width=True)
    split_picker = mo.ui.dropdown(options=["test", "validation", "train", "historical"],
                                  value=str(args.get("split") or "test"), label="Split")
    limit_input = mo.ui.number(start=0, stop=100_000, step=1, value=int(args.get("limit") or 0),
                               label="Limit (0 = every event)")
    run_button = mo.ui.run_button(label="Decide")
    mo.vstack([mo.hstack([dataset_picker, split_picker, limit_input], wrap=True), model_input, run_button])
    return (
        args,
        dataset_picker,
        headless,
        limit_input,
        model_input,
        paths,
        run_button,
        split_picker,
    )


@app.cell
def _(
    dataset_picker,
    limit_input,
    mo,
    model_input,
    models,
    paths,
    split_picker,
):
    cfg = models.DecideConfig(dataset=dataset_picker.value, model=model_input.value.strip(),
                              split=split_picker.value, limit=int(limit_input.value) or None)
    spec = models.parse_model_spec(cfg.model)
    plan = models.plan_decisions(cfg, paths)
    mo.md(
        f"**{plan.events.height:,}** included events of the **{cfg.split}** split of {plan.ds.name}; "
        f"template `{plan.template.name}` (sha256 `{plan.template.sha256[:16]}`); model kind `{spec.kind}`."
    )
    return cfg, plan, spec


@app.cell
def _(mo, plan):
    _preview = plan.rendered.head(3).join(plan.events.select("event_id", "headline"), on="event_id")
    mo.vstack([
        mo.md("### Rendered prompts (first three events)"),
        mo.accordion({
            f"{_r['headline']} (prompt {_r['prompt_hash'][:12]})": mo.vstack([
                mo.md("**system**"), mo.plain_text(_r["prompt_system"]),
                mo.md("**user**"), mo.plain_text(_r["prompt_user"]),
            ])
            for _r in _preview.iter_rows(named=True)
        }),
    ])
    return


@app.cell
def _(cfg, headless, mo, models, paths, plan, run_button, spec):
    mo.stop(spec.kind == "openai" and not (run_button.value or headless),
            mo.md("_Press **Decide** to send the prompts to the endpoint (cached prompts are not sent again)._"))
    with mo.status.progress_bar(total=plan.events.height, title=f"Deciding with {cfg.model}",
                                remove_on_exit=True) as _bar:
        _seen = [0]

        def _progress(done, total):
            _bar.update(increment=max(0, done - _seen[0]))
            _seen[0] = done

        result = models.decide(cfg, paths, _progress, plan=plan)
    _s = result.stats
    _cost = (f" Prompts {_s.prompts}, cache hits {_s.cache_hits}, requests {_s.requests}, failed after retries "
             f"{_s.failures}." if spec.kind == "openai" else "")
    mo.md(f"**{result.decisions.height:,}** decisions by `{result.lineage['model_id']}`; "
          f"**{result.lineage['malformed']}** malformed.{_cost}")
    return (result,)


@app.cell
def _(mo, pl, result):
    _cols = ["event_id", "action", "predicted_event_type", "predicted_strength", "predicted_car", "format_ok",
             "format_error", "completion"]
    failures = result.decisions.filter(~pl.col("format_ok")).select(_cols)
    mo.vstack([
        mo.md("### Parsed decisions and the raw completions they came from"),
        mo.ui.table(result.decisions.select(_cols), selection=None, page_size=8),
        mo.md(f"### Format failures ({failures.height}): kept as `hold`, scored by the format term"),
        mo.ui.table(failures, selection=None, page_size=5) if failures.height else mo.md("_None._"),
    ])
    return (failures,)


@app.cell
def _(metrics, pl, policies, research, result):
    _ids = result.decisions.select("event_id")
    decisions_by_source = {
        "model": result.decisions,
        **{_p: policies.make_decisions(_p, result.labelled).join(_ids, on="event_id", how="semi")
           for _p in ("random", "type_prior", "sentiment", "always_long", "oracle")},
    }
    window = result.labelled.join(_ids, on="event_id", how="semi")
    boot_cfg = metrics.BootstrapConfig()
    comparison = research.compare_decisions(decisions_by_source, window, boot=boot_cfg)
    comparison = comparison.sort(pl.col("policy") != "model", "policy")
    return comparison, decisions_by_source, window


@app.cell
def _(comparison, interval_chart, mo):
    mo.vstack([
        mo.md("### The model against the rule policies, on the same events (95% bootstrap intervals)"),
        interval_chart(comparison, "policy", "da", "da_lo", "da_hi",
                       x_title="directional accuracy (bootstrap over events)"),
        interval_chart(comparison, "policy", "da_diff", "da_diff_lo", "da_diff_hi",
                       x_title="DA minus random's (paired on events)"),
        interval_chart(comparison, "policy", "mean_reward", "reward_lo", "reward_hi",
                       x_title="mean HGRM reward (bootstrap over events)"),
        comparison,
    ])
    return


@app.cell
def _(
    backtest,
    config,
    decisions_by_source,
    line_chart,
    mo,
    plan,
    result,
    studies,
    window,
):
    _weights = backtest.historical_type_weights(result.labelled)
    bt_cfg = config.BacktestConfig()
    backtests = {
        _p: backtest.run_backtest(plan.ds, _d, window, bt_cfg, _weights)
        for _p, _d in mo.status.progress_bar(sorted(decisions_by_source.items()), title="Backtesting",
                                             remove_on_exit=True)
    }
    backtest_table = studies.compare_policies(backtests)
    mo.vstack([
        mo.md(f"### Backtest on the decided events (hold {bt_cfg.holding_period} days, {bt_cfg.round_trip_cost_bps:g} bps round trip, "
              "half per side, type weights from the historical split)"),
        line_chart(studies.nav_long(backtests), "date", "nav", "policy", x_type="T", x_title="date", y_title="NAV"),
        backtest_table,
    ])
    return (backtest_table,)


@app.cell
def _(
    Path,
    args,
    backtest_table,
    cfg,
    comparison,
    failures,
    json,
    plan,
    result,
    write_decisions,
):
    def _r(x, digits=4):
        return None if x is None else round(float(x), digits)

    summary = {
        "dataset": plan.ds.name,
        "model": cfg.model,
        "model_id": result.lineage["model_id"],
        "split": cfg.split,
        "limit": cfg.limit,
        "decisions": result.decisions.height,
        "malformed": failures.height,
        "template": plan.template.name,
        "actions": {a: int(n) for a, n in result.decisions.group_by("action").len().sort("action").iter_rows()},
        "comparison": {
            _row["policy"]: {k: _r(_row[k]) for k in ("da", "da_lo", "da_hi", "da_diff", "da_diff_lo", "da_diff_hi",
                                                       "mean_reward", "reward_lo", "reward_hi", "eta")}
            for _row in comparison.iter_rows(named=True)
        },
        "backtest": {
            _row["policy"]: {k: _r(_row[k]) for k in ("sharpe", "total_return", "max_drawdown")}
            for _row in backtest_table.iter_rows(named=True)
        },
    }
    if args.get("out"):
        _out = Path(str(args.get("out")))
        _out.mkdir(parents=True, exist_ok=True)
        write_decisions(result.decisions, result.lineage, _out / "decisions.parquet")
        if result.fitted is not None and cfg.model == "text-baseline":
            result.fitted.save(_out / "decisions.text-baseline.json")
        (_out / "decide-summary.json").write_text(json.dumps(summary, sort_keys=True, indent=2) + "\n")
        print(f"decide: {result.decisions.height:,} decisions by {result.lineage['model_id']} on {plan.ds.name} "
              f"({cfg.split}); outputs (decisions.parquet, decide-summary.json) written to {_out}")
    return


if __name__ == "__main__":
    app.run()
