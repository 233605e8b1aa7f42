"""Human-readable text: grouped by patch, one GNU-style line per finding
(`file:line:col: severity: message [rule-id]`) with its evidence indented."""

from __future__ import annotations

from patchlint.findings import Finding
from patchlint.mail import Message
from patchlint.report.options import RenderOptions
from patchlint.result import CheckResult, PatchResult, RunSummary, SimulationSummary

_COLORS = {"error": "\033[1;31m", "warning": "\033[1;33m", "info": "\033[1;36m"}
_RESET = "\033[0m"


def finding_lines(finding: Finding, color: bool = False) -> list[str]:
    location = finding.file or "<mail>"
    if finding.line:
        location += f":{finding.line}"
        if finding.column:
            location += f":{finding.column}"
    severity: str = finding.severity
    if color:
        severity = f"{_COLORS.get(severity, '')}{severity}{_RESET}"
    status = "" if finding.status in ("found", "introduced") else f"{finding.status}: "
    if finding.suppressed:
        status = "suppressed: " + status
    where = f" (in {finding.function})" if finding.function else ""
    lines = [f"{location}: {severity}: {status}{finding.message}{where} [{finding.rule}]"]
    for step in finding.evidence:
        place = ""
        if step.line:
            place = f"{step.file or finding.file or ''}:{step.line}: "
        elif step.file and step.file != finding.file:
            place = f"{step.file}: "
        lines.append(f"    {place}{step.kind}: {step.message}")
    return lines


def _series_position(message: Message) -> str:
    series = message.series
    parts = [f"v{series.version}"]
    if series.index is not None and series.total is not None:
        parts.append(f"patch {series.index} of {series.total}")
    if series.prefixes:
        parts.append("prefixes " + " ".join(series.prefixes))
    return ", ".join(parts)


_WORLDS_SHOWN = 8


def _simulation_lines(simulation: SimulationSummary) -> list[str]:
    before, after = simulation["before"], simulation["after"]

    def count(run: RunSummary) -> str:
        holds = "?" if run.get("holds") is None else str(run["holds"])
        return f"{holds} of {run['total']}"

    lines = [
        f"  simulation {simulation['scenario']}: holds for {count(before)} before, "
        f"{count(after)} after",
        f"    verdict: {simulation['verdict']}",
    ]
    if simulation.get("difference"):
        lines.append(f"    difference: {simulation['difference']}")
    for counter in after.get("counters") or []:
        values = " -> ".join("?" if v is None else str(v) for v in counter["values"])
        lines.append(f"    counter {counter['name']} after: {values}")
    for warning in simulation.get("warnings") or []:
        lines.append(f"    warning: {warning}")
    search = simulation.get("search")
    if search:
        lines.append(
            f"    divergence search: {search['explored']} worlds, {search['excluded']} excluded,"
            f" {search['unknown']} unknown, {len(search['differing'])} differ"
        )
        seen = search.get("differing_axes") or {}
        narrowed = [
            f"{axis} {', '.join(labels)}"
            for axis, labels in seen.items()
            if search["differing"] and len(labels) < len(search["axes"].get(axis, []))
        ]
        if narrowed:
            lines.append(f"      differing worlds have: {'; '.join(narrowed)}")
        shown = search["differing"][:_WORLDS_SHOWN]
        lines.extend(f"      - {world['description']}" for world in shown)
        if len(search["differing"]) > len(shown):
            lines.append(
                f"      ... {len(search['differing']) - len(shown)} more"
                " (all in --format json and `patchlint simulate`)"
            )
    return lines


def patch_block(patch: PatchResult, color: bool) -> list[str]:
    message = patch.message
    lines = [
        message.subject,
        f"  from {message.author}, {message.date}",
        f"  message-id {message.message_id}",
        f"  series: {_series_position(message)}",
    ]
    if message.trailers:
        lines.append("  trailers:")
        for trailer in message.trailers:
            origin = f"  (in a reply from {trailer.given_by})" if trailer.from_reply else ""
            problems = f"  [{'; '.join(trailer.problems)}]" if trailer.problems else ""
            lines.append(f"    {trailer.tag}: {trailer.value}{origin}{problems}")
    if patch.files:
        lines.append("  files:")
        for file in patch.files:
            hunks = f" ({', '.join(file.hunks)})" if file.hunks else ""
            error = f": {file.error}" if file.error else ""
            lines.append(
                f"    {file.path}  {file.status} +{file.added} -{file.removed}  "
                f"{file.apply_state}{hunks}{error}"
            )
    for error in patch.errors:
        lines.append(f"  error: {error}")
    for note in patch.notes:
        lines.append(f"  note: {note}")
    for item in patch.not_analysed:
        lines.append(f"  not analysed: {item}")
    if patch.skipped:
        lines.append(f"  skipped: {patch.skipped}")
    visible = [f for f in patch.findings]
    lines.append(f"  findings: {len(visible) or 'none'}")
    for finding in visible:
        lines.extend("  " + line for line in finding_lines(finding, color))
    for simulation in patch.simulation:
        lines.extend(_simulation_lines(simulation))
    lines.extend(_behaviour_lines(patch))
    return lines


def _behaviour_lines(patch: PatchResult) -> list[str]:
    """One line per changed function; a divergence with its witness."""
    lines = []
    for verdict in patch.behaviour:
        explored = f"{verdict.explored.paths} paths" + (
            "" if verdict.explored.complete else ", incomplete"
        )
        lines.append(
            f"  behaviour {verdict.function}(): {verdict.verdict} ({explored}; {verdict.reason})"
        )
        witness = verdict.witness
        if witness is not None:
            inputs = ", ".join(f"{name} = {value}" for name, value in witness.inputs) or "any"
            lines.append(f"    inputs: {inputs}")
            lines.append(f"    first difference: {witness.first_difference}")
    return lines


def summary_line(result: CheckResult) -> str:
    summary = result.summary()
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(summary["kinds"].items()))
    findings = summary["findings"]
    found = ", ".join(f"{count} {status}" for status, count in sorted(findings.items())) or "none"
    parts = [
        f"{summary['messages']} messages ({kinds or 'none'})",
        f"{summary['patches']} patches checked",
        f"findings: {found}",
    ]
    if summary["series_problems"]:
        parts.append(f"{summary['series_problems']} series problems")
    if result.errors:
        parts.append(f"{len(result.errors)} input errors")
    return "summary: " + "; ".join(parts)


def render_text(result: CheckResult, options: RenderOptions | None = None) -> str:
    options = options or RenderOptions()
    color = options.color
    if options.quiet:
        lines = [
            line
            for f in result.all_findings()
            if not f.suppressed
            for line in finding_lines(f, color)
        ]
        return "\n".join(lines) + ("\n" if lines else "")
    blocks: list[str] = []
    for patch in result.patches:
        blocks.append("\n".join(patch_block(patch, color)))
    others = [m for m in result.messages if m.kind != "patch"]
    if others:
        rows = [
            f"  #{m.index} {m.kind:6} {m.subject or '(no subject)'}"
            + (f"  ({m.reason})" if m.reason else "")
            for m in others
        ]
        blocks.append("other messages:\n" + "\n".join(rows))
    if result.series_problems:
        blocks.append(
            "series problems:\n"
            + "\n".join(f"  {p.series}: {p.message}" for p in result.series_problems)
        )
    if result.errors:
        blocks.append("input errors:\n" + "\n".join(f"  {e}" for e in result.errors))
    blocks.append(summary_line(result))
    return "\n\n".join(blocks) + "\n"
