"""Caption metrics against the human caption: BLEU-1..4, METEOR, ROUGE-L, CIDEr (pycocoevalcap).

With Java on the PATH, captions go through pycocoevalcap's PTB tokenizer (Stanford CoreNLP) and
METEOR is computed; without Java, a regular-expression tokenizer that lowercases and drops the
same punctuation tokens stands in, and METEOR is left out (``tokenizer`` says which ran).
"""

from __future__ import annotations

import re
import shutil

from ...errors import require

PUNCTUATION = {"''", "'", "``", "`", "-lrb-", "-rrb-", "-lcb-", "-rcb-", ".", "?", "!", ",", ":",
               "-", "--", "...", ";", "(", ")", "{", "}"}
_TOKEN = re.compile(r"\.\.\.|--|``|''|n't\b|'\w+|\w+?(?=n't\b)|\w+(?:-\w+)*|[^\w\s]")


def simple_tokenize(text: str) -> str:
    """Lowercased tokens joined by spaces, punctuation tokens removed (Java-free stand-in)."""
    return " ".join(t for t in _TOKEN.findall(text.lower()) if t not in PUNCTUATION)


def caption_metrics(references: dict[str, str], candidates: dict[str, str]
                    ) -> dict[str, float | str]:
    """Corpus scores of ``candidates`` against one reference caption per image id."""
    require("pycocoevalcap", "captions", "Caption metrics")
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    ids = [i for i in references if i in candidates]
    out: dict[str, float] = {"images": float(len(ids))}
    if not ids:
        return out
    java = shutil.which("java") is not None
    if java:
        from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

        tokenizer = PTBTokenizer()
        refs = tokenizer.tokenize({i: [{"caption": references[i]}] for i in ids})
        cands = tokenizer.tokenize({i: [{"caption": candidates[i]}] for i in ids})
    else:
        refs = {i: [simple_tokenize(references[i])] for i in ids}
        cands = {i: [simple_tokenize(candidates[i])] for i in ids}
    bleu, _ = Bleu(4).compute_score(refs, cands, verbose=0)
    for n, value in enumerate(bleu, start=1):
        out[f"BLEU-{n}"] = float(value)
    if java:
        from pycocoevalcap.meteor.meteor import Meteor

        out["METEOR"] = float(Meteor().compute_score(refs, cands)[0])
    out["ROUGE-L"] = float(Rouge().compute_score(refs, cands)[0])
    out["CIDEr"] = float(Cider().compute_score(refs, cands)[0])
    return {**out, "tokenizer": "ptb" if java else "simple"}
