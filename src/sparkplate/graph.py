"""A picture of a workflow: its jobs in run order, as a Mermaid flowchart or a Graphviz graph.

Each job is a box labelled `id (Type)`. A `wap` template is a group holding its write job(s),
one box per audit and the publish: blocking audits lead to the publish with solid arrows,
non-blocking ones with dotted arrows, as they do not hold it back. An Audit job is a group of
its audits. A Workflow job names the file it runs (and its dates); with `expand`, that workflow
is drawn inside it.

Node ids are positions (`job3`, `job3_audit2`), never job ids, which may be Mermaid keywords
(`end`) or hold characters an id cannot. The output is plain enough that a generated project's
README writes the same diagrams with Jinja (templates/_partials/README/workflows.md.jinja).
Nothing here starts Spark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sparkplate.audits.record import split_entry
from sparkplate.engine import validate
from sparkplate.jobs.sub_workflow import dates_for, passed_params
from sparkplate.workflow import Job, Workflow, parse_workflow


@dataclass(frozen=True)
class Node:
    id: str
    lines: tuple[str, ...]  # the label, one line each
    calls: bool = False  # runs another workflow: drawn as a subroutine


@dataclass
class Group:
    id: str
    lines: tuple[str, ...]
    members: list[Node | Group] = field(default_factory=list)


@dataclass(frozen=True)
class Edge:
    source: str  # a node's or a group's id
    target: str
    gates: bool = True  # False: a non-blocking audit's arrow to the publish, drawn dotted


@dataclass
class Graph:
    title: str  # the workflow id
    members: list[Node | Group] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def workflow_graph(
    path: Path, params: dict[str, str] | None = None, *, expand: bool = False
) -> Graph:
    """The graph of the workflow at `path`, checked first as `sparkplate validate` checks it;
    `params` as a run takes them (then every required parameter is needed)."""
    wf = validate(Path(path), params or None)
    graph = Graph(wf.id)
    _add_jobs(graph.members, graph.edges, wf, wf.jobs, prefix="job", expand=expand)
    return graph


def _add_jobs(members, edges, wf: Workflow, jobs: list[Job], prefix: str, expand: bool) -> None:
    """Draw `jobs` in run order, each one linked to the one before."""
    for position, job in enumerate(jobs, start=1):
        node_id = f"{prefix}{position}"
        if position > 1:  # before the job's own arrows, so they read in run order
            edges.append(Edge(f"{prefix}{position - 1}", node_id))
        members.append(_job(edges, wf, job, node_id, expand))


def _job(edges: list[Edge], wf: Workflow, job: Job, node_id: str, expand: bool) -> Node | Group:
    title = f"{job.id} ({job.type})"
    if job.type == "wap":
        return _wap(edges, wf, job, node_id, title, expand)
    if job.type == "Audit":
        return Group(node_id, (title,), [audit for audit, _ in _audits(job, node_id)])
    if job.type == "Workflow":
        lines = (title, _call(wf, job))
        if not expand:
            return Node(node_id, lines, calls=True)
        called = _called_workflow(wf, job)
        group = Group(node_id, lines)
        _add_jobs(group.members, edges, called, called.jobs, f"{node_id}_job", expand)
        return group
    return Node(node_id, (title,))


def _wap(edges, wf: Workflow, job: Job, node_id: str, title: str, expand: bool) -> Group:
    """The write job(s) in order, then every audit of the branch, then the publish."""
    group = Group(node_id, (title,))
    _add_jobs(group.members, edges, wf, job.jobs, f"{node_id}_", expand)
    last_write = group.members[-1].id
    audits = _audits(job, node_id)
    publish = Node(f"{node_id}_publish", ("publish to main",))
    group.members += [audit for audit, _ in audits] + [publish]
    # The audits read the branch together (one batched scan), so each follows the last write.
    for audit, _ in audits:
        edges.append(Edge(last_write, audit.id))
    for audit, blocking in audits:
        edges.append(Edge(audit.id, publish.id, gates=blocking))
    if not audits:
        edges.append(Edge(last_write, publish.id))
    return group


def _audits(job: Job, node_id: str) -> list[tuple[Node, bool]]:
    """A node for each of the job's audits, and whether it is blocking."""
    audits = []
    for position, entry in enumerate(job.spec.get("audits") or [], start=1):
        name, _, blocking, _ = split_entry(entry)
        label = f"{name} ({'blocking' if blocking else 'non-blocking'})"
        audits.append((Node(f"{node_id}_audit{position}", (label,)), blocking))
    return audits


