"""The inferred knowledge of a tree, cached on disk (platformdirs' cache directory).

The entry is keyed by the tree's location, the inference code and its data files;
it records the content hash of every file the inference read and is used only while
all of them still hash the same.  A changed header or source file re-runs the
inference.  Summaries are kept only where they say something about task state.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import cast

from patchlint.cachedir import cache_path
from patchlint.knowledge import data_path
from patchlint.rules.taskscope.infer import Knowledge, infer
from patchlint.rules.taskscope.model import (
    JSON,
    Access,
    Action,
    Counterpart,
    Evidence,
    Fact,
    FieldInfo,
    GroupForm,
    Loc,
    Op,
    Predicate,
    Scope,
    Select,
    StructInfo,
    Summary,
    ThreadFact,
    Wake,
    WalkWake,
    Where,
)
from patchlint.rules.taskscope.registry import register
from patchlint.rules.taskscope.treefiles import TextReader, TreeFiles, content_hash

FORMAT = 9
_PACKAGE = Path(__file__).resolve().parent
_DATA = ("kernel/task-state.toml", "kernel/iterators.toml", "kernel/dialect.toml")


def _code_key() -> str:
    digest = hashlib.blake2b(str(FORMAT).encode(), digest_size=16)
    for path in sorted(_PACKAGE.glob("*.py")):
        digest.update(path.read_bytes())
    for relative in _DATA:
        try:
            digest.update(data_path(relative).read_bytes())
        except OSError:
            pass
    return digest.hexdigest()


def entry_path(root: Path, flavour: str = "") -> Path | None:
    """The cache entry of a tree, or None when persistent caches are turned off."""
    identity = f"{root.resolve()}\0{flavour}\0{_code_key()}"
    name = hashlib.blake2b(identity.encode(), digest_size=12).hexdigest()
    return cache_path("taskscope", f"{name}.json")


def load_or_infer(
    root: Path,
    reader: TextReader | None = None,
    flavour: str = "",
    log: Callable[[str], None] | None = None,
) -> tuple[Knowledge, bool]:
    """The tree's knowledge and whether it came from the cache."""
    path = entry_path(root, flavour)
    files = TreeFiles(root, reader)
    if reader is None and not flavour:
        register(root)  # a patch-only run may borrow this tree's knowledge
    cached = _load(path, files) if path is not None else None
    if cached is not None:
        return cached, True
    knowledge = infer(files)
    if path is not None:
        _save(path, knowledge, files.manifest, log)
    return knowledge, False


def _load(path: Path, files: TreeFiles) -> Knowledge | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    manifest = cast(dict[str, str], data.get("manifest", {}))
    if not _still_hashes(path, files, manifest):
        return None
    try:
        return knowledge_from_json(cast(JSON, data["knowledge"]))
    except (KeyError, TypeError, ValueError):
        return None


# A file modified this close to when its stat was recorded may change again within
# the clock's resolution without its stat changing (git's "racy" entries): read again.
_RACY_NS = 2_000_000_000
Stat = tuple[int, int, int, int]


def _stat(root: Path, file: str) -> Stat | None:
    try:
        info = (root / file).stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino


def _still_hashes(path: Path, files: TreeFiles, manifest: dict[str, str]) -> bool:
    """Every file the inference read still has its recorded content hash. A file on
    disk whose stat is the one recorded beside the entry when it last hashed the same
    is not read again (as git's index): checking a patch then stats the ~900 files
    instead of reading and hashing them."""
    on_disk = files.reader is None and files.listing is None
    sidecar = path.with_suffix(".stat.json")
    known: dict[str, list[object]] = {}
    if on_disk:
        try:
            loaded = json.loads(sidecar.read_text(encoding="utf-8"))
            known = cast(dict[str, list[object]], loaded) if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            known = {}
    now = time.time_ns()
    verified: dict[str, list[object]] = {}
    read = False
    for file, digest in manifest.items():
        stat = _stat(files.root, file) if on_disk else None
        if stat is not None and known.get(file) == [*stat, digest]:
            verified[file] = [*stat, digest]
            continue
        text = files.text(file)
        if text is None or content_hash(text) != digest:
            return False
        read = True
        if stat is not None and max(stat[0], stat[1]) < now - _RACY_NS:
            verified[file] = [*stat, digest]
    if on_disk and read:
        _write_quietly(sidecar, verified)
    return True


