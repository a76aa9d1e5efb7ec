"""TransformersScorer: headline sentiment from a transformers text-classification model
(``ProsusAI/finbert`` by default; ``ElKulako/cryptobert`` or a local directory), on CPU, in
batches, loaded on first use (never on the trading path's import). Its labels are read as
positive / negative / neutral (finbert's names, or cryptobert's bullish / bearish). A model
that cannot be loaded raises :class:`SentimentModelError` saying why: scores are never made
up."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from tradeloop.domain.errors import SentimentModelError
from tradeloop.domain.news import Sentiment

log = logging.getLogger("tradeloop.news")
POSITIVE, NEGATIVE = ("positive", "bullish", "pos"), ("negative", "bearish", "neg")
NEUTRAL = ("neutral", "neu", "none", "mixed")


def label_kind(label: str) -> str | None:
    """``positive`` / ``negative`` / ``neutral`` of a class label, None when unknown."""
    lab = label.strip().lower()
    for kind, names in (("positive", POSITIVE), ("negative", NEGATIVE), ("neutral", NEUTRAL)):
        if lab in names or lab.startswith(names[0]):
            return kind
    return None


class TransformersScorer:
    """Scores texts with one model (its id and revision go with every score)."""

    def __init__(self, model: str, revision: str | None = None, *, batch_size: int = 16,
                 max_length: int = 128, local_files_only: bool = False) -> None:
        self.model, self.requested = model, revision
        self.batch_size, self.max_length = batch_size, max_length
        self.local_files_only = local_files_only
        self._pipe: Any = None
        self.kinds: dict[str, str | None] = {}
        self.revision = revision or "unknown"

    def load(self) -> None:
        """Load the model now (a clear error when it cannot be)."""
        if self._pipe is not None:
            return
        try:
            from transformers import (
                AutoModelForSequenceClassification,
                AutoTokenizer,
                pipeline,
            )
            from transformers.utils import logging as hf_logging

            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
            where = {"revision": self.requested, "local_files_only": self.local_files_only}
            tokenizer = AutoTokenizer.from_pretrained(self.model, **where)
            net = AutoModelForSequenceClassification.from_pretrained(self.model, **where)
            pipe = pipeline("text-classification", model=net, tokenizer=tokenizer, device=-1,
                            top_k=None)
        except Exception as exc:  # OSError (no files/network), ValueError (not a classifier)
            raise SentimentModelError(
                f"sentiment model {self.model!r} cannot be loaded ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:300]}); sentiment features are off until it "
                f"can be (news.sentiment.model: a hub id reachable from here, or a local "
                f"directory)") from None
        labels = [str(v) for v in (pipe.model.config.id2label or {}).values()]
        kinds = {lab: label_kind(lab) for lab in labels}
        unknown = [lab for lab, k in kinds.items() if k is None]
        if unknown or {"positive", "negative"} - set(kinds.values()):
            raise SentimentModelError(
                f"sentiment model {self.model!r} has labels {labels}: each must read as "
                f"positive, negative or neutral, with a positive and a negative class")
        if getattr(pipe.model.config, "problem_type", None) == "multi_label_classification":
            raise SentimentModelError(f"sentiment model {self.model!r} is multi-label: its "
                                      f"class scores are not one distribution")
        self.kinds = kinds
        commit = getattr(pipe.model.config, "_commit_hash", None)
        self.revision = str(commit or self.requested or "local")[:64]
        self._pipe = pipe
        log.info("sentiment model %s (revision %s) loaded", self.model, self.revision)

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        """One :class:`Sentiment` per text, in order."""
        if not texts:
            return []
        self.load()
        try:
            answers = self._pipe(list(texts), batch_size=self.batch_size, truncation=True,
                                 max_length=self.max_length)
        except Exception as exc:
            raise SentimentModelError(f"sentiment model {self.model!r} failed: "
                                      f"{type(exc).__name__}: {exc}") from None
        return [self._reading(a) for a in answers]

    def _reading(self, answer: list[dict[str, Any]] | dict[str, Any]) -> Sentiment:
        rows = answer if isinstance(answer, list) else [answer]
        p = {"positive": 0.0, "negative": 0.0, "neutral": 0.0}
        for r in rows:
            p[self.kinds[str(r["label"])] or "neutral"] += float(r["score"])
        total = sum(p.values()) or 1.0
        return Sentiment(p["positive"] / total, p["negative"] / total, p["neutral"] / total)
