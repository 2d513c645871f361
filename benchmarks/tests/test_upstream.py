from __future__ import annotations

import pytest

from judge_server import JudgeServer, judge_server
from memalign.errors import InputError
from memalign_bench.meter import CountingProxy
from memalign_bench.upstream import upstream, warm_up

__all__ = ["judge_server"]


def test_an_openai_compatible_url_names_root_model_and_threads() -> None:
    with upstream("http://10.0.0.5:8080/v1/#qwen-7b", threads=3) as up:
        assert (up.url, up.alias, up.threads) == ("http://10.0.0.5:8080", "qwen-7b", 3)
        assert not up.local and up.model_sha256 is None
    with upstream("https://models.example/v1#m") as up:
        assert up.threads == 4  # a remote server's parallelism is unknown: a modest default


@pytest.mark.parametrize("model", ["openai/gpt-4.1-mini", "http://127.0.0.1:8080/v1"])
def test_a_model_the_baselines_cannot_serve_names_the_option(model: str) -> None:
    with pytest.raises(InputError) as caught, upstream(model):
        pass
    assert caught.value.field == "--model" and "URL#model" in str(caught.value)


def test_the_warm_up_call_is_counted_under_its_own_tag(judge_server: JudgeServer) -> None:
    with CountingProxy(judge_server.url) as proxy:
        warm_up(proxy, "fake")
        assert proxy.tally("warmup").requests == 1
    assert judge_server.received == 1
