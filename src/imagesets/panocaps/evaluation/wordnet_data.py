"""nltk's WordNet corpus built offline from a local WordNet 3.0 database.

nltk normally downloads its ``wordnet`` corpus from the internet. The corpus is the WordNet 3.0
database files (``data.*``, ``index.*`` including ``index.sense``, ``*.exc``) plus ``lexnames``;
Linux distributions ship the same database (Debian/Ubuntu: ``apt-get install wordnet-base
wordnet-sense-index`` → ``/usr/share/wordnet``), so a missing corpus is built from it into the
imagesets data home instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

SYSTEM_DATABASES = ("/usr/share/wordnet", "/usr/local/share/wordnet",
                    "/usr/local/WordNet-3.0/dict", "/opt/homebrew/share/wordnet")
DATABASE_FILES = ("data.noun", "data.verb", "data.adj", "data.adv",
                  "index.noun", "index.verb", "index.adj", "index.adv",
                  "index.sense", "noun.exc", "verb.exc", "adj.exc", "adv.exc")
OPTIONAL_FILES = ("cntlist.rev", "lexnames")
# The 45 lexicographer files of WordNet 3.0 (lexnames(5WN)): number, name, syntactic category.
LEXICOGRAPHER_FILES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute "
    "noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group "
    "noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant "
    "noun.possession noun.process noun.quantity noun.relation noun.shape noun.state "
    "noun.substance noun.time verb.body verb.change verb.cognition verb.communication "
    "verb.competition verb.consumption verb.contact verb.creation verb.emotion verb.motion "
    "verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl").split()
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}


def find_database(candidates: tuple[str, ...] | None = None) -> Path | None:
    """The first folder holding a complete WordNet 3.0 database, if any."""
    for candidate in SYSTEM_DATABASES if candidates is None else candidates:
        folder = Path(candidate)
        if all((folder / name).is_file() for name in DATABASE_FILES):
            return folder
    return None


def build_nltk_wordnet(database: str | os.PathLike, nltk_data: str | os.PathLike) -> Path:
    """Copy a WordNet 3.0 database into ``nltk_data/corpora/wordnet``; return ``nltk_data``.

    The corpus folder appears only once complete (built beside it, then renamed).
    """
    database, nltk_data = Path(database), Path(nltk_data)
    target = nltk_data / "corpora" / "wordnet"
    if target.is_dir():
        return nltk_data
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".wordnet.", dir=target.parent))
    try:
        for name in DATABASE_FILES + OPTIONAL_FILES:
            if (database / name).is_file():
                shutil.copyfile(database / name, staging / name)
        if not (staging / "lexnames").is_file():
            lines = (f"{number:02d}\t{name}\t{_CATEGORY[name.split('.')[0]]}\n"
                     for number, name in enumerate(LEXICOGRAPHER_FILES))
            (staging / "lexnames").write_text("".join(lines), encoding="ascii")
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if not target.is_dir():
            raise
    return nltk_data
