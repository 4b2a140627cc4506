import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Janus-Q: robustness sweep")


@app.cell
def _():
    import json
    from pathlib import Path

    import altair as alt
    import marimo as mo
    import polars as pl

    from janus_core import sweep
    from janus_core.data import store
    from janus_core.data.workspace import dataset_choices
    from janus_core.report.charts import histogram_chart

    return (
        Path,
        alt,
        dataset_choices,
        histogram_chart,
        json,
        mo,
        pl,
        store,
        sweep,
    )


@app.cell
def _(mo):
    mo.md(r"""
    # Robustness sweep

    The paper leaves a dozen constants open. A sweep runs every configuration of a grid (CAR windows,
    label thresholds, HGRM constants, backtest settings) through the same pipeline as an export and
    asks two questions: does the candidate's result survive the neighbouring settings, and how much
    of the best result is the luck of a large search? The answers are the **Deflated Sharpe Ratio**
    (the best Sharpe ratio against the best that as many skill-less trials would show), the
    **probability of backtest overfitting** (PBO, by combinatorially symmetric cross-validation: how
    often the in-sample best configuration is below the median out of sample) and **Hansen's SPA
    test** (can any configuration beat the benchmark once the search is accounted for?).

    Large sweeps run from the terminal (`janus sweep --grid GRID.toml ...`, on a process pool or a
    Ray cluster) and are recorded in the research store; pick one here, or run a grid in this
    process. Run headless: `python notebooks/sweep.py --dataset NAME --out DIR [--grid GRID.toml]`.
    """)
    return


@app.cell
def _(Path, dataset_choices, mo, store):
    args = mo.cli_args()
    _picked = dataset_choices(args.get("dataset"))
    if _picked.problem and mo.app_meta().mode == "script":
        raise SystemExit(_picked.problem)
    paths = _picked.paths
    _value = _picked.value
    dataset_picker = mo.ui.dropdown(options=list(_picked.options), value=_value, label="Dataset")
    recorded = store.sweeps(paths, _value)
    _run = "run the grid below in this process"
    _choices = {_run: None}
    for _r in recorded.sort("created_at", descending=True).iter_rows(named=True):
        _choices[f"{_r['created_at']} {_r['candidate_id']} ({_r['n_configurations']} configs) {_r['out_dir']}"] = _r["out_dir"]
    _headless = bool(args.get("out"))
    sweep_picker = mo.ui.dropdown(options=_choices, value=_run if _headless or len(_choices) == 1 else list(_choices)[1],
                                  label="Sweep")
    _grid_file = Path(str(args.get("grid") or Path(mo.notebook_dir() or "notebooks").resolve().parent / "grids" / "demo.toml"))
    grid_editor = mo.ui.code_editor(value=_grid_file.read_text(encoding="utf-8"), language="toml", label="Grid (TOML)")
    decisions_input = mo.ui.text(value=str(args.get("decisions") or "type_prior"), label="Decisions (policy or file)")
    run_button = mo.ui.run_button(label="Run the grid")
    mo.vstack([dataset_picker, sweep_picker, grid_editor, mo.hstack([decisions_input, run_button])])
    return (
        args,
        dataset_picker,
        decisions_input,
        grid_editor,
        paths,
        run_button,
        sweep_picker,
    )


@app.cell
def _(
    Path,
    args,
    dataset_picker,
    decisions_input,
    grid_editor,
    mo,
    paths,
    pl,
    run_button,
    sweep,
    sweep_picker,
):
    if sweep_picker.value is not None:
        results, _returns, overfitting, manifest = sweep.load_sweep(Path(sweep_picker.value))
    else:
        mo.stop(not (args.get("out") or run_button.value),
                mo.md("Pick a recorded sweep, or press **Run the grid**."))
        _grid = sweep.parse_grid(grid_editor.value, where="grid")
        _settings = sweep.SweepSettings(dataset=dataset_picker.value, decisions=decisions_input.value)
        _out = Path(str(args.get("out") or "out")) / "sweep"
        with mo.status.progress_bar(total=_grid.size, title="Sweep", remove_on_exit=True) as _bar:
            _seen = {"done": 0}

            def _progress(p):
                _bar.update(increment=p.done - _seen["done"], subtitle=f"{p.done - p.failed} ok, {p.failed} failed")
                _seen["done"] = p.done

            _run = sweep.run_sweep(_grid, _settings, paths, workers=1, progress=_progress)
        sweep.publish_sweep(_run, _out, paths)
        results, _returns, overfitting, manifest = sweep.load_sweep(_out)
    params = sweep.parameter_columns(results)
    ok = results.filter(pl.col("status") == "ok")
    return manifest, ok, overfitting, params, results


