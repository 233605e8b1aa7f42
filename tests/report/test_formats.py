"""The output format registry: every registered format loads, and errors are loud."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchlint.report import FORMATS, FormatError, RenderOptions, format_for_path, renderer
from patchlint.report import formats as registry
from patchlint.report.formats import OutputFormat, format_names
from patchlint.result import ScanResult


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_registered_format_loads(name: str) -> None:
    fmt = FORMATS[name]
    assert fmt.check or fmt.scan, f"format {name} renders nothing"
    if fmt.check:
        assert callable(renderer(name, "check"))
    if fmt.scan:
        assert callable(renderer(name, "scan"))


def test_scan_formats_render_a_scan() -> None:
    result = ScanResult(tree="/tree", files_scanned=3, files_candidate=1)
    for name in format_names("scan"):
        assert renderer(name, "scan")(result, RenderOptions())


def test_report_file_suffix_chooses_the_format() -> None:
    assert format_for_path(Path("out/report.HTML")) is FORMATS["html"]
    assert format_for_path(Path("review.md")) is FORMATS["markdown"]
    assert format_for_path(Path("review.txt")) is None


def test_unknown_or_missing_renderer_is_an_error() -> None:
    with pytest.raises(FormatError, match="no scan output in format 'checkpatch'"):
        renderer("checkpatch", "scan")
    with pytest.raises(FormatError, match="no check output in format 'nope'"):
        renderer("nope", "check")


def test_broken_format_module_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = {
        **FORMATS,
        "gone": OutputFormat("gone", "a module that does not exist", check="patchlint.nope:f"),
        "nameless": OutputFormat("nameless", "no such function", check="patchlint.report:nope"),
    }
    monkeypatch.setattr(registry, "FORMATS", broken)
    with pytest.raises(FormatError, match="cannot be imported"):
        renderer("gone", "check")
    with pytest.raises(FormatError, match="has no function nope"):
        renderer("nameless", "check")
