"""Training hooks, called exactly as TRL's GRPOTrainer and DSPy call them, and the SFT/GRPO records
on a hand-built dataset whose pre-event market state is known."""

from __future__ import annotations

import datetime as dt
import json
import math

import polars as pl
import pytest

from janus_core.data.dataset import Dataset, DatasetMeta
from janus_core.decide.decisions import format_completion, parse_completion
from janus_core.decide.reward import HgrmConfig, reward_profile
from janus_core.decide.training import (
    SPLITS,
    TrainingConfig,
    TrainingError,
    dspy_metric,
    grpo_reward_func,
    training_records,
    write_training_records,
)

GOOD_LONG = format_completion("long", "dividend", "strong", 0.03, "Bonus shares.", "Such news moved +3%.")
LABELS = {
    "car": [0.03, 0.03, 0.03],
    "direction": ["positive"] * 3,
    "strength": ["strong"] * 3,
    "event_type": ["dividend"] * 3,
}


def test_grpo_reward_func_with_trl_keyword_convention():
    reward = grpo_reward_func()
    assert reward.__name__ == "hgrm_hgrm"
    wrong = format_completion("short", "dividend", "strong", -0.03, "x", "y")
    # TRL: reward_func(prompts=..., completions=..., completion_ids=..., **dataset_columns, trainer_state=...)
    out = reward(
        prompts=["p"] * 3,
        completions=[GOOD_LONG, wrong, "no tags at all"],
        completion_ids=[[1], [2], [3]],
        trainer_state=object(),
        **LABELS,
    )
    assert isinstance(out, list) and all(isinstance(x, float) for x in out)
    # 1 + 0.5 + 0.2 + 20 * 0.0285 + 0.3 ; -2 + 0.5 + 0.2 ; malformed -> hold, no type (an abstention on an
    # event that moved): -0.25 - 0.125 - 0.2 - 0.1
    assert out == pytest.approx([2.57, -1.3, -0.675])


def test_grpo_reward_func_with_chat_completions_and_paper_label_names():
    reward = grpo_reward_func(reward_profile("lane_scaffold"))
    chat = [[{"role": "assistant", "content": GOOD_LONG}]]
    out = reward([[{"role": "user", "content": "p"}]], chat, c=[0.03], d=["positive"], s=["strong"], e=["dividend"])
    assert out == pytest.approx([0.0295 + 0.03 + 0.10])  # the lane's numbers: rationale present


def test_grpo_reward_func_fails_closed_on_missing_labels():
    reward = grpo_reward_func()
    with pytest.raises(TrainingError, match="'strength'"):
        reward(prompts=["p"], completions=[GOOD_LONG], car=[0.03], direction=["positive"], event_type=["dividend"])
    with pytest.raises(TrainingError, match="one value per completion"):
        reward(prompts=["p"], completions=[GOOD_LONG], **LABELS)
    with pytest.raises(TrainingError, match="no CAR label"):
        reward(
            prompts=["p"],
            completions=[GOOD_LONG],
            car=[None],
            direction=["positive"],
            strength=["strong"],
            event_type=["dividend"],
        )


class Obj:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def test_dspy_metric_with_completion_and_with_fields():
    metric = dspy_metric()
    example = Obj(car=0.03, direction="positive", strength="strong", event_type="dividend")
    assert metric(example, Obj(completion=GOOD_LONG)) == pytest.approx(2.57)
    fields = Obj(action="long", event_type="dividend", strength="strong", car=0.03, rationale="r")
    assert metric(example, fields, None) == pytest.approx(2.57)
    assert metric(example, fields, trace=[("step", {}, {})]) == pytest.approx(2.57)
    bad = Obj(action="buy", event_type="dividend", strength="strong", car=0.03)
    assert metric(example, bad) == pytest.approx(-0.675)  # malformed: hold, no type, no CAR: -0.25 - 0.125 - 0.2 - 0.1
    with pytest.raises(TrainingError, match="'car'"):
        metric(Obj(direction="positive", strength="strong"), fields)


def test_dspy_metric_with_real_dspy_objects_if_installed():
    dspy = pytest.importorskip("dspy")
    example = dspy.Example(car=0.03, direction="positive", strength="strong", event_type="dividend", news="n")
    assert dspy_metric()(example.with_inputs("news"), dspy.Prediction(completion=GOOD_LONG)) == pytest.approx(2.57)


def test_real_trl_signature_if_installed():
    """When TRL is installed, its GRPO reward-function call convention accepts ours."""
    trl = pytest.importorskip("trl")
    import inspect

    params = inspect.signature(grpo_reward_func()).parameters
    assert (
        "prompts" in params
        and "completions" in params
        and any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    )
    assert hasattr(trl, "GRPOTrainer")


# ---- training records on a hand-built dataset ------------------------------------------------------
DAYS = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(30)]


def tiny_dataset() -> Dataset:
    prices = pl.DataFrame(
        {
            "symbol": ["A"] * 30,
            "date": DAYS,
            "open": [float(100 + i) for i in range(30)],
            "close": [float(100 + i) for i in range(30)],
        }
    )
    bench = pl.DataFrame({"benchmark": ["IDX"] * 30, "date": DAYS, "close": [1000.0 * 1.01**i for i in range(30)]})
    sec = pl.DataFrame(
        {"symbol": ["A"], "benchmark": ["IDX"], "name": ["Alpha Co"], "industry": ["Banks"], "size_tier": ["large"]}
    )
    meta = DatasetMeta(
        name="tiny",
        version="1",
        provenance="synthetic_generated",
        exchange_timezone="Asia/Shanghai",
        as_of="2024-02-01T00:00:00+08:00",
    )
    return Dataset(meta=meta, events=pl.DataFrame(), prices=prices, benchmarks=bench, securities=sec)


