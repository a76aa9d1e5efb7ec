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


class TransformersScorer:
    """Scores texts with one model (its id and revision go with every score)."""

    def __init__(self, model: str, revision: str | None = None, *, batch_size: int = 16,
                 max_length: int = 128, local_files_only: bool = False) -> None:
        self.model, self.requested = model, revision
        self.batch_size, self.max_length = batch_size, max_length
        self.local_files_only = local_files_only
        self._pipe: Any = None
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
        labels = [str(v).lower() for v in (pipe.model.config.id2label or {}).values()]
        if not any(lab.startswith(POSITIVE) for lab in labels) or \
                not any(lab.startswith(NEGATIVE) for lab in labels):
            raise SentimentModelError(f"sentiment model {self.model!r} has labels {labels}: "
                                      f"no positive and negative class to read")
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
        return [_reading(a) for a in answers]


def _reading(answer: list[dict[str, Any]] | dict[str, Any]) -> Sentiment:
    rows = answer if isinstance(answer, list) else [answer]
    pos = neg = neu = 0.0
    for r in rows:
        label, p = str(r["label"]).lower(), float(r["score"])
        if label.startswith(POSITIVE):
            pos += p
        elif label.startswith(NEGATIVE):
            neg += p
        else:
            neu += p
    return Sentiment(pos, neg, neu)