def _call(wf: Workflow, job: Job) -> str:
    """What a Workflow job runs: the file, and its dates as far as they are known now."""
    called = str(wf.known_value(job.spec["workflow"]) or job.spec["workflow"])
    each = job.spec.get("for_each_date")
    if not each:
        return called
    known = {key: wf.known_value(value) for key, value in each.items()}
    if all(value is not None for value in known.values()):
        dates = dates_for(known)
        if len(dates) == 1:
            return f"{called} for {dates[0]}"
        return f"{called} for each date from {dates[0]} to {dates[-1]}"
    days = known.get("days")
    if days is not None:  # the end date comes with the run (daily's `date`)
        return f"{called} for " + (
            "the last day" if int(days) == 1 else f"each of the last {days} days"
        )
    return f"{called} for each date"


def _called_workflow(wf: Workflow, job: Job) -> Workflow:
    """The workflow a Workflow job runs, with the values the job passes it (its last date
    standing for all, as `validate` checks it)."""
    called = parse_workflow(wf.project_dir / str(job.spec["workflow"]))
    called.values = called.known_params(passed_params(wf, job, called))
    return called


# --- drawing ------------------------------------------------------------------------------------


def to_mermaid(graph: Graph) -> str:
    """A Mermaid flowchart, top down: nodes and groups in run order, then the arrows."""
    lines = ["flowchart TD"]
    _mermaid_members(lines, graph.members, depth=1)
    for edge in graph.edges:
        arrow = "-->" if edge.gates else "-.->"
        lines.append(f"    {edge.source} {arrow} {edge.target}")
    return "\n".join(lines) + "\n"


def _mermaid_members(lines: list[str], members: list[Node | Group], depth: int) -> None:
    indent = "    " * depth
    for member in members:
        label = _mermaid_label(member.lines)
        if isinstance(member, Group):
            lines.append(f"{indent}subgraph {member.id} [{label}]")
            _mermaid_members(lines, member.members, depth + 1)
            lines.append(f"{indent}end")
        elif member.calls:
            lines.append(f"{indent}{member.id}[[{label}]]")
        else:
            lines.append(f"{indent}{member.id}[{label}]")


def _mermaid_label(lines: tuple[str, ...]) -> str:
    # Quoted, so parentheses and `${...}` are text; a quote inside is Mermaid's entity.
    return '"' + "<br/>".join(line.replace('"', "#quot;") for line in lines) + '"'


def to_dot(graph: Graph) -> str:
    """A Graphviz digraph, top down; an arrow to or from a group ends at its border."""
    lines = [
        f"digraph {_dot_text(graph.title)} {{",
        "    compound=true;",
        "    node [shape=box];",
    ]
    groups: dict[str, Group] = {}
    _dot_members(lines, graph.members, depth=1, groups=groups)
    for edge in graph.edges:
        source, target, attributes = edge.source, edge.target, []
        if source in groups:
            source = _last_node(groups[source])
            attributes.append(f"ltail=cluster_{edge.source}")
        if target in groups:
            target = _first_node(groups[target])
            attributes.append(f"lhead=cluster_{edge.target}")
        if not edge.gates:
            attributes.append("style=dashed")
        shown = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"    {source} -> {target}{shown};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_members(lines, members: list[Node | Group], depth: int, groups: dict[str, Group]):
    indent = "    " * depth
    for member in members:
        label = _dot_text("\n".join(member.lines))
        if isinstance(member, Group):
            groups[member.id] = member
            lines.append(f"{indent}subgraph cluster_{member.id} {{")
            lines.append(f"{indent}    label={label};")
            _dot_members(lines, member.members, depth + 1, groups)
            lines.append(f"{indent}}}")
        else:
            double = ", peripheries=2" if member.calls else ""
            lines.append(f"{indent}{member.id} [label={label}{double}];")


def _dot_text(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _first_node(group: Group) -> str:
    first = group.members[0]
    return _first_node(first) if isinstance(first, Group) else first.id


def _last_node(group: Group) -> str:
    last = group.members[-1]
    return _last_node(last) if isinstance(last, Group) else last.id