def _write_quietly(target: Path, document: object) -> None:
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, separators=(",", ":"))
        os.replace(temporary, target)
    except OSError:
        pass  # only costs the next run the hashing


def _save(
    path: Path, knowledge: Knowledge, manifest: dict[str, str], log: Callable[[str], None] | None
) -> None:
    document = {"format": FORMAT, "manifest": manifest, "knowledge": knowledge_to_json(knowledge)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, separators=(",", ":"))
        os.replace(temporary, path)
    except OSError as error:  # a read-only cache only costs the next run the inference
        if log is not None:
            log(f"task-state knowledge not cached ({path}): {error}")


# ------------------------------------------------------------------ to JSON


def _where(where: Where | None) -> JSON | None:
    return None if where is None else {"f": where.file, "l": where.line, "n": where.function}


def _loc(loc: Loc | None) -> JSON | None:
    return None if loc is None else {"b": loc.base, "p": list(loc.path), "c": list(loc.chain)}


def _select(select: Select | None) -> JSON | None:
    if select is None:
        return None
    return {
        "p": select.param,
        "c": select.constant,
        "e": select.when_equal,
        "o": select.otherwise,
        "w": _where(select.where),
    }


def _fact(fact: Fact) -> JSON:
    return {"s": fact.scope, "h": fact.holder, "m": fact.member, "b": fact.bit}


def _evidence(item: Evidence) -> JSON:
    return {"k": item.kind, "t": item.text, "w": _where(item.where)}


def _summary(summary: Summary) -> JSON:
    return {
        "n": summary.name,
        "f": summary.file,
        "l": summary.line,
        "p": list(summary.params),
        "ps": list(summary.param_structs),
        "a": [
            [a.op, _loc(a.loc), a.bit, a.cond, a.pos, a.line, a.via, a.plain, a.addr]
            for a in summary.accesses
        ],
        "w": [
            [
                _loc(w.loc),
                list(w.via),
                _select(w.select),
                w.scope,
                w.pos,
                w.line,
                w.decided,
                w.selector,
            ]
            for w in summary.wakes
        ],
        "ww": [[w.walk, _loc(w.group), w.action, w.line] for w in summary.walk_wakes],
        "s": [_select(s) for s in summary.selects],
        "r": _loc(summary.returns),
        "rs": summary.returns_struct,
        "m": summary.macro,
        "v": summary.value,
        "st": summary.static,
        "br": summary.breadth,
        "tp": list(summary.thread_params),
        "ap": list(summary.as_process),
    }


def knowledge_to_json(knowledge: Knowledge) -> JSON:
    return {
        "structs": [
            {
                "n": s.name,
                "s": s.scope,
                "f": s.file,
                "l": s.line,
                "m": [[f.name, f.line, f.target] for f in s.fields.values()],
            }
            for s in knowledge.structs.values()
        ],
        "summaries": [_summary(s) for s in knowledge.summaries.values()],
        "thread_facts": [
            {
                "f": _fact(t.fact),
                "d": _where(t.declared),
                "cg": _fact(t.counterpart.group),
                "ce": [_evidence(e) for e in t.counterpart.evidence],
                "cr": t.counterpart.replacement,
                "cp": t.counterpart.predicate,
                "mk": t.marker,
                "me": None if t.marker_evidence is None else _evidence(t.marker_evidence),
                "w": [_where(w) for w in t.writers],
                "cc": t.clearers_on_current,
            }
            for t in knowledge.thread_facts.values()
        ],
        "predicates": [
            [
                p.name,
                p.param,
                p.scope,
                list(p.reads),
                _where(p.where),
                p.macro,
                p.param_struct,
                p.direct,
            ]
            for p in knowledge.predicates.values()
        ],
        "actions": [
            [a.name, a.task_param, list(a.via), _select(a.select), _where(a.where)]
            for a in knowledge.actions.values()
        ],
        "forms": [
            [f.name, f.action, f.param, f.walk, _where(f.where)]
            for forms in knowledge.group_forms.values()
            for f in forms
        ],
        "walked": {name: _where(where) for name, where in knowledge.walked.items()},
        "constants": knowledge.group_constants,
        "levels": knowledge.pid_levels,
        "state": knowledge.group_state,
        "shape": knowledge.shape,
        "words": sorted([list(w) for w in knowledge.flag_words]),
        "bits": [_fact(f) for f in knowledge.bits.values()],
        "stats": knowledge.stats,
    }


