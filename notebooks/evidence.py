import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Janus-Q: gate evidence")


@app.cell
def _():
    from pathlib import Path

    import altair as alt
    import marimo as mo
    import polars as pl

    from janus_core.data import store
    from janus_core.data.manifest import dataset_choices
    from janus_core.decide.policies import POLICIES
    from janus_core.decide.reward import PROFILES
    from janus_core.evidence.gate import TARGETS, evaluate_gate
    from janus_core.evidence.verify import verify_evidence
    from janus_core.paths import WorkbenchPaths
    from janus_core.pipeline import ExportConfig, export

    return (
        ExportConfig,
        POLICIES,
        PROFILES,
        Path,
        TARGETS,
        WorkbenchPaths,
        alt,
        dataset_choices,
        evaluate_gate,
        export,
        mo,
        pl,
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
    also renders the reviewer's self-contained report, `OUT/report.html`, for the paper target.

    Evidence built from synthetic data is never authoritative: the lane refuses it for paper. Live
    promotion is disabled by the lane's default policy.

    Run headless: `python notebooks/evidence.py --dataset NAME --decisions POLICY-or-PATH --out DIR`.
    """)
    return


@app.cell
def _(POLICIES, PROFILES, WorkbenchPaths, dataset_choices, mo):
    args = mo.cli_args()
    paths = WorkbenchPaths.from_env()
    _options, _value = dataset_choices(paths, args.get("dataset"))
    requested_decisions = str(args.get("decisions") or "type_prior")
    dataset_picker = mo.ui.dropdown(options=_options, value=_value, label="Dataset")
    decisions_picker = mo.ui.dropdown(
        options=sorted(set(POLICIES) | {requested_decisions}), value=requested_decisions,
        label="Decisions (policy or file)",
    )
    profile_picker = mo.ui.dropdown(
        options=list(PROFILES), value=str(args.get("reward-profile") or "hgrm"), label="Reward profile"
    )
    candidate_box = mo.ui.text(value=str(args.get("candidate-id") or "janus-q-candidate"), label="Candidate id")
    dspy_box = mo.ui.checkbox(value=bool(args.get("dspy-bundle")), label="DSPy bundle")
    mo.hstack([dataset_picker, decisions_picker, profile_picker, candidate_box, dspy_box], wrap=True)
    return (
        args,
        candidate_box,
        dataset_picker,
        decisions_picker,
        dspy_box,
        paths,
        profile_picker,
    )


@app.cell
def _(
    ExportConfig,
    Path,
    args,
    candidate_box,
    dataset_picker,
    decisions_picker,
    dspy_box,
    export,
    paths,
    profile_picker,
):
    out_dir = Path(str(args.get("out") or "out/evidence"))
    config = ExportConfig(
        dataset=dataset_picker.value,
        decisions=decisions_picker.value,
        reward_profile=profile_picker.value,
        candidate_id=candidate_box.value,
        dspy_bundle=dspy_box.value,
        out_dir=out_dir,
    )
    result = export(config, paths)
    return out_dir, result


@app.cell
def _(TARGETS, evaluate_gate, mo, out_dir, paths, pl, result, verify_evidence):
    problems = verify_evidence(out_dir, paths)
    verdicts = {t: evaluate_gate(out_dir, t) for t in TARGETS}
    verdict_table = pl.DataFrame(
        [{"target": t, "promotable": v.promotable, "reasons": len(v.reasons)} for t, v in verdicts.items()]
    )
    _ev = result.evidence
    _checked = "every hash, summary and digest checks out" if not problems else f"{len(problems)} problem(s)"
    mo.vstack([
        mo.md(
            f"""
            **Run `{result.run_id}`** written to `{out_dir}`: {_ev['event_car']['event_count']:,} event
            records, {_ev['hgrm_reward']['reward_count']:,} reward records
            ({_ev['hgrm_reward']['event_mapped_count']:,} mapped), provenance
            `{_ev['artifact_authority']['provenance']}`, evidence complete: **{_ev['evidence_complete']}**
            {('(reasons: ' + ', '.join(f'`{r}`' for r in _ev['reasons']) + ')') if _ev['reasons'] else ''}.
            Verification: {_checked}.
            """
        ),
        mo.ui.table(verdict_table, selection=None, label="The lane's verdict, locally"),
    ])
    return problems, verdicts


@app.cell
def _(mo, pl, verdicts):
    target_picker = mo.ui.dropdown(options=list(verdicts), value="paper", label="Reasons for target")
    _rows = [
        {"target": t, "code": r.code, "detail": r.detail} for t, v in verdicts.items() for r in v.reasons
    ]
    reasons = pl.DataFrame(_rows, schema={"target": pl.String, "code": pl.String, "detail": pl.String})
    target_picker
    return reasons, target_picker


@app.cell
def _(mo, pl, reasons, target_picker):
    mo.ui.table(reasons.filter(pl.col("target") == target_picker.value), selection=None, page_size=15)
    return


@app.cell
def _(alt, out_dir, pl):
    caar = pl.read_csv(out_dir / "analysis" / "caar_by_type.csv")
    (
        alt.Chart(caar)
        .mark_bar()
        .encode(
            x=alt.X("caar:Q", title="CAAR (mean CAR of included events)"),
            y=alt.Y("event_type:N", sort="-x", title=None),
            color=alt.condition("datum.caar > 0", alt.value("#2ca02c"), alt.value("#d62728")),
            tooltip=["event_type", "n", alt.Tooltip("caar:Q", format=".4f"),
                     alt.Tooltip("mean_abs_car:Q", format=".4f"), alt.Tooltip("t_stat:Q", format=".2f")],
        )
        .properties(title="CAAR by event type", height=260)
    )
    return (caar,)


@app.cell
def _(mo, out_dir, pl):
    significance = pl.read_csv(out_dir / "analysis" / "significance_by_type.csv")
    mo.ui.table(
        significance.select("event_type", "n", "caar", "t_cs", "p_cs", "bmp_t", "p_bmp", "kp_t", "p_kp",
                            "corrado_z", "p_corrado", "gsign_z", "p_gsign"),
        selection=None, page_size=11, label="Event-study test statistics (analysis/significance_by_type.csv)",
    )
    return (significance,)


@app.cell
def _(alt, out_dir, pl):
    rewards = pl.read_csv(out_dir / "analysis" / "rewards.csv")
    (
        alt.Chart(rewards)
        .mark_bar()
        .encode(
            x=alt.X("final_reward:Q", bin=alt.Bin(maxbins=40), title="final reward"),
            y=alt.Y("count():Q", stack=True, title="decisions"),
            color=alt.Color("direction_gate:N", title="direction gate"),
            tooltip=["direction_gate", "count()"],
        )
        .properties(title="HGRM final reward by direction gate", height=240)
    )
    return (rewards,)


@app.cell
def _(mo, paths, store):
    runs = store.runs(paths)
    mo.ui.table(runs, selection=None, page_size=5, label="Recorded exports (the store's runs table)")
    return (runs,)


@app.cell
def _(
    args,
    caar,
    out_dir,
    problems,
    result,
    rewards,
    runs,
    significance,
    verdicts,
):
    if args.get("out"):
        print(
            f"evidence: run {result.run_id} of {result.evidence['event_car']['event_count']:,} events written to "
            f"{out_dir}; paper promotable: {verdicts['paper'].promotable}; verify problems: {len(problems)}; "
            f"{caar.height} event types, {significance.height} significance rows, {rewards.height:,} reward rows, "
            f"{runs.height} recorded run(s); summary {out_dir / 'evidence-summary.json'}; "
            f"report {out_dir / 'report.html'}"
        )
    return


if __name__ == "__main__":
    app.run()
