"""Whole-tree scan: prefilter files by token, parse only candidates, in parallel.

Most of a kernel tree cannot trigger any lock rule (no RCU call, no task-list
iterator), so the expensive part — normalising and parsing — runs only on files
that mention a rule's tokens, and each file runs only the rules whose tokens it
mentions. Token lists are kernel knowledge and live in the rules' TOML files.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from patchlint.cachedir import cache_path
from patchlint.findings import Finding, Severity
from patchlint.knowledge import data_dir, load_toml
from patchlint.result import ScanResult
from patchlint.source import CallSite, Dialect, FunctionDef, FunctionIndex, SourceFile

SOURCE_SUFFIXES = (".c", ".h")
# Called with (files done, candidate files).
Progress = Callable[[int, int], None]
# Per rule, the tokens a file must contain for the rule to fire there (None: any file).
Tokens = dict[str, "tuple[str, ...] | None"]


# ---------------------------------------------------------------- tokens


def _rule_tables() -> dict[str, tuple[str, ...]]:
    """`[rules.<id>] prefilter_tokens` from every knowledge file under kernel/."""
    tokens: dict[str, tuple[str, ...]] = {}
    kernel = data_dir() / "kernel"
    for path in sorted(kernel.glob("*.toml")) if kernel.is_dir() else []:
        try:
            data = load_toml(f"kernel/{path.name}")
        except (OSError, ValueError):
            continue
        for rule_id, table in data.get("rules", {}).items():
            if isinstance(table, dict) and "prefilter_tokens" in table:
                tokens[rule_id] = tokens.get(rule_id, ()) + tuple(table["prefilter_tokens"])
    return tokens


def _task_state_tokens(root: Path | None) -> dict[str, tuple[str, ...]]:
    """Tokens of the thread-group rules: inferred from the tree (the per-thread facts
    with a group counterpart, the single-thread actions)."""
    if root is None:
        return {}
    from patchlint.rules.taskscope.scan_support import rule_tokens

    return rule_tokens(root)


def candidate_tokens(rule_ids: Iterable[str] | None = None, root: Path | None = None) -> Tokens:
    """Per rule, the literal tokens a file must contain for the rule to fire there.

    None means the rule declares no tokens, so every file is a candidate for it.
    """
    from patchlint.rules import select_rules

    known = {**_task_state_tokens(root), **_rule_tables()}
    wanted = list(rule_ids) if rule_ids else [meta.id for meta in select_rules()]
    return {rule_id: (known.get(rule_id) or None) for rule_id in wanted}


# ---------------------------------------------------------------- prefilter


def _tree_parts(root: Path, jobs: int) -> list[list[str]]:
    """Split the tree into `jobs` groups of paths for parallel greps. drivers/ holds
    two thirds of a kernel tree, so its subdirectories (and drm's) are spread out."""
    big = {"drivers", "drivers/gpu", "drivers/gpu/drm"}
    entries: list[str] = []
    pending = ["."]
    while pending:
        current = pending.pop()
        try:
            children = sorted(os.scandir(root / current), key=lambda e: e.name)
        except OSError:
            continue
        for child in children:
            relative = child.name if current == "." else f"{current}/{child.name}"
            if child.name.startswith("."):
                continue
            if child.is_dir(follow_symlinks=False):
                (pending if relative in big else entries).append(relative)
            elif child.name.endswith(SOURCE_SUFFIXES):
                entries.append(relative)
    groups: list[list[str]] = [[] for _ in range(max(1, jobs))]
    for position, entry in enumerate(entries):
        groups[position % len(groups)].append(entry)
    return [group for group in groups if group]


def _parallel_grep(root: Path, options: list[str], needles: list[str], jobs: int) -> str | None:
    """`grep -r OPTIONS -e NEEDLE...` over the tree, split across `jobs` processes."""
    grep = shutil.which("grep")
    if grep is None:
        return None
    command = [grep, "-r", *options, "--include=*.c", "--include=*.h"]
    for needle in needles:
        command += ["-e", needle]
    environment = {**os.environ, "LC_ALL": "C"}
    try:
        processes = [
            subprocess.Popen(
                [*command, "--", *group],
                cwd=root,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=environment,
            )
            for group in _tree_parts(root, jobs)
        ]
        outputs = [process.communicate(timeout=600)[0] for process in processes]
    except (OSError, subprocess.SubprocessError):
        return None
    if any(process.returncode not in (0, 1) for process in processes):
        return None
    return b"".join(outputs).decode("utf-8", "surrogateescape")


def _grep_candidates(root: Path, tokens: list[str], jobs: int = 1) -> list[str] | None:
    output = _parallel_grep(root, ["-lF"], tokens, jobs)
    if output is None:
        return None
    return sorted(line[2:] if line.startswith("./") else line for line in output.splitlines())


def _walk_candidates(root: Path, tokens: list[str] | None) -> list[str]:
    needles = [token.encode() for token in tokens] if tokens else None
    found: list[str] = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.endswith(SOURCE_SUFFIXES):
                continue
            path = Path(directory) / name
            if needles is not None:
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                if not any(needle in data for needle in needles):
                    continue
            found.append(str(path.relative_to(root)))
    return sorted(found)


def candidate_files(root: Path, tokens: Tokens, jobs: int = 1) -> list[str]:
    if any(value is None for value in tokens.values()):
        return _walk_candidates(root, None)
    union = sorted({token for value in tokens.values() for token in value or ()})
    found = _grep_candidates(root, union, jobs)
    return found if found is not None else _walk_candidates(root, union)


def _mentions_parallel(root: Path, words: list[str], jobs: int) -> dict[str, list[str]] | None:
    """For each word, the files mentioning it as a word: one parallel pass."""
    output = _parallel_grep(root, ["-owF"], words, jobs)
    if output is None:
        return None
    mentions: dict[str, set[str]] = {word: set() for word in words}
    for line in output.splitlines():
        path, _, word = line.rpartition(":")
        if word in mentions:
            mentions[word].add(path[2:] if path.startswith("./") else path)
    return {word: sorted(paths) for word, paths in mentions.items()}


# ---------------------------------------------------------------- workers
#
# Tree-wide caller lookups are the expensive part of a scan (each is a search
# of the whole tree), so they are batched: a first pass records which function
# names any rule wanted callers for and treats them as uncalled; one grep then
# finds the files mentioning all those names at once; and only the files that
# asked are analysed again with the answers at hand.


@dataclass
class _Worker:
    root: Path
    rule_ids: list[str]
    severity: dict[str, Severity]
    tokens: Tokens
    dialect: Dialect
    mentions: dict[str, list[str]] | None = None
    index: FunctionIndex | None = None


_WORKER: list[_Worker] = []


def _worker_init(
    root: str,
    rule_ids: list[str],
    severity: dict[str, Severity],
    tokens: Tokens,
    mentions: dict[str, list[str]] | None = None,
) -> None:
    from patchlint.rules import select_rules

    # Import every rule module now: a broken one fails the scan, not each file.
    for rule in select_rules(enabled=rule_ids):
        rule.load()
    _WORKER[:] = [
        _Worker(
            root=Path(root),
            rule_ids=rule_ids,
            severity=severity,
            tokens=tokens,
            dialect=Dialect.load(Path(root)),
            mentions=mentions,
        )
    ]


class _RecordingIndex:
    """First pass: remember the names asked about, answer "no callers"."""

    def __init__(self, root: Path | None = None) -> None:
        self.asked: set[str] = set()
        self.root = root  # the tree, for knowledge inferred from it as a whole

    def callers(self, name: str) -> list[tuple[str, FunctionDef, CallSite]]:
        self.asked.add(name)
        return []

    def definitions(self, name: str) -> list[tuple[str, FunctionDef]]:
        self.asked.add(name)
        return []

    def source(self, path: str) -> SourceFile | None:
        return None


class _BatchedIndex(FunctionIndex):
    """Second pass: a FunctionIndex whose candidate files come from the batch grep."""

    def __init__(self, root: Path, dialect: Dialect, mentions: Mapping[str, list[str]]) -> None:
        super().__init__(root, dialect=dialect)
        self.mentions = mentions

    def candidates(self, name: str) -> list[str]:
        if name in self.mentions:
            return self.mentions[name]
        return super().candidates(name)


def _answering_index(worker: _Worker) -> FunctionIndex:
    if worker.index is None:
        worker.index = _BatchedIndex(worker.root, worker.dialect, worker.mentions or {})
    return worker.index


Outcome = tuple[str, list[Finding], "str | None", list[str]]


def _scan_one(relative: str) -> Outcome:
    from patchlint.rules import AnalysisUnit, run_rules, select_rules
    from patchlint.source import parse_c

    (worker,) = _WORKER
    try:
        text = (worker.root / relative).read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return relative, [], f"unreadable: {error}", []
    wanted = [
        rule_id
        for rule_id in worker.rule_ids
        if (needles := worker.tokens.get(rule_id)) is None or any(t in text for t in needles)
    ]
    if not wanted:
        return relative, [], None, []
    recording = _RecordingIndex(worker.root) if worker.mentions is None else None
    index = recording if recording is not None else _answering_index(worker)
    try:
        source = parse_c(text, relative, worker.dialect)
        unit = AnalysisUnit(source=source, path=relative, index=index)
        findings = run_rules(unit, select_rules(enabled=wanted, severity=worker.severity))
    except RecursionError:
        return relative, [], "recursion limit while analysing", []
    except Exception as error:  # one bad file must not end a whole-tree scan
        from patchlint.rules import RuleError

        if isinstance(error, RuleError):
            raise  # a broken rule is the tool's fault, not the file's: fail loudly
        return relative, [], f"{type(error).__name__}: {error}", []
    for finding in findings:
        finding.file = relative
    asked = sorted(recording.asked) if recording is not None else []
    return relative, findings, None, asked


def _run(
    root: Path,
    files: list[str],
    ids: list[str],
    severity: dict[str, Severity],
    tokens: Tokens,
    jobs: int,
    mentions: dict[str, list[str]] | None,
    progress: Progress | None,
    total: int,
    offset: int,
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    if jobs == 1 or len(files) < 8:
        _worker_init(str(root), ids, severity, tokens, mentions)
        iterator: Iterable[Outcome] = map(_scan_one, files)
        for outcome in iterator:
            outcomes.append(outcome)
            if progress is not None:
                progress(offset + len(outcomes), total)
        return outcomes
    chunksize = max(1, min(16, len(files) // (jobs * 8) or 1))
    with ProcessPoolExecutor(
        max_workers=jobs,
        initializer=_worker_init,
        initargs=(str(root), ids, severity, tokens, mentions),
    ) as pool:
        for outcome in pool.map(_scan_one, _heavy_first(root, files), chunksize=chunksize):
            outcomes.append(outcome)
            if progress is not None:
                progress(offset + len(outcomes), total)
    return outcomes


def scan_tree(
    root: Path,
    rule_ids: list[str] | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    use_cache: bool = False,
    severity: Mapping[str, Severity] | None = None,
) -> ScanResult:
    """Run C rules over every candidate file under ``root``.

    ``use_cache`` keeps each file's findings keyed by its path, its content, the
    tree's dialect and the version of the analysis code and knowledge, so an
    unchanged tree is not analysed twice. Only files whose analysis consulted
    nothing outside themselves are cached: a file that asked the tree-wide index
    about callers is analysed again on every scan, so a change elsewhere in the
    tree can never leave a stale result behind.
    """
    from patchlint.rules import select_rules

    started = time.perf_counter()
    root = Path(root).resolve()
    ids = [meta.id for meta in select_rules(enabled=rule_ids)]
    overrides = dict(severity or {})
    tokens = candidate_tokens(ids, root)
    jobs = max(1, jobs or os.cpu_count() or 1)
    cache_dir = cache_path("scan", _version(ids, overrides, root)) if use_cache else None
    cache = _ResultCache(root, cache_dir) if cache_dir is not None else None
    files = candidate_files(root, tokens, jobs)
    # A warm scan already knows which names the last one asked about; their mentions
    # are found in one parallel pass instead of after the first analysis pass.
    prior = cache.asked_last_time() if cache is not None else set()
    known_mentions = (_mentions_parallel(root, sorted(prior), jobs) or {}) if prior else {}
    result = ScanResult(tree=str(root), files_candidate=len(files))
    if progress is not None:
        progress(0, len(files))
    final: list[Outcome] = []
    todo = files
    if cache is not None:
        todo = []
        for relative in files:
            hit = cache.get(relative)
            if hit is None:
                todo.append(relative)
            else:
                final.append(hit)
    first = _run(root, todo, ids, overrides, tokens, jobs, None, progress, len(files), len(final))
    asked: set[str] = set()
    again: list[str] = []
    for outcome in first:
        if outcome[3]:
            asked.update(outcome[3])
            again.append(outcome[0])
        else:
            final.append(outcome)
    if again:
        mentions = {name: known_mentions[name] for name in asked if name in known_mentions}
        missing = asked - set(mentions)
        if missing:
            mentions.update(_mentions_parallel(root, sorted(missing), jobs) or {})
        final += _run(root, again, ids, overrides, tokens, jobs, mentions, None, len(again), 0)
    if cache is not None:
        fresh = set(todo) - set(again)
        cache.put_all(o for o in final if o[0] in fresh)
        cache.remember_asked(asked)
    for relative, findings, error, _asked in final:
        result.files_scanned += 1
        result.findings.extend(findings)
        if error:
            result.errors.append((relative, error))
    result.findings.sort(key=lambda f: (f.file or "", f.line or 0, f.rule))
    result.seconds = time.perf_counter() - started
    return result


def _heavy_first(root: Path, files: list[str]) -> list[str]:
    """Big files first, so one large file does not finish the run alone."""

    def size(relative: str) -> int:
        try:
            return (root / relative).stat().st_size
        except OSError:
            return 0

    return sorted(files, key=size, reverse=True)


class _ResultCache:
    """Per-file findings keyed by file content and analysis version (like ruff's cache)."""

    def __init__(self, root: Path, directory: Path) -> None:
        self.root = root
        self.dir = directory
        self.hashes: dict[str, str] = {}

    def _key(self, relative: str) -> str | None:
        try:
            data = (self.root / relative).read_bytes()
        except OSError:
            return None
        # The path is part of the key: some knowledge is per path (debugger code,
        # the owners of a per-thread flag).
        digest = hashlib.blake2b(relative.encode() + b"\0" + data, digest_size=16).hexdigest()
        self.hashes[relative] = digest
        return digest

    def get(self, relative: str) -> Outcome | None:
        key = self._key(relative)
        if key is None:
            return None
        try:
            with (self.dir / key[:2] / key).open("rb") as handle:
                findings, error = pickle.load(handle)
        except (OSError, pickle.PickleError, EOFError, ValueError):
            return None
        for finding in findings:
            finding.file = relative
        return relative, findings, error, []

    def asked_last_time(self) -> set[str]:
        try:
            return set(json.loads((self.dir / "asked.json").read_text()))
        except (OSError, ValueError, TypeError):
            return set()

    def remember_asked(self, names: set[str]) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            (self.dir / "asked.json").write_text(json.dumps(sorted(names)))
        except OSError:
            pass

    def put_all(self, outcomes: Iterable[Outcome]) -> None:
        for relative, findings, error, _asked in outcomes:
            key = self.hashes.get(relative) or self._key(relative)
            if key is None:
                continue
            target = self.dir / key[:2] / key
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                temporary = target.with_suffix(f".{os.getpid()}.tmp")
                with temporary.open("wb") as handle:
                    pickle.dump((findings, error), handle)
                temporary.replace(target)
            except OSError:
                return


def _version(rule_ids: list[str], severity: Mapping[str, Severity], root: Path) -> str:
    """Hash of the analysis code, the rules data, the rule selection and severities, and
    the tree's own dialect (its .clang-format iterator list changes how files parse)."""
    digest = hashlib.blake2b(digest_size=12)
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")) + sorted(data_dir().rglob("*.toml")):
        try:
            digest.update(path.read_bytes())
        except OSError:
            continue
    digest.update(",".join(sorted(rule_ids)).encode())
    digest.update(json.dumps(dict(severity), sort_keys=True).encode())
    # Knowledge added by the user's configuration changes results as much as ours.
    from patchlint.knowledge import extensions

    digest.update(json.dumps(extensions(), sort_keys=True, default=str).encode())
    try:
        digest.update((root / ".clang-format").read_bytes())
    except OSError:
        pass
    from patchlint.rules.taskscope.scan_support import RULES, identity

    if set(rule_ids) & set(RULES):
        digest.update(identity(root).encode())  # knowledge inferred from the whole tree
    return digest.hexdigest()
