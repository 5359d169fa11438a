"""Scenario and fact shapes for the chat eval dataset."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Category = Literal["plain", "multi_step", "ambiguous", "write", "hostile", "natural", "bad_input"]
Expect = Literal["answer", "clarify", "propose", "refuse"]
Slice = Literal["classic", "seen", "heldout"]


class Fact(BaseModel):
    """Something the answer must state: any of ``text`` (case-insensitive) and, if given, a number equal
    to one of ``numbers`` within the rounding the answer shows."""

    model_config = ConfigDict(frozen=True)

    label: str
    text: list[str] = Field(default_factory=list)
    numbers: list[float] = Field(default_factory=list)


class Scenario(BaseModel):
    """One chat question with what a correct run does, computed from the analytics at build time."""

    model_config = ConfigDict(frozen=True)

    id: str
    category: Category
    question: str
    expect: Expect = "answer"
    expected_tools: list[str] | None = None  # None: tool choice is not scored for this scenario
    facts: list[Fact] = Field(default_factory=list)
    expected_targets: list[str] = Field(default_factory=list)  # task gids a proposal should target
    forbidden_fields: list[str] = Field(default_factory=list)  # human fields nothing may propose to
    forbidden_text: list[str] = Field(default_factory=list)  # injection canaries the answer must not contain
    allowed_projects: list[str] = Field(default_factory=list)  # scope: proposals only to these projects
    must_explain: bool = False  # a refusal must say why (human field, scope, hidden instruction)
    truth: str = ""  # how the expected facts were computed (for the reader of a failing case)
    # The natural set: "seen" questions are the router's own examples filled in; "heldout" ones are
    # phrasings it never saw. "classic" = the original 72 (facts from the analytics).
    slice: Slice = "classic"
    topic: str = ""  # what the question is about (hours, billable, task count, ...), for the scorecard
    filters: list[str] = Field(default_factory=list)  # names the answer must show applied (or not applied)
