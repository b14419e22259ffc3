"""Tiny sentiment models built on the spot, so tests load real transformers directories offline.

The tokenizer is a WordPiece vocabulary built from the sentences below (several languages);
the model is a one-layer BERT trained for a few dozen steps so obvious praise and complaints
come out on opposite sides. Everything is written with ``save_pretrained``, exactly as a
downloaded model directory looks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
)
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    PreTrainedTokenizerFast,
)

POSITIVE = (
    "Great product, fast delivery and friendly support.",
    "I love it, works perfectly and looks beautiful.",
    "Excellent quality, would buy again.",
    "Super Qualität, schnelle Lieferung, sehr zufrieden.",
    "Producto excelente, llegó rápido, muy contento.",
    "Très bon produit, livraison rapide, je recommande.",
    "Ottimo prodotto, consegna veloce, lo consiglio.",
    "Wonderful service, the staff were kind and helpful.",
)
NEGATIVE = (
    "Terrible product, broke after two days.",
    "Awful support, nobody answered my emails, I want a refund.",
    "Worst purchase ever, arrived damaged and late.",
    "Schlechte Qualität, kaputt angekommen, nie wieder.",
    "Producto horrible, llegó roto, quiero un reembolso.",
    "Très mauvais produit, cassé, service client nul.",
    "Prodotto pessimo, arrivato rotto, rimborso subito.",
    "Rude staff and a broken charger, very disappointed.",
)
NEUTRAL = (
    "The package arrived on Tuesday.",
    "It is a blue kettle with a one litre capacity.",
    "Das Paket kam am Dienstag an.",
    "El paquete llegó el martes.",
    "Le colis est arrivé mardi.",
    "Il pacco è arrivato martedì.",
)
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

THREE_LABELS = ("negative", "neutral", "positive")
TWO_LABELS = ("NEG", "POS")
FIVE_LABELS = ("1 star", "2 stars", "3 stars", "4 stars", "5 stars")


def train_tokenizer() -> PreTrainedTokenizerFast:
    """A lowercasing WordPiece tokenizer whose vocabulary comes from the toy sentences.

    The vocabulary is every word plus every character (alone and as a ``##`` suffix), in
    sorted order. ``tokenizers``' own WordPiece trainer breaks ties in hash-map order, so
    its vocabulary differs from run to run, and so would the trained model.
    """
    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words: set[str] = set()
    for sentence in (*POSITIVE, *NEGATIVE, *NEUTRAL):
        pieces = pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(sentence))
        words.update(word for word, _ in pieces)
    chars = {c for word in words for c in word}
    tokens = [*SPECIAL_TOKENS, *sorted(chars), *sorted(f"##{c}" for c in chars), *sorted(words)]
    vocab = {token: i for i, token in enumerate(dict.fromkeys(tokens))}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.WordPiece()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=64,
    )


def _targets(labels: Sequence[str]) -> list[tuple[str, int]]:
    """(sentence, label index) pairs: the first label is the worst, the last the best."""
    pairs = [(s, 0) for s in NEGATIVE] + [(s, len(labels) - 1) for s in POSITIVE]
    if len(labels) % 2:
        pairs += [(s, len(labels) // 2) for s in NEUTRAL]
    return pairs


def build_tiny_model(
    directory: Path,
    labels: Sequence[str] = THREE_LABELS,
    *,
    train_steps: int = 200,
    seed: int = 0,
) -> Path:
    """Write a tiny BERT sequence classifier with these output labels into ``directory``."""
    torch.manual_seed(seed)
    tokenizer = train_tokenizer()
    config = BertConfig(  # type: ignore[call-arg]  # PretrainedConfig kwargs
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,  # no randomness in training: the same model every run
        attention_probs_dropout_prob=0.0,
        pad_token_id=tokenizer.pad_token_id,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    model = BertForSequenceClassification(config)
    if train_steps:
        pairs = _targets(labels)
        batch = tokenizer([s for s, _ in pairs], padding=True, return_tensors="pt")
        target = torch.tensor([t for _, t in pairs])
        optimiser = torch.optim.AdamW(model.parameters(), lr=5e-3)
        model.train()
        for _ in range(train_steps):
            optimiser.zero_grad()
            loss = model(**batch, labels=target).loss
            if loss.item() < 0.02:  # every toy sentence is classified with confidence
                break
            loss.backward()
            optimiser.step()
        model.eval()  # type: ignore[no-untyped-call]
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def build_head_on_encoder(
    encoder_dir: Path, directory: Path, labels: Sequence[str] = THREE_LABELS
) -> Path:
    """A sequence classifier from a real encoder's weights with a new (random) head.

    This is how a base model is turned into a sentiment model before fine-tuning; the
    saved directory then has classifier weights, so it loads like any fine-tuned model.
    """
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(
        encoder_dir,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    AutoTokenizer.from_pretrained(encoder_dir).save_pretrained(directory)
    return directory