def tiny_labels() -> pl.DataFrame:
    utc = dt.timezone.utc
    return pl.DataFrame(
        {
            "event_id": ["ev1", "ev2", "ev3", "ev4"],
            "symbol": ["A"] * 4,
            "published_at": [
                dt.datetime(2024, 1, 21, 2, 0, tzinfo=utc),
                dt.datetime(2024, 1, 3, 2, 0, tzinfo=utc),
                dt.datetime(2024, 1, 25, 2, 0, tzinfo=utc),
                dt.datetime(2024, 1, 26, 2, 0, tzinfo=utc),
            ],
            "headline": ["Dividend raised", "Early news", "Fine imposed", "Excluded"],
            "body": ["Body one.", None, "Body three.", "x"],
            # ev1 trades on day index 21 (2024-01-22): state = close of 2024-01-21 (index 20)
            "event_day": [DAYS[21], DAYS[3], DAYS[25], DAYS[26]],
            "car": [0.03, 0.001, -0.02, None],
            "direction": ["positive", "positive", "negative", None],
            "strength": ["strong", "weak", "strong", None],
            "event_type": ["dividend", "industry", "violation", "financing"],
            "split": ["train", "train", "test", "test"],
        },
        schema_overrides={"car": pl.Float64},
    )


def test_training_records_prompt_state_and_labels():
    recs = training_records(tiny_dataset(), tiny_labels(), "train")
    assert recs["event_id"].to_list() == ["ev2", "ev1"]  # sorted by published_at
    ev1 = recs.row(1, named=True)
    assert ev1["state_date"] == DAYS[20] and ev1["state_close"] == 120.0
    assert ev1["ret_1d"] == pytest.approx(120 / 119 - 1)
    assert ev1["ret_5d"] == pytest.approx(120 / 115 - 1)
    assert ev1["ret_20d"] == pytest.approx(120 / 100 - 1)
    assert ev1["bench_ret_5d"] == pytest.approx(1.01**5 - 1)
    ev2 = recs.row(0, named=True)
    assert ev2["ret_1d"] == pytest.approx(102 / 101 - 1) and ev2["ret_5d"] is None  # too little history
    prompt = ev1["prompt"]
    for piece in (
        "Alpha Co (A)",
        "industry Banks",
        "size tier large",
        "benchmark IDX",
        "Dividend raised",
        "Body one.",
        "2024-01-21 10:00 Asia/Shanghai",
        "close of 2024-01-21",
        "5-day return +4.35%",
        "20-day return +20.00%",
    ):
        assert piece in prompt, piece
    assert "n/a" in ev2["prompt"]
    target = parse_completion(ev1["completion"])
    assert target.format_ok and (target.action, target.predicted_event_type, target.predicted_strength) == (
        "long",
        "dividend",
        "strong",
    )
    assert target.predicted_car == pytest.approx(0.03)
    assert parse_completion(ev2["completion"]).action == "hold"  # a weak event is held
    assert (ev1["car"], ev1["direction"], ev1["strength"], ev1["event_type"]) == (
        0.03,
        "positive",
        "strong",
        "dividend",
    )


def test_training_records_split_selection_and_errors():
    ds, lab = tiny_dataset(), tiny_labels()
    assert training_records(ds, lab, "test")["event_id"].to_list() == ["ev3"]  # excluded ev4 dropped
    assert training_records(ds, lab)["split"].to_list() == ["train", "train", "test"]
    assert training_records(ds, lab, ["historical"]).height == 0
    with pytest.raises(TrainingError, match="unknown split"):
        training_records(ds, lab, "dev")
    with pytest.raises(TrainingError, match="split"):
        training_records(ds, lab.drop("split"), "train")
    short = training_records(ds, lab, "train", TrainingConfig(lookback_days=(2,), max_body_chars=4))
    assert "ret_2d" in short.columns and "ret_5d" not in short.columns and "Body\n" in short["prompt"][1]


def test_sft_target_completion_earns_the_top_reward():
    recs = training_records(tiny_dataset(), tiny_labels())
    reward = grpo_reward_func(HgrmConfig())
    cols = {k: recs[k].to_list() for k in ("car", "direction", "strength", "event_type")}
    got = reward(prompts=recs["prompt"].to_list(), completions=recs["completion"].to_list(), **cols)
    # the oracle answer: ev1 2.57; ev2 weak held, c_hat rounded to 6 dp: 1 + 0.5 + 0.2 + 0.3; ev3 2.27
    assert got == pytest.approx([2.0, 2.57, 1 + 0.5 + 0.2 + 20 * 0.0185 + 0.3])


def test_write_training_records_is_byte_stable(tmp_path):
    ds, lab = tiny_dataset(), tiny_labels()
    a = write_training_records(ds, lab, tmp_path / "a")
    b = write_training_records(ds, lab, tmp_path / "b", splits=SPLITS[1:])
    assert sorted(a) == ["test", "train", "validation"]
    for split in a:
        assert a[split].read_bytes() == b[split].read_bytes()
    lines = a["train"].read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    assert first["event_id"] == "ev2" and first["published_at"].startswith("2024-01-03T02:00:00")
    assert {"prompt", "completion", "car", "direction", "strength", "event_type", "split"} <= set(first)
    assert a["validation"].read_text() == ""
    assert not math.isnan(first["car"])
