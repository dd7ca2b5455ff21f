"""JUnit XML, the one writer behind every `--output junit`: suites of test cases, each passing,
failing with a message, a type and details, or passing with output worth keeping."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field

# Characters XML 1.0 cannot hold even escaped (control characters, lone surrogates): a test case
# named "bell\x07" must not make the whole report unreadable to CI.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Failure:
    message: str
    type: str
    details: str


@dataclass(frozen=True)
class Case:
    name: str
    classname: str
    file: str | None = None
    failure: Failure | None = None
    output: str | None = None  # <system-out>: details that do not fail the case


@dataclass(frozen=True)
class Suite:
    name: str
    cases: list[Case] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(1 for case in self.cases if case.failure is not None)


def document(name: str, suites: Iterable[Suite]) -> str:
    """A `<testsuites>` document, as CI servers and junitparser read it."""
    root = ET.Element("testsuites", name=_xml(name))
    for suite in suites:
        node = ET.SubElement(
            root,
            "testsuite",
            name=_xml(suite.name),
            tests=str(len(suite.cases)),
            failures=str(suite.failures),
            errors="0",
            skipped="0",
        )
        for case in suite.cases:
            attributes = {"name": _xml(case.name), "classname": _xml(case.classname)}
            if case.file is not None:
                attributes["file"] = _xml(case.file)
            element = ET.SubElement(node, "testcase", attributes)
            if case.failure is not None:
                failure = ET.SubElement(
                    element,
                    "failure",
                    message=_xml(case.failure.message),
                    type=_xml(case.failure.type),
                )
                failure.text = _xml(case.failure.details)
            if case.output is not None:
                ET.SubElement(element, "system-out").text = _xml(case.output)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _xml(value: str) -> str:
    """`value` with every character XML cannot hold written as its Python escape."""
    return _NOT_XML.sub(lambda m: repr(m.group())[1:-1], value)
