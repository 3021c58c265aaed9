"""A model's whole reply about a paper, checked field by field: `check_digest`."""

from __future__ import annotations

from collections.abc import Mapping

from mkdocs_arxiv_digest.checks.completeness import MIN_ABSTRACT_FOR_RATIO, completeness_problems
from mkdocs_arxiv_digest.checks.content import (
    is_translated_title,
    repetition_problem,
    summary_problems,
    title_problems,
)
from mkdocs_arxiv_digest.checks.fidelity import abstract_fidelity_problem, invented_figures, title_fidelity_problem
from mkdocs_arxiv_digest.checks.language import language_problem
from mkdocs_arxiv_digest.checks.problem import Problem

MIN_ABSTRACT_TO_JUDGE = MIN_ABSTRACT_FOR_RATIO
"""An abstract shorter than this (``We distill.``: test papers, withdrawn ones) has too few
figures, names and terms to judge a translation's fidelity or a summary's subject by: both
are accepted. Real ones are longer: the seed digest's (cut short by an RSS feed) have 659
characters or more, the example site's 796 or more."""


def check_digest(
    paper_title: str,
    paper_abstract: str,
    reply: Mapping[str, str],
    language: str,
    *,
    instructions: str = "",
) -> list[Problem]:
    """The problems of a model's ``reply`` about a paper in ``language``; empty if it is acceptable.

    ``reply`` holds the generated fields: ``summary``, and unless ``language`` is English
    ``title`` and (if the paper has an abstract) ``abstract``. Fields it lacks are not
    checked. ``instructions`` is the prompt, if known: a summary that copies a run of it
    echoes it. Fed back to the model, ``"; ".join(map(str, problems))`` says what to fix.
    """
    problems: list[Problem] = []
    title = reply.get("title")
    if title is not None:
        problems += _title_problems(paper_title, title, language)
    summary = reply.get("summary")
    if summary is not None:
        translations = [title or "", reply.get("abstract") or ""]
        problems += _summary_problems(summary, [paper_title, paper_abstract], translations, language, instructions)
    abstract = reply.get("abstract")
    if abstract is not None:
        problems += _abstract_problems(paper_abstract, abstract, language)
    return problems


def _title_problems(original: str, translated: str, language: str) -> list[Problem]:
    if not translated.strip():
        return [Problem("title", "title is empty")]
    problems = title_problems(original, translated, language)
    if problems or not is_translated_title(original, translated):
        return problems
    found = [
        language_problem("title", translated, language),
        repetition_problem("title", translated, original),
        title_fidelity_problem(original, translated),
    ]
    return [problem for problem in found if problem]


def _summary_problems(
    summary: str, paper: list[str], translations: list[str], language: str, instructions: str
) -> list[Problem]:
    if not summary.strip():
        return [Problem("summary", "summary is empty")]
    titles = [paper[0], translations[0]]
    judged = len(paper[1]) >= MIN_ABSTRACT_TO_JUDGE
    problems = summary_problems(summary, titles, instructions, paper if judged else paper[:1], translations)
    if problems:
        return problems
    found = [language_problem("summary", summary, language), repetition_problem("summary", summary)]
    problems = [problem for problem in found if problem]
    if paper[1]:  # without an abstract, figures cannot be told from invented ones
        invented = invented_figures(summary, paper)
        if invented:
            figures = ", ".join(invented)
            problems.append(
                Problem(
                    "summary",
                    f"summary states {figures}, which the title and abstract do not; "
                    "state only figures the abstract gives",
                )
            )
    return problems


def _abstract_problems(original: str, translated: str, language: str) -> list[Problem]:
    if not translated.strip():
        return [Problem("abstract", "abstract is empty")]
    problem = language_problem("abstract", translated, language)
    problems = ([problem] if problem else []) + completeness_problems(original, translated, language)
    found = [repetition_problem("abstract", translated, original)]
    if len(original) >= MIN_ABSTRACT_TO_JUDGE:
        found.append(abstract_fidelity_problem(original, translated))
    return problems + [problem for problem in found if problem]
