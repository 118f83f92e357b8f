"""``dvfo report`` end to end on a small matrix (the full report is `dvfo report`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvfo_core.evaluation.report import ReportConfig, generate


@pytest.mark.slow
def test_report_writes_tables_targets_experiments_and_figures(
    profile_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DVFO_POLICY_CACHE", str(tmp_path / "cache"))
    cfg = ReportConfig(
        devices=["jetson-nano"],
        models=["resnet18"],
        bandwidths=(2.0,),
        traces=("wifi-fades",),
        frames=12,
        steps=400,
        etas=(0.5, 0.9),
        out_md=tmp_path / "results.md",
        fig_dir=tmp_path / "figures",
        progress=False,
        profile_dir=profile_file.parent,
    )
    result = generate(cfg)
    md = (tmp_path / "results.md").read_text()
    for section in (
        "## Targets",
        "## Thinking-while-moving vs blocking",
        "## Generalisation to unseen traces",
        "## Q-heads: flat, factored, routed",
        "## Decision time",
        "| jetson-nano | MAXN | resnet18 | 2 Mbps |",
        "## Per scenario at eta = 0.9 (energy first)",
        "## Energy-latency curves over eta, per pairing",
        "| a bandwidth trace with a 88 s gap | `ConfigError:",
        "| a board/mode/model without a shipped policy | `PolicyError:",
        "| bag without /dvfo/telemetry | `BagError:",
        "| policy of jetson-nano run on jetson-xavier-nx | `PolicyError:",
    ):
        assert section in md
    assert result["scenarios"] == 4  # 2 links x 2 etas
    t = result["targets"]
    assert set(t["met"]) >= {"win_share", "oracle_mean", "energy_first", "oracle_bound", "accuracy"}
    assert t["oracle_beaten"] == []  # the oracle's space holds every baseline's choice
    # the sensitivity of the wins to the blocking baselines' decision time is measured, not assumed
    assert 0.0 <= t["win_share_free_decisions"] <= 1.0 and t["worst_over_free_decisions"] > 0
    assert "decisions took no time on the frame's path" in md
    for fig in ("cost_by_link.png", "twm_vs_blocking_curves.png", "sweep_jetson_nano_MAXN_resnet18.png"):
        assert (tmp_path / "figures" / fig).stat().st_size > 10_000
    curves = (tmp_path / "figures" / "twm_vs_blocking_curves.csv").read_text()
    assert "thinking-while-moving," in curves and "blocking," in curves
    assert set(result["heads"]) == {"flat", "factored", "routed"}
    outputs = {h: result["heads"][h]["outputs"] for h in result["heads"]}
    assert outputs["factored"] < outputs["routed"] < outputs["flat"]
