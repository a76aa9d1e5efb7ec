"""A tiny sentiment model built in the test (no hub here): a WordPiece tokenizer trained with
``tokenizers`` on a few headlines and a two-layer BERT classifier trained for a few steps to
tell rising from falling headlines, saved with ``save_pretrained`` and loaded back through
the real ``from_pretrained`` path."""

from __future__ import annotations

from pathlib import Path

POSITIVE = ["bitcoin surges to a record high", "ether rallies as buyers return",
            "crypto market jumps on strong demand", "solana soars after upgrade",
            "bitcoin gains as inflows grow", "ether climbs on bullish outlook"]
NEGATIVE = ["bitcoin crashes as sellers dump", "ether plunges after hack",
            "crypto market falls on fears", "solana tumbles after outage",
            "bitcoin drops as outflows grow", "ether slides on bearish outlook"]
NEUTRAL = ["bitcoin conference opens today", "ether developers meet on friday",
           "crypto exchange publishes report", "solana foundation names director"]
LABELS = {0: "negative", 1: "neutral", 2: "positive"}


def build(path: Path, steps: int = 60, seed: int = 0,
          labels: dict[int, str] | None = None) -> Path:
    """Write the model and tokenizer to ``path`` (a few seconds on one core); ``labels``:
    other class names than negative / neutral / positive."""
    names = labels or LABELS
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    torch.manual_seed(seed)
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(POSITIVE + NEGATIVE + NEUTRAL,
                            trainers.WordPieceTrainer(vocab_size=200, special_tokens=special))
    from tokenizers.processors import TemplateProcessing

    tok.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", tok.token_to_id("[CLS]")),
                                                 ("[SEP]", tok.token_to_id("[SEP]"))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                   model_max_length=64)
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=64, num_labels=3, id2label=names,
                        label2id={v: k for k, v in names.items()})
    model = BertForSequenceClassification(config)
    texts = POSITIVE + NEGATIVE + NEUTRAL
    labels = torch.tensor([2] * len(POSITIVE) + [0] * len(NEGATIVE) + [1] * len(NEUTRAL))
    batch = fast(texts, padding=True, return_tensors="pt")
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        out = model(**batch, labels=labels)
        out.loss.backward()
        opt.step()
    model.eval()
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return path