@app.cell
def _(manifest, mo, overfitting, results):
    def _f(x, spec=".3f"):
        return "n/a" if x is None else format(x, spec)

    _best = overfitting.get("best") or {}
    _dsr, _pbo, _spa = overfitting.get("dsr", {}), overfitting.get("pbo", {}), overfitting.get("spa", {})
    mo.md(f"""
    ## {manifest['candidate_id']} on {manifest['dataset']['name']}: {results.height} configurations

    {overfitting['n_ok']} ok, {overfitting['n_failed']} failed (engine `{manifest['engine']}`, sweep
    `{manifest['sweep_id'][:16]}`). Best configuration: Sharpe **{_f(_best.get('sharpe'), '.2f')}**
    with {', '.join(f'`{k}` = {v}' for k, v in (_best.get('params') or {}).items())}.

    - **Deflated Sharpe Ratio** {_f(_dsr.get('dsr'))}: the probability that its true Sharpe ratio
      exceeds {_f(_dsr.get('sharpe0'), '.2f')}, the best that {_dsr.get('n_trials', 'n/a')} skill-less trials with
      this spread of Sharpe ratios would show ({_dsr.get('skipped', '')}).
    - **PBO** {_f(_pbo.get('pbo'))} over {overfitting.get('aligned', {}).get('n_distinct_return_series', 'n/a')}
      distinct return series on {overfitting.get('aligned', {}).get('n_dates', 'n/a')} common days
      {_pbo.get('skipped', '')}.
    - **SPA** p-value (consistent) {_f(_spa.get('pvalue_consistent'))} against
      {_spa.get('benchmark', 'the benchmark')}: small means some configuration beats it after the search
      {_spa.get('skipped', '')}.
    """)
    return


@app.cell
def _(mo, params):
    _metrics = ["sharpe", "calmar", "total_return", "max_drawdown", "mean_reward", "da", "n_trades"]
    x_picker = mo.ui.dropdown(options=params, value=params[0], label="x")
    y_picker = mo.ui.dropdown(options=params, value=params[1] if len(params) > 1 else params[0], label="y")
    metric_picker = mo.ui.dropdown(options=_metrics, value="sharpe", label="Metric")
    others_picker = mo.ui.radio(options=["averaged", "fixed at the best configuration"], value="averaged",
                                label="Other parameters", inline=True)
    mo.hstack([x_picker, y_picker, metric_picker, others_picker], wrap=True)
    return metric_picker, others_picker, x_picker, y_picker


@app.cell
def _(
    alt,
    metric_picker,
    mo,
    others_picker,
    overfitting,
    params,
    pl,
    results,
    sweep,
    x_picker,
    y_picker,
):
    _best = (overfitting.get("best") or {}).get("params") or {}
    _fixed = ({p: _best[p] for p in params if p not in (x_picker.value, y_picker.value)}
              if others_picker.value != "averaged" else {})
    heat = sweep.heatmap_table(results, x_picker.value, y_picker.value, metric_picker.value, _fixed)
    _plot = heat.select(pl.col(x_picker.value).cast(pl.String).alias("x"), pl.col(y_picker.value).cast(pl.String).alias("y"),
                        pl.col(metric_picker.value).alias("value"), "n")
    _chart = alt.Chart(alt.Data(values=_plot.to_dicts())).mark_rect().encode(
        x=alt.X("x:O", title=x_picker.value), y=alt.Y("y:O", title=y_picker.value),
        color=alt.Color("value:Q", title=metric_picker.value, scale=alt.Scale(scheme="redblue", domainMid=0)),
        tooltip=["x:O", "y:O", "value:Q", "n:Q"],
    ).properties(width=420, height=280)
    mo.vstack([mo.md(f"### {metric_picker.value} over `{x_picker.value}` and `{y_picker.value}`"), _chart])
    return (heat,)


