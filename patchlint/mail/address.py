"""The one address parser of the project: From: headers, in-body From: lines and
trailer values all go through `parse_address`, and people are compared by `same_person`.

Why not email.utils.parseaddr: it applies RFC 5322 to text that is not RFC 5322.
A decoded header or a trailer holds `Liang, Kan <kan@x>` (a comma in an unquoted
name) or `Name [VENDOR] <x@y>` (brackets), which parseaddr turns into the wrong name
or the wrong address. Here the address is the last <...> holding an @, else the first
bare word with an @, and the name is whatever text surrounds it, unquoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BRACKETED = re.compile(r"<([^<>\s]+@[^<>\s]+)>")
_BARE = re.compile(
    r"([^\s<>()\"',;:\[\]]+@[^\s<>()\"',;:\[\]]+\.[^\s<>()\"',;:\[\]]*[^\s<>()\"',;:.\[\]])"
)
_MAILTO = re.compile(r"<mailto:[^>]*>", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
# Parts of a display name that say where, not who: "[VENDOR]", "(Intel)", "via lists".
_AFFILIATION = re.compile(r"\[[^\]]*\]|\([^)]*\)|\bvia\b.*$", re.IGNORECASE)
_PLUS = re.compile(r"\+[^@]*@")


@dataclass(frozen=True)
class Address:
    """A display name and a mail address, either of which may be empty."""

    name: str
    addr: str

    def __str__(self) -> str:
        if self.name and self.addr:
            name = f'"{self.name}"' if "," in self.name or ";" in self.name else self.name
            return f"{name} <{self.addr}>"
        return self.addr or self.name

    @property
    def key(self) -> str:
        """The lower-cased address, the identity used to compare trailers."""
        return self.addr.lower()


def _unquote(name: str) -> str:
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    elif len(name) >= 2 and name[0] == name[-1] == "'":
        name = name[1:-1]
    return _SPACE.sub(" ", name).strip().strip(",").strip()


def parse_address(text: str) -> Address:
    """Parse `Name <addr>`, `"Last, First" <addr>`, `addr (Name)`, or a bare address."""
    text = _MAILTO.sub("", text or "").strip()
    matches = list(_BRACKETED.finditer(text))
    if matches:
        last = matches[-1]
        name = text[: last.start()]
        if not name.strip():
            name = text[last.end() :].strip().strip("()")
        return Address(_unquote(name), last.group(1).strip())
    bare = _BARE.search(text)
    if bare is None:
        return Address(_unquote(text), "")
    rest = (text[: bare.start()] + " " + text[bare.end() :]).strip()
    rest = rest.strip("()").strip()
    return Address(_unquote(rest), bare.group(1))


def format_address(name: str, addr: str) -> str:
    return str(Address(name.strip(), addr.strip()))


def address_of(text: str) -> str:
    """The lower-cased mail address named in `text`, or "" when it names none."""
    return parse_address(text).key


def _name_words(name: str) -> frozenset[str]:
    cleaned = _AFFILIATION.sub(" ", name.lower())
    return frozenset(word for word in re.split(r"[\s,.\"']+", cleaned) if word)


def same_name(first: str, second: str) -> bool:
    """Same display name, whatever the order ("Liang, Kan" is "Kan Liang") or the
    affiliation in brackets ("Name [VENDOR]")."""
    words_a, words_b = _name_words(first), _name_words(second)
    return bool(words_a) and words_a == words_b


def same_address(first: str, second: str) -> bool:
    """Addresses equal up to case, a +extension and one more subdomain
    (foo+lkml@intel.com is foo@linux.intel.com), as b4 compares them."""
    ours, theirs = first.lower(), second.lower()
    if not ours or not theirs:
        return False
    if ours == theirs:
        return True
    if "@" not in ours or "@" not in theirs:
        return False
    ours, theirs = _PLUS.sub("@", ours), _PLUS.sub("@", theirs)
    if ours == theirs:
        return True
    local_a, domain_a = ours.split("@", 1)
    local_b, domain_b = theirs.split("@", 1)
    if local_a != local_b:
        return False
    return abs(domain_a.count(".") - domain_b.count(".")) == 1 and (
        domain_a.endswith("." + domain_b) or domain_b.endswith("." + domain_a)
    )


def same_person(first: Address, second: Address) -> str:
    """How two addresses relate: "same" (the same mailbox), "same-name" (the same
    name at another address) or "other"."""
    if same_address(first.addr, second.addr):
        return "same"
    if same_name(first.name, second.name):
        return "same-name"
    return "other"