# ---------------------------------------------------------------- from JSON


def _d(value: object) -> JSON:
    if not isinstance(value, dict):
        raise TypeError("expected an object")
    return cast(JSON, value)


def _l(value: object) -> list[object]:
    if not isinstance(value, list):
        raise TypeError("expected an array")
    return value


def _s(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _os(value: object) -> str | None:
    return None if value is None else _s(value)


def _i(value: object) -> int:
    if not isinstance(value, int):
        raise TypeError("expected an integer")
    return value


def _b(value: object) -> bool:
    return bool(value)


def _where_of(value: object) -> Where | None:
    if value is None:
        return None
    data = _d(value)
    return Where(_s(data["f"]), _i(data["l"]), _s(data["n"]))


def _where_req(value: object) -> Where:
    where = _where_of(value)
    if where is None:
        raise TypeError("expected a place")
    return where


def _loc_of(value: object) -> Loc | None:
    if value is None:
        return None
    data = _d(value)
    return Loc(
        _s(data["b"]),
        tuple(_s(p) for p in _l(data["p"])),
        tuple(_os(c) for c in _l(data["c"])),
    )


def _loc_req(value: object) -> Loc:
    loc = _loc_of(value)
    if loc is None:
        raise TypeError("expected a location")
    return loc


def _scope(value: object) -> str:
    scope = _s(value)
    if scope not in ("thread", "group", "mm"):
        raise ValueError(f"unknown scope {scope}")
    return scope


def _select_of(value: object) -> Select | None:
    if value is None:
        return None
    data = _d(value)
    return Select(
        _i(data["p"]),
        _s(data["c"]),
        cast_scope(data["e"]),
        cast_scope(data["o"]),
        _where_req(data["w"]),
    )


def cast_scope(value: object) -> Scope:
    return cast(Scope, _scope(value))


def _fact_of(value: object) -> Fact:
    data = _d(value)
    return Fact(cast_scope(data["s"]), _s(data["h"]), _s(data["m"]), _os(data["b"]))


def _evidence_of(value: object) -> Evidence:
    data = _d(value)
    return Evidence(_s(data["k"]), _s(data["t"]), _where_req(data["w"]))


def _op(value: object) -> Op:
    op = _s(value)
    if op not in ("read", "set", "clear"):
        raise ValueError(f"unknown operation {op}")
    return cast(Op, op)


def _summary_of(value: object) -> Summary:
    data = _d(value)
    accesses = []
    for item in _l(data["a"]):
        op, loc, bit, cond, pos, line, via, plain, addr = _l(item)
        accesses.append(
            Access(
                _op(op),
                _loc_req(loc),
                _os(bit),
                _b(cond),
                _i(pos),
                _i(line),
                _s(via),
                _b(plain),
                _b(addr),
            )
        )
    wakes = []
    for item in _l(data["w"]):
        loc, via, select, scope, pos, line, decided, selector = _l(item)
        wakes.append(
            Wake(
                _loc_req(loc),
                tuple(_s(v) for v in _l(via)),
                _select_of(select),
                cast_scope(scope),
                _i(pos),
                _i(line),
                _s(decided),
                _s(selector),
            )
        )
    walk_wakes = []
    for item in _l(data["ww"]):
        walk, group, action, line = _l(item)
        walk_wakes.append(WalkWake(_s(walk), _loc_req(group), _s(action), _i(line)))
    return Summary(
        name=_s(data["n"]),
        file=_s(data["f"]),
        line=_i(data["l"]),
        params=tuple(_s(p) for p in _l(data["p"])),
        param_structs=tuple(_os(p) for p in _l(data["ps"])),
        accesses=tuple(accesses),
        wakes=tuple(wakes),
        walk_wakes=tuple(walk_wakes),
        selects=tuple(s for s in (_select_of(v) for v in _l(data["s"])) if s is not None),
        returns=_loc_of(data["r"]),
        returns_struct=_os(data["rs"]),
        macro=_b(data["m"]),
        value=_b(data["v"]),
        static=_b(data["st"]),
        breadth=_i(data["br"]),
        thread_params=tuple(_i(v) for v in _l(data["tp"])),
        as_process=tuple(_i(v) for v in _l(data["ap"])),
    )


def knowledge_from_json(data: JSON) -> Knowledge:
    knowledge = Knowledge()
    for item in _l(data["structs"]):
        entry = _d(item)
        info = StructInfo(_s(entry["n"]), cast_scope(entry["s"]), _s(entry["f"]), _i(entry["l"]))
        for member in _l(entry["m"]):
            name, line, target = _l(member)
            info.fields[_s(name)] = FieldInfo(_s(name), _i(line), _os(target))
        knowledge.structs[info.name] = info
    knowledge.summaries = StoredSummaries(
        {_s(_d(item)["n"]): item for item in _l(data["summaries"])}
    )
    for item in _l(data["thread_facts"]):
        entry = _d(item)
        fact = _fact_of(entry["f"])
        counterpart = Counterpart(
            fact,
            _fact_of(entry["cg"]),
            [_evidence_of(e) for e in _l(entry["ce"])],
            _s(entry["cr"]),
            _s(entry["cp"]),
        )
        marker_evidence = entry.get("me")
        knowledge.thread_facts[fact.name] = ThreadFact(
            fact=fact,
            declared=_where_of(entry["d"]),
            counterpart=counterpart,
            marker=_b(entry["mk"]),
            marker_evidence=None if marker_evidence is None else _evidence_of(marker_evidence),
            writers=[_where_req(w) for w in _l(entry["w"])],
            clearers_on_current=[_s(c) for c in _l(entry["cc"])],
        )
    for item in _l(data["predicates"]):
        name, param, scope, reads, where, macro, struct, direct = _l(item)
        knowledge.predicates[_s(name)] = Predicate(
            _s(name),
            _i(param),
            cast_scope(scope),
            tuple(_s(r) for r in _l(reads)),
            _where_req(where),
            _b(macro),
            _os(struct),
            _b(direct),
        )
    for item in _l(data["actions"]):
        name, param, via, select, where = _l(item)
        knowledge.actions[_s(name)] = Action(
            _s(name),
            _i(param),
            tuple(_s(v) for v in _l(via)),
            _select_of(select),
            _where_req(where),
        )
    for item in _l(data["forms"]):
        name, action, param, walk, where = _l(item)
        form = GroupForm(_s(name), _s(action), _i(param), _s(walk), _where_req(where))
        knowledge.group_forms.setdefault(form.action, []).append(form)
    for name, where in _d(data["walked"]).items():
        knowledge.walked[name] = _where_req(where)
    knowledge.group_constants = {k: _s(v) for k, v in _d(data["constants"]).items()}
    knowledge.group_state = [_s(v) for v in _l(data["state"])]
    knowledge.pid_levels = [_s(v) for v in _l(data["levels"])]
    knowledge.shape = [_s(v) for v in _l(data["shape"])]
    knowledge.flag_words = {(_s(w[0]), _s(w[1])) for w in (_l(x) for x in _l(data["words"]))}
    for item in _l(data["bits"]):
        fact = _fact_of(item)
        if fact.bit:
            knowledge.bits[fact.bit] = fact
    knowledge.stats = {k: float(cast(float, v)) for k, v in _d(data["stats"]).items()}
    return knowledge


class StoredSummaries(MutableMapping[str, Summary]):
    """The summaries of a cache entry, each built when first asked for: a patch check
    asks for a few of the ~2,400 (building all of them cost 0.1 s per process). An entry
    that does not read as a summary is not there (a missing one is an unknown function,
    as for a function the inference never saw)."""

    def __init__(self, stored: dict[str, object]) -> None:
        self._stored = stored
        self._built: dict[str, Summary] = {}

    def __getitem__(self, name: str) -> Summary:
        built = self._built.get(name)
        if built is None:
            try:
                built = _summary_of(self._stored[name])
            except (TypeError, ValueError) as error:
                raise KeyError(name) from error
            self._built[name] = built
        return built

    def __setitem__(self, name: str, summary: Summary) -> None:
        self._stored[name] = None
        self._built[name] = summary

    def __delitem__(self, name: str) -> None:
        del self._stored[name]
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._stored)

    def __len__(self) -> int:
        return len(self._stored)
