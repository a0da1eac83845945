"""Griffe extension: render the Sphinx roles in swapnet's docstrings as API cross-references.

swapnet's numpy-style docstrings refer to other objects with Sphinx roles, for example
``:class:`~swapnet.siting.SitingPlan``` or ``:meth:`from_edges```. mkdocstrings does not know
these roles and would print them verbatim (``:class:`` followed by code). This extension, run by
mkdocstrings when it loads the package, rewrites each role into an *optional* autorefs
cross-reference: a link when the target is documented on some page of the site, plain code
otherwise (external names such as ``scipy.sparse.csgraph``, or attributes documented only in an
``Attributes`` section). Relative names are resolved in the docstring's scope (the object, its
class, its module and their imports), as Sphinx would. ``~`` shows the last component only.
``:math:`...``` and ``.. math::`` blocks become ``$...$`` and ``$$...$$`` for pymdownx.arithmatex.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_MATH_ROLE = re.compile(r":math:`(?P<tex>[^`]+)`")
_MATH_BLOCK = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*\n(?P<body>(?:(?P=indent)[ \t]+\S.*\n|[ \t]*\n)+)", re.M)
_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|attr|data|exc|obj|const):`(?P<tilde>~?)(?P<target>[^`<>]+)`")


def _resolve(obj: griffe.Object, target: str) -> str | None:
    """Full dotted path of ``target`` as seen from ``obj``, or None when unknown."""
    target = target.lstrip(".").removesuffix("()")
    first, _, rest = target.partition(".")
    try:
        base = obj.resolve(first)
    except (griffe.NameResolutionError, KeyError, ValueError):
        if first == obj.module.package.name:
            base = first
        else:
            return None
    return f"{base}.{rest}" if rest else base


def _rewrite(obj: griffe.Object, text: str) -> str:
    def sub(m: re.Match[str]) -> str:
        target = m["target"].strip()
        shown = target.rsplit(".", 1)[-1] if m["tilde"] else target
        shown = html.escape(shown.lstrip("."))
        path = _resolve(obj, target)
        if path is None:
            return f"`{shown}`"
        return f'<autoref identifier="{html.escape(path)}" optional><code>{shown}</code></autoref>'

    def block(m: re.Match[str]) -> str:
        body = "\n".join(line.strip() for line in m["body"].strip("\n").splitlines())
        return f"{m['indent']}$$\n{body}\n$$\n\n"

    text = _MATH_BLOCK.sub(block, text)
    text = _MATH_ROLE.sub(lambda m: f"${m['tex']}$", text)
    return _ROLE.sub(sub, text)


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring of a loaded package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        seen: set[str] = set()
        stack: list[griffe.Object] = [pkg]
        while stack:
            obj = stack.pop()
            if obj.path in seen:
                continue
            seen.add(obj.path)
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = _rewrite(obj, obj.docstring.value)
            stack.extend(m for m in obj.members.values() if not m.is_alias and isinstance(m, griffe.Object))
