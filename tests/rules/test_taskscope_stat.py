"""The tree knowledge's cache entry is validated by stat where the files did not change."""

from __future__ import annotations

from pathlib import Path

import pytest

import patchlint.rules.taskscope.cache as cache
from patchlint.rules.taskscope.cache import load_or_infer
from patchlint.rules.taskscope.treefiles import TreeFiles

REPO = Path(__file__).resolve().parents[2]
MODEL = (REPO / "fixtures" / "taskscope" / "model.h").read_text(encoding="utf-8")


def test_unchanged_files_are_not_read_again_and_a_changed_one_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATCHLINT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_RACY_NS", 0)  # the files were written just now
    source = tmp_path / "linux" / "kernel" / "model.c"
    source.parent.mkdir(parents=True)
    source.write_text(MODEL, encoding="utf-8")
    reads: list[str] = []
    original = TreeFiles.text

    def counted(self: TreeFiles, path: str) -> str | None:
        reads.append(path)
        return original(self, path)

    monkeypatch.setattr(TreeFiles, "text", counted)
    cold, hit = load_or_infer(source.parents[1])
    assert not hit and "TIF_MEMDIE" in cold.thread_facts
    reads.clear()
    assert load_or_infer(source.parents[1])[1]
    assert reads == ["kernel/model.c"]  # hashed once more, its stat recorded
    reads.clear()
    warm, hit = load_or_infer(source.parents[1])
    assert hit and reads == [] and "TIF_MEMDIE" in warm.thread_facts
    # The same length, other content: the stat (ctime at least) changes, so it is read.
    source.write_text(MODEL.replace("TIF_MEMDIE)", "TIF_MEMDIX)", 1), encoding="utf-8")
    changed, hit = load_or_infer(source.parents[1])
    assert not hit and "kernel/model.c" in reads
