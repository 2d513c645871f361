from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from judge_server import JudgeServer, judge_server
from memalign.errors import InputError
from memalign_bench.meter import CountingProxy
from test_curves import DATA, needs_data

__all__ = ["judge_server"]


def _post(url: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        result: dict[str, object] = json.loads(reply.read())
        return result


def test_proxy_counts_each_tag_and_forwards_unchanged(judge_server: JudgeServer) -> None:
    body = {"model": "fake", "messages": [{"role": "user", "content": "hi"}]}
    with CountingProxy(judge_server.url) as proxy:
        direct = _post(judge_server.url + "/v1/chat/completions", body)
        via = _post(proxy.base_url("mipro.10.align") + "/chat/completions", body)
        _post(proxy.base_url("mipro.10.align") + "/chat/completions", body)
        _post(proxy.base_url("gepa.10.align") + "/chat/completions", body)
        tallies = proxy.tallies()
    assert via == direct
    assert judge_server.received == 4
    assert tallies["mipro.10.align"].requests == 2
    assert tallies["mipro.10.align"].prompt_tokens == 200
    assert tallies["mipro.10.align"].completion_tokens == 20
    assert tallies["gepa.10.align"].requests == 1
    assert proxy.tally("never-used").requests == 0


def test_proxy_counts_failed_upstream_calls() -> None:
    with CountingProxy("http://127.0.0.1:9") as proxy:  # nothing listens on the discard port
        with pytest.raises(urllib.error.HTTPError) as caught:
            _post(proxy.base_url("x") + "/chat/completions", {"model": "m"})
        assert caught.value.code == 502
        assert proxy.tally("x").failed == 1


def test_proxy_rejects_untagged_paths(judge_server: JudgeServer) -> None:
    with CountingProxy(judge_server.url) as proxy:
        with pytest.raises(urllib.error.HTTPError) as caught:
            _post(f"http://127.0.0.1:{proxy.port}/v1/chat/completions", {})
        assert caught.value.code == 404
        assert judge_server.received == 0
        with pytest.raises(ValueError):
            proxy.base_url("a/b")


def test_unknown_method_is_an_input_error() -> None:
    from memalign_bench.baselines import BaselineConfig

    with pytest.raises(InputError, match="copro"):
        BaselineConfig("code_review_python", methods=("memalign", "copro"))


@needs_data
def test_every_method_is_counted_at_the_far_end_and_a_rerun_resumes(
    judge_server: JudgeServer, tmp_path: Path
) -> None:
    pytest.importorskip("dspy")
    from memalign_bench.baselines import BaselineConfig, run_baselines

    config = BaselineConfig(
        "code_review_python",
        model=f"{judge_server.url}/v1#fake",
        shards=(0, 4),
        test_limit=6,
        threads=2,
    )
    results = run_baselines(config, DATA, tmp_path, embedder="hash")
    steps = results["steps"]
    assert set(steps) == {
        "seed:0", "memalign:0", "memalign:4", "memalign-reviewed:4", "mipro:4", "gepa:4",
        "simba:4",
    }  # fmt: skip
    # The two warm-up calls (HTTP and LiteLLM) are the only requests outside the steps.
    counted = 2 + sum(
        s["align"]["llm_calls"] + s["test"]["llm_calls"] + s.get("review", {}).get("llm_calls", 0)
        for s in steps.values()
    )
    assert counted == judge_server.received
    for key in ("mipro:4", "gepa:4", "simba:4"):
        assert steps[key]["align"]["llm_calls"] > 0, key
        assert steps[key]["test"]["llm_calls"] == 6, key  # one call per test record
        assert 0.0 <= steps[key]["unseen_quality"] <= 1.0
        assert 0.0 <= steps[key]["unseen_balanced"] <= 1.0 and len(steps[key]["answers"]) == 6
    assert steps["seed:0"]["align"]["llm_calls"] == 0
    assert steps["memalign:4"]["align"]["llm_calls"] > 0
    assert len(steps["memalign:4"]["answers"]) == 6
    # The review flow: the judge's verdicts come first (one call per record, counted apart) and
    # alignment makes the reflection calls only, no judge pass of its own.
    reviewed = steps["memalign-reviewed:4"]
    assert reviewed["review"]["llm_calls"] == 4
    assert 0 < reviewed["align"]["llm_calls"] <= 3
    assert reviewed["align"]["llm_calls"] < steps["memalign:4"]["align"]["llm_calls"]
    assert sum(results["dataset"]["test_labels"].values()) == 6
    # The proxy's count and memalign's own meter agree on memalign's calls.
    assert (
        steps["memalign:4"]["align"]["memalign_meter"]["llm_calls"]
        == steps["memalign:4"]["align"]["llm_calls"]
    )
    saved = json.loads((tmp_path / f"{config.run_name}.json").read_text())
    assert saved["environment"]["dspy"] == "3.4.1"
    # Each step names its processor: a later run may resume the file on another machine.
    assert {step["cpu"] for step in steps.values()} == {saved["environment"]["cpu"]}
    assert saved["config"]["shards"] == [0, 4]

    before = judge_server.received
    run_baselines(config, DATA, tmp_path, embedder="hash")
    assert judge_server.received == before + 2  # only the warm-ups: every step was checkpointed

    from memalign_bench.baselines_report import markdown, plot

    report = markdown(results, "memalign-bench baselines code_review_python")
    assert "| 4 | DSPy MIPROv2 (auto=light) | done |" in report
    assert f"| {steps['mipro:4']['align']['llm_calls']} |" in report
    assert "REFERENCE price" in report
    plot(results, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"


@needs_data
def test_an_optimiser_over_its_budget_is_reported_as_a_lower_bound(
    judge_server: JudgeServer, tmp_path: Path
) -> None:
    pytest.importorskip("dspy")
    from memalign_bench.baselines import BaselineConfig, run_baselines

    config = BaselineConfig(
        "code_review_python",
        model=f"{judge_server.url}/v1#fake",
        methods=("simba",),
        shards=(4,),
        test_limit=2,
        step_budget=1.5,
    )
    step = run_baselines(config, DATA, tmp_path, embedder="hash")["steps"]["simba:4"]
    assert step["status"] == "interrupted"
    assert step["stopped_by"] == "step budget"
    assert step["align"]["llm_calls"] > 0
    assert step["align"]["wall_seconds"] == pytest.approx(1.5, abs=1.0)
    assert step["unseen_quality"] is None

    before = judge_server.received
    run_baselines(config, DATA, tmp_path, embedder="hash")  # same budget: not retried
    assert judge_server.received == before + 2  # the warm-ups only


def test_a_closed_tag_is_refused_without_reaching_the_server(judge_server: JudgeServer) -> None:
    body = {"model": "fake", "messages": [{"role": "user", "content": "hi"}]}
    with CountingProxy(judge_server.url) as proxy:
        _post(proxy.base_url("simba.4.align") + "/chat/completions", body)
        proxy.close_tag("simba.4.align")
        with pytest.raises(urllib.error.HTTPError) as caught:
            _post(proxy.base_url("simba.4.align") + "/chat/completions", body)
        assert caught.value.code == 410
        _post(proxy.base_url("simba.4.test") + "/chat/completions", body)
        assert proxy.tally("simba.4.align").requests == 1
    assert judge_server.received == 2


@needs_data
def test_an_optimiser_that_crashes_is_recorded_and_the_run_goes_on(
    judge_server: JudgeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("dspy")
    from memalign_bench import baselines

    def crash(*_args: object) -> None:
        raise RuntimeError("optimiser blew up")

    monkeypatch.setattr(baselines, "compile_program", crash)
    config = baselines.BaselineConfig(
        "code_review_python",
        model=f"{judge_server.url}/v1#fake",
        methods=("mipro", "memalign"),
        shards=(2,),
        test_limit=2,
    )
    steps = baselines.run_baselines(config, DATA, tmp_path, embedder="hash")["steps"]
    assert steps["mipro:2"]["status"] == "failed"
    assert steps["mipro:2"]["stopped_by"] == "RuntimeError: optimiser blew up"
    assert steps["memalign:2"]["status"] == "done"


@needs_data
def test_the_budget_stops_an_optimiser_that_swallows_exceptions(
    judge_server: JudgeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("dspy")
    import time

    from memalign_bench import baselines

    def stubborn(*_args: object) -> None:  # as MIPROv2's trials: `except Exception` everywhere
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                time.sleep(0.05)

    monkeypatch.setattr(baselines, "compile_program", stubborn)
    config = baselines.BaselineConfig(
        "code_review_python",
        model=f"{judge_server.url}/v1#fake",
        methods=("mipro",),
        shards=(2,),
        test_limit=2,
        step_budget=0.5,
    )
    started = time.monotonic()
    step = baselines.run_baselines(config, DATA, tmp_path, embedder="hash")["steps"]["mipro:2"]
    assert time.monotonic() - started < 15
    assert step["status"] == "interrupted" and step["stopped_by"] == "step budget"
