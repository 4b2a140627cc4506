import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Janus-Q: gate evidence")


@app.cell
def _():
    from pathlib import Path

    import marimo as mo
    import polars as pl

    from janus_core.data import store
    from janus_core.data.workspace import dataset_choices
    from janus_core.decide.policies import POLICIES
    from janus_core.decide.reward import PROFILES
    from janus_core.evidence.gate import TARGETS, evaluate_gate
    from janus_core.evidence.verify import verify_evidence
    from janus_core.paths import project_root
    from janus_core.pipeline import ExportConfig, export
    from janus_core.report import charts
    from janus_core.report.formats import display_formats


    def chart_view(chart):
        """An altair chart as marimo's chart element, without selections: it serialises the chart
        without re-validating every inline row (about ten times faster than the default display)."""
        return mo.ui.altair_chart(chart, chart_selection=False, legend_selection=False)

    return (
        ExportConfig,
        POLICIES,
        PROFILES,
        Path,
        TARGETS,
        chart_view,
        charts,
        dataset_choices,
        display_formats,
        evaluate_gate,
        export,
        mo,
        pl,
        project_root,
        store,
        verify_evidence,
    )


@app.cell
def _(mo):
    mo.md(r"""
    # Gate evidence

    The promotion lane lets a strategy candidate move from shadow to paper trading only on Janus
    evidence: one record per event with its CAR and labels (`janus-event-car-v1`), one record per
    decision with its HGRM reward (`janus-hgrm-reward-v1`) and a summary tying them together
    (`janus-q-evidence-v1`). This notebook runs the **same export** as `janus export`, verifies
    every hash of what it wrote and shows what the lane will decide for each target. The export
    also renders the reviewer's self-contained report, `report.html`, for the paper target.

    Nothing is exported until you press **Run export**. Each run is written to
    `out/evidence/<run_id>/` (the run id is a hash of the inputs and the config, so the same
    settings give the same folder and the same bytes), `out/evidence/latest` points at the newest,
    and the run is recorded, with the time it ran, in the research store's `runs` table below.

    Evidence built from synthetic data is never authoritative: the lane refuses it for paper. Live
    promotion is disabled by the lane's default policy.

    Run headless: `python notebooks/evidence.py --dataset NAME --decisions POLICY-or-PATH --out DIR`
    (writes `DIR/<run_id>/` and `DIR/latest`).
    """)
    return


@app.cell
def _(POLICIES, PROFILES, dataset_choices, mo):
    args = mo.cli_args()
    choices = dataset_choices(args.get("dataset"))
    if choices.problem and mo.app_meta().mode == "script":
        raise SystemExit(choices.problem)
    _decisions = str(args.get("decisions") or "type_prior")
    export_form = mo.Html("<p>{dataset} {decisions} {reward_profile}</p><p>{candidate_id} {dspy_bundle}</p>").batch(
        dataset=mo.ui.dropdown(options=list(choices.options), value=choices.value, label="Dataset"),
        decisions=mo.ui.dropdown(options=sorted(set(POLICIES) | {_decisions}), value=_decisions,
                                 label="Decisions (policy or file)"),
        reward_profile=mo.ui.dropdown(options=list(PROFILES), value=str(args.get("reward-profile") or "hgrm"),
                                      label="Reward profile"),
        candidate_id=mo.ui.text(value=str(args.get("candidate-id") or "janus-q-candidate"), label="Candidate id"),
        dspy_bundle=mo.ui.checkbox(value=bool(args.get("dspy-bundle")), label="DSPy bundle"),
    ).form(submit_button_label="Run export", bordered=False)
    mo.vstack([export_form, mo.md(choices.note),
               mo.callout(mo.md(choices.problem), kind="warn") if choices.problem else mo.md("")])
    return args, choices, export_form


@app.cell
def _(
    ExportConfig,
    Path,
    args,
    choices,
    export,
    export_form,
    mo,
    project_root,
):
    _headless = mo.app_meta().mode == "script"
    _settings = export_form.value if export_form.value is not None else (
        export_form.element.value if _headless else None)
    out_root = Path(str(args.get("out"))) if args.get("out") else project_root() / "out" / "evidence"
    if _settings is None or _settings["dataset"] is None:
        result = None
    else:
        result = export(ExportConfig(**_settings, out_dir=out_root, run_folders=True), choices.paths)
    return (result,)


