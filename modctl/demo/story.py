"""The story `modctl demo` tells: acts of one or two lines of narration, each followed by the
commands a person would type (run for real) and the few things the demo does itself between them
(a commit, a merge, the metrics file).

A release of the reference bundle ipr-counterfeit goes out everywhere; a rule change that the
backtest shows to take down more (and more clean listings) is released as 1.1.0; its canary's
overturned appeals spike in the pilot region, the gate fails and the canary is aborted; the
on-call engineer disables the rule in every region with a playbook; the journal, the postmortem
draft and the audit show what happened.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from modctl.demo import workspace
from modctl.demo.workspace import Change, Place, Wave

BUNDLE = "ipr-counterfeit"
INCIDENT = "INC-2041"
CHANGE = Change(
    bundle=BUNDLE,
    rule="lux-unauthorized-cheap",
    param="max_price_ratio",
    value=0.4,
    branch="price-ratio-40",
)


@dataclass(frozen=True)
class Command:
    """A modctl command as typed in the repository, and the exit status it must end with."""

    args: tuple[str, ...]
    expect: int = 0

    @property
    def line(self) -> str:
        return shlex.join(("modctl", *self.args))


@dataclass(frozen=True)
class Action:
    """Something the demo does itself, told in one line."""

    what: str
    do: Callable[[Place], object]


Step = Command | Action


@dataclass(frozen=True)
class Act:
    title: str
    story: str
    steps: tuple[Step, ...]


def run(*args: str, expect: int = 0) -> Command:
    return Command(args, expect)


def acts(place: Place) -> list[Act]:
    """The story, act by act, for the waves of the reference modctl.yaml."""
    waves = workspace.waves()
    pilot = waves[0]
    return [
        Act(
            "A strategy repository",
            "modctl init writes the reference bundles and playbooks and commits them. The demo "
            "keeps the state branch on a local bare repository (remote.git) and sets min_bake "
            "to 0s, so that a canary may be promoted at once.",
            (
                Action("git init repo, with remote.git as its remote origin", workspace.prepare),
                run("init"),
                Action(
                    "modctl.yaml: state.remote origin, rollout.min_bake 0s (committed)",
                    workspace.settle,
                ),
            ),
        ),
        Act(
            "Check it",
            "Schemas and semantic checks of every bundle, playbook and modctl.yaml, then every "
            "bundle's test cases.",
            (run("validate"), run("test")),
        ),
        Act(
            "Propose a rule change and measure it",
            f"On branch {CHANGE.branch}, {CHANGE.rule} takes down protected-brand listings "
            f"below {CHANGE.value:.0%} of the brand's reference price. The backtest decides the "
            "3,000 shipped sample listings with the branch and with main: see how many decisions "
            "change, and FP (clean listings flagged) under 'Compared with main'.",
            (
                Action(
                    f"git commit on {CHANGE.branch}: {CHANGE.param} {CHANGE.value}", CHANGE.make
                ),
                run("backtest", BUNDLE, "--data", f"../{place.sample.name}", "--baseline", "main"),
                Action("git checkout main", CHANGE.leave),
            ),
        ),
        _release_everywhere(waves),
        Act(
            "Merge the change and cut 1.1.0",
            "The change is merged into main; release cut validates and tests it again, and "
            "records 1.1.0.",
            (
                Action(f"git merge {CHANGE.branch} into main", CHANGE.merge),
                run(
                    "release",
                    "cut",
                    BUNDLE,
                    "--version",
                    "1.1.0",
                    "--notes",
                    f"{CHANGE.rule}: below {CHANGE.value:.0%} of the reference price",
                ),
            ),
        ),
        _canary(pilot),
        Act(
            "The gate aborts the canary",
            "What a scheduler runs every few minutes: a failed gate aborts the canary (exit 1 "
            "says a gate failed).",
            (run("rollout", "advance", "--auto-rollback", "--incident", INCIDENT, expect=1),),
        ),
        Act(
            "Emergency: disable the rule everywhere",
            f"1.0.0 runs {CHANGE.rule} too. Until its owners have looked, the on-call engineer "
            "disables it in every region with a hot-patch that expires (after 4 hours, the "
            "playbook's default): planned, verified and written as one state commit.",
            (
                run(
                    *("emergency", "run", "disable-rule", "-p", f"bundle={BUNDLE}"),
                    *("-p", f"rule={CHANGE.rule}", "--incident", INCIDENT),
                    *("--reason", "genuine discounts taken down", "--yes"),
                ),
            ),
        ),
        Act(
            "Where things stand",
            "Every region runs 1.0.0 with the hot-patch; the journal of the pilot region tells "
            "its story, newest first.",
            (run("rollout", "status"), run("log", "--region", pilot.regions[0])),
        ),
        Act(
            "The postmortem draft",
            "Built from the journal: the timeline, the time to mitigate, the hot-patch still open "
            "and the commands run.",
            (run("incident", "report", INCIDENT),),
        ),
        Act(
            "Audit",
            "Every state commit replayed: each transition derived again, each artifact checked "
            "against its digest and tag.",
            (run("audit", "verify"),),
        ),
    ]


def _release_everywhere(waves: list[Wave]) -> Act:
    steps: list[Step] = [run("release", "cut", BUNDLE, "--version", "1.0.0")]
    for wave in waves:
        steps.append(run("rollout", "start", BUNDLE, "1.0.0"))
        steps += [run("rollout", "promote", BUNDLE, "-r", r, "--full") for r in wave.regions]
    names = ", ".join(wave.name for wave in waves)
    return Act(
        "Release 1.0.0 and roll it out everywhere",
        f"main, without the change, ships first, wave by wave ({names}). A wave starts once "
        "the waves before it run the release as stable; with min_bake 0s, --full makes each "
        "region's canary stable at once.",
        tuple(steps),
    )


def _canary(pilot: Wave) -> Act:
    region = pilot.regions[0]
    return Act(
        f"Canary in {region}, and its gates",
        f"1.1.0 serves {pilot.steps[0]}% of {region}'s traffic beside 1.0.0. The demo writes "
        "metrics/canary.csv (seeded counts: the canary's overturned appeals are three times "
        "stable's), and analyze judges the canary on them.",
        (
            run("rollout", "start", BUNDLE, "1.1.0"),
            Action(
                f"metrics/canary.csv: {region} stable and canary since the canary started",
                lambda place: workspace.write_metrics(place, BUNDLE, region),
            ),
            run(
                *("rollout", "analyze", BUNDLE, "--incident", INCIDENT),
                *("--reason", f"overturned appeals up in the {region} canary"),
                expect=1,
            ),
        ),
    )
