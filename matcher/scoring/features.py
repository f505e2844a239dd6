"""The text of each worker and job that the encoder sees, and nothing personal in it.

A worker's text is built from what they want and can do (desired occupations, skills,
experience, education), never from their name, ID number, phone or employer contact. Free-text
fields are scrubbed of ID numbers and phone numbers in any spelling, since caseworkers sometimes
type them into notes (the store holds them masked already: this catches what came in before).
"""

from __future__ import annotations

from matcher import pii
from matcher.records import Job, Worker


def scrub(text: str) -> str:
    """Free text for the encoder and one-line displays: :func:`matcher.pii.scrub` with ``drop``."""
    return pii.scrub(text, drop=True)


def _join(parts: list[str]) -> str:
    return "。".join(p for p in parts if p)


def worker_text(worker: Worker) -> str:
    """Profile text of ``worker`` for embedding: wishes first, then skills and experience."""
    parts = []
    if worker.desired_occupations:
        parts.append("期望职业：" + "、".join(scrub(d) for d in worker.desired_occupations))
    if worker.skills:
        parts.append("技能：" + "、".join(scrub(s) for s in worker.skills))
    if worker.experience:
        parts.append("经历：" + scrub(worker.experience))
    if worker.education:
        parts.append("学历：" + scrub(worker.education))
    return _join(parts) or "求职"


def job_text(job: Job) -> str:
    """Posting text of ``job`` for embedding: title, then the description of the work."""
    parts = ["岗位：" + scrub(job.title)]
    if job.description:
        parts.append(scrub(job.description))
    return _join(parts)


def worker_occupation_text(worker: Worker) -> str:
    """Short text of the worker's wished occupations (for the lexical channel)."""
    return " ".join(scrub(d) for d in worker.desired_occupations)


def worker_skill_text(worker: Worker) -> str:
    """Skills and experience, scrubbed (for the lexical skill-overlap factor)."""
    return " ".join([*(scrub(s) for s in worker.skills), scrub(worker.experience)]).strip()