@app.cell
def _(
    TARGETS,
    choices,
    display_formats,
    evaluate_gate,
    mo,
    pl,
    result,
    verify_evidence,
):
    mo.stop(result is None, mo.md("_Choose the settings above and press **Run export**._"))
    problems = verify_evidence(result.out_dir, choices.paths)
    verdicts = {_t: evaluate_gate(result.out_dir, _t) for _t in TARGETS}
    _verdict_table = pl.DataFrame(
        [{"target": _t, "promotable": _v.promotable, "reasons": len(_v.reasons)} for _t, _v in verdicts.items()]
    )
    _ev = result.evidence
    _checked = "every hash, summary and digest checks out" if not problems else f"{len(problems)} problem(s)"
    _reasons = ("(reasons: " + ", ".join(f"`{_r}`" for _r in _ev["reasons"]) + ")") if _ev["reasons"] else ""
    mo.vstack([
        mo.md(f"""
        **Run `{result.run_id}`** written to `{result.out_dir}`: {_ev['event_car']['event_count']:,} event
        records, {_ev['hgrm_reward']['reward_count']:,} reward records
        ({_ev['hgrm_reward']['event_mapped_count']:,} mapped), provenance
        `{_ev['artifact_authority']['provenance']}`, evidence complete: **{_ev['evidence_complete']}** {_reasons}.
        Verification: {_checked}.
        """),
        mo.ui.table(_verdict_table, selection=None, label="The lane's verdict, locally",
                    format_mapping=display_formats(_verdict_table)),
    ])
    return problems, verdicts


@app.cell
def _(mo, verdicts):
    target_picker = mo.ui.dropdown(options=list(verdicts), value="paper", label="Reasons for target")
    target_picker
    return (target_picker,)


@app.cell
def _(mo, pl, target_picker, verdicts):
    _rows = [{"code": _r.code, "detail": _r.detail} for _r in verdicts[target_picker.value].reasons]
    mo.ui.table(pl.DataFrame(_rows, schema={"code": pl.String, "detail": pl.String}), selection=None, page_size=15)
    return


@app.cell
def _(chart_view, charts, display_formats, mo, result):
    mo.stop(result is None)
    _research = result.run.research
    _caar, _tests = _research.get("caar_by_type"), _research.get("significance_by_type")
    _cols = ["event_type", "n", "caar", "t_cs", "p_cs", "bmp_t", "p_bmp", "kp_t", "p_kp", "corrado_z", "p_corrado",
             "gsign_z", "p_gsign"]
    mo.vstack([
        mo.md("### CAAR by event type, with its confidence band (`analysis/caar_by_type.csv`)"),
        mo.md("_Not computed for this run._") if _caar is None else chart_view(charts.caar_by_type_chart(_caar)),
        mo.md("### Event-study test statistics (`analysis/significance_by_type.csv`)"),
        mo.md("_Not computed for this run._") if _tests is None else mo.ui.table(
            _tests.select(_cols), selection=None, page_size=11, format_mapping=display_formats(_tests.select(_cols))),
        mo.md("### HGRM final reward by direction gate"),
        chart_view(charts.histogram_chart(result.run.scored, "final_reward", "direction_gate", bins=40,
                                          title="final reward")),
    ])
    return


@app.cell
def _(choices, display_formats, mo, result, store):
    _ = result  # the table is read again after every export
    _runs = store.runs(choices.paths).sort("created_at", descending=True).select(
        "created_at", "run_id", "dataset", "out_dir", "gate_verdict", "config_hash")
    mo.vstack([mo.md("### Recorded exports, newest first (the research store's `runs` table)"),
               mo.ui.table(_runs, selection=None, page_size=5, format_mapping=display_formats(_runs))])
    return


@app.cell
def _(args, problems, result, verdicts):
    if args.get("out"):
        print(
            f"evidence: run {result.run_id} of {result.evidence['event_car']['event_count']:,} events written to "
            f"{result.out_dir} (latest: {result.out_dir.parent / 'latest'}); paper promotable: "
            f"{verdicts['paper'].promotable}; verify problems: {len(problems)}; "
            f"summary {result.out_dir / 'evidence-summary.json'}; report {result.out_dir / 'report.html'}"
        )
    return


if __name__ == "__main__":
    app.run()