@app.cell
def _(alt, histogram_chart, mo, ok, results, sweep):
    deflated = sweep.deflated_table(results)
    _sr0 = float(deflated["sharpe0"][0]) if deflated.height else 0.0
    _hist = histogram_chart(ok.select("sharpe"), "sharpe", bins=30, title="annualised Sharpe ratio")
    _rule = alt.Chart(alt.Data(values=[{"x": _sr0}])).mark_rule(color="#c0392b", strokeDash=[6, 3]).encode(x="x:Q")
    mo.vstack([
        mo.md(f"""### The Sharpe ratios of the trials
        The dashed line is the DSR threshold {_sr0:.2f}: the Sharpe ratio the best of {ok.height}
        skill-less trials with this spread would reach by luck. A configuration is worth a second look
        only well to its right."""),
        _hist + _rule,
    ])
    return (deflated,)


@app.cell
def _(mo, overfitting, pl, results, sweep):
    _best = (overfitting.get("best") or {}).get("config_hash")
    near = sweep.neighbours(results, _best) if _best else pl.DataFrame()
    mo.vstack([
        mo.md("""### The best configuration's neighbours
        Every configuration one grid step away in one parameter. A robust result keeps its Sharpe
        ratio there; a lucky corner drops off."""),
        mo.ui.table(near, selection=None),
    ])
    return (near,)


@app.cell
def _(deflated, mo, overfitting, pl):
    survivors = deflated.filter(pl.col("survives"))
    _pbo = (overfitting.get("pbo") or {}).get("pbo")
    _spa = (overfitting.get("spa") or {}).get("pvalue_consistent")
    mo.vstack([
        mo.md(f"""### Configurations that survive
        {survivors.height} of {deflated.height} configurations have a Deflated Sharpe Ratio of at least
        0.95 against this sweep. Across the sweep, PBO is {'n/a' if _pbo is None else f'{_pbo:.3f}'} and
        the SPA p-value {'n/a' if _spa is None else f'{_spa:.3f}'}: a survivor of a sweep whose PBO is
        high or whose SPA p-value is large is still suspect."""),
        mo.ui.table(survivors if survivors.height else deflated.head(10), selection=None),
    ])
    return (survivors,)


@app.cell
def _(
    Path,
    args,
    heat,
    json,
    manifest,
    metric_picker,
    near,
    overfitting,
    results,
    survivors,
    x_picker,
    y_picker,
):
    def _r(x, d=4):
        return None if x is None else round(float(x), d)

    summary = {
        "dataset": manifest["dataset"]["name"],
        "candidate_id": manifest["candidate_id"],
        "grid": manifest["grid"],
        "n_configurations": results.height,
        "n_ok": overfitting["n_ok"],
        "n_failed": overfitting["n_failed"],
        "best": {"params": (overfitting.get("best") or {}).get("params"),
                 "sharpe": _r((overfitting.get("best") or {}).get("sharpe"))},
        "dsr": {k: _r(overfitting["dsr"].get(k)) for k in ("dsr", "sharpe0", "trial_sharpe_variance")},
        "pbo": _r(overfitting["pbo"].get("pbo")),
        "spa_pvalues": [_r(overfitting["spa"].get(k), 3) for k in ("pvalue_lower", "pvalue_consistent", "pvalue_upper")],
        "aligned": overfitting.get("aligned"),
        "heatmap": {"x": x_picker.value, "y": y_picker.value, "metric": metric_picker.value,
                    "values": [[str(r[x_picker.value]), str(r[y_picker.value]), _r(r[metric_picker.value])]
                               for r in heat.iter_rows(named=True)]},
        "neighbours": [[r["parameter"], r["value"], _r(r["delta"])] for r in near.iter_rows(named=True)],
        "n_survivors": survivors.height,
    }
    if args.get("out"):
        _out = Path(str(args.get("out")))
        _out.mkdir(parents=True, exist_ok=True)
        (_out / "sweep-summary.json").write_text(json.dumps(summary, sort_keys=True, indent=2) + "\n")
        print(f"sweep: {results.height} configurations of {manifest['candidate_id']}; outputs written to {_out}")
    return


if __name__ == "__main__":
    app.run()
