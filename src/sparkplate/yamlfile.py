"""Reading the project's YAML (workflows and mocks) strictly, with errors that name the file.

Plain YAML 1.1 surprises: `NO` (Norway) reads as false, `2024-13-01` crashes the date parser, and a
repeated key silently replaces the first. This loader keeps only true/false as booleans, leaves
dates as text (each consumer parses them where it knows the type) and refuses repeated keys.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from sparkplate.errors import SparkplateError

_DROPPED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp"}


class StrictLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark,
                    f"key '{key}' appears twice (lines {seen[key] + 1} and "
                    f"{key_node.start_mark.line + 1})", key_node.start_mark,
                )  # fmt: skip
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(), Loader=StrictLoader)  # noqa: S506 (a SafeLoader)
    except FileNotFoundError:
        raise SparkplateError("file not found", file=path) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SparkplateError(
            f"malformed YAML{where}: {getattr(err, 'problem', err)}",
            file=path,
            fix="correct the YAML (indentation, quotes, colons, repeated keys)",
        ) from None
